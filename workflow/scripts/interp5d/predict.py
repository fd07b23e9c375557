"""Predictions for a file of query points, as a table: inputs, prediction, out-of-range flag."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from .data import load_points
from .methods.base import Method

FEATURES = [f"x{i}" for i in range(1, 6)]


def prediction_frame(est: Method, X, columns: list[str] | None = None) -> pd.DataFrame:
    """The query points (under `columns`, default x1..x5), the prediction, and whether each
    lies outside the box spanned by the training inputs (predicted all the same:
    extrapolation)."""
    frame = pd.DataFrame(X, columns=columns or FEATURES)
    frame["prediction"] = est.predict(X)
    frame["out_of_range"] = est.out_of_range(X)
    return frame


def predict_file(model: str | Path, points: str | Path, out: str | Path) -> pd.DataFrame:
    """Load a saved model and query points (.npz or .csv), write the predictions CSV
    (a CSV's column names are kept; .npz points are named x1..x5)."""
    est = Method.load(model)
    if est.status_ == "diverged":
        raise ValueError(f"{model}: this model diverged in training; its predictions are NaN")
    X = load_points(points)
    columns = None
    if Path(points).suffix.lower() == ".csv":  # keep the query file's own column names
        columns = [str(c) for c in pd.read_csv(points, nrows=0).columns]
    frame = prediction_frame(est, X, columns)
    frame.to_csv(out, index=False)
    return frame
