# The ledger with many messages (see tests/ledger.tcl); prints the counts and exits 1 if a
# message was lost or a session was left over.
# Usage: tclsh ledger.tcl lib n ?tries? ?seed?
lassign $argv lib n tries seed
if {$tries eq ""} { set tries 3 }
if {$seed eq ""} { set seed 1 }
package require tcltest
load $lib Nssmtpd
set tests [file join [file dirname [file dirname [file normalize [info script]]]] tests]
foreach f {helpers.tcl smtpclient.tcl faultrelay.tcl ledger.tcl} {
    source [file join $tests $f]
}
set tmp [file join [file dirname $tests] target ledger-tmp]
file mkdir $tmp
::tcltest::configure -tmpdir $tmp
proc ns_log {args} {}
set t0 [clock seconds]
set c [::ledger::run $n $tries $seed]
foreach key {sent attempts 250 4xx 5xx atrelay duplicates refused_but_relayed unanswered lost sessions_left} {
    puts [format "%-22s %d" $key [dict get $c $key]]
}
puts [format "%-22s %d" seconds [expr {[clock seconds] - $t0}]]
exit [expr {[dict get $c lost] > 0 || [dict get $c sessions_left] > 0}]
