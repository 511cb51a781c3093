# Helpers shared by the test files (sourced once by all.tcl, before any test file runs).
namespace eval ::nssmtpd::test {
    namespace export bytes2hex hex2bytes readfile writefile waitfor
}

# Lower-case hex of a byte string: compares binary data readably in -result.
proc ::nssmtpd::test::bytes2hex {bytes} {
    binary scan $bytes H* hex
    return $hex
}

proc ::nssmtpd::test::hex2bytes {hex} {
    binary format H* $hex
}

# Whole file as bytes (binary: Tcl 9 channels refuse invalid UTF-8 by default).
proc ::nssmtpd::test::readfile {path} {
    set f [open $path rb]
    try { read $f } finally { close $f }
}

proc ::nssmtpd::test::writefile {path data} {
    set f [open $path wb]
    try { puts -nonewline $f $data } finally { close $f }
    return $path
}

# Runs the event loop until the expression (evaluated at global level) is true or ms
# milliseconds have passed; returns whether it became true. Callbacks keep running meanwhile.
proc ::nssmtpd::test::waitfor {condition {ms 5000}} {
    set deadline [expr {[clock milliseconds] + $ms}]
    while {![uplevel #0 [list expr $condition]]} {
        if {[clock milliseconds] >= $deadline} {
            return 0
        }
        set ::nssmtpd::test::tick 0
        set id [after 10 {set ::nssmtpd::test::tick 1}]
        vwait ::nssmtpd::test::tick
        after cancel $id
    }
    return 1
}
