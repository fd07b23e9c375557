"""Interpolator: the 5-D MLP interpolator, a scikit-learn estimator (fit, predict, score,
clone, set_params, model selection) that saves to and loads from one file."""

from __future__ import annotations

import contextlib
from dataclasses import replace
from typing import Any, ClassVar

import numpy as np
import torch

from .functions import N_FEATURES
from .methods.base import Method, NotFittedError
from .model import build_mlp, layer_widths, pick_device
from .profiling import PeakMemory, estimate_prediction_bytes
from .recipes import Recipe, get_recipe
from .threads import torch_threads
from .train import TrainResult, estimate_loop_bytes, fit_model, predict_rows, training_rows

__all__ = ["Interpolator", "NotFittedError"]
MB = 1024**2


class Interpolator(Method):
    """A 5-D neural-network interpolator.

    The constructor only stores settings: a recipe (name, dict or Recipe; its settings can
    also be set one by one as `recipe__<key>`, e.g. in GridSearchCV), the seed, the torch
    thread count (None leaves torch's), the device ('cpu', 'cuda' or 'auto'), the rows per
    prediction chunk, how often to log training progress (None: never) and whether to
    measure the training loop's peak memory (then in `loop_memory_`). Work happens in fit.
    """

    name: ClassVar[str] = "mlp"

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

    # -- recipe settings as nested parameters (recipe__lr, ...) ---------------------
    def get_params(self, deep: bool = True) -> dict[str, Any]:
        params = super().get_params(deep=False)
        if deep:
            with contextlib.suppress(ValueError):  # an invalid recipe shows up in fit
                for key, value in get_recipe(self.recipe).to_dict().items():
                    params[f"recipe__{key}"] = value
        return params

    def set_params(self, **params: Any) -> Interpolator:
        changes = {k.split("__", 1)[1]: params.pop(k) for k in list(params) if "__" in k}
        if changes:
            recipe = params.pop("recipe", self.recipe)
            self.recipe = {**get_recipe(recipe).to_dict(), **changes}
        return super().set_params(**params)

    # -- training -----------------------------------------------------------------
    def _fit(self, X, y, X_val, y_val, monitor) -> None:
        recipe = get_recipe(self.recipe)
        device = pick_device(self.device)
        with torch_threads(self.threads):
            torch.manual_seed(self.seed)
            generator = torch.Generator(device=device).manual_seed(self.seed)
            self.recipe_ = recipe
            self.model_ = build_mlp(N_FEATURES, recipe.hidden, recipe.activation).to(device)
            data = self._rows(X, y, device)
            val = None if X_val is None else self._rows(X_val, y_val, device)
            # inside the runner's meter of the whole fit: it released free memory already
            meter = PeakMemory(release=False) if self.measure_memory else contextlib.nullcontext()
            with meter:
                result: TrainResult = fit_model(
                    self.model_, data, val, recipe, generator, self.log_every_s, monitor
                )
        self.loop_memory_ = meter.as_dict("loop") if self.measure_memory else None
        self.model_.eval()
        self.result_ = result
        self.status_ = result.status
        self.history_ = result.history
        self.n_val_ = 0 if X_val is None else len(X_val)

    @staticmethod
    def _rows(X: np.ndarray, y: np.ndarray, device: torch.device) -> torch.Tensor:
        # float64 arrays straight into the float32 rows: one pass, no float32 copies first
        return training_rows(torch.from_numpy(X), torch.from_numpy(y)).to(device)

    def warm_up_params(self) -> dict[str, Any]:
        # one epoch runs every batch shape of the real fit and, with a validation set,
        # every validation chunk shape
        short = replace(
            get_recipe(self.recipe),
            epochs=1,
            min_steps=0,
            warmup_epochs=0,
            patience=None,
            val_every=1,
        )
        return {"recipe": short, "log_every_s": None, "measure_memory": False}

    def fit_record(self) -> dict[str, Any]:
        res = self.result_
        est = estimate_loop_bytes(
            self.n_train_, self.n_val_, layer_widths(self.model_), self.recipe_
        )
        record = {
            "engine": self.recipe_.engine,
            "loop_time_s": res.loop_time_s,
            "epochs_run": res.epochs_run,
            "steps_run": res.steps_run,
            "best_epoch": res.best_epoch,
            "diverged_epoch": res.diverged_epoch,
            "batch_rows": res.batch_rows,
            "widths": layer_widths(self.model_),
            "loop_gflop": res.flops / 1e9,
            "loop_gflops_per_s": res.flops / 1e9 / res.loop_time_s if res.loop_time_s else None,
            "loop_estimate_mb": None if est is None else est["total"] / MB,
            "loop_estimate_parts_mb": None if est is None else {k: v / MB for k, v in est.items()},
        }
        if self.loop_memory_ is not None:
            record["loop_peak_mb"] = self.loop_memory_["loop_peak_mb"]
        return record

    # -- prediction ---------------------------------------------------------------
    def predict_estimate_bytes(self, n_points: int) -> int:
        return estimate_prediction_bytes(n_points, self.recipe_.hidden, self.predict_chunk)

    def _predict(self, X: np.ndarray) -> np.ndarray:
        return predict_rows(self.model_, X)

    # -- persistence --------------------------------------------------------------
    def _saved_params(self) -> dict[str, Any]:
        return {**self.get_params(deep=False), "recipe": self.recipe_.to_dict()}

    def _state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        res = self.result_
        meta = {"epochs_run": res.epochs_run, "best_epoch": res.best_epoch, "n_val": self.n_val_}
        arrays = {k: v.detach().cpu().numpy() for k, v in self.model_.state_dict().items()}
        return meta, arrays

    def _restore(self, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        self.recipe_ = get_recipe(self.recipe)
        self.model_ = build_mlp(N_FEATURES, self.recipe_.hidden, self.recipe_.activation)
        self.model_.load_state_dict({k: torch.as_tensor(v) for k, v in arrays.items()})
        self.model_.to(pick_device(self.device)).eval()
        self.n_val_ = meta["n_val"]
        self.result_ = TrainResult(self.status_, meta["epochs_run"], meta["best_epoch"], np.nan)
        self.result_.history = self.history_
