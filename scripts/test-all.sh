#!/usr/bin/env bash
# The project's full test run:
#   1. scripts/tcl9-setup.sh (Tcl 9.0 and tcllib 2 from Debian trixie, cached in .tcl9)
#   2. cargo test: the Rust tests and the tcltest suite under Tcl 8.6 (tests/tcltest.rs)
#   3. scripts/check-package.sh: the staged package loads in tclsh 8.6 and 9.0
#   4. the tcltest suite under Tcl 9.0, in target/tcl9 (the Tcl 9 build's target directory,
#      as in the Makefile, so the Tcl 8.6 build in target/ is not recompiled afterwards)
#   5. scripts/fuzz.sh --short: every fuzz target for 10 s (fuzz/, its own workspace)
#   6. scripts/sanitize.sh valgrind: memcheck on tclsh 8.6 with the extension over the
#      tcltest suite without its TLS tests and load runs (about three minutes)
# Every step runs even when an earlier one fails; the exit status is non-zero if any failed.
# NSSMTPD_SKIP_TCL9=1 skips everything that needs Tcl 9.0 (steps 1, 3 and 4).
set -euo pipefail
cd "$(dirname "$0")/.."

T9=${NSSMTPD_TCL9_DIR:-$PWD/.tcl9}
export NSSMTPD_TCL9_DIR=$T9
skip9=0
if [ "${NSSMTPD_SKIP_TCL9:-}" = "1" ]; then
    skip9=1
fi

failed=()
step() {   # step <name> <command...>: runs it, records a failure instead of stopping
    local name=$1
    shift
    echo "=== $name"
    if "$@"; then
        echo "=== $name: ok"
    else
        echo "=== $name: FAILED (exit status $?)"
        failed+=("$name")
    fi
}

if [ "$skip9" = 1 ]; then
    echo "=== NSSMTPD_SKIP_TCL9=1: the Tcl 9.0 setup, package check and test suite are SKIPPED"
else
    step "Tcl 9.0 setup" bash scripts/tcl9-setup.sh
fi

# A TCL_CONFIG/TCLSH left in the environment would turn this into a second Tcl 9 run.
step "Rust tests and tcltest suite, Tcl 8.6" env -u TCL_CONFIG -u TCLSH cargo test --release -- --nocapture

if [ "$skip9" = 0 ]; then
    step "package check, Tcl 8.6 and 9.0" bash scripts/check-package.sh
    step "tcltest suite, Tcl 9.0" env TCL_CONFIG="$T9/tclConfig.sh" TCLSH="$T9/tclsh9" \
        CARGO_TARGET_DIR="$PWD/target/tcl9" cargo test --release --test tcltest -- --nocapture
fi

step "fuzz targets, short run" bash scripts/fuzz.sh --short
step "valgrind memcheck, tcltest suite without TLS" bash scripts/sanitize.sh valgrind

if [ "${#failed[@]}" -gt 0 ]; then
    echo "test-all: FAILED: ${failed[*]}"
    exit 1
fi
if [ "$skip9" = 1 ]; then
    echo "test-all: all passed (Tcl 9.0 skipped: NSSMTPD_SKIP_TCL9=1)"
else
    echo "test-all: all passed (Tcl 8.6 and Tcl 9.0)"
fi
