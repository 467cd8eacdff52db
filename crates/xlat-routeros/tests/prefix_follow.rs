//! A daemon's view of an automatic CLAT prefix: `SelfProvision::spawn`
//! publishes the prefix carved from the DHCPv6-PD pool
//! (`Running::clat_prefix`), and a new delegated prefix in `/ipv6/pool`
//! shows up there at the next re-check, with the router's route following.

mod common;

use std::time::Duration;

use common::*;
use ipnetwork::Ipv6Network;
use routeros_api::{ClientOptions, RouterOs};
use xlat_routeros::selfprov::Connection;
use xlat_routeros::{SelfProvision, SelfProvisionSettings};

async fn wait_for(rx: &mut tokio::sync::watch::Receiver<Option<Ipv6Network>>, want: &str) {
    let want: Ipv6Network = want.parse().unwrap();
    bounded(rx.wait_for(|p| *p == Some(want))).await.expect("provisioning task alive");
}

#[tokio::test]
async fn the_daemon_sees_the_new_delegated_prefix_at_the_next_recheck() {
    let r = router().await;
    let settings = SelfProvisionSettings {
        connection: Connection { url: r.api_url(), credentials: r.credentials(), options: ClientOptions::default() },
        common: common(),
        recheck: Some(Duration::from_millis(100)),
        remove_on_exit: true,
    };
    let running = SelfProvision::new(settings).spawn(clat_pool_cfg().spec);
    let mut rx = running.clat_prefix();
    // First look: the last /64 of the seeded pool 2001:db8:1200::/56.
    wait_for(&mut rx, "2001:db8:1200:ff::/64").await;
    let route = |r: &routeros_api::testing::TestRouter| tagged(r, "/ipv6/route", "xlat:clat:default");
    assert_eq!(route(&r)[0]["dst-address"], "2001:db8:1200:ff::/64");

    // The ISP delegates another prefix.
    let client = clients(&r).await.remove(0).1;
    let pool = r.rows("/ipv6/pool")[0][".id"].clone();
    client.set("/ipv6/pool", &pool, &[("prefix", "2001:db8:3400::/56")]).await.unwrap();
    wait_for(&mut rx, "2001:db8:3400:ff::/64").await;
    bounded(async {
        while route(&r).first().map(|x| x["dst-address"].clone()).as_deref() != Some("2001:db8:3400:ff::/64") {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;

    bounded(running.shutdown()).await;
    assert!(route(&r).is_empty(), "removed on shutdown");
}
