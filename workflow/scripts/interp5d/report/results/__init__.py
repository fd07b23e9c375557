"""docs/results.md and the README's generated blocks, written from the shipped reference
runs (`python -m interp5d results docs/reference`): every number a reader sees comes from a
reference's tables, never typed by hand, and a test fails when the committed files differ
from what this writes. The report's front page (`front`) takes the same tables of a run."""

from __future__ import annotations

from pathlib import Path

from interp5d.report.results.page import results_markdown
from interp5d.report.results.readme import BLOCKS, fill_readme, markers, readme_blocks
from interp5d.report.results.study import Study, provenance, read_all
from interp5d.report.results.tables import read_default

__all__ = ["BLOCKS", "Study", "fill_readme", "markers", "provenance", "write"]


def write(ref: Path, results: Path, readme: Path, check: bool = False) -> list[Path]:
    """Write docs/results.md and the README's blocks; with check, write nothing and return
    the files that differ from what would be written."""
    studies = read_all(ref)  # read once, for both files
    wanted = {
        results: results_markdown(ref, results.parent, studies),
        readme: fill_readme(
            readme.read_text(), readme_blocks(studies, read_default(ref)), str(readme)
        ),
    }
    stale = [p for p, text in wanted.items() if not p.exists() or p.read_text() != text]
    if not check:
        for p in stale:
            p.write_text(wanted[p])
    return stale
