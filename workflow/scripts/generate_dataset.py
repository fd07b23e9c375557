"""Snakemake script: draw one synthetic dataset and write it as .npz."""

from interp5d.data import Dataset, save_npz
from interp5d.functions import get_function
from interp5d.logs import start_job_log

snakemake = globals()["snakemake"]
log = start_job_log(snakemake.log[0])
fn = get_function(snakemake.wildcards.dataset)
n, seed = int(snakemake.wildcards.n), int(snakemake.wildcards.seed)
X, y, f = fn.sample(n, seed)
meta = {
    "function": fn.name,
    "n_samples": n,
    "seed": seed,
    "noise": fn.noise,
    "domain": [fn.low, fn.high],
    "description": fn.description,
}
save_npz(snakemake.output.data, Dataset(X, y, f, meta))
log.info("wrote %s: %d samples of %s (noise sigma %g)", snakemake.output.data, n, fn.name, fn.noise)
