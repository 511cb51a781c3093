#!/usr/bin/env bash
# Throughput of nssmtpd against smtp-sink (the ceiling), tcllib smtpd and aiosmtpd, all
# measured in this run with Postfix's smtp-source: 20 parallel sessions, 2 KB messages,
# a new connection per message and reused connections (-d). Also nssmtpd as a relay proxy
# in front of smtp-sink. Prints messages per second and ratios to smtp-sink.
#
# Usage: bench/run.sh [messages]   (default 20000; the slow servers get a tenth)
# BASELINE_LIB=/path/libnssmtpd.so adds the same two nssmtpd rows for another build (an
# earlier commit, say), measured in the same run, for a before/after comparison.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-20000}
SLOW=$((N / 10))
make -s build >/dev/null
LIB=$PWD/target/release/libnssmtpd.so
USER_OPT=""; [ "$(id -u)" = 0 ] && USER_OPT="-u nobody"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

wait_port() { for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/$1) 2>/dev/null && return; sleep 0.1; done; echo "port $1 not up" >&2; exit 1; }

/usr/sbin/smtp-sink $USER_OPT -m 1000 127.0.0.1:27001 1024 & pids+=($!)
tclsh8.6 bench/nssmtpd_server.tcl "$LIB" 27002 2>/dev/null & pids+=($!)
tclsh8.6 bench/nssmtpd_server.tcl "$LIB" 27003 127.0.0.1:27001 2>/dev/null & pids+=($!)
tclsh8.6 bench/nssmtpd_server.tcl "$LIB" 27006 "" none 2>/dev/null & pids+=($!)
tclsh8.6 bench/tcllib_server.tcl 27004 2>/dev/null & pids+=($!)
/usr/bin/python3 bench/aiosmtpd_server.py 27005 2>/dev/null & pids+=($!)
ports="27001 27002 27003 27004 27005 27006"
if [ -n "${BASELINE_LIB:-}" ]; then
    tclsh8.6 bench/nssmtpd_server.tcl "$BASELINE_LIB" 27007 2>/dev/null & pids+=($!)
    tclsh8.6 bench/nssmtpd_server.tcl "$BASELINE_LIB" 27008 "" none 2>/dev/null & pids+=($!)
    ports="$ports 27007 27008"
fi
for p in $ports; do wait_port $p; done

rate() { # port messages extra-flags -> msgs/s
    local port=$1 n=$2; shift 2
    local t0 t1
    t0=$(date +%s.%N)
    if ! /usr/sbin/smtp-source -s 20 -m "$n" -l 2048 -f bench@example.com -t sink@example.com "$@" 127.0.0.1:"$port" >/dev/null; then
        echo "smtp-source failed against port $port" >&2
        exit 1
    fi
    t1=$(date +%s.%N)
    awk -v n="$n" -v a="$t0" -v b="$t1" 'BEGIN { print n / (b - a) }'
}

printf '%-38s %12s %12s\n' target "new conn/s" "reuse (-d)/s"
declare -A R
rows=("smtp-sink (ceiling):27001:$N" "nssmtpd, callbacks:27002:$N" "nssmtpd, no callbacks:27006:$N"
      "nssmtpd relay -> smtp-sink:27003:$N" "tcllib smtpd:27004:$SLOW" "aiosmtpd:27005:$SLOW")
if [ -n "${BASELINE_LIB:-}" ]; then
    rows+=("baseline, callbacks:27007:$N" "baseline, no callbacks:27008:$N")
fi
for row in "${rows[@]}"; do
    IFS=: read -r name port n <<<"$row"
    a=$(rate "$port" "$n"); b=$(rate "$port" "$n" -d)
    R["$name"]="$a $b"
    printf '%-38s %12.0f %12.0f\n' "$name" "$a" "$b"
done
read -r ca cb <<<"${R["smtp-sink (ceiling)"]}"
read -r na nb <<<"${R["nssmtpd, callbacks"]}"
read -r ra rb <<<"${R["nssmtpd relay -> smtp-sink"]}"
read -r ta tb <<<"${R["tcllib smtpd"]}"
read -r aa ab <<<"${R["aiosmtpd"]}"
echo
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { print a / b }'; }
printf 'nssmtpd / smtp-sink:        %.2f (new)  %.2f (reuse)\n' "$(ratio "$na" "$ca")" "$(ratio "$nb" "$cb")"
printf 'nssmtpd relay / smtp-sink:  %.2f (new)  %.2f (reuse)\n' "$(ratio "$ra" "$ca")" "$(ratio "$rb" "$cb")"
printf 'nssmtpd / tcllib smtpd:     %.1f (new)  %.1f (reuse)\n' "$(ratio "$na" "$ta")" "$(ratio "$nb" "$tb")"
printf 'nssmtpd / aiosmtpd:         %.1f (new)  %.1f (reuse)\n' "$(ratio "$na" "$aa")" "$(ratio "$nb" "$ab")"
if [ -n "${BASELINE_LIB:-}" ]; then
    read -r ba bb <<<"${R["baseline, callbacks"]}"
    read -r xa xb <<<"${R["nssmtpd, no callbacks"]}"
    read -r ya yb <<<"${R["baseline, no callbacks"]}"
    printf 'baseline / smtp-sink:       %.2f (new)  %.2f (reuse)\n' "$(ratio "$ba" "$ca")" "$(ratio "$bb" "$cb")"
    printf 'nssmtpd / baseline:         %.2f (new)  %.2f (reuse)   no callbacks: %.2f  %.2f\n' \
        "$(ratio "$na" "$ba")" "$(ratio "$nb" "$bb")" "$(ratio "$xa" "$ya")" "$(ratio "$xb" "$yb")"
fi
