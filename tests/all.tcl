# Runs every tests/*.test file in this interpreter (-singleproc: the extension is loaded once
# and the event loop serves servers started by the tests).
package require tcltest 2.2
namespace import ::tcltest::*

puts "Tcl [info patchlevel]"
if {![info exists ::env(NSSMTPD_LIB)]} {
    puts stderr "NSSMTPD_LIB must name the built library"
    exit 1
}
load $::env(NSSMTPD_LIB) Nssmtpd

testConstraint tcl9 [package vsatisfies [package provide Tcl] 9.0-]

configure -testdir [file dirname [file normalize [info script]]] -singleproc 1 \
    -tmpdir [file join [file dirname [file normalize [info script]]] .. target tcltest-tmp] \
    {*}$argv
file mkdir [configure -tmpdir]
runAllTests
