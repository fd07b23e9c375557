"""The training loop: epochs of shuffled mini-batches, a per-step learning-rate schedule,
validation, early stopping and the best weights kept. What a step does is the engine's
(engines/: fast, native or autograd), made by name through the engines' registry."""

from __future__ import annotations

import copy
import logging
import math
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import torch
from torch import nn

from interp5d.model import layer_widths, matmul_flops
from interp5d.recipes import Recipe
from interp5d.training.batch import Batch, Step
from interp5d.training.engines import engine_class

if TYPE_CHECKING:
    from interp5d.training.engines.base import Engine
    from interp5d.training.monitor import FitMonitor

log = logging.getLogger("interp5d")


@dataclass
class TrainResult:
    status: str  # "ok", "early_stopped", "reached_target" or "diverged"
    epochs_run: int
    best_epoch: int
    loop_time_s: float
    diverged_epoch: int | None = None
    history: dict[str, list[float]] = field(default_factory=dict)
    steps_run: int = 0
    flops: int = 0  # of the layers' matrix products, training and validation
    batch_rows: int = 0  # rows per step (the last step of an epoch can have fewer)
    engine: str = ""  # the engine that trained: the recipe's, or "fast" in its stead


@dataclass(frozen=True)
class LoopPlan:
    """How a recipe walks n training rows: rows per step, steps per epoch, and the steps in
    all: `epochs` epochs, or the recipe's step budget for n rows when that is more (the
    last epoch then ends where the budget does)."""

    n: int
    batch: int
    steps: int
    total_steps: int

    @classmethod
    def of(cls, n: int, recipe: Recipe) -> LoopPlan:
        batch = n if recipe.batch_size is None else min(recipe.batch_size, n)
        steps = math.ceil(n / batch)
        return cls(n, batch, steps, max(recipe.epochs * steps, recipe.min_steps_for(n)))

    @property
    def epochs(self) -> int:
        return math.ceil(self.total_steps / self.steps)

    @property
    def full_batch(self) -> bool:
        return self.steps == 1

    def val_interval(self, recipe: Recipe) -> int:
        """Steps between validations: val_steps, or val_every epochs' worth (the loop also
        validates after its last step)."""
        return recipe.val_steps or recipe.val_every * self.steps

    def batch_sizes(self) -> set[int]:
        """The distinct batch sizes of an epoch: full ones and a shorter last one."""
        return {self.batch, self.n - (self.steps - 1) * self.batch}

    def nbytes(self, n_cols: int) -> dict[str, int]:
        """The loop's own buffers: the epoch's int32 order and the gathered batch."""
        if self.full_batch:
            return {"permutation": 0, "batch": 0}
        return {"permutation": self.n * 4, "batch": self.batch * n_cols * 4}


class LRSchedule:
    """Learning rate of each step: linear warm-up, then constant or cosine decay to min_lr.

    Computed per step rather than stored, so memory does not grow with the step count.
    """

    def __init__(self, recipe: Recipe, steps_per_epoch: int, total_steps: int) -> None:
        self.recipe = recipe
        self.total = total_steps
        self.warm = (
            recipe.warmup_steps
            if recipe.warmup_steps is not None
            else recipe.warmup_epochs * steps_per_epoch
        )

    def __call__(self, step: int) -> float:
        r = self.recipe
        if step < self.warm:
            return r.lr * (step + 1) / self.warm
        if r.schedule == "cosine":
            t = (step - self.warm) / max(1, self.total - self.warm - 1)
            return r.min_lr + 0.5 * (r.lr - r.min_lr) * (1 + math.cos(math.pi * t))
        return r.lr


def training_rows(X: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """The layout fit_model trains on: float32 rows [x_1 .. x_k, 1, y], shape (n, k + 2)
    (any float inputs are converted as they are copied in)."""
    n = len(X)
    rows = torch.empty((n, X.shape[1] + 2), dtype=torch.float32, device=X.device)
    rows[:, :-2] = X
    rows[:, -2] = 1.0
    rows[:, -1] = y.reshape(n)
    return rows


def runs_between(steps: list[Step], done: int, every: int) -> Iterator[list[Step]]:
    """`steps`, which follow the loop's first `done` steps, cut after each step whose number
    is a multiple of `every`: the runs of steps between two validations."""
    i = 0
    while i < len(steps):
        j = min(len(steps), i + every - (done + i) % every)
        yield steps[i:j]
        i = j


def keeps_best(recipe: Recipe) -> bool:
    return recipe.patience is not None or recipe.restore_best


def engine_for(recipe: Recipe, device) -> str:
    """The engine that will train the recipe on the device: its own, except that a native
    one that cannot be had here (unavailable_reason says why, in a warning) is replaced
    by the fast engine, the same step in PyTorch ops."""
    if recipe.engine != "native":
        return recipe.engine
    # here, not at the top: the native step's loader (ctypes, a compiler run) is loaded by
    # the first native fit, not by importing the loop
    from interp5d.training.engines.native_lib import unavailable_reason

    reason = unavailable_reason(device, recipe.activation)
    if reason is None:
        return "native"
    log.warning("the native engine cannot train here (%s): the fast engine trains", reason)
    return "fast"


def make_engine(model: nn.Module, recipe: Recipe, plan: LoopPlan, n_val: int, device) -> Engine:
    """The engine that trains the model (engine_for's), from the registry."""
    return engine_class(engine_for(recipe, device)).for_loop(
        model,
        recipe,
        n_train=plan.n,
        batch_rows=plan.batch,
        val_rows=n_val,
        keep_best=keeps_best(recipe),
        device=device,
    )


def estimate_loop_bytes(
    n_train: int, n_val: int, widths: list[int], recipe: Recipe
) -> dict[str, int] | None:
    """What the fast loop allocates, counted from the buffers themselves: the engine and
    the loop's own buffers built on the meta device (which allocates nothing). `data`, the
    training and validation rows that exist before the loop, is beside the total, not in
    it (the native engine's are the fast engine's). None for the autograd engine, which
    allocates as it goes."""
    if recipe.engine == "autograd":
        return None
    plan = LoopPlan.of(n_train, recipe)
    engine = engine_class("fast")(
        widths=widths,
        recipe=recipe,
        n_train=n_train,
        batch_rows=plan.batch,
        val_rows=n_val,
        keep_best=keeps_best(recipe),
        device="meta",
    )
    parts = {**engine.nbytes(), **plan.nbytes(widths[0] + 2)}
    parts["total"] = sum(parts.values())
    parts["data"] = (n_train + n_val) * (widths[0] + 2) * 4
    return parts


def fit_model(
    model: nn.Module,
    data: torch.Tensor,
    val: torch.Tensor | None,
    recipe: Recipe,
    generator: torch.Generator,
    log_every_s: float | None = None,
    monitor: FitMonitor | None = None,
) -> TrainResult:
    """Train `model` in place on standardised data laid out by training_rows.

    Validation (on at most recipe.val_rows rows of `val`) drives early stopping, the best
    weights kept, and the monitor, which sees each validation's R² and, with
    stop_at_target, stops the loop once its targets are reached. With log_every_s,
    progress (epoch, losses, elapsed time) goes to the "interp5d" logger at most that
    often, checked once per epoch.
    """
    plan = LoopPlan.of(len(data), recipe)
    n, bs, steps, epochs = plan.n, plan.batch, plan.steps, plan.epochs
    lr_at = LRSchedule(recipe, steps, plan.total_steps)
    has_val = val is not None and len(val) > 0
    if has_val and recipe.val_rows is not None:
        val = val[: recipe.val_rows]
    engine = make_engine(model, recipe, plan, len(val) if has_val else 0, data.device)
    engine.load(model)
    keep_best = keeps_best(recipe)
    # the batch of each step: the data itself (full batch), or a slice of the epoch's
    # int32 order gathered into one buffer made here (views of it made once per size)
    if plan.full_batch:
        epoch_steps = [(Batch.of(data), None, n)]
    else:
        order = torch.empty(n, dtype=torch.int32, device=data.device)
        buffer = torch.empty((bs, data.shape[1]), device=data.device)
        batches = {b: Batch.of(buffer[:b]) for b in plan.batch_sizes()}
        # each step's batch, its slice of the order and its row count (kept, not asked of
        # the tensor at every step), the same every epoch
        epoch_steps = []
        for i in range(steps):
            b = min(bs, n - i * bs)
            epoch_steps.append((batches[b], order[i * bs : i * bs + b], b))
    val_interval, total_steps = plan.val_interval(recipe), plan.total_steps
    # R² of the rows validated: 1 - MSE / their variance (in standardised units, as R² is)
    val_var = float(val[:, -1].var(correction=0)) if has_val else math.nan
    widths = layer_widths(model)
    train_loss = torch.full((epochs,), math.nan)
    val_log: list[tuple[int, int, float]] = []  # (epoch, step, val MSE)
    best_val, best_epoch, since_best = math.inf, 0, 0
    status, diverged_epoch, epoch, step, rows_trained = "ok", None, 0, 0, 0

    def snapshot():
        # into a copy: the plain engine's model is the one it trains
        frozen = copy.deepcopy(model)
        engine.store(frozen)
        return lambda X: predict_rows(frozen, X)

    start = last_log = time.perf_counter()
    for epoch in range(1, epochs + 1):
        if not plan.full_batch:
            torch.randperm(n, generator=generator, out=order)
        rows_seen = 0
        # the epoch's steps (the budget may end it early) in runs that end where a
        # validation falls, each run handed to the engine at once
        for run in runs_between(epoch_steps[: total_steps - step], step, val_interval):
            engine.steps(run, [lr_at(step + i) for i in range(len(run))], data)
            step += len(run)
            rows_seen += sum(rows for _, _, rows in run)
            if not has_val or (step % val_interval and step != total_steps):
                continue
            val_mse = engine.val_mse(val)
            val_log.append((epoch, step, val_mse))
            if val_mse < best_val - recipe.min_delta:
                best_val, best_epoch, since_best = val_mse, epoch, 0
                if keep_best:
                    engine.keep_best()
            else:
                since_best += 1
            if monitor is not None and math.isfinite(val_mse):
                done = monitor.observe(1.0 - val_mse / val_var, snapshot)
                if done and recipe.stop_at_target:
                    status = "reached_target"
                    break
            if recipe.patience is not None and since_best >= recipe.patience:
                status = "early_stopped"
                break
        rows_trained += rows_seen
        epoch_loss = engine.take_train_sse() / rows_seen  # one host sync per epoch
        train_loss[epoch - 1] = epoch_loss
        if not math.isfinite(epoch_loss):
            status, diverged_epoch = "diverged", epoch
            break
        if status != "ok":
            break
        if log_every_s is not None and (
            epoch == 1 or time.perf_counter() - last_log >= log_every_s
        ):
            last_log = time.perf_counter()
            _log_progress(epoch, epochs, epoch_loss, val_log, last_log - start)
    loop_time = time.perf_counter() - start
    if log_every_s is not None:
        _log_progress(epoch, epochs, train_loss[epoch - 1].item(), val_log, loop_time)
        log.info("training finished: %s after %d epochs in %.3f s", status, epoch, loop_time)

    if status != "diverged" and not engine.finite():
        # the last step's update can overflow after the epoch's loss was computed
        status, diverged_epoch = "diverged", epoch
    if best_epoch and keep_best and status != "diverged":
        engine.restore_best()
    engine.store(model)
    history = {
        "epoch": list(range(1, epoch + 1)),
        "train_loss": train_loss[:epoch].tolist(),
        "val_loss": [math.nan] * epoch,
    }
    for e, _, v in val_log:  # the epoch's last validation
        history["val_loss"][e - 1] = v
    # matrix-product FLOPs are linear in the rows: every row of every step, and of every
    # validation
    flops = matmul_flops(widths, rows_trained, backward=True)
    if has_val:
        flops += matmul_flops(widths, len(val) * len(val_log), backward=False)
    return TrainResult(
        status=status,
        epochs_run=epoch,
        best_epoch=best_epoch if has_val else epoch,
        loop_time_s=loop_time,
        diverged_epoch=diverged_epoch,
        history=history,
        steps_run=step,
        flops=flops,
        batch_rows=bs,
        engine=engine.name,
    )


def predict_rows(model: nn.Module, X) -> torch.Tensor:
    """The model's output (float64 numpy, shape (m,)) for standardised inputs (m, k)."""
    device = next(model.parameters()).device
    with torch.inference_mode():
        xt = torch.as_tensor(X, dtype=torch.float32, device=device)
        return model(xt).squeeze(1).double().cpu().numpy()


def _log_progress(epoch: int, epochs: int, train: float, val: list, elapsed: float) -> None:
    last_val = f"{val[-1][2]:.4g} (epoch {val[-1][0]}, step {val[-1][1]})" if val else "n/a"
    log.info(
        "epoch %d/%d  train loss %.4g  val loss %s  elapsed %.2f s",
        epoch,
        epochs,
        train,
        last_val,
        elapsed,
    )
