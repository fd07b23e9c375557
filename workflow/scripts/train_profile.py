"""Snakemake script: train and profile one model; write metrics, history and the model."""

import pandas as pd
from interp5d.data import load_dataset
from interp5d.experiment import run_experiment
from interp5d.logs import start_job_log
from interp5d.records import job_record, write_json

snakemake = globals()["snakemake"]
log = start_job_log(snakemake.log[0])
settings = snakemake.params.settings
w = snakemake.wildcards
ds = load_dataset(snakemake.input.data)
log.info("training %s on %s (n=%d, seed %s)", w.recipe, w.function, len(ds), w.seed)
record, est = run_experiment(
    ds,
    settings["recipe"],
    seed=int(w.seed),
    threads=settings["threads"],
    split=tuple(settings["split"][k] for k in ("train", "val", "test")),
    log_every_s=snakemake.config["log_every_s"],  # untracked: it changes no result
)
record = job_record(w.function, w.recipe, record, settings)
pd.DataFrame(est.history_).to_csv(snakemake.output.history, index=False)
est.save(snakemake.output.model)
write_json(snakemake.output.metrics, record)
log.info(
    "status %s, R² %.4f, %.3f s, train peak %.2f MB (%s)",
    record["status"],
    record["r2"],
    record["train_time_s"],
    record["train_peak_mb"],
    record["memory_method"],
)
