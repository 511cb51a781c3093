//! Server options: names, defaults and validation, shared by the config section, `start`,
//! `configure` and `cget`. Names and meanings follow the original module's config section.
use crate::core::data::BareLinePolicy;
use crate::core::flags;
use std::fmt;
use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError(pub String);

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The Tcl callbacks (script prefixes; empty = none).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Procs {
    pub init: String,
    pub helo: String,
    pub mail: String,
    pub rcpt: String,
    pub data: String,
    pub error: String,
    /// Checks AUTH credentials: `authproc id user password` returns true to accept.
    pub auth: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ServerConfig {
    pub address: String,
    pub port: u16,
    pub hostname: String,
    pub maxline: usize,
    pub maxdata: u64,
    pub maxdataline: usize,
    pub maxrcpt: usize,
    pub maxerrors: u32,
    pub maxconnections: usize,
    pub readtimeout: Duration,
    pub writetimeout: Duration,
    pub sessiontimeout: Duration,
    pub callbacktimeout: Duration,
    pub barelf: BareLinePolicy,
    pub debug: i64,
    pub flags: u32,
    pub relay: String,
    /// Read by the Tcl procs (`smtpd::init`, `smtpd::data`), not by the engine.
    pub relaydomains: String,
    pub localdomains: String,
    pub maildir: String,
    /// TLS: server certificate chain (PEM, with the key unless `key` is given).
    pub certificate: String,
    pub key: String,
    /// CA certificates for optional client certificates.
    pub cafile: String,
    pub capath: String,
    pub ciphers: String,
    pub protocols: String,
    /// A second port with TLS from the first byte (RFC 8314); 0 = none.
    pub tlsport: u16,
    /// STARTTLS to the relay: `opportunistic`, `require` or `none`.
    pub relaytls: String,
    pub relaycafile: String,
    /// AUTH is offered without TLS too (normally only after STARTTLS).
    pub authwithouttls: bool,
    /// Submission (MSA) mode: clients outside `local` must authenticate before MAIL.
    pub msamode: bool,
    /// Content checks: daemon addresses (`host:port` or a unix socket path).
    pub spamd: String,
    pub rspamd: String,
    pub clamd: String,
    /// What a positive check does: `reject`, `tag` or `none` (leave it to dataproc).
    pub spamaction: String,
    pub virusaction: String,
    /// A daemon that cannot answer: `tempfail` (451) or `accept`.
    pub scanfail: String,
    pub scantimeout: Duration,
    /// Connection policy (0 = off): sessions per client address, connections per client
    /// address per minute, the load average above which new sessions are refused.
    pub maxperip: usize,
    pub maxrate: usize,
    pub maxloadavg: f64,
    /// Recipients of a bounce (`MAIL FROM:<>`); 0 = `maxrcpt`.
    pub maxerrorrcpts: usize,
    /// Tarpit: the delay before an error reply, doubled with each error up to the cap (ms).
    pub errordelay: u64,
    pub errordelaymax: u64,
    /// Wait this long (ms) before the greeting; a client talking meanwhile is refused.
    pub greetdelay: u64,
    /// Greeting template: `%H` host name, `%V` version, `%T` time, `%%` a percent sign.
    pub banner: String,
    /// HELP reply lines (newline-separated); empty = the built-in text.
    pub helptext: String,
    pub vrfy: bool,
    pub expn: bool,
    /// MAIL/RCPT paths must be `<local@domain>` in RFC 5321 syntax.
    pub strict: bool,
    /// HELO/EHLO must name a host or an address literal.
    pub helocheck: bool,
    /// PROXY protocol v1/v2 headers, accepted only from `proxytrusted` addresses.
    pub proxyprotocol: bool,
    pub proxytrusted: String,
    /// A second listener speaking LMTP (RFC 2033); 0 = none.
    pub lmtpport: u16,
    /// The send log of `ns_smtpd send`.
    pub logging: bool,
    pub logfile: String,
    pub logrollfmt: String,
    pub logmaxbackup: usize,
    pub logroll: bool,
    pub logrollhour: u32,
    pub logrollonsignal: bool,
    pub procs: Procs,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            address: "127.0.0.1".into(),
            port: 25,
            hostname: "localhost".into(),
            maxline: 4096,
            maxdata: 10_485_760,
            maxdataline: 65_536,
            maxrcpt: 100,
            maxerrors: 20,
            maxconnections: 1000,
            readtimeout: Duration::from_secs(60),
            writetimeout: Duration::from_secs(60),
            sessiontimeout: Duration::from_secs(1800),
            callbacktimeout: Duration::from_secs(60),
            barelf: BareLinePolicy::Reject,
            debug: 1,
            flags: 0,
            relay: String::new(),
            relaydomains: "localhost".into(),
            localdomains: "localhost".into(),
            maildir: String::new(),
            certificate: String::new(),
            key: String::new(),
            cafile: String::new(),
            capath: String::new(),
            ciphers: String::new(),
            protocols: String::new(),
            tlsport: 0,
            relaytls: "opportunistic".into(),
            relaycafile: String::new(),
            authwithouttls: false,
            msamode: false,
            spamd: String::new(),
            rspamd: String::new(),
            clamd: String::new(),
            spamaction: "none".into(),
            virusaction: "none".into(),
            scanfail: "tempfail".into(),
            scantimeout: Duration::from_secs(30),
            maxperip: 0,
            maxrate: 0,
            maxloadavg: 0.0,
            maxerrorrcpts: 0,
            errordelay: 0,
            errordelaymax: 10_000,
            greetdelay: 0,
            banner: "%H ESMTP nssmtpd %V".into(),
            helptext: String::new(),
            vrfy: false,
            expn: false,
            strict: false,
            helocheck: true,
            proxyprotocol: false,
            proxytrusted: String::new(),
            lmtpport: 0,
            logging: false,
            logfile: String::new(),
            logrollfmt: String::new(),
            logmaxbackup: 100,
            logroll: true,
            logrollhour: 0,
            logrollonsignal: false,
            // The original's defaults, so an unchanged config section behaves the same.
            procs: Procs {
                init: "smtpd::init".into(),
                helo: String::new(),
                mail: String::new(),
                rcpt: "smtpd::rcpt".into(),
                data: "smtpd::data".into(),
                error: "smtpd::error".into(),
                auth: String::new(),
            },
        }
    }
}

/// Every option name, sorted (for error messages and `cget`).
pub const OPTION_NAMES: &[&str] = &[
    "address",
    "authproc",
    "authwithouttls",
    "banner",
    "barelf",
    "cafile",
    "callbacktimeout",
    "capath",
    "certificate",
    "ciphers",
    "clamd",
    "dataproc",
    "debug",
    "errordelay",
    "errordelaymax",
    "errorproc",
    "expn",
    "flags",
    "greetdelay",
    "helocheck",
    "heloproc",
    "helptext",
    "hostname",
    "initproc",
    "key",
    "lmtpport",
    "localdomains",
    "logfile",
    "logging",
    "logmaxbackup",
    "logroll",
    "logrollfmt",
    "logrollhour",
    "logrollonsignal",
    "maildir",
    "mailproc",
    "maxconnections",
    "maxdata",
    "maxdataline",
    "maxerrorrcpts",
    "maxerrors",
    "maxline",
    "maxloadavg",
    "maxperip",
    "maxrate",
    "maxrcpt",
    "msamode",
    "port",
    "protocols",
    "proxyprotocol",
    "proxytrusted",
    "rcptproc",
    "readtimeout",
    "relay",
    "relaycafile",
    "relaydomains",
    "relaytls",
    "rspamd",
    "scanfail",
    "scantimeout",
    "sessiontimeout",
    "spamaction",
    "spamd",
    "strict",
    "tlsport",
    "virusaction",
    "vrfy",
    "writetimeout",
];

/// Options that only take effect at `start` (the listener is bound with them).
pub const START_ONLY: &[&str] = &["address", "lmtpport", "port", "tlsport"];

fn int(name: &str, value: &str, min: i64, max: i64) -> Result<i64, ConfigError> {
    let v: i64 = value.trim().parse().map_err(|_| {
        ConfigError(format!(
            "invalid value \"{value}\" for -{name}: expected an integer"
        ))
    })?;
    if v < min || v > max {
        return Err(ConfigError(format!(
            "invalid value \"{value}\" for -{name}: must be between {min} and {max}"
        )));
    }
    Ok(v)
}

fn boolean(name: &str, value: &str) -> Result<bool, ConfigError> {
    match value.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" => Ok(false),
        _ => Err(ConfigError(format!(
            "invalid value \"{value}\" for -{name}: expected a boolean"
        ))),
    }
}

fn choice(name: &str, value: &str, choices: &[&str]) -> Result<String, ConfigError> {
    let v = value.trim().to_ascii_lowercase();
    if choices.contains(&v.as_str()) {
        Ok(v)
    } else {
        Err(ConfigError(format!(
            "invalid value \"{value}\" for -{name}: must be {}",
            choices.join(", ")
        )))
    }
}

fn seconds(name: &str, value: &str) -> Result<Duration, ConfigError> {
    Ok(Duration::from_secs(int(name, value, 1, 86_400)? as u64))
}

impl ServerConfig {
    /// Sets one option from its text form.
    pub fn set(&mut self, name: &str, value: &str) -> Result<(), ConfigError> {
        match name {
            "address" => self.address = value.trim().to_string(),
            "port" => self.port = int(name, value, 0, 65_535)? as u16,
            "hostname" => self.hostname = value.trim().to_string(),
            // RFC 5321 §4.5.3.1.4: at least 512 octets per command line.
            "maxline" => self.maxline = int(name, value, 512, 1 << 20)? as usize,
            "maxdata" => self.maxdata = int(name, value, 65_536, 1 << 40)? as u64,
            "maxdataline" => self.maxdataline = int(name, value, 0, 1 << 30)? as usize,
            // RFC 5321 §4.5.3.1.8: at least 100 recipients.
            "maxrcpt" => self.maxrcpt = int(name, value, 100, 1_000_000)? as usize,
            "maxerrors" => self.maxerrors = int(name, value, 1, 1_000_000)? as u32,
            "maxconnections" => self.maxconnections = int(name, value, 1, 1_000_000)? as usize,
            "readtimeout" => self.readtimeout = seconds(name, value)?,
            "writetimeout" => self.writetimeout = seconds(name, value)?,
            "sessiontimeout" => self.sessiontimeout = seconds(name, value)?,
            "callbacktimeout" => self.callbacktimeout = seconds(name, value)?,
            "barelf" => {
                self.barelf = match value.trim() {
                    "reject" => BareLinePolicy::Reject,
                    "normalize" => BareLinePolicy::Normalize,
                    _ => {
                        return Err(ConfigError(format!(
                            "invalid value \"{value}\" for -barelf: must be reject or normalize"
                        )))
                    }
                }
            }
            "debug" => self.debug = int(name, value, -1, 10)?,
            "flags" => {
                // A number (as cget gives it) or comma-separated names (the config form).
                if let Ok(bits) = value.trim().parse::<u32>() {
                    self.flags = bits;
                    return Ok(());
                }
                let (bits, unknown) = flags::parse_flag_list(value);
                if !unknown.is_empty() {
                    return Err(ConfigError(format!(
                        "invalid value \"{value}\" for -flags: unknown flag {}",
                        unknown.join(", ")
                    )));
                }
                self.flags = bits;
            }
            "relay" => self.relay = value.trim().to_string(),
            "relaydomains" => self.relaydomains = value.to_string(),
            "localdomains" => self.localdomains = value.to_string(),
            "maildir" => self.maildir = value.to_string(),
            "certificate" => self.certificate = value.trim().to_string(),
            "key" => self.key = value.trim().to_string(),
            "cafile" => self.cafile = value.trim().to_string(),
            "capath" => self.capath = value.trim().to_string(),
            "ciphers" => self.ciphers = value.trim().to_string(),
            "protocols" => self.protocols = value.trim().to_string(),
            "tlsport" => self.tlsport = int(name, value, 0, 65_535)? as u16,
            "relaytls" => {
                let v = value.trim().to_ascii_lowercase();
                if !matches!(v.as_str(), "opportunistic" | "require" | "none") {
                    return Err(ConfigError(format!(
                        "invalid value \"{value}\" for -relaytls: must be opportunistic, require or none"
                    )));
                }
                self.relaytls = v;
            }
            "relaycafile" => self.relaycafile = value.trim().to_string(),
            "spamd" => self.spamd = value.trim().to_string(),
            "rspamd" => self.rspamd = value.trim().to_string(),
            "clamd" => self.clamd = value.trim().to_string(),
            "spamaction" => self.spamaction = choice(name, value, &["reject", "tag", "none"])?,
            "virusaction" => self.virusaction = choice(name, value, &["reject", "tag", "none"])?,
            "scanfail" => self.scanfail = choice(name, value, &["tempfail", "accept"])?,
            "scantimeout" => self.scantimeout = seconds(name, value)?,
            "logging" => self.logging = boolean(name, value)?,
            "logfile" => self.logfile = value.to_string(),
            "logrollfmt" => self.logrollfmt = value.to_string(),
            "logmaxbackup" => {
                self.logmaxbackup = int(name, value, 1, i64::from(i32::MAX))? as usize
            }
            "logroll" => self.logroll = boolean(name, value)?,
            "logrollhour" => self.logrollhour = int(name, value, 0, 23)? as u32,
            "logrollonsignal" => self.logrollonsignal = boolean(name, value)?,
            "initproc" => self.procs.init = value.to_string(),
            "heloproc" => self.procs.helo = value.to_string(),
            "mailproc" => self.procs.mail = value.to_string(),
            "rcptproc" => self.procs.rcpt = value.to_string(),
            "dataproc" => self.procs.data = value.to_string(),
            "errorproc" => self.procs.error = value.to_string(),
            "authproc" => self.procs.auth = value.to_string(),
            "authwithouttls" => self.authwithouttls = boolean(name, value)?,
            "msamode" => self.msamode = boolean(name, value)?,
            "maxperip" => self.maxperip = int(name, value, 0, 1_000_000)? as usize,
            "maxrate" => self.maxrate = int(name, value, 0, 1_000_000)? as usize,
            "maxloadavg" => {
                self.maxloadavg = match value.trim().parse::<f64>() {
                    Ok(v) if (0.0..=10_000.0).contains(&v) => v,
                    _ => {
                        return Err(ConfigError(format!(
                    "invalid value \"{value}\" for -maxloadavg: expected a number from 0 to 10000"
                )))
                    }
                }
            }
            "maxerrorrcpts" => self.maxerrorrcpts = int(name, value, 0, 1_000_000)? as usize,
            "errordelay" => self.errordelay = int(name, value, 0, 600_000)? as u64,
            "errordelaymax" => self.errordelaymax = int(name, value, 0, 600_000)? as u64,
            "greetdelay" => self.greetdelay = int(name, value, 0, 600_000)? as u64,
            "banner" => {
                if value.contains(['\r', '\n']) {
                    return Err(ConfigError("-banner must be one line".into()));
                }
                self.banner = value.trim().to_string()
            }
            "helptext" => {
                if value.contains('\r') {
                    return Err(ConfigError(
                        "-helptext lines are separated by newlines".into(),
                    ));
                }
                self.helptext = value.trim_matches('\n').to_string()
            }
            "vrfy" => self.vrfy = boolean(name, value)?,
            "expn" => self.expn = boolean(name, value)?,
            "strict" => self.strict = boolean(name, value)?,
            "helocheck" => self.helocheck = boolean(name, value)?,
            "proxyprotocol" => self.proxyprotocol = boolean(name, value)?,
            "proxytrusted" => {
                crate::core::localnet::parse_list(value).map_err(|e| {
                    ConfigError(format!("invalid value \"{value}\" for -proxytrusted: {e}"))
                })?;
                self.proxytrusted = value.trim().to_string()
            }
            "lmtpport" => self.lmtpport = int(name, value, 0, 65_535)? as u16,
            _ => {
                return Err(ConfigError(format!(
                    "unknown option \"-{name}\": must be one of -{}",
                    OPTION_NAMES.join(", -")
                )))
            }
        }
        Ok(())
    }

    /// The text form of one option (`cget`).
    pub fn get(&self, name: &str) -> Result<String, ConfigError> {
        let secs = |d: &Duration| d.as_secs().to_string();
        Ok(match name {
            "address" => self.address.clone(),
            "port" => self.port.to_string(),
            "hostname" => self.hostname.clone(),
            "maxline" => self.maxline.to_string(),
            "maxdata" => self.maxdata.to_string(),
            "maxdataline" => self.maxdataline.to_string(),
            "maxrcpt" => self.maxrcpt.to_string(),
            "maxerrors" => self.maxerrors.to_string(),
            "maxconnections" => self.maxconnections.to_string(),
            "readtimeout" => secs(&self.readtimeout),
            "writetimeout" => secs(&self.writetimeout),
            "sessiontimeout" => secs(&self.sessiontimeout),
            "callbacktimeout" => secs(&self.callbacktimeout),
            "barelf" => match self.barelf {
                BareLinePolicy::Reject => "reject".into(),
                BareLinePolicy::Normalize => "normalize".into(),
            },
            "debug" => self.debug.to_string(),
            "flags" => self.flags.to_string(),
            "relay" => self.relay.clone(),
            "relaydomains" => self.relaydomains.clone(),
            "localdomains" => self.localdomains.clone(),
            "maildir" => self.maildir.clone(),
            "certificate" => self.certificate.clone(),
            "key" => self.key.clone(),
            "cafile" => self.cafile.clone(),
            "capath" => self.capath.clone(),
            "ciphers" => self.ciphers.clone(),
            "protocols" => self.protocols.clone(),
            "tlsport" => self.tlsport.to_string(),
            "relaytls" => self.relaytls.clone(),
            "relaycafile" => self.relaycafile.clone(),
            "spamd" => self.spamd.clone(),
            "rspamd" => self.rspamd.clone(),
            "clamd" => self.clamd.clone(),
            "spamaction" => self.spamaction.clone(),
            "virusaction" => self.virusaction.clone(),
            "scanfail" => self.scanfail.clone(),
            "scantimeout" => secs(&self.scantimeout),
            "logging" => u8::from(self.logging).to_string(),
            "logfile" => self.logfile.clone(),
            "logrollfmt" => self.logrollfmt.clone(),
            "logmaxbackup" => self.logmaxbackup.to_string(),
            "logroll" => u8::from(self.logroll).to_string(),
            "logrollhour" => self.logrollhour.to_string(),
            "logrollonsignal" => u8::from(self.logrollonsignal).to_string(),
            "initproc" => self.procs.init.clone(),
            "heloproc" => self.procs.helo.clone(),
            "mailproc" => self.procs.mail.clone(),
            "rcptproc" => self.procs.rcpt.clone(),
            "dataproc" => self.procs.data.clone(),
            "errorproc" => self.procs.error.clone(),
            "authproc" => self.procs.auth.clone(),
            "authwithouttls" => u8::from(self.authwithouttls).to_string(),
            "msamode" => u8::from(self.msamode).to_string(),
            "maxperip" => self.maxperip.to_string(),
            "maxrate" => self.maxrate.to_string(),
            "maxloadavg" => self.maxloadavg.to_string(),
            "maxerrorrcpts" => self.maxerrorrcpts.to_string(),
            "errordelay" => self.errordelay.to_string(),
            "errordelaymax" => self.errordelaymax.to_string(),
            "greetdelay" => self.greetdelay.to_string(),
            "banner" => self.banner.clone(),
            "helptext" => self.helptext.clone(),
            "vrfy" => u8::from(self.vrfy).to_string(),
            "expn" => u8::from(self.expn).to_string(),
            "strict" => u8::from(self.strict).to_string(),
            "helocheck" => u8::from(self.helocheck).to_string(),
            "proxyprotocol" => u8::from(self.proxyprotocol).to_string(),
            "proxytrusted" => self.proxytrusted.clone(),
            "lmtpport" => self.lmtpport.to_string(),
            _ => {
                return Err(ConfigError(format!(
                    "unknown option \"-{name}\": must be one of -{}",
                    OPTION_NAMES.join(", -")
                )))
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_sorted_and_all_gettable() {
        let mut sorted = OPTION_NAMES.to_vec();
        sorted.sort();
        assert_eq!(sorted, OPTION_NAMES);
        let c = ServerConfig::default();
        for n in OPTION_NAMES {
            let v = c.get(n).unwrap();
            let mut c2 = c.clone();
            c2.set(n, &v).unwrap_or_else(|e| panic!("{n}: {e}"));
            assert_eq!(c2.get(n).unwrap(), v);
        }
    }

    #[test]
    fn limits_are_enforced() {
        let mut c = ServerConfig::default();
        assert!(c.set("maxline", "100").is_err());
        assert!(c.set("maxrcpt", "10").is_err());
        assert!(c.set("port", "x").is_err());
        assert!(c.set("barelf", "maybe").is_err());
        assert!(c.set("nosuch", "1").is_err());
        c.set("maxline", "1000").unwrap();
        assert_eq!(c.maxline, 1000);
    }
}
