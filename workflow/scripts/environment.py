"""Snakemake script: record the machine and software the study ran on, and this machine's
matrix-product rate for the study's training-step shapes (the roofline)."""

from interp5d.bench.provenance import environment_record
from interp5d.bench.roofline import roofline
from interp5d.jsonio import write_json
from interp5d.pipeline.logs import start_job_log

snakemake = globals()["snakemake"]
start_job_log(snakemake.log[0])
settings = snakemake.params.settings
record = environment_record(torch_threads=settings["threads"], cwd=settings["repo"])
record["roofline"] = roofline(settings["shapes"], settings["threads"])
write_json(snakemake.output.json, record)
