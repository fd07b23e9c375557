"""The run archive: a small, immutable record of each completed study, and finding runs by
name (`last`, `previous`, an archive's folder name, or any results folder)."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import tempfile
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
# a record is built under a name of this start beside the records, and renamed into place
TEMP_PREFIX = ".tmp-"
# a record's name (see archive_run): what a half-written folder left by a kill is called
RECORD_NAME = re.compile(r"\d{8}T\d{6}\.\d{6}Z_.+_[0-9a-f]{8}")


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


def _remove(folder: Path) -> None:
    """Remove a folder that may be read-only, as records are made (its files can only be
    unlinked once the folder is writable again)."""
    for path in (folder, *folder.rglob("*")):
        if path.is_dir() and not path.is_symlink():
            path.chmod(0o755)
    shutil.rmtree(folder)


def remove_unfinished(root: Path) -> list[Path]:
    """Remove what an archiver cut off left under root: build folders (TEMP_PREFIX) and
    folders of a record's name without their manifest (an older archiver wrote in place).
    Anything else under root is not ours and is left alone. Returns what was removed."""
    removed = []
    for path in sorted(root.iterdir()) if root.is_dir() else []:
        ours = path.name.startswith(TEMP_PREFIX) or RECORD_NAME.fullmatch(path.name)
        real = path.is_dir() and not path.is_symlink()
        if ours and real and not (path / "manifest.json").is_file():
            _remove(path)
            removed.append(path)
    return removed


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def archive_run(results: str | Path, root: str | Path | None = None) -> Path | None:
    """Archive the study in `results` under root (default results/archive) as
    <UTC time to the microsecond>_<commit>_<config hash>/, read-only, unless its tables
    equal the last archive's (a run that changed nothing leaves no new record). Returns
    the new folder, or None when nothing was archived (nor when the tables are missing).

    The record is written whole or not at all: built in a folder beside the records and
    renamed into place once its manifest is written, so a kill or a full disk midway
    leaves no record with missing or empty files; what such a cut left is removed here
    first, and the call that follows writes the record again (the tables' digests still
    differ from the last record's)."""
    results = Path(results)
    root = Path(root) if root is not None else results / "archive"
    if not all((results / f).is_file() for f in REQUIRED):
        return None
    remove_unfinished(root)
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
    root.mkdir(parents=True, exist_ok=True)
    build = Path(tempfile.mkdtemp(prefix=TEMP_PREFIX, dir=root))
    try:
        for name in digest:
            shutil.copy2(results / name, build / name)
        manifest = {"created_utc": stamp, "source": str(results), "files": digest}
        (build / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
        for path in build.iterdir():
            _fsync(path)  # on disk before the name says the record is whole
            path.chmod(0o444)
        build.rename(folder)
    except BaseException:
        with contextlib.suppress(OSError):
            _remove(build)
        raise
    folder.chmod(0o555)
    with contextlib.suppress(OSError):
        _fsync(root)  # the rename itself
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
