//! RFC 7050 §3: the AAAA lookup of `ipv4only.arpa` (hickory-resolver, on
//! tokio). The prefix search itself is the sans-IO [`crate::rfc7050`].

use std::net::SocketAddr;

use hickory_resolver::config::{ConnectionConfig, NameServerConfig, ResolveHosts, ResolverConfig};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::proto::rr::{RData, RecordType};
use hickory_resolver::Resolver;

use crate::rfc7050::{discover_from_answers, Discovered, WELL_KNOWN_NAME};
use crate::Pref64Error;

/// RFC 7050 §3: asks for the AAAA records of `ipv4only.arpa` and finds the
/// Pref64::/n in them.
///
/// `resolver_addr` is the DNS64 server to ask (UDP, TCP on truncation);
/// `None` uses the system configuration (`/etc/resolv.conf`). The hosts
/// file is never consulted: the answer must come from the DNS64 (RFC 8880). Returns every prefix found and the TTL after which to look again.
///
/// Errors: [`Pref64Error::NoDns64`] when the name has no AAAA records,
/// [`Pref64Error::NoPrefix`] when they embed no well-known address,
/// [`Pref64Error::Lookup`] when the query failed, and
/// [`Pref64Error::ResolverConfig`] when the system configuration is
/// unusable.
pub async fn rfc7050_discover(resolver_addr: Option<SocketAddr>) -> Result<Discovered, Pref64Error> {
    let mut builder = match resolver_addr {
        Some(addr) => {
            let mut udp = ConnectionConfig::udp();
            udp.port = addr.port();
            let mut tcp = ConnectionConfig::tcp();
            tcp.port = addr.port();
            let server = NameServerConfig::new(addr.ip(), true, vec![udp, tcp]);
            Resolver::builder_with_config(
                ResolverConfig::from_name_servers(vec![server]),
                TokioRuntimeProvider::default(),
            )
        }
        None => Resolver::builder_tokio().map_err(|e| Pref64Error::ResolverConfig(Box::new(e)))?,
    };
    builder.options_mut().use_hosts_file = ResolveHosts::Never;
    let resolver = builder.build().map_err(|e| Pref64Error::ResolverConfig(Box::new(e)))?;

    let lookup = match resolver.lookup(WELL_KNOWN_NAME, RecordType::AAAA).await {
        Ok(lookup) => lookup,
        Err(e) if e.is_no_records_found() => return Err(Pref64Error::NoDns64),
        Err(e) => return Err(Pref64Error::Lookup(Box::new(e))),
    };
    let answers = lookup.answers().iter().filter_map(|r| match &r.data {
        RData::AAAA(aaaa) => Some((aaaa.0, r.ttl)),
        _ => None,
    });
    let found = discover_from_answers(answers)?;
    tracing::debug!(prefixes = ?found.prefixes, ttl = ?found.ttl, "RFC 7050 discovery");
    Ok(found)
}
