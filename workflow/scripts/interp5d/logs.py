"""Job logs: Snakemake's `log:` file receives log records and any traceback."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

LOGGER = "interp5d"


def start_job_log(path: str | Path) -> logging.Logger:
    """Send logging and stderr (tracebacks included) to `path`, line-buffered."""
    fh = open(path, "w", buffering=1)  # noqa: SIM115 - lives as long as the job
    sys.stderr = fh
    logging.basicConfig(
        stream=fh, level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s", force=True
    )
    logging.captureWarnings(True)
    return logging.getLogger(LOGGER)
