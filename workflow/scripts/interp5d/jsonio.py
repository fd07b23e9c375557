"""Standard JSON for records: NaN and inf become null."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np


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


def flatten(d: Any, prefix: str = "") -> dict[str, Any]:
    """Nested dicts as dotted keys (lists stay values)."""
    if not isinstance(d, dict):
        return {prefix: d}
    out: dict[str, Any] = {}
    for k, v in d.items():
        out.update(flatten(v, f"{prefix}.{k}" if prefix else str(k)))
    return out
