"""Checks of the workflow's config beyond its JSON schema, before any job starts."""

from __future__ import annotations

import os
from typing import Any

from interp5d.data import DataError, load_dataset, load_points, query_columns, split_sizes
from interp5d.functions import FUNCTIONS
from interp5d.methods import BASELINES
from interp5d.recipes import Recipe


class ConfigError(ValueError):
    pass


# The least memory a synthetic dataset's row takes in a job: its 5 inputs, target and
# noise-free value as float64, the arrays generate_dataset draws and every training job
# loads whole (the job's split copies, tensors and activations come on top). A size past
# memory at this rate can never run: numpy would fail inside the job ("Unable to allocate").
DATASET_BYTES_PER_ROW = 7 * 8


def machine_memory() -> int | None:
    """This machine's physical memory in bytes, None where the OS does not say (read
    without psutil or torch: the Snakefile imports this module to parse the workflow)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return None


def _bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:.1f} {unit}"
        n /= 1024
    raise AssertionError("unreachable")


def memory_problems(sizes: list[int], memory: int | None) -> list[str]:
    """One line for each size whose dataset alone would not fit in `memory` bytes."""
    if memory is None:
        return []
    most = memory // DATASET_BYTES_PER_ROW
    return [
        f"sizes: {n} rows need at least {_bytes(n * DATASET_BYTES_PER_ROW)} of memory "
        f"({DATASET_BYTES_PER_ROW} bytes a row: the dataset's inputs, target and noise-free "
        f"value in float64), more than this machine's {_bytes(memory)}; at most {most:,} "
        "rows fit"
        for n in sorted(sizes)
        if n > most
    ]


def schema_problem(error: Exception) -> str:
    """One line for a JSON-schema validation error: the key's dotted path and the problem,
    with the allowed keys where a key is unknown (jsonschema's own text goes on to print
    the whole schema and config)."""
    path = ".".join(str(p) for p in getattr(error, "absolute_path", []))
    text = f"{path + ': ' if path else ''}{getattr(error, 'message', error)}"
    schema = getattr(error, "schema", None)
    if getattr(error, "validator", None) == "additionalProperties" and "properties" in schema:
        text += f"; allowed: {', '.join(sorted(schema['properties']))}"
    return text


def split_fractions(config: dict[str, Any]) -> tuple[float, float, float]:
    s = config["split"]
    return (s["train"], s["val"], s["test"])


def dataset_options(spec: dict[str, Any]) -> dict[str, Any]:
    """Keyword arguments of load_dataset for a file dataset's config entry."""
    return {
        "feature_columns": spec.get("feature_columns"),
        "target_column": spec.get("target_column"),
        "allow_pickle": spec.get("allow_pickle", False),
        "drop_nonfinite": spec.get("drop_nonfinite", False),
    }


def synthetic_datasets(config: dict[str, Any]) -> dict[str, dict[str, str]]:
    """The synthetic datasets by name: each function under each sampling plan, named for
    the function (uniform, the default) or function_plan (synthetic5d_lhs, ...)."""
    return {
        (fn if plan == "uniform" else f"{fn}_{plan}"): {"function": fn, "plan": plan}
        for fn in config["functions"]
        for plan in config.get("sampling", ["uniform"])
    }


def sources(config: dict[str, Any]) -> dict[str, list[int]]:
    """Every dataset of the study (synthetic, then files) with its sizes."""
    out = {name: list(config["sizes"]) for name in synthetic_datasets(config)}
    for name, spec in config.get("datasets", {}).items():
        out[name] = list(spec.get("sizes", config["sizes"]))
    return out


def target_spec(config: dict[str, Any], dataset: str) -> dict[str, list[float]]:
    """A dataset's quality targets (interp5d.bench.quality.TargetSpec's fields): relative to the
    noise ceiling for synthetic functions, absolute R² levels for files."""
    targets = config["targets"]
    levels = config.get("datasets", {}).get(dataset, {}).get("targets", targets["r2"])
    return {"below_ceiling": list(targets["below_ceiling"]), "levels": list(levels)}


def method_spec(config: dict[str, Any], name: str) -> dict[str, Any]:
    """What builds a method of the study (interp5d.methods.build_method): a recipe is the
    MLP with the recipe's settings, a baseline its registry class with its settings."""
    if name in config["recipes"]:
        return {"kind": "recipe", "class": "mlp", "settings": config["recipes"][name]}
    if name in config.get("baselines", {}):
        return {"kind": "baseline", "class": name, "settings": config["baselines"][name] or {}}
    raise KeyError(f"{name!r} is neither a recipe nor a baseline of this study")


def check_config(config: dict[str, Any]) -> list[str]:
    """Raise ConfigError listing every problem, each naming its key and what is allowed;
    return notes on what is allowed but may surprise (to show as warnings).

    File datasets and query-point files are opened and validated here, so a missing
    or malformed file stops the run before any job starts.
    """
    problems: list[str] = []
    notes: list[str] = []
    if not config["functions"] and not config.get("datasets"):
        problems.append(
            "functions, datasets: both empty, so there is nothing to study; name a function "
            f"({', '.join(sorted(FUNCTIONS))}) or a dataset file"
        )
    for fn in config["functions"]:
        if fn not in FUNCTIONS:
            problems.append(f"functions: unknown function {fn!r}; allowed: {sorted(FUNCTIONS)}")
    fractions = split_fractions(config)
    split_ok = abs(sum(fractions) - 1.0) <= 1e-9
    if not split_ok:
        problems.append(
            f"split: train + val + test must sum to 1, got {' + '.join(map(str, fractions))}"
            f" = {sum(fractions):g}"
        )
    for name, settings in config["recipes"].items():
        if name in BASELINES:
            problems.append(f"recipes.{name}: the name is taken by a baseline method; rename it")
        try:
            Recipe.from_dict(settings)
        except (ValueError, TypeError) as e:
            problems.append(f"recipes.{name}: {e}")
    synthetic = synthetic_datasets(config)
    feature_names: dict[str, list[str] | None] = {}  # a file dataset's, for its queries
    for name, spec in config.get("datasets", {}).items():
        key = f"datasets.{name}"
        if name in FUNCTIONS or name in synthetic:
            problems.append(f"{key}: the name is taken by a synthetic dataset; rename it")
            continue
        try:
            ds = load_dataset(spec["path"], **dataset_options(spec))
        except DataError as e:
            problems.append(f"{key}: {e}")
            continue
        rows, feature_names[name] = len(ds), ds.feature_names
        too_big = [n for n in spec.get("sizes", config["sizes"]) if n > rows]
        if too_big:
            problems.append(
                f"{key}: size(s) {too_big} exceed the {rows} usable rows of {spec['path']}; "
                f"give the dataset its own `sizes` of at most {rows}"
            )
    if split_ok:
        for name, sizes in sources(config).items():
            for n in sizes:
                try:
                    split_sizes(n, fractions)
                except DataError as e:
                    where = "sizes" if name in synthetic else f"datasets.{name}.sizes"
                    problems.append(f"{where}: {e}")
    if synthetic:
        problems += memory_problems(config["sizes"], machine_memory())
    if "rbf" in config.get("baselines", {}) and fractions[1] == 0:
        problems.append(
            "baselines.rbf: chooses its smoothing on the validation split; split.val is 0"
        )
    known = sources(config)
    for name, spec in config.get("predictions", {}).items():
        key = f"predictions.{name}"
        if spec["dataset"] not in known:
            problems.append(
                f"{key}.dataset: unknown dataset {spec['dataset']!r}; allowed: {sorted(known)}"
            )
        elif spec["n"] not in known[spec["dataset"]]:
            problems.append(
                f"{key}.n: {spec['n']} is not a size of {spec['dataset']!r} in this study; "
                f"allowed: {known[spec['dataset']]}"
            )
        if spec["seed"] not in config["seeds"]:
            problems.append(
                f"{key}.seed: {spec['seed']} is not a seed of this study; "
                f"allowed: {config['seeds']}"
            )
        methods = [*config["recipes"], *config.get("baselines", {})]
        if spec["method"] not in methods:
            problems.append(
                f"{key}.method: unknown method {spec['method']!r}; allowed: {sorted(methods)}"
            )
        try:
            # a model of named features takes a CSV's columns by name: checked here, before
            # any job runs, against the dataset's features
            given = query_columns(spec["points"])
            names = feature_names.get(spec["dataset"]) if given else None
            load_points(spec["points"], feature_columns=names)
            if given and names is None:
                notes.append(
                    f"{key}.points: the model of {spec['dataset']!r} has no feature names, so "
                    f"the file's columns {given} are taken in that order"
                )
        except DataError as e:
            problems.append(f"{key}.points: {e}")
    if problems:
        raise ConfigError("invalid config:\n  - " + "\n  - ".join(problems))
    return notes
