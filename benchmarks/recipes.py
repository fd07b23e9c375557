"""Benchmark of the shipped recipes: R², training time and peak memory per recipe and size.

Each cell is the mean (time: median) over seeds of one run of the one runner
(interp5d.bench.runner.profile_run): data drawn
with the seed, split 70/15/15, trained with one torch thread, profiled as in the workflow,
each run in a fresh process as a workflow job is (a long-lived process's heap history
would show in the memory columns). One run at a time; nothing else should run meanwhile.

    .venv/bin/python benchmarks/recipes.py [--function synthetic5d] [--seeds 42 43 44]
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
from interp5d import Dataset, MLPInterpolator, get_function, profile_run
from interp5d.bench.provenance import cpu_model

SEED_STUDY_R2 = {1000: 0.422, 5000: 0.543, 10000: 0.569}


def one_run(function: str, recipe: str, n: int, seed: int) -> dict:
    fn = get_function(function)
    X, y, f = fn.sample(n, seed)
    est = MLPInterpolator(recipe, seed=seed, threads=1)
    rec, _ = profile_run(Dataset(X, y, f), est, seed, threads=1, loop_memory=True)
    return rec


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--function", default="synthetic5d")
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 5000, 10000])
    ap.add_argument("--seeds", type=int, nargs="+", default=[42, 43, 44])
    ap.add_argument("--recipes", nargs="+", default=["seed", "tuned"])
    ap.add_argument(
        "--spread-seeds",
        type=int,
        default=20,
        help="also report the seed recipe's R² over this many seeds (0: skip)",
    )
    args = ap.parse_args()
    fn = get_function(args.function)
    print(f"# {fn.name}, 1 torch thread, seeds {args.seeds}, CPU: {cpu_model()}")
    print(
        "| recipe | n | R² mean ± std | oracle R² | fit s (median) | loop s (median) | epochs | "
        "loop peak MB | its buffers MB | predict peak MB |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    t0 = time.perf_counter()
    ctx = multiprocessing.get_context("spawn")
    for recipe in args.recipes:
        for n in args.sizes:
            recs = []
            for seed in args.seeds:
                with ProcessPoolExecutor(max_workers=1, mp_context=ctx) as pool:
                    recs.append(pool.submit(one_run, fn.name, recipe, n, seed).result())
            r2 = np.array([r["r2"] for r in recs])
            print(
                f"| {recipe} | {n:,} | {r2.mean():.4f} ± {r2.std(ddof=1):.4f} | "
                f"{np.mean([r['oracle_r2'] for r in recs]):.4f} | "
                f"{statistics.median(r['fit_time_s'] for r in recs):.3f} | "
                f"{statistics.median(r['loop_time_s'] for r in recs):.3f} | "
                f"{statistics.median(r['epochs_run'] for r in recs):.0f} | "
                f"{np.mean([r['loop_peak_mb'] for r in recs]):.2f} | "
                f"{np.mean([r['loop_estimate_mb'] for r in recs]):.2f} | "
                f"{np.mean([r['predict_peak_mb'] for r in recs]):.3f} |",
                flush=True,
            )
    if args.spread_seeds and "seed" in args.recipes:
        from interp5d import MLPInterpolator, split_indices

        print(f"\n# seed recipe over {args.spread_seeds} seeds (42..): its R² varies a lot by seed")
        print("| n | mean R² | median | min | max | seed study (one run) |")
        print("|---|---|---|---|---|---|")
        for n in args.sizes:
            r2s = []
            for seed in range(42, 42 + args.spread_seeds):
                X, y, _ = fn.sample(n, seed)
                tr, va, te = split_indices(n, seed=seed)
                est = MLPInterpolator("seed", seed=seed, threads=1).fit(X[tr], y[tr], X[va], y[va])
                r2s.append(est.score(X[te], y[te]))
            r2s = np.array(r2s)
            print(
                f"| {n:,} | {r2s.mean():.3f} | {np.median(r2s):.3f} | {r2s.min():.3f} | "
                f"{r2s.max():.3f} | {SEED_STUDY_R2.get(n, float('nan')):.3f} |"
            )
    print(f"\n(benchmark wall time {time.perf_counter() - t0:.0f} s)")


if __name__ == "__main__":
    main()
