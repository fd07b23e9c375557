"""A job's log: records and tracebacks reach the file, and the exit (objects frozen, not
collected) keeps the exit status."""

import subprocess
import sys

import pytest

SCRIPT = """
import sys
from interp5d.pipeline.logs import start_job_log
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


# A job whose disk fills: the script stands in for one under Snakemake (whose `snakemake`
# object the job's log reads its rule, wildcards and outputs from).
FULL_DISK_SCRIPT = """
import sys, types
import numpy as np
snakemake = types.SimpleNamespace(
    rule="generate_dataset",
    wildcards={"dataset": "synthetic5d", "n": "60", "seed": "1"},
    output=[sys.argv[2]],
    log=[sys.argv[1]],
)
from interp5d.pipeline.logs import start_job_log
log = start_job_log(sys.argv[1])
log.info("drawing")
np.savez(sys.argv[2], X=np.ones((100_000, 5)))
"""


@pytest.fixture
def full_disk(tmp_path):
    """A small tmpfs under tmp_path, filled up (skipped where mounting is not permitted)."""
    mount = tmp_path / "disk"
    mount.mkdir()
    res = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
    )
    if res.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {res.stderr.strip()}")
    try:
        fill(mount)
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=True)


def fill(folder):
    """Take every free byte of folder's file system."""
    import errno

    try:
        with open(folder / "filler", "wb") as f:
            while True:
                f.write(b"\0" * 4096)
                f.flush()
    except OSError as e:
        assert e.errno == errno.ENOSPC


def test_a_full_disk_is_named_on_the_jobs_stderr(full_disk):
    log, out = full_disk / "job.log", full_disk / "data" / "n60_seed1.npz"
    out.parent.mkdir()
    res = subprocess.run(
        [sys.executable, "-c", FULL_DISK_SCRIPT, str(log), str(out)],
        capture_output=True,
        text=True,
    )
    assert res.returncode == 1  # the error's own status, not 120 (stderr lost at exit)
    lines = [ln for ln in res.stderr.splitlines() if "no space left on device" in ln]
    assert len(lines) == 1, res.stderr
    line = lines[0]
    assert "generate_dataset" in line and "seed=1" in line and str(out) in line
    assert str(log) in line  # the log could not hold the error: where it went instead
    assert "lost sys.stderr" not in res.stderr
    # the traceback is kept: here, since the log had no room for it
    assert "Traceback" in res.stderr and "OSError" in res.stderr


@pytest.mark.parametrize(
    "body, status, expected",
    [
        # torch.save reports a full disk without an errno: the full file system is named
        (
            'raise RuntimeError("unexpected pos 576 vs 534")',
            1,
            "(the likely cause of RuntimeError: unexpected pos 576 vs 534)",
        ),
        # a job that ends well, but whose log could not be written to its end
        ('log.info("x" * 100_000)', 0, ", which ends early"),
    ],
)
def test_a_full_disk_without_an_errno_or_in_the_log_alone_is_named(
    full_disk, body, status, expected
):
    log, out = full_disk / "job.log", full_disk / "model.pt"
    script = FULL_DISK_SCRIPT.split("np.savez")[0] + body + "\n"
    res = subprocess.run(
        [sys.executable, "-c", script, str(log), str(out)], capture_output=True, text=True
    )
    assert res.returncode == status, res.stderr
    line = res.stderr.splitlines()[-1]
    assert "rule generate_dataset (dataset=synthetic5d, n=60, seed=1): no space left on" in line
    assert expected in line and str(log) in line
