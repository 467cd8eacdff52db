//! Any bytes presented as an IPv6 packet: never panics, every verdict is
//! counted, and emitted packets fit the output buffer.
#![no_main]
use libfuzzer_sys::fuzz_target;
use xlat_core::OUT_BUF_LEN;

#[path = "common.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    let mut t = common::translator();
    let mut input = data.to_vec();
    if let Some(b) = input.first_mut() {
        *b = (*b & 0x0f) | 0x60;
    }
    let mut out = vec![0u8; OUT_BUF_LEN];
    if let Ok(action) = t.translate(&input, &mut out) {
        assert!(action.len() <= OUT_BUF_LEN);
        for p in action.packets(&out) {
            assert!(!p.is_empty());
        }
    }
    let c = t.counters();
    assert_eq!(c.v4_to_v6_packets + c.v6_to_v4_packets + c.drops.iter().sum::<u64>(), 1);
});
