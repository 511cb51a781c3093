# Greylisting as a recipient policy, with upstream nssmtpd 2.8's interface: a context dict
# in, a decision dict out. The table itself is the instance's (`ns_smtpd greylist`), shared
# by every interpreter of the server, so there is no Tcl state to set up.

namespace eval ::smtpd {}

if {[info commands ::smtpd::greylist] eq ""} {
    # context: id, peeraddr, helo, sender (empty for a null sender), recipient.
    # Returns action accept|defer, reason greylist-..., and on defer the message.
    proc ::smtpd::greylist {context} {
        foreach key {peeraddr recipient} {
            if {![dict exists $context $key] || [dict get $context $key] eq ""} {
                return -code error -errorcode {NSSMTPD GREYLIST} \
                    "smtpd::greylist: the context has no $key"
            }
        }
        set sender [expr {[dict exists $context sender] ? [dict get $context sender] : ""}]
        set recipient [dict get $context recipient]
        # Paths as the session keeps them may carry their angle brackets.
        foreach var {sender recipient} {
            if {[string match <*> [set $var]]} {
                set $var [string range [set $var] 1 end-1]
            }
        }
        if {[::nssmtpd::spfexception $context $sender $recipient]} {
            return [dict create action accept reason verified-report-sender]
        }
        set decision [ns_smtpd greylist check [dict get $context peeraddr] $sender $recipient]
        if {[dict get $decision action] eq "defer"} {
            dict set decision message "Please try again later"
        }
        return $decision
    }
}

if {[info commands ::smtpd::greylistinit] eq ""} {
    # Kept for configurations written for upstream: the table exists with the server
    # instance and survives repeated starts, so there is nothing to initialise.
    proc ::smtpd::greylistinit {args} {
        return
    }
}

# greylistspfexceptions: an exact {sender recipient} pair listed there passes greylisting
# when smtpd::checkspf gives pass. A null sender never does; any other result, or SPF being
# disabled or failing, leaves ordinary greylisting.
proc ::nssmtpd::spfexception {context sender recipient} {
    if {$sender eq ""} {
        return 0
    }
    set listed 0
    foreach pair [ns_smtpd cget -greylistspfexceptions] {
        if {[llength $pair] == 2 && [lindex $pair 0] eq $sender && [lindex $pair 1] eq $recipient} {
            set listed 1
            break
        }
    }
    if {!$listed} {
        return 0
    }
    try {
        set helo [expr {[dict exists $context helo] ? [dict get $context helo] : ""}]
        set result [smtpd::checkspf -ip [dict get $context peeraddr] -sender $sender -helo $helo]
    } on error {message} {
        ns_log Notice "smtpd::greylist: no SPF exception for $sender -> $recipient: $message"
        return 0
    }
    expr {$result eq "pass"}
}
