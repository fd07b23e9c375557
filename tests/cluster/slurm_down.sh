#!/usr/bin/env bash
# Stop the single-node test cluster started by tests/cluster/slurm_up.sh.
#
# Usage:  tests/cluster/slurm_down.sh [STATE_DIR] [--purge]
#   STATE_DIR defaults to $SLURM_TEST_DIR, else /tmp/interp5d-slurm.
#   --purge   also delete STATE_DIR (the /etc/slurm/slurm.conf link to it always goes)
#             (by default logs and jobcomp.log are kept for inspection).
#
# Cancels remaining jobs, then stops slurmd, leftover slurmstepd of this
# cluster (and their job processes), slurmctld and munged via their pid files (TERM, then KILL after
# a grace period) and waits until they are gone.  Safe to run repeatedly.
set -uo pipefail

log() { printf '[slurm_down] %s\n' "$*" >&2; }

PURGE=0
DIR=""
for a in "$@"; do
    case "$a" in
        --purge) PURGE=1 ;;
        *) DIR="$a" ;;
    esac
done
DIR="${DIR:-${SLURM_TEST_DIR:-/tmp/interp5d-slurm}}"
if [ ! -d "$DIR" ]; then
    log "no state dir $DIR; nothing to do"
    exit 0
fi
DIR="$(cd "$DIR" && pwd -P)"
CONF="$DIR/slurm.conf"
export SLURM_CONF="$CONF"
GRACE="${SLURM_TEST_STOP_GRACE:-20}"

# pid_of PIDFILE COMM: print pid if PIDFILE names a live process called COMM.
pid_of() {
    local pf=$1 comm=$2 pid
    [ -s "$pf" ] || return 1
    pid=$(tr -dc '0-9' < "$pf")
    [ -n "$pid" ] && [ -d "/proc/$pid" ] || return 1
    [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$comm" ] || return 1
    echo "$pid"
}

# stop_pids NAME PID...: TERM, wait up to GRACE s, then KILL and wait.
stop_pids() {
    local name=$1; shift
    [ "$#" -gt 0 ] || return 0
    log "stopping $name (pid $*)"
    kill -TERM "$@" 2>/dev/null
    local i p alive
    for (( i = 0; i < GRACE * 10; i++ )); do
        alive=""
        for p in "$@"; do [ -d "/proc/$p" ] && alive="$alive $p"; done
        [ -z "$alive" ] && return 0
        sleep 0.1
    done
    log "$name did not exit after ${GRACE}s; sending KILL to$alive"
    # shellcheck disable=SC2086
    kill -KILL $alive 2>/dev/null
    for (( i = 0; i < 50; i++ )); do
        alive=""
        for p in "$@"; do [ -d "/proc/$p" ] && alive="$alive $p"; done
        [ -z "$alive" ] && return 0
        sleep 0.1
    done
    log "WARNING: $name still alive:$alive"
    return 1
}

# slurmstepd processes of this cluster: they keep slurmd's log file
# (STATE_DIR/log/slurmd.log) open and have their cwd inside STATE_DIR.
# (Their environment is not usable: slurmstepd overwrites it with its title.)
stepd_pids() {
    local p fd
    for p in /proc/[0-9]*; do
        [ "$(cat "$p/comm" 2>/dev/null)" = slurmstepd ] || continue
        case "$(readlink "$p/cwd" 2>/dev/null)/" in
            "$DIR"/*) echo "${p#/proc/}"; continue ;;
        esac
        for fd in "$p"/fd/*; do
            if [ "$(readlink "$fd" 2>/dev/null)" = "$DIR/log/slurmd.log" ]; then
                echo "${p#/proc/}"; break
            fi
        done
    done
}

# descendants PID...: print all descendant pids of the given processes
descendants() {
    local all p stat ppid
    all=" $* "
    local changed=1
    while [ "$changed" -eq 1 ]; do
        changed=0
        for p in /proc/[0-9]*; do
            stat=$(cat "$p/stat" 2>/dev/null) || continue
            stat=${stat##*) }              # drop "pid (comm) "
            ppid=$(echo "$stat" | awk '{print $2}')
            case "$all" in
                *" ${p#/proc/} "*) ;;
                *" $ppid "*) all="$all${p#/proc/} "; changed=1 ;;
            esac
        done
    done
    for p in $all; do
        case " $* " in *" $p "*) ;; *) echo "$p" ;; esac
    done
}

rc=0
CTLD=$(pid_of "$DIR/run/slurmctld.pid" slurmctld || true)
SLURMD=$(pid_of "$DIR/run/slurmd.pid" slurmd || true)
MUNGED=$(pid_of "$DIR/run/munged.pid" munged || true)

# 1. cancel whatever is still queued/running so job steps end cleanly
if [ -n "$CTLD" ] && [ -f "$CONF" ]; then
    if [ -n "$(squeue -h -t PD,R,CG,S -o %i 2>/dev/null)" ]; then
        log "cancelling remaining jobs"
        # shellcheck disable=SC2046
        scancel $(squeue -h -t PD,R,S -o %i 2>/dev/null) 2>/dev/null || true
        for (( i = 0; i < 150; i++ )); do
            [ -z "$(squeue -h -t PD,R,CG,S -o %i 2>/dev/null)" ] && break
            sleep 0.1
        done
    fi
fi

# 2. slurmd, then its leftover step daemons, then slurmctld, munged last
[ -n "$SLURMD" ] && { stop_pids slurmd "$SLURMD" || rc=1; }
# shellcheck disable=SC2046
STEPD=$(stepd_pids | tr '\n' ' ')
if [ -n "${STEPD// /}" ]; then
    # job processes first (slurmstepd may not clean up without slurmd)
    # shellcheck disable=SC2086
    JOBP=$(descendants $STEPD | tr '\n' ' ')
    # shellcheck disable=SC2086
    [ -n "${JOBP// /}" ] && { stop_pids "job processes" $JOBP || rc=1; }
    # shellcheck disable=SC2086
    # slurmstepd ignores SIGTERM; don't wait long for it
    GRACE=2 stop_pids slurmstepd $STEPD || rc=1
fi
[ -n "$CTLD" ] && { stop_pids slurmctld "$CTLD" || rc=1; }
[ -n "$MUNGED" ] && { stop_pids munged "$MUNGED" || rc=1; }

rm -f "$DIR/run/slurmd.pid" "$DIR/run/slurmctld.pid" "$DIR/run/munged.pid" \
      "$DIR/munge/munge.socket.2" "$DIR/munge/munge.socket.2.lock"

# Always drop the config link: with a config but no controller, every `scontrol` (which
# the Slurm executor plugin runs when Snakemake starts) waits 10 s for an answer.
if [ -L /etc/slurm/slurm.conf ] && [ "$(readlink /etc/slurm/slurm.conf)" = "$CONF" ]; then
    rm -f /etc/slurm/slurm.conf
fi
if [ "$PURGE" -eq 1 ]; then
    [ "$rc" -eq 0 ] && rm -rf "$DIR" && log "removed $DIR"
fi
[ "$rc" -eq 0 ] && log "stopped" || log "WARNING: some processes could not be stopped"
exit "$rc"
