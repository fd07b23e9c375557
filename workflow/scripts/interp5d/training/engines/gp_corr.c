/* A Gaussian process's product Matérn correlation matrix, and its likelihood's gradient by the
 * log length scales: gp_kernels.py's numpy forms (_product_matern, Likelihood) in one C call
 * each. The numpy forms make ~15 passes over an m x k array per input, each a Python call and
 * a trip through memory; here each row is one loop per input over a row of scratch, which the
 * compiler vectorises (with libmvec's exp). Built into the native library (native_lib.py)
 * beside the training step; tests tie each to its numpy form.
 *
 * Layout: A (m, n_in) row-major; B and X transposed, (n_in, k) and (n_in, m) row-major, so
 * that the inner loop runs along contiguous memory; scale[d] = √(2ν)/l_d; R, W (m, k) and
 * (m, m) row-major. */

#include <math.h>
#include <stdint.h>
#include <stdlib.h>

/* The Matérn polynomial factor of s for 2ν = nu2 (1, 3 or 5): m(s) = exp(-s) times it. */
static inline double poly(double s, int nu2) {
    return nu2 == 5 ? 1.0 + s * (1.0 + s * (1.0 / 3.0)) : nu2 == 3 ? 1.0 + s : 1.0;
}

/* -s·m'(s)/m(s): dlog m/dlog l of one input, as _matern's `dlog`. */
static inline double dlog(double s, int nu2) {
    return nu2 == 5 ? s * s * (1.0 + s) / (3.0 * poly(s, 5)) : nu2 == 3 ? s * s / (1.0 + s) : s;
}

/* Inlined with nu2 constant, so that its branches fold away and the loops vectorise. */
static inline __attribute__((always_inline)) void corr_rows(const double *A, int64_t m,
                                                            const double *Bt, int64_t k,
                                                            int64_t n_in, const double *scale,
                                                            int nu2, int upper, double *R,
                                                            double *sum, double *prod) {
    for (int64_t i = 0; i < m; i++) {
        const int64_t j0 = upper ? i : 0;
        for (int64_t j = j0; j < k; j++) sum[j] = 0.0, prod[j] = 1.0;
        for (int64_t d = 0; d < n_in; d++) {
            const double a = A[i * n_in + d], c = scale[d];
            const double *b = Bt + d * k;
#pragma omp simd
            for (int64_t j = j0; j < k; j++) {
                const double s = fabs(a - b[j]) * c;
                sum[j] += s;
                prod[j] *= poly(s, nu2);
            }
        }
        double *r = R + i * k;
#pragma omp simd
        for (int64_t j = j0; j < k; j++) r[j] = exp(-sum[j]) * prod[j];
    }
}

/* R[i, j] = Π_d m(|A_id - B_jd|·scale_d), for j >= i only with `upper` (A is B: the rest of R
 * is left as it is). Returns 0, -1 where its scratch cannot be had, -2 for another nu2. */
int interp5d_gp_corr(const double *A, int64_t m, const double *Bt, int64_t k, int64_t n_in,
                     const double *scale, int nu2, int upper, double *R) {
    if (nu2 != 1 && nu2 != 3 && nu2 != 5) return -2;
    double *sum = malloc(2 * (size_t)(k > 0 ? k : 1) * sizeof(double));
    if (sum == NULL) return -1;
    double *prod = sum + k;
    if (nu2 == 5)
        corr_rows(A, m, Bt, k, n_in, scale, 5, upper, R, sum, prod);
    else if (nu2 == 3)
        corr_rows(A, m, Bt, k, n_in, scale, 3, upper, R, sum, prod);
    else
        corr_rows(A, m, Bt, k, n_in, scale, 1, upper, R, sum, prod);
    free(sum);
    return 0;
}

static inline __attribute__((always_inline)) void grad_sums(const double *Xt, int64_t m,
                                                            int64_t n_in, const double *scale,
                                                            int nu2, const double *W,
                                                            const double *R, double *g) {
    for (int64_t d = 0; d < n_in; d++) {
        const double *x = Xt + d * m, c = scale[d];
        double total = 0.0;
        for (int64_t i = 0; i + 1 < m; i++) {
            const double a = x[i], *w = W + i * m, *r = R + i * m;
            double row = 0.0;
#pragma omp simd reduction(+ : row)
            for (int64_t j = i + 1; j < m; j++) row += w[j] * r[j] * dlog(fabs(a - x[j]) * c, nu2);
            total += row;
        }
        g[d] = total;
    }
}

/* g[d] = Σ_{i<j} W_ij R_ij dlog_d(i, j): the likelihood's ½ tr(W dC/dlog l_d), dC = R∘G_d
 * symmetric and 0 on its diagonal. Only the strict upper triangles of W and R are read.
 * Returns 0, or -2 for another nu2. */
int interp5d_gp_corr_grad(const double *Xt, int64_t m, int64_t n_in, const double *scale,
                          int nu2, const double *W, const double *R, double *g) {
    if (nu2 == 5)
        grad_sums(Xt, m, n_in, scale, 5, W, R, g);
    else if (nu2 == 3)
        grad_sums(Xt, m, n_in, scale, 3, W, R, g);
    else if (nu2 == 1)
        grad_sums(Xt, m, n_in, scale, 1, W, R, g);
    else
        return -2;
    return 0;
}

/* This thread's SSE control word (MXCSR), to set flush-to-zero and denormals-are-zero for
 * the span of one likelihood evaluation and to restore it after (gp_kernels.flushed): at a
 * search's extreme length scales the correlation and its factor hold subnormal numbers, on
 * which LAPACK's factorisation and inverse ran ~25x slower (Intel, AVX-512: 0.8 s for one
 * evaluation at 1,000 rows, 0.04 s otherwise). 0 and no flush bits where there is no SSE. */
#if defined(__SSE__)
#include <xmmintrin.h>
unsigned interp5d_fp_mode(void) { return _mm_getcsr(); }
void interp5d_set_fp_mode(unsigned mode) { _mm_setcsr(mode); }
unsigned interp5d_fp_flush_bits(void) { return 0x8040u; } /* FTZ (bit 15), DAZ (bit 6) */
#else
unsigned interp5d_fp_mode(void) { return 0u; }
void interp5d_set_fp_mode(unsigned mode) { (void)mode; }
unsigned interp5d_fp_flush_bits(void) { return 0u; }
#endif
