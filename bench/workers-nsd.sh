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
# shellcheck source=bench/workers-lib.sh
. bench/workers-lib.sh
trap 'cleanup; [ -n "${KEEP:-}" ] || rm -rf "$WORK"' EXIT

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
echo "NaviServer: $("$NSSMTPD_NSD" -V 2>&1 | head -1)"
echo "1. rcptproc sleeping 50 ms, 20 sessions, a new connection per message"
slow_table nsd 27710
port=27720

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
