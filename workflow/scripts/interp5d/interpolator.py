"""MLPInterpolator: the 5-D MLP interpolator, a scikit-learn estimator (fit, predict, score,
clone, set_params, model selection) that saves to and loads from one file."""

from __future__ import annotations

import contextlib
from typing import Any, ClassVar

import numpy as np
import torch

from interp5d.data import DataError
from interp5d.functions import N_FEATURES
from interp5d.methods.base import Method, NotFittedError, check_arrays, require_keys
from interp5d.model import build_mlp, pick_device
from interp5d.recipes import Recipe, RecipeParams, get_recipe
from interp5d.threads import torch_threads
from interp5d.training.loop import TrainResult, fit_model, predict_rows, training_rows

__all__ = ["MLPInterpolator", "NotFittedError"]


class MLPInterpolator(RecipeParams, Method):
    """A 5-D neural-network interpolator.

    The constructor only stores settings: a recipe (name, dict or Recipe; its settings can
    also be set one by one as `recipe__<key>`, e.g. in GridSearchCV), the seed, the torch
    thread count (None leaves torch's), the device ('cpu', 'cuda' or 'auto'), the rows per
    prediction chunk and how often to log training progress (None: never). Work happens in
    fit.
    """

    name: ClassVar[str] = "mlp"
    # the loop's memory is the benchmark harness's to measure (its monitor's loop meter)
    retired_params: ClassVar[tuple[str, ...]] = ("measure_memory",)

    def __init__(
        self,
        recipe: str | dict[str, Any] | Recipe = "tuned",
        seed: int = 42,
        threads: int | None = 1,
        device: str = "cpu",
        predict_chunk: int = 65536,
        log_every_s: float | None = None,
    ) -> None:
        self.recipe = recipe
        self.seed = seed
        self.threads = threads
        self.device = device
        self.predict_chunk = predict_chunk
        self.log_every_s = log_every_s

    # -- training -----------------------------------------------------------------
    def _fit(self, X, y, X_val, y_val, monitor) -> None:
        recipe = get_recipe(self.recipe)
        device = pick_device(self.device)
        self.recipe_ = recipe
        self.members_: list[torch.nn.Module] = []
        self.results_: list[TrainResult] = []
        with torch_threads(self.threads):
            data = self._rows(X, y, device)
            val = None if X_val is None else self._rows(X_val, y_val, device)
            # the monitor's span of the loop alone (the harness meters its memory there)
            with monitor.loop() if monitor is not None else contextlib.nullcontext():
                for seed in range(self.seed, self.seed + recipe.members):
                    torch.manual_seed(seed)
                    generator = torch.Generator(device=device).manual_seed(seed)
                    model = build_mlp(
                        N_FEATURES, recipe.hidden, recipe.activation, recipe.init_scale
                    ).to(device)
                    # one network's validations are the model's only when it is alone; an
                    # ensemble is watched once, when its fit ends (as a one-shot method)
                    watch = monitor if recipe.members == 1 else None
                    result = fit_model(model, data, val, recipe, generator, self.log_every_s, watch)
                    self.members_.append(model.eval())
                    self.results_.append(result)
        self.model_, self.result_ = self.members_[0], self.results_[0]
        diverged = [r.status for r in self.results_ if r.status == "diverged"]
        self.status_ = diverged[0] if diverged else self.result_.status
        self.history_ = self.result_.history
        self.n_val_ = 0 if X_val is None else len(X_val)

    @staticmethod
    def _rows(X: np.ndarray, y: np.ndarray, device: torch.device) -> torch.Tensor:
        # float64 arrays straight into the float32 rows: one pass, no float32 copies first
        return training_rows(torch.from_numpy(X), torch.from_numpy(y)).to(device)

    # -- prediction ---------------------------------------------------------------
    # prediction runs on the estimator's threads, as fit does: a float32 network's last bits
    # can depend on how many threads split its products
    def _predict(self, X: np.ndarray) -> np.ndarray:
        with torch_threads(self.threads):
            if len(self.members_) == 1:
                return predict_rows(self.model_, X)
            return np.mean([predict_rows(m, X) for m in self.members_], axis=0)

    def _epistemic_var(self, X: np.ndarray) -> np.ndarray | None:
        # the members' spread (their mixture's variance); a single network has none
        if len(self.members_) == 1:
            return None
        with torch_threads(self.threads):
            return np.var([predict_rows(m, X) for m in self.members_], axis=0)

    def predict_grad(self, X: Any) -> np.ndarray:
        """The gradient of the prediction with respect to the inputs, ∂ŷ/∂x (m, 5) in the
        data's units (for one point of shape (5,), shape (5,)), by autograd through the
        networks (their mean for an ensemble); columns in the fitted features' order."""
        X, single = self._points(X)
        device = next(self.model_.parameters()).device
        out = np.empty_like(X)
        with torch_threads(self.threads):
            for i in range(0, len(X), self.predict_chunk):
                xs = self.x_scaler_.transform(X[i : i + self.predict_chunk])
                xt = torch.tensor(xs, dtype=torch.float32, device=device, requires_grad=True)
                total = sum(m(xt).sum() for m in self.members_) / len(self.members_)
                (grad,) = torch.autograd.grad(total, xt)
                out[i : i + len(xs)] = grad.double().cpu().numpy()
        # ŷ = y_scale · f((x - x_mean) / x_scale) + y_mean, so ∂ŷ/∂x = y_scale / x_scale · ∂f
        out *= self.y_scaler_.scale / self.x_scaler_.scale
        return out[0] if single else out

    # -- persistence --------------------------------------------------------------
    def _saved_params(self) -> dict[str, Any]:
        return {**self.get_params(deep=False), "recipe": self.recipe_.to_dict()}

    def _state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        res = self.result_
        meta = {"epochs_run": res.epochs_run, "best_epoch": res.best_epoch, "n_val": self.n_val_}
        arrays = {
            f"member{i}.{k}": v.detach().cpu().numpy()
            for i, m in enumerate(self.members_)
            for k, v in m.state_dict().items()
        }
        return meta, arrays

    def _restore(self, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        require_keys(meta, ("epochs_run", "best_epoch", "n_val"), "state.")
        try:
            self.recipe_ = get_recipe(self.recipe)
        except (TypeError, ValueError) as e:  # a hand-edited recipe: wrong keys or values
            raise DataError(f"params.recipe: {e}") from None
        models = [
            build_mlp(N_FEATURES, self.recipe_.hidden, self.recipe_.activation)
            for _ in range(self.recipe_.members)
        ]
        # the arrays' names and shapes must be the recipe's networks', checked here rather
        # than by load_state_dict's many-line error
        shapes = {
            f"member{i}.{k}": tuple(v.shape)
            for i, model in enumerate(models)
            for k, v in model.state_dict().items()
        }
        hidden, members = list(self.recipe_.hidden), self.recipe_.members
        check_arrays(arrays, shapes, f" (the recipe's hidden {hidden}, members {members})")
        self.members_ = []
        for i, model in enumerate(models):
            prefix = f"member{i}."
            state = {
                k[len(prefix) :]: torch.as_tensor(v)
                for k, v in arrays.items()
                if k.startswith(prefix)
            }
            model.load_state_dict(state)
            self.members_.append(model.to(pick_device(self.device)).eval())
        self.model_ = self.members_[0]
        self.n_val_ = meta["n_val"]
        self.result_ = TrainResult(self.status_, meta["epochs_run"], meta["best_epoch"], np.nan)
        self.result_.history = self.history_
        self.results_ = [self.result_]
