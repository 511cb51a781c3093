# Default callbacks of nssmtpd, named as in the original module so an unchanged config
# section (initproc smtpd::init, rcptproc smtpd::rcpt, ...) works. Each is defined only
# if the application has not defined it already.

namespace eval ::smtpd {}
namespace eval ::nssmtpd {}

if {[info commands ::smtpd::init] eq ""} {
    # Loads the relay domains and local networks the configuration gives; a list it does
    # not give keeps what the script set before start.
    proc ::smtpd::init {} {
        set relay [ns_smtpd cget -relaydomains]
        if {[string trim $relay] ne ""} {
            ns_smtpd relay set {*}$relay
        }
        set local [ns_smtpd cget -localdomains]
        if {[string trim $local] ne ""} {
            ns_smtpd local clear
            foreach name $local {
                # As the original module: a name that does not resolve is logged and
                # skipped, so one stale DNS name does not keep the server from starting.
                if {[catch {ns_smtpd local add $name} err]} {
                    ns_log Warning "smtpd::init: local domain \"$name\" skipped: $err"
                }
            }
        }
        ns_log Notice "smtpd::init: Relay Domains: [ns_smtpd relay get]"
        ns_log Notice "smtpd::init: Local Domains: [ns_smtpd local get]"
    }
}

if {[info commands ::smtpd::rcpt] eq ""} {
    # The recipient policy first (recipientpolicyproc, e.g. smtpd::greylist); then every
    # accepted recipient may be handed on to the relay.
    proc ::smtpd::rcpt {id} {
        if {![smtpd::checkpolicy $id]} {
            return
        }
        ns_smtpd setflag $id 0 verified
    }
}

if {[info commands ::smtpd::data] eq ""} {
    # Delivers recipients the relay did not take into the Maildir named by -maildir.
    # Without a Maildir such mail is refused with a temporary error, never dropped.
    proc ::smtpd::data {id} {
        set delivered [ns_smtpd flag delivered]
        set pending 0
        foreach rcpt [ns_smtpd getrcpt $id] {
            if {!([lindex $rcpt 1] & $delivered)} {
                incr pending
            }
        }
        if {$pending == 0} {
            return
        }
        set maildir [ns_smtpd cget -maildir]
        if {$maildir eq ""} {
            ns_smtpd setreply $id "451 4.3.0 No delivery configured for this message\r\n"
            return
        }
        ns_smtpd maildir $id $maildir
    }
}

if {[info commands ::smtpd::error] eq ""} {
    # Logs what the relay refused.
    proc ::smtpd::error {id} {
        ns_log Warning "smtpd::error: [ns_smtpd getline $id]"
    }
}

# In NaviServer, the interpreters that run SMTP callbacks are not in connection threads, so
# NaviServer's ns_conn has no connection there. Callbacks written for the C module (which
# ran them in connection threads) call `ns_conn peeraddr`: it answers for the SMTP session
# whose callback runs; everything else goes to NaviServer's ns_conn.
proc ::nssmtpd::callback_ns_conn {} {
    if {[info commands ::nssmtpd::native_ns_conn] ne "" || [info commands ::ns_conn] eq ""} {
        return
    }
    rename ::ns_conn ::nssmtpd::native_ns_conn
    proc ::ns_conn {args} {
        if {[ns_smtpd info session] ne ""} {
            switch -exact -- [lindex $args 0] {
                peeraddr { return [ns_smtpd info peeraddr] }
                isconnected { return 1 }
            }
        }
        tailcall ::nssmtpd::native_ns_conn {*}$args
    }
}
