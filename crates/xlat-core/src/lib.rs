//! # xlat-core: the sans-IO translation core of xlat
//!
//! Stateless IP/ICMP translation (SIIT) as RFC 7915 specifies it, with
//! RFC 6052 address embedding and RFC 7757 Explicit Address Mappings. This
//! is the engine of the CLAT (RFC 6877) and of the PLAT's header rewriting.
//!
//! ## Contract
//! - **Sans-IO**: no sockets, no threads, no clock. [`Translator::translate`]
//!   takes a packet and an output buffer and returns an [`Action`] (bytes to
//!   write) or a [`DropReason`]. The input is never modified.
//! - **Never panics** on any input: every length is checked before use and
//!   the fuzz targets in `fuzz/` hold it to that.
//! - **No allocation per packet**: the translator allocates two work
//!   buffers when built and nothing afterwards.
//! - **Every drop is counted** under a named reason ([`Counters`]).
//! - Configuration is validated once ([`Config::validate`]); errors name the
//!   setting and the fix ([`ConfigError`]).
//!
//! ## Map
//! | module | RFC |
//! |---|---|
//! | [`rfc6052`] | RFC 6052 address embedding, §3.1 Well-Known Prefix rule |
//! | [`rfc7757`] | RFC 7757 EAM table |
//! | `rfc7915` | RFC 7915 §4 (4->6), §5 (6->4), ICMP §4.2-4.4/§5.2-5.4 |
//! | [`checksum`] | RFC 1071 sum, RFC 1624 incremental update |
//! | [`stateful`] | RFC 6146 §3.7: translation with a caller's outgoing tuple ([`Translator::translate_stateful`]) |
//! | [`tuple`] | RFC 6146 §3.4: the incoming tuple of a packet ([`tuple::extract`]) |
//! | [`offload`] | TUN offloads (virtio-net header): GSO super-packets translated once, partial checksums |
#![forbid(unsafe_code)]

pub mod checksum;
pub mod config;
mod mss;
pub mod offload;
pub mod rfc6052;
pub mod rfc7757;
mod rfc7915;
pub mod stateful;
pub mod tuple;
mod verdict;
mod wire;

pub use config::{Config, ConfigError, Resolved, UdpZeroChecksum};
pub use rfc7915::{Translator, OUT_BUF_LEN};
pub use stateful::Rewrite;
pub use tuple::{PacketTuple, QuotedTuple, TupleKind};
pub use verdict::{Action, Counters, DropReason, Family};
