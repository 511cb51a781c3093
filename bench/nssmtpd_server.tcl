# Benchmark target: nssmtpd with an rcptproc that sets VERIFIED and a no-op dataproc,
# optionally relaying to a next hop; with "none" as fourth argument, no callbacks at all.
# Usage: tclsh nssmtpd_server.tcl lib port ?relay? ?none?
lassign $argv lib port relay none
load $lib Nssmtpd
proc rcpt {id} { ns_smtpd setflag $id 0 verified }
proc data {id} {}
ns_smtpd local add 127.0.0.1
set opts [list -port $port -initproc {} -rcptproc rcpt -dataproc data -debug 0 -maxconnections 20000]
if {$relay ne ""} { lappend opts -relay $relay }
if {$none eq "none"} { lappend opts -rcptproc {} -dataproc {} }
ns_smtpd start {*}$opts
vwait forever
