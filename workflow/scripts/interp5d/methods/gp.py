"""A Gaussian process of our own (numpy, scipy's LAPACK and L-BFGS-B): a Matérn or
squared-exponential correlation with one length scale per input, a constant mean, a noise
term that can go to ~0; hyperparameters by the marginal likelihood and its analytic
gradient, searched on a subsample, then one exact solve on all the rows."""

from __future__ import annotations

import contextlib
from typing import Any, ClassVar

import numpy as np
from scipy.linalg import LinAlgError, solve_triangular

from interp5d.data import DataError
from interp5d.functions import N_FEATURES
from interp5d.methods.base import Method, check_arrays
from interp5d.methods.gp_kernels import (
    FAILED,
    KERNELS,
    NUS,
    Likelihood,
    Solve,
    copy_triangle,
    correlation,
    loo_residuals,
    ordinary_pages,
)
from interp5d.methods.gp_rows import (
    GREEDY_NOISE_STEPS,
    BlockFactor,
    greedy_blocks,
    worst_predicted,
)

LOG_LENGTH_BOUNDS = (np.log(1e-2), np.log(1e3))  # on standardised inputs (std 1)
LOG_NOISE_MAX = np.log(1e2)  # the noise variance over the process variance
# SMT's KRG's nugget (100 machine epsilons): a floor of 1e-8 instead costs 10-60x in test
# MSE on noise-free Styblinski-Tang at 210 rows (long length scales, so ill-conditioned)
NUGGET = 100.0 * float(np.finfo(np.float64).eps)
BUILD_ROWS = 1024  # the correlation matrix is built this many rows at a time
REFINE_STEPS = 10  # likelihood evaluations of the refining search at most
# the wide search's (noisy_search): from the default start, it needs 16-20 evaluations on
# synthetic5d's 1,000 refine rows to reach the basin that resolves its bump (seeds 1-3;
# 8 and 12 reached it on one seed of three)
NOISY_STEPS = 20
# the refining search's second start: the first search's optimum with its length scales cut
# to e² (on standardised inputs). Where that search dropped an input (a length scale of e³
# and above: its correlation nearly flat across the data), its gradient is ~0 and the refine
# never brings it back, although more rows can resolve it (synthetic5d's bump in x3-x4, which
# 300 rows miss); the likelihood on the refine's rows chooses between the two starts
REFINE_LOG_LENGTH_CAP = 2.0
# length_cv: the length scales moved together, by steps of CV_STEP in their logs (x1.105)
# up to CV_REACH either way, to where the leave-one-out error on the search's rows is
# least, kept where it beats the likelihood's scales by CV_SE standard errors of the paired
# difference. Chosen on seeds 1-3 of the samples study's eight functions at 100-10,000
# samples (40 cells, the GP alone): with 1 standard error, one cell's test MSE rose (1.11x,
# styblinski_tang at 100) and 10 fell below 0.8x; with 2, none rose and 8 fell below 0.8x
CV_STEP = 0.1
CV_REACH = 1.0
CV_SE = 2.0


class EvaluationCap(Exception):
    """A capped likelihood's last allowed evaluation is spent."""


class Capped:
    """A likelihood that ends the search after `limit` evaluations, keeping the best point
    it saw (the start is the first): L-BFGS-B checks its own `maxfun` only between
    iterations, so its line searches overran it (21-39 evaluations where 10 were set, on
    noise-free targets: each at 1,000 rows ~0.1 s)."""

    def __init__(
        self,
        f: Likelihood,
        limit: int,
        known: tuple[np.ndarray, float, np.ndarray] | None = None,
    ) -> None:
        self.f, self.limit, self.evaluations = f, limit, 0
        self.best_value, self.best_theta = np.inf, None
        self.known = known  # (theta, value, gradient) already evaluated: not again
        self.reused = 0  # evaluations answered from `known`

    def __call__(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        if self.evaluations >= self.limit:
            raise EvaluationCap
        self.evaluations += 1
        if self.known is not None and np.array_equal(theta, self.known[0]):
            value, grad = self.known[1], self.known[2].copy()
            self.reused += 1
        else:
            value, grad = self.f(theta)
        if self.best_theta is None or value < self.best_value:
            self.best_value, self.best_theta = value, np.array(theta, dtype=np.float64)
        return value, grad


def first_rows(A: np.ndarray) -> np.ndarray:
    """The indices of A's rows that repeat no row before them, in order."""
    return np.sort(np.unique(A, axis=0, return_index=True)[1])


def first_copies(X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """The rows without those that repeat an earlier row exactly, inputs and target, in
    their order, and how many were left out. A copy adds nothing to the data a GP
    interpolates, but its matrix has two equal rows, singular at the noise floor: the
    search and the solve then had to lift the noise (300 samples of Styblinski-Tang, each
    given twice: a test MSE of 4,500 against 0.02 once). Rows with the same inputs and
    another target are replicates, kept: they are evidence of noise."""
    first = first_rows(np.column_stack([X, y]))
    if len(first) == len(X):
        return X, y, 0
    return X[first], y[first], len(X) - len(first)


class GaussianProcess(Method):
    """Ordinary kriging: y = β + f(x) + ε, f a GP of variance σ² with the correlation
    `kernel` (`product_matern`: a product of one-input Matérn(ν) correlations, SMT's KRG's
    form, which fits sums of one-input effects such as Styblinski-Tang; `matern`: Matérn(ν)
    of the scaled distance; `sqexp`: squared exponential), one length scale per input, and
    noise ε of variance λσ², λ bounded below by `noise_floor` (~0 lets it interpolate a
    noise-free target). β and σ² are profiled out of the likelihood; the length scales and
    λ maximise it by L-BFGS-B with the analytic gradient, on a seeded subsample of at most
    `select_rows` training rows, from one start (`theta0`: the log length scales, then
    log λ; None: length scales 1, λ 1e-4, near interpolation, so that noise does not
    explain a smooth target; with `first_search` False, `theta0` is taken as that search's
    optimum, the search not run again) and `restarts` seeded
    random ones (none by default, as scikit-learn's: at 210 rows of six of the study's
    functions, seeds 7-9, two more starts changed no test MSE by more than 1%), until the
    likelihood's relative change falls below `tol` (None: scipy's default ftol), and with
    `refine_rows` a second search on that many rows (REFINE_STEPS likelihood evaluations
    at most: from a good start, each dearer) from that optimum or from it with its length
    scales cut to e² (REFINE_LOG_LENGTH_CAP), whichever is likelier on those rows, each
    with its noise ratio stepped up until their matrix can be factorised. With
    `noisy_search`, where the first search puts the noise at that share of the target's
    variance or more (λσ² on its rows), that refine is instead a search from the default
    start on the refine's rows (NOISY_STEPS evaluations at most), kept where its likelihood
    there beats the first optimum's: 300 rows of a noisy target can leave a feature for
    noise that more rows resolve (synthetic5d's bump; see Interpolator). Then one
    exact solve on all the training rows or, with more than `solve_rows` of them, on that
    many: a seeded random share first, then blocks of the rows it predicts worst (see
    interp5d.methods.gp_rows), their order and blocks kept for the saved model's solve,
    its noise ratio one tenfold step above the floor at least (GREEDY_NOISE_STEPS).
    With `length_cv`, before the solve the length scales are moved together to where the
    leave-one-out error on the last search's rows is least (see CV_STEP), where that beats
    the likelihood's by a margin: with a kernel that is not the target's, the likelihood's
    length scales can predict worse than others (Bachoc 2013, arXiv:1301.4320); on the
    samples study's functions they were too short on a tanh product, and too long on
    Styblinski-Tang and Rosenbrock at 3,000 samples and more.
    Settings after SMT's KRG (constant trend,
    matern52, profiled variance, its nugget as the floor) and scikit-learn's GP
    (length-scale bounds 1e-2..1e3). A row that repeats an earlier one exactly, inputs and
    target, is used once (copied_rows_ counts those left out; see first_copies). Its cost
    grows as n³ (memory as n²), so a solve on
    more than `max_rows` rows is refused. Its predictive std is its own: kriging's variance
    (the constant mean's uncertainty included) plus the fitted noise: it is for y."""

    name: ClassVar[str] = "gp"
    predict_chunk: int = 2048  # the cross-correlation of a chunk: chunk x n_train float64

    def __init__(
        self,
        kernel: str = "product_matern",
        nu: float = 2.5,
        noise_floor: float = NUGGET,
        select_rows: int = 1000,
        max_rows: int = 8000,
        restarts: int = 0,
        tol: float | None = None,
        refine_rows: int | None = None,
        theta0: list[float] | None = None,
        first_search: bool = True,
        noisy_search: float | None = None,
        solve_rows: int | None = None,
        length_cv: bool = False,
        seed: int = 42,
    ):
        self.kernel = kernel
        self.nu = nu
        self.noise_floor = noise_floor
        self.select_rows = select_rows
        self.max_rows = max_rows
        self.restarts = restarts
        self.tol = tol
        self.refine_rows = refine_rows
        self.theta0 = theta0
        self.first_search = first_search
        self.noisy_search = noisy_search
        self.solve_rows = solve_rows
        self.length_cv = length_cv
        self.seed = seed

    def _check_settings(self) -> None:
        if not isinstance(self.length_cv, bool):
            raise ValueError(f"gp: length_cv must be true or false, got {self.length_cv!r}")
        if self.kernel not in KERNELS:
            raise ValueError(f"gp: unknown kernel {self.kernel!r}; known: {', '.join(KERNELS)}")
        if self.nu not in NUS:
            raise ValueError(f"gp: nu must be one of {NUS}, got {self.nu}")
        if self.tol is not None and not 0 < self.tol < 1:
            raise ValueError(f"gp: tol must be in (0, 1) or None, got {self.tol}")
        if not 0 < self.noise_floor < 1:
            raise ValueError(f"gp: noise_floor must be in (0, 1), got {self.noise_floor}")
        if self.theta0 is not None:
            try:
                theta0 = np.asarray(self.theta0, dtype=np.float64)
            except (TypeError, ValueError):
                theta0 = np.empty(0)
            if theta0.shape != (N_FEATURES + 1,) or not np.all(np.isfinite(theta0)):
                raise ValueError(
                    f"gp: theta0 must be {N_FEATURES + 1} finite numbers (the log length "
                    f"scales, then the log noise ratio), got {self.theta0!r:.80}"
                )
        share = self.noisy_search
        if share is not None and (
            isinstance(share, bool) or not isinstance(share, (int, float)) or not 0 < share <= 1
        ):
            raise ValueError(f"gp: noisy_search must be in (0, 1] or None, got {share!r}")
        rows = self.solve_rows
        if rows is not None and (isinstance(rows, bool) or not isinstance(rows, int) or rows < 1):
            raise ValueError(f"gp: solve_rows must be a whole number >= 1 or None, got {rows!r}")
        if self.first_search is not True and (
            self.first_search is not False or self.theta0 is None
        ):
            raise ValueError(
                "gp: first_search must be True, or False with theta0 given (its optimum), "
                f"got {self.first_search!r}"
            )

    @property
    def noise_level_(self) -> float:
        """The fitted noise variance over the process variance (λ)."""
        return float(np.exp(self.theta_[-1]))

    @property
    def length_scales_(self) -> np.ndarray:
        """The fitted length scales, one per input, on standardised inputs."""
        return np.exp(self.theta_[:N_FEATURES])

    def _fit(self, X, y, X_val, y_val, monitor) -> None:
        self._check_settings()
        X, y, self.copied_rows_ = first_copies(X, y)
        with ordinary_pages():  # its arrays run to hundreds of MB: see ordinary_pages
            self._search_and_solve(X, y)

    def _search_and_solve(self, X: np.ndarray, y: np.ndarray) -> None:
        """The hyperparameters' search, then the solve with them."""
        solved = len(X) if self.solve_rows is None else min(len(X), self.solve_rows)
        if solved > self.max_rows:
            raise ValueError(
                f"gp: {solved} training rows exceed max_rows={self.max_rows} "
                "(its cost grows as n³ and its memory as n²)"
            )
        from scipy.optimize import minimize

        rng = np.random.default_rng(self.seed)
        sub = rng.choice(len(X), min(len(X), self.select_rows), replace=False)
        # its rows are drawn either way: the refine's draw comes after them
        nll = Likelihood(self.kernel, self.nu, X[sub], y[sub]) if self.first_search else None
        bounds = [LOG_LENGTH_BOUNDS] * N_FEATURES + [(np.log(self.noise_floor), LOG_NOISE_MAX)]
        if self.theta0 is None:
            starts = [self._default_start()]
        else:
            low, high = np.array(bounds).T
            starts = [np.clip(np.asarray(self.theta0, dtype=np.float64), low, high)]
        for _ in range(self.restarts):
            starts.append(
                np.r_[rng.uniform(np.log(0.3), np.log(3.0), N_FEATURES), rng.uniform(-14, -2)]
            )
        best, self.likelihood_evaluations_ = None, 0
        options = None if self.tol is None else {"ftol": self.tol}
        for theta0 in starts if self.first_search else []:
            theta0[-1] = max(theta0[-1], bounds[-1][0])
            res = minimize(nll, theta0, jac=True, method="L-BFGS-B", bounds=bounds, options=options)
            self.likelihood_evaluations_ += int(res.nfev)
            if best is None or res.fun < best.fun:
                best = res
        # without a first search, theta0 is its optimum (a screen ran it: Interpolator)
        theta = best.x if self.first_search else starts[0]
        if self.refine_rows is not None and len(sub) < min(len(X), self.refine_rows):
            first_rows = sub
            sub = rng.choice(len(X), min(len(X), self.refine_rows), replace=False)
            f = Likelihood(self.kernel, self.nu, X[sub], y[sub])
            if self._noisy(nll, X[first_rows], y[first_rows], theta):
                theta = self._wide_search(f, theta, bounds, options)
            else:
                theta = self._refine(f, theta, bounds, options)
        self.length_cv_ = None
        if self.length_cv:  # on the last search's rows
            theta = self._stretch(X[sub], y[sub], np.asarray(theta, dtype=np.float64))
        self.theta_ = np.asarray(theta, dtype=np.float64)
        if solved < len(X):
            self._solve_greedy(X, y, rng)
        else:
            self._solve(X, y)

    def _default_start(self) -> np.ndarray:
        """The search's start without theta0: length scales 1, λ 1e-4 (or the floor)."""
        return np.r_[np.zeros(N_FEATURES), np.log(max(1e-4, self.noise_floor))]

    def _noisy(self, nll: Likelihood | None, X: np.ndarray, y: np.ndarray, theta) -> bool:
        """Whether the first search's optimum puts the noise at `noisy_search` of the
        target's variance or more (λσ² on the first search's rows, X and y)."""
        if self.noisy_search is None:
            return False
        probe = nll if nll is not None else Likelihood(self.kernel, self.nu, X, y)
        self.likelihood_evaluations_ += 1
        return float(np.exp(theta[-1])) * probe.profiled_variance(theta) >= self.noisy_search

    def _refine(self, f: Likelihood, theta: np.ndarray, bounds, options) -> np.ndarray:
        """A second search on more rows (f's) from the first's optimum, or from it with its
        length scales cut (REFINE_LOG_LENGTH_CAP), whichever is likelier there: few steps
        (REFINE_STEPS), each dearer."""
        from scipy.optimize import minimize

        cut = np.r_[np.minimum(theta[:-1], REFINE_LOG_LENGTH_CAP), theta[-1]]
        starts = [self._factorisable(f, theta)]
        if not np.array_equal(cut, theta):
            starts.append(self._factorisable(f, cut))
        self.likelihood_evaluations_ += sum(evaluations for *_, evaluations in starts)
        start, value, grad, _ = min(starts, key=lambda s: s[1])
        capped = Capped(f, REFINE_STEPS, known=(start, value, grad))
        refine = {**(options or {}), "maxiter": REFINE_STEPS}
        with contextlib.suppress(EvaluationCap):  # the cap, spent: its best point
            minimize(capped, start, jac=True, method="L-BFGS-B", bounds=bounds, options=refine)
        self.likelihood_evaluations_ += capped.evaluations - capped.reused
        return capped.best_theta

    def _wide_search(self, f: Likelihood, theta: np.ndarray, bounds, options) -> np.ndarray:
        """In place of the refine, for a target the first search found noisy: a search on
        the refine's rows from the default start (NOISY_STEPS evaluations at most), kept
        where its likelihood there beats the first search's optimum's."""
        from scipy.optimize import minimize

        start, value, _, evaluations = self._factorisable(f, theta)
        capped = Capped(f, NOISY_STEPS)
        wide = {**(options or {}), "maxiter": NOISY_STEPS}
        low = self._default_start()
        with contextlib.suppress(EvaluationCap):  # the cap, spent: its best point
            minimize(capped, low, jac=True, method="L-BFGS-B", bounds=bounds, options=wide)
        self.likelihood_evaluations_ += evaluations + capped.evaluations
        if capped.best_theta is not None and capped.best_value < value:
            return capped.best_theta
        return start

    def _stretch(self, X: np.ndarray, y: np.ndarray, theta: np.ndarray) -> np.ndarray:
        """theta with its log length scales moved together (see CV_STEP): from 0, a step
        each way, then on while the leave-one-out MSE on X's rows falls; the least one's
        move kept where it beats 0 by CV_SE standard errors of the rows' paired difference
        in squared residual. length_cv_ records the MSEs by move, and the move kept.
        Rows with the same inputs as one before them are left out: a copy predicts its
        twin, so each one's residual would say nothing of points between the rows (with
        the study's borehole at 100 samples each twice, the move without this was -1.0 and
        the test MSE 32x)."""
        first = first_rows(X)
        if len(first) < len(X):
            X, y = X[first], y[first]
        moves: dict[int, np.ndarray] = {}

        def mse(k: int) -> float:
            return float(np.mean(moves[k] ** 2))

        def tried(k: int) -> bool:
            moved = self._moved(theta, k)
            e = loo_residuals(self.kernel, self.nu, moved, X, y)
            if e is None or not np.all(np.isfinite(e)):
                return False
            moves[k] = e
            return True

        best = 0
        if tried(0):
            for way in (1, -1):
                k = 0
                while abs(k + way) * CV_STEP <= CV_REACH + 1e-9 and tried(k + way):
                    if mse(k + way) >= mse(k):
                        break
                    k += way
                if mse(k) < mse(best):
                    best = k
        if best != 0:
            gain = moves[0] ** 2 - moves[best] ** 2
            if not gain.mean() > CV_SE * gain.std(ddof=1) / np.sqrt(len(gain)):
                best = 0
        self.length_cv_ = {
            "rows": len(X),
            "loo_mse": {f"{k * CV_STEP:+.1f}": mse(k) for k in sorted(moves)},
            "log_move": round(best * CV_STEP, 10),
        }
        return self._moved(theta, best)

    @staticmethod
    def _moved(theta: np.ndarray, k: int) -> np.ndarray:
        """theta with its log length scales moved by k steps (CV_STEP), within bounds."""
        out = theta.copy()
        out[:N_FEATURES] = np.clip(out[:N_FEATURES] + k * CV_STEP, *LOG_LENGTH_BOUNDS)
        return out

    @staticmethod
    def _factorisable(
        f: Likelihood, theta: np.ndarray
    ) -> tuple[np.ndarray, float, np.ndarray, int]:
        """theta with its noise ratio stepped up tenfold until f's correlation matrix can be
        factorised (as the solve does: more rows than the search saw can make it singular
        in float64, and a search from there ends where it starts), with f's value and
        gradient there and the evaluations spent."""
        theta = np.array(theta, dtype=np.float64)
        value, grad = f(theta)
        evaluations = 1
        while value >= FAILED and theta[-1] < LOG_NOISE_MAX:
            theta[-1] = min(theta[-1] + np.log(10.0), LOG_NOISE_MAX)
            value, grad = f(theta)
            evaluations += 1
        return theta, value, grad, evaluations

    def _solve(self, X: np.ndarray, y: np.ndarray, blocks: list[int] | None = None) -> None:
        """The exact solve on all the rows with the fitted hyperparameters; with `blocks`
        (row counts, in order), the first factorised alone and each next one appended to
        the factor (as _solve_greedy grew it: the same operations, the same numbers)."""
        if blocks is None or len(blocks) == 1:
            L, blocks = self._factor(X), [len(X)]
        else:
            L = self._block_factor(X, blocks, len(X)).L
        self._finish(L, X, y, blocks)

    def _block_factor(self, X: np.ndarray, blocks: list[int], size: int) -> BlockFactor:
        """The factor of X's rows, by `blocks`, in an array of `size` rows; where a block is
        singular with the rows before it, the noise ratio steps up (as in _factor) and the
        blocks are factorised again."""
        while True:
            factor = BlockFactor(self._factor(X[: blocks[0]]), size)
            try:
                for k in blocks[1:]:
                    m = factor.rows
                    self._grow(factor, X[:m], X[m : m + k])
                return factor
            except LinAlgError:
                self._step_noise()

    def _step_noise(self) -> None:
        """The noise ratio up tenfold (to LOG_NOISE_MAX at most; at it, the error stands)."""
        if self.theta_[-1] >= LOG_NOISE_MAX:
            raise LinAlgError("gp: the correlation matrix is singular at the largest noise")
        self.theta_[-1] = min(self.theta_[-1] + np.log(10.0), LOG_NOISE_MAX)

    def _factor(self, X: np.ndarray) -> np.ndarray:
        """The lower Cholesky factor of the rows' correlation plus the noise ratio on its
        diagonal (F-ordered; its upper triangle holds the correlation's)."""
        n = len(X)
        # Symmetric: only its upper triangle is built, and factorised in place (as C.T's
        # lower); a copy of it in the lower half, which the factorisation leaves alone,
        # restores it for a retry in ~1/30 of the time building it takes
        C = np.empty((n, n))
        if self.kernel == "product_matern":  # in place (in one C call where it can be had)
            correlation(self.kernel, self.nu, self.length_scales_, X, X, upper=True, R=C)
        else:
            for i in range(0, n, BUILD_ROWS):
                C[i : i + BUILD_ROWS, i:] = self._corr(X[i : i + BUILD_ROWS], X[i:])
        diagonal = C.diagonal().copy()
        copy_triangle(C, to_lower=True)
        # the search saw a subsample: on all the rows the matrix can be singular in float64,
        # and then the noise ratio steps up tenfold until it is not (theta_ records it)
        while True:
            C.flat[:: n + 1] = diagonal + self.noise_level_
            try:
                return Solve(C.T, clean=False).L
            except LinAlgError:
                self._step_noise()
                copy_triangle(C, to_lower=False)

    def _grow(self, factor: BlockFactor, X_old: np.ndarray, X_new: np.ndarray) -> None:
        """The factor of X_old's rows grown by X_new's."""
        # C12 is computed here, not taken from the pool's correlation where a fit has it:
        # the compiled kernel's vectorised exp and its scalar tail differ in the last bit,
        # so an entry depends on its place in the row, and a load must give the fit's numbers
        C22 = self._corr(X_new, X_new)
        C22.flat[:: len(X_new) + 1] += self.noise_level_
        factor.extend(self._corr(X_old, X_new), C22)

    def _finish(self, L: np.ndarray, X: np.ndarray, y: np.ndarray, blocks: list[int]) -> None:
        """What prediction needs of L, the factor of X's rows."""
        self.solve_ = Solve.of_factor(L)
        self.alpha_ = self.solve_.alpha(y)
        self.sigma2_ = max(float(y @ self.alpha_), 1e-300) / len(X)
        # L⁻¹1, for the constant mean's share of the predictive variance: once, not a chunk
        self.half_ones_ = solve_triangular(
            self.solve_.L, self.solve_.ones, lower=True, check_finite=False
        )
        self.X_train_, self.y_train_, self.blocks_ = X, y, list(blocks)

    def _solve_greedy(self, X: np.ndarray, y: np.ndarray, rng: np.random.Generator) -> None:
        """The solve on solve_rows of X's rows (fewer than all): a seeded random start, then
        blocks of the rows the solve so far predicts worst (see gp_rows), each appended to
        the factor. Where a block's rows are singular with those before, the noise ratio
        steps up and the blocks so far are factorised again, as a saved model's are."""
        # see GREEDY_NOISE_STEPS: as the retries below step it, from the floor
        lifted = np.log(self.noise_floor) + GREEDY_NOISE_STEPS * np.log(10.0)
        self.theta_[-1] = max(self.theta_[-1], lifted)
        blocks = greedy_blocks(self.solve_rows)
        order = np.sort(rng.choice(len(X), blocks[0], replace=False))
        factor = self._block_factor(X[order], blocks[:1], self.solve_rows)
        done = blocks[:1]
        pool = np.setdiff1d(np.arange(len(X)), order)
        open_rows = np.ones(len(pool), dtype=bool)
        # the solve's rows' correlation with the pool, a block of rows at a time, each
        # built in place (no temporary of ~100 MB: its fresh pages would be touched twice)
        Kt = np.empty((self.solve_rows, len(pool)))
        self._corr_into(Kt[: len(order)], X[order], X[pool])
        for k in blocks[1:]:
            m = len(order)
            # ordinary kriging's mean on the rows so far (as Solve.alpha has it)
            ci_ones, ci_y = factor.cho_solve(np.ones(m)), factor.cho_solve(y[order])
            beta = ci_y.sum() / ci_ones.sum()
            residual = y[pool] - (beta + (ci_y - beta * ci_ones) @ Kt[:m])
            pick = worst_predicted(residual, open_rows, k)
            open_rows[pick] = False
            new = pool[pick]
            if m + len(new) < self.solve_rows:  # the last block's are not read
                self._corr_into(Kt[m : m + len(new)], X[new], X[pool])
            order = np.r_[order, new]
            done = [*done, len(new)]
            try:
                self._grow(factor, X[order[:m]], X[new])
            except LinAlgError:
                self._step_noise()
                factor = self._block_factor(X[order], done, self.solve_rows)
        self._finish(factor.L, X[order], y[order], done)

    def _corr(self, A: np.ndarray, B: np.ndarray) -> np.ndarray:
        return correlation(self.kernel, self.nu, self.length_scales_, A, B)[0]

    def _corr_into(self, R: np.ndarray, A: np.ndarray, B: np.ndarray) -> None:
        """_corr(A, B) written into R (C-contiguous), in place where the kernel can."""
        if self.kernel == "product_matern":
            correlation(self.kernel, self.nu, self.length_scales_, A, B, R=R)
        else:
            R[...] = self._corr(A, B)

    def _predict(self, X: np.ndarray) -> np.ndarray:
        return self.solve_.beta + self._corr(X, self.X_train_) @ self.alpha_

    def has_std(self) -> bool:
        return hasattr(self, "solve_")  # its own predictive variance

    def predict_grad(self, X: Any) -> np.ndarray:
        """The gradient of the predictive mean with respect to the inputs, ∂ŷ/∂x (m, 5) in
        the data's units (shape (5,) for one point), analytic: ∂R/∂a_i = -R·G_i/(a_i - b_i),
        G_i being the correlation's dlog R/dlog l_i (0 where a_i = b_i)."""
        X, single = self._points(X)
        out = np.empty_like(X)
        chunk = max(1, self.predict_chunk // 8)  # G holds five chunk x n_train arrays
        for i in range(0, len(X), chunk):
            A = self.x_scaler_.transform(X[i : i + chunk])
            R, G = correlation(
                self.kernel, self.nu, self.length_scales_, A, self.X_train_, grad=True
            )
            for j in range(N_FEATURES):
                d = A[:, j, None] - self.X_train_[None, :, j]
                ratio = np.divide(G[j], d, out=np.zeros_like(d), where=d != 0)
                out[i : i + len(A), j] = -(R * ratio) @ self.alpha_
        out *= self.y_scaler_.scale / self.x_scaler_.scale
        return out[0] if single else out

    def _predict_var(self, X: np.ndarray) -> np.ndarray:
        k = self._corr(X, self.X_train_)
        v = solve_triangular(self.solve_.L, k.T, lower=True, check_finite=False)
        w1 = self.half_ones_
        # the constant mean's uncertainty: (1 - 1ᵀC⁻¹k)² / 1ᵀC⁻¹1
        u = 1.0 - w1 @ v
        var = 1.0 - np.einsum("ij,ij->j", v, v) + u * u / float(w1 @ w1)
        return self.sigma2_ * (np.maximum(var, 0.0) + self.noise_level_)

    def _state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        # the blocks its rows were factorised in, where more than one (solve_rows)
        meta = {"blocks": self.blocks_} if len(self.blocks_) > 1 else {}
        return meta, {"X": self.X_train_, "y": self.y_train_, "theta": self.theta_}

    def _restore(self, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        # deterministic: the same rows and hyperparameters give the same solve
        self._check_settings()
        y = arrays.get("y")
        n = y.shape[0] if y is not None and y.ndim == 1 else None  # X must have as many
        # the log length scales and the log noise ratio
        check_arrays(arrays, {"X": (n, N_FEATURES), "y": (n,), "theta": (N_FEATURES + 1,)})
        self.theta_ = arrays["theta"].astype(np.float64)
        blocks = meta.get("blocks", [n])
        if (
            not isinstance(blocks, list)
            or not all(type(b) is int and b >= 1 for b in blocks)
            or sum(blocks) != n
        ):
            raise DataError(
                f"state.blocks must be whole numbers >= 1 that add up to the {n} rows, "
                f"got {blocks!r:.80}"
            )
        with ordinary_pages():  # as in fit
            self._solve(arrays["X"].astype(np.float64), arrays["y"].astype(np.float64), blocks)
