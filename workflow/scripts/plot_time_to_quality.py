"""Snakemake script: time to quality against dataset size, per target."""

import pandas as pd
from interp5d.pipeline.logs import start_job_log
from interp5d.report.plots import time_to_quality

snakemake = globals()["snakemake"]
start_job_log(snakemake.log[0])
stats = pd.read_csv(snakemake.input.targets_by_size)
time_to_quality(stats, snakemake.output.png, dpi=snakemake.params.settings["dpi"])
