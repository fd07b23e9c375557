"""Snakemake script: draw one synthetic dataset by its sampling plan and write it as .npz."""

from interp5d.data import Dataset, save_npz
from interp5d.functions import get_function
from interp5d.pipeline.logs import start_job_log

snakemake = globals()["snakemake"]
log = start_job_log(snakemake.log[0])
settings = snakemake.params.settings
fn = get_function(settings["function"])
n, seed = int(snakemake.wildcards.n), int(snakemake.wildcards.seed)
X, y, f = fn.sample(n, seed, plan=settings["plan"])
meta = {
    "function": fn.name,
    "sampling": settings["plan"],
    "n_samples": n,
    "seed": seed,
    "noise": fn.noise,
    "domain": [fn.low, fn.high],
    "description": fn.description,
}
save_npz(snakemake.output.data, Dataset(X, y, f, meta))
log.info(
    "wrote %s: %d samples of %s by plan %s (noise sigma %g)",
    snakemake.output.data,
    n,
    fn.name,
    settings["plan"],
    fn.noise,
)
