"""Snakemake script: fit and profile one baseline method on one dataset and split."""

from interp5d.baselines import run_baseline
from interp5d.data import load_dataset
from interp5d.logs import start_job_log
from interp5d.records import job_record, write_json

snakemake = globals()["snakemake"]
log = start_job_log(snakemake.log[0])
settings = snakemake.params.settings
w = snakemake.wildcards
ds = load_dataset(snakemake.input.data)
log.info("baseline %s on %s (n=%d, seed %s)", w.recipe, w.function, len(ds), w.seed)
record = run_baseline(
    ds,
    settings["method"],
    seed=int(w.seed),
    settings=settings["options"],
    threads=settings["threads"],
    split=tuple(settings["split"][k] for k in ("train", "val", "test")),
)
record = job_record(w.function, w.recipe, record, settings)
write_json(snakemake.output.metrics, record)
log.info("R² %.4f, %.3f s", record["r2"], record["train_time_s"])
