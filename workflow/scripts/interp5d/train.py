"""One plain training loop: Adam on in-memory tensors, a hand-written backward pass into
buffers made once, optional cosine decay and early stopping."""

from __future__ import annotations

import itertools
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import nn

from .recipes import Recipe

log = logging.getLogger("interp5d")


@dataclass
class TrainResult:
    status: str  # "ok", "early_stopped" or "diverged"
    epochs_run: int
    best_epoch: int
    train_time_s: float
    diverged_epoch: int | None = None
    history: dict[str, list[float]] = field(default_factory=dict)


class FusedAdam:
    """Adam (PyTorch's update, L2 weight decay added to the gradient) on one flat parameter
    vector, as one fused kernel a step: the one torch.optim.Adam(fused=True) runs, without
    the optimiser object's per-step overhead."""

    def __init__(self, params: torch.Tensor, grads: torch.Tensor, recipe: Recipe, n_train: int):
        self.params, self.grads = params, grads
        self.m, self.v = torch.zeros_like(params), torch.zeros_like(params)
        self.t = torch.zeros((), device=params.device)
        self.beta2 = recipe.beta2
        self.weight_decay = recipe.weight_decay + recipe.weight_decay_n / n_train

    def step(self, lr: float) -> None:
        self.t.add_(1)
        torch._fused_adam_(
            [self.params],
            [self.grads],
            [self.m],
            [self.v],
            [],
            [self.t],
            lr=lr,
            beta1=0.9,
            beta2=self.beta2,
            weight_decay=self.weight_decay,
            eps=1e-8,
            amsgrad=False,
            maximize=False,
        )


class LRSchedule:
    """Learning rate of each step: linear warm-up, then constant or cosine decay to min_lr.

    Computed per step rather than stored, so memory does not grow with the step count.
    """

    def __init__(self, recipe: Recipe, steps_per_epoch: int, epochs: int) -> None:
        self.recipe = recipe
        self.total = epochs * steps_per_epoch
        self.warm = recipe.warmup_epochs * steps_per_epoch

    def __call__(self, step: int) -> float:
        r = self.recipe
        if step < self.warm:
            return r.lr * (step + 1) / self.warm
        if r.schedule == "cosine":
            t = (step - self.warm) / max(1, self.total - self.warm - 1)
            return r.min_lr + 0.5 * (r.lr - r.min_lr) * (1 + math.cos(math.pi * t))
        return r.lr


# The MLP is trained without autograd and without allocating memory in the loop. Its
# parameters are one flat vector in which each layer is a block [W | b] of shape
# (out, in + 1); every layer's input carries a trailing column of ones, so one matrix
# product gives a layer's output with its bias, and one gives the block's gradient.
# The forward and backward passes write into buffers made once (`Workspace`), the
# batch is gathered into one too, and Adam is one fused kernel. For this small net the
# per-step overhead of autograd, of the per-tensor optimiser and of allocation is most
# of the cost.


@dataclass(frozen=True)
class _Activation:
    inplace: bool  # the forward pass can overwrite its input (then the backward reads a)
    forward: Callable[[torch.Tensor, torch.Tensor], object]  # (z, a): writes act(z) to a
    backward: Callable[[torch.Tensor, torch.Tensor], object]  # (g, saved): g *= act'(.)


_ACTIVATIONS = {
    "relu": _Activation(
        True,
        lambda z, a: a.clamp_min_(0),
        lambda g, a: torch.ops.aten.threshold_backward.grad_input(g, a, 0, grad_input=g),
    ),
    "tanh": _Activation(
        True,
        lambda z, a: a.tanh_(),
        lambda g, a: torch.ops.aten.tanh_backward.grad_input(g, a, grad_input=g),
    ),
    "silu": _Activation(
        False,
        lambda z, a: torch.ops.aten.silu.out(z, out=a),
        lambda g, z: torch.ops.aten.silu_backward.grad_input(g, z, grad_input=g),
    ),
    "gelu": _Activation(
        False,
        # gelu.out leaves a strided `out` unwritten (torch 2.13), so copy, then in place
        lambda z, a: torch.ops.aten.gelu_(a.copy_(z)),
        lambda g, z: torch.ops.aten.gelu_backward.grad_input(g, z, grad_input=g),
    ),
}


INPLACE_ACTIVATIONS = frozenset(name for name, a in _ACTIVATIONS.items() if a.inplace)


def training_rows(X: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """The layout fit_model trains on: float32 rows [x_1 .. x_k, 1, y], shape (n, k + 2)."""
    n = len(X)
    rows = torch.empty((n, X.shape[1] + 2), dtype=torch.float32, device=X.device)
    rows[:, :-2] = X
    rows[:, -2] = 1.0
    rows[:, -1] = y.reshape(n)
    return rows


def _layer_blocks(flat: torch.Tensor, widths: list[int]) -> list[torch.Tensor]:
    """Views of `flat` as each layer's (out, in + 1) block [W | b]."""
    blocks, offset = [], 0
    for n_in, n_out in itertools.pairwise(widths):
        size = n_out * (n_in + 1)
        blocks.append(flat[offset : offset + size].view(n_out, n_in + 1))
        offset += size
    return blocks


@dataclass(frozen=True)
class _Layers:
    """A flat parameter vector seen as each layer's block [W | b], with the other views
    the passes use, made once: each block's transpose, and W without b."""

    blocks: list[torch.Tensor]
    blocks_t: list[torch.Tensor]
    weights: list[torch.Tensor]

    @classmethod
    def of(cls, flat: torch.Tensor, widths: list[int]) -> _Layers:
        blocks = _layer_blocks(flat, widths)
        return cls(blocks, [b.t() for b in blocks], [b[:, :-1] for b in blocks])


def _widths(model: nn.Module) -> list[int]:
    linear = [m for m in model if isinstance(m, nn.Linear)]
    return [linear[0].in_features] + [m.out_features for m in linear]


def _copy_model(model: nn.Module, blocks: list[torch.Tensor], to_model: bool) -> None:
    linear = [m for m in model if isinstance(m, nn.Linear)]
    with torch.no_grad():  # the parameters require grad
        for layer, block in zip(linear, blocks, strict=True):
            if to_model:
                layer.weight.copy_(block[:, :-1])
                layer.bias.copy_(block[:, -1])
            else:
                block[:, :-1] = layer.weight
                block[:, -1] = layer.bias


class Workspace:
    """Buffers for the forward (and, with `backward`, the backward) pass over up to `rows`
    rows; each hidden layer's output buffer has the trailing column of ones."""

    def __init__(
        self, rows: int, widths: list[int], act: _Activation, backward: bool, device
    ) -> None:
        hidden = widths[1:-1]
        self.outputs = [torch.ones((rows, h + 1), device=device) for h in hidden]
        self.pre = [None if act.inplace else torch.empty((rows, h), device=device) for h in hidden]
        self.grads = [torch.empty((rows, h), device=device) for h in hidden] if backward else []
        self.out = torch.empty((rows, 1), device=device)
        self.sq = torch.zeros((rows, 1), device=device)  # squared errors, summed over an epoch
        self._views: dict[int, _Views] = {}

    def views(self, b: int) -> _Views:
        """The buffers' first b rows (made once per distinct b)."""
        if b not in self._views:
            self._views[b] = _Views(
                [o[:b] for o in self.outputs],
                [o[:b, :-1] for o in self.outputs],
                [z if z is None else z[:b] for z in self.pre],
                [g[:b] for g in self.grads],
                [g[:b].t() for g in self.grads],
                self.out[:b],
                self.out[:b].t(),
                self.sq[:b],
            )
        return self._views[b]


@dataclass
class _Views:
    outputs: list[torch.Tensor]  # (b, h + 1): activation and the ones column
    acts: list[torch.Tensor]  # (b, h): the activation part of the same memory
    pre: list[torch.Tensor | None]  # (b, h) pre-activations, when the activation needs them
    grads: list[torch.Tensor]  # (b, h)
    grads_t: list[torch.Tensor]  # (h, b): their transposes
    out: torch.Tensor  # (b, 1)
    out_t: torch.Tensor  # (1, b)
    sq: torch.Tensor  # (b, 1)


def _hidden_forward(layers: _Layers, act: _Activation, v: _Views, x: torch.Tensor):
    """Run the hidden layers on x (b, k + 1, with the ones column); return the last's output."""
    # zip stops at the hidden layers: the output layer's block is left over
    for block_t, a, z, full in zip(layers.blocks_t, v.acts, v.pre, v.outputs, strict=False):
        if z is None:
            act.forward(torch.mm(x, block_t, out=a), a)
        else:
            act.forward(torch.mm(x, block_t, out=z), a)
        x = full
    return x


def _error(layers: _Layers, act: _Activation, v: _Views, x, y) -> torch.Tensor:
    """Prediction minus target (b, 1), written to v.out; its squares are added to v.sq."""
    h = _hidden_forward(layers, act, v, x)
    d = torch.mm(h, layers.blocks_t[-1], out=v.out).sub_(y)
    v.sq.addcmul_(d, d)
    return d


def _forward_backward(layers: _Layers, grads, act: _Activation, v: _Views, x, y) -> None:
    """Write the mean squared error's gradient into `grads`; add the squared errors to v.sq."""
    d = _error(layers, act, v, x, y).mul_(2.0 / len(x))  # now d(loss)/d(prediction)
    inputs = [x, *v.outputs]
    d_t = [*v.grads_t, v.out_t]  # transposes of d at each layer's output
    for i in range(len(grads) - 1, -1, -1):
        torch.mm(d_t[i], inputs[i], out=grads[i])
        if i > 0:
            d = torch.mm(d, layers.weights[i], out=v.grads[i - 1])
            act.backward(d, v.acts[i - 1] if act.inplace else v.pre[i - 1])


def fit_model(
    model: nn.Module,
    data: torch.Tensor,
    val: torch.Tensor | None,
    recipe: Recipe,
    generator: torch.Generator,
    log_every_s: float | None = None,
) -> TrainResult:
    """Train `model` in place on standardised data laid out by training_rows.

    With log_every_s, progress (epoch, losses, elapsed time) goes to the
    "interp5d" logger at most that often, checked once per epoch.
    """
    n, k = len(data), data.shape[1] - 2
    bs = n if recipe.batch_size is None else min(recipe.batch_size, n)
    steps = math.ceil(n / bs)
    epochs = max(recipe.epochs, math.ceil(recipe.min_steps / steps))
    lr_at = LRSchedule(recipe, steps, epochs)
    widths = _widths(model)
    flat = torch.empty(sum((a + 1) * b for a, b in itertools.pairwise(widths)), device=data.device)
    flat_grad = torch.zeros_like(flat)
    layers, grads = _Layers.of(flat, widths), _layer_blocks(flat_grad, widths)
    _copy_model(model, layers.blocks, to_model=False)
    act = _ACTIVATIONS[recipe.activation]
    opt = FusedAdam(flat, flat_grad, recipe, n)
    work = Workspace(bs, widths, act, backward=True, device=data.device)
    has_val = val is not None and len(val) > 0
    val_work = (
        Workspace(min(len(val), VAL_CHUNK), widths, act, backward=False, device=data.device)
        if has_val
        else None
    )
    keep_best = recipe.patience is not None or recipe.restore_best
    best_flat = torch.empty_like(flat) if keep_best else None
    # (rows, inputs, targets, workspace views) of a step: made once for the full-size
    # batches and once for a shorter last batch, never per step
    if steps == 1:  # full batch: every step reads the data itself
        shapes = {n: (data, data[:, :-1], data[:, -1:], work.views(n))}
    else:  # each step gathers its slice of the epoch's order (int32) into `batch`
        order = torch.empty(n, dtype=torch.int32, device=data.device)
        batch = torch.empty((bs, k + 2), device=data.device)
        shapes = {
            b: (batch[:b], batch[:b, :-1], batch[:b, -1:], work.views(b))
            for b in {bs, n - (steps - 1) * bs}
        }
    train_loss = torch.full((epochs,), math.nan)
    val_loss: list[tuple[int, float]] = []
    best_val, best_epoch = math.inf, 0
    status, diverged_epoch, epoch = "ok", None, 0

    start = last_log = time.perf_counter()
    for epoch in range(1, epochs + 1):
        if steps > 1:
            torch.randperm(n, generator=generator, out=order)
        for i in range(steps):
            rows, x, y, v = shapes[min(bs, n - i * bs)]
            if steps > 1:
                torch.index_select(data, 0, order[i * bs : (i + 1) * bs], out=rows)
            _forward_backward(layers, grads, act, v, x, y)
            opt.step(lr_at((epoch - 1) * steps + i))
        epoch_loss = (work.sq.sum() / n).item()  # one host sync per epoch, not per step
        work.sq.zero_()
        train_loss[epoch - 1] = epoch_loss
        if not math.isfinite(epoch_loss):
            status, diverged_epoch = "diverged", epoch
            break
        if has_val and (epoch % recipe.val_every == 0 or epoch == epochs):
            val_mse = _chunked_mse(layers, act, val_work, val)
            val_loss.append((epoch, val_mse))
            if val_mse < best_val - recipe.min_delta:
                best_val, best_epoch = val_mse, epoch
                if keep_best:
                    best_flat.copy_(flat)
            elif recipe.patience is not None and epoch - best_epoch >= recipe.patience:
                status = "early_stopped"
                break
        if log_every_s is not None and (
            epoch == 1 or time.perf_counter() - last_log >= log_every_s
        ):
            last_log = time.perf_counter()
            _log_progress(epoch, epochs, epoch_loss, val_loss, last_log - start)
    train_time = time.perf_counter() - start
    if log_every_s is not None:
        _log_progress(epoch, epochs, train_loss[epoch - 1].item(), val_loss, train_time)
        log.info("training finished: %s after %d epochs in %.3f s", status, epoch, train_time)

    if status != "diverged" and not torch.isfinite(flat).all():
        # the last step's update can overflow after the epoch's loss was computed
        status, diverged_epoch = "diverged", epoch
    if best_epoch and keep_best and status != "diverged":
        flat.copy_(best_flat)
    _copy_model(model, layers.blocks, to_model=True)
    history = {
        "epoch": list(range(1, epoch + 1)),
        "train_loss": train_loss[:epoch].tolist(),
        "val_loss": [math.nan] * epoch,
    }
    for e, v in val_loss:
        history["val_loss"][e - 1] = v
    return TrainResult(
        status=status,
        epochs_run=epoch,
        best_epoch=best_epoch if has_val else epoch,
        train_time_s=train_time,
        diverged_epoch=diverged_epoch,
        history=history,
    )


VAL_CHUNK = 512  # rows per validation forward pass: bounded memory whatever n


def _chunked_mse(layers: _Layers, act: _Activation, work: Workspace, val: torch.Tensor) -> float:
    with torch.inference_mode():
        for i in range(0, len(val), VAL_CHUNK):
            rows = val[i : i + VAL_CHUNK]
            _error(layers, act, work.views(len(rows)), rows[:, :-1], rows[:, -1:])
        mse = (work.sq.sum() / len(val)).item()
        work.sq.zero_()
    return mse


def _log_progress(epoch: int, epochs: int, train: float, val: list, elapsed: float) -> None:
    last_val = f"{val[-1][1]:.4g} (epoch {val[-1][0]})" if val else "n/a"
    log.info(
        "epoch %d/%d  train loss %.4g  val loss %s  elapsed %.2f s",
        epoch,
        epochs,
        train,
        last_val,
        elapsed,
    )
