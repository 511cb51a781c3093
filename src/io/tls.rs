//! TLS with rustls (ring provider): the server context from PEM files, and client contexts
//! for the relay and `ns_smtpd send` (verifying, or encrypting without verification for
//! opportunistic STARTTLS).
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{ring, CryptoProvider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::server::WebPkiClientVerifier;
use rustls::{
    ClientConfig, DigitallySignedStruct, RootCertStore, ServerConfig, SignatureScheme,
    SupportedProtocolVersion,
};
use std::path::Path;
use std::sync::Arc;

fn provider() -> CryptoProvider {
    ring::default_provider()
}

/// The protocol versions a `protocols` value allows: `TLSv1.2`, `TLSv1.3`, `!TLSv1.2`, ...
/// separated by `:`, `,` or blanks. Older protocols can only be excluded.
pub fn protocol_versions(spec: &str) -> Result<Vec<&'static SupportedProtocolVersion>, String> {
    let mut v12 = true;
    let mut v13 = true;
    let mut positive = Vec::new();
    for word in spec.split([':', ',', ' ']).filter(|w| !w.is_empty()) {
        let (negate, name) = match word.strip_prefix('!') {
            Some(n) => (true, n),
            None => (false, word),
        };
        match name.to_ascii_lowercase().as_str() {
            "tlsv1.2" => {
                if negate { v12 = false } else { positive.push(12) }
            }
            "tlsv1.3" => {
                if negate { v13 = false } else { positive.push(13) }
            }
            "sslv2" | "sslv3" | "tlsv1" | "tlsv1.0" | "tlsv1.1" if negate => {}
            other => {
                return Err(format!(
                    "protocol \"{other}\" is not supported (TLSv1.2 and TLSv1.3 are; older ones can only be excluded)"
                ))
            }
        }
    }
    if !positive.is_empty() {
        v12 &= positive.contains(&12);
        v13 &= positive.contains(&13);
    }
    let mut out = Vec::new();
    if v13 {
        out.push(&rustls::version::TLS13);
    }
    if v12 {
        out.push(&rustls::version::TLS12);
    }
    if out.is_empty() {
        return Err(format!("protocols \"{spec}\" leave no TLS version"));
    }
    Ok(out)
}

/// The cipher suites a `ciphers` value names (rustls names such as
/// `TLS13_AES_256_GCM_SHA384`, or the OpenSSL names of the same suites); empty = all.
fn cipher_suites(spec: &str, mut p: CryptoProvider) -> Result<CryptoProvider, String> {
    let words: Vec<&str> = spec
        .split([':', ',', ' '])
        .filter(|w| !w.is_empty())
        .collect();
    if words.is_empty() || words.iter().all(|w| w.eq_ignore_ascii_case("DEFAULT")) {
        return Ok(p);
    }
    const OPENSSL: &[(&str, &str)] = &[
        ("TLS_AES_256_GCM_SHA384", "TLS13_AES_256_GCM_SHA384"),
        ("TLS_AES_128_GCM_SHA256", "TLS13_AES_128_GCM_SHA256"),
        (
            "TLS_CHACHA20_POLY1305_SHA256",
            "TLS13_CHACHA20_POLY1305_SHA256",
        ),
        (
            "ECDHE-ECDSA-AES256-GCM-SHA384",
            "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
        ),
        (
            "ECDHE-ECDSA-AES128-GCM-SHA256",
            "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
        ),
        (
            "ECDHE-ECDSA-CHACHA20-POLY1305",
            "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
        ),
        (
            "ECDHE-RSA-AES256-GCM-SHA384",
            "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
        ),
        (
            "ECDHE-RSA-AES128-GCM-SHA256",
            "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
        ),
        (
            "ECDHE-RSA-CHACHA20-POLY1305",
            "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
        ),
    ];
    let mut chosen = Vec::new();
    for w in words {
        let name = OPENSSL
            .iter()
            .find(|(o, _)| o.eq_ignore_ascii_case(w))
            .map(|(_, r)| *r)
            .unwrap_or(w);
        let suite = p
            .cipher_suites
            .iter()
            .find(|s| format!("{:?}", s.suite()).eq_ignore_ascii_case(name))
            .ok_or_else(|| format!("cipher \"{w}\" is not supported (use names such as TLS13_AES_256_GCM_SHA384 or ECDHE-RSA-AES128-GCM-SHA256)"))?;
        chosen.push(*suite);
    }
    p.cipher_suites = chosen;
    Ok(p)
}

fn load_certs(path: &str) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs: Vec<_> = CertificateDer::pem_file_iter(path)
        .map_err(|e| format!("cannot read certificates from \"{path}\": {e}"))?
        .collect::<Result<_, _>>()
        .map_err(|e| format!("bad certificate in \"{path}\": {e}"))?;
    if certs.is_empty() {
        return Err(format!("no certificate in \"{path}\""));
    }
    Ok(certs)
}

fn load_roots(cafile: &str, capath: &str) -> Result<RootCertStore, String> {
    let mut roots = RootCertStore::empty();
    let mut files = Vec::new();
    if !cafile.is_empty() {
        files.push(cafile.to_string());
    }
    if !capath.is_empty() {
        let dir = std::fs::read_dir(capath)
            .map_err(|e| format!("cannot read \"{capath}\": {}", super::os_text(&e)))?;
        for entry in dir.flatten() {
            let p = entry.path();
            if matches!(p.extension().and_then(|e| e.to_str()), Some("pem" | "crt")) {
                files.push(p.display().to_string());
            }
        }
    }
    for f in files {
        for cert in load_certs(&f)? {
            roots
                .add(cert)
                .map_err(|e| format!("bad CA certificate in \"{f}\": {e}"))?;
        }
    }
    Ok(roots)
}

/// What the server side needs to offer STARTTLS.
pub struct ServerTlsOptions<'a> {
    pub certificate: &'a str,
    pub key: &'a str,
    pub cafile: &'a str,
    pub capath: &'a str,
    pub ciphers: &'a str,
    pub protocols: &'a str,
}

pub fn server_config(o: &ServerTlsOptions) -> Result<Arc<ServerConfig>, String> {
    let certs = load_certs(o.certificate)?;
    let key_file = if o.key.is_empty() {
        o.certificate
    } else {
        o.key
    };
    let key = PrivateKeyDer::from_pem_file(key_file)
        .map_err(|e| format!("no usable private key in \"{key_file}\": {e}"))?;
    let p = cipher_suites(o.ciphers, provider())?;
    let builder = ServerConfig::builder_with_provider(Arc::new(p.clone()))
        .with_protocol_versions(&protocol_versions(o.protocols)?)
        .map_err(|e| format!("TLS settings: {e}"))?;
    let builder = if o.cafile.is_empty() && o.capath.is_empty() {
        builder.with_no_client_auth()
    } else {
        // Client certificates are asked for but optional.
        let roots = Arc::new(load_roots(o.cafile, o.capath)?);
        let verifier = WebPkiClientVerifier::builder_with_provider(roots, Arc::new(p))
            .allow_unauthenticated()
            .build()
            .map_err(|e| format!("client certificate settings: {e}"))?;
        builder.with_client_cert_verifier(verifier)
    };
    let mut config = builder
        .with_single_cert(certs, key)
        .map_err(|e| format!("certificate \"{}\" and key do not fit: {e}", o.certificate))?;
    // Our suite order (strongest first), not the client's.
    config.ignore_client_order = true;
    Ok(Arc::new(config))
}

/// Encrypts without checking the peer's certificate (opportunistic STARTTLS: better than
/// plain text, and what mail servers do by default). Handshake signatures are still checked.
#[derive(Debug)]
struct AnyCertificate(CryptoProvider);

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// A client context: verifying against `cafile` (or the system's roots), or not verifying.
pub fn client_config(verify: bool, cafile: &str) -> Result<Arc<ClientConfig>, String> {
    let p = provider();
    let builder = ClientConfig::builder_with_provider(Arc::new(p.clone()))
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| format!("TLS settings: {e}"))?;
    let config = if verify {
        let roots = if cafile.is_empty() {
            let mut roots = RootCertStore::empty();
            for cert in rustls_native_certs::load_native_certs().certs {
                let _ = roots.add(cert);
            }
            roots
        } else {
            load_roots(cafile, "")?
        };
        builder.with_root_certificates(roots).with_no_client_auth()
    } else {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AnyCertificate(p)))
            .with_no_client_auth()
    };
    Ok(Arc::new(config))
}

/// `TLSv1.3 TLS13_AES_256_GCM_SHA384`, for `Received:` and Tcl.
pub fn describe(conn: &rustls::CommonState) -> String {
    let version = match conn.protocol_version() {
        Some(rustls::ProtocolVersion::TLSv1_3) => "TLSv1.3".to_string(),
        Some(rustls::ProtocolVersion::TLSv1_2) => "TLSv1.2".to_string(),
        Some(v) => format!("{v:?}"),
        None => "unknown".into(),
    };
    let cipher = conn
        .negotiated_cipher_suite()
        .map(|s| format!("{:?}", s.suite()))
        .unwrap_or_else(|| "unknown".into());
    format!("{version} {cipher}")
}

/// The name to send as SNI and to verify against.
pub fn server_name(host: &str) -> Result<ServerName<'static>, String> {
    ServerName::try_from(host.to_string())
        .map_err(|e| format!("bad TLS server name \"{host}\": {e}"))
}

/// Whether a file exists (checked at start, so a typo is a clear error there).
pub fn readable(path: &str) -> bool {
    Path::new(path).is_file()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protocol_specs() {
        assert_eq!(protocol_versions("").unwrap().len(), 2);
        assert_eq!(
            protocol_versions("!SSLv2:!SSLv3:!TLSv1.0").unwrap().len(),
            2
        );
        assert_eq!(
            protocol_versions("TLSv1.3").unwrap(),
            vec![&rustls::version::TLS13]
        );
        assert_eq!(
            protocol_versions("!TLSv1.2").unwrap(),
            vec![&rustls::version::TLS13]
        );
        assert!(protocol_versions("SSLv3").is_err());
        assert!(protocol_versions("!TLSv1.2 !TLSv1.3").is_err());
    }

    #[test]
    fn cipher_specs() {
        assert!(cipher_suites("", provider()).is_ok());
        let p = cipher_suites(
            "TLS13_AES_256_GCM_SHA384:ECDHE-RSA-AES128-GCM-SHA256",
            provider(),
        )
        .unwrap();
        assert_eq!(p.cipher_suites.len(), 2);
        assert!(cipher_suites("RC4-MD5", provider()).is_err());
    }
}
