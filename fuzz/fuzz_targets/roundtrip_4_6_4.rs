//! Any IPv4 packet that translates to one unfragmented IPv6 packet comes
//! back, translated again, as the same packet except TTL and checksum.
#![no_main]
use libfuzzer_sys::fuzz_target;
use xlat_core::{Action, OUT_BUF_LEN};

#[path = "common.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    let mut t = common::translator();
    let mut there = vec![0u8; OUT_BUF_LEN];
    let mut back = vec![0u8; OUT_BUF_LEN];
    let Ok(Action::Translated { len, segment, .. }) = t.translate(data, &mut there) else { return };
    if len != segment || there[6] == 44 {
        return; // fragmented on the way: not a 1:1 round trip
    }
    let Ok(Action::Translated { len: n, .. }) = t.translate(&there[..len], &mut back) else { return };
    let ihl = usize::from(data[0] & 0x0f) * 4;
    if ihl != 20 || data[9] == 1 {
        return; // options are dropped; ICMP errors are rebuilt
    }
    let total = usize::from(u16::from_be_bytes([data[2], data[3]]));
    assert_eq!(n, total);
    assert_eq!(&back[12..20], &data[12..20], "addresses");
    assert_eq!(&back[20..n], &data[20..total], "payload");
    assert_eq!(back[8], data[8] - 2, "TTL");
});
