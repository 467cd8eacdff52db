//! Provisioning against the in-repo fake RouterOS, over both transports
//! (classic API and REST): apply, idempotence, user objects, ordering
//! before the final drop rules, removal, DHCPv6-PD prefix changes, PREF64
//! and option 108 edits of foreign items.
//!
//! RouterOS itself cannot run here: the API is tested against an in-repo
//! server that speaks the real wire protocol, with field names from
//! RouterOS documentation.

mod common;

use common::*;
use routeros_api::testing::TestRouter;
use routeros_api::{AnyClient, RouterOs};
use xlat_routeros::{desired, plan, resolve, Provisioner, RoleConfig, Snapshot, Tag};

const CLAT_TAG: &str = "xlat:clat:default";
const PLAT_TAG: &str = "xlat:plat:default";

/// Expected number of objects of ours per menu.
async fn expected_counts(cfg: &RoleConfig, client: &AnyClient) -> Vec<(&'static str, usize)> {
    let site = bounded(resolve(client, cfg)).await.unwrap();
    let d = desired(cfg, &site).unwrap();
    MENUS.iter().map(|m| (*m, d.objects.iter().filter(|o| o.menu.path() == *m).count())).collect()
}

async fn apply(client: &AnyClient, cfg: &RoleConfig) -> (usize, usize) {
    let counting = Counting::new(client.clone());
    let prov = Provisioner::new(counting.clone(), cfg.tag().unwrap());
    let report = bounded(prov.apply(cfg)).await.expect("apply");
    assert_eq!(report.written, counting.writes(), "the report counts the writes the router saw");
    (counting.writes(), counting.reads())
}

async fn remove(client: &AnyClient, tag: Tag) -> usize {
    let counting = Counting::new(client.clone());
    bounded(Provisioner::new(counting.clone(), tag).remove()).await.expect("remove");
    counting.writes()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clat_apply_is_exact_idempotent_and_removable_over_both_transports() {
    for transport in ["api", "rest"] {
        let r = router().await;
        let before = dump(&r);
        let client = clients(&r).await.into_iter().find(|(n, _)| *n == transport).unwrap().1;
        let cfg = clat_cfg();

        // First apply: exactly the desired objects, all tagged.
        let (writes, _) = apply(&client, &cfg).await;
        assert!(writes > 0);
        for (menu, n) in expected_counts(&cfg, &client).await {
            assert_eq!(tagged(&r, menu, CLAT_TAG).len(), n, "{transport}: objects of ours in {menu}");
        }
        let routes = tagged(&r, "/ip/route", CLAT_TAG);
        assert_eq!(routes[0]["dst-address"], "0.0.0.0/0");
        assert_eq!(routes[0]["gateway"], CT_V4);
        assert_eq!(routes[0]["comment"], CLAT_TAG);
        let routes6 = tagged(&r, "/ipv6/route", CLAT_TAG);
        assert_eq!(
            (routes6[0]["dst-address"].as_str(), routes6[0]["gateway"].as_str()),
            ("2001:db8:aaaa::1/128", CT_V6)
        );
        let nat = tagged(&r, "/ip/firewall/nat", CLAT_TAG);
        assert_eq!(nat[0]["to-addresses"], "192.0.0.1");
        assert_eq!(nat[0]["out-interface"], BRIDGE, "the veth is in a bridge: rules name the bridge");
        assert_eq!(nat[0]["dst-address"], format!("!{CT_V4}"));

        // Our forward rules sit before the first foreign drop of their chain.
        for (menu, drop) in
            [("/ip/firewall/filter", "defconf: drop invalid"), ("/ipv6/firewall/filter", "defconf: drop invalid")]
        {
            let d = position(&r, menu, drop);
            for row in tagged(&r, menu, CLAT_TAG) {
                let p = position(&r, menu, &row["comment"]);
                assert!(p < d, "{transport}: {} at {p} must precede {drop:?} at {d}", row["comment"]);
            }
        }

        // Second apply: zero writes, identical router.
        let after_first = dump(&r);
        let requests_before = r.rest_requests();
        let (writes, reads) = apply(&client, &cfg).await;
        assert_eq!(writes, 0, "{transport}: a second apply writes nothing");
        assert!(reads > 0);
        if transport == "rest" {
            // The server's own count: one GET per read, no other request.
            assert_eq!(r.rest_requests() - requests_before, reads, "rest: only reads reached the router");
        }
        assert_eq!(dump(&r), after_first, "{transport}: nothing changed");

        // User objects: same items, same properties, same relative order.
        for (menu, rows) in &before {
            let now: Vec<_> = r
                .rows(menu)
                .into_iter()
                .filter(|row| {
                    !row.get("comment").is_some_and(|c| c == CLAT_TAG || c.starts_with(&format!("{CLAT_TAG} ")))
                })
                .collect();
            assert_eq!(&now, rows, "{transport}: user items of {menu} untouched");
        }

        // Remove: exactly ours go, the router is as before.
        assert!(remove(&client, cfg.tag().unwrap()).await > 0);
        assert_eq!(dump(&r), before, "{transport}: remove leaves the router as it was");
        assert_eq!(remove(&client, cfg.tag().unwrap()).await, 0, "{transport}: nothing left to remove");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rules_are_moved_back_before_a_new_final_drop_and_reordered() {
    for transport in ["api", "rest"] {
        let r = router().await;
        let client = clients(&r).await.into_iter().find(|(n, _)| *n == transport).unwrap().1;
        let cfg = clat_cfg();
        apply(&client, &cfg).await;
        // The operator adds a drop-all at the top of forward; ours must go before it.
        let f = "/ip/firewall/filter";
        let id = r.seed(f, &[("chain", "forward"), ("action", "drop"), ("comment", "user: drop all")]);
        let first = r.rows(f)[0][".id"].clone();
        client.move_before(f, &id, &first).await.unwrap();
        let (writes, _) = apply(&client, &cfg).await;
        let ours = tagged(&r, f, CLAT_TAG).len();
        assert_eq!(writes, ours, "{transport}: each rule of ours moved once");
        let d = position(&r, f, "user: drop all");
        for row in tagged(&r, f, CLAT_TAG) {
            assert!(position(&r, f, &row["comment"]) < d, "{transport}");
        }
        // Our relative order is the desired one.
        let order: Vec<String> = tagged(&r, f, CLAT_TAG).iter().map(|r| r["comment"].clone()).collect();
        assert_eq!(
            order,
            ["lan-to-clat", "clat-to-lan", "icmp-from-clat", "icmp-to-clat"].map(|s| format!("{CLAT_TAG} {s}"))
        );
        assert_eq!(apply(&client, &cfg).await.0, 0, "{transport}: stable after the move");
        // A user rule without our tag is never moved: the user drop is still first in forward.
        let forward: Vec<String> =
            r.rows(f).iter().filter(|x| x["chain"] == "forward").map(|x| x["comment"].clone()).collect();
        assert_eq!(forward.iter().position(|c| c == "user: drop all").unwrap(), 4, "{forward:?}");
        // Drift: the operator edits one of our rules and deletes another; apply repairs both.
        let lan = tagged(&r, f, &format!("{CLAT_TAG} lan-to-clat"))[0][".id"].clone();
        client.set(f, &lan, &[("out-interface", "ether9")]).await.unwrap();
        let icmp = tagged(&r, f, &format!("{CLAT_TAG} icmp-to-clat"))[0][".id"].clone();
        client.remove(f, &icmp).await.unwrap();
        let (writes, _) = apply(&client, &cfg).await;
        assert_eq!(writes, 3, "{transport}: one set, one add, one move");
        assert_eq!(tagged(&r, f, &format!("{CLAT_TAG} lan-to-clat"))[0]["out-interface"], BRIDGE);
        assert!(position(&r, f, &format!("{CLAT_TAG} icmp-to-clat")) < position(&r, f, "user: drop all"));
        assert_eq!(apply(&client, &cfg).await.0, 0);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pd_prefix_change_reprovisions() {
    for transport in ["api", "rest"] {
        let r = router().await;
        let client = clients(&r).await.into_iter().find(|(n, _)| *n == transport).unwrap().1;
        let cfg = clat_pool_cfg();
        apply(&client, &cfg).await;
        let routes6 = tagged(&r, "/ipv6/route", CLAT_TAG);
        assert_eq!(routes6[0]["dst-address"], "2001:db8:1200:ff::/64", "{transport}: last /64 of the pool");
        let out = tagged(&r, "/ipv6/firewall/filter", &format!("{CLAT_TAG} clat-to-wan"));
        assert_eq!(out[0]["src-address"], "2001:db8:1200:ff::/64");
        assert_eq!(tagged(&r, "/ip/firewall/mangle", CLAT_TAG).len(), 2);
        assert_eq!(tagged(&r, "/ipv6/firewall/mangle", CLAT_TAG)[0]["new-mss"], "1440");
        assert_eq!(apply(&client, &cfg).await.0, 0);

        // The ISP delegates another prefix.
        let pool = r.rows("/ipv6/pool")[0][".id"].clone();
        client.set("/ipv6/pool", &pool, &[("prefix", "2001:db8:3400::/56")]).await.unwrap();
        let (writes, _) = apply(&client, &cfg).await;
        // Route: remove + add; the two IPv6 rules naming the prefix: set.
        assert_eq!(writes, 4, "{transport}");
        let routes6 = tagged(&r, "/ipv6/route", CLAT_TAG);
        assert_eq!(routes6.len(), 1);
        assert_eq!(routes6[0]["dst-address"], "2001:db8:3400:ff::/64");
        let out = tagged(&r, "/ipv6/firewall/filter", &format!("{CLAT_TAG} clat-to-wan"));
        assert_eq!(out[0]["src-address"], "2001:db8:3400:ff::/64");
        let back = tagged(&r, "/ipv6/firewall/filter", &format!("{CLAT_TAG} wan-to-clat"));
        assert_eq!(back[0]["dst-address"], "2001:db8:3400:ff::/64");
        assert_eq!(apply(&client, &cfg).await.0, 0);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pd_change_through_self_provision_reports_it() {
    use xlat_routeros::selfprov::{Connection, SelfProvisionSettings};
    let r = router().await;
    let cfg = clat_pool_cfg();
    let settings = SelfProvisionSettings {
        connection: Connection { url: r.rest_url(), credentials: r.credentials(), options: Default::default() },
        common: cfg.common.clone(),
        recheck: None,
        remove_on_exit: false,
    };
    let prov = xlat_routeros::SelfProvision::new(settings);
    let first = bounded(prov.provision(&cfg.spec)).await.unwrap();
    assert!(first.prefix_change.is_none(), "the first look is not a change");
    let client = clients(&r).await.remove(0).1;
    let pool = r.rows("/ipv6/pool")[0][".id"].clone();
    client.set("/ipv6/pool", &pool, &[("prefix", "2001:db8:3400::/56")]).await.unwrap();
    let second = bounded(prov.provision(&cfg.spec)).await.unwrap();
    let ch = second.prefix_change.expect("change reported");
    assert_eq!(ch.old.unwrap().to_string(), "2001:db8:1200:ff::/64");
    assert_eq!(ch.new.to_string(), "2001:db8:3400:ff::/64");
    assert!(bounded(prov.provision(&cfg.spec)).await.unwrap().prefix_change.is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plat_apply_edits_foreign_lists_with_a_ledger_and_remove_restores() {
    for transport in ["api", "rest"] {
        let r = router().await;
        let before = dump(&r);
        let client = clients(&r).await.into_iter().find(|(n, _)| *n == transport).unwrap().1;
        let cfg = plat_cfg();
        let (writes, _) = apply(&client, &cfg).await;
        assert!(writes > 0);

        // PREF64 appended to the bridge's ND entry, the operator's prefix kept.
        let nd = r.rows("/ipv6/nd");
        assert_eq!(nd[1]["pref64"], "2001:db8:64::/96,64:ff9b::/96", "{transport}");
        assert_eq!(nd[0]["pref64"], "", "the 'all' entry is not ours to change");
        assert_eq!(nd[1]["advertise-dns"], "yes");
        // Option 108 created and attached; the user's option kept.
        let opt = tagged(&r, "/ip/dhcp-server/option", PLAT_TAG);
        assert_eq!((opt[0]["code"].as_str(), opt[0]["value"].as_str()), ("108", "0x00000708"));
        assert_eq!(opt[0]["name"], "xlat-plat-default-v6only");
        assert_eq!(r.rows("/ip/dhcp-server/network")[0]["dhcp-option"], "user-opt,xlat-plat-default-v6only");
        // Ledger entries record both edits.
        let ledger: Vec<_> = r
            .rows("/ipv6/firewall/address-list")
            .into_iter()
            .chain(r.rows("/ip/firewall/address-list"))
            .filter(|x| x["list"] == "xlat-plat-default-ledger")
            .map(|x| x["comment"].clone())
            .collect();
        assert_eq!(
            ledger,
            [
                "xlat:plat:default ledger /ipv6/nd interface=bridge pref64+=64:ff9b::/96",
                "xlat:plat:default ledger /ip/dhcp-server/network address=192.168.88.0/24 dhcp-option+=xlat-plat-default-v6only",
            ]
        );
        // Non-global lists: 15 entries each family; the IPv6 one holds pool6 images.
        let v6list: Vec<String> = r
            .rows("/ipv6/firewall/address-list")
            .iter()
            .filter(|x| x["list"] == "xlat-plat-default-nonglobal")
            .map(|x| x["address"].clone())
            .collect();
        assert_eq!(v6list.len(), 15);
        assert!(v6list.contains(&"64:ff9b::a00:0/104".to_owned()), "{v6list:?}");
        assert!(v6list.contains(&"64:ff9b::c0a8:0/112".to_owned()), "{v6list:?}");
        // The IPv6 drop precedes our accepts, and all precede the final drop.
        let f6 = "/ipv6/firewall/filter";
        let drop = position(&r, f6, &format!("{PLAT_TAG} drop-pool6-nonglobal"));
        let accept = position(&r, f6, &format!("{PLAT_TAG} clients-to-plat"));
        assert!(drop < accept && accept < position(&r, f6, "defconf: drop invalid"), "{transport}");
        let f4 = "/ip/firewall/filter";
        assert!(
            position(&r, f4, &format!("{PLAT_TAG} drop-plat-to-nonglobal"))
                < position(&r, f4, &format!("{PLAT_TAG} plat-to-wan"))
        );

        assert_eq!(apply(&client, &cfg).await.0, 0, "{transport}: idempotent with edits");

        // Remove: the lists get their old values back, the ledger goes.
        remove(&client, cfg.tag().unwrap()).await;
        assert_eq!(dump(&r), before, "{transport}: remove restores the foreign items exactly");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_element_the_operator_put_there_is_never_removed() {
    let r = router().await;
    let client = clients(&r).await.remove(1).1; // REST
                                                // The operator already advertises pool6 on the bridge.
    let nd = r.rows("/ipv6/nd")[1][".id"].clone();
    client.set("/ipv6/nd", &nd, &[("pref64", "64:ff9b::/96")]).await.unwrap();
    let cfg = plat_cfg();
    apply(&client, &cfg).await;
    assert_eq!(r.rows("/ipv6/nd")[1]["pref64"], "64:ff9b::/96", "nothing to add");
    let v6ledger =
        r.rows("/ipv6/firewall/address-list").into_iter().filter(|x| x["list"] == "xlat-plat-default-ledger").count();
    assert_eq!(v6ledger, 0, "nothing recorded: the element is the operator's");
    remove(&client, cfg.tag().unwrap()).await;
    assert_eq!(r.rows("/ipv6/nd")[1]["pref64"], "64:ff9b::/96", "the operator's element stays");

    // And when we added it, then the configuration stops asking for PREF64:
    // the element is withdrawn, the list left empty.
    client.set("/ipv6/nd", &nd, &[("pref64", "")]).await.unwrap();
    apply(&client, &cfg).await;
    assert_eq!(r.rows("/ipv6/nd")[1]["pref64"], "64:ff9b::/96");
    let mut no_pref64 = cfg.clone();
    if let xlat_routeros::RoleSpec::Plat(p) = &mut no_pref64.spec {
        p.pref64_interface = None;
    }
    let (writes, _) = apply(&client, &no_pref64).await;
    assert_eq!(writes, 2, "undo the element, remove its ledger entry");
    assert_eq!(r.rows("/ipv6/nd")[1]["pref64"], "");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn routers_before_7_21_get_pref64_prefixes() {
    // The manual's name for the ND property, as older 7.x routers show it.
    let r = TestRouter::builder().menu("/ip/dhcp-server/network").start().await.unwrap();
    r.seed("/interface/veth", &[("name", VETH), ("address", &format!("{CT_V4}/24,{CT_V6}/64"))]);
    r.seed("/ipv6/nd", &[("interface", "bridge"), ("pref64-prefixes", "unspecified")]);
    let before = dump(&r);
    let client = clients(&r).await.remove(0).1;
    let cfg = plat_cfg();
    apply(&client, &cfg).await;
    let nd = &r.rows("/ipv6/nd")[0];
    assert_eq!(nd["pref64-prefixes"], "64:ff9b::/96");
    assert!(!nd.contains_key("pref64"), "the name the router uses, not the other");
    assert_eq!(apply(&client, &cfg).await.0, 0);
    remove(&client, cfg.tag().unwrap()).await;
    assert_eq!(dump(&r), before, "back to unspecified");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_nd_entry_is_a_note_not_a_change() {
    let r = TestRouter::builder().menu("/ip/dhcp-server/network").start().await.unwrap();
    r.seed("/interface/veth", &[("name", VETH), ("address", &format!("{CT_V4}/24,{CT_V6}/64"))]);
    let client = clients(&r).await.remove(0).1;
    let cfg = plat_cfg();
    let prov = Provisioner::new(client.clone(), cfg.tag().unwrap());
    let report = bounded(prov.apply(&cfg)).await.unwrap();
    assert!(
        report.plan.notes.iter().any(|n| n.contains("/ipv6/nd") && n.contains("interface=bridge")),
        "{:?}",
        report.plan.notes
    );
    assert!(report.plan.notes.iter().any(|n| n.contains("/ip/dhcp-server/network")), "{:?}", report.plan.notes);
    assert!(r.rows("/ipv6/nd").is_empty(), "no ND entry is created");
    let ledger =
        r.rows("/ipv6/firewall/address-list").into_iter().filter(|x| x["list"] == "xlat-plat-default-ledger").count();
    assert_eq!(ledger, 0);
    // Without a bridge port the rules name the veth itself.
    assert_eq!(tagged(&r, "/ip/firewall/filter", &format!("{PLAT_TAG} plat-to-wan"))[0]["in-interface"], VETH);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_and_roles_do_not_touch_each_other() {
    let r = router().await;
    let client = clients(&r).await.remove(0).1;
    let clat = clat_cfg();
    let mut clat2 = clat_cfg();
    clat2.common.instance = "second".into();
    if let xlat_routeros::RoleSpec::Clat(c) = &mut clat2.spec {
        c.routes_v4 = vec!["198.51.100.0/24".parse().unwrap()];
        c.prefix = xlat_routeros::ClatPrefix::Static(vec!["2001:db8:bbbb::1/128".parse().unwrap()]);
    }
    let plat = plat_cfg();
    apply(&client, &clat).await;
    apply(&client, &clat2).await;
    apply(&client, &plat).await;
    for cfg in [&clat, &clat2, &plat] {
        assert_eq!(apply(&client, cfg).await.0, 0, "{}", cfg.tag().unwrap());
    }
    let all = dump(&r);
    remove(&client, clat2.tag().unwrap()).await;
    assert!(tagged(&r, "/ip/route", "xlat:clat:second").is_empty());
    assert_eq!(tagged(&r, "/ip/route", CLAT_TAG).len(), 1);
    assert_eq!(tagged(&r, "/ip/route", PLAT_TAG).len(), 1);
    for cfg in [&clat, &plat] {
        assert_eq!(apply(&client, cfg).await.0, 0, "removing one instance leaves the others in sync");
    }
    assert_ne!(dump(&r), all);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_from_a_snapshot_equals_plan_from_the_router() {
    // The pure planner fed the router's rows gives the same plan as the
    // provisioner's own read.
    let r = router().await;
    let client = clients(&r).await.remove(0).1;
    let cfg = clat_cfg();
    let tag = cfg.tag().unwrap();
    let prov = Provisioner::new(client.clone(), tag.clone());
    let prepared = bounded(prov.prepare(&cfg)).await.unwrap();
    let mut snap = Snapshot::new();
    for m in xlat_routeros::menu::OWNED_MENUS {
        snap.extend(
            *m,
            r.rows(m.path()).into_iter().filter(|row| {
                // What the provisioner reads: routes by tag, address lists by our list names.
                match m {
                    xlat_routeros::Menu::IpRoute | xlat_routeros::Menu::Ipv6Route => {
                        row.get("comment").is_some_and(|c| c == CLAT_TAG)
                    }
                    xlat_routeros::Menu::IpAddressList | xlat_routeros::Menu::Ipv6AddressList => false,
                    _ => true,
                }
            }),
        );
    }
    assert_eq!(plan(&tag, &prepared.desired, &snap), prepared.plan);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn self_provision_rechecks_and_removes_on_exit() {
    use std::time::Duration;
    use xlat_routeros::selfprov::{Connection, SelfProvisionSettings};
    let r = router().await;
    let before = dump(&r);
    let cfg = clat_cfg();
    let settings = SelfProvisionSettings {
        connection: Connection { url: r.api_url(), credentials: r.credentials(), options: Default::default() },
        common: cfg.common.clone(),
        recheck: Some(Duration::from_millis(100)),
        remove_on_exit: true,
    };
    let running = xlat_routeros::SelfProvision::new(settings).spawn(cfg.spec.clone());
    let wait_for = |want: usize| {
        let r = &r;
        async move {
            while tagged(r, "/ip/route", CLAT_TAG).len() != want {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    };
    bounded(wait_for(1)).await;
    // The operator deletes our route: the next re-check puts it back.
    let client = clients(&r).await.remove(0).1;
    let id = tagged(&r, "/ip/route", CLAT_TAG)[0][".id"].clone();
    client.remove("/ip/route", &id).await.unwrap();
    bounded(wait_for(1)).await;
    assert_ne!(tagged(&r, "/ip/route", CLAT_TAG)[0][".id"], id, "re-created");
    bounded(running.shutdown()).await;
    assert_eq!(dump(&r), before, "removed on exit");
}
