"""Run a study from an empty results/ and copy it into docs/reference/<study>/ with its
provenance (commit, date, machine, wall time): `tools/reference.py default scaling`.

Run it on a quiet machine, one study at a time (it runs them in turn): the wall time and
every timing in the tables are measured. The working tree must be clean, so that the
commit in provenance.json is the code that made the tables and figures.
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("studies", nargs="+", choices=STUDIES)
    parser.add_argument("--cores", type=int, default=2)
    args = parser.parse_args(argv)
    if git("status", "--porcelain", "--untracked-files=no"):
        print("reference: the working tree has changes; commit them first", file=sys.stderr)
        return 2
    commit = git("rev-parse", "HEAD")  # taken once: the tree must not move while they run
    for study in args.studies:
        run_study(study, args.cores, commit)
    return 0


if __name__ == "__main__":
    sys.exit(main())
