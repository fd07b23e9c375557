"""The harness's view of a method: how the runner warms it up, what it records of a fit,
the roofline of its training loop and its prediction memory, each worked out here from what
the fitted estimator is (its recipe, layer widths, training results, chosen settings), so
that the estimators themselves carry no benchmark hooks. Methods are told apart by their
registry name (`Method.name`); one not listed here gets the common fields alone."""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from interp5d.methods.base import Method

# The MLP's view (its training loop's record, roofline and memory) is a module of its own,
# imported by this name for an MLP alone: a baseline's job then neither loads nor tracks
# the loop's code, and the workflow's rules track the module by the same name.
MLP_VIEW = "interp5d.bench.mlp_view"


def _mlp_view():
    return import_module(MLP_VIEW)


def warm_up_params(method: Method) -> dict[str, Any]:
    """Settings that shorten an iterative fit to one pass, for the runner's untimed warm-up
    on data of the run's shapes (none for one-shot methods)."""
    if method.name == "mlp":
        return _mlp_view().warm_up_params(method)
    if method.name == "sklearn_mlp":
        return {"max_iter": 1}
    if method.name == "gp":
        # the warm-up's one solve has the run's shapes; its hyperparameter search need not
        return {"select_rows": 20}
    if method.name == "krg":
        # one solve at theta0 has the run's shapes; the likelihood search need not run
        return {"hyper_opt": "NoOp", "n_start": 1}
    if method.name == "auto":
        # each candidate's own warm-up: the MLP's one pass, the GP's short search
        return {"recipe": _mlp_view().warm_up_params(method)["recipe"], "gp_select_rows": 20}
    return {}


def warm_up_rows(method: Method, n_train: int, n_val: int, rows: int) -> tuple[int, int]:
    """The warm-up's training and validation rows: at most `rows` a split, except that an
    MLP gets the fewest that have every batch and chunk shape of the run's (at most a
    batch or a chunk more than one of each)."""
    if method.name == "mlp":
        return _mlp_view().warm_up_rows(method, n_train, n_val)
    return min(n_train, rows), min(n_val, rows)


def fit_record(est: Method, loop_memory: dict[str, float] | None = None) -> dict[str, Any]:
    """What a fitted method adds to a run's record beyond the common fields; with
    `loop_memory` (the loop meter's reading), the training loop's peak too."""
    if est.name == "mlp":
        return _mlp_view().fit_record(est, loop_memory)
    if est.name == "sklearn_mlp":
        return {"epochs_run": est.epochs_}
    if est.name == "rbf":
        return {"smoothing_chosen": est.smoothing_}
    if est.name == "gp":
        return {
            "gp_length_scales": est.length_scales_.tolist(),
            "gp_noise_ratio": est.noise_level_,
            "gp_likelihood_evaluations": est.likelihood_evaluations_,
            "gp_length_cv": getattr(est, "length_cv_", None),
            "gp_copied_rows": est.copied_rows_,
        }
    if est.name == "krg":
        return {"krg_theta": est.theta_.tolist(), "krg_noise": est.noise_}
    if est.name == "auto":
        # what it chose and why: every candidate's validation MSE and its standard error,
        # fit seconds and rows, and what the GP's screen found where it ran (else None)
        choice = est.choice_
        return {
            "auto_choice": choice["chosen"],
            "auto_why": choice["why"],
            "auto_val_mse": choice["val_mse"],
            "auto_val_se": choice["val_se"],
            "auto_fit_s": choice["fit_s"],
            "auto_rows": choice["rows"],
            "auto_screen": choice.get("screen"),
            "auto_gp_length_cv": choice.get("gp_length_cv"),
            "auto_gp_copied_rows": choice.get("gp_copied_rows"),
        }
    return {}


def loop_roofline(est: Method) -> float | None:
    """GFLOP/s of the fitted training loop's step products alone, timed now (see
    mlp_view.loop_roofline); None for a method without such a loop."""
    return _mlp_view().loop_roofline(est) if est.name == "mlp" else None


def predict_estimate_bytes(est: Method, n_points: int) -> int | None:
    """An analytic estimate of predict's peak memory for n points, where there is one."""
    return _mlp_view().predict_estimate_bytes(est, n_points) if est.name == "mlp" else None
