"""Snakemake script: a seeded subsample (without replacement) of a user's dataset file."""

from interp5d.data import load_dataset, save_npz, subsample
from interp5d.pipeline.logs import start_job_log

snakemake = globals()["snakemake"]
log = start_job_log(snakemake.log[0])
n, seed = int(snakemake.wildcards.n), int(snakemake.wildcards.seed)
full = load_dataset(snakemake.input.source, **snakemake.params.settings)
ds = subsample(full, n, seed)
ds.meta.update(dataset=snakemake.wildcards.dataset, n_samples=n, seed=seed)
save_npz(snakemake.output.data, ds)
log.info("wrote %s: %d of %d rows of %s", snakemake.output.data, n, len(full), full.meta["source"])
