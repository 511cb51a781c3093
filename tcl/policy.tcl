# Recipient and message policies, envelope aliases: the Tcl side of recipientpolicyproc,
# datapolicyproc and aliasproc, with the contracts of nssmtpd 2.8 (docs/policy.md,
# docs/aliases.md). Each proc is defined only if the application has not defined it.

namespace eval ::smtpd {}
namespace eval ::nssmtpd {}

# The context a policy gets: the session, the client and the sender.
proc ::nssmtpd::policycontext {id phase} {
    set sender [ns_smtpd getfrom $id]
    if {$sender eq "<>"} {
        set sender ""
    }
    # Policies run in the session's own callback, for which ns_smtpd info answers.
    dict create id $id phase $phase peeraddr [ns_smtpd info peeraddr] sender $sender \
        helo [ns_smtpd gethelo $id]
}

# A policy's answer checked: {action reply}, the reply empty for accept. A message must be
# one line of 1-400 printable ASCII characters (a callback must not inject SMTP replies).
proc ::nssmtpd::policyverdict {what result defer reject} {
    if {[catch {dict get $result action} action]} {
        error "$what returned no action"
    }
    switch -exact -- $action {
        accept { return {accept {}} }
        defer { set reply $defer }
        reject { set reply $reject }
        default { error "$what returned an invalid action \"$action\"" }
    }
    if {[dict exists $result message]} {
        set message [dict get $result message]
        if {[string length $message] > 400 || ![regexp {^[\x20-\x7e]+$} $message]} {
            error "$what returned an invalid message"
        }
        set reply "[lrange $reply 0 1] $message"
    }
    list $action $reply
}

# smtpd::checkpolicy id: recipientpolicyproc on the newest recipient. 1: go on; 0: the policy
# deferred or rejected it (reply set, recipient removed). LOCAL clients are not checked.
if {[info commands ::smtpd::checkpolicy] eq ""} {
    proc ::smtpd::checkpolicy {id} {
        set prefix [ns_smtpd cget -recipientpolicyproc]
        if {[string trim $prefix] eq ""} {
            return 1
        }
        set recipient [lindex [ns_smtpd getrcpt $id 0] 0]
        if {[ns_smtpd getflag $id -1] & [ns_smtpd flag LOCAL]} {
            smtpd::logevent $id policy [dict create action accept reason local-bypass \
                recipient $recipient]
            return 1
        }
        try {
            set context [::nssmtpd::policycontext $id rcpt]
            dict set context recipient $recipient
            set result [uplevel #0 [list {*}$prefix $context]]
            lassign [::nssmtpd::policyverdict recipientpolicyproc $result \
                "451 4.7.1 Please try again later" \
                "550 5.7.1 Recipient rejected by policy"] action reply
            smtpd::logevent $id policy [dict merge {reason recipient-policy} $result \
                [dict create recipient $recipient]]
        } on error {message} {
            ns_log Error "smtpd recipient policy failed: $message"
            smtpd::logevent $id policy [dict create action defer reason callback-error code 451 \
                recipient $recipient]
            set action defer
            set reply "451 4.3.0 Recipient policy unavailable"
        }
        if {$action eq "accept"} {
            return 1
        }
        ns_log Notice "smtpd policy: $action $recipient: $reply"
        ns_smtpd delrcpt $id 0
        ns_smtpd setreply $id "$reply\r\n"
        return 0
    }
}

# smtpd::policychain rules context: ordered scripts deciding together. Each sees $context and
# the shared $findings dict, and gives continue, accept, defer, reject or a dict with action
# (and reason, message); Tcl's continue goes on, break accepts, return gives its value. An
# error or an invalid answer defers (reason policy-rule-error). The result names the
# deciding rule (policy-rule, from 1) and holds the findings.
if {[info commands ::smtpd::policychain] eq ""} {
    proc ::smtpd::policychain {rules context} {
        set findings [dict create]
        set index 0
        foreach rule $rules {
            incr index
            set code [catch $rule answer]
            set valid [expr {![catch {dict size $findings}]}]
            switch -exact -- $code {
                0 - 2 {}
                3 { set answer accept }
                4 { set answer continue }
                default { set valid 0 }
            }
            if {$valid && $answer eq "continue"} {
                continue
            }
            if {$valid && $answer in {accept defer reject}} {
                set answer [dict create action $answer]
            }
            if {!$valid || [catch {dict get $answer action} action]
                    || $action ni {accept defer reject}} {
                if {[catch {dict size $findings}]} {
                    set findings [dict create]
                }
                return [dict create action defer reason policy-rule-error \
                    policy-rule $index findings $findings]
            }
            set result [dict merge [dict create reason policy-chain] $answer]
            dict set result policy-rule $index
            dict set result findings $findings
            return $result
        }
        dict create action accept reason policy-chain-end findings $findings
    }
}

# smtpd::logevent id event details: an event for the SMTP event log (docs/operations.md).
# Does nothing when eventlogging is off; a logging error is reported in the server log and
# never changes the SMTP decision, so policies may call it unconditionally.
if {[info commands ::smtpd::logevent] eq ""} {
    proc ::smtpd::logevent {id event details} {
        if {[catch {ns_smtpd cget -eventlogging} on] || !$on} {
            return
        }
        if {[catch {ns_smtpd logevent $id $event $details} message]} {
            ns_log Warning "smtpd::logevent: $message"
        }
        return
    }
}

# The resolved event log file, published in the module's configuration section for nsstats
# (NaviServer only; tclsh has no configuration database to publish in).
proc ::nssmtpd::publish_eventlogfile {path} {
    if {[info commands ::ns_configsection] eq "" || [info commands ::ns_set] eq ""} {
        return
    }
    catch {
        set section [ns_configsection ns/server/[ns_info server]/module/nssmtpd]
        if {$section ne ""} {
            ns_set update $section eventlogfile $path
        }
    }
}

# The message policy, run by the server after DATA when datapolicyproc is set: a reply
# refuses the whole message. LOCAL clients are not checked.
proc ::nssmtpd::datapolicy {id} {
    if {[ns_smtpd getflag $id -1] & [ns_smtpd flag LOCAL]} {
        return
    }
    try {
        set context [::nssmtpd::policycontext $id data]
        dict set context recipients [lmap r [ns_smtpd getrcpt $id] {lindex $r 0}]
        set result [uplevel #0 [list {*}[ns_smtpd cget -datapolicyproc] $context]]
        lassign [::nssmtpd::policyverdict datapolicyproc $result \
            "451 4.7.1 Please try again later" \
            "550 5.7.1 Message rejected by policy"] action reply
        smtpd::logevent $id message-policy [dict merge {reason message-policy} $result]
    } on error {message} {
        ns_log Error "smtpd message policy failed: $message"
        set action defer
        set reply "451 4.3.0 Message policy unavailable"
    }
    if {$action ne "accept"} {
        ns_log Notice "smtpd message policy: $action: $reply"
        ns_smtpd setreply $id "$reply\r\n"
    }
}

# Resolves recipients with an alias resolver (a command prefix called with -recipient and,
# for passthrough, -rejectunknown false): the final addresses, duplicates removed, at most
# `limit`. Errors: NSSMTPD ALIAS UNKNOWN, LIMIT, INVALID, or the resolver's own.
proc ::nssmtpd::expandaliases {resolver recipients limit passthrough} {
    set resolved {}
    set seen [dict create]
    foreach recipient $recipients {
        set command [list {*}$resolver -recipient $recipient]
        if {$passthrough} {
            lappend command -rejectunknown false
        }
        set targets [uplevel #0 $command]
        if {[llength $targets] == 0} {
            return -code error -errorcode {NSSMTPD ALIAS UNKNOWN} "unknown recipient: $recipient"
        }
        foreach target $targets {
            # One bare envelope address per element: never a display name, a list or SMTP.
            if {![regexp {^[^\x00-\x20\x7f<>()\[\]\\,;:@"]+@[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$} \
                    $target]} {
                return -code error -errorcode {NSSMTPD ALIAS INVALID} \
                    "alias resolver returned an invalid envelope recipient: $target"
            }
            set key [string tolower $target]
            if {[dict exists $seen $key]} {
                continue
            }
            dict set seen $key 1
            lappend resolved $target
            if {[llength $resolved] > $limit} {
                return -code error -errorcode {NSSMTPD ALIAS LIMIT} \
                    "too many recipients after alias expansion"
            }
        }
    }
    return $resolved
}

# The server's alias step at RCPT (aliasproc set): one line `ok`, `unknown`, `limit` or
# `error`, then the final addresses or the message, one per line.
proc ::nssmtpd::aliasrcpt {id recipient passthrough limit} {
    try {
        set targets [::nssmtpd::expandaliases [ns_smtpd cget -aliasproc] [list $recipient] \
            $limit $passthrough]
        return [join [list ok {*}$targets] \n]
    } trap {NSSMTPD ALIAS UNKNOWN} {message} {
        return "unknown\n$message"
    } trap {NSSMTPD ALIAS LIMIT} {message} {
        return "limit\n$message"
    } on error {message} {
        ns_log Error "smtpd alias resolution of $recipient failed: $message"
        return "error\n$message"
    }
}

# ns_smtpd resolve and ns_smtpd send: the recipients as aliasproc resolves them (unchanged
# without one), unknown addresses passing, at most maxrcpt.
proc ::nssmtpd::resolve {recipients} {
    set resolver [ns_smtpd cget -aliasproc]
    if {[string trim $resolver] eq ""} {
        return $recipients
    }
    ::nssmtpd::expandaliases $resolver $recipients [ns_smtpd cget -maxrcpt] 1
}
