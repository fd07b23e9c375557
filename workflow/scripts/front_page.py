"""Snakemake script: the report's front page, with this run's findings and which-method
tables (interp5d.report.results.front)."""

from pathlib import Path

from interp5d.pipeline.logs import start_job_log
from interp5d.report.results.front import front_page

snakemake = globals()["snakemake"]
start_job_log(snakemake.log[0])
template = Path(snakemake.input.template).read_text()
text = front_page(Path(snakemake.input.by_size), Path(snakemake.input.targets_by_size), template)
Path(snakemake.output.rst).write_text(text)
