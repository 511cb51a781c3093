# Benchmark target for the interpreter pool: rcptproc sets VERIFIED (after sleeping 50 ms
# with "slow", standing in for a database query or a DNS lookup), a no-op dataproc; the
# same procs in the starting interpreter and, through workerinit, in every worker.
# Usage: tclsh workers_server.tcl lib port workers slow|fast ?relay?
lassign $argv lib port workers speed relay
load $lib Nssmtpd
set procs {
    proc rcpt {id} { ns_smtpd setflag $id 0 verified }
    proc data {id} {}
}
if {$speed eq "slow"} {
    set procs {
        proc rcpt {id} { after 50; ns_smtpd setflag $id 0 verified }
        proc data {id} {}
    }
}
eval $procs
ns_smtpd local add 127.0.0.1
set opts [list -port $port -initproc {} -rcptproc rcpt -dataproc data -debug 0 \
    -maxconnections 20000 -workers $workers -workerinit $procs]
if {$relay ne ""} { lappend opts -relay $relay }
ns_smtpd start {*}$opts
vwait forever
