#!/usr/bin/env bash
# What a test with nssmtpd::sink costs: start + one message + wait + stop, N times
# (default 100), in tclsh 8.6 and tclsh 9.0 with the staged package (bench/sink.tcl).
#
# Usage: bench/sink.sh [N]
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-100}
make -s stage >/dev/null
export TCLLIBPATH="$PWD/target/pkg"
for sh in tclsh8.6 "${NSSMTPD_TCL9_DIR:-$PWD/.tcl9}/tclsh9"; do
    "$sh" bench/sink.tcl "$N" 2> >(grep -v "Notice: nssmtpd: send:" >&2)
done
