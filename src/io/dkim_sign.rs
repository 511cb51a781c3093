//! Outbound DKIM signing with mail-auth: the keys of the `dkimsign` entries, read at `start`
//! and `configure`, and the signature put in front of a message. Runs on the I/O runtime
//! (the relay and `ns_smtpd send`), never on an interpreter thread.
use crate::core::dkim_keys::{
    find_entry, from_domain, header_fields, named_entry, parse_entries, signed_headers, wire_form,
    SignAlgorithm, SignEntry,
};
use mail_auth::common::crypto::{Algorithm, DkimKey, Ed25519Key, RsaKey, Sha256, SigningKey as _};
use mail_auth::common::headers::{HeaderWriter, Writable};
use mail_auth::dkim::{Canonicalization, DkimSigner};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::PrivateKeyDer;
use std::sync::Arc;

/// The signing entries of a configuration, keys loaded (`keys[i]` is `entries[i]`'s).
#[derive(Default)]
pub struct DkimSigners {
    entries: Vec<SignEntry>,
    keys: Vec<Arc<DkimKey>>,
}

impl std::fmt::Debug for DkimSigners {
    /// The entries only: keys are never printed.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DkimSigners")
            .field("entries", &self.entries)
            .finish()
    }
}

/// Which entry signs a message.
#[derive(Debug, Clone)]
pub enum Choice {
    /// The one matching the From: domain, if any.
    ByFrom,
    /// The one `send -dkim domain` names.
    Named(String),
}

impl DkimSigners {
    /// Parses the `dkimsign` option and reads every key; any bad entry or key is an error
    /// naming it (a server never starts signing some mail and silently not the rest).
    pub fn load(option: &str) -> Result<DkimSigners, String> {
        let entries = parse_entries(option).map_err(|e| format!("-dkimsign: {e}"))?;
        let mut keys = Vec::with_capacity(entries.len());
        for entry in &entries {
            let key = read_key(entry).map_err(|e| {
                format!(
                    "-dkimsign: domain \"{}\": key file \"{}\": {e}",
                    entry.pattern, entry.keyfile
                )
            })?;
            keys.push(Arc::new(key));
        }
        Ok(DkimSigners { entries, keys })
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Whether `send -dkim name` has an entry to sign with.
    pub fn has_named(&self, name: &str) -> bool {
        named_entry(&self.entries, name).is_some()
    }

    /// The entry chosen for a message, with its key.
    fn choose(&self, message: &[u8], choice: &Choice) -> Option<(&SignEntry, &Arc<DkimKey>)> {
        let picked = match choice {
            Choice::Named(name) => named_entry(&self.entries, name)?,
            Choice::ByFrom => find_entry(&self.entries, &from_domain(header_fields(message))?)?,
        };
        let i = self.entries.iter().position(|e| std::ptr::eq(e, picked))?;
        Some((picked, &self.keys[i]))
    }

    /// The message as it goes on the wire (line ends as `dot_stuff` sends them), with a
    /// DKIM-Signature first when an entry is chosen; `Ok(None)` when none is.
    pub fn sign(&self, message: &[u8], choice: &Choice) -> Result<Option<Vec<u8>>, String> {
        if self.entries.is_empty() {
            return Ok(None);
        }
        let wire = wire_form(message);
        let Some((entry, key)) = self.choose(&wire, choice) else {
            return Ok(None);
        };
        let names = header_fields(&wire).into_iter().map(|(n, _)| n);
        let headers = signed_headers(entry, names);
        let signature = DkimSigner::from_key(SharedKey(key.clone()))
            .domain(entry.signing_domain())
            .selector(entry.selector.clone())
            .headers(headers)
            .header_canonicalization(Canonicalization::Relaxed)
            .body_canonicalization(Canonicalization::Relaxed)
            .sign(&wire)
            .map_err(|e| format!("DKIM signing for {}: {e}", entry.pattern))?;
        let header = signature.to_header();
        let mut out = Vec::with_capacity(header.len() + wire.len());
        out.extend_from_slice(header.as_bytes());
        out.extend_from_slice(&wire);
        Ok(Some(out))
    }
}

/// [`DkimSigners::sign`] on tokio's blocking pool: hashing a large message and an RSA
/// signature take milliseconds that a session's worker thread should not spend.
pub async fn sign_in_background(
    signers: Arc<DkimSigners>,
    message: Vec<u8>,
    choice: Choice,
) -> Result<Option<Vec<u8>>, String> {
    tokio::task::spawn_blocking(move || signers.sign(&message, &choice))
        .await
        .map_err(|e| format!("DKIM signing stopped: {e}"))?
}

/// A loaded key shared by the signers made from it (one per message).
struct SharedKey(Arc<DkimKey>);

impl mail_auth::common::crypto::SigningKey for SharedKey {
    type Hasher = Sha256;

    fn sign(&self, input: impl Writable) -> mail_auth::Result<Vec<u8>> {
        self.0.sign(input)
    }

    fn algorithm(&self) -> Algorithm {
        self.0.algorithm()
    }
}

/// Reads a PEM key: PKCS#1 RSA (`openssl genrsa`), PKCS#8 RSA or Ed25519 (`openssl
/// genpkey`). The entry's algorithm, when given, must be the key's.
fn read_key(entry: &SignEntry) -> Result<DkimKey, String> {
    let pem = std::fs::read(&entry.keyfile).map_err(|e| super::os_text(&e))?;
    let der =
        PrivateKeyDer::from_pem_slice(&pem).map_err(|e| format!("no PEM private key ({e})"))?;
    let key = match der {
        PrivateKeyDer::Pkcs1(_) => DkimKey::Rsa(rsa_key(der)?),
        PrivateKeyDer::Pkcs8(ref p8) => match Ed25519Key::from_pkcs8_der(p8.secret_pkcs8_der()) {
            Ok(k) => DkimKey::Ed25519(k),
            Err(_) => DkimKey::Rsa(rsa_key(der)?),
        },
        _ => return Err("not an RSA or Ed25519 key (EC keys cannot sign DKIM)".into()),
    };
    let found = match key.algorithm() {
        Algorithm::Ed25519Sha256 => SignAlgorithm::Ed25519Sha256,
        _ => SignAlgorithm::RsaSha256,
    };
    match entry.algorithm {
        Some(wanted) if wanted != found => Err(format!(
            "the entry says {} but the key is for {}",
            wanted.as_str(),
            found.as_str()
        )),
        _ => Ok(key),
    }
}

/// An RSA key of at least 1024 bits (RFC 8301 §3.2).
fn rsa_key(der: PrivateKeyDer<'_>) -> Result<RsaKey<Sha256>, String> {
    let key = RsaKey::<Sha256>::from_key_der(der).map_err(|e| format!("bad RSA key: {e}"))?;
    // The PKCS#1 public key is a little longer than the modulus: 1024 bits give 140 bytes.
    if key.public_key().len() < 140 {
        return Err("RSA keys must have at least 1024 bits (RFC 8301)".into());
    }
    Ok(key)
}

#[cfg(test)]
mod tests;
