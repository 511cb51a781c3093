# Runs every tests/*.test file in this one interpreter (-singleproc 1): the extension is
# loaded once, the event loop serves the servers the tests start, and no child tclsh is
# spawned (the Tcl 9 tclsh of scripts/tcl9-setup.sh cannot be exec'ed directly).
#
#   NSSMTPD_LIB  the built library to load (tests/tcltest.rs sets it); when unset the
#                extension is not loaded and only tests that do not need it are useful,
#                e.g. `tclsh8.6 tests/all.tcl -file config.test`
#   NSSMTPD_SRC  the project directory (default: the parent of tests/)
#   TCLSH        the tclsh running this, for tcltest's -interpreter (optional)
# Extra arguments are tcltest options (-file, -match, -skip, -verbose, ...).
package require tcltest 2.2
namespace import ::tcltest::*

puts "Tcl [info patchlevel]"

set testdir [file dirname [file normalize [info script]]]
set srcdir [file dirname $testdir]
if {[info exists ::env(NSSMTPD_SRC)] && $::env(NSSMTPD_SRC) ne ""} {
    set srcdir [file normalize $::env(NSSMTPD_SRC)]
}

if {[info exists ::env(NSSMTPD_LIB)] && $::env(NSSMTPD_LIB) ne ""} {
    load $::env(NSSMTPD_LIB) Nssmtpd
} else {
    puts stderr "warning: NSSMTPD_LIB is not set: the extension is not loaded"
}
# The extension defines the nsd config stand-ins when it loads; without it (or with a build
# that does not embed them yet) take them from the source tree.
if {[info commands ns_config] eq ""} {
    source [file join $srcdir tcl config-shim.tcl]
}
source [file join $testdir helpers.tcl]

testConstraint nssmtpd [expr {[info commands ns_smtpd] ne ""}]
testConstraint tcl9 [package vsatisfies [package provide Tcl] 9.0-]
testConstraint nsd [expr {[info commands ns_conn] ne ""}]
testConstraint tcllib [expr {![catch {package require smtp}]}]
testConstraint swaks [expr {[auto_execok swaks] ne ""}]
testConstraint python3 [expr {[auto_execok python3] ne ""}]
testConstraint smtpsink [file executable /usr/sbin/smtp-sink]

if {[info exists ::env(TCLSH)] && [set sh [auto_execok $::env(TCLSH)]] ne ""} {
    interpreter [lindex $sh 0]
}
configure -testdir $testdir -singleproc 1 \
    -tmpdir [file join $srcdir target tcltest-tmp] {*}$argv
file mkdir [configure -tmpdir]
# Files a server writes by default in the current directory (greylist state, send and
# event logs) go to the scratch directory, not into the source tree.
cd [configure -tmpdir]
runAllTests
