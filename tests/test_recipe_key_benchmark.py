"""benchmarks/recipe_key.py compares the tuned recipe with one key changed: its record of
when each level was reached must be the monitor's, and the key must reach the fit."""

import pytest

from .conftest import load_benchmark


@pytest.fixture(scope="module")
def recipe_key_benchmark():
    return load_benchmark("recipe_key")


@pytest.mark.parametrize(("key", "values"), [("ema_decay", (0.9, 0.0)), ("init_scale", (3, 1))])
def test_levels_reached_counted_in_validations_and_the_values_differ(
    recipe_key_benchmark, key, values
):
    from interp5d import get_function, split_indices

    X, y, _ = get_function("synthetic5d").sample(300, 1)
    tr, va, te = split_indices(300, seed=1)
    runs = [recipe_key_benchmark.fit(X, y, tr, va, te, 1, key, v, [-1.0, 2.0]) for v in values]
    for r in runs:
        validations, seconds = r[-1.0]  # any R² is above -1: the first validation
        assert validations == 1 and seconds > 0
        assert r[2.0] is None  # an R² above 1 is never reached
    assert runs[0]["r2"] != runs[1]["r2"]  # the key changed what was fitted and scored


def test_median_and_label(recipe_key_benchmark):
    assert recipe_key_benchmark.median_of([None, (3, 0.5), (5, 0.7)], 0) == "4"
    assert recipe_key_benchmark.median_of([None, None], 1) == "never"
    assert recipe_key_benchmark.label("ema_decay", 0.9) == "ema_decay 0.9 (shipped)"
    assert recipe_key_benchmark.label("init_scale", 1.0) == "init_scale 1"
