"""Aggregation of per-run metrics into the study's tables."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

KEYS = ["dataset", "n_samples", "method", "kind"]
RUN_COLUMNS = [
    "dataset",
    "n_samples",
    "method",
    "kind",
    "seed",
    "status",
    "diverged_epoch",
    "fit_time_s",
    "loop_time_s",
    "epochs_run",
    "best_epoch",
    "time_per_epoch_s",
    "train_peak_mb",
    "train_abs_peak_mb",
    "loop_peak_mb",
    "loop_estimate_mb",
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
    "engine",
    "threads",
    "n_train",
    "n_val",
    "n_test",
    "job_wall_s",
    "job_max_rss_mb",
]
STAT_COLUMNS = [
    "fit_time_s",
    "loop_time_s",
    "epochs_run",
    "time_per_epoch_s",
    "train_peak_mb",
    "loop_peak_mb",
    "loop_estimate_mb",
    "predict_peak_mb",
    "predict_latency_s",
    "predict_throughput_per_s",
    "predict_throughput_100k_per_s",
    "mse",
    "rmse",
    "mae",
    "r2",
    "oracle_r2",
    "r2_vs_f",
    "job_max_rss_mb",
]


def read_runs(
    paths: Iterable[str | Path], benchmarks: Iterable[str | Path] | None = None
) -> pd.DataFrame:
    """One row per metrics JSON, in the columns of RUN_COLUMNS (missing values empty).

    `benchmarks`, parallel to `paths`, are the jobs' Snakemake benchmark files: their wall
    time and peak RSS of the whole job (interpreter, data and all) fill job_wall_s and
    job_max_rss_mb.
    """
    paths = list(paths)
    benchmarks = list(benchmarks) if benchmarks is not None else [None] * len(paths)
    if len(benchmarks) != len(paths):
        raise ValueError(f"{len(paths)} metrics files but {len(benchmarks)} benchmark files")
    rows = []
    for p, b in zip(paths, benchmarks, strict=True):
        with open(p) as fh:
            rec = json.load(fh)
        if b is not None:
            bench = pd.read_csv(b, sep="\t")
            rec["job_wall_s"], rec["job_max_rss_mb"] = bench["s"].iloc[0], bench["max_rss"].iloc[0]
        rows.append({c: rec.get(c) for c in RUN_COLUMNS})
    df = pd.DataFrame(rows, columns=RUN_COLUMNS)
    for c in STAT_COLUMNS:
        df[c] = pd.to_numeric(df[c], errors="raise").astype(float)
    return df.sort_values(["dataset", "kind", "method", "n_samples", "seed"], ignore_index=True)


def by_size(runs: pd.DataFrame) -> pd.DataFrame:
    """Mean, std, min and max over seeds per (dataset, n_samples, method, kind).

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
    ("Fit time", [("fit_time_s", "Fit time (s)", ".3f"), ("epochs_run", "Epochs", ".0f")]),
    (
        "Memory (peak resident memory above the phase's baseline)",
        [("train_peak_mb", "Training (MB)", ".2f"), ("predict_peak_mb", "Prediction (MB)", ".3f")],
    ),
    ("Accuracy on the test split", [("mse", "MSE", ".4g"), ("r2", "R²", ".4f")]),
]


def loglog_slope(n: pd.Series, values: pd.Series) -> float:
    """Least-squares slope of log(values) against log(n): the exponent b of values ∝ n^b.
    nan with fewer than 3 usable (positive, finite) points."""
    ok = (values > 0) & np.isfinite(values) & (n > 0)
    if ok.sum() < 3:
        return math.nan
    return float(np.polyfit(np.log(n[ok]), np.log(values[ok]), 1)[0])


def scaling_exponents(stats: pd.DataFrame) -> pd.DataFrame:
    """Fitted exponents of fit time and training memory against n, per dataset and method
    (log–log least squares over the sizes' means)."""
    rows = []
    for (dataset, method), g in stats.groupby(["dataset", "method"], sort=True):
        rows.append(
            {
                "dataset": dataset,
                "method": method,
                "n_sizes": len(g),
                "time_exponent": loglog_slope(g["n_samples"], g["fit_time_s_mean"]),
                "memory_exponent": loglog_slope(g["n_samples"], g["train_peak_mb_mean"]),
            }
        )
    return pd.DataFrame(rows)


def _methods(df: pd.DataFrame) -> list[str]:
    """The methods of a table in their order: recipes, then baselines, each by name."""
    order = df.drop_duplicates("method").sort_values(["kind", "method"], key=_kind_order)
    return order["method"].tolist()


def _kind_order(col: pd.Series) -> pd.Series:
    return col.map({"recipe": 0, "baseline": 1}) if col.name == "kind" else col


def markdown(stats: pd.DataFrame, memory_method: str = "") -> str:
    """The seed study's three tables per dataset: one column group per method, mean ± std."""
    lines = ["# interp5d benchmark summary", ""]
    lines.append("Values are mean ± std over seeds; runs that diverged are counted, not averaged.")
    lines.append(
        "Every method is measured by the same runner: fit time is the whole fit call, memory "
        "the peak resident memory above the phase's baseline."
    )
    if memory_method:
        lines.append(f"Memory method: {memory_method}.")
    for dataset, fdf in stats.groupby("dataset", sort=True):
        methods = _methods(fdf)
        lines += ["", f"## {dataset}"]
        ceiling = fdf["oracle_r2_mean"].dropna()
        if len(ceiling):
            lines.append(f"Noise ceiling (R² of the noise-free function): {ceiling.mean():.4f}.")
        else:
            lines.append("Noise ceiling: not known for a dataset from a file.")
        for title, cols in TABLES:
            header = ["Dataset size"] + [f"{m}: {label}" for m in methods for _, label, _ in cols]
            lines += ["", f"### {title}", "", "| " + " | ".join(header) + " |"]
            lines.append("|" + "---|" * len(header))
            for n, ndf in fdf.groupby("n_samples", sort=True):
                cells = [f"{int(n):,}"]
                for m in methods:
                    sel = ndf[ndf["method"] == m]
                    for col, _, fmt in cols:
                        cells.append(_cell(sel.iloc[0], col, fmt) if len(sel) else "—")
                lines.append("| " + " | ".join(cells) + " |")
    exps = scaling_exponents(stats).dropna(subset=["time_exponent", "memory_exponent"], how="all")
    if len(exps):
        lines += ["", "## Scaling with n", ""]
        lines.append(
            "Exponent b of a fitted power law ∝ n^b (least squares of log mean against log n "
            "over the sizes): 1 is linear in the data size, 0 flat."
        )
        lines += ["", "| Dataset | Method | Sizes | Fit time ∝ n^b | Training memory ∝ n^b |"]
        lines.append("|---|---|---|---|---|")
        for _, r in exps.iterrows():
            lines.append(
                f"| {r['dataset']} | {r['method']} | {r['n_sizes']} | "
                f"{r['time_exponent']:.2f} | {r['memory_exponent']:.2f} |"
            )
    return "\n".join(lines) + "\n"
