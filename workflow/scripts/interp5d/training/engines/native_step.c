/* The native engine's training step: fast_engine.py's step (forward, hand-written backward,
 * Adam, the moving average), kernel for kernel, in one C call. The matrix products are
 * the BLAS sgemm that torch itself calls (MKL's, found in libtorch_cpu and passed in), so
 * what this saves is what eager PyTorch spends between them: the Python and dispatch cost
 * of ~20 small ops a step, and the passes that fusing an activation with its derivative
 * avoids. native.py builds it with the system C compiler; a test ties it to the fast
 * engine.
 *
 * Layouts are fast_engine.py's: row-major float32; the parameters are one flat vector in
 * which layer l is a block [W | b]^T of shape (in + 1, out); each hidden output buffer is
 * (chunk_rows, h + 1) with a trailing column of ones, so one product gives a layer's output
 * with its bias and one gives the block's gradient. */

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define MAX_LAYERS 16 /* recipes.NATIVE_MAX_LAYERS: native.py checks them equal */

typedef void (*sgemm_t)(const char *, const char *, const int *, const int *, const int *,
                        const float *, const float *, const int *, const float *, const int *,
                        const float *, float *, const int *);

enum { ACT_RELU = 0, ACT_SILU = 1, ACT_TANH = 2 }; /* native.ACTIVATIONS: checked */

/* Filled once by native.py (a ctypes.Structure of the same fields); the pointers are the
 * engine's own torch buffers. */
typedef struct {
    sgemm_t sgemm;
    int n_layers;                  /* L: widths[0..L] */
    int widths[MAX_LAYERS + 1];
    int activation;
    int chunk_rows;                /* the most rows multiplied at once (the buffers' rows) */
    int n_params;
    float *params, *grad, *m, *v;
    float *avg;                    /* the moving average of the weights, or NULL */
    float *outputs[MAX_LAYERS];    /* (chunk_rows, h + 1) */
    float *saved[MAX_LAYERS];      /* (chunk_rows, h): SiLU's sigmoid; NULL otherwise */
    float *deltas[MAX_LAYERS];     /* (chunk_rows, h) */
    float *out;                    /* (chunk_rows, 1) */
    float *sq;                     /* (chunk_rows, 1): squared errors, summed over steps */
    float beta1, beta2, weight_decay, eps, ema_decay;
    int64_t t;                     /* Adam steps taken */
    int averaged;                  /* whether avg has been set */
} Net;

/* The layout native.py's ctypes mirror must have: sizeof(Net), MAX_LAYERS, the activation
 * ids, then each field's offset in order. Writes at most `capacity` values into `out` and
 * returns how many there are, so a mirror with another field count is told apart. */
int interp5d_layout(int64_t *out, int capacity) {
    const int64_t layout[] = {
        sizeof(Net), MAX_LAYERS, ACT_RELU, ACT_SILU, ACT_TANH,
        offsetof(Net, sgemm), offsetof(Net, n_layers), offsetof(Net, widths),
        offsetof(Net, activation), offsetof(Net, chunk_rows), offsetof(Net, n_params),
        offsetof(Net, params), offsetof(Net, grad), offsetof(Net, m), offsetof(Net, v),
        offsetof(Net, avg), offsetof(Net, outputs), offsetof(Net, saved),
        offsetof(Net, deltas), offsetof(Net, out), offsetof(Net, sq), offsetof(Net, beta1),
        offsetof(Net, beta2), offsetof(Net, weight_decay), offsetof(Net, eps),
        offsetof(Net, ema_decay), offsetof(Net, t), offsetof(Net, averaged),
    };
    const int count = (int)(sizeof layout / sizeof layout[0]);
    for (int i = 0; i < count && i < capacity; i++) out[i] = layout[i];
    return count;
}

/* Row-major C (m x n, ldc) = op(A) @ op(B) + beta C, op(X) = X or X^T (ta, tb): the
 * column-major sgemm of C^T = op(B)^T op(A)^T. */
static void mm(const Net *net, int m, int n, int k, const float *a, int lda, int ta,
               const float *b, int ldb, int tb, float *c, int ldc, float beta) {
    const float one = 1.0f;
    net->sgemm(tb ? "T" : "N", ta ? "T" : "N", &n, &m, &k, &one, b, &ldb, a, &lda, &beta, c,
               &ldc);
}

static int block_offset(const Net *net, int layer) {
    int off = 0;
    for (int l = 0; l < layer; l++) off += (net->widths[l] + 1) * net->widths[l + 1];
    return off;
}

/* The logistic sigmoid 1 / (1 + e^-z) as 1 / (1 + 2^t), t = -z log2(e) = n + f with n an
 * integer and |f| <= 1/2: 2^f from a degree-5 polynomial (fitted for this to 2^f's relative
 * error: at most 7.5e-8 on [-1/2, 1/2]), 2^n added to its exponent bits. In 30-40% less
 * time than glibc's vector expf and a division (the sigmoid was a fifth of the SiLU step), at
 * some cost in relative error for large negative z, where t's own rounding dominates: at
 * most 6e-7 for |z| <= 10, 3.9e-6 at worst (expf's: 1.2e-7); the absolute error is at most
 * 2e-7 everywhere (PyTorch's: 1.2e-7). t is clamped to +-125 so that 2^t stays a normal
 * float: below z = -86.6, s is at most 2.6e-38. A NaN z leaves z s NaN. */
static inline float sigmoid(float z) {
    const float t = fminf(fmaxf(-1.44269504f * z, -125.0f), 125.0f);
    const float n = rintf(t), f = t - n;
    float p = 1.3276469e-3f;
    p = fmaf(p, f, 9.6755419e-3f);
    p = fmaf(p, f, 5.5507135e-2f);
    p = fmaf(p, f, 2.4022120e-1f);
    p = fmaf(p, f, 6.9314694e-1f);
    p = fmaf(p, f, 1.0000001f);
    /* in unsigned arithmetic: a negative n shifted is undefined behaviour in C, while the
     * unsigned sum wraps to the same bits */
    uint32_t bits;
    memcpy(&bits, &p, sizeof bits);
    bits += (uint32_t)(int32_t)n << 23;
    memcpy(&p, &bits, sizeof p);
    return 1.0f / (1.0f + p);
}

/* z s(z) in place on n values, their sigmoid s kept in s. */
static inline void silu(float *z, float *s, int n) {
#pragma omp simd
    for (int j = 0; j < n; j++) {
        s[j] = sigmoid(z[j]);
        z[j] *= s[j];
    }
}

/* The same, exported for the test of its accuracy. */
void interp5d_silu(float *z, float *s, int n) { silu(z, s, n); }

/* act(z) in place on b rows of h columns (row stride ld); SiLU keeps its sigmoid. */
static void act_forward(const Net *net, float *z, int ld, float *saved, int b, int h) {
    for (int i = 0; i < b; i++) {
        float *zr = z + (int64_t)i * ld;
        if (net->activation == ACT_SILU) {
            silu(zr, saved + (int64_t)i * h, h);
        } else if (net->activation == ACT_TANH) {
#pragma omp simd
            for (int j = 0; j < h; j++) zr[j] = tanhf(zr[j]);
        } else {
#pragma omp simd
            for (int j = 0; j < h; j++) zr[j] = zr[j] > 0.0f ? zr[j] : 0.0f;
        }
    }
}

/* g *= act'(z), from the activation a (row stride lda) and what the forward saved. */
static void act_backward(const Net *net, float *g, const float *a, int lda, const float *saved,
                         int b, int h) {
    for (int i = 0; i < b; i++) {
        float *gr = g + (int64_t)i * h;
        const float *ar = a + (int64_t)i * lda;
        if (net->activation == ACT_SILU) {
            /* silu'(z) = s + z s (1 - s) = s - a s + a */
            const float *sr = saved + (int64_t)i * h;
#pragma omp simd
            for (int j = 0; j < h; j++) gr[j] *= sr[j] - ar[j] * sr[j] + ar[j];
        } else if (net->activation == ACT_TANH) {
#pragma omp simd
            for (int j = 0; j < h; j++) gr[j] *= 1.0f - ar[j] * ar[j];
        } else {
#pragma omp simd
            for (int j = 0; j < h; j++) gr[j] = ar[j] > 0.0f ? gr[j] : 0.0f;
        }
    }
}

/* The network with parameters `params` (the net's layout) on b rows of x: the hidden
 * outputs in the workspace, the prediction in net->out. With products_only, the products
 * alone. */
static float *forward(Net *net, const float *params, const float *x, int ldx, int b,
                      int products_only) {
    const int L = net->n_layers;
    const int *w = net->widths;
    const float *h = x;
    int ldh = ldx;
    for (int l = 0; l < L - 1; l++) {
        int n = w[l + 1];
        mm(net, b, n, w[l] + 1, h, ldh, 0, params + block_offset(net, l), n, 0,
           net->outputs[l], n + 1, 0.0f);
        if (!products_only) act_forward(net, net->outputs[l], n + 1, net->saved[l], b, n);
        h = net->outputs[l];
        ldh = n + 1;
    }
    mm(net, b, 1, w[L - 1] + 1, h, ldh, 0, params + block_offset(net, L - 1), 1, 0, net->out,
       1, 0.0f);
    return net->out;
}

/* The gradient of the batch's mean squared error from one chunk of b of its rows, written
 * (first chunk) or added (accumulate) into net->grad; the chunk's squared errors are added
 * to sq. With products_only, the matrix products alone (the roofline's measure). */
static void chunk_gradient(Net *net, const float *x, int ldx, const float *y, int ldy, int b,
                           int batch_rows, int accumulate, int products_only) {
    const int L = net->n_layers;
    const int *w = net->widths;
    /* d = scale (prediction - target): d(loss)/d(prediction) */
    float *d = forward(net, net->params, x, ldx, b, products_only);
    if (!products_only) {
        const float scale = 2.0f / (float)batch_rows;
        for (int i = 0; i < b; i++) {
            float e = d[i] - y[(int64_t)i * ldy];
            net->sq[i] += e * e;
            d[i] = scale * e;
        }
    }
    const float *delta = d;
    int ld_delta = 1;
    for (int l = L - 1; l >= 0; l--) {
        int n_in = w[l], n_out = w[l + 1];
        const float *in = l == 0 ? x : net->outputs[l - 1];
        int ld_in = l == 0 ? ldx : n_in + 1;
        float *block = net->params + block_offset(net, l);
        /* the block's gradient (in + 1, out) = input^T @ delta */
        mm(net, n_in + 1, n_out, b, in, ld_in, 1, delta, ld_delta, 0,
           net->grad + block_offset(net, l), n_out, accumulate ? 1.0f : 0.0f);
        if (l > 0) {
            /* the input's gradient (b, in) = delta @ W, W^T being the block's first in rows */
            float *g = net->deltas[l - 1];
            mm(net, b, n_in, n_out, delta, ld_delta, 0, block, n_out, 1, g, n_in, 0.0f);
            if (!products_only)
                act_backward(net, g, net->outputs[l - 1], n_in + 1, net->saved[l - 1], b, n_in);
            delta = g;
            ld_delta = n_in;
        }
    }
}

/* PyTorch's Adam (torch._fused_adam_'s update; L2 weight decay added to the gradient), then
 * the moving average (torch.lerp's formula for a weight below 0.5; the first update copies,
 * as fast_engine.py's does). */
static void adam(Net *net, float lr) {
    net->t += 1;
    const double bc1 = 1.0 - pow(net->beta1, (double)net->t);
    const double bc2 = 1.0 - pow(net->beta2, (double)net->t);
    const float step_size = (float)(lr / bc1), bc2_sqrt = (float)sqrt(bc2);
    const float b1 = net->beta1, b2 = net->beta2, wd = net->weight_decay, eps = net->eps;
    float *p = net->params, *g = net->grad, *m = net->m, *v = net->v;
#pragma omp simd
    for (int i = 0; i < net->n_params; i++) {
        float gi = g[i] + wd * p[i];
        m[i] += (1.0f - b1) * (gi - m[i]);
        v[i] = b2 * v[i] + (1.0f - b2) * gi * gi;
        p[i] -= step_size * m[i] / (sqrtf(v[i]) / bc2_sqrt + eps);
    }
    if (net->avg == NULL) return;
    if (!net->averaged) {
        memcpy(net->avg, p, sizeof(float) * (size_t)net->n_params);
        net->averaged = 1;
        return;
    }
    const float weight = 1.0f - net->ema_decay;
    float *a = net->avg;
#pragma omp simd
    for (int i = 0; i < net->n_params; i++) a[i] += weight * (p[i] - a[i]);
}

/* One Adam step on a batch of `rows` rows: x (rows, in + 1) with the ones column, row
 * stride ldx; targets y with row stride ldy. A batch of more than chunk_rows rows is
 * stepped in chunks whose gradients are summed. With `index`, the batch is first gathered
 * into x (rows [x, 1, y] of `data`, row stride ldx, the index'th ones; as index_select). */
void interp5d_step(Net *net, float *x, int ldx, const float *y, int ldy, int rows, float lr,
                   const float *data, const int32_t *index) {
    if (index != NULL)
        for (int i = 0; i < rows; i++)
            memcpy(x + (int64_t)i * ldx, data + (int64_t)index[i] * ldx, sizeof(float) * ldx);
    for (int i = 0; i < rows; i += net->chunk_rows) {
        int b = rows - i < net->chunk_rows ? rows - i : net->chunk_rows;
        chunk_gradient(net, x + (int64_t)i * ldx, ldx, y + (int64_t)i * ldy, ldy, b, rows, i > 0,
                       0);
    }
    adam(net, lr);
}

/* `count` steps, each as interp5d_step's, in one call (what it saves is the Python of a call
 * a step): step s on rows[s] rows of the buffer x, first gathered by index[s] unless index is
 * NULL, at learning rate lrs[s]. */
void interp5d_steps(Net *net, float *x, int ldx, const float *y, int ldy, int count,
                    const int *rows, const float *lrs, const float *data,
                    const int32_t *const *index) {
    for (int s = 0; s < count; s++)
        interp5d_step(net, x, ldx, y, ldy, rows[s], lrs[s], data, index ? index[s] : NULL);
}

/* The sum of squared errors of the network with parameters `params` on `rows` rows (as
 * interp5d_step's), forward only, in chunks through the workspace (whose contents are
 * scratch between steps; sq is left as it is). */
double interp5d_sse(Net *net, const float *params, const float *x, int ldx, const float *y,
                    int ldy, int rows) {
    double sse = 0.0;
    for (int i = 0; i < rows; i += net->chunk_rows) {
        int b = rows - i < net->chunk_rows ? rows - i : net->chunk_rows;
        const float *pred = forward(net, params, x + (int64_t)i * ldx, ldx, b, 0);
        for (int r = 0; r < b; r++) {
            double e = (double)pred[r] - (double)y[(int64_t)(i + r) * ldy];
            sse += e * e;
        }
    }
    return sse;
}

/* The same step's matrix products alone, on the same buffers: the roofline's measure. */
void interp5d_step_products(Net *net, const float *x, int ldx, int rows) {
    for (int i = 0; i < rows; i += net->chunk_rows) {
        int b = rows - i < net->chunk_rows ? rows - i : net->chunk_rows;
        chunk_gradient(net, x + (int64_t)i * ldx, ldx, NULL, 0, b, rows, i > 0, 1);
    }
}
