import sys
from pathlib import Path

import jsonschema

# the interp5d module, for the config check below (scripts find it on their own)
sys.path.insert(0, str(Path(workflow.basedir) / "workflow" / "scripts"))

from snakemake.logging import logger
from snakemake.utils import validate

from interp5d.pipeline.codegraph import closure
from interp5d.pipeline.config import (
    ConfigError,
    check_config,
    dataset_options,
    method_spec,
    schema_problem,
    sources,
    split_fractions,
    synthetic_datasets,
    target_spec,
)
from interp5d.data import split_sizes
from interp5d.methods import method_module
from interp5d.recipes import get_recipe
from interp5d.training.engines import engine_module
from interp5d.report.plots_names import FIGURE_NAMES
from interp5d.bench.roofline_sizes import roofline_shapes
from interp5d.bench.harness import MLP_VIEW

# a baseline switched on with no settings (`ols:` in YAML) takes its defaults
if isinstance(config.get("baselines"), dict):
    config["baselines"] = {k: v or {} for k, v in config["baselines"].items()}

try:
    validate(config, "../schemas/config.schema.yaml")  # and fills in the defaults
except WorkflowError as e:
    # only a schema violation is the config's fault: anything else as it is
    if not isinstance(e.__context__, jsonschema.ValidationError):
        raise
    # the key and the problem, not the schema and config that Snakemake's message prints
    raise WorkflowError(f"invalid config: {schema_problem(e.__context__)}") from None

try:
    for note in check_config(config):
        logger.warning(f"note: {note}")
except ConfigError as e:
    raise WorkflowError(str(e)) from None


# Light steps run on the submitting host even with a cluster executor.
localrules:
    all,
    aggregate,
    environment,
    plot_summary,
    plot_learning_curves,
    plot_time_to_quality,
    config_record,
    compare_previous,
    table_html,


wildcard_constraints:
    dataset="[A-Za-z0-9_]+",
    method="[A-Za-z0-9_-]+",
    n="[0-9]+",
    seed="[0-9]+",
    figure="|".join(FIGURE_NAMES),
    category="[A-Za-z]+",
    table="[A-Za-z0-9_-]+",


ENV = "../../envs/interp5d.yaml"
RUN = "{dataset}/{method}/n{n}_seed{seed}"
METHODS = [*config["recipes"], *config["baselines"]]


def tracked_code(script, *modules):
    """The interp5d files a rule's script imports, transitively (read from the code), plus
    those of `modules`: editing any of them reruns the rule's jobs, and no other edit does.
    """
    path = Path(workflow.basedir) / "workflow" / "scripts" / script
    return [str(p) for p in closure([path], modules)]


# the engine whose matrix products the roofline times, loaded by its registry name
ROOFLINE_ENGINE = engine_module("native")


def method_code(wildcards):
    """The training script's code, that of this job's method class and, for a recipe, the
    modules it loads by name: its engine, the native one (whose products the paired
    roofline times) and the harness's view of the MLP."""
    spec = method_spec(config, wildcards.method)
    modules = [method_module(spec["class"])]
    if spec["kind"] == "recipe":
        engine = engine_module(get_recipe(spec["settings"]).engine)
        modules += [engine, ROOFLINE_ENGINE, MLP_VIEW]
    return tracked_code("train_profile.py", *modules)


def run_keys(methods=None):
    """One dict of wildcards per run in the study: every dataset (functions and files)
    x size x method (recipes, then baselines) x seed."""
    return [
        dict(dataset=ds, method=m, n=n, seed=s)
        for ds, sizes in sources(config).items()
        for m in (METHODS if methods is None else methods)
        for n in sizes
        if fits(m, n)
        for s in seeds_at(n)
    ]


def seeds_at(n):
    """The seeds of size n: `seeds`, and `extra_seeds` where n is small enough for them."""
    extra = config.get("extra_seeds") or {"up_to": 0, "seeds": []}
    more = extra["seeds"] if n <= extra["up_to"] else []
    return list(dict.fromkeys([*config["seeds"], *more]))


def fits(method, n):
    """Methods whose dense system grows as n² or n³ take at most max_rows training rows
    (a GP with solve_rows: solves on at most that many, whatever the training split)."""
    settings = method_spec(config, method)["settings"]
    rows = split_sizes(n, split_fractions(config))[0]
    if settings.get("solve_rows") is not None:
        rows = min(rows, settings["solve_rows"])
    return settings.get("max_rows") is None or rows <= settings["max_rows"]


def training_rows():
    """The training-split sizes of the study's datasets."""
    sizes = {n for s in sources(config).values() for n in s}
    return sorted(split_sizes(n, split_fractions(config))[0] for n in sizes)


def name_pattern(names):
    """A wildcard constraint matching exactly these names (nothing when there are none)."""
    return "|".join(names) or "(?!)"


def dataset_file(wildcards):
    return config["datasets"][wildcards.dataset]["path"]


def dataset_settings(wildcards):
    """The config subtree a subsampling job depends on."""
    return dataset_options(config["datasets"][wildcards.dataset])


def prediction_model(wildcards):
    p = config["predictions"][wildcards.name]
    return (
        f"results/runs/{p['dataset']}/{p['method']}/n{p['n']}_seed{p['seed']}/model.pt"
    )


def prediction_code(wildcards):
    spec = method_spec(config, config["predictions"][wildcards.name]["method"])
    return tracked_code("predict.py", method_module(spec["class"]))


def prediction_points(wildcards):
    return config["predictions"][wildcards.name]["points"]


def run_files(name, keys=None):
    return [f"results/runs/{RUN}/{name}".format(**k) for k in (keys or run_keys())]


def run_benchmarks():
    """The Snakemake benchmark file of each run, in the order of run_files."""
    return [
        f"results/benchmarks/train_profile/{RUN}.tsv".format(**k) for k in run_keys()
    ]


def first_seed_keys():
    """The recipes' runs of the first seed (their learning curves are plotted)."""
    return [k for k in run_keys(config["recipes"]) if k["seed"] == config["seeds"][0]]


def train_settings(wildcards):
    """The config subtree a training job depends on (compared by value on reruns).
    log_every_s is left out on purpose: the script reads it from the config, untracked,
    since the log's rate changes no result."""
    return {
        "method": method_spec(config, wildcards.method),
        "split": config["split"],
        "threads": config["threads"],
        "targets": target_spec(config, wildcards.dataset),
        "measure_throughput": measures_throughput(wildcards),
    }


def measures_throughput(wildcards):
    """Whether the run measures throughput on 100,000 points: every run, or only its method
    and size's first seed where the config asks for it once (the others record none)."""
    once = config.get("throughput", "every_seed") == "first_seed"
    return not once or int(wildcards.seed) == seeds_at(int(wildcards.n))[0]


# the tables the report shows, as HTML pages: (category, name) -> the file they render
REPORT_TABLES = {
    ("Tables", "seed_study_tables"): "results/summary.md",
    ("Tables", "every_run"): "results/summary.csv",
    ("Tables", "statistics_per_size"): "results/summary_by_size.csv",
    ("Tables", "time_to_each_target"): "results/targets.csv",
    ("Tables", "time_to_quality"): "results/targets_by_size.csv",
    ("Tables", "samples_to_quality"): "results/samples_to_quality.csv",
    ("Tables", "which_method_for_my_data"): "results/which_method.csv",
    ("Environment", "machine_software_roofline"): "results/environment.json",
    ("Reproduction", "against_the_last_archived_run"): "results/comparison.md",
    **{
        ("Predictions", name): f"results/predictions/{name}.csv"
        for name in config["predictions"]
    },
}


def report_table_source(wildcards):
    return REPORT_TABLES[(wildcards.category, wildcards.table)]


FRONT_PAGE = "results/report/front.rst"


def report_front_page():
    """The report's front page: the one written from this run's tables (rule front_page)
    once there is one, else the bare description."""
    return FRONT_PAGE if Path(FRONT_PAGE).exists() else "workflow/report/workflow.rst"


def all_outputs():
    return [
        FRONT_PAGE,
        "results/summary.csv",
        "results/summary_by_size.csv",
        "results/summary.md",
        "results/targets.csv",
        "results/targets_by_size.csv",
        "results/samples_to_quality.csv",
        "results/which_method.csv",
        "results/environment.json",
        "results/config.json",
        "results/comparison.md",
        "figures/time_to_quality_vs_dataset_size.png",
        *[f"results/predictions/{name}.csv" for name in config["predictions"]],
        "figures/learning_curves.png",
        *[f"figures/{name}.png" for name in FIGURE_NAMES],
        *[f"results/report/{c}/{t}.html" for c, t in REPORT_TABLES],
    ]
