import pickle

import numpy as np
import pandas as pd
import pytest
from interp5d.data import (
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


def csv_rows(X, y) -> str:
    """The data rows of a CSV of X's columns then y, without a header."""
    return "\n".join(",".join(f"{v:.6f}" for v in (*x, t)) for x, t in zip(X, y, strict=True))


@pytest.fixture
def xy():
    rng = np.random.default_rng(0)
    return rng.uniform(size=(50, 5)), rng.normal(size=50)


def write_csv(path, X, y, cols=("x1", "x2", "x3", "x4", "x5"), target="y"):
    df = pd.DataFrame(X, columns=list(cols))
    df[target] = y
    df.to_csv(path, index=False)


def test_npz_round_trip_with_metadata(tmp_path, xy):
    X, y = xy
    p = tmp_path / "d.npz"
    save_npz(p, Dataset(X, y, y * 2, {"function": "t", "seed": 3}))
    ds = load_dataset(p)
    assert np.array_equal(ds.X, X) and np.array_equal(ds.y, y) and np.array_equal(ds.f, y * 2)
    assert ds.meta["function"] == "t" and ds.meta["seed"] == 3
    with np.load(p, allow_pickle=False) as z:  # plain arrays only
        assert set(z.files) == {"X", "y", "f", "meta"}


def test_csv_default_and_named_columns(tmp_path, xy):
    X, y = xy
    write_csv(tmp_path / "a.csv", X, y)
    ds = load_dataset(tmp_path / "a.csv")
    assert np.allclose(ds.X, X) and np.allclose(ds.y, y) and ds.f is None
    write_csv(tmp_path / "b.csv", X, y, cols=("a", "b", "c", "d", "e"), target="out")
    ds = load_dataset(tmp_path / "b.csv", target_column="out")
    assert np.allclose(ds.y, y)
    ds = load_dataset(
        tmp_path / "b.csv", feature_columns=["e", "d", "c", "b", "a"], target_column="out"
    )
    assert np.allclose(ds.X, X[:, ::-1])


def test_pickle_needs_opt_in(tmp_path, xy):
    X, y = xy
    p = tmp_path / "d.pkl"
    p.write_bytes(pickle.dumps({"X": X, "y": y}))
    with pytest.raises(DataError, match="d.pkl: pickle files run code.*allow_pickle"):
        load_dataset(p)
    ds = load_dataset(p, allow_pickle=True)
    assert np.array_equal(ds.X, X)
    p.write_bytes(pickle.dumps([X, y]))
    with pytest.raises(DataError, match="expected a dict with keys 'X' and 'y', got list"):
        load_dataset(p, allow_pickle=True)


def test_wrong_column_count(tmp_path, xy):
    X, y = xy
    df = pd.DataFrame(X[:, :4], columns=list("abcd"))
    df["y"] = y
    df.to_csv(tmp_path / "c.csv", index=False)
    with pytest.raises(DataError, match=r"c.csv: need exactly 5 feature columns, got 4"):
        load_dataset(tmp_path / "c.csv")
    np.savez(tmp_path / "c.npz", X=X[:, :3], y=y)
    with pytest.raises(DataError, match=r"c.npz: X must have shape \(n, 5\), got \(50, 3\)"):
        load_dataset(tmp_path / "c.npz")


def test_non_numeric_values(tmp_path, xy):
    X, y = xy
    df = pd.DataFrame(X, columns=list("abcde"))
    df["y"] = y
    df = df.astype({"c": object})
    df.loc[7, "c"] = "oops"
    df.to_csv(tmp_path / "n.csv", index=False)
    with pytest.raises(
        DataError,
        # the 8th data row: row index 7, on the file's line 9 under its header
        match=r"n.csv: column 'c' has 1 non-numeric value\(s\), first 'oops' at data row\(s\) 8 "
        r"\(from 1, below the header\)",
    ):
        load_dataset(tmp_path / "n.csv")


def test_nonfinite_reported_or_dropped(tmp_path, xy):
    X, y = xy
    X = X.copy()
    y = y.copy()
    X[3, 2] = np.nan
    y[10] = np.inf
    np.savez(tmp_path / "bad.npz", X=X, y=y)
    with pytest.raises(
        DataError,
        match=r"bad.npz: 1 NaN/inf value\(s\) in X at row\(s\) 3 in column\(s\) 2; 1 NaN/inf value\(s\) in y at row\(s\) 10",
    ):
        load_dataset(tmp_path / "bad.npz")
    ds = load_dataset(tmp_path / "bad.npz", drop_nonfinite=True)
    assert len(ds) == 48 and ds.meta["n_dropped_nonfinite"] == 2
    # a CSV's cells by column name and data row, with how to drop them where one can
    df = pd.DataFrame(X, columns=list("abcde")).assign(y=y)
    df.to_csv(tmp_path / "bad.csv", index=False)
    with pytest.raises(DataError) as err:
        load_dataset(tmp_path / "bad.csv")
    assert "in X at data row(s) 4 (from 1, below the header) in column(s) 'c'" in str(err.value)
    assert "in the target 'y' at data row(s) 11" in str(err.value)
    assert "--drop-nonfinite with `fit`" in str(err.value)


def test_nonfinite_query_points_are_located_without_a_drop_hint(tmp_path, xy):
    # every query row is owed a prediction: nothing offers to drop rows there
    X, _ = xy
    X = X.copy()
    X[2, 4] = np.nan
    pd.DataFrame(X, columns=list("abcde")).to_csv(tmp_path / "q.csv", index=False)
    with pytest.raises(DataError) as err:
        load_points(tmp_path / "q.csv", feature_columns=list("abcde"))
    assert str(err.value).endswith(
        "q.csv: 1 NaN/inf value(s) in X at data row(s) 3 (from 1, below the header) "
        "in column(s) 'e'"
    )
    with pytest.raises(DataError) as err:
        validate_xy(X, np.zeros(len(X)), "training data")
    assert "drop" not in str(err.value)


@pytest.mark.parametrize(
    "header, message",
    [
        ("a,a,c,d,e,y", r"column name\(s\) \['a'\] appear more than once in the header"),
        ("a, b, c, d, e, y", r"column name\(s\) \[' b', ' c', ' d', ' e', ' y'\] begin or end"),
        ("a;b;c;d;e;y", r"one column, 'a;b;c;d;e;y': the file looks separated by ';'"),
    ],
)
def test_csv_headers_a_user_would_not_mean_are_refused(tmp_path, xy, header, message):
    X, y = xy
    rows = csv_rows(X, y)
    if ";" in header:
        rows = rows.replace(",", ";")
    (tmp_path / "h.csv").write_text(f"{header}\n{rows}\n")
    with pytest.raises(DataError, match=message):
        load_dataset(tmp_path / "h.csv")
    with pytest.raises(DataError, match=message):
        load_points(tmp_path / "h.csv")


def test_blank_first_lines_a_header_only_file_and_a_foreign_npz_meta(tmp_path, xy):
    X, y = xy
    rows = csv_rows(X, y)
    # pandas skips a blank (or blank-looking) line before the header: so does the header check
    (tmp_path / "b.csv").write_text(f"   \na,b,c,d,e,y\n{rows}\n")
    assert load_dataset(tmp_path / "b.csv").feature_names == list("abcde")
    (tmp_path / "h.csv").write_text("a,b,c,d,e,y\n")
    with pytest.raises(DataError, match=r"h.csv: no data rows"):
        load_dataset(tmp_path / "h.csv")
    # an .npz's own 'meta' array that is not our dict is left alone, not trusted
    for meta in ("[1, 2]", "null", '"text"'):
        np.savez(tmp_path / "m.npz", X=X, y=y, meta=np.array(meta))
        assert load_dataset(tmp_path / "m.npz").feature_names is None


def test_an_assumed_target_is_named_when_the_columns_do_not_fit(tmp_path, xy):
    X, y = xy
    df = pd.DataFrame(X, columns=list("abcde")).assign(heat=y, extra=1.0)
    df.to_csv(tmp_path / "x.csv", index=False)
    with pytest.raises(
        DataError,
        match=r"got 6 \(\['a', 'b', 'c', 'd', 'e', 'heat'\]\); name them with feature_columns; "
        r"the target was taken to be 'extra' \(the last column left\)",
    ):
        load_dataset(tmp_path / "x.csv")


def test_length_mismatch_missing_file_and_type(tmp_path, xy):
    X, y = xy
    np.savez(tmp_path / "m.npz", X=X, y=y[:-1])
    with pytest.raises(DataError, match="m.npz: X has 50 rows but y has 49"):
        load_dataset(tmp_path / "m.npz")
    with pytest.raises(DataError, match="nothere.csv: no such file"):
        load_dataset(tmp_path / "nothere.csv")
    (tmp_path / "d.txt").write_text("1,2")
    with pytest.raises(DataError, match=r"d.txt: unsupported file type '.txt'"):
        load_dataset(tmp_path / "d.txt")
    np.savez(tmp_path / "o.npz", X=np.array([object()] * 5, dtype=object), y=y)
    with pytest.raises(DataError, match="o.npz: array .X. holds Python objects"):
        load_dataset(tmp_path / "o.npz")


def test_split_is_seeded_disjoint_and_complete():
    tr, va, te = split_indices(1000, (0.7, 0.15, 0.15), seed=1)
    assert (len(tr), len(va), len(te)) == (700, 150, 150)
    assert len(np.unique(np.concatenate([tr, va, te]))) == 1000
    tr2, _, _ = split_indices(1000, (0.7, 0.15, 0.15), seed=1)
    assert np.array_equal(tr, tr2)
    assert not np.array_equal(tr, split_indices(1000, seed=2)[0])


def test_split_rejects_bad_fractions_and_small_n():
    with pytest.raises(DataError, match="must sum to 1"):
        split_sizes(100, (0.7, 0.2, 0.2))
    with pytest.raises(DataError, match="5 rows are too few for the split"):
        split_sizes(5, (0.7, 0.15, 0.15))
    assert split_sizes(20, (0.7, 0.15, 0.15)) == (14, 3, 3)


def test_standardizer_uses_given_statistics_and_handles_constant_column():
    rng = np.random.default_rng(0)
    train = rng.normal(3, 2, size=(100, 5))
    train[:, 4] = 7.0  # constant
    s = Standardizer().fit(train)
    z = s.transform(train)
    assert np.allclose(z[:, :4].mean(axis=0), 0) and np.allclose(z[:, :4].std(axis=0), 1)
    assert np.all(z[:, 4] == 0) and np.all(np.isfinite(z))
    test = rng.normal(3, 2, size=(10, 5))
    assert np.allclose(s.transform(test), (test - train.mean(0)) / s.scale)
    assert np.allclose(s.inverse_transform(s.transform(test)), test)
    s2 = Standardizer.from_dict(s.to_dict())
    assert np.array_equal(s2.mean, s.mean) and np.array_equal(s2.scale, s.scale)


def test_load_points(tmp_path):
    X = np.random.default_rng(0).uniform(size=(4, 5))
    pd.DataFrame(X, columns=list("abcde")).to_csv(tmp_path / "q.csv", index=False)
    assert np.allclose(load_points(tmp_path / "q.csv"), X)
    np.savez(tmp_path / "q.npz", X=X)
    assert np.array_equal(load_points(tmp_path / "q.npz"), X)
    pd.DataFrame(X[:, :3]).to_csv(tmp_path / "b.csv", index=False)
    with pytest.raises(DataError, match="b.csv: need exactly 5 columns"):
        load_points(tmp_path / "b.csv")


def test_csv_target_defaults_and_overlap(tmp_path, xy):
    X, y = xy
    write_csv(tmp_path / "t.csv", X, y, cols=("a", "b", "c", "d", "e"), target="out")
    ds = load_dataset(tmp_path / "t.csv", feature_columns=["a", "b", "c", "d", "e"])
    assert np.allclose(ds.y, y)  # the one column that is not a feature
    with pytest.raises(DataError, match="target column 'e' is also a feature column"):
        load_dataset(tmp_path / "t.csv", feature_columns=list("abcde"), target_column="e")


def test_foreign_meta_array_is_ignored(tmp_path, xy):
    X, y = xy
    np.savez(tmp_path / "m.npz", X=X, y=y, meta=np.array("not json"))
    assert load_dataset(tmp_path / "m.npz").meta["source"].endswith("m.npz")
