"""Job logs: Snakemake's `log:` file receives log records and any traceback; a full disk is
named on the job's own stderr, which Snakemake shows, since the log may have no room left."""

from __future__ import annotations

import atexit
import contextlib
import errno
import gc
import io
import logging
import os
import sys
import traceback
from pathlib import Path
from typing import Any, TextIO

LOGGER = "interp5d"
# errors that say the disk (or the user's share of it) is full
FULL = (errno.ENOSPC, errno.EDQUOT)
# a file system with less than this free counts as full where an error does not say why
# (torch.save reports a full disk as "unexpected pos 576 vs 534", with no errno)
FULL_BELOW_BYTES = 1 << 20


class _LogFile(io.TextIOWrapper):
    """The log, line-buffered, whose writes never raise: the first failure (a full disk) is
    kept in `error` and what follows is dropped. Without this, writing a traceback to a full
    disk loses the traceback and the error it tells of: Python prints only "lost sys.stderr"
    and exits 120."""

    error: OSError | None = None

    def write(self, s: str) -> int:
        if self.error is None:
            try:
                return super().write(s)
            except OSError as e:
                self.error = e
        return len(s)

    def flush(self) -> None:
        if self.error is None:
            try:
                super().flush()
            except OSError as e:
                self.error = e

    def close(self) -> None:
        # what a full disk left in the buffer cannot be written: dropped, not raised at exit
        with contextlib.suppress(OSError):
            super().close()


def _free_bytes(path: str | Path) -> int | None:
    """Bytes this user may still write on path's file system (its nearest existing folder)."""
    p = Path(path).absolute()
    while not p.exists() and p != p.parent:
        p = p.parent
    try:
        st = os.statvfs(p)
    except OSError:
        return None
    return (st.f_bfree if os.geteuid() == 0 else st.f_bavail) * st.f_frsize


def _disk_errno(exc: BaseException | None) -> OSError | None:
    """The full-disk OSError behind exc (itself, or what caused it), if any."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, OSError) and exc.errno in FULL:
            return exc
        exc = exc.__cause__ or exc.__context__
    return None


def _job_name(path: Path) -> tuple[str, list[str]]:
    """The job as Snakemake's console names it (rule and wildcards) and its outputs, read
    from the `snakemake` object of the job's script; the log's path outside Snakemake."""
    job: Any = getattr(sys.modules.get("__main__"), "snakemake", None)
    if job is None or not hasattr(job, "rule"):
        return f"the job of log {path}", []
    wildcards = ", ".join(f"{k}={v}" for k, v in dict(job.wildcards.items()).items())
    return f"rule {job.rule}" + (f" ({wildcards})" if wildcards else ""), [
        str(o) for o in job.output
    ]


class _Guard:
    """Names a full disk on the job's original stderr: at an uncaught error (after the
    traceback went to the log, or, where the log had no room, with it) and at exit (a log
    that could not be written to its end)."""

    def __init__(self, fh: _LogFile, path: Path, console: TextIO | None) -> None:
        self.fh, self.path, self.console, self.reported = fh, path, console, False
        self.previous_hook = sys.excepthook

    def excepthook(self, kind: type[BaseException], value: BaseException, tb: Any) -> None:
        self.previous_hook(kind, value, tb)  # the traceback, to the log
        self.fh.flush()
        self.report(value)

    def at_exit(self) -> None:
        self.fh.flush()
        if not self.reported and self.fh.error is not None:
            self.report(None)

    def report(self, exc: BaseException | None) -> None:
        self.reported = True
        if self.console is None:
            return
        job, outputs = _job_name(self.path)
        log_error = self.fh.error
        cause = _disk_errno(exc) or _disk_errno(log_error)
        # where: the paths the error names, else the job's outputs on a full file system
        named = [getattr(cause, a, None) for a in ("filename", "filename2")]
        full = [str(f) for f in named if f] or [o for o in outputs if _is_full(o)]
        if cause is None and not full and log_error is None:
            return  # an error of its own, whose traceback the log holds
        if cause is None and not full:
            text = f"{job}: its log {self.path} could not be written ({log_error})"
        else:
            what = "no space left on device" if cause is None else os.strerror(cause.errno)
            where = [f"{f} ({_free_bytes(f)} bytes free there)" for f in full]
            if log_error is not None:
                ends = "so the error is here" if exc is not None else "which ends early"
                where.append(f"its log {self.path}, {ends}")
            text = f"{job}: {what.lower()} writing {' and '.join(where) or 'its outputs'}"
            if exc is not None and _disk_errno(exc) is None and full:
                # an error that does not say why (torch's), beside a full file system
                text += f" (the likely cause of {type(exc).__name__}: {exc})"
        lines = [text + "\n"]
        if log_error is not None and exc is not None:
            # the log could not hold the traceback: it goes to the console, before the line
            lines[:0] = traceback.format_exception(exc)
        with contextlib.suppress(OSError, ValueError):
            self.console.write("".join(lines))
            self.console.flush()
        if log_error is None:  # and in the log, after the traceback
            self.fh.write(text + "\n")
            self.fh.flush()


def _is_full(path: str) -> bool:
    free = _free_bytes(path)
    return free is not None and free < FULL_BELOW_BYTES


def start_job_log(path: str | Path) -> logging.Logger:
    """Send logging and stderr (tracebacks included) to `path`, line-buffered; name a full
    disk on the job's original stderr (Snakemake's console); and let the job's process exit
    without collecting its objects."""
    # Left to the interpreter's exit, collecting the objects of torch (or pandas and
    # matplotlib) takes a job 0.5-0.8 s after its last line; frozen first, 0.15-0.2 s. The
    # job's files are closed by then, and logging's own exit hook (registered before this
    # one, so run after it) still flushes the log.
    atexit.register(gc.freeze)
    path = Path(path)
    raw = open(path, "wb")  # noqa: SIM115 - lives as long as the job
    fh = _LogFile(raw, encoding="utf-8", errors="backslashreplace", line_buffering=True)
    guard = _Guard(fh, path, sys.stderr)  # kept: where a full disk is still reported
    sys.stderr = fh
    sys.excepthook = guard.excepthook
    atexit.register(guard.at_exit)  # run before logging's flush, and flushes itself
    logging.basicConfig(
        stream=fh, level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s", force=True
    )
    logging.captureWarnings(True)
    return logging.getLogger(LOGGER)
