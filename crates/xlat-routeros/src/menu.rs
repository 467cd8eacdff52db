//! The RouterOS menus provisioning reads and writes, and how.

use std::fmt;

/// A RouterOS menu (console path), with what provisioning needs to know
/// about it: how to read our items back, what identifies an item, and
/// whether item order matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Menu {
    /// `/ip/route`.
    IpRoute,
    /// `/ipv6/route`.
    Ipv6Route,
    /// `/ip/firewall/filter`.
    IpFilter,
    /// `/ipv6/firewall/filter`.
    Ipv6Filter,
    /// `/ip/firewall/nat`.
    IpNat,
    /// `/ip/firewall/mangle`.
    IpMangle,
    /// `/ipv6/firewall/mangle`.
    Ipv6Mangle,
    /// `/ip/firewall/address-list`.
    IpAddressList,
    /// `/ipv6/firewall/address-list`.
    Ipv6AddressList,
    /// `/ip/dhcp-server/option`.
    DhcpOption,
    /// `/ip/dhcp-server/network` (never ours: only list edits).
    DhcpNetwork,
    /// `/ipv6/nd` (never ours: only list edits).
    Ipv6Nd,
    /// `/ipv6/pool` (read only: the DHCPv6-PD pool).
    Ipv6Pool,
    /// `/interface/veth` (read only: the container's addresses).
    Veth,
    /// `/interface/bridge/port` (read only: the veth's bridge).
    BridgePort,
}

/// How our items of a menu are read back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Read {
    /// Every item (small tables, or tables where foreign items matter: the
    /// firewall, whose final drop rules anchor ours).
    All,
    /// `print ?comment=<tag>`: routing tables can hold a full BGP table, so
    /// our routes carry the bare tag and are fetched by it.
    ByTag,
    /// `print ?list=<name>` for each of our list names: address lists can
    /// hold large block lists; ours live in lists named after the tag.
    ByList,
}

/// Menus that can hold items of ours, in the order they are read.
pub const OWNED_MENUS: &[Menu] = &[
    Menu::IpRoute,
    Menu::Ipv6Route,
    Menu::IpAddressList,
    Menu::Ipv6AddressList,
    Menu::IpFilter,
    Menu::Ipv6Filter,
    Menu::IpNat,
    Menu::IpMangle,
    Menu::Ipv6Mangle,
    Menu::DhcpOption,
];

/// Every menu, for path lookups.
const ALL: &[Menu] = &[
    Menu::IpRoute,
    Menu::Ipv6Route,
    Menu::IpFilter,
    Menu::Ipv6Filter,
    Menu::IpNat,
    Menu::IpMangle,
    Menu::Ipv6Mangle,
    Menu::IpAddressList,
    Menu::Ipv6AddressList,
    Menu::DhcpOption,
    Menu::DhcpNetwork,
    Menu::Ipv6Nd,
    Menu::Ipv6Pool,
    Menu::Veth,
    Menu::BridgePort,
];

impl Menu {
    /// The API path, `/ip/firewall/filter`.
    pub fn path(self) -> &'static str {
        match self {
            Menu::IpRoute => "/ip/route",
            Menu::Ipv6Route => "/ipv6/route",
            Menu::IpFilter => "/ip/firewall/filter",
            Menu::Ipv6Filter => "/ipv6/firewall/filter",
            Menu::IpNat => "/ip/firewall/nat",
            Menu::IpMangle => "/ip/firewall/mangle",
            Menu::Ipv6Mangle => "/ipv6/firewall/mangle",
            Menu::IpAddressList => "/ip/firewall/address-list",
            Menu::Ipv6AddressList => "/ipv6/firewall/address-list",
            Menu::DhcpOption => "/ip/dhcp-server/option",
            Menu::DhcpNetwork => "/ip/dhcp-server/network",
            Menu::Ipv6Nd => "/ipv6/nd",
            Menu::Ipv6Pool => "/ipv6/pool",
            Menu::Veth => "/interface/veth",
            Menu::BridgePort => "/interface/bridge/port",
        }
    }

    /// The menu whose API path is `path`.
    pub fn from_path(path: &str) -> Option<Menu> {
        ALL.iter().copied().find(|m| m.path() == path)
    }

    /// The console spelling, `/ip firewall filter`.
    pub fn cli(self) -> String {
        let path = self.path();
        format!("/{}", path[1..].replace('/', " "))
    }

    /// Firewall filter menus: the order of rules matters, ours go before
    /// the first foreign `drop`/`reject` of their chain.
    pub fn ordered(self) -> bool {
        matches!(self, Menu::IpFilter | Menu::Ipv6Filter)
    }

    /// Properties that identify an item of ours within the menu: two items
    /// with the same values are the same object (the other properties are
    /// compared and `set` when they differ).
    pub(crate) fn identity(self) -> &'static [&'static str] {
        match self {
            Menu::IpRoute | Menu::Ipv6Route => &["dst-address"],
            Menu::IpAddressList | Menu::Ipv6AddressList => &["list", "address", "comment"],
            _ => &["comment"],
        }
    }

    /// How our items are read back.
    pub(crate) fn read(self) -> Read {
        match self {
            Menu::IpRoute | Menu::Ipv6Route => Read::ByTag,
            Menu::IpAddressList | Menu::Ipv6AddressList => Read::ByList,
            _ => Read::All,
        }
    }
}

impl fmt::Display for Menu {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.path())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_round_trip_and_cli_spelling() {
        for m in ALL {
            assert_eq!(Menu::from_path(m.path()), Some(*m));
        }
        assert_eq!(Menu::IpFilter.cli(), "/ip firewall filter");
        assert_eq!(Menu::IpRoute.cli(), "/ip route");
        assert_eq!(Menu::from_path("/ip/bogus"), None);
    }
}
