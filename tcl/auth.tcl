# Sender authentication, the Tcl side (docs/authentication.md): upstream nssmtpd 2.8's SPF
# interface (smtpd::checkspf calling spfproc, smtpd::spf as the built-in evaluator), policy
# chain rules that turn the verification results into findings, and smtpd::authdetails.
# The checks themselves run in the engine; Tcl only reads their results. Each proc is
# defined only if the application has not defined it.

namespace eval ::smtpd {}
namespace eval ::nssmtpd {}

# Named arguments -name value into the caller's variables; defaults is a dict of the
# optional ones. Unknown or missing options are errors.
proc ::nssmtpd::namedargs {who arguments required defaults} {
    if {[llength $arguments] % 2} {
        ::error "$who: options must come as -name value pairs"
    }
    set given $defaults
    foreach {option value} $arguments {
        set name [string range $option 1 end]
        if {[string index $option 0] ne "-" || ($name ni $required && ![dict exists $defaults $name])} {
            ::error "$who: unknown option \"$option\""
        }
        dict set given $name $value
    }
    foreach name $required {
        if {![dict exists $given $name]} {
            ::error "$who: missing required option -$name"
        }
    }
    dict for {name value} $given {
        uplevel 1 [list set $name $value]
    }
}

set ::nssmtpd::spfresults {pass fail softfail neutral none temperror permerror}

# smtpd::checkspf -ip -sender -helo: the SPF result of the configured evaluator (spfproc),
# one of pass fail softfail neutral none temperror permerror. A null sender is "" (or <>)
# and is evaluated for the HELO identity.
if {[info commands ::smtpd::checkspf] eq ""} {
    proc ::smtpd::checkspf {args} {
        ::nssmtpd::namedargs smtpd::checkspf $args {ip sender helo} {}
        foreach name {ip sender helo} {
            set value [set $name]
            if {[string length $value] > 1024 || [regexp {[\x00-\x1f\x7f]} $value]} {
                ::error "invalid SPF input -$name"
            }
        }
        if {$ip eq "" || $helo eq ""} {
            ::error "SPF requires a peer IP and HELO identity"
        }
        if {$sender eq "<>"} {
            set sender ""
        }
        set prefix [ns_smtpd cget -spfproc]
        if {[string trim $prefix] eq ""} {
            return -code error -errorcode {NSSMTPD SPF DISABLED} "SPF evaluation is disabled"
        }
        set result [uplevel #0 [list {*}$prefix -ip $ip -sender $sender -helo $helo]]
        if {$result ni $::nssmtpd::spfresults} {
            ::error "SPF evaluator returned an invalid result"
        }
        return $result
    }
}

# smtpd::spf -ip -sender -helo ?-timeout secs?: the built-in evaluator (RFC 7208, in the
# engine, through the server's resolver). Usable as spfproc.
if {[info commands ::smtpd::spf] eq ""} {
    proc ::smtpd::spf {args} {
        ::nssmtpd::namedargs smtpd::spf $args {ip sender helo} {timeout 20}
        if {![string is double -strict $timeout] || $timeout <= 0 || $timeout > 120} {
            ::error "SPF timeout must be a number of seconds from 0 to 120"
        }
        set started [clock milliseconds]
        set result [ns_smtpd spf $ip $sender $helo $timeout]
        ns_log Notice "smtpd SPF: peeraddr $ip sender {$sender} helo {$helo} result $result\
            elapsed_ms [expr {[clock milliseconds] - $started}]"
        return $result
    }
}

# Upstream's name of its native evaluator: here the same built-in one.
if {[info commands ::smtpd::libspf2] eq ""} {
    proc ::smtpd::libspf2 {args} {
        ::nssmtpd::namedargs smtpd::libspf2 $args {ip sender helo} {}
        return [ns_smtpd spf $ip $sender $helo]
    }
}

# Policy chain rule: spf-result (the result, or disabled / evaluation-error) and spf-fail
# for a fail. The engine's result (authcheck spf) when there is one, else smtpd::checkspf.
# Always continues.
if {[info commands ::smtpd::spfpolicy] eq ""} {
    proc ::smtpd::spfpolicy {context findingsVar} {
        upvar 1 $findingsVar findings
        set id [dict get $context id]
        set results [ns_smtpd authresults $id]
        if {[dict exists $results spf]} {
            set result [dict get $results spf result]
        } else {
            try {
                set result [smtpd::checkspf -ip [dict get $context peeraddr] \
                    -sender [dict get $context sender] -helo [dict get $context helo]]
            } trap {NSSMTPD SPF DISABLED} {} {
                set result disabled
            } on error {message} {
                ns_log Warning "smtpd::spfpolicy: $message"
                set result evaluation-error
            }
        }
        dict set findings spf-result $result
        if {$result eq "fail"} {
            dict set findings spf-fail 1
        }
        return continue
    }
}

# Policy chain rule: one finding per method checked by authcheck (spf-pass, dkim-fail,
# arc-none, dmarc-fail, ...), and auth-results with the whole dict. Always continues.
if {[info commands ::smtpd::authpolicy] eq ""} {
    proc ::smtpd::authpolicy {context findingsVar} {
        upvar 1 $findingsVar findings
        set id [dict get $context id]
        foreach finding [ns_smtpd authresults $id -findings] {
            dict set findings $finding 1
        }
        dict set findings auth-results [ns_smtpd authresults $id]
        return continue
    }
}

# authdetailsproc: logs the verification results of the message (one Notice line).
# Returns no headers: Authentication-Results comes from authresultsheader.
if {[info commands ::smtpd::authdetails] eq ""} {
    proc ::smtpd::authdetails {id} {
        if {[ns_smtpd getflag $id -1] & [ns_smtpd flag LOCAL]} {
            set details not-checked-local
        } else {
            set details [ns_smtpd authresults $id]
            if {[dict size $details] == 0} {
                set details not-checked
            }
        }
        ns_log Notice "smtpd authentication: session $id peeraddr [ns_smtpd info peeraddr]\
            sender {[ns_smtpd getfrom $id]} $details"
        return ""
    }
}
