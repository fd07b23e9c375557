"""Command line: train a model on a dataset file, or predict new points with a saved model.

python -m interp5d fit --data data.csv --out model.pt
python -m interp5d predict --model model.pt --points points.csv --out predictions.csv
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time

from .data import DataError, load_dataset, split_indices
from .metrics import regression_metrics
from .recipes import RECIPES


def _fit(args: argparse.Namespace) -> int:
    from .interpolator import Interpolator

    ds = load_dataset(
        args.data,
        feature_columns=args.feature_columns,
        target_column=args.target_column,
        allow_pickle=args.allow_pickle,
        drop_nonfinite=args.drop_nonfinite,
    )
    tr, va, te = split_indices(len(ds), tuple(args.split), args.seed)
    est = Interpolator(
        recipe=args.recipe, seed=args.seed, threads=args.threads, log_every_s=args.log_every
    )
    if args.members != 1:
        est.set_params(recipe__members=args.members)
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
        "members": len(est.members_),
        "epochs_run": est.result_.epochs_run,
        "fit_time_s": round(fit_time, 4),
        "test": {k: round(v, 6) for k, v in metrics.items()},
    }
    print(json.dumps(report, indent=2))
    return 0 if est.status_ != "diverged" else 3


def _predict(args: argparse.Namespace) -> int:
    from .predict import predict_file

    out = args.out or sys.stdout
    frame = predict_file(args.model, args.points, out)
    n_out = int(frame["out_of_range"].sum())
    if n_out:
        print(
            f"note: {n_out} of {len(frame)} point(s) lie outside the training range "
            "(flagged in column out_of_range)",
            file=sys.stderr,
        )
    return 0


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
        default="tuned",
        choices=sorted(RECIPES),
        help="training recipe: 'tuned' (default, trained well) or 'seed' (the seed study's)",
    )
    fit.add_argument("--seed", type=int, default=42, help="seed of the split and initialisation")
    fit.add_argument(
        "--members",
        type=int,
        default=1,
        metavar="N",
        help="train an ensemble of N networks (seeds seed .. seed+N-1): its std then holds "
        "their spread beside the validation residual (default 1: the residual alone)",
    )
    fit.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
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
        "the ensemble's spread, if any, plus the residual variance on the validation split), "
        "out_of_range (True where a point lies outside the box of the training inputs: an "
        "extrapolation).",
    )
    pred.add_argument("--model", required=True, help="a model saved by `fit` or by the workflow")
    pred.add_argument("--points", required=True, help="query points: .npz or .csv")
    pred.add_argument("--out", help="output CSV (default: standard output)")
    pred.set_defaults(run=_predict)
    return ap


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    try:
        return args.run(args)
    except (DataError, FileNotFoundError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
