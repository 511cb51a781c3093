# A small event-driven SMTP client for the tests. It waits in the event loop, so callbacks
# of a server running in the same interpreter keep working while a test talks to it.
namespace eval ::smtpc {
    variable buf
    variable eof
    variable wake 0
}

proc ::smtpc::connect {port {host 127.0.0.1}} {
    variable buf
    set s [socket $host $port]
    fconfigure $s -translation binary -blocking 0 -buffering none
    set buf($s) ""
    fileevent $s readable [list ::smtpc::readable $s]
    return $s
}

proc ::smtpc::readable {s} {
    variable buf
    variable eof
    if {[catch {read $s} data]} {
        set data ""
        set eof($s) 1
    }
    if {[eof $s]} {
        set eof($s) 1
        fileevent $s readable {}
    }
    append buf($s) $data
    set ::smtpc::wake 1
}

# The next complete reply (lines joined with \n, line endings removed), or EOF / TIMEOUT.
proc ::smtpc::reply {s {ms 10000}} {
    variable buf
    variable eof
    set deadline [expr {[clock milliseconds] + $ms}]
    while 1 {
        set text $buf($s)
        set pos 0
        while {[set nl [string first "\n" $text $pos]] >= 0} {
            set line [string range $text $pos $nl]
            set pos [expr {$nl + 1}]
            if {[regexp {^\d{3}(?: |\r?\n$)} $line]} {
                set buf($s) [string range $text $pos end]
                set r [string range $text 0 $nl]
                return [string trimright [string map [list \r\n \n] $r] \n]
            }
        }
        if {[info exists eof($s)]} {
            return EOF
        }
        if {[clock milliseconds] > $deadline} {
            return TIMEOUT
        }
        set ::smtpc::wake 0
        set tick [after 20 {set ::smtpc::wake 1}]
        vwait ::smtpc::wake
        after cancel $tick
    }
}

# True once the server closed the connection (waiting up to ms).
proc ::smtpc::closed {s {ms 5000}} {
    variable eof
    set deadline [expr {[clock milliseconds] + $ms}]
    while {![info exists eof($s)] && [clock milliseconds] < $deadline} {
        set ::smtpc::wake 0
        set tick [after 20 {set ::smtpc::wake 1}]
        vwait ::smtpc::wake
        after cancel $tick
    }
    return [info exists eof($s)]
}

proc ::smtpc::send {s data} {
    puts -nonewline $s $data
    flush $s
}

proc ::smtpc::cmd {s line} {
    send $s "$line\r\n"
    reply $s
}

proc ::smtpc::close {s} {
    variable buf
    variable eof
    catch {::close $s}
    unset -nocomplain buf($s) eof($s)
}

# Runs the commands of a whole dialogue; returns the reply codes (greeting first).
proc ::smtpc::codes {port lines} {
    set s [connect $port]
    set out [list [code [reply $s]]]
    foreach l $lines {
        lappend out [code [cmd $s $l]]
    }
    close $s
    return $out
}

proc ::smtpc::code {reply} {
    string range $reply 0 2
}

# Waits in the event loop for ms milliseconds.
proc ::smtpc::pause {ms} {
    set ::smtpc::paused 0
    after $ms {set ::smtpc::paused 1}
    vwait ::smtpc::paused
}

# Runs an external program without blocking the event loop; returns {exitcode output}.
proc ::smtpc::run {args} {
    set ::smtpc::out ""
    set ::smtpc::done 0
    set ch [open |[list {*}$args 2>@1] r]
    fconfigure $ch -blocking 0 -translation binary
    fileevent $ch readable [list ::smtpc::collect $ch]
    vwait ::smtpc::done
    fconfigure $ch -blocking 1
    set code 0
    if {[catch {::close $ch} err opts]} {
        set ec [dict get $opts -errorcode]
        if {[lindex $ec 0] eq "CHILDSTATUS"} {
            set code [lindex $ec 2]
        } else {
            set code 1
        }
    }
    return [list $code $::smtpc::out]
}

proc ::smtpc::collect {ch} {
    append ::smtpc::out [read $ch]
    if {[eof $ch]} {
        fileevent $ch readable {}
        set ::smtpc::done 1
    }
}
