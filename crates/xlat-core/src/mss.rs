//! TCP MSS clamping on SYN segments (RFC 4459 §3.2, as RFC 6877 §6.3
//! deployments need: the IPv4 host picks its MSS from a 1500-byte MTU, but
//! the translated segment grows by 20 bytes on the IPv6 side).
//!
//! Works in place on the TCP header of a first fragment or whole segment
//! and updates the checksum incrementally (RFC 1624).

use crate::checksum;
use crate::wire::{self, csum_at, TCP_HDR};

/// Offset of the flags byte and of the data offset nibble.
const FLAGS_AT: usize = 13;
const DATA_OFFSET_AT: usize = 12;
const SYN: u8 = 0x02;
/// TCP option kinds (RFC 9293 §3.2).
const OPT_END: u8 = 0;
const OPT_NOP: u8 = 1;
const OPT_MSS: u8 = 2;
const OPT_MSS_LEN: u8 = 4;

/// Lowers the MSS option of a SYN to `max` if it is larger. Returns whether
/// the segment was changed. Malformed options are left alone.
pub(crate) fn clamp(tcp: &mut [u8], max: u16) -> bool {
    if tcp.len() < TCP_HDR || tcp[FLAGS_AT] & SYN == 0 {
        return false;
    }
    let hdr_len = usize::from(tcp[DATA_OFFSET_AT] >> 4) * 4;
    let Some(opts_end) = (hdr_len <= tcp.len() && hdr_len >= TCP_HDR).then_some(hdr_len) else {
        return false;
    };
    let mut i = TCP_HDR;
    while i < opts_end {
        match tcp[i] {
            OPT_END => return false,
            OPT_NOP => i += 1,
            kind => {
                let Some(&len) = tcp.get(i + 1) else { return false };
                if len < 2 || i + usize::from(len) > opts_end {
                    return false;
                }
                if kind == OPT_MSS && len == OPT_MSS_LEN {
                    let Some(mss) = wire::be16(tcp, i + 2) else { return false };
                    if mss <= max {
                        return false;
                    }
                    // The MSS value may sit at an odd offset: sum the aligned
                    // words that contain it, before and after.
                    let start = (i + 2) & !1;
                    let end = (i + 4 + 1) & !1;
                    let old = checksum::sum(0, &tcp[start..end]);
                    wire::put16(tcp, i + 2, max);
                    let new = checksum::sum(0, &tcp[start..end]);
                    let c = wire::be16(tcp, csum_at::TCP).unwrap_or(0);
                    wire::put16(tcp, csum_at::TCP, checksum::update(c, old, new));
                    return true;
                }
                i += usize::from(len);
            }
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn syn(opts: &[u8]) -> Vec<u8> {
        let mut t = vec![0x9c, 0x40, 0, 80, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0x02, 0xff, 0xff, 0, 0, 0, 0];
        t.extend_from_slice(opts);
        t[12] = ((t.len() / 4) as u8) << 4;
        let c = checksum::finish(checksum::sum(0, &t));
        t[16..18].copy_from_slice(&c.to_be_bytes());
        t
    }

    #[test]
    fn rfc4459_mss_clamped_and_checksum_kept_valid() {
        // MSS word-aligned (offset 20) and at an odd offset (21, after a NOP).
        for (opts, at) in [(vec![2, 4, 0x05, 0xb4], 20), (vec![1, 2, 4, 0x05, 0xb4, 1, 1, 0], 21)] {
            let mut t = syn(&opts);
            assert!(clamp(&mut t, 1400));
            assert_eq!(wire::be16(&t, at + 2), Some(1400));
            assert_eq!(checksum::fold(checksum::sum(0, &t)), 0xffff, "checksum still verifies");
        }
    }

    #[test]
    fn mss_below_clamp_and_non_syn_untouched() {
        let mut t = syn(&[2, 4, 0x04, 0x00]);
        assert!(!clamp(&mut t, 1400));
        let mut ack = syn(&[2, 4, 0x05, 0xb4]);
        ack[13] = 0x10;
        assert!(!clamp(&mut ack, 1400));
        let mut bad = syn(&[2, 9, 0x05, 0xb4]);
        assert!(!clamp(&mut bad, 1400));
    }
}
