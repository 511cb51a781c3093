//! Signing checked by mail-auth's verifier with the public keys given to it directly (no
//! DNS), against RFC 8463's Ed25519 example and RFC 6376's canonicalization examples.
use super::*;
use base64::Engine as _;
use mail_auth::common::parse::TxtRecordParser;
use mail_auth::common::verify::DomainKey;
use mail_auth::{
    AuthenticatedMessage, DkimResult, MessageAuthenticator, Parameters, ResolverCache, Txt,
};
use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::Hash;
use std::io::Write as _;

/// RFC 8463 §A.1/A.2: the Ed25519 private key (seed) and its DNS record.
const RFC8463_SEED: &str = "nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A=";
const RFC8463_RECORD: &str = "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=";

/// RFC 8463 §A.3: the signed example message (its RSA signature left out: the RSA key is
/// not in the RFC).
const RFC8463_SIGNED: &str = "DKIM-Signature: v=1; a=ed25519-sha256; c=relaxed/relaxed;\r
 d=football.example.com; i=@football.example.com;\r
 q=dns/txt; s=brisbane; t=1528637909; h=from : to :\r
 subject : date : message-id : from : subject : date;\r
 bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=;\r
 b=/gCrinpcQOoIfuHNQIbq4pgh9kyIK3AQUdt9OdqQehSwhEIug4D11Bus\r
 Fa3bT3FY5OsU7ZbnKELq+eXdp1Q1Dw==\r
From: Joe SixPack <joe@football.example.com>\r
To: Suzie Q <suzie@shopping.example.net>\r
Subject: Is dinner ready?\r
Date: Fri, 11 Jul 2003 21:00:37 -0700 (PDT)\r
Message-ID: <20030712040037.46341.5F8J@football.example.com>\r
\r
Hi.\r
\r
We lost the game.  Are you hungry yet?\r
\r
Joe.\r
";

/// DNS records served from memory: the verifier's TXT cache, filled before it asks.
#[derive(Default)]
struct Records(HashMap<Box<str>, Txt>);

impl Records {
    fn with(mut self, name: &str, record: &str) -> Self {
        let key = DomainKey::parse(record.as_bytes()).expect("a valid key record");
        self.0
            .insert(format!("{name}.").into(), Txt::DomainKey(Arc::new(key)));
        self
    }
}

impl ResolverCache<Box<str>, Txt> for Records {
    fn get<Q>(&self, name: &Q) -> Option<Txt>
    where
        Box<str>: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.0.get(name).cloned()
    }
    fn remove<Q>(&self, _: &Q) -> Option<Txt>
    where
        Box<str>: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        None
    }
    fn insert(&self, _: Box<str>, _: Txt, _: std::time::Instant) {}
}

/// The verifier's result for each signature of `message`.
fn verify(message: &[u8], records: &Records) -> Vec<DkimResult> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let authenticator = MessageAuthenticator::new_cloudflare().unwrap();
    let parsed = AuthenticatedMessage::parse(message).expect("a message");
    runtime.block_on(async {
        authenticator
            .verify_dkim(Parameters::new(&parsed).with_txt_cache(records))
            .await
            .iter()
            .map(|o| o.result().clone())
            .collect()
    })
}

/// A PKCS#8 PEM file holding an Ed25519 seed (RFC 8410 §7 layout).
fn ed25519_pem(seed: &[u8]) -> String {
    let mut der = vec![
        0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04,
        0x20,
    ];
    der.extend_from_slice(seed);
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    format!("-----BEGIN PRIVATE KEY-----\n{b64}\n-----END PRIVATE KEY-----\n")
}

/// A file in a directory of its own under the system's temp dir (tests run in parallel),
/// removed with it when dropped.
struct TempFile(std::path::PathBuf);

impl std::ops::Deref for TempFile {
    type Target = std::path::Path;
    fn deref(&self) -> &std::path::Path {
        &self.0
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if let Some(dir) = self.0.parent() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

fn temp_file(name: &str, content: &[u8]) -> TempFile {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("nssmtpd-dkim-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::File::create(&path)
        .unwrap()
        .write_all(content)
        .unwrap();
    TempFile(path)
}

fn rfc8463_key_file() -> TempFile {
    let seed = base64::engine::general_purpose::STANDARD
        .decode(RFC8463_SEED)
        .unwrap();
    temp_file("rfc8463.pem", ed25519_pem(&seed).as_bytes())
}

fn unsigned_example() -> &'static str {
    let start = RFC8463_SIGNED.find("From:").unwrap();
    &RFC8463_SIGNED[start..]
}

#[test]
fn rfc8463_example_signature_verifies() {
    let records =
        Records::default().with("brisbane._domainkey.football.example.com", RFC8463_RECORD);
    assert_eq!(
        verify(RFC8463_SIGNED.as_bytes(), &records),
        vec![DkimResult::Pass]
    );
    // The verifier is not blind: one changed body byte fails it.
    let tampered = RFC8463_SIGNED.replace("hungry", "Hungry");
    let result = format!("{:?}", verify(tampered.as_bytes(), &records));
    assert!(result.contains("FailedBodyHashMatch"), "{result}");
    let tampered = RFC8463_SIGNED.replace("dinner", "lunch");
    let result = verify(tampered.as_bytes(), &records);
    assert!(matches!(result[..], [DkimResult::Fail(_)]), "{result:?}");
}

#[test]
fn our_signature_with_the_rfc8463_key_verifies_and_hashes_the_body_as_the_rfc() {
    let key = rfc8463_key_file();
    let option = format!("{{football.example.com brisbane {}}}", key.display());
    let signers = DkimSigners::load(&option).unwrap();
    let signed = signers
        .sign(unsigned_example().as_bytes(), &Choice::ByFrom)
        .unwrap()
        .expect("the From: domain has an entry");
    let text = String::from_utf8(signed.clone()).unwrap();
    assert!(text.starts_with("DKIM-Signature: "), "{text}");
    // The body hash does not depend on the time: it is the RFC's.
    assert!(
        text.replace("\r\n\t", "")
            .replace("\r\n ", "")
            .contains("bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8="),
        "{text}"
    );
    assert!(text.contains("a=ed25519-sha256"));
    assert!(text.contains("c=relaxed/relaxed"));
    assert!(text.ends_with(unsigned_example()));
    let records =
        Records::default().with("brisbane._domainkey.football.example.com", RFC8463_RECORD);
    assert_eq!(verify(&signed, &records), vec![DkimResult::Pass]);
}

#[test]
fn default_headers_oversign_from() {
    let key = rfc8463_key_file();
    let signers = DkimSigners::load(&format!(
        "{{football.example.com brisbane {}}}",
        key.display()
    ))
    .unwrap();
    let signed = signers
        .sign(unsigned_example().as_bytes(), &Choice::ByFrom)
        .unwrap()
        .unwrap();
    let text = String::from_utf8(signed).unwrap();
    let unfolded = text.replace("\r\n\t", "").replace("\r\n ", "");
    let h = unfolded
        .split(';')
        .map(str::trim)
        .find_map(|t| t.strip_prefix("h="))
        .unwrap()
        .to_ascii_lowercase();
    // Bottom-up, as mail-auth lists them (RFC 6376 §5.4.2), and From once more.
    assert_eq!(h, "message-id:date:subject:to:from:from");
}

#[test]
fn relaxed_canonicalization_survives_whitespace_changes() {
    let key = rfc8463_key_file();
    let signers = DkimSigners::load(&format!(
        "{{football.example.com brisbane {}}}",
        key.display()
    ))
    .unwrap();
    let signed = signers
        .sign(unsigned_example().as_bytes(), &Choice::ByFrom)
        .unwrap()
        .unwrap();
    let text = String::from_utf8(signed).unwrap();
    // What relaxed canonicalization forgives: header case and white space, trailing blanks
    // and empty lines at the end of the body.
    let changed = text
        .replace(
            "Subject: Is dinner ready?",
            "SUBJECT:   Is   dinner\tready?  ",
        )
        .replace("Joe.\r\n", "Joe.  \r\n\r\n\r\n");
    let records =
        Records::default().with("brisbane._domainkey.football.example.com", RFC8463_RECORD);
    assert_eq!(verify(changed.as_bytes(), &records), vec![DkimResult::Pass]);
}

#[test]
fn a_message_from_another_domain_is_not_signed_unless_named() {
    let key = rfc8463_key_file();
    let signers = DkimSigners::load(&format!(
        "{{football.example.com brisbane {}}}",
        key.display()
    ))
    .unwrap();
    let other = unsigned_example().replace("joe@football.example.com>", "joe@elsewhere.example>");
    assert_eq!(
        signers.sign(other.as_bytes(), &Choice::ByFrom).unwrap(),
        None
    );
    let named = signers
        .sign(
            other.as_bytes(),
            &Choice::Named("football.example.com".into()),
        )
        .unwrap()
        .unwrap();
    assert!(String::from_utf8(named)
        .unwrap()
        .contains("d=football.example.com"));
    assert_eq!(
        signers
            .sign(other.as_bytes(), &Choice::Named("nosuch.example".into()))
            .unwrap(),
        None
    );
    assert!(signers.has_named("Football.Example.com"));
}

#[test]
fn bare_line_ends_are_signed_as_sent() {
    let key = rfc8463_key_file();
    let signers = DkimSigners::load(&format!(
        "{{football.example.com brisbane {}}}",
        key.display()
    ))
    .unwrap();
    let lf_only = unsigned_example().replace("\r\n", "\n");
    let signed = signers
        .sign(lf_only.as_bytes(), &Choice::ByFrom)
        .unwrap()
        .unwrap();
    assert!(!signed.windows(2).any(|w| w[1] == b'\n' && w[0] != b'\r'));
    let records =
        Records::default().with("brisbane._domainkey.football.example.com", RFC8463_RECORD);
    assert_eq!(verify(&signed, &records), vec![DkimResult::Pass]);
}

#[test]
fn bad_keys_are_errors_that_name_the_entry() {
    let missing = DkimSigners::load("{example.com s1 /nonexistent/key.pem}").unwrap_err();
    assert!(missing.contains("domain \"example.com\""), "{missing}");
    assert!(missing.contains("/nonexistent/key.pem"), "{missing}");
    let junk = temp_file("junk.pem", b"not a key\n");
    let err = DkimSigners::load(&format!("{{example.com s1 {}}}", junk.display())).unwrap_err();
    assert!(err.contains("no PEM private key"), "{err}");
    let ed = rfc8463_key_file();
    let err =
        DkimSigners::load(&format!("{{example.com s1 {} rsa-sha256}}", ed.display())).unwrap_err();
    assert!(
        err.contains("the entry says rsa-sha256 but the key is for ed25519-sha256"),
        "{err}"
    );
    assert!(DkimSigners::load("").unwrap().is_empty());
}

/// An RSA key made by openssl, as an operator would (`openssl genrsa`, PKCS#1 or PKCS#8).
fn openssl_rsa(bits: u32, pkcs8: bool) -> Option<TempFile> {
    let path = temp_file(&format!("rsa{bits}{pkcs8}.pem"), b"");
    let ok = if pkcs8 {
        std::process::Command::new("openssl")
            .args(["genpkey", "-algorithm", "RSA", "-pkeyopt"])
            .arg(format!("rsa_keygen_bits:{bits}"))
            .arg("-out")
            .arg(&*path)
            .output()
    } else {
        std::process::Command::new("openssl")
            .args(["genrsa", "-traditional", "-out"])
            .arg(&*path)
            .arg(bits.to_string())
            .output()
    };
    match ok {
        Ok(o) if o.status.success() => Some(path),
        _ => None,
    }
}

/// The public key record for an RSA key file, as `openssl rsa -pubout` gives it.
fn rsa_record(path: &std::path::Path) -> String {
    let out = std::process::Command::new("openssl")
        .args(["pkey", "-pubout", "-outform", "DER", "-in"])
        .arg(path)
        .output()
        .unwrap();
    assert!(out.status.success());
    format!(
        "v=DKIM1; k=rsa; p={}",
        base64::engine::general_purpose::STANDARD.encode(out.stdout)
    )
}

#[test]
fn rsa_keys_from_openssl_sign_and_verify() {
    let Some(pkcs1) = openssl_rsa(2048, false) else {
        eprintln!("openssl missing: RSA test skipped");
        return;
    };
    let pkcs8 = openssl_rsa(2048, true).unwrap();
    assert!(std::fs::read_to_string(&*pkcs1)
        .unwrap()
        .contains("BEGIN RSA PRIVATE KEY"));
    for (path, selector) in [(&pkcs1, "p1"), (&pkcs8, "p8")] {
        let signers = DkimSigners::load(&format!(
            "{{football.example.com {selector} {} rsa-sha256}}",
            path.display()
        ))
        .unwrap();
        let signed = signers
            .sign(unsigned_example().as_bytes(), &Choice::ByFrom)
            .unwrap()
            .unwrap();
        assert!(String::from_utf8_lossy(&signed).contains("a=rsa-sha256"));
        let records = Records::default().with(
            &format!("{selector}._domainkey.football.example.com"),
            &rsa_record(path),
        );
        assert_eq!(
            verify(&signed, &records),
            vec![DkimResult::Pass],
            "{selector}"
        );
    }
    let small = openssl_rsa(512, false).unwrap();
    let err = DkimSigners::load(&format!("{{example.com s {}}}", small.display())).unwrap_err();
    assert!(err.contains("at least 1024 bits"), "{err}");
}

/// RFC 6376 §3.4.5: the example message in both canonicalizations.
#[test]
fn rfc6376_canonicalization_examples() {
    let headers: [(&[u8], &[u8]); 2] = [(b"A", b" X\r\n"), (b"B ", b" Y\t\r\n\tZ  \r\n")];
    let body: &[u8] = b" C \r\nD \t E\r\n\r\n\r\n";
    let canon = |c: Canonicalization| {
        let mut h = Vec::new();
        c.canonicalize_headers(headers.iter().map(|(n, v)| (*n, *v)), &mut h);
        let mut b = Vec::new();
        c.canonical_body(body, 0).write(&mut b);
        (h, b)
    };
    let (h, b) = canon(Canonicalization::Relaxed);
    assert_eq!(h, b"a:X\r\nb:Y Z\r\n");
    assert_eq!(b, b" C\r\nD E\r\n");
    let (h, b) = canon(Canonicalization::Simple);
    assert_eq!(h, b"A: X\r\nB : Y\t\r\n\tZ  \r\n");
    assert_eq!(b, b" C \r\nD \t E\r\n");
}
