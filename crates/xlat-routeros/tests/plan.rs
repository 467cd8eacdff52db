//! Plan computation, pure: desired state from configurations, the
//! family-parity rule, and plans against hand-made snapshots.

mod common;

use std::collections::BTreeSet;

use common::*;
use routeros_api::Attrs;
use xlat_routeros::{desired, plan, Change, Family, Flow, Menu, RoleConfig, Site, Snapshot};

fn site() -> Site {
    Site {
        router_interface: BRIDGE.into(),
        container_v4: Some(CT_V4.parse().unwrap()),
        container_v6: Some(CT_V6.parse().unwrap()),
        clat_prefixes: vec!["2001:db8:aaaa::1/128".parse().unwrap()],
        pool: None,
    }
}

fn row(id: &str, pairs: &[(&str, &str)]) -> Attrs {
    let mut a: Attrs = pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    a.insert(".id".into(), id.into());
    a
}

/// The router after applying `cfg` to an empty router, with ids.
fn applied(cfg: &RoleConfig) -> Snapshot {
    let d = desired(cfg, &site()).unwrap();
    let mut snap = Snapshot::new();
    for (i, o) in d.objects.iter().enumerate() {
        let mut pairs: Vec<(&str, &str)> = o.attrs.iter().map(|(k, v)| (*k, v.as_str())).collect();
        pairs.push(("comment", &o.comment));
        snap.extend(o.menu, [row(&format!("*{:X}", i + 1), &pairs)]);
    }
    snap
}

#[test]
fn every_firewall_flow_exists_in_both_families() {
    for cfg in [clat_cfg(), plat_cfg(), {
        let mut c = clat_pool_cfg();
        c.spec = clat_cfg().spec;
        c
    }] {
        let d = desired(&cfg, &site()).unwrap();
        let flows = |f: Family| -> BTreeSet<Flow> {
            d.objects.iter().filter(|o| o.family() == f).filter_map(|o| o.flow).collect()
        };
        assert_eq!(flows(Family::V4), flows(Family::V6), "{}", cfg.tag().unwrap());
        assert!(flows(Family::V4).contains(&Flow::Icmp));
        // ICMPv6 to and from the container stays allowed.
        let icmpv6: Vec<_> = d.of(Menu::Ipv6Filter).filter(|o| o.get("protocol") == Some("icmpv6")).collect();
        assert_eq!(icmpv6.len(), 2);
        assert!(icmpv6.iter().all(|o| o.get("action") == Some("accept")));
        assert!(icmpv6.iter().any(|o| o.get("in-interface") == Some(BRIDGE)));
        assert!(icmpv6.iter().any(|o| o.get("out-interface") == Some(BRIDGE)));
    }
}

#[test]
fn plat_drops_come_before_its_accepts_and_cover_the_rfc1918_images() {
    let d = desired(&plat_cfg(), &site()).unwrap();
    for menu in [Menu::IpFilter, Menu::Ipv6Filter] {
        let actions: Vec<&str> = d.of(menu).map(|o| o.get("action").unwrap()).collect();
        assert_eq!(actions[0], "drop", "{menu}");
        assert!(actions[1..].iter().all(|a| *a == "accept"), "{menu}: {actions:?}");
    }
    let v6: Vec<&str> = d.of(Menu::Ipv6AddressList).map(|o| o.get("address").unwrap()).collect();
    for img in ["64:ff9b::a00:0/104", "64:ff9b::ac10:0/108", "64:ff9b::c0a8:0/112", "64:ff9b::7f00:0/104"] {
        assert!(v6.contains(&img), "{img} in {v6:?}");
    }
    // The IPv4 drop only concerns what comes out of the container.
    let drop4 = d.of(Menu::IpFilter).next().unwrap();
    assert_eq!(drop4.get("in-interface"), Some(BRIDGE));
    assert_eq!(drop4.get("dst-address-list"), Some("xlat-plat-default-nonglobal"));
}

#[test]
fn clat_without_nat_has_no_srcnat_and_needs_no_ipv4_address_for_it() {
    let mut cfg = clat_cfg();
    if let xlat_routeros::RoleSpec::Clat(c) = &mut cfg.spec {
        c.nat_to = None;
    }
    let d = desired(&cfg, &site()).unwrap();
    assert_eq!(d.of(Menu::IpNat).count(), 0);
    let mut s = site();
    s.container_v4 = None;
    let err = desired(&clat_cfg(), &s).unwrap_err().to_string();
    assert!(err.contains("IPv4 address"), "{err}");
}

#[test]
fn empty_router_plan_adds_everything_without_moves() {
    let cfg = clat_cfg();
    let d = desired(&cfg, &site()).unwrap();
    let p = plan(&cfg.tag().unwrap(), &d, &Snapshot::new());
    assert_eq!(p.counts(), (d.objects.len(), 0, 0, 0));
    assert!(p.changes.iter().all(|c| matches!(c, Change::Add { .. })));
}

#[test]
fn applied_state_plans_nothing() {
    for cfg in [clat_cfg(), plat_cfg()] {
        let tag = cfg.tag().unwrap();
        let d = desired(&cfg, &site()).unwrap();
        let mut snap = applied(&cfg);
        // Router spellings: booleans and list order differ, meaning does not.
        snap.extend(Menu::Ipv6Nd, [row("*99", &[("interface", "bridge"), ("pref64-prefixes", "64:ff9b::/96")])]);
        snap.extend(
            Menu::DhcpNetwork,
            [row("*98", &[("address", "192.168.88.0/24"), ("dhcp-option", "xlat-plat-default-v6only")])],
        );
        let p = plan(&tag, &d, &snap);
        assert!(p.is_empty(), "{tag}: {:#?}", p.cli_lines());
    }
}

#[test]
fn drift_is_repaired_and_strangers_left_alone() {
    let cfg = clat_cfg();
    let tag = cfg.tag().unwrap();
    let d = desired(&cfg, &site()).unwrap();
    let mut snap = applied(&cfg);
    // Our route got another gateway; a duplicate of ours; a stale rule of ours;
    // a stranger whose comment merely starts like ours.
    let mut routes: Vec<Attrs> = snap.rows(Menu::IpRoute).to_vec();
    routes[0].insert("gateway".into(), "172.17.0.9".into());
    let mut snap2 = Snapshot::new();
    for m in xlat_routeros::menu::OWNED_MENUS {
        if *m == Menu::IpRoute {
            snap2.extend(*m, routes.clone());
        } else if *m == Menu::IpFilter {
            let mut rows = snap.rows(*m).to_vec();
            rows.push(row(
                "*D1",
                &[("chain", "forward"), ("action", "accept"), ("comment", "xlat:clat:default lan-to-clat")],
            ));
            rows.push(row(
                "*D2",
                &[("chain", "forward"), ("action", "accept"), ("comment", "xlat:clat:default old-rule")],
            ));
            rows.push(row("*D3", &[("chain", "forward"), ("action", "drop"), ("comment", "xlat:clat:defaultX")]));
            snap2.extend(*m, rows);
        } else {
            snap2.extend(*m, snap.rows(*m).to_vec());
        }
    }
    snap = snap2;
    let p = plan(&tag, &d, &snap);
    let lines = p.cli_lines();
    assert!(
        lines.contains(
            &r#"/ip route set [find comment="xlat:clat:default" dst-address=0.0.0.0/0] gateway=172.17.0.2"#.to_owned()
        ),
        "{lines:#?}"
    );
    assert!(
        lines.contains(&r#"/ip firewall filter remove [find comment="xlat:clat:default old-rule"]"#.to_owned()),
        "{lines:#?}"
    );
    // The duplicate is removed by the selector of its own identity: both share it, so the id is what is removed.
    let removed: Vec<&str> = p
        .changes
        .iter()
        .filter_map(|c| match c {
            Change::Remove { id, .. } => Some(id.as_str()),
            _ => None,
        })
        .collect();
    assert!(removed.contains(&"*D1") && removed.contains(&"*D2"), "{removed:?}");
    // The stranger with a look-alike tag is never touched, although it is a drop: it is
    // the anchor ours must precede, and they already do.
    assert!(p.changes.iter().all(|c| !format!("{c:?}").contains("*D3") || matches!(c, Change::Move { .. })));
    assert_eq!(p.counts(), (0, 1, 2, 0), "{lines:#?}");
}

#[test]
fn moves_go_before_the_first_foreign_drop_or_reject_skipping_dynamic_rules() {
    let cfg = clat_cfg();
    let tag = cfg.tag().unwrap();
    let d = desired(&cfg, &site()).unwrap();
    let mut snap = Snapshot::new();
    snap.extend(
        Menu::IpFilter,
        [
            row("*1", &[("chain", "forward"), ("action", "drop"), ("dynamic", "true"), ("comment", "dyn")]),
            row("*2", &[("chain", "input"), ("action", "drop"), ("comment", "input drop")]),
            row("*3", &[("chain", "forward"), ("action", "accept"), ("comment", "user accept")]),
            row("*4", &[("chain", "forward"), ("action", "reject"), ("comment", "user reject")]),
            row("*5", &[("chain", "forward"), ("action", "drop"), ("comment", "user drop")]),
        ],
    );
    let p = plan(&tag, &d, &snap);
    let moves: Vec<String> =
        p.changes.iter().filter(|c| matches!(c, Change::Move { menu: Menu::IpFilter, .. })).map(Change::cli).collect();
    assert_eq!(moves.len(), 4, "{moves:#?}");
    assert_eq!(
        moves[0],
        r#"/ip firewall filter move [find comment="xlat:clat:default icmp-to-clat"] destination=[find comment="user reject"]"#
    );
    assert_eq!(
        moves[3],
        r#"/ip firewall filter move [find comment="xlat:clat:default lan-to-clat"] destination=[find comment="xlat:clat:default clat-to-lan"]"#
    );
    // A foreign rule without a unique comment is named by its id.
    let mut snap = Snapshot::new();
    snap.extend(
        Menu::IpFilter,
        [
            row("*7", &[("chain", "forward"), ("action", "drop")]),
            row("*8", &[("chain", "forward"), ("action", "drop")]),
        ],
    );
    let p = plan(&tag, &d, &snap);
    assert!(p.cli_lines().iter().any(|l| l.ends_with("destination=*7")), "{:#?}", p.cli_lines());
}

#[test]
fn removal_plan_undoes_edits_before_removing_ledgers() {
    let cfg = plat_cfg();
    let tag = cfg.tag().unwrap();
    let mut snap = applied(&cfg);
    snap.extend(
        Menu::Ipv6Nd,
        [row("*N", &[("interface", "bridge"), ("pref64-prefixes", "2001:db8:64::/96,64:ff9b::/96")])],
    );
    snap.extend(
        Menu::Ipv6AddressList,
        [row(
            "*L",
            &[
                ("list", "xlat-plat-default-ledger"),
                ("address", "64:ff9b::/96"),
                ("comment", "xlat:plat:default ledger /ipv6/nd interface=bridge pref64-prefixes+=64:ff9b::/96"),
            ],
        )],
    );
    let p = plan(&tag, &Default::default(), &snap);
    let lines = p.cli_lines();
    assert_eq!(lines[0], "/ipv6 nd set [find interface=bridge] pref64-prefixes=2001:db8:64::/96");
    let ledger_removed = lines.iter().position(|l| l.contains("ledger")).unwrap();
    assert!(ledger_removed > 0, "{lines:#?}");
    assert!(p.changes.iter().skip(1).all(|c| matches!(c, Change::Remove { .. })), "{lines:#?}");
}
