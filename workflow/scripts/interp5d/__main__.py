"""Command line: train a model on a dataset file, predict new points with a saved model,
compare two runs of the study, verify a run against a reference.

python -m interp5d fit --data data.csv --out model.pt
python -m interp5d predict --model model.pt --points points.csv --out predictions.csv
python -m interp5d compare previous last --fail-r2-drop 0.001
python -m interp5d verify results docs/reference/default
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import sys
import time
from pathlib import Path

from interp5d.data import DataError, load_dataset, split_indices
from interp5d.jsonio import json_safe
from interp5d.metrics import regression_metrics
from interp5d.recipes import RECIPES


def _count(minimum: int):
    """An argparse type: an integer >= minimum (argparse names the option in its error)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be >= {minimum}, got {value}")
        return value

    return parse


def _writable(path: str, option: str) -> None:
    """Refuse an output path that cannot be written, before any work."""
    folder = Path(path).resolve().parent
    if Path(path).is_dir():
        raise DataError(f"{option} {path}: is a folder; give a file name")
    if not folder.is_dir():
        raise DataError(f"{option} {path}: the folder {folder} does not exist")
    if not os.access(folder, os.W_OK):
        raise DataError(f"{option} {path}: the folder {folder} is not writable")


def _fit(args: argparse.Namespace) -> int:
    from interp5d.auto import Interpolator
    from interp5d.interpolator import MLPInterpolator

    _writable(args.out, "--out")
    ds = load_dataset(
        args.data,
        feature_columns=args.feature_columns,
        target_column=args.target_column,
        allow_pickle=args.allow_pickle,
        drop_nonfinite=args.drop_nonfinite,
    )
    tr, va, te = split_indices(len(ds), tuple(args.split), args.seed)
    recipe = "tuned" if args.recipe == "auto" else args.recipe
    if args.members != 1:
        recipe = {**RECIPES[recipe].to_dict(), "members": args.members}
    # auto: the default interpolator (a GP or the MLP, by validation); a recipe: the MLP
    cls = Interpolator if args.recipe == "auto" else MLPInterpolator
    est = cls(recipe=recipe, seed=args.seed, threads=args.threads, log_every_s=args.log_every)
    t0 = time.perf_counter()
    # a CSV's named columns are fitted as a table: the model keeps and checks the names
    est.fit(ds.features(tr), ds.target(tr), ds.features(va), ds.target(va))
    fit_time = time.perf_counter() - t0
    metrics = regression_metrics(ds.y[te], est.predict(ds.X[te]))
    est.save(args.out)
    report = {
        "model": str(args.out),
        "rows": {"train": len(tr), "val": len(va), "test": len(te)},
        "status": est.status_,
        "features": est.feature_names,
        "target": est.target_name_,
        **_fitted_summary(est),
        "fit_time_s": round(fit_time, 4),
        "test": {k: round(v, 6) for k, v in metrics.items()},
    }
    if math.isnan(metrics["r2"]):
        # R² divides by the test targets' variance: undefined, so null (NaN is not JSON)
        print(
            f"note: the {len(te)} test targets are all equal, so R² is undefined (null)",
            file=sys.stderr,
        )
    # strict JSON: a NaN or inf (R² undefined, an overflowing error) is written as null
    print(json.dumps(json_safe(report), indent=2, allow_nan=False))
    return 0 if est.status_ != "diverged" else 3


def _fitted_summary(est) -> dict:
    """What the fit report says of the model: the default's choice (every candidate's
    validation MSE; what the GP's screen found, where it ran), an MLP's networks and
    epochs."""
    if est.name == "auto":
        keys = ("chosen", "why", "val_mse", "val_se", "screen", "gp_length_cv", "gp_copied_rows")
        out = {k: est.choice_.get(k) for k in keys}
        mlp = [p for p in est.parts_ if p.name == "mlp"]
        if not mlp:
            return out
        est = mlp[0]
    else:
        out = {}
    return {**out, "members": len(est.members_), "epochs_run": est.result_.epochs_run}


def _predict(args: argparse.Namespace) -> int:
    from interp5d.predict import nonfinite_note, predict_file

    if args.out:
        _writable(args.out, "--out")
    out = args.out or sys.stdout
    frame = predict_file(args.model, args.points, out)
    note = nonfinite_note(frame, args.points)
    if note:
        print(f"warning: {note}", file=sys.stderr)
    n_out = int(frame["out_of_range"].sum())
    if n_out:
        print(
            f"note: {n_out} of {len(frame)} point(s) lie outside the training range "
            "(flagged in column out_of_range)",
            file=sys.stderr,
        )
    return 0


def _compare(args: argparse.Namespace) -> int:
    from interp5d.repro.archive import resolve_run
    from interp5d.repro.compare import Run, regressions, report

    a, b = (Run.read(resolve_run(x, args.archive)) for x in (args.a, args.b))
    text, table = report(a, b, noise=args.time_noise)
    print(text, end="")
    worse = regressions(table, args.fail_r2_drop, args.fail_time_ratio)
    if worse:
        print("\n## Regressions past the thresholds\n")
        print("\n".join(f"- {w}" for w in worse))
        return 1
    return 0


def _verify(args: argparse.Namespace) -> int:
    from interp5d.repro.archive import resolve_run
    from interp5d.repro.compare import Run, verify

    text, ok = verify(
        Run.read(resolve_run(args.subject, args.archive)),
        Run.read(resolve_run(args.reference, args.archive)),
        tolerance=args.tolerance,
    )
    print(text, end="")
    return 0 if ok else 1


def _results(args: argparse.Namespace) -> int:
    from interp5d.report.results import write

    ref = Path(args.reference)
    if not ref.is_dir():
        raise FileNotFoundError(f"{ref}: no such folder of reference runs")
    stale = write(ref, Path(args.out), Path(args.readme), check=args.check)
    for path in stale:
        if args.check:
            print(f"{path}: not what `results {ref}` writes (run it without --check)")
        else:
            print(f"wrote {path}")
    return 1 if args.check and stale else 0


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="python -m interp5d",
        description="A 5-D neural-network interpolator: train on a dataset file, "
        "predict new points.",
    )
    sub = ap.add_subparsers(dest="command", required=True)

    fit = sub.add_parser(
        "fit",
        help="train one model on a dataset file and save it",
        description="Train on a dataset file (.npz with X and y; .csv with a header row; "
        ".pkl/.pickle dict with 'X' (n,5) and 'y' (n,) only with --allow-pickle). The rows are "
        "split into train/validation/test; the test metrics are printed as JSON.",
    )
    fit.add_argument("--data", required=True, help="dataset file: .npz, .csv, or .pkl/.pickle")
    fit.add_argument("--out", required=True, help="where to save the model (.pt)")
    fit.add_argument(
        "--recipe",
        default="auto",
        choices=["auto", *sorted(RECIPES)],
        help="'auto' (default: a Gaussian process, the tuned MLP or their mean, by validation "
        "MSE), or the MLP alone by its recipe: 'tuned' (trained well) or 'seed' "
        "(the seed study's)",
    )
    fit.add_argument(
        "--seed", type=_count(0), default=42, help="seed of the split and initialisation"
    )
    fit.add_argument(
        "--members",
        type=_count(1),
        default=1,
        metavar="N",
        help="train an ensemble of N networks (seeds seed .. seed+N-1): its std then holds "
        "their spread beside the validation residual (default 1: the residual alone)",
    )
    fit.add_argument("--threads", type=_count(1), default=1, help="torch threads (default 1)")
    fit.add_argument(
        "--split",
        type=float,
        nargs=3,
        default=[0.7, 0.15, 0.15],
        metavar=("TRAIN", "VAL", "TEST"),
        help="fractions of rows for train, validation and test (sum 1; default 0.7 0.15 0.15)",
    )
    fit.add_argument(
        "--feature-columns",
        nargs=5,
        metavar="COL",
        help="CSV: the five feature columns (default: every column but the target)",
    )
    fit.add_argument(
        "--target-column", help="CSV: the target column (default: 'y' if present, else the last)"
    )
    fit.add_argument(
        "--allow-pickle",
        action="store_true",
        help="allow .pkl/.pickle files; unpickling runs code, so only for files you trust",
    )
    fit.add_argument(
        "--drop-nonfinite",
        action="store_true",
        help="drop rows with NaN/inf instead of stopping with an error",
    )
    fit.add_argument(
        "--log-every",
        type=float,
        default=None,
        metavar="SECONDS",
        help="print training progress to stderr at most this often",
    )
    fit.set_defaults(run=_fit)

    pred = sub.add_parser(
        "predict",
        help="predict new points with a saved model",
        description="Predict the points of a .npz (array X, shape (m, 5), taken in order) or "
        ".csv file (five numeric columns, header row). A model fitted on named columns matches "
        "a CSV's columns by name, in any order, and refuses other names. Writes CSV: the "
        "points, prediction, std (the predictive standard deviation of a new observation: "
        "the ensemble's spread, if any, plus the residual variance on the validation split; "
        "nan for a model fitted without one), out_of_range (True where a point lies outside "
        "the box of the training inputs: an extrapolation; a point too far out for the "
        "model's arithmetic is predicted as nan, with a warning).",
    )
    pred.add_argument("--model", required=True, help="a model saved by `fit` or by the workflow")
    pred.add_argument("--points", required=True, help="query points: .npz or .csv")
    pred.add_argument("--out", help="output CSV (default: standard output)")
    pred.set_defaults(run=_predict)

    cmp = sub.add_parser(
        "compare",
        help="compare two runs of the study: config, metrics, environment",
        description="Compare two runs of the study, A then B: each a results folder "
        "(results/), an archived run (a folder under results/archive/, or its name, or a "
        "unique start of it) or `last` / `previous` (the two newest archived runs). Prints "
        "Markdown: the effective configs' differences, each dataset × method × size's metric "
        "changes with a verdict (changed / ~ within noise / not comparable) weighing the "
        "seeds' spread, and the environments' differences. Exits 1 when a metric regresses "
        "past a threshold given here, else 0.",
    )
    cmp.add_argument("a", help="the earlier run (e.g. previous, or docs/reference/default)")
    cmp.add_argument("b", help="the later run (e.g. last, or results)")
    cmp.add_argument("--archive", default="results/archive", help="where runs are archived")
    cmp.add_argument(
        "--fail-r2-drop", type=float, metavar="D", help="exit 1 if an R² falls by more than D"
    )
    cmp.add_argument(
        "--fail-time-ratio",
        type=float,
        metavar="R",
        help="exit 1 if a fit takes more than R times as long",
    )
    cmp.add_argument(
        "--time-noise",
        type=float,
        default=0.3,
        metavar="F",
        help="run-to-run noise of time and memory: ratios within ±F count as ~ (default 0.3)",
    )
    cmp.set_defaults(run=_compare)

    ver = sub.add_parser(
        "verify",
        help="check a run against a reference (make verify: the default study against "
        "docs/reference/default)",
        description="Check that a run reproduces a reference: the same config; accuracy bit "
        "for bit when the platform (processor, its instruction sets, Python and package "
        "versions) is the same, else each size's mean R² within --tolerance or three "
        "standard errors of the seeds' spread; time and memory shown as ratios, not "
        "judged. Prints a PASS/FAIL table; exits 1 on a FAIL.",
    )
    ver.add_argument("subject", metavar="run", help="the run to check (e.g. results)")
    ver.add_argument("reference", help="the reference (e.g. docs/reference/default)")
    ver.add_argument("--archive", default="results/archive", help="where runs are archived")
    ver.add_argument(
        "--tolerance",
        type=float,
        default=0.005,
        help="across platforms: how far a mean R² may be from the reference's (0.005)",
    )
    ver.set_defaults(run=_verify)

    res = sub.add_parser(
        "results",
        help="write docs/results.md and the README's findings from the reference runs",
        description="Write the results page and the README's generated blocks (between "
        "their markers) from the reference runs in a folder: every number from their "
        "tables. With --check, write nothing and exit 1 if either file differs.",
    )
    res.add_argument("reference", help="the folder of reference runs (docs/reference)")
    res.add_argument("--out", default="docs/results.md", help="the results page to write")
    res.add_argument("--readme", default="README.md", help="the README whose blocks to fill")
    res.add_argument("--check", action="store_true", help="only say whether they are current")
    res.set_defaults(run=_results)
    return ap


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    try:
        return args.run(args)
    except (DataError, FileNotFoundError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        # the reader left (`... | head`): stop quietly, as a Unix filter does; stdout goes
        # to devnull so that Python's flush at exit does not raise again
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141  # 128 + SIGPIPE, as the shell reports a filter killed by it


if __name__ == "__main__":
    sys.exit(main())
