//! The `xlat-routeros` binary against the fake router (classic API and
//! REST URLs): dry-run output, apply, check, remove, exit codes.

mod common;

use common::*;
use routeros_api::testing::TestRouter;
use tokio::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_xlat-routeros");

struct Run {
    code: i32,
    stdout: Vec<String>,
    stderr: String,
}

/// Runs the binary with a clean environment plus `env`.
async fn run(args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut cmd = Command::new(BIN);
    cmd.env_clear().args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = bounded(cmd.output()).await.expect("run xlat-routeros");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).lines().map(str::to_owned).collect(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn creds(r: &TestRouter) -> Vec<(&'static str, String)> {
    let c = r.credentials();
    vec![("XLAT_ROUTEROS_USER", c.user().to_owned()), ("XLAT_ROUTEROS_PASSWORD", c.password().to_owned())]
}

async fn run_on(r: &TestRouter, url: &str, args: &[&str]) -> Run {
    let mut env: Vec<(&str, String)> = creds(r);
    env.push(("XLAT_ROUTEROS_URL", url.to_owned()));
    env.push(("XLAT_ROUTEROS_VETH", VETH.to_owned()));
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    run(args, &env).await
}

#[tokio::test]
async fn offline_dry_run_prints_console_lines() {
    let out = run(
        &[
            "--routeros-interface",
            "br-xlat",
            "--routeros-container-ipv4",
            "172.17.0.2",
            "--routeros-container-ipv6",
            "fd00:172:17::2",
            "apply",
            "--dry-run",
            "--offline",
            "clat",
            "--clat-ipv6",
            "2001:db8:aaaa::1",
        ],
        &[],
    )
    .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let expected = [
        r#"/ip route add dst-address=0.0.0.0/0 gateway=172.17.0.2 comment="xlat:clat:default""#,
        r#"/ipv6 route add dst-address=2001:db8:aaaa::1/128 gateway=fd00:172:17::2 comment="xlat:clat:default""#,
        r#"/ip firewall filter add chain=forward action=accept in-interface-list=LAN out-interface=br-xlat comment="xlat:clat:default lan-to-clat""#,
        r#"/ip firewall filter add chain=forward action=accept connection-state=established,related in-interface=br-xlat out-interface-list=LAN comment="xlat:clat:default clat-to-lan""#,
        r#"/ip firewall filter add chain=forward action=accept protocol=icmp in-interface=br-xlat comment="xlat:clat:default icmp-from-clat""#,
        r#"/ip firewall filter add chain=forward action=accept protocol=icmp out-interface=br-xlat comment="xlat:clat:default icmp-to-clat""#,
        r#"/ipv6 firewall filter add chain=forward action=accept src-address=2001:db8:aaaa::1/128 in-interface=br-xlat out-interface-list=WAN comment="xlat:clat:default clat-to-wan""#,
        r#"/ipv6 firewall filter add chain=forward action=accept connection-state=established,related dst-address=2001:db8:aaaa::1/128 in-interface-list=WAN out-interface=br-xlat comment="xlat:clat:default wan-to-clat""#,
        r#"/ipv6 firewall filter add chain=forward action=accept protocol=icmpv6 in-interface=br-xlat comment="xlat:clat:default icmpv6-from-clat""#,
        r#"/ipv6 firewall filter add chain=forward action=accept protocol=icmpv6 out-interface=br-xlat comment="xlat:clat:default icmpv6-to-clat""#,
        r#"/ip firewall nat add chain=srcnat action=src-nat out-interface=br-xlat dst-address=!172.17.0.2 to-addresses=192.0.0.1 comment="xlat:clat:default srcnat-to-clat""#,
        "# 11 changes planned, not applied (offline) (11 add, 0 set, 0 remove, 0 move)",
    ];
    assert_eq!(out.stdout, expected);
}

#[tokio::test]
async fn dry_run_apply_check_remove_against_the_router() {
    let r = router().await;
    let before = dump(&r);
    for url in [r.api_url(), r.rest_url()] {
        // Dry run: adds, then moves before the default configuration's drop, nothing written.
        let out = run_on(&r, &url, &["apply", "--dry-run", "clat", "--clat-ipv6", "2001:db8:aaaa::1"]).await;
        assert_eq!(out.code, 0, "{url}: {}", out.stderr);
        assert_eq!(dump(&r), before, "{url}: a dry run writes nothing");
        assert!(out.stdout.iter().any(|l| l.starts_with("/ip route add dst-address=0.0.0.0/0 gateway=172.17.0.2 ")));
        assert!(
            out.stdout.contains(
                &r#"/ip firewall filter move [find comment="xlat:clat:default icmp-to-clat"] destination=[find comment="defconf: drop invalid"]"#
                    .to_owned()
            ),
            "{:#?}",
            out.stdout
        );
        assert!(out.stdout.last().unwrap().contains("dry run"), "{:?}", out.stdout.last());

        // Check before apply: differences, exit 3.
        let out = run_on(&r, &url, &["check", "clat", "--clat-ipv6", "2001:db8:aaaa::1"]).await;
        assert_eq!(out.code, 3, "{url}: {}", out.stderr);

        // Apply, then check: in sync.
        let out = run_on(&r, &url, &["apply", "clat", "--clat-ipv6", "2001:db8:aaaa::1"]).await;
        assert_eq!(out.code, 0, "{url}: {}", out.stderr);
        assert_eq!(out.stdout.last().unwrap(), "# 19 changes applied (11 add, 0 set, 0 remove, 8 move)", "{url}");
        let out = run_on(&r, &url, &["check", "clat", "--clat-ipv6", "2001:db8:aaaa::1"]).await;
        assert_eq!((out.code, out.stdout.clone()), (0, vec!["# in sync: nothing to change".to_owned()]), "{url}");
        let out = run_on(&r, &url, &["apply", "clat", "--clat-ipv6", "2001:db8:aaaa::1"]).await;
        assert_eq!(out.stdout, ["# in sync: nothing to change"], "{url}: second apply");

        // Remove: dry run lists our items; then the router is as before.
        let out = run_on(&r, &url, &["remove", "--dry-run", "clat"]).await;
        assert_eq!(out.code, 0);
        assert!(
            out.stdout
                .iter()
                .any(|l| l == r#"/ip route remove [find comment="xlat:clat:default" dst-address=0.0.0.0/0]"#),
            "{:#?}",
            out.stdout
        );
        assert!(out
            .stdout
            .iter()
            .all(|l| l.starts_with('#') || l.contains(" remove [find comment=\"xlat:clat:default")));
        let out = run_on(&r, &url, &["remove", "clat"]).await;
        assert_eq!(out.code, 0, "{}", out.stderr);
        assert_eq!(dump(&r), before, "{url}: remove restores the router");
    }
}

#[tokio::test]
async fn plat_apply_with_all_options() {
    let r = router().await;
    let before = dump(&r);
    let args = [
        "apply",
        "plat",
        "--pool6",
        "64:ff9b::/96",
        "--pool4",
        "198.51.100.0/24",
        "--routeros-pref64-interface",
        "bridge",
        "--routeros-v6only-wait",
        "default",
        "--routeros-dhcp-networks",
        "192.168.88.0/24",
    ];
    let out = run_on(&r, &r.rest_url(), &args).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout.contains(&r#"/ipv6 nd set [find interface=bridge] pref64=2001:db8:64::/96,64:ff9b::/96"#.to_owned()),
        "{:#?}",
        out.stdout
    );
    assert!(out
        .stdout
        .iter()
        .any(|l| l.starts_with("/ip dhcp-server option add name=xlat-plat-default-v6only code=108 value=0x00000708 ")));
    let out = run_on(&r, &r.api_url(), &args).await;
    assert_eq!(out.stdout, ["# in sync: nothing to change"]);
    let out = run_on(&r, &r.api_url(), &["remove", "plat"]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(dump(&r), before);
}

#[tokio::test]
async fn exit_codes() {
    // A bad setting: 2, one line naming it.
    let out =
        run(&["--routeros-url", "ftp://x", "apply", "clat", "--clat-ipv6", "::1"], &[("XLAT_ROUTEROS_USER", "u")])
            .await;
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("--routeros-url (XLAT_ROUTEROS_URL)"), "{}", out.stderr);
    assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
    let out = run(
        &[
            "--routeros-interface",
            "x",
            "apply",
            "--dry-run",
            "--offline",
            "plat",
            "--pool6",
            "64:ff9b::/95",
            "--pool4",
            "1.2.3.0/24",
        ],
        &[],
    )
    .await;
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("--pool6 (XLAT_POOL6)"), "{}", out.stderr);
    // Wrong password: 1, and the password is not printed.
    let r = router().await;
    let out = run(
        &["--routeros-url", &r.api_url(), "--routeros-veth", VETH, "apply", "clat", "--clat-ipv6", "2001:db8::1"],
        &[("XLAT_ROUTEROS_USER", r.credentials().user()), ("XLAT_ROUTEROS_PASSWORD", "wrong-hunter2")],
    )
    .await;
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("login refused"), "{}", out.stderr);
    assert!(!out.stderr.contains("hunter2"), "{}", out.stderr);
    // A veth that does not exist: 1, naming it.
    let out =
        run_on(&r, &r.api_url(), &["--routeros-veth", "nope", "apply", "clat", "--clat-ipv6", "2001:db8::1"]).await;
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("\"nope\""), "{}", out.stderr);
}
