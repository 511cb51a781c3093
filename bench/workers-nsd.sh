#!/usr/bin/env bash
# bench/workers.sh's two tables in NaviServer module mode: nsd (NSSMTPD_NSD, built locally
# as docs/naviserver.md describes) loads the library as a module whose config section sets
# `workers`; the callbacks come from the server's Tcl library. One nsd per row, all in this
# run, smtp-source as the client and smtp-sink as the relay.
#
# Usage: NSSMTPD_NSD=/tmp/ns/bin/nsd bench/workers-nsd.sh [fast-messages]   (default 5000)
set -euo pipefail
cd "$(dirname "$0")/.."
: "${NSSMTPD_NSD:?set NSSMTPD_NSD to an nsd binary}"
N=${1:-5000}
make -s build >/dev/null
LIB=$PWD/target/release/libnssmtpd.so
HOME_NS=$(dirname "$(dirname "$NSSMTPD_NSD")")
WORK=$(mktemp -d /tmp/nssmtpd-bench-nsd.XXXXXX)
chmod 0777 "$WORK"
USER_OPT=""; NSD_USER=""
[ "$(id -u)" = 0 ] && { USER_OPT="-u nobody"; NSD_USER="-u nobody -g nogroup"; }
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; [ -n "${KEEP:-}" ] || rm -rf "$WORK"; }
trap cleanup EXIT
wait_port() { for _ in $(seq 300); do (exec 3<>/dev/tcp/127.0.0.1/$1) 2>/dev/null && return; sleep 0.1; done; echo "port $1 not up" >&2; exit 1; }
ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
HZ=$(getconf CLK_TCK)
now() { date +%s.%N; }

/usr/sbin/smtp-sink $USER_OPT -m 1000 127.0.0.1:27700 1024 & pids+=($!)
wait_port 27700

# nsd <port> <workers> <slow|fast> <relay>: starts nsd with the module; its pid in $server.
nsd() {
    local port=$1 workers=$2 speed=$3 relay=$4 dir=$WORK/$1
    mkdir -p "$dir/tcl/nssmtpd"
    local sleep=""; [ "$speed" = slow ] && sleep="after 50;"
    cat >"$dir/tcl/nssmtpd/procs.tcl" <<TCL
namespace eval bench {}
proc bench::rcpt {id} { $sleep ns_smtpd setflag \$id 0 verified }
proc bench::data {id} {}
TCL
    cat >"$dir/nsd.tcl" <<TCL
ns_section ns/parameters { ns_param home $HOME_NS; ns_param logdir $dir; ns_param pidfile $dir/nsd.pid }
ns_section ns/servers { ns_param bench bench }
ns_section ns/server/bench/tcl { ns_param library $dir/tcl }
ns_section ns/server/bench/modules { ns_param nssmtpd $LIB }
ns_section ns/server/bench/module/nssmtpd {
    ns_param address 127.0.0.1
    ns_param port $port
    ns_param workers $workers
    ns_param relay "$relay"
    ns_param initproc {ns_smtpd local add 127.0.0.1}
    ns_param rcptproc bench::rcpt
    ns_param dataproc bench::data
    ns_param debug 0
    ns_param maxconnections 20000
}
TCL
    chmod -R a+rwX "$dir"
    # shellcheck disable=SC2086
    "$NSSMTPD_NSD" -f -t "$dir/nsd.tcl" $NSD_USER >"$dir/nsd.log" 2>&1 & server=$!
    pids+=("$server")
    wait_port "$port"
}
finish() { kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; }
run() { # port n flags -> "msgs/s cpu-µs/msg" of nsd
    local port=$1 n=$2; shift 2
    local c0 c1 t0 t1
    c0=$(ticks "$server"); t0=$(now)
    /usr/sbin/smtp-source -s 20 -m "$n" -l 2048 -f bench@example.com -t sink@example.com \
        "$@" 127.0.0.1:"$port" >/dev/null
    t1=$(now); c1=$(ticks "$server")
    awk -v n="$n" -v a="$t0" -v b="$t1" -v c0="$c0" -v c1="$c1" -v hz="$HZ" \
        'BEGIN { printf "%.1f %.0f\n", n / (b - a), (c1 - c0) / hz * 1e6 / n }'
}

echo "NaviServer: $("$NSSMTPD_NSD" -V 2>&1 | head -1)"
echo "1. rcptproc sleeping 50 ms, 20 sessions, a new connection per message"
printf '%-10s %10s %12s\n' workers "msgs/s" "x workers 0"
port=27710; base=""
for w in 0 1 2 4 8 16; do
    n=$(( w == 0 ? 100 : (w > 8 ? 800 : 100 * w) ))
    nsd $port $w slow ""
    read -r rate _ <<<"$(run $port $n)"
    finish
    base=${base:-$rate}
    printf '%-10s %10.1f %12.2f\n' "$w" "$rate" "$(awk -v a="$rate" -v b="$base" 'BEGIN { print a / b }')"
    port=$((port + 1))
done

echo
echo "2. fast callbacks, relayed to smtp-sink, $N messages, 20 sessions"
printf '%-24s %10s %8s %8s   %10s %8s %8s\n' "" "new conn/s" "x w0" "µs/msg" "reuse/s" "x w0" "µs/msg"
w0a=""; w0b=""
for w in 0 2 4; do
    nsd $port $w fast 127.0.0.1:27700
    read -r a ca <<<"$(run $port "$N")"
    read -r b cb <<<"$(run $port "$N" -d)"
    finish
    w0a=${w0a:-$a}; w0b=${w0b:-$b}
    printf '%-24s %10.0f %8.2f %8s   %10.0f %8.2f %8s\n' "module relay, workers $w" \
        "$a" "$(awk -v x="$a" -v y="$w0a" 'BEGIN { print x / y }')" "$ca" \
        "$b" "$(awk -v x="$b" -v y="$w0b" 'BEGIN { print x / y }')" "$cb"
    port=$((port + 1))
done
