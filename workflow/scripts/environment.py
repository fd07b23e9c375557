"""Snakemake script: record the machine and software the study ran on."""

import json

from interp5d.logs import start_job_log
from interp5d.provenance import environment_record

snakemake = globals()["snakemake"]
start_job_log(snakemake.log[0])
record = environment_record(
    torch_threads=snakemake.params.settings["threads"], cwd=snakemake.params.settings["repo"]
)
with open(snakemake.output.json, "w") as fh:
    json.dump(record, fh, indent=2)
