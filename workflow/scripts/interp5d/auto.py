"""Interpolator: the default 5-D interpolator. It fits a few candidates, chosen by the
number of training rows, and keeps one by its validation MSE (the one-standard-error rule):
a Gaussian process (kriging's accuracy with few samples), the MLP recipe (its speed with
many), or their mean."""

from __future__ import annotations

import math
import time
from typing import Any, ClassVar

import numpy as np

from interp5d.data import DataError, Standardizer
from interp5d.fastpath import (
    Affine,
    GPPoint,
    MeanPoint,
    PointPath,
    gp_batch_path,
    point_path,
)
from interp5d.functions import N_FEATURES
from interp5d.methods.base import COMMON_KEYS, Method, require_keys
from interp5d.recipes import Recipe, RecipeParams

__all__ = ["Interpolator"]

# what a saved choice may hold, and the models it keeps
PARTS = {"gp": ["gp"], "mlp": ["mlp"], "blend": ["gp", "mlp"]}
# the order of preference among candidates whose validation MSEs are within the rule's
# margin: the fewest fitted parameters first (the GP's six hyperparameters, then the mean
# of the two, then the MLP's ~2,500 weights)
PREFERENCE = ("gp", "blend", "mlp")


def select(sq_errors: dict[str, np.ndarray], se_rule: float) -> tuple[str, str, dict]:
    """The candidate to keep, given each one's squared errors on the same validation rows:
    the first in PREFERENCE whose MSE is at most `se_rule` standard errors above the lowest
    (the standard error of the mean of their paired differences: the one-standard-error
    rule of Hastie, Tibshirani and Friedman, The Elements of Statistical Learning, 7.10);
    0 keeps the lowest. Returns the name, why, and each candidate's standard error."""
    mse = {c: float(np.mean(v)) for c, v in sq_errors.items()}
    finite = [c for c in PREFERENCE if c in mse and math.isfinite(mse[c])]
    if not finite:  # every candidate failed: the first, as the plain path will say
        return next(c for c in PREFERENCE if c in mse), "no candidate's MSE is finite", {}
    lowest = min(finite, key=lambda c: mse[c])
    se = {}
    for c in finite:
        d = sq_errors[c] - sq_errors[lowest]
        se[c] = float(np.std(d, ddof=1) / math.sqrt(len(d))) if len(d) > 1 else 0.0
    chosen = next(c for c in finite if c == lowest or mse[c] - mse[lowest] <= se_rule * se[c])
    if chosen == lowest:
        return chosen, "lowest validation MSE", se
    why = (
        f"within {se_rule:g} standard error(s) of the lowest validation MSE ({lowest}'s), "
        f"and before it in the order {', '.join(PREFERENCE)}"
    )
    return chosen, why, se


class Interpolator(RecipeParams, Method):
    """The default interpolator: model selection on the validation split.

    Candidates, by the number n of training rows:
    - a Gaussian process (`gp`: product Matérn 5/2; hyperparameters searched on a seeded
      subsample of `gp_select_rows` rows to a relative change of `gp_tol`, then refined
      by a few steps on `gp_refine_rows` rows; solved on all rows, or on `gp_rows` of
      them when n is larger: a seeded random 60%, then four blocks of the rows it
      predicts worst, its `solve_rows`. At 10,000 samples (7,000 training rows) of
      tp_tanh, tp_exp and borehole, seeds 1-3, those 5,000 rows had 0.6-1.5x the test MSE
      of the GP on every row, where a random 4,000 (the cap until now) had 3-9x; fit
      seconds: docs/reference/default_interpolator.md), while n <= `gp_up_to`; above
      gp_rows, its
      first search is done first, alone (and, where the GP is kept, not again), and where
      it puts the noise at `gp_noise_share` of the target's variance or more the GP is
      dropped: the MLP on every row reaches that floor, and a noisy target's large fit
      stays fast (None: never dropped). On
      the study's three noisy functions (seeds 1-3, 7,000 and 10,000 samples) the MLP's
      test MSE was 0.09-1.05x the GP's on 4,000 rows; the screen found noise shares of
      0.0042-0.048 on them and at most 0.00022 on the five noise-free ones (seeds 1-3
      and 42-44, 4,300 and 10,000 samples). A kink that a smooth kernel cannot resolve
      reads as noise too: there the MLP is the better model anyway. At most `gp_rows`,
      where the first search puts the noise at `gp_noise_share` or more, the refine is
      a wider search (GaussianProcess's `noisy_search`): on synthetic5d (seeds 1-3), test
      MSE 0.42-0.54x at 3,000 samples and 0.58-1.00x at 1,000, at 0.2-0.8 s more; friedman1
      and piston within 0.1%, and the five noise-free functions' fits at 1,000 and 3,000
      samples unchanged, bit for bit. Then its length scales are moved together to where
      the leave-one-out error on the refine's rows is least, where that beats the
      likelihood's scales by a margin (GaussianProcess's `length_cv`; `gp_length_cv`
      False: not);
    - the MLP `recipe` (`mlp`: `tuned` by default; its settings one by one as
      `recipe__<key>`, as MLPInterpolator's) on all rows, always.

    Each is fitted on the training rows and scored by its MSE on (at most `val_rows` of)
    the validation rows, which none trains on, as is `blend`, the two's mean. The lowest
    is kept, unless one before it in the order gp, blend, mlp is within `se_rule`
    standard errors of it (the one-standard-error rule; see `select`): a validation split
    of a few dozen rows ranks candidates noisily, and the GP has the fewest fitted
    parameters. `parts_` holds the one model, or both for a blend, and `choice_` records
    every candidate's validation MSE and its standard error, fit seconds and rows, and
    the GP's leave-one-out MSEs by move of its length scales (`gp_length_cv`; the model
    file and the run record keep it). With no validation data the choice is by size
    alone: the GP where it is a candidate. Prediction and the gradient are the chosen
    model's (a blend's: the mean of its two's); the predictive std is the model's own, a
    blend's the two's spread plus its validation residual. One point (shape (5,)) takes a
    fast numpy path (interp5d.fastpath) where the models have one.

    `threads` bounds torch's and the BLAS pools' threads during fit (None: leave them),
    set back after it; prediction uses the MLP's torch threads, the GP's numpy as it is.
    """

    name: ClassVar[str] = "auto"

    def __init__(
        self,
        recipe: str | dict[str, Any] | Recipe = "tuned",
        seed: int = 42,
        threads: int | None = 1,
        device: str = "cpu",
        gp_rows: int = 5000,
        gp_up_to: int = 20_000,
        gp_select_rows: int = 300,
        gp_refine_rows: int = 1000,
        gp_tol: float = 1e-7,
        val_rows: int = 5000,
        se_rule: float = 1.0,
        gp_noise_share: float | None = 1e-3,
        gp_length_cv: bool = True,
        log_every_s: float | None = None,
    ) -> None:
        self.recipe = recipe
        self.seed = seed
        self.threads = threads
        self.device = device
        self.gp_rows = gp_rows
        self.gp_up_to = gp_up_to
        self.gp_select_rows = gp_select_rows
        self.gp_refine_rows = gp_refine_rows
        self.gp_tol = gp_tol
        self.val_rows = val_rows
        self.se_rule = se_rule
        self.gp_noise_share = gp_noise_share
        self.gp_length_cv = gp_length_cv
        self.log_every_s = log_every_s

    # -- the candidates -----------------------------------------------------------
    def candidates(self, n: int) -> dict[str, Method]:
        """The unfitted candidates for n training rows, by name."""
        from interp5d.interpolator import MLPInterpolator
        from interp5d.methods.gp import GaussianProcess

        out: dict[str, Method] = {}
        if n <= self.gp_up_to:
            out["gp"] = GaussianProcess(
                select_rows=self.gp_select_rows,
                max_rows=self.gp_rows,
                solve_rows=self.gp_rows,
                refine_rows=self.gp_refine_rows,
                tol=self.gp_tol,
                noisy_search=self.gp_noise_share,
                length_cv=self.gp_length_cv,
                seed=self.seed,
            )
        out["mlp"] = MLPInterpolator(
            recipe=self.recipe,
            seed=self.seed,
            threads=self.threads,
            device=self.device,
            log_every_s=self.log_every_s,
        )
        return out

    def _check_settings(self) -> None:
        for key in ("gp_rows", "gp_up_to", "gp_select_rows", "gp_refine_rows", "val_rows"):
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"auto: {key} must be a whole number >= 1, got {value!r}")
        if not isinstance(self.gp_length_cv, bool):
            raise ValueError(f"auto: gp_length_cv must be true or false, got {self.gp_length_cv!r}")
        rule = self.se_rule
        if isinstance(rule, bool) or not isinstance(rule, (int, float)) or not 0 <= rule <= 1e3:
            raise ValueError(f"auto: se_rule must be a number from 0 to 1000, got {rule!r}")
        share = self.gp_noise_share
        if share is not None and (
            isinstance(share, bool) or not isinstance(share, (int, float)) or not 0 < share <= 1
        ):
            raise ValueError(f"auto: gp_noise_share must be in (0, 1] or None, got {share!r}")

    def _limits(self):
        from interp5d.threads import thread_limits

        if self.threads is None:
            import contextlib

            return contextlib.nullcontext()
        return thread_limits(self.threads)

    def _screen(self, X: np.ndarray, y: np.ndarray) -> dict[str, Any]:
        """The GP candidate's first search alone, on the rows it would search (its seed's
        first draw of gp_select_rows of X): the noise's share of the target's variance
        it finds (λσ², the target standardised), its optimum and its seconds."""
        from interp5d.methods.gp import GaussianProcess

        t0 = time.perf_counter()
        k = min(len(X), self.gp_select_rows)
        sub = np.random.default_rng(self.seed).choice(len(X), k, replace=False)
        probe = GaussianProcess(select_rows=k, tol=self.gp_tol, seed=self.seed)
        probe.fit(X[sub], y[sub])
        return {
            "noise_share": probe.noise_level_ * probe.sigma2_,
            "theta": probe.theta_.tolist(),
            "rows": k,
            "fit_s": time.perf_counter() - t0,
        }

    def _fit(self, X, y, X_val, y_val, monitor) -> None:
        self._check_settings()
        self._fast, self._batch, self._direct = None, None, None
        rng = np.random.default_rng(self.seed)
        val_pred: dict[str, np.ndarray] = {}
        seconds: dict[str, float] = {}
        rows: dict[str, int] = {}
        fitted: dict[str, Method] = {}
        if X_val is not None and len(X_val) > self.val_rows:
            keep = np.sort(rng.choice(len(X_val), self.val_rows, replace=False))
            X_score, y_score = X_val[keep], y_val[keep]
        else:
            X_score, y_score = X_val, y_val
        candidates = self.candidates(len(X))
        screen = None
        with self._limits():
            # above gp_rows (the GP then solved on gp_rows of the rows: its cost grows as
            # n³) its first search screens for noise
            large = "gp" in candidates and len(X) > self.gp_rows
            if large and self.gp_noise_share is not None:
                screen = self._screen(X, y)
                if screen["noise_share"] >= self.gp_noise_share:
                    del candidates["gp"]
                else:  # the screen was its first search: not run again, and its
                    # share already found the target not noisy (no wide search)
                    candidates["gp"].set_params(
                        theta0=screen["theta"], first_search=False, noisy_search=None
                    )
            for name, est in candidates.items():
                t0 = time.perf_counter()
                est.fit(X, y, X_val, y_val)
                seconds[name] = time.perf_counter() - t0
                # the rows its model holds (a GP's: those it was solved on)
                rows[name] = len(getattr(est, "X_train_", X))
                fitted[name] = est
                if X_score is not None:
                    val_pred[name] = est.predict(X_score)
        if len(val_pred) == 2:
            # the two's mean: where their errors differ, it beats both (free to score)
            val_pred["blend"] = (val_pred["gp"] + val_pred["mlp"]) / 2
        sq_errors = {name: (pred - y_score) ** 2 for name, pred in val_pred.items()}
        scores = {}
        for name, sq in sq_errors.items():
            mse = float(np.mean(sq))
            scores[name] = mse if math.isfinite(mse) else None
        se: dict[str, float] = {}
        if scores:
            chosen, why, se = select(sq_errors, float(self.se_rule))
        else:
            chosen = "gp" if "gp" in fitted else "mlp"
            why = "no validation data: by size (the GP where it is a candidate)"
        if screen is not None and "gp" not in fitted:
            why = (
                f"the GP was dropped: above gp_rows={self.gp_rows} training rows, its first "
                f"search put the noise at {screen['noise_share']:.2g} of the target's "
                f"variance (gp_noise_share={self.gp_noise_share:g}), a floor the MLP on "
                "every row reaches"
            )
        self.parts_ = [fitted["gp"], fitted["mlp"]] if chosen == "blend" else [fitted[chosen]]
        diverged = [p.status_ for p in self.parts_ if p.status_ == "diverged"]
        self.status_ = diverged[0] if diverged else self.parts_[-1].status_
        self.history_ = dict(self.parts_[-1].history_)
        # validation MSEs are on the standardised target; scale to the data's units
        y_var = float(self.y_scaler_.scale) ** 2
        self.choice_ = {
            "chosen": chosen,
            "why": why,
            "val_mse": {k: None if v is None else v * y_var for k, v in scores.items()},
            # the standard error of each one's paired difference from the lowest
            "val_se": {k: v * y_var for k, v in se.items()},
            "val_rows": 0 if X_score is None else len(X_score),
            "fit_s": seconds,
            "rows": rows,
        }
        if "gp" in fitted:
            # the GP's length scales' move by leave-one-out error (see GaussianProcess)
            self.choice_["gp_length_cv"] = getattr(fitted["gp"], "length_cv_", None)
            # rows the GP used once, each an exact copy of one before it (first_copies)
            self.choice_["gp_copied_rows"] = getattr(fitted["gp"], "copied_rows_", None)
        if screen is not None:
            self.choice_["screen"] = {k: v for k, v in screen.items() if k != "theta"}
        self._fast, self._batch = self._point_path(), self._batch_paths()
        self._direct = self._direct_scaler()

    @property
    def chosen_(self) -> Method:
        """The chosen model (for a blend, its GP; see parts_ for both)."""
        return self.parts_[0]

    def _point_path(self) -> PointPath | None:
        paths = [point_path(p, (self.x_scaler_, self.y_scaler_)) for p in self.parts_]
        if any(p is None for p in paths):
            return None
        return paths[0] if len(paths) == 1 else MeanPoint(paths)

    def _batch_paths(self) -> list[GPPoint | None]:
        """Each part's compiled batch path (a GP's, where the native library loads)."""
        return [gp_batch_path(p) for p in self.parts_]

    def _direct_scaler(self) -> Standardizer | None:
        """For one model without a compiled batch path (the MLP; a GP where the native
        library does not load): the default's standardisation of the points and the
        model's own, composed into one (as the fast path's), so that a batch is
        standardised once, not twice (~1 ms per 65,536 rows each); None otherwise."""
        if len(self.parts_) != 1 or self._batch[0] is not None:
            return None
        affine = Affine((self.x_scaler_, self.y_scaler_), self.parts_[0])
        return Standardizer(mean=affine.x_mean, scale=affine.x_scale)

    def _parts_paths(self) -> list[tuple[Method, GPPoint | None]]:
        batch = getattr(self, "_batch", None) or [None] * len(self.parts_)
        return list(zip(self.parts_, batch, strict=True))

    # -- prediction ---------------------------------------------------------------
    # prediction leaves the thread pools alone: setting them costs ~1.5 ms a call (the MLP
    # sets torch's threads itself, as it does in fit). Each part's own _predict on its own
    # standardisation, in its own chunks (a GP's hold chunk x n_train numbers): the points
    # were checked once, by predict
    @staticmethod
    def _inner(
        part: Method,
        X: np.ndarray,
        var: bool,
        batch: GPPoint | None = None,
        scaler: Standardizer | None = None,
    ) -> np.ndarray:
        # `scaler`: X's rows into the part's inputs (default: its own standardisation, X on
        # the default's already)
        if batch is not None and not var:
            # a GP's mean in one compiled loop over the points (its numpy form: below)
            return batch.batch(X)
        scaler = part.x_scaler_ if scaler is None else scaler
        out = np.empty(len(X))
        for i in range(0, len(X), part.predict_chunk):
            Xc = scaler.transform(X[i : i + part.predict_chunk])
            out[i : i + len(Xc)] = part._predict_var(Xc) if var else part._predict(Xc)
        if var:
            return out * float(part.y_scaler_.scale) ** 2
        return part.y_scaler_.inverse_transform(out)

    def _predictions(self, X: np.ndarray, return_std: bool) -> tuple[np.ndarray, np.ndarray | None]:
        direct = getattr(self, "_direct", None)
        if return_std or direct is None:
            return super()._predictions(X, return_std)
        # one model, on its own standardisation of the points straight from theirs (see
        # _direct_scaler); out on the default's standardised target
        return self._inner(self.parts_[0], X, False, scaler=direct), None

    def _predict(self, X: np.ndarray) -> np.ndarray:
        preds = [self._inner(p, X, False, b) for p, b in self._parts_paths()]
        return preds[0] if len(preds) == 1 else (preds[0] + preds[1]) / 2

    def _epistemic_var(self, X: np.ndarray) -> np.ndarray | None:
        # a blend's two models' spread (their mixture's variance); one model has none here
        if len(self.parts_) == 1:
            return None
        a, b = (self._inner(p, X, False, path) for p, path in self._parts_paths())
        return ((a - b) / 2) ** 2

    def _predict_var(self, X: np.ndarray) -> np.ndarray:
        # one model: its own predictive variance; a blend: the two's spread plus the
        # residual variance it left on the validation split (Method's rule)
        if len(self.parts_) == 1:
            return self._inner(self.parts_[0], X, var=True)
        return super()._predict_var(X)

    def has_std(self) -> bool:
        if not hasattr(self, "parts_"):
            return False
        return self.parts_[0].has_std() if len(self.parts_) == 1 else super().has_std()

    def _fast_for(self, X: Any) -> PointPath | None:
        """The fast path where X is one point of finite float64 numbers and there is one;
        else None (the plain path then refuses or warns, as it does)."""
        fast: PointPath | None = getattr(self, "_fast", None)
        if (
            fast is not None
            and type(X) is np.ndarray
            and X.shape == (N_FEATURES,)
            and X.dtype == np.float64
            and math.isfinite(X.sum())
        ):
            return fast
        return None

    def predict(self, X: Any, return_std: bool = False):
        fast = None if return_std else self._fast_for(X)
        if fast is not None:
            value = fast.value(X)
            if math.isfinite(value):  # else the plain path warns
                return value
        return super().predict(X, return_std)

    def predict_grad(self, X: Any) -> np.ndarray:
        """The gradient of the prediction with respect to the inputs, ∂ŷ/∂x (m, 5) in the
        data's units (for one point of shape (5,), shape (5,)): the chosen model's (a
        blend's: the mean of its two's)."""
        fast = self._fast_for(X)
        if fast is not None:
            g = fast.grad(X)
            if np.isfinite(g).all():
                return g
        X, single = self._points(X)
        Xs = self.x_scaler_.transform(X)
        g = np.mean([np.atleast_2d(p.predict_grad(Xs)) for p in self.parts_], axis=0)
        out = g * (self.y_scaler_.scale / self.x_scaler_.scale)
        return out[0] if single else out

    def predict_plain(self, X: Any) -> Any:
        """predict without the one-point fast path (the reference it is tested against):
        the batch path, a GP's compiled loop included (tied to its numpy form by its own
        test)."""
        return super().predict(X)

    # -- persistence --------------------------------------------------------------
    def _saved_params(self) -> dict[str, Any]:
        params = self.get_params(deep=False)
        if isinstance(self.recipe, Recipe):  # a Recipe as its settings: JSON
            params["recipe"] = self.recipe.to_dict()
        return params

    def _state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        metas, arrays = [], {}
        for i, part in enumerate(self.parts_):
            meta, part_arrays = part.to_metadata()
            metas.append(meta)
            arrays.update({f"part{i}.{k}": v for k, v in part_arrays.items()})
        return {"choice": self.choice_, "parts": metas}, arrays

    def _restore(self, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        require_keys(meta, ("choice", "parts"), "state.")
        choice, parts = meta["choice"], meta["parts"]
        if not isinstance(choice, dict) or choice.get("chosen") not in PARTS:
            raise DataError(f"state.choice must name one of {list(PARTS)}, got {choice!r:.80}")
        expected = PARTS[choice["chosen"]]
        if not isinstance(parts, list) or not all(isinstance(p, dict) for p in parts):
            raise DataError("state.parts must be a list of the models' metadata")
        methods = [p.get("method") for p in parts]
        if methods != expected:
            raise DataError(
                f"state.parts holds {methods}, the choice {choice['chosen']!r} is {expected}"
            )
        prefixes = tuple(f"part{i}." for i in range(len(parts)))
        stray = [k for k in arrays if not k.startswith(prefixes)]
        if stray:
            raise DataError(f"array(s) {stray} unexpected (only {', '.join(prefixes)}*)")
        self.parts_ = []
        for i, part in enumerate(parts):
            try:
                require_keys(part, COMMON_KEYS)
                prefix = f"part{i}."
                own = {k[len(prefix) :]: v for k, v in arrays.items() if k.startswith(prefix)}
                self.parts_.append(Method._from_checked(part, own))
            except DataError as e:
                raise DataError(f"state.parts[{i}]: {e}") from None
        self.choice_ = choice
        self._fast, self._batch = self._point_path(), self._batch_paths()
        self._direct = self._direct_scaler()

    @classmethod
    def load(cls, path):
        """A model saved by `save`: this default's, or any method's (an MLPInterpolator's,
        a baseline's), as the file holds it."""
        return Method.load(path)
