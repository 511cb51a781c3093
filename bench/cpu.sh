#!/usr/bin/env bash
# CPU time per message of the server process (user + system, from /proc), which the
# machine's noise moves far less than messages per second. smtp-source sends N messages of
# 2 KB over 20 sessions (reused connections, -d, and a new connection per message) to
# bench/nssmtpd_server.tcl with callbacks (rcptproc sets VERIFIED, no-op dataproc); with
# BASELINE_LIB set, the same for that build, the two alternating over ROUNDS rounds.
# Prints the median microseconds per message of each.
#
# Usage: bench/cpu.sh [N] [ROUNDS]    (default 10000 messages, 3 rounds)
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-10000}
ROUNDS=${2:-3}
make -s build >/dev/null
LIB=$PWD/target/release/libnssmtpd.so
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT
wait_port() { for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/$1) 2>/dev/null && return; sleep 0.1; done; echo "port $1 not up" >&2; exit 1; }
ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }   # utime + stime, clock ticks
HZ=$(getconf CLK_TCK)

# micros <lib> <port> <extra smtp-source flags...>: one run's CPU microseconds per message.
micros() {
    local lib=$1 port=$2; shift 2
    tclsh8.6 bench/nssmtpd_server.tcl "$lib" "$port" 2>/dev/null & local pid=$!
    pids+=("$pid")
    wait_port "$port"
    local t0; t0=$(ticks "$pid")
    /usr/sbin/smtp-source -s 20 -m "$N" -l 2048 -f bench@example.com -t sink@example.com "$@" \
        127.0.0.1:"$port" >/dev/null
    local t1; t1=$(ticks "$pid")
    kill "$pid"; wait "$pid" 2>/dev/null || true
    awk -v a="$t0" -v b="$t1" -v hz="$HZ" -v n="$N" 'BEGIN { printf "%.1f", (b - a) / hz * 1e6 / n }'
}
median() { tr ' ' '\n' | grep -v '^$' | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

declare -A runs
port=27200
for r in $(seq "$ROUNDS"); do
    for mode in reuse new; do
        flags=(); [ "$mode" = reuse ] && flags=(-d)
        for which in current baseline; do
            lib=$LIB
            if [ "$which" = baseline ]; then
                [ -n "${BASELINE_LIB:-}" ] || continue
                lib=$BASELINE_LIB
            fi
            port=$((port + 1))
            runs["$which $mode"]+=" $(micros "$lib" "$port" "${flags[@]}")"
        done
    done
done
printf '%-10s %-7s %s\n' build mode "CPU us/message (median of $ROUNDS; runs)"
for key in "current reuse" "baseline reuse" "current new" "baseline new"; do
    [ -n "${runs[$key]:-}" ] || continue
    printf '%-10s %-7s %s  (%s )\n' ${key} "$(echo "${runs[$key]}" | median)" "${runs[$key]}"
done
