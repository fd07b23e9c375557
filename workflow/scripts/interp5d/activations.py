"""The activations the MLP may use: one registry for the model's modules and the fast loop's
in-place forward and backward kernels."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

aten = torch.ops.aten


@dataclass(frozen=True)
class Activation:
    """The fast loop writes a layer's pre-activation z into its output slot `a`; `forward`
    turns it into act(z) in place, keeping in `saved` (a buffer of a's shape, when
    `saves`) what the backward needs besides a; `backward` multiplies the gradient g by
    act'(z) in place, and may overwrite `saved`."""

    module: type[nn.Module]  # what build_mlp puts between the layers
    saves: bool
    forward: Callable[[torch.Tensor, torch.Tensor | None], object]  # (a, saved)
    backward: Callable[[torch.Tensor, torch.Tensor, torch.Tensor | None], object]  # (g, a, saved)


def _silu_backward(g: torch.Tensor, a: torch.Tensor, s: torch.Tensor) -> None:
    # silu'(z) = s + z s (1 - s) = s - a s + a, with s = sigmoid(z) and a = z s: three
    # cheap passes from the saved sigmoid instead of aten's silu_backward, which evaluates
    # the sigmoid again and takes four times as long (torch 2.13, AVX2)
    torch.addcmul(s, a, s, value=-1.0, out=s)
    g.mul_(s.add_(a))


def _keeping_input(inplace: Callable[[torch.Tensor], object]):
    """A forward that saves z, then applies the activation in place (for a backward that
    needs z itself)."""

    def forward(a: torch.Tensor, z: torch.Tensor) -> None:
        z.copy_(a)
        inplace(a)

    return forward


ACTIVATIONS: dict[str, Activation] = {
    "relu": Activation(
        nn.ReLU,
        False,
        lambda a, _: a.relu_(),
        lambda g, a, _: aten.threshold_backward.grad_input(g, a, 0, grad_input=g),
    ),
    "tanh": Activation(
        nn.Tanh,
        False,
        lambda a, _: a.tanh_(),
        lambda g, a, _: aten.tanh_backward.grad_input(g, a, grad_input=g),
    ),
    "silu": Activation(
        nn.SiLU,
        True,
        lambda a, s: a.mul_(torch.sigmoid(a, out=s)),
        _silu_backward,
    ),
    "hardswish": Activation(
        nn.Hardswish,
        True,
        _keeping_input(aten.hardswish_),
        lambda g, a, z: aten.hardswish_backward.out(g, z, out=g),
    ),
    "gelu": Activation(
        nn.GELU,
        True,
        # in place after a copy: gelu.out leaves a strided `out` unwritten (torch 2.13)
        _keeping_input(aten.gelu_),
        lambda g, a, z: aten.gelu_backward.grad_input(g, z, grad_input=g),
    ),
}


def get_activation(name: str) -> Activation:
    try:
        return ACTIVATIONS[name]
    except KeyError:
        raise ValueError(f"unknown activation {name!r}; known: {', '.join(ACTIVATIONS)}") from None
