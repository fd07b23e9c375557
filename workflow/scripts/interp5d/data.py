"""Dataset files (.npz, .csv, .pkl), validation, seeded splits and standardisation."""

from __future__ import annotations

import json
import pickle
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from interp5d.functions import N_FEATURES
from interp5d.jsonio import json_safe

DEFAULT_SPLIT = (0.70, 0.15, 0.15)
MIN_TRAIN, MIN_TEST = 2, 2
PICKLE_SUFFIXES = (".pkl", ".pickle")
SUPPORTED_SUFFIXES = (".npz", ".csv", *PICKLE_SUFFIXES)


class DataError(ValueError):
    """A dataset or query file that cannot be used as it is."""


@dataclass
class Dataset:
    """Features X (n, 5), targets y (n,), the noise-free f(X) when known, metadata."""

    X: np.ndarray
    y: np.ndarray
    f: np.ndarray | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.y)

    def subset(self, idx: np.ndarray) -> Dataset:
        f = None if self.f is None else self.f[idx]
        return Dataset(self.X[idx], self.y[idx], f, dict(self.meta))

    @property
    def feature_names(self) -> list[str] | None:
        """The features' names (a CSV's columns), None for unnamed data."""
        return self.meta.get("feature_columns")

    def features(self, idx: np.ndarray):
        """The rows' inputs: a table under the feature names when the data has them (a
        method fitted on it then keeps them), else an array."""
        if self.feature_names is None:
            return self.X[idx]
        import pandas as pd

        return pd.DataFrame(self.X[idx], columns=self.feature_names)

    def target(self, idx: np.ndarray):
        """The rows' targets: a Series under the target's name when the data has one."""
        name = self.meta.get("target_column")
        if name is None:
            return self.y[idx]
        import pandas as pd

        return pd.Series(self.y[idx], name=name)


DROP_HINT = (
    "drop those rows with drop_nonfinite (the dataset's `drop_nonfinite: true` in the "
    "config, --drop-nonfinite with `fit`)"
)


def row_numbers(rows: np.ndarray, csv_rows: bool) -> str:
    """Rows as a reader finds them: a CSV's data rows counted from 1 below the header, an
    array's rows by their index from 0."""
    shown = ", ".join(str(r + 1 if csv_rows else r) for r in rows[:5])
    shown += ", ..." if len(rows) > 5 else ""
    return f"data row(s) {shown} (from 1, below the header)" if csv_rows else f"row(s) {shown}"


def _nonfinite_report(a: np.ndarray, name: str, columns: list[str] | None, csv_rows: bool) -> str:
    bad = ~np.isfinite(a)
    rows = np.flatnonzero(bad.any(axis=1) if a.ndim == 2 else bad)
    extra = ""
    if a.ndim == 2:
        cols = np.flatnonzero(bad.any(axis=0))
        named = [repr(columns[c]) if columns else str(c) for c in cols]
        extra = f" in column(s) {', '.join(named)}"
    return f"{int(bad.sum())} NaN/inf value(s) in {name} at {row_numbers(rows, csv_rows)}{extra}"


def validate_xy(
    X: Any,
    y: Any,
    source: str,
    *,
    drop_nonfinite: bool = False,
    drop_hint: str | None = None,
    columns: list[str] | None = None,
    target: str | None = None,
    csv_rows: bool = False,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Check shapes, dtypes and finiteness; return float64 X, y and the kept row mask.

    Raises DataError naming `source` and the problem (X's columns by `columns` and y by
    `target` when given, rows as a CSV's data rows with csv_rows), with `drop_hint` where
    the caller can drop rows. With drop_nonfinite, rows holding NaN/inf are dropped instead
    (the mask says which were kept).
    """
    X, y = np.asarray(X), np.asarray(y)
    for name, a in (("X", X), ("y", y)):
        if not (np.issubdtype(a.dtype, np.number) or a.dtype == bool):
            raise DataError(f"{source}: {name} is not numeric (dtype {a.dtype})")
        if np.iscomplexobj(a):
            raise DataError(f"{source}: {name} is complex; expected real numbers")
    if X.ndim != 2 or X.shape[1] != N_FEATURES:
        raise DataError(f"{source}: X must have shape (n, {N_FEATURES}), got {X.shape}")
    if y.ndim != 1:
        raise DataError(f"{source}: y must have shape (n,), got {y.shape}")
    if len(X) != len(y):
        raise DataError(f"{source}: X has {len(X)} rows but y has {len(y)}; they must match")
    # float64 without a copy when it is already; the row mask only when a value is not
    # finite (the common case stays two passes over the data, not a mask per row)
    X, y = np.asarray(X, dtype=np.float64), np.asarray(y, dtype=np.float64)
    keep = np.ones(len(y), dtype=bool)
    if not (np.isfinite(X).all() and np.isfinite(y).all()):
        keep = np.isfinite(X).all(axis=1) & np.isfinite(y)
        problems = [
            _nonfinite_report(a, name, columns, csv_rows)
            for name, a in (("X", X), (f"the target {target!r}" if target else "y", y))
            if not np.isfinite(a).all()
        ]
        if not drop_nonfinite:
            hint = f" ({drop_hint})" if drop_hint else ""
            raise DataError(f"{source}: {'; '.join(problems)}{hint}")
        X, y = X[keep], y[keep]
    if len(y) == 0:
        raise DataError(f"{source}: no usable rows" if len(keep) else f"{source}: no data rows")
    return X, y, keep


def save_npz(path: str | Path, ds: Dataset) -> None:
    """Write a dataset as .npz (plain arrays; metadata as a standard JSON string)."""
    meta = json.dumps(json_safe(ds.meta), allow_nan=False)  # a NaN setting as null
    arrays = {"X": ds.X, "y": ds.y, "meta": np.array(meta)}
    if ds.f is not None:
        arrays["f"] = ds.f
    with open(path, "wb") as fh:
        np.savez(fh, **arrays)


# a zip archive begins with a local file header, or an empty one with its end record
ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
# what reading a damaged zip archive or .npy header raises: a truncated or garbled archive
# (BadZipFile, EOFError, OSError), a bad CRC (BadZipFile), garbled compressed data
# (zlib.error), a garbled array header (ValueError), a compression method or encryption
# zipfile does not support (NotImplementedError, RuntimeError)
NPZ_ERRORS = (
    zipfile.BadZipFile,
    zlib.error,
    EOFError,
    OSError,
    ValueError,
    NotImplementedError,
    RuntimeError,
)


def _holds_objects(z: Any, key: str) -> bool:
    """Whether the archive's array `key` is really an array of Python objects (reading it
    would mean unpickling), judged from its own .npy header."""
    name = key if key in z.zip.namelist() else f"{key}.npy"
    readers = {
        (1, 0): np.lib.format.read_array_header_1_0,
        (2, 0): np.lib.format.read_array_header_2_0,
    }
    try:
        with z.zip.open(name) as fh:
            reader = readers.get(np.lib.format.read_magic(fh))
            return reader is not None and reader(fh)[2].hasobject
    except NPZ_ERRORS:
        return False


def _read_npz(path: Path, only: str | None = None) -> tuple[dict[str, Any], list[str]]:
    """The arrays of an .npz file (every one, or just `only` when it is there) and the
    names of all its arrays, read without unpickling. A file that is not a zip archive,
    or a damaged one (truncated, a bad CRC, garbled compressed data or array header), is
    refused as 'not a valid .npz'; an array of Python objects is named, since reading it
    would run pickle."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(4)
    except OSError as e:
        raise DataError(f"{path}: cannot be read ({e.strerror})") from None
    if head not in ZIP_MAGIC:
        # numpy would read it as a pickle and advise allow_pickle: wrong for a file that
        # is simply not an npz (a CSV or a .npy renamed, a text file)
        raise DataError(f"{path}: not a valid .npz (not a zip archive; it begins {head!r})")
    arrays: dict[str, Any] = {}
    names: list[str] = []
    try:
        # members are read lazily: a bad CRC shows only when z[k] reads one, so inside
        with np.load(path, allow_pickle=False) as z:
            names = list(z.files)
            for key in z.files if only is None else [k for k in z.files if k == only]:
                try:
                    arrays[key] = z[key]
                except ValueError:
                    if _holds_objects(z, key):
                        raise DataError(
                            f"{path}: array {key!r} holds Python objects (dtype object), "
                            "which only unpickling could read; save plain numeric arrays"
                        ) from None
                    raise
    except DataError:
        raise
    except NPZ_ERRORS as e:
        # one line, however long the archive's own message (it can quote a whole header)
        reason = str(e) or type(e).__name__
        reason = reason if len(reason) <= 160 else f"{reason[:160]}..."
        raise DataError(f"{path}: not a valid .npz ({reason})") from None
    return arrays, names


def _load_npz(path: Path) -> dict[str, Any]:
    arrays, _ = _read_npz(path)
    missing = [k for k in ("X", "y") if k not in arrays]
    if missing:
        raise DataError(f"{path}: missing array(s) {', '.join(missing)}; found {sorted(arrays)}")
    meta = arrays.pop("meta", None)
    try:
        parsed = json.loads(str(meta)) if meta is not None else {}
    except json.JSONDecodeError:
        parsed = {}
    # a user's own 'meta' array (not a dict, or not ours) is not ours to interpret
    arrays["meta"] = parsed if isinstance(parsed, dict) else {}
    return arrays


def _header(path: Path) -> list[str]:
    """The header row's names as written (pandas renames a repeated name 'a' to 'a.1'),
    read by the same parser, so blank lines, quotes and a BOM are treated alike."""
    import pandas as pd

    row = pd.read_csv(path, header=None, nrows=1, dtype=str, keep_default_na=False)
    return [str(c) for c in row.iloc[0]] if len(row) else []


def _csv_frame(path: Path):
    """A CSV file's table, refusing a header a user would not mean: a repeated name, names
    padded with spaces, or one column that holds another separator."""
    import pandas as pd

    try:
        frame = pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as e:
        raise DataError(f"{path}: not a readable CSV file ({e})") from None
    header = _header(path)
    repeated = sorted({c for c in header if header.count(c) > 1})
    if repeated:
        raise DataError(
            f"{path}: column name(s) {repeated} appear more than once in the header; "
            "each column needs a name of its own"
        )
    padded = [c for c in header if c != c.strip()]
    if padded:
        raise DataError(
            f"{path}: column name(s) {padded} begin or end with spaces (a header written "
            "'a, b' with spaces after the commas?); write the names without them"
        )
    if len(header) == 1:
        seps = [sep for sep in (";", "\t", "|") if sep in header[0]]
        if seps:
            raise DataError(
                f"{path}: one column, {header[0]!r}: the file looks separated by "
                f"{seps[0]!r}, not by commas; save it comma-separated"
            )
    return frame


def _numeric_columns(frame, columns: list[str], path: Path) -> np.ndarray:
    import pandas as pd

    out = np.empty((len(frame), len(columns)))
    for j, col in enumerate(columns):
        raw = frame[col]
        num = pd.to_numeric(raw, errors="coerce")
        bad = num.isna() & raw.notna()
        if bad.any():
            rows = np.flatnonzero(bad.to_numpy())
            raise DataError(
                f"{path}: column {col!r} has {len(rows)} non-numeric value(s), "
                f"first {raw.iloc[rows[0]]!r} at {row_numbers(rows[:1], csv_rows=True)}"
            )
        out[:, j] = num.to_numpy(dtype=np.float64, na_value=np.nan)
    return out


def _load_csv(
    path: Path,
    feature_columns: list[str] | None,
    target_column: str | None,
) -> dict[str, Any]:
    frame = _csv_frame(path)
    header = [str(c) for c in frame.columns]
    assumed = ""
    if target_column is None:  # 'y' if there is one, else the last non-feature column
        rest = [c for c in header if c not in (feature_columns or [])]
        if not rest:
            raise DataError(f"{path}: no column is left for the target; columns: {header}")
        target_column = "y" if "y" in rest else rest[-1]
        which = "the column named y" if target_column == "y" else "the last column left"
        assumed = (
            f"; the target was taken to be {target_column!r} ({which}): name it with "
            "target_column (--target-column)"
        )
    if target_column not in header:
        raise DataError(f"{path}: target column {target_column!r} not found; columns: {header}")
    if feature_columns is None:
        feature_columns = [c for c in header if c != target_column]
    missing = [c for c in feature_columns if c not in header]
    if missing:
        raise DataError(f"{path}: feature column(s) {missing} not found; columns: {header}")
    if target_column in feature_columns:
        raise DataError(f"{path}: target column {target_column!r} is also a feature column")
    if len(feature_columns) != N_FEATURES:
        raise DataError(
            f"{path}: need exactly {N_FEATURES} feature columns, got "
            f"{len(feature_columns)} ({feature_columns}); name them with feature_columns"
            f"{assumed}"
        )
    X = _numeric_columns(frame, feature_columns, path)
    y = _numeric_columns(frame, [target_column], path)[:, 0]
    meta = {"feature_columns": feature_columns, "target_column": target_column}
    return {"X": X, "y": y, "meta": meta}


def _load_pickle(path: Path, allow_pickle: bool) -> dict[str, Any]:
    if not allow_pickle:
        raise DataError(
            f"{path}: pickle files run code when loaded; opt in with "
            "allow_pickle=True (config: allow_pickle: true, CLI: --allow-pickle) "
            "only for files you trust"
        )
    try:
        with open(path, "rb") as fh:
            obj = pickle.load(fh)
    except (pickle.UnpicklingError, EOFError, AttributeError, ImportError) as e:
        raise DataError(f"{path}: not a readable pickle ({e})") from None
    if not isinstance(obj, dict) or not {"X", "y"} <= set(obj):
        kind = type(obj).__name__
        keys = sorted(obj) if isinstance(obj, dict) else []
        raise DataError(f"{path}: expected a dict with keys 'X' and 'y', got {kind} {keys}")
    return {"X": obj["X"], "y": obj["y"], "meta": {}}


def load_dataset(
    path: str | Path,
    *,
    feature_columns: list[str] | None = None,
    target_column: str | None = None,
    allow_pickle: bool = False,
    drop_nonfinite: bool = False,
) -> Dataset:
    """Load and validate a dataset from .npz, .csv or (opt-in) .pkl/.pickle."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    suffix = path.suffix.lower()
    if suffix == ".npz":
        raw = _load_npz(path)
    elif suffix == ".csv":
        raw = _load_csv(path, feature_columns, target_column)
    elif suffix in PICKLE_SUFFIXES:
        raw = _load_pickle(path, allow_pickle)
    else:
        raise DataError(
            f"{path}: unsupported file type {suffix!r}; use one of {SUPPORTED_SUFFIXES}"
        )
    X, y, keep = validate_xy(
        raw["X"],
        raw["y"],
        str(path),
        drop_nonfinite=drop_nonfinite,
        drop_hint=DROP_HINT,
        columns=raw["meta"].get("feature_columns") if suffix == ".csv" else None,
        target=raw["meta"].get("target_column") if suffix == ".csv" else None,
        csv_rows=suffix == ".csv",
    )
    # refused here, before any work: the config check and `fit` load the file first
    fit_scalers(
        X,
        y,
        str(path),
        columns=raw["meta"].get("feature_columns") if suffix == ".csv" else None,
        target=raw["meta"].get("target_column") if suffix == ".csv" else None,
    )
    f = raw.get("f")
    if f is not None:
        f = np.asarray(f, dtype=np.float64)
        if f.shape != keep.shape:
            raise DataError(f"{path}: f has shape {f.shape}, expected {keep.shape}")
        f = f[keep]
    meta = dict(raw["meta"])
    meta.update(source=str(path), n_dropped_nonfinite=int((~keep).sum()))
    return Dataset(X, y, f, meta)


def subsample(ds: Dataset, n: int, seed: int) -> Dataset:
    """n rows drawn without replacement, seeded; the file's order otherwise kept."""
    if n > len(ds):
        raise DataError(f"{ds.meta.get('source', 'dataset')}: cannot draw {n} of {len(ds)} rows")
    idx = np.sort(np.random.default_rng(seed).choice(len(ds), size=n, replace=False))
    return ds.subset(idx)


def check_columns(given: list[str], names: list[str], source: str) -> None:
    """Refuse columns that are not exactly a model's feature names (in any order), naming
    the missing and the unexpected ones."""
    missing = [c for c in names if c not in given]
    unexpected = [c for c in given if c not in names]
    if missing or unexpected:
        raise DataError(
            f"{source}: the columns do not match the model's features {names}: "
            f"missing {missing}, unexpected {unexpected}"
        )


def query_columns(path: str | Path) -> list[str] | None:
    """The column names of a CSV file of query points (None for .npz: unnamed)."""
    path = Path(path)
    if path.suffix.lower() != ".csv" or not path.is_file():
        return None  # load_points says what is wrong with a missing file
    return [str(c) for c in _csv_frame(path).columns]


def load_points(path: str | Path, *, feature_columns: list[str] | None = None) -> np.ndarray:
    """Load query points (m, 5) from .npz (array 'X', taken in order) or .csv (five numeric
    columns). With feature_columns (a model's feature names), a CSV's columns are matched
    to them by name and put in their order; a CSV whose columns are not exactly those is
    refused, naming the missing and the unexpected ones. Without, its five columns are
    taken in order."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    suffix = path.suffix.lower()
    if suffix == ".npz":
        arrays, names = _read_npz(path, only="X")
        if "X" not in arrays:
            raise DataError(f"{path}: no array 'X'; found {sorted(names)}")
        X = arrays["X"]
    elif suffix == ".csv":
        frame = _csv_frame(path)
        given = [str(c) for c in frame.columns]
        if feature_columns is not None:
            check_columns(given, list(feature_columns), str(path))
        cols = list(feature_columns) if feature_columns is not None else given
        if len(cols) != N_FEATURES:
            raise DataError(
                f"{path}: need exactly {N_FEATURES} columns of query points, "
                f"got {len(cols)} ({cols})"
            )
        X = _numeric_columns(frame, cols, path)
    else:
        raise DataError(f"{path}: unsupported file type {suffix!r}; use .npz or .csv")
    X = np.asarray(X)
    y = np.zeros(len(X)) if X.ndim == 2 else np.zeros(0)
    # no drop hint: a prediction is owed for every query row, so a bad row is the file's to fix
    validate_xy(
        X, y, str(path), columns=cols if suffix == ".csv" else None, csv_rows=suffix == ".csv"
    )
    return X.astype(np.float64)


def split_sizes(
    n: int, fractions: tuple[float, float, float] = DEFAULT_SPLIT
) -> tuple[int, int, int]:
    """Rows in the train/validation/test parts; raises if n is too small."""
    check_fractions(fractions)
    _, val, test = fractions
    n_test = round(n * test)
    n_val = round(n * val)
    n_train = n - n_val - n_test
    if n_train < MIN_TRAIN or n_test < MIN_TEST or (val > 0 and n_val < 1):
        raise DataError(
            f"{n} rows are too few for the split {tuple(fractions)}: it gives "
            f"{n_train}/{n_val}/{n_test} rows; need at least {MIN_TRAIN} train, "
            f"1 validation (when its fraction > 0) and {MIN_TEST} test rows"
        )
    return n_train, n_val, n_test


def check_fractions(fractions: tuple[float, float, float]) -> None:
    if len(fractions) != 3 or any(f < 0 for f in fractions):
        raise DataError(f"split must be three fractions >= 0, got {fractions}")
    if abs(sum(fractions) - 1.0) > 1e-9:
        raise DataError(f"split fractions must sum to 1, got {fractions} (sum {sum(fractions)})")
    if fractions[0] <= 0 or fractions[2] <= 0:
        raise DataError(f"train and test fractions must be > 0, got {fractions}")


def split_indices(
    n: int, fractions: tuple[float, float, float] = DEFAULT_SPLIT, seed: int = 42
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Seeded random train/validation/test row indices."""
    n_train, n_val, _ = split_sizes(n, fractions)
    perm = np.random.default_rng(seed).permutation(n)
    return perm[:n_train], perm[n_train : n_train + n_val], perm[n_train + n_val :]


def fit_scalers(
    X: np.ndarray,
    y: np.ndarray,
    source: str,
    columns: list[str] | None = None,
    target: str | None = None,
) -> tuple[Standardizer, Standardizer]:
    """The features' and the target's Standardizers, refusing values too large to
    standardise with the column named as the data names it (a CSV's names, else the
    index from 0) and the target by its name (else y)."""
    labels = [
        f"feature column {columns[j]!r}" if columns else f"feature column {j}"
        for j in range(X.shape[1])
    ]
    y_label = f"the target {target!r}" if target else "the target y"
    return Standardizer().fit(X, source, labels), Standardizer().fit(y, source, y_label)


@dataclass
class Standardizer:
    """Per-column (x - mean) / scale; a constant column gets scale 1."""

    mean: np.ndarray | None = None
    scale: np.ndarray | None = None

    def fit(
        self, a: np.ndarray, source: str = "data", labels: list[str] | str | None = None
    ) -> Standardizer:
        """The per-column statistics of `a`. Values too large to standardise (the mean's
        sum or the variance's squares overflow float64: a magnitude past about 1e154) are
        refused, naming `source` and the column by `labels` (one per column of a 2-D
        array, or one for a 1-D one; default their index): their scale would be inf and
        every standardised value 0, a model of nothing that still reports status ok. A
        finite scale also bounds the standardised training values (|z| <= sqrt(n)), so
        the float32 network can hold them."""
        a = np.asarray(a, dtype=np.float64)
        # per column over a contiguous copy of the columns: numpy's reductions over axis 0
        # of a narrow (n, 5) array are 4x slower than the copy and contiguous ones together
        cols = np.ascontiguousarray(a.T) if a.ndim == 2 else a
        with np.errstate(over="ignore", invalid="ignore"):  # said below, by column
            self.mean = cols.mean(axis=-1)
            std = cols.std(axis=-1)
        bad = ~(np.isfinite(self.mean) & np.isfinite(std))
        if bad.any():
            j = int(np.flatnonzero(np.atleast_1d(bad))[0])
            if a.ndim == 2:
                label = labels[j] if isinstance(labels, list) else f"column {j}"
                peak = np.abs(cols[j]).max()
            else:
                label = labels if isinstance(labels, str) else "the values"
                peak = np.abs(cols).max()
            raise DataError(
                f"{source}: {label} holds values too large to standardise (up to {peak:.3g} "
                "in magnitude: its variance overflows float64); rescale it, e.g. to units "
                "near 1 or to its logarithm"
            )
        self.scale = np.where(std > 0, std, 1.0)
        return self

    def transform(self, a: np.ndarray) -> np.ndarray:
        out = np.subtract(np.asarray(a, dtype=np.float64), self.mean)
        out /= self.scale
        return out

    def inverse_transform(self, a: np.ndarray) -> np.ndarray:
        return np.asarray(a) * self.scale + self.mean

    def to_dict(self) -> dict[str, Any]:
        return {
            "mean": np.atleast_1d(self.mean).tolist(),
            "scale": np.atleast_1d(self.scale).tolist(),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any], scalar: bool = False) -> Standardizer:
        mean, scale = np.asarray(d["mean"]), np.asarray(d["scale"])
        if scalar:
            mean, scale = mean[0], scale[0]
        return cls(mean, scale)
