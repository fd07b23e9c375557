"""The benchmark harness's view of the MLP (interp5d.interpolator.MLPInterpolator): its
warm-up, its training loop's record, the loop's paired roofline and its prediction memory,
worked out from what the fitted estimator is (its recipe, layer widths and training
results). interp5d.bench.harness imports it by name for an MLP alone."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from interp5d.bench.profiling import estimate_prediction_bytes
from interp5d.bench.roofline import step_roofline
from interp5d.interpolator import MLPInterpolator
from interp5d.model import layer_widths, pick_device
from interp5d.recipes import get_recipe
from interp5d.threads import torch_threads
from interp5d.training.engines.fast import chunk_rows_for
from interp5d.training.limits import VAL_CHUNK
from interp5d.training.loop import estimate_loop_bytes

MB = 1024**2


def warm_up_params(method: MLPInterpolator) -> dict[str, Any]:
    """One epoch runs every batch shape of the real fit and, with a validation set, every
    validation chunk shape."""
    short = replace(
        get_recipe(method.recipe),
        epochs=1,
        min_steps=0,
        warmup_epochs=0,
        patience=None,
        val_every=1,
    )
    return {"recipe": short, "log_every_s": None}


def _with_remainder(n: int, block: int) -> int:
    """The fewest rows cut into blocks of `block` the way n rows are: a whole block and
    n's remainder (n itself when it is one block at most)."""
    return n if n <= block else block + n % block


def warm_up_rows(method: MLPInterpolator, n_train: int, n_val: int) -> tuple[int, int]:
    """Training and validation rows whose one epoch multiplies every shape the real fit
    does: each batch's chunks, the last (partial) batch's, and each validation chunk. A
    BLAS sets up its kernels for some shapes on their first call (MKL 2024.2 on AVX-512,
    a product of 56 rows or fewer through the 32-wide layer: a 4 MB buffer, once), so a
    shape the warm-up left out shows up in the fit's memory and time."""
    batch = get_recipe(method.recipe).batch_size
    if batch is None or n_train <= batch:  # one batch: its chunks
        n_train = _with_remainder(n_train, chunk_rows_for(pick_device(method.device), n_train))
    else:
        n_train = _with_remainder(n_train, batch)
    return n_train, _with_remainder(n_val, VAL_CHUNK)


def fit_record(est: MLPInterpolator, loop_memory: dict[str, float] | None) -> dict[str, Any]:
    """The training loop's engine, steps, time, FLOP rate and memory (counted, and
    metered when `loop_memory` is given)."""
    res, widths = est.result_, layer_widths(est.model_)
    counted = estimate_loop_bytes(est.n_train_, est.n_val_, widths, est.recipe_)
    # an ensemble's loops one after the other: their times, steps and FLOPs add up
    loop_time = sum(r.loop_time_s for r in est.results_)
    flops = sum(r.flops for r in est.results_)
    record = {
        "engine": res.engine,
        "members": len(est.members_),
        "loop_time_s": loop_time,
        "epochs_run": res.epochs_run,
        "steps_run": sum(r.steps_run for r in est.results_),
        "best_epoch": res.best_epoch,
        "diverged_epoch": res.diverged_epoch,
        "batch_rows": res.batch_rows,
        "widths": widths,
        "loop_gflop": flops / 1e9,
        "loop_gflops_per_s": flops / 1e9 / loop_time if loop_time else None,
        "loop_estimate_mb": None if counted is None else counted["total"] / MB,
        "loop_estimate_parts_mb": (
            None if counted is None else {k: v / MB for k, v in counted.items()}
        ),
    }
    if loop_memory is not None:
        record["loop_peak_mb"] = loop_memory["loop_peak_mb"]
    return record


def loop_roofline(est: MLPInterpolator) -> float | None:
    """GFLOP/s of the fitted training loop's step products alone, timed now (the runner
    times it right after the fit, so that the loop's rate over it is a ratio measured side
    by side); None for a model on a GPU (the roofline's products are timed on the CPU)."""
    if next(est.model_.parameters()).device.type != "cpu":
        return None
    rows = chunk_rows_for("cpu", est.result_.batch_rows)  # what the loop multiplied at once
    with torch_threads(est.threads):
        return step_roofline(layer_widths(est.model_), rows)["gflops_per_s"]


def predict_estimate_bytes(est: MLPInterpolator, n_points: int) -> int:
    """An analytic estimate of predict's peak memory for n points."""
    return estimate_prediction_bytes(n_points, est.recipe_.hidden, est.predict_chunk)
