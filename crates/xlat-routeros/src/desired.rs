//! The desired state: from a role's configuration and the facts read from
//! the router ([`Site`]), the objects that must exist. Pure: no I/O.
//!
//! Field names and values are the RouterOS console's (see the crate docs
//! for the manual pages): routes `dst-address`, `gateway`, `distance`;
//! firewall `chain`, `action`, `protocol`, `src-address`, `dst-address`,
//! `dst-address-list`, `in-interface`, `out-interface`,
//! `in-interface-list`, `out-interface-list`, `connection-state`; NAT
//! `to-addresses`; mangle `new-mss`, `tcp-flags`, `passthrough`; address
//! lists `list`, `address`; DHCP options `name`, `code`, `value`; ND
//! `interface`, `pref64` (`pref64-prefixes` before RouterOS 7.21); DHCP
//! networks `address`, `dhcp-option`.

use std::net::{Ipv4Addr, Ipv6Addr};

use ipnetwork::Ipv6Network;

use crate::config::{ClatSpec, MssClamp, PlatSpec, RoleConfig, RoleSpec};
use crate::menu::Menu;
use crate::special::{embed_prefix, non_global_v4, subtract};
use crate::tag::Tag;
use crate::value::{canonical, split_list};
use crate::Error;

/// Suffix of the address lists holding the non-global ranges (PLAT).
pub const NONGLOBAL_LIST: &str = "nonglobal";
/// Suffix of the address lists holding the ledger of foreign edits.
pub const LEDGER_LIST: &str = "ledger";
/// Every address-list suffix we use (read back by list name).
pub(crate) const OWNED_LISTS: &[&str] = &[NONGLOBAL_LIST, LEDGER_LIST];
/// Suffix of the DHCP option name (PLAT, RFC 8925).
pub const V6ONLY_OPTION: &str = "v6only";
/// RFC 8925 §3.1: DHCPv4 option code of "IPv6-Only Preferred".
pub const OPTION_V6ONLY_PREFERRED: u8 = 108;

/// What the router knows that the configuration does not say: read by
/// [`resolve()`](crate::resolve()) (or given for an offline plan).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Site {
    /// Router-side interface facing the container (the veth, or its bridge).
    pub router_interface: String,
    /// The container's IPv4 address (gateway of our IPv4 routes).
    pub container_v4: Option<Ipv4Addr>,
    /// The container's IPv6 address (gateway of our IPv6 routes).
    pub container_v6: Option<Ipv6Addr>,
    /// CLAT: the CLAT prefixes in force (configured, or carved from the pool).
    pub clat_prefixes: Vec<Ipv6Network>,
    /// CLAT with an automatic prefix: the DHCPv6-PD pool's prefix.
    pub pool: Option<Ipv6Network>,
}

/// Address family of a rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Family {
    /// IPv4 menus (`/ip/...`).
    V4,
    /// IPv6 menus (`/ipv6/...`).
    V6,
}

/// What a firewall or mangle rule is for; every flow a role needs exists in
/// both families (the tests check it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Flow {
    /// Traffic entering the translation (LAN -> CLAT, clients -> PLAT) and
    /// leaving it (CLAT -> WAN, PLAT -> WAN).
    Outbound,
    /// Replies (`connection-state=established,related`).
    Return,
    /// ICMP / ICMPv6 to and from the container (errors, Packet Too Big).
    Icmp,
    /// PLAT: no forwarding to non-global IPv4 space in either family.
    DropNonGlobal,
    /// MSS clamping.
    MssClamp,
}

/// One object we own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Object {
    /// Its menu.
    pub menu: Menu,
    /// Properties, in the order they are written.
    pub attrs: Vec<(&'static str, String)>,
    /// Its comment: the tag, plus a human suffix outside the routing tables.
    pub comment: String,
    /// For firewall and mangle rules: what they are for.
    pub flow: Option<Flow>,
}

impl Object {
    /// A property's value.
    pub fn get(&self, name: &str) -> Option<&str> {
        if name == "comment" {
            return Some(&self.comment);
        }
        self.attrs.iter().find(|(k, _)| *k == name).map(|(_, v)| v.as_str())
    }

    /// The family of its menu.
    pub fn family(&self) -> Family {
        if self.menu.path().starts_with("/ipv6/") {
            Family::V6
        } else {
            Family::V4
        }
    }

    /// The identity of the object within its menu ([`Menu::identity`]).
    pub(crate) fn identity(&self) -> String {
        identity(self.menu, |k| self.get(k))
    }
}

/// Identity from any property lookup (desired object or router row).
pub(crate) fn identity<'a>(menu: Menu, get: impl Fn(&str) -> Option<&'a str>) -> String {
    let parts: Vec<String> = menu.identity().iter().map(|k| canonical(get(k).unwrap_or_default())).collect();
    parts.join("\u{1f}")
}

/// Make sure `value` is an element of the list property `field` of the
/// foreign item of `menu` selected by `select` (`/ipv6/nd` entry of the
/// LAN, `/ip/dhcp-server/network` entry). See the crate docs ("Objects we
/// do not own") for how these edits are recorded and undone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListEdit {
    /// The menu of the foreign item.
    pub menu: Menu,
    /// `(property, value)` selecting the item.
    pub select: (&'static str, String),
    /// The list property.
    pub field: &'static str,
    /// Our element.
    pub value: String,
    /// Address-list menu of the ledger entry recording the edit.
    pub ledger_menu: Menu,
    /// `address` of the ledger entry (the element or the item, an address).
    pub ledger_address: String,
}

/// Marker between the tag and the description in a ledger comment.
const LEDGER_MARK: &str = "ledger";

impl ListEdit {
    /// The ledger entry's comment:
    /// `xlat:plat:default ledger /ipv6/nd interface=bridge pref64+=64:ff9b::/96`.
    pub fn ledger_comment(&self, tag: &Tag) -> String {
        tag.comment_with(&format!(
            "{LEDGER_MARK} {} {}={} {}+={}",
            self.menu.path(),
            self.select.0,
            escape(&self.select.1),
            self.field,
            escape(&self.value)
        ))
    }
}

/// A ledger comment read back from the router.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LedgerRecord {
    pub(crate) menu: Menu,
    pub(crate) select: (String, String),
    pub(crate) field: String,
    pub(crate) value: String,
}

/// Parses a ledger comment of ours.
pub(crate) fn parse_ledger(tag: &Tag, comment: &str) -> Option<LedgerRecord> {
    if !tag.owns(comment) {
        return None;
    }
    let rest = comment.strip_prefix(&tag.comment())?.trim_start();
    let mut words = rest.split(' ');
    if words.next()? != LEDGER_MARK {
        return None;
    }
    let menu = Menu::from_path(words.next()?)?;
    let (sk, sv) = words.next()?.split_once('=')?;
    let (field, value) = words.next()?.split_once("+=")?;
    if words.next().is_some() {
        return None;
    }
    Some(LedgerRecord {
        menu,
        select: (sk.to_owned(), unescape(sv)?),
        field: field.to_owned(),
        value: unescape(value)?,
    })
}

fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '%' | ' ' | '"' | '\\' | '$' => out.push_str(&format!("%{:02X}", c as u32)),
            _ => out.push(c),
        }
    }
    out
}

fn unescape(s: &str) -> Option<String> {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '%' {
            let hex: String = chars.by_ref().take(2).collect();
            out.push(char::from(u8::from_str_radix(&hex, 16).ok()?));
        } else {
            out.push(c);
        }
    }
    Some(out)
}

/// The names a list property goes by, newest first: RouterOS 7.21's
/// console calls the ND property `pref64` ("PREF64 prefixes"), the manual
/// and earlier 7.x `pref64-prefixes`. Edits and ledger entries use the
/// first name; the router's item decides which one is written.
pub(crate) fn field_names(field: &str) -> Vec<&str> {
    match field {
        "pref64" | "pref64-prefixes" => vec!["pref64", "pref64-prefixes"],
        other => vec![other],
    }
}

/// The name of list property `field` on this item: the first of
/// [`field_names`] the item shows, else the newest.
pub(crate) fn actual_field<'a>(row: &routeros_api::Attrs, field: &'a str) -> &'a str {
    let names = field_names(field);
    names.iter().copied().find(|n| row.contains_key(*n)).unwrap_or(names[0])
}

/// The value of a list property with no elements: `pref64-prefixes` is
/// `unspecified` by default (its documented type is "unspecified | ipv6
/// prefixes"), other lists are empty.
pub(crate) fn empty_list_value(field: &str) -> &'static str {
    match field {
        "pref64-prefixes" => "unspecified",
        _ => "",
    }
}

/// The elements of a list property as the router printed it.
pub(crate) fn list_elements(v: Option<&str>) -> Vec<String> {
    split_list(v.unwrap_or_default()).filter(|s| !matches!(*s, "unspecified" | "none")).map(str::to_owned).collect()
}

/// Everything that must exist for one role of one instance.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Desired {
    /// Objects we own, in the order they are created (firewall rules of a
    /// chain: in the order they must appear).
    pub objects: Vec<Object>,
    /// Edits of foreign list properties.
    pub edits: Vec<ListEdit>,
}

impl Desired {
    /// The objects of one menu.
    pub fn of(&self, menu: Menu) -> impl Iterator<Item = &Object> {
        self.objects.iter().filter(move |o| o.menu == menu)
    }
}

/// Builds the objects of one role.
struct Builder<'a> {
    tag: &'a Tag,
    site: &'a Site,
    cfg: &'a RoleConfig,
    out: Desired,
}

impl Builder<'_> {
    fn route(&mut self, menu: Menu, dst: String, gateway: String) {
        let mut attrs = vec![("dst-address", dst), ("gateway", gateway)];
        if let Some(d) = self.cfg.common.distance {
            attrs.push(("distance", d.to_string()));
        }
        self.out.objects.push(Object { menu, attrs, comment: self.tag.comment(), flow: None });
    }

    fn rule(&mut self, menu: Menu, flow: Flow, what: &str, attrs: Vec<(&'static str, String)>) {
        self.out.objects.push(Object { menu, attrs, comment: self.tag.comment_with(what), flow: Some(flow) });
    }

    fn list_entry(&mut self, menu: Menu, list: &str, address: String) {
        let attrs = vec![("list", self.tag.name(list)), ("address", address)];
        self.out.objects.push(Object { menu, attrs, comment: self.tag.comment(), flow: None });
    }

    fn ct(&self) -> String {
        self.site.router_interface.clone()
    }

    fn lan(&self) -> String {
        self.cfg.common.lan_list.clone()
    }

    fn wan(&self) -> String {
        self.cfg.common.wan_list.clone()
    }

    fn v4_gateway(&self) -> Result<Ipv4Addr, Error> {
        self.site.container_v4.ok_or_else(|| {
            Error::config("the container has no IPv4 address: add one to the veth or set the container IPv4 address")
        })
    }

    fn v6_gateway(&self) -> Result<Ipv6Addr, Error> {
        self.site.container_v6.ok_or_else(|| {
            Error::config("the container has no IPv6 address: add one to the veth or set the container IPv6 address")
        })
    }

    /// ICMP in both directions through the container interface.
    fn icmp(&mut self, menu: Menu, protocol: &str, who: &str) {
        let ct = self.ct();
        let (p, w) = (protocol.to_owned(), who);
        self.rule(
            menu,
            Flow::Icmp,
            &format!("{p}-from-{w}"),
            fwd_accept(&[("protocol", p.clone()), ("in-interface", ct.clone())]),
        );
        self.rule(menu, Flow::Icmp, &format!("{p}-to-{w}"), fwd_accept(&[("protocol", p), ("out-interface", ct)]));
    }

    /// MSS clamping on SYNs through the container interface, both families.
    fn mss(&mut self, who: &str) {
        let new_mss = match self.cfg.common.mss_clamp {
            MssClamp::Off => return,
            MssClamp::Pmtu => "clamp-to-pmtu".to_owned(),
            MssClamp::Mss(n) => n.to_string(),
        };
        let ct = self.ct();
        for menu in [Menu::IpMangle, Menu::Ipv6Mangle] {
            for (dir, iface) in [("to", "out-interface"), ("from", "in-interface")] {
                let attrs = vec![
                    ("chain", "forward".to_owned()),
                    ("action", "change-mss".to_owned()),
                    ("new-mss", new_mss.clone()),
                    ("passthrough", "yes".to_owned()),
                    ("protocol", "tcp".to_owned()),
                    ("tcp-flags", "syn".to_owned()),
                    (iface, ct.clone()),
                ];
                self.rule(menu, Flow::MssClamp, &format!("mss-{dir}-{who}"), attrs);
            }
        }
    }

    fn clat(&mut self, c: &ClatSpec) -> Result<(), Error> {
        let (ct, lan, wan) = (self.ct(), self.lan(), self.wan());
        let v6gw = self.v6_gateway()?;
        if !c.routes_v4.is_empty() || c.nat_to.is_some() {
            let v4gw = self.v4_gateway()?;
            for r in &c.routes_v4 {
                self.route(Menu::IpRoute, r.to_string(), v4gw.to_string());
            }
            if let Some(to) = c.nat_to {
                // RFC 6877 §6.3 single-address mode: everything the router
                // sends into the container comes from the CLAT address.
                let attrs = vec![
                    ("chain", "srcnat".to_owned()),
                    ("action", "src-nat".to_owned()),
                    ("out-interface", ct.clone()),
                    ("dst-address", format!("!{v4gw}")),
                    ("to-addresses", to.to_string()),
                ];
                self.out.objects.push(Object {
                    menu: Menu::IpNat,
                    attrs,
                    comment: self.tag.comment_with("srcnat-to-clat"),
                    flow: None,
                });
            }
        }
        let prefixes = self.site.clat_prefixes.clone();
        if prefixes.is_empty() {
            return Err(Error::config("the CLAT has no IPv6 prefix"));
        }
        for p in &prefixes {
            self.route(Menu::Ipv6Route, p.to_string(), v6gw.to_string());
        }
        // IPv4: LAN <-> container.
        self.rule(
            Menu::IpFilter,
            Flow::Outbound,
            "lan-to-clat",
            fwd_accept(&[("in-interface-list", lan.clone()), ("out-interface", ct.clone())]),
        );
        self.rule(
            Menu::IpFilter,
            Flow::Return,
            "clat-to-lan",
            fwd_accept(&[
                ("connection-state", "established,related".into()),
                ("in-interface", ct.clone()),
                ("out-interface-list", lan),
            ]),
        );
        self.icmp(Menu::IpFilter, "icmp", "clat");
        // IPv6: container <-> WAN, for the CLAT prefixes only.
        for (i, p) in prefixes.iter().enumerate() {
            let n = numbered(i);
            self.rule(
                Menu::Ipv6Filter,
                Flow::Outbound,
                &format!("clat-to-wan{n}"),
                fwd_accept(&[
                    ("src-address", p.to_string()),
                    ("in-interface", ct.clone()),
                    ("out-interface-list", wan.clone()),
                ]),
            );
            self.rule(
                Menu::Ipv6Filter,
                Flow::Return,
                &format!("wan-to-clat{n}"),
                fwd_accept(&[
                    ("connection-state", "established,related".into()),
                    ("dst-address", p.to_string()),
                    ("in-interface-list", wan.clone()),
                    ("out-interface", ct.clone()),
                ]),
            );
        }
        self.icmp(Menu::Ipv6Filter, "icmpv6", "clat");
        self.mss("clat");
        Ok(())
    }

    fn plat(&mut self, p: &PlatSpec) -> Result<(), Error> {
        let (ct, lan, wan) = (self.ct(), self.lan(), self.wan());
        let (v4gw, v6gw) = (self.v4_gateway()?, self.v6_gateway()?);
        let pool6 = Ipv6Network::new(p.pool6.addr(), p.pool6.prefix_len()).map_err(|e| Error::config(e.to_string()))?;
        self.route(Menu::Ipv6Route, pool6.to_string(), v6gw.to_string());
        for p4 in &p.pool4 {
            self.route(Menu::IpRoute, p4.to_string(), v4gw.to_string());
        }
        // Non-global IPv4 space, and its images in pool6.
        let blocked = subtract(non_global_v4(), &p.allow_v4);
        for net in &blocked {
            self.list_entry(Menu::IpAddressList, NONGLOBAL_LIST, net.to_string());
        }
        for net in &blocked {
            self.list_entry(Menu::Ipv6AddressList, NONGLOBAL_LIST, embed_prefix(&p.pool6, *net).to_string());
        }
        let nonglobal = self.tag.name(NONGLOBAL_LIST);

        // IPv6: drops first, then clients -> pool6 and the replies.
        self.rule(
            Menu::Ipv6Filter,
            Flow::DropNonGlobal,
            "drop-pool6-nonglobal",
            vec![("chain", "forward".into()), ("action", "drop".into()), ("dst-address-list", nonglobal.clone())],
        );
        let clients: Vec<Option<Ipv6Network>> =
            if p.clients.is_empty() { vec![None] } else { p.clients.iter().copied().map(Some).collect() };
        for (i, c) in clients.iter().enumerate() {
            let n = numbered(i);
            let mut out = match c {
                Some(c) => vec![("src-address", c.to_string())],
                None => vec![("in-interface-list", lan.clone())],
            };
            out.extend([("dst-address", pool6.to_string()), ("out-interface", ct.clone())]);
            self.rule(Menu::Ipv6Filter, Flow::Outbound, &format!("clients-to-plat{n}"), fwd_accept(&out));
            let mut back =
                vec![("connection-state", "established,related".to_owned()), ("src-address", pool6.to_string())];
            match c {
                Some(c) => back.push(("dst-address", c.to_string())),
                None => back.push(("out-interface-list", lan.clone())),
            }
            back.push(("in-interface", ct.clone()));
            self.rule(Menu::Ipv6Filter, Flow::Return, &format!("plat-to-clients{n}"), fwd_accept(&back));
        }
        self.icmp(Menu::Ipv6Filter, "icmpv6", "plat");

        // IPv4: the same policy from the container's side.
        self.rule(
            Menu::IpFilter,
            Flow::DropNonGlobal,
            "drop-plat-to-nonglobal",
            vec![
                ("chain", "forward".into()),
                ("action", "drop".into()),
                ("dst-address-list", nonglobal),
                ("in-interface", ct.clone()),
            ],
        );
        for (i, p4) in p.pool4.iter().enumerate() {
            let n = numbered(i);
            self.rule(
                Menu::IpFilter,
                Flow::Outbound,
                &format!("plat-to-wan{n}"),
                fwd_accept(&[
                    ("src-address", p4.to_string()),
                    ("in-interface", ct.clone()),
                    ("out-interface-list", wan.clone()),
                ]),
            );
            self.rule(
                Menu::IpFilter,
                Flow::Return,
                &format!("wan-to-plat{n}"),
                fwd_accept(&[
                    ("connection-state", "established,related".into()),
                    ("dst-address", p4.to_string()),
                    ("in-interface-list", wan.clone()),
                    ("out-interface", ct.clone()),
                ]),
            );
        }
        self.icmp(Menu::IpFilter, "icmp", "plat");
        self.mss("plat");

        if let Some(iface) = &p.pref64_interface {
            // RFC 8781 PREF64 option in the LAN's Router Advertisements.
            self.out.edits.push(ListEdit {
                menu: Menu::Ipv6Nd,
                select: ("interface", iface.clone()),
                field: "pref64",
                value: pool6.to_string(),
                ledger_menu: Menu::Ipv6AddressList,
                ledger_address: pool6.to_string(),
            });
        }
        if let Some(v6only) = &p.v6only {
            // RFC 8925 §3.1: option 108, a 32-bit V6ONLY_WAIT in seconds.
            let name = self.tag.name(V6ONLY_OPTION);
            let attrs = vec![
                ("name", name.clone()),
                ("code", OPTION_V6ONLY_PREFERRED.to_string()),
                ("value", format!("0x{:08x}", v6only.wait)),
            ];
            self.out.objects.push(Object {
                menu: Menu::DhcpOption,
                attrs,
                comment: self.tag.comment_with("v6only-preferred"),
                flow: None,
            });
            for net in &v6only.networks {
                self.out.edits.push(ListEdit {
                    menu: Menu::DhcpNetwork,
                    select: ("address", net.to_string()),
                    field: "dhcp-option",
                    value: name.clone(),
                    ledger_menu: Menu::IpAddressList,
                    ledger_address: net.to_string(),
                });
            }
        }
        Ok(())
    }
}

/// `""`, `" #2"`, `" #3"` ...: keeps the first rule's name short and the
/// names stable when a prefix changes (the rule is `set`, not replaced).
fn numbered(i: usize) -> String {
    if i == 0 {
        String::new()
    } else {
        format!(" #{}", i + 1)
    }
}

/// `chain=forward action=accept` followed by `matchers`.
fn fwd_accept(matchers: &[(&'static str, String)]) -> Vec<(&'static str, String)> {
    let mut attrs = vec![("chain", "forward".to_owned()), ("action", "accept".to_owned())];
    attrs.extend(matchers.iter().cloned());
    attrs
}

/// The desired state of `cfg` on the router described by `site`.
pub fn desired(cfg: &RoleConfig, site: &Site) -> Result<Desired, Error> {
    cfg.validate()?;
    let tag = cfg.tag()?;
    let mut b = Builder { tag: &tag, site, cfg, out: Desired::default() };
    match &cfg.spec {
        RoleSpec::Clat(c) => b.clat(c)?,
        RoleSpec::Plat(p) => b.plat(p)?,
    }
    Ok(b.out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tag::Role;

    #[test]
    fn ledger_comments_round_trip() {
        let tag = Tag::new(Role::Plat, "default").unwrap();
        let edit = ListEdit {
            menu: Menu::Ipv6Nd,
            select: ("interface", "my bridge%1".into()),
            field: "pref64",
            value: "64:ff9b::/96".into(),
            ledger_menu: Menu::Ipv6AddressList,
            ledger_address: "64:ff9b::/96".into(),
        };
        let c = edit.ledger_comment(&tag);
        assert_eq!(c, "xlat:plat:default ledger /ipv6/nd interface=my%20bridge%251 pref64+=64:ff9b::/96");
        let r = parse_ledger(&tag, &c).unwrap();
        assert_eq!(r.menu, Menu::Ipv6Nd);
        assert_eq!(r.select, ("interface".to_owned(), "my bridge%1".to_owned()));
        assert_eq!((r.field.as_str(), r.value.as_str()), ("pref64", "64:ff9b::/96"));
        assert!(parse_ledger(&tag, "xlat:plat:default drop-pool6-nonglobal").is_none());
        assert!(parse_ledger(&Tag::new(Role::Plat, "other").unwrap(), &c).is_none());
    }

    #[test]
    fn list_elements_ignore_placeholders() {
        assert!(list_elements(Some("unspecified")).is_empty());
        assert!(list_elements(None).is_empty());
        assert_eq!(list_elements(Some("a, b")), ["a", "b"]);
    }
}
