//! # xlat-pref64: learning the PLAT prefix (PREF64, the NAT64 prefix)
//!
//! A CLAT (RFC 6877) needs the prefix its PLAT translates with. This crate
//! learns it from the two places a network publishes it:
//!
//! - **Router Advertisements** carrying the PREF64 option (RFC 8781), heard
//!   on a raw ICMPv6 socket ([`RaListener`]) or solicited ([`send_rs`]).
//! - **DNS64** synthesis of `ipv4only.arpa` (RFC 7050), looked up with
//!   [`rfc7050_discover`].
//!
//! [`Pref64State`] combines both: the RA source is preferred (RFC 9872;
//! RFC 8781 §5.1 for several prefixes), each source expires with its lifetime, and every change of the
//! prefix in use is reported so the daemon can swap it atomically.
//!
//! ## Contract
//! - **Sans-IO core.** [`rfc4861`], [`rfc8781`], [`rfc7050`] and [`state`]
//!   do no I/O and read no clock: time is an argument (`now: Instant`).
//! - **Never panics on any input.** Parsers check every length before use;
//!   [`rfc4861::RouterAdvert::new_checked`] validates a whole message, after
//!   which no accessor panics. A proptest feeds random bytes to the parsers.
//! - **Errors by fault.** Malformed packets are a `Copy` [`WireError`] (one
//!   per packet, no allocation); discovery failures are a [`Pref64Error`];
//!   socket failures are `std::io::Error`.
//! - **No `unsafe`.** The socket code uses socket2, nix and tokio's
//!   `AsyncFd`, all safe APIs.
//!
//! ## Map
//! | module | RFC |
//! |---|---|
//! | [`rfc4861`] | RFC 4861 §4.1 RS, §4.2 RA, §4.6 option TLVs, §6.1.2 validity |
//! | [`rfc8781`] | RFC 8781 §4 PREF64 option, §4.1 scaled lifetime |
//! | [`rfc7050`] | RFC 7050 §3 prefix search in synthesized AAAA records |
//! | [`state`] | RFC 9872 source preference, RFC 8781 §4 / RFC 7050 §3 lifetimes |
//! | `dns` (feature `io`) | RFC 7050 §3 lookup of `ipv4only.arpa` (hickory-resolver) |
//! | `ra` (feature `io`) | raw ICMPv6 socket: RA listener, RS sender |
#![forbid(unsafe_code)]

mod error;
pub mod rfc4861;
pub mod rfc7050;
pub mod rfc8781;
pub mod state;

#[cfg(feature = "io")]
mod dns;
#[cfg(feature = "io")]
mod ra;

pub use error::{Pref64Error, WireError};
pub use rfc7050::Discovered;
pub use rfc8781::{build_ra_with_pref64, parse_ra, Pref64Repr, RaInfo, ScaledLifetime};
pub use state::{Current, Pref64State, Source, Transition};
pub use xlat_core::rfc6052::Prefix;

#[cfg(feature = "io")]
pub use dns::rfc7050_discover;
#[cfg(feature = "io")]
pub use ra::{send_rs, RaCounters, RaListener, RaPref64};
