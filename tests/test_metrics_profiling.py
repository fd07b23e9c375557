import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest
from interp5d import Dataset, MLPInterpolator, PeakMemory, get_function, profile_run
from interp5d.bench.profiling import hwm_reset_supported, malloc_thresholds, median_time
from interp5d.methods.base import Method
from interp5d.metrics import oracle_metrics, r2_score, regression_metrics
from interp5d.recipes import Recipe
from interp5d.training.loop import estimate_loop_bytes


def test_regression_metrics_by_hand():
    y = np.array([1.0, 2.0, 3.0, 4.0])
    p = np.array([1.0, 2.0, 3.0, 6.0])
    m = regression_metrics(y, p)
    assert m["mse"] == 1.0 and m["rmse"] == 1.0 and m["mae"] == 0.5
    assert m["r2"] == pytest.approx(1 - 4 / 5)
    assert r2_score(y, y) == 1.0
    assert np.isnan(r2_score(np.ones(3), np.zeros(3)))


def test_oracle_metrics():
    f = np.array([0.0, 1.0, 2.0, 3.0])
    y = f + np.array([0.1, -0.1, 0.1, -0.1])
    o = oracle_metrics(y, f, f)
    assert o["oracle_r2"] == pytest.approx(r2_score(y, f)) and o["r2_vs_f"] == 1.0
    assert oracle_metrics(y, f, None) == {"oracle_r2": None, "r2_vs_f": None}


def _allocate_50mb(hold_s: float = 0.0):
    import time

    import torch

    t = torch.ones(50 * 1024**2 // 4)  # 50 MiB of float32, touched
    time.sleep(hold_s)
    del t


@pytest.mark.parametrize("force_sampling", [False, True])
def test_memory_meter_catches_a_known_allocation(force_sampling):
    if not force_sampling and not hwm_reset_supported():
        pytest.skip("no /proc/self/clear_refs here")
    _allocate_50mb()  # torch's one-off allocator set-up happens outside the phase
    with PeakMemory(force_sampling=force_sampling) as m:
        # the exact meter needs no help; the 1 ms sampler needs the peak to last a while
        _allocate_50mb(hold_s=0.02 if force_sampling else 0.0)
    assert m.peak_above_baseline_mb == pytest.approx(50, rel=0.10)
    assert m.method.startswith("linux-vmhwm" if not force_sampling else "psutil-sampling")


@pytest.mark.skipif(not hwm_reset_supported(), reason="needs the exact Linux meter")
def test_nested_meters_each_see_their_own_peak():
    _allocate_50mb()
    with PeakMemory() as outer:
        _allocate_50mb()  # before the inner meter resets the kernel's mark
        with PeakMemory(release=False) as inner:
            pass
    assert inner.peak_above_baseline_mb < 5
    assert outer.peak_above_baseline_mb == pytest.approx(50, rel=0.10)


def test_malloc_thresholds_nest_and_restore(monkeypatch):
    import interp5d.bench.profiling as prof

    calls = []
    monkeypatch.setattr(prof, "_mallopt", lambda m, t: calls.append((m, t)) or True)
    with malloc_thresholds(1, 2), malloc_thresholds(3, 4):
        pass
    assert calls == [(1, 2), (3, 4), (1, 2), prof.GLIBC_DEFAULT_THRESHOLDS]


def test_median_time_stops_at_its_budget():
    import time

    calls = []
    median_time(lambda: calls.append(time.sleep(0.02)), repeats=50, warmup=0, budget_s=0.05)
    assert 1 <= len(calls) < 10


def test_loop_estimate_is_the_loops_own_buffers():
    def est(n, batch):
        return estimate_loop_bytes(n, n // 5, [5, 64, 32, 1], Recipe(batch_size=batch))

    full = [est(n, None)["activations"] for n in (700, 7000)]
    mini = [est(n, 64)["activations"] for n in (700, 7000)]
    assert full[1] == pytest.approx(10 * full[0]) and mini[0] == mini[1]
    parts = est(7000, 256)
    assert parts["total"] == sum(v for k, v in parts.items() if k not in ("total", "data"))
    assert parts["permutation"] == 7000 * 4 and parts["batch"] == 256 * 7 * 4
    assert estimate_loop_bytes(700, 100, [5, 64, 32, 1], Recipe(engine="autograd")) is None
    # what a real run's engine allocates is what the meta-device estimate counts
    from interp5d.training.engines.fast import FastEngine

    recipe = Recipe(batch_size=256, restore_best=True)
    real = FastEngine(
        widths=[5, 64, 32, 1],
        recipe=recipe,
        n_train=7000,
        batch_rows=256,
        val_rows=1400,
        keep_best=True,
        device="cpu",
    ).nbytes()
    assert {k: parts[k] for k in real} != real  # restore_best adds the best-weights copy
    meta = estimate_loop_bytes(7000, 1400, [5, 64, 32, 1], recipe)
    assert {k: meta[k] for k in real} == real


_MEMORY_RUN = textwrap.dedent(
    """
    import json, sys
    from interp5d import Dataset, MLPInterpolator, get_function, profile_run
    X, y, f = get_function("synthetic5d").sample(int(sys.argv[1]), 0)
    est = MLPInterpolator(json.loads(sys.argv[2]), seed=0)
    rec, _ = profile_run(
        Dataset(X, y, f), est, 0, latency_repeats=1, throughput_points=100, loop_memory=True
    )
    print(json.dumps([rec["loop_peak_mb"], rec["loop_estimate_mb"]]))
    """
)


def _memory_run(n: int, recipe: dict) -> tuple[float, float]:
    """Measured and estimated training peak of a run in a fresh process, as a workflow job."""
    scripts = Path(__file__).resolve().parents[1] / "workflow" / "scripts"
    env = {**os.environ, "PYTHONPATH": str(scripts)}
    res = subprocess.run(
        [sys.executable, "-c", _MEMORY_RUN, str(n), json.dumps(recipe)],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    return tuple(json.loads(res.stdout.strip().splitlines()[-1]))


@pytest.mark.skipif(not hwm_reset_supported(), reason="needs the exact Linux meter")
def test_training_loop_allocates_what_the_estimate_counts():
    # full batch on 14,000 training rows: a 6 MB workspace for the chunks of 8,192 rows it
    # is stepped in, made once; a loop that allocated per step would show its temporaries
    # on top
    def near(measured: float, estimate: float) -> bool:
        return measured == pytest.approx(estimate, rel=0.10)

    measured, estimate = _memory_run(20000, {"epochs": 20})
    assert estimate > 5
    assert near(measured, estimate)
    # three times the rows: the same chunks, the same workspace
    measured_3x, estimate_3x = _memory_run(60000, {"epochs": 20})
    assert estimate_3x == estimate and near(measured_3x, estimate)
    # mini-batches: the workspace is the batch's, whatever n (the permutation aside: the
    # estimate counts it, so each run's peak above its estimate is compared), over many
    # steps too: the loop's small allocations must not wander into heap pages the meter
    # handed back to the OS (on AVX-512 the raw peaks differed by 0.43-0.52 MB, the
    # estimates by 0.21). 35,000 training rows end in a batch of 56, whose first product
    # through the 32-wide layer made MKL (AVX-512) set up a 4 MB buffer inside the loop
    # until the warm-up ran that shape too (harness.warm_up_rows): 4.4 MB, every run
    mini = {"epochs": 20, "batch_size": 128}
    small, small_estimate = _memory_run(2000, mini)

    def same_above(measured: float, estimate: float) -> bool:
        return (measured - estimate) - (small - small_estimate) < 0.5

    assert same_above(*_memory_run(50000, mini))


def test_profile_run_record():
    X, y, f = get_function("synthetic5d").sample(300, seed=0)
    rec, est = profile_run(
        Dataset(X, y, f),
        MLPInterpolator({"epochs": 5, "batch_size": 64}),
        seed=0,
        latency_repeats=3,
        throughput_points=1000,
        loop_memory=True,
    )
    for key in (
        "fit_time_s",
        "loop_time_s",
        "time_per_epoch_s",
        "train_peak_mb",
        "loop_peak_mb",
        "predict_peak_mb",
        "predict_latency_s",
        "predict_throughput_per_s",
        "predict_throughput_100k_per_s",
        "mse",
        "rmse",
        "mae",
        "r2",
        "oracle_r2",
        "r2_vs_f",
        "loop_estimate_mb",
        "roofline_paired_gflops_per_s",
    ):
        assert np.isfinite(rec[key]), key
    assert rec["roofline_paired_gflops_per_s"] > 0
    assert rec["n_train"] + rec["n_val"] + rec["n_test"] == 300
    assert rec["status"] == "ok" and rec["epochs_run"] == 5
    assert rec["oracle_r2"] > 0.99 and rec["train_peak_mb"] >= 0
    assert est.seed == 0 and rec["seed"] == 0


def test_throughput_zero_is_not_measured():
    from interp5d.methods import build_method

    X, y, f = get_function("friedman1").sample(600, seed=0)
    ols = build_method({"class": "ols"})
    rec, _ = profile_run(Dataset(X, y, f), ols, 0, latency_repeats=3, throughput_points=0)
    assert rec["predict_throughput_100k_per_s"] is None
    assert np.isfinite(rec["predict_throughput_per_s"])
    rec, _ = profile_run(Dataset(X, y, f), ols, 0, latency_repeats=3, throughput_points=500)
    assert rec["predict_throughput_100k_per_s"] > 0


class _Shapes(Method):
    """A method that records the shapes it is fitted and asked on (the warm-up's)."""

    name = "shapes"
    seen: ClassVar[list] = []

    def _fit(self, X, y, X_val, y_val, monitor):
        self.seen.append(("fit", len(X), 0 if X_val is None else len(X_val)))

    def _predict(self, X):
        self.seen.append(("predict", len(X)))
        return np.zeros(len(X))


@pytest.mark.parametrize(
    "rows, expected",
    [
        (512, [("fit", 512, 300), ("predict", 300), ("predict", 512)]),
        (None, [("fit", 1400, 300), ("predict", 300), ("predict", 2000)]),
    ],
)
def test_the_warm_up_is_small_for_every_method_alike(rows, expected):
    # at most `rows` rows a split (None: the run's own shapes); fit's own validation
    # prediction comes first
    from interp5d.bench.runner import warm_up

    _Shapes.seen = []
    warm_up(_Shapes(), 1400, 300, 2000, rows)
    assert _Shapes.seen == expected


def _epoch_shapes(n: int, recipe) -> set[int]:
    """Rows of each product an epoch of the fast engine makes on n rows: every batch's
    chunks (the training loop's LoopPlan and the engine's chunk rows)."""
    from interp5d.training.engines.fast import chunk_rows_for
    from interp5d.training.loop import LoopPlan

    plan = LoopPlan.of(n, recipe)
    batches = [plan.batch] * (n // plan.batch) + ([n % plan.batch] if n % plan.batch else [])
    shapes = set()
    for b in batches:
        c = chunk_rows_for("cpu", plan.batch)
        shapes |= {c} if b >= c else set()
        shapes |= {b % c} if b % c else set()
    return shapes


@pytest.mark.parametrize(
    "n_train, n_val, batch",
    [
        (35000, 10000, 128),  # a last batch of 56
        (35000, 10000, 512),
        (700, 200, 512),
        (300, 100, 512),  # one batch
        (7000, 2000, None),  # full batch, one chunk
        (20000, 5000, None),  # full batch, chunks of 8,192 and 3,616
        (40000, 600, 10000),  # batches of two chunks and a remainder
    ],
)
def test_the_mlp_warm_up_runs_every_shape_of_its_fit(n_train, n_val, batch):
    # fewer rows than the run, but the same batch, chunk and validation-chunk products
    from interp5d import MLPInterpolator
    from interp5d.bench.harness import warm_up_rows
    from interp5d.recipes import get_recipe
    from interp5d.training.limits import VAL_CHUNK

    method = MLPInterpolator({"batch_size": batch})
    recipe = get_recipe(method.recipe)
    rows, val = warm_up_rows(method, n_train, n_val, 512)
    assert rows <= n_train and val <= n_val
    assert _epoch_shapes(rows, recipe) == _epoch_shapes(n_train, recipe)
    assert {val % VAL_CHUNK, min(val, VAL_CHUNK)} == {n_val % VAL_CHUNK, min(n_val, VAL_CHUNK)}
    # any other method: at most 512 rows a split
    assert warm_up_rows(_Shapes(), n_train, n_val, 512) == (min(n_train, 512), min(n_val, 512))
