//! RFC 6146 §3.8 "Handling Hairpinning".
//!
//! An IPv6 client may reach another client through the latter's pool4
//! transport address (e.g. a peer-to-peer application learnt it from a
//! server). After §3.5/§3.6 the outgoing IPv4 tuple of such a packet has a
//! pool4 destination: instead of leaving toward IPv4 it is processed again
//! as an incoming IPv4 packet with that tuple, and the result goes back to
//! IPv6 — [`crate::V6Verdict::Hairpin`] names the destination IPv6
//! transport address. The same holds for ICMP errors about hairpinned
//! packets ([`crate::IcmpErrorVerdict::Hairpin`]).
//!
//! With shards, the second pass runs on the shard that owns the pool4
//! port; [`crate::ShardedNat64`] drops the first shard's lock before
//! taking the second one, so no two locks are ever held.

use crate::nat64::Nat64;
use crate::tuple::{TcpFlags, Tuple4};
use crate::verdict::{Nat64Drop, V4Verdict, V6Verdict};

impl Nat64 {
    /// §3.8: the second pass of a hairpinned packet whose outgoing IPv4
    /// tuple is `t4` (its destination is a pool4 address of this shard).
    pub(crate) fn hairpin_v4(&mut self, t4: Tuple4, flags: TcpFlags) -> Result<V6Verdict, Nat64Drop> {
        match self.filter_v4(&t4, flags, true)? {
            V4Verdict::Translate(t6) => {
                self.stats.hairpinned += 1;
                Ok(V6Verdict::Hairpin(t6))
            }
            // filter_v4 never holds in hairpin mode.
            V4Verdict::HoldSyn => Err(Nat64Drop::HairpinFiltered),
        }
    }
}
