"""Aggregation of per-run metrics into the study's tables."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

KEYS = ["function", "n_samples", "recipe"]
RUN_COLUMNS = [
    "function",
    "n_samples",
    "recipe",
    "seed",
    "status",
    "diverged_epoch",
    "train_time_s",
    "epochs_run",
    "best_epoch",
    "time_per_epoch_s",
    "train_peak_mb",
    "train_abs_peak_mb",
    "train_estimate_mb",
    "predict_peak_mb",
    "predict_estimate_mb",
    "memory_method",
    "predict_latency_s",
    "predict_throughput_per_s",
    "predict_throughput_100k_per_s",
    "mse",
    "rmse",
    "mae",
    "r2",
    "oracle_r2",
    "r2_vs_f",
    "threads",
    "n_train",
    "n_val",
    "n_test",
]
STAT_COLUMNS = [
    "train_time_s",
    "epochs_run",
    "time_per_epoch_s",
    "train_peak_mb",
    "train_estimate_mb",
    "predict_peak_mb",
    "predict_latency_s",
    "predict_throughput_per_s",
    "mse",
    "rmse",
    "mae",
    "r2",
    "oracle_r2",
    "r2_vs_f",
]


def read_runs(paths: Iterable[str | Path]) -> pd.DataFrame:
    """One row per metrics JSON, in the columns of RUN_COLUMNS (missing values empty)."""
    rows = []
    for p in paths:
        with open(p) as fh:
            rec = json.load(fh)
        rows.append({c: rec.get(c) for c in RUN_COLUMNS})
    df = pd.DataFrame(rows, columns=RUN_COLUMNS)
    for c in STAT_COLUMNS:
        df[c] = pd.to_numeric(df[c], errors="raise").astype(float)
    return df.sort_values(["function", "recipe", "n_samples", "seed"], ignore_index=True)


def by_size(runs: pd.DataFrame) -> pd.DataFrame:
    """Mean, std, min and max over seeds per (function, n_samples, recipe).

    Statistics use the runs that did not diverge; n_runs and n_diverged say how
    many runs there were and how many diverged.
    """
    ok = runs[runs["status"] != "diverged"]
    stats = ok.groupby(KEYS)[STAT_COLUMNS].agg(["mean", "std", "min", "max"])
    stats.columns = [f"{c}_{s}" for c, s in stats.columns]
    counts = runs.groupby(KEYS).agg(
        n_runs=("seed", "size"), n_diverged=("status", lambda s: int((s == "diverged").sum()))
    )
    return counts.join(stats).reset_index()


def _cell(row: pd.Series, col: str, fmt: str) -> str:
    mean, std = row.get(f"{col}_mean"), row.get(f"{col}_std")
    if mean is None or (isinstance(mean, float) and math.isnan(mean)):
        text = "n/a"
    elif std is None or math.isnan(std):
        text = format(mean, fmt)
    else:
        text = f"{format(mean, fmt)} ± {format(std, fmt)}"
    if row["n_diverged"]:
        text += f" ({int(row['n_diverged'])}/{int(row['n_runs'])} diverged)"
    return text


TABLES = [
    ("Training time", [("train_time_s", "Train time (s)", ".3f"), ("epochs_run", "Epochs", ".0f")]),
    (
        "Memory (peak resident memory above the phase's baseline)",
        [("train_peak_mb", "Training (MB)", ".2f"), ("predict_peak_mb", "Prediction (MB)", ".3f")],
    ),
    ("Accuracy on the test split", [("mse", "MSE", ".4g"), ("r2", "R²", ".4f")]),
]


def markdown(stats: pd.DataFrame, method: str = "") -> str:
    """The seed study's three tables per function: one column group per recipe, mean ± std."""
    lines = ["# interp5d benchmark summary", ""]
    lines.append("Values are mean ± std over seeds; runs that diverged are counted, not averaged.")
    if method:
        lines.append(f"Memory method: {method}.")
    for function, fdf in stats.groupby("function", sort=True):
        recipes = sorted(fdf["recipe"].unique())
        lines += ["", f"## {function}"]
        ceiling = fdf["oracle_r2_mean"].dropna()
        if len(ceiling):
            lines.append(f"Noise ceiling (R² of the noise-free function): {ceiling.mean():.4f}.")
        else:
            lines.append("Noise ceiling: not known for a dataset from a file.")
        for title, cols in TABLES:
            header = ["Dataset size"] + [f"{r}: {label}" for r in recipes for _, label, _ in cols]
            lines += ["", f"### {title}", "", "| " + " | ".join(header) + " |"]
            lines.append("|" + "---|" * len(header))
            for n, ndf in fdf.groupby("n_samples", sort=True):
                cells = [f"{int(n):,}"]
                for r in recipes:
                    sel = ndf[ndf["recipe"] == r]
                    for col, _, fmt in cols:
                        cells.append(_cell(sel.iloc[0], col, fmt) if len(sel) else "—")
                lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
