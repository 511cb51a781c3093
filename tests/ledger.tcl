# The ledger: N numbered messages (header X-Seq: n) go through the proxy while faults are
# injected, and at the end every message is looked up at the relays. Used by ledger.test
# (a bounded run) and bench/ledger.tcl (a big one). Needs smtpclient.tcl, faultrelay.tcl,
# the loaded extension and /usr/sbin/smtp-sink.
#
# The client behaves like a real one: it sends each message until it gets 250 or a 5xx,
# at most `tries` times, and treats a 4xx or no answer as "try again". The faults:
#  - smtp-sink (the next hop for odd n) is killed and restarted twice during the run;
#  - the scripted relay (even n) drops the connection at a random step, now and then;
#  - every 53rd message goes to a relay that answers only after the read timeout, after
#    taking the message (so the client is told 451 for a message the relay has);
#  - every 41st message goes to a relay that refuses the recipient permanently (5xx);
#  - one attempt in ten, the client vanishes at a random step.
# Counted: sent, attempts, the final 250/4xx/5xx, messages at a relay, duplicates (at a
# relay more than once), refused-but-relayed, and lost: answered 250 but at no relay, or
# never answered at all. Zero lost is the bar.
namespace eval ::ledger {
    variable sinkpid ""
}

proc ::ledger::freeport {} {
    set s [socket -server {apply {{c a p} {close $c}}} -myaddr 127.0.0.1 0]
    set port [lindex [fconfigure $s -sockname] 2]
    close $s
    return $port
}

proc ::ledger::sink {port dir} {
    variable sinkpid
    set user [expr {[exec id -u] == 0 ? {-u nobody} : {}}]
    set sinkpid [exec /usr/sbin/smtp-sink {*}$user -d $dir/%H%M%S. 127.0.0.1:$port 64 >/dev/null 2>@1 &]
    for {set i 0} {$i < 100} {incr i} {
        if {![catch {socket 127.0.0.1 $port} s]} { close $s; return }
        ::smtpc::pause 20
    }
    error "smtp-sink did not start on port $port"
}

proc ::ledger::killsink {} {
    variable sinkpid
    if {$sinkpid ne ""} {
        catch {exec kill $sinkpid}
        set sinkpid ""
        ::smtpc::pause 50
    }
}

proc ::ledger::rcpt {id} {
    ns_smtpd setflag $id 0 verified
}

# One attempt. Returns the outcome: 250, a 4xx/5xx code, "noanswer" (EOF or timeout), or
# "vanished" when the client left on purpose at step `vanish` (none: it does not).
proc ::ledger::attempt {port seq rcpt vanish} {
    set s [::smtpc::connect $port]
    try {
        set r [::smtpc::code [::smtpc::reply $s]]
        if {$r ne "220"} { return [answer $r] }
        if {$vanish eq "greeting"} { return vanished }
        set r [::smtpc::code [::smtpc::cmd $s "EHLO ledger.test"]]
        if {$r ne "250"} { return [answer $r] }
        set r [::smtpc::code [::smtpc::cmd $s "MAIL FROM:<ledger@client.test>"]]
        if {$r ne "250"} { return [answer $r] }
        if {$vanish eq "mail"} { return vanished }
        set r [::smtpc::code [::smtpc::cmd $s "RCPT TO:<$rcpt>"]]
        if {$r ne "250"} { return [answer $r] }
        if {$vanish eq "rcpt"} { return vanished }
        set r [::smtpc::code [::smtpc::cmd $s DATA]]
        if {$r ne "354"} { return [answer $r] }
        set body "X-Seq: $seq\r\nSubject: ledger $seq\r\n\r\nmessage $seq\r\n"
        switch -- $vanish {
            data { ::smtpc::send $s [string range $body 0 20]; return vanished }
            dot { ::smtpc::send $s $body; return vanished }
            after-dot { ::smtpc::send $s "$body.\r\n"; return vanished }
        }
        ::smtpc::send $s "$body.\r\n"
        set r [::smtpc::code [::smtpc::reply $s]]
        catch {::smtpc::cmd $s QUIT}
        return [answer $r]
    } finally {
        ::smtpc::close $s
    }
}

proc ::ledger::answer {code} {
    if {[string is digit -strict $code]} {
        return $code
    }
    return noanswer
}

# Runs the ledger with n messages; returns a dict of counts.
proc ::ledger::run {n {tries 3} {seed 1}} {
    expr {srand($seed)}
    set dir [file join [::tcltest::temporaryDirectory] ledger[clock clicks]]
    file mkdir $dir
    file attributes $dir -permissions 0777
    set sinkport [freeport]
    sink $sinkport $dir
    set chaos [::frelay::start {chaos 0.05}]
    set late [::frelay::start {dot slow slowms 1500}]
    set refuse [::frelay::start {rcpt 5xx}]
    ns_smtpd local clear
    ns_smtpd relay set sink.test:127.0.0.1:$sinkport chaos.test:127.0.0.1:$chaos \
        late.test:127.0.0.1:$late refuse.test:127.0.0.1:$refuse
    lassign [ns_smtpd start -port 0 -hostname proxy.test -initproc {} -rcptproc ::ledger::rcpt \
        -dataproc {} -errorproc {} -readtimeout 1 -writetimeout 2] - port
    set killed [list [expr {$n / 4}] [expr {$n * 7 / 10}]]
    set restarted [list [expr {$n * 2 / 5}] [expr {$n * 4 / 5}]]
    set steps {greeting mail rcpt data dot after-dot}
    set result [dict create]
    set attempts 0
    set noanswer 0
    try {
        for {set seq 1} {$seq <= $n} {incr seq} {
            if {$seq in $killed} { killsink }
            if {$seq in $restarted} { sink $sinkport $dir }
            if {$seq % 53 == 0} {
                set rcpt $seq@late.test
            } elseif {$seq % 41 == 0} {
                set rcpt $seq@refuse.test
            } elseif {$seq % 2} {
                set rcpt $seq@sink.test
            } else {
                set rcpt $seq@chaos.test
            }
            set final ""
            for {set t 1} {$t <= $tries} {incr t} {
                incr attempts
                set vanish none
                if {$t < $tries && rand() < 0.1} {
                    set vanish [lindex $steps [expr {int(rand() * [llength $steps])}]]
                }
                set final [attempt $port $seq $rcpt $vanish]
                if {$final eq "noanswer"} {
                    incr noanswer
                }
                if {$final eq "250" || [string match 5* $final]} {
                    break
                }
            }
            dict set result $seq $final
        }
        ::nssmtpd::test::waitfor {[llength [ns_smtpd sessions]] == 0} 5000
        set leftover [llength [ns_smtpd sessions]]
        set stats [ns_smtpd stats]
    } finally {
        ns_smtpd stop -timeout 2
        killsink
    }
    # Count every copy at every relay.
    set seen [dict create]
    foreach f [glob -nocomplain -directory $dir *] {
        set ch [open $f rb]
        set d [read $ch]
        close $ch
        if {[regexp -line {^X-Seq: (\d+)} $d -> s]} { dict incr seen $s }
    }
    foreach p [list $chaos $late $refuse] {
        foreach m [::frelay::messages $p] {
            if {[regexp -line {^X-Seq: (\d+)} $m -> s]} { dict incr seen $s }
        }
        ::frelay::stop $p
    }
    file delete -force $dir
    set c [dict create sent $n attempts $attempts 250 0 4xx 0 5xx 0 unanswered 0 \
        atrelay 0 duplicates 0 refused_but_relayed 0 lost 0 noanswer_attempts $noanswer \
        sessions_left $leftover errors_io [dict get $stats errors_io]]
    dict for {seq final} $result {
        set copies [expr {[dict exists $seen $seq] ? [dict get $seen $seq] : 0}]
        if {$copies > 0} { dict incr c atrelay }
        if {$copies > 1} { dict incr c duplicates }
        switch -glob -- $final {
            250 {
                dict incr c 250
                if {$copies == 0} { dict incr c lost }
            }
            4* { dict incr c 4xx }
            5* {
                dict incr c 5xx
                if {$copies > 0} { dict incr c refused_but_relayed }
            }
            default {
                # Never answered on its last try: the client cannot know; count it lost.
                dict incr c unanswered
                dict incr c lost
            }
        }
    }
    return $c
}
