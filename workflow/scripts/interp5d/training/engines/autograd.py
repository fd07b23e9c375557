"""The plain engine: the same recipe trained through ordinary PyTorch (the nn.Module's
forward, loss.backward(), torch.optim.Adam, swa_utils.AveragedModel for a moving average of
the weights). It is the reference the fast engine is tested against, and the middle step of
the loop ablation (benchmarks/ablation.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from torch import nn
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

from interp5d.recipes import Recipe
from interp5d.training.engines.base import AdamSettings, Engine
from interp5d.training.limits import VAL_CHUNK

if TYPE_CHECKING:
    from interp5d.training.batch import Batch


class AutogradEngine(Engine):
    """The training step of a small reference script, on the batches the loop hands it."""

    name = "autograd"

    def __init__(self, *, model: nn.Module, recipe: Recipe, n_train: int, keep_best: bool) -> None:
        """Trains `model` itself by the recipe on n_train rows; keeps its best weights or not."""
        self.model = model
        self.params = list(model.parameters())
        adam = AdamSettings.of(recipe, n_train)
        self.opt = torch.optim.Adam(
            self.params,
            lr=recipe.lr,
            betas=(adam.beta1, adam.beta2),
            eps=adam.eps,
            weight_decay=adam.weight_decay,
        )
        self.sse = torch.zeros(())  # summed on the device: no host sync per step
        self.avg = (
            AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(recipe.ema_decay))
            if recipe.ema_decay
            else None
        )
        # the module validated, kept and returned: the model, or its moving average
        self.eval_model = model if self.avg is None else self.avg.module
        self.eval_params = list(self.eval_model.parameters())
        self.best = [p.detach().clone() for p in self.eval_params] if keep_best else None

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
    ) -> AutogradEngine:
        """The engine of the model itself (on its own device, batch by batch as they come)."""
        return cls(model=model, recipe=recipe, n_train=n_train, keep_best=keep_best)

    def nbytes(self) -> None:
        """None: autograd allocates as it goes, nothing to count beforehand."""
        return None

    def load(self, model: nn.Module) -> None:
        pass  # trains the model's own parameters

    def store(self, model: nn.Module) -> None:
        """Copy the weights validated into `model` (the trained one at the end, or a copy)."""
        if model is self.eval_model:
            return  # no average: they are the model's own
        with torch.no_grad():
            for p, a in zip(model.parameters(), self.eval_params, strict=True):
                p.copy_(a)

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
        for group in self.opt.param_groups:
            group["lr"] = lr
        err = self.model(batch.x) - batch.y
        loss = err.pow(2).mean()
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()
        if self.avg is not None:
            self.avg.update_parameters(self.model)
        self.sse += err.detach().pow(2).sum()

    def take_train_sse(self) -> float:
        sse = self.sse.item()
        self.sse.zero_()
        return sse

    def val_mse(self, val: torch.Tensor) -> float:
        sse = 0.0
        with torch.no_grad():
            for i in range(0, len(val), VAL_CHUNK):
                rows = val[i : i + VAL_CHUNK]
                sse += (self.eval_model(rows[:, :-2]) - rows[:, -1:]).pow(2).sum().item()
        return sse / len(val)

    def keep_best(self) -> None:
        with torch.no_grad():
            for b, p in zip(self.best, self.eval_params, strict=True):
                b.copy_(p)

    def restore_best(self) -> None:
        with torch.no_grad():
            for b, p in zip(self.best, self.eval_params, strict=True):
                p.copy_(b)

    def finite(self) -> bool:
        return all(bool(torch.isfinite(p).all()) for p in self.eval_params)
