"""Snakemake script: this run against the newest archived run (the last completed study
whose tables differ from it), as Markdown; then this run archived, when its tables differ
from that record's. The archive is read as it is when the job runs, an input Snakemake
does not track: the comparison follows this run's tables.

Archiving here, in a job, rather than in the Snakefile's `onsuccess:` hook: a run killed
after its last job, or whose archiving failed, then has this job to redo (Snakemake marks
its output incomplete, or removes it), where a hook would never run again ("Nothing to be
done"). The comparison is written first, so that a cut between the two redoes both against
the same earlier record."""

from pathlib import Path

from interp5d.pipeline.logs import start_job_log
from interp5d.repro.archive import archive_run, archives
from interp5d.repro.compare import Run, report

snakemake = globals()["snakemake"]
log = start_job_log(snakemake.log[0])
results = Path(snakemake.input.runs).parent
here = Run.read(results)
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
folder = archive_run(results, snakemake.params.archive)
if folder is None:
    log.info("the tables equal the last archived run's: nothing archived")
else:
    log.info("archived this run as %s", folder)
    print(f"archived this run as {folder}")  # on the console, as the hook printed it
