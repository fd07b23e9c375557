#!/usr/bin/env bash
# Smoke test for the single-node test cluster: runs a 5-job toy Snakemake
# workflow with `--executor slurm` (via a workflow profile) and checks that
# every job ran as a Slurm job, using Slurm's own job completion records
# (jobcomp/filetxt, STATE_DIR/jobcomp.log).
#
# Usage:  tests/cluster/slurm_up.sh && tests/cluster/smoke_test.sh [STATE_DIR]
# Env:    SNAKEMAKE (default: <repo>/.venv/bin/snakemake, else `snakemake`),
#         PYTHON (default: <repo>/.venv/bin/python, else python3),
#         SMOKE_WORKDIR (default: a fresh mktemp dir, removed on success).
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd -P)"
REPO="$(cd "$HERE/../.." && pwd -P)"
DIR="${1:-${SLURM_TEST_DIR:-/tmp/interp5d-slurm}}"
DIR="$(cd "$DIR" && pwd -P)"
export SLURM_CONF="$DIR/slurm.conf"
JOBCOMP="$DIR/jobcomp.log"
if [ -z "${SNAKEMAKE:-}" ]; then
    if [ -x "$REPO/.venv/bin/snakemake" ]; then SNAKEMAKE="$REPO/.venv/bin/snakemake"
    else SNAKEMAKE=snakemake; fi
fi
if [ -z "${PYTHON:-}" ]; then
    if [ -x "$REPO/.venv/bin/python" ]; then PYTHON="$REPO/.venv/bin/python"
    else PYTHON=python3; fi
fi
WORK="${SMOKE_WORKDIR:-$(mktemp -d /tmp/slurm-smoke.XXXXXX)}"
mkdir -p "$WORK/profiles/slurm"
cd "$WORK"

cat > Snakefile <<'EOF'
SAMPLES = ["a", "b", "c", "d"]

rule all:
    input:
        "results/summary.txt",

rule work:
    output:
        "results/{sample}.txt",
    shell:
        'echo "rule=work sample={wildcards.sample} host=$(hostname) SLURM_JOB_ID=${{SLURM_JOB_ID:-}}" > {output}'

rule summary:
    input:
        expand("results/{sample}.txt", sample=SAMPLES),
    output:
        "results/summary.txt",
    shell:
        'cat {input} > {output}; echo "rule=summary host=$(hostname) SLURM_JOB_ID=${{SLURM_JOB_ID:-}}" >> {output}'
EOF

cat > profiles/slurm/config.yaml <<'EOF'
executor: slurm
jobs: 2
latency-wait: 10
default-resources:
  slurm_partition: debug
  mem_mb: 500
  runtime: 5
set-threads:
  work: 1
set-resources:
  summary:
    mem_mb: 300
    runtime: 3
slurm-no-account: true
slurm-status-command: squeue
slurm-init-seconds-before-status-checks: 2
EOF

start_lines=$(wc -l < "$JOBCOMP" 2>/dev/null || echo 0)
t0=$SECONDS
"$SNAKEMAKE" --workflow-profile profiles/slurm 2>&1 | tee snakemake.log
echo "[smoke] snakemake finished in $((SECONDS - t0)) s"

"$PYTHON" - "$JOBCOMP" "$start_lines" <<'EOF'
import re, subprocess, sys, time
from pathlib import Path

jobcomp, start = Path(sys.argv[1]), int(sys.argv[2])
log = Path("snakemake.log").read_text()
run_id = re.search(r"SLURM run ID: (\S+)", log).group(1)
# "Job 5 has been submitted with SLURM jobid 3 (log: .../rule_work/d/3.log)."
submitted = dict(
    (slurm_id, rule)
    for slurm_id, rule in re.findall(
        r"submitted with SLURM jobid (\d+) \(log: \S*/slurm_logs/rule_(\w+)/", log
    )
)
assert len(submitted) == 5, submitted

# Slurm's own completion records: one "Key=Value ..." line per finished job
for _ in range(20):  # the record is written when slurmctld completes the job
    records = {}
    for line in jobcomp.read_text().splitlines()[start:]:
        rec = dict(re.findall(r"(\w+)=(\S*)", line))
        records[rec["JobId"]] = rec
    if set(submitted) <= set(records):
        break
    time.sleep(0.5)
for jid, rule in submitted.items():
    rec = records.get(jid)
    assert rec, f"job {jid} ({rule}) missing from {jobcomp}"
    assert rec["Name"] == run_id, rec
    assert rec["JobState"] == "COMPLETED" and rec["ExitCode"] == "0:0", rec

# rule/wildcards per Slurm job, from the --comment the plugin sets
# (kept by slurmctld for MinJobAge seconds after the job ends)
out = subprocess.check_output(
    ["squeue", "--states=all", "--noheader", "--name", run_id, "--format=%i|%k|%T"],
    text=True,
)
comments = dict(l.split("|")[:2] for l in out.split())
assert set(comments) == set(submitted), (comments, submitted)

# every output was written inside the Slurm job the records talk about
seen = {}
for f in sorted(Path("results").glob("*.txt")):
    for line in f.read_text().splitlines():
        m = re.search(r"rule=(\w+)(?: sample=(\w+))? .*SLURM_JOB_ID=(\d+)$", line)
        assert m, f"no SLURM_JOB_ID in {f}: {line!r}"
        rule, sample, jid = m.groups()
        want = f"rule_{rule}" + (f"_wildcards_{sample}" if sample else "")
        assert comments[jid] == want, (jid, comments[jid], want)
        seen[jid] = want
assert set(seen) == set(submitted), (seen, submitted)
for jid in sorted(seen, key=int):
    print(f"[smoke] slurm job {jid}: {seen[jid]} COMPLETED (jobcomp + squeue)")
print("[smoke] OK")
EOF
cd /
[ -n "${SMOKE_WORKDIR:-}" ] || rm -rf "$WORK"
