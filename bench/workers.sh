#!/usr/bin/env bash
# The interpreter pool (-workers). Postfix's smtp-source sends 2 KB messages over 20
# parallel sessions to bench/workers_server.tcl, one server process per row, all in this run:
#
# 1. rcptproc sleeping 50 ms (a database query, a DNS lookup): messages per second for
#    workers 0, 1, 2, 4, 8 and 16, and the ratio to workers 0 (ideal: min(workers, 20)).
# 2. fast callbacks (rcptproc sets VERIFIED, no-op dataproc), relayed to smtp-sink: workers
#    0, 2 and 4, a new connection per message and reused connections (-d), against
#    smtp-sink itself; messages per second, the ratio to workers 0, and the CPU time of the
#    server process (user + system, from /proc) per message.
#
# The fast rows alternate over ROUNDS rounds (workers 0, 2, 4, 0, 2, 4, ...) and print the
# median of each, as the machine's noise moves single runs a lot.
#
# Usage: bench/workers.sh [fast-messages] [rounds]    (default 5000 messages, 3 rounds)
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-5000}
ROUNDS=${2:-3}
make -s build >/dev/null
LIB=$PWD/target/release/libnssmtpd.so
USER_OPT=""; [ "$(id -u)" = 0 ] && USER_OPT="-u nobody"
# shellcheck source=bench/workers-lib.sh
. bench/workers-lib.sh

/usr/sbin/smtp-sink $USER_OPT -m 1000 127.0.0.1:27300 1024 & pids+=($!)
wait_port 27300

serve() { # port workers speed ?relay?
    tclsh8.6 bench/workers_server.tcl "$LIB" "$@" 2>/dev/null & server=$!
    pids+=("$server")
    wait_port "$1"
}

echo "1. rcptproc sleeping 50 ms, 20 sessions, a new connection per message"
slow_table serve 27310
port=27320

echo
echo "2. fast callbacks, relayed to smtp-sink, $N messages, 20 sessions, median of $ROUNDS rounds"
printf '%-24s %10s %8s %8s   %10s %8s %8s\n' "" "new conn/s" "x w0" "µs/msg" "reuse/s" "x w0" "µs/msg"
rate() { # port n flags -> msgs/s with no server CPU (smtp-sink row)
    local t0 t1; t0=$(now)
    /usr/sbin/smtp-source -s 20 -m "$2" -l 2048 -f bench@example.com -t sink@example.com "${@:3}" \
        127.0.0.1:"$1" >/dev/null
    t1=$(now); awk -v n="$2" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", n / (b - a) }'
}
sa=$(rate 27300 "$N"); sb=$(rate 27300 "$N" -d)
printf '%-24s %10.0f %8s %8s   %10.0f %8s %8s\n' "smtp-sink (ceiling)" "$sa" - - "$sb" - -
declare -A got
for r in $(seq "$ROUNDS"); do
    for w in 0 2 4; do
        serve $port $w fast 127.0.0.1:27300
        read -r a ca <<<"$(run $port "$N")"
        read -r b cb <<<"$(run $port "$N" -d)"
        finish
        got[$w.a]+=" $a"; got[$w.ca]+=" $ca"; got[$w.b]+=" $b"; got[$w.cb]+=" $cb"
        port=$((port + 1))
    done
done
w0a=$(median <<<"${got[0.a]}"); w0b=$(median <<<"${got[0.b]}")
for w in 0 2 4; do
    a=$(median <<<"${got[$w.a]}"); ca=$(median <<<"${got[$w.ca]}")
    b=$(median <<<"${got[$w.b]}"); cb=$(median <<<"${got[$w.cb]}")
    printf '%-24s %10.0f %8.2f %8s   %10.0f %8.2f %8s\n' "nssmtpd relay, workers $w" \
        "$a" "$(awk -v x="$a" -v y="$w0a" 'BEGIN { print x / y }')" "$ca" \
        "$b" "$(awk -v x="$b" -v y="$w0b" 'BEGIN { print x / y }')" "$cb"
done
