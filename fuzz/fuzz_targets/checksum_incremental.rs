//! RFC 1624: the incremental update equals a full recompute.
#![no_main]
use libfuzzer_sys::fuzz_target;
use xlat_core::checksum::{finish, sum, update};

fuzz_target!(|input: (Vec<u8>, u16, [u8; 16])| {
    let (mut data, at, repl) = input;
    if data.len() < 20 {
        return;
    }
    data.truncate(4096);
    let at = (usize::from(at) % (data.len() - 16)) & !1;
    let before = finish(sum(0, &data));
    let old = sum(0, &data[at..at + 16]);
    data[at..at + 16].copy_from_slice(&repl);
    let full = finish(sum(0, &data));
    let incr = update(before, old, sum(0, &repl));
    assert!(incr == full || incr ^ full == 0xffff, "{incr:#x} vs {full:#x}");
});
