"""The activations the MLP may use: one registry for the model's modules and the fast loop's
in-place forward and backward kernels."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn


@dataclass(frozen=True)
class Activation:
    module: type[nn.Module]  # what build_mlp puts between the layers
    inplace: bool  # the fast forward can overwrite its input (then its backward reads a)
    forward: Callable[[torch.Tensor, torch.Tensor], object]  # (z, a): writes act(z) to a
    backward: Callable[[torch.Tensor, torch.Tensor], object]  # (g, saved): g *= act'(.)


ACTIVATIONS: dict[str, Activation] = {
    "relu": Activation(
        nn.ReLU,
        True,
        lambda z, a: a.relu_(),
        lambda g, a: torch.ops.aten.threshold_backward.grad_input(g, a, 0, grad_input=g),
    ),
    "tanh": Activation(
        nn.Tanh,
        True,
        lambda z, a: a.tanh_(),
        lambda g, a: torch.ops.aten.tanh_backward.grad_input(g, a, grad_input=g),
    ),
    "silu": Activation(
        nn.SiLU,
        False,
        lambda z, a: torch.ops.aten.silu.out(z, out=a),
        lambda g, z: torch.ops.aten.silu_backward.grad_input(g, z, grad_input=g),
    ),
    "gelu": Activation(
        nn.GELU,
        False,
        # gelu.out leaves a strided `out` unwritten (torch 2.13), so copy, then in place
        lambda z, a: torch.ops.aten.gelu_(a.copy_(z)),
        lambda g, z: torch.ops.aten.gelu_backward.grad_input(g, z, grad_input=g),
    ),
}


def get_activation(name: str) -> Activation:
    try:
        return ACTIVATIONS[name]
    except KeyError:
        raise ValueError(f"unknown activation {name!r}; known: {', '.join(ACTIVATIONS)}") from None
