#!/usr/bin/env bash
# Soak: N messages (default 1,000,000) through nssmtpd as a relay proxy to smtp-sink, with
# mail/rcpt/data callbacks that call ns_smtpd, sent by Postfix's smtp-source with 8 parallel
# sessions in chunks of 100,000 (alternately a new connection per message and reused
# connections). After each chunk it prints the server's resident memory, which must stay
# flat, and the errors so far, which must stay zero. Exits non-zero on any error.
#
# Usage: bench/soak.sh [N]
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-1000000}
CHUNK=$(( N < 100000 ? N : 100000 ))
make -s build >/dev/null
LIB=$PWD/target/release/libnssmtpd.so
WORK=$(mktemp -d)
USER_OPT=""; [ "$(id -u)" = 0 ] && USER_OPT="-u nobody"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT
freeport() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/$1) 2>/dev/null && return; sleep 0.1; done; echo "port $1 not up" >&2; exit 1; }
SINK=$(freeport); PORT=$(freeport)
/usr/sbin/smtp-sink $USER_OPT 127.0.0.1:$SINK 256 & pids+=($!)
tclsh8.6 bench/soak_server.tcl "$LIB" "$PORT" "127.0.0.1:$SINK" "$WORK/stats" & pids+=($!)
SERVER=${pids[1]}
wait_port "$SINK"; wait_port "$PORT"

stat() { # key -> value from the server's last report (written every second)
    tr ' ' '\n' <"$WORK/stats" | awk -v k="$1" 'prev == k { print; exit } { prev = $0 }'
}
errors() {
    local e=0 k
    sleep 1.2
    for k in errors_protocol errors_timeout errors_callback errors_io messages_rejected undelivered callback_errors; do
        e=$((e + $(stat "$k")))
    done
    echo $((e + SOURCE_ERRORS))
}
send() { # messages extra-flags...
    local n=$1; shift
    if ! /usr/sbin/smtp-source -s 8 -m "$n" -l 1024 -f soak@example.com -t sink@example.com "$@" \
            127.0.0.1:"$PORT" >"$WORK/source.log" 2>&1 || [ -s "$WORK/source.log" ]; then
        SOURCE_ERRORS=$((SOURCE_ERRORS + 1))
        sed 's/^/smtp-source: /' "$WORK/source.log" | head -5 >&2
    fi
}
rss() { awk '/^VmRSS/ { print $2 }' /proc/"$SERVER"/status; }

SOURCE_ERRORS=0
send 10000 -d   # warm-up: pools, allocator arenas and the runtime's threads
base=$(rss)
printf '%12s %12s %10s %8s\n' messages rss_kib msgs/s errors
printf '%12s %12s %10s %8s\n' 0 "$base" - "$(errors)"
sent=0; chunk=0
while [ "$sent" -lt "$N" ]; do
    n=$(( N - sent < CHUNK ? N - sent : CHUNK ))
    flags=(); [ $((chunk % 2)) = 1 ] && flags=(-d)
    t0=$(date +%s.%N)
    send "$n" "${flags[@]}"
    t1=$(date +%s.%N)
    sent=$((sent + n)); chunk=$((chunk + 1))
    printf '%12d %12d %10.0f %8d\n' "$sent" "$(rss)" "$(awk -v n="$n" -v a="$t0" -v b="$t1" 'BEGIN { print n / (b - a) }')" "$(errors)"
done
sleep 1.2
accepted=$(stat messages_accepted); relayed=$(stat messages_relayed)
echo "accepted $accepted, relayed $relayed (of $((N + 10000)) sent), active sessions $(stat active)"
total=$(errors)
if [ "$accepted" != $((N + 10000)) ] || [ "$relayed" != "$accepted" ]; then total=$((total + 1)); fi
echo "errors: $total"
[ "$total" = 0 ]
