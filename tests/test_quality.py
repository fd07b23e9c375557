"""Time to quality: targets, the monitor, its aggregation (MLPerf's rules), the recipe's
stop at target, FLOP counts and the roofline."""

import math

import numpy as np
import pandas as pd
import pytest
from interp5d import Dataset, MLPInterpolator, build_method, get_function, profile_run
from interp5d.bench.quality import QualityMonitor, Target, TargetSpec
from interp5d.model import matmul_flops
from interp5d.recipes import Recipe
from interp5d.report.summary import olympic_mean, targets_by_size, ttt_exponents
from interp5d.training.loop import LoopPlan, runs_between


def test_target_spec_relative_to_the_ceiling_or_absolute():
    spec = TargetSpec(below_ceiling=[0.01, 0.001], levels=[0.9])
    assert spec.for_run(0.99) == [Target("ceiling-0.01", 0.98), Target("ceiling-0.001", 0.989)]
    assert spec.for_run(None) == [Target("r2-0.9", 0.9)]


def test_monitor_records_the_first_crossing_and_its_model():
    mon = QualityMonitor([Target("a", 0.5), Target("b", 0.9)])
    with pytest.raises(RuntimeError, match="before start"):
        mon.observe(0.1)
    mon.start()
    calls = []

    def snapshot(tag):
        calls.append(tag)
        return lambda X: np.full(len(X), tag)

    assert not mon.observe(0.4, lambda: snapshot(0.4))
    assert not mon.observe(0.6, lambda: snapshot(0.6))
    assert not mon.observe(0.7, lambda: snapshot(0.7))  # a: already reached, no new snapshot
    assert mon.observe(0.95, lambda: snapshot(0.95))  # every target reached now
    assert calls == [0.6, 0.95]
    times = [t for t, _ in mon.curve]
    assert times == sorted(times) and [r for _, r in mon.curve] == [0.4, 0.6, 0.7, 0.95]
    recs = {r["target"]: r for r in mon.records(lambda p: float(p(np.zeros(3))[0]))}
    assert recs["a"]["val_r2_at_target"] == 0.6 and recs["a"]["test_r2_at_target"] == 0.6
    assert recs["b"]["time_to_target_s"] == times[3] and recs["b"]["test_r2_at_target"] == 0.95
    never = QualityMonitor([Target("c", 0.99)])
    never.start()
    never.observe(0.5)
    assert never.records(lambda p: 1.0) == [
        {
            "target": "c",
            "target_r2": 0.99,
            "reached": False,
            "time_to_target_s": None,
            "val_r2_at_target": None,
            "test_r2_at_target": None,
        }
    ]


def test_olympic_mean_follows_mlperf():
    # drop the fastest and the slowest, average the rest
    assert olympic_mean(pd.Series([5.0, 1.0, 2.0, 3.0, 100.0])) == pytest.approx(10 / 3)
    # one miss counts as the slowest and is dropped; two misses: no result
    assert olympic_mean(pd.Series([1.0, 2.0, 3.0, 4.0, np.nan])) == pytest.approx(3.0)
    assert math.isnan(olympic_mean(pd.Series([1.0, 2.0, 3.0, np.nan, np.nan])))


def _targets(times_by_n):
    rows = []
    for n, times in times_by_n.items():
        for seed, t in enumerate(times):
            rows.append(
                {
                    "dataset": "d",
                    "n_samples": n,
                    "method": "m",
                    "kind": "recipe",
                    "seed": seed,
                    "target": "t",
                    "target_r2": 0.99,
                    "reached": t is not None,
                    "time_to_target_s": t,
                    "val_r2_at_target": 0.991 if t is not None else None,
                    "test_r2_at_target": 0.99 if t is not None else None,
                }
            )
    return pd.DataFrame(rows)


def test_targets_by_size_counts_misses_as_never():
    stats = targets_by_size(
        _targets({100: [1.0, 3.0, None], 1000: [None, None, 2.0], 10000: [1, 2, 3, 4, 5]})
    ).set_index("n_samples")
    assert stats.loc[100, "n_reached"] == 2 and stats.loc[100, "median_s"] == 3.0
    # a miss is never a number: with most runs missing there is no median
    assert stats.loc[1000, "n_reached"] == 1 and math.isnan(stats.loc[1000, "median_s"])
    assert math.isnan(stats.loc[100, "olympic_mean_s"])  # fewer than 5 runs
    assert stats.loc[10000, "olympic_mean_s"] == pytest.approx(3.0)
    assert stats.loc[100, "test_r2_at_target_mean"] == pytest.approx(0.99)


def test_time_to_target_exponent():
    n = [1e3, 1e4, 1e5, 1e6]
    t = {int(k): [0.01 * k**0.25] * 3 for k in n}
    exps = ttt_exponents(targets_by_size(_targets(t)))
    assert exps["exponent"].item() == pytest.approx(0.25) and exps["n_sizes"].item() == 4
    assert ttt_exponents(targets_by_size(_targets(t)), min_n=10**4)["n_sizes"].item() == 3


def test_matmul_flops_by_hand():
    # forward: 2 * rows * sum((in + 1) * out); backward adds the same again (the blocks'
    # gradients) and the input gradients of every layer but the first
    assert matmul_flops([5, 64, 32, 1], 1, backward=False) == 2 * (6 * 64 + 65 * 32 + 33)
    assert matmul_flops([5, 64, 32, 1], 10, backward=True) == 10 * 2 * (
        2 * (6 * 64 + 65 * 32 + 33) + 64 * 32 + 32 * 1
    )


def test_step_budget_grows_sublinearly_and_ends_inside_an_epoch():
    r = Recipe(batch_size=100, epochs=1, min_steps=1000, min_steps_exponent=0.5)
    assert r.min_steps_for(10_000) == 1000 and r.min_steps_for(40_000) == 2000
    plan = LoopPlan.of(250, Recipe(batch_size=100, epochs=1, min_steps=7))
    assert (plan.steps, plan.total_steps, plan.epochs) == (3, 7, 3)
    X, y, _ = get_function("synthetic5d").sample(300, seed=0)
    est = MLPInterpolator({"batch_size": 100, "epochs": 1, "min_steps": 7}).fit(X[:250], y[:250])
    assert est.result_.steps_run == 7 and est.result_.epochs_run == 3


def test_tuned_recipe_stops_at_target_and_records_it():
    X, y, f = get_function("synthetic5d").sample(2000, seed=1)
    recipe = {"batch_size": 64, "epochs": 40, "lr": 0.01, "val_steps": 20}
    spec = TargetSpec(below_ceiling=[0.5, 0.3], levels=[])
    for stop in (False, True):
        est = build_method({"class": "mlp", "settings": {**recipe, "stop_at_target": stop}}, seed=1)
        rec, fitted = profile_run(
            Dataset(X, y, f), est, 1, latency_repeats=3, throughput_points=100, targets=spec
        )
        assert [t["reached"] for t in rec["targets"]] == [True, True]
        times = [t["time_to_target_s"] for t in rec["targets"]]
        assert 0 < times[0] <= times[1] <= rec["fit_time_s"]
        assert all(t["test_r2_at_target"] > 0.2 for t in rec["targets"])
        assert rec["curve"] and rec["val_oracle_r2"] > 0.99
        assert rec["status"] == ("reached_target" if stop else "ok")
        if stop:
            assert fitted.result_.steps_run < 40 * 22  # stopped well before the budget
    # one-shot methods reach a target at the end of their fit or never
    rec, _ = profile_run(
        Dataset(X, y, f), build_method({"class": "ols"}), 1, latency_repeats=3,
        throughput_points=100, targets=TargetSpec(below_ceiling=[0.99, 0.001]),
    )  # fmt: skip
    assert len(rec["curve"]) == 1 and [t["reached"] for t in rec["targets"]] == [True, False]
    assert rec["targets"][0]["time_to_target_s"] <= rec["fit_time_s"]


def test_sklearn_mlp_epochs_are_watched_and_stop_like_fit():
    import warnings

    from interp5d.data import Standardizer
    from sklearn.neural_network import MLPRegressor

    X, y, _ = get_function("synthetic5d").sample(600, seed=2)
    mon = QualityMonitor([Target("any", -1e9)])
    mon.start()
    ours = build_method({"class": "sklearn_mlp", "settings": {"max_iter": 300}}, seed=3)
    ours.fit(X[:500], y[:500], X[500:], y[500:], monitor=mon)
    assert len(mon.curve) == ours.epochs_ and ours.history_["epoch"][-1] == ours.epochs_
    xs, ys = Standardizer().fit(X[:500]), Standardizer().fit(y[:500])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = MLPRegressor(hidden_layer_sizes=(64, 32), max_iter=300, random_state=3).fit(
            xs.transform(X[:500]), ys.transform(y[:500])
        )
    # the same stopping rule on its own training loss, so about as many epochs
    assert ours.epochs_ < 300 and abs(ours.epochs_ - ref.n_iter_) <= 0.5 * ref.n_iter_
    assert ours.score(X[500:], y[500:]) == pytest.approx(
        ref.score(xs.transform(X[500:]), ys.transform(y[500:])), abs=0.1
    )


def test_roofline_measures_the_steps_matmuls():
    from interp5d.bench.roofline import roofline
    from interp5d.bench.roofline_sizes import CHUNK_ROWS, roofline_shapes

    shapes = roofline_shapes(
        {"mini": {"batch_size": 64}, "full": {"batch_size": None, "hidden": [8]}},
        [50, 1000, 10**6],
    )
    assert {"widths": [5, 64, 32, 1], "batch": 64} in shapes
    assert {"widths": [5, 64, 32, 1], "batch": 50} in shapes  # a split smaller than a batch
    assert {"widths": [5, 8, 1], "batch": CHUNK_ROWS} in shapes  # the most multiplied at once
    rows = roofline([{"widths": [5, 8, 1], "batch": 32}])
    assert rows[0]["shape"] == "sgemm 1024^3" and rows[0]["gflops_per_s"] > 0
    assert rows[1]["batch"] == 32 and rows[1]["gflops_per_s"] > 0 and rows[1]["threads"] == 1


def test_runs_between_validations_cut_an_epochs_steps_where_one_falls():
    steps = list(range(14))  # an epoch of 14 steps, after 42 of the loop's, validating every 50
    assert list(runs_between(steps, 42, 50)) == [steps[:8], steps[8:]]
    assert list(runs_between(steps, 0, 50)) == [steps]
    assert list(runs_between(steps, 0, 5)) == [steps[:5], steps[5:10], steps[10:]]
    assert list(runs_between(steps[:3], 49, 1)) == [[0], [1], [2]]
    assert list(runs_between([], 7, 5)) == []
