"""One benchmark run: split, train and predict under the memory meter, time, score."""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

import numpy as np
import torch

from .data import DEFAULT_SPLIT, Dataset, split_indices
from .interpolator import Interpolator
from .profiling import (
    PeakMemory,
    estimate_prediction_bytes,
    estimate_training_bytes,
    median_time,
    set_malloc_thresholds,
)
from .recipes import Recipe, get_recipe
from .records import accuracy_fields, memory_fields, split_fields
from .train import VAL_CHUNK

MB = 1024**2
THROUGHPUT_POINTS = 100_000


def run_experiment(
    ds: Dataset,
    recipe: str | dict[str, Any],
    seed: int,
    threads: int = 1,
    split: tuple[float, float, float] = DEFAULT_SPLIT,
    latency_repeats: int = 101,
    throughput_points: int = THROUGHPUT_POINTS,
    log_every_s: float | None = None,
) -> tuple[dict[str, Any], Interpolator]:
    """Train and profile one model; return the flat metrics record and the model.

    Timings: perf_counter around the training loop alone; prediction latency is
    the median over `latency_repeats` single-point calls; throughputs are medians
    of repeated batched calls. Memory: peak RSS above each phase's baseline, the
    training phase being the training loop (as for time) and the prediction phase
    one predict call on the test split. A
    short untimed warm-up fit first pays torch's one-off start-up costs (thread
    pool, kernels), so they count in neither time nor memory.
    """
    rec = get_recipe(recipe)
    # glibc raises its mmap threshold once a large buffer is freed, so later large buffers
    # come from the heap and leave holes in it when freed. The meter hands free heap pages
    # back to the OS, and the loop's small allocations then wander back into those holes:
    # growth that depends on what the process did before (~20 MB in a 1M-sample job). So
    # until training ends, large buffers are mapped afresh (glibc's starting thresholds,
    # held); afterwards fixed high ones let prediction reuse its chunk buffers, as glibc's
    # adapted thresholds would.
    set_malloc_thresholds(128 * 1024, 128 * 1024)
    tr, va, te = split_indices(len(ds), split, seed)
    warm_up(rec, threads, len(tr), len(va))
    est = Interpolator(
        recipe=rec, seed=seed, threads=threads, log_every_s=log_every_s, measure_memory=True
    )
    est.fit(ds.X[tr], ds.y[tr], ds.X[va], ds.y[va])
    set_malloc_thresholds(32 * MB, 64 * MB)
    with PeakMemory() as mem_pred:
        pred = est.predict(ds.X[te])
    res = est.result_

    x_one = ds.X[te[0]]
    x_big = np.random.default_rng(seed).uniform(est.x_min_, est.x_max_, (throughput_points, 5))
    latency = median_time(lambda: est.predict(x_one), repeats=latency_repeats, warmup=5)
    t_test = median_time(lambda: est.predict(ds.X[te]), repeats=5)
    t_big = median_time(lambda: est.predict(x_big), repeats=3)

    est_train = estimate_training_bytes(
        len(tr), len(va), rec.hidden, rec.batch_size, rec.activation
    )
    record: dict[str, Any] = {
        **split_fields(len(ds), tr, va, te, seed, threads),
        "torch_threads": torch.get_num_threads(),
        "status": res.status,
        "diverged_epoch": res.diverged_epoch,
        "epochs_run": res.epochs_run,
        "best_epoch": res.best_epoch,
        "train_time_s": res.train_time_s,
        "time_per_epoch_s": res.train_time_s / res.epochs_run,
        "recorded_unix": time.time(),
        **memory_fields(est.train_memory_, mem_pred),
        "train_estimate_mb": est_train["total"] / MB,
        "train_estimate_parts_mb": {k: v / MB for k, v in est_train.items()},
        "predict_estimate_mb": estimate_prediction_bytes(len(te), rec.hidden, est.predict_chunk)
        / MB,
        "predict_latency_s": latency,
        "predict_throughput_per_s": len(te) / t_test,
        "predict_throughput_100k_per_s": throughput_points / t_big,
        **accuracy_fields(ds, te, pred),
    }
    return record, est


def warm_up(recipe: Recipe, threads: int, n_train: int, n_val: int) -> None:
    """Fit for 2 epochs and predict once on random points; results are discarded.

    The batches and validation chunks have the shapes of the measured run's, so that
    every kernel it uses, and the BLAS buffers for those shapes, exist before it starts.
    """
    bs = recipe.batch_size
    rows = 64 if bs is None or bs >= n_train else bs + (n_train % bs or bs)
    val_rows = VAL_CHUNK + n_val % VAL_CHUNK if n_val > VAL_CHUNK else n_val
    rng = np.random.default_rng(0)
    X, y = rng.uniform(size=(rows, 5)), rng.uniform(size=rows)
    Xv, yv = rng.uniform(size=(val_rows, 5)), rng.uniform(size=val_rows)
    short = replace(
        recipe, epochs=2, min_steps=0, warmup_epochs=0, patience=None, restore_best=False
    )
    Interpolator(recipe=short, seed=0, threads=threads).fit(X, y, Xv, yv).predict(X)
