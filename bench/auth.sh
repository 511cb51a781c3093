#!/usr/bin/env bash
# The cost per message of sender authentication: nssmtpd relaying to smtp-sink with nothing
# checked (plain), with SPF, DKIM, DMARC and ARC verified (verify: an RSA 2048 signature, an
# SPF record and a DMARC policy served by dnsmasq on loopback), and with the relayed copy
# signed (rsa: 2048-bit key; ed25519). Every mode sends the same DKIM-signed 2 KB message,
# N times over 10 reused sessions (bench/auth_client.py); the modes alternate over ROUNDS
# rounds. Prints the median server CPU (user + system) per message and the ratio to plain.
#
# Usage: bench/auth.sh [N] [ROUNDS]    (default 3000 messages, 3 rounds)
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-3000}
ROUNDS=${2:-3}
make -s build >/dev/null
LIB=$PWD/target/release/libnssmtpd.so
USER_OPT=""; [ "$(id -u)" = 0 ] && USER_OPT="-u nobody"
# shellcheck source=bench/workers-lib.sh
. bench/workers-lib.sh
dir=$(mktemp -d)
trap 'cleanup; rm -rf "$dir"' EXIT

# Keys: RSA 2048 for the incoming signature and for signing, Ed25519 for signing.
openssl genrsa -out "$dir/rsa.pem" 2048 2>/dev/null
openssl genpkey -algorithm ed25519 -out "$dir/ed.pem"
pubkey=$(openssl rsa -in "$dir/rsa.pem" -pubout 2>/dev/null | grep -v '^-----' | tr -d '\n')

# The zone: SPF passes for 127.0.0.1, the RSA key under s1, DMARC p=reject.
dns_port=27360
/usr/bin/python3 - "$pubkey" >"$dir/dnsmasq.conf" <<'PY'
import sys
key = "v=DKIM1; k=rsa; p=" + sys.argv[1]
chunks = ",".join('"%s"' % key[i:i + 250] for i in range(0, len(key), 250))
print("local=/example/")
print('txt-record=bench.example,"v=spf1 ip4:127.0.0.1 -all"')
print("txt-record=s1._domainkey.bench.example," + chunks)
print('txt-record=_dmarc.bench.example,"v=DMARC1; p=reject"')
PY
/usr/sbin/dnsmasq --no-daemon --port=$dns_port --listen-address=127.0.0.1 --bind-interfaces \
    --no-resolv --no-hosts --pid-file= --user="$(id -un)" --conf-file="$dir/dnsmasq.conf" \
    >/dev/null 2>&1 & pids+=($!)
wait_port $dns_port

# The message: 2 KB of text from bench@bench.example, signed by dkimpy with the s1 key.
/usr/bin/python3 - "$dir/rsa.pem" >"$dir/message.eml" <<'PY'
import sys, dkim
body = b"".join(b"line %04d of the benchmark message, some text to hash and carry\r\n" % i for i in range(30))
msg = (b"From: Bench <bench@bench.example>\r\nTo: sink@example.com\r\nSubject: auth bench\r\n"
       b"Date: Mon, 30 Nov 2026 05:00:00 +0000\r\nMessage-ID: <bench@bench.example>\r\n\r\n" + body)
sig = dkim.sign(msg, b"s1", b"bench.example", open(sys.argv[1], "rb").read(),
                include_headers=[b"from", b"to", b"subject", b"date", b"message-id"])
sys.stdout.buffer.write(sig + msg)
PY

/usr/sbin/smtp-sink $USER_OPT -m 1000 127.0.0.1:27361 1024 & pids+=($!)
wait_port 27361

# micros <mode> <port>: one run's server CPU microseconds per message.
micros() {
    local mode=$1 port=$2
    tclsh8.6 bench/auth_server.tcl "$LIB" "$port" 127.0.0.1:27361 "$mode" 127.0.0.1:$dns_port \
        "$dir/rsa.pem" "$dir/ed.pem" 2>"$dir/server.err" & local pid=$!; pids+=($pid)
    wait_port "$port"
    local t0; t0=$(ticks "$pid")
    /usr/bin/python3 bench/auth_client.py "$port" "$dir/message.eml" "$N" 10
    local t1; t1=$(ticks "$pid")
    kill "$pid"; wait "$pid" 2>/dev/null || true
    awk -v a="$t0" -v b="$t1" -v hz="$HZ" -v n="$N" 'BEGIN { printf "%.1f", (b - a) / hz * 1e6 / n }'
}

# The message must pass every check, or "verify" would measure a shortcut.
tclsh8.6 bench/auth_server.tcl "$LIB" 27369 127.0.0.1:27361 check 127.0.0.1:$dns_port \
    "$dir/rsa.pem" "$dir/ed.pem" >"$dir/check.out" 2>"$dir/check.err" & check=$!; pids+=($check)
wait_port 27369
/usr/bin/python3 bench/auth_client.py 27369 "$dir/message.eml" 1 1
sleep 0.5; kill "$check"; wait "$check" 2>/dev/null || true
if [ "$(sort "$dir/check.out" | tr '\n' ' ')" != "arc none dkim pass dmarc pass spf pass " ]; then
    echo "the benchmark message does not pass its checks:" >&2; cat "$dir/check.out" "$dir/check.err" >&2; exit 1
fi

# And the signing modes must really sign: one message each through a sink that keeps it.
mkdir -p "$dir/dump"; chmod 755 "$dir"; chmod 777 "$dir/dump"   # smtp-sink writes as nobody
/usr/sbin/smtp-sink $USER_OPT -d "$dir/dump/%M%S." 127.0.0.1:27362 64 & pids+=($!)
wait_port 27362
for mode in rsa ed25519; do
    tclsh8.6 bench/auth_server.tcl "$LIB" 27368 127.0.0.1:27362 "$mode" 127.0.0.1:$dns_port \
        "$dir/rsa.pem" "$dir/ed.pem" 2>/dev/null & check=$!; pids+=($check)
    wait_port 27368
    /usr/bin/python3 bench/auth_client.py 27368 "$dir/message.eml" 1 1
    kill "$check"; wait "$check" 2>/dev/null || true
done
sleep 0.5
signed=$(cat "$dir"/dump/* | grep -c '^DKIM-Signature: v=1; a=\(rsa\|ed25519\)-sha256; s=\(rsa\|ed\);' || true)
if [ "$signed" != 2 ]; then
    echo "the signing modes did not sign (found $signed of 2 signatures)" >&2; exit 1
fi

modes="plain verify rsa ed25519"
declare -A runs
port=27370
for r in $(seq "$ROUNDS"); do
    for mode in $modes; do
        port=$((port + 1))
        runs[$mode]+=" $(micros "$mode" "$port")"
    done
done
base=$(echo "${runs[plain]}" | median)
printf '%-10s %18s %12s   %s\n' mode "server CPU µs/msg" "x plain" "rounds"
for mode in $modes; do
    m=$(echo "${runs[$mode]}" | median)
    printf '%-10s %18s %12.2f  %s\n' "$mode" "$m" "$(awk -v a="$m" -v b="$base" 'BEGIN { print a / b }')" "${runs[$mode]}"
done
