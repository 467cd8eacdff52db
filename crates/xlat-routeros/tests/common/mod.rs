//! Shared helpers of the provisioning tests: configurations, a fake router
//! with a RouterOS default firewall, and a client that counts writes.

#![allow(dead_code, unreachable_pub)]

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use routeros_api::testing::TestRouter;
use routeros_api::{AnyClient, ApiError, Attrs, ClientOptions, RouterOs};
use xlat_routeros::{ClatPrefix, ClatSpec, Common, MssClamp, PlatSpec, RoleConfig, RoleSpec, V6OnlyPreferred};

/// Upper bound of every network step.
pub const LIMIT: Duration = Duration::from_secs(20);

pub async fn bounded<T>(f: impl Future<Output = T>) -> T {
    tokio::time::timeout(LIMIT, f).await.expect("test step took longer than its bound")
}

/// The container's veth as RouterOS shows it, in bridge `br-xlat`.
pub const VETH: &str = "veth-xlat";
pub const BRIDGE: &str = "br-xlat";
pub const CT_V4: &str = "172.17.0.2";
pub const CT_V6: &str = "fd00:172:17::2";

pub fn common() -> Common {
    Common { veth: Some(VETH.into()), ..Common::default() }
}

pub fn clat_cfg() -> RoleConfig {
    RoleConfig {
        common: common(),
        spec: RoleSpec::Clat(ClatSpec {
            routes_v4: vec!["0.0.0.0/0".parse().unwrap()],
            prefix: ClatPrefix::Static(vec!["2001:db8:aaaa::1/128".parse().unwrap()]),
            nat_to: Some("192.0.0.1".parse().unwrap()),
        }),
    }
}

pub fn clat_pool_cfg() -> RoleConfig {
    RoleConfig {
        common: Common { mss_clamp: MssClamp::Mss(1440), ..common() },
        spec: RoleSpec::Clat(ClatSpec {
            routes_v4: vec!["0.0.0.0/0".parse().unwrap()],
            prefix: ClatPrefix::Pool("isp-pd".parse().unwrap()),
            nat_to: Some("192.0.0.1".parse().unwrap()),
        }),
    }
}

pub fn plat_cfg() -> RoleConfig {
    RoleConfig {
        common: common(),
        spec: RoleSpec::Plat(PlatSpec {
            pool6: "64:ff9b::/96".parse().unwrap(),
            pool4: vec!["198.51.100.0/24".parse().unwrap()],
            clients: vec!["2001:db8:100::/40".parse().unwrap()],
            allow_v4: vec![],
            pref64_interface: Some("bridge".into()),
            v6only: Some(V6OnlyPreferred { wait: 1800, networks: vec!["192.168.88.0/24".parse().unwrap()] }),
        }),
    }
}

/// The default configuration's forward chains (as exported by RouterOS
/// 7), an input rule, a user route and a user NAT rule; the container's
/// veth in its bridge; an ND entry for `all` and one for `bridge`; a DHCP
/// network.
pub fn seed_user_config(r: &TestRouter) {
    r.seed(
        "/interface/veth",
        &[
            ("name", VETH),
            ("address", &format!("{CT_V4}/24,{CT_V6}/64")),
            ("gateway", "172.17.0.1"),
            ("gateway6", "fd00:172:17::1"),
        ],
    );
    r.seed("/interface/bridge/port", &[("bridge", BRIDGE), ("interface", VETH)]);
    let f = "/ip/firewall/filter";
    r.seed(
        f,
        &[
            ("chain", "forward"),
            ("action", "passthrough"),
            ("dynamic", "true"),
            ("comment", "special dummy rule to show fasttrack counters"),
        ],
    );
    r.seed(
        f,
        &[
            ("chain", "input"),
            ("action", "accept"),
            ("connection-state", "established,related,untracked"),
            ("comment", "defconf: accept established,related,untracked"),
        ],
    );
    r.seed(
        f,
        &[
            ("chain", "input"),
            ("action", "drop"),
            ("in-interface-list", "!LAN"),
            ("comment", "defconf: drop all not coming from LAN"),
        ],
    );
    r.seed(
        f,
        &[
            ("chain", "forward"),
            ("action", "fasttrack-connection"),
            ("connection-state", "established,related"),
            ("comment", "defconf: fasttrack"),
        ],
    );
    r.seed(
        f,
        &[
            ("chain", "forward"),
            ("action", "accept"),
            ("connection-state", "established,related,untracked"),
            ("comment", "defconf: accept established,related, untracked"),
        ],
    );
    r.seed(
        f,
        &[
            ("chain", "forward"),
            ("action", "drop"),
            ("connection-state", "invalid"),
            ("comment", "defconf: drop invalid"),
        ],
    );
    r.seed(
        f,
        &[
            ("chain", "forward"),
            ("action", "drop"),
            ("connection-state", "new"),
            ("connection-nat-state", "!dstnat"),
            ("in-interface-list", "WAN"),
            ("comment", "defconf: drop all from WAN not DSTNATed"),
        ],
    );
    // A comment that looks like ours but is not.
    r.seed(
        f,
        &[
            ("chain", "forward"),
            ("action", "accept"),
            ("src-address", "10.9.9.9"),
            ("comment", "xlat:clat:default2 someone else"),
        ],
    );
    let f6 = "/ipv6/firewall/filter";
    r.seed(
        f6,
        &[
            ("chain", "forward"),
            ("action", "accept"),
            ("connection-state", "established,related,untracked"),
            ("comment", "defconf: accept established,related,untracked"),
        ],
    );
    r.seed(
        f6,
        &[
            ("chain", "forward"),
            ("action", "drop"),
            ("connection-state", "invalid"),
            ("comment", "defconf: drop invalid"),
        ],
    );
    r.seed(
        f6,
        &[("chain", "forward"), ("action", "accept"), ("protocol", "icmpv6"), ("comment", "defconf: accept ICMPv6")],
    );
    r.seed(
        f6,
        &[
            ("chain", "forward"),
            ("action", "drop"),
            ("in-interface-list", "!LAN"),
            ("comment", "defconf: drop everything else not coming from LAN"),
        ],
    );
    r.seed("/ip/route", &[("dst-address", "10.0.0.0/8"), ("gateway", "192.168.88.254"), ("comment", "user route")]);
    r.seed(
        "/ip/firewall/nat",
        &[
            ("chain", "srcnat"),
            ("action", "masquerade"),
            ("out-interface-list", "WAN"),
            ("comment", "defconf: masquerade"),
        ],
    );
    r.seed("/ipv6/nd", &[("interface", "all"), ("ra-interval", "3m20s-10m"), ("pref64", "")]);
    r.seed("/ipv6/nd", &[("interface", "bridge"), ("advertise-dns", "yes"), ("pref64", "2001:db8:64::/96")]);
    r.seed(
        "/ip/dhcp-server/network",
        &[("address", "192.168.88.0/24"), ("gateway", "192.168.88.1"), ("dhcp-option", "user-opt")],
    );
    r.seed("/ip/dhcp-server/option", &[("name", "user-opt"), ("code", "42"), ("value", "'192.168.88.1'")]);
    r.seed("/ipv6/pool", &[("name", "isp-pd"), ("prefix", "2001:db8:1200::/56"), ("prefix-length", "64")]);
}

/// Every menu the tests look at.
pub const MENUS: &[&str] = &[
    "/ip/route",
    "/ipv6/route",
    "/ip/firewall/filter",
    "/ipv6/firewall/filter",
    "/ip/firewall/nat",
    "/ip/firewall/mangle",
    "/ipv6/firewall/mangle",
    "/ip/firewall/address-list",
    "/ipv6/firewall/address-list",
    "/ip/dhcp-server/option",
    "/ip/dhcp-server/network",
    "/ipv6/nd",
    "/ipv6/pool",
    "/interface/veth",
    "/interface/bridge/port",
];

/// The whole router, menu by menu.
pub fn dump(r: &TestRouter) -> Vec<(&'static str, Vec<Attrs>)> {
    MENUS.iter().map(|m| (*m, r.rows(m))).collect()
}

/// Rows of `menu` whose comment is `tag`, or `tag` and a suffix.
pub fn tagged(r: &TestRouter, menu: &str, tag: &str) -> Vec<Attrs> {
    r.rows(menu)
        .into_iter()
        .filter(|row| row.get("comment").is_some_and(|c| c == tag || c.starts_with(&format!("{tag} "))))
        .collect()
}

/// Comments of a menu, in order.
pub fn comments(r: &TestRouter, menu: &str) -> Vec<String> {
    r.rows(menu).iter().map(|row| row.get("comment").cloned().unwrap_or_default()).collect()
}

pub fn position(r: &TestRouter, menu: &str, comment: &str) -> usize {
    comments(r, menu).iter().position(|c| c == comment).unwrap_or_else(|| panic!("{comment:?} not in {menu}"))
}

/// Both transports of a fake router.
pub async fn clients(r: &TestRouter) -> Vec<(&'static str, AnyClient)> {
    let mut out = Vec::new();
    for (name, url) in [("api", r.api_url()), ("rest", r.rest_url())] {
        let c = bounded(AnyClient::connect(&url, &r.credentials(), &ClientOptions::default())).await.expect("connect");
        out.push((name, c));
    }
    out
}

/// A router started with the user configuration.
pub async fn router() -> TestRouter {
    let r = TestRouter::builder().menu("/ip/dhcp-server/network").start().await.expect("fake router");
    seed_user_config(&r);
    r
}

/// A client that counts reads and writes, independently of the plan.
#[derive(Debug, Clone)]
pub struct Counting<R> {
    pub inner: R,
    pub reads: Arc<AtomicUsize>,
    pub writes: Arc<AtomicUsize>,
}

impl<R> Counting<R> {
    pub fn new(inner: R) -> Self {
        Self { inner, reads: Arc::default(), writes: Arc::default() }
    }

    pub fn writes(&self) -> usize {
        self.writes.load(Ordering::SeqCst)
    }

    pub fn reads(&self) -> usize {
        self.reads.load(Ordering::SeqCst)
    }
}

impl<R: RouterOs + Sync> RouterOs for Counting<R> {
    fn print(&self, path: &str, query: &[(&str, &str)]) -> impl Future<Output = Result<Vec<Attrs>, ApiError>> + Send {
        self.reads.fetch_add(1, Ordering::SeqCst);
        self.inner.print(path, query)
    }

    fn add(&self, path: &str, attrs: &[(&str, &str)]) -> impl Future<Output = Result<String, ApiError>> + Send {
        self.writes.fetch_add(1, Ordering::SeqCst);
        self.inner.add(path, attrs)
    }

    fn set(&self, path: &str, id: &str, attrs: &[(&str, &str)]) -> impl Future<Output = Result<(), ApiError>> + Send {
        self.writes.fetch_add(1, Ordering::SeqCst);
        self.inner.set(path, id, attrs)
    }

    fn remove(&self, path: &str, id: &str) -> impl Future<Output = Result<(), ApiError>> + Send {
        self.writes.fetch_add(1, Ordering::SeqCst);
        self.inner.remove(path, id)
    }

    fn move_before(&self, path: &str, id: &str, before_id: &str) -> impl Future<Output = Result<(), ApiError>> + Send {
        self.writes.fetch_add(1, Ordering::SeqCst);
        self.inner.move_before(path, id, before_id)
    }
}
