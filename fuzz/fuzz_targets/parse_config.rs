//! Configuration parsers: never panic; what parses displays and re-parses
//! to the same value.
#![no_main]
use libfuzzer_sys::fuzz_target;
use xlat_core::{rfc6052::Prefix, rfc7757::Entry};

fuzz_target!(|s: &str| {
    if let Ok(p) = s.parse::<Prefix>() {
        assert_eq!(p.to_string().parse::<Prefix>().unwrap(), p);
    }
    if let Ok(e) = s.parse::<Entry>() {
        assert_eq!(e.to_string().parse::<Entry>().unwrap(), e);
    }
});
