"""A job's log: records and tracebacks reach the file, and the exit (objects frozen, not
collected) keeps the exit status."""

import subprocess
import sys

import pytest

SCRIPT = """
import sys
from interp5d.logs import start_job_log
log = start_job_log(sys.argv[1])
log.info("fitted")
if sys.argv[2] == "fail":
    raise ValueError("bad column 'x3'")
"""


@pytest.mark.parametrize("outcome", ["ok", "fail"])
def test_job_log_holds_records_and_tracebacks(tmp_path, outcome):
    log = tmp_path / "job.log"
    res = subprocess.run([sys.executable, "-c", SCRIPT, str(log), outcome], capture_output=True)
    text = log.read_text()
    assert "INFO fitted" in text
    if outcome == "ok":
        assert res.returncode == 0 and "Traceback" not in text
    else:
        assert res.returncode == 1
        assert "Traceback" in text and "ValueError: bad column 'x3'" in text
    assert res.stderr == b""  # everything went to the log
