"""scikit-learn's MLPRegressor with the interpolator's layers, its defaults otherwise."""

from __future__ import annotations

import warnings
from typing import Any, ClassVar

import numpy as np

from .base import Method


class SklearnMLP(Method):
    """MLPRegressor(hidden_layer_sizes=hidden, max_iter=max_iter, random_state=seed): Adam,
    lr 1e-3, batches of 200, stopping when the training loss stalls (its defaults)."""

    name: ClassVar[str] = "sklearn_mlp"

    def __init__(self, hidden: list[int] = (64, 32), max_iter: int = 200, seed: int = 42):
        self.hidden = hidden
        self.max_iter = max_iter
        self.seed = seed

    def _model(self):
        from sklearn.neural_network import MLPRegressor

        return MLPRegressor(
            hidden_layer_sizes=tuple(self.hidden), max_iter=self.max_iter, random_state=self.seed
        )

    def _fit(self, X, y, X_val, y_val) -> None:
        from sklearn.exceptions import ConvergenceWarning

        self.model_ = self._model()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            self.model_.fit(X, y)
        self.history_ = {
            "epoch": list(range(1, self.model_.n_iter_ + 1)),
            "train_loss": [2 * v for v in self.model_.loss_curve_],  # its loss is MSE / 2
        }

    def warm_up_params(self) -> dict[str, Any]:
        return {"max_iter": 1}

    def fit_record(self) -> dict[str, Any]:
        return {"epochs_run": self.model_.n_iter_}

    def _predict(self, X: np.ndarray) -> np.ndarray:
        return self.model_.predict(X)

    def _state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        arrays = {f"coef{i}": c for i, c in enumerate(self.model_.coefs_)}
        arrays |= {f"intercept{i}": b for i, b in enumerate(self.model_.intercepts_)}
        return {"n_layers": self.model_.n_layers_, "n_iter": self.model_.n_iter_}, arrays

    def _restore(self, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        # the attributes MLPRegressor.predict reads, as its fit leaves them
        m = self._model()
        n = meta["n_layers"] - 1
        m.coefs_ = [arrays[f"coef{i}"] for i in range(n)]
        m.intercepts_ = [arrays[f"intercept{i}"] for i in range(n)]
        m.n_layers_, m.n_iter_, m.n_outputs_ = meta["n_layers"], meta["n_iter"], 1
        m.n_features_in_, m.out_activation_ = m.coefs_[0].shape[0], "identity"
        self.model_ = m
