"""The native engine: the fast engine's buffers and validation, with each training step one
call of the compiled step (native_step.c) instead of ~20 PyTorch ops."""

from __future__ import annotations

import ctypes
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import torch

from interp5d.recipes import Recipe
from interp5d.training.engines import native_lib as native
from interp5d.training.engines.fast import FastEngine

if TYPE_CHECKING:
    from interp5d.training.batch import Batch, Step


class NativeEngine(FastEngine):
    """FastEngine whose `step`, `steps` and `val_mse` run in C on the same tensors (parameters,
    gradient, Adam's moments, the moving average, the workspace): what it holds, keeps and
    returns is the fast engine's. CPU and float32 only; relu, silu and tanh."""

    name = "native"

    def __init__(self, *, widths: list[int], recipe: Recipe, **fast: Any) -> None:
        """FastEngine's arguments: its buffers are the ones the C step works in."""
        super().__init__(widths=widths, recipe=recipe, **fast)
        if widths[-1] != 1 or len(widths) - 1 > native.MAX_LAYERS:
            raise ValueError(
                f"the native step takes up to {native.MAX_LAYERS} layers and one output"
            )
        self.lib, sgemm = native.load()
        w = self.work
        net = native.Net()
        net.sgemm = sgemm
        net.n_layers = len(widths) - 1
        net.widths[: len(widths)] = widths
        net.activation = native.ACTIVATIONS[recipe.activation]
        net.chunk_rows = self.chunk_rows
        net.n_params = self.flat.numel()
        net.params, net.grad = native.pointer(self.flat), native.pointer(self.flat_grad)
        net.m, net.v = native.pointer(self.opt.m), native.pointer(self.opt.v)
        net.avg = native.pointer(self.avg)
        for i, (o, s, g) in enumerate(zip(w.outputs, w.saved, w.grads, strict=True)):
            net.outputs[i], net.saved[i], net.deltas[i] = map(native.pointer, (o, s, g))
        net.out, net.sq = native.pointer(w.out), native.pointer(w.sq)
        adam = self.opt.settings
        net.beta1, net.beta2, net.eps = adam.beta1, adam.beta2, adam.eps
        net.weight_decay, net.ema_decay = adam.weight_decay, self.ema_decay
        self.net = net
        self._eval_params = native.pointer(self.weights)  # the iterate, or its average
        self._args: dict[int, tuple] = {}  # see _cached

    @classmethod
    def unavailable_reason(cls, device: torch.device | str, activation: str) -> str | None:
        """Why the native step cannot train here (the first call builds and loads it)."""
        return native.unavailable_reason(device, activation)

    def products_args(self, x: torch.Tensor) -> tuple:
        """The C arguments of interp5d_step_products, the step's matrix products alone (what
        the roofline times), on rows `x` with the ones column; `x` must outlive them."""
        return self.net, native.pointer(x), x.stride(0), len(x)

    def load(self, model) -> None:
        super().load(model)
        self.net.averaged = 0

    def step(
        self,
        batch: Batch,
        lr: float,
        data: torch.Tensor | None = None,
        index: torch.Tensor | None = None,
    ) -> None:
        """One Adam step on a batch, in one call; with `index`, its rows are first gathered
        from `data` (in the same call)."""
        rows = self._cached(batch, lambda: self._rows_args(batch.rows))
        self.lib.interp5d_step(self.net, *rows, lr, *self._source(batch, data, index))

    def steps(
        self, run: Sequence[Step], lrs: Sequence[float], data: torch.Tensor | None = None
    ) -> None:
        """The run's steps in one call, each as `step`'s. Their batches are views of one
        buffer (the loop's), as their rows then start at one address."""
        x, ldx, y, ldy, _ = self._cached(run[0][0], lambda: self._rows_args(run[0][0].rows))
        rows = (ctypes.c_int * len(run))()
        index = (native.I32 * len(run))()
        for s, (batch, batch_index, n) in enumerate(run):
            if batch.rows.data_ptr() != run[0][0].rows.data_ptr():
                raise ValueError("the native engine steps a run of batches in one buffer")
            source = self._source(batch, data, batch_index)
            rows[s], index[s] = n, source[1]
        lr = (ctypes.c_float * len(run))(*lrs)
        self.lib.interp5d_steps(self.net, x, ldx, y, ldy, len(run), rows, lr, source[0], index)

    def val_mse(self, val: torch.Tensor) -> float:
        """The validated weights' mean squared error on `val`, in one call."""
        rows = self._cached(val, lambda: self._rows_args(val))
        return self.lib.interp5d_sse(self.net, self._eval_params, *rows) / len(val)

    def _source(self, batch: Batch, data, index) -> tuple:
        """The C arguments of where a batch's rows come from: `data` by `index`, or none."""
        return self._cached(index, lambda: self._source_args(batch, data, index))

    def _cached(self, key, make) -> tuple:
        """The C arguments for an object the loop passes at every step, made once; the
        object is kept with them, so that its id is not reused while they point into it."""
        hit = self._args.get(id(key))
        if hit is None:
            hit = self._args[id(key)] = (key, make())
        return hit[1]

    @staticmethod
    def _rows_args(rows: torch.Tensor) -> tuple:
        """Pointers and strides of rows [x, 1, y] (x with its ones column, y), and n."""
        if rows.dtype != torch.float32 or rows.device.type != "cpu" or not rows.is_contiguous():
            raise ValueError("the native step takes contiguous float32 rows on the CPU")
        stride = rows.stride(0)
        return native.pointer(rows), stride, native.pointer(rows[:, -1:]), stride, len(rows)

    @staticmethod
    def _source_args(batch: Batch, data, index) -> tuple:
        if index is None:
            return native.pointer(None), native.index_pointer(None)
        if data.shape[1] != batch.rows.shape[1] or not data.is_contiguous():
            raise ValueError("the batch's rows are gathered from contiguous rows of its width")
        if index.dtype != torch.int32 or not index.is_contiguous():
            raise ValueError("the native step gathers rows by a contiguous int32 index")
        return native.pointer(data), native.index_pointer(index)
