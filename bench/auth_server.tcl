# Benchmark target for sender authentication: nssmtpd relaying to a next hop, an rcptproc
# marking each recipient VERIFIED (what is relayed) and no dataproc, in one of four modes:
#   plain   nothing checked, nothing signed (the baseline)
#   verify  authcheck {spf dkim dmarc arc} for every client, Authentication-Results added
#   rsa     the relayed copy DKIM-signed with the RSA key
#   ed25519 the relayed copy DKIM-signed with the Ed25519 key
#   check   as verify, and a dataproc that prints each message's results (a sanity check
#           that the benchmark's message really passes, not measured)
# Usage: tclsh auth_server.tcl lib port relay mode nameserver rsa-key ed25519-key
lassign $argv lib port relay mode nameserver rsakey edkey
load $lib Nssmtpd
proc rcpt {id} { ns_smtpd setflag $id 0 verified }
ns_smtpd local add 127.0.0.1
set opts [list -port $port -initproc {} -rcptproc rcpt -dataproc {} -debug 0 \
    -maxconnections 20000 -relay $relay -nameserver $nameserver]
switch -- $mode {
    plain {}
    verify - check {
        lappend opts -authcheck {spf dkim dmarc arc} -authchecktrusted 1 -authresultsheader 1
        if {$mode eq "check"} {
            proc data {id} {
                dict for {method r} [ns_smtpd authresults $id] {
                    puts "$method [dict get $r result]"; puts stderr "$method $r"
                }
                flush stdout
            }
            lappend opts -dataproc data
        }
    }
    rsa {
        lappend opts -dkimsign [list [list bench.example rsa $rsakey]]
    }
    ed25519 {
        lappend opts -dkimsign [list [list bench.example ed $edkey]]
    }
    default {
        error "unknown mode $mode"
    }
}
ns_smtpd start {*}$opts
vwait forever
