"""The one runner: every method split, fitted, timed, metered and scored the same way."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from interp5d.bench import harness
from interp5d.bench.profiling import PeakMemory, frozen_heap, malloc_thresholds, median_time
from interp5d.bench.quality import QualityMonitor, Target, TargetSpec
from interp5d.bench.records import accuracy_fields, memory_fields, split_fields
from interp5d.data import DEFAULT_SPLIT, Dataset, split_indices
from interp5d.methods.base import Method, clone
from interp5d.metrics import calibration, r2_score
from interp5d.threads import thread_limits

MB = 1024**2
THROUGHPUT_POINTS = 100_000
# the warm-up's data: at most this many rows a split (a batch of the tuned recipe's 512)
WARM_UP_ROWS = 512
# glibc raises its mmap threshold once a large buffer is freed, so later large buffers come
# from the heap and leave holes in it when freed. The meter hands free heap pages back to
# the OS, and a loop's small allocations then wander back into those holes: growth that
# depends on what the process did before (~20 MB in a 1M-sample job). So until the fit
# ends, large buffers are mapped afresh (glibc's starting thresholds, held); for
# prediction fixed high ones let repeated calls reuse their chunk buffers, as glibc's
# adapted thresholds would.
FIT_THRESHOLDS = (128 * 1024, 128 * 1024)
PREDICT_THRESHOLDS = (32 * MB, 64 * MB)


def warm_up(
    method: Method, n_train: int, n_val: int, n_test: int, rows: int | None = WARM_UP_ROWS
) -> None:
    """An untimed fit of the method, shortened to one pass where it iterates, on random
    data of the run's width and at most `rows` rows a split (None: the run's own shapes;
    an MLP gets its batches' shapes: harness.warm_up_rows), then a prediction: one-off
    costs (imports, compiled kernels, the native step's library, thread pools, a BLAS's
    buffers) then count in no measured phase. Small data makes it cheap for every method
    alike: on the run's shapes it doubled a one-shot method's cost (an RBF at 7,000 rows
    fits in full twice)."""
    if rows is not None:
        n_train, n_val = harness.warm_up_rows(method, n_train, n_val, rows)
        n_test = min(n_test, rows)
    rng = np.random.default_rng(0)
    X, y = rng.uniform(size=(n_train, 5)), rng.uniform(size=n_train)
    Xv, yv = (rng.uniform(size=(n_val, 5)), rng.uniform(size=n_val)) if n_val else (None, None)
    est = clone(method).set_params(**harness.warm_up_params(method))
    est.fit(X, y, Xv, yv).predict(rng.uniform(size=(n_test, 5)))


def profile_run(
    ds: Dataset,
    method: Method,
    seed: int,
    threads: int = 1,
    split: tuple[float, float, float] = DEFAULT_SPLIT,
    latency_repeats: int = 101,
    throughput_points: int = THROUGHPUT_POINTS,
    targets: TargetSpec | Sequence[Target] = (),
    loop_memory: bool = False,
    warm_up_rows: int | None = WARM_UP_ROWS,
) -> tuple[dict[str, Any], Method]:
    """Fit and profile one method on the seeded split; return the flat record and the
    fitted method.

    Every method alike: the run's seed draws the split and seeds the method (where it takes
    a seed); `threads` threads for torch and every BLAS pool; an untimed warm-up (see
    warm_up, `warm_up_rows`); then `fit_time_s` is perf_counter around the whole fit call
    and the training memory its peak resident memory above the phase's baseline; the
    prediction memory is that of one predict call on the test split; latency is the median
    of single-point calls, throughputs the medians of batched calls on the test split and
    on `throughput_points` uniform points in the training box (0: not measured, recorded
    as None); accuracy is scored on the
    test split. Time to quality (as MLPerf measures it: quality evaluated on the clock): a
    QualityMonitor, started with the fit's clock, sees each validation's R²; for each
    target (a TargetSpec's are set from the validation split's noise ceiling, where the
    dataset has one) the record holds the first time it was reached (or none) and the
    test R² of the model as it was then, and `curve` the validations. For a method with a
    training loop, its step's matrix products alone are timed right after the fit
    (`roofline_paired_gflops_per_s`), so that the loop's efficiency can be a ratio measured
    side by side rather than against a roofline timed in another job. With `loop_memory`,
    the training loop's own peak memory is metered too (`loop_peak_mb`, where the method
    has a loop).
    """
    tr, va, te = split_indices(len(ds), split, seed)
    X_va, y_va, X_te = ds.X[va], ds.y[va], ds.X[te]
    # named data (a CSV's columns) is fitted as tables, so that the model keeps the names
    X_tr, y_tr = ds.features(tr), ds.target(tr)
    X_va_fit, y_va_fit = ds.features(va), ds.target(va)
    ceiling = (
        r2_score(y_va, ds.f[va]) if ds.f is not None and len(va) and np.ptp(y_va) > 0 else None
    )
    if isinstance(targets, TargetSpec):
        targets = targets.for_run(ceiling)
    est = clone(method)
    if "seed" in est.get_params(deep=False):  # the run's seed: split and method alike
        est.set_params(seed=seed)
    with frozen_heap(), thread_limits(threads):
        with malloc_thresholds(*FIT_THRESHOLDS):
            warm_up(est, len(tr), len(va), len(te), warm_up_rows)
            # inside the meter of the whole fit, which released free memory already
            loop_meter = PeakMemory(release=False) if loop_memory else None
            monitor = QualityMonitor(list(targets), loop_meter=loop_meter)
            with PeakMemory() as mem_fit:
                t0 = time.perf_counter()
                monitor.start()
                est.fit(X_tr, y_tr, X_va_fit, y_va_fit, monitor=monitor)
                fit_time = time.perf_counter() - t0
        # the loop's products alone, right after it in the same process: the machine's
        # speed on a shared VM moves by tens of percent between jobs a minute apart
        paired_roofline = harness.loop_roofline(est)
        with malloc_thresholds(*PREDICT_THRESHOLDS):
            with PeakMemory() as mem_pred:
                pred = est.predict(X_te)
            x_one = X_te[0]
            latency = median_time(lambda: est.predict(x_one), latency_repeats, 5, budget_s=2)
            t_test = median_time(lambda: est.predict(X_te), 5, budget_s=2)
            t_big = None
            if throughput_points:
                x_big = np.random.default_rng(seed).uniform(
                    est.x_min_, est.x_max_, (throughput_points, 5)
                )
                t_big = median_time(lambda: est.predict(x_big), 3, warmup=0, budget_s=2)
            val_r2 = r2_score(y_va, est.predict(X_va)) if len(va) else None
            if est.has_std():
                mean_te, std_te = est.predict(X_te, return_std=True)
                uncertainty = calibration(
                    ds.y[te], mean_te, std_te, None if ds.f is None else ds.f[te]
                )
            else:  # no validation split, so no noise level: no std
                uncertainty = dict.fromkeys(("coverage_95", "coverage_95_f", "interval_width_95"))
            xs_te = est.x_scaler_.transform(X_te)
            reached = monitor.records(
                lambda p: r2_score(ds.y[te], est.y_scaler_.inverse_transform(p(xs_te)))
            )
    status = est.status_
    if status == "ok" and not np.isfinite(pred).all():
        status = "diverged"
    metered = None if loop_meter is None or not loop_meter.method else loop_meter.as_dict("loop")
    extra = harness.fit_record(est, metered)
    epochs = extra.get("epochs_run")
    predict_estimate = harness.predict_estimate_bytes(est, len(te))
    record: dict[str, Any] = {
        **split_fields(len(ds), tr, va, te, seed, threads),
        "sampling": ds.meta.get("sampling"),
        "status": status,
        "fit_time_s": fit_time,
        "time_per_epoch_s": fit_time / epochs if epochs else None,
        "recorded_unix": time.time(),
        **memory_fields(mem_fit, mem_pred),
        "predict_estimate_mb": None if predict_estimate is None else predict_estimate / MB,
        "predict_latency_s": latency,
        "predict_throughput_per_s": len(te) / t_test,
        "predict_throughput_100k_per_s": None if t_big is None else throughput_points / t_big,
        **accuracy_fields(ds, te, pred),
        **uncertainty,
        "val_r2": val_r2,
        "val_oracle_r2": ceiling,
        **extra,
        "roofline_paired_gflops_per_s": paired_roofline,
        "targets": reached,
        "curve": [{"elapsed_s": t, "val_r2": r} for t, r in monitor.curve],
    }
    return record, est
