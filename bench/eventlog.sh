#!/usr/bin/env bash
# What the SMTP event log costs per message: Postfix's smtp-source sends 2 KB messages over
# 20 parallel sessions to bench/eventlog_server.tcl (relayed to smtp-sink), with
# eventlogging off and on, alternating over ROUNDS rounds in the same run; prints the median
# messages per second and the server's CPU time (user + system) per message of each, the
# difference, and the event log's size per message.
#
# Usage: bench/eventlog.sh [messages] [rounds]    (default 5000 messages, 3 rounds)
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-5000}
ROUNDS=${2:-3}
make -s build >/dev/null
LIB=$PWD/target/release/libnssmtpd.so
USER_OPT=""; [ "$(id -u)" = 0 ] && USER_OPT="-u nobody"
# shellcheck source=bench/workers-lib.sh
. bench/workers-lib.sh
DIR=$(mktemp -d)
trap 'cleanup; rm -rf "$DIR"' EXIT

/usr/sbin/smtp-sink $USER_OPT -m 1000 127.0.0.1:27400 1024 & pids+=($!)
wait_port 27400

declare -A got
port=27410
for r in $(seq "$ROUNDS"); do
    for mode in off on; do
        rm -f "$DIR/events.log"
        tclsh8.6 bench/eventlog_server.tcl "$LIB" "$port" 127.0.0.1:27400 "$mode" \
            "$DIR/events.log" 2>/dev/null & server=$!
        pids+=("$server")
        wait_port "$port"
        read -r rate cpu <<<"$(run "$port" "$N")"
        finish
        got[$mode.rate]+=" $rate"; got[$mode.cpu]+=" $cpu"
        if [ "$mode" = on ]; then
            lines=$(wc -l <"$DIR/events.log"); bytes=$(wc -c <"$DIR/events.log")
            got[lines]+=" $lines"; got[bytes]+=" $bytes"
        fi
        port=$((port + 1))
    done
done
echo "event log off/on, $N messages of 2 KB, 20 sessions, relayed to smtp-sink, median of $ROUNDS rounds"
printf '%-16s %10s %12s\n' "" "msgs/s" "cpu µs/msg"
for mode in off on; do
    printf '%-16s %10.0f %12.0f\n' "eventlogging $mode" \
        "$(median <<<"${got[$mode.rate]}")" "$(median <<<"${got[$mode.cpu]}")"
done
off=$(median <<<"${got[off.cpu]}"); on=$(median <<<"${got[on.cpu]}")
lines=$(median <<<"${got[lines]}"); bytes=$(median <<<"${got[bytes]}")
printf 'cost of the event log: %+.0f µs CPU per message; %s lines, %s bytes per message\n' \
    "$(awk -v a="$on" -v b="$off" 'BEGIN { print a - b }')" \
    "$(awk -v l="$lines" -v n="$N" 'BEGIN { printf "%.2f", l / n }')" \
    "$(awk -v b="$bytes" -v n="$N" 'BEGIN { printf "%.0f", b / n }')"
