//! Any virtio-net header in front of any bytes (what a TUN with offloads
//! could hand over): planning, the one-shot translation of a super-packet
//! with its segment hint, the partial-checksum fix-up and the segmenter
//! never panic, and everything they write stays inside its buffer.
#![no_main]
use libfuzzer_sys::fuzz_target;
use xlat_core::offload::{self, Plan, Segmenter, VnetHdr, VNET_HDR_LEN};
use xlat_core::{Action, OUT_BUF_LEN};

#[path = "common.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    let Some(hdr) = VnetHdr::parse(data) else { return };
    let mut pkt = data[VNET_HDR_LEN..].to_vec();
    let mut t = common::translator();
    let mut out = vec![0u8; OUT_BUF_LEN];
    match offload::plan(&hdr, &pkt, t.config()) {
        Err(_) | Ok(Plan::Plain) => {}
        Ok(Plan::CompleteChecksum) => {
            offload::complete_checksum(&mut pkt, hdr.csum_start, hdr.csum_offset);
        }
        Ok(Plan::Direct { segment }) => {
            t.set_gso_segment(segment);
            if let Ok(Action::Translated { len, .. }) = t.translate(&pkt, &mut out) {
                assert!(len <= OUT_BUF_LEN);
                if let Some(h) = offload::finish(&hdr, &pkt, &mut out[..len]) {
                    assert!(usize::from(h.csum_start) + usize::from(h.csum_offset) + 2 <= len);
                }
            }
        }
        Ok(Plan::Split) => {
            if let Ok(s) = Segmenter::new(&hdr, &pkt) {
                // Bounded: at most 64 segments are cut per input.
                for i in 0..s.count().min(64) {
                    if let Some(n) = s.write(&pkt, i, &mut out) {
                        assert!(n <= out.len());
                        let _ = t.translate(&out[..n].to_vec(), &mut vec![0u8; OUT_BUF_LEN]);
                    }
                }
            }
        }
    }
});
