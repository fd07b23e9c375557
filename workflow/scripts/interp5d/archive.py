"""The run archive: a small, immutable record of each completed study, and finding runs by
name (`last`, `previous`, an archive's folder name, or any results folder)."""

from __future__ import annotations

import hashlib
import json
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

# what a record holds: the tables, the effective config and the environment
RECORD_FILES = (
    "summary.csv",
    "summary_by_size.csv",
    "summary.md",
    "targets_by_size.csv",
    "config.json",
    "environment.json",
)
REQUIRED = ("summary.csv", "summary_by_size.csv", "config.json", "environment.json")


def config_hash(config: dict[str, Any]) -> str:
    """A short hash of the effective config (canonical JSON)."""
    text = json.dumps(config, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:8]


def _digest(folder: Path) -> dict[str, str]:
    return {
        name: hashlib.sha256((folder / name).read_bytes()).hexdigest()
        for name in RECORD_FILES
        if (folder / name).is_file()
    }


def archives(root: str | Path) -> list[Path]:
    """The archived runs under root, oldest first (their names begin with the time)."""
    root = Path(root)
    if not root.is_dir():
        return []
    return sorted(p for p in root.iterdir() if (p / "manifest.json").is_file())


def archive_run(results: str | Path, root: str | Path | None = None) -> Path | None:
    """Archive the study in `results` under root (default results/archive) as
    <UTC time to the microsecond>_<commit>_<config hash>/, read-only, unless its tables
    equal the last archive's (a run that changed nothing leaves no new record). Returns
    the new folder, or None when nothing was archived (nor when the tables are missing)."""
    results = Path(results)
    root = Path(root) if root is not None else results / "archive"
    if not all((results / f).is_file() for f in REQUIRED):
        return None
    digest = _digest(results)
    previous = archives(root)
    if previous:
        last = json.loads((previous[-1] / "manifest.json").read_text())
        if last["files"] == digest:
            return None
    config = json.loads((results / "config.json").read_text())
    env = json.loads((results / "environment.json").read_text())
    commit = (env.get("git_commit") or "nocommit")[:10]
    # to the microsecond, so that names sort as the runs were made and do not collide
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
    folder = root / f"{stamp}_{commit}_{config_hash(config)}"
    folder.mkdir(parents=True)
    for name in digest:
        shutil.copy2(results / name, folder / name)
    manifest = {"created_utc": stamp, "source": str(results), "files": digest}
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    for path in folder.iterdir():
        path.chmod(0o444)
    folder.chmod(0o555)
    return folder


def resolve_run(name: str | Path, root: str | Path = "results/archive") -> Path:
    """A run by name: `last` or `previous` (the newest archived run and the one before),
    an archive folder's name (or a unique start of it) under root, or a folder path."""
    path = Path(name)
    if path.is_dir():
        return path
    runs = archives(root)
    if name in ("last", "previous"):
        k = 1 if name == "last" else 2
        if len(runs) < k:
            raise FileNotFoundError(
                f"{name!r}: {root} holds {len(runs)} archived run(s); a completed study "
                "leaves one each time its tables change"
            )
        return runs[-k]
    matches = [p for p in runs if p.name.startswith(str(name))]
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise FileNotFoundError(f"{name!r} matches {len(matches)} archived runs: be more precise")
    raise FileNotFoundError(
        f"{name!r}: no such folder, and no archived run under {root} of that name"
    )
