/* A fitted Gaussian process's predictive mean on one point, and its gradient: fastpath.py's
 * GPPoint (product Matérn kernel) in one C call. The numpy form makes ~12 passes over the
 * (5, n) training rows with a Python call each (25 µs at 700 rows); one loop over the rows,
 * which the compiler vectorises with the vector exp of libmvec, takes ~3 µs. Built into the
 * native library (native_lib.py) beside the training step; a test ties it to the numpy form.
 *
 * Layout, GPPoint's: Z (GP_INPUTS, n) row-major, the training rows scaled by √(2ν)/l, input by
 * input; the point enters as x (its data's units) and is scaled here as z = x·a + b. */

#include <math.h>
#include <stddef.h>

#define GP_INPUTS 5 /* the interpolator's inputs: native_lib.py checks it against N_FEATURES */

int interp5d_gp_inputs(void) { return GP_INPUTS; }

/* The Matérn polynomial factor of s = |z - Z| for 2ν = nu2 (1, 3 or 5): exp(-s) times it is
 * the kernel of one input. */
static inline double factor(double s, int nu2) {
    return nu2 == 5 ? 1.0 + s * (1.0 + s * (1.0 / 3.0)) : nu2 == 3 ? 1.0 + s : 1.0;
}

/* d·(dlog m/ds)/s, the kernel's log-derivative by z over its value (zero where d = 0):
 * d(1 + s)/(3 factor) for ν = 5/2, d/(1 + s) for 3/2, sign(d) for 1/2. */
static inline double ratio(double d, double s, double f, int nu2) {
    return nu2 == 5 ? d * (1.0 + s) / (3.0 * f) : nu2 == 3 ? d / f : (d > 0.0) - (d < 0.0);
}

/* Σ_j alpha_j R(z, Z_j); with want_grad, also Σ_j alpha_j R_j ratio_ji into g. Inlined into
 * each of its six calls with nu2 and want_grad constant, so that the branches fold away and
 * the loop vectorises. */
static inline __attribute__((always_inline)) double gp_sum(const double *Z,
                                                           const double *alpha, int n,
                                                           const double *z, int nu2,
                                                           int want_grad, double *g) {
    double total = 0.0, g0 = 0.0, g1 = 0.0, g2 = 0.0, g3 = 0.0, g4 = 0.0;
#pragma omp simd reduction(+ : total, g0, g1, g2, g3, g4)
    for (int j = 0; j < n; j++) {
        double d[GP_INPUTS], s[GP_INPUTS], f[GP_INPUTS], t = 0.0;
        for (int i = 0; i < GP_INPUTS; i++) {
            d[i] = z[i] - Z[(size_t)i * n + j];
            s[i] = fabs(d[i]);
            f[i] = factor(s[i], nu2);
            t += s[i];
        }
        const double r = alpha[j] * exp(-t) * f[0] * f[1] * f[2] * f[3] * f[4];
        total += r;
        if (want_grad) {
            g0 += r * ratio(d[0], s[0], f[0], nu2);
            g1 += r * ratio(d[1], s[1], f[1], nu2);
            g2 += r * ratio(d[2], s[2], f[2], nu2);
            g3 += r * ratio(d[3], s[3], f[3], nu2);
            g4 += r * ratio(d[4], s[4], f[4], nu2);
        }
    }
    g[0] = g0, g[1] = g1, g[2] = g2, g[3] = g3, g[4] = g4;
    return total;
}

double interp5d_gp_point(const double *Z, const double *alpha, int n, const double *a,
                         const double *b, int nu2, double x0, double x1, double x2, double x3,
                         double x4, double *grad) {
    const double x[GP_INPUTS] = {x0, x1, x2, x3, x4};
    double z[GP_INPUTS], g[GP_INPUTS], total;
    for (int i = 0; i < GP_INPUTS; i++) z[i] = x[i] * a[i] + b[i];
    /* any other nu2 is NaN, which the caller never passes */
    if (grad == NULL)
        return nu2 == 5   ? gp_sum(Z, alpha, n, z, 5, 0, g)
               : nu2 == 3 ? gp_sum(Z, alpha, n, z, 3, 0, g)
               : nu2 == 1 ? gp_sum(Z, alpha, n, z, 1, 0, g)
                          : NAN;
    if (nu2 == 5)
        total = gp_sum(Z, alpha, n, z, 5, 1, g);
    else if (nu2 == 3)
        total = gp_sum(Z, alpha, n, z, 3, 1, g);
    else if (nu2 == 1)
        total = gp_sum(Z, alpha, n, z, 1, 1, g);
    else
        total = g[0] = g[1] = g[2] = g[3] = g[4] = NAN;
    /* ∂R/∂z_i = -R·ratio_i, then ∂z_i/∂x_i = a_i */
    for (int i = 0; i < GP_INPUTS; i++) grad[i] = -g[i] * a[i];
    return total;
}

/* The mean on m points, out[k] = Σ_j alpha_j R(z_k, Z_j): X (m, GP_INPUTS) row-major in the
 * data's units, each scaled as z = x·a + b (NaN for any other nu2, which the caller never
 * passes). */
void interp5d_gp_points(const double *Z, const double *alpha, int n, const double *a,
                        const double *b, int nu2, const double *X, int m, double *out) {
    double z[GP_INPUTS], g[GP_INPUTS];
    for (int k = 0; k < m; k++) {
        for (int i = 0; i < GP_INPUTS; i++) z[i] = X[(size_t)k * GP_INPUTS + i] * a[i] + b[i];
        out[k] = nu2 == 5   ? gp_sum(Z, alpha, n, z, 5, 0, g)
                 : nu2 == 3 ? gp_sum(Z, alpha, n, z, 3, 0, g)
                 : nu2 == 1 ? gp_sum(Z, alpha, n, z, 1, 0, g)
                            : NAN;
    }
}
