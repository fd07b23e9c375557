"""The harness's view of a method: how the runner warms it up, what it records of a fit,
the roofline of its training loop and its prediction memory, each worked out here from what
the fitted estimator is (its recipe, layer widths, training results, chosen settings), so
that the estimators themselves carry no benchmark hooks. Methods are told apart by their
registry name (`Method.name`); one not listed here gets the common fields alone."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from interp5d.bench.profiling import estimate_prediction_bytes
from interp5d.bench.roofline import step_roofline
from interp5d.methods.base import Method
from interp5d.model import layer_widths
from interp5d.recipes import get_recipe
from interp5d.threads import torch_threads
from interp5d.training.engines.fast import chunk_rows_for
from interp5d.training.loop import estimate_loop_bytes

MB = 1024**2


def warm_up_params(method: Method) -> dict[str, Any]:
    """Settings that shorten an iterative fit to one pass, for the runner's untimed warm-up
    on data of the run's shapes (none for one-shot methods)."""
    if method.name == "mlp":
        # one epoch runs every batch shape of the real fit and, with a validation set,
        # every validation chunk shape
        short = replace(
            get_recipe(method.recipe),
            epochs=1,
            min_steps=0,
            warmup_epochs=0,
            patience=None,
            val_every=1,
        )
        return {"recipe": short, "log_every_s": None}
    if method.name == "sklearn_mlp":
        return {"max_iter": 1}
    if method.name == "gp":
        # the warm-up's one solve has the run's shapes; its hyperparameter search need not
        return {"select_rows": 20}
    if method.name == "krg":
        # one solve at theta0 has the run's shapes; the likelihood search need not run
        return {"hyper_opt": "NoOp", "n_start": 1}
    return {}


def fit_record(est: Method, loop_memory: dict[str, float] | None = None) -> dict[str, Any]:
    """What a fitted method adds to a run's record beyond the common fields; with
    `loop_memory` (the loop meter's reading), the training loop's peak too."""
    if est.name == "mlp":
        return _mlp_record(est, loop_memory)
    if est.name == "sklearn_mlp":
        return {"epochs_run": est.epochs_}
    if est.name == "rbf":
        return {"smoothing_chosen": est.smoothing_}
    if est.name == "gp":
        return {"gp_kernel": str(est.model_.kernel_)}
    if est.name == "krg":
        return {"krg_theta": est.theta_.tolist(), "krg_noise": est.noise_}
    return {}


def _mlp_record(est: Method, loop_memory: dict[str, float] | None) -> dict[str, Any]:
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


def loop_roofline(est: Method) -> float | None:
    """GFLOP/s of the fitted training loop's step products alone, timed now (the runner
    times it right after the fit, so that the loop's rate over it is a ratio measured side
    by side); None for a method without such a loop, or one trained on a GPU (the
    roofline's products are timed on the CPU)."""
    if est.name != "mlp":
        return None
    if next(est.model_.parameters()).device.type != "cpu":
        return None
    rows = chunk_rows_for("cpu", est.result_.batch_rows)  # what the loop multiplied at once
    with torch_threads(est.threads):
        return step_roofline(layer_widths(est.model_), rows)["gflops_per_s"]


def predict_estimate_bytes(est: Method, n_points: int) -> int | None:
    """An analytic estimate of predict's peak memory for n points, where there is one."""
    if est.name != "mlp":
        return None
    return estimate_prediction_bytes(n_points, est.recipe_.hidden, est.predict_chunk)
