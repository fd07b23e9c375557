"""Snakemake script: predictions of one trained model for a file of query points."""

from interp5d.pipeline.logs import start_job_log
from interp5d.predict import nonfinite_note, predict_file

snakemake = globals()["snakemake"]
log = start_job_log(snakemake.log[0])
frame = predict_file(snakemake.input.model, snakemake.input.points, snakemake.output.csv)
log.info(
    "predicted %d points with %s; %d outside the training range",
    len(frame),
    snakemake.input.model,
    int(frame["out_of_range"].sum()),
)
note = nonfinite_note(frame, snakemake.input.points)
if note:
    log.warning("%s", note)
