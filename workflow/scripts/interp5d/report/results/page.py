"""docs/results.md: each reference run's design, provenance, tables and figures, and the
benchmarks' outputs."""

from __future__ import annotations

import re
from pathlib import Path

from interp5d.report.results.study import (
    COMMAND,
    STUDIES,
    TTQ_TARGET,
    Study,
    design,
    provenance,
    read_all,
)
from interp5d.report.results.tables import (
    accuracy_table,
    ceiling_line,
    coverage_table,
    exponent_table,
    figures,
    ordered,
    ratio_table,
    read_default,
    sampling_table,
    ttq_table,
    which_table,
)
from interp5d.report.samples import WITHIN


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
        recipes = [m for m in ordered(s) if m in study.config.get("recipes", {})]
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


def results_markdown(ref: Path, base: Path, studies: dict[str, Study] | None = None) -> str:
    """docs/results.md for the reference runs in `ref` (`studies`: them, already read)."""
    studies = read_all(ref) if studies is None else studies
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
