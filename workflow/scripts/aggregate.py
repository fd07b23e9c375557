"""Snakemake script: one table of all runs, statistics per size, time and samples to quality
per target, which method at each size, and the markdown tables."""

import json

from interp5d.pipeline.logs import start_job_log
from interp5d.report.samples import (
    error_ratio_markdown,
    samples_markdown,
    samples_to_quality,
    which_markdown,
    which_method,
)
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
samples = samples_to_quality(runs, targets)
which = which_method(stats)
samples.to_csv(snakemake.output.samples_to_quality, index=False)
which.to_csv(snakemake.output.which_method, index=False)
methods = ", ".join(sorted(runs["memory_method"].dropna().unique()))
with open(snakemake.output.md, "w") as fh:
    fh.write(markdown(stats, memory_method=methods, targets=target_stats))
    extra = samples_markdown(samples) + which_markdown(which) + error_ratio_markdown(stats)
    if extra:
        fh.write("\n".join(extra) + "\n")
log.info(
    "aggregated %d runs into %d rows; %d diverged; %d of %d run targets reached",
    len(runs),
    len(stats),
    int((runs["status"] == "diverged").sum()),
    int(targets["reached"].sum()),
    len(targets),
)
