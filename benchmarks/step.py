"""Where one training step's time goes, and three ways round its fixed cost, side by side.

For the `tuned` network ([5, 64, 32, 1]) with SiLU and with ReLU, at several batch sizes, in
one process and one torch thread unless said:

1. step: the fast engine's step (forward, hand-written backward, fused Adam, the moving
   average of the weights) on a batch;
2. products: the same step's matrix products alone (`roofline.step_matmuls`, the roofline's
   own measure); products / step is the best efficiency against the roofline that step allows;
3. script: the whole step as one TorchScript function (`torch.jit.script`, deprecated in
   torch 2.13 and so only measured here): the same kernels, without Python between them;
4. 2 threads: data parallelism over two cores: a second thread runs the forward and backward
   of half the batch while the main thread runs the other half, then the two gradients are
   averaged and one Adam step taken;
5. native: the native engine's step (the tuned recipe's): the same step as one compiled C call
   (native_step.c), its products the same sgemm torch calls; and its products alone
   (`roofline.native_step_matmuls`). The roofline is the faster of the two products' timings,
   so roofline products / native step is that step's efficiency against it.

Before timing, each alternative is checked to give the engine's parameters after a few
steps (float32 tolerance). Repeats are interleaved (1, 2, ..., 6, 1, 2, ...) so drift hits all
alike; the table gives medians. Nothing else should run meanwhile.

    .venv/bin/python benchmarks/step.py [--batches 8 512 1024 2048 4096] [--repeats 7]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "workflow" / "scripts"))

import torch
from interp5d import get_recipe
from interp5d.bench.provenance import cpu_model
from interp5d.bench.roofline import native_step_matmuls, step_matmuls
from interp5d.training.batch import Batch
from interp5d.training.engines.fast import FastEngine, Workspace, forward_backward, layer_blocks
from interp5d.training.engines.native import NativeEngine

WIDTHS = [5, 64, 32, 1]
N_TRAIN = 7000


@torch.jit.script
def scripted_step(
    x: torch.Tensor,
    inputs_t: list[torch.Tensor],
    y: torch.Tensor,
    blocks: list[torch.Tensor],
    weights: list[torch.Tensor],
    grads: list[torch.Tensor],
    acts: list[torch.Tensor],
    saved: list[torch.Tensor],
    outputs: list[torch.Tensor],
    deltas: list[torch.Tensor],
    out: torch.Tensor,
    sq: torch.Tensor,
    adam: list[list[torch.Tensor]],
    one: torch.Tensor,
    beta1: float,
    eps: float,
    avg: torch.Tensor,
    avg_weight: float,
    lr: float,
    beta2: float,
    weight_decay: float,
    silu: bool,
) -> None:
    """fast_engine's forward_backward, FusedAdam.step and average, kernel for kernel, for
    SiLU or ReLU; adam = [[params], [grads], [m], [v], [t]]."""
    h = x
    for i in range(len(acts)):
        a = acts[i]
        torch.mm(h, blocks[i], out=a)
        if silu:
            a.mul_(torch.sigmoid(a, out=saved[i]))
        else:
            a.relu_()
        h = outputs[i]
    scale = 2.0 / x.size(0)
    d = torch.addmm(y, h, blocks[-1], beta=-scale, alpha=scale, out=out)
    sq.addcmul_(d, d, value=1.0 / scale**2)
    for i in range(len(grads) - 1, -1, -1):
        torch.mm(inputs_t[i], d, out=grads[i])
        if i > 0:
            d = torch.mm(d, weights[i], out=deltas[i - 1])
            a = acts[i - 1]
            if silu:
                s = saved[i - 1]
                torch.addcmul(s, a, s, value=-1.0, out=s)
                d.mul_(s.add_(a))
            else:
                torch.ops.aten.threshold_backward(d, a, 0.0, grad_input=d)
    adam[4][0].add_(one)
    # the lists come in made: built here, TorchScript drops the call as if it had no effect
    torch._fused_adam_(
        adam[0],
        adam[1],
        adam[2],
        adam[3],
        [],
        adam[4],
        lr=lr,
        beta1=beta1,
        beta2=beta2,
        weight_decay=weight_decay,
        eps=eps,
        amsgrad=False,
        maximize=False,
    )
    avg.lerp_(adam[0][0], avg_weight)


def engine(activation: str, batch: int, cls: type[FastEngine] = FastEngine) -> FastEngine:
    """An engine with the same seeded starting weights whatever the batch."""
    recipe = replace(get_recipe("tuned"), activation=activation)
    eng = cls(
        widths=WIDTHS,
        recipe=recipe,
        n_train=N_TRAIN,
        batch_rows=batch,
        val_rows=0,
        keep_best=False,
        device="cpu",
    )
    torch.nn.init.normal_(eng.flat, 0.0, 0.3, generator=torch.Generator().manual_seed(0))
    eng.avg.copy_(eng.flat)  # as load() does: the scripted step's first update is a lerp
    return eng


class Steps:
    """One batch buffer refilled from shuffled training rows before each step, and the four
    ways of timing a step on it."""

    def __init__(self, activation: str, batch: int) -> None:
        g = torch.Generator().manual_seed(1)
        self.data = torch.randn(N_TRAIN, WIDTHS[0] + 2, generator=g)
        self.data[:, -2] = 1.0  # the ones column of training_rows' layout
        self.order = torch.randperm(N_TRAIN, generator=g)
        self.activation, self.b = activation, batch
        self.buf = torch.empty(batch, WIDTHS[0] + 2)
        self.batch = Batch.of(self.buf)
        self.i = 0

    def next_batch(self) -> None:
        k = N_TRAIN // self.b
        j = self.i % k
        torch.index_select(self.data, 0, self.order[j * self.b : (j + 1) * self.b], out=self.buf)
        self.i += 1

    def plain(self):
        eng = engine(self.activation, self.b)

        def step() -> None:
            self.next_batch()
            eng.step(self.batch, 1e-3)

        return eng, step

    def products(self):
        return None, step_matmuls(WIDTHS, self.b)  # as the roofline times it: no batch refill

    def native(self):
        eng = engine(self.activation, self.b, NativeEngine)

        def step() -> None:
            self.next_batch()
            eng.step(self.batch, 1e-3)

        return eng, step

    def native_products(self):
        return None, native_step_matmuls(WIDTHS, self.b)

    def script(self):
        eng = engine(self.activation, self.b)
        v = eng.work.views(self.b)
        bt = self.batch
        opt, settings = eng.opt, eng.opt.settings
        adam = [[eng.flat], [eng.flat_grad], [opt.m], [opt.v], [opt.t]]
        saved = [s if s is not None else a for s, a in zip(v.saved, v.acts, strict=True)]
        args = [bt.x_ones_t, *v.outputs_t], bt.y, eng.layers.blocks, eng.layers.weights
        rest = eng.grads, v.acts, saved, v.outputs, v.grads, v.out, v.sq, adam, opt.one
        constants = settings.beta1, settings.eps  # passed in: a script cannot read Python globals
        silu = self.activation == "silu"
        first = [True]  # the average's first update copies the weights, as the engine's does

        def step() -> None:
            self.next_batch()
            w = 1.0 if first[0] else 1.0 - eng.ema_decay
            first[0] = False
            scripted_step(
                *(bt.x_ones, *args, *rest, *constants, eng.avg, w, 1e-3),
                *(settings.beta2, settings.weight_decay, silu),
            )

        return eng, step

    def two_threads(self):
        eng = engine(self.activation, self.b)
        h = self.b // 2
        halves = [Batch.of(self.buf[:h]), Batch.of(self.buf[h:])]
        flats = [torch.zeros(eng.flat.shape) for _ in halves]
        grads = [layer_blocks(f, WIDTHS) for f in flats]
        views = [Workspace(h, WIDTHS, eng.act, True, "cpu").views(h) for _ in halves]
        ins = [[hb.x_ones_t, *v.outputs_t] for hb, v in zip(halves, views, strict=True)]

        def half(k: int) -> None:
            hb, v = halves[k], views[k]
            forward_backward(eng.layers, grads[k], eng.act, v, hb.x_ones, ins[k], hb.y)

        go, done = threading.Event(), threading.Event()

        failed: list[BaseException] = []

        def worker() -> None:
            while True:
                go.wait()
                go.clear()
                try:
                    half(1)
                except BaseException as e:  # handed to the main thread, which waits on done
                    failed.append(e)
                finally:
                    done.set()

        threading.Thread(target=worker, daemon=True).start()

        def step() -> None:
            self.next_batch()
            go.set()
            half(0)
            done.wait()
            done.clear()
            if failed:
                raise failed[0]
            # each half's gradient is its own mean: the batch's is their average
            torch.add(flats[0], flats[1], out=eng.flat_grad).mul_(0.5)
            eng.opt.step(1e-3)
            eng.average()

        return eng, step


WAYS = ("plain", "products", "script", "two_threads", "native", "native_products")


def check(activation: str, batch: int, steps: int = 10) -> float:
    """Largest parameter difference between the engine's step and each alternative after
    `steps` steps on the same batches; raises if one is off."""
    worst = 0.0
    ref, *alts = (
        getattr(Steps(activation, batch), w)() for w in ("plain", "script", "two_threads", "native")
    )
    for _ in range(steps):
        ref[1]()
        for _, step in alts:
            step()
    for eng, _ in alts:
        for kept in ("flat", "avg"):  # the weights and their moving average
            diff = (getattr(eng, kept) - getattr(ref[0], kept)).abs().max().item()
            scale = getattr(ref[0], kept).abs().max().item()
            if not diff <= 1e-4 * scale:
                raise AssertionError(
                    f"{activation}, batch {batch}: {kept} parameters differ by {diff:.3g}"
                )
            worst = max(worst, diff)
    return worst


def batch_size(text: str) -> int:
    b = int(text)
    if b < 2 or b % 2 or b > N_TRAIN:
        raise argparse.ArgumentTypeError(f"need an even batch in [2, {N_TRAIN}], got {b}")
    return b


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument(
        "--batches",
        nargs="+",
        type=batch_size,
        default=[8, 512, 1024, 2048, 4096],
        help=f"even numbers of rows, at most {N_TRAIN:,} (two equal halves of a batch)",
    )
    ap.add_argument("--activations", nargs="+", default=["silu", "relu"])
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--steps", type=int, default=300, help="steps per timing")
    args = ap.parse_args()
    torch.set_num_threads(1)  # the two-thread way makes its own second thread
    t_start = time.perf_counter()
    print(f"# One training step, {WIDTHS}: {cpu_model()}, torch {torch.__version__}\n")
    print(
        "| activation | batch | step µs | products µs | products / step | script µs "
        "| 2 threads µs | script speed-up | 2-thread speed-up | native µs | native products µs "
        "| native speed-up | roofline products / native step |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for activation in args.activations:
        for batch in args.batches:
            check(activation, batch)
            runs = {w: getattr(Steps(activation, batch), w)()[1] for w in WAYS}
            for step in runs.values():
                for _ in range(50):  # warm-up
                    step()
            times: dict[str, list[float]] = {w: [] for w in WAYS}
            for _ in range(args.repeats):
                for w, step in runs.items():
                    t0 = time.perf_counter()
                    for _ in range(args.steps):
                        step()
                    times[w].append((time.perf_counter() - t0) / args.steps * 1e6)
            m = {w: statistics.median(t) for w, t in times.items()}
            print(
                f"| {activation} | {batch:,} | {m['plain']:.0f} | {m['products']:.0f} "
                f"| {m['products'] / m['plain']:.2f} | {m['script']:.0f} "
                f"| {m['two_threads']:.0f} | ×{m['plain'] / m['script']:.2f} "
                f"| ×{m['plain'] / m['two_threads']:.2f} | {m['native']:.0f} "
                f"| {m['native_products']:.0f} | ×{m['plain'] / m['native']:.2f} "
                f"| {min(m['products'], m['native_products']) / m['native']:.2f} |",
                flush=True,
            )
    print(
        "\nEach step but the products alone refills its batch from shuffled rows first (an "
        "index_select, as the loop does); the products are timed as the roofline times them "
        "(through torch.mm, and through the native step's own sgemm calls: the roofline is "
        "the faster)."
    )
    print(f"(benchmark wall time {time.perf_counter() - t_start:.0f} s)")


if __name__ == "__main__":
    main()
