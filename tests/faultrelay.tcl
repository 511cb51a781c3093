# A scripted next hop for fault injection: an SMTP server in this interpreter (Tcl sockets,
# event driven) that answers like a plain MTA, except at the steps it is told to misbehave
# at. Used by fault.test, ledger.test and bench/ledger.tcl.
#
#   ::frelay::start ?faults?     starts one on an ephemeral port; returns the port
#   ::frelay::faults port faults replaces its faults (for connections and steps from now on)
#   ::frelay::messages port      the messages it accepted (answered 250 after the dot)
#   ::frelay::stop port          closes the listener and every open connection
#
# faults is a dict. Keys are steps: greeting ehlo (also HELO) mail rcpt data (the DATA
# command) dot (after the data) rset quit; values are what happens there:
#   ok       the normal answer
#   4xx      a temporary refusal (421 at the greeting, 451 elsewhere)
#   5xx      a permanent refusal (554)
#   drop     the connection is closed without an answer
#   slow     the normal answer, but only after slowms (default 3000) milliseconds
#   garbage  a line that is not an SMTP reply
#   long     an over-long reply line (8000 characters)
#   many     a reply of 301 lines
#   stall    the normal answer, then nothing more is read from the connection
#   hang     no answer at all (the connection stays open)
# Two more keys: "chaos P" drops the connection at any step with probability P (0..1), and
# "slowms N" sets the delay of "slow". A message answered "slow" at the dot is kept: the
# relay took it, only its answer comes too late.
namespace eval ::frelay {
    variable listener   ;# port -> listening socket
    variable faults     ;# port -> faults dict
    variable got        ;# port -> accepted messages
    variable conns      ;# port -> open connection channels
    variable state      ;# chan -> dict (port, mode, message, serial)
    variable serial 0
}

proc ::frelay::start {{faults {}}} {
    variable listener
    set s [socket -server ::frelay::accept -myaddr 127.0.0.1 0]
    set port [lindex [fconfigure $s -sockname] 2]
    set listener($port) $s
    set ::frelay::faults($port) $faults
    set ::frelay::got($port) {}
    set ::frelay::conns($port) {}
    return $port
}

proc ::frelay::faults {port faults} {
    set ::frelay::faults($port) $faults
}

proc ::frelay::messages {port} {
    return $::frelay::got($port)
}

proc ::frelay::stop {port} {
    variable listener
    variable conns
    catch {close $listener($port)}
    foreach c $conns($port) {
        drop $c
    }
    unset -nocomplain listener($port) ::frelay::faults($port) conns($port)
}

proc ::frelay::accept {chan addr cport} {
    variable state
    variable conns
    set port [lindex [fconfigure $chan -sockname] 2]
    fconfigure $chan -blocking 0 -translation binary -buffering none
    lappend conns($port) $chan
    # A serial per connection: channel names are reused, and a late answer must not reach
    # the next connection that got the same name.
    set state($chan) [dict create port $port mode cmd message "" serial [incr ::frelay::serial]]
    if {[answer $chan greeting "220 frelay.test ESMTP scripted relay"] ne "drop"} {
        fileevent $chan readable [list ::frelay::readable $chan]
    }
}

proc ::frelay::drop {chan} {
    variable state
    variable conns
    if {![info exists state($chan)]} {
        return
    }
    set port [dict get $state($chan) port]
    if {[info exists conns($port)]} {
        set conns($port) [lsearch -all -inline -not -exact $conns($port) $chan]
    }
    unset state($chan)
    catch {close $chan}
}

proc ::frelay::write {chan text} {
    if {[info exists ::frelay::state($chan)] && [catch {puts -nonewline $chan "$text\r\n"}]} {
        drop $chan
    }
}

# A delayed answer, written only if its connection is still open.
proc ::frelay::late {chan serial text} {
    variable state
    if {[info exists state($chan)] && [dict get $state($chan) serial] == $serial} {
        write $chan $text
    }
}

# Answers one step as the faults say; returns what it did (the action; "drop" once the
# connection is gone).
proc ::frelay::answer {chan step normal} {
    variable state
    set port [dict get $state($chan) port]
    set f $::frelay::faults($port)
    set action ok
    if {[dict exists $f $step]} {
        set action [dict get $f $step]
    }
    if {[dict exists $f chaos] && rand() < [dict get $f chaos]} {
        set action drop
    }
    switch -- $action {
        ok      { write $chan $normal }
        4xx     { write $chan [expr {$step eq "greeting" ? "421 4.3.2 Injected: not now" : "451 4.3.0 Injected temporary failure"}] }
        5xx     { write $chan "554 5.7.1 Injected permanent failure" }
        drop    { drop $chan }
        slow    {
            set ms [expr {[dict exists $f slowms] ? [dict get $f slowms] : 3000}]
            after $ms [list ::frelay::late $chan [dict get $state($chan) serial] $normal]
        }
        garbage { write $chan "this is not an SMTP reply" }
        many    { write $chan "[string repeat "250-x\r\n" 300]250 x" }
        stall   { write $chan $normal; fileevent $chan readable {} }
        long    { write $chan "250 [string repeat x 8000]" }
        hang    {}
        default { error "frelay: unknown action \"$action\"" }
    }
    return $action
}

proc ::frelay::readable {chan} {
    variable state
    while {[info exists state($chan)]} {
        if {[catch {gets $chan line} n]} {
            drop $chan
            return
        }
        if {$n < 0} {
            if {[eof $chan]} {
                drop $chan
            }
            return
        }
        set line [string trimright $line \r]
        if {[dict get $state($chan) mode] eq "data"} {
            if {$line eq "."} {
                dict set state($chan) mode cmd
                set msg [dict get $state($chan) message]
                dict set state($chan) message ""
                set port [dict get $state($chan) port]
                # The relay keeps the message when it answers 250, late or not.
                if {[answer $chan dot "250 2.0.0 Ok: queued"] in {ok slow}} {
                    lappend ::frelay::got($port) $msg
                }
                continue
            }
            if {[string index $line 0] eq "."} {
                set line [string range $line 1 end]
            }
            dict append state($chan) message "$line\n"
            continue
        }
        set verb [string toupper [lindex [split $line] 0]]
        switch -- $verb {
            EHLO    { answer $chan ehlo "250-frelay.test\r\n250-PIPELINING\r\n250-8BITMIME\r\n250 SIZE 100000000" }
            HELO    { answer $chan ehlo "250 frelay.test" }
            MAIL    { answer $chan mail "250 2.1.0 Ok" }
            RCPT    { answer $chan rcpt "250 2.1.5 Ok" }
            DATA    {
                set a [answer $chan data "354 End data with <CR><LF>.<CR><LF>"]
                if {$a eq "stall"} {
                    return
                }
                if {$a in {ok slow}} {
                    dict set state($chan) mode data
                }
            }
            RSET    { answer $chan rset "250 2.0.0 Ok" }
            NOOP    { write $chan "250 2.0.0 Ok" }
            QUIT    {
                if {[answer $chan quit "221 2.0.0 Bye"] ne "drop"} {
                    drop $chan
                }
                return
            }
            default { write $chan "502 5.5.2 Not implemented" }
        }
    }
}

# Closes every open connection but keeps listening, as a relay that restarts or drops idle
# connections does; with a text, that line is sent first (e.g. a 421 on idle timeout).
proc ::frelay::dropall {port {text ""}} {
    variable conns
    foreach c $conns($port) {
        if {$text ne ""} {
            write $c $text
        }
        drop $c
    }
}
