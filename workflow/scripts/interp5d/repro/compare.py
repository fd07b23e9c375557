"""Compare two runs of the study (results folders or archived runs): what changed in the
config, in the metrics (with a verdict that weighs the seeds' spread) and in the
environment; and verify a run against a reference."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from interp5d.jsonio import flatten

KEYS = ["dataset", "method", "n_samples"]
# (column, label, kind): an accuracy metric is compared by its difference, time and memory
# by their ratio
METRICS = [
    ("r2", "R²", "delta"),
    ("mse", "MSE", "ratio"),
    ("fit_time_s", "fit s", "ratio"),
    ("train_peak_mb", "train MB", "ratio"),
    ("predict_peak_mb", "predict MB", "ratio"),
]
ACCURACY = ("r2", "mse", "rmse", "mae", "status")  # per-run fields that are exact on one platform
# what decides whether two runs may be bit-identical: the processor and the software
PLATFORM_KEYS = ("machine", "cpu_model", "cpu_isa", "python", "packages")


@dataclass
class Run:
    """A study's tables, effective config and environment, read from one folder."""

    path: Path
    config: dict[str, Any]
    environment: dict[str, Any]
    by_size: pd.DataFrame
    runs: pd.DataFrame

    @classmethod
    def read(cls, path: str | Path) -> Run:
        path = Path(path)
        missing = [
            f
            for f in ("summary.csv", "summary_by_size.csv", "config.json", "environment.json")
            if not (path / f).is_file()
        ]
        if missing:
            raise FileNotFoundError(f"{path}: not a run of the study (missing {missing})")
        return cls(
            path,
            json.loads((path / "config.json").read_text()),
            json.loads((path / "environment.json").read_text()),
            pd.read_csv(path / "summary_by_size.csv"),
            pd.read_csv(path / "summary.csv"),
        )


def dict_diff(a: dict, b: dict) -> list[tuple[str, Any, Any]]:
    """(key, value in a, value in b) for every dotted key whose values differ."""
    fa, fb = flatten(a), flatten(b)
    missing = "(absent)"
    return [
        (k, fa.get(k, missing), fb.get(k, missing))
        for k in sorted(set(fa) | set(fb))
        if fa.get(k, missing) != fb.get(k, missing)
    ]


def _order(key: tuple) -> tuple:
    return (str(key[0]), str(key[1]), int(key[2]))


def _se(std: float, n: float) -> float:
    return 0.0 if not (n and math.isfinite(std)) else std / math.sqrt(n)


def verdict(a: pd.Series, b: pd.Series, col: str, kind: str, noise: float) -> tuple[float, str]:
    """The change of a metric from run a to run b (difference or ratio of the means over
    seeds) and whether it is `changed` (beyond twice the standard error of the seeds'
    spread, and for ratios beyond `noise`, the run-to-run noise of timings on one machine),
    `~` (within that) or `not comparable` (a missing value, or a different number of runs)."""
    ma, mb = a.get(f"{col}_mean"), b.get(f"{col}_mean")
    if ma is None or mb is None or not (math.isfinite(ma) and math.isfinite(mb)):
        return math.nan, "not comparable"
    if a["n_runs"] != b["n_runs"]:
        return math.nan, "not comparable"
    sa, sb = (
        _se(a.get(f"{col}_std", math.nan), a["n_runs"]),
        _se(b.get(f"{col}_std", math.nan), b["n_runs"]),
    )
    if kind == "delta":
        change = mb - ma
        return change, "changed" if abs(change) > 2 * math.hypot(sa, sb) and change else "~"
    if ma <= 0 or mb <= 0:
        return (math.nan, "not comparable") if ma != mb else (1.0, "~")
    ratio = mb / ma
    spread = 2 * math.hypot(sa / ma, sb / mb)
    return ratio, "changed" if abs(math.log(ratio)) > max(spread, math.log1p(noise)) else "~"


def metric_table(a: Run, b: Run, noise: float) -> pd.DataFrame:
    """One row per dataset × method × size in either run: each metric's change and verdict."""
    ia, ib = a.by_size.set_index(KEYS), b.by_size.set_index(KEYS)
    rows = []
    for key in sorted(set(ia.index) | set(ib.index), key=_order):
        row = dict(zip(KEYS, key, strict=True))
        for col, _, kind in METRICS:
            if key in ia.index and key in ib.index:
                change, v = verdict(ia.loc[key], ib.loc[key], col, kind, noise)
            else:
                change, v = math.nan, "not comparable"
            row[f"{col}_a"] = ia.loc[key].get(f"{col}_mean") if key in ia.index else math.nan
            row[f"{col}_b"] = ib.loc[key].get(f"{col}_mean") if key in ib.index else math.nan
            row[f"{col}_change"], row[f"{col}_verdict"] = change, v
        rows.append(row)
    return pd.DataFrame(rows)


def environment_fields(env: dict[str, Any]) -> dict[str, Any]:
    keep = ("cpu_model", "machine", "cpu_isa", "logical_cores", "ram_gb", "os", "python")
    out = {k: env.get(k) for k in keep}
    out.update({f"packages.{k}": v for k, v in (env.get("packages") or {}).items()})
    out["torch_threads"] = env.get("torch_threads")
    out["git_commit"] = env.get("git_commit")
    return out


def _fmt(x: Any) -> str:
    if isinstance(x, float):
        return "—" if math.isnan(x) else f"{x:.6g}"
    return f"`{x}`" if isinstance(x, list | dict) else str(x)


def _cell(row: pd.Series, col: str, kind: str) -> str:
    v = row[f"{col}_verdict"]
    if v == "not comparable":
        return f"{_fmt(row[f'{col}_a'])} → {_fmt(row[f'{col}_b'])} (not comparable)"
    change = row[f"{col}_change"]
    text = f"{change:+.4g}" if kind == "delta" else f"×{change:.3g}"
    return f"{text} {v}"


def report(a: Run, b: Run, noise: float = 0.3) -> tuple[str, pd.DataFrame]:
    """The comparison as Markdown, and its metric table."""
    table = metric_table(a, b, noise)
    lines = ["# Comparison of two runs", "", f"- A: `{a.path}`", f"- B: `{b.path}`", ""]
    lines += ["## Parameters (effective config)", ""]
    diff = dict_diff(a.config, b.config)
    if diff:
        lines += ["| key | A | B |", "|---|---|---|"]
        lines += [f"| {k} | {_fmt(va)} | {_fmt(vb)} |" for k, va, vb in diff]
    else:
        lines.append("The same config.")
    lines += [
        "",
        "## Metrics",
        "",
        "Per dataset × method × size, from the means over seeds: R² as B − A, the others "
        f"as B / A. `changed`: beyond twice the standard error of the seeds' spread (ratios "
        f"also beyond ±{noise:.0%}, the run-to-run noise of timings); `~`: within it; `not "
        "comparable`: in one run only, a missing value, or another number of runs.",
        "",
        "| dataset | method | n | " + " | ".join(label for _, label, _ in METRICS) + " |",
        "|---|---|---|" + "---|" * len(METRICS),
    ]
    for _, row in table.iterrows():
        cells = [_cell(row, col, kind) for col, _, kind in METRICS]
        lines.append(
            f"| {row['dataset']} | {row['method']} | {int(row['n_samples']):,} | "
            + " | ".join(cells)
            + " |"
        )
    changed = sum((table[f"{c}_verdict"] == "changed").sum() for c, _, _ in METRICS)
    lines += ["", f"{changed} change(s) beyond noise."]
    lines += ["", "## Environment", ""]
    env = dict_diff(environment_fields(a.environment), environment_fields(b.environment))
    if env:
        lines += ["| key | A | B |", "|---|---|---|"]
        lines += [f"| {k} | {_fmt(va)} | {_fmt(vb)} |" for k, va, vb in env]
    else:
        lines.append("The same machine, software and commit.")
    return "\n".join(lines) + "\n", table


def regressions(table: pd.DataFrame, r2_drop: float | None, time_ratio: float | None) -> list[str]:
    """The rows past the thresholds: R² fell by more than r2_drop, or the fit took more
    than time_ratio times as long."""
    out = []
    for _, row in table.iterrows():
        where = f"{row['dataset']} / {row['method']} / n={int(row['n_samples'])}"
        if r2_drop is not None and row["r2_change"] < -r2_drop:
            out.append(f"{where}: R² fell by {-row['r2_change']:.4g} (> {r2_drop:g})")
        if time_ratio is not None and row["fit_time_s_change"] > time_ratio:
            out.append(f"{where}: fit time ×{row['fit_time_s_change']:.3g} (> {time_ratio:g})")
    return out


def same_platform(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Whether two environment records share processor and software (then a run is
    reproduced bit for bit)."""
    return all(a.get(k) == b.get(k) for k in PLATFORM_KEYS)


def verify(run: Run, reference: Run, tolerance: float = 0.005) -> tuple[str, bool]:
    """Check a run against a reference: accuracy must agree (every run's metrics bit for
    bit on the same platform; elsewhere each size's mean R² within `tolerance` or three
    standard errors of the seeds' spread, whichever is larger); time and memory are shown
    as ratios, not judged. Returns the PASS/FAIL table as Markdown and whether all passed."""
    exact = same_platform(run.environment, reference.environment)
    config_diff = dict_diff(run.config, reference.config)
    ka, kb = [*KEYS, "seed"], KEYS
    ra, rr = run.runs.set_index(ka), reference.runs.set_index(ka)
    ia, ib = run.by_size.set_index(kb), reference.by_size.set_index(kb)
    rule = (
        "same platform and package versions: every run's accuracy bit for bit"
        if exact
        else f"another platform: mean R² within {tolerance:g} or 3 standard errors"
    )
    lines = [
        "# Verification against the reference",
        "",
        f"- run: `{run.path}`",
        f"- reference: `{reference.path}`",
        f"- rule: {rule}",
        "",
        "| dataset | method | n | accuracy | R² run / reference | fit s ratio | train MB ratio |",
        "|---|---|---|---|---|---|---|",
    ]
    ok_all = True
    for key in sorted(set(ib.index) | set(ia.index), key=_order):
        if key not in ia.index or key not in ib.index:
            ok, why = False, "missing in the " + ("run" if key not in ia.index else "reference")
            r2 = ratio_t = ratio_m = "—"
        else:
            a, b = ia.loc[key], ib.loc[key]
            if exact:
                mine, ref = ra.loc[key], rr.loc[key]  # the size's runs, one per seed
                same = mine.index.equals(ref.index) and all(
                    mine[c].equals(ref[c]) for c in ACCURACY if c in mine and c in ref
                )
                ok, why = same, "bit-identical" if same else "differs"
            else:
                se = 3 * math.hypot(_se(a["r2_std"], a["n_runs"]), _se(b["r2_std"], b["n_runs"]))
                delta = abs(a["r2_mean"] - b["r2_mean"])
                ok = bool(delta <= max(tolerance, se))
                why = f"|ΔR²| {delta:.2g} {'≤' if ok else '>'} {max(tolerance, se):.2g}"
            r2 = f"{a['r2_mean']:.6g} / {b['r2_mean']:.6g}"
            ratio_t = f"×{a['fit_time_s_mean'] / b['fit_time_s_mean']:.3g}"
            ratio_m = f"×{a['train_peak_mb_mean'] / b['train_peak_mb_mean']:.3g}"
        ok_all &= ok
        n = int(key[2])
        lines.append(
            f"| {key[0]} | {key[1]} | {n:,} | {'PASS' if ok else 'FAIL'} ({why}) | {r2} | "
            f"{ratio_t} | {ratio_m} |"
        )
    if config_diff:
        ok_all = False
        lines += [
            "",
            "FAIL: the run's config differs from the reference's, so it reproduces another study:",
            "",
        ]
        lines += [f"- {k}: {_fmt(va)} (reference {_fmt(vb)})" for k, va, vb in config_diff]
    lines += ["", "PASS" if ok_all else "FAIL"]
    return "\n".join(lines) + "\n", ok_all
