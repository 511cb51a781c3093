//! The server options, one row each: the only place an option is described.
//!
//! A row is a one-line doc comment (the option's meaning) and then
//! `name: Type = default, parser [, start_only];`. The field is `ServerConfig::name`, the
//! `-name` option parses its text with `parser` (see `values.rs`) and `cget` renders it by
//! the field type's `Render`. `start_only` marks options the listeners are bound with.
//! Rows follow the README's configuration table; `OPTION_NAMES` is sorted at compile time.
use super::values::{
    alias_format, auth_methods, bare_line_policy, boolean, dkim_sign_entries, dmarc_action,
    flag_list, greylist_backend, helo_styles, int, lines, load_average, nameservers, networks,
    one_line, relay_tls, seconds, text, time_span, unset_or, verbatim, ScanAction, ScanFailure,
};
use crate::core::data::BareLinePolicy;
use std::time::Duration;

server_options! {
    ServerConfig {
        // Listening and identity.
        /// Address to listen on.
        address: String = "127.0.0.1".into(), text, start_only;
        /// Port to listen on; 0 picks a free one (`start` returns it).
        port: u16 = 25, int(0, 65_535), start_only;
        /// Name in the greeting, EHLO and `Received:` (`start` sets it to `info hostname`).
        hostname: String = "localhost".into(), text;
        /// Next hop: `host[:port]`, `[v6]:port`, `smtp://host:port`, `plain://user:pwd@host:port`, `smtps://host:port` (TLS from the first byte).
        relay: String = String::new(), text;
        /// Domains relayed for: read by `smtpd::init` into `relay set` when given, not by the engine.
        relaydomains: String = String::new(), verbatim;
        /// Local domains: read by `smtpd::init` into `local set` when given, not by the engine.
        localdomains: String = String::new(), verbatim;
        /// Where the default `smtpd::data` delivers mail that was not relayed.
        maildir: String = String::new(), verbatim;

        // Limits. RFC 5321 §4.5.3.1.4 wants command lines of 512 octets, hence that minimum.
        // Smaller recipient and message limits than the RFC's are accepted, as the C module
        // accepts them (test setups use them), with a warning at start (see `warnings`).
        /// Longest command line; longer lines are refused whole.
        maxline: usize = 4096, int(512, 1 << 20);
        /// Largest message in bytes (advertised as `SIZE`).
        maxdata: u64 = 10_485_760, int(1, 1 << 40);
        /// Longest line in a message; 0 = no limit.
        maxdataline: usize = 65_536, int(0, 1 << 30);
        /// Recipients per transaction; more get `452 4.5.3`.
        maxrcpt: usize = 100, int(1, 1_000_000);
        /// Error replies before `421` and close.
        maxerrors: u32 = 20, int(1, 1_000_000);
        /// Sessions at once; more get `421 4.7.0`.
        maxconnections: usize = 1000, int(1, 1_000_000);
        // 50 as Postfix's smtpd_client_connection_count_limit: one address cannot take
        // every session slot.
        /// Sessions at once from one client address (the `local` list is exempt); 0 = off.
        maxperip: usize = 50, int(0, 1_000_000);
        /// Connections per client address per minute; 0 = off.
        maxrate: usize = 0, int(0, 1_000_000);
        /// 1-minute load average above which new sessions get `421 4.3.2`; 0 = off.
        maxloadavg: f64 = 0.0, load_average;
        /// Recipients of a bounce (`MAIL FROM:<>`); 0 = `maxrcpt`.
        maxerrorrcpts: usize = 0, int(0, 1_000_000);
        /// Tarpit: ms to wait after an error reply, doubled with each error; 0 = off.
        errordelay: u64 = 0, int(0, 600_000);
        /// Tarpit: the cap (ms) of that doubling wait.
        errordelaymax: u64 = 10_000, int(0, 600_000);
        /// ms to wait before the greeting; a client talking meanwhile is refused; 0 = off.
        greetdelay: u64 = 0, int(0, 600_000);

        // What the server says and checks.
        /// Greeting template: `%H` host name, `%V` version, `%T` time, `%%` a percent sign.
        banner: String = "%H ESMTP nssmtpd %V".into(), one_line;
        /// HELP reply lines (newline-separated); empty = the built-in text.
        helptext: String = String::new(), lines;
        /// VRFY checks syntax and relay rules (`252`/`550`); off: `252` for anything.
        vrfy: bool = false, boolean;
        /// EXPN answers `550`; off: `502`.
        expn: bool = false, boolean;
        /// MAIL/RCPT paths must be `<local@domain>` in RFC 5321 syntax.
        strict: bool = false, boolean;
        /// HELO/EHLO must name a host or an address literal.
        helocheck: bool = true, boolean;
        /// Clients neither local nor authenticated that send ahead where RFC 2920 forbids get `554 5.5.0`.
        forbidunauthpipelining: bool = true, boolean;
        /// NUL bytes in a message are accepted; off: `550 5.6.0`.
        allownul: bool = false, boolean;
        /// PROXY protocol v1/v2 headers, accepted only from `proxytrusted` addresses.
        proxyprotocol: bool = false, boolean;
        /// Addresses and networks a PROXY header is accepted from.
        proxytrusted: String = String::new(), networks;
        /// A second listener speaking LMTP (RFC 2033); 0 = none.
        lmtpport: u16 = 0, int(0, 65_535), start_only;
        /// HELO style rules (`pattern [maxloadavg] letters` or `pattern !text`), one a line.
        helostyles: String = String::new(), helo_styles;
        /// A file of HELO style rules, read at `start` and `configure`, after `helostyles`.
        helostylefile: String = String::new(), text;
        /// Free KiB needed on the spool's filesystem, else MAIL gets `452 4.3.1`; 0 = off.
        minavailspace: u64 = 0, int(0, 1 << 40);
        /// The spool whose free space `minavailspace` checks; empty = `maildir`.
        spooldir: String = String::new(), text;

        // Timeouts and session behaviour.
        /// Seconds per read and per command line; also the relay's read and connect timeouts.
        readtimeout: Duration = Duration::from_secs(60), seconds;
        /// Seconds per write.
        writetimeout: Duration = Duration::from_secs(60), seconds;
        /// Seconds a whole session may last.
        sessiontimeout: Duration = Duration::from_secs(1800), seconds;
        /// Seconds a callback may take before its command gets `451 4.3.0`.
        callbacktimeout: Duration = Duration::from_secs(60), seconds;
        /// Worker interpreters for the callbacks; 0 = the interpreter that ran `start` (module mode: 8).
        workers: usize = 0, int(0, 256), start_only;
        /// Script each worker interpreter evaluates once when it starts (e.g. `source procs.tcl`).
        workerinit: String = String::new(), verbatim, start_only;

        // Alias files.
        /// Text alias file of `smtpd::resolvefilealiases`: a Postfix `virtual` map or an `aliases` file.
        aliasfile: String = String::new(), verbatim;
        /// Domains (a Tcl list) whose recipients `smtpd::resolvefilealiases` looks up in `aliasfile`.
        aliasdomains: String = String::new(), verbatim;
        /// Format of `aliasfile`: `virtual` or `aliases`.
        aliasformat: String = "virtual".into(), alias_format;
        /// `smtpd::resolvefilealiases` rejects in-domain recipients that match no alias.
        rejectunknownrecipients: bool = false, boolean;
        /// Command prefix asked, with the recipient appended, whether an unknown in-domain recipient is a valid bounce address.
        bouncevalidproc: String = String::new(), verbatim;
        /// Where validated bounce addresses go: one bare address (it may be an alias itself).
        bouncetarget: String = String::new(), text;

        // Session behaviour, continued.
        /// Bare CR or LF in a message: `reject` (`550 5.6.0`) or `normalize` (to CRLF).
        barelf: BareLinePolicy = BareLinePolicy::Reject, bare_line_policy;
        /// Initial session flags: a number, or names like `needhelo,resolve`.
        flags: u32 = 0, flag_list;
        /// Log level: ≥ 1 one line per transaction, ≥ 2 a protocol trace.
        debug: i64 = 1, int(-1, 10);

        // Greylisting.
        /// Greylisting: seconds a retry must wait after the first attempt (units s, m, h, d allowed).
        greylistdelay: i64 = 300, time_span;
        /// Greylisting: seconds from the first attempt during which a retry passes; must exceed the delay.
        greylistretrywindow: i64 = 14_400, time_span;
        /// Greylisting: seconds a passed tuple stays known, refreshed by each accepted attempt.
        greylistlifetime: i64 = 604_800, time_span;
        /// Greylisting: most tuples kept; beyond, new tuples pass without being stored.
        greylistmaxentries: usize = 10_000, int(1, 100_000_000);
        /// Greylisting: the file the table is saved to at stop and loaded from at start; empty = `smtpgreylist-<server>.state`.
        greylistfile: String = String::new(), verbatim;
        /// Greylisting: `memory` (this server's table) or `redis://host:port/db` (a table shared by several servers).
        greylistbackend: String = "memory".into(), greylist_backend;

        // TLS.
        /// TLS: server certificate chain (PEM, with the key unless `key` is given).
        certificate: String = String::new(), text;
        /// The PEM private key, when it is not in `certificate`.
        key: String = String::new(), text;
        /// CA certificates (a file) for optional client certificates.
        cafile: String = String::new(), text;
        /// CA certificates (a directory) for optional client certificates.
        capath: String = String::new(), text;
        /// Cipher suites (see `docs/tls.md`); empty = all.
        ciphers: String = String::new(), text;
        /// TLS versions; empty = TLS 1.2 and 1.3.
        protocols: String = String::new(), text;
        /// A second port with TLS from the first byte (RFC 8314); 0 = none.
        tlsport: u16 = 0, int(0, 65_535), start_only;
        /// STARTTLS to the relay: `opportunistic`, `require` or `none`.
        relaytls: String = "opportunistic".into(), relay_tls;
        /// CAs to verify the relay with under `require`; empty = the system's roots.
        relaycafile: String = String::new(), text;
        /// Credentials (relay URL, `send -user`) may be sent without TLS; off: never.
        cleartextauth: bool = false, boolean;

        // Outbound DKIM signing.
        /// DKIM signing of relayed and sent mail: a list of `{domain selector keyfile ?algorithm? ?headers?}`; keys are read at `start` and `configure`.
        dkimsign: String = String::new(), dkim_sign_entries;

        // Submission.
        /// AUTH is offered without TLS too (normally only after STARTTLS).
        authwithouttls: bool = false, boolean;
        /// Submission (MSA) mode: clients outside `local` must authenticate before MAIL.
        msamode: bool = false, boolean;
        /// Failed AUTHs from one address within an hour before its AUTH gets `454`; 0 = off.
        maxauthfailures: usize = 10, int(0, 1_000_000);
        /// ms before answering a failed AUTH, doubled with each failure in the session.
        authfaildelay: u64 = 1000, int(0, 600_000);
        /// The cap (ms) of that doubling wait.
        authfaildelaymax: u64 = 16_000, int(0, 600_000);

        // Content checks.
        /// SpamAssassin's spamd: `host:port` or a unix socket path; empty = none.
        spamd: String = String::new(), text;
        /// rspamd's normal worker, `host:port`; used instead of `spamd` when set.
        rspamd: String = String::new(), text;
        /// clamd: `host:port` or a unix socket path; empty = none.
        clamd: String = String::new(), text;
        /// What a positive spam check does.
        spamaction: ScanAction = ScanAction::None, ScanAction::parse;
        /// What a positive virus check does.
        virusaction: ScanAction = ScanAction::None, ScanAction::parse;
        /// What a check that cannot be made (daemon down or slow) does.
        scanfail: ScanFailure = ScanFailure::Tempfail, ScanFailure::parse;
        /// Seconds one check may take.
        scantimeout: Duration = Duration::from_secs(30), seconds;

        // DNS and inbound sender authentication (docs/authentication.md).
        /// Name servers for every lookup (`host` or `host:port`, a list); empty = the system's resolver configuration.
        nameserver: String = String::new(), nameservers;
        /// Inbound checks, any of `spf dkim dmarc arc`; empty = none.
        authcheck: String = String::new(), auth_methods;
        /// Check LOCAL and authenticated clients too.
        authchecktrusted: bool = false, boolean;
        /// Add an `Authentication-Results:` header to the relayed copy.
        authresultsheader: bool = false, boolean;
        /// A DMARC fail whose policy is reject: `reject` (`550 5.7.1`) or `none`.
        dmarcaction: String = "none".into(), dmarc_action;
        /// Seconds the checks of one stage (SPF at MAIL, DKIM/ARC/DMARC after DATA) may take.
        authtimeout: Duration = Duration::from_secs(20), seconds;
        /// `{sender recipient}` pairs for which an SPF pass lets `smtpd::greylist` accept at once.
        greylistspfexceptions: String = String::new(), verbatim;

        // The send log of `ns_smtpd send`.
        /// Whether `ns_smtpd send` writes a send log.
        logging: bool = false, boolean;
        /// Send log file; empty = `smtpsend-<server>.log` in the log directory.
        logfile: String = String::new(), verbatim;
        /// Time format appended to rolled send log names.
        logrollfmt: String = String::new(), verbatim;
        /// Rolled send logs kept.
        logmaxbackup: usize = 100, int(1, i64::from(i32::MAX));
        /// The send log is rolled daily.
        logroll: bool = true, boolean;
        /// Hour of the daily roll.
        logrollhour: u32 = 0, int(0, 23);
        /// Roll the send log on SIGHUP (NaviServer's signal hook; in tclsh `ns_smtpd roll`, docs/operations.md).
        logrollonsignal: bool = false, boolean;

        // The SMTP event log of upstream 2.8 (docs/operations.md). Unset `eventlog*` roll
        // settings take the send log's `log*` values, even with send logging off. All are read
        // at `start` (a `configure` takes effect at the next start).
        /// Whether sessions write the SMTP event log.
        eventlogging: bool = false, boolean;
        /// Event log file; empty = `smtpevents-<server>.log` in the log directory.
        eventlogfile: String = String::new(), verbatim;
        /// The event log is rolled daily; empty = as `logroll`.
        eventlogroll: Option<bool> = None, unset_or(boolean);
        /// Hour of the event log's daily roll; empty = as `logrollhour`.
        eventlogrollhour: Option<u32> = None, unset_or(int(0, 23));
        /// Time format appended to rolled event logs; empty = as `logrollfmt`.
        eventlogrollfmt: String = String::new(), verbatim;
        /// Rolled event logs kept; empty = as `logmaxbackup`.
        eventlogmaxbackup: Option<usize> = None, unset_or(int(1, i64::from(i32::MAX)));
        /// Roll the event log on SIGHUP; empty = as `logrollonsignal`.
        eventlogrollonsignal: Option<bool> = None, unset_or(boolean);
    }

    // The callbacks live in their own struct (the Tcl side shares it with the sessions).
    // Their defaults are the original's, so an unchanged config section behaves the same;
    // `Procs::default()` is all empty.
    /// The Tcl callbacks (script prefixes; the session id is appended; empty = none).
    procs: Procs {
        /// Runs once at `start`, before the first connection is accepted.
        initproc => init: String = "smtpd::init".into(), verbatim;
        /// Called on HELO/EHLO.
        heloproc => helo: String = String::new(), verbatim;
        /// Called on MAIL FROM.
        mailproc => mail: String = String::new(), verbatim;
        /// Called on RCPT TO.
        rcptproc => rcpt: String = "smtpd::rcpt".into(), verbatim;
        /// Called with each received message.
        dataproc => data: String = "smtpd::data".into(), verbatim;
        /// Called when relaying fails; its `setreply` replaces the reply.
        errorproc => error: String = "smtpd::error".into(), verbatim;
        /// Checks AUTH credentials: `authproc id user password` returns true to accept.
        authproc => auth: String = String::new(), verbatim;
        /// Resolves a recipient: `aliasproc -recipient addr ?-rejectunknown false?` returns the final addresses (no id).
        aliasproc => alias: String = String::new(), verbatim;
        /// Judges a recipient for `smtpd::checkpolicy`: called with a context dict (no id), returns `action accept|defer|reject`.
        recipientpolicyproc => recipient_policy: String = String::new(), verbatim;
        /// Judges a message after DATA, before the relay and dataproc: a context dict in, `action accept|defer|reject` out.
        datapolicyproc => data_policy: String = String::new(), verbatim;
        /// SPF evaluator of `smtpd::checkspf`: called with `-ip -sender -helo` (no id), returns the SPF result.
        spfproc => spf: String = String::new(), verbatim;
        /// Diagnostics after DATA, before dataproc, with the session id: informational, errors only logged.
        authdetailsproc => auth_details: String = String::new(), verbatim;
    }
}
