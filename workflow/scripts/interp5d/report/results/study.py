"""A reference run read back (its tables, effective config, machine and provenance), the
studies the project ships, and how their numbers are written."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

COMMAND = "python -m interp5d results docs/reference"
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
        return f"{secs(r['median_s'])} ({reached})"


def read_all(ref: Path) -> dict[str, Study]:
    """The reference studies found under `ref`, in the order of STUDIES."""
    return {
        name: Study.read(ref / name) for name in STUDIES if (ref / name / "config.json").exists()
    }


def secs(seconds: float) -> str:
    """Seconds to three significant figures ('0.152 s', '20.9 s')."""
    if not math.isfinite(seconds):
        return "—"
    return f"{seconds:.3g} s" if seconds < 100 else f"{seconds:,.0f} s"


def r2f(r2: float, std: float = math.nan) -> str:
    """R² to as many places as its distance from 1 needs (0.38, 0.990, 0.9992)."""
    if not math.isfinite(r2):
        return "—"
    places = 2 if r2 < 0.9 else 3 if r2 < 0.999 else 4
    text = f"{r2:.{places}f}"
    return f"{text} ± {std:.{places}f}" if math.isfinite(std) else text


def ratiof(v: float) -> str:
    if not math.isfinite(v):
        return "—"
    return f"{v:.2f}" if v < 10 else f"{v:.3g}" if v < 1e4 else f"{v:.1e}"


def nf(n: float) -> str:
    n = int(n)
    for unit, size in (("M", 1_000_000), ("K", 1_000)):
        if n >= size and n % size == 0:
            return f"{n // size}{unit}"
    return f"{n:,}"


def md_table(header: list[str], rows: list[list[str]]) -> list[str]:
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
        f"Datasets {', '.join(data)}; sizes {', '.join(nf(n) for n in c.get('sizes', []))}; "
        f"seeds {seed_text}; methods {', '.join(f'`{m}`' for m in methods)}"
    )
    if len(c.get("sampling", [])) > 1:
        text += f"; sampling plans {', '.join(c['sampling'])}"
    return text + "."
