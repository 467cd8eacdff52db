//! Which PLAT prefix to use now: a sans-IO state machine over the RA and
//! DNS sources.
//!
//! - **Inputs** (quinn style, time passed in): [`Pref64State::on_ra`],
//!   [`Pref64State::on_dns`], [`Pref64State::on_dns_failure`] and
//!   [`Pref64State::on_timeout`]. Each returns a [`Transition`] when the
//!   prefix in use changed, so the daemon can swap it atomically, log it
//!   and count it.
//! - **Outputs**: [`Pref64State::current`], [`Pref64State::next_deadline`]
//!   (when to call `on_timeout`) and [`Pref64State::poll_dns_discovery`]
//!   (whether to start an RFC 7050 lookup now).
//!
//! Policy:
//! - RFC 9872 (which recommends RFC 8781 over RFC 7050): a prefix from an
//!   RA is preferred over one from DNS; DNS is the fallback while no RA
//!   prefix is valid.
//! - RFC 8781 §4: an RA prefix is valid for its lifetime; lifetime 0
//!   withdraws it at once. Among several RA prefixes (RFC 8781 §5.1:
//!   renumbering, several routers) the one in use is kept while it stays
//!   valid, so the translator does not flap; when it goes, the one valid
//!   longest takes over.
//! - RFC 7050 §3: a DNS prefix is valid for the record TTL (at least
//!   [`DNS_TTL_FLOOR`]); the next lookup is due halfway through, so a
//!   refresh can fail and be retried ([`DNS_RETRY`]) before the prefix
//!   lapses.

use core::time::Duration;
use std::time::Instant;

use xlat_core::rfc6052::Prefix;

/// At most this many RA prefixes are tracked; a hostile link cannot grow
/// the table without bound. When full, the one expiring first is dropped.
pub const MAX_RA_PREFIXES: usize = 8;
/// Shortest validity given to a DNS-learned prefix, whatever the TTL says,
/// so that a TTL of 0 cannot make the daemon query in a loop.
pub const DNS_TTL_FLOOR: Duration = Duration::from_secs(30);
/// Delay before retrying a failed (or lost) DNS discovery.
pub const DNS_RETRY: Duration = Duration::from_secs(10);
/// The next DNS discovery is due after TTL / this.
const DNS_REFRESH_DIVISOR: u32 = 2;
/// RFC 2181 §8: the largest meaningful TTL, 2^31 - 1 seconds; lifetimes
/// are clamped to it so that deadlines never overflow.
const MAX_LIFETIME: Duration = Duration::from_secs((1 << 31) - 1);

/// Where the prefix in use came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Source {
    /// An RFC 8781 PREF64 option in a Router Advertisement.
    Ra,
    /// RFC 7050 discovery through DNS64.
    Dns,
}

impl core::fmt::Display for Source {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            Self::Ra => "router advertisement (RFC 8781)",
            Self::Dns => "DNS64 ipv4only.arpa (RFC 7050)",
        })
    }
}

/// The prefix in use and where it came from.
pub type Current = (Prefix, Source);

/// The prefix in use changed from `old` to `new`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use = "a changed prefix must be installed in the translator"]
pub struct Transition {
    /// The prefix in use before, if any.
    pub old: Option<Current>,
    /// The prefix in use now, if any.
    pub new: Option<Current>,
}

#[derive(Debug, Clone, Copy)]
struct RaEntry {
    prefix: Prefix,
    expires: Instant,
}

#[derive(Debug, Clone, Copy)]
struct DnsEntry {
    prefix: Prefix,
    expires: Instant,
}

/// The PREF64 state machine; see the module docs.
#[derive(Debug, Clone, Default)]
pub struct Pref64State {
    ra: Vec<RaEntry>,
    dns: Option<DnsEntry>,
    /// When the next DNS discovery is due; `None`: due now.
    dns_due: Option<Instant>,
    current: Option<Current>,
}

fn deadline(now: Instant, after: Duration) -> Instant {
    // After clamping this cannot overflow on any real clock; if it did, the
    // entry would expire at once rather than panic.
    now.checked_add(after.min(MAX_LIFETIME)).unwrap_or(now)
}

impl Pref64State {
    /// No prefix known; a DNS discovery is due at once.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// RFC 8781 §4: a PREF64 option for `prefix` valid for `lifetime`
    /// (zero withdraws it) was heard at `now`.
    pub fn on_ra(&mut self, prefix: Prefix, lifetime: Duration, now: Instant) -> Option<Transition> {
        let pos = self.ra.iter().position(|e| e.prefix == prefix);
        if lifetime.is_zero() {
            if let Some(i) = pos {
                self.ra.remove(i);
            }
        } else {
            let entry = RaEntry { prefix, expires: deadline(now, lifetime) };
            match pos {
                Some(i) => self.ra[i] = entry,
                None if self.ra.len() < MAX_RA_PREFIXES => self.ra.push(entry),
                None => {
                    if let Some(oldest) = self.ra.iter_mut().min_by_key(|e| e.expires) {
                        *oldest = entry;
                    }
                }
            }
        }
        self.update(now)
    }

    /// RFC 7050 §3: discovery at `now` found `prefix` in records with the
    /// given TTL. Replaces any earlier DNS result (pass the first of
    /// [`crate::Discovered::prefixes`]).
    pub fn on_dns(&mut self, prefix: Prefix, ttl: Duration, now: Instant) -> Option<Transition> {
        let ttl = ttl.max(DNS_TTL_FLOOR);
        self.dns = Some(DnsEntry { prefix, expires: deadline(now, ttl) });
        self.dns_due = Some(deadline(now, ttl / DNS_REFRESH_DIVISOR));
        self.update(now)
    }

    /// A DNS discovery failed at `now`: retry after [`DNS_RETRY`]. The DNS
    /// prefix already known stays in use until its TTL runs out.
    pub fn on_dns_failure(&mut self, now: Instant) {
        self.dns_due = Some(deadline(now, DNS_RETRY));
    }

    /// Time passed: drops what expired by `now`.
    pub fn on_timeout(&mut self, now: Instant) -> Option<Transition> {
        self.update(now)
    }

    /// Whether to start an RFC 7050 discovery now. Returns `true` once per
    /// due time: it re-arms itself [`DNS_RETRY`] later, so a discovery that
    /// never reports back ([`Self::on_dns`] or [`Self::on_dns_failure`]) is
    /// retried. Call it after every input and timeout.
    pub fn poll_dns_discovery(&mut self, now: Instant) -> bool {
        let due = self.dns_due.is_none_or(|t| now >= t);
        if due {
            self.dns_due = Some(deadline(now, DNS_RETRY));
        }
        due
    }

    /// The prefix in use and its source, as of the last input.
    #[must_use]
    pub fn current(&self) -> Option<Current> {
        self.current
    }

    /// The next instant something expires or a DNS discovery falls due:
    /// call [`Self::on_timeout`] (and [`Self::poll_dns_discovery`]) then.
    #[must_use]
    pub fn next_deadline(&self) -> Option<Instant> {
        let ra = self.ra.iter().map(|e| e.expires);
        let dns = self.dns.map(|d| d.expires);
        ra.chain(dns).chain(self.dns_due).min()
    }

    fn update(&mut self, now: Instant) -> Option<Transition> {
        self.ra.retain(|e| e.expires > now);
        if self.dns.is_some_and(|d| d.expires <= now) {
            self.dns = None;
        }
        let new = self.select();
        let old = self.current;
        if new == old {
            return None;
        }
        self.current = new;
        Some(Transition { old, new })
    }

    fn select(&self) -> Option<Current> {
        if let Some((prefix, Source::Ra)) = self.current {
            if self.ra.iter().any(|e| e.prefix == prefix) {
                return self.current;
            }
        }
        // `max_by_key` keeps the last of equal keys; reverse so the first
        // heard wins ties.
        if let Some(e) = self.ra.iter().rev().max_by_key(|e| e.expires) {
            return Some((e.prefix, Source::Ra));
        }
        self.dns.map(|d| (d.prefix, Source::Dns))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fake clock: instants are offsets from one fixed origin.
    struct Clock(Instant);

    impl Clock {
        fn at(&self, secs: u64) -> Instant {
            self.0 + Duration::from_secs(secs)
        }
    }

    fn p(s: &str) -> Prefix {
        s.parse().unwrap()
    }

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    #[test]
    fn starts_empty_with_dns_due() {
        let clock = Clock(Instant::now());
        let mut st = Pref64State::new();
        assert_eq!(st.current(), None);
        assert_eq!(st.next_deadline(), None);
        assert!(st.poll_dns_discovery(clock.at(0)));
        assert!(!st.poll_dns_discovery(clock.at(1)), "once per due time");
        assert_eq!(st.next_deadline(), Some(clock.at(0) + DNS_RETRY));
        assert!(st.poll_dns_discovery(clock.at(0) + DNS_RETRY), "lost discovery retried");
    }

    #[test]
    fn rfc8781_4_ra_prefix_expires_with_its_lifetime() {
        let clock = Clock(Instant::now());
        let mut st = Pref64State::new();
        let t = st.on_ra(p("64:ff9b::/96"), secs(600), clock.at(0)).unwrap();
        assert_eq!(t, Transition { old: None, new: Some((p("64:ff9b::/96"), Source::Ra)) });
        assert_eq!(st.next_deadline(), Some(clock.at(600)));
        assert_eq!(st.on_timeout(clock.at(599)), None);
        // Refreshed before it lapses: same prefix, no transition, later deadline.
        assert_eq!(st.on_ra(p("64:ff9b::/96"), secs(600), clock.at(500)), None);
        assert_eq!(st.next_deadline(), Some(clock.at(1100)));
        let t = st.on_timeout(clock.at(1100)).unwrap();
        assert_eq!(t.new, None);
        assert_eq!(st.current(), None);
        assert_eq!(st.next_deadline(), None);
    }

    #[test]
    fn rfc8781_4_lifetime_zero_withdraws() {
        let clock = Clock(Instant::now());
        let mut st = Pref64State::new();
        let _ = st.on_ra(p("64:ff9b::/96"), secs(600), clock.at(0));
        let t = st.on_ra(p("64:ff9b::/96"), Duration::ZERO, clock.at(1)).unwrap();
        assert_eq!(t.new, None);
        // Withdrawing a prefix never heard changes nothing.
        assert_eq!(st.on_ra(p("2001:db8::/32"), Duration::ZERO, clock.at(2)), None);
    }

    #[test]
    fn rfc8781_5_1_ra_preferred_over_dns() {
        let clock = Clock(Instant::now());
        let mut st = Pref64State::new();
        let dns = p("2001:db8:64::/96");
        let ra = p("2001:db8:ff::/96");
        let t = st.on_dns(dns, secs(3600), clock.at(0)).unwrap();
        assert_eq!(t.new, Some((dns, Source::Dns)));
        let t = st.on_ra(ra, secs(600), clock.at(10)).unwrap();
        assert_eq!(t, Transition { old: Some((dns, Source::Dns)), new: Some((ra, Source::Ra)) });
        // A fresh DNS answer does not displace the RA prefix.
        assert_eq!(st.on_dns(dns, secs(3600), clock.at(20)), None);
        assert_eq!(st.current(), Some((ra, Source::Ra)));
        // The RA prefix lapses: fall back to DNS.
        let t = st.on_timeout(clock.at(610)).unwrap();
        assert_eq!(t.new, Some((dns, Source::Dns)));
    }

    #[test]
    fn rfc8781_5_1_renumbering_keeps_current_until_it_goes() {
        let clock = Clock(Instant::now());
        let mut st = Pref64State::new();
        let old = p("2001:db8:1::/48");
        let new = p("2001:db8:2::/48");
        let _ = st.on_ra(old, secs(600), clock.at(0));
        assert_eq!(st.on_ra(new, secs(1800), clock.at(1)), None, "current one stays");
        let t = st.on_ra(old, Duration::ZERO, clock.at(2)).unwrap();
        assert_eq!(t, Transition { old: Some((old, Source::Ra)), new: Some((new, Source::Ra)) });
    }

    #[test]
    fn rfc7050_3_dns_refresh_halfway_and_expiry() {
        let clock = Clock(Instant::now());
        let mut st = Pref64State::new();
        let dns = p("64:ff9b::/96");
        assert!(st.poll_dns_discovery(clock.at(0)));
        let _ = st.on_dns(dns, secs(60), clock.at(0));
        assert_eq!(st.next_deadline(), Some(clock.at(30)), "refresh at TTL/2");
        assert!(!st.poll_dns_discovery(clock.at(29)));
        assert!(st.poll_dns_discovery(clock.at(30)));
        st.on_dns_failure(clock.at(31));
        assert_eq!(st.next_deadline(), Some(clock.at(31) + DNS_RETRY));
        assert_eq!(st.on_timeout(clock.at(59)), None, "still valid after a failed refresh");
        let t = st.on_timeout(clock.at(60)).unwrap();
        assert_eq!(t.new, None);
    }

    #[test]
    fn dns_ttl_zero_is_floored() {
        let clock = Clock(Instant::now());
        let mut st = Pref64State::new();
        let _ = st.on_dns(p("64:ff9b::/96"), Duration::ZERO, clock.at(0));
        assert_eq!(st.next_deadline(), Some(clock.at(0) + DNS_TTL_FLOOR / DNS_REFRESH_DIVISOR));
        assert!(st.current().is_some());
    }

    #[test]
    fn ra_table_is_bounded() {
        let clock = Clock(Instant::now());
        let mut st = Pref64State::new();
        for i in 0..(MAX_RA_PREFIXES as u16 + 4) {
            let prefix = Prefix::new(core::net::Ipv6Addr::new(0x2001, 0xdb8, i, 0, 0, 0, 0, 0), 48).unwrap();
            let _ = st.on_ra(prefix, secs(600 + u64::from(i)), clock.at(0));
        }
        assert_eq!(st.ra.len(), MAX_RA_PREFIXES);
        assert!(st.current().is_some());
    }

    #[test]
    fn huge_lifetimes_do_not_overflow() {
        let clock = Clock(Instant::now());
        let mut st = Pref64State::new();
        let _ = st.on_dns(p("64:ff9b::/96"), Duration::MAX, clock.at(0));
        let _ = st.on_ra(p("2001:db8::/32"), Duration::MAX, clock.at(0));
        assert!(st.next_deadline().is_some());
        assert_eq!(st.current().map(|c| c.1), Some(Source::Ra));
    }
}
