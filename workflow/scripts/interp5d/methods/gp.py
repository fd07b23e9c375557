"""A Gaussian process (scikit-learn): a Matérn or squared-exponential kernel with one length
scale per input, plus white noise; hyperparameters by marginal likelihood."""

from __future__ import annotations

import functools
import warnings
from typing import Any, ClassVar

import numpy as np

from interp5d.functions import N_FEATURES
from interp5d.methods.base import Method, check_arrays

KERNELS = ("product_matern", "matern", "sqexp")
LS0 = 1.0  # the length scales' first start, on standardised inputs


@functools.cache
def product_matern_class() -> type:
    """scikit-learn's Matern with its kernel a product of one-input Matérns (SMT's KRG form)."""
    from sklearn.gaussian_process.kernels import Matern

    class ProductMatern(Matern):
        """Π_i m_ν(|x_i - x'_i| / l_i), ν in {0.5, 1.5, 2.5}: SMT's matern52/matern32 (and
        abs_exp) correlations, where Matern is m_ν of the one scaled Euclidean distance."""

        def __call__(self, X, Y=None, eval_gradient=False):
            X = np.atleast_2d(X)
            ls = np.broadcast_to(np.asarray(self.length_scale, dtype=np.float64), X.shape[1:])
            Y = X if Y is None else np.atleast_2d(Y)
            r = np.abs(X[:, None, :] - Y[None, :, :]) / ls  # (n, m, inputs)
            if self.nu == 2.5:
                s = np.sqrt(5.0) * r
                poly = 1.0 + s + s**2 / 3.0
                dlog = s**2 / 3.0 * (1.0 + s) / poly  # d log m / d log l, per input
            elif self.nu == 1.5:
                s = np.sqrt(3.0) * r
                poly = 1.0 + s
                dlog = s**2 / poly
            elif self.nu == 0.5:
                s, poly, dlog = r, 1.0, r
            else:
                raise ValueError(f"gp: a product Matérn takes nu 0.5, 1.5 or 2.5, not {self.nu}")
            K = np.prod(poly * np.exp(-s), axis=2)
            if not eval_gradient:
                return K
            if self.hyperparameter_length_scale.fixed:
                return K, np.empty((X.shape[0], X.shape[0], 0))
            grad = K[:, :, None] * dlog
            return K, grad if self.anisotropic else grad.sum(axis=2, keepdims=True)

    return ProductMatern


class GaussianProcess(Method):
    """GaussianProcessRegressor with C · k(a length scale per input) + white noise, k one of
    `kernel`: `product_matern` (a product of one-input Matérn(ν) kernels, as SMT's KRG has
    it: it fits sums of one-input effects, e.g. Styblinski-Tang, where the others do not),
    `matern` (Matérn(ν) of the scaled distance) or `sqexp` (squared exponential). The white
    noise variance is bounded below by `noise_floor` (standardised y: ~0 lets it interpolate
    a noise-free target). The hyperparameters maximise the marginal likelihood on a seeded
    subsample of at most `select_rows` training rows, from 1 + `restarts` starts; then one
    exact fit with them on all the training rows. Its cost grows as n³ (memory as n²), so
    more than `max_rows` training rows are refused. Its predictive std is its own (the
    white noise included: it is for y). Its search can stop where noise explains the
    target (Styblinski-Tang at 150 samples, seed 4: noise 0.23, R² 0.39, restarts or not):
    SMT's KRG, which profiles the amplitude out and starts from long length scales, does
    not."""

    name: ClassVar[str] = "gp"
    predict_chunk: int = 2048  # the cross-covariance of a chunk: chunk x n_train float64

    def __init__(
        self,
        kernel: str = "product_matern",
        nu: float = 2.5,
        noise_floor: float = 1e-8,
        select_rows: int = 1000,
        max_rows: int = 8000,
        restarts: int = 0,
        seed: int = 42,
    ):
        self.kernel = kernel
        self.nu = nu
        self.noise_floor = noise_floor
        self.select_rows = select_rows
        self.max_rows = max_rows
        self.restarts = restarts
        self.seed = seed

    def _kernel(self):
        from sklearn.gaussian_process.kernels import RBF, ConstantKernel, Matern, WhiteKernel

        if self.kernel not in KERNELS:
            raise ValueError(f"gp: unknown kernel {self.kernel!r}; known: {', '.join(KERNELS)}")
        scales = {"length_scale": np.full(N_FEATURES, LS0), "length_scale_bounds": (1e-2, 1e3)}
        if self.kernel == "sqexp":
            k = RBF(**scales)
        else:
            cls = product_matern_class() if self.kernel == "product_matern" else Matern
            k = cls(**scales, nu=self.nu)
        # a smooth target at long length scales needs a large amplitude (y is standardised:
        # 1e3 held Styblinski-Tang's fit at R² 0.99 where 1e5 reaches 0.9995)
        return ConstantKernel(1.0, (1e-3, 1e5)) * k + WhiteKernel(1e-2, (self.noise_floor, 1.0))

    def _gp(self, kernel, optimise: bool):
        from sklearn.gaussian_process import GaussianProcessRegressor

        return GaussianProcessRegressor(
            kernel=kernel,
            optimizer="fmin_l_bfgs_b" if optimise else None,
            n_restarts_optimizer=self.restarts,
            random_state=self.seed,
            copy_X_train=False,
        )

    @property
    def noise_level_(self) -> float:
        """The fitted white-noise variance, on standardised y."""
        return float(np.exp(self.theta_[-1]))

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
