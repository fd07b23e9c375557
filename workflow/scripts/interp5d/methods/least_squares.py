"""Ordinary least squares with an intercept: a floor for the other methods."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from interp5d.functions import N_FEATURES
from interp5d.methods.base import Method, check_arrays


class LeastSquares(Method):
    name: ClassVar[str] = "ols"

    def _fit(self, X, y, X_val, y_val, monitor) -> None:
        A = np.column_stack([X, np.ones(len(X))])
        self.coef_, *_ = np.linalg.lstsq(A, y, rcond=None)

    def _predict(self, X: np.ndarray) -> np.ndarray:
        return X @ self.coef_[:-1] + self.coef_[-1]

    def _state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        return {}, {"coef": self.coef_}

    def _restore(self, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        check_arrays(arrays, {"coef": (N_FEATURES + 1,)})  # the weights, then the intercept
        self.coef_ = arrays["coef"]
