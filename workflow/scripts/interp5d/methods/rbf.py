"""Thin-plate radial-basis-function interpolation (scipy), smoothing chosen on validation."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from interp5d.data import DataError
from interp5d.functions import N_FEATURES
from interp5d.methods.base import Method, check_arrays, numbers, require_keys


class ThinPlateRBF(Method):
    """scipy's RBFInterpolator with the thin-plate kernel. Each smoothing of the grid is
    fitted on at most `select_rows` training rows and scored on the validation split; the
    best is then fitted on all rows. Its dense system grows as n², so more than `max_rows`
    training rows are refused."""

    name: ClassVar[str] = "rbf"

    def __init__(
        self,
        smoothing: list[float] = (1e-4, 1e-3, 1e-2, 1e-1, 1.0),
        select_rows: int = 2000,
        max_rows: int = 20000,
        seed: int = 42,
    ):
        self.smoothing = smoothing
        self.select_rows = select_rows
        self.max_rows = max_rows
        self.seed = seed

    def _fit(self, X, y, X_val, y_val, monitor) -> None:
        if len(X) > self.max_rows:
            raise ValueError(
                f"rbf: {len(X)} training rows exceed max_rows={self.max_rows} "
                "(its dense system grows as n²)"
            )
        if X_val is None:
            raise ValueError("rbf: chooses its smoothing on the validation split, which is empty")
        rng = np.random.default_rng(self.seed)
        sub = rng.choice(len(X), min(len(X), self.select_rows), replace=False)
        scores = {}
        for s in self.smoothing:
            scores[s] = float(np.mean((self._interpolator(X[sub], y[sub], s)(X_val) - y_val) ** 2))
        self.smoothing_ = min(scores, key=scores.get)
        self.X_train_, self.y_train_ = X, y  # what save writes: the fit is their solve
        self.model_ = self._interpolator(X, y, self.smoothing_)

    @staticmethod
    def _interpolator(X, y, smoothing: float):
        from scipy.interpolate import RBFInterpolator

        return RBFInterpolator(X, y, kernel="thin_plate_spline", smoothing=smoothing)

    def _predict(self, X: np.ndarray) -> np.ndarray:
        return self.model_(X)

    def _state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        return {"smoothing": self.smoothing_}, {"X": self.X_train_, "y": self.y_train_}

    def _restore(self, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        # deterministic: the same rows and smoothing give the same solve
        require_keys(meta, ("smoothing",), "state.")
        y = arrays.get("y")
        n = y.shape[0] if y is not None and y.ndim == 1 else None  # X must have as many
        check_arrays(arrays, {"X": (n, N_FEATURES), "y": (n,)})
        smoothing = float(numbers(meta["smoothing"], "state.smoothing", 1)[0])
        if smoothing < 0:
            raise DataError(f"state.smoothing must be >= 0, got {smoothing}")
        self.smoothing_ = smoothing
        self.X_train_, self.y_train_ = arrays["X"], arrays["y"]
        self.model_ = self._interpolator(self.X_train_, self.y_train_, self.smoothing_)
