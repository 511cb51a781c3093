#!/usr/bin/env bash
# Per-message latency of the content checks: spamd (SYMBOLS) and clamd (INSTREAM) on
# loopback, for a 2 KB clean message and for a GTUBE/EICAR one, N checks each, one at a time
# through `ns_smtpd checkspam/checkvirus` in tclsh.  Usage: bench/scan.sh [N]
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-100}
make -s build >/dev/null
LIB=$PWD/target/release/libnssmtpd.so
work=$(mktemp -d)
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"' EXIT
USER_OPT=""; [ "$(id -u)" = 0 ] && USER_OPT="-u nobody"
spamd -L --listen=127.0.0.1:27783 --allowed-ips=127.0.0.1 -x $USER_OPT -s stderr 2>/dev/null & pids+=($!)
mkdir -p "$work/db"
echo "44d88612fea8a8f36de82e1278abb02f:68:eicar.com" > "$work/db/test.hdb"
echo "Local.EICAR.NDB:0:*:45494341522d5354414e444152442d414e544956495255532d544553542d46494c45" > "$work/db/test.ndb"
printf 'Foreground yes\nDatabaseDirectory %s/db\nTCPSocket 27310\nTCPAddr 127.0.0.1\nLogFile %s/clamd.log\n' "$work" "$work" > "$work/clamd.conf"
clamd -c "$work/clamd.conf" >/dev/null 2>&1 & pids+=($!)
for p in 27783 27310; do
    for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null && break; sleep 0.1; done
done
tclsh8.6 <<TCL
load $LIB Nssmtpd
ns_smtpd configure -spamd 127.0.0.1:27783 -clamd 127.0.0.1:27310
set body [string repeat "The quick brown fox jumps over the lazy dog. " 40]
set clean "Subject: hello\r\nFrom: a@example.com\r\nTo: b@example.com\r\n\r\n\$body\r\n"
set gtube "Subject: t\r\n\r\nXJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X\r\n"
set eicar "X5O!P%@AP\\[4\\\\PZX54(P^)7CC)7\\}\\\$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!\\\$H+H*"
ns_smtpd checkspam \$clean ;# warm up
proc measure {label script} {
    set t0 [clock microseconds]
    for {set i 0} {\$i < $N} {incr i} { uplevel #0 \$script }
    set ms [expr {([clock microseconds] - \$t0) / 1000.0 / $N}]
    puts [format "%-28s %8.2f ms per message" \$label \$ms]
}
measure "spamd, clean 2 KB" {ns_smtpd checkspam \$clean}
measure "spamd, GTUBE" {ns_smtpd checkspam \$gtube}
measure "clamd, clean 2 KB" {ns_smtpd checkvirus \$clean}
measure "clamd, EICAR" {ns_smtpd checkvirus \$eicar}
TCL
