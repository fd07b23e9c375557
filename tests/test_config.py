import copy
from dataclasses import replace

import pytest
import yaml
from interp5d.pipeline.config import ConfigError, check_config, schema_problem
from interp5d.recipes import RECIPES, Recipe

from .conftest import REPO


@pytest.fixture
def config():
    return yaml.safe_load((REPO / "config.yaml").read_text())


def test_default_config_passes_and_spells_out_the_shipped_recipes(config):
    check_config(config)
    for name in ("seed", "tuned"):
        assert Recipe.from_dict(config["recipes"][name]) == RECIPES[name]
        assert set(config["recipes"][name]) == set(RECIPES[name].to_dict())


def test_the_uncertainty_study_ensemble_is_the_tuned_recipe_five_times():
    # a copy of the tuned settings in another file: it must follow the recipe when it moves
    study = yaml.safe_load((REPO / "config/uncertainty.yaml").read_text())
    ensemble = Recipe.from_dict(study["recipes"]["tuned_x5"])
    assert ensemble == replace(RECIPES["tuned"], members=5)


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda c: c.update(functions=["nope"]), "functions: unknown function 'nope'; allowed: "),
        (lambda c: c["split"].update(val=0.2), "split: train + val + test must sum to 1"),
        (lambda c: c.update(sizes=[5]), "sizes: 5 rows are too few for the split"),
        (lambda c: c["recipes"]["seed"].update(hidden=[]), "recipes.seed: invalid recipe: hidden"),
        (
            lambda c: c["recipes"]["tuned"].update(min_lr=1.0),
            "recipes.tuned: invalid recipe: min_lr",
        ),
    ],
)
def test_semantic_errors_name_the_key(config, change, message):
    bad = copy.deepcopy(config)
    change(bad)
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace("+", r"\+")):
        check_config(bad)


def test_baseline_settings_and_prediction_choices_are_checked(config, tmp_path):
    pts = tmp_path / "p.csv"
    pts.write_text("a,b,c,d,e\n0.1,0.2,0.3,0.4,0.5\n")
    bad = copy.deepcopy(config)
    bad["baselines"] = {"rbf": {}}
    bad["recipes"]["ols"] = {}
    bad["split"] = {"train": 0.85, "val": 0.0, "test": 0.15}
    bad["predictions"] = {
        "p": {"dataset": "synthetic5d", "n": 1234, "method": "knn", "seed": 7, "points": str(pts)}
    }
    with pytest.raises(ConfigError) as err:
        check_config(bad)
    msg = str(err.value)
    assert "recipes.ols: the name is taken by a baseline method; rename it" in msg
    assert "baselines.rbf: chooses its smoothing on the validation split; split.val is 0" in msg
    assert (
        "predictions.p.method: unknown method 'knn'; allowed: ['ols', 'rbf', 'seed', 'tuned']"
        in msg
    )
    assert "predictions.p.n: 1234 is not a size of 'synthetic5d' in this study" in msg
    assert "predictions.p.seed: 7 is not a seed of this study; allowed: [42, 43, 44]" in msg


def test_every_config_key_is_described_in_config_readme():
    schema = yaml.safe_load((REPO / "workflow/schemas/config.schema.yaml").read_text())
    text = (REPO / "config/README.md").read_text()
    props = schema["properties"]
    keys = set(props) | set(schema["$defs"]["recipe"]["properties"])
    keys |= set(props["datasets"]["additionalProperties"]["properties"])
    keys |= {f"targets.{k}" for k in props["targets"]["properties"]}
    keys |= {
        f"predictions.NAME.{k}" for k in props["predictions"]["additionalProperties"]["properties"]
    }
    keys |= {f"plots.{k}" for k in props["plots"]["properties"]}
    for method, entry in props["baselines"]["properties"].items():
        keys |= {method, *entry.get("properties", {})}
    missing = sorted(k for k in keys if f"`{k}`" not in text)
    assert not missing, f"config/README.md does not describe {missing}"


def test_named_query_columns_for_an_unnamed_model_are_noted(config, tmp_path):
    # a synthetic function's model has no feature names: a CSV's columns go in file order
    pts = tmp_path / "p.csv"
    pts.write_text("e,d,c,b,a\n0.1,0.2,0.3,0.4,0.5\n")
    cfg = copy.deepcopy(config)
    cfg["predictions"] = {
        "p": {
            "dataset": "synthetic5d",
            "n": 1000,
            "method": "tuned",
            "seed": 42,
            "points": str(pts),
        }
    }
    assert check_config(cfg) == [
        "predictions.p.points: the model of 'synthetic5d' has no feature names, so the file's "
        "columns ['e', 'd', 'c', 'b', 'a'] are taken in that order"
    ]
    assert check_config(config) == []


def config_problem(config) -> str:
    """What the workflow says of a config at start-up: the schema's one line (as
    workflow/rules/common.smk words it), else check_config's; "" when it passes."""
    from snakemake.exceptions import WorkflowError
    from snakemake.utils import validate

    try:
        validate(config, str(REPO / "workflow/schemas/config.schema.yaml"))
    except WorkflowError as e:
        return f"invalid config: {schema_problem(e.__context__)}"
    try:
        check_config(config)
    except ConfigError as e:
        return str(e)
    return ""


@pytest.mark.parametrize(
    "change, message",
    [
        # each was accepted, then failed inside a job (numpy's allocation, torch's seed) or
        # gave a target no run can reach
        (
            lambda c: c.update(sizes=[1000, 10**12]),
            "sizes: 1000000000000 rows need at least 50.9 TiB of memory (56 bytes a row",
        ),
        (
            lambda c: c.update(seeds=[42, 2**64]),
            "seeds.1: 18446744073709551616 is greater than the maximum of 4294967295",
        ),
        (lambda c: c.update(seeds=[2**32]), "seeds.0: 4294967296 is greater than the maximum"),
        (
            lambda c: c["targets"].update(r2=[-0.5, 0.9]),
            "targets.r2.0: -0.5 is less than or equal to the minimum of 0",
        ),
        (
            lambda c: c["targets"].update(r2=[0.9, 1.0]),
            "targets.r2.1: 1.0 is greater than or equal to the maximum of 1",
        ),
        (
            lambda c: c["targets"].update(below_ceiling=[0.01, 2.0]),
            "targets.below_ceiling.1: 2.0 is greater than or equal to the maximum of 1",
        ),
        (
            lambda c: c.update(datasets={"mine": {"path": "x.npz", "targets": [0.0]}}),
            "datasets.mine.targets.0: 0.0 is less than or equal to the minimum of 0",
        ),
        (
            lambda c: c.update(
                predictions={
                    "p": {
                        "dataset": "synthetic5d",
                        "n": 1000,
                        "method": "seed",
                        "seed": 2**64,
                        "points": "p.csv",
                    }
                }
            ),
            "predictions.p.seed: 18446744073709551616 is greater than the maximum of 4294967295",
        ),
    ],
)
def test_out_of_range_values_are_refused_in_one_line_naming_the_key(config, change, message):
    bad = copy.deepcopy(config)
    change(bad)
    problem = config_problem(bad)
    # the key first, on a line of its own (under "invalid config:" for check_config's)
    assert message in problem and len(problem.splitlines()) <= 2, problem


def test_the_largest_sizes_that_fit_pass(config):
    # the scaling study's million rows, and the bounds themselves
    assert config_problem({**config, "sizes": [1000, 1_000_000]}) == ""
    assert config_problem({**config, "seeds": [0, 2**32 - 1]}) == ""
    assert config_problem({**config, "targets": {"below_ceiling": [0.5], "r2": [0.01]}}) == ""
