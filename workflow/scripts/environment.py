"""Snakemake script: record the machine and software the study ran on."""

from interp5d.jsonio import write_json
from interp5d.logs import start_job_log
from interp5d.provenance import environment_record

snakemake = globals()["snakemake"]
start_job_log(snakemake.log[0])
record = environment_record(
    torch_threads=snakemake.params.settings["threads"], cwd=snakemake.params.settings["repo"]
)
write_json(snakemake.output.json, record)
