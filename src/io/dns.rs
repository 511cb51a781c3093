//! DNS: one resolver per server configuration, from `nameserver` (default: the system's
//! resolver configuration), that every lookup goes through — `checkdomain`, `needdomain`,
//! FCrDNS and the sender authentication checks of mail-auth. Every query is bounded in
//! time (a per-query timeout and one retry); hickory keeps its own TTL-respecting answer
//! cache, and mail-auth's parsed records (SPF, DKIM keys, DMARC policies, MX, addresses)
//! are cached here until their TTL ends.
use crate::core::authres::parse_nameservers;
use hickory_resolver::config::{NameServerConfig, ResolverConfig, ResolverOpts};
use hickory_resolver::TokioResolver;
use mail_auth::{MessageAuthenticator, RecordSet, ResolverCache, Txt, MX};
use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::Hash;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, ToSocketAddrs};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// How long one query may wait for an answer, and how often it is tried.
const QUERY_TIMEOUT: Duration = Duration::from_secs(2);
const QUERY_ATTEMPTS: usize = 2;
/// Entries per record type in the parsed-record caches.
const CACHE_ENTRIES: usize = 10_000;

/// A resolver and the caches of what mail-auth parsed from its answers.
pub struct Dns {
    auth: MessageAuthenticator,
    pub caches: Caches,
    /// What the resolver was built from (`nameserver`, or empty for the system's).
    pub nameserver: String,
}

impl Dns {
    /// The resolver for a `nameserver` value: the servers listed, or the system's
    /// configuration when empty.
    pub fn new(nameserver: &str) -> Result<Dns, String> {
        let servers = parse_nameservers(nameserver)?;
        let (config, mut opts) = if servers.is_empty() {
            hickory_resolver::system_conf::read_system_conf().unwrap_or_else(|_| {
                (
                    ResolverConfig::from_name_servers(Vec::new()),
                    ResolverOpts::default(),
                )
            })
        } else {
            let mut list = Vec::new();
            for (host, port) in servers {
                for ip in addresses_of(&host)? {
                    let mut ns = NameServerConfig::udp_and_tcp(ip);
                    for c in &mut ns.connections {
                        c.port = port;
                    }
                    list.push(ns);
                }
            }
            (
                ResolverConfig::from_name_servers(list),
                ResolverOpts::default(),
            )
        };
        opts.timeout = QUERY_TIMEOUT;
        opts.attempts = QUERY_ATTEMPTS;
        // The runtime's context: building a resolver may need its reactor.
        let _entered = super::runtime::runtime().enter();
        let auth = MessageAuthenticator::new(config, opts)
            .map_err(|e| format!("cannot build a DNS resolver: {e}"))?;
        Ok(Dns {
            auth,
            caches: Caches::default(),
            nameserver: nameserver.to_string(),
        })
    }

    /// The resolver of the system configuration, for lookups made while no server runs;
    /// `None` when hickory cannot build one at all.
    pub fn system() -> Option<Arc<Dns>> {
        static SYSTEM: OnceLock<Option<Arc<Dns>>> = OnceLock::new();
        SYSTEM
            .get_or_init(|| Dns::new("").ok().map(Arc::new))
            .clone()
    }

    pub fn authenticator(&self) -> &MessageAuthenticator {
        &self.auth
    }

    pub fn resolver(&self) -> &TokioResolver {
        self.auth.resolver()
    }

    /// Whether `domain` can receive mail: it has an MX record, else an A or AAAA record.
    /// Any failure, including the time limit, counts as "does not exist".
    pub async fn domain_exists(&self, domain: &str, limit: Duration) -> bool {
        let domain = domain.trim().trim_end_matches('.');
        if domain.is_empty() || domain.len() > 253 || domain.contains(|c: char| c.is_whitespace()) {
            return false;
        }
        let fqdn = format!("{domain}.");
        let check = async {
            let r = self.resolver();
            if let Ok(mx) = r.mx_lookup(fqdn.as_str()).await {
                if !mx.answers().is_empty() {
                    return true;
                }
            }
            matches!(r.lookup_ip(fqdn.as_str()).await, Ok(ips) if ips.iter().next().is_some())
        };
        tokio::time::timeout(limit, check).await.unwrap_or(false)
    }

    /// The client's host name by reverse DNS, confirmed by a forward lookup that gives the
    /// same address back (as Postfix's `reject_unknown_client_hostname`); `None` when there
    /// is no such name or the time limit passed.
    pub async fn confirmed_client_name(&self, ip: IpAddr, limit: Duration) -> Option<String> {
        let check = async {
            let r = self.resolver();
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
}

/// A name server given by name is looked up once, through the system, when the resolver
/// is built.
fn addresses_of(host: &str) -> Result<Vec<IpAddr>, String> {
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(vec![ip]);
    }
    let found: Vec<IpAddr> = (host, 53)
        .to_socket_addrs()
        .map_err(|e| format!("name server \"{host}\" cannot be resolved: {e}"))?
        .map(|a| a.ip())
        .collect();
    if found.is_empty() {
        return Err(format!("name server \"{host}\" has no address"));
    }
    Ok(found)
}

/// A bounded map whose entries end at the time the DNS answer's TTL gave them.
pub struct TtlCache<K, V> {
    entries: Mutex<HashMap<K, (V, Instant)>>,
}

impl<K, V> Default for TtlCache<K, V> {
    fn default() -> Self {
        TtlCache {
            entries: Mutex::new(HashMap::new()),
        }
    }
}

impl<K: Hash + Eq, V: Clone> TtlCache<K, V> {
    pub fn len(&self) -> usize {
        self.entries.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl<K: Hash + Eq, V: Clone> ResolverCache<K, V> for TtlCache<K, V> {
    fn get<Q>(&self, name: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        match entries.get(name) {
            Some((value, until)) if *until > Instant::now() => Some(value.clone()),
            Some(_) => {
                entries.remove(name);
                None
            }
            None => None,
        }
    }

    fn remove<Q>(&self, name: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.remove(name).map(|(v, _)| v)
    }

    fn insert(&self, key: K, value: V, valid_until: Instant) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= CACHE_ENTRIES {
            let now = Instant::now();
            entries.retain(|_, (_, until)| *until > now);
            if entries.len() >= CACHE_ENTRIES {
                // Still full of live entries: start over rather than grow without bound.
                entries.clear();
            }
        }
        entries.insert(key, (value, valid_until));
    }
}

/// mail-auth's record caches, one per record type.
#[derive(Default)]
pub struct Caches {
    pub txt: TtlCache<Box<str>, Txt>,
    pub mx: TtlCache<Box<str>, RecordSet<MX>>,
    pub ipv4: TtlCache<Box<str>, RecordSet<Ipv4Addr>>,
    pub ipv6: TtlCache<Box<str>, RecordSet<Ipv6Addr>>,
    pub ptr: TtlCache<IpAddr, RecordSet<Box<str>>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_end_with_their_ttl() {
        let cache: TtlCache<Box<str>, u32> = TtlCache::default();
        let now = Instant::now();
        cache.insert("live".into(), 1, now + Duration::from_secs(60));
        cache.insert("dead".into(), 2, now);
        assert_eq!(cache.get("live"), Some(1));
        assert_eq!(cache.get("dead"), None);
        assert_eq!(cache.len(), 1);
        assert_eq!(cache.remove("live"), Some(1));
        assert_eq!(cache.get("live"), None);
    }

    #[test]
    fn bad_nameserver_is_an_error() {
        assert!(Dns::new("1.2.3.4:0").is_err());
    }
}
