# Benchmark target for the event log: rcptproc sets VERIFIED (and, with the event log on,
# folds a policy note into the recipient event as smtpd::checkpolicy does), no-op dataproc,
# mail relayed to smtp-sink; the event log on or off.
# Usage: tclsh eventlog_server.tcl lib port relay on|off eventlogfile
lassign $argv lib port relay mode file
load $lib Nssmtpd
proc rcpt {id} {
    smtpd::logevent $id policy {action accept reason bench}
    ns_smtpd setflag $id 0 verified
}
proc data {id} {}
ns_smtpd local add 127.0.0.1
ns_smtpd start -port $port -initproc {} -rcptproc rcpt -dataproc data -debug 0 \
    -maxconnections 20000 -relay $relay -eventlogging [expr {$mode eq "on"}] \
    -eventlogfile $file
vwait forever
