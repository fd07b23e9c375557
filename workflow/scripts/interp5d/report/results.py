"""docs/results.md and the README's generated blocks, written from the shipped reference
runs (`python -m interp5d results docs/reference`): every number a reader sees comes from a
reference's tables, never typed by hand, and a test fails when the committed files differ
from what this writes."""

from __future__ import annotations

import functools
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from interp5d.report.samples import WITHIN, error_ratios, which_method
from interp5d.report.summary import loglog_slope

COMMAND = "python -m interp5d results docs/reference"
BLOCKS = ("studies", "findings", "which-method")  # the README's generated blocks
TTQ_TARGET = "ceiling-0.002"  # the target the tables quote (within 0.002 of the ceiling)

STUDIES = {  # folder: title, how to run it, what it asks
    "default": (
        "The default study",
        "snakemake --cores 2",
        "the seed study's MLP protocol (`seed`: 100 full-batch Adam epochs) against the same "
        "network trained well (`tuned`)",
    ),
    "scaling": (
        "Scaling to 1M samples",
        "snakemake --cores 2 --configfile config/scaling.yaml",
        "how fit time, memory and time to quality grow with n up to a million samples",
    ),
    "baselines": (
        "Against the alternatives",
        "snakemake --cores 2 --configfile config/baselines.yaml",
        "the recipes against least squares, scikit-learn's MLP and a thin-plate RBF on the "
        "three functions the recipe was tuned on, n ≥ 1,000",
    ),
    "samples": (
        "Samples to quality",
        "snakemake --cores 2 --configfile config/samples.yaml",
        "how many samples each method needs, on eight functions (five it was not tuned on), "
        "from 100 samples, with kriging and a GP",
    ),
    "uncertainty": (
        "Predictive uncertainty",
        "snakemake --cores 2 --configfile config/uncertainty.yaml",
        "how well each method's predictive std covers new observations",
    ),
    "sampling": (
        "Sampling plans",
        "snakemake --cores 2 --configfile config/sampling.yaml",
        "uniform draws against a Latin hypercube and a scrambled Sobol' sequence",
    ),
}


@dataclass
class Study:
    """One reference run: its tables, effective config, machine and provenance."""

    name: str
    path: Path
    stats: pd.DataFrame
    targets: pd.DataFrame
    config: dict
    env: dict
    provenance: dict = field(default_factory=dict)

    @classmethod
    def read(cls, path: Path) -> Study:
        def table(name: str) -> pd.DataFrame:
            f = path / name
            return pd.read_csv(f) if f.exists() else pd.DataFrame()

        prov = path / "provenance.json"
        return cls(
            name=path.name,
            path=path,
            stats=table("summary_by_size.csv").copy(),  # one block: no fragmentation warnings
            targets=table("targets_by_size.csv"),
            config=json.loads((path / "config.json").read_text()),
            env=json.loads((path / "environment.json").read_text()),
            provenance=json.loads(prov.read_text()) if prov.exists() else {},
        )

    def value(self, dataset: str, method: str, n: int, column: str) -> float:
        """A column of summary_by_size at one dataset × method × size (NaN if absent)."""
        s = self.stats
        sel = s[(s["dataset"] == dataset) & (s["method"] == method) & (s["n_samples"] == n)]
        return float(sel[column].iloc[0]) if len(sel) else math.nan

    def sizes(self, dataset: str, method: str) -> list[int]:
        s = self.stats
        return sorted(s.loc[(s["dataset"] == dataset) & (s["method"] == method), "n_samples"])

    def ttq(self, dataset: str, method: str, n: int, target: str = TTQ_TARGET) -> str:
        """Median seconds to a target with how many runs reached it, or 'never (k of n)'."""
        t = self.targets
        sel = t[
            (t["dataset"] == dataset)
            & (t["method"] == method)
            & (t["n_samples"] == n)
            & (t["target"] == target)
        ]
        if not len(sel):
            return "—"
        r = sel.iloc[0]
        reached = f"{int(r['n_reached'])} of {int(r['n_runs'])}"
        if pd.isna(r["median_s"]):
            return f"never ({reached})"
        return f"{_s(r['median_s'])} ({reached})"


def read_all(ref: Path) -> dict[str, Study]:
    """The reference studies found under `ref`, in the order of STUDIES."""
    return {
        name: Study.read(ref / name) for name in STUDIES if (ref / name / "config.json").exists()
    }


# ---- formatting -------------------------------------------------------------------------


def _s(seconds: float) -> str:
    """Seconds to three significant figures ('0.152 s', '20.9 s')."""
    if not math.isfinite(seconds):
        return "—"
    return f"{seconds:.3g} s" if seconds < 100 else f"{seconds:,.0f} s"


def _r2(r2: float, std: float = math.nan) -> str:
    """R² to as many places as its distance from 1 needs (0.38, 0.990, 0.9992)."""
    if not math.isfinite(r2):
        return "—"
    places = 2 if r2 < 0.9 else 3 if r2 < 0.999 else 4
    text = f"{r2:.{places}f}"
    return f"{text} ± {std:.{places}f}" if math.isfinite(std) else text


def _ratio(v: float) -> str:
    if not math.isfinite(v):
        return "—"
    return f"{v:.2f}" if v < 10 else f"{v:.3g}" if v < 1e4 else f"{v:.1e}"


def _n(n: float) -> str:
    n = int(n)
    for unit, size in (("M", 1_000_000), ("K", 1_000)):
        if n >= size and n % size == 0:
            return f"{n // size}{unit}"
    return f"{n:,}"


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return out + ["| " + " | ".join(r) + " |" for r in rows]


def provenance(study: Study) -> str:
    """One line: the code, the machine, when and how long (where the run recorded it)."""
    env, prov = study.env, study.provenance
    commit = (prov.get("commit") or env.get("git_commit") or "unknown")[:7]
    isa = ", ".join(i for i in ("avx512f", "avx2") if i in env.get("cpu_isa", []))[:6].upper()
    torch_v = env.get("packages", {}).get("torch", "?")
    machine = (
        f"{env.get('cpu_model', '?')}{f' ({isa})' if isa else ''}, "
        f"{env.get('cpus_available', env.get('logical_cores', '?'))} cores, "
        f"{env.get('ram_gb', float('nan')):.1f} GB, Python {env.get('python', '?')}, "
        f"torch {torch_v}, {env.get('torch_threads', '?')} torch thread a job"
    )
    if prov.get("wall_s") is not None:
        when = (
            f"run {prov['date_utc']} UTC in {prov['wall_s'] / 60:.1f} min on "
            f"{prov['cores']} cores (`{prov['command']}`)"
        )
    else:
        when = "date and wall time not recorded with this run"
    redrawn = prov.get("figures_redrawn")
    if redrawn:
        when += (
            f"; figures redrawn from its tables at commit `{redrawn['commit'][:7]}` "
            f"({redrawn['date_utc']} UTC)"
        )
    return f"Commit `{commit}`; {machine}; {when}."


def design(study: Study) -> str:
    """What the run measured, from its effective config."""
    c = study.config
    data = list(c.get("functions", [])) + list(c.get("datasets", {}))
    methods = list(c.get("recipes", {})) + list(c.get("baselines", {}) or {})
    seeds = c.get("seeds", [])
    extra = c.get("extra_seeds") or {}
    seed_text = ", ".join(map(str, seeds))
    if extra:
        seed_text += f" (and {', '.join(map(str, extra['seeds']))} up to n = {extra['up_to']:,})"
    text = (
        f"Datasets {', '.join(data)}; sizes {', '.join(_n(n) for n in c.get('sizes', []))}; "
        f"seeds {seed_text}; methods {', '.join(f'`{m}`' for m in methods)}"
    )
    if len(c.get("sampling", [])) > 1:
        text += f"; sampling plans {', '.join(c['sampling'])}"
    return text + "."


# ---- the tables -------------------------------------------------------------------------


def accuracy_table(study: Study, datasets: list[str] | None = None) -> list[str]:
    """Per dataset × size: each method's test R² (mean ± std over seeds) and fit seconds."""
    s = study.stats
    methods = _methods(s)
    rows = []
    for ds in datasets or sorted(s["dataset"].unique()):
        for n in sorted(s.loc[s["dataset"] == ds, "n_samples"].unique()):
            cells = [ds, _n(n)]
            for m in methods:
                r2 = study.value(ds, m, n, "r2_mean")
                fit = study.value(ds, m, n, "fit_time_s_mean")
                std = study.value(ds, m, n, "r2_std")
                cells.append("—" if math.isnan(r2) else f"{_r2(r2, std)}, {_s(fit)}")
            rows.append(cells)
    header = ["dataset", "n"] + [f"`{m}`: test R², fit" for m in methods]
    return _table(header, rows)


def _methods(stats: pd.DataFrame) -> list[str]:
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
            rows.append([ds, _n(n)] + [study.ttq(ds, m, n) for m in methods])
    header = ["dataset", "n"] + [
        f"`{m}`: median s to {TTQ_TARGET} (runs reaching it)" for m in methods
    ]
    return _table(header, rows)


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
                f"{_n(g['n_samples'].min())}–{_n(g['n_samples'].max())}",
                f"{fit:.2f}",
                f"{mem:.2f}",
            ]
        )
    return _table(["dataset", "method", "sizes", "fit time ∝ n^b", "training memory ∝ n^b"], rows)


def coverage_table(study: Study) -> list[str]:
    s = study.stats
    rows = []
    for (ds, n), g in s.groupby(["dataset", "n_samples"], sort=True):
        for m in _methods(g):
            v = functools.partial(study.value, ds, m, n)
            rows.append(
                [
                    ds,
                    _n(n),
                    f"`{m}`",
                    _r2(v("r2_mean")),
                    _s(v("fit_time_s_mean")),
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
    return _table(header, rows)


def sampling_table(study: Study) -> list[str]:
    """Test R² of each recipe by sampling plan: the plans' datasets are `<function>_<plan>`."""
    s = study.stats
    plans = study.config.get("sampling", ["uniform"])
    rows = []
    for f in study.config.get("functions", []):
        for m in _methods(s):
            for n in study.sizes(f, m):
                cells = [f, _n(n), f"`{m}`"]
                for p in plans:
                    ds = f if p == "uniform" else f"{f}_{p}"
                    cells.append(
                        _r2(study.value(ds, m, n, "r2_mean"), study.value(ds, m, n, "r2_std"))
                    )
                rows.append(cells)
    return _table(["function", "n", "method", *list(plans)], rows)


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
            cells.append("**1.00** (best)" if best == method else f"{_ratio(v)} (`{best}` best)")
        rows.append(cells)
    return _table(["function"] + [f"n = {_n(n)}" for n in sizes], rows)


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
        cells = [_n(n)] + [
            f"`{r[who]}` ({_ratio(r[f'{role}_error_ratio'])}×, {_s(r[f'{role}_fit_s'])})"
            for who, role in (("most_accurate", "most_accurate"), ("fastest_within", "fastest"))
        ]
        if extra:
            ratios = wide.xs(n, level="n_samples")[extra].dropna() if extra in wide else []
            cells.append(_ratio(float(np.exp(np.log(ratios).mean()))) + "×" if len(ratios) else "—")
        if default is not None:
            ratios = default.loc[default["n"] == n, "ratio"].dropna()
            cells.append(_ratio(float(np.exp(np.log(ratios).mean()))) + "×" if len(ratios) else "—")
        rows.append(cells)
    header = [
        "n",
        "most accurate (MSE ÷ each function's best, fit s)",
        f"fastest within {WITHIN:g}× of it",
    ] + ([f"`{extra}`: MSE ÷ best"] if extra else [])
    header += ["the default `Interpolator`: MSE ÷ best"] if default is not None else []
    return _table(header, rows)


def read_default(ref: Path) -> pd.DataFrame | None:
    """benchmarks/default.py's accuracy table (the default interpolator per function × n
    against the samples study's best method), if it was shipped."""
    f = ref / "default_interpolator.csv"
    return pd.read_csv(f) if f.exists() else None


def figures(study: Study, base: Path) -> list[str]:
    pngs = sorted(study.path.glob("*.png"))
    links = [f"[{p.stem.replace('_', ' ')}]({p.relative_to(base).as_posix()})" for p in pngs]
    return [f"Figures: {', '.join(links)}."] if links else []


# ---- docs/results.md --------------------------------------------------------------------


def study_section(study: Study, base: Path) -> list[str]:
    title, command, question = STUDIES[study.name]
    rel = study.path.relative_to(base).as_posix()
    out = [
        f"## {title}",
        "",
        f"`{command}`: {question}. {design(study)}",
        "",
        provenance(study),
        "",
    ]
    s = study.stats
    if study.name == "samples":
        out += [
            "Most accurate method at each size over the eight functions, and the fastest within "
            f"{WITHIN:g}× of its error (geometric means over the functions of each method's "
            "test MSE over the best method's there, and of fit seconds; methods run on every "
            "function at that size), with the `tuned` MLP's own ratio:",
            "",
            *which_table(study, extra="tuned", default=read_default(study.path.parent)),
            "",
            "The `tuned` MLP's test MSE over the most accurate method's, mean over seeds:",
            "",
            *ratio_table(study, "tuned"),
        ]
    elif study.name == "uncertainty":
        out += [
            "The fraction of test points inside the prediction ± 1.96 std (0.95 is "
            "calibrated), of the noisy y and of the noise-free f:",
            "",
            *coverage_table(study),
        ]
    elif study.name == "sampling":
        out += ["Test R², mean ± std over seeds, by plan:", "", *sampling_table(study)]
    else:
        out += [
            "Test R² (mean ± std over seeds) and fit seconds (mean):",
            "",
            *accuracy_table(study),
        ]
        recipes = [m for m in _methods(s) if m in study.config.get("recipes", {})]
        if not study.targets.empty and recipes:
            out += [
                "",
                f"Time to quality ({TTQ_TARGET}: a validation R² within 0.002 of the noise "
                "ceiling):",
                "",
            ]
            out += ttq_table(study, recipes)
        if study.name == "scaling":
            out += ["", "Fitted power laws over the sizes:", "", *exponent_table(study)]
    ceiling = ceiling_line(study)
    if ceiling and study.name != "samples":
        out += ["", ceiling]
    out += ["", f"Every table of the run: [`{rel}/summary.md`]({rel}/summary.md)."]
    out += figures(study, base)
    return [*out, ""]


BENCHMARKS = {  # each output's script, and what it measures
    "methods": "every method through the runner: R², fit seconds, time to quality, loop memory",
    "default_interpolator": "the default `Interpolator` against the best method of the "
    "samples study, one point and 100,000 points",
    "ablation": "what each piece of the training loop buys: a DataLoader loop, the autograd, "
    "fast and native engines on the same recipe",
    "step": "one training step of each engine against its matrix products alone",
    "chunks": "a full batch stepped in one pass against chunks of 2K–16K rows",
    "recipes": "recipe × size: R², fit seconds, peak memory, each in a fresh process",
    "recipe_key": "the tuned recipe against itself with one key changed",
    "warm_up": "the runner's untimed warm-up on small data against one on the run's shapes",
}


def benchmark_section(ref: Path, base: Path) -> list[str]:
    """The benchmarks' own outputs (each written by its script), linked, with the commit and
    date their header gives."""
    out = [
        "## Benchmarks",
        "",
        "Each written by its script in `benchmarks/`, one torch thread, one run at a time, "
        "repeats interleaved; the tables are in the files:",
        "",
    ]
    for md in sorted(ref.glob("*.md")):
        script = next((k for k in BENCHMARKS if md.stem.startswith(k)), None)
        if script is None:
            continue
        text = md.read_text()
        commit = re.search(r"at commit (\w+)", text)
        date = re.search(r"(\d{4}-\d{2}-\d{2});", text)
        when = ", ".join(x for x in (commit and f"commit {commit[1]}", date and date[1]) if x)
        script_name = "default" if script == "default_interpolator" else script
        out.append(
            f"- [`{md.name}`]({md.relative_to(base).as_posix()}): {BENCHMARKS[script]} "
            f"(`benchmarks/{script_name}.py`{f'; {when}' if when else ''})"
        )
    return [*out, ""]


def results_markdown(ref: Path, base: Path) -> str:
    studies = read_all(ref)
    shipped = ref.resolve().relative_to(base.resolve().parent).as_posix()
    out = [
        "# Results of the reference runs",
        "",
        f"Generated by `{COMMAND}` from the reference runs shipped in `{shipped}/`; do not "
        "edit by hand. Timings on the shared "
        "2-core VMs these ran on vary by ±30–50% between runs: compare ratios taken within "
        "one run. How each number is measured: [measurement.md](measurement.md).",
        "",
    ]
    for study in studies.values():
        out += study_section(study, base)
    out += benchmark_section(ref, base)
    return "\n".join(out)


# ---- the README's blocks ----------------------------------------------------------------


def findings_block(studies: dict[str, Study]) -> list[str]:
    """The README's short table of what the reference runs found."""
    rows = []
    d = studies.get("default")
    if d is not None:
        sizes = d.sizes("synthetic5d", "seed")
        ns = " / ".join(_n(n) for n in sizes)
        r2 = lambda m: " / ".join(_r2(d.value("synthetic5d", m, n, "r2_mean")) for n in sizes)  # noqa: E731

        def fit(m):
            return " / ".join(_s(d.value("synthetic5d", m, n, "fit_time_s_mean")) for n in sizes)

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
                f"{_n(top)} samples",
                f"`tuned`: test R² {_r2(sc.value('synthetic5d', 'tuned', top, 'r2_mean'))} in "
                f"{_s(t_fit)} of fit ({TTQ_TARGET} after {reached}); "
                f"`seed`: R² {_r2(sc.value('synthetic5d', 'seed', top, 'r2_mean'))} in {_s(s_fit)}",
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
                f"n = {_n(ns.min())}–{_n(ns.max())}",
                ", ".join(f"`{m}` in {k} of {len(best)}" for m, k in best.value_counts().items()),
                name,
            ]
        )
    sm = studies.get("samples")
    if sm is not None:
        wide = error_ratios(sm.stats)
        if "tuned" in wide:
            per_n = (
                wide["tuned"]
                .groupby(level="n_samples")
                .apply(lambda v: float(np.exp(np.log(v).mean())))
            )
            rows.append(
                [
                    "the `tuned` MLP's test MSE ÷ the best method's (geo. mean over functions)",
                    ", ".join(f"{_ratio(v)}× at {_n(n)}" for n, v in per_n.items()),
                    "samples",
                ]
            )
    un = studies.get("uncertainty")
    if un is not None:
        top = int(un.stats["n_samples"].max())
        cells = [
            f"`{m}` {un.value('synthetic5d', m, top, 'coverage_95_mean'):.3f}"
            for m in _methods(un.stats)
            if m != "seed" and math.isfinite(un.value("synthetic5d", m, top, "coverage_95_mean"))
        ]
        rows.append(
            [
                f"95% intervals' coverage of y (0.95 calibrated), synthetic5d at {_n(top)}",
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
        *_table(["question", "measured", "study"], rows),
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
            "own datasets and splits, against the best method's MSE on the same seeds; "
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
    text = f"Above {_n(top)} samples: " + ", ".join(
        f"`{m}` refuses over {v:,} training rows"
        for m, v in sorted(limits.items(), key=lambda x: x[1])
    )
    if sc is not None:
        bigger = [n for n in sc.sizes("synthetic5d", "tuned") if n > top]
        if bigger:
            cells = [
                f"{_n(n)}: test R² {_r2(sc.value('synthetic5d', 'tuned', n, 'r2_mean'))} in "
                f"{_s(sc.value('synthetic5d', 'tuned', n, 'fit_time_s_mean'))}"
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
        *_table(["command", "study", "reference run on 2 cores"], rows),
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


# ---- the report's front page ------------------------------------------------------------


def rst_table(md: list[str]) -> list[str]:
    """A Markdown table (as _table writes it) as reST's csv-table directive: inline code in
    double backquotes, every cell CSV-quoted."""
    rows = [
        [c.strip().replace("`", "``") for c in line.strip().strip("|").split("|")]
        for line in md
        if line.startswith("|") and not line.startswith("|---")
    ]
    if not rows:
        return []
    quoted = [", ".join('"' + c.replace('"', '""') + '"' for c in r) for r in rows]
    return [
        ".. csv-table::",
        f"   :header: {quoted[0]}",
        "",
        *(f"   {r}" for r in quoted[1:]),
    ]


def front_page(by_size: Path, targets_by_size: Path, template: str) -> str:
    """The report's front page: the static description (`template`, Jinja for Snakemake's
    report) and this run's findings and "which method" tables, from its two tables alone."""
    study = Study("run", by_size.parent, pd.read_csv(by_size), pd.read_csv(targets_by_size), {}, {})
    kinds = study.stats.drop_duplicates("method").set_index("method")["kind"]
    recipes = [m for m in _methods(study.stats) if kinds[m] == "recipe"]
    out = [
        template.rstrip(),
        "",
        "Findings of this run",
        "--------------------",
        "",
        "Test R² (mean ± std over seeds) and fit seconds (mean), every dataset, size and method:",
        "",
        *rst_table(accuracy_table(study)),
    ]
    if recipes and not study.targets.empty:
        out += [
            "",
            f"Time to quality: median fit seconds until the validation R² reached {TTQ_TARGET} "
            "(within 0.002 of the noise ceiling), and how many runs reached it:",
            "",
            *rst_table(ttq_table(study, recipes)),
        ]
    out += [
        "",
        "Which method for this run's data",
        "--------------------------------",
        "",
        f"At each size: the most accurate method (lowest mean test MSE over seeds; over several "
        f"datasets the geometric mean of its MSE over each dataset's best) and the fastest "
        f"whose error is within {WITHIN:g}× of it, with their error ratios and fit seconds. "
        "Per dataset: the table *which method for my data*.",
        "",
        *rst_table(which_table(study)),
        "",
    ]
    return "\n".join(out)


def write(ref: Path, results: Path, readme: Path, check: bool = False) -> list[Path]:
    """Write docs/results.md and the README's blocks; with check, write nothing and return
    the files that differ from what would be written."""
    base = results.parent
    wanted = {
        results: results_markdown(ref, base),
        readme: fill_readme(
            readme.read_text(), readme_blocks(read_all(ref), read_default(ref)), str(readme)
        ),
    }
    stale = [p for p, text in wanted.items() if not p.exists() or p.read_text() != text]
    if not check:
        for p in stale:
            p.write_text(wanted[p])
    return stale
