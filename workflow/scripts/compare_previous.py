"""Snakemake script: this run against the newest archived run (the last completed study
whose tables differ from it), as Markdown. The archive is read as it is when the job runs,
an input Snakemake does not track: the comparison follows this run's tables."""

from pathlib import Path

from interp5d.archive import archives
from interp5d.compare import Run, report
from interp5d.logs import start_job_log

snakemake = globals()["snakemake"]
log = start_job_log(snakemake.log[0])
here = Run.read(Path(snakemake.input.runs).parent)
earlier = archives(snakemake.params.archive)
if earlier:
    text, table = report(Run.read(earlier[-1]), here)
    log.info("compared with %s", earlier[-1])
else:
    text = (
        "# Comparison of two runs\n\nNo earlier run is archived yet: each completed study "
        f"leaves a record under `{snakemake.params.archive}/`, and the next run is compared "
        "with it.\n"
    )
Path(snakemake.output.md).write_text(text)
