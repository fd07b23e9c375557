"""One plain training loop: Adam on in-memory tensors, a hand-written backward pass,
optional cosine decay and early stopping."""

from __future__ import annotations

import logging
import math
import time
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


class FlatAdam:
    """Adam (PyTorch's update, L2 weight decay added to the gradient) on one flat
    parameter vector: five in-place tensor ops a step, no per-tensor bookkeeping."""

    def __init__(self, params: torch.Tensor, grads: torch.Tensor, recipe: Recipe, n_train: int):
        self.params, self.grads = params, grads
        self.m, self.v = torch.zeros_like(params), torch.zeros_like(params)
        self.beta1, self.beta2, self.eps = 0.9, recipe.beta2, 1e-8
        self.weight_decay = recipe.weight_decay + recipe.weight_decay_n / n_train
        self.t = 0

    def step(self, lr: float) -> None:
        self.t += 1
        g = self.grads
        if self.weight_decay:
            g.add_(self.params, alpha=self.weight_decay)
        self.m.lerp_(g, 1 - self.beta1)
        self.v.mul_(self.beta2).addcmul_(g, g, value=1 - self.beta2)
        denom = self.v.sqrt().div_(math.sqrt(1 - self.beta2**self.t)).add_(self.eps)
        self.params.addcdiv_(self.m, denom, value=-lr / (1 - self.beta1**self.t))


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


# The MLP is trained without autograd: one flat parameter vector, the forward pass
# by torch.addmm, the backward pass written out, all on views of two flat buffers.
# For this small net the per-step overhead of autograd and of the per-tensor
# optimiser is most of the cost; this loop spends about a third of the time per step.
_ACTIVATIONS = {
    "relu": (lambda z: z.clamp_min_(0), lambda g, z, a: torch.ops.aten.threshold_backward(g, a, 0)),
    "tanh": (lambda z: z.tanh_(), lambda g, z, a: torch.ops.aten.tanh_backward(g, a)),
    "silu": (nn.functional.silu, lambda g, z, a: torch.ops.aten.silu_backward(g, z)),
    "gelu": (nn.functional.gelu, lambda g, z, a: torch.ops.aten.gelu_backward(g, z)),
}


def _layer_views(flat: torch.Tensor, model: nn.Module) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """(weight, bias) views into `flat`, laid out in model.parameters() order."""
    views, offset = [], 0
    for layer in model:
        if isinstance(layer, nn.Linear):
            w_n, b_n = layer.weight.numel(), layer.bias.numel()
            w = flat[offset : offset + w_n].view(layer.weight.shape)
            b = flat[offset + w_n : offset + w_n + b_n]
            views.append((w, b))
            offset += w_n + b_n
    return views


def _forward(layers, act, x: torch.Tensor) -> torch.Tensor:
    for w, b in layers[:-1]:
        x = act(torch.addmm(b, x, w.t()))
    w, b = layers[-1]
    return torch.addmm(b, x, w.t())


def _forward_backward(layers, grads, act, act_grad, x, y) -> torch.Tensor:
    """Write the gradient of the mean squared error into `grads`; return the sum of squares."""
    inputs, pre = [x], [None]
    for w, b in layers[:-1]:
        z = torch.addmm(b, inputs[-1], w.t())
        pre.append(z)
        inputs.append(act(z))  # relu and tanh work in place: then z is the output
    w, b = layers[-1]
    d = torch.addmm(b, inputs[-1], w.t()).sub_(y)
    sse = torch.dot(d.view(-1), d.view(-1))
    d.mul_(2.0 / len(x))
    for i in range(len(layers) - 1, -1, -1):
        w, b = layers[i]
        gw, gb = grads[i]
        torch.mm(d.t(), inputs[i], out=gw)
        torch.sum(d, 0, out=gb)
        if i > 0:
            d = act_grad(torch.mm(d, w), pre[i], inputs[i])
    return sse


def fit_model(
    model: nn.Module,
    X: torch.Tensor,
    y: torch.Tensor,
    X_val: torch.Tensor | None,
    y_val: torch.Tensor | None,
    recipe: Recipe,
    generator: torch.Generator,
    log_every_s: float | None = None,
) -> TrainResult:
    """Train `model` in place on standardised tensors; X (n, 5), y (n, 1).

    With log_every_s, progress (epoch, losses, elapsed time) goes to the
    "interp5d" logger at most that often, checked once per epoch.
    """
    n = len(X)
    bs = n if recipe.batch_size is None else min(recipe.batch_size, n)
    steps = math.ceil(n / bs)
    epochs = max(recipe.epochs, math.ceil(recipe.min_steps / steps))
    lr_at = LRSchedule(recipe, steps, epochs)
    flat = nn.utils.parameters_to_vector(model.parameters()).detach().clone()
    flat_grad = torch.zeros_like(flat)
    layers, grads = _layer_views(flat, model), _layer_views(flat_grad, model)
    act, act_grad = _ACTIVATIONS[recipe.activation]
    opt = FlatAdam(flat, flat_grad, recipe, n)
    has_val = X_val is not None and len(X_val) > 0
    keep_best = recipe.patience is not None or recipe.restore_best
    train_loss = torch.full((epochs,), math.nan)
    val_loss: list[tuple[int, float]] = []
    best_val, best_epoch, best_flat = math.inf, 0, None
    status, diverged_epoch, epoch = "ok", None, 0

    start = last_log = time.perf_counter()
    for epoch in range(1, epochs + 1):
        # a fresh permutation (int32) per epoch; each batch is gathered from it, so memory
        # does not grow with n beyond the permutation itself
        order = (
            torch.randperm(n, generator=generator, device=X.device, dtype=torch.int32)
            if steps > 1
            else None
        )
        total = torch.zeros((), device=X.device)
        for i in range(steps):
            if order is None:
                xb, yb = X, y
            else:
                idx = order[i * bs : (i + 1) * bs]
                xb, yb = X.index_select(0, idx), y.index_select(0, idx)
            total += _forward_backward(layers, grads, act, act_grad, xb, yb)
            opt.step(lr_at((epoch - 1) * steps + i))
        epoch_loss = (total / n).item()  # one host sync per epoch, not per step
        train_loss[epoch - 1] = epoch_loss
        if not math.isfinite(epoch_loss):
            status, diverged_epoch = "diverged", epoch
            break
        if has_val and (epoch % recipe.val_every == 0 or epoch == epochs):
            v = _chunked_mse(layers, act, X_val, y_val)
            val_loss.append((epoch, v))
            if v < best_val - recipe.min_delta:
                best_val, best_epoch = v, epoch
                if keep_best:
                    best_flat = flat.clone()
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
    if best_flat is not None and status != "diverged":
        flat.copy_(best_flat)
    with torch.no_grad():  # writes into the parameters, which require grad
        nn.utils.vector_to_parameters(flat, model.parameters())
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


def _chunked_mse(layers, act, X: torch.Tensor, y: torch.Tensor) -> float:
    with torch.inference_mode():
        sse = sum(
            (_forward(layers, act, X[i : i + VAL_CHUNK]) - y[i : i + VAL_CHUNK]).square_().sum()
            for i in range(0, len(X), VAL_CHUNK)
        )
    return (sse / len(X)).item()


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
