"""The rows a Gaussian process is solved on where it may not take them all (its solve costs
n³): a seeded random share first, then blocks of the rows it predicts worst so far (greedy
by residual: the f-greedy selection of kernel interpolation, Schaback and Wendland, 2000,
which Wirtz and Haasdonk's VKOGA, 2013, inherits), each block factorised against the rows
before it, so that what is already factorised is not done again: the rows it solves on
cost one factorisation of that many."""

from __future__ import annotations

import numpy as np
from scipy.linalg import LinAlgError, blas, lapack, solve_triangular

# the share of solve_rows drawn at random, and the blocks the rest is chosen in. Chosen on
# seeds 1-3 at 10,000 samples (7,000 training rows) of tp_tanh, tp_exp and borehole, against
# a random 4,000 (the cap until now): 5,000 rows as 3,000 + 4 x 500 had 1.0-1.5x the test
# MSE of the GP on every row, 4,000 + 1,000 in one block 1.2-1.9x
GREEDY_START = 0.6
GREEDY_BLOCKS = 4
# the greedy solve's noise ratio starts at least this many tenfold steps above the GP's
# floor (SMT's nugget, 100 machine epsilons): on thousands of rows the floor is below the
# rounding of their factorisation. At 10,000 samples of borehole, styblinski_tang and
# rosenbrock (seeds 1-6) every solve from the floor stepped up once or more, after a
# failed factorisation or with its blocks factorised again (0.03-0.8 s of a 2-3 s fit);
# from one step up, test MSE the same on 10 of those 18 fits, 0.98-1.06x on 5, 0.40-0.89x on 3
GREEDY_NOISE_STEPS = 1


def greedy_blocks(solve_rows: int) -> list[int]:
    """The sizes of the blocks solve_rows rows are taken in: the random start, then
    GREEDY_BLOCKS of the rest (the first ones one larger where it does not divide)."""
    start = max(1, round(GREEDY_START * solve_rows))
    rest = solve_rows - start
    k, extra = divmod(rest, GREEDY_BLOCKS)
    return [start] + [k + (i < extra) for i in range(GREEDY_BLOCKS) if k + (i < extra) > 0]


def worst_predicted(residual: np.ndarray, open_rows: np.ndarray, k: int) -> np.ndarray:
    """The positions of the k open rows with the largest |residual|, in ascending order."""
    score = np.abs(residual)
    score[~open_rows] = -1.0
    k = min(k, int(open_rows.sum()))
    return np.sort(np.argpartition(-score, k - 1)[:k])


class BlockFactor:
    """The lower Cholesky factor L of a correlation matrix (plus the noise on its diagonal)
    grown by blocks of rows, into one F-ordered array of the final size, so that no part
    of it is copied as it grows: each block's rows are solved against the factor so far,
    block-row by block-row (matrix products on views, a triangular solve on each diagonal
    block, kept contiguous), and its Schur complement factorised. `L` is the whole factor
    once it has `size` rows; only its lower triangle is set."""

    def __init__(self, first: np.ndarray, size: int) -> None:
        m = len(first)
        self.full = np.empty((size, size), order="F")
        self.full[:m, :m] = first
        self.diagonal = [first]  # each block's own factor, contiguous
        self.edges = [0, m]  # where each block's rows start, and the end

    @property
    def rows(self) -> int:
        return self.edges[-1]

    @property
    def L(self) -> np.ndarray:
        """The factor so far (a view: a contiguous array once it has every row)."""
        return self.full[: self.rows, : self.rows]

    def solve_lower(self, B: np.ndarray) -> np.ndarray:
        """L⁻¹B, block by block (B: a vector or a matrix of as many rows as L)."""
        out = np.empty_like(B, dtype=np.float64)
        for j, D in enumerate(self.diagonal):
            a, b = self.edges[j], self.edges[j + 1]
            rhs = B[a:b] - self.full[a:b, :a] @ out[:a] if a else B[a:b]
            out[a:b] = solve_triangular(D, rhs, lower=True, check_finite=False)
        return out

    def solve_upper(self, z: np.ndarray) -> np.ndarray:
        """L⁻ᵀz, block by block, the last first (z: a vector)."""
        out = np.empty_like(z, dtype=np.float64)
        end = self.rows
        for j in reversed(range(len(self.diagonal))):
            a, b = self.edges[j], self.edges[j + 1]
            rhs = z[a:b] - self.full[b:end, a:b].T @ out[b:end] if b < end else z[a:b]
            out[a:b] = solve_triangular(
                self.diagonal[j], rhs, lower=True, trans="T", check_finite=False
            )
        return out

    def extend(self, C12: np.ndarray, C22: np.ndarray) -> None:
        """Grow by a block of k rows: C12 (rows so far, k) their correlation with the rows
        before, C22 (k, k) their own (noise on its diagonal). Raises LinAlgError where its
        Schur complement C22 - (L⁻¹C12)ᵀ(L⁻¹C12) is not positive definite in float64 (the
        factor is then as it was)."""
        m, k = C12.shape
        W = self.solve_lower(C12)  # (m, k)
        S = blas.dsyrk(-1.0, W, beta=1.0, c=np.asfortranarray(C22), trans=1, lower=1)
        S, info = lapack.dpotrf(S, lower=1, clean=0, overwrite_a=1)
        if info != 0:
            raise LinAlgError(f"{info}-th minor of a block's complement not positive definite")
        self.full[m : m + k, :m] = W.T
        self.full[m : m + k, m : m + k] = S
        self.diagonal.append(S)
        self.edges.append(m + k)

    def cho_solve(self, b: np.ndarray) -> np.ndarray:
        """(LLᵀ)⁻¹b for a vector b."""
        return self.solve_upper(self.solve_lower(b))
