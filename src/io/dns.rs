//! DNS existence checks for domains (`checkdomain`, the `needdomain` policy), through the
//! system resolver configuration (`/etc/resolv.conf`, `/etc/hosts`), always bounded in time.
use hickory_resolver::config::ResolverOpts;
use hickory_resolver::TokioResolver;
use std::sync::OnceLock;
use std::time::Duration;

fn resolver() -> Option<&'static TokioResolver> {
    static RESOLVER: OnceLock<Option<TokioResolver>> = OnceLock::new();
    RESOLVER
        .get_or_init(|| {
            let mut builder = TokioResolver::builder_tokio().ok()?;
            let opts: &mut ResolverOpts = builder.options_mut();
            opts.timeout = Duration::from_secs(2);
            opts.attempts = 1;
            builder.build().ok()
        })
        .as_ref()
}

/// Whether `domain` can receive mail: it has an MX record, else an A or AAAA record.
/// Any failure, including the time limit, counts as "does not exist".
pub async fn domain_exists(domain: &str, limit: Duration) -> bool {
    let domain = domain.trim().trim_end_matches('.');
    if domain.is_empty() || domain.len() > 253 || domain.contains(|c: char| c.is_whitespace()) {
        return false;
    }
    let fqdn = format!("{domain}.");
    let check = async {
        match resolver() {
            Some(r) => {
                if let Ok(mx) = r.mx_lookup(fqdn.as_str()).await {
                    if !mx.answers().is_empty() {
                        return true;
                    }
                }
                matches!(r.lookup_ip(fqdn.as_str()).await, Ok(ips) if ips.iter().next().is_some())
            }
            // No usable resolver configuration: fall back to the C library for addresses.
            None => match tokio::net::lookup_host((domain, 25)).await {
                Ok(mut addrs) => addrs.next().is_some(),
                Err(_) => false,
            },
        }
    };
    tokio::time::timeout(limit, check).await.unwrap_or(false)
}

/// The client's host name by reverse DNS, confirmed by a forward lookup that gives the
/// same address back (as Postfix's `reject_unknown_client_hostname`); `None` when there is
/// no such name or the time limit passed.
pub async fn confirmed_client_name(ip: std::net::IpAddr, limit: Duration) -> Option<String> {
    let check = async {
        let r = resolver()?;
        let names = r.reverse_lookup(ip).await.ok()?;
        for record in names.answers() {
            let hickory_resolver::proto::rr::RData::PTR(name) = &record.data else {
                continue;
            };
            let name = name.to_string();
            if let Ok(ips) = r.lookup_ip(name.as_str()).await {
                if ips.iter().any(|a| a == ip) {
                    return Some(name.trim_end_matches('.').to_string());
                }
            }
        }
        None
    };
    tokio::time::timeout(limit, check).await.ok().flatten()
}
