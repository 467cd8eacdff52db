//! xlat-lab: end-to-end tests and the 464XLAT demo lab.
//!
//! - [`netns`]: network namespaces, veth pairs and bounded waits for tests
//!   that need a kernel network stack (root only; they skip otherwise).
//! - [`tayga`]: TAYGA in a namespace, the reference translator of the
//!   differential test `tests/tayga_diff.rs`.

pub mod netns;
pub mod tayga;
