"""One point, fast: a fitted model's arithmetic for a single query point in float64, the
standardisations folded into the weights (the MLP) or the training rows (the Gaussian
process), without torch's dispatch or the batch path's checks: one compiled call where the
native library can be had (mlp_point.c, gp_point.c), numpy otherwise. `Method.predict`
stays the reference path beside them; tests tie them, and each compiled call to its numpy
form."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

import numpy as np

from interp5d.training.engines import native_lib

if TYPE_CHECKING:
    from interp5d.data import Standardizer
    from interp5d.methods.base import Method


class PointPath(Protocol):
    def value(self, x: np.ndarray) -> float: ...

    def grad(self, x: np.ndarray) -> np.ndarray: ...


class Affine:
    """x ↦ (x - mean) / scale into the model's inputs, f ↦ y_mean + y_scale·f out of it:
    the outer estimator's standardisation and the inner model's, composed."""

    def __init__(self, outer: tuple[Standardizer, Standardizer], inner: Method) -> None:
        (ox, oy), ix, iy = outer, inner.x_scaler_, inner.y_scaler_
        # ((x - om)/os - im)/is = (x - (om + os·im)) / (os·is)
        self.x_mean = np.asarray(ox.mean + ox.scale * ix.mean, dtype=np.float64)
        self.x_scale = np.asarray(ox.scale * ix.scale, dtype=np.float64)
        self.y_mean = float(oy.mean + oy.scale * iy.mean)
        self.y_scale = float(oy.scale * iy.scale)


def _silu(z: np.ndarray) -> np.ndarray:
    return z / (1.0 + np.exp(-z))


def _silu_slope(z: np.ndarray) -> np.ndarray:
    s = 1.0 / (1.0 + np.exp(-z))
    return s * (1.0 + z * (1.0 - s))


def _tanh_slope(z: np.ndarray) -> np.ndarray:
    t = np.tanh(z)
    return 1.0 - t * t


def _relu(z: np.ndarray) -> np.ndarray:
    return np.maximum(z, 0.0)


def _relu_slope(z: np.ndarray) -> np.ndarray:
    return (z > 0).astype(np.float64)


# activations with a plain numpy form: (value, derivative); others take the plain path
ACTIVATIONS = {
    "silu": (_silu, _silu_slope),
    "tanh": (np.tanh, _tanh_slope),
    "relu": (_relu, _relu_slope),
}


class Rebinds:
    """A path whose compiled call holds ctypes functions and array addresses (the
    attributes `_bound` names, set by `_bind`): a copy or an unpickled path binds its own,
    since another's addresses would outlive their arrays."""

    _bound: tuple[str, ...] = ()

    def _bind(self) -> None:
        raise NotImplementedError

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        for key in self._bound:
            del state[key]
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._bind()


class MLPPoint(Rebinds):
    """The networks of a fitted MLPInterpolator (their mean for an ensemble) on one point:
    each network in one compiled call (mlp_point.c) where the native library can be had,
    else in numpy."""

    def __init__(self, est: Method, affine: Affine) -> None:
        from interp5d.model import linear_layers

        self.activation = est.recipe_.activation
        self.act, self.slope = ACTIVATIONS[self.activation]
        self.members = []
        for model in est.members_:
            layers = [
                (m.weight.detach().cpu().double().numpy(), m.bias.detach().cpu().double().numpy())
                for m in linear_layers(model)
            ]
            (W0, b0), (Wl, bl) = layers[0], layers[-1]
            # the input standardisation into the first layer, the output's into the last
            W0 = W0 / affine.x_scale
            b0 = b0 - W0 @ affine.x_mean
            Wl, bl = Wl[0] * affine.y_scale, float(bl[0]) * affine.y_scale + affine.y_mean
            self.members.append(([(W0, b0), *layers[1:-1]], Wl, bl))
        self.n = len(self.members)
        self._bind()

    _bound = ("compiled", "_arrays", "_args")

    def _bind(self) -> None:
        """The compiled call and, per member, its arguments: the layer widths and the
        parameters laid out as mlp_point.c reads them, kept alive here with their
        addresses."""
        lib = native_lib.optional()
        self.compiled = None
        self._arrays, self._args = [], []
        if lib is None or self.activation not in native_lib.ACTIVATIONS:
            return
        for hidden, Wl, bl in self.members:
            widths = [hidden[0][0].shape[1], *(W.shape[0] for W, _ in hidden), 1]
            if widths[0] != native_lib.POINT_INPUTS:
                return
            blocks = [a.ravel() for W, b in hidden for a in (W, b)]
            params = np.ascontiguousarray(np.concatenate([*blocks, Wl, [bl]]), dtype=np.float64)
            widths_c = np.asarray(widths, dtype=np.intc)
            self._arrays.append((params, widths_c))
            act = native_lib.ACTIVATIONS[self.activation]
            self._args.append((len(widths) - 1, widths_c.ctypes.data, params.ctypes.data, act))
        self.compiled = lib.interp5d_mlp_point

    def value(self, x: np.ndarray) -> float:
        if self.compiled is None:
            return self.value_numpy(x)
        xs = x.tolist()
        total = 0.0
        for args in self._args:
            total += self.compiled(*args, *xs, None)
        return total / self.n

    def grad(self, x: np.ndarray) -> np.ndarray:
        if self.compiled is None:
            return self.grad_numpy(x)
        xs, total = x.tolist(), np.zeros(len(x))
        g = np.empty(len(x))
        for args in self._args:
            self.compiled(*args, *xs, g.ctypes.data)
            total += g
        return total / self.n

    def value_numpy(self, x: np.ndarray) -> float:
        act, total = self.act, 0.0
        for hidden, Wl, bl in self.members:
            h = x
            for W, b in hidden:
                h = act(W @ h + b)
            total += Wl @ h + bl
        return float(total) / self.n

    def grad_numpy(self, x: np.ndarray) -> np.ndarray:
        act, slope_of, total = self.act, self.slope, 0.0
        for hidden, Wl, _ in self.members:
            h, slopes = x, []
            for W, b in hidden:
                z = W @ h + b
                h = act(z)
                slopes.append(slope_of(z))
            g = Wl
            for (W, _), slope in zip(reversed(hidden), reversed(slopes), strict=True):
                g = (g * slope) @ W
            total = total + g
        return total / self.n


def _compiled_gp(inputs: int):
    """The native library where it loads and its gp_point.c takes this many inputs."""
    lib = native_lib.optional()
    return lib if lib is not None and lib.interp5d_gp_inputs() == inputs else None


class GPPoint(Rebinds):
    """A fitted GaussianProcess's predictive mean on one point (product_matern kernels):
    the training rows scaled once by √(2ν)/l and stored input by input (5, n), so that a
    point costs one compiled loop over them (`compiled`), or a few numpy passes."""

    def __init__(self, est: Method, affine: Affine) -> None:
        from interp5d.methods.gp_kernels import _matern

        self.matern, self.nu = _matern, est.nu
        c = np.sqrt(2.0 * est.nu) / est.length_scales_
        # z = (x - x_mean)/x_scale · c, as x·a + b
        self.a = np.ascontiguousarray(c / affine.x_scale, dtype=np.float64)
        self.b = np.ascontiguousarray(-affine.x_mean * self.a, dtype=np.float64)
        self.Z = np.ascontiguousarray((est.X_train_ * c).T, dtype=np.float64)
        self.alpha = np.ascontiguousarray(est.alpha_ * affine.y_scale, dtype=np.float64)
        self.c0 = float(affine.y_mean + affine.y_scale * est.solve_.beta)
        self._bind()

    _bound = ("compiled", "compiled_batch", "_args")

    def _bind(self) -> None:
        """The compiled calls and their leading arguments: the addresses of the arrays
        above, which this object keeps alive and never changes."""
        lib = _compiled_gp(len(self.a))
        self.compiled = None if lib is None else lib.interp5d_gp_point
        self.compiled_batch = None if lib is None else lib.interp5d_gp_points
        self._args = (
            self.Z.ctypes.data,
            self.alpha.ctypes.data,
            self.Z.shape[1],
            self.a.ctypes.data,
            self.b.ctypes.data,
            round(2 * self.nu),
        )

    def _rows(self, x: np.ndarray, grad: bool):
        d = (x * self.a + self.b)[:, None] - self.Z
        s = np.abs(d)
        r = np.exp(-s.sum(axis=0))
        if self.nu == 2.5 and not grad:
            # 1 + s + s²/3 as 1 + s(1 + s/3): the fewest passes
            poly = s * (1.0 / 3.0)
            poly += 1.0
            poly *= s
            poly += 1.0
            return r * poly.prod(axis=0), d, None
        poly, dlog = self.matern(s, self.nu, grad)
        if self.nu != 0.5:
            r *= poly.prod(axis=0)
        return r, d, dlog

    def value(self, x: np.ndarray) -> float:
        if self.compiled is None:
            return self.value_numpy(x)
        # x's five numbers go by value: no buffer shared between threads
        return self.c0 + self.compiled(*self._args, *x.tolist(), None)

    def grad(self, x: np.ndarray) -> np.ndarray:
        if self.compiled is None:
            return self.grad_numpy(x)
        g = np.empty(len(self.a))
        self.compiled(*self._args, *x.tolist(), g.ctypes.data)
        return g

    def batch(self, X: np.ndarray) -> np.ndarray:
        """The mean on the rows of X (m, 5), in one compiled call: it needs the library
        (see `compiled`), and finite float64 points."""
        X = np.ascontiguousarray(X, dtype=np.float64)
        out = np.empty(len(X))
        self.compiled_batch(*self._args, X.ctypes.data, len(X), out.ctypes.data)
        out += self.c0
        return out

    def value_numpy(self, x: np.ndarray) -> float:
        return self.c0 + float(self._rows(x, False)[0] @ self.alpha)

    def grad_numpy(self, x: np.ndarray) -> np.ndarray:
        # ∂R/∂z_i = -R·dlog_i/d_i (see GaussianProcess.predict_grad), then ∂z/∂x = a
        r, d, dlog = self._rows(x, True)
        ratio = np.divide(dlog, d, out=np.zeros_like(d), where=d != 0)
        return -(ratio @ (self.alpha * r)) * self.a


class MeanPoint:
    """The mean of several models' one-point paths (a blend)."""

    def __init__(self, paths: list[PointPath]) -> None:
        self.paths = paths

    def value(self, x: np.ndarray) -> float:
        return sum(p.value(x) for p in self.paths) / len(self.paths)

    def grad(self, x: np.ndarray) -> np.ndarray:
        return sum(p.grad(x) for p in self.paths) / len(self.paths)


def gp_batch_path(est: Method) -> GPPoint | None:
    """A fitted GP's compiled path for batches of points on its own input and output
    standardisation (the outer one is the identity), or None where there is none."""
    from interp5d.data import Standardizer

    if est.name != "gp" or est.kernel != "product_matern":
        return None
    n_in = len(est.length_scales_)
    identity = (
        Standardizer(mean=np.zeros(n_in), scale=np.ones(n_in)),
        Standardizer(mean=np.float64(0.0), scale=np.float64(1.0)),
    )
    path = GPPoint(est, Affine(identity, est))
    return path if path.compiled_batch is not None else None


def point_path(est: Method, outer: tuple[Standardizer, Standardizer]) -> PointPath | None:
    """The fast one-point path of a fitted model inside an estimator that standardised its
    data with `outer` first; None where there is none (the plain path then serves)."""
    affine = Affine(outer, est)
    if est.name == "mlp":
        on_cpu = all(next(m.parameters()).device.type == "cpu" for m in est.members_)
        if on_cpu and est.recipe_.activation in ACTIVATIONS and est.status_ != "diverged":
            return MLPPoint(est, affine)
    if est.name == "gp" and est.kernel == "product_matern":
        return GPPoint(est, affine)
    return None
