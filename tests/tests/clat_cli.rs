//! The sample captures `clat translate` is tested on (`tests/data/`) are
//! reproducible: they equal what `gen-sample` generates today.
//!
//! The CLI tests themselves live in `crates/clat/tests/cli.rs`, where Cargo
//! builds the `clat` binary for them (`CARGO_BIN_EXE_clat`).

use std::path::Path;
use std::process::Command;

const SAMPLES: [&str; 2] = ["sample-v4.pcap", "sample-ethernet.pcapng"];

#[test]
fn committed_sample_captures_match_the_generator() {
    let fresh = Path::new(env!("CARGO_TARGET_TMPDIR")).join("gen-sample");
    let status = Command::new(env!("CARGO_BIN_EXE_gen-sample")).arg(&fresh).status().expect("run gen-sample");
    assert!(status.success(), "gen-sample failed");
    let committed = Path::new(env!("CARGO_MANIFEST_DIR")).join("data");
    for name in SAMPLES {
        let want = std::fs::read(committed.join(name)).expect("committed sample");
        let got = std::fs::read(fresh.join(name)).expect("generated sample");
        assert!(
            want == got,
            "tests/data/{name} differs from the generator's output: \
             run `cargo run -p xlat-lab --bin gen-sample` and commit the result"
        );
    }
}
