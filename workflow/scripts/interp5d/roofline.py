"""This machine's matrix-product rate for the network's layer shapes: the roofline a
training loop's FLOP rate is compared with."""

from __future__ import annotations

import itertools
import time
from collections.abc import Sequence
from typing import Any

import torch

from .model import matmul_flops
from .threads import torch_threads


def _best_seconds(fn, calls: int, repeats: int = 5) -> float:
    """The fastest of `repeats` timings of `calls` calls, per call (after 3 untimed)."""
    for _ in range(3):
        fn()
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(calls):
            fn()
        best = min(best, (time.perf_counter() - t0) / calls)
    return best


def step_matmuls(widths: Sequence[int], batch: int):
    """A function doing one training step's matrix products for an MLP of these widths on
    `batch` rows, in the fast engine's layout: per layer the forward product
    (b, in + 1) @ (in + 1, out), the gradient (in + 1, b) @ (b, out) and, but for the first
    layer, the input's gradient (b, out) @ (out, in); random float32 operands."""
    g = torch.Generator().manual_seed(0)
    products = []
    for i, (a, b) in enumerate(itertools.pairwise(widths)):
        x = torch.randn(batch, a + 1, generator=g)
        w = torch.randn(a + 1, b, generator=g)
        d = torch.randn(batch, b, generator=g)
        products += [(x, w, torch.empty(batch, b)), (x.t(), d, torch.empty(a + 1, b))]
        if i > 0:
            products.append((d, w[:-1].t(), torch.empty(batch, a)))

    def step() -> None:
        for left, right, out in products:
            torch.mm(left, right, out=out)

    return step


def roofline(shapes: Sequence[dict[str, Any]], threads: int = 1) -> list[dict[str, Any]]:
    """GFLOP/s of one training step's matrix products (step_matmuls) for each
    {"widths", "batch"} shape with `threads` torch threads, the best of five timings,
    and of a 1024³ sgemm for scale."""
    out = []
    with torch_threads(threads):
        a, b, c = torch.randn(1024, 1024), torch.randn(1024, 1024), torch.empty(1024, 1024)
        t = _best_seconds(lambda: torch.mm(a, b, out=c), 10)
        out.append(
            {"shape": "sgemm 1024^3", "threads": threads, "gflops_per_s": 2 * 1024**3 / t / 1e9}
        )
        for shape in shapes:
            widths, batch = list(shape["widths"]), int(shape["batch"])
            step = step_matmuls(widths, batch)
            t = _best_seconds(step, max(3, 2_000_000 // (batch * sum(widths))))
            out.append(
                {
                    "shape": f"training step {widths}, {batch} rows",
                    "widths": widths,
                    "batch": batch,
                    "threads": threads,
                    "step_matmul_s": t,
                    "gflops_per_s": matmul_flops(widths, batch, backward=True) / t / 1e9,
                }
            )
    return out
