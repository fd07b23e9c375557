"""Snakemake script: the effective config of the study (config.yaml, the --configfile files
over it and the schema's defaults), for the run archive and `python -m interp5d compare`."""

from interp5d.jsonio import write_json
from interp5d.pipeline.logs import start_job_log

snakemake = globals()["snakemake"]
start_job_log(snakemake.log[0])
write_json(snakemake.output.json, snakemake.params.config)
