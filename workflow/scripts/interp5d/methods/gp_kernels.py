"""The Gaussian process's correlation functions and the gradients of its likelihood, in
numpy: a kernel with one length scale per input, its derivative by each log length scale,
and the concentrated negative log marginal likelihood with its analytic gradient. The
product Matérn's correlation and the likelihood's gradient sums are also in C (gp_corr.c,
in the native library), used where the library loads: 2.4x faster per evaluation at 300
rows, 1.4x at 1,000 (where LAPACK's factorisation and inverse take the rest); tests tie
them to these numpy forms, which serve where it does not load."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

import numpy as np
from scipy.linalg import LinAlgError, cho_solve, cholesky, lapack

KERNELS = ("product_matern", "matern", "sqexp")
FAILED = 1e25  # the likelihood's value where the correlation cannot be factorised
NUS = (0.5, 1.5, 2.5)
BLOCK_ROWS = 128  # rows of the correlation worked at a time: its temporaries stay in cache
# a diagonal block's entries on and below its diagonal (a smaller block's: its top left)
ON_AND_BELOW = np.tril(np.ones((BLOCK_ROWS, BLOCK_ROWS), dtype=bool))


def _matern(s: np.ndarray, nu: float, grad: bool) -> tuple[np.ndarray, np.ndarray | None]:
    """The Matérn(ν) polynomial factor of s and, with `grad`, -s·m'(s)/m(s) (with
    m = poly·exp(-s)); None without."""
    if nu == 2.5:
        s2 = s * s
        poly = s2 * (1.0 / 3.0)
        poly += s
        poly += 1.0
        if not grad:
            return poly, None
        dlog = s + 1.0
        dlog *= s2
        dlog /= poly
        dlog *= 1.0 / 3.0
        return poly, dlog
    if nu == 1.5:
        poly = 1.0 + s
        return poly, s * s / poly if grad else None
    if nu == 0.5:
        return np.ones_like(s), s
    raise ValueError(f"gp: nu must be one of {NUS}, got {nu}")


def differences(A: np.ndarray, B: np.ndarray, upper: bool = False) -> np.ndarray:
    """|a_i - b_i| for every pair of rows, one input at a time: (inputs, len(A), len(B)).
    `upper` (A is B): only the blocks of rows that correlation(upper=True) reads, from the
    diagonal on (the rest is left unset: half the work, and half the fresh pages)."""
    if not upper:
        return np.abs(A.T[:, :, None] - B.T[:, None, :])
    D = np.empty((A.shape[1], len(A), len(B)))
    for a in range(0, len(A), BLOCK_ROWS):
        b = min(a + BLOCK_ROWS, len(A))
        np.abs(A.T[:, a:b, None] - B.T[:, None, a:], out=D[:, a:b, a:])
    return D


def correlation(
    kernel: str,
    nu: float,
    length: np.ndarray,
    A: np.ndarray,
    B: np.ndarray,
    grad: bool = False,
    D: np.ndarray | None = None,
    G: np.ndarray | None = None,
    upper: bool = False,
    R: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray | None]:
    """The correlation matrix R (len(A), len(B)) of the kernel with these length scales
    and, with `grad`, dR/dlog l_i divided by R, stacked (inputs, len(A), len(B)); `D`, the
    pairs' differences (see differences) where they are at hand; `G`, a buffer of that
    shape for the gradient where one is kept (product_matern fills it). `upper` (A is B):
    only the upper triangle is wanted; product_matern then computes only the blocks on and
    above the diagonal (half the work) and leaves the rest of R and G as it finds them.
    `R`: a buffer for product_matern's correlation, where one is kept.

    product_matern: Π_i m_ν(c|a_i - b_i| / l_i), as SMT's KRG has it; matern: m_ν of the
    scaled Euclidean distance; sqexp: exp(-½ Σ_i ((a_i - b_i) / l_i)²); c = √(2ν).
    """
    if kernel not in KERNELS:
        raise ValueError(f"gp: unknown kernel {kernel!r}; known: {', '.join(KERNELS)}")
    c = np.sqrt(2.0 * nu)
    n_in = A.shape[1]
    shape = (len(A), len(B))
    if grad and G is None:
        G = np.empty((n_in, *shape))
    if kernel == "product_matern":
        lib = None if grad else compiled()
        if lib is not None:
            return compiled_correlation(lib, nu, length, A, B, upper, R), None
        return _product_matern(nu, c, length, A, B, grad, D, G, upper, R)
    q = np.empty((n_in, *shape)) if grad else None
    r2 = np.zeros(shape)
    for i in range(n_in):
        qi = (A[:, i, None] - B[None, :, i]) if D is None else D[i].copy()
        qi *= 1.0 / length[i]
        qi *= qi
        r2 += qi
        if grad:
            q[i] = qi
    if kernel == "sqexp":
        R = np.exp(-0.5 * r2)
        return R, q  # d(-½ q_i)/dlog l_i = q_i
    r = np.sqrt(r2)
    s = c * r
    poly, dlog = _matern(s, nu, grad)
    R = poly * np.exp(-s)
    if grad:
        # ds/dlog l_i = -s q_i / r²: dlog R / dlog l_i = (-s m'/m) q_i / r² (0 at r = 0)
        with np.errstate(divide="ignore", invalid="ignore"):
            w = np.where(r2 > 0, dlog / r2, 0.0)
        G = q * w
    return R, G


def _product_matern(
    nu: float,
    c: float,
    length: np.ndarray,
    A: np.ndarray,
    B: np.ndarray,
    grad: bool,
    D: np.ndarray | None,
    G: np.ndarray | None,
    upper: bool = False,
    R: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Π_i m_ν(c|a_i - b_i| / l_i) and its dlog R/dlog l_i, as `_matern` computes them (the
    same operations in the same order, so the same numbers), BLOCK_ROWS rows at a time into
    buffers reused from one input and one block to the next: fresh len(A) x len(B)
    temporaries, and arrays too large for the cache, cost more than the arithmetic. With
    `upper`, the block of rows a:b only from column a on."""
    if R is None:
        R = np.empty((len(A), len(B)))
    rows = min(BLOCK_ROWS, len(A))
    bufs = [np.empty((rows, len(B))) for _ in range(4)]
    for a in range(0, len(A), rows):
        b = min(a + rows, len(A))
        c0 = a if upper else 0  # the block's first column
        # contiguous views of the buffers, whatever the block's width
        w = (b - a) * (len(B) - c0)
        s, poly, s2, prod = (buf.reshape(-1)[:w].reshape(b - a, -1) for buf in bufs)
        sum_s = R[a:b, c0:]
        sum_s.fill(0.0)
        prod.fill(1.0)
        for i in range(A.shape[1]):
            if D is None:
                np.subtract(A[a:b, i, None], B[None, c0:, i], out=s)
                np.abs(s, out=s)
                s *= c / length[i]
            else:
                np.multiply(D[i, a:b, c0:], c / length[i], out=s)
            sum_s += s
            if nu == 2.5:
                np.multiply(s, s, out=s2)
                np.multiply(s2, 1.0 / 3.0, out=poly)
                poly += s
                poly += 1.0
                if grad:
                    dlog = G[i, a:b, c0:]
                    np.add(s, 1.0, out=dlog)
                    dlog *= s2
                    dlog /= poly
                    dlog *= 1.0 / 3.0
                prod *= poly
            elif nu == 1.5:
                np.add(s, 1.0, out=poly)
                if grad:
                    np.multiply(s, s, out=G[i, a:b, c0:])
                    G[i, a:b, c0:] /= poly
                prod *= poly
            elif grad:  # 0.5: the polynomial is 1, dlog = s
                G[i, a:b, c0:] = s
        # exp(-Σ s_i) Π poly_i: one exp for all the inputs (poly_i < 1e6, no overflow)
        np.negative(sum_s, out=sum_s)
        np.exp(sum_s, out=sum_s)
        sum_s *= prod
    return R, G


def compiled():
    """The native library's gp_corr.c where it loads, else None (the numpy forms serve)."""
    from interp5d.training.engines import native_lib

    return native_lib.optional()


@contextlib.contextmanager
def flushed(lib) -> Iterator[None]:
    """Subnormal numbers read and made as 0 in this thread (SSE's flush-to-zero and
    denormals-are-zero) for the span of the block, the mode as it was after it, whatever
    happens: at a search's extreme length scales the correlation and its factor hold
    subnormals, on which LAPACK's factorisation and inverse ran ~25x slower (Intel, AVX-512;
    gp_corr.c says more). Results are those of the same arithmetic with them as 0, below
    1e-308 of what they are summed with. Without the library, nothing changes."""
    if lib is None:
        yield
        return
    mode = lib.interp5d_fp_mode()
    lib.interp5d_set_fp_mode(mode | lib.interp5d_fp_flush_bits())
    try:
        yield
    finally:
        lib.interp5d_set_fp_mode(mode)


try:  # numpy's own switch of its huge-page request (numpy 2)
    from numpy._core.multiarray import _set_madvise_hugepage
except ImportError:  # a numpy without it: ordinary_pages changes nothing
    _set_madvise_hugepage = None


class _PageSetting:
    """numpy's huge-page setting, off while any thread is inside ordinary_pages: the first
    to enter keeps the setting it found, the last to leave sets it back (numpy's setting is
    the process's, not a thread's: two fits in threads must not restore each other's)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.inside = 0
        self.found = True

    def enter(self) -> None:
        with self.lock:
            if self.inside == 0:
                self.found = _set_madvise_hugepage(False)
            self.inside += 1

    def leave(self) -> None:
        with self.lock:
            self.inside -= 1
            if self.inside == 0:
                _set_madvise_hugepage(self.found)


_PAGES = _PageSetting()


@contextlib.contextmanager
def ordinary_pages() -> Iterator[None]:
    """numpy's new arrays on ordinary pages for the span of the block, its setting as it was
    after it, whatever happens. By default numpy asks Linux for transparent huge pages for
    every large array (madvise MADV_HUGEPAGE); where the kernel's THP defrag setting is
    `madvise` (Debian's and Ubuntu's default), a first touch of such an array can stall
    while the kernel compacts memory to find one. A GP's solve makes arrays of hundreds of
    MB: fits of 10,000 samples (rosenbrock, borehole, seed 42, AMD EPYC) took 2.2-3.5 s with
    huge pages asked for, 2.0-2.25 s without. The setting is the process's: other threads'
    arrays made meanwhile are on ordinary pages too. Where numpy has no such setting,
    nothing changes."""
    if _set_madvise_hugepage is None:
        yield
        return
    _PAGES.enter()
    try:
        yield
    finally:
        _PAGES.leave()


def _nu2(nu: float) -> int:
    return round(2 * nu)


def compiled_correlation(
    lib,
    nu: float,
    length: np.ndarray,
    A: np.ndarray,
    B: np.ndarray,
    upper: bool = False,
    R: np.ndarray | None = None,
) -> np.ndarray:
    """_product_matern's R in one call of gp_corr.c (for `upper`, only j >= i is set)."""
    A = np.ascontiguousarray(A, dtype=np.float64)
    Bt = np.ascontiguousarray(B.T, dtype=np.float64)
    if R is None:
        R = np.empty((len(A), len(B)))
    assert R.flags.c_contiguous and R.shape == (len(A), len(B)) and R.dtype == np.float64
    scale = np.ascontiguousarray(np.sqrt(2.0 * nu) / length, dtype=np.float64)
    code = lib.interp5d_gp_corr(
        A.ctypes.data,
        len(A),
        Bt.ctypes.data,
        len(B),
        A.shape[1],
        scale.ctypes.data,
        _nu2(nu),
        int(upper),
        R.ctypes.data,
    )
    if code != 0:
        raise MemoryError(f"gp_corr.c: no scratch for {len(B)} columns (code {code})")
    return R


class Likelihood:
    """The negative log marginal likelihood of y under a GP with a constant mean, its
    variance and mean profiled out (ordinary kriging, as SMT's KRG with poly="constant"),
    as a function of θ = (log l_1..l_5, log λ), λ the noise variance over the process
    variance; with its gradient, for L-BFGS-B."""

    def __init__(self, kernel: str, nu: float, X: np.ndarray, y: np.ndarray, native: bool = True):
        self.kernel, self.nu, self.X, self.y = kernel, nu, X, y
        # product_matern's correlation and gradient sums in C (gp_corr.c) where the library
        # loads: no (inputs, m, m) arrays at all; the numpy form below otherwise
        self.lib = compiled() if native and kernel == "product_matern" else None
        if self.lib is not None:
            self.Xt = np.ascontiguousarray(X.T, dtype=np.float64)
        else:
            # once: every evaluation scales them anew (product_matern reads the upper blocks)
            self.D = differences(X, X, upper=kernel == "product_matern")
            # the gradient's buffer, reused (no fresh pages); below the diagonal blocks it
            # is never written and stays 0, which the gradient's sum multiplies by 0
            self.G = np.zeros_like(self.D)
        # and the n x n matrices': fresh pages of a few MB cost ~0.1 ms each per MB
        m = len(y)
        self.R = np.empty((m, m)) if kernel == "product_matern" else None
        self.C, self.outer = np.empty((m, m)), np.empty((m, m))

    def __call__(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        with flushed(self.lib):  # with the library: see flushed (the numpy forms: as before)
            return self._evaluate(theta)

    def _evaluate(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        n_in = self.X.shape[1]
        length, lam = np.exp(theta[:n_in]), float(np.exp(theta[n_in]))
        # every matrix here is symmetric: only its upper triangle is computed and read
        if self.lib is not None:
            G = None
            R = compiled_correlation(self.lib, self.nu, length, self.X, self.X, True, self.R)
        else:
            R, G = correlation(
                self.kernel,
                self.nu,
                length,
                self.X,
                self.X,
                grad=True,
                D=self.D,
                G=self.G,
                upper=True,
                R=self.R,
            )
        m = len(self.y)
        C = self.C
        np.copyto(C, R)
        C.flat[:: m + 1] += lam
        self.sigma2 = float("nan")
        try:
            sol = Solve(C.T)  # C.T's lower triangle is C's upper: factorised in place
        except LinAlgError:
            # not positive definite at these length scales: a wall the search backs off
            return FAILED, np.zeros_like(theta)
        alpha = sol.alpha(self.y)
        # (y - β)ᵀC⁻¹(y - β) = yᵀα, as 1ᵀα = 0 at the GLS mean
        sigma2 = self.sigma2 = max(float(self.y @ alpha), 1e-300) / m
        nll = 0.5 * (m * np.log(sigma2) + sol.logdet)
        # d nll = ½ tr(W dC), W = C⁻¹ - ααᵀ/σ²; dC = λI for log λ, and R∘G_i for log l_i:
        # symmetric and 0 on the diagonal (G_i is), so ½ tr(W dC) is the sum over the pairs
        # above the diagonal
        W = sol.inverse_upper(overwrite=True)  # in place of the factor, in C
        g = np.empty_like(theta)
        g[n_in] = 0.5 * lam * (float(np.trace(W)) - float(alpha @ alpha) / sigma2)
        W -= np.outer(alpha, alpha / sigma2, out=self.outer)
        if self.lib is not None:  # the sums over the pairs above the diagonal, in C
            W = np.ascontiguousarray(W)
            scale = np.ascontiguousarray(np.sqrt(2.0 * self.nu) / length)
            out = np.empty(n_in)
            self.lib.interp5d_gp_corr_grad(
                self.Xt.ctypes.data,
                m,
                n_in,
                scale.ctypes.data,
                _nu2(self.nu),
                W.ctypes.data,
                R.ctypes.data,
                out.ctypes.data,
            )
            g[:n_in] = out
            return float(nll), g
        W *= strictly_upper(R)
        # the five sums Σ (W∘R)∘G_i as one matrix-vector product
        g[:n_in] = G.reshape(n_in, -1) @ W.reshape(-1)
        return float(nll), g

    def profiled_variance(self, theta: np.ndarray) -> float:
        """σ², the process variance profiled out at θ (NaN where its matrix cannot be
        factorised): λσ² is the noise's share of y's variance, y standardised."""
        self(theta)
        return self.sigma2


def loo_residuals(
    kernel: str, nu: float, theta: np.ndarray, X: np.ndarray, y: np.ndarray
) -> np.ndarray | None:
    """Ordinary kriging's leave-one-out residuals at θ: each row's y less what the other
    rows predict there, the constant mean estimated without it too (Dubrule 1983): with
    C the correlation plus λ on its diagonal and Q = C⁻¹ - C⁻¹11ᵀC⁻¹ / 1ᵀC⁻¹1, the i-th
    is (Qy)_i / Q_ii, one factorisation and one inverse for all n. None where C cannot be
    factorised."""
    n_in = X.shape[1]
    lib = compiled() if kernel == "product_matern" else None
    with flushed(lib):  # as the likelihood's matrices are (see flushed)
        C = correlation(kernel, nu, np.exp(theta[:n_in]), X, X)[0]
        C.flat[:: len(X) + 1] += np.exp(theta[n_in])
        try:
            solve = Solve(C.T, clean=False)  # symmetric: its F-ordered view, no copy
        except LinAlgError:
            return None
        qy = solve.alpha(y)  # C⁻¹(y - β): Qy
        inverse = solve.inverse_upper(overwrite=True)
    q_diag = inverse.diagonal() - solve.ci_ones**2 / solve.ci_ones.sum()
    return qy / q_diag


def strictly_upper(M: np.ndarray) -> np.ndarray:
    """M (square) with every entry on and below the diagonal set to 0, in place, by blocks
    of rows: the part of M below the diagonal blocks is zeroed without being read."""
    n = len(M)
    for a in range(0, n, BLOCK_ROWS):
        b = min(a + BLOCK_ROWS, n)
        M[a:b, :a] = 0.0
        M[a:b, a:b][ON_AND_BELOW[: b - a, : b - a]] = 0.0
    return M


def copy_triangle(M: np.ndarray, to_lower: bool = True) -> None:
    """Copy square M's strict upper triangle onto its strict lower one (or, with
    `to_lower` False, back), by blocks of rows."""
    n = len(M)
    for a in range(0, n, BLOCK_ROWS):
        b = min(a + BLOCK_ROWS, n)
        block = M[a:b, a:b]
        if to_lower:
            M[b:, a:b] = M[a:b, b:].T
            pairs = np.tril_indices(b - a, -1)
        else:
            M[a:b, b:] = M[b:, a:b].T
            pairs = np.triu_indices(b - a, 1)
        block[pairs] = block.T[pairs]


class Solve:
    """The Cholesky factor of C and what ordinary kriging needs of it: the GLS constant
    mean β, C⁻¹(y - β), log det C. Only C's lower triangle is read and overwritten (pass
    C.T of a matrix whose upper triangle is built: F-ordered, it is factorised in place);
    with `clean`, the rest is zeroed, else it is left as it is, even when C is not positive
    definite."""

    def __init__(self, C: np.ndarray, clean: bool = True):
        if clean:
            self.L = cholesky(C, lower=True, overwrite_a=True, check_finite=False)
        else:
            self.L, info = lapack.dpotrf(C, lower=1, clean=0, overwrite_a=1)
            if info != 0:
                raise LinAlgError(f"{info}-th leading minor not positive definite")
        self._derive()

    @classmethod
    def of_factor(cls, L: np.ndarray) -> Solve:
        """The solve of a factor at hand (its lower triangle: grown by blocks, gp_rows)."""
        self = cls.__new__(cls)
        self.L = L
        self._derive()
        return self

    def _derive(self) -> None:
        n = len(self.L)
        self.ones = np.ones(n)
        self.ci_ones = cho_solve((self.L, True), self.ones, check_finite=False)
        self.logdet = 2.0 * float(np.sum(np.log(np.diag(self.L))))
        self.beta = 0.0

    def alpha(self, y: np.ndarray) -> np.ndarray:
        """C⁻¹(y - β), with β = 1ᵀC⁻¹y / 1ᵀC⁻¹1 set on the way."""
        ci_y = cho_solve((self.L, True), y, check_finite=False)
        self.beta = float(self.ones @ ci_y) / float(self.ones @ self.ci_ones)
        return ci_y - self.beta * self.ci_ones

    def inverse_upper(self, overwrite: bool = False) -> np.ndarray:
        """C⁻¹ on and above the diagonal, C-ordered (LAPACK's potri from the factor gives
        its lower triangle, F-ordered: its transpose, without a copy); below it, 0 where the
        factor is `clean`, else what the factor's other triangle held. With `overwrite`, in
        place of the factor, which is then spent."""
        inv, info = lapack.dpotri(self.L, lower=True, overwrite_c=overwrite)
        if info != 0:
            raise LinAlgError(f"dpotri failed: info {info}")
        return inv.T
