//! The `Received:` trace header we prepend to every message (RFC 5321 §4.4), and the
//! cleaning of client-supplied names that go into it.

/// What the trace header records about one transaction.
pub struct TraceInfo<'a> {
    pub helo: &'a str,
    pub client_ip: &'a str,
    pub client_name: Option<&'a str>,
    pub hostname: &'a str,
    pub version: &'a str,
    /// `SMTP`, `ESMTP`, `ESMTPS`, ... (RFC 3848).
    pub protocol: &'a str,
    pub id: &'a str,
    /// Named only when the message has exactly one recipient (privacy, as Postfix does).
    pub single_rcpt: Option<&'a str>,
    pub date: &'a str,
    /// TLS parameters, e.g. `TLSv1.3 TLS13_AES_256_GCM_SHA384`.
    pub tls: Option<&'a str>,
    /// The authenticated user (recorded as Postfix does: `Authenticated sender`).
    pub auth_user: Option<&'a str>,
}

/// Keeps only characters that may appear in a host name or address literal.
pub fn clean_name(s: &str) -> String {
    let cleaned: String = s
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || "-._:[]".contains(*c))
        .take(255)
        .collect();
    if cleaned.is_empty() {
        "unknown".to_string()
    } else {
        cleaned
    }
}

pub fn received_header(t: &TraceInfo) -> String {
    let mut h = format!(
        "Received: from {} ({} [{}])\r\n\tby {} (nssmtpd {}) with {} id {}",
        clean_name(t.helo),
        t.client_name
            .map(clean_name)
            .unwrap_or_else(|| "unknown".into()),
        t.client_ip,
        clean_name(t.hostname),
        t.version,
        t.protocol,
        t.id
    );
    if let Some(tls) = t.tls {
        let mut parts = tls.splitn(2, ' ');
        let version = parts.next().unwrap_or("");
        let cipher = parts.next().unwrap_or("");
        h.push_str(&format!("\r\n\t(version={version} cipher={cipher})"));
    }
    if let Some(user) = t.auth_user {
        let user: String = user
            .chars()
            .filter(|c| !c.is_control() && *c != ')')
            .collect();
        h.push_str(&format!("\r\n\t(Authenticated sender: {user})"));
    }
    if let Some(r) = t.single_rcpt {
        let r: String = r.chars().filter(|c| !c.is_control() && *c != '>').collect();
        h.push_str(&format!("\r\n\tfor <{r}>"));
    }
    h.push_str(&format!("; {}\r\n", t.date));
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_shape() {
        let h = received_header(&TraceInfo {
            helo: "client.example\r\nX-Evil: 1",
            client_ip: "127.0.0.1",
            client_name: None,
            hostname: "mx.example",
            version: "3.0.0",
            protocol: "ESMTP",
            id: "17.1",
            single_rcpt: Some("a@b.c"),
            date: "Sun, 06 Nov 1994 08:49:37 +0000",
            tls: None,
            auth_user: None,
        });
        assert_eq!(
            h,
            "Received: from client.exampleX-Evil:1 (unknown [127.0.0.1])\r\n\tby mx.example \
             (nssmtpd 3.0.0) with ESMTP id 17.1\r\n\tfor <a@b.c>; Sun, 06 Nov 1994 08:49:37 +0000\r\n"
        );
    }
}
