"""A full batch stepped in one pass against the same batch in chunks, side by side.

The fast engine steps a batch of more than CHUNK_ROWS rows (8,192) in chunks of that many and
sums their gradients, so that each chunk's activations stay in cache. This measures what that
buys and where: for the network of both recipes ([5, 64, 32, 1]; ReLU as in `seed`, SiLU as in
`tuned`), at several full-batch sizes, in one process and one torch thread, the engine's step
(forward, backward, Adam) in one pass and in chunks of each size given. Each chunk size is
first checked to give the one pass's parameters after a few steps (float32 tolerance).
Repeats are interleaved (one pass, chunks a, chunks b, ..., one pass, ...) so drift hits all
alike; the table gives medians. Nothing else should run meanwhile.

    .venv/bin/python benchmarks/chunks.py [--rows 7000 22137 70000 700000]
        [--chunks 2048 4096 8192 16384] [--repeats 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "workflow" / "scripts"))

import torch
from interp5d.bench.provenance import cpu_model
from interp5d.model import build_mlp, layer_widths
from interp5d.recipes import Recipe
from interp5d.training.batch import Batch
from interp5d.training.engines.fast import FastEngine
from interp5d.training.limits import CHUNK_ROWS
from interp5d.training.loop import training_rows

HIDDEN = (64, 32)


def engine_and_batch(activation: str, rows: int, chunk_rows: int) -> tuple[FastEngine, Batch]:
    """A fast engine for a full batch of `rows` random rows, stepped in chunks of
    `chunk_rows` (rows: one pass), from one seeded initialisation whatever the chunks."""
    g = torch.Generator().manual_seed(0)
    batch = Batch.of(
        training_rows(torch.randn(rows, 5, generator=g), torch.randn(rows, generator=g))
    )
    torch.manual_seed(0)
    model = build_mlp(5, HIDDEN, activation)
    recipe = Recipe(hidden=HIDDEN, activation=activation, batch_size=None)
    widths = layer_widths(model)
    eng = FastEngine(
        widths=widths,
        recipe=recipe,
        n_train=rows,
        batch_rows=rows,
        val_rows=0,
        keep_best=False,
        device="cpu",
        chunk_rows=chunk_rows,
    )
    eng.load(model)
    return eng, batch


def check(activation: str, rows: int, chunks: list[int], steps: int = 3) -> float:
    """Raise unless every chunk size ends `steps` steps with the one pass's parameters;
    return the largest difference, relative to the parameters' size."""
    ends = {}
    for c in [rows, *chunks]:
        eng, batch = engine_and_batch(activation, rows, c)
        for _ in range(steps):
            eng.step(batch, 1e-2)
        ends[c] = eng.flat
    ref = ends.pop(rows)
    scale = ref.abs().max().item()
    worst = 0.0
    for c, flat in ends.items():
        diff = (flat - ref).abs().max().item() / scale
        if not diff <= 1e-5:
            raise AssertionError(
                f"{activation}, {rows:,} rows in chunks of {c:,}: parameters differ by {diff:.3g}"
            )
        worst = max(worst, diff)
    return worst


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--rows", type=int, nargs="+", default=[7000, 22137, 70000, 700000])
    ap.add_argument("--chunks", type=int, nargs="+", default=[2048, 4096, 8192, 16384])
    ap.add_argument("--activations", nargs="+", default=["relu", "silu"])
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    for name, values in (("--rows", args.rows), ("--chunks", args.chunks)):
        if min(values) < 1:
            ap.error(f"{name}: need positive numbers of rows, got {min(values)}")
    torch.set_num_threads(1)
    t_start = time.perf_counter()
    print(f"# A full batch in one pass and in chunks, {[5, *HIDDEN, 1]}: {cpu_model()}, ", end="")
    print(f"torch {torch.__version__}; the engine's chunk size is {CHUNK_ROWS:,} rows\n")
    heads = " | ".join(f"chunks of {c:,} ms" for c in args.chunks)
    print(f"| activation | rows | one pass ms | {heads} | one pass / best chunks |")
    print("|---|---|---|" + "---|" * len(args.chunks) + "---|")
    for activation in args.activations:
        for rows in args.rows:
            chunks = [c for c in args.chunks if c < rows]
            check(activation, rows, chunks)
            steps = max(3, 2_000_000 // rows)  # per timing: ~1 s of work at most sizes
            runs = {c: engine_and_batch(activation, rows, c) for c in [rows, *chunks]}
            for eng, batch in runs.values():
                eng.step(batch, 1e-3)  # warm-up
            times: dict[int, list[float]] = {c: [] for c in runs}
            for _ in range(args.repeats):
                for c, (eng, batch) in runs.items():
                    t0 = time.perf_counter()
                    for _ in range(steps):
                        eng.step(batch, 1e-3)
                    times[c].append((time.perf_counter() - t0) / steps * 1e3)
            m = {c: statistics.median(t) for c, t in times.items()}
            cells = " | ".join(f"{m[c]:.2f}" if c in m else "—" for c in args.chunks)
            best = min((m[c] for c in chunks), default=m[rows])
            print(
                f"| {activation} | {rows:,} | {m[rows]:.2f} | {cells} | ×{m[rows] / best:.2f} |",
                flush=True,
            )
            del runs
    print(
        "\nA step is the engine's whole step on the full batch: forward, backward and Adam; "
        "'—': a chunk size not below the batch (it would be one pass)."
    )
    print(f"(benchmark wall time {time.perf_counter() - t_start:.0f} s)")


if __name__ == "__main__":
    main()
