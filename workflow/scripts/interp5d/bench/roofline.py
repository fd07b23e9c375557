"""This machine's matrix-product rate for the network's layer shapes: the roofline a
training loop's FLOP rate is compared with. The products are timed as torch.mm calls and,
where the native step can be built, as that step's own sgemm calls (no dispatch between
them): the roofline is the faster."""

from __future__ import annotations

import itertools
import time
from collections.abc import Sequence
from typing import Any

import torch

from interp5d.model import matmul_flops
from interp5d.threads import torch_threads


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
    """A function doing one training step's matrix products, and nothing else, for an MLP
    of these widths on `batch` rows, laid out as the fast engine lays them out: each
    layer's input with its ones column, the forward product written into the next layer's
    input, the block gradient inputᵀ @ delta (in + 1, out), and but for the first layer the
    input's gradient delta @ W (out, in); random float32 operands."""
    g = torch.Generator().manual_seed(0)
    pairs = list(itertools.pairwise(widths))
    inputs = [torch.randn(batch, a + 1, generator=g) for a, _ in pairs]
    blocks = [torch.randn(a + 1, b, generator=g) for a, b in pairs]
    grads = [torch.empty(a + 1, b) for a, b in pairs]
    deltas = [torch.randn(batch, b, generator=g) for _, b in pairs]
    out = torch.empty(batch, widths[-1])
    outputs = [nxt[:, :-1] for nxt in inputs[1:]] + [out]  # into the next layer's input
    forward = list(zip(inputs, blocks, outputs, strict=True))
    backward = []
    for i in range(len(pairs) - 1, -1, -1):
        backward.append((inputs[i].t(), deltas[i], grads[i]))
        if i > 0:
            backward.append((deltas[i], blocks[i][:-1].t(), deltas[i - 1]))

    def step() -> None:
        for left, right, result in forward + backward:
            torch.mm(left, right, out=result)

    return step


class NativeProducts:
    """One call: the native step's matrix products alone on an engine's own buffers, with
    the input it multiplies (held here: a ctypes pointer does not keep its tensor alive)."""

    def __init__(self, widths: Sequence[int], batch: int) -> None:
        from interp5d.recipes import Recipe
        from interp5d.training.engines import engine_class

        g = torch.Generator().manual_seed(0)
        # by name: a job that never times these products does not import the native step
        self.engine = engine_class("native")(
            widths=list(widths),
            recipe=Recipe(),
            n_train=batch,
            batch_rows=batch,
            val_rows=0,
            keep_best=False,
            device="cpu",
            chunk_rows=batch,
        )
        self.engine.flat.copy_(torch.randn(self.engine.flat.shape, generator=g))
        self.x = torch.randn(batch, widths[0] + 1, generator=g)
        self._args = self.engine.products_args(self.x)

    def __call__(self) -> None:
        self.engine.lib.interp5d_step_products(*self._args)


def native_step_matmuls(widths: Sequence[int], batch: int) -> NativeProducts | None:
    """The native step's matrix products alone (interp5d_step_products) on its own buffers,
    random float32 operands, or None where the native step cannot run these widths (deeper
    than it takes: such a recipe trains on the fast engine) or cannot be built."""
    from interp5d.recipes import NATIVE_MAX_LAYERS
    from interp5d.training.engines import engine_class

    if len(widths) - 1 > NATIVE_MAX_LAYERS:
        return None
    if engine_class("native").unavailable_reason("cpu", "relu") is not None:
        return None
    return NativeProducts(widths, batch)


def step_roofline(widths: Sequence[int], batch: int) -> dict[str, Any]:
    """GFLOP/s of one training step's matrix products for these widths on `batch` rows, with
    the torch threads in force, the best of five timings: through torch.mm (step_matmuls)
    and, where it can be built, the native step (native_step_matmuls); `gflops_per_s` is
    the faster."""
    widths, batch = list(widths), int(batch)
    calls = max(3, 2_000_000 // (batch * sum(widths)))
    t_torch = _best_seconds(step_matmuls(widths, batch), calls)
    native = native_step_matmuls(widths, batch)
    t_native = None if native is None else _best_seconds(native, calls)
    flops = matmul_flops(widths, batch, backward=True) / 1e9
    t = min(t_torch, t_native or t_torch)
    return {
        "shape": f"training step {widths}, {batch} rows",
        "widths": widths,
        "batch": batch,
        "step_matmul_s": t,
        "gflops_per_s": flops / t,
        "torch_gflops_per_s": flops / t_torch,
        "native_gflops_per_s": None if t_native is None else flops / t_native,
    }


def roofline(shapes: Sequence[dict[str, Any]], threads: int = 1) -> list[dict[str, Any]]:
    """step_roofline for each {"widths", "batch"} shape with `threads` torch threads, and
    the GFLOP/s of a 1024³ sgemm for scale."""
    out = []
    with torch_threads(threads):
        a, b, c = torch.randn(1024, 1024), torch.randn(1024, 1024), torch.empty(1024, 1024)
        t = _best_seconds(lambda: torch.mm(a, b, out=c), 3)  # ~30 ms a call
        out.append(
            {"shape": "sgemm 1024^3", "threads": threads, "gflops_per_s": 2 * 1024**3 / t / 1e9}
        )
        for shape in shapes:
            out.append({**step_roofline(shape["widths"], shape["batch"]), "threads": threads})
    return out
