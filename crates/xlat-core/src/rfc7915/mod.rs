//! RFC 7915: the IP/ICMP translation algorithm (SIIT).
//!
//! [`Translator::translate`] takes one packet and an output buffer and
//! returns an [`Action`] or a [`DropReason`]. The input is never modified
//! (it is still needed to quote it in an ICMP error, as Jool does); the
//! output is written once. Nothing here allocates after construction.
//!
//! - [`v4_to_v6`]: §4.1 header, §4.5 transport, §4.1 fragmentation.
//! - [`v6_to_v4`]: §5.1 header, §5.1.1 extension headers, §5.5 transport.
//! - [`icmp`]: §4.2/§4.3 and §5.2/§5.3 type, code, pointer and MTU mapping,
//!   the quoted packet and RFC 4884 extensions.
//! - [`icmp_error`]: §4.4/§5.4 errors the translator originates.

pub(crate) mod icmp;
pub(crate) mod icmp_error;
pub(crate) mod v4_to_v6;
pub(crate) mod v6_to_v4;

use core::net::{Ipv4Addr, Ipv6Addr};

use crate::config::{Config, ConfigError, Resolved};
use crate::rfc6052::is_global_v4;
use crate::stateful::Rewrite;
use crate::verdict::{Action, Counters, DropReason, Family};

/// Size of the output buffer [`Translator::translate`] needs: the largest
/// IPv4 packet, split into minimum-MTU IPv6 fragments, plus headroom.
pub const OUT_BUF_LEN: usize = 72 * 1024;

/// Default seed of the Identification generator (any non-zero value).
const ID_SEED: u32 = 0x9e37_79b9;

/// A stateless translator with its counters. One per worker thread; share
/// the configuration by cloning it.
#[derive(Debug)]
pub struct Translator {
    pub(crate) cfg: Resolved,
    pub(crate) counters: Counters,
    /// Work buffer for fragmentation, allocated once.
    pub(crate) scratch: Vec<u8>,
    /// Second work buffer for EAM hairpinning, allocated once.
    pub(crate) hairpin: Vec<u8>,
    /// RFC 7915 §5.1 Identification generator state (xorshift32, non-zero).
    pub(crate) id_state: u32,
    /// Set while re-translating a hairpinned packet (RFC 7757 §4.2).
    pub(crate) hairpin_pass: bool,
    /// Set during [`Translator::translate_stateful`]: the caller's addresses
    /// and ports replace the EAM / pool6 mapping.
    pub(crate) stateful: Option<Rewrite>,
    /// Transport bytes per segment of a GSO super-packet being translated
    /// ([`Translator::set_gso_segment`]); MTU and DF decisions use it.
    pub(crate) gso_segment: Option<usize>,
    /// The caller's clock ([`Translator::set_now`]), in microseconds.
    pub(crate) now_us: u64,
    /// ICMP error token bucket: tokens left and when it was last refilled.
    pub(crate) icmp_tokens: u32,
    pub(crate) icmp_refilled_us: u64,
}

impl Translator {
    /// Validates `cfg` and builds a translator.
    pub fn new(cfg: Config) -> Result<Self, ConfigError> {
        Ok(Self::from_resolved(cfg.validate()?))
    }

    /// Builds a translator from an already validated configuration.
    #[must_use]
    pub fn from_resolved(cfg: Resolved) -> Self {
        Self {
            cfg,
            counters: Counters::default(),
            scratch: vec![0; OUT_BUF_LEN],
            hairpin: vec![0; OUT_BUF_LEN],
            id_state: ID_SEED,
            hairpin_pass: false,
            stateful: None,
            gso_segment: None,
            now_us: 0,
            icmp_tokens: crate::config::ICMP_ERROR_BURST,
            icmp_refilled_us: 0,
        }
    }

    /// Seeds the IPv4 Identification generator (e.g. per worker, from the
    /// OS's randomness); zero is replaced by a fixed non-zero seed.
    pub fn seed_ipv4_id(&mut self, seed: u32) {
        self.id_state = if seed == 0 { ID_SEED } else { seed };
    }

    /// Declares the next packets GSO super-packets of TCP segments carrying
    /// `segment` transport bytes each (header included), or ordinary
    /// packets (`None`, the default). While set, every MTU and DF decision
    /// (RFC 7915 §4.1 Packet Too Big / fragmentation, §5.1 DF by size) is
    /// taken for one segment, not for the whole packet. See
    /// [`crate::offload`], whose [`plan`](crate::offload::plan) computes it.
    pub fn set_gso_segment(&mut self, segment: Option<usize>) {
        self.gso_segment = segment;
    }

    /// Tells the translator the time (any monotonic clock, e.g. since the
    /// worker started): it only paces the ICMP errors it originates
    /// ([`Config::icmp_error_rate`]). A sans-IO core has no clock of its
    /// own; the TUN worker calls this once per wake-up.
    pub fn set_now(&mut self, now: core::time::Duration) {
        self.now_us = u64::try_from(now.as_micros()).unwrap_or(u64::MAX);
    }

    /// Takes a token for one ICMP error, refilling the bucket first.
    /// `false` (and counted) when the rate limit says no.
    pub(crate) fn icmp_error_allowed(&mut self) -> bool {
        const MICROS: u64 = 1_000_000;
        let rate = u64::from(self.cfg.cfg.icmp_error_rate);
        if rate == 0 {
            return true;
        }
        let burst = crate::config::ICMP_ERROR_BURST.min(self.cfg.cfg.icmp_error_rate);
        let elapsed = self.now_us.saturating_sub(self.icmp_refilled_us);
        let earned = elapsed.saturating_mul(rate) / MICROS;
        if earned > 0 {
            self.icmp_tokens = u32::try_from(u64::from(self.icmp_tokens) + earned).unwrap_or(u32::MAX).min(burst);
            self.icmp_refilled_us = self.now_us;
        }
        self.icmp_tokens = self.icmp_tokens.min(burst);
        if self.icmp_tokens == 0 {
            self.counters.icmp_errors_rate_limited += 1;
            return false;
        }
        self.icmp_tokens -= 1;
        true
    }

    /// The length MTU and DF decisions see for a packet of `len` bytes
    /// whose transport header starts at `l4_at`.
    pub(crate) fn mtu_len(&self, len: usize, l4_at: usize) -> usize {
        match self.gso_segment {
            Some(seg) => len.min(l4_at + seg),
            None => len,
        }
    }

    /// The effective configuration.
    #[must_use]
    pub fn config(&self) -> &Resolved {
        &self.cfg
    }

    /// Replaces the configuration (e.g. a new PLAT prefix) without losing
    /// the counters.
    pub fn set_config(&mut self, cfg: Resolved) {
        self.cfg = cfg;
    }

    /// Counters since construction.
    #[must_use]
    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    /// Translates one IP packet (IPv4 or IPv6, by its version nibble) into
    /// `out`, which must be at least [`OUT_BUF_LEN`] bytes long. Never
    /// panics; every drop is counted.
    pub fn translate(&mut self, input: &[u8], out: &mut [u8]) -> Result<Action, DropReason> {
        let result = if out.len() < OUT_BUF_LEN {
            Err(DropReason::OutputBufferTooSmall)
        } else {
            match input.first().map(|b| b >> 4) {
                Some(4) => self.v4_to_v6(input, out),
                Some(6) => self.v6_to_v4(input, out),
                _ => Err(DropReason::UnknownVersion),
            }
        };
        self.count(input.len(), &result);
        result
    }

    /// RFC 6146 §3.7: translates one packet like [`Translator::translate`],
    /// but with the addresses and TCP / UDP ports or ICMP identifier of
    /// `rewrite` (the NAT64's outgoing tuple, RFC 6146 §3.6) instead of the
    /// EAM / pool6 mapping; an ICMP error's quoted packet gets the mirrored
    /// rewrite (see [`Rewrite`]). Ports and identifiers are updated with
    /// RFC 1624 checksum arithmetic. EAM hairpinning does not apply.
    ///
    /// `rewrite` must be of the output family (IPv4 for an IPv6 packet and
    /// the reverse), else [`DropReason::RewriteFamilyMismatch`]. Never
    /// panics, allocates nothing; every drop is counted.
    pub fn translate_stateful(
        &mut self,
        input: &[u8],
        out: &mut [u8],
        rewrite: &Rewrite,
    ) -> Result<Action, DropReason> {
        let to_v4 = input.first().is_some_and(|b| b >> 4 == 6);
        if !rewrite.family_is(to_v4) && input.first().is_some_and(|b| matches!(b >> 4, 4 | 6)) {
            let result = Err(DropReason::RewriteFamilyMismatch);
            self.count(input.len(), &result);
            return result;
        }
        self.stateful = Some(*rewrite);
        let result = self.translate(input, out);
        self.stateful = None;
        result
    }

    /// Counts a drop the caller decided (e.g. a packet a stateful NAT64
    /// refused before translation), so that one set of counters covers
    /// every packet.
    pub fn count_drop(&mut self, reason: DropReason) {
        self.counters.drops[reason as usize] += 1;
    }

    /// Writes into `out` an ICMP error of type `ty`, code `code` and 4
    /// bytes of rest-of-header `rest`, from the translator's own address to
    /// the sender of `packet`, quoting it (RFC 1812 §4.3.2.3 / RFC 4443
    /// §2.4 (c) sizes), in the family of `packet`. `None` when no error may
    /// be sent (about an ICMP error, a non-first fragment, a non-unicast
    /// source, `icmp-errors` off) or `packet` is not an IP packet. Counted
    /// as an error sent; the drop itself is the caller's to count.
    pub fn icmp_error(&mut self, packet: &[u8], ty: u8, code: u8, rest: [u8; 4], out: &mut [u8]) -> Option<usize> {
        // Only the parsed part of the packet is quoted.
        let result = match packet.first().map(|b| b >> 4) {
            Some(4) => {
                let ihl = usize::from(packet[0] & 0x0f) * 4;
                let total = usize::from(crate::wire::be16(packet, 2).unwrap_or(0));
                if ihl < crate::wire::IPV4_HDR || total < ihl || packet.len() < total {
                    return None;
                }
                self.icmp4_error(&packet[..total], ty, code, rest, out, DropReason::UnknownVersion)
            }
            Some(6) => {
                let plen = usize::from(crate::wire::be16(packet, 4).unwrap_or(0));
                let total = crate::wire::IPV6_HDR + plen;
                if packet.len() < total {
                    return None;
                }
                self.icmp6_error(&packet[..total], ty, code, rest, out, DropReason::UnknownVersion)
            }
            _ => return None,
        };
        match result {
            Ok(Action::IcmpError { family, len, .. }) => {
                match family {
                    Family::V4 => self.counters.icmp4_errors_sent += 1,
                    Family::V6 => self.counters.icmp6_errors_sent += 1,
                }
                Some(len)
            }
            _ => None,
        }
    }

    fn count(&mut self, in_len: usize, result: &Result<Action, DropReason>) {
        let c = &mut self.counters;
        let bytes = in_len as u64;
        match *result {
            Ok(Action::Translated { family: Family::V6, .. }) => {
                c.v4_to_v6_packets += 1;
                c.v4_to_v6_bytes += bytes;
            }
            Ok(Action::Translated { family: Family::V4, .. }) => {
                c.v6_to_v4_packets += 1;
                c.v6_to_v4_bytes += bytes;
            }
            Ok(Action::IcmpError { family, cause, .. }) => {
                match family {
                    Family::V4 => c.icmp4_errors_sent += 1,
                    Family::V6 => c.icmp6_errors_sent += 1,
                }
                c.drops[cause as usize] += 1;
            }
            Err(reason) => c.drops[reason as usize] += 1,
        }
    }

    /// RFC 7757 §3.3 then RFC 6052: the IPv6 representation of `a`.
    pub(crate) fn map_4to6(&self, a: Ipv4Addr) -> Result<Ipv6Addr, MapError> {
        let cfg = &self.cfg.cfg;
        if let Some(v6) = cfg.eam.v4_to_v6(a) {
            return Ok(v6);
        }
        let pool6 = cfg.pool6.ok_or(MapError::NoMapping)?;
        if cfg.wkp_strict && pool6.is_well_known() && !is_global_v4(a) {
            return Err(MapError::WkpNonGlobal);
        }
        Ok(pool6.embed(a))
    }

    /// RFC 7757 §3.3 then RFC 6052: the IPv4 representation of `a`.
    pub(crate) fn map_6to4(&self, a: Ipv6Addr) -> Result<Ipv4Addr, MapError> {
        let cfg = &self.cfg.cfg;
        if let Some(v4) = cfg.eam.v6_to_v4(a) {
            return Ok(v4);
        }
        let pool6 = cfg.pool6.ok_or(MapError::NoMapping)?;
        let v4 = pool6.extract(&a).ok_or(MapError::NoMapping)?;
        if cfg.wkp_strict && pool6.is_well_known() && !is_global_v4(v4) {
            return Err(MapError::WkpNonGlobal);
        }
        Ok(v4)
    }
}

/// Why an address could not be mapped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MapError {
    NoMapping,
    WkpNonGlobal,
}

impl MapError {
    pub(crate) fn reason(self, source: bool) -> DropReason {
        match (self, source) {
            (MapError::WkpNonGlobal, _) => DropReason::WkpNonGlobal,
            (MapError::NoMapping, true) => DropReason::SourceUnmappable,
            (MapError::NoMapping, false) => DropReason::DestinationUnmappable,
        }
    }
}

/// The writable part `out[..n]`, or [`DropReason::OutputBufferTooSmall`].
#[inline]
pub(crate) fn room(out: &mut [u8], n: usize) -> Result<&mut [u8], DropReason> {
    out.get_mut(..n).ok_or(DropReason::OutputBufferTooSmall)
}

#[cfg(test)]
pub(crate) mod tests;

/// RFC 1624 update of a TCP or UDP checksum after the pseudo-header words
/// summing to `old` became words summing to `new` (§4.5, §5.5). A zero UDP
/// checksum ("none") stays zero. `false` if the checksum was not captured.
pub(crate) fn tcp_udp_update(p: u8, l4: &mut [u8], old: u32, new: u32) -> bool {
    use crate::wire::{be16, csum_at, proto, put16, UDP_HDR};
    match p {
        proto::TCP => {
            let Some(c) = be16(l4, csum_at::TCP) else { return false };
            put16(l4, csum_at::TCP, crate::checksum::update(c, old, new));
        }
        proto::UDP => {
            if l4.len() < UDP_HDR {
                return false;
            }
            let c = be16(l4, csum_at::UDP).unwrap_or(0);
            if c != 0 {
                put16(l4, csum_at::UDP, v4_to_v6::nonzero(crate::checksum::update(c, old, new)));
            }
        }
        _ => {}
    }
    true
}

/// ICMP Echo <-> ICMPv6 Echo: rewrites the type and updates the checksum
/// (RFC 1624). `old_extra`/`new_extra` carry the ICMPv6 pseudo-header sum on
/// whichever side has it. Needs the first 4 bytes.
pub(crate) fn echo_retype(l4: &mut [u8], new_ty: u8, old_extra: u32, new_extra: u32) {
    use crate::wire::{be16, csum_at, put16};
    let (Some(&ty), Some(&code), Some(c)) = (l4.first(), l4.get(1), be16(l4, csum_at::ICMP)) else { return };
    l4[0] = new_ty;
    let old = u32::from(u16::from_be_bytes([ty, code])) + old_extra;
    let new = u32::from(u16::from_be_bytes([new_ty, code])) + new_extra;
    put16(l4, csum_at::ICMP, crate::checksum::update(c, old, new));
}
