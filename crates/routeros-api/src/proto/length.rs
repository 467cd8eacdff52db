//! Word length prefix of the classic API (RouterOS manual, "API" page,
//! section "API words").
//!
//! | length                     | bytes | encoding                        |
//! |----------------------------|-------|---------------------------------|
//! | `0 ..= 0x7F`               | 1     | `len`                           |
//! | `0x80 ..= 0x3FFF`          | 2     | `len \| 0x8000`                 |
//! | `0x4000 ..= 0x1F_FFFF`     | 3     | `len \| 0xC0_0000`              |
//! | `0x20_0000 ..= 0xFFF_FFFF` | 4     | `len \| 0xE000_0000`            |
//! | `>= 0x1000_0000`           | 5     | `0xF0` then `len` as four bytes |
//!
//! Bytes go most significant first. A first byte `>= 0xF8` is a reserved
//! control byte: the manual says a client cannot go on after one, so decoding
//! reports [`ProtoError::ControlByte`]. The scheme could carry up to 35 bits
//! (`0xF1..=0xF7` as first byte) but "only four-byte length is supported";
//! those first bytes are rejected as [`ProtoError::UnsupportedLength`].

use super::ProtoError;

/// Thresholds, flags and masks of the five encodings.
mod field {
    /// Largest length of the 1-byte form.
    pub(super) const MAX_1: u32 = 0x7F;
    /// Largest length of the 2-byte form.
    pub(super) const MAX_2: u32 = 0x3FFF;
    /// Largest length of the 3-byte form.
    pub(super) const MAX_3: u32 = 0x1F_FFFF;
    /// Largest length of the 4-byte form.
    pub(super) const MAX_4: u32 = 0x0FFF_FFFF;

    /// Marker bits OR-ed into the 2-byte form.
    pub(super) const FLAG_2: u32 = 0x8000;
    /// Marker bits OR-ed into the 3-byte form.
    pub(super) const FLAG_3: u32 = 0xC0_0000;
    /// Marker bits OR-ed into the 4-byte form.
    pub(super) const FLAG_4: u32 = 0xE000_0000;
    /// First byte of the 5-byte form.
    pub(super) const PREFIX_5: u8 = 0xF0;

    /// First-byte patterns: `(mask, value)` selects the form.
    pub(super) const TAG_MASK_2: u8 = 0xC0;
    /// First byte of a 2-byte length matches `10xx_xxxx`.
    pub(super) const TAG_2: u8 = 0x80;
    /// Mask for the 3-byte pattern.
    pub(super) const TAG_MASK_3: u8 = 0xE0;
    /// First byte of a 3-byte length matches `110x_xxxx`.
    pub(super) const TAG_3: u8 = 0xC0;
    /// Mask for the 4-byte pattern.
    pub(super) const TAG_MASK_4: u8 = 0xF0;
    /// First byte of a 4-byte length matches `1110_xxxx`.
    pub(super) const TAG_4: u8 = 0xE0;
    /// First bytes from here on are reserved control bytes.
    pub(super) const CONTROL_MIN: u8 = 0xF8;

    /// Payload bits kept from the first byte of the 2-, 3- and 4-byte forms.
    pub(super) const PAYLOAD_2: u8 = 0x3F;
    /// See [`PAYLOAD_2`].
    pub(super) const PAYLOAD_3: u8 = 0x1F;
    /// See [`PAYLOAD_2`].
    pub(super) const PAYLOAD_4: u8 = 0x0F;
}

/// Longest length prefix, in bytes.
pub const MAX_PREFIX_LEN: usize = 5;

/// Appends the length prefix for a word of `len` bytes to `out`.
pub fn encode_length(len: u32, out: &mut Vec<u8>) {
    if len <= field::MAX_1 {
        out.push(len.to_be_bytes()[3]);
    } else if len <= field::MAX_2 {
        out.extend_from_slice(&(len | field::FLAG_2).to_be_bytes()[2..]);
    } else if len <= field::MAX_3 {
        out.extend_from_slice(&(len | field::FLAG_3).to_be_bytes()[1..]);
    } else if len <= field::MAX_4 {
        out.extend_from_slice(&(len | field::FLAG_4).to_be_bytes());
    } else {
        out.push(field::PREFIX_5);
        out.extend_from_slice(&len.to_be_bytes());
    }
}

/// Decodes a length prefix at the start of `buf`.
///
/// Returns `Ok(None)` when `buf` does not yet hold the whole prefix, and
/// `Ok(Some((len, prefix_len)))` otherwise. Non-minimal encodings (a short
/// length in a long form) are accepted, as the manual does not forbid them.
pub fn decode_length(buf: &[u8]) -> Result<Option<(u32, usize)>, ProtoError> {
    let Some(&first) = buf.first() else {
        return Ok(None);
    };
    let (prefix_len, high) = if first < field::TAG_2 {
        return Ok(Some((u32::from(first), 1)));
    } else if first & field::TAG_MASK_2 == field::TAG_2 {
        (2, first & field::PAYLOAD_2)
    } else if first & field::TAG_MASK_3 == field::TAG_3 {
        (3, first & field::PAYLOAD_3)
    } else if first & field::TAG_MASK_4 == field::TAG_4 {
        (4, first & field::PAYLOAD_4)
    } else if first == field::PREFIX_5 {
        (MAX_PREFIX_LEN, 0)
    } else if first >= field::CONTROL_MIN {
        return Err(ProtoError::ControlByte(first));
    } else {
        return Err(ProtoError::UnsupportedLength(first));
    };
    let Some(rest) = buf.get(1..prefix_len) else {
        return Ok(None);
    };
    let len = rest.iter().fold(u32::from(high), |acc, &b| (acc << u8::BITS) | u32::from(b));
    Ok(Some((len, prefix_len)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(len: u32) -> Vec<u8> {
        let mut out = Vec::new();
        encode_length(len, &mut out);
        out
    }

    /// The boundaries of the table in the RouterOS manual ("API words").
    #[test]
    fn manual_table_boundaries() {
        let cases: &[(u32, &[u8])] = &[
            (0, &[0x00]),
            (0x7F, &[0x7F]),
            (0x80, &[0x80, 0x80]),
            (0x3FFF, &[0xBF, 0xFF]),
            (0x4000, &[0xC0, 0x40, 0x00]),
            (0x1F_FFFF, &[0xDF, 0xFF, 0xFF]),
            (0x20_0000, &[0xE0, 0x20, 0x00, 0x00]),
            (0x0FFF_FFFF, &[0xEF, 0xFF, 0xFF, 0xFF]),
            (0x1000_0000, &[0xF0, 0x10, 0x00, 0x00, 0x00]),
            (u32::MAX, &[0xF0, 0xFF, 0xFF, 0xFF, 0xFF]),
        ];
        for &(len, bytes) in cases {
            assert_eq!(enc(len), bytes, "encode {len:#x}");
            assert_eq!(decode_length(bytes).unwrap(), Some((len, bytes.len())), "decode {len:#x}");
        }
    }

    /// `/login` is 6 bytes: a one-byte prefix `0x06`, as in the login traces
    /// of the manual's examples.
    #[test]
    fn short_word_prefix_is_the_length_itself() {
        assert_eq!(enc(6), [0x06]);
        assert_eq!(enc(0x39), [0x39]);
    }

    #[test]
    fn control_bytes_are_rejected() {
        for b in 0xF8..=0xFF_u8 {
            assert_eq!(decode_length(&[b, 0, 0, 0, 0]), Err(ProtoError::ControlByte(b)));
        }
    }

    #[test]
    fn five_byte_forms_beyond_32_bits_are_rejected() {
        for b in 0xF1..=0xF7_u8 {
            assert_eq!(decode_length(&[b, 0, 0, 0, 0]), Err(ProtoError::UnsupportedLength(b)));
        }
    }

    #[test]
    fn partial_prefix_needs_more_bytes() {
        assert_eq!(decode_length(&[]).unwrap(), None);
        assert_eq!(decode_length(&[0x80]).unwrap(), None);
        assert_eq!(decode_length(&[0xC0, 0x40]).unwrap(), None);
        assert_eq!(decode_length(&[0xE0, 0x20, 0x00]).unwrap(), None);
        assert_eq!(decode_length(&[0xF0, 0x10, 0x00, 0x00]).unwrap(), None);
    }

    #[test]
    fn non_minimal_encoding_is_accepted() {
        assert_eq!(decode_length(&[0x80, 0x05]).unwrap(), Some((5, 2)));
        assert_eq!(decode_length(&[0xF0, 0, 0, 0, 5]).unwrap(), Some((5, 5)));
    }
}
