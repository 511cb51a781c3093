# What one test with a sink costs: `nssmtpd::sink start`, one message sent with
# `ns_smtpd send`, `$sink wait`, then the checks a test makes on it and `$sink stop`,
# measured N times (default 100) after 5 unmeasured warm-up runs. Prints the median, the
# fastest, the 90th percentile and the slowest in milliseconds, and the same for the parts.
#
# Usage: tclsh bench/sink.tcl ?N?   (with TCLLIBPATH naming the staged package)
package require nssmtpd::sink
set n [expr {$argc > 0 ? [lindex $argv 0] : 100}]
set message "From: bench@example.com\r\nSubject: bench\r\nDate: Sun, 22 Nov 2026 12:00:00 +0000\r\nMessage-ID: <b@example.com>\r\n\r\n[string repeat "a line of text in the message body\r\n" 50]"

proc once {} {
    global message
    set t0 [clock microseconds]
    set sink [nssmtpd::sink start]
    set t1 [clock microseconds]
    ns_smtpd send bench@example.com {sink@example.com} message 127.0.0.1 [$sink port]
    $sink wait -timeout 10000
    set t2 [clock microseconds]
    if {[dict get [lindex [$sink messages] 0] subject] ne "bench"} {
        error "wrong message"
    }
    $sink stop
    set t3 [clock microseconds]
    list [expr {$t3 - $t0}] [expr {$t1 - $t0}] [expr {$t2 - $t1}] [expr {$t3 - $t2}]
}

proc stats {values} {
    set sorted [lsort -real $values]
    set count [llength $sorted]
    set median [expr {$count % 2
        ? [lindex $sorted [expr {$count / 2}]]
        : ([lindex $sorted [expr {$count / 2 - 1}]] + [lindex $sorted [expr {$count / 2}]]) / 2.0}]
    set p90 [lindex $sorted [expr {int(ceil($count * 0.9)) - 1}]]
    format "median %6.2f  min %6.2f  p90 %6.2f  max %6.2f" \
        [expr {$median / 1000.0}] [expr {[lindex $sorted 0] / 1000.0}] \
        [expr {$p90 / 1000.0}] [expr {[lindex $sorted end] / 1000.0}]
}

for {set i 0} {$i < 5} {incr i} {
    once
}
set runs {}
for {set i 0} {$i < $n} {incr i} {
    lappend runs [once]
}
puts "Tcl [info patchlevel], nssmtpd [package present nssmtpd], $n runs (ms):"
foreach label {"start + send + wait + stop" "  start" "  send + wait" "  check + stop"} k {0 1 2 3} {
    puts [format "%-28s %s" $label [stats [lmap r $runs {lindex $r $k}]]]
}
