# interp5d-bench: training time, memory and accuracy of a 5-D MLP interpolator vs data size.
from snakemake.utils import min_version

min_version("9.0")


configfile: "config.yaml"


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/aggregate.smk"
include: "workflow/rules/plots.smk"
include: "workflow/rules/predict.smk"


rule all:
    default_target: True
    input:
        all_outputs(),


onsuccess:
    # a small, immutable record of the study when its tables changed (results/archive)
    from interp5d.archive import archive_run

    folder = archive_run("results")
    if folder is not None:
        print(f"archived this run as {folder}")
