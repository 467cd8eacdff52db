//! RFC 6146 §3.5.2.2 "TCP Session Handling": the TCP state machine.
//!
//! CLOSED is the absence of a session: it is handled where sessions are
//! created (`filtering.rs`). This module is the transition table of the
//! other seven states for one packet, and what a timeout does to each
//! state. It is a pure function: the caller applies the result.
//!
//! | state | packet | next state | lifetime |
//! |---|---|---|---|
//! | V4 INIT | IPv6 SYN | ESTABLISHED | TCP_EST |
//! | V4 INIT | other | V4 INIT | unchanged |
//! | V6 INIT | IPv4 SYN | ESTABLISHED | TCP_EST |
//! | V6 INIT | IPv6 SYN (retransmission) | V6 INIT | TCP_TRANS |
//! | V6 INIT | other | V6 INIT | unchanged |
//! | ESTABLISHED | IPv4 FIN | V4 FIN RCV | unchanged |
//! | ESTABLISHED | IPv6 FIN | V6 FIN RCV | unchanged |
//! | ESTABLISHED | RST (either side) | TRANS | TCP_TRANS |
//! | ESTABLISHED | other | ESTABLISHED | TCP_EST |
//! | V4 FIN RCV | IPv6 FIN | V4 FIN + V6 FIN RCV | TCP_TRANS |
//! | V4 FIN RCV | other | V4 FIN RCV | TCP_EST |
//! | V6 FIN RCV | IPv4 FIN | V4 FIN + V6 FIN RCV | TCP_TRANS |
//! | V6 FIN RCV | other | V6 FIN RCV | TCP_EST |
//! | V4 FIN + V6 FIN RCV | any | unchanged | unchanged (expires after TCP_TRANS) |
//! | TRANS | not RST | ESTABLISHED | TCP_EST |
//! | TRANS | RST | TRANS | unchanged |
//!
//! With `handle_rst_during_fin_rcv` (off by default, not in the RFC) a RST
//! in V4 FIN RCV / V6 FIN RCV sets the lifetime to TCP_TRANS.
//!
//! Timeouts: ESTABLISHED moves to TRANS (lifetime TCP_TRANS) and the NAT64
//! SHOULD send a probe; V4 INIT with a held SYN answers it with ICMP port
//! unreachable; every other state is deleted.

use core::fmt;

use crate::tuple::TcpFlags;

/// A TCP session state (RFC 6146 §3.5.2.2). CLOSED is "no session".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum TcpState {
    /// An IPv4 SYN was seen (simultaneous open or unsolicited inbound).
    V4Init = 1,
    /// An IPv6 SYN was seen.
    V6Init = 2,
    /// Both SYNs were seen.
    Established = 3,
    /// FIN from the IPv4 side.
    V4FinRcv = 4,
    /// FIN from the IPv6 side.
    V6FinRcv = 5,
    /// FIN from both sides.
    V4FinV6FinRcv = 6,
    /// Transitory: RST seen, or established and idle.
    Trans = 7,
}

impl TcpState {
    /// Every state.
    pub const ALL: [TcpState; 7] = [
        TcpState::V4Init,
        TcpState::V6Init,
        TcpState::Established,
        TcpState::V4FinRcv,
        TcpState::V6FinRcv,
        TcpState::V4FinV6FinRcv,
        TcpState::Trans,
    ];

    pub(crate) fn from_u8(v: u8) -> Option<TcpState> {
        TcpState::ALL.into_iter().find(|s| *s as u8 == v)
    }

    /// The RFC's name.
    #[must_use]
    pub const fn rfc_name(self) -> &'static str {
        match self {
            TcpState::V4Init => "V4 INIT",
            TcpState::V6Init => "V6 INIT",
            TcpState::Established => "ESTABLISHED",
            TcpState::V4FinRcv => "V4 FIN RCV",
            TcpState::V6FinRcv => "V6 FIN RCV",
            TcpState::V4FinV6FinRcv => "V4 FIN + V6 FIN RCV",
            TcpState::Trans => "TRANS",
        }
    }
}

impl fmt::Display for TcpState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.rfc_name())
    }
}

/// Which side a packet came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dir {
    /// From the IPv6 client.
    V6,
    /// From the IPv4 side.
    V4,
}

/// What to do with the session lifetime.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lifetime {
    /// Leave the timer running.
    Keep,
    /// Restart it at TCP_EST.
    Est,
    /// Restart it at TCP_TRANS.
    Trans,
}

/// §3.5.2.2: the state and lifetime after a packet in `state`.
pub(crate) fn on_packet(state: TcpState, dir: Dir, flags: TcpFlags, rst_during_fin: bool) -> (TcpState, Lifetime) {
    use Lifetime::{Est, Keep};
    use TcpState::{Established, Trans, V4FinRcv, V4FinV6FinRcv, V4Init, V6FinRcv, V6Init};
    match (state, dir) {
        (V4Init, Dir::V6) if flags.syn() => (Established, Est),
        (V4Init, _) => (V4Init, Keep),
        (V6Init, Dir::V4) if flags.syn() => (Established, Est),
        (V6Init, Dir::V6) if flags.syn() => (V6Init, Lifetime::Trans),
        (V6Init, _) => (V6Init, Keep),
        (Established, Dir::V4) if flags.fin() => (V4FinRcv, Keep),
        (Established, Dir::V6) if flags.fin() => (V6FinRcv, Keep),
        (Established, _) if flags.rst() => (Trans, Lifetime::Trans),
        (Established, _) => (Established, Est),
        (V4FinRcv, Dir::V6) if flags.fin() => (V4FinV6FinRcv, Lifetime::Trans),
        (V6FinRcv, Dir::V4) if flags.fin() => (V4FinV6FinRcv, Lifetime::Trans),
        (V4FinRcv | V6FinRcv, _) if flags.rst() && rst_during_fin => (state, Lifetime::Trans),
        (V4FinRcv | V6FinRcv, _) => (state, Est),
        (V4FinV6FinRcv, _) => (V4FinV6FinRcv, Keep),
        (Trans, _) if flags.rst() => (Trans, Keep),
        (Trans, _) => (Established, Est),
    }
}

/// What a lifetime expiry does to a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OnTimeout {
    /// ESTABLISHED: move to TRANS with lifetime TCP_TRANS and probe.
    ProbeAndTrans,
    /// Delete the session (V4 INIT with a held SYN: after the ICMP error).
    Remove,
}

/// §3.5.2.2: what the expiry of `state`'s lifetime does.
pub(crate) fn on_timeout(state: TcpState) -> OnTimeout {
    match state {
        TcpState::Established => OnTimeout::ProbeAndTrans,
        _ => OnTimeout::Remove,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Lifetime::{Est, Keep, Trans as LT};
    use TcpState::*;

    const S: TcpFlags = TcpFlags::SYN;
    const F: TcpFlags = TcpFlags::FIN;
    const R: TcpFlags = TcpFlags::RST;
    const A: TcpFlags = TcpFlags::ACK;

    /// RFC 6146 §3.5.2.2, every row of the transition table.
    #[test]
    fn rfc6146_3_5_2_2_transition_table() {
        let table: &[(TcpState, Dir, TcpFlags, TcpState, Lifetime)] = &[
            (V4Init, Dir::V6, S, Established, Est),
            (V4Init, Dir::V6, S | A, Established, Est),
            (V4Init, Dir::V6, A, V4Init, Keep),
            (V4Init, Dir::V4, S, V4Init, Keep),
            (V4Init, Dir::V4, A, V4Init, Keep),
            (V6Init, Dir::V4, S | A, Established, Est),
            (V6Init, Dir::V4, S, Established, Est),
            (V6Init, Dir::V6, S, V6Init, LT),
            (V6Init, Dir::V4, A, V6Init, Keep),
            (V6Init, Dir::V6, R, V6Init, Keep),
            (Established, Dir::V4, F | A, V4FinRcv, Keep),
            (Established, Dir::V6, F | A, V6FinRcv, Keep),
            (Established, Dir::V4, R, Trans, LT),
            (Established, Dir::V6, R, Trans, LT),
            (Established, Dir::V6, A, Established, Est),
            (Established, Dir::V4, A, Established, Est),
            (V4FinRcv, Dir::V6, F | A, V4FinV6FinRcv, LT),
            (V4FinRcv, Dir::V4, F | A, V4FinRcv, Est),
            (V4FinRcv, Dir::V6, A, V4FinRcv, Est),
            (V4FinRcv, Dir::V6, R, V4FinRcv, Est),
            (V6FinRcv, Dir::V4, F | A, V4FinV6FinRcv, LT),
            (V6FinRcv, Dir::V6, F, V6FinRcv, Est),
            (V6FinRcv, Dir::V4, A, V6FinRcv, Est),
            (V4FinV6FinRcv, Dir::V4, A, V4FinV6FinRcv, Keep),
            (V4FinV6FinRcv, Dir::V6, S, V4FinV6FinRcv, Keep),
            (Trans, Dir::V4, A, Established, Est),
            (Trans, Dir::V6, A, Established, Est),
            (Trans, Dir::V6, R, Trans, Keep),
            (Trans, Dir::V4, R | A, Trans, Keep),
        ];
        for &(state, dir, flags, next, life) in table {
            assert_eq!(on_packet(state, dir, flags, false), (next, life), "{state} {dir:?} {flags:?}");
        }
    }

    #[test]
    fn jool_rst_during_fin_rcv_knob() {
        assert_eq!(on_packet(V4FinRcv, Dir::V6, R, true), (V4FinRcv, LT));
        assert_eq!(on_packet(V6FinRcv, Dir::V4, R, true), (V6FinRcv, LT));
    }

    #[test]
    fn rfc6146_3_5_2_2_timeouts() {
        assert_eq!(on_timeout(Established), OnTimeout::ProbeAndTrans);
        for s in [V4Init, V6Init, V4FinRcv, V6FinRcv, V4FinV6FinRcv, Trans] {
            assert_eq!(on_timeout(s), OnTimeout::Remove, "{s}");
        }
    }

    #[test]
    fn state_roundtrip_and_names() {
        for s in TcpState::ALL {
            assert_eq!(TcpState::from_u8(s as u8), Some(s));
        }
        assert_eq!(TcpState::from_u8(0), None);
        assert_eq!(V4FinV6FinRcv.to_string(), "V4 FIN + V6 FIN RCV");
    }
}
