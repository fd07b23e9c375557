"""Baseline methods on the same splits as the MLP: least squares, scikit-learn's MLP, RBF."""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from .baselines_names import BASELINE_DEFAULTS
from .data import Dataset, Standardizer, split_indices
from .profiling import PeakMemory, median_time
from .records import accuracy_fields, memory_fields, split_fields


class OLS:
    def fit(self, X: np.ndarray, y: np.ndarray) -> OLS:
        A = np.column_stack([X, np.ones(len(X))])
        self.coef_, *_ = np.linalg.lstsq(A, y, rcond=None)
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        return X @ self.coef_[:-1] + self.coef_[-1]


class SklearnMLP:
    def __init__(self, hidden: list[int], max_iter: int, seed: int) -> None:
        from sklearn.neural_network import MLPRegressor

        self.model = MLPRegressor(
            hidden_layer_sizes=tuple(hidden), max_iter=max_iter, random_state=seed
        )

    def fit(self, X: np.ndarray, y: np.ndarray) -> SklearnMLP:
        import warnings

        from sklearn.exceptions import ConvergenceWarning

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            self.model.fit(X, y)
        self.epochs_ = self.model.n_iter_
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self.model.predict(X)


class ThinPlateRBF:
    def __init__(self, smoothing: list[float], select_rows: int, max_rows: int, seed: int):
        self.grid, self.select_rows, self.max_rows, self.seed = (
            smoothing,
            select_rows,
            max_rows,
            seed,
        )

    def fit(self, X, y, X_val, y_val) -> ThinPlateRBF:
        from scipy.interpolate import RBFInterpolator

        if len(X) > self.max_rows:
            raise ValueError(
                f"rbf: {len(X)} training rows exceed max_rows={self.max_rows} "
                "(its dense system grows as n²)"
            )
        if X_val is None or len(X_val) == 0:
            raise ValueError("rbf: chooses its smoothing on the validation split, which is empty")
        rng = np.random.default_rng(self.seed)
        sub = rng.choice(len(X), min(len(X), self.select_rows), replace=False)
        scores = {}
        for s in self.grid:
            rbf = RBFInterpolator(X[sub], y[sub], kernel="thin_plate_spline", smoothing=s)
            scores[s] = float(np.mean((rbf(X_val) - y_val) ** 2))
        self.smoothing_ = min(scores, key=scores.get)
        self.model = RBFInterpolator(X, y, kernel="thin_plate_spline", smoothing=self.smoothing_)
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self.model(X)


def run_baseline(
    ds: Dataset,
    method: str,
    seed: int,
    settings: dict[str, Any] | None = None,
    threads: int = 1,
    split: tuple[float, float, float] = (0.70, 0.15, 0.15),
) -> dict[str, Any]:
    """Fit and profile one baseline on the same seeded split as run_experiment.

    train_time_s covers the whole fit, model selection included; inputs and targets are
    standardised with the training statistics as for the MLP.
    """
    from threadpoolctl import threadpool_limits

    if method not in BASELINE_DEFAULTS:
        raise ValueError(f"unknown baseline {method!r}; known: {sorted(BASELINE_DEFAULTS)}")
    opts = {**BASELINE_DEFAULTS[method], **(settings or {})}
    tr, va, te = split_indices(len(ds), split, seed)
    xs, ys = Standardizer().fit(ds.X[tr]), Standardizer().fit(ds.y[tr])
    Xtr, Xva, Xte = (xs.transform(ds.X[i]) for i in (tr, va, te))
    ytr, yva = ys.transform(ds.y[tr]), ys.transform(ds.y[va])
    with threadpool_limits(threads):
        if method == "ols":
            model = OLS()
        elif method == "sklearn_mlp":
            model = SklearnMLP(opts["hidden"], opts["max_iter"], seed)
        else:
            model = ThinPlateRBF(opts["smoothing"], opts["select_rows"], opts["max_rows"], seed)
        with PeakMemory() as mem_train:
            t0 = time.perf_counter()
            if method == "rbf":
                model.fit(Xtr, ytr, Xva, yva)
            else:
                model.fit(Xtr, ytr)
            train_time = time.perf_counter() - t0
        with PeakMemory() as mem_pred:
            pred = ys.inverse_transform(model.predict(Xte))
        t_test = median_time(lambda: model.predict(Xte), repeats=3)
    return {
        **split_fields(len(ds), tr, va, te, seed, threads),
        "status": "ok",
        "epochs_run": getattr(model, "epochs_", None),
        "train_time_s": train_time,
        **memory_fields(mem_train.as_dict("train"), mem_pred),
        "predict_throughput_per_s": len(te) / t_test,
        "baseline_settings": {
            **opts,
            **({"smoothing_chosen": model.smoothing_} if method == "rbf" else {}),
        },
        **accuracy_fields(ds, te, pred),
    }
