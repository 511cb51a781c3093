#!/usr/bin/env bash
# All the tests: the Rust tests and the tcltest suite under Tcl 8.6 (cargo test), the
# installed-package check under both Tcl versions, then the tcltest suite under Tcl 9.0
# (same target directory: only this crate is rebuilt for each Tcl).
set -euo pipefail
cd "$(dirname "$0")/.."

cargo test --release -- --nocapture

if [ "${NSSMTPD_SKIP_TCL9:-0}" = "1" ]; then
    echo "Tcl 9.0 tests skipped (NSSMTPD_SKIP_TCL9=1)"
    exit 0
fi
bash scripts/tcl9-setup.sh
bash scripts/check-package.sh
TCL_CONFIG="$PWD/.tcl9/tclConfig.sh" TCLSH="$PWD/.tcl9/tclsh9" cargo test --release --test tcltest -- --nocapture
