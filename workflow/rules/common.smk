import sys
from pathlib import Path

# the interp5d module, for the config check below (scripts find it on their own)
sys.path.insert(0, str(Path(workflow.basedir) / "workflow" / "scripts"))

from interp5d.config import (
    ConfigError,
    check_config,
    dataset_options,
    sources,
    split_fractions,
)
from interp5d.data import split_sizes
from interp5d.plots_names import FIGURE_NAMES
from interp5d.baselines_names import BASELINE_DEFAULTS

try:
    check_config(config)
except ConfigError as e:
    raise WorkflowError(str(e)) from None


# Light steps run on the submitting host even with a cluster executor.
localrules:
    all,
    aggregate,
    environment,
    plot_summary,
    plot_learning_curves,


wildcard_constraints:
    function="[A-Za-z0-9_]+",
    recipe="[A-Za-z0-9_-]+",
    n="[0-9]+",
    seed="[0-9]+",
    figure="|".join(FIGURE_NAMES),


ENV = "../../envs/interp5d.yaml"
RUN = "{function}/{recipe}/n{n}_seed{seed}"


def module_files(*names):
    """Source files of interp5d that a rule's script uses: editing one reruns the rule."""
    return [
        workflow.source_path(f"../scripts/interp5d/{name}.py")
        for name in ("__init__", "logs", *names)
    ]


def run_keys(methods=None):
    """One dict of wildcards per run in the study: every dataset (functions and files)
    x size x recipe (or baseline method) x seed."""
    methods = config["recipes"] if methods is None else methods
    return [
        dict(function=fn, recipe=r, n=n, seed=s)
        for fn, sizes in sources(config).items()
        for r in methods
        for n in sizes
        if r not in config["baselines"] or baseline_fits(r, n)
        for s in config["seeds"]
    ]


def baseline_fits(method, n):
    """RBF's dense system grows as n²: sizes past its max_rows are left out."""
    max_rows = baseline_settings(method).get("max_rows")
    return max_rows is None or split_sizes(n, split_fractions(config))[0] <= max_rows


def baseline_settings(method):
    return {**BASELINE_DEFAULTS[method], **(config["baselines"][method] or {})}


def all_run_keys():
    return run_keys([*config["recipes"], *config["baselines"]])


def name_pattern(names):
    """A wildcard constraint matching exactly these names (nothing when there are none)."""
    return "|".join(names) or "(?!)"


def dataset_file(wildcards):
    return config["datasets"][wildcards.function]["path"]


def dataset_settings(wildcards):
    """The config subtree a subsampling job depends on."""
    return dataset_options(config["datasets"][wildcards.function])


def prediction_model(wildcards):
    p = config["predictions"][wildcards.name]
    return (
        f"results/runs/{p['dataset']}/{p['recipe']}/n{p['n']}_seed{p['seed']}/model.pt"
    )


def prediction_points(wildcards):
    return config["predictions"][wildcards.name]["points"]


def run_files(name, keys=None):
    return [f"results/runs/{RUN}/{name}".format(**k) for k in (keys or all_run_keys())]


def run_benchmarks():
    """The Snakemake benchmark file of each run, in the order of run_files."""
    return [
        "results/benchmarks/{step}/{run}.tsv".format(
            step=(
                "baseline_profile"
                if k["recipe"] in config["baselines"]
                else "train_profile"
            ),
            run=RUN.format(**k),
        )
        for k in all_run_keys()
    ]


def first_seed_keys():
    return [k for k in run_keys() if k["seed"] == config["seeds"][0]]


def baseline_job_settings(wildcards):
    """The config subtree a baseline job depends on."""
    return {
        "method": wildcards.recipe,
        "options": baseline_settings(wildcards.recipe),
        "split": config["split"],
        "threads": config["threads"],
    }


def train_settings(wildcards):
    """The config subtree a training job depends on (compared by value on reruns).
    log_every_s is left out on purpose: the script reads it from the config, untracked,
    since the log's rate changes no result."""
    return {
        "recipe": config["recipes"][wildcards.recipe],
        "split": config["split"],
        "threads": config["threads"],
    }


def all_outputs():
    return [
        "results/summary.csv",
        "results/summary_by_size.csv",
        "results/summary.md",
        "results/environment.json",
        *[f"results/predictions/{name}.csv" for name in config["predictions"]],
        "figures/learning_curves.png",
        *[f"figures/{name}.png" for name in FIGURE_NAMES],
    ]
