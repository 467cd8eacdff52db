//! # xlat-pcap: capture files for the offline translators
//!
//! What `clat translate` and `plat translate` share (a binary crate cannot
//! be depended on, so it lives here):
//!
//! - [`capture`]: reading pcap or pcapng frames with their link type and
//!   timestamp ([`capture::Capture`]), writing emitted packets as a raw-IP
//!   pcap ([`capture::Output`]);
//! - [`link`]: the IP packet inside a frame (raw IP, Ethernet with VLAN
//!   tags, Linux cooked v1/v2, BSD loopback), or why there is none;
//! - [`describe`]: one-line descriptions of packets and of what a
//!   translator did with them, for per-packet summaries.
//!
//! Errors are environment failures (`anyhow`, with the file named); nothing
//! here panics on a malformed capture or packet.
#![forbid(unsafe_code)]

pub mod capture;
pub mod describe;
pub mod link;

pub use pcap_file::{DataLink, TsResolution};
