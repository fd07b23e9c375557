"""The multilayer perceptron: 5 inputs, configurable hidden layers, one output."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import torch
from torch import nn

from interp5d.activations import get_activation


def build_mlp(
    n_in: int, hidden: Sequence[int], activation: str = "relu", init_scale: float = 1.0
) -> nn.Sequential:
    """Linear layers of the given widths with `activation` between them, then 1 output;
    PyTorch's default initialisation, the first layer's weights and bias times `init_scale`
    (the same hyperplanes, steeper units)."""
    if not hidden:
        raise ValueError("hidden must list at least one layer width")
    if any(int(w) < 1 for w in hidden):
        raise ValueError(f"hidden layer widths must be >= 1, got {list(hidden)}")
    act = get_activation(activation)
    layers: list[nn.Module] = []
    width = n_in
    for w in hidden:
        layers += [nn.Linear(width, int(w)), act.module()]
        width = int(w)
    layers.append(nn.Linear(width, 1))
    if init_scale != 1.0:
        # PyTorch's bound 1/sqrt(fan_in) makes units nearly linear over standardised inputs
        # at the start; steeper ones begin with the sharper features that localised
        # structure (a narrow bump, a quartic's wells) needs, and reach it in fewer steps
        with torch.no_grad():
            layers[0].weight.mul_(init_scale)
            layers[0].bias.mul_(init_scale)
    return nn.Sequential(*layers)


def linear_layers(model: nn.Module) -> list[nn.Linear]:
    return [m for m in model if isinstance(m, nn.Linear)]


def layer_widths(model: nn.Module) -> list[int]:
    """[inputs, hidden..., outputs] of an MLP built by build_mlp."""
    linear = linear_layers(model)
    return [linear[0].in_features] + [m.out_features for m in linear]


def n_block_parameters(widths: Sequence[int]) -> int:
    """Parameters of the layers as blocks [W | b]: (in + 1) x out each."""
    return sum((a + 1) * b for a, b in itertools.pairwise(widths))


def matmul_flops(widths: Sequence[int], rows: int, backward: bool) -> int:
    """Multiply-add FLOPs (2 per multiply-add) of the layers' matrix products for `rows`
    rows: the forward pass ([W | b] blocks: in + 1 inputs per output), and with `backward`
    each block's gradient and the gradient of every layer's input but the first's."""
    pairs = list(itertools.pairwise(widths))
    forward = sum((a + 1) * b for a, b in pairs)
    if not backward:
        return 2 * rows * forward
    return 2 * rows * (2 * forward + sum(a * b for a, b in pairs[1:]))


def n_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def pick_device(device: str = "cpu") -> torch.device:
    """'auto' picks CUDA when present, else CPU; otherwise the named device."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)
