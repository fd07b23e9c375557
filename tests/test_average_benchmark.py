"""benchmarks/average.py compares validating the weights' moving average with validating the
weights themselves: its record of when each level was reached must be the monitor's."""

import pytest

from .conftest import load_benchmark


@pytest.fixture(scope="module")
def average_benchmark():
    return load_benchmark("average")


def test_levels_reached_counted_in_validations_and_the_variants_differ(average_benchmark):
    from interp5d import get_function, split_indices

    X, y, _ = get_function("synthetic5d").sample(300, 1)
    tr, va, te = split_indices(300, seed=1)
    runs = [average_benchmark.fit(X, y, tr, va, te, 1, d, [-1.0, 2.0]) for d in (0.9, 0.0)]
    for r in runs:
        validations, seconds = r[-1.0]  # any R² is above -1: the first validation
        assert validations == 1 and seconds > 0
        assert r[2.0] is None  # an R² above 1 is never reached
    assert runs[0]["r2"] != runs[1]["r2"]  # the average is what is returned and scored
    assert average_benchmark.median_of([None, (3, 0.5), (5, 0.7)], 0) == "4"
    assert average_benchmark.median_of([None, None], 1) == "never"
