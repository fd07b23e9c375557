"""Interpolator: a scikit-learn style estimator around the MLP (fit, predict, score, save, load)."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .data import DataError, Standardizer, validate_xy
from .functions import N_FEATURES
from .metrics import r2_score
from .model import build_mlp, pick_device
from .profiling import PeakMemory
from .recipes import Recipe, get_recipe
from .train import TrainResult, fit_model, training_rows

FORMAT_VERSION = 1


class NotFittedError(RuntimeError):
    pass


class Interpolator:
    """A 5-D neural-network interpolator.

    The constructor only stores settings: a recipe (name, dict or Recipe), the
    seed, the torch thread count (None leaves torch's default), the device
    ('cpu', 'cuda' or 'auto'), the rows per prediction chunk, how often to log
    training progress (None: never) and whether to measure the training loop's peak
    memory (then in `train_memory_`). Work happens in fit.
    """

    def __init__(
        self,
        recipe: str | dict[str, Any] | Recipe = "tuned",
        seed: int = 42,
        threads: int | None = 1,
        device: str = "cpu",
        predict_chunk: int = 65536,
        log_every_s: float | None = None,
        measure_memory: bool = False,
    ) -> None:
        self.recipe = recipe
        self.seed = seed
        self.threads = threads
        self.device = device
        self.predict_chunk = predict_chunk
        self.log_every_s = log_every_s
        self.measure_memory = measure_memory

    def get_params(self) -> dict[str, Any]:
        return {
            "recipe": self.recipe,
            "seed": self.seed,
            "threads": self.threads,
            "device": self.device,
            "predict_chunk": self.predict_chunk,
            "log_every_s": self.log_every_s,
            "measure_memory": self.measure_memory,
        }

    # -- training -----------------------------------------------------------------
    def fit(
        self,
        X: np.ndarray,
        y: np.ndarray,
        X_val: np.ndarray | None = None,
        y_val: np.ndarray | None = None,
    ) -> Interpolator:
        """Standardise with the training data's statistics and train; returns self.

        A validation set, when given, drives early stopping (if the recipe has a
        patience) and the validation-loss history.
        """
        X, y, _ = validate_xy(X, y, "training data")
        if (X_val is None) != (y_val is None):
            raise ValueError("give both X_val and y_val, or neither")
        if X_val is not None and len(X_val) == 0 and len(y_val) == 0:
            X_val = y_val = None  # an empty validation split (split.val = 0)
        if X_val is not None:
            X_val, y_val, _ = validate_xy(X_val, y_val, "validation data")
        recipe = get_recipe(self.recipe)
        if self.threads is not None:
            torch.set_num_threads(int(self.threads))
        device = pick_device(self.device)
        torch.manual_seed(self.seed)
        generator = torch.Generator(device=device).manual_seed(self.seed)

        self.recipe_ = recipe
        self.x_scaler_ = Standardizer().fit(X)
        self.y_scaler_ = Standardizer().fit(y)
        self.x_min_, self.x_max_ = X.min(axis=0), X.max(axis=0)
        self.model_ = build_mlp(N_FEATURES, recipe.hidden, recipe.activation).to(device)
        data = self._rows(X, y, device)
        val = None if X_val is None else self._rows(X_val, y_val, device)
        meter = PeakMemory() if self.measure_memory else contextlib.nullcontext()
        with meter:
            result: TrainResult = fit_model(
                self.model_, data, val, recipe, generator, self.log_every_s
            )
        self.train_memory_ = meter.as_dict("train") if self.measure_memory else None
        self.model_.eval()
        self.result_ = result
        self.n_train_ = len(X)
        return self

    def _rows(self, X: np.ndarray, y: np.ndarray, device: torch.device) -> torch.Tensor:
        Xs = torch.as_tensor(self.x_scaler_.transform(X), dtype=torch.float32, device=device)
        ys = torch.as_tensor(self.y_scaler_.transform(y), dtype=torch.float32, device=device)
        return training_rows(Xs, ys)

    @property
    def history_(self) -> dict[str, list[float]]:
        return self.result_.history

    @property
    def status_(self) -> str:
        return self.result_.status

    # -- prediction ---------------------------------------------------------------
    def _check_fitted(self) -> None:
        if not hasattr(self, "model_"):
            raise NotFittedError("this Interpolator is not fitted yet: call fit or load")

    def _check_points(self, X: Any) -> tuple[np.ndarray, bool]:
        X = np.asarray(X)
        single = X.shape == (N_FEATURES,)
        if single:
            X = X[None, :]
        if X.ndim != 2 or X.shape[1] != N_FEATURES:
            raise DataError(
                f"query points must have shape ({N_FEATURES},) for one point or "
                f"(m, {N_FEATURES}) for a batch, got {X.shape}"
            )
        if not np.issubdtype(X.dtype, np.number):
            raise DataError(f"query points are not numeric (dtype {X.dtype})")
        bad = ~np.isfinite(X).all(axis=1)
        if bad.any():
            rows = np.flatnonzero(bad)[:5].tolist()
            raise DataError(f"query points: {int(bad.sum())} row(s) hold NaN/inf, e.g. rows {rows}")
        return X.astype(np.float64, copy=False), single

    def predict(self, X: np.ndarray) -> np.ndarray | float:
        """Predict for one point of shape (5,) (returns a float) or a batch (m, 5)."""
        self._check_fitted()
        X, single = self._check_points(X)
        device = next(self.model_.parameters()).device
        out = np.empty(len(X))
        with torch.inference_mode():
            for i in range(0, len(X), self.predict_chunk):
                xs = self.x_scaler_.transform(X[i : i + self.predict_chunk])
                xt = torch.as_tensor(xs, dtype=torch.float32, device=device)
                out[i : i + len(xt)] = self.model_(xt).squeeze(1).double().cpu().numpy()
        out = self.y_scaler_.inverse_transform(out)
        return float(out[0]) if single else out

    def out_of_range(self, X: np.ndarray) -> np.ndarray:
        """True for each point outside the box spanned by the training inputs."""
        self._check_fitted()
        X, _ = self._check_points(X)
        return ((self.x_min_ > X) | (self.x_max_ < X)).any(axis=1)

    def score(self, X: np.ndarray, y: np.ndarray) -> float:
        """R² of the predictions against y."""
        return r2_score(y, self.predict(X))

    # -- persistence --------------------------------------------------------------
    def metadata(self) -> dict[str, Any]:
        self._check_fitted()
        return {
            "format_version": FORMAT_VERSION,
            "recipe": self.recipe_.to_dict(),
            "seed": self.seed,
            "threads": self.threads,
            "x_scaler": self.x_scaler_.to_dict(),
            "y_scaler": self.y_scaler_.to_dict(),
            "x_min": self.x_min_.tolist(),
            "x_max": self.x_max_.tolist(),
            "n_train": self.n_train_,
            "status": self.result_.status,
            "epochs_run": self.result_.epochs_run,
            "torch_version": torch.__version__,
        }

    def save(self, path: str | Path) -> None:
        """One file: the state dict and the JSON metadata (scalers, recipe, ranges)."""
        state = {k: v.detach().cpu() for k, v in self.model_.state_dict().items()}
        torch.save({"state_dict": state, "metadata": json.dumps(self.metadata())}, path)

    @classmethod
    def load(cls, path: str | Path, device: str = "cpu") -> Interpolator:
        """Load a saved model (tensors and JSON only: weights_only=True)."""
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no such model file")
        try:
            blob = torch.load(path, map_location="cpu", weights_only=True)
            meta = json.loads(blob["metadata"])
            state = blob["state_dict"]
        except Exception as e:
            raise DataError(f"{path}: not an interp5d model file ({e})") from None
        if meta.get("format_version") != FORMAT_VERSION:
            raise DataError(
                f"{path}: model format {meta.get('format_version')} is not {FORMAT_VERSION}"
            )
        est = cls(recipe=meta["recipe"], seed=meta["seed"], threads=meta["threads"], device=device)
        est.recipe_ = get_recipe(meta["recipe"])
        est.x_scaler_ = Standardizer.from_dict(meta["x_scaler"])
        est.y_scaler_ = Standardizer.from_dict(meta["y_scaler"], scalar=True)
        est.x_min_, est.x_max_ = np.asarray(meta["x_min"]), np.asarray(meta["x_max"])
        est.n_train_ = meta["n_train"]
        est.model_ = build_mlp(N_FEATURES, est.recipe_.hidden, est.recipe_.activation)
        est.model_.load_state_dict(state)
        est.model_.to(pick_device(device)).eval()
        est.result_ = TrainResult(
            meta["status"], meta["epochs_run"], meta["epochs_run"], float("nan")
        )
        return est
