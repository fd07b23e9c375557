"""The fast engine: the MLP trained without autograd and without allocating in the loop.

Its parameters are one flat vector in which each layer is a block [W | b]ᵀ of shape
(in + 1, out); every layer's input carries a trailing column of ones, so one matrix
product gives a layer's output with its bias, and one gives the block's gradient. The
blocks are stored transposed because the gradient product inputᵀ @ delta is then written in
the orientation MKL computes fastest for these shapes (a (64 x 6) gradient as (6 x B) @
(B x 64) takes a fifth of the time of (64 x B) @ (B x 6) at B = 1024). The forward and
backward passes write into buffers made once (`Workspace`), and Adam is one fused kernel.
For this small net the per-step overhead of autograd, of the per-tensor optimiser and of
allocation is most of the cost. A batch of more than CHUNK_ROWS rows (a full-batch recipe on
a large split) is stepped in chunks of that many rows whose gradients are summed: the same
gradient, up to the order of the sums, with activations that stay in cache. The plain engine
beside it (autograd_engine.py) trains the same recipe through ordinary PyTorch, a full batch
in one pass; a test ties the two.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch
from torch import nn

from interp5d.activations import Activation, get_activation
from interp5d.model import layer_widths, linear_layers, n_block_parameters
from interp5d.recipes import Recipe
from interp5d.training.engines.base import AdamSettings, Engine
from interp5d.training.limits import CHUNK_ROWS, VAL_CHUNK

if TYPE_CHECKING:
    from interp5d.training.batch import Batch


class FusedAdam:
    """Adam (PyTorch's update, L2 weight decay added to the gradient) on one flat parameter
    vector, as one fused kernel a step: the one torch.optim.Adam(fused=True) runs, without
    the optimiser object's per-step overhead."""

    def __init__(
        self, params: torch.Tensor, grads: torch.Tensor, recipe: Recipe, n_train: int
    ) -> None:
        """Adam's state for `params`, stepped on `grads` (read, never changed)."""
        self.params, self.grads = params, grads
        # explicit shapes, not zeros_like: on the meta device (the memory estimate) the
        # *_like ops go through Python reference code that imports sympy (0.6 s)
        self.m = torch.zeros(params.shape, device=params.device)
        self.v = torch.zeros(params.shape, device=params.device)
        self.t = torch.zeros((), device=params.device)
        self.one = torch.ones((), device=params.device)  # a tensor: add_(1) converts a scalar
        self.settings = AdamSettings.of(recipe, n_train)

    def step(self, lr: float) -> None:
        """One Adam update of the parameters at learning rate `lr`."""
        self.t.add_(self.one)
        # The private op on purpose: the public ways to run this same kernel are as exact
        # but slower per step. Side by side on the tuned net's 2,497 parameters (torch 2.13,
        # CPU, one thread, best of 5 x 3,000 steps, another job sharing the machine): this
        # call 6 us; torch.optim.adam.adam(fused=True), the functional API, 27 us, and
        # torch.optim.Adam(fused=True).step() 72 us, both bit-identical to it (a test
        # checks: tests/test_engines.py); torch.optim.adam.adam(foreach=True), the
        # torch._foreach_* path, 108 us and not bit-identical (a different order of the
        # same arithmetic), so it would change every shipped result. The fast engine's
        # whole SiLU step at batch 512 is about 300 us (README), so 20 us more would show.
        torch._fused_adam_(
            [self.params],
            [self.grads],
            [self.m],
            [self.v],
            [],
            [self.t],
            lr=lr,
            beta1=self.settings.beta1,
            beta2=self.settings.beta2,
            weight_decay=self.settings.weight_decay,
            eps=self.settings.eps,
            amsgrad=False,
            maximize=False,
        )


def layer_blocks(flat: torch.Tensor, widths: list[int]) -> list[torch.Tensor]:
    """Views of `flat` as each layer's (in + 1, out) block [W | b]ᵀ."""
    blocks, offset = [], 0
    for n_in, n_out in itertools.pairwise(widths):
        size = n_out * (n_in + 1)
        blocks.append(flat[offset : offset + size].view(n_in + 1, n_out))
        offset += size
    return blocks


@dataclass(frozen=True)
class Layers:
    """A flat parameter vector seen as each layer's block [W | b]ᵀ, and W itself (out, in)
    for the backward pass: views made once."""

    blocks: list[torch.Tensor]
    weights: list[torch.Tensor]

    @classmethod
    def of(cls, flat: torch.Tensor, widths: list[int]) -> Layers:
        blocks = layer_blocks(flat, widths)
        return cls(blocks, [b[:-1].t() for b in blocks])


def copy_weights(model: nn.Module, blocks: list[torch.Tensor], to_model: bool) -> None:
    with torch.no_grad():  # the parameters require grad
        for layer, block in zip(linear_layers(model), blocks, strict=True):
            if to_model:
                layer.weight.copy_(block[:-1].t())
                layer.bias.copy_(block[-1])
            else:
                block[:-1] = layer.weight.t()
                block[-1] = layer.bias


class Workspace:
    """Buffers for the forward (and, with `backward`, the backward) pass over up to `rows`
    rows; each hidden layer's output buffer has the trailing column of ones."""

    def __init__(
        self, rows: int, widths: list[int], act: Activation, backward: bool, device
    ) -> None:
        hidden = widths[1:-1]
        self.outputs = [torch.ones((rows, h + 1), device=device) for h in hidden]
        self.saved = [torch.empty((rows, h), device=device) if act.saves else None for h in hidden]
        self.grads = [torch.empty((rows, h), device=device) for h in hidden] if backward else []
        self.out = torch.empty((rows, 1), device=device)
        self.sq = torch.zeros((rows, 1), device=device)  # squared errors, summed over an epoch
        self._views: dict[int, Views] = {}

    def buffers(self) -> list[torch.Tensor]:
        return [
            *self.outputs,
            *(s for s in self.saved if s is not None),
            *self.grads,
            self.out,
            self.sq,
        ]

    def views(self, b: int) -> Views:
        """The buffers' first b rows (made once per distinct b)."""
        if b not in self._views:
            self._views[b] = Views(
                [o[:b] for o in self.outputs],
                [o[:b].t() for o in self.outputs],
                [o[:b, :-1] for o in self.outputs],
                [s if s is None else s[:b] for s in self.saved],
                [g[:b] for g in self.grads],
                self.out[:b],
                self.sq[:b],
            )
        return self._views[b]


@dataclass(frozen=True)
class Chunk:
    """Rows of a batch stepped in one pass: inputs with the ones column, the transposes of
    each layer's input (for the gradient products), targets, and the workspace's views."""

    x: torch.Tensor
    inputs_t: list[torch.Tensor]
    y: torch.Tensor
    views: Views


@dataclass
class Views:
    outputs: list[torch.Tensor]  # (b, h + 1): activation and the ones column
    outputs_t: list[torch.Tensor]  # (h + 1, b): their transposes
    acts: list[torch.Tensor]  # (b, h): the activation part of the same memory
    saved: list[torch.Tensor | None]  # (b, h): what the activation keeps for its backward
    grads: list[torch.Tensor]  # (b, h)
    out: torch.Tensor  # (b, 1)
    sq: torch.Tensor  # (b, 1)


def hidden_forward(layers: Layers, act: Activation, v: Views, x: torch.Tensor):
    """Run the hidden layers on x (b, k + 1, with the ones column); return the last's output."""
    # zip stops at the hidden layers: the output layer's block is left over
    for block, a, saved, full in zip(layers.blocks, v.acts, v.saved, v.outputs, strict=False):
        act.forward(torch.mm(x, block, out=a), saved)
        x = full
    return x


def error(layers: Layers, act: Activation, v: Views, x, y, scale: float = 1.0) -> torch.Tensor:
    """`scale` x (prediction - target), shape (b, 1), written to v.out; the squared errors
    (unscaled) are added to v.sq."""
    h = hidden_forward(layers, act, v, x)
    # one product and one pass for what is mm, sub, mul and a square-and-add unfused
    d = torch.addmm(y, h, layers.blocks[-1], beta=-scale, alpha=scale, out=v.out)
    v.sq.addcmul_(d, d, value=1.0 / scale**2)
    return d


def forward_backward(
    layers: Layers,
    grads,
    act: Activation,
    v: Views,
    x,
    inputs_t,
    y,
    batch_rows: int | None = None,
    accumulate: bool = False,
) -> None:
    """Write the mean squared error's gradient into `grads` (blocks [dW | db]ᵀ); add the
    squared errors to v.sq. inputs_t are the transposes of each layer's input: x's, then
    the hidden outputs' (v.outputs_t). For one chunk of a batch of `batch_rows` rows (the
    mean is over those), with `accumulate` the chunk's gradient is added to `grads`."""
    scale = 2.0 / (batch_rows or len(x))
    d = error(layers, act, v, x, y, scale=scale)  # d(loss)/d(prediction)
    for i in range(len(grads) - 1, -1, -1):
        if accumulate:
            grads[i].addmm_(inputs_t[i], d)
        else:
            torch.mm(inputs_t[i], d, out=grads[i])  # (in + 1, b) @ (b, out)
        if i > 0:
            d = torch.mm(d, layers.weights[i], out=v.grads[i - 1])
            act.backward(d, v.acts[i - 1], v.saved[i - 1])


def chunk_rows_for(device, batch_rows: int) -> int:
    """Rows a step multiplies at once: chunks of at most CHUNK_ROWS on a CPU, whose caches
    they fit; the whole batch on a GPU, where one pass costs fewer kernel launches."""
    if torch.device(device).type == "cuda":
        return batch_rows
    return min(batch_rows, CHUNK_ROWS)


class FastEngine(Engine):
    """Parameters, optimiser state and workspaces of one training run, all made here and
    reused at every step; `nbytes` counts them (built on the meta device, it is the loop's
    memory estimate)."""

    name = "fast"

    def __init__(
        self,
        *,
        widths: list[int],
        recipe: Recipe,
        n_train: int,
        batch_rows: int,
        val_rows: int,
        keep_best: bool,
        device: torch.device | str,
        chunk_rows: int | None = None,
    ) -> None:
        """Buffers for an MLP of these widths trained by the recipe on n_train rows in
        batches of batch_rows, validated on val_rows, its best weights kept or not; the
        step's chunk size is chunk_rows_for's unless given."""
        self.widths = widths
        self.chunk_rows = (
            min(chunk_rows, batch_rows) if chunk_rows else chunk_rows_for(device, batch_rows)
        )
        self.act = get_activation(recipe.activation)
        self.flat = torch.empty(n_block_parameters(widths), device=device)
        self.flat_grad = torch.zeros(self.flat.shape, device=device)
        self.layers = Layers.of(self.flat, widths)
        self.grads = layer_blocks(self.flat_grad, widths)
        self.opt = FusedAdam(self.flat, self.flat_grad, recipe, n_train)
        # the weights validated, kept and returned: the iterate, or its moving average
        self.ema_decay = recipe.ema_decay
        self.avg = torch.empty(self.flat.shape, device=device) if self.ema_decay else None
        self.weights = self.flat if self.avg is None else self.avg
        self.eval_layers = self.layers if self.avg is None else Layers.of(self.avg, widths)
        self._averaged = False
        self.work = Workspace(self.chunk_rows, widths, self.act, backward=True, device=device)
        self.val_work = (
            Workspace(min(val_rows, VAL_CHUNK), widths, self.act, backward=False, device=device)
            if val_rows
            else None
        )
        self.best = torch.empty(self.flat.shape, device=device) if keep_best else None
        self._chunks: dict[int, list[Chunk]] = {}  # per batch: made once

    @classmethod
    def for_loop(
        cls,
        model: nn.Module,
        recipe: Recipe,
        *,
        n_train: int,
        batch_rows: int,
        val_rows: int,
        keep_best: bool,
        device: torch.device | str,
    ) -> FastEngine:
        """The engine for the model's widths; its weights come in by `load`."""
        return cls(
            widths=layer_widths(model),
            recipe=recipe,
            n_train=n_train,
            batch_rows=batch_rows,
            val_rows=val_rows,
            keep_best=keep_best,
            device=device,
        )

    def nbytes(self) -> dict[str, int]:
        """Bytes of what the engine holds: parameters with gradient, Adam's moments, the
        moving average and the best-weights copy; one batch's workspace; one validation
        chunk's workspace."""
        params = [self.flat, self.flat_grad, self.opt.m, self.opt.v, self.opt.t]
        params += [t for t in (self.avg, self.best) if t is not None]
        val = self.val_work.buffers() if self.val_work is not None else []
        return {
            "params": sum(t.nbytes for t in params),
            "activations": sum(t.nbytes for t in self.work.buffers()),
            "validation": sum(t.nbytes for t in val),
        }

    def load(self, model: nn.Module) -> None:
        copy_weights(model, self.layers.blocks, to_model=False)
        if self.avg is not None:
            self.avg.copy_(self.flat)  # defined before the first step too
            self._averaged = False

    def store(self, model: nn.Module) -> None:
        copy_weights(model, self.eval_layers.blocks, to_model=True)

    def step(
        self,
        batch: Batch,
        lr: float,
        data: torch.Tensor | None = None,
        index: torch.Tensor | None = None,
    ) -> None:
        """One Adam step on a batch; with `index`, its rows are first gathered from `data`."""
        if index is not None:
            torch.index_select(data, 0, index, out=batch.rows)
        chunks = self._chunks.get(id(batch))
        if chunks is None:
            chunks = self._chunks[id(batch)] = self.chunks(batch)
        n = len(batch.rows)
        for k, c in enumerate(chunks):
            forward_backward(
                self.layers, self.grads, self.act, c.views, c.x, c.inputs_t, c.y, n, k > 0
            )
        self.opt.step(lr)
        if self.avg is not None:
            self.average()

    def chunks(self, batch: Batch) -> list[Chunk]:
        """The batch as chunks of at most chunk_rows rows (one, the batch itself, if it fits),
        each with the workspace's views for its rows."""
        n, out = len(batch.rows), []
        for i in range(0, n, self.chunk_rows):
            j = min(i + self.chunk_rows, n)
            views = self.work.views(j - i)
            x_t = batch.x_ones_t[:, i:j]
            out.append(Chunk(batch.x_ones[i:j], [x_t, *views.outputs_t], batch.y[i:j], views))
        return out

    def average(self) -> None:
        """Move the moving average 1 - decay of the way to the weights; the first update
        copies them, as torch.optim.swa_utils.AveragedModel does."""
        if self._averaged:
            self.avg.lerp_(self.flat, 1.0 - self.ema_decay)
        else:
            self.avg.copy_(self.flat)  # not a lerp of weight 1: (end - avg) * 0 keeps a NaN
            self._averaged = True

    def take_train_sse(self) -> float:
        """Sum of the squared errors since the last call (one host sync)."""
        sse = self.work.sq.sum().item()
        self.work.sq.zero_()
        return sse

    def val_mse(self, val: torch.Tensor) -> float:
        work = self.val_work
        with torch.inference_mode():
            for i in range(0, len(val), VAL_CHUNK):
                rows = val[i : i + VAL_CHUNK]
                error(self.eval_layers, self.act, work.views(len(rows)), rows[:, :-1], rows[:, -1:])
            mse = (work.sq.sum() / len(val)).item()
            work.sq.zero_()
        return mse

    def keep_best(self) -> None:
        self.best.copy_(self.weights)

    def restore_best(self) -> None:
        self.weights.copy_(self.best)

    def finite(self) -> bool:
        # the average follows the iterate at every step: a non-finite one makes it so too
        return bool(torch.isfinite(self.weights).all())
