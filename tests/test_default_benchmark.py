"""benchmarks/default.py: the default against the samples study's best, and the cells it
missed with its GP on a subset fitted again on every training row."""

import pandas as pd
import pytest

from .conftest import load_benchmark


def test_accuracy_rows_fit_the_default_with_the_settings_given():
    default = load_benchmark("default")
    rows = default.accuracy_rows(["styblinski_tang"], [100], [42])
    (row,) = rows.to_dict("records")
    assert (row["function"], row["n"], row["chose"]) == ("styblinski_tang", 100, "gp 1")
    # the best method is the samples study's reference on the same seed
    assert row["best"] is not None and row["ratio"] == row["mse"] / row["best_mse"]
    with pytest.raises(ValueError, match="gp_rows must be"):  # the settings reach it
        default.accuracy_rows(["styblinski_tang"], [100], [42], gp_rows=0)


def test_only_misses_above_gp_rows_are_fitted_again_on_every_row(monkeypatch):
    default = load_benchmark("default")
    calls = []

    def fake(functions, sizes, seeds, **settings):
        calls.append((functions, sizes, seeds, settings))
        return pd.DataFrame([{"function": functions[0], "n": sizes[0]}])

    monkeypatch.setattr(default, "accuracy_rows", fake)
    table = pd.DataFrame(
        [
            # missed, 7,000 training rows: more than gp_rows
            {"function": "tp_tanh", "n": 10000, "ratio": 8.0, "target": 1.25},
            # missed, 2,100 rows: every row was solved already
            {"function": "synthetic5d", "n": 3000, "ratio": 2.0, "target": 1.25},
            # met
            {"function": "rosenbrock", "n": 10000, "ratio": 0.1, "target": 1.25},
        ]
    )
    out = default.all_rows(table, [42, 43])
    assert calls == [(["tp_tanh"], [10000], [42, 43], {"gp_rows": 8000})]
    assert out.to_dict("records") == [{"function": "tp_tanh", "n": 10000}]
    assert default.all_rows(table.iloc[1:], [42]) is None
