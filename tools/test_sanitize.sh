#!/usr/bin/env bash
# The native step built with AddressSanitizer and UndefinedBehaviorSanitizer, every report
# fatal, and its tests run against that build: the ASan runtime is preloaded into Python
# (which is not built with it), leaks are not checked (Python's own would drown them), and
# the run fails on any report, or if the library it tested was not the sanitized one. The
# sanitizers write to the process's own stderr, which pytest leaves uncaptured (sys capture).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
CC=${CC:-cc}
asan=$("$CC" -print-file-name=libasan.so)
[ -f "$asan" ] || { echo "test-sanitize: $CC has no libasan.so (install libasan for $CC)" >&2; exit 1; }
cache=$(mktemp -d)
log=$(mktemp)
trap 'rm -rf "$cache" "$log"' EXIT
export INTERP5D_CACHE=$cache
export INTERP5D_NATIVE_CFLAGS="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer -g"
export ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:halt_on_error=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
status=0
LD_PRELOAD=$asan "$PY" -m pytest -p no:cacheprovider --capture=sys -q tests/test_native.py "$@" 2>&1 | tee "$log" || status=$?
if grep -qE "runtime error|ERROR: AddressSanitizer|SUMMARY: (Address|UndefinedBehavior)Sanitizer" "$log"; then
    echo "test-sanitize: a sanitizer reported (above)" >&2
    exit 1
fi
# the tests build in folders of their own too; the one built here must be sanitized
built=$(find "$cache" -name 'native_step-*.so' | head -n 1)
# ldd's output is read whole, not piped into `grep -q`: grep stops at the first match, ldd
# can then die of SIGPIPE, and pipefail turns that into a false "not sanitized"
deps=$([ -z "$built" ] || ldd "$built")
if [ -z "$built" ] || ! grep -q libasan <<<"$deps"; then
    echo "test-sanitize: no sanitized build of the step was tested (${built:-none built})" >&2
    exit 1
fi
exit "$status"
