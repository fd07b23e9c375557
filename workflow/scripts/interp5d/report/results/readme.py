"""The README's generated blocks (the studies, the findings, which method for my data) and
how they are put between their markers."""

from __future__ import annotations

import math
import re

import pandas as pd

from interp5d.report.results.study import (
    COMMAND,
    STUDIES,
    TTQ_TARGET,
    Study,
    md_table,
    nf,
    r2f,
    ratiof,
    secs,
)
from interp5d.report.results.tables import ordered, which_table
from interp5d.report.samples import error_ratios, geomean
from interp5d.report.summary import loglog_slope

BLOCKS = ("studies", "findings", "which-method")  # the README's generated blocks, in order


def findings_block(studies: dict[str, Study]) -> list[str]:
    """The README's short table of what the reference runs found."""
    rows = []
    d = studies.get("default")
    if d is not None:
        sizes = d.sizes("synthetic5d", "seed")
        ns = " / ".join(nf(n) for n in sizes)
        r2 = lambda m: " / ".join(r2f(d.value("synthetic5d", m, n, "r2_mean")) for n in sizes)  # noqa: E731

        def fit(m):
            return " / ".join(secs(d.value("synthetic5d", m, n, "fit_time_s_mean")) for n in sizes)

        ceiling = d.stats.loc[d.stats["dataset"] == "synthetic5d", "oracle_r2_mean"].mean()
        rows.append(
            [
                f"the seed study's protocol (`seed`), synthetic5d at {ns}",
                f"test R² {r2('seed')} in {fit('seed')}",
                "default",
            ]
        )
        rows.append(
            [
                "the same network trained well (`tuned`)",
                f"test R² {r2('tuned')} (noise ceiling {ceiling:.4f}) in {fit('tuned')}",
                "default",
            ]
        )
    sc = studies.get("scaling")
    if sc is not None:
        top = max(sc.sizes("synthetic5d", "tuned"))
        t_fit = sc.value("synthetic5d", "tuned", top, "fit_time_s_mean")
        s_fit = sc.value("synthetic5d", "seed", top, "fit_time_s_mean")
        b = lambda m: loglog_slope(  # noqa: E731
            pd.Series(sc.sizes("synthetic5d", m)),
            pd.Series(
                [
                    sc.value("synthetic5d", m, n, "fit_time_s_mean")
                    for n in sc.sizes("synthetic5d", m)
                ]
            ),
        )
        reached = sc.ttq("synthetic5d", "tuned", top).split(" (")[0]
        rows.append(
            [
                f"{nf(top)} samples",
                f"`tuned`: test R² {r2f(sc.value('synthetic5d', 'tuned', top, 'r2_mean'))} in "
                f"{secs(t_fit)} of fit ({TTQ_TARGET} after {reached}); "
                f"`seed`: R² {r2f(sc.value('synthetic5d', 'seed', top, 'r2_mean'))} in "
                f"{secs(s_fit)}",
                "scaling",
            ]
        )
        rows.append(
            [
                "fit time against n",
                f"`tuned` ∝ n^{b('tuned'):.2f}, `seed` ∝ n^{b('seed'):.2f}",
                "scaling",
            ]
        )
    for name in ("baselines", "samples"):
        study = studies.get(name)
        if study is None:
            continue
        wide = error_ratios(study.stats)
        best = wide.idxmin(axis=1)
        ns = study.stats["n_samples"]
        rows.append(
            [
                f"most accurate of {len(wide.columns)} methods "
                f"({', '.join(f'`{m}`' for m in wide.columns)}), "
                f"{wide.index.get_level_values(0).nunique()} functions × "
                f"n = {nf(ns.min())}–{nf(ns.max())}",
                ", ".join(f"`{m}` in {k} of {len(best)}" for m, k in best.value_counts().items()),
                name,
            ]
        )
    sm = studies.get("samples")
    if sm is not None:
        wide = error_ratios(sm.stats)
        if "tuned" in wide:
            per_n = wide["tuned"].groupby(level="n_samples").apply(geomean)
            rows.append(
                [
                    "the `tuned` MLP's test MSE ÷ the best method's (geo. mean over functions)",
                    ", ".join(f"{ratiof(v)}× at {nf(n)}" for n, v in per_n.items()),
                    "samples",
                ]
            )
    un = studies.get("uncertainty")
    if un is not None:
        top = int(un.stats["n_samples"].max())
        cells = [
            f"`{m}` {un.value('synthetic5d', m, top, 'coverage_95_mean'):.3f}"
            for m in ordered(un.stats)
            if m != "seed" and math.isfinite(un.value("synthetic5d", m, top, "coverage_95_mean"))
        ]
        rows.append(
            [
                f"95% intervals' coverage of y (0.95 calibrated), synthetic5d at {nf(top)}",
                ", ".join(cells),
                "uncertainty",
            ]
        )
    sa = studies.get("sampling")
    if sa is not None:
        rows.append(
            ["Latin hypercube or Sobol' against uniform draws, `tuned`", _plan_gap(sa), "sampling"]
        )
    return [
        *md_table(["question", "measured", "study"], rows),
        "",
        "Details, provenance and figures: [docs/results.md](docs/results.md).",
    ]


def _plan_gap(study: Study) -> str:
    """The largest |R²(plan) − R²(uniform)| of `tuned` over functions and sizes, in units of
    the two's combined standard deviation over seeds."""
    worst = (0.0, 0.0)
    for f in study.config.get("functions", []):
        for n in study.sizes(f, "tuned"):
            base, sd0 = (study.value(f, "tuned", n, c) for c in ("r2_mean", "r2_std"))
            for p in study.config.get("sampling", []):
                if p == "uniform":
                    continue
                r2, sd = (study.value(f"{f}_{p}", "tuned", n, c) for c in ("r2_mean", "r2_std"))
                gap = abs(r2 - base)
                if gap > worst[0]:
                    worst = (gap, gap / max(math.hypot(sd0, sd), 1e-12))
    return f"test R² differs by at most {worst[0]:.4f} ({worst[1]:.1f} seed standard deviations)"


def which_block(studies: dict[str, Study], default: pd.DataFrame | None) -> list[str]:
    """The README's "which method for my data" table, from the samples study (and the
    default interpolator's benchmark, measured on the same functions, sizes and seeds)."""
    sm = studies.get("samples")
    if sm is None:
        return ["(The samples study has no reference run.)"]
    above = _above(sm, studies.get("scaling"))
    note = (
        [
            "The default's column is `benchmarks/default.py`: the default fitted on the study's "
            "own datasets and splits, against the MSE of the best other method (every method of "
            "the study but the default itself) on the same seeds; "
            + _default_targets(default)
            + ". Per cell: [default_interpolator.md](docs/reference/default_interpolator.md).",
            "",
        ]
        if default is not None
        else []
    )
    return [
        *which_table(sm, extra="tuned", default=default),
        "",
        *note,
        *([above, ""] if above else []),
        f"Over the samples study's {sm.stats['dataset'].nunique()} functions (geometric means over "
        "them of each method's test MSE over the best method's on that function, and of fit "
        "seconds). Per function: [docs/results.md](docs/results.md#samples-to-quality).",
    ]


def _above(sm: Study, sc: Study | None) -> str:
    """What the references say above the samples study's largest size: which methods refuse
    it (their size limits in the run's config) and what the `tuned` MLP did there."""
    top = int(sm.stats["n_samples"].max())
    limits = {
        m: cfg["max_rows"]
        for m, cfg in (sm.config.get("baselines") or {}).items()
        if isinstance(cfg, dict) and cfg.get("max_rows")
    }
    text = f"Above {nf(top)} samples: " + ", ".join(
        f"`{m}` refuses over {v:,} training rows"
        for m, v in sorted(limits.items(), key=lambda x: x[1])
    )
    if sc is not None:
        bigger = [n for n in sc.sizes("synthetic5d", "tuned") if n > top]
        if bigger:
            cells = [
                f"{nf(n)}: test R² {r2f(sc.value('synthetic5d', 'tuned', n, 'r2_mean'))} in "
                f"{secs(sc.value('synthetic5d', 'tuned', n, 'fit_time_s_mean'))}"
                for n in bigger
            ]
            text += "; the `tuned` MLP on synthetic5d (scaling study) at " + ", ".join(cells)
    return text + "."


def _default_targets(default: pd.DataFrame) -> str:
    met = default.dropna(subset=["ratio"])
    ok = int((met["ratio"] <= met["target"]).sum())
    fit = int((default["fit_s"] <= default["fit_target"]).sum())
    return (
        f"within its accuracy target (≤ 1.25× the best, ≤ 1.5× at 100 samples) in {ok} of "
        f"{len(met)} function × size cells, within its fit-time target in {fit} of {len(default)}"
    )


def studies_block(studies: dict[str, Study]) -> list[str]:
    """Each study: its command, what it asks, and how long its reference run took."""
    rows = []
    for name, (title, command, question) in STUDIES.items():
        study = studies.get(name)
        wall = "—"
        if study is not None and study.provenance.get("wall_s") is not None:
            wall = f"{study.provenance['wall_s'] / 60:.1f} min"
        elif study is not None:
            wall = "not recorded"
        rows.append([f"`{command}`", f"{title}: {question}", wall])
    return [
        *md_table(["command", "study", "reference run on 2 cores"], rows),
        "",
        "Wall time from an empty `results/`; each study's provenance: "
        "[docs/results.md](docs/results.md).",
    ]


def readme_blocks(studies: dict[str, Study], default: pd.DataFrame | None) -> dict[str, list[str]]:
    return {
        "studies": studies_block(studies),
        "findings": findings_block(studies),
        "which-method": which_block(studies, default),
    }


def markers(name: str) -> tuple[str, str]:
    return (f"<!-- {name}: generated by `{COMMAND}`; do not edit -->", f"<!-- {name} end -->")


def fill_readme(text: str, blocks: dict[str, list[str]], where: str = "README.md") -> str:
    """The README with each generated block replaced between its markers."""
    for name, lines in blocks.items():
        start, end = markers(name)
        pattern = re.compile(re.escape(start) + r"\n.*?" + re.escape(end), re.S)
        if not pattern.search(text):
            raise ValueError(f"{where}: no '{start}' … '{end}' block to fill")
        block = "\n".join([start, *lines, end])
        text = pattern.sub(lambda _, block=block: block, text, count=1)
    return text
