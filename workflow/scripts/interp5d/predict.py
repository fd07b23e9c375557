"""Predictions for a file of query points, as a table: the points, the prediction, its
predictive standard deviation and an out-of-range flag."""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from interp5d.data import load_points, query_columns, row_numbers
from interp5d.methods.base import Method, NonFinitePredictionWarning

FEATURES = [f"x{i}" for i in range(1, 6)]


def prediction_frame(est: Method, X, columns: list[str] | None = None) -> pd.DataFrame:
    """The query points (under `columns`, default x1..x5), the prediction, its predictive
    standard deviation for a new observation (NaN where the model has no noise estimate:
    fitted without validation data) and whether each point lies outside the box spanned by
    the training inputs (predicted all the same: an extrapolation). A point so far out
    that the model cannot evaluate it gets a NaN prediction; `nonfinite_note` says so."""
    frame = pd.DataFrame(X, columns=columns or FEATURES)
    with warnings.catch_warnings():
        # the table's NaN predictions are reported by its writers (nonfinite_note)
        warnings.simplefilter("ignore", NonFinitePredictionWarning)
        try:
            frame["prediction"], frame["std"] = est.predict(X, return_std=True)
        except ValueError:  # no validation split in its fit: no noise level, no std
            frame["prediction"], frame["std"] = est.predict(X), np.nan
    frame["out_of_range"] = est.out_of_range(X)
    return frame


def nonfinite_note(frame: pd.DataFrame, points: str | Path) -> str | None:
    """A line naming the points whose prediction is not finite (rows as the query file
    counts them), or None when every one is."""
    lost = ~np.isfinite(frame["prediction"].to_numpy())
    if not lost.any():
        return None
    rows = row_numbers(np.flatnonzero(lost), csv_rows=Path(points).suffix.lower() == ".csv")
    return (
        f"{int(lost.sum())} of {len(frame)} point(s) have no finite prediction (written as "
        f"nan), at {rows} of {points}: they lie too far outside the training range for the "
        "model's arithmetic (flagged in column out_of_range)"
    )


def predict_file(model: str | Path, points: str | Path, out) -> pd.DataFrame:
    """Load a saved model and query points (.npz or .csv), write the predictions CSV.

    A model fitted on named features (a CSV's columns) matches a CSV's columns to them by
    name, in any order, and refuses a file whose columns differ; the table is written under
    the features' names in the model's order. Unnamed points (.npz, or any points for a
    model fitted without names) are taken in order, named as the CSV names them or x1..x5.
    """
    est = Method.load(model)
    if est.status_ == "diverged":
        raise ValueError(f"{model}: this model diverged in training; its predictions are NaN")
    given = query_columns(points)
    names = est.feature_names if given is not None else None
    if given is not None and est.feature_names is None:
        logging.getLogger("interp5d").warning(
            "%s: the model was fitted without feature names, so the columns %s are taken "
            "in the file's order",
            points,
            given,
        )
    X = load_points(points, feature_columns=names)
    frame = prediction_frame(est, X, names or given)
    # never an empty cell: a missing value is written as nan, which reads back as NaN
    frame.to_csv(out, index=False, na_rep="nan")
    return frame
