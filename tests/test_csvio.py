"""The training job's CSV writer gives the file pandas would (the job skips pandas' import)."""

import math

import numpy as np
import pandas as pd
import pytest
from interp5d.csvio import write_columns, write_rows


def test_columns_match_pandas(tmp_path):
    history = {
        "epoch": [1, 2, 3, 4],
        "train_loss": [0.9515876173973083, 1e-05, 123456789.125, 2.5e-300],
        "val_loss": [math.nan, 0.1, math.nan, 1 / 3],
    }
    cols = ["epoch", "train_loss", "val_loss"]
    write_columns(tmp_path / "ours.csv", history, cols)
    pd.DataFrame(history, columns=cols).to_csv(tmp_path / "pandas.csv", index=False)
    assert (tmp_path / "ours.csv").read_text() == (tmp_path / "pandas.csv").read_text()
    # a listed column the method does not record (sklearn's MLP: no val_loss) is empty
    del history["val_loss"]
    write_columns(tmp_path / "ours.csv", history, cols)
    pd.DataFrame(history, columns=cols).to_csv(tmp_path / "pandas.csv", index=False)
    assert (tmp_path / "ours.csv").read_text() == (tmp_path / "pandas.csv").read_text()
    back = pd.read_csv(tmp_path / "ours.csv")
    assert back["train_loss"].tolist() == history["train_loss"]
    assert back["val_loss"].isna().all()


def test_rows_match_pandas(tmp_path):
    rows = [(0.023046624999551568, np.float64(0.8677793913237222)), (1.5, None), (2.0, np.nan)]
    write_rows(tmp_path / "ours.csv", ["elapsed_s", "val_r2"], rows)
    pd.DataFrame(rows, columns=["elapsed_s", "val_r2"]).to_csv(tmp_path / "pandas.csv", index=False)
    assert (tmp_path / "ours.csv").read_text() == (tmp_path / "pandas.csv").read_text()
    write_rows(tmp_path / "f32.csv", ["elapsed_s", "val_r2"], [(1, np.float32("nan"))])
    assert (tmp_path / "f32.csv").read_text() == "elapsed_s,val_r2\n1,\n"
    write_rows(tmp_path / "empty.csv", ["elapsed_s", "val_r2"], [])
    assert (tmp_path / "empty.csv").read_text() == "elapsed_s,val_r2\n"


def test_ragged_columns_are_refused(tmp_path):
    with pytest.raises(ValueError, match="different lengths: {'epoch': 2, 'val_loss': 1}"):
        write_columns(
            tmp_path / "x.csv", {"epoch": [1, 2], "val_loss": [0.1]}, ["epoch", "val_loss"]
        )
