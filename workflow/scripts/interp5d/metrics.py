"""Regression metrics on held-out data."""

from __future__ import annotations

import numpy as np


def r2_score(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Coefficient of determination, 1 - SS_res / SS_tot (nan when y_true is constant)."""
    y_true, y_pred = np.asarray(y_true, float), np.asarray(y_pred, float)
    ss_tot = np.sum((y_true - y_true.mean()) ** 2)
    if ss_tot == 0:
        return float("nan")
    return float(1.0 - np.sum((y_true - y_pred) ** 2) / ss_tot)


def regression_metrics(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    """MSE, RMSE, MAE and R² of predictions against targets."""
    err = np.asarray(y_pred, float) - np.asarray(y_true, float)
    mse = float(np.mean(err**2))
    return {
        "mse": mse,
        "rmse": float(np.sqrt(mse)),
        "mae": float(np.mean(np.abs(err))),
        "r2": r2_score(y_true, y_pred),
    }


def oracle_metrics(
    y_true: np.ndarray, y_pred: np.ndarray, f_true: np.ndarray | None
) -> dict[str, float | None]:
    """For generated data: the noise ceiling (R² of the noise-free f against the noisy
    targets: no model can expect to beat it) and the model's R² against f itself.
    None when f is unknown (file datasets)."""
    if f_true is None:
        return {"oracle_r2": None, "r2_vs_f": None}
    return {"oracle_r2": r2_score(y_true, f_true), "r2_vs_f": r2_score(f_true, y_pred)}


Z95 = 1.959963984540054  # the standard normal's 97.5% quantile: ±Z95·σ holds 95%


def calibration(
    y: np.ndarray, mean: np.ndarray, std: np.ndarray, f: np.ndarray | None = None
) -> dict[str, float | None]:
    """How well predictive standard deviations cover: the fraction of points inside
    mean ± 1.96·std (0.95 for a calibrated Gaussian predictive distribution), against the
    observed y and, where known, the noise-free f; and the intervals' mean width."""
    y, mean, std = (np.asarray(a, float) for a in (y, mean, std))
    half = Z95 * std
    return {
        "coverage_95": float(np.mean(np.abs(y - mean) <= half)),
        "coverage_95_f": None
        if f is None
        else float(np.mean(np.abs(np.asarray(f) - mean) <= half)),
        "interval_width_95": float(np.mean(2 * half)),
    }
