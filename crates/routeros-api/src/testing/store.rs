//! In-memory menus of the fake router and the operations on them, shared by
//! the classic API and the REST front ends.

use std::collections::BTreeMap;

use super::query;
use crate::proto::Attrs;

/// Table menus the fake router knows. `add` and `set` accept the
/// properties of [`menu_attributes`] there, and answer any other with
/// `!trap =message=unknown parameter <name>` as RouterOS 7 does.
pub const MENUS: &[&str] = &[
    "/ip/route",
    "/ipv6/route",
    "/ip/address",
    "/ipv6/address",
    "/ip/firewall/filter",
    "/ipv6/firewall/filter",
    "/ip/firewall/nat",
    "/ipv6/firewall/nat",
    "/ip/firewall/mangle",
    "/ipv6/firewall/mangle",
    "/ip/firewall/address-list",
    "/ipv6/firewall/address-list",
    "/ipv6/nd",
    "/ipv6/nd/prefix",
    "/ipv6/pool",
    "/ip/pool",
    "/ip/dhcp-server/option",
    "/interface/veth",
    "/interface/bridge/port",
    "/container",
    "/container/envs",
    "/container/mounts",
];

// Writable properties of each menu, as RouterOS 7 names them (console
// property names, the same on the API). Sources: the RouterOS manual's menu
// pages (IP Routing, Firewall filter/NAT/mangle, IPv6 ND, IP pools, DHCP,
// VETH, Container) and, for `/container` properties added in 7.19-7.21, the
// per-version field lists of the community.routeros Ansible collection.
// Read-only properties (`dynamic`, `active`, `invalid`, counters ...) are not
// writable on a real router either; [`TestRouter::seed`](super::TestRouter::seed)
// stores them all the same.

/// Every item of these menus.
const ITEM: &[&str] = &["comment", "disabled"];
/// Rule matchers of `/ip/firewall/{filter,nat,mangle}` and their IPv6
/// counterparts.
const FW_MATCH: &[&str] = &[
    "action",
    "address-list",
    "address-list-timeout",
    "chain",
    "connection-bytes",
    "connection-limit",
    "connection-mark",
    "connection-nat-state",
    "connection-rate",
    "connection-state",
    "connection-type",
    "content",
    "dscp",
    "dst-address",
    "dst-address-list",
    "dst-address-type",
    "dst-limit",
    "dst-port",
    "icmp-options",
    "in-bridge-port",
    "in-bridge-port-list",
    "in-interface",
    "in-interface-list",
    "ingress-priority",
    "ipsec-policy",
    "jump-target",
    "layer7-protocol",
    "limit",
    "log",
    "log-prefix",
    "nth",
    "out-bridge-port",
    "out-bridge-port-list",
    "out-interface",
    "out-interface-list",
    "packet-mark",
    "packet-size",
    "per-connection-classifier",
    "place-before",
    "port",
    "priority",
    "protocol",
    "random",
    "routing-mark",
    "src-address",
    "src-address-list",
    "src-address-type",
    "src-mac-address",
    "src-port",
    "tcp-flags",
    "tcp-mss",
    "time",
    "tls-host",
];
/// IPv4-only matchers.
const FW_MATCH_V4: &[&str] = &["fragment", "hotspot", "ipv4-options", "psd", "ttl"];
/// IPv6-only matchers.
const FW_MATCH_V6: &[&str] = &["headers", "hop-limit"];
/// `filter` actions' arguments.
const FW_FILTER: &[&str] = &["reject-with"];
/// `nat` actions' arguments.
const FW_NAT: &[&str] = &["randomise-ports", "same-not-by-dst", "to-addresses", "to-ports"];
/// `mangle` actions' arguments (both families).
const FW_MANGLE: &[&str] = &[
    "new-connection-mark",
    "new-dscp",
    "new-mss",
    "new-packet-mark",
    "new-priority",
    "new-routing-mark",
    "passthrough",
    "sniff-id",
    "sniff-target",
    "sniff-target-port",
];
/// IPv4-only `mangle` arguments.
const FW_MANGLE_V4: &[&str] = &["new-ttl", "route-dst"];
/// IPv6-only `mangle` arguments.
const FW_MANGLE_V6: &[&str] = &["new-hop-limit"];
/// `/ip/route` and `/ipv6/route` (RouterOS 7).
const ROUTE: &[&str] = &[
    "blackhole",
    "check-gateway",
    "distance",
    "dst-address",
    "gateway",
    "pref-src",
    "routing-table",
    "scope",
    "suppress-hw-offload",
    "target-scope",
    "vrf-interface",
];
/// `/ip/firewall/address-list` and `/ipv6/firewall/address-list`.
const ADDRESS_LIST: &[&str] = &["address", "list", "timeout"];
/// `/ipv6/nd`. `pref64-prefixes` is the manual's name; `pref64` is kept
/// for the spelling xlat's provisioning also probes.
const IPV6_ND: &[&str] = &[
    "advertise-dns",
    "advertise-mac-address",
    "dns",
    "hop-limit",
    "interface",
    "managed-address-configuration",
    "mtu",
    "other-configuration",
    "pref64",
    "pref64-prefixes",
    "ra-delay",
    "ra-interval",
    "ra-lifetime",
    "ra-preference",
    "reachable-time",
    "retransmit-interval",
];
/// `/interface/veth` (manual page "VETH").
const VETH: &[&str] = &["address", "container-mac-address", "dhcp", "gateway", "gateway6", "mac-address", "name"];
/// `/container` (manual page "Container"; no `disabled`: containers are
/// started and stopped).
const CONTAINER: &[&str] = &[
    "auto-restart-interval",
    "check-certificate",
    "cmd",
    "comment",
    "cpu-list",
    "devices",
    "dns",
    "domain-name",
    "entrypoint",
    "env",
    "envlist",
    "envlists",
    "file",
    "hostname",
    "hosts",
    "interface",
    "layer-dir",
    "logging",
    "memory-high",
    "mount",
    "mountlists",
    "mounts",
    "name",
    "remote-image",
    "root-dir",
    "shm-size",
    "start-on-boot",
    "stop-signal",
    "stop-time",
    "tmpfs",
    "user",
    "workdir",
];

/// Writable properties of each menu of [`MENUS`], as groups of names.
const SCHEMAS: &[(&str, &[&[&str]])] = &[
    ("/ip/route", &[ITEM, ROUTE]),
    ("/ipv6/route", &[ITEM, ROUTE]),
    ("/ip/address", &[ITEM, &["address", "interface", "netmask", "network"]]),
    (
        "/ipv6/address",
        &[ITEM, &["address", "advertise", "auto-link-local", "eui-64", "from-pool", "interface", "no-dad"]],
    ),
    ("/ip/firewall/filter", &[ITEM, FW_MATCH, FW_MATCH_V4, FW_FILTER]),
    ("/ipv6/firewall/filter", &[ITEM, FW_MATCH, FW_MATCH_V6, FW_FILTER]),
    ("/ip/firewall/nat", &[ITEM, FW_MATCH, FW_MATCH_V4, FW_NAT]),
    ("/ipv6/firewall/nat", &[ITEM, FW_MATCH, FW_MATCH_V6, FW_NAT]),
    ("/ip/firewall/mangle", &[ITEM, FW_MATCH, FW_MATCH_V4, FW_MANGLE, FW_MANGLE_V4]),
    ("/ipv6/firewall/mangle", &[ITEM, FW_MATCH, FW_MATCH_V6, FW_MANGLE, FW_MANGLE_V6]),
    ("/ip/firewall/address-list", &[ITEM, ADDRESS_LIST]),
    ("/ipv6/firewall/address-list", &[ITEM, ADDRESS_LIST]),
    ("/ipv6/nd", &[ITEM, IPV6_ND]),
    (
        "/ipv6/nd/prefix",
        &[ITEM, &["autonomous", "interface", "on-link", "preferred-lifetime", "prefix", "valid-lifetime"]],
    ),
    ("/ipv6/pool", &[&["comment", "name", "prefix", "prefix-length"]]),
    ("/ip/pool", &[&["comment", "name", "next-pool", "ranges"]]),
    ("/ip/dhcp-server/option", &[&["code", "comment", "force", "name", "value"]]),
    ("/interface/veth", &[ITEM, VETH]),
    (
        "/interface/bridge/port",
        &[
            ITEM,
            &[
                "bpdu-guard",
                "bridge",
                "edge",
                "frame-types",
                "horizon",
                "hw",
                "interface",
                "path-cost",
                "point-to-point",
                "priority",
                "pvid",
            ],
        ],
    ),
    ("/container", &[CONTAINER]),
    ("/container/envs", &[ITEM, &["key", "list", "name", "value"]]),
    ("/container/mounts", &[ITEM, &["dst", "list", "name", "read-only", "src"]]),
];

/// The properties `add` and `set` accept in `menu`, sorted; `None` for a
/// menu outside [`MENUS`] (those the builder adds are free-form).
pub fn menu_attributes(menu: &str) -> Option<Vec<&'static str>> {
    let (_, groups) = SCHEMAS.iter().find(|(m, _)| *m == menu)?;
    let mut names: Vec<&'static str> = groups.iter().flat_map(|g| g.iter().copied()).collect();
    names.sort_unstable();
    names.dedup();
    Some(names)
}

/// Single-item menus: `print` returns one fixed item; nothing else works.
const SINGLETONS: &[(&str, &[(&str, &str)])] = &[
    ("/system/identity", &[("name", "MikroTik")]),
    ("/system/resource", &[("version", "7.18 (stable)"), ("board-name", "xlat-test-router"), ("platform", "MikroTik")]),
];

/// Property holding the internal id.
pub(crate) const ID: &str = ".id";
/// `!done` attribute (REST: key) with the id `add` created.
pub(crate) const RET: &str = "ret";
/// Property every item gets when `add` does not set it.
const DISABLED: &str = "disabled";
/// Its default value.
const DISABLED_DEFAULT: &str = "false";
/// Prefix of internal ids.
const ID_PREFIX: char = '*';
/// Separator of id lists (`=.id=*1,*2`).
const ID_LIST_SEPARATOR: char = ',';
/// `add` argument of ordered menus: insert before this item.
const PLACE_BEFORE: &str = "place-before";
/// Start of the `!trap` message for a property the menu does not have.
pub const UNKNOWN_PARAMETER: &str = "unknown parameter";

/// Trap categories of the manual's `!trap` section.
pub(crate) mod category {
    /// "missing item or command".
    pub(crate) const MISSING: u32 = 0;
    /// "argument value failure".
    pub(crate) const ARGUMENT: u32 = 1;
    /// "execution of command interrupted".
    pub(crate) const INTERRUPTED: u32 = 2;
}

/// An operation failed: what the router would say in `!trap`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Trap {
    pub(crate) category: Option<u32>,
    pub(crate) message: String,
    /// How the REST front end reports it.
    pub(crate) kind: TrapKind,
}

/// REST status class of a [`Trap`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TrapKind {
    /// Unknown menu or command.
    NoSuchCommand,
    /// Unknown item id.
    NoSuchItem,
    /// Anything else.
    Failure,
}

impl Trap {
    fn no_such_command(what: &str) -> Self {
        Self {
            category: Some(category::MISSING),
            message: format!("no such command or directory ({what})"),
            kind: TrapKind::NoSuchCommand,
        }
    }

    pub(crate) fn no_such_item() -> Self {
        Self { category: Some(category::MISSING), message: "no such item (4)".into(), kind: TrapKind::NoSuchItem }
    }

    /// An `add`/`set` property the menu does not have. RouterOS 7 names it
    /// (`unknown parameter thr-rtt-max` in a terraform-routeros bug report);
    /// RouterOS 6 said only `unknown parameter`. No category is known.
    pub(crate) fn unknown_parameter(name: &str) -> Self {
        Self { category: None, message: format!("{UNKNOWN_PARAMETER} {name}"), kind: TrapKind::Failure }
    }

    fn missing_argument(name: &str) -> Self {
        Self {
            category: Some(category::ARGUMENT),
            message: format!("missing value(s) of argument(s) {name}"),
            kind: TrapKind::Failure,
        }
    }
}

/// What a command asks for, parsed by the front ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Op {
    /// `print` / `getall` (REST `GET`): query words without `?`, and the
    /// properties to return.
    Print { query: Vec<String>, proplist: Option<Vec<String>> },
    /// `add` (REST `PUT`).
    Add(Attrs),
    /// `set` (REST `PATCH`): ids and new values.
    Set { ids: Vec<String>, attrs: Attrs },
    /// `remove` (REST `DELETE`).
    Remove { ids: Vec<String> },
    /// `move`: ids, and the item to move them before (end if `None`).
    Move { ids: Vec<String>, destination: Option<String> },
}

/// What an operation returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Items (print).
    Rows(Vec<Attrs>),
    /// Id of a new item (add: `=ret=`).
    Created(String),
    /// Nothing to return.
    Done,
}

/// Splits `/ip/route/print` into the menu `/ip/route` and the verb `print`.
pub(crate) fn split_command(command: &str) -> (&str, &str) {
    command.rsplit_once('/').unwrap_or(("", command))
}

/// Splits an id list (`*1,*2`).
pub(crate) fn ids(list: &str) -> Vec<String> {
    list.split(ID_LIST_SEPARATOR).filter(|s| !s.is_empty()).map(str::to_owned).collect()
}

/// Turns a verb and its attributes into an [`Op`]. `.id` or `numbers` name
/// the items of set/remove/move (both spellings exist: the API manual uses
/// `.id`, the CLI `numbers`).
pub(crate) fn op_for(verb: &str, mut attrs: Attrs, query: Vec<String>) -> Result<Op, Trap> {
    let take_ids = |attrs: &mut Attrs| {
        attrs
            .remove(ID)
            .or_else(|| attrs.remove("numbers"))
            .map(|l| ids(&l))
            .ok_or_else(|| Trap::missing_argument("numbers"))
    };
    Ok(match verb {
        "print" | "getall" => {
            let proplist = attrs.remove(".proplist").map(|p| p.split(',').map(str::to_owned).collect());
            Op::Print { query, proplist }
        }
        "add" => Op::Add(attrs),
        "set" => {
            let ids = take_ids(&mut attrs)?;
            Op::Set { ids, attrs }
        }
        "remove" => Op::Remove { ids: take_ids(&mut attrs)? },
        "move" => {
            let ids = take_ids(&mut attrs)?;
            Op::Move { ids, destination: attrs.remove("destination").filter(|d| !d.is_empty()) }
        }
        other => return Err(Trap::no_such_command(other)),
    })
}

/// One table menu.
#[derive(Debug, Default, Clone)]
struct Table {
    last_id: u32,
    rows: Vec<Attrs>,
    /// Writable properties; `None`: free-form (menus the builder adds).
    known: Option<&'static [&'static [&'static str]]>,
}

impl Table {
    fn accepts(&self, name: &str) -> bool {
        self.known.is_none_or(|groups| groups.iter().any(|g| g.contains(&name)))
    }

    /// The first property (in name order) the menu does not have.
    fn check(&self, attrs: &Attrs) -> Result<(), Trap> {
        match attrs.keys().find(|k| k.as_str() != ID && !self.accepts(k)) {
            Some(k) => Err(Trap::unknown_parameter(k)),
            None => Ok(()),
        }
    }

    /// Stores a new item, before `before` or at the end, and returns its id.
    fn insert(&mut self, mut attrs: Attrs, before: Option<usize>) -> String {
        self.last_id += 1;
        let id = format!("{ID_PREFIX}{:X}", self.last_id);
        attrs.remove(ID);
        attrs.insert(ID.to_owned(), id.clone());
        if self.accepts(DISABLED) {
            attrs.entry(DISABLED.to_owned()).or_insert_with(|| DISABLED_DEFAULT.to_owned());
        }
        let at = before.unwrap_or(self.rows.len());
        self.rows.insert(at, attrs);
        id
    }

    fn position(&self, id: &str) -> Option<usize> {
        self.rows.iter().position(|r| r.get(ID).is_some_and(|v| v == id))
    }

    fn positions(&self, ids: &[String]) -> Result<Vec<usize>, Trap> {
        ids.iter().map(|id| self.position(id).ok_or_else(Trap::no_such_item)).collect()
    }
}

/// All menus of the fake router.
#[derive(Debug, Clone)]
pub(crate) struct Store {
    tables: BTreeMap<String, Table>,
}

impl Default for Store {
    fn default() -> Self {
        let tables = SCHEMAS
            .iter()
            .map(|(m, groups)| ((*m).to_owned(), Table { known: Some(groups), ..Table::default() }))
            .collect();
        Self { tables }
    }
}

impl Store {
    /// Runs `op` on `menu`.
    pub(crate) fn apply(&mut self, menu: &str, op: Op) -> Result<Outcome, Trap> {
        if let Some((_, item)) = SINGLETONS.iter().find(|(m, _)| *m == menu) {
            return match op {
                Op::Print { query, proplist } => {
                    let item: Attrs = item.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
                    Ok(Outcome::Rows(select(vec![item], &query, proplist.as_deref())))
                }
                Op::Add(_) => Err(Trap::no_such_command("add")),
                Op::Set { .. } => Err(Trap::no_such_command("set")),
                Op::Remove { .. } => Err(Trap::no_such_command("remove")),
                Op::Move { .. } => Err(Trap::no_such_command("move")),
            };
        }
        let leaf = menu.rsplit('/').next().unwrap_or(menu);
        let table = self.tables.get_mut(menu).ok_or_else(|| Trap::no_such_command(leaf))?;
        match op {
            Op::Print { query, proplist } => Ok(Outcome::Rows(select(table.rows.clone(), &query, proplist.as_deref()))),
            Op::Add(mut attrs) => {
                table.check(&attrs)?;
                let before = match attrs.remove(PLACE_BEFORE).filter(|p| !p.is_empty()) {
                    Some(p) => Some(table.position(&p).ok_or_else(Trap::no_such_item)?),
                    None => None,
                };
                Ok(Outcome::Created(table.insert(attrs, before)))
            }
            Op::Set { ids, attrs } => {
                if let Some(p) = attrs.keys().find(|k| *k == PLACE_BEFORE) {
                    return Err(Trap::unknown_parameter(p));
                }
                table.check(&attrs)?;
                for pos in table.positions(&ids)? {
                    for (k, v) in &attrs {
                        if k != ID {
                            table.rows[pos].insert(k.clone(), v.clone());
                        }
                    }
                }
                Ok(Outcome::Done)
            }
            Op::Remove { ids } => {
                table.positions(&ids)?;
                table.rows.retain(|r| !r.get(ID).is_some_and(|id| ids.contains(id)));
                Ok(Outcome::Done)
            }
            Op::Move { ids, destination } => {
                table.positions(&ids)?;
                if let Some(d) = &destination {
                    table.position(d).ok_or_else(Trap::no_such_item)?;
                }
                let (moved, mut rest): (Vec<_>, Vec<_>) =
                    table.rows.drain(..).partition(|r| r.get(ID).is_some_and(|id| ids.contains(id)));
                let at =
                    destination.and_then(|d| rest.iter().position(|r| r.get(ID) == Some(&d))).unwrap_or(rest.len());
                rest.splice(at..at, moved);
                table.rows = rest;
                Ok(Outcome::Done)
            }
        }
    }

    /// One item by id (REST `GET /rest/<menu>/<id>`).
    pub(crate) fn get(&self, menu: &str, id: &str) -> Option<Attrs> {
        let table = self.tables.get(menu)?;
        table.position(id).map(|p| table.rows[p].clone())
    }

    /// Whether `menu` is a table menu (items have ids).
    pub(crate) fn is_table(&self, menu: &str) -> bool {
        self.tables.contains_key(menu)
    }

    /// All items of a menu, in order.
    pub(crate) fn rows(&self, menu: &str) -> Vec<Attrs> {
        self.tables.get(menu).map(|t| t.rows.clone()).unwrap_or_default()
    }

    /// Adds a menu that is not in [`MENUS`]: free-form, any property is
    /// stored as given.
    pub(crate) fn add_menu(&mut self, menu: &str) {
        self.tables.entry(menu.to_owned()).or_default();
    }

    /// Stores an item as the router's own configuration would hold it: any
    /// property, read-only ones included (`dynamic`, `active` ...), creating
    /// the menu (free-form) if unknown. Returns its id.
    pub(crate) fn seed(&mut self, menu: &str, attrs: Attrs) -> String {
        self.tables.entry(menu.to_owned()).or_default().insert(attrs, None)
    }
}

/// Applies the query and the property list.
fn select(rows: Vec<Attrs>, query: &[String], proplist: Option<&[String]>) -> Vec<Attrs> {
    rows.into_iter()
        .filter(|r| query::matches(r, query))
        .map(|r| match proplist {
            None => r,
            Some(names) => r.into_iter().filter(|(k, _)| names.contains(k)).collect(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attrs(pairs: &[(&str, &str)]) -> Attrs {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    fn add(s: &mut Store, menu: &str, comment: &str) -> String {
        let first = if menu.contains("/firewall/") { ("chain", "forward") } else { ("distance", "1") };
        match s.apply(menu, Op::Add(attrs(&[first, ("comment", comment)]))).unwrap() {
            Outcome::Created(id) => id,
            other => panic!("{other:?}"),
        }
    }

    fn order(s: &Store, menu: &str) -> Vec<String> {
        s.rows(menu).iter().map(|r| r["comment"].clone()).collect()
    }

    #[test]
    fn ids_are_hex_and_never_reused() {
        let mut s = Store::default();
        let m = "/ip/firewall/filter";
        let ids: Vec<_> = (0..11).map(|i| add(&mut s, m, &i.to_string())).collect();
        assert_eq!(ids[0], "*1");
        assert_eq!(ids[10], "*B");
        s.apply(m, Op::Remove { ids: vec!["*B".into()] }).unwrap();
        assert_eq!(add(&mut s, m, "x"), "*C");
        assert_eq!(s.rows(m)[0]["disabled"], "false");
    }

    #[test]
    fn every_menu_has_a_schema() {
        for m in MENUS {
            let names = menu_attributes(m).unwrap_or_else(|| panic!("{m}"));
            assert!(names.contains(&"comment"), "{m}");
        }
        assert_eq!(SCHEMAS.len(), MENUS.len());
        assert!(menu_attributes("/ip/dhcp-server/network").is_none());
        let veth = menu_attributes("/interface/veth").unwrap();
        for name in ["name", "address", "gateway", "gateway6", "disabled"] {
            assert!(veth.contains(&name), "{name}");
        }
        let container = menu_attributes("/container").unwrap();
        assert!(container.contains(&"remote-image") && !container.contains(&"disabled"));
    }

    #[test]
    fn ids_reach_two_hex_digits() {
        let mut s = Store::default();
        let m = "/ip/route";
        let ids: Vec<_> = (0..26).map(|i| add(&mut s, m, &i.to_string())).collect();
        assert_eq!((ids[8].as_str(), ids[9].as_str(), ids[14].as_str()), ("*9", "*A", "*F"));
        assert_eq!((ids[15].as_str(), ids[25].as_str()), ("*10", "*1A"));
    }

    #[test]
    fn unknown_parameter_traps_on_add_and_set() {
        let mut s = Store::default();
        let m = "/ip/route";
        let err = s.apply(m, Op::Add(attrs(&[("dst-address", "192.0.0.0/29"), ("dst_address", "x")]))).unwrap_err();
        assert_eq!(err.message, "unknown parameter dst_address");
        assert_eq!((err.category, err.kind), (None, TrapKind::Failure));
        assert!(s.rows(m).is_empty(), "nothing is stored");
        let id = add(&mut s, "/ip/firewall/filter", "f");
        let err = s.apply("/ip/firewall/filter", Op::Set { ids: vec![id.clone()], attrs: attrs(&[("gatway", "x")]) });
        assert_eq!(err.unwrap_err().message, "unknown parameter gatway");
        assert!(!s.get("/ip/firewall/filter", &id).unwrap().contains_key("gatway"));
        // The free-form menus of the builder take anything.
        s.add_menu("/ip/dhcp-server/network");
        s.apply("/ip/dhcp-server/network", Op::Add(attrs(&[("anything", "x")]))).unwrap();
        // Menus without `disabled` get no default for it.
        let Outcome::Created(id) = s.apply("/container", Op::Add(attrs(&[("remote-image", "xlat")]))).unwrap() else {
            panic!()
        };
        assert!(!s.get("/container", &id).unwrap().contains_key("disabled"));
        assert_eq!(
            s.apply("/container", Op::Add(attrs(&[("disabled", "no")]))).unwrap_err().message,
            "unknown parameter disabled"
        );
    }

    #[test]
    fn add_place_before() {
        let mut s = Store::default();
        let m = "/ipv6/firewall/filter";
        let a = add(&mut s, m, "a");
        add(&mut s, m, "b");
        let op = Op::Add(attrs(&[("chain", "forward"), ("comment", "c"), ("place-before", &a)]));
        s.apply(m, op).unwrap();
        assert_eq!(order(&s, m), ["c", "a", "b"]);
        assert!(!s.rows(m)[0].contains_key("place-before"));
        let op = Op::Add(attrs(&[("chain", "forward"), ("place-before", "*99")]));
        assert_eq!(s.apply(m, op).unwrap_err(), Trap::no_such_item());
    }

    #[test]
    fn move_before_and_to_end() {
        let mut s = Store::default();
        let m = "/ip/firewall/filter";
        let a = add(&mut s, m, "a");
        add(&mut s, m, "b");
        let c = add(&mut s, m, "c");
        s.apply(m, Op::Move { ids: vec![c.clone()], destination: Some(a.clone()) }).unwrap();
        assert_eq!(order(&s, m), ["c", "a", "b"]);
        s.apply(m, Op::Move { ids: vec![c], destination: None }).unwrap();
        assert_eq!(order(&s, m), ["a", "b", "c"]);
        let err = s.apply(m, Op::Move { ids: vec![a], destination: Some("*99".into()) }).unwrap_err();
        assert_eq!(err, Trap::no_such_item());
        assert_eq!(order(&s, m), ["a", "b", "c"]);
    }

    #[test]
    fn set_remove_missing_and_unknown() {
        let mut s = Store::default();
        let m = "/ip/route";
        let id = add(&mut s, m, "r");
        s.apply(m, Op::Set { ids: vec![id.clone()], attrs: attrs(&[("gateway", "192.0.0.2")]) }).unwrap();
        assert_eq!(s.get(m, &id).unwrap()["gateway"], "192.0.0.2");
        assert_eq!(s.apply(m, Op::Remove { ids: vec!["*9".into()] }), Err(Trap::no_such_item()));
        assert_eq!(s.apply("/ip/bogus", Op::Add(Attrs::new())).unwrap_err().kind, TrapKind::NoSuchCommand);
        assert_eq!(op_for("frobnicate", Attrs::new(), vec![]).unwrap_err().kind, TrapKind::NoSuchCommand);
        assert!(op_for("set", Attrs::new(), vec![]).is_err());
    }

    #[test]
    fn print_with_query_and_proplist() {
        let mut s = Store::default();
        let m = "/ip/route";
        add(&mut s, m, "x");
        add(&mut s, m, "y");
        let op = Op::Print { query: vec!["comment=y".into()], proplist: Some(vec!["comment".into()]) };
        assert_eq!(s.apply(m, op).unwrap(), Outcome::Rows(vec![attrs(&[("comment", "y")])]));
        let op = Op::Print { query: vec![], proplist: None };
        let Outcome::Rows(rows) = s.apply("/system/identity", op).unwrap() else { panic!() };
        assert_eq!(rows[0]["name"], "MikroTik");
    }
}
