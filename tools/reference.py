"""Run a study from an empty results/ and copy it into docs/reference/<study>/ with its
provenance (commit, date, machine, wall time): `tools/reference.py default scaling`.

Run it on a quiet machine, one study at a time (it runs them in turn): the wall time and
every timing in the tables are measured. The working tree must be clean, so that the
commit in provenance.json is the code that made the tables and figures.

`--figures-only` redraws a reference's figures from its shipped tables with the current
code, without rerunning it (a study too long to rerun); provenance.json records the commit
of the redrawing. The learning curves need the runs' own records, which a reference does not
keep, so a redrawn reference has none.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
STUDIES = ("default", "scaling", "baselines", "uncertainty", "sampling", "samples")
TABLES = (
    "summary.csv",
    "summary_by_size.csv",
    "summary.md",
    "targets.csv",
    "targets_by_size.csv",
    "samples_to_quality.csv",
    "which_method.csv",
    "environment.json",
    "config.json",
)


def git(*args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.strip()


def run_study(study: str, cores: int, commit: str) -> None:
    command = [str(REPO / ".venv/bin/snakemake"), "--cores", str(cores)]
    if study != "default":
        command += ["--configfile", f"config/{study}.yaml"]
    subprocess.run(["make", "-s", "clean"], cwd=REPO, check=True)
    start = time.perf_counter()
    subprocess.run(command, cwd=REPO, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    out = REPO / "docs/reference" / study
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    for name in TABLES:
        if (REPO / "results" / name).exists():
            shutil.copy2(REPO / "results" / name, out / name)
    for png in sorted((REPO / "figures").glob("*.png")):
        shutil.copy2(png, out / png.name)
    provenance = {
        "study": study,
        "command": " ".join(["snakemake", *command[1:]]),
        "commit": commit,
        "date_utc": datetime.now(UTC).strftime("%Y-%m-%d %H:%M"),
        "wall_s": round(wall, 1),
        "cores": cores,  # the machine itself is in environment.json
    }
    (out / "provenance.json").write_text(json.dumps(provenance, indent=2) + "\n")
    print(f"{study}: {wall:.0f} s -> {out.relative_to(REPO)}", flush=True)


def redraw_figures(study: str, commit: str) -> None:
    """The table-drawn figures of docs/reference/<study> again, from its shipped tables."""
    sys.path.insert(0, str(REPO / "workflow" / "scripts"))
    import pandas as pd
    from interp5d.report.plots import FIGURES, time_to_quality

    out = REPO / "docs/reference" / study
    stats = pd.read_csv(out / "summary_by_size.csv")
    dpi = json.loads((out / "config.json").read_text())["plots"]["dpi"]
    for name, draw in FIGURES.items():
        draw(stats, out / f"{name}.png", dpi=dpi)
    time_to_quality(
        pd.read_csv(out / "targets_by_size.csv"), out / "time_to_quality_vs_dataset_size.png", dpi
    )
    (out / "learning_curves.png").unlink(missing_ok=True)  # drawn by the run's code, not ours
    prov_file = out / "provenance.json"
    prov = json.loads(prov_file.read_text()) if prov_file.exists() else {"study": study}
    prov["figures_redrawn"] = {
        "commit": commit,
        "date_utc": datetime.now(UTC).strftime("%Y-%m-%d %H:%M"),
        "command": f"tools/reference.py --figures-only {study}",
    }
    prov_file.write_text(json.dumps(prov, indent=2) + "\n")
    print(f"{study}: figures redrawn -> {out.relative_to(REPO)}", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("studies", nargs="+", choices=STUDIES)
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument(
        "--figures-only", action="store_true", help="redraw the figures from the shipped tables"
    )
    args = parser.parse_args(argv)
    if git("status", "--porcelain", "--untracked-files=no"):
        print("reference: the working tree has changes; commit them first", file=sys.stderr)
        return 2
    commit = git("rev-parse", "HEAD")  # taken once: the tree must not move while they run
    for study in args.studies:
        if args.figures_only:
            redraw_figures(study, commit)
        else:
            run_study(study, args.cores, commit)
    return 0


if __name__ == "__main__":
    sys.exit(main())
