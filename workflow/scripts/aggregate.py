"""Snakemake script: one table of all runs, statistics per size, time to quality per
target, and the markdown tables."""

import json

from interp5d.pipeline.logs import start_job_log
from interp5d.report.summary import by_size, markdown, read_runs, read_targets, targets_by_size

snakemake = globals()["snakemake"]
log = start_job_log(snakemake.log[0])
with open(snakemake.input.environment) as fh:
    environment = json.load(fh)
runs = read_runs(snakemake.input.metrics, snakemake.input.benchmarks, environment)
stats = by_size(runs)
targets = read_targets(snakemake.input.metrics)
target_stats = targets_by_size(targets)
runs.to_csv(snakemake.output.runs, index=False)
stats.to_csv(snakemake.output.by_size, index=False)
targets.to_csv(snakemake.output.targets, index=False)
target_stats.to_csv(snakemake.output.targets_by_size, index=False)
methods = ", ".join(sorted(runs["memory_method"].dropna().unique()))
with open(snakemake.output.md, "w") as fh:
    fh.write(markdown(stats, memory_method=methods, targets=target_stats))
log.info(
    "aggregated %d runs into %d rows; %d diverged; %d of %d run targets reached",
    len(runs),
    len(stats),
    int((runs["status"] == "diverged").sum()),
    int(targets["reached"].sum()),
    len(targets),
)
