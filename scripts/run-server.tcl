# Starts nssmtpd as a local mail sink: 127.0.0.1:2525, mail for any domain from local
# clients delivered into ./Maildir. Usage: tclsh scripts/run-server.tcl ?-option value ...?
set lib [lindex $argv 0]
set options [lrange $argv 1 end]
load $lib Nssmtpd
set maildir [file join [pwd] Maildir]
# Clients on this machine may send to any domain; nothing else may relay.
ns_smtpd local set 127.0.0.1 ::1
lassign [ns_smtpd start -address 127.0.0.1 -port 2525 -maildir $maildir {*}$options] addr port
puts "nssmtpd [ns_smtpd info version] listening on $addr:$port, delivering to $maildir (Ctrl-C stops)"
vwait forever
