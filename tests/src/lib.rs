//! xlat-lab: end-to-end tests and the 464XLAT demo lab.
//!
//! - [`netns`]: network namespaces, veth pairs and bounded waits for tests
//!   that need a kernel network stack (root only; they skip otherwise).
//! - [`tayga`]: TAYGA in a namespace, the reference translator of the
//!   differential test `tests/tayga_diff.rs`.
//! - [`lab`]: the namespace lab that mirrors a RouterOS 464XLAT deployment
//!   (LAN host, router, CLAT container, PLAT, IPv4 servers), used by the
//!   `xlat-lab demo` command and the `tests/lab_*.rs` end-to-end tests.
//! - [`bench`]: the end-to-end benchmark (`xlat-lab bench`,
//!   `tests/bench/e2e.sh`): our CLAT and PLAT, TAYGA and kernel forwarding
//!   through the same namespaces.

pub mod bench;
pub mod lab;
pub mod netns;
pub mod tayga;
