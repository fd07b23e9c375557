"""What every engine does alike: the loop hands it runs of steps."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from interp5d.training.batch import Batch, Step


class Engine:
    """A training run's step (`step`, each engine's own) and runs of steps."""

    name = ""

    def step(self, batch: Batch, lr: float, data=None, index=None) -> None:
        raise NotImplementedError

    def steps(self, run: Sequence[Step], lrs: Sequence[float], data=None) -> None:
        """The run's steps at learning rates `lrs`, one `step` after another: the plain
        path, which the native engine replaces by one call (a test ties the two)."""
        for (batch, index, _), lr in zip(run, lrs, strict=True):
            self.step(batch, lr, data, index)
