"""Samples to quality (the inverse of time to quality) and the "which method for my data"
table: how many samples each method needs to reach each quality target, and at each size
which method is the most accurate and which the fastest close to it."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from interp5d.report.summary import _methods, target_levels

# the fastest method whose error is at most this many times the most accurate one's
WITHIN = 1.25
STQ_COLUMNS = [
    "dataset",
    "method",
    "kind",
    "target",
    "target_r2",
    "n_samples",
    "reached",
    "n_runs",
    "n_reached",
    "fit_time_s_median",
    "test_r2_median",
    "largest_n",
    "result",
]
WHICH_COLUMNS = [
    "scope",
    "n_samples",
    "n_datasets",
    "n_methods",
    "most_accurate",
    "most_accurate_error_ratio",
    "most_accurate_mse",
    "most_accurate_r2",
    "most_accurate_fit_s",
    "fastest_within",
    "fastest_error_ratio",
    "fastest_mse",
    "fastest_r2",
    "fastest_fit_s",
]
ALL = "all datasets"


def test_level(targets: pd.DataFrame, runs: pd.DataFrame) -> pd.DataFrame:
    """Each run × target with the run's final test R² and the target's level on the test
    split: a `ceiling-d` target is d below the test split's own noise ceiling (the level is
    set on the validation split's ceiling, and the splits' ceilings differ by their noise
    draws); an absolute `r2-v` target is v on either split. A run reaches it when its test
    R² is at or above that level and it did not diverge."""
    keys = ["dataset", "n_samples", "method", "kind", "seed"]
    cols = [*keys, "status", "r2", "oracle_r2", "val_oracle_r2", "fit_time_s"]
    df = targets[[*keys, "target", "target_r2"]].merge(runs[cols], on=keys, how="inner")
    shift = (df["oracle_r2"] - df["val_oracle_r2"]).fillna(0.0)
    df["test_level"] = df["target_r2"] + shift
    df["reached_test"] = (df["r2"] >= df["test_level"]) & (df["status"] != "diverged")
    return df


def samples_to_quality(runs: pd.DataFrame, targets: pd.DataFrame) -> pd.DataFrame:
    """Per dataset × method × target: the smallest size of the study's grid at which the
    median run reaches the target (more than half of its runs at that size reach it with
    their final test R², see test_level; so a miss counts as never, as in time to quality),
    that size's median fit seconds and test R² over all its runs, or `never within the grid`
    with the median test R² at the largest size the method ran at."""
    if targets.empty or runs.empty:
        return pd.DataFrame(columns=STQ_COLUMNS)
    df = test_level(targets, runs)
    rows = []
    for (ds, method, kind, target), g in df.groupby(
        ["dataset", "method", "kind", "target"], sort=True
    ):
        per_n = g.groupby("n_samples", sort=True).agg(
            n_runs=("seed", "size"),
            n_reached=("reached_test", "sum"),
            fit_time_s_median=("fit_time_s", "median"),
            test_r2_median=("r2", "median"),
        )
        hit = per_n[per_n["n_reached"] > per_n["n_runs"] / 2]
        largest = int(per_n.index.max())
        at = int(hit.index.min()) if len(hit) else largest
        row = per_n.loc[at]
        rows.append(
            {
                "dataset": ds,
                "method": method,
                "kind": kind,
                "target": target,
                "target_r2": g["target_r2"].mean(),
                "n_samples": at if len(hit) else None,
                "reached": bool(len(hit)),
                "n_runs": int(row["n_runs"]),
                "n_reached": int(row["n_reached"]),
                "fit_time_s_median": row["fit_time_s_median"] if len(hit) else math.nan,
                "test_r2_median": row["test_r2_median"],
                "largest_n": largest,
                "result": f"n = {at:,}"
                if len(hit)
                else f"never within the grid (up to n = {largest:,})",
            }
        )
    out = pd.DataFrame(rows, columns=STQ_COLUMNS)
    out["n_samples"] = out["n_samples"].astype("Int64")
    return out


# the columns the ranking reads: a narrow copy, not the summary's ~150 columns (each
# assign on those would copy them all, and pandas warns of the fragmented frame)
RANKED = ["dataset", "n_samples", "method", "kind", "n_diverged", "mse_mean", "r2_mean"]


def _ranked(stats: pd.DataFrame) -> pd.DataFrame:
    return stats[[c for c in [*RANKED, "fit_time_s_mean"] if c in stats]].copy()


def _error(stats: pd.DataFrame) -> pd.Series:
    """Mean test MSE over seeds; a method with a diverged run (or no MSE) ranks last."""
    return stats["mse_mean"].where((stats["n_diverged"] == 0) & stats["mse_mean"].notna(), np.inf)


def _pick(table: pd.DataFrame) -> dict:
    """From a table indexed by method with `ratio` (error over the best's), `fit_s` and
    optionally `error` and `r2_mean`: the most accurate method and the fastest whose ratio
    is within WITHIN of the best's, with their measures."""
    best = table["ratio"].idxmin()
    close = table[table["ratio"] <= WITHIN * table.loc[best, "ratio"]]
    picked = {"most_accurate": best, "fastest_within": close["fit_s"].idxmin()}
    row = dict(picked)
    for role, key in (("most_accurate", "most_accurate"), ("fastest", "fastest_within")):
        m = table.loc[picked[key]]
        row[f"{role}_error_ratio"] = m["ratio"]
        row[f"{role}_mse"] = m.get("error", math.nan)
        row[f"{role}_r2"] = m.get("r2_mean", math.nan)
        row[f"{role}_fit_s"] = m["fit_s"]
    return row


def which_method(stats: pd.DataFrame) -> pd.DataFrame:
    """For each size: the most accurate method (lowest mean test MSE over seeds) and the
    fastest (mean fit seconds) whose MSE is at most WITHIN times that. Per dataset, and over
    all datasets (scope `all datasets`): there a method's error is the geometric mean over
    the datasets of its MSE over the best method's MSE on that dataset (1 = the best on
    every dataset; a mean over datasets whose MSEs differ by orders of magnitude), its fit
    seconds the geometric mean of its fit seconds, and only methods run on every dataset at
    that size are ranked."""
    stats = _ranked(stats)
    df = stats.assign(error=_error(stats)) if len(stats) else stats
    df = df[np.isfinite(df["error"])] if len(df) else df
    if df.empty:
        return pd.DataFrame(columns=WHICH_COLUMNS)
    best = df.groupby(["dataset", "n_samples"])["error"].transform("min")
    df = df.assign(ratio=df["error"] / best, fit_s=df["fit_time_s_mean"])
    rows = []
    for n, g in df.groupby("n_samples", sort=True):
        datasets = g["dataset"].nunique()
        on = g.groupby("method")["dataset"].transform("nunique")
        every = g[on == datasets]
        if len(every):
            t = every.groupby("method").agg(ratio=("ratio", geomean), fit_s=("fit_s", geomean))
            rows.append(
                {"scope": ALL, "n_samples": n, "n_datasets": datasets, "n_methods": len(t)}
                | _pick(t)
            )
    for (ds, n), g in df.groupby(["dataset", "n_samples"], sort=True):
        t = g.set_index("method")
        rows.append({"scope": ds, "n_samples": n, "n_datasets": 1, "n_methods": len(t)} | _pick(t))
    return pd.DataFrame(rows, columns=WHICH_COLUMNS)


def error_ratios(stats: pd.DataFrame) -> pd.DataFrame:
    """Each method's mean test MSE over the most accurate method's at the same dataset and
    size (1 = the best; inf: a diverged run), wide: one row per dataset and size, one
    column per method (NaN where it did not run)."""
    if stats.empty:
        return pd.DataFrame()
    stats = _ranked(stats)
    df = stats.assign(error=_error(stats))
    best = df.groupby(["dataset", "n_samples"])["error"].transform("min")
    df = df.assign(ratio=df["error"] / best)
    wide = df.pivot_table(
        index=["dataset", "n_samples"], columns="method", values="ratio", aggfunc="first"
    )
    return wide[[m for m in _methods(df) if m in wide.columns]]


def error_ratio_markdown(stats: pd.DataFrame) -> list[str]:
    """Per dataset, each method's test MSE over the best method's at each size."""
    wide = error_ratios(stats)
    if wide.empty or len(wide.columns) < 2:
        return []
    lines = [
        "",
        "## Test error over the best method's",
        "",
        "Each method's mean test MSE over seeds divided by that of the most accurate method "
        "at the same dataset and size: 1.00 (bold) is the best; 10 is ten times its error. "
        "— : not run at that size (its size limit); ∞: a run diverged.",
    ]
    methods = list(wide.columns)
    for ds, d in wide.groupby(level="dataset", sort=True):
        lines += ["", f"### {ds}", "", "| Size | " + " | ".join(methods) + " |"]
        lines.append("|---|" + "---|" * len(methods))
        for (_, n), row in d.iterrows():
            cells = []
            for m in methods:
                v = row[m]
                if pd.isna(v):
                    cells.append("—")
                elif not math.isfinite(v):
                    cells.append("∞")
                else:
                    cells.append("**1.00**" if v == 1.0 else f"{v:.3g}")
            lines.append(f"| {int(n):,} | " + " | ".join(cells) + " |")
    return lines


def geomean(values: pd.Series) -> float:
    """The geometric mean (of error ratios, or of seconds)."""
    return float(np.exp(np.log(values.astype(float)).mean()))


def _seconds(s: float) -> str:
    return f"{s:.3g} s" if math.isfinite(s) else "n/a"


def samples_markdown(stq: pd.DataFrame) -> list[str]:
    """Samples to quality: per dataset, one row per method, one column per target."""
    if stq.empty:
        return []
    lines = [
        "",
        "## Samples to quality",
        "",
        "The smallest size of the grid at which the median run reaches each target: more "
        "than half of the method's runs at that size end with a test R² at or above the "
        "target's level (a `ceiling-d` target d below the test split's noise ceiling, an "
        "`r2-v` target v), with that size's median fit seconds. A method that reaches a "
        "target at no size says so, with the largest size it ran at and how many of its "
        "runs there reached it.",
    ]
    for ds, d in stq.groupby("dataset", sort=True):
        targets, levels = target_levels(d)
        lines += ["", f"### {ds}", "", f"Targets (validation R², mean over runs): {levels}.", ""]
        lines.append("| Method | " + " | ".join(targets) + " |")
        lines.append("|---|" + "---|" * len(targets))
        for method in _methods(d):
            cells = []
            for t in targets:
                sel = d[(d["method"] == method) & (d["target"] == t)]
                if not len(sel):
                    cells.append("—")
                    continue
                r = sel.iloc[0]
                if r["reached"]:
                    cells.append(
                        f"n = {int(r['n_samples']):,} ({_seconds(r['fit_time_s_median'])}, "
                        f"{int(r['n_reached'])} of {int(r['n_runs'])})"
                    )
                else:
                    cells.append(
                        f"never up to n = {int(r['largest_n']):,} "
                        f"({int(r['n_reached'])} of {int(r['n_runs'])} there)"
                    )
            lines.append(f"| {method} | " + " | ".join(cells) + " |")
    return lines


def which_markdown(which: pd.DataFrame) -> list[str]:
    """The "which method for my data" tables: over all datasets, then per dataset."""
    if which.empty:
        return []
    lines = [
        "",
        "## Which method for my data",
        "",
        f"At each size: the most accurate method (lowest mean test MSE over seeds) and the "
        f"fastest method (mean fit seconds) whose MSE is within {WITHIN:g}× of it. Over all "
        "datasets a method's error is the geometric mean over the datasets of its MSE over "
        "the best method's MSE there (1.00 = the best on every dataset), its fit seconds the "
        "geometric mean of its fit seconds; only methods run on every dataset at that size "
        "are ranked. A method with a diverged run ranks last.",
    ]
    combined = which[which["scope"] == ALL]
    if len(combined):
        lines += [
            "",
            "### All datasets",
            "",
            "| Size | Datasets | Most accurate | MSE ÷ best (geo. mean) | Fit s "
            f"| Fastest within {WITHIN:g}× | MSE ÷ best (geo. mean) | Fit s |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for _, r in combined.iterrows():
            lines.append(
                f"| {int(r['n_samples']):,} | {int(r['n_datasets'])} | {r['most_accurate']} | "
                f"{r['most_accurate_error_ratio']:.2f} | {_seconds(r['most_accurate_fit_s'])} | "
                f"{r['fastest_within']} | {r['fastest_error_ratio']:.2f} | "
                f"{_seconds(r['fastest_fit_s'])} |"
            )
    each = which[which["scope"] != ALL]
    if len(each):
        lines += [
            "",
            "### Per dataset",
            "",
            "| Dataset | Size | Most accurate | test MSE | R² | Fit s "
            f"| Fastest within {WITHIN:g}× | MSE ÷ best | Fit s |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for _, r in each.iterrows():
            lines.append(
                f"| {r['scope']} | {int(r['n_samples']):,} | {r['most_accurate']} | "
                f"{r['most_accurate_mse']:.4g} | {r['most_accurate_r2']:.4f} | "
                f"{_seconds(r['most_accurate_fit_s'])} | {r['fastest_within']} | "
                f"{r['fastest_error_ratio']:.2f} | {_seconds(r['fastest_fit_s'])} |"
            )
    return lines
