"""What the moving average of the weights buys: the tuned recipe with `ema_decay` 0.9 (as it
ships) against the same recipe validating its weights themselves (`ema_decay` 0), side by side.

For each seed, both fit the same data (synthetic5d by default, split 70/15/15, one torch
thread) without stopping at a target, so both curves run to the end of the step budget; a
quality monitor records when the validation R² first reaches each level. The table gives,
per level, the median number of validations (every 50 steps) and of fit seconds to reach it,
how many runs did, the end test R² and the loop's median microseconds per step (validations
included: the average costs one more kernel a step). Runs alternate (average, iterate,
average, ...) after an untimed warm-up fit, so drift hits both alike. Nothing else should
run meanwhile.

    .venv/bin/python benchmarks/average.py [--n 10000] [--seeds 42 43 44 100 101 102]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "workflow" / "scripts"))

import numpy as np
from interp5d import Interpolator, get_function, split_indices
from interp5d.provenance import cpu_model
from interp5d.quality import QualityMonitor, Target

VARIANTS = {"average (0.9)": 0.9, "iterate (0)": 0.0}


def fit(X, y, tr, va, te, seed: int, ema_decay: float, levels: list[float]) -> dict:
    """One fit: validations and seconds to each level (None: never), and the end test R²."""
    est = Interpolator("tuned", seed=seed, threads=1)
    est.set_params(recipe__stop_at_target=False, recipe__ema_decay=ema_decay)
    monitor = QualityMonitor([Target(f"{v:g}", v) for v in levels])
    monitor.start()
    est.fit(X[tr], y[tr], X[va], y[va], monitor=monitor)
    times = [t for t, _ in monitor.curve]
    res = est.result_
    out = {"r2": est.score(X[te], y[te]), "step_us": res.loop_time_s / res.steps_run * 1e6}
    for v in levels:
        hit = monitor.reached.get(f"{v:g}")
        out[v] = None if hit is None else (times.index(hit.elapsed_s) + 1, hit.elapsed_s)
    return out


def median_of(hits: list, i: int) -> str:
    reached = [h[i] for h in hits if h is not None]
    if not reached:
        return "never"
    m = statistics.median(reached)
    return f"{m:.3f}" if i else f"{m:g}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--function", default="synthetic5d")
    ap.add_argument("--n", type=int, default=10000)
    ap.add_argument("--seeds", type=int, nargs="+", default=[42, 43, 44, 100, 101, 102])
    ap.add_argument("--levels", type=float, nargs="+", default=[0.99, 0.997, 0.998, 0.999])
    args = ap.parse_args()
    fn = get_function(args.function)
    t0 = time.perf_counter()
    runs: dict[str, list[dict]] = {name: [] for name in VARIANTS}
    for k, seed in enumerate(args.seeds):
        X, y, _ = fn.sample(args.n, seed)
        tr, va, te = split_indices(args.n, seed=seed)
        if k == 0:  # the first fit of a process pays for first-seen shapes: untimed
            fit(X, y, tr, va, te, seed, 0.9, args.levels)
        for name, decay in VARIANTS.items():
            runs[name].append(fit(X, y, tr, va, te, seed, decay, args.levels))
    print(
        f"# Moving average of the weights: {fn.name}, n = {args.n:,}, tuned recipe without the "
        f"stop at target, seeds {args.seeds}, 1 torch thread; CPU: {cpu_model()}\n"
    )
    print("| validation R² | weights validated | reached | median validations | median fit s |")
    print("|---|---|---|---|---|")
    for v in args.levels:
        for name, rs in runs.items():
            hits = [r[v] for r in rs]
            n_hit = sum(h is not None for h in hits)
            print(
                f"| {v:g} | {name} | {n_hit} of {len(hits)} | {median_of(hits, 0)} "
                f"| {median_of(hits, 1)} |"
            )
    print("\n| weights validated | end test R² mean ± std | median µs per step |")
    print("|---|---|---|")
    for name, rs in runs.items():
        r2 = np.array([r["r2"] for r in rs])
        step_us = statistics.median(r["step_us"] for r in rs)
        print(f"| {name} | {r2.mean():.5f} ± {r2.std():.5f} | {step_us:.0f} |")
    print(f"\n(benchmark wall time {time.perf_counter() - t0:.0f} s)")


if __name__ == "__main__":
    main()
