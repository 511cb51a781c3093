# Benchmark target for bench/compat.sh: one tcllib-smtpd-style script, run with tcllib's
# smtpd or with nssmtpd::smtpd. The deliver proc counts messages and lines; the counts go to
# countfile a few times a second, so the benchmark can check that every message arrived.
# Usage: tclsh compat_server.tcl package port countfile
lassign $argv package port countfile
package require $package
set ::messages 0
set ::lines 0
proc ::bench_deliver {sender recipients data} {
    incr ::messages
    incr ::lines [llength $data]
}
proc ::write_count {} {
    set f [open $::countfile.tmp w]
    puts $f "$::messages $::lines"
    close $f
    file rename -force $::countfile.tmp $::countfile
    after 200 ::write_count
}
smtpd::configure -deliver ::bench_deliver
smtpd::start 127.0.0.1 $port
::write_count
vwait forever
