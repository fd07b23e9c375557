"""One plain training loop: Adam on in-memory tensors, optional cosine decay and early stopping."""

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


def make_optimizer(params, recipe: Recipe, device: torch.device) -> torch.optim.Adam:
    """Adam with the fused kernel where this torch has one, else the foreach one."""
    kwargs = dict(lr=recipe.lr, weight_decay=recipe.weight_decay)
    try:
        return torch.optim.Adam(params, fused=True, **kwargs)
    except (RuntimeError, ValueError):
        return torch.optim.Adam(params, foreach=True, **kwargs)


def lr_schedule(recipe: Recipe, steps_per_epoch: int) -> list[float]:
    """Learning rate for every step: linear warm-up, then constant or cosine decay."""
    total = recipe.epochs * steps_per_epoch
    warm = recipe.warmup_epochs * steps_per_epoch
    lrs = []
    for step in range(total):
        if step < warm:
            lrs.append(recipe.lr * (step + 1) / warm)
        elif recipe.schedule == "cosine":
            t = (step - warm) / max(1, total - warm - 1)
            lrs.append(
                recipe.min_lr + 0.5 * (recipe.lr - recipe.min_lr) * (1 + math.cos(math.pi * t))
            )
        else:
            lrs.append(recipe.lr)
    return lrs


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
    lrs = lr_schedule(recipe, steps)
    opt = make_optimizer(model.parameters(), recipe, X.device)
    group = opt.param_groups[0]
    loss_fn = nn.MSELoss()
    has_val = X_val is not None and len(X_val) > 0
    train_loss = torch.full((recipe.epochs,), math.nan)
    val_loss: list[tuple[int, float]] = []
    best_val, best_epoch, best_state = math.inf, 0, None
    status, diverged_epoch, epoch = "ok", None, 0

    start = last_log = time.perf_counter()
    for epoch in range(1, recipe.epochs + 1):
        model.train()
        order = torch.randperm(n, generator=generator, device=X.device) if steps > 1 else None
        total = torch.zeros((), device=X.device)
        for i in range(steps):
            group["lr"] = lrs[(epoch - 1) * steps + i]
            if order is None:
                xb, yb = X, y
            else:
                idx = order[i * bs : (i + 1) * bs]
                xb, yb = X[idx], y[idx]
            loss = loss_fn(model(xb), yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += loss.detach() * len(xb)
        epoch_loss = (total / n).item()  # one host sync per epoch, not per step
        train_loss[epoch - 1] = epoch_loss
        if not math.isfinite(epoch_loss):
            status, diverged_epoch = "diverged", epoch
            break
        if has_val and (epoch % recipe.val_every == 0 or epoch == recipe.epochs):
            v = evaluate_mse(model, X_val, y_val)
            val_loss.append((epoch, v))
            if v < best_val - recipe.min_delta:
                best_val, best_epoch = v, epoch
                if recipe.patience is not None:
                    best_state = {k: t.clone() for k, t in model.state_dict().items()}
            elif recipe.patience is not None and epoch - best_epoch >= recipe.patience:
                status = "early_stopped"
                break
        if log_every_s is not None and (
            epoch == 1 or time.perf_counter() - last_log >= log_every_s
        ):
            last_log = time.perf_counter()
            _log_progress(epoch, recipe.epochs, epoch_loss, val_loss, last_log - start)
    train_time = time.perf_counter() - start
    if log_every_s is not None:
        _log_progress(epoch, recipe.epochs, train_loss[epoch - 1].item(), val_loss, train_time)
        log.info("training finished: %s after %d epochs in %.3f s", status, epoch, train_time)

    if best_state is not None and status != "diverged":
        model.load_state_dict(best_state)
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


def evaluate_mse(model: nn.Module, X: torch.Tensor, y: torch.Tensor) -> float:
    model.eval()
    with torch.inference_mode():
        return nn.functional.mse_loss(model(X), y).item()


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
