"""Time-to-quality comparison, loop efficiency and memory scaling, measured side by side.

1. method × size × function: test R² (mean over seeds), training seconds (median) and
   training peak MB (mean) for the MLP recipes, a plain PyTorch loop (batch 512, lr 1e-2,
   cosine, 100 epochs) and the baselines, on the same splits.
2. loop efficiency: epoch time of interp5d's loop against a plain PyTorch reference loop
   (DataLoader, autograd, torch.optim.Adam, a per-step .item()), mini-batch 64 and full
   batch (the seed protocol), interleaved repeats, medians and ratios.
3. memory: mini-batch training peak from 1K to 100K samples (flat?) and full-batch peak
   against the analytic estimate.

Sections 1 and 2 run in this process, section 3 in a fresh process per measurement (as a
workflow job would); one torch/BLAS thread, one thing at a time; nothing else should run
meanwhile.

    .venv/bin/python benchmarks/compare.py [--quick]
"""

from __future__ import annotations

import argparse
import multiprocessing
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "workflow" / "scripts"))

import numpy as np
import torch
from interp5d import Dataset, Interpolator, get_function, run_experiment, split_indices
from interp5d.baselines import run_baseline
from interp5d.metrics import r2_score
from interp5d.model import build_mlp
from interp5d.provenance import cpu_model
from threadpoolctl import threadpool_limits

METHODS = ["tuned", "seed", "plain_b512", "sklearn_mlp", "rbf", "ols"]


def comparison(functions, sizes, seeds) -> None:
    print(
        "\n## 1. Method × size × function (R² mean over seeds; train s median; peak MB mean, "
        "measured in this long-lived process: its heap's history can add about 1 MB, "
        "section 3 measures in fresh processes)\n"
    )
    print("| function | n | method | R² | train s | train peak MB |")
    print("|---|---|---|---|---|---|")
    for fn_name in functions:
        fn = get_function(fn_name)
        for n in sizes:
            for method in METHODS:
                recs = []
                for seed in seeds:
                    X, y, f = fn.sample(n, seed)
                    ds = Dataset(X, y, f)
                    if method == "plain_b512":
                        rec = plain_reference(ds, seed)
                    elif method in ("tuned", "seed"):
                        rec, _ = run_experiment(
                            ds, method, seed, latency_repeats=3, throughput_points=1000
                        )
                    else:
                        rec = run_baseline(ds, method, seed)
                    recs.append(rec)
                print(
                    f"| {fn_name} | {n:,} | {method} | {np.mean([r['r2'] for r in recs]):.4f} | "
                    f"{statistics.median(r['train_time_s'] for r in recs):.3f} | "
                    f"{np.mean([r['train_peak_mb'] for r in recs]):.2f} |",
                    flush=True,
                )


def plain_train(Xt, yt, batch_size: int | None, epochs: int, lr: float, cosine: bool, seed: int):
    """A plain reference loop on standardised tensors: DataLoader, autograd,
    torch.optim.Adam (optionally a per-step cosine schedule), a per-step .item().
    Returns the model and the loop's seconds."""
    from torch.utils.data import DataLoader, TensorDataset

    torch.manual_seed(seed)
    loader = DataLoader(TensorDataset(Xt, yt), batch_size=batch_size or len(Xt), shuffle=True)
    model = build_mlp(5, (64, 32), "relu")
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = (
        torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs * len(loader))
        if cosine
        else None
    )
    loss_fn = torch.nn.MSELoss()
    t0 = time.perf_counter()
    for _ in range(epochs):
        running = 0.0
        for xb, yb in loader:
            opt.zero_grad()
            loss = loss_fn(model(xb), yb)
            loss.backward()
            opt.step()
            if sched is not None:
                sched.step()
            running += loss.item() * len(xb)
    return model, time.perf_counter() - t0


def _standardised(X, y, mx, sx, my, sy):
    Xt = torch.as_tensor((X - mx) / sx, dtype=torch.float32)
    yt = torch.as_tensor((y - my) / sy, dtype=torch.float32).reshape(-1, 1)
    return Xt, yt


def plain_loop(X: np.ndarray, y: np.ndarray, batch_size: int | None, epochs: int, seed: int):
    """Seconds of the plain loop with the seed study's optimiser (Adam, lr 1e-3)."""
    Xt, yt = _standardised(X, y, X.mean(0), X.std(0), y.mean(), y.std())
    return plain_train(Xt, yt, batch_size, epochs, 1e-3, False, seed)[1]


def plain_reference(ds: Dataset, seed: int, epochs: int = 100) -> dict[str, float]:
    """The plain PyTorch recipe the issue names for scale: batches of 512, Adam lr 1e-2
    with a per-step cosine schedule; the same split and standardisation as the rest."""
    tr, _, te = split_indices(len(ds), seed=seed)
    stats = ds.X[tr].mean(0), ds.X[tr].std(0), ds.y[tr].mean(), ds.y[tr].std()
    model, train_time = plain_train(
        *_standardised(ds.X[tr], ds.y[tr], *stats), 512, epochs, 1e-2, True, seed
    )
    xte, _ = _standardised(ds.X[te], ds.y[te], *stats)
    with torch.inference_mode():
        pred = model(xte).squeeze(1).double().numpy() * stats[3] + stats[2]
    return {
        "r2": r2_score(ds.y[te], pred),
        "train_time_s": train_time,
        "train_peak_mb": float("nan"),
    }


def ours(X, y, batch_size, epochs, seed):
    recipe = {"batch_size": batch_size, "epochs": epochs, "val_every": epochs}
    est = Interpolator(recipe, seed=seed, threads=1).fit(X, y)
    return est.result_.train_time_s


def loop_efficiency(repeats: int) -> None:
    print("\n## 2. Loop efficiency (synthetic5d, n = 10,000: 7,000 training rows)\n")
    X, y, _ = get_function("synthetic5d").sample(10000, 42)
    tr, _, _ = split_indices(10000, seed=42)
    X, y = X[tr], y[tr]
    print("| loop | batch | epochs | median s | s per epoch | plain / interp5d |")
    print("|---|---|---|---|---|---|")
    for batch, epochs in ((64, 5), (None, 100)):
        times = {"plain": [], "interp5d": []}
        for _ in range(repeats):  # interleaved, so drift hits both alike
            times["plain"].append(plain_loop(X, y, batch, epochs, 0))
            times["interp5d"].append(ours(X, y, batch, epochs, 0))
        med = {k: statistics.median(v) for k, v in times.items()}
        for k in ("plain", "interp5d"):
            ratio = f"{med['plain'] / med['interp5d']:.2f}×" if k == "interp5d" else ""
            print(
                f"| {k} | {batch or 'full'} | {epochs} | {med[k]:.3f} | "
                f"{med[k] / epochs:.4f} | {ratio} |",
                flush=True,
            )


def _memory_run(recipe, n: int) -> tuple[float, float]:
    torch.set_num_threads(1)
    X, y, f = get_function("synthetic5d").sample(n, 42)
    rec, _ = run_experiment(Dataset(X, y, f), recipe, 42, latency_repeats=3, throughput_points=1000)
    return rec["train_peak_mb"], rec["train_estimate_mb"]


def memory(sizes) -> None:
    print("\n## 3. Training-loop peak memory above baseline (MB), each in a fresh process\n")
    print("| recipe | n | measured | analytic estimate | measured / estimate |")
    print("|---|---|---|---|---|")
    short_tuned = {"batch_size": 256, "lr": 0.01, "epochs": 3, "schedule": "cosine"}
    # a fresh interpreter per run, as in the workflow: a long-lived process's heap (after
    # the RBF's 400 MB matrices, say) serves and keeps pages differently
    ctx = multiprocessing.get_context("spawn")
    for label, recipe in (("mini-batch 256", short_tuned), ("full batch (seed)", "seed")):
        for n in sizes:
            with ProcessPoolExecutor(max_workers=1, mp_context=ctx) as pool:
                measured, estimate = pool.submit(_memory_run, recipe, n).result()
            print(
                f"| {label} | {n:,} | {measured:.2f} | {estimate:.2f} | "
                f"{measured / estimate:.2f} |",
                flush=True,
            )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="one seed, synthetic5d only")
    args = ap.parse_args()
    torch.set_num_threads(1)
    functions = ["synthetic5d"] if args.quick else ["synthetic5d", "friedman1", "styblinski_tang"]
    seeds = [42] if args.quick else [42, 43, 44]
    print(
        f"# interp5d comparison; CPU: {cpu_model()}; 1 torch/BLAS thread; "
        f"seeds {seeds}; torch {torch.__version__}"
    )
    t0 = time.perf_counter()
    with threadpool_limits(1):
        comparison(functions, [1000, 5000, 10000], seeds)
        loop_efficiency(repeats=3 if args.quick else 5)
        memory([1000, 10000, 100000])
    print(f"\n(benchmark wall time {time.perf_counter() - t0:.0f} s)")


if __name__ == "__main__":
    main()
