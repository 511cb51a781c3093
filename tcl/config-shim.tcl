# NaviServer's configuration, log and info commands for plain tclsh, so that an unchanged
# nsd.tcl-style config file can be sourced and read with the same calls as inside nsd:
#   ns_section, ns_param, ns_config, ns_configsection, ns_log, ns_info.
# Everything is defined only when ns_config does not exist yet: inside NaviServer the real
# commands stay, and evaluating this file a second time changes nothing.
# State lives in ::nssmtpd::config (sections: normalised name -> flat key/value list, in
# the order the parameters were given; keys keep their spelling, lookups ignore case).

if {[info commands ::ns_config] eq ""} {
    namespace eval ::nssmtpd::config {
        variable sections [dict create]
        variable current ""
        variable update 0

        # Forgets every section (for tests that source more than one config).
        proc reset {} {
            variable sections [dict create]
            variable current ""
            variable update 0
        }

        # nsd: trimmed, backslashes turned into slashes, lower-cased.
        proc normalize {name} {
            string tolower [string map {\\ / } [string trim $name]]
        }

        # The values of key in section, in order; -exact compares case-sensitively.
        proc values {section key exact} {
            variable sections
            set section [normalize $section]
            if {![dict exists $sections $section]} {
                return {}
            }
            set found {}
            foreach {k v} [dict get $sections $section] {
                if {$exact ? [string equal $k $key] : [string equal -nocase $k $key]} {
                    lappend found $v
                }
            }
            return $found
        }

        # Sets key (replacing its first case-insensitive match, or appending) in section.
        proc update {section key value} {
            variable sections
            set section [normalize $section]
            set kv {}
            if {[dict exists $sections $section]} {
                set kv [dict get $sections $section]
            }
            set i 0
            foreach {k v} $kv {
                if {[string equal -nocase $k $key]} {
                    dict set sections $section [lreplace $kv $i+1 $i+1 $value]
                    return
                }
                incr i 2
            }
            lappend kv $key $value
            dict set sections $section $kv
        }

        # Same text as Tcl's own conversion errors.
        proc int {value} {
            if {![string is entier -strict $value]} {
                return -code error "expected integer but got \"$value\""
            }
            return $value
        }
    }

    # ns_section ?-update? name ?script?
    proc ::ns_section {args} {
        set update 0
        if {[lindex $args 0] eq "-update"} {
            set update 1
            set args [lrange $args 1 end]
        }
        if {[llength $args] < 1 || [llength $args] > 2} {
            return -code error {wrong # args: should be "ns_section ?-update? name ?script?"}
        }
        set name [::nssmtpd::config::normalize [lindex $args 0]]
        if {$name eq ""} {
            return -code error "invalid section name: must not be empty"
        }
        if {![dict exists $::nssmtpd::config::sections $name]} {
            dict set ::nssmtpd::config::sections $name {}
        }
        set ::nssmtpd::config::current $name
        set ::nssmtpd::config::update $update
        if {[llength $args] == 2} {
            # As in nsd: the block runs at global level and the section stays current.
            uplevel #0 [lindex $args 1]
        }
        return ""
    }

    # ns_param key value: sections are multi-maps, so a repeated key adds a value (with
    # ns_section -update it replaces the first one instead).
    proc ::ns_param {key value} {
        set section $::nssmtpd::config::current
        if {$section eq ""} {
            return -code error "parameter $key not preceded by an ns_section command"
        }
        if {$::nssmtpd::config::update} {
            ::nssmtpd::config::update $section $key $value
        } else {
            dict lappend ::nssmtpd::config::sections $section $key $value
        }
        return ""
    }

    # ns_config ?-all? ?-bool? ?-int? ?-min n? ?-max n? ?-exact? ?-set? ?--? section key ?default?
    proc ::ns_config {args} {
        set usage {wrong # args: should be "ns_config ?-all? ?-bool? ?-int? ?-min /value/? ?-max /value/? ?-exact? ?-set? ?--? /section/ /key/ ?/default/?"}
        set all 0; set bool 0; set int 0; set exact 0; set doset 0
        set min ""; set max ""
        while {[llength $args] && [string match -* [lindex $args 0]]} {
            set args [lassign $args opt]
            switch -exact -- $opt {
                -all   { set all 1 }
                -bool  { set bool 1 }
                -int   { set int 1 }
                -exact { set exact 1 }
                -set   { set doset 1 }
                -min - -max {
                    if {![llength $args]} {
                        return -code error "missing argument to option \"$opt\""
                    }
                    set args [lassign $args n]
                    set [string range $opt 1 end] [::nssmtpd::config::int $n]
                    set int 1
                }
                -- { break }
                default {
                    return -code error "bad option \"$opt\": must be -all, -bool, -int, -min, -max, -exact, -set, or --"
                }
            }
        }
        if {[llength $args] < 2 || [llength $args] > 3} {
            return -code error $usage
        }
        lassign $args section key default
        set hasDefault [expr {[llength $args] == 3}]
        set values [::nssmtpd::config::values $section $key $exact]
        set count [llength $values]

        if {$count > 1} {
            if {$bool || $int} {
                set flag [expr {$bool ? "-bool" : "-int"}]
                return -code error "ns_config: $flag flag implies a single value, but got $count values"
            }
            # nsd logs a warning here and returns the first value.
            return [expr {$all ? $values : [lindex $values 0]}]
        }

        if {$count == 1} {
            set value [lindex $values 0]
            if {$bool} {
                if {[string is boolean -strict $value]} {
                    return [expr {$value ? 1 : 0}]
                }
                if {!$hasDefault} {
                    return -code error "expected boolean value but got \"$value\""
                }
                # nsd: an unusable value falls back to the default, normalised too.
                if {![string is boolean -strict $default]} {
                    return -code error "expected boolean value but got \"$default\""
                }
                return [expr {$default ? 1 : 0}]
            } elseif {$int} {
                # Not an integer is an error even when a default is given.
                ::nssmtpd::config::int $value
                # nsd 5.2: the lower bound is exclusive for configured values.
                if {($min eq "" || $value > $min) && ($max eq "" || $value <= $max)} {
                    return $value
                }
                if {!$hasDefault} {
                    return -code error "value '$value' out of range"
                }
                # Out of range: the default (checked below).
            } else {
                return [expr {$all ? $values : $value}]
            }
        } elseif {!$hasDefault} {
            return ""
        }

        # The default, returned verbatim once it passes the same type checks
        # (the range is inclusive for defaults).
        if {$bool && ![string is boolean -strict $default]} {
            return -code error "expected boolean value but got \"$default\""
        }
        if {$int} {
            ::nssmtpd::config::int $default
            if {($min ne "" && $default < $min) || ($max ne "" && $default > $max)} {
                return -code error "value '$default' out of range"
            }
        }
        if {$doset && $count == 0} {
            # Make the default queryable, as nsd does during start-up.
            ::nssmtpd::config::update $section $key $default
        }
        return $default
    }

    # nsd returns an ns_set handle; here the flat key/value list of the section.
    proc ::ns_configsection {args} {
        if {[lindex $args 0] eq "--"} {
            set args [lrange $args 1 end]
        }
        if {[llength $args] != 1} {
            return -code error {wrong # args: should be "ns_configsection ?--? section"}
        }
        set section [::nssmtpd::config::normalize [lindex $args 0]]
        if {[dict exists $::nssmtpd::config::sections $section]} {
            return [dict get $::nssmtpd::config::sections $section]
        }
        return ""
    }

    # ns_log severity message ?message ...?: "[dd/Mon/yyyy:HH:MM:SS] Severity: message" on
    # stderr, or appended to the file named by ::nssmtpd::logfile. Never raises an error:
    # logging must not break the caller.
    proc ::ns_log {args} {
        catch {
            set severity [lindex $args 0]
            set known {notice Notice warning Warning error Error fatal Fatal bug Bug
                       debug Debug dev Dev}
            set lower [string tolower $severity]
            if {[dict exists $known $lower]} {
                set severity [dict get $known $lower]
            } elseif {[regexp {^debug\((.*)\)$} $lower -> what]} {
                # Debug(smtpd)-style severities keep their own spelling inside the parentheses.
                set severity "Debug([string range $severity 6 end-1])"
            } else {
                set severity [string totitle $severity]
            }
            set stamp [clock format [clock seconds] -format {[%d/%b/%Y:%H:%M:%S]} -locale C]
            set line "$stamp $severity: [join [lrange $args 1 end] { }]"
            set written 0
            if {[info exists ::nssmtpd::logfile] && $::nssmtpd::logfile ne ""} {
                if {![catch {open $::nssmtpd::logfile a} f]} {
                    catch {puts $f $line}
                    catch {close $f}
                    set written 1
                }
            }
            if {!$written} {
                puts stderr $line
            }
        }
        return ""
    }

    # ns_info server|hostname; the server is the first one configured in ns/servers.
    proc ::ns_info {args} {
        if {[llength $args] != 1} {
            return -code error {wrong # args: should be "ns_info option"}
        }
        switch -exact -- [lindex $args 0] {
            server {
                set servers [::ns_configsection ns/servers]
                if {[llength $servers]} {
                    return [lindex $servers 0]
                }
                return nssmtpd
            }
            hostname {
                return [info hostname]
            }
            default {
                return -code error "bad option \"[lindex $args 0]\": must be hostname or server"
            }
        }
    }
}

# ns_conn peeraddr|isconnected in an SMTP callback, as callbacks written for the C module
# (which ran them in NaviServer connection threads) call them. NaviServer has its own.
if {[info commands ::ns_conn] eq ""} {
    proc ::ns_conn {args} {
        switch -exact -- [lindex $args 0] {
            peeraddr {
                return [ns_smtpd info peeraddr]
            }
            isconnected {
                return [expr {[ns_smtpd info session] ne ""}]
            }
            default {
                return -code error "ns_conn [lindex $args 0]: only peeraddr and isconnected\
                    are available outside NaviServer (in SMTP callbacks)"
            }
        }
    }
}
