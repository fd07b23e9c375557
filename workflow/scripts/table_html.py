"""Snakemake script: one of the study's tables (or records) as an HTML page for the report."""

from pathlib import Path

from interp5d.pipeline.logs import start_job_log
from interp5d.report.tables_html import render

snakemake = globals()["snakemake"]
start_job_log(snakemake.log[0])
title = snakemake.wildcards.table.replace("_", " ")
Path(snakemake.output.html).write_text(render(snakemake.input.source, title))
