"""interp5d: a 5-D neural-network interpolator, and the pieces of the benchmark around it.

Names are imported lazily, so that light users (the workflow's config check)
do not pay for importing torch.
"""

from importlib import import_module

_EXPORTS = {
    "DataError": "data",
    "Dataset": "data",
    "Standardizer": "data",
    "load_dataset": "data",
    "load_points": "data",
    "save_npz": "data",
    "split_indices": "data",
    "split_sizes": "data",
    "validate_xy": "data",
    "FUNCTIONS": "functions",
    "TestFunction": "functions",
    "get_function": "functions",
    "Interpolator": "auto",
    "MLPInterpolator": "interpolator",
    "Method": "methods.base",
    "NotFittedError": "methods.base",
    "build_method": "methods",
    "method_class": "methods",
    "oracle_metrics": "metrics",
    "r2_score": "metrics",
    "regression_metrics": "metrics",
    "PeakMemory": "bench.profiling",
    "RECIPES": "recipes",
    "Recipe": "recipes",
    "get_recipe": "recipes",
    "profile_run": "bench.runner",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
