#!/usr/bin/env bash
# Stages the package (both builds and pkgIndex.tcl) and checks that `package require nssmtpd`
# loads the right library in tclsh 8.6 and tclsh 9.0 and round-trips binary data, and that
# nssmtpd::smtpd and nssmtpd::sink load (a sink catches one message).
set -euo pipefail
cd "$(dirname "$0")/.."
make -s stage >/dev/null
VERSION=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
read -r -d '' check <<'TCL' || true
set v [package require nssmtpd]
if {[package require nssmtpd::smtpd] ne $v || [info commands ::smtpd::start] eq ""} { error "nssmtpd::smtpd" }
if {[package require nssmtpd::sink] ne $v} { error "nssmtpd::sink" }
set sink [nssmtpd::sink start]
set message "Subject: package check\r\n\r\nhi\r\n"
ns_smtpd send check@example.com {sink@example.com} message 127.0.0.1 [$sink port]
$sink wait -timeout 5000
if {[dict get [lindex [$sink messages] 0] subject] ne "package check"} { error "nssmtpd::sink message" }
$sink stop
set data [binary format H* 00ff80]
set enc [ns_smtpd encode base64 $data]
if {[ns_smtpd decode base64 $enc] ne $data} { error "round trip failed" }
set file [file tail [lindex [lsearch -inline -index 1 [info loaded] Nssmtpd] 0]]
puts "package: Tcl [info patchlevel] loaded nssmtpd $v from $file, nssmtpd::smtpd and nssmtpd::sink; encode base64 -> $enc"
TCL
# A script file, not stdin: tclsh then exits non-zero on an error.
script=$(mktemp --suffix=.tcl)
trap 'rm -f "$script"' EXIT
echo "$check" > "$script"
for sh in tclsh8.6 "${NSSMTPD_TCL9_DIR:-$PWD/.tcl9}/tclsh9"; do
    TCLLIBPATH="$PWD/target/pkg" "$sh" "$script"
done
ls -l target/pkg/nssmtpd"$VERSION"
