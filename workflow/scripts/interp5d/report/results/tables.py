"""The tables of a study, as Markdown rows (every number from its tables)."""

from __future__ import annotations

import functools
import math
from pathlib import Path

import pandas as pd

from interp5d.report.results.study import (
    TTQ_TARGET,
    Study,
    md_table,
    nf,
    r2f,
    ratiof,
    secs,
)
from interp5d.report.samples import WITHIN, error_ratios, geomean, which_method
from interp5d.report.summary import loglog_slope


def accuracy_table(study: Study, datasets: list[str] | None = None) -> list[str]:
    """Per dataset × size: each method's test R² (mean ± std over seeds) and fit seconds."""
    s = study.stats
    methods = ordered(s)
    rows = []
    for ds in datasets or sorted(s["dataset"].unique()):
        for n in sorted(s.loc[s["dataset"] == ds, "n_samples"].unique()):
            cells = [ds, nf(n)]
            for m in methods:
                r2 = study.value(ds, m, n, "r2_mean")
                fit = study.value(ds, m, n, "fit_time_s_mean")
                std = study.value(ds, m, n, "r2_std")
                cells.append("—" if math.isnan(r2) else f"{r2f(r2, std)}, {secs(fit)}")
            rows.append(cells)
    header = ["dataset", "n"] + [f"`{m}`: test R², fit" for m in methods]
    return md_table(header, rows)


def ordered(stats: pd.DataFrame) -> list[str]:
    """Recipes first, then baselines, each sorted."""
    kinds = stats.drop_duplicates("method").set_index("method")["kind"]
    return sorted(kinds.index, key=lambda m: (kinds[m] != "recipe", m))


def ceiling_line(study: Study) -> str:
    s = study.stats
    if "oracle_r2_mean" not in s:
        return ""
    ceilings = s.groupby("dataset")["oracle_r2_mean"].mean().dropna()
    if ceilings.empty:
        return ""
    parts = [f"{ds} {v:.4f}" for ds, v in ceilings.items()]
    return "Noise ceiling (R² of the noise-free function against the noisy test targets): " + (
        ", ".join(parts) + "."
    )


def ttq_table(study: Study, methods: list[str]) -> list[str]:
    s = study.stats
    rows = []
    for ds in sorted(s["dataset"].unique()):
        for n in sorted(s.loc[s["dataset"] == ds, "n_samples"].unique()):
            rows.append([ds, nf(n)] + [study.ttq(ds, m, n) for m in methods])
    header = ["dataset", "n"] + [
        f"`{m}`: median s to {TTQ_TARGET} (runs reaching it)" for m in methods
    ]
    return md_table(header, rows)


def exponent_table(study: Study) -> list[str]:
    s = study.stats
    rows = []
    for (ds, m), g in s.groupby(["dataset", "method"], sort=True):
        g = g.sort_values("n_samples")
        if len(g) < 3:
            continue
        fit = loglog_slope(g["n_samples"], g["fit_time_s_mean"])
        mem = loglog_slope(g["n_samples"], g["train_peak_mb_mean"])
        rows.append(
            [
                ds,
                f"`{m}`",
                f"{nf(g['n_samples'].min())}–{nf(g['n_samples'].max())}",
                f"{fit:.2f}",
                f"{mem:.2f}",
            ]
        )
    return md_table(["dataset", "method", "sizes", "fit time ∝ n^b", "training memory ∝ n^b"], rows)


def coverage_table(study: Study) -> list[str]:
    s = study.stats
    rows = []
    for (ds, n), g in s.groupby(["dataset", "n_samples"], sort=True):
        for m in ordered(g):
            v = functools.partial(study.value, ds, m, n)
            rows.append(
                [
                    ds,
                    nf(n),
                    f"`{m}`",
                    r2f(v("r2_mean")),
                    secs(v("fit_time_s_mean")),
                    f"{v('coverage_95_mean'):.3f}",
                    f"{v('coverage_95_f_mean'):.3f}",
                    f"{v('interval_width_95_mean'):.3g}",
                ]
            )
    header = [
        "dataset",
        "n",
        "method",
        "test R²",
        "fit",
        "coverage of y",
        "coverage of f",
        "95% width",
    ]
    return md_table(header, rows)


def sampling_table(study: Study) -> list[str]:
    """Test R² of each recipe by sampling plan: the plans' datasets are `<function>_<plan>`."""
    s = study.stats
    plans = study.config.get("sampling", ["uniform"])
    rows = []
    for f in study.config.get("functions", []):
        for m in ordered(s):
            for n in study.sizes(f, m):
                cells = [f, nf(n), f"`{m}`"]
                for p in plans:
                    ds = f if p == "uniform" else f"{f}_{p}"
                    cells.append(
                        r2f(study.value(ds, m, n, "r2_mean"), study.value(ds, m, n, "r2_std"))
                    )
                rows.append(cells)
    return md_table(["function", "n", "method", *list(plans)], rows)


def ratio_table(study: Study, method: str) -> list[str]:
    """`method`'s test MSE over the best method's, per function × size, naming the best."""
    wide = error_ratios(study.stats)
    if wide.empty or method not in wide:
        return []
    sizes = sorted(wide.index.get_level_values("n_samples").unique())
    rows = []
    for ds, d in wide.groupby(level="dataset", sort=True):
        cells = [ds]
        for n in sizes:
            if (ds, n) not in d.index:
                cells.append("—")
                continue
            row = d.loc[(ds, n)]
            best = row.idxmin()
            v = row[method]
            cells.append("**1.00** (best)" if best == method else f"{ratiof(v)} (`{best}` best)")
        rows.append(cells)
    return md_table(["function"] + [f"n = {nf(n)}" for n in sizes], rows)


def which_table(
    study: Study, extra: str | None = None, default: pd.DataFrame | None = None
) -> list[str]:
    """Over all the study's functions, at each size: the most accurate method and the fastest
    within WITHIN× of it (geometric means over the functions); `extra`: a method whose own
    ratio gets a column; `default`: benchmarks/default.py's table, whose ratios (the default
    interpolator's MSE over the same best method's, the same seeds) get one too."""
    which = which_method(study.stats)
    combined = which[which["scope"] == "all datasets"]
    wide = error_ratios(study.stats)
    rows = []
    for _, r in combined.iterrows():
        n = int(r["n_samples"])
        cells = [nf(n)] + [
            f"`{r[who]}` ({ratiof(r[f'{role}_error_ratio'])}×, {secs(r[f'{role}_fit_s'])})"
            for who, role in (("most_accurate", "most_accurate"), ("fastest_within", "fastest"))
        ]
        if extra:
            ratios = wide.xs(n, level="n_samples")[extra].dropna() if extra in wide else []
            cells.append(_geomean_text(ratios))
        if default is not None:
            ratios = default.loc[default["n"] == n, "ratio"].dropna()
            cells.append(_geomean_text(ratios))
        rows.append(cells)
    header = [
        "n",
        "most accurate (MSE ÷ each function's best, fit s)",
        f"fastest within {WITHIN:g}× of it",
    ] + ([f"`{extra}`: MSE ÷ best"] if extra else [])
    header += (
        ["the default `Interpolator`: MSE ÷ the best other method"] if default is not None else []
    )
    return md_table(header, rows)


def _geomean_text(ratios) -> str:
    """The geometric mean of error ratios, as '1.23×' ('—' for none)."""
    if not len(ratios):
        return "—"
    return ratiof(geomean(ratios)) + "×"


def read_default(ref: Path) -> pd.DataFrame | None:
    """benchmarks/default.py's accuracy table (the default interpolator per function × n
    against the samples study's best method), if it was shipped."""
    f = ref / "default_interpolator.csv"
    return pd.read_csv(f) if f.exists() else None


def figures(study: Study, base: Path) -> list[str]:
    pngs = sorted(study.path.glob("*.png"))
    links = [f"[{p.stem.replace('_', ' ')}]({p.relative_to(base).as_posix()})" for p in pngs]
    return [f"Figures: {', '.join(links)}."] if links else []
