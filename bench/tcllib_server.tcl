# Benchmark target: tcllib's smtpd with a no-op deliver proc. Usage: tclsh tcllib_server.tcl port
package require smtpd
proc ::bench_deliver {sender recipients data} {}
smtpd::configure -deliver ::bench_deliver
smtpd::start 127.0.0.1 [lindex $argv 0]
vwait forever
