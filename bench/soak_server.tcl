# Soak target: nssmtpd relaying to a next hop, with mail, rcpt and data callbacks that use
# the session API. Every second it writes its counters and resident memory to statsfile.
# Usage: tclsh soak_server.tcl lib port relay statsfile
lassign $argv lib port relay statsfile
load $lib Nssmtpd
proc ns_log {args} {}
set ::undelivered 0
set ::callback_errors 0
proc mail {id} {
    if {[ns_smtpd getfrom $id] ne "soak@example.com"} {
        incr ::callback_errors
    }
}
proc rcpt {id} {
    if {![string match *@example.com [lindex [ns_smtpd getrcpt $id 0] 0]]} {
        incr ::callback_errors
    }
    ns_smtpd setflag $id 0 verified
}
# Checks that the relay took every recipient; counts any that it did not.
proc data {id} {
    set delivered [ns_smtpd flag delivered]
    foreach r [ns_smtpd getrcpt $id] {
        if {!([lindex $r 1] & $delivered)} {
            incr ::undelivered
        }
    }
    ns_smtpd gethdr $id From
}
proc vmrss {} {
    set f [open /proc/self/status]
    regexp -line {^VmRSS:\s+(\d+)} [read $f] -> kb
    close $f
    return $kb
}
proc report {} {
    set f [open $::statsfile.tmp w]
    puts $f [list {*}[ns_smtpd stats] rss_kib [vmrss] undelivered $::undelivered \
        callback_errors $::callback_errors]
    close $f
    file rename -force $::statsfile.tmp $::statsfile
    after 1000 report
}
ns_smtpd relay set example.com
ns_smtpd start -port $port -initproc {} -relay $relay -mailproc mail -rcptproc rcpt \
    -dataproc data -errorproc {} -debug 0 -maxconnections 1000
report
vwait forever
