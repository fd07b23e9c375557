"""End to end on Slurm: a tiny study through `--executor slurm` with profiles/slurm.

Needs the single-node test cluster (tests/cluster/slurm_up.sh); `make test-cluster` brings
it up, runs this and tears it down. Without a reachable cluster the test is skipped, unless
SLURM_TEST_REQUIRED=1 (set by `make test-cluster`), where it fails instead.

What it checks, from Slurm's own records (jobcomp/filetxt and squeue; there is no
accounting database, so no sacct):
- every job of a non-local rule went to Slurm, and finished there COMPLETED, with the
  partition, memory, CPUs and time limit that the profile asks for;
- the number of Slurm jobs per rule equals Snakemake's dry-run plan, and none is for a
  local rule (aggregation, plots, environment...);
- every run's outputs were written by the Slurm job of that run;
- the outputs equal those of a local run of the same config: datasets, histories and
  models bit for bit, and every metric except timings and measured memory exactly
  (training is deterministic for a given seed and thread count).
"""

import json
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from ..conftest import copy_workflow, snakemake

pytestmark = pytest.mark.cluster

# One function, two sizes, one seed, both recipes (a few epochs) and a baseline: 2 dataset
# and 6 training jobs on Slurm.
CONFIG = {
    "functions": ["synthetic5d"],
    "sizes": [60, 100],
    "seeds": [1],
    "threads": 1,
    "recipes": {
        "seed": {"epochs": 3},
        "tuned": {"epochs": 4, "batch_size": 16, "lr": 0.01, "schedule": "cosine"},
    },
    "baselines": {"ols": {}},
}
# Rules the issue wants on the cluster, and rules it wants on the submitting host.
REMOTE = {"generate_dataset", "train_profile"}
LOCAL = {"all", "aggregate", "environment", "plot_summary", "plot_learning_curves"}
# Settings only the test cluster needs: it has no accounting database, so job status
# comes from squeue (finished jobs stay there for MinJobAge); a short first status
# check; and the Slurm log of every job is kept for the checks below.
TEST_CLUSTER_SETTINGS = {
    "slurm-status-command": "squeue",
    "slurm-init-seconds-before-status-checks": 2,
    "slurm-keep-successful-logs": True,
}
# Measured, so different in every run: timings, throughputs, timestamps, memory peaks, job RSS,
# the loop's efficiencies (against the environment's roofline and against the run's own).
MEASURED = re.compile(
    r"(_s|_unix|_peak_mb|_baseline_mb|_rss_mb|_per_s|gflops_per_s|efficiency|efficiency_paired)$"
)


def _unmeasured(value):
    """A record without its measured fields, at any depth (time-to-target records and the
    validation curve hold timings too)."""
    if isinstance(value, dict):
        return {k: _unmeasured(v) for k, v in value.items() if not MEASURED.search(k)}
    if isinstance(value, list):
        return [_unmeasured(v) for v in value]
    return value


def _cmd(*args, timeout=20):
    return subprocess.run(args, capture_output=True, text=True, timeout=timeout)


def _unavailable(reason):
    if os.environ.get("SLURM_TEST_REQUIRED") == "1":
        pytest.fail(f"Slurm test cluster required (SLURM_TEST_REQUIRED=1) but {reason}")
    pytest.skip(f"{reason}; start it with tests/cluster/slurm_up.sh or use make test-cluster")


@pytest.fixture(scope="module")
def cluster():
    """The running cluster: its default partition and its job completion log."""
    for tool in ("sinfo", "squeue", "sbatch", "scontrol"):
        if shutil.which(tool) is None:
            _unavailable(f"`{tool}` is not installed")
    try:
        parts = _cmd("sinfo", "--noheader", "--format=%P|%a")
        conf = _cmd("scontrol", "show", "config")
    except subprocess.TimeoutExpired:
        _unavailable("the Slurm controller does not answer")
    if parts.returncode or conf.returncode:
        err = (parts.stderr.strip() or conf.stderr.strip() or "?").splitlines()[-1]
        _unavailable(f"Slurm is not up ({err})")
    default = [p.split("|")[0].rstrip("*") for p in parts.stdout.split() if "*|up" in p]
    if not default:
        _unavailable(f"no default partition that is up: {parts.stdout!r}")
    settings = dict(re.findall(r"^(\w+)\s+=\s+(.*?)\s*$", conf.stdout, re.MULTILINE))
    if settings.get("JobCompType") != "jobcomp/filetxt":
        _unavailable(f"JobCompType is {settings.get('JobCompType')}, not jobcomp/filetxt")
    return {"partition": default[0], "jobcomp": Path(settings["JobCompLoc"])}


def _study(path: Path) -> Path:
    path.mkdir()
    d = copy_workflow(path)
    (d / "config.yaml").write_text(yaml.safe_dump(CONFIG))
    return d


def _test_profile(d: Path, partition: str) -> dict:
    """profiles/slurm as shipped, with this cluster's partition where the user puts
    theirs, plus the test-cluster settings; written to profiles/slurm-test."""
    profile = yaml.safe_load((d / "profiles/slurm/config.yaml").read_text())
    profile["default-resources"]["slurm_partition"] = partition
    profile.update(TEST_CLUSTER_SETTINGS)
    (d / "profiles/slurm-test").mkdir()
    (d / "profiles/slurm-test/config.yaml").write_text(yaml.safe_dump(profile))
    return profile


def _plan(d: Path) -> dict[str, int]:
    """Jobs per rule in Snakemake's dry-run plan."""
    res = snakemake(d, "-n", "--workflow-profile", "profiles/slurm-test")
    table = (res.stdout + res.stderr).split("Job stats:")[1].split("total")[0]
    return {m[1]: int(m[2]) for m in re.finditer(r"^(\w+)\s+(\d+)$", table, re.MULTILINE)}


def _jobcomp(path: Path, start: int, ids: set[str]) -> dict[str, dict[str, str]]:
    """Slurm's completion records from line `start` on, by job id; waits briefly for
    the records of `ids` (slurmctld writes one when it completes a job)."""
    for _ in range(20):
        lines = path.read_text().splitlines()[start:] if path.exists() else []
        records = {}
        for line in lines:
            rec = dict(re.findall(r"(\w+)=(\S*)", line))
            records[rec["JobId"]] = rec
        if ids <= set(records):
            break
        time.sleep(0.5)
    return records


def _rule_of(comment: str) -> str:
    """`rule_<rule>` or `rule_<rule>_wildcards_<values>`: the --comment the plugin sets."""
    return re.fullmatch(r"rule_(\w+?)(?:_wildcards_.*)?", comment).group(1)


def _expected_request(profile: dict, rule: str) -> dict[str, str]:
    res = {**profile["default-resources"], **profile.get("set-resources", {}).get(rule, {})}
    return {
        "cpu": str(profile.get("set-threads", {}).get(rule, 1)),
        "mem": int(res["mem_mb"]),
        "TimeLimit": str(res["runtime"]),
    }


def _failure_report(d: Path, log: str) -> str:
    """The end of Snakemake's log, then the job logs that hold an error."""
    parts = ["\n".join(log.splitlines()[-60:])]
    for f in sorted(
        [*(d / ".snakemake/slurm_logs").rglob("*.log"), *(d / "results/logs").rglob("*")]
    ):
        text = f.read_text(errors="replace") if f.is_file() else ""
        if re.search(r"Error|Traceback|error:", text):
            parts.append(f"----- {f.relative_to(d)} -----\n" + "\n".join(text.splitlines()[-40:]))
    return "\n".join(parts)


def _outputs(d: Path) -> list[str]:
    return sorted(
        p.relative_to(d).as_posix()
        for p in [*(d / "results/runs").rglob("*"), *(d / "results/data").rglob("*")]
        if p.is_file()
    )


def test_study_on_slurm_matches_local_run(cluster, tmp_path):
    # --- on Slurm ----------------------------------------------------------------
    d = _study(tmp_path / "slurm")
    profile = _test_profile(d, cluster["partition"])
    plan = _plan(d)
    start = len(cluster["jobcomp"].read_text().splitlines()) if cluster["jobcomp"].exists() else 0
    t0 = time.monotonic()
    res = snakemake(d, "--workflow-profile", "profiles/slurm-test", timeout=900, check=False)
    slurm_s = time.monotonic() - t0
    log = res.stdout + res.stderr
    assert res.returncode == 0, _failure_report(d, log)
    run_id = re.search(r"SLURM run ID: (\S+)", log).group(1)

    # Snakemake's view: which rules it sent to Slurm, and the Slurm id of each job
    remote = set(re.findall(r"^rule (\w+):", log, re.MULTILINE))
    local = set(re.findall(r"^localrule (\w+):", log, re.MULTILINE))
    assert remote >= REMOTE and local >= LOCAL and not remote & local, (remote, local)
    assert remote | local == set(plan), (remote, local, plan)
    submitted = dict(
        re.findall(r"submitted with SLURM jobid (\d+) \(log: (\S+?)\)", log)
    )  # Slurm job id -> its Slurm log file

    # Slurm's view 1: the comment of each job of this run names its rule and wildcards
    out = subprocess.check_output(
        ["squeue", "--states=all", "--noheader", "--name", run_id, "--format=%i|%k"], text=True
    )
    comments = dict(line.split("|", 1) for line in out.split())
    assert set(comments) == set(submitted), (comments, submitted)
    per_rule = {}
    for comment in comments.values():
        per_rule[_rule_of(comment)] = per_rule.get(_rule_of(comment), 0) + 1
    assert per_rule == {rule: n for rule, n in plan.items() if rule in remote}, (per_rule, plan)
    assert not set(per_rule) & local

    # Slurm's view 2: the completion record of every job of this run
    records = _jobcomp(cluster["jobcomp"], start, set(submitted))
    ours = {jid for jid, rec in records.items() if rec["Name"] == run_id}
    assert ours == set(submitted), (ours, submitted)
    for jid in submitted:
        rec, rule = records[jid], _rule_of(comments[jid])
        assert rec["JobState"] == "COMPLETED" and rec["ExitCode"] == "0:0", rec
        assert rec["Partition"] == cluster["partition"], rec
        assert Path(rec["WorkDir"]).resolve() == d.resolve(), rec
        tres = dict(kv.split("=") for kv in rec["Tres"].split(","))
        mem = int(tres["mem"][:-1]) * {"M": 1, "G": 1024, "T": 1024**2}[tres["mem"][-1]]
        got = {"cpu": tres["cpu"], "mem": mem, "TimeLimit": rec["TimeLimit"]}
        assert got == _expected_request(profile, rule), (rule, rec)

    # every run's outputs were written inside the Slurm job of that run
    made_in = {}
    for jid, slurm_log in submitted.items():
        text = Path(slurm_log).read_text()
        assert f"Rule: {_rule_of(comments[jid])})" in text, (jid, slurm_log)
        for line in re.findall(r"^\s+output: (.*)$", text, re.MULTILINE):
            for f in line.split(", "):
                made_in[f] = jid
    outputs = _outputs(d)
    assert outputs and set(outputs) <= set(made_in), set(outputs) - set(made_in)
    assert (d / "results/summary.csv").exists()

    # --- locally, same config ------------------------------------------------------
    ref = _study(tmp_path / "local")
    t0 = time.monotonic()
    snakemake(ref, "--cores", "2")
    local_s = time.monotonic() - t0
    print(f"slurm run {slurm_s:.1f} s ({len(submitted)} Slurm jobs), local run {local_s:.1f} s")
    assert _outputs(ref) == outputs

    compared = set()
    for f in outputs:
        a, b = d / f, ref / f
        if f.endswith("metrics.json"):
            ma, mb = json.loads(a.read_text()), json.loads(b.read_text())
            assert set(ma) == set(mb), f
            same = {k for k in ma if not MEASURED.search(k)}
            assert {"r2", "mse", "rmse", "mae", "status", "n_train"} <= same
            assert ma["kind"] == "baseline" or "epochs_run" in same
            assert _unmeasured(ma) == _unmeasured(mb), f
            compared |= same
        elif f.endswith(".npz"):
            with np.load(a) as za, np.load(b) as zb:
                assert sorted(za.files) == sorted(zb.files), f
                for k in za.files:
                    np.testing.assert_array_equal(za[k], zb[k], err_msg=f"{f}:{k}")
        elif f.endswith("curve.csv"):  # the validation curve: its R² bit for bit
            ca, cb = pd.read_csv(a), pd.read_csv(b)
            assert ca["val_r2"].equals(cb["val_r2"]), f
        elif f.endswith((".csv", ".pt")):  # histories and models: bit for bit
            assert a.read_bytes() == b.read_bytes(), f
    assert "r2" in compared

    sa, sb = (pd.read_csv(x / "results/summary.csv") for x in (d, ref))
    keep = [c for c in sa.columns if not MEASURED.search(c)]
    pd.testing.assert_frame_equal(sa[keep], sb[keep])
