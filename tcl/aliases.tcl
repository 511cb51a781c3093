# smtpd::resolvefilealiases: the alias resolver of a text alias file (a Postfix `virtual`
# map or an `aliases` file), for use as an alias hook or on its own. The work is done by
# `ns_smtpd aliasfile resolve`; this proc fills omitted options from the module settings.
# Defined only if the application has not defined it already.

namespace eval ::smtpd {}

if {[info commands ::smtpd::resolvefilealiases] eq ""} {
    # Returns the final addresses of one recipient. Errors: NSSMTPD ALIAS UNKNOWN for an
    # unknown recipient when rejection is on (550), NSSMTPD ALIAS CONFIG for a setting
    # that cannot work, NSSMTPD ALIAS ERROR for a failed lookup (both 451).
    proc ::smtpd::resolvefilealiases {args} {
        set settings {
            -format aliasformat -file aliasfile -domains aliasdomains
            -rejectunknown rejectunknownrecipients
            -bouncevalidproc bouncevalidproc -bouncetarget bouncetarget
        }
        if {[llength $args] % 2 != 0} {
            return -code error -errorcode {TCL WRONGARGS} \
                "wrong # args: should be \"smtpd::resolvefilealiases ?-format virtual|aliases?\
                 ?-file path? ?-domains list? ?-rejectunknown bool? ?-bouncevalidproc command?\
                 ?-bouncetarget address? -recipient address\""
        }
        set given [dict create]
        foreach {option value} $args {
            if {$option ne "-recipient" && ![dict exists $settings $option]} {
                set names [join [lsort [list -recipient {*}[dict keys $settings]]] ", "]
                return -code error -errorcode {NSSMTPD ALIAS CONFIG} \
                    "bad option \"$option\": must be one of $names"
            }
            dict set given $option $value
        }
        if {![dict exists $given -recipient]} {
            return -code error -errorcode {NSSMTPD ALIAS CONFIG} "missing required option -recipient"
        }
        # Only an explicit option may be empty: an empty setting counts as not configured.
        dict for {option setting} $settings {
            if {![dict exists $given $option]} {
                set value [ns_smtpd cget -$setting]
                if {$option in {-file -domains} && [string trim $value] eq ""} {
                    return -code error -errorcode {NSSMTPD ALIAS CONFIG} \
                        "provide $option or configure $setting"
                }
                dict set given $option $value
            }
        }
        if {![string is list [dict get $given -domains]]} {
            return -code error -errorcode {NSSMTPD ALIAS CONFIG} \
                "alias domains are not a Tcl list: [dict get $given -domains]"
        }
        set reject [dict get $given -rejectunknown]
        if {![string is boolean -strict $reject]} {
            return -code error -errorcode {NSSMTPD ALIAS CONFIG} \
                "rejectunknownrecipients / -rejectunknown must be a boolean, not \"$reject\""
        }
        dict set given -rejectunknown [expr {$reject ? 1 : 0}]
        set addresses [ns_smtpd aliasfile resolve {*}$given]
        if {[llength $addresses] == 0} {
            return -code error -errorcode {NSSMTPD ALIAS UNKNOWN} \
                "unknown recipient: [dict get $given -recipient]"
        }
        return $addresses
    }
}
