"""Snakemake script: learning curves of the first seed's recipe runs, against optimizer
steps (each run's steps over its epochs)."""

import json
from pathlib import Path

import pandas as pd
from interp5d.pipeline.logs import start_job_log
from interp5d.report.plots import learning_curves

snakemake = globals()["snakemake"]
start_job_log(snakemake.log[0])
keys = [(p["dataset"], p["method"], int(p["n"])) for p in snakemake.params.runs]
histories = {k: pd.read_csv(path) for k, path in zip(keys, snakemake.input.histories, strict=True)}
steps_per_epoch = {}
for key, path in zip(keys, snakemake.input.metrics, strict=True):
    record = json.loads(Path(path).read_text())
    if record.get("epochs_run"):
        steps_per_epoch[key] = record["steps_run"] / record["epochs_run"]
learning_curves(
    histories, snakemake.output.png, dpi=snakemake.params.settings["dpi"], steps=steps_per_epoch
)
