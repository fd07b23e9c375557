"""Snakemake script: the effective config of the run (schema defaults filled in)."""

import yaml
from interp5d.logs import start_job_log

snakemake = globals()["snakemake"]
start_job_log(snakemake.log[0])
with open(snakemake.output.yaml, "w") as fh:
    yaml.safe_dump(dict(snakemake.params.settings), fh, sort_keys=False)
