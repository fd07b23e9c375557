"""Every method through the one runner, side by side: accuracy, time, time to quality,
efficiency, and the training loop's memory.

1. method × size × function: test R² (mean over seeds), fit seconds (median; the whole fit
   call, the same for every method) and, for the recipes, the training loop's seconds
   inside it, the loop's FLOP rate as a fraction of this machine's roofline for its step
   shapes, and the fit's peak MB (mean), for the MLP recipes (`seed`, `tuned`, and
   `plain`: batches of 512, Adam lr 1e-2 with cosine decay, 100 epochs, through the plain
   autograd engine) and the baselines, on the same splits; every run through
   interp5d.bench.runner.profile_run, as a workflow job.
2. time to quality: for the same runs, the median fit seconds until the validation R²
   first reached each target (the study's default targets), with how many runs did.
3. memory: the recipes' training-loop peak from 1K to 100K samples (flat for mini-batches?)
   against what the loop allocates, counted from its buffers, each in a fresh process.

Section 1 runs in this process (its memory column can carry about 1 MB of the process's
heap history; section 2 measures in fresh processes). One torch/BLAS thread, one thing at
a time; nothing else should run meanwhile. The loop ablation is benchmarks/ablation.py.

    .venv/bin/python benchmarks/methods.py [--quick]
    .venv/bin/python benchmarks/methods.py --methods tuned --functions synthetic5d \
        --sizes 10000 1000000 --seeds 45 46 47 --no-memory   # seeds not tuned on
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
import pandas as pd
import torch
from interp5d import Dataset, build_method, get_function, profile_run
from interp5d.bench.provenance import cpu_model
from interp5d.bench.quality import TargetSpec
from interp5d.bench.roofline import roofline
from interp5d.bench.roofline_sizes import roofline_shapes
from interp5d.recipes import get_recipe
from interp5d.report.summary import roofline_of, target_rows, targets_by_size

TARGETS = TargetSpec(below_ceiling=(0.01, 0.002, 0.001, 0.0005))

PLAIN = {"batch_size": 512, "lr": 1e-2, "schedule": "cosine", "epochs": 100, "engine": "autograd"}
METHODS = {
    "tuned": {"class": "mlp", "settings": "tuned"},
    "seed": {"class": "mlp", "settings": "seed"},
    "plain": {"class": "mlp", "settings": PLAIN},
    "sklearn_mlp": {"class": "sklearn_mlp"},
    "rbf": {"class": "rbf"},
    "ols": {"class": "ols"},
}


def comparison(functions, sizes, seeds, methods) -> list[dict]:
    recipes = {
        k: get_recipe(METHODS[k]["settings"]) for k in methods if METHODS[k]["class"] == "mlp"
    }
    rates = roofline_of(
        {"roofline": roofline(roofline_shapes(recipes, [round(0.7 * n) for n in sizes]))}
    )
    print(
        "\n## 1. Method × size × function (R² mean over seeds; fit s and loop s median; loop "
        "efficiency: its GFLOP/s / this machine's roofline for its step shapes, median; fit "
        "peak MB mean, measured in this long-lived process)\n"
    )
    print("| function | n | method | R² | fit s | loop s | loop / roofline | fit peak MB |")
    print("|---|---|---|---|---|---|---|---|")
    records = []
    for fn_name in functions:
        fn = get_function(fn_name)
        for n in sizes:
            for name in methods:
                recs = []
                for seed in seeds:
                    X, y, f = fn.sample(n, seed)
                    rec, _ = profile_run(
                        Dataset(X, y, f),
                        build_method(METHODS[name], seed=seed),
                        seed,
                        throughput_points=10_000,
                        targets=TARGETS,
                    )
                    recs.append({**rec, "dataset": fn_name, "method": name, "kind": ""})
                records += recs
                loop = [r["loop_time_s"] for r in recs if r.get("loop_time_s") is not None]
                eff = [
                    r["loop_gflops_per_s"] / rates[key]
                    for r in recs
                    if (key := (tuple(r.get("widths") or ()), r.get("batch_rows"), 1)) in rates
                ]
                cells = [
                    f"{np.mean([r['r2'] for r in recs]):.4f}",
                    f"{statistics.median(r['fit_time_s'] for r in recs):.3f}",
                    f"{statistics.median(loop):.3f}" if loop else "",
                    f"{statistics.median(eff):.0%}" if eff else "",
                    f"{np.mean([r['train_peak_mb'] for r in recs]):.2f}",
                ]
                print(f"| {fn_name} | {n:,} | {name} | " + " | ".join(cells) + " |", flush=True)
    return records


def time_to_quality(records: list[dict]) -> None:
    stats = targets_by_size(target_rows(records))
    targets = list(dict.fromkeys(stats.sort_values("target_r2")["target"]))
    print(
        "\n## 2. Time to quality (median fit seconds until the validation R² first reached "
        "the target, k of n runs that did; targets below each function's noise ceiling)\n"
    )
    print("| function | n | method | " + " | ".join(targets) + " |")
    print("|---|---|---|" + "---|" * len(targets))
    for (fn, n, method), g in stats.groupby(["dataset", "n_samples", "method"], sort=False):
        cells = []
        for t in targets:
            row = g[g["target"] == t].iloc[0]
            median = f"{row['median_s']:.3f} s" if pd.notna(row["median_s"]) else "—"
            cells.append(f"{median} ({row['n_reached']}/{row['n_runs']})")
        print(f"| {fn} | {n:,} | {method} | " + " | ".join(cells) + " |", flush=True)


def _memory_run(recipe, n: int) -> tuple[float, float]:
    torch.set_num_threads(1)
    X, y, f = get_function("synthetic5d").sample(n, 42)
    est = build_method({"class": "mlp", "settings": recipe}, seed=42)
    rec, _ = profile_run(
        Dataset(X, y, f), est, 42, latency_repeats=3, throughput_points=1000, loop_memory=True
    )
    return rec["loop_peak_mb"], rec["loop_estimate_mb"]


def memory(sizes) -> None:
    print("\n## 3. Training-loop peak memory above baseline (MB), each in a fresh process\n")
    print("| recipe | n | measured | its buffers (counted) | measured / counted |")
    print("|---|---|---|---|---|")
    short_tuned = {"batch_size": 256, "lr": 0.01, "epochs": 3, "schedule": "cosine"}
    seed_recipe = {"epochs": 100}  # the seed protocol: full batch
    # a fresh interpreter per run, as in the workflow: a long-lived process's heap (after
    # the RBF's 400 MB matrices, say) serves and keeps pages differently
    ctx = multiprocessing.get_context("spawn")
    for label, recipe in (("mini-batch 256", short_tuned), ("full batch (seed)", seed_recipe)):
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
    ap.add_argument(
        "--functions", nargs="+", choices=["synthetic5d", "friedman1", "styblinski_tang"]
    )
    ap.add_argument("--sizes", nargs="+", type=int, default=[1000, 5000, 10000])
    ap.add_argument("--seeds", nargs="+", type=int)
    ap.add_argument("--methods", nargs="+", choices=list(METHODS), default=list(METHODS))
    ap.add_argument("--no-memory", action="store_true", help="without section 3")
    args = ap.parse_args()
    torch.set_num_threads(1)
    functions = args.functions or (
        ["synthetic5d"] if args.quick else ["synthetic5d", "friedman1", "styblinski_tang"]
    )
    seeds = args.seeds or ([42] if args.quick else [42, 43, 44])
    print(
        f"# interp5d comparison; CPU: {cpu_model()}; 1 torch/BLAS thread; "
        f"seeds {seeds}; torch {torch.__version__}"
    )
    t0 = time.perf_counter()
    time_to_quality(comparison(functions, args.sizes, seeds, args.methods))
    if not args.no_memory:
        memory([1000, 10000, 100000])
    print(f"\n(benchmark wall time {time.perf_counter() - t0:.0f} s)")


if __name__ == "__main__":
    main()
