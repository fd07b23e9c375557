"""A Gaussian process (scikit-learn): Matérn 5/2 kernel with one length scale per input,
plus white noise; hyperparameters by marginal likelihood."""

from __future__ import annotations

import warnings
from typing import Any, ClassVar

import numpy as np

from interp5d.functions import N_FEATURES
from interp5d.methods.base import Method, check_arrays


class GaussianProcess(Method):
    """GaussianProcessRegressor with C · Matérn(ν = 5/2, a length scale per input) + white
    noise. The hyperparameters maximise the marginal likelihood on a seeded subsample of at
    most `select_rows` training rows; then one exact fit with them on all the training
    rows. Its cost grows as n³ (memory as n²), so more than `max_rows` training rows are
    refused. Its predictive std is its own (the white noise included: it is for y)."""

    name: ClassVar[str] = "gp"
    predict_chunk: int = 2048  # the cross-covariance of a chunk: chunk x n_train float64

    def __init__(
        self,
        nu: float = 2.5,
        select_rows: int = 1000,
        max_rows: int = 8000,
        restarts: int = 0,
        seed: int = 42,
    ):
        self.nu = nu
        self.select_rows = select_rows
        self.max_rows = max_rows
        self.restarts = restarts
        self.seed = seed

    def _kernel(self):
        from sklearn.gaussian_process.kernels import ConstantKernel, Matern, WhiteKernel

        return ConstantKernel(1.0, (1e-3, 1e3)) * Matern(
            length_scale=np.ones(5), length_scale_bounds=(1e-2, 1e3), nu=self.nu
        ) + WhiteKernel(1e-2, (1e-8, 1.0))

    def _gp(self, kernel, optimise: bool):
        from sklearn.gaussian_process import GaussianProcessRegressor

        return GaussianProcessRegressor(
            kernel=kernel,
            optimizer="fmin_l_bfgs_b" if optimise else None,
            n_restarts_optimizer=self.restarts,
            random_state=self.seed,
            copy_X_train=False,
        )

    def _fit(self, X, y, X_val, y_val, monitor) -> None:
        if len(X) > self.max_rows:
            raise ValueError(
                f"gp: {len(X)} training rows exceed max_rows={self.max_rows} "
                "(its cost grows as n³ and its memory as n²)"
            )
        from sklearn.exceptions import ConvergenceWarning

        rng = np.random.default_rng(self.seed)
        sub = rng.choice(len(X), min(len(X), self.select_rows), replace=False)
        with warnings.catch_warnings():
            # a length scale at its bound is an input the function hardly varies along
            warnings.simplefilter("ignore", ConvergenceWarning)
            tuned = self._gp(self._kernel(), optimise=True).fit(X[sub], y[sub])
        self.theta_ = tuned.kernel_.theta
        self.model_ = self._refit(X, y)

    def _refit(self, X, y):
        # the same kernel with the fitted hyperparameters, solved on all the rows given
        return self._gp(self._kernel().clone_with_theta(self.theta_), optimise=False).fit(X, y)

    def _predict(self, X: np.ndarray) -> np.ndarray:
        return self.model_.predict(X)

    def has_std(self) -> bool:
        return hasattr(self, "model_")  # its own predictive variance

    def _predict_var(self, X: np.ndarray) -> np.ndarray:
        _, std = self.model_.predict(X, return_std=True)
        return std**2

    def _state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        return {}, {"X": self.model_.X_train_, "y": self.model_.y_train_, "theta": self.theta_}

    def _restore(self, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        # deterministic: the same rows and hyperparameters give the same solve
        y = arrays.get("y")
        n = y.shape[0] if y is not None and y.ndim == 1 else None  # X must have as many
        theta = self._kernel().theta.shape  # the kernel's hyperparameters, log-scaled
        check_arrays(arrays, {"X": (n, N_FEATURES), "y": (n,), "theta": theta})
        self.theta_ = arrays["theta"]
        self.model_ = self._refit(arrays["X"], arrays["y"])
