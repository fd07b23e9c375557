"""interp5d: a 5-D neural-network interpolator, and the pieces of the benchmark around it."""

from .data import (
    DataError,
    Dataset,
    Standardizer,
    load_dataset,
    load_points,
    save_npz,
    split_indices,
    split_sizes,
    validate_xy,
)
from .experiment import run_experiment
from .functions import FUNCTIONS, TestFunction, get_function
from .interpolator import Interpolator, NotFittedError
from .metrics import oracle_metrics, r2_score, regression_metrics
from .profiling import PeakMemory
from .recipes import RECIPES, Recipe, get_recipe

__all__ = [
    "FUNCTIONS",
    "RECIPES",
    "DataError",
    "Dataset",
    "Interpolator",
    "NotFittedError",
    "PeakMemory",
    "Recipe",
    "Standardizer",
    "TestFunction",
    "get_function",
    "get_recipe",
    "load_dataset",
    "load_points",
    "oracle_metrics",
    "r2_score",
    "regression_metrics",
    "run_experiment",
    "save_npz",
    "split_indices",
    "split_sizes",
    "validate_xy",
]
