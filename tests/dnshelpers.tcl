# A DNS server for tests: Debian's dnsmasq on a free loopback port, serving only the records
# a test gives it (no upstream, no /etc/hosts). Sourced by the test files that need DNS.
#
#   set dns [::dnstest::start {txt-record=example.test,"v=spf1 -all" host-record=a.example.test,192.0.2.1}]
#   ns_smtpd start ... -nameserver 127.0.0.1:[dict get $dns port]
#   ::dnstest::stop $dns
namespace eval ::dnstest {}

# The dnsmasq program, or "" when it is not installed (Debian package dnsmasq-base).
proc ::dnstest::program {} {
    foreach p [list [auto_execok dnsmasq] /usr/sbin/dnsmasq /sbin/dnsmasq] {
        if {$p ne "" && [file executable [lindex $p 0]]} {
            return [lindex $p 0]
        }
    }
    return ""
}

proc ::dnstest::freeport {} {
    set s [socket -server {apply {args {}}} -myaddr 127.0.0.1 0]
    set port [lindex [fconfigure $s -sockname] 2]
    close $s
    return $port
}

# Starts dnsmasq with these configuration lines (txt-record=, host-record=, mx-host=, ...)
# and `local=/zone/` for each zone in zones, so that unknown names there get NXDOMAIN
# rather than REFUSED. Returns a dict: pid, port, conf.
proc ::dnstest::start {lines {zones {}}} {
    set program [program]
    if {$program eq ""} {
        error "dnsmasq is not installed"
    }
    set conf [file join [::tcltest::temporaryDirectory] dnsmasq-[pid]-[clock clicks].conf]
    set text ""
    foreach zone $zones {
        append text "local=/$zone/\n"
    }
    foreach line $lines {
        append text $line\n
    }
    ::nssmtpd::test::writefile $conf $text
    for {set attempt 0} {$attempt < 5} {incr attempt} {
        set port [freeport]
        set pid [exec $program --no-daemon --port=$port --listen-address=127.0.0.1 \
            --bind-interfaces --no-resolv --no-hosts --pid-file= --user=[exec id -un] \
            --conf-file=$conf >/dev/null 2>@1 &]
        # dnsmasq answers TCP on the same port once it is ready.
        for {set i 0} {$i < 100} {incr i} {
            if {![catch {socket 127.0.0.1 $port} s]} {
                close $s
                return [dict create pid $pid port $port conf $conf]
            }
            if {![file exists /proc/$pid]} {
                break
            }
            after 20
        }
        catch {exec kill $pid}
    }
    error "dnsmasq did not come up (configuration $conf)"
}

proc ::dnstest::stop {server} {
    set pid [dict get $server pid]
    catch {exec kill $pid}
    # Gone (or a zombie, which Tcl reaps with its next exec) before the test goes on.
    for {set i 0} {$i < 100} {incr i} {
        if {[catch {::nssmtpd::test::readfile /proc/$pid/stat} stat] || [lindex $stat 2] eq "Z"} {
            break
        }
        after 20
    }
    file delete [dict get $server conf]
}

# A TXT value as dnsmasq wants it: quoted strings of at most 255 characters each.
proc ::dnstest::txt {name value} {
    set parts {}
    for {set i 0} {$i < [string length $value]} {incr i 200} {
        lappend parts "\"[string range $value $i [expr {$i + 199}]]\""
    }
    return "txt-record=$name,[join $parts ,]"
}
