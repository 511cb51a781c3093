//! What a server says about itself: the greeting from the `banner` template, the EHLO
//! capabilities and the HELP text.
use crate::core::reply::Reply;

/// The greeting text from a `banner` template: `%H` host name, `%V` version, `%T` the time
/// (given, so the rule stays pure), `%%` a percent sign; any other `%x` stays as it is.
pub fn banner(template: &str, host: &str, version: &str, now: &str) -> String {
    let mut out = String::new();
    let mut chars = template.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('H') => out.push_str(host),
            Some('V') => out.push_str(version),
            Some('T') => out.push_str(now),
            Some('%') => out.push('%'),
            Some(other) => {
                out.push('%');
                out.push(other);
            }
            None => out.push('%'),
        }
    }
    out
}

/// What the EHLO reply advertises beyond the fixed extensions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Capabilities<'a> {
    pub host: &'a str,
    pub max_size: u64,
    /// A certificate is configured and TLS is not active yet.
    pub starttls: bool,
    pub auth: bool,
}

pub fn ehlo_reply(caps: &Capabilities) -> Reply {
    let mut lines = vec![
        caps.host.to_string(),
        "PIPELINING".to_string(),
        format!("SIZE {}", caps.max_size),
        "8BITMIME".to_string(),
        "ENHANCEDSTATUSCODES".to_string(),
        "SMTPUTF8".to_string(),
        "CHUNKING".to_string(),
    ];
    if caps.starttls {
        lines.push("STARTTLS".to_string());
    }
    if caps.auth {
        lines.push("AUTH PLAIN LOGIN".to_string());
    }
    lines.push("HELP".to_string());
    Reply::lines(250, "", &lines)
}

/// HELP: the configured `helptext` lines, or the built-in text.
pub fn help_reply(helptext: &str, version: &str) -> Reply {
    if !helptext.is_empty() {
        let lines: Vec<&str> = helptext.lines().collect();
        return Reply::lines(214, "2.0.0", &lines);
    }
    Reply::lines(
        214,
        "2.0.0",
        &[
            format!("This is nssmtpd version {version}"),
            "Supported commands:".to_string(),
            " HELO EHLO MAIL RCPT DATA BDAT RSET NOOP QUIT HELP VRFY".to_string(),
            "End of HELP info".to_string(),
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn banner_templates() {
        let cases = [
            ("%H ESMTP nssmtpd %V", "mx.example ESMTP nssmtpd 3.0"),
            ("%%H", "%H"),
            ("at %T", "at Mon, 1 Jan 2024 00:00:00 +0000"),
            ("%x%", "%x%"),
            ("plain", "plain"),
            ("", ""),
            ("ü %H", "ü mx.example"),
        ];
        for (template, want) in cases {
            let got = banner(
                template,
                "mx.example",
                "3.0",
                "Mon, 1 Jan 2024 00:00:00 +0000",
            );
            assert_eq!(got, want, "{template}");
        }
    }

    #[test]
    fn ehlo_capabilities() {
        let caps = |starttls, auth| Capabilities {
            host: "mx.example",
            max_size: 1000,
            starttls,
            auth,
        };
        let fixed = "250-mx.example\r\n250-PIPELINING\r\n250-SIZE 1000\r\n250-8BITMIME\r\n\
                     250-ENHANCEDSTATUSCODES\r\n250-SMTPUTF8\r\n250-CHUNKING\r\n";
        let cases = [
            (false, false, ""),
            (true, false, "250-STARTTLS\r\n"),
            (false, true, "250-AUTH PLAIN LOGIN\r\n"),
            (true, true, "250-STARTTLS\r\n250-AUTH PLAIN LOGIN\r\n"),
        ];
        for (starttls, auth, extra) in cases {
            let want = format!("{fixed}{extra}250 HELP\r\n");
            let got = ehlo_reply(&caps(starttls, auth));
            assert_eq!(got.as_bytes(), want.as_bytes(), "{starttls} {auth}");
        }
    }

    #[test]
    fn help_texts() {
        let cases = [
            ("", 4, "214-2.0.0 This is nssmtpd version 9\r\n"),
            ("one", 1, "214 2.0.0 one\r\n"),
            ("one\ntwo", 2, "214-2.0.0 one\r\n"),
        ];
        for (text, lines, first) in cases {
            let reply = help_reply(text, "9");
            let wire = String::from_utf8(reply.as_bytes().to_vec()).unwrap();
            assert_eq!(wire.lines().count(), lines, "{text:?}");
            assert!(wire.starts_with(first), "{text:?}: {wire}");
        }
    }
}
