"""Snakemake script: fit and profile one method (a recipe or a baseline) on one dataset;
write its metrics, history, validation curve and model."""

from interp5d.bench.quality import TargetSpec
from interp5d.bench.records import job_record
from interp5d.bench.runner import THROUGHPUT_POINTS, profile_run
from interp5d.csvio import write_columns, write_rows
from interp5d.data import load_dataset
from interp5d.jsonio import write_json
from interp5d.methods import build_method
from interp5d.pipeline.logs import start_job_log

snakemake = globals()["snakemake"]
log = start_job_log(snakemake.log[0])
settings = snakemake.params.settings
w = snakemake.wildcards
seed = int(w.seed)
ds = load_dataset(snakemake.input.data)
log.info("fitting %s on %s (n=%d, seed %d)", w.method, w.dataset, len(ds), seed)
method = build_method(
    settings["method"],
    seed=seed,
    threads=settings["threads"],
    log_every_s=snakemake.config["log_every_s"],  # untracked: it changes no result
)
record, est = profile_run(
    ds,
    method,
    seed,
    threads=settings["threads"],
    split=tuple(settings["split"][k] for k in ("train", "val", "test")),
    targets=TargetSpec(**settings["targets"]),
    loop_memory=True,
    throughput_points=THROUGHPUT_POINTS if settings["measure_throughput"] else 0,
)
record = job_record(w.dataset, w.method, settings["method"]["kind"], record, settings)
write_columns(snakemake.output.history, est.history_, ["epoch", "train_loss", "val_loss"])
write_rows(
    snakemake.output.curve,
    ["elapsed_s", "val_r2"],
    ([p["elapsed_s"], p["val_r2"]] for p in record["curve"]),
)
est.save(snakemake.output.model)
write_json(snakemake.output.metrics, record)
log.info(
    "status %s, R² %.4f, fit %.3f s, train peak %.2f MB (%s)",
    record["status"],
    record["r2"],
    record["fit_time_s"],
    record["train_peak_mb"],
    record["memory_method"],
)
for t in record["targets"]:
    log.info(
        "target %s (validation R² %.4f): %s", t["target"], t["target_r2"], t["time_to_target_s"]
    )
