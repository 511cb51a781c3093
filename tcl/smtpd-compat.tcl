# nssmtpd::smtpd: tcllib smtpd's API on top of ns_smtpd.
#
# A script written for tcllib's smtpd runs unchanged when it says
#     package require nssmtpd::smtpd
# instead of `package require smtpd`: ::smtpd::start, ::smtpd::stop, ::smtpd::configure,
# ::smtpd::cget and the ::smtpd::stopped variable behave as tcllib documents, and the
# -validate_host, -validate_sender, -validate_recipient, -deliver and -deliverMIME callbacks
# get the same arguments and produce the same replies. The SMTP protocol itself is nssmtpd's
# engine (limits, timeouts, no SMTP smuggling, state cleared between transactions).
# docs/tcllib-compat.md lists what differs.

package require Tcl 8.6-
package require nssmtpd

namespace eval ::smtpd {
    variable stopped
    namespace export start stop configure

    # tcllib's option array, with the same keys (scripts may read it).
    variable options
    if {![info exists options]} {
        array set options {
            serveraddr         {}
            deliverMIME        {}
            deliver            {}
            validate_host      {}
            validate_sender    {}
            validate_recipient {}
            usetls             0
            tlsopts            {}
        }
        set options(banner) "nssmtpd::smtpd [package present nssmtpd]"
    }
    # tcllib's tls::init options; the ones the engine understands are mapped at start.
    variable tlsopts {-cadir -cafile -certfile -cipher
        -command -keyfile -password -request -require -ssl2 -ssl3 -tls1}
    variable tlsmap {-certfile -certificate -keyfile -key -cafile -cafile -cadir -capath}
    # tcllib's logger levels; only debug, info and notice make the engine log.
    variable loglevel warn
    # ns_smtpd options given to configure (no tcllib equivalent), applied at start.
    variable engine {}
    # The listening address of each channel smtpd::start returned: {address hostname port}.
    variable sockname
    # ns_smtpd options this package drives itself.
    variable owned {-address -port -hostname -initproc -heloproc -mailproc -rcptproc
        -dataproc -errorproc}
    # A session flag bit of our own: validate_host has accepted this session's client.
    variable HOST_OK [expr {0x40000000}]
    # Callbacks running now: ::smtpd::stop inside one must not wait for its own session.
    variable depth 0
    variable pendingstop 0
}

# -------------------------------------------------------------------------
# Public API

proc ::smtpd::cget {option} {
    variable options
    variable tlsopts
    variable loglevel
    variable engine
    set optname [string trimleft $option -]
    if {$optname eq "loglevel"} {
        return $loglevel
    } elseif {[info exists options($optname)]} {
        return $options($optname)
    } elseif {"-$optname" in $tlsopts} {
        set i [lsearch -exact $options(tlsopts) -$optname]
        return [expr {$i < 0 ? {} : [lindex $options(tlsopts) $i+1]}]
    } elseif {[EngineOption -$optname]} {
        if {[dict exists $engine -$optname]} {
            return [dict get $engine -$optname]
        }
        return [ns_smtpd cget -$optname]
    }
    return -code error "unknown option \"-$optname\":\
        must be one of -[join [lsort [array names options]] {, -}]"
}

proc ::smtpd::configure {args} {
    variable options
    variable tlsopts
    variable loglevel
    variable engine
    if {[llength $args] == 0} {
        set r [list -loglevel $loglevel]
        foreach name [lsort [array names options]] {
            if {$name ne "socket"} {
                lappend r -$name $options($name)
            }
        }
        return [concat $r $engine]
    }
    # Checked whole before anything changes, so a bad option changes nothing.
    set changes {}
    set live {}
    while {[llength $args] > 0} {
        set args [lassign $args option]
        if {$option eq "--"} {
            break
        }
        if {[llength $args] == 0} {
            return -code error "value for \"$option\" missing"
        }
        set args [lassign $args value]
        switch -exact -- $option {
            -deliverMIME {
                if {$value ne "" && [catch {package require mime} msg]} {
                    return -code error "-deliverMIME needs tcllib's mime package: $msg"
                }
                lappend changes deliverMIME $value
            }
            -deliver - -validate_host - -validate_sender - -validate_recipient - -banner {
                lappend changes [string range $option 1 end] $value
            }
            -usetls {
                if {![string is boolean -strict $value]} {
                    return -code error "expected boolean value for -usetls but got \"$value\""
                }
                lappend changes usetls [expr {$value ? 1 : 0}]
            }
            -loglevel {
                set levels {debug info notice warn error critical alert emergency}
                if {$value ni $levels} {
                    return -code error "bad level \"$value\": must be one of [join $levels {, }]"
                }
                lappend changes loglevel $value
                lappend live -debug [DebugLevel $value]
            }
            default {
                if {$option in $tlsopts} {
                    lappend changes $option $value
                } elseif {[EngineOption $option]} {
                    lappend changes engine [list $option $value]
                    lappend live $option $value
                } else {
                    return -code error "unknown option: \"$option\":\
                        must be one of -deliverMIME, -deliver,\
                        -validate_host, -validate_recipient,\
                        -validate_sender, -banner, -loglevel, -usetls,\
                        an option suitable to tls::init or an option of ns_smtpd"
                }
            }
        }
    }
    # The engine checks its options now (a running server also takes them); if it refuses
    # one, nothing changes.
    if {[llength $live]} {
        ns_smtpd configure {*}$live
    }
    foreach {name value} $changes {
        switch -glob -- $name {
            loglevel { set loglevel $value }
            engine { dict set engine {*}$value }
            -* { SetTlsOption $name $value }
            default { set options($name) $value }
        }
    }
    Sync
    return {}
}

proc ::smtpd::start {{myaddr {}} {port 25}} {
    variable options
    variable stopped
    variable engine
    variable loglevel
    variable pendingstop
    if {[info exists options(socket)]} {
        return -code error \
            "smtpd service already running on socket $options(socket)"
    }
    if {$pendingstop} {
        EngineStop
    }
    if {$myaddr ne ""} {
        set options(serveraddr) $myaddr
        set address $myaddr
    } else {
        if {$options(serveraddr) eq ""} {
            set options(serveraddr) [info hostname]
        }
        # tcllib listens on every interface when no address is given.
        set address 0.0.0.0
    }
    # tcllib accepts mail for any domain from any client: only the callbacks refuse.
    ns_smtpd local set 0.0.0.0/0 ::/0
    set started [ns_smtpd start -address $address -port $port \
        -hostname $options(serveraddr) -initproc {} -errorproc {} \
        -debug [DebugLevel $loglevel] {*}[TlsOptions] {*}$engine {*}[Procs]]
    set options(socket) [ServerChannel {*}$started]
    set stopped 0
    return $options(socket)
}

proc ::smtpd::stop {} {
    variable options
    if {![info exists options(socket)]} {
        return
    }
    set chan $options(socket)
    Halt
    # Its finalize finds the server stopped already.
    catch {close $chan}
    return
}

# -------------------------------------------------------------------------
# Engine callbacks (ns_smtpd's heloproc, mailproc, rcptproc and dataproc)

# HELO/EHLO: the first command where the client's address can be checked.
proc ::smtpd::OnHelo {id} {
    Guarded $id {HostAllowed $id}
}

proc ::smtpd::OnMail {id} {
    Guarded $id {
        if {![HostAllowed $id]} {
            return
        }
        variable options
        if {$options(validate_sender) eq ""} {
            return
        }
        set from [ns_smtpd getfrom $id]
        if {$from eq "<>"} {
            set from ""
        }
        if {[catch {eval [linsert $options(validate_sender) end $from]}]} {
            Log "MAIL denied user $from"
            ns_smtpd setreply $id "553 5.7.1 Requested action not taken: mailbox name not allowed"
        }
    }
}

proc ::smtpd::OnRcpt {id} {
    Guarded $id {
        variable options
        if {$options(validate_recipient) eq ""} {
            return
        }
        # Index 0 is the newest recipient (the engine keeps them newest first).
        set to [lindex [ns_smtpd getrcpt $id 0] 0]
        # The postmaster mailbox must always be accepted (RFC 5321 4.5.1), as in tcllib.
        set local [lindex [split $to @] 0]
        if {[string equal -nocase $local postmaster]} {
            return
        }
        if {[catch {eval [linsert $options(validate_recipient) end $to]}]} {
            Log "RCPT denied mailbox $to"
            ns_smtpd setreply $id "553 5.7.1 Requested action not taken: mailbox name not allowed"
        }
    }
}

proc ::smtpd::OnData {id} {
    Guarded $id {
        variable options
        set from <[ns_smtpd getfrom $id]>
        if {$from eq "<<>>"} {
            set from <>
        }
        set to {}
        foreach rcpt [lreverse [ns_smtpd getrcpt $id]] {
            lappend to <[lindex $rcpt 0]>
        }
        # tcllib's data: its trace lines, then the message (with our Received:) line by line.
        set message [lindex [ns_smtpd getbody $id] 0]
        set data [list "Return-Path: $from"]
        if {[string range $message end-1 end] eq "\r\n"} {
            set message [string range $message 0 end-2]
        }
        lappend data {*}[split [string map {\r\n \n} $message] \n]
        if {$options(deliverMIME) ne ""} {
            # A message mime cannot parse is a failed delivery too, as in tcllib.
            set failed [catch {
                set token [mime::initialize -string [join $data \n]]
                try {
                    eval [linsert $options(deliverMIME) end $token]
                } finally {
                    mime::finalize $token -subordinates all
                }
            } msg opts]
        } elseif {$options(deliver) ne ""} {
            set failed [catch {eval [linsert $options(deliver) end $from $to $data]} msg opts]
        } else {
            return
        }
        if {$failed} {
            ns_smtpd setreply $id [DeliveryReply [dict get $opts -errorcode] $msg]
        }
    }
}

# -------------------------------------------------------------------------
# Internals

# Runs a callback body in the caller's frame, counting the depth for ::smtpd::stop.
proc ::smtpd::Guarded {id body} {
    variable depth
    incr depth
    try {
        uplevel 1 $body
    } finally {
        incr depth -1
    }
}

# validate_host, once per session: its error refuses the command and closes the session.
proc ::smtpd::HostAllowed {id} {
    variable options
    variable HOST_OK
    if {$options(validate_host) eq "" || ([ns_smtpd getflag $id -1] & $HOST_OK)} {
        return 1
    }
    set addr [PeerAddress $id]
    if {[catch {eval [linsert $options(validate_host) end $addr]} msg]} {
        Log "access denied for $addr: $msg"
        ns_smtpd setreply $id "550 5.7.1 Access denied: [OneLine $msg]"
        ns_smtpd setflag $id -1 abort
        return 0
    }
    ns_smtpd setflag $id -1 $HOST_OK
    return 1
}

# The client's IP address, as tcllib passes it to validate_host.
proc ::smtpd::PeerAddress {id} {
    foreach session [ns_smtpd sessions] {
        if {[dict get $session id] == $id} {
            set peer [dict get $session peer]
            if {[regexp {^\[(.*)\]:\d+$} $peer -> ip] || [regexp {^(.*):\d+$} $peer -> ip]} {
                return $ip
            }
            return $peer
        }
    }
    return ""
}

# tcllib: an error code starting with a reply code is that reply, anything else is 554.
proc ::smtpd::DeliveryReply {errorcode msg} {
    if {[regexp {^\s*([245]\d\d)(\s|$)} $errorcode]} {
        return [OneLine "[string trim $errorcode] $msg"]
    }
    return [OneLine "554 5.3.0 Transaction failed: $msg"]
}

# Reply text must stay one line: a callback's message could otherwise inject replies.
proc ::smtpd::OneLine {text} {
    string map {\r " " \n " " \0 " "} $text
}

proc ::smtpd::Log {text} {
    variable loglevel
    if {$loglevel in {debug info notice}} {
        ns_log Notice "smtpd: $text"
    }
}

proc ::smtpd::DebugLevel {level} {
    switch -exact -- $level {
        debug { return 2 }
        info - notice { return 1 }
        default { return 0 }
    }
}

proc ::smtpd::Running {} {
    variable options
    info exists options(socket)
}

# Whether an option is one of ns_smtpd's that configure may pass on.
proc ::smtpd::EngineOption {option} {
    variable owned
    expr {$option ni $owned && [dict exists [ns_smtpd configure] $option]}
}

proc ::smtpd::SetTlsOption {option value} {
    variable options
    set i [lsearch -exact $options(tlsopts) $option]
    if {$i >= 0} {
        lset options(tlsopts) $i+1 $value
    } else {
        lappend options(tlsopts) $option $value
    }
}

# -usetls 1 with -certfile and -keyfile offers STARTTLS through the engine.
proc ::smtpd::TlsOptions {} {
    variable options
    variable tlsmap
    set r {}
    if {!$options(usetls)} {
        return $r
    }
    foreach {ours engine} $tlsmap {
        set value [cget $ours]
        if {$value ne ""} {
            lappend r $engine $value
        }
    }
    return $r
}

# Only the callbacks that have something to do are installed: each costs a round trip.
proc ::smtpd::Procs {} {
    variable options
    set host [expr {$options(validate_host) ne ""}]
    list \
        -heloproc [expr {$host ? "::smtpd::OnHelo" : ""}] \
        -mailproc [expr {$host || $options(validate_sender) ne "" ? "::smtpd::OnMail" : ""}] \
        -rcptproc [expr {$options(validate_recipient) ne "" ? "::smtpd::OnRcpt" : ""}] \
        -dataproc [expr {$options(deliver) ne "" || $options(deliverMIME) ne ""
                         ? "::smtpd::OnData" : ""}]
}

proc ::smtpd::Sync {} {
    if {[Running]} {
        ns_smtpd configure {*}[Procs]
    }
}

# Marks the server stopped and stops the engine (smtpd::stop, or closing the channel).
proc ::smtpd::Halt {} {
    variable options
    variable stopped
    variable depth
    variable pendingstop
    unset options(socket)
    set stopped 1
    if {$depth > 0} {
        # Inside a callback its own session waits for us: stop once it has its reply.
        set pendingstop 1
        after 0 ::smtpd::EngineStop
    } else {
        EngineStop
    }
}

# What smtpd::start returns, standing for tcllib's server socket: a channel whose
# `fconfigure -sockname` is the listening address as {address hostname port}, like a server
# socket's, and whose close stops the server. It can be neither read nor written.
proc ::smtpd::ServerChannel {address port} {
    variable sockname
    set chan [chan create {read write} ::smtpd::ChannelHandler]
    set sockname($chan) [list $address {} $port]
    return $chan
}

# {address hostname port}, the host name looked up on first use as Tcl looks it up for a
# server socket's -sockname (the address itself for 0.0.0.0 and ::).
proc ::smtpd::SockName {chan} {
    variable sockname
    lassign $sockname($chan) address host port
    if {$host eq ""} {
        set host $address
        catch {
            set s [socket -server {apply {args {}}} -myaddr $address 0]
            try {
                set host [lindex [fconfigure $s -sockname] 1]
            } finally {
                close $s
            }
        }
        set sockname($chan) [list $address $host $port]
    }
    return $sockname($chan)
}

proc ::smtpd::ChannelHandler {method chan args} {
    variable sockname
    variable options
    switch -exact -- $method {
        initialize {
            return {initialize finalize watch read write blocking cget cgetall configure}
        }
        finalize {
            unset -nocomplain sockname($chan)
            if {[info exists options(socket)] && $options(socket) eq $chan} {
                Halt
            }
        }
        watch - blocking {}
        read {
            return -code error "channel \"$chan\" wasn't opened for reading"
        }
        write {
            return -code error "channel \"$chan\" wasn't opened for writing"
        }
        cget {
            if {[lindex $args 0] eq "-sockname"} {
                return [SockName $chan]
            }
            return -code error "bad option \"[lindex $args 0]\": should be -sockname"
        }
        cgetall {
            return [list -sockname [SockName $chan]]
        }
        configure {
            return -code error "bad option \"[lindex $args 0]\": should be -sockname (read-only)"
        }
    }
}

proc ::smtpd::EngineStop {} {
    variable pendingstop
    set pendingstop 0
    ns_smtpd stop
}

package provide nssmtpd::smtpd [package present nssmtpd]
