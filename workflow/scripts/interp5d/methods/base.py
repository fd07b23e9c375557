"""The interface every method shares: scikit-learn's estimator conventions, one
standardisation, one check of query points, one file format."""

from __future__ import annotations

import copy
import inspect
import json
import math
import warnings
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from interp5d.data import (
    DataError,
    Standardizer,
    check_columns,
    fit_scalers,
    row_numbers,
    validate_xy,
)
from interp5d.functions import N_FEATURES
from interp5d.jsonio import json_safe
from interp5d.metrics import r2_score
from interp5d.training.monitor import FitMonitor

FORMAT_VERSION = 2


class NotFittedError(ValueError, AttributeError):
    """Predict before fit (the bases of scikit-learn's NotFittedError)."""


class NonFinitePredictionWarning(RuntimeWarning):
    """Finite query points whose prediction is not finite: points so far outside the
    training range that the model's arithmetic overflows (the MLP computes in float32)."""


def column_names(X: Any) -> list[str] | None:
    """A table's column names (a pandas DataFrame's, or any object with `columns`), else
    None: arrays have no names."""
    columns = getattr(X, "columns", None)
    if columns is None:
        return None
    names = [str(c) for c in columns]
    if len(set(names)) != len(names):
        dup = sorted({c for c in names if names.count(c) > 1})
        raise DataError(f"columns {dup} appear more than once")
    return names


def match_columns(X: Any, names: list[str] | None, what: str = "query points") -> Any:
    """X's columns in the order `names` were fitted in (a table), or X itself (an array, or
    a model fitted without names: taken in order). Refuses a table whose columns are not
    exactly those names, naming the missing and the unexpected ones."""
    given = column_names(X)
    if given is None or names is None:
        return X.to_numpy() if given is not None else X
    check_columns(given, names, what)
    return X[names].to_numpy()


def check_points(X: Any) -> tuple[np.ndarray, bool]:
    """Query points as float64 (m, 5), and whether one point of shape (5,) was given."""
    X = np.asarray(X)
    single = X.shape == (N_FEATURES,)
    if single:
        X = X[None, :]
    if X.ndim != 2 or X.shape[1] != N_FEATURES:
        raise DataError(
            f"query points must have shape ({N_FEATURES},) for one point or "
            f"(m, {N_FEATURES}) for a batch, got {X.shape}"
        )
    if not np.issubdtype(X.dtype, np.number):
        raise DataError(f"query points are not numeric (dtype {X.dtype})")
    bad = ~np.isfinite(X).all(axis=1)
    if bad.any():
        rows = np.flatnonzero(bad)[:5].tolist()
        raise DataError(f"query points: {int(bad.sum())} row(s) hold NaN/inf, e.g. rows {rows}")
    return X.astype(np.float64, copy=False), single


def clone(est: Method) -> Method:
    """A new, unfitted method with the same settings (scikit-learn's clone, for methods)."""
    return type(est)(**copy.deepcopy(est.get_params(deep=False)))


class Method:
    """A regression method on 5-D inputs: fit(X, y, X_val=None, y_val=None) returns self,
    predict(X) the predictions, the constructor only stores settings.

    A scikit-learn regressor by its protocol (get_params, set_params, score and its tags),
    so clone, Pipeline, cross_val_score and GridSearchCV take it, without inheriting
    sklearn.base.BaseEstimator: importing scikit-learn costs every workflow job 1.3 s,
    and the MLP's jobs need none of it.

    Inputs and targets are standardised here, with the training data's statistics, for
    every method alike; subclasses implement `_fit` and `_predict` on standardised arrays,
    and `_state`/`_restore` for save and load.
    """

    name: ClassVar[str]  # the registry name (interp5d.methods.REGISTRY)
    retired_params: ClassVar[tuple[str, ...]] = ()  # old settings a model file may hold
    predict_chunk: int = 65536  # rows per _predict call: bounded memory for any batch

    # -- the estimator protocol ---------------------------------------------------
    @classmethod
    def _param_names(cls) -> list[str]:
        """The constructor's arguments: the settings, as scikit-learn reads them."""
        init = cls.__init__
        if init is object.__init__:
            return []
        params = inspect.signature(init).parameters.values()
        return sorted(
            p.name for p in params if p.name != "self" and p.kind == p.POSITIONAL_OR_KEYWORD
        )

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params: Any) -> Method:
        valid = self._param_names()
        for key, value in params.items():
            if key not in valid:
                raise ValueError(
                    f"invalid parameter {key!r} for {type(self).__name__}; valid: {valid}"
                )
            setattr(self, key, value)
        return self

    def __repr__(self) -> str:
        defaults = {p.name: p.default for p in inspect.signature(type(self)).parameters.values()}
        changed = {k: v for k, v in self.get_params(deep=False).items() if defaults.get(k) != v}
        args = ", ".join(f"{k}={v!r}" for k, v in changed.items())
        return f"{type(self).__name__}({args})"

    def __sklearn_tags__(self):
        from sklearn.utils import RegressorTags, Tags, TargetTags

        return Tags(
            estimator_type="regressor",
            target_tags=TargetTags(required=True),
            regressor_tags=RegressorTags(),
        )

    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "x_scaler_")

    def score(self, X: np.ndarray, y: np.ndarray) -> float:
        """R² of the predictions against y (scikit-learn's regressor score)."""
        return r2_score(y, self.predict(X))

    # -- training -----------------------------------------------------------------
    def fit(
        self,
        X: np.ndarray,
        y: np.ndarray,
        X_val: np.ndarray | None = None,
        y_val: np.ndarray | None = None,
        *,
        monitor: FitMonitor | None = None,
    ) -> Method:
        """Standardise with the training data's statistics and fit; returns self.

        The validation set, when given, is the method's to use (early stopping, model
        selection); it is never trained on. A monitor, when given, sees the validation R²
        as the fit goes: at each validation of an iterative method, once at the end for a
        one-shot one.
        """
        names = column_names(X)
        target = getattr(y, "name", None)
        X, y, _ = validate_xy(match_columns(X, names), np.asarray(y), "training data")
        if (X_val is None) != (y_val is None):
            raise ValueError("give both X_val and y_val, or neither")
        if X_val is not None and len(X_val) == 0 and len(y_val) == 0:
            X_val = y_val = None  # an empty validation split (split.val = 0)
        if X_val is not None:
            X_val = match_columns(X_val, names, "validation data")
            X_val, y_val, _ = validate_xy(X_val, np.asarray(y_val), "validation data")
        if names is not None:
            self.feature_names_in_ = np.asarray(names, dtype=object)
        elif hasattr(self, "feature_names_in_"):
            del self.feature_names_in_  # a refit on arrays: no names any more
        self.target_name_ = None if target is None else str(target)
        # values too large to standardise are refused here, naming the column
        self.x_scaler_, self.y_scaler_ = fit_scalers(X, y, "training data", names, target)
        cols = np.ascontiguousarray(X.T)  # see Standardizer.fit: contiguous is faster
        self.x_min_, self.x_max_ = cols.min(axis=1), cols.max(axis=1)
        self.n_features_in_ = N_FEATURES
        self.n_train_ = len(X)
        self.status_ = "ok"
        self.history_: dict[str, list[float]] = {}
        Xs, ys = self.x_scaler_.transform(X), self.y_scaler_.transform(y)
        if X_val is not None:
            X_val, y_val = self.x_scaler_.transform(X_val), self.y_scaler_.transform(y_val)
        observed = len(monitor.curve) if monitor is not None else 0
        self._fit(Xs, ys, X_val, y_val, monitor)
        self.noise_var_ = None
        if X_val is not None:
            val_pred = self._predict(X_val)
            # the residual variance on validation, less what the model's own spread explains
            epistemic = self._epistemic_var(X_val)
            spread = 0.0 if epistemic is None else float(np.mean(epistemic))
            self.noise_var_ = max(0.0, float(np.mean((y_val - val_pred) ** 2)) - spread)
            if monitor is not None and len(monitor.curve) == observed:
                # a one-shot method: it reaches a target at the end of its fit or never
                monitor.observe(r2_score(y_val, val_pred), lambda: self._predict)
        return self

    def _fit(self, X, y, X_val, y_val, monitor: FitMonitor | None) -> None:
        """Fit on standardised arrays; an iterative method reports each validation's R² to
        the monitor (one-shot methods leave it to fit)."""
        raise NotImplementedError

    # -- prediction ---------------------------------------------------------------
    def _check_fitted(self) -> None:
        if not hasattr(self, "x_scaler_"):
            raise NotFittedError(f"this {type(self).__name__} is not fitted yet: call fit or load")

    @property
    def feature_names(self) -> list[str] | None:
        """The feature names the model was fitted with, in order (None: unnamed)."""
        names = getattr(self, "feature_names_in_", None)
        return None if names is None else [str(c) for c in names]

    def _points(self, X: Any) -> tuple[np.ndarray, bool]:
        self._check_fitted()
        return check_points(match_columns(X, self.feature_names))

    def predict(self, X: Any, return_std: bool = False):
        """Predict for one point of shape (5,) (returns a float) or a batch (m, 5): an
        array in training order, or a table (DataFrame) whose columns are matched to the
        fitted feature names, in any order.

        With return_std, also the predictive standard deviation for a new observation y:
        the method's own where it has one (a Gaussian process), else the square root of its
        spread (an ensemble's members) plus the residual variance it left on the
        validation split.
        """
        X, single = self._points(X)
        out, var = self._predictions(X, return_std)
        out = self.y_scaler_.inverse_transform(out)
        lost = ~np.isfinite(out)
        if lost.any():
            # never NaN without a word: how many, where and why (out_of_range flags them)
            why = "the points lie too far outside the training range for its arithmetic"
            if self.status_ == "diverged":
                why = "the model diverged in training"
            warnings.warn(
                f"{int(lost.sum())} of {len(out)} prediction(s) are not finite, at "
                f"{row_numbers(np.flatnonzero(lost), csv_rows=False)}: {why}",
                NonFinitePredictionWarning,
                stacklevel=2,
            )
        if not return_std:
            return float(out[0]) if single else out
        std = np.sqrt(var) * self.y_scaler_.scale
        std[lost] = np.nan  # no prediction, so no spread around it
        return (float(out[0]), float(std[0])) if single else (out, std)

    def _predictions(self, X: np.ndarray, return_std: bool) -> tuple[np.ndarray, np.ndarray | None]:
        """The mean and (with return_std) the variance at the checked points X, on the
        standardised target: _predict and _predict_var on the standardised points, a
        chunk at a time."""
        out = np.empty(len(X))
        var = np.empty(len(X)) if return_std else None
        for i in range(0, len(X), self.predict_chunk):
            chunk = self.x_scaler_.transform(X[i : i + self.predict_chunk])
            out[i : i + len(chunk)] = self._predict(chunk)
            if return_std:
                var[i : i + len(chunk)] = self._predict_var(chunk)
        return out, var

    def _predict(self, X: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _epistemic_var(self, X: np.ndarray) -> np.ndarray | None:
        """The model's own spread at X (an ensemble's variance), standardised; None: none."""
        return None

    def _predict_var(self, X: np.ndarray) -> np.ndarray:
        """Predictive variance of y at X, standardised: spread plus the validation residual."""
        if getattr(self, "noise_var_", None) is None:
            raise ValueError(
                f"this {type(self).__name__} was fitted without validation data, so its "
                "noise level is unknown: fit with X_val and y_val for a predictive std"
            )
        spread = self._epistemic_var(X)
        return self.noise_var_ + (0.0 if spread is None else spread)

    def has_std(self) -> bool:
        """Whether predict(return_std=True) gives a std: a method with a predictive
        variance of its own, or one fitted with validation data (its noise level)."""
        return getattr(self, "noise_var_", None) is not None

    def out_of_range(self, X: Any) -> np.ndarray:
        """True for each point outside the box spanned by the training inputs."""
        X, _ = self._points(X)
        return ((self.x_min_ > X) | (self.x_max_ < X)).any(axis=1)

    # -- persistence --------------------------------------------------------------
    def _state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """The fitted state beyond the common one: JSON values and arrays."""
        raise NotImplementedError

    def _restore(self, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        raise NotImplementedError

    def _saved_params(self) -> dict[str, Any]:
        return self.get_params()

    def to_metadata(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """What `save` writes: the metadata (settings, scalers, fitted state; JSON values)
        and the arrays; `_from_checked` reads them back."""
        self._check_fitted()
        meta, arrays = self._state()
        common = {
            "format_version": FORMAT_VERSION,
            "method": self.name,
            "params": self._saved_params(),
            "x_scaler": self.x_scaler_.to_dict(),
            "y_scaler": self.y_scaler_.to_dict(),
            "x_min": self.x_min_.tolist(),
            "x_max": self.x_max_.tolist(),
            "n_train": self.n_train_,
            "status": self.status_,
            "history": self.history_,
            "feature_names": self.feature_names,
            "target_name": self.target_name_,
            "noise_var": self.noise_var_,
        }
        return {**common, "state": meta}, arrays

    def save(self, path: str | Path) -> None:
        """One file of tensors and JSON (no pickle): settings, scalers, fitted state."""
        import torch

        meta, arrays = self.to_metadata()
        blob = {
            # standard JSON: NaN/inf (a history's unvalidated epochs) are written as null
            "metadata": json.dumps(json_safe(meta), allow_nan=False),
            "arrays": {k: torch.as_tensor(np.ascontiguousarray(v)) for k, v in arrays.items()},
        }
        torch.save(blob, path)

    @classmethod
    def load(cls, path: str | Path) -> Method:
        """A model saved by `save`, of this class (or any method, called on Method).

        Every key, shape and value is checked first: a damaged or hand-edited file is
        refused with one DataError naming the file and what is wrong, never a traceback
        from deep inside, a broadcast error at predict or NaN predictions without a word.
        """
        meta, arrays = read_model_file(path)
        try:
            est = cls._from_checked(meta, arrays)
        except DataError as e:
            raise DataError(f"{path}: {e}") from None
        return est

    @classmethod
    def _from_checked(cls, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> Method:
        """The model of a file's metadata and arrays, each checked (DataError says which)."""
        from interp5d.methods import REGISTRY, method_class

        if meta["method"] not in REGISTRY:
            raise DataError(f"unknown method {meta['method']!r}; known: {', '.join(REGISTRY)}")
        est_cls = method_class(meta["method"])
        if not issubclass(est_cls, cls):
            raise DataError(f"holds a {meta['method']!r} model, not a {cls.__name__}")
        params = meta["params"]
        if not isinstance(params, dict):
            raise DataError(f"params must be a mapping, got {type(params).__name__}")
        # settings of earlier versions that never changed a model: read, and dropped
        params = {k: v for k, v in params.items() if k not in est_cls.retired_params}
        unknown = sorted(set(params) - set(est_cls._param_names()))
        if unknown:
            raise DataError(f"params: unknown setting(s) {unknown} for {meta['method']!r}")
        est = est_cls(**params)
        for key, size in (("x_scaler", N_FEATURES), ("y_scaler", 1)):
            if not isinstance(meta[key], dict) or not {"mean", "scale"} <= set(meta[key]):
                raise DataError(f"{key} must be a mapping with 'mean' and 'scale'")
            numbers(meta[key]["mean"], f"{key}.mean", size)
            numbers(meta[key]["scale"], f"{key}.scale", size, positive=True)
        est.x_scaler_ = Standardizer.from_dict(meta["x_scaler"])
        est.y_scaler_ = Standardizer.from_dict(meta["y_scaler"], scalar=True)
        est.x_min_ = numbers(meta["x_min"], "x_min", N_FEATURES)
        est.x_max_ = numbers(meta["x_max"], "x_max", N_FEATURES)
        if (est.x_min_ > est.x_max_).any():
            raise DataError(f"x_min {est.x_min_.tolist()} exceeds x_max {est.x_max_.tolist()}")
        n_train = meta["n_train"]
        if not isinstance(n_train, int) or isinstance(n_train, bool) or n_train < 1:
            raise DataError(f"n_train must be a whole number >= 1, got {n_train!r}")
        est.n_features_in_, est.n_train_ = N_FEATURES, n_train
        for key, kind in (("status", str), ("history", dict), ("state", dict)):
            if not isinstance(meta[key], kind):
                raise DataError(f"{key} must be a {kind.__name__}, got {meta[key]!r}")
        est.status_ = meta["status"]
        # a history's NaN (epochs without validation) is saved as null: NaN again here
        est.history_ = {
            k: [math.nan if v is None else v for v in vals] if isinstance(vals, list) else vals
            for k, vals in meta["history"].items()
        }
        names = meta["feature_names"]
        if names is not None:
            if (
                not isinstance(names, list)
                or len(names) != N_FEATURES
                or not all(isinstance(c, str) for c in names)
                or len(set(names)) != N_FEATURES
            ):
                raise DataError(f"feature_names must be {N_FEATURES} distinct names, got {names}")
            est.feature_names_in_ = np.asarray(names, dtype=object)
        if meta["target_name"] is not None and not isinstance(meta["target_name"], str):
            raise DataError(f"target_name must be a name or null, got {meta['target_name']!r}")
        est.target_name_ = meta["target_name"]
        noise = meta["noise_var"]
        if noise is not None and (
            not isinstance(noise, int | float) or not math.isfinite(noise) or noise < 0
        ):
            raise DataError(f"noise_var must be a finite number >= 0 or null, got {noise!r}")
        est.noise_var_ = noise
        est._restore(meta["state"], arrays)
        return est


COMMON_KEYS = (
    "format_version",
    "method",
    "params",
    "x_scaler",
    "y_scaler",
    "x_min",
    "x_max",
    "n_train",
    "status",
    "history",
    "feature_names",
    "target_name",
    "noise_var",
    "state",
)


def require_keys(meta: dict[str, Any], keys: list[str] | tuple[str, ...], where: str = "") -> None:
    """Refuse metadata without `keys`, naming the missing ones (under `where`.)."""
    missing = [f"{where}{k}" for k in keys if k not in meta]
    if missing:
        raise DataError(f"metadata key(s) {missing} missing")


def numbers(value: Any, what: str, size: int, positive: bool = False) -> np.ndarray:
    """`value` as `size` finite float64 numbers (each > 0 with `positive`), else a
    DataError naming `what`."""
    try:
        a = np.asarray(value, dtype=np.float64).reshape(-1)
        ok = np.ndim(value) <= 1 and a.size == size and np.isfinite(a).all()
        ok = ok and (not positive or (a > 0).all())
    except (TypeError, ValueError):
        a, ok = np.asarray([]), False
    if not ok:
        cond = " > 0" if positive else ""
        raise DataError(
            f"{what} must be {size} finite number(s){cond}, got {a.size}: {value!r:.80}"
        )
    return a


def check_arrays(
    arrays: dict[str, np.ndarray], shapes: dict[str, tuple[int | None, ...]], why: str = ""
) -> None:
    """Refuse a file whose arrays are not exactly `shapes` (None: any length), naming the
    missing and unexpected arrays or the first of the wrong shape; `why` says where the
    expected shapes come from."""
    missing = [k for k in shapes if k not in arrays]
    unexpected = [k for k in arrays if k not in shapes]
    if missing or unexpected:
        raise DataError(f"array(s) {missing} missing, {unexpected} unexpected{why}")
    for key, shape in shapes.items():
        got = arrays[key].shape
        fits = len(got) == len(shape)
        if not fits or any(e is not None and g != e for g, e in zip(got, shape, strict=True)):
            expected = "(" + ", ".join("n" if e is None else str(e) for e in shape)
            expected += ",)" if len(shape) == 1 else ")"
            raise DataError(f"array {key!r} has shape {got}, expected {expected}{why}")


def read_model_file(path: str | Path) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """The metadata and arrays of a model file (tensors and JSON only: weights_only),
    with every common metadata key present and every array finite (a diverged model's
    aside: its weights may hold NaN, and predict_file refuses it); else a DataError
    naming the file and what is wrong."""
    import torch

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such model file")
    try:
        blob = torch.load(path, map_location="cpu", weights_only=True)
        meta = json.loads(blob["metadata"])
    except Exception as e:
        raise DataError(f"{path}: not an interp5d model file ({e})") from None
    if not isinstance(meta, dict):
        raise DataError(f"{path}: not an interp5d model file (its metadata is not a mapping)")
    version = meta.get("format_version")
    if version != FORMAT_VERSION:
        raise DataError(
            f"{path}: model format {version} is not {FORMAT_VERSION}; refit the model with "
            "this version (python -m interp5d fit, or rerun the workflow)"
        )
    if not isinstance(blob.get("arrays"), dict):
        raise DataError(f"{path}: not an interp5d model file (no mapping of arrays)")
    try:
        require_keys(meta, COMMON_KEYS)
    except DataError as e:
        raise DataError(f"{path}: {e}") from None
    arrays = {}
    for key, value in blob["arrays"].items():
        if not isinstance(value, torch.Tensor):
            raise DataError(f"{path}: array {key!r} is a {type(value).__name__}, not a tensor")
        arrays[key] = value.numpy()
        bad = int((~np.isfinite(arrays[key])).sum()) if value.is_floating_point() else 0
        if bad and meta["status"] != "diverged":
            raise DataError(f"{path}: array {key!r} holds {bad} NaN/inf value(s)")
    return meta, arrays
