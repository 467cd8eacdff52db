//! Automatic CLAT prefix: carve it from the router's DHCPv6-PD pool and
//! notice when the ISP delegates another prefix.
//!
//! RouterOS's DHCPv6 client puts a delegated prefix into the `/ipv6/pool`
//! named by its `pool-name` (properties `name`, `prefix`,
//! `prefix-length`: the pool's prefix and the length of the pieces it
//! hands out). Addresses taken `from-pool` are allocated from the start of
//! the pool, so the CLAT takes the **last** subnet by default (RFC 6877
//! §6.3: a dedicated prefix for the CLAT).

use ipnetwork::Ipv6Network;

use crate::config::PoolCarve;
use crate::Error;

/// The `index`-th subnet of length `length` inside `pool` (`None`: the
/// last one).
pub fn carve(pool: Ipv6Network, length: u8, index: Option<u128>) -> Result<Ipv6Network, Error> {
    let base = pool.prefix();
    if length < base || length > 128 {
        return Err(Error::config(format!(
            "cannot carve a /{length} out of the pool {pool}: use a length from {base} to 128"
        )));
    }
    let bits = u32::from(length - base);
    // Number of subnets minus one; 2^128 subnets do not fit a u128.
    let last = if bits >= 128 { u128::MAX } else { (1u128 << bits) - 1 };
    let index = index.unwrap_or(last);
    if index > last {
        return Err(Error::config(format!(
            "subnet index {index} is outside {pool}: it has {} /{length} subnets",
            last.saturating_add(1)
        )));
    }
    let shift = 128 - u32::from(length);
    let offset = if shift >= 128 { 0 } else { index << shift };
    let addr = u128::from(pool.network()) | offset;
    Ipv6Network::new(addr.into(), length).map_err(|e| Error::config(e.to_string()))
}

/// The delegated prefix moved and the CLAT prefix with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PrefixChange {
    /// The pool before (`None` on the first look).
    pub old_pool: Option<Ipv6Network>,
    /// The pool now.
    pub new_pool: Ipv6Network,
    /// The CLAT prefix before.
    pub old: Option<Ipv6Network>,
    /// The CLAT prefix now.
    pub new: Ipv6Network,
}

/// Given the pool seen last time and the pool now, the CLAT prefix change,
/// if any: the caller re-provisions (routes and firewall follow the new
/// prefix) and reconfigures the CLAT when it gets `Some`.
pub fn recompute(
    carve_cfg: &PoolCarve,
    old_pool: Option<Ipv6Network>,
    new_pool: Ipv6Network,
) -> Result<Option<PrefixChange>, Error> {
    let new = carve(new_pool, carve_cfg.length, carve_cfg.index)?;
    let old = old_pool.map(|p| carve(p, carve_cfg.length, carve_cfg.index)).transpose()?;
    Ok((old != Some(new)).then_some(PrefixChange { old_pool, new_pool, old, new }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(s: &str) -> Ipv6Network {
        s.parse().unwrap()
    }

    #[test]
    fn carves_the_last_subnet_by_default() {
        assert_eq!(carve(net("2001:db8:1200::/56"), 64, None).unwrap(), net("2001:db8:1200:ff::/64"));
        assert_eq!(carve(net("2001:db8:1200::/56"), 64, Some(0)).unwrap(), net("2001:db8:1200::/64"));
        assert_eq!(carve(net("2001:db8:1200::/56"), 64, Some(16)).unwrap(), net("2001:db8:1200:10::/64"));
        assert_eq!(carve(net("2001:db8::/64"), 64, None).unwrap(), net("2001:db8::/64"));
        assert_eq!(carve(net("2001:db8::/64"), 128, Some(1)).unwrap(), net("2001:db8::1/128"));
        assert_eq!(carve(net("::/0"), 128, None).unwrap(), net("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128"));
    }

    #[test]
    fn rejects_impossible_carves() {
        assert!(carve(net("2001:db8::/56"), 48, None).is_err());
        assert!(carve(net("2001:db8::/56"), 64, Some(256)).is_err());
    }

    #[test]
    fn recompute_reports_only_changes() {
        let c = PoolCarve { pool: "pd".into(), length: 64, index: None };
        let first = recompute(&c, None, net("2001:db8:1200::/56")).unwrap().unwrap();
        assert_eq!(first.new, net("2001:db8:1200:ff::/64"));
        assert_eq!(first.old, None);
        assert_eq!(recompute(&c, Some(net("2001:db8:1200::/56")), net("2001:db8:1200::/56")).unwrap(), None);
        let moved = recompute(&c, Some(net("2001:db8:1200::/56")), net("2001:db8:3400::/56")).unwrap().unwrap();
        assert_eq!(moved.old, Some(net("2001:db8:1200:ff::/64")));
        assert_eq!(moved.new, net("2001:db8:3400:ff::/64"));
    }
}
