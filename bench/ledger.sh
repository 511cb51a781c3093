#!/usr/bin/env bash
# The no-loss ledger with N numbered messages (default 5000) through nssmtpd as a relay
# proxy while faults are injected: smtp-sink killed and restarted, a relay dropping
# connections at random steps, a relay answering too late, a relay refusing, clients
# vanishing. Prints sent, attempts, final 250/4xx/5xx, at relay, duplicates, lost; exits
# non-zero if anything was lost. tests/ledger.test runs the same with 300.
#
# Usage: bench/ledger.sh [N]
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-5000}
make -s build >/dev/null
exec tclsh8.6 bench/ledger.tcl "$PWD/target/release/libnssmtpd.so" "$N"
