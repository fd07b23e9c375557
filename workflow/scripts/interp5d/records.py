"""Records of runs: their common fields, and standard JSON (NaN and inf become null)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from .data import Dataset
from .metrics import oracle_metrics, regression_metrics
from .profiling import PeakMemory
from .provenance import software


def json_safe(obj: Any) -> Any:
    """Replace NaN/inf floats by None, recursively, so the JSON is standard."""
    if isinstance(obj, dict):
        return {k: json_safe(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [json_safe(v) for v in obj]
    if isinstance(obj, float | np.floating):
        return float(obj) if math.isfinite(obj) else None
    if isinstance(obj, np.integer):
        return int(obj)
    return obj


def write_json(path: str | Path, obj: Any) -> None:
    with open(path, "w") as fh:
        json.dump(json_safe(obj), fh, indent=2, allow_nan=False)


def split_fields(n: int, tr, va, te, seed: int, threads: int) -> dict[str, Any]:
    """The run's identity: sizes of the dataset and its parts, seed, threads."""
    return {
        "n_samples": n,
        "n_train": len(tr),
        "n_val": len(va),
        "n_test": len(te),
        "seed": seed,
        "threads": threads,
    }


def memory_fields(train: dict[str, Any], predict: PeakMemory) -> dict[str, Any]:
    """Training and prediction memory records (one method for both)."""
    pred = {k: v for k, v in predict.as_dict("predict").items() if k != "memory_method"}
    return {**train, **pred}


def accuracy_fields(ds: Dataset, te, pred) -> dict[str, Any]:
    """Test-split metrics, and the noise ceiling where the function is known."""
    return {
        **regression_metrics(ds.y[te], pred),
        **oracle_metrics(ds.y[te], pred, None if ds.f is None else ds.f[te]),
    }


def job_record(
    function: str, recipe: str, record: dict[str, Any], settings: dict[str, Any]
) -> dict[str, Any]:
    """A workflow job's metrics record: which run, what it measured, the config subtree
    it ran with and the software it ran on."""
    return {
        "function": function,
        "recipe": recipe,
        **record,
        "settings": settings,
        "software": software(),
    }
