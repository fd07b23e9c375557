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
    "sampling",
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
    "coverage_95",
    "coverage_95_f",
    "interval_width_95",
    "val_r2",
    "val_oracle_r2",
    "steps_run",
    "batch_rows",
    "loop_gflops_per_s",
    "roofline_gflops_per_s",
    "loop_efficiency",
    "roofline_paired_gflops_per_s",
    "loop_efficiency_paired",
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
    "coverage_95",
    "coverage_95_f",
    "interval_width_95",
    "loop_gflops_per_s",
    "loop_efficiency",
    "loop_efficiency_paired",
    "job_max_rss_mb",
]
TARGET_KEYS = ["dataset", "n_samples", "method", "kind", "target"]
TARGET_COLUMNS = [
    *TARGET_KEYS[:4],
    "seed",
    "target",
    "target_r2",
    "reached",
    "time_to_target_s",
    "val_r2_at_target",
    "test_r2_at_target",
]
OLYMPIC_MIN_RUNS = 5


def roofline_of(environment: dict | None) -> dict[tuple[tuple[int, ...], int, int], float]:
    """The environment record's roofline: GFLOP/s by (widths, batch rows, threads)."""
    table = {}
    for r in (environment or {}).get("roofline", []):
        if "batch" in r:
            table[(tuple(r["widths"]), r["batch"], r["threads"])] = r["gflops_per_s"]
    return table


def _roofline_for(table: dict, widths: tuple, rows: int, threads: int) -> float | None:
    """The roofline measured for these widths and threads at this many rows, or at the
    largest batch measured below them (a batch of more than CHUNK_ROWS rows is multiplied
    in chunks of that many, the most the roofline is measured at)."""
    measured = [b for w, b, t in table if w == widths and t == threads and b <= rows]
    return table[(widths, max(measured), threads)] if measured else None


def read_runs(
    paths: Iterable[str | Path],
    benchmarks: Iterable[str | Path] | None = None,
    environment: dict | None = None,
) -> pd.DataFrame:
    """One row per metrics JSON, in the columns of RUN_COLUMNS (missing values empty).

    `benchmarks`, parallel to `paths`, are the jobs' Snakemake benchmark files: their wall
    time and peak RSS of the whole job (interpreter, data and all) fill job_wall_s and
    job_max_rss_mb. With the environment record, each MLP run's loop FLOP rate is set
    against the roofline measured for its layer shapes, batch and threads
    (loop_efficiency); and, where the run timed its own step's products right after its
    loop, against that (loop_efficiency_paired: a ratio measured side by side).
    """
    paths = list(paths)
    benchmarks = list(benchmarks) if benchmarks is not None else [None] * len(paths)
    if len(benchmarks) != len(paths):
        raise ValueError(f"{len(paths)} metrics files but {len(benchmarks)} benchmark files")
    roofline = roofline_of(environment)
    rows = []
    for p, b in zip(paths, benchmarks, strict=True):
        with open(p) as fh:
            rec = json.load(fh)
        if b is not None:
            bench = pd.read_csv(b, sep="\t")
            rec["job_wall_s"], rec["job_max_rss_mb"] = bench["s"].iloc[0], bench["max_rss"].iloc[0]
        if rec.get("widths") and rec.get("loop_gflops_per_s"):
            rec["roofline_gflops_per_s"] = _roofline_for(
                roofline, tuple(rec["widths"]), rec["batch_rows"], rec["threads"]
            )
            if rec["roofline_gflops_per_s"]:
                rec["loop_efficiency"] = rec["loop_gflops_per_s"] / rec["roofline_gflops_per_s"]
            if rec.get("roofline_paired_gflops_per_s"):
                rec["loop_efficiency_paired"] = (
                    rec["loop_gflops_per_s"] / rec["roofline_paired_gflops_per_s"]
                )
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
    (
        "Training loop's rate (its matrix products' GFLOP/s, and that as a fraction of this "
        "machine's roofline for its step shapes: the environment job's, and the same "
        "products timed in the run's own job right after its loop; n/a for methods "
        "without a loop)",
        [
            ("loop_gflops_per_s", "GFLOP/s", ".1f"),
            ("loop_efficiency", "of roofline", ".0%"),
            ("loop_efficiency_paired", "of paired roofline", ".0%"),
        ],
    ),
    (
        "Predictive uncertainty on the test split (fraction inside mean ± 1.96 std; 0.95 is "
        "calibrated)",
        [
            ("coverage_95", "coverage of y", ".3f"),
            ("coverage_95_f", "coverage of f", ".3f"),
            ("interval_width_95", "interval width", ".3g"),
        ],
    ),
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


def read_targets(paths: Iterable[str | Path]) -> pd.DataFrame:
    """One row per run (metrics JSON) and quality target: see target_rows."""
    records = []
    for p in paths:
        with open(p) as fh:
            records.append(json.load(fh))
    return target_rows(records)


def target_rows(records: Iterable[dict]) -> pd.DataFrame:
    """One row per run record and quality target: reached or not, the time to it, the
    validation R² then and the test R² of the model as it was then."""
    rows = []
    for rec in records:
        for t in rec.get("targets", []):
            rows.append({**{c: rec.get(c) for c in TARGET_COLUMNS[:5]}, **t})
    df = pd.DataFrame(rows, columns=TARGET_COLUMNS)
    df["reached"] = df["reached"].astype(bool)
    for c in TARGET_COLUMNS[6:]:
        if c != "reached":
            df[c] = pd.to_numeric(df[c]).astype(float)
    return df.sort_values(["dataset", "kind", "method", "target", "n_samples", "seed"])


def olympic_mean(times: pd.Series) -> float:
    """MLPerf's benchmark result: drop the fastest and the slowest run and average the rest.
    A single run that missed the target counts as the slowest and is dropped; with two or
    more misses there is no result (nan)."""
    t = np.sort(times.fillna(np.inf).to_numpy())
    if np.isinf(t).sum() > 1:
        return math.nan
    return float(np.mean(t[1:-1]))


def _ttt_stats(g: pd.DataFrame) -> pd.Series:
    # a missed target is an infinite time: the median is finite only when more than half
    # of the runs reached it, and a miss is never averaged in as a number
    t = g["time_to_target_s"].where(g["reached"], np.inf)
    median = float(np.median(t))
    return pd.Series(
        {
            "target_r2": g["target_r2"].mean(),
            "n_runs": len(g),
            "n_reached": int(g["reached"].sum()),
            "median_s": median if math.isfinite(median) else math.nan,
            "olympic_mean_s": olympic_mean(t.replace(np.inf, np.nan))
            if len(g) >= OLYMPIC_MIN_RUNS
            else math.nan,
            "min_s": t.min() if math.isfinite(t.min()) else math.nan,
            "test_r2_at_target_mean": g.loc[g["reached"], "test_r2_at_target"].mean(),
        }
    )


def targets_by_size(targets: pd.DataFrame) -> pd.DataFrame:
    """Per dataset × method × size × target: runs, runs that reached it, the median time to
    it over the runs (a miss counted as never), the olympic mean with 5 or more runs."""
    stats = targets.groupby(TARGET_KEYS, sort=True)[list(targets.columns)].apply(_ttt_stats)
    stats = stats.reset_index()
    stats[["n_runs", "n_reached"]] = stats[["n_runs", "n_reached"]].astype(int)
    return stats


def ttt_exponents(stats: pd.DataFrame, min_n: int = 0) -> pd.DataFrame:
    """Fitted exponent b of time to target ∝ n^b per dataset, method and target, over the
    sizes (at least min_n) whose median is finite (3 or more of them)."""
    rows = []
    for (ds, method, target), g in stats.groupby(["dataset", "method", "target"], sort=True):
        g = g[(g["n_samples"] >= min_n) & g["median_s"].notna()]
        rows.append(
            {
                "dataset": ds,
                "method": method,
                "target": target,
                "n_sizes": len(g),
                "exponent": loglog_slope(g["n_samples"], g["median_s"]),
            }
        )
    return pd.DataFrame(rows, columns=["dataset", "method", "target", "n_sizes", "exponent"])


def target_levels(df: pd.DataFrame) -> tuple[list[str], str]:
    """A dataset's targets, lowest level first, and their mean levels as a sentence's list."""
    targets = list(dict.fromkeys(df.sort_values("target_r2")["target"]))
    levels = ", ".join(
        f"{t} = {df.loc[df['target'] == t, 'target_r2'].mean():.4f}" for t in targets
    )
    return targets, levels


def _reached_cell(row: pd.Series) -> str:
    text = f"{row['median_s']:.3g} s" if math.isfinite(row["median_s"]) else "—"
    if math.isfinite(row.get("olympic_mean_s", math.nan)):
        text += f", olympic {row['olympic_mean_s']:.3g} s"
    return f"{text} ({int(row['n_reached'])} of {int(row['n_runs'])})"


def targets_markdown(stats: pd.DataFrame) -> list[str]:
    """Time to quality: per dataset, one row per size and method, one column per target."""
    if stats.empty:
        return []
    lines = [
        "",
        "## Time to quality",
        "",
        "Fit seconds until the validation R² first reached each target (MLPerf's measure: "
        "evaluation on the clock), median over seeds, with the olympic mean (fastest and "
        "slowest dropped) from 5 runs on, and how many runs reached it; a run that never "
        "did counts as never, not as a number.",
    ]
    for ds, dsf in stats.groupby("dataset", sort=True):
        targets, levels = target_levels(dsf)
        lines += ["", f"### {ds}", "", f"Targets (validation R²): {levels}.", ""]
        lines.append("| Size | Method | " + " | ".join(targets) + " |")
        lines.append("|---|---|" + "---|" * len(targets))
        for (n, method), g in dsf.groupby(["n_samples", "method"], sort=True):
            cells = [_reached_cell(g[g["target"] == t].iloc[0]) for t in targets]
            lines.append(f"| {int(n):,} | {method} | " + " | ".join(cells) + " |")
        for min_n, label in ((0, "all sizes"), (10_000, "n ≥ 10,000")):
            exps = ttt_exponents(dsf, min_n).dropna(subset=["exponent"])
            if len(exps):
                lines += [
                    "",
                    f"Fitted time-to-target exponents b (∝ n^b, {label}): "
                    + "; ".join(
                        f"{r['method']} {r['target']} {r['exponent']:.2f} ({r['n_sizes']} sizes)"
                        for _, r in exps.iterrows()
                    )
                    + ".",
                ]
    return lines


def _methods(df: pd.DataFrame) -> list[str]:
    """The methods of a table in their order: recipes, then baselines, each by name."""
    order = df.drop_duplicates("method").sort_values(["kind", "method"], key=_kind_order)
    return order["method"].tolist()


def _kind_order(col: pd.Series) -> pd.Series:
    return col.map({"recipe": 0, "baseline": 1}) if col.name == "kind" else col


def markdown(
    stats: pd.DataFrame, memory_method: str = "", targets: pd.DataFrame | None = None
) -> str:
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
    if targets is not None:
        lines += targets_markdown(targets)
    return "\n".join(lines) + "\n"
