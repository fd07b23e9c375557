"""The runner's warm-up on small data against the warm-up on the run's own shapes, side by
side: each method's fit time under both, and the whole run's wall time.

The runner warms every method up with an untimed fit before the timed one, so that one-off
costs (imports, compiled kernels, the native step's library, thread pools) count in no
measured phase. On the run's own shapes that warm-up is a second fit: for a one-shot
method (an RBF, a GP) it doubles the run's cost. On small data (at most WARM_UP_ROWS rows a
split; an MLP, the fewest rows with every batch and chunk shape of its run) it is cheap for
every method alike. This checks that the fit times do not move:
for each method and size, each seed is run under both warm-ups, each run in a fresh
process (what the warm-up is for), the two in alternating order from seed to seed so that
drift hits both alike. The table gives the medians and the seeds' range of the fit time
under each, and the median wall time of a run (process start to end). Nothing else should
run meanwhile.

    .venv/bin/python benchmarks/warm_up.py [--function synthetic5d] [--n 3000]
        [--seeds 7 8 9] [--methods ...]

krg is left out by default: its size limit (250 training rows) is below WARM_UP_ROWS, so both
warm-ups are the same for it.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

SCRIPTS = Path(__file__).resolve().parents[1] / "workflow" / "scripts"
sys.path.insert(0, str(SCRIPTS))

from interp5d.bench.provenance import cpu_model  # noqa: E402
from interp5d.bench.runner import WARM_UP_ROWS  # noqa: E402

# the study's methods as the workflow builds them: the shipped recipes, the baselines'
# defaults
METHODS = {
    "tuned": {"class": "mlp", "settings": "tuned"},
    "seed": {"class": "mlp", "settings": "seed"},
    "ols": {"class": "ols"},
    "sklearn_mlp": {"class": "sklearn_mlp"},
    "rbf": {"class": "rbf"},
    "gp": {"class": "gp"},
}
POLICIES = {"run's shapes": None, f"at most {WARM_UP_ROWS} rows": WARM_UP_ROWS}

RUN = """
import json, sys
sys.path.insert(0, {scripts!r})
from interp5d.bench.runner import profile_run
from interp5d.data import Dataset
from interp5d.functions import get_function
from interp5d.methods import build_method
X, y, f = get_function({function!r}).sample({n}, {seed})
method = build_method({spec!r}, seed={seed}, threads=1)
rec, _ = profile_run(Dataset(X, y, f), method, {seed}, threads=1, throughput_points=0,
                     warm_up_rows={rows!r})
print(json.dumps({{"fit_time_s": rec["fit_time_s"], "r2": rec["r2"]}}))
"""


def one_run(method: str, function: str, n: int, seed: int, rows: int | None) -> dict:
    """One run in a fresh process: its fit time and R², and the process's wall time."""
    code = RUN.format(
        scripts=str(SCRIPTS), function=function, n=n, seed=seed, spec=METHODS[method], rows=rows
    )
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if out.returncode != 0:
        raise SystemExit(f"{method} n={n} seed {seed}: {out.stderr.strip().splitlines()[-1]}")
    return {**json.loads(out.stdout.strip().splitlines()[-1]), "wall_s": wall}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--function", default="synthetic5d")
    ap.add_argument("--n", type=int, default=3000, help="samples (2,100 training rows)")
    ap.add_argument("--seeds", type=int, nargs="+", default=[7, 8, 9])
    ap.add_argument("--methods", nargs="+", default=list(METHODS), choices=list(METHODS))
    args = ap.parse_args()
    t_start = time.perf_counter()
    rows = []
    for method in args.methods:
        runs = {name: [] for name in POLICIES}
        for i, seed in enumerate(args.seeds):
            order = list(POLICIES) if i % 2 == 0 else list(POLICIES)[::-1]
            for name in order:
                runs[name].append(one_run(method, args.function, args.n, seed, POLICIES[name]))
        fits = {name: [r["fit_time_s"] for r in runs[name]] for name in POLICIES}
        old, new = fits.values()
        overlap = max(min(old), min(new)) <= min(max(old), max(new))
        # the comparison's two cells, on the small warm-up's row alone
        verdict = {
            name: (
                ""
                if rows_ is None
                else f"×{statistics.median(new) / statistics.median(old):.2f} | "
                + ("yes" if overlap else "**no**")
            )
            for name, rows_ in POLICIES.items()
        }
        for name, fit in fits.items():
            wall = statistics.median(r["wall_s"] for r in runs[name])
            r2 = statistics.mean(r["r2"] for r in runs[name])
            cells = verdict[name] or " |"
            rows.append(
                f"| {method} | {args.n:,} | {name} | {statistics.median(fit):.3f} | "
                f"{min(fit):.3f}–{max(fit):.3f} | {wall:.1f} | {r2:.5f} | {cells} |"
            )
        print(rows[-2] + "\n" + rows[-1], file=sys.stderr, flush=True)
    print(
        f"# The warm-up on small data and on the run's shapes: {args.function}, seeds "
        f"{', '.join(map(str, args.seeds))}, one thread, {cpu_model()}\n\n"
        "| method | n | warm-up | fit s (median) | fit s (seeds' range) | run wall s (median) "
        "| mean test R² | fit median, small / shapes | seeds' ranges overlap |\n"
        "|---|---|---|---|---|---|---|---|---|\n" + "\n".join(rows) + "\n\n"
        "Each run in a fresh process; the two warm-ups alternate in order from seed to seed. "
        "The R² is the same under both (the warm-up fits a clone on random data). "
        f"Wall time of the benchmark: {time.perf_counter() - t_start:.0f} s."
    )


if __name__ == "__main__":
    main()
