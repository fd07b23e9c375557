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
    from interp5d.training.monitor import FitMonitor, Predictor

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
    """The engine that will train the recipe on the device: its own, except that one that
    cannot be had here (the native one: its unavailable_reason says why, in a warning) is
    replaced by the fast engine, the same step in PyTorch ops. The class comes from the
    registry by name, so that the native step's loader (ctypes, a compiler run) is loaded
    by the first native fit, not by importing the loop."""
    reason = engine_class(recipe.engine).unavailable_reason(device, recipe.activation)
    if reason is None:
        return recipe.engine
    log.warning(
        "the %s engine cannot train here (%s): the fast engine trains", recipe.engine, reason
    )
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


def validation_rows(val: torch.Tensor | None, recipe: Recipe) -> torch.Tensor | None:
    """The rows validated: at most recipe.val_rows of `val`; None where there are none."""
    if val is None or len(val) == 0:
        return None
    return val if recipe.val_rows is None else val[: recipe.val_rows]


class EpochSteps:
    """Each step of an epoch: the data itself (full batch), or a slice of the epoch's int32
    order gathered into one buffer made here (views of it made once per size); the same
    steps every epoch, the order shuffled before each."""

    def __init__(self, plan: LoopPlan, data: torch.Tensor) -> None:
        self.order: torch.Tensor | None = None
        if plan.full_batch:
            self.steps: list[Step] = [(Batch.of(data), None, plan.n)]
            return
        self.order = torch.empty(plan.n, dtype=torch.int32, device=data.device)
        buffer = torch.empty((plan.batch, data.shape[1]), device=data.device)
        batches = {b: Batch.of(buffer[:b]) for b in plan.batch_sizes()}
        # each step's batch, its slice of the order and its row count (kept, not asked of
        # the tensor at every step)
        self.steps = []
        for i in range(plan.steps):
            b = min(plan.batch, plan.n - i * plan.batch)
            self.steps.append((batches[b], self.order[i * plan.batch : i * plan.batch + b], b))

    def shuffle(self, generator: torch.Generator) -> None:
        """A new order of the rows for the next epoch (none to make for a full batch)."""
        if self.order is not None:
            torch.randperm(len(self.order), generator=generator, out=self.order)


class Validation:
    """The validations of a fit: when they fall (every `every` steps and after the last),
    what they measured (`log`: epoch, step, MSE), the best so far (its weights kept), and
    whether one ends the loop. With no rows, none is ever due."""

    def __init__(
        self,
        engine: Engine,
        model: nn.Module,
        recipe: Recipe,
        plan: LoopPlan,
        rows: torch.Tensor | None,
        monitor: FitMonitor | None,
    ) -> None:
        self.engine, self.model, self.recipe = engine, model, recipe
        self.rows, self.monitor = rows, monitor
        self.every, self.last_step = plan.val_interval(recipe), plan.total_steps
        # R² of the rows validated: 1 - MSE / their variance (standardised units, as R² is)
        self.var = math.nan if rows is None else float(rows[:, -1].var(correction=0))
        self.log: list[tuple[int, int, float]] = []
        self.best, self.best_epoch, self.since_best = math.inf, 0, 0

    def due(self, step: int) -> bool:
        """Whether a validation falls after the loop's `step`th step."""
        return self.rows is not None and (step % self.every == 0 or step == self.last_step)

    def validate(self, epoch: int, step: int) -> str | None:
        """Validate, keep the weights if they are the best yet, tell the monitor; the reason
        the loop stops here ("reached_target" or "early_stopped"), or None."""
        mse = self.engine.val_mse(self.rows)
        self.log.append((epoch, step, mse))
        if mse < self.best - self.recipe.min_delta:
            self.best, self.best_epoch, self.since_best = mse, epoch, 0
            if keeps_best(self.recipe):
                self.engine.keep_best()
        else:
            self.since_best += 1
        if self.monitor is not None and math.isfinite(mse):
            done = self.monitor.observe(1.0 - mse / self.var, self.snapshot)
            if done and self.recipe.stop_at_target:
                return "reached_target"
        if self.recipe.patience is not None and self.since_best >= self.recipe.patience:
            return "early_stopped"
        return None

    def snapshot(self) -> Predictor:
        """A predictor of the weights validated as they are now, for the monitor."""
        frozen = copy.deepcopy(self.model)  # a copy: the autograd engine's model trains on
        self.engine.store(frozen)
        return lambda X: predict_rows(frozen, X)


class Progress:
    """With `every_s`, the fit's progress for the "interp5d" logger: an epoch's line at most
    that often (checked once per epoch, the first epoch's always) and the last; else none."""

    def __init__(self, every_s: float | None, epochs: int) -> None:
        self.every_s, self.epochs = every_s, epochs
        self.start = self.last = time.perf_counter()

    def epoch(self, epoch: int, loss: float, val_log: list[tuple[int, int, float]]) -> None:
        """After an epoch the loop goes on from."""
        if self.every_s is not None and (
            epoch == 1 or time.perf_counter() - self.last >= self.every_s
        ):
            self.last = time.perf_counter()
            _log_progress(epoch, self.epochs, loss, val_log, self.last - self.start)

    def end(self, epoch: int, loss: float, val_log: list, status: str, loop_time: float) -> None:
        """After the loop."""
        if self.every_s is not None:
            _log_progress(epoch, self.epochs, loss, val_log, loop_time)
            log.info("training finished: %s after %d epochs in %.3f s", status, epoch, loop_time)


def history(epochs_run: int, train_loss: torch.Tensor, val_log: list) -> dict[str, list[float]]:
    """Each epoch's training loss and its last validation's loss (NaN where it had none)."""
    out = {
        "epoch": list(range(1, epochs_run + 1)),
        "train_loss": train_loss[:epochs_run].tolist(),
        "val_loss": [math.nan] * epochs_run,
    }
    for e, _, v in val_log:  # a later validation of the same epoch overwrites
        out["val_loss"][e - 1] = v
    return out


def loop_flops(widths: list[int], rows_trained: int, validation: Validation) -> int:
    """The loop's matrix-product FLOPs, linear in the rows: every row of every step (forward
    and backward), and of every validation (forward)."""
    flops = matmul_flops(widths, rows_trained, backward=True)
    if validation.rows is not None:
        rows = len(validation.rows) * len(validation.log)
        flops += matmul_flops(widths, rows, backward=False)
    return flops


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
    plan, val = LoopPlan.of(len(data), recipe), validation_rows(val, recipe)
    engine = make_engine(model, recipe, plan, 0 if val is None else len(val), data.device)
    engine.load(model)
    epoch_steps, lr_at = EpochSteps(plan, data), LRSchedule(recipe, plan.steps, plan.total_steps)
    validation = Validation(engine, model, recipe, plan, val, monitor)
    train_loss = torch.full((plan.epochs,), math.nan)  # float32: the history's precision
    step, rows_trained, stop, diverged_epoch = 0, 0, None, None
    progress = Progress(log_every_s, plan.epochs)
    for epoch in range(1, plan.epochs + 1):
        epoch_steps.shuffle(generator)
        rows_seen = 0
        # the epoch's steps (the budget may end it early) in runs that end where a
        # validation falls, each run handed to the engine at once
        todo = epoch_steps.steps[: plan.total_steps - step]
        for run in runs_between(todo, step, validation.every):
            engine.steps(run, [lr_at(step + i) for i in range(len(run))], data)
            step += len(run)
            rows_seen += sum(rows for _, _, rows in run)
            if validation.due(step):
                stop = validation.validate(epoch, step)
                if stop is not None:
                    break
        rows_trained += rows_seen
        loss = engine.take_train_sse() / rows_seen  # one host sync per epoch
        train_loss[epoch - 1] = loss
        if not math.isfinite(loss):
            diverged_epoch = epoch
            break
        if stop is not None:
            break
        progress.epoch(epoch, loss, validation.log)
    loop_time = time.perf_counter() - progress.start
    if diverged_epoch is None and not engine.finite():
        diverged_epoch = epoch  # the last step's update overflowed after the epoch's loss
    status = "diverged" if diverged_epoch is not None else stop or "ok"
    progress.end(epoch, train_loss[epoch - 1].item(), validation.log, status, loop_time)
    if validation.best_epoch and keeps_best(recipe) and status != "diverged":
        engine.restore_best()
    engine.store(model)
    return TrainResult(
        status=status,
        epochs_run=epoch,
        best_epoch=validation.best_epoch if val is not None else epoch,
        loop_time_s=loop_time,
        diverged_epoch=diverged_epoch,
        history=history(epoch, train_loss, validation.log),
        steps_run=step,
        flops=loop_flops(layer_widths(model), rows_trained, validation),
        batch_rows=plan.batch,
        engine=engine.name,
    )


def predict_rows(model: nn.Module, X) -> torch.Tensor:
    """The model's output (float64 numpy, shape (m,)) for standardised inputs (m, k)."""
    device = next(model.parameters()).device
    with torch.inference_mode():
        # row-major whatever X's layout (a DataFrame's values are column-major): a
        # column-major input takes another matmul kernel, whose rounding differs (seen on
        # AVX-512: ~1e-8 of ŷ), and the same points must give the same predictions
        xt = torch.as_tensor(X, dtype=torch.float32, device=device).contiguous()
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
