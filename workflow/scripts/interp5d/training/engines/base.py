"""What every engine is to the loop (Engine: the methods the loop calls, and nothing more),
and what they share: Adam's settings, written once."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch
    from torch import nn

    from interp5d.recipes import Recipe
    from interp5d.training.batch import Batch, Step


ADAM_BETA1 = 0.9  # PyTorch's default, as the seed study's reference script trained
ADAM_EPS = 1e-8


@dataclass(frozen=True)
class AdamSettings:
    """Adam's constants and a recipe's L2 weight decay (added to the gradient, as
    torch.optim.Adam does): the same numbers for every engine, the C step's included."""

    beta2: float
    weight_decay: float
    beta1: float = ADAM_BETA1
    eps: float = ADAM_EPS

    @classmethod
    def of(cls, recipe: Recipe, n_train: int) -> AdamSettings:
        """The recipe's: its beta2, and weight_decay plus its prior weight_decay_n spread
        over the n_train rows (so that the prior fades as the data grows)."""
        return cls(recipe.beta2, recipe.weight_decay + recipe.weight_decay_n / n_train)


class Engine(ABC):
    """A training run's weights, optimiser and step, as the loop drives them: load the
    model, step runs of batches, validate, keep and restore the best weights, store them."""

    name = ""

    @classmethod
    @abstractmethod
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
    ) -> Engine:
        """The engine the loop trains `model` with, from what the loop knows of the run."""

    @classmethod
    def unavailable_reason(cls, device: torch.device | str, activation: str) -> str | None:
        """Why this engine cannot train here (the loop then trains with the fast engine), or
        None: every engine can, but one that needs what a machine may lack."""
        return None

    @abstractmethod
    def nbytes(self) -> dict[str, int] | None:
        """Bytes the engine holds, by part; None where it allocates as it goes."""

    @abstractmethod
    def load(self, model: nn.Module) -> None:
        """Take the model's weights as the starting point."""

    @abstractmethod
    def store(self, model: nn.Module) -> None:
        """Copy the weights validated into `model` (the trained one at the end, or a copy)."""

    @abstractmethod
    def step(
        self,
        batch: Batch,
        lr: float,
        data: torch.Tensor | None = None,
        index: torch.Tensor | None = None,
    ) -> None:
        """One Adam step on a batch; with `index`, its rows are first gathered from `data`."""

    def steps(
        self, run: Sequence[Step], lrs: Sequence[float], data: torch.Tensor | None = None
    ) -> None:
        """The run's steps at learning rates `lrs`, one `step` after another: the plain
        path, which the native engine replaces by one call (a test ties the two)."""
        for (batch, index, _), lr in zip(run, lrs, strict=True):
            self.step(batch, lr, data, index)

    @abstractmethod
    def take_train_sse(self) -> float:
        """Sum of the training squared errors since the last call (one host sync)."""

    @abstractmethod
    def val_mse(self, val: torch.Tensor) -> float:
        """The validated weights' mean squared error on the rows `val`."""

    @abstractmethod
    def keep_best(self) -> None:
        """Keep a copy of the validated weights (the best so far)."""

    @abstractmethod
    def restore_best(self) -> None:
        """Put the kept copy back as the validated weights."""

    @abstractmethod
    def finite(self) -> bool:
        """Whether the validated weights are all finite."""
