"""Issue 24, items 7, 8, 12 and 13: damaged .npz files, values too large to standardise,
far query points, damaged model files and a constant target, each named in one line (no
traceback, no silent NaN, no empty cell, no NaN in JSON)."""

from __future__ import annotations

import contextlib
import json
import math
import os
import subprocess
import sys
import warnings

import numpy as np
import pandas as pd
import pytest
import torch
from interp5d import DataError, MLPInterpolator
from interp5d.__main__ import main
from interp5d.data import load_dataset, load_points
from interp5d.methods import method_class
from interp5d.methods.base import Method

from .conftest import REPO

TINY = {"hidden": [8, 8], "epochs": 3, "batch_size": 32}


def strict_json(text: str):
    """JSON as a strict parser reads it: NaN, Infinity and -Infinity refused."""

    def refuse(token: str):
        raise ValueError(f"not JSON: {token}")

    return json.loads(text, parse_constant=refuse)


def xy(n: int = 60, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.uniform(size=(n, 5))
    return X, X.sum(axis=1) + 0.1 * rng.normal(size=n)


def run_main(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def one_line_error(code: int, err: str) -> str:
    """The CLI refused with exit 2 and one line on stderr, which it returns."""
    assert code == 2, err
    assert "Traceback" not in err and err.count("\n") == 1 and err.startswith("error: "), err
    return err


@pytest.fixture(scope="module")
def mlp(tmp_path_factory):
    X, y = xy(80, seed=1)
    est = MLPInterpolator(TINY, seed=0).fit(X[:60], y[:60], X[60:], y[60:])
    path = tmp_path_factory.mktemp("model") / "m.pt"
    est.save(path)
    return est, path


@pytest.fixture
def saved_mlp(mlp):
    return mlp[1]


# -- item 7: corrupt .npz files ------------------------------------------------------------
def damaged_npz(tmp_path, kind: str):
    X, y = xy(40)
    good = tmp_path / "good.npz"
    (np.savez_compressed if kind == "zlib" else np.savez)(good, X=X, y=y)
    data = bytearray(good.read_bytes())
    path = tmp_path / f"{kind}.npz"
    if kind == "truncated":
        data = data[: len(data) // 2]  # no central directory: BadZipFile
    elif kind in ("crc", "zlib"):
        data[data.find(b"X.npy") + 300] ^= 0xFF  # inside X's data: Bad CRC-32 / zlib.error
    elif kind == "text":
        data = bytearray(b"x1,x2,x3,x4,x5,y\n1,2,3,4,5,6\n")  # a CSV named .npz
    path.write_bytes(bytes(data))
    return path


@pytest.mark.parametrize("kind", ["truncated", "crc", "zlib", "text"])
def test_a_damaged_npz_is_named_not_a_traceback(tmp_path, kind):
    path = damaged_npz(tmp_path, kind)
    for load in (load_dataset, load_points):
        with pytest.raises(DataError, match=rf"^{path}: not a valid \.npz \(") as e:
            load(path)
        # never numpy's advice to unpickle a file that is simply not an npz
        assert "allow_pickle" not in str(e.value) and "\n" not in str(e.value)


def test_every_flipped_byte_of_an_npz_is_refused_or_read(tmp_path):
    X, y = xy(8)
    for save in (np.savez, np.savez_compressed):
        save(tmp_path / "small.npz", X=X, y=y)
        good = (tmp_path / "small.npz").read_bytes()
        for i in range(0, len(good), 3):
            bad = bytearray(good)
            bad[i] ^= 0x5A
            (tmp_path / "bad.npz").write_bytes(bytes(bad))
            for load in (load_dataset, load_points):
                # anything but DataError escapes and fails the test
                with contextlib.suppress(DataError):
                    load(tmp_path / "bad.npz")


def test_an_npz_of_object_arrays_is_named_without_pickle_advice(tmp_path):
    X, y = xy(10)
    np.savez(tmp_path / "obj.npz", X=X.astype(object), y=y)
    with pytest.raises(DataError, match=r"obj.npz: array 'X' holds Python objects") as e:
        load_dataset(tmp_path / "obj.npz")
    assert "allow_pickle" not in str(e.value)


def test_cli_names_a_damaged_npz_in_one_line(tmp_path, capsys, saved_mlp):
    # a real process: the console shows exactly one line, and no model is written
    env = {**os.environ, "PYTHONPATH": str(REPO / "workflow/scripts")}
    data = damaged_npz(tmp_path, "truncated")
    res = subprocess.run(
        [sys.executable, "-m", "interp5d", "fit", "--data", str(data), "--out", "m.pt"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    assert f"{data}: not a valid .npz (" in one_line_error(res.returncode, res.stderr)
    assert not (tmp_path / "m.pt").exists()
    points = damaged_npz(tmp_path, "crc")
    code, _, err = run_main(capsys, "predict", "--model", str(saved_mlp), "--points", str(points))
    assert f"{points}: not a valid .npz (Bad CRC-32" in one_line_error(code, err)


def test_cli_stops_quietly_when_its_reader_leaves(tmp_path, saved_mlp):
    # `predict ... | head -1`: the pipe closes early; no traceback, the shell's SIGPIPE code
    env = {**os.environ, "PYTHONPATH": str(REPO / "workflow/scripts")}
    np.savez(tmp_path / "many.npz", X=np.random.default_rng(0).uniform(size=(20000, 5)))
    cmd = [sys.executable, "-m", "interp5d", "predict", "--model", str(saved_mlp)]
    proc = subprocess.Popen(
        [*cmd, "--points", str(tmp_path / "many.npz")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    assert proc.stdout.readline().startswith(b"x1,")
    proc.stdout.close()
    err = proc.stderr.read().decode()
    assert proc.wait() == 141 and "Traceback" not in err, err


def study_config(**entries):
    """The shipped config with `entries` added (datasets, predictions)."""
    import yaml

    return {**yaml.safe_load((REPO / "config.yaml").read_text()), **entries}


def test_the_config_check_names_the_key_and_the_damaged_file(tmp_path):
    from interp5d.pipeline.config import ConfigError, check_config

    data, points = damaged_npz(tmp_path, "truncated"), damaged_npz(tmp_path, "text")
    query = {"dataset": "synthetic5d", "n": 1000, "method": "tuned", "seed": 42}
    config = study_config(
        datasets={"bad": {"path": str(data)}},
        predictions={"p": {**query, "points": str(points)}},
    )
    with pytest.raises(ConfigError) as e:
        check_config(config)
    assert f"datasets.bad: {data}: not a valid .npz (" in str(e.value)
    assert f"predictions.p.points: {points}: not a valid .npz (not a zip archive" in str(e.value)


# -- item 8: values too large to standardise; query points far outside ---------------------
def test_features_too_large_to_standardise_are_refused_naming_the_column(tmp_path, capsys):
    X, y = xy()
    X[:, 2] *= 1e200  # its variance overflows float64: the scale would be inf
    np.savez(tmp_path / "big.npz", X=X, y=y)
    with pytest.raises(DataError, match=r"big.npz: feature column 2 .*too large to standardise"):
        load_dataset(tmp_path / "big.npz")
    frame = pd.DataFrame(X, columns=list("abcde")).assign(t=y)
    frame.to_csv(tmp_path / "big.csv", index=False)
    with pytest.raises(DataError, match=r"big.csv: feature column 'c' .*too large to standard"):
        load_dataset(tmp_path / "big.csv", target_column="t")
    # the library refuses too, before any training
    with pytest.raises(DataError, match=r"training data: feature column 2 .*too large"):
        MLPInterpolator(TINY).fit(X, y)
    code, _, err = run_main(capsys, "fit", "--data", str(tmp_path / "big.npz"), "--out", "m.pt")
    assert "big.npz: feature column 2 " in one_line_error(code, err)


def test_the_config_check_refuses_values_too_large_to_standardise(tmp_path):
    from interp5d.pipeline.config import ConfigError, check_config

    X, y = xy()
    np.savez(tmp_path / "big.npz", X=X * 1e200, y=y)
    with pytest.raises(ConfigError, match=r"datasets.big: .*big.npz: feature column 0 holds"):
        check_config(study_config(datasets={"big": {"path": str(tmp_path / "big.npz")}}))


def test_targets_too_large_to_standardise_are_refused(tmp_path):
    X, y = xy()
    np.savez(tmp_path / "big.npz", X=X, y=y * 1e300)  # mse inf, R² NaN before
    with pytest.raises(DataError, match=r"big.npz: the target y .*too large to standardise"):
        load_dataset(tmp_path / "big.npz")
    pd.DataFrame(X, columns=list("abcde")).assign(t=y * 1e300).to_csv(tmp_path / "b.csv")
    with pytest.raises(DataError, match=r"b.csv: the target 't' .*too large to standardise"):
        load_dataset(tmp_path / "b.csv", feature_columns=list("abcde"), target_column="t")
    with pytest.raises(DataError, match=r"training data: the target y .*too large"):
        MLPInterpolator(TINY).fit(X, y * 1e300)


def test_far_query_points_are_predicted_or_flagged_never_an_empty_cell(tmp_path, capsys, mlp):
    est, path = mlp
    X, _ = xy(4, seed=5)
    X[1, 0] = 1e39  # beyond float32: the network cannot evaluate it
    X[2, 3] = -1e6  # far outside, but within float32: predicted
    np.savez(tmp_path / "far.npz", X=X)
    out = tmp_path / "pred.csv"
    code, _, err = run_main(
        capsys, "predict", "--model", str(path), "--points", str(tmp_path / "far.npz"),
        "--out", str(out),
    )  # fmt: skip
    assert code == 0
    text = out.read_text()
    assert ",," not in text and ",\n" not in text  # no empty cell anywhere
    got = pd.read_csv(out)
    assert got["out_of_range"].tolist() == [False, True, True, False]
    assert np.isnan(got["prediction"][1]) and np.isfinite(got["prediction"].drop(1)).all()
    assert np.isnan(got["std"][1]) and np.isfinite(got["std"].drop(1)).all()
    assert "1 of 4 point(s) have no finite prediction" in err and "row(s) 1" in err
    # the library says so too, rather than returning NaN without a word
    with pytest.warns(RuntimeWarning, match=r"1 of 4 prediction\(s\) are not finite"):
        pred = est.predict(X)
    assert np.isnan(pred[1])


# -- item 12: damaged model files -------------------------------------------------------
def damage(src, dest, edit) -> None:
    blob = torch.load(src, weights_only=True)
    meta = json.loads(blob["metadata"])
    edit(meta, blob["arrays"])
    blob["metadata"] = json.dumps(meta)
    torch.save(blob, dest)


def _set_hidden(meta, arrays):
    meta["params"]["recipe"]["hidden"] = [16, 8]


def _nan_weight(meta, arrays):
    arrays["member0.2.weight"][0, 0] = float("nan")


MLP_DAMAGE = {
    "missing key": (lambda m, a: m.pop("x_min"), r"metadata key\(s\) \['x_min'\] missing"),
    "missing state key": (
        lambda m, a: m["state"].pop("n_val"),
        r"metadata key\(s\) \['state.n_val'\] missing",
    ),
    "wrong hidden": (_set_hidden, r"array 'member0.0.weight' has shape \(8, 5\), expected \(16"),
    "2-value x_scaler": (
        lambda m, a: m["x_scaler"].update(mean=[0.0, 1.0]),
        r"x_scaler.mean must be 5 finite number\(s\), got 2: \[0.0, 1.0\]",
    ),
    "zero scale": (
        lambda m, a: m["y_scaler"].update(scale=[0.0]),
        r"y_scaler.scale must be 1 finite number\(s\) > 0, got 1: \[0.0\]",
    ),
    "NaN weights": (_nan_weight, r"array 'member0.2.weight' holds 1 NaN/inf value"),
    "missing array": (
        lambda m, a: a.pop("member0.4.bias"),
        r"array\(s\) \['member0.4.bias'\] missing, \[\] unexpected",
    ),
    "unknown method": (lambda m, a: m.update(method="nope"), r"unknown method 'nope'"),
    "bad params": (
        lambda m, a: m["params"].update(speed=3),
        r"params: unknown setting\(s\) \['speed'\] for 'mlp'",
    ),
}


@pytest.mark.parametrize("case", list(MLP_DAMAGE))
def test_a_damaged_model_file_is_named_in_one_line(tmp_path, capsys, saved_mlp, case):
    edit, message = MLP_DAMAGE[case]
    path = tmp_path / "damaged.pt"
    damage(saved_mlp, path, edit)
    with pytest.raises(DataError, match=rf"^{path}: .*{message}") as e:
        Method.load(path)
    assert "\n" not in str(e.value)
    X, _ = xy(3)
    np.savez(tmp_path / "q.npz", X=X)
    code, _, err = run_main(
        capsys, "predict", "--model", str(path), "--points", str(tmp_path / "q.npz")
    )
    assert str(path) in one_line_error(code, err)


BASELINES = {
    "ols": ({}, "coef", lambda a: a[:3]),
    "rbf": ({"smoothing": [1e-3]}, "X", lambda a: a[:, :4]),
    "sklearn_mlp": ({"hidden": [4], "max_iter": 5}, "coef1", lambda a: a.T),
    "gp": ({"select_rows": 20}, "theta", lambda a: a[:2]),
}


@pytest.mark.parametrize("name", list(BASELINES))
def test_damaged_baseline_files_are_named(tmp_path, name):
    settings, key, reshape = BASELINES[name]
    X, y = xy(50, seed=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # sklearn's convergence warning at 5 iterations
        est = method_class(name)(**settings).fit(X[:40], y[:40], X[40:], y[40:])
    est.save(tmp_path / "ok.pt")
    assert np.allclose(Method.load(tmp_path / "ok.pt").predict(X), est.predict(X))

    def bad_shape(meta, arrays):
        arrays[key] = torch.as_tensor(np.ascontiguousarray(reshape(arrays[key].numpy())))

    def nan(meta, arrays):
        arrays[key] = arrays[key].clone().fill_(float("nan"))

    for edit, message in ((bad_shape, rf"array '{key}' has shape"), (nan, "NaN/inf")):
        damage(tmp_path / "ok.pt", tmp_path / "bad.pt", edit)
        with pytest.raises(DataError, match=rf"bad.pt: .*{message}"):
            Method.load(tmp_path / "bad.pt")


# -- item 13: a constant target; NaN never in JSON --------------------------------------
def test_a_constant_target_reports_r2_as_null_in_strict_json(tmp_path, capsys):
    X, _ = xy(40)
    np.savez(tmp_path / "const.npz", X=X, y=np.full(40, 2.5))
    code, out, err = run_main(
        capsys, "fit", "--data", str(tmp_path / "const.npz"), "--out", str(tmp_path / "m.pt"),
        "--recipe", "seed",
    )  # fmt: skip
    assert code == 0, err
    report = strict_json(out)
    assert report["test"]["r2"] is None and report["test"]["mse"] >= 0
    assert "R² is undefined" in err


def test_model_metadata_is_strict_json_and_round_trips_nan_history(tmp_path):
    X, y = xy(40)
    est = MLPInterpolator(TINY).fit(X, y)  # no validation: the history's val_loss is NaN
    assert np.isnan(est.history_["val_loss"]).all()
    est.save(tmp_path / "m.pt")
    meta = strict_json(torch.load(tmp_path / "m.pt", weights_only=True)["metadata"])
    assert meta["noise_var"] is None and meta["history"]["val_loss"][0] is None
    back = MLPInterpolator.load(tmp_path / "m.pt")
    assert np.isnan(back.history_["val_loss"]).all() and back.noise_var_ is None
    assert math.isclose(back.predict(X[0]), est.predict(X[0]))
