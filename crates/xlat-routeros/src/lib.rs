//! RouterOS provisioning for xlat: the routes, firewall rules, NAT and
//! mangle rules, PREF64 and DHCP option a CLAT or PLAT container needs on
//! the MikroTik router that hosts it — computed declaratively, compared
//! with what the router has, and applied as a difference.
//!
//! # Model
//!
//! 1. A [`RoleConfig`] says what the role needs (CLAT: IPv4 destinations,
//!    CLAT prefix, single-address NAT; PLAT: pool6, pool4, clients, PREF64,
//!    option 108) and where the container is (its veth).
//! 2. [`resolve()`] reads the facts the configuration leaves to the router
//!    ([`Site`]): the container's addresses from `/interface/veth`, the
//!    interface facing it (the veth's bridge from `/interface/bridge/port`,
//!    else the veth), and for an automatic CLAT prefix the DHCPv6-PD pool
//!    from `/ipv6/pool` ([`pd`]).
//! 3. [`desired()`] turns both into the objects that must exist
//!    ([`Desired`]); pure.
//! 4. [`Provisioner::snapshot`] reads the router ([`Snapshot`]) and
//!    [`plan()`] computes the [`Plan`]: `add` / `set` / `remove` / `move`;
//!    pure. An empty plan means the router is in sync: a second apply
//!    writes nothing.
//! 5. [`Provisioner::execute`] runs it through any [`routeros_api::RouterOs`]
//!    transport (classic API or REST). [`Change::cli`] prints each change as
//!    a RouterOS console line for `--dry-run`.
//!
//! # Ownership
//!
//! Every object we create carries the comment tag `xlat:<role>:<instance>`
//! ([`Tag`]); routes carry the bare tag (they are read back with
//! `print ?comment=<tag>`, because a routing table may hold a full BGP
//! table), other objects the tag and a human suffix
//! (`xlat:clat:default lan-to-clat`). We never set, move or remove an item
//! without our tag. [`Provisioner::remove`] deletes exactly our items.
//!
//! Firewall rules we add go before the operator's final rules: in each
//! chain, our rules must appear in our order and before the first rule
//! that is not ours with `action=drop` or `action=reject` (dynamic rules
//! are skipped); otherwise they are moved just before it. Rules of other
//! chains, jump targets and the position of foreign accept rules are not
//! considered.
//!
//! # Objects we do not own
//!
//! Two PLAT options must change items that belong to the operator: the
//! LAN's `/ipv6/nd` entry (`pref64`, RFC 8781) and the
//! `/ip/dhcp-server/network` entries that should send option 108 (their
//! `dhcp-option` list, RFC 8925). We cannot tag those items (their comment
//! is the operator's), and overwriting the property would lose the
//! operator's value. So:
//!
//! - the edit is **one list element**: we add our element (pool6, or our
//!   option's name) to the list and leave every other element alone;
//! - each edit we make is recorded in a **ledger entry** we own: an
//!   address-list entry (list `xlat-<role>-<instance>-ledger`, inert: no
//!   rule refers to it) whose comment names the item and the element
//!   (`xlat:plat:default ledger /ipv6/nd interface=bridge
//!   pref64+=64:ff9b::/96`). The ledger is written before the edit and
//!   removed after it is undone;
//! - if the element is already there without a ledger entry, the operator
//!   put it there: we record nothing and will never remove it;
//! - on removal (or when the configuration no longer wants it) we remove
//!   exactly the recorded element; a list left empty gets the property's
//!   empty value (`""`; `unspecified` for `pref64-prefixes`, its documented
//!   default).
//!
//! RouterOS 7.21's console names the ND property `pref64` ("PREF64
//! prefixes"); the manual's ND page and earlier 7.x releases call it
//! `pref64-prefixes`. The edit uses whichever name the router's entry
//! shows, `pref64` when it shows neither.
//!
//! If the item to edit does not exist (no `/ipv6/nd` entry for that
//! interface), nothing is changed and the plan carries a note: creating an
//! ND entry would override the `interface=all` defaults for that interface.
//!
//! # What each role provisions
//!
//! CLAT (`ct` = the router interface facing the container):
//!
//! | menu | what |
//! |---|---|
//! | `/ip/route` | each IPv4 destination (default `0.0.0.0/0`) `gateway=<container IPv4>` |
//! | `/ipv6/route` | each CLAT prefix `gateway=<container IPv6>` |
//! | `/ip/firewall/filter` | forward: LAN list -> ct; ct -> LAN established,related; ICMP from/to ct |
//! | `/ipv6/firewall/filter` | forward: ct -> WAN from the CLAT prefix; WAN -> ct established,related to it; ICMPv6 from/to ct |
//! | `/ip/firewall/nat` | single-address mode: `srcnat src-nat out-interface=ct dst-address=!<container> to-addresses=192.0.0.1` |
//! | `/ip(v6)/firewall/mangle` | optional: `change-mss` on SYNs from/to ct |
//!
//! PLAT:
//!
//! | menu | what |
//! |---|---|
//! | `/ipv6/route`, `/ip/route` | pool6 `gateway=<container IPv6>`, each pool4 `gateway=<container IPv4>` |
//! | `/ip(v6)/firewall/address-list` | `xlat-plat-<instance>-nonglobal`: RFC 6890 non-global IPv4 ranges, and their pool6 images ([`special`]) |
//! | `/ipv6/firewall/filter` | forward: drop to pool6 images of non-global IPv4; clients -> pool6 via ct; replies; ICMPv6 |
//! | `/ip/firewall/filter` | forward: drop ct -> non-global IPv4; pool4 from ct -> WAN; WAN -> pool4 established,related; ICMP |
//! | `/ip(v6)/firewall/mangle` | optional MSS clamp |
//! | `/ipv6/nd` | optional: pool6 in `pref64` of the LAN's entry (ledger) |
//! | `/ip/dhcp-server/option` | optional: `code=108 value=0x<V6ONLY_WAIT>`, added to chosen networks' `dhcp-option` (ledger) |
//!
//! Both roles: every firewall flow exists in both families, and ICMP and
//! ICMPv6 to and from the container are accepted.
//!
//! # Self-provisioning
//!
//! [`SelfProvision`] is what the daemons call: settings from flags or
//! `XLAT_ROUTEROS_*` variables ([`SelfProvisionArgs`]), provisioning at
//! start, a re-check every `XLAT_ROUTEROS_RECHECK` (default 5 minutes; an
//! automatic CLAT prefix follows the delegated prefix there, published to
//! the daemon by [`Running::clat_prefix`]), and removal
//! on shutdown with `XLAT_ROUTEROS_REMOVE_ON_EXIT=true`. The URL host
//! `gateway` means this container's default gateway ([`gateway`]).
//!
//! ## Integrating a daemon (the PLAT's part, for its author)
//!
//! `clat run` does this already (`crates/clat/src/run/`). For `plat run`:
//!
//! ```text
//! // settings: flags and XLAT_ROUTEROS_* variables next to the PLAT's own
//! #[command(flatten)] routeros: xlat_routeros::SelfProvisionArgs,
//! #[command(flatten)] routeros_plat: xlat_routeros::PlatProvisionArgs,
//! // resolve (one-line xlat_config::Error on a bad value, exit 2):
//! let routeros = args.routeros.resolve(|k| std::env::var(k).ok())?;
//! let spec = args.routeros_plat.spec(pool6, pool4_prefixes, clients, allow_v4)?;
//! // run: after the TUN and workers are up
//! let running = routeros.map(|s| xlat_routeros::SelfProvision::new(s).spawn(xlat_routeros::RoleSpec::Plat(spec)));
//! // on SIGTERM, before removing the local routes
//! if let Some(r) = running { r.shutdown().await; }
//! ```
//!
//! Or, without clap: `SelfProvision::from_env()?` and
//! `PlatProvisionArgs::from_lookup(|k| std::env::var(k).ok()).spec(...)`.
//!
//! # Sources (field names and values)
//!
//! RouterOS itself cannot run here: the API is tested against an in-repo
//! server that speaks the real wire protocol
//! (`routeros_api::testing::TestRouter`), with field names from RouterOS
//! documentation. Every menu, command and property the provisioner writes
//! is also checked against the RouterOS 7.21.4 command database of the
//! `routeros-lsp` checker (the `third_party_lint` test):
//!
//! - `/ip/firewall/filter`, `/ipv6/firewall/filter`: `chain`, `action`
//!   (`accept`, `drop`), `in-interface(-list)`, `out-interface(-list)`,
//!   `src-address`, `dst-address`, `dst-address-list`, `protocol`
//!   (`icmp`, `icmpv6`), `connection-state=established,related`, and the
//!   RouterOS default configuration's forward chain ("defconf: drop
//!   invalid", "drop all from WAN not DSTNATed") as exported by routers
//!   (`/ip firewall filter` exports quoted in public configuration
//!   pastes; manual: <https://help.mikrotik.com/docs/spaces/ROS/pages/48660574/Filter>);
//!   `move` with `destination`, REST `POST .../move` (the REST API page,
//!   <https://help.mikrotik.com/docs/spaces/ROS/pages/47579162/REST+API>).
//! - `/ip/firewall/nat`: `chain=srcnat action=src-nat to-addresses`
//!   (<https://help.mikrotik.com/docs/spaces/ROS/pages/3211299/NAT>).
//! - `/ip/firewall/mangle`: `action=change-mss new-mss=clamp-to-pmtu
//!   protocol=tcp tcp-flags=syn passthrough=yes` (manual's mangle page and
//!   the many router exports that carry the rule).
//! - `/ip/route`, `/ipv6/route`: `dst-address`, `gateway`, `distance`.
//! - `/ipv6/nd`: `interface` (`all` is the default entry),
//!   `pref64-prefixes` ("unspecified | ipv6 prefixes; Default:
//!   unspecified": "IPv6 prefix or list of prefixes within /32, /40, /48,
//!   /56, /64, or /96 subnet that will be provided to hosts as NAT64
//!   prefixes"), and `pref64` ("PREF64 prefixes") in the RouterOS 7.21.4
//!   command database shipped by the `routeros-lsp` checker (PyPI), from
//!   the manual's IPv6 ND page
//!   (<https://help.mikrotik.com/docs/spaces/ROS/pages/40992815/IPv6+Neighbor+Discovery>)
//!   and the CLI reference <https://manual.mikrotik.com/docs/cli-reference/ipv6/nd>.
//! - `/ipv6/pool`: `name`, `prefix`, `prefix-length`; the DHCPv6 client's
//!   `pool-name` (manual: IP Pools, DHCP client).
//! - `/ip/dhcp-server/option`: `name`, `code` (1..254), `value` with the
//!   `0xXXXX` hex form ("DHCP Options",
//!   <https://help.mikrotik.com/docs/spaces/ROS/pages/24805500/DHCP#DHCP-DHCPOptions.1>);
//!   `/ip/dhcp-server/network`: `address`, `dhcp-option`.
//! - `/interface/veth`: `name`, `address` (IPv4 and IPv6, comma-separated),
//!   `gateway`, `gateway6`; `/interface/bridge/port`: `bridge`,
//!   `interface` (<https://help.mikrotik.com/docs/spaces/ROS/pages/84901929/Container>).
//! - RFC 8925 §3.1 (option 108, 32-bit V6ONLY_WAIT), §3.4
//!   (MIN_V6ONLY_WAIT 300 s), §4.2 (1800 s suggested); RFC 8781 (PREF64);
//!   RFC 6052 §2.2 (u octet), RFC 6890 (special-purpose IPv4), RFC 6877
//!   §6.3 (CLAT prefix, single-address mode).
//!
//! # Not handled
//!
//! RouterOS versions that print values differently from the forms
//! [`value`] normalises; user chains reached by `jump`. A CLAT prefix
//! change reconfigures the router's routes and firewall here; the daemon
//! follows it through [`Running::clat_prefix`] (`clat run
//! --routeros-clat-pool` swaps its translator and local route).

pub mod apply;
pub mod cli;
pub mod config;
pub mod desired;
mod error;
pub mod gateway;
pub mod menu;
pub mod pd;
pub mod plan;
pub mod resolve;
pub mod selfprov;
pub mod special;
pub mod tag;
pub mod value;

pub use apply::{Prepared, Provisioner, Report};
pub use config::{ClatPrefix, ClatSpec, Common, MssClamp, PlatSpec, PoolCarve, RoleConfig, RoleSpec, V6OnlyPreferred};
pub use desired::{desired, Desired, Family, Flow, ListEdit, Object, Site};
pub use error::Error;
pub use menu::Menu;
pub use plan::{plan, Change, Item, Plan, Selector, Snapshot};
pub use resolve::{resolve, resolve_offline};
pub use selfprov::{PlatProvisionArgs, Running, SelfProvision, SelfProvisionArgs, SelfProvisionSettings};
pub use tag::{Role, Tag};
