"""What one recipe key buys: the tuned recipe as it ships against the same recipe with that
key changed, side by side (by default `ema_decay` 0.9, the moving average of the weights,
against 0, the weights themselves; `--key init_scale --values 3 1` for the first layer's
steeper start against PyTorch's initialisation; `--key engine --values native fast` for the
compiled step against the same step in PyTorch ops).

For each size and seed, every value fits the same data (synthetic5d by default, split
70/15/15, one torch thread) without stopping at a target, so every curve runs to the end of
the step budget; a quality monitor records when the validation R² first reaches each level.
The table gives, per size and level, the median number of validations (every 50 steps) and
of fit seconds to reach it, how many runs did, the end test R² and the loop's median
microseconds per step (validations included). Runs alternate between the values after an
untimed warm-up fit, so drift hits all alike. Nothing else should run meanwhile.

    .venv/bin/python benchmarks/recipe_key.py [--key ema_decay --values 0.9 0]
        [--n 10000 ...] [--seeds 42 43 44 100 101 102]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "workflow" / "scripts"))

import numpy as np
from interp5d import MLPInterpolator, get_function, split_indices
from interp5d.bench.provenance import cpu_model
from interp5d.bench.quality import QualityMonitor, Target
from interp5d.recipes import RECIPES


def fit(X, y, tr, va, te, seed: int, key: str, value, levels: list[float]) -> dict:
    """One fit: validations and seconds to each level (None: never), and the end test R²."""
    est = MLPInterpolator("tuned", seed=seed, threads=1)
    est.set_params(recipe__stop_at_target=False, **{f"recipe__{key}": value})
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


def label(key: str, value: float | str) -> str:
    shipped = getattr(RECIPES["tuned"], key) == value
    text = f"{value:g}" if isinstance(value, float | int) else value
    return f"{key} {text}" + (" (shipped)" if shipped else "")


def typed(key: str, values: list[str]) -> list[float | str]:
    """The values as the tuned recipe's key holds them: numbers, or names (`engine`)."""
    if isinstance(getattr(RECIPES["tuned"], key), str):
        return values
    return [float(v) for v in values]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--key", default="ema_decay", help="a key of the tuned recipe")
    ap.add_argument("--values", nargs="+", default=["0.9", "0"])
    ap.add_argument("--function", default="synthetic5d")
    ap.add_argument("--n", type=int, nargs="+", default=[10000])
    ap.add_argument("--seeds", type=int, nargs="+", default=[42, 43, 44, 100, 101, 102])
    ap.add_argument("--levels", type=float, nargs="+", default=[0.99, 0.997, 0.998, 0.999])
    args = ap.parse_args()
    if not hasattr(RECIPES["tuned"], args.key):
        ap.error(f"--key: the tuned recipe has no key {args.key!r}")
    try:
        args.values = typed(args.key, args.values)
    except ValueError as e:
        ap.error(f"--values: {e}")
    fn = get_function(args.function)
    t0 = time.perf_counter()
    runs: dict[tuple[int, float], list[dict]] = {}
    for n in args.n:
        for k, seed in enumerate(args.seeds):
            X, y, _ = fn.sample(n, seed)
            tr, va, te = split_indices(n, seed=seed)
            if k == 0:  # the first fit of a size pays for first-seen shapes: untimed
                for value in args.values:  # each (the engines' kernels differ)
                    fit(X, y, tr, va, te, seed, args.key, value, args.levels)
            for value in args.values:
                r = fit(X, y, tr, va, te, seed, args.key, value, args.levels)
                runs.setdefault((n, value), []).append(r)
    print(
        f"# One recipe key, `{args.key}`: {fn.name}, the tuned recipe without the stop at "
        f"target, seeds {args.seeds}, 1 torch thread; CPU: {cpu_model()}\n"
    )
    print("| n | validation R² | recipe | reached | median validations | median fit s |")
    print("|---|---|---|---|---|---|")
    for n in args.n:
        for v in args.levels:
            for value in args.values:
                hits = [r[v] for r in runs[n, value]]
                n_hit = sum(h is not None for h in hits)
                print(
                    f"| {n:,} | {v:g} | {label(args.key, value)} | {n_hit} of {len(hits)} "
                    f"| {median_of(hits, 0)} | {median_of(hits, 1)} |"
                )
    print("\n| n | recipe | end test R² mean ± std | median µs per step |")
    print("|---|---|---|---|")
    for (n, value), rs in runs.items():  # size by size, the values in the order given
        r2 = np.array([r["r2"] for r in rs])
        step_us = statistics.median(r["step_us"] for r in rs)
        r2_text = f"{r2.mean():.5f} ± {r2.std():.5f}"
        print(f"| {n:,} | {label(args.key, value)} | {r2_text} | {step_us:.0f} |")
    print(f"\n(benchmark wall time {time.perf_counter() - t0:.0f} s)")


if __name__ == "__main__":
    main()
