"""SMT's kriging (smt.surrogate_models.KRG) as a baseline: the surrogate its users pick."""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np

from interp5d.data import DataError
from interp5d.functions import N_FEATURES
from interp5d.methods.base import Method, check_arrays, numbers, require_keys

CORRELATIONS = ("squar_exp", "matern52", "matern32", "abs_exp")
TRENDS = ("constant", "linear", "quadratic")
OPTIMISERS = ("TNC", "Cobyla", "NoOp")  # SMT's hyper_opt; NoOp keeps theta0


class Kriging(Method):
    """SMT's KRG: a trend `poly` plus a Gaussian process with the correlation `corr` (a
    product over the inputs, one length scale per input), its hyperparameters by SMT's
    multistart (`n_start` starts of `hyper_opt`) maximum likelihood from `theta0`, a jitter `nugget`
    on the correlation's diagonal and, with `eval_noise`, a fitted noise variance. Settings
    and defaults are SMT's (smt.readthedocs.io, Surrogate models > Kriging, its options
    table; smt/surrogate_models/krg_based/krg_based.py in smt 2.15.0) but `corr`, whose
    default here is matern52: squar_exp fits Styblinski-Tang to R² 0.25-0.31 at 300
    samples where matern52 reaches 0.9999. Seeded, silent. Its cost grows as n³ with a
    large constant (SMT's likelihood and gradient in Python: 20 s for 210 rows on one
    core), so more than `max_rows` training rows are refused. Its predictive variance is
    SMT's kriging variance (plus the fitted noise with `eval_noise`)."""

    name: ClassVar[str] = "krg"
    predict_chunk: int = 2048  # SMT's cross-correlation of a chunk: chunk x n_train x 5

    def __init__(
        self,
        corr: str = "matern52",
        poly: str = "constant",
        theta0: float = 0.01,
        n_start: int = 10,
        hyper_opt: str = "TNC",
        nugget: float = 100.0 * float(np.finfo(np.float64).eps),
        eval_noise: bool = False,
        max_rows: int = 250,
        seed: int = 42,
    ):
        self.corr = corr
        self.poly = poly
        self.theta0 = theta0
        self.n_start = n_start
        self.hyper_opt = hyper_opt
        self.nugget = nugget
        self.eval_noise = eval_noise
        self.max_rows = max_rows
        self.seed = seed

    def _model(self, theta0: list[float], optimise: bool, noise0: float = 0.0):
        from smt.surrogate_models import KRG

        if self.corr not in CORRELATIONS:
            raise ValueError(f"krg: unknown corr {self.corr!r}; known: {', '.join(CORRELATIONS)}")
        if self.poly not in TRENDS:
            raise ValueError(f"krg: unknown poly {self.poly!r}; known: {', '.join(TRENDS)}")
        if self.hyper_opt not in OPTIMISERS:
            known = ", ".join(OPTIMISERS)
            raise ValueError(f"krg: unknown hyper_opt {self.hyper_opt!r}; known: {known}")
        return KRG(
            corr=self.corr,
            poly=self.poly,
            theta0=theta0,
            n_start=self.n_start if optimise else 1,
            nugget=float(self.nugget),
            # a restored model evaluates its saved hyperparameters once: NoOp, no search
            hyper_opt=self.hyper_opt if optimise else "NoOp",
            eval_noise=self.eval_noise and optimise,
            noise0=[noise0],
            seed=self.seed,
            print_global=False,  # SMT prints every fit's timings and problem sizes
        )

    def _fit(self, X, y, X_val, y_val, monitor) -> None:
        if len(X) > self.max_rows:
            raise ValueError(
                f"krg: {len(X)} training rows exceed max_rows={self.max_rows} "
                "(its cost grows as n³, with SMT's likelihood search in Python)"
            )
        model = self._model([float(self.theta0)], optimise=True)
        model.set_training_values(X, y)
        model.train()
        self.theta_ = np.asarray(model.optimal_theta, dtype=np.float64).reshape(-1)
        noise = np.asarray(model.optimal_noise, dtype=np.float64).reshape(-1)
        self.noise_ = float(noise[0]) if self.eval_noise else 0.0
        self.X_train_, self.y_train_ = X, y  # what save writes: the fit is their solve
        self.model_ = model

    def _predict(self, X: np.ndarray) -> np.ndarray:
        return self.model_.predict_values(X)[:, 0]

    def has_std(self) -> bool:
        return hasattr(self, "model_")  # its own predictive variance

    def _predict_var(self, X: np.ndarray) -> np.ndarray:
        var = self.model_.predict_variances(X)[:, 0]
        if self.noise_:
            # SMT's noise is relative to the process variance, and its variance leaves it out
            var = var + self.noise_ * float(np.ravel(self.model_.optimal_par["sigma2"])[0])
        return var

    def _state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        arrays = {"X": self.X_train_, "y": self.y_train_, "theta": self.theta_}
        return {"noise": self.noise_}, arrays

    def _restore(self, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        # deterministic: the same rows, length scales and noise give the same solve
        require_keys(meta, ("noise",), "state.")
        y = arrays.get("y")
        n = y.shape[0] if y is not None and y.ndim == 1 else None  # X must have as many
        check_arrays(arrays, {"X": (n, N_FEATURES), "y": (n,), "theta": (N_FEATURES,)})
        noise, theta = float(numbers(meta["noise"], "state.noise", 1)[0]), arrays["theta"]
        if noise < 0 or not math.isfinite(noise) or theta.min() <= 0:
            raise DataError(f"state.noise must be >= 0 and theta > 0, got {noise}, {theta}")
        self.theta_, self.noise_ = theta.astype(np.float64), noise
        self.X_train_, self.y_train_ = arrays["X"], arrays["y"]
        self.model_ = self._model(self.theta_.tolist(), optimise=False, noise0=noise)
        self.model_.set_training_values(self.X_train_, self.y_train_)
        self.model_.train()
