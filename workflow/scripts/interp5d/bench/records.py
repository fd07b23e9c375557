"""Records of runs: their common fields."""

from __future__ import annotations

from typing import Any

from interp5d.bench.profiling import PeakMemory
from interp5d.bench.provenance import software
from interp5d.data import Dataset
from interp5d.metrics import oracle_metrics, regression_metrics


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


def memory_fields(train: PeakMemory, predict: PeakMemory) -> dict[str, Any]:
    """Training and prediction memory records (one method for both)."""
    pred = {k: v for k, v in predict.as_dict("predict").items() if k != "memory_method"}
    return {**train.as_dict("train"), **pred}


def accuracy_fields(ds: Dataset, te, pred) -> dict[str, Any]:
    """Test-split metrics, and the noise ceiling where the function is known."""
    return {
        **regression_metrics(ds.y[te], pred),
        **oracle_metrics(ds.y[te], pred, None if ds.f is None else ds.f[te]),
    }


def job_record(
    dataset: str, method: str, kind: str, record: dict[str, Any], settings: dict[str, Any]
) -> dict[str, Any]:
    """A workflow job's metrics record: which run (dataset, method, and whether the method
    is a recipe or a baseline), what it measured, the config subtree it ran with and the
    software it ran on."""
    return {
        "dataset": dataset,
        "method": method,
        "kind": kind,
        **record,
        "settings": settings,
        "software": software(),
    }
