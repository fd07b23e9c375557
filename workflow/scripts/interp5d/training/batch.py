"""What the loop hands an engine: a batch's views of its training rows, and a step."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch


@dataclass(frozen=True)
class Batch:
    """Views of a block of training rows [x, 1, y], made once per batch size: the inputs
    with the ones column and its transpose (the fast engine's), without it (nn.Module's),
    the targets."""

    rows: torch.Tensor
    x_ones: torch.Tensor
    x_ones_t: torch.Tensor  # its transpose, for the gradient products
    x: torch.Tensor
    y: torch.Tensor

    @classmethod
    def of(cls, rows: torch.Tensor) -> Batch:
        """The views of `rows`, laid out as training_rows lays them."""
        return cls(rows, rows[:, :-1], rows[:, :-1].t(), rows[:, :-2], rows[:, -1:])


# one step of an epoch: its batch, the slice of the epoch's order gathered into it (None
# for the data itself) and its row count
Step = tuple[Batch, "torch.Tensor | None", int]
