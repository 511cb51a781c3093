# nssmtpd::sink: a mail sink for test suites. It catches every message sent to it and keeps
# it decoded as a dict, and can refuse or slow down any stage of the dialogue, so that a
# tcltest file can check what a mail-sending program sends and how it copes with failures.
#
#     set sink [nssmtpd::sink start]
#     ... send to 127.0.0.1:[$sink port] ...
#     $sink wait
#     dict get [lindex [$sink messages] 0] subject
#     $sink stop
#
# Each sink's server runs in a child interpreter of its own (ns_smtpd serves one server per
# interpreter, and a test may want two sinks), on this thread: its callbacks run whenever
# the event loop does, and hand each message to the sink's object here through an alias.
# docs/testing-with-the-sink.md describes the API and the message dict.

package require Tcl 8.6-
package require nssmtpd

namespace eval ::nssmtpd::sink {
    namespace export start run
    namespace ensemble create -subcommands {start run}
    variable counter 0
    variable runs 0
    variable stages {connect helo mail rcpt data auth}
    # ns_smtpd options the sink sets itself; start refuses them.
    variable owned {-initproc -heloproc -mailproc -rcptproc -dataproc -errorproc -authproc
        -certificate -authwithouttls}
    # Run in each sink's child interpreter: the callbacks of its ns_smtpd server. They call
    # ::sink::Decide (what a fail or delay rule says) and ::sink::Deliver (a message came),
    # aliases into the sink's object in the parent.
    variable agent {
        namespace eval ::sink {
            # Per session id: the HELO name, the client's IP address, whether MAIL declared
            # 8-bit content. The engine has no end-of-session callback: Connected prunes.
            variable helo
            variable client
            variable eightbit
            array set helo {}
            array set client {}
            array set eightbit {}
            variable authmode any
            variable GOTSTARTTLS [ns_smtpd flag gotstarttls]
            variable sleeps 0
        }

        proc ::sink::start {address port tls auth extra} {
            variable authmode $auth
            # Any sender and recipient from the loopback. Clients elsewhere can deliver to
            # no one: there are no relay domains.
            ns_smtpd local set 127.0.0.0/8 ::1
            # A sink takes what a mail-sending program sends and reports what is wrong with
            # it (long lines, NUL bytes); it does not slow down or cut off a client for
            # errors that its own fail rules cause.
            set options [list -address $address -port $port -initproc {} -errorproc {} \
                -heloproc ::sink::OnHelo -mailproc ::sink::OnMail -rcptproc ::sink::OnRcpt \
                -dataproc ::sink::OnData -helocheck 0 -maxdataline 0 -allownul 1 \
                -barelf normalize \
                -forbidunauthpipelining 0 -maxerrors 1000 -authfaildelay 0 \
                -maxauthfailures 0 -debug 0]
            if {$tls ne ""} {
                lappend options -certificate $tls
            }
            if {$auth ne "none"} {
                lappend options -authproc ::sink::OnAuth -authwithouttls 1
            }
            lindex [ns_smtpd start {*}$options {*}$extra] 1
        }

        # The first HELO, EHLO or MAIL of a session stands for the connection (there is no
        # connect callback): false if a connect rule refused it.
        proc ::sink::Connected {id} {
            variable client
            if {[info exists client($id)]} {
                return 1
            }
            if {[array size client] > 200} {
                Forget
            }
            set client($id) [Peer $id]
            expr {![Apply $id connect [list $client($id)]]}
        }

        proc ::sink::OnHelo {id} {
            variable helo
            set name ""
            regexp {^\S+\s+(\S*)} [ns_smtpd getline $id] -> name
            set helo($id) $name
            if {[Connected $id]} {
                Apply $id helo [list $name]
            }
        }

        proc ::sink::OnMail {id} {
            variable eightbit
            variable authmode
            if {![Connected $id]} {
                return
            }
            set eightbit($id) [regexp -nocase {\s(BODY=8BITMIME|SMTPUTF8)(\s|$)} \
                [ns_smtpd getline $id]]
            if {$authmode eq "required" && [ns_smtpd getauth $id] eq ""} {
                ns_smtpd setreply $id "530 5.7.0 Authentication required"
                return
            }
            Apply $id mail [list [Sender $id]]
        }

        proc ::sink::OnRcpt {id} {
            # Index 0 is the recipient of this RCPT (the engine lists the newest first).
            Apply $id rcpt [list [lindex [ns_smtpd getrcpt $id 0] 0]]
        }

        proc ::sink::OnData {id} {
            variable helo
            variable client
            variable eightbit
            variable GOTSTARTTLS
            set from [Sender $id]
            set to [lmap r [lreverse [ns_smtpd getrcpt $id]] {lindex $r 0}]
            if {[Apply $id data [list $from {*}$to]]} {
                return
            }
            lassign [ns_smtpd getbody $id -binary] message
            set parsed [ns_smtpd parsemessage [WithoutTrace $message] \
                -8bitmime [expr {[info exists eightbit($id)] && $eightbit($id)}]]
            # The engine stored bare CR and LF as CRLF and says which it saw.
            set bare [ns_smtpd gethdr $id X-Smtpd-Bare-Line-Endings]
            if {$bare ne ""} {
                set seen [dict get $parsed problems]
                foreach kind {lf cr} {
                    if {$kind in $bare} { lappend seen bare-$kind }
                }
                set order {bare-lf bare-cr nul missing-date missing-from missing-message-id
                    8bit-without-8bitmime long-line}
                dict set parsed problems [lmap p $order {
                    expr {$p in $seen ? $p : [continue]}
                }]
            }
            Deliver [dict merge [dict create from $from to $to \
                helo [expr {[info exists helo($id)] ? $helo($id) : ""}] \
                client [expr {[info exists client($id)] ? $client($id) : [Peer $id]}] \
                tls [expr {([ns_smtpd getflag $id -1] & $GOTSTARTTLS) != 0}] \
                auth [ns_smtpd getauth $id]] $parsed]
        }

        # authproc: true accepts any user and password; a fail rule's reply refuses them.
        proc ::sink::OnAuth {id user password} {
            lassign [Decide auth [list $user]] reply delay
            Sleep $delay
            if {$reply eq ""} {
                return 1
            }
            ns_smtpd setreply $id $reply
            return 0
        }

        # A stage's rules for these subjects: waits the stage's delay, sets the reply of a
        # failing rule (closing the session after a 421 or at connect); true if it did.
        proc ::sink::Apply {id stage subjects} {
            lassign [Decide $stage $subjects] reply delay
            Sleep $delay
            if {$reply eq ""} {
                return 0
            }
            ns_smtpd setreply $id $reply
            if {$stage eq "connect" || [string match 421* $reply]} {
                ns_smtpd setflag $id -1 abort
            }
            return 1
        }

        # Waits in the event loop, so other sessions and the test's own client go on.
        proc ::sink::Sleep {ms} {
            variable sleeps
            if {$ms <= 0} {
                return
            }
            set key [incr sleeps]
            after $ms [list set ::sink::slept($key) 1]
            vwait ::sink::slept($key)
            unset ::sink::slept($key)
        }

        proc ::sink::Sender {id} {
            set from [ns_smtpd getfrom $id]
            expr {$from eq "<>" ? "" : $from}
        }

        # The client's IP address.
        proc ::sink::Peer {id} {
            foreach s [ns_smtpd sessions] {
                if {[dict get $s id] == $id} {
                    set peer [dict get $s peer]
                    if {[regexp {^\[(.*)\]:\d+$} $peer -> ip] || [regexp {^(.*):\d+$} $peer -> ip]} {
                        return $ip
                    }
                    return $peer
                }
            }
            return ""
        }

        # Drops what is kept about sessions that have ended.
        proc ::sink::Forget {} {
            variable helo
            variable client
            variable eightbit
            set live {}
            foreach s [ns_smtpd sessions] {
                dict set live [dict get $s id] 1
            }
            foreach var {helo client eightbit} {
                foreach id [array names $var] {
                    if {![dict exists $live $id]} {
                        unset ${var}($id)
                    }
                }
            }
        }

        # The message as the client sent it: without the Received: header the engine puts
        # first (one field, folded with CRLF TAB).
        proc ::sink::WithoutTrace {message} {
            set end [string first \r\n $message]
            while {$end >= 0 && [string index $message $end+2] in {" " "\t"}} {
                set end [string first \r\n $message $end+2]
            }
            string range $message $end+2 end
        }
    }
}

# -------------------------------------------------------------------------
# nssmtpd::sink start ?-address a? ?-port p? ?-tls certfile? ?-auth any|none|required?
#     ?ns_smtpd option value ...?

proc ::nssmtpd::sink::start {args} {
    variable counter
    variable owned
    variable agent
    if {[llength $args] % 2} {
        return -code error "wrong # args: should be \"nssmtpd::sink start\
            ?-address address? ?-port port? ?-tls certfile? ?-auth any|none|required?\
            ?-option value ...?\""
    }
    set address 127.0.0.1
    set port 0
    set tls ""
    set auth any
    set extra {}
    foreach {option value} $args {
        switch -exact -- $option {
            -address { set address $value }
            -port { set port $value }
            -tls { set tls $value }
            -auth {
                if {$value ni {any none required}} {
                    return -code error "bad -auth \"$value\": must be any, none, or required"
                }
                set auth $value
            }
            default {
                if {$option in $owned} {
                    return -code error "option $option is set by the sink"
                }
                lappend extra $option $value
            }
        }
    }
    set token sink[incr counter]
    set ns ::nssmtpd::sink::$token
    namespace eval $ns {
        variable messages {}
        variable rules {}
        variable delays {}
        variable tick 0
    }
    set child [interp create]
    try {
        $child eval [LoadScript]
        interp alias $child ::ns_log {} ::nssmtpd::sink::Log
        $child eval $agent
        interp alias $child ::sink::Decide {} ::nssmtpd::sink::Decide $token
        interp alias $child ::sink::Deliver {} ::nssmtpd::sink::Deliver $token
        set bound [$child eval [list ::sink::start $address $port $tls $auth $extra]]
    } on error {msg options} {
        interp delete $child
        namespace delete $ns
        return -options $options $msg
    }
    set ${ns}::child $child
    set ${ns}::port $bound
    set map {}
    foreach sub {port wait messages clear fail delay stop} {
        dict set map $sub [list ::nssmtpd::sink::[string totitle $sub] $token]
    }
    namespace ensemble create -command $ns -map $map
    return $ns
}

# `load` of the library this interpreter uses, for a child interpreter.
proc ::nssmtpd::sink::LoadScript {} {
    foreach scope [list [list {}] {}] {
        set found [lsearch -inline -index 1 [info loaded {*}$scope] Nssmtpd]
        if {$found ne ""} {
            return [list load [lindex $found 0] Nssmtpd]
        }
    }
    return -code error "nssmtpd::sink: the nssmtpd library is not loaded"
}

# -------------------------------------------------------------------------
# The sink object's subcommands (the token is the first argument).

proc ::nssmtpd::sink::Port {token} {
    set ::nssmtpd::sink::${token}::port
}

# wait ?-count n? ?-timeout ms?: until n messages are held; an error after ms.
proc ::nssmtpd::sink::Wait {token args} {
    set count 1
    set timeout 10000
    foreach {option value} [Options $args {-count -timeout} "wait ?-count n? ?-timeout ms?"] {
        if {![string is entier -strict $value] || $value < 0} {
            return -code error "bad $option \"$value\": must be a non-negative integer"
        }
        set [string range $option 1 end] $value
    }
    set ns ::nssmtpd::sink::$token
    set deadline [expr {[clock milliseconds] + $timeout}]
    while {[llength [set ${ns}::messages]] < $count} {
        set left [expr {$deadline - [clock milliseconds]}]
        if {$left <= 0} {
            return -code error -errorcode {NSSMTPD SINK TIMEOUT} \
                "timed out after $timeout ms: [llength [set ${ns}::messages]] of $count\
                messages arrived"
        }
        set timer [after $left [list set ${ns}::tick 0]]
        vwait ${ns}::tick
        after cancel $timer
        if {![namespace exists $ns]} {
            return -code error "the sink was stopped"
        }
    }
    llength [set ${ns}::messages]
}

# messages ?-from glob? ?-to glob? ?-subject glob?: oldest first. Addresses match without
# regard to case (the engine lower-cases them), the subject exactly.
proc ::nssmtpd::sink::Messages {token args} {
    set filters [Options $args {-from -to -subject} \
        "messages ?-from glob? ?-to glob? ?-subject glob?"]
    set out {}
    foreach m [set ::nssmtpd::sink::${token}::messages] {
        if {[dict exists $filters -from]
                && ![string match -nocase [dict get $filters -from] [dict get $m from]]} {
            continue
        }
        if {[dict exists $filters -to]
                && [lsearch -nocase -glob [dict get $m to] [dict get $filters -to]] < 0} {
            continue
        }
        if {[dict exists $filters -subject]
                && ![string match [dict get $filters -subject] [dict get $m subject]]} {
            continue
        }
        lappend out $m
    }
    return $out
}

# clear: back to a fresh sink (no messages, fail rules or delays).
proc ::nssmtpd::sink::Clear {token} {
    set ns ::nssmtpd::sink::$token
    set ${ns}::messages {}
    set ${ns}::rules {}
    set ${ns}::delays {}
    [set ${ns}::child] eval {ns_smtpd configure -greetdelay 0}
    return
}

# fail stage glob reply ?-rate percent? ?-times n?
proc ::nssmtpd::sink::Fail {token args} {
    set usage "fail stage glob reply ?-rate percent? ?-times n?"
    if {[llength $args] < 3} {
        return -code error "wrong # args: should be \"\$sink $usage\""
    }
    lassign $args stage glob reply
    Stage $stage
    if {![regexp {^[2-5]\d\d(?:[ -]|$)} $reply] || [regexp {[\r\n\0]} $reply]} {
        return -code error "bad reply \"$reply\": must be one line starting with a reply code"
    }
    set rate 100
    set times -1
    foreach {option value} [Options [lrange $args 3 end] {-rate -times} $usage] {
        if {![string is double -strict $value] || $value < 0
                || ($option eq "-rate" && $value > 100)
                || ($option eq "-times" && ![string is entier -strict $value])} {
            return -code error "bad $option \"$value\""
        }
        set [string range $option 1 end] $value
    }
    lappend ::nssmtpd::sink::${token}::rules [list $stage $glob $reply $rate $times]
    return
}

# delay stage ms: every command of that stage waits ms first (connect: the greeting).
proc ::nssmtpd::sink::Delay {token stage ms} {
    Stage $stage
    if {![string is entier -strict $ms] || $ms < 0} {
        return -code error "bad delay \"$ms\": must be a non-negative integer (milliseconds)"
    }
    set ns ::nssmtpd::sink::$token
    if {$stage eq "connect"} {
        # The engine's own greeting delay: a client that talks first is refused, as a real
        # server with a greet pause does.
        [set ${ns}::child] eval [list ns_smtpd configure -greetdelay $ms]
    } else {
        dict set ${ns}::delays $stage $ms
    }
    return
}

proc ::nssmtpd::sink::Stop {token} {
    set ns ::nssmtpd::sink::$token
    set child [set ${ns}::child]
    catch {$child eval {ns_smtpd stop}}
    interp delete $child
    rename $ns {}
    namespace delete $ns
    return
}

# -------------------------------------------------------------------------
# Called from the sink's child interpreter.

# The reply of the first fail rule of the stage that matches one of the subjects (and fires,
# under its rate), and the stage's delay.
proc ::nssmtpd::sink::Decide {token stage subjects} {
    upvar #0 ::nssmtpd::sink::${token}::rules rules ::nssmtpd::sink::${token}::delays delays
    set delay [expr {[dict exists $delays $stage] ? [dict get $delays $stage] : 0}]
    set i -1
    foreach rule $rules {
        incr i
        lassign $rule rstage glob reply rate times
        if {$rstage ne $stage || $times == 0} {
            continue
        }
        set hit 0
        foreach subject $subjects {
            if {[string match -nocase $glob $subject]} {
                set hit 1
                break
            }
        }
        if {!$hit || ($rate < 100 && rand() * 100 >= $rate)} {
            continue
        }
        if {$times > 0} {
            lset rules $i 4 [expr {$times - 1}]
        }
        return [list $reply $delay]
    }
    list {} $delay
}

# The child's log: warnings and errors go to this interpreter's ns_log; the notices of a
# server starting and stopping in every test would only be noise, and so would the engine's
# report of an authproc error that a fail rule raised on purpose.
proc ::nssmtpd::sink::Log {severity args} {
    set lower [string tolower $severity]
    if {$lower in {notice debug dev} || [string match debug(* $lower]
            || [string match "*refused by a fail rule*" $args]} {
        return
    }
    catch {::ns_log $severity {*}$args}
    return
}

proc ::nssmtpd::sink::Deliver {token message} {
    lappend ::nssmtpd::sink::${token}::messages $message
    # Wakes a waiting `wait`.
    set ::nssmtpd::sink::${token}::tick 1
    return
}

# -------------------------------------------------------------------------
# Helpers

proc ::nssmtpd::sink::Stage {stage} {
    variable stages
    if {$stage ni $stages} {
        return -code error "bad stage \"$stage\": must be [Choices $stages]"
    }
}

# A list of choices as Tcl's own errors give it: "a or b", "a, b, or c".
proc ::nssmtpd::sink::Choices {names} {
    if {[llength $names] < 3} {
        return [join $names " or "]
    }
    return "[join [lrange $names 0 end-1] {, }], or [lindex $names end]"
}

# -option value pairs from the allowed names, as a dict.
proc ::nssmtpd::sink::Options {words allowed usage} {
    if {[llength $words] % 2} {
        return -code error "wrong # args: should be \"\$sink $usage\""
    }
    foreach {option value} $words {
        if {$option ni $allowed} {
            return -code error "bad option \"$option\": must be [Choices $allowed]"
        }
    }
    return $words
}

# -------------------------------------------------------------------------
# nssmtpd::sink::run ?-timeout ms? program ?arg ...?
#
# Like `exec` (output with stderr, an error for a non-zero exit), but waiting in the event
# loop: a sink's callbacks run in this thread, so a client started with a plain `exec`
# would wait for a server that cannot answer until it has finished.

proc ::nssmtpd::sink::run {args} {
    variable runs
    set timeout 60000
    if {[lindex $args 0] eq "-timeout"} {
        set timeout [lindex $args 1]
        set args [lrange $args 2 end]
    }
    if {[llength $args] == 0} {
        return -code error "wrong # args: should be \"nssmtpd::sink::run ?-timeout ms? program ?arg ...?\""
    }
    set state ::nssmtpd::sink::run[incr runs]
    array set $state {output {}}
    set chan [open |[list {*}$args 2>@1] r]
    fconfigure $chan -blocking 0
    fileevent $chan readable [list ::nssmtpd::sink::Collect $chan $state]
    set timer [after $timeout [list set ${state}(done) timeout]]
    vwait ${state}(done)
    after cancel $timer
    set output [set ${state}(output)]
    set how [set ${state}(done)]
    unset $state
    if {$how eq "timeout"} {
        catch {exec kill {*}[pid $chan]}
        catch {close $chan}
        return -code error -errorcode {NSSMTPD SINK TIMEOUT} \
            "[lindex $args 0] did not finish within $timeout ms: $output"
    }
    fconfigure $chan -blocking 1
    if {[catch {close $chan} msg options]} {
        return -options $options [string trimright $output \n]
    }
    string trimright $output \n
}

proc ::nssmtpd::sink::Collect {chan state} {
    append ${state}(output) [read $chan]
    if {[eof $chan]} {
        fileevent $chan readable {}
        set ${state}(done) eof
    }
}

package provide nssmtpd::sink [package present nssmtpd]
