# interp5d-bench: training time, memory and accuracy of a 5-D MLP interpolator vs data size.
from snakemake.utils import min_version

min_version("9.0")


configfile: "config.yaml"


include: "workflow/rules/common.smk"


# the front page with this run's findings once rule front_page has written it
report: report_front_page()


include: "workflow/rules/data.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/aggregate.smk"
include: "workflow/rules/plots.smk"
include: "workflow/rules/predict.smk"


# The run archive (results/archive) is written by the compare_previous job (aggregate.smk).
rule all:
    default_target: True
    input:
        all_outputs(),
