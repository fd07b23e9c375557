"""The report's front page: the description and this run's findings and which-method
tables, in reST."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from interp5d.report.results.study import TTQ_TARGET, Study
from interp5d.report.results.tables import accuracy_table, ordered, ttq_table, which_table
from interp5d.report.samples import WITHIN


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


# the reST comment in workflow/report/workflow.rst where the tables go
FINDINGS_MARK = ".. findings:"


def front_page(by_size: Path, targets_by_size: Path, template: str) -> str:
    """The report's front page: the static description (`template`, Jinja for Snakemake's
    report) with this run's findings and "which method" tables in its FINDINGS_MARK comment's
    place, from the run's two tables alone."""
    study = Study("run", by_size.parent, pd.read_csv(by_size), pd.read_csv(targets_by_size), {}, {})
    kinds = study.stats.drop_duplicates("method").set_index("method")["kind"]
    recipes = [m for m in ordered(study.stats) if kinds[m] == "recipe"]
    out = [
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
        "The run's settings",
        "------------------",
        "",
    ]
    # in the description's place for them (before its long config), else after it
    lines = template.rstrip().splitlines()
    at = next((i for i, ln in enumerate(lines) if ln.startswith(FINDINGS_MARK)), None)
    if at is None:
        return "\n".join([*lines, "", *out])
    return "\n".join([*lines[:at], *out, *lines[at + 1 :]]) + "\n"
