"""Snakemake script: one table of all runs, statistics per size, and the markdown tables."""

from interp5d.logs import start_job_log
from interp5d.summary import by_size, markdown, read_runs

snakemake = globals()["snakemake"]
log = start_job_log(snakemake.log[0])
runs = read_runs(snakemake.input.metrics, snakemake.input.benchmarks)
stats = by_size(runs)
runs.to_csv(snakemake.output.runs, index=False)
stats.to_csv(snakemake.output.by_size, index=False)
methods = ", ".join(sorted(runs["memory_method"].dropna().unique()))
with open(snakemake.output.md, "w") as fh:
    fh.write(markdown(stats, memory_method=methods))
log.info(
    "aggregated %d runs into %d rows; %d diverged",
    len(runs),
    len(stats),
    int((runs["status"] == "diverged").sum()),
)
