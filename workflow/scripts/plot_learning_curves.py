"""Snakemake script: learning curves of the first seed's recipe runs."""

import pandas as pd
from interp5d.pipeline.logs import start_job_log
from interp5d.report.plots import learning_curves

snakemake = globals()["snakemake"]
start_job_log(snakemake.log[0])
histories = {
    (p["dataset"], p["method"], int(p["n"])): pd.read_csv(path)
    for p, path in zip(snakemake.params.runs, snakemake.input.histories, strict=True)
}
learning_curves(histories, snakemake.output.png, dpi=snakemake.params.settings["dpi"])
