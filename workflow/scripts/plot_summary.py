"""Snakemake script: one of the study's summary figures."""

import pandas as pd
from interp5d.pipeline.logs import start_job_log
from interp5d.report.plots import FIGURES

snakemake = globals()["snakemake"]
start_job_log(snakemake.log[0])
stats = pd.read_csv(snakemake.input.by_size)
FIGURES[snakemake.wildcards.figure](
    stats, snakemake.output.png, dpi=snakemake.params.settings["dpi"]
)
