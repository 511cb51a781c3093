# NaviServer's configuration and log commands for plain tclsh, so an unchanged nsd.tcl-style
# config file can be sourced and read: ns_section, ns_param, ns_config, ns_configsection,
# ns_log, ns_info. Defined only where ns_config does not exist (inside NaviServer the real
# commands are used). Safe to evaluate more than once.

if {[info commands ::ns_config] eq "" || [info exists ::nssmtpd::config::shim]} {
    namespace eval ::nssmtpd::config {
        variable shim 1
        # section name -> flat list of key value key value ... (keys lower-cased)
        if {![info exists sections]} {
            variable sections [dict create]
            variable current ""
        }
    }

    proc ::nssmtpd::config::normalize {name} {
        string tolower [string map {\\ /} [string trim $name]]
    }

    proc ::ns_section {args} {
        set args [lsearch -all -inline -not -exact $args -update]
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
        if {[llength $args] == 2} {
            uplevel #0 [lindex $args 1]
        }
        return ""
    }

    proc ::ns_param {key value} {
        set section $::nssmtpd::config::current
        if {$section eq ""} {
            return -code error "parameter $key not preceded by an ns_section command"
        }
        dict lappend ::nssmtpd::config::sections $section [string tolower $key] $value
        return ""
    }

    proc ::nssmtpd::config::values {section key exact} {
        set section [normalize $section]
        if {![dict exists $::nssmtpd::config::sections $section]} {
            return {}
        }
        set found {}
        foreach {k v} [dict get $::nssmtpd::config::sections $section] {
            if {$k eq [string tolower $key]} {
                lappend found $v
            }
        }
        return $found
    }

    proc ::ns_config {args} {
        set bool 0; set int 0; set all 0; set exact 0; set set 0
        set min ""; set max ""
        while {[llength $args] && [string match -* [lindex $args 0]]} {
            set args [lassign $args opt]
            switch -- $opt {
                -bool  { set bool 1 }
                -int   { set int 1 }
                -all   { set all 1 }
                -exact { set exact 1 }
                -set   { set set 1 }
                -min   { set args [lassign $args min]; set int 1 }
                -max   { set args [lassign $args max]; set int 1 }
                --     { break }
                default {
                    return -code error "bad option \"$opt\": must be -all, -bool, -exact, -int, -max, -min, or -set"
                }
            }
        }
        if {[llength $args] < 2 || [llength $args] > 3} {
            return -code error {wrong # args: should be "ns_config ?-all? ?-bool? ?-int? ?-min min? ?-max max? ?-exact? ?-set? ?--? section key ?default?"}
        }
        lassign $args section key default
        set hasDefault [expr {[llength $args] == 3}]
        set values [::nssmtpd::config::values $section $key $exact]
        if {$all} {
            return $values
        }
        if {![llength $values]} {
            if {$hasDefault && $bool && ![string is boolean -strict $default]} {
                return -code error "expected boolean value but got \"$default\""
            }
            if {$hasDefault && $set} {
                set ::nssmtpd::config::current_save $::nssmtpd::config::current
                dict lappend ::nssmtpd::config::sections [::nssmtpd::config::normalize $section] [string tolower $key] $default
            }
            return [expr {$hasDefault ? $default : ""}]
        }
        if {($bool || $int) && [llength $values] > 1} {
            return -code error "ns_config: [expr {$bool ? "-bool" : "-int"}] flag implies a single value, but got [llength $values] values"
        }
        set value [lindex $values 0]
        if {$bool} {
            if {![string is boolean -strict $value]} {
                if {$hasDefault} {
                    return $default
                }
                return -code error "expected boolean value but got \"$value\""
            }
            return [expr {$value ? 1 : 0}]
        }
        if {$int} {
            if {![string is entier -strict $value]} {
                return -code error "expected integer but got \"$value\""
            }
            if {($min ne "" && $value < $min) || ($max ne "" && $value > $max)} {
                if {$hasDefault} {
                    return $default
                }
                return -code error "value '$value' out of range"
            }
        }
        return $value
    }

    proc ::ns_configsection {section} {
        set section [::nssmtpd::config::normalize $section]
        if {[dict exists $::nssmtpd::config::sections $section]} {
            return [dict get $::nssmtpd::config::sections $section]
        }
        return ""
    }

    proc ::ns_log {severity args} {
        set sev [string totitle [string tolower $severity]]
        if {[string match -nocase debug(*) $severity]} {
            set sev "Debug([string range $severity 6 end-1])"
        }
        set line "[clock format [clock seconds] -format {[%d/%b/%Y:%H:%M:%S]}] $sev: [join $args { }]"
        if {[info exists ::nssmtpd::logfile] && $::nssmtpd::logfile ne ""} {
            set f [open $::nssmtpd::logfile a]
            puts $f $line
            close $f
        } else {
            puts stderr $line
        }
        return ""
    }

    proc ::ns_info {what} {
        switch -- $what {
            server {
                set servers [::ns_configsection ns/servers]
                if {[llength $servers]} {
                    return [lindex $servers 0]
                }
                return nssmtpd
            }
            hostname { return [info hostname] }
            default {
                return -code error "bad option \"$what\": must be hostname or server"
            }
        }
    }
}
