"""scikit-learn's MLPRegressor with the interpolator's layers, its defaults otherwise."""

from __future__ import annotations

import copy
import itertools
from typing import Any, ClassVar

import numpy as np

from interp5d.data import DataError
from interp5d.functions import N_FEATURES
from interp5d.methods.base import Method, check_arrays, require_keys
from interp5d.metrics import r2_score


class SklearnMLP(Method):
    """MLPRegressor(hidden_layer_sizes=hidden, max_iter=max_iter, random_state=seed): Adam,
    lr 1e-3, batches of 200, stopping when the training loss stalls (its defaults)."""

    name: ClassVar[str] = "sklearn_mlp"

    def __init__(self, hidden: list[int] = (64, 32), max_iter: int = 200, seed: int = 42):
        self.hidden = hidden
        self.max_iter = max_iter
        self.seed = seed

    def _model(self, random_state=None):
        from sklearn.neural_network import MLPRegressor

        return MLPRegressor(
            hidden_layer_sizes=tuple(self.hidden),
            max_iter=self.max_iter,
            random_state=self.seed if random_state is None else random_state,
        )

    def _fit(self, X, y, X_val, y_val, monitor) -> None:
        # Epoch by epoch through partial_fit, so that the validation R² can be watched, with
        # fit's own stopping rule (the training loss improving by less than tol for more
        # than n_iter_no_change epochs). One RandomState carries the initialisation and
        # every epoch's shuffle, as in fit; partial_fit shuffles a fresh order each epoch
        # where fit reshuffles the last one, so the weights are fit's in distribution,
        # not bit for bit.
        self.model_ = m = self._model(np.random.RandomState(self.seed))
        best, stalled, epoch = np.inf, 0, 0
        while epoch < self.max_iter:
            m.partial_fit(X, y)
            epoch += 1
            if monitor is not None and X_val is not None:
                monitor.observe(r2_score(y_val, m.predict(X_val)), self._snapshot)
            loss = m.loss_curve_[-1]
            stalled = stalled + 1 if loss > best - m.tol else 0
            best = min(best, loss)
            if stalled > m.n_iter_no_change:
                break
        m.random_state = self.seed  # the settings as fit leaves them (and as saved)
        m.n_iter_ = self.epochs_ = epoch
        self.history_ = {
            "epoch": list(range(1, epoch + 1)),
            "train_loss": [2 * v for v in m.loss_curve_],  # its loss is MSE / 2
        }

    def _snapshot(self):
        frozen = copy.deepcopy(self.model_)
        return frozen.predict

    def _predict(self, X: np.ndarray) -> np.ndarray:
        return self.model_.predict(X)

    def _state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        arrays = {f"coef{i}": c for i, c in enumerate(self.model_.coefs_)}
        arrays |= {f"intercept{i}": b for i, b in enumerate(self.model_.intercepts_)}
        return {"n_layers": self.model_.n_layers_, "n_iter": self.model_.n_iter_}, arrays

    def _restore(self, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        # the attributes MLPRegressor.predict reads, as its fit leaves them
        require_keys(meta, ("n_layers", "n_iter"), "state.")
        try:
            widths = [N_FEATURES, *(int(w) for w in self.hidden), 1]
        except (TypeError, ValueError):
            raise DataError(f"params.hidden must be layer widths, got {self.hidden!r}") from None
        if meta["n_layers"] != len(widths):
            raise DataError(
                f"state.n_layers is {meta['n_layers']!r}, expected {len(widths)} for "
                f"params.hidden {list(self.hidden)}"
            )
        shapes = {f"coef{i}": (a, b) for i, (a, b) in enumerate(itertools.pairwise(widths))}
        shapes |= {f"intercept{i}": (b,) for i, b in enumerate(widths[1:])}
        check_arrays(arrays, shapes, f" (params.hidden {list(self.hidden)})")
        m = self._model()
        n = meta["n_layers"] - 1
        m.coefs_ = [arrays[f"coef{i}"] for i in range(n)]
        m.intercepts_ = [arrays[f"intercept{i}"] for i in range(n)]
        m.n_layers_, m.n_iter_, m.n_outputs_ = meta["n_layers"], meta["n_iter"], 1
        self.epochs_ = meta["n_iter"]
        m.n_features_in_, m.out_activation_ = m.coefs_[0].shape[0], "identity"
        self.model_ = m
