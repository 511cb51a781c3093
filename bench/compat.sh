#!/usr/bin/env bash
# tcllib's smtpd against nssmtpd::smtpd (tcllib smtpd's API on ns_smtpd), both running the
# same script and deliver proc (bench/compat_server.tcl) in tclsh 8.6, loaded from the staged
# package. Postfix's smtp-source sends N messages of 2 KB over 20 parallel sessions, with a
# new connection per message and with reused connections (-d). Prints messages per second
# for each and the ratio, and checks that deliver saw every message. For reference, ns_smtpd
# itself with a VERIFIED-setting rcptproc and a no-op dataproc (bench/nssmtpd_server.tcl) is measured in the same run; the
# runs alternate between the servers so that load from elsewhere hits all of them alike.
#
# Usage: bench/compat.sh [messages]   (default 2000)
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-2000}
make -s stage >/dev/null
export TCLLIBPATH="$PWD/target/pkg"
tmp=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$tmp"; }
trap cleanup EXIT

wait_port() { for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/$1) 2>/dev/null && return; sleep 0.1; done; echo "port $1 not up" >&2; exit 1; }

tclsh8.6 bench/compat_server.tcl smtpd 27101 "$tmp/tcllib" 2>/dev/null & pids+=($!)
tclsh8.6 bench/compat_server.tcl nssmtpd::smtpd 27102 "$tmp/compat" 2>/dev/null & pids+=($!)
VERSION=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
tclsh8.6 bench/nssmtpd_server.tcl "$TCLLIBPATH/nssmtpd$VERSION/libnssmtpd.so" 27103 2>/dev/null & pids+=($!)
wait_port 27101; wait_port 27102; wait_port 27103

# Messages deliver has seen so far on a server (its count file).
delivered() { local c; c=$(cat "$tmp/$1" 2>/dev/null || echo 0); echo "${c%% *}"; }

rate() { # name port extra-flags -> msgs/s, after checking deliver saw all N (if it counts)
    local name=$1 port=$2; shift 2
    local before t0 t1 after
    before=$(delivered "$name")
    t0=$(date +%s.%N)
    if ! /usr/sbin/smtp-source -s 20 -m "$N" -l 2048 -f bench@example.com -t sink@example.com "$@" 127.0.0.1:"$port" >/dev/null; then
        echo "smtp-source failed against $name" >&2
        exit 1
    fi
    t1=$(date +%s.%N)
    [ "$name" = engine ] && { awk -v n="$N" -v a="$t0" -v b="$t1" 'BEGIN { print n / (b - a) }'; return; }
    for _ in $(seq 50); do
        after=$(delivered "$name")
        [ $((after - before)) -ge "$N" ] && break
        sleep 0.1
    done
    if [ $((after - before)) -ne "$N" ]; then
        echo "$name: deliver saw $((after - before)) of $N messages" >&2
        exit 1
    fi
    awk -v n="$N" -v a="$t0" -v b="$t1" 'BEGIN { print n / (b - a) }'
}

ta=$(rate tcllib 27101); ca=$(rate compat 27102); ea=$(rate engine 27103)
tb=$(rate tcllib 27101 -d); cb=$(rate compat 27102 -d); eb=$(rate engine 27103 -d)
printf '%-36s %12s %12s\n' "$N messages" "new conn/s" "reuse (-d)/s"
printf '%-36s %12.0f %12.0f\n' "tcllib smtpd 1.5" "$ta" "$tb"
printf '%-36s %12.0f %12.0f\n' "nssmtpd::smtpd" "$ca" "$cb"
printf '%-36s %12.0f %12.0f\n' "ns_smtpd, rcptproc + no-op dataproc" "$ea" "$eb"
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { print a / b }'; }
printf '%-36s %12.1f %12.1f\n' "nssmtpd::smtpd / tcllib smtpd" "$(ratio "$ca" "$ta")" "$(ratio "$cb" "$tb")"
printf '%-36s %12.2f %12.2f\n' "nssmtpd::smtpd / ns_smtpd" "$(ratio "$ca" "$ea")" "$(ratio "$cb" "$eb")"
