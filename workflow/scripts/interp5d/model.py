"""The multilayer perceptron: 5 inputs, configurable hidden layers, one output."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

ACTIVATIONS: dict[str, type[nn.Module]] = {
    "relu": nn.ReLU,
    "tanh": nn.Tanh,
    "gelu": nn.GELU,
    "silu": nn.SiLU,
}


def build_mlp(n_in: int, hidden: Sequence[int], activation: str = "relu") -> nn.Sequential:
    """Linear layers of the given widths with `activation` between them, then 1 output."""
    if not hidden:
        raise ValueError("hidden must list at least one layer width")
    if any(int(w) < 1 for w in hidden):
        raise ValueError(f"hidden layer widths must be >= 1, got {list(hidden)}")
    if activation not in ACTIVATIONS:
        raise ValueError(f"unknown activation {activation!r}; known: {', '.join(ACTIVATIONS)}")
    layers: list[nn.Module] = []
    width = n_in
    for w in hidden:
        layers += [nn.Linear(width, int(w)), ACTIVATIONS[activation]()]
        width = int(w)
    layers.append(nn.Linear(width, 1))
    return nn.Sequential(*layers)


def n_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def pick_device(device: str = "cpu") -> torch.device:
    """'auto' picks CUDA when present, else CPU; otherwise the named device."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)
