/* A fitted MLP's prediction on one point, and its gradient: fastpath.py's MLPPoint (one
 * network; an ensemble calls it once a member) in one C call, in float64. Its numpy form
 * makes ~14 calls of a microsecond each for ~2,500 multiply-adds; this is one. Built into
 * the native library (native_lib.py); a test ties it to the numpy form.
 *
 * Layout, MLPPoint's: widths[0..n_layers] (the inputs, the hidden widths, one output);
 * params holds each layer's W (out x in, row-major) then its b (out), in order, the
 * standardisations folded into the first and the last. */

#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#define MLP_INPUTS 5 /* the point's inputs, passed by value */

enum { MLP_RELU = 0, MLP_SILU = 1, MLP_TANH = 2 }; /* native_lib.ACTIVATIONS: checked */

/* The activation ids, then MLP_INPUTS, for native_lib.py to check; returns how many. */
int interp5d_mlp_layout(int64_t *out, int capacity) {
    const int64_t layout[] = {MLP_RELU, MLP_SILU, MLP_TANH, MLP_INPUTS};
    const int count = (int)(sizeof layout / sizeof layout[0]);
    for (int i = 0; i < count && i < capacity; i++) out[i] = layout[i];
    return count;
}

static double act(double z, int activation) {
    if (activation == MLP_SILU) return z / (1.0 + exp(-z));
    if (activation == MLP_TANH) return tanh(z);
    return z > 0.0 ? z : 0.0;
}

static double slope(double z, int activation) {
    if (activation == MLP_SILU) {
        const double s = 1.0 / (1.0 + exp(-z));
        return s * (1.0 + z * (1.0 - s));
    }
    if (activation == MLP_TANH) {
        const double t = tanh(z);
        return 1.0 - t * t;
    }
    return z > 0.0 ? 1.0 : 0.0;
}

/* The network's output on x; with grad (non-NULL, MLP_INPUTS), also ∂out/∂x there.
 * NaN where its scratch cannot be had, or widths[0] is not MLP_INPUTS, or the output not
 * one number (never, from MLPPoint). */
double interp5d_mlp_point(int n_layers, const int *widths, const double *params,
                          int activation, double x0, double x1, double x2, double x3,
                          double x4, double *grad) {
    if (n_layers < 1 || widths[0] != MLP_INPUTS || widths[n_layers] != 1) return NAN;
    size_t hidden = 0, widest = MLP_INPUTS;
    for (int l = 1; l < n_layers; l++) {
        hidden += (size_t)widths[l];
        if ((size_t)widths[l] > widest) widest = (size_t)widths[l];
    }
    /* each hidden layer's pre-activation z and activation h (kept for the gradient), and
     * two vectors of the widest width for the backward pass */
    double *work = malloc((2 * hidden + 2 * widest + 1) * sizeof(double));
    if (work == NULL) return NAN;
    double *zs = work, *hs = work + hidden, *g = hs + hidden, *g_next = g + widest;
    const double x[MLP_INPUTS] = {x0, x1, x2, x3, x4};
    const double *h = x, *p = params;
    size_t offset = 0;
    double out = 0.0;
    for (int l = 0; l < n_layers; l++) {
        const int in = widths[l], width = widths[l + 1];
        const double *W = p, *b = p + (size_t)width * in;
        double *z = zs + offset, *a = hs + offset;
        for (int j = 0; j < width; j++) {
            double sum = b[j];
#pragma omp simd reduction(+ : sum)
            for (int i = 0; i < in; i++) sum += W[(size_t)j * in + i] * h[i];
            if (l == n_layers - 1) {
                out = sum;
            } else {
                z[j] = sum;
                a[j] = act(sum, activation);
            }
        }
        if (l < n_layers - 1) {
            h = a;
            offset += (size_t)width;
        }
        p = b + width;
    }
    if (grad != NULL) {
        /* back from the output: g = ∂out/∂h_l, then ∂out/∂z_l = g·act'(z_l), then
         * ∂out/∂h_{l-1} = (g·act'(z_l)) W_l; the layers' parameters walked backwards */
        const double *W = p - 1 - widths[n_layers - 1]; /* the last layer's W (1 x in) */
        for (int i = 0; i < widths[n_layers - 1]; i++) g[i] = W[i];
        for (int l = n_layers - 2; l >= 0; l--) {
            const int in = widths[l], width = widths[l + 1];
            offset -= (size_t)width;
            const double *z = zs + offset;
            W -= (size_t)width * in + width; /* this layer's W: its b lies between */
            for (int j = 0; j < width; j++) g[j] *= slope(z[j], activation);
            for (int i = 0; i < in; i++) g_next[i] = 0.0;
            for (int j = 0; j < width; j++) {
                const double gj = g[j];
#pragma omp simd
                for (int i = 0; i < in; i++) g_next[i] += gj * W[(size_t)j * in + i];
            }
            double *t = g;
            g = g_next;
            g_next = t;
        }
        for (int i = 0; i < MLP_INPUTS; i++) grad[i] = g[i];
    }
    free(work);
    return out;
}
