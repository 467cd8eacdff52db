//! Both transports against the fake router, over real sockets on 127.0.0.1.
//!
//! Every wait is bounded by [`LIMIT`]; nothing sleeps to synchronise: the
//! fake router's `hold` / `wait_held` / `release_held` order the events.

use std::future::Future;
use std::time::Duration;

use routeros_api::proto::{Command, Decoder, ProtoError, Reply, ReplySentence};
use routeros_api::testing::{TestRouter, BAD_LOGIN_MESSAGE, QUIT_REASON};
use routeros_api::{
    AnyClient, ApiError, Attrs, Client, ClientOptions, Credentials, Endpoint, RestClient, RouterOs, TlsOptions,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// Upper bound of every wait in these tests.
const LIMIT: Duration = Duration::from_secs(20);
/// Short command timeout for the timeout tests.
const SHORT: Duration = Duration::from_millis(200);

async fn bounded<T>(f: impl Future<Output = T>) -> T {
    tokio::time::timeout(LIMIT, f).await.expect("test step took longer than its bound")
}

async fn api(router: &TestRouter) -> Client {
    bounded(Client::connect(&router.api_endpoint(), &router.credentials(), &ClientOptions::default()))
        .await
        .expect("login")
}

async fn rest(router: &TestRouter) -> RestClient {
    bounded(RestClient::connect(&router.rest_endpoint(), &router.credentials(), &ClientOptions::default()))
        .await
        .expect("REST connect")
}

fn comments(rows: &[Attrs]) -> Vec<&str> {
    rows.iter().map(|r| r.get("comment").map_or("", String::as_str)).collect()
}

// ---------------------------------------------------------------- classic API

#[tokio::test]
async fn api_login_ok() {
    let router = TestRouter::start().await.unwrap();
    let client = api(&router).await;
    assert_eq!(router.api_logins(), 1);
    assert!(bounded(client.run("/ip/route/print", &[], &[])).await.unwrap().is_empty());
    assert!(!client.is_closed());
}

#[tokio::test]
async fn api_login_refused() {
    let router = TestRouter::start().await.unwrap();
    let bad = Credentials::new(router.credentials().user(), "wrong");
    let err = bounded(Client::connect(&router.api_endpoint(), &bad, &ClientOptions::default())).await.unwrap_err();
    assert!(matches!(&err, ApiError::Login { message } if message == BAD_LOGIN_MESSAGE), "{err:?}");
    assert_eq!(router.api_logins(), 0);
}

#[tokio::test]
async fn api_legacy_login_is_reported() {
    let router = TestRouter::builder().legacy_login(true).start().await.unwrap();
    let err = bounded(Client::connect(&router.api_endpoint(), &router.credentials(), &ClientOptions::default()))
        .await
        .unwrap_err();
    assert!(matches!(err, ApiError::LegacyLogin), "{err:?}");
    assert!(err.to_string().contains("6.43"), "{err}");
}

#[tokio::test]
async fn api_traps_are_mapped() {
    let router = TestRouter::start().await.unwrap();
    let client = api(&router).await;
    let err = bounded(client.run("/ip/route/set", &[(".id", "*99"), ("comment", "x")], &[])).await.unwrap_err();
    assert!(matches!(&err, ApiError::Trap { category: Some(0), message } if message == "no such item (4)"), "{err:?}");
    let err = bounded(client.run("/ip/route/frobnicate", &[], &[])).await.unwrap_err();
    assert!(matches!(&err, ApiError::Trap { category: Some(0), message } if message.contains("frobnicate")), "{err:?}");
    let err = bounded(client.run("/ip/bogus/print", &[], &[])).await.unwrap_err();
    assert!(matches!(&err, ApiError::Trap { .. }), "{err:?}");
    // A property the menu does not have, on add and on set.
    let err = bounded(client.add("/ip/route", &[("dst-address", "192.0.2.0/24"), ("gatway", "x")])).await.unwrap_err();
    assert!(
        matches!(&err, ApiError::Trap { category: None, message } if message == "unknown parameter gatway"),
        "{err:?}"
    );
    let id = bounded(client.add("/ip/route", &[("dst-address", "192.0.2.0/24")])).await.unwrap();
    let err = bounded(client.set("/ip/route", &id, &[("chain", "forward")])).await.unwrap_err();
    assert!(matches!(&err, ApiError::Trap { message, .. } if message == "unknown parameter chain"), "{err:?}");
    assert!(!router.rows("/ip/route")[0].contains_key("chain"));
    // A trap does not hurt the connection.
    assert!(bounded(client.run("/ip/route/print", &[], &[])).await.is_ok());
}

#[tokio::test]
async fn api_crud_through_the_trait() {
    let router = TestRouter::start().await.unwrap();
    let client = api(&router).await;
    let path = "/ip/firewall/filter";
    let a = bounded(client.add(path, &[("chain", "forward"), ("action", "accept"), ("comment", "a")])).await.unwrap();
    let b = bounded(client.add(path, &[("chain", "forward"), ("action", "drop"), ("comment", "b")])).await.unwrap();
    assert_eq!((a.as_str(), b.as_str()), ("*1", "*2"));

    bounded(client.move_before(path, &b, &a)).await.unwrap();
    assert_eq!(comments(&router.rows(path)), ["b", "a"]);

    bounded(client.set(path, &a, &[("in-interface", "veth-xlat")])).await.unwrap();
    let found = bounded(client.print(path, &[("in-interface", "veth-xlat")])).await.unwrap();
    assert_eq!(comments(&found), ["a"]);
    assert_eq!(found[0][".id"], a);

    bounded(client.remove(path, &b)).await.unwrap();
    assert_eq!(comments(&router.rows(path)), ["a"]);
    let err = bounded(client.remove(path, &b)).await.unwrap_err();
    assert!(matches!(err, ApiError::Trap { .. }), "{err:?}");
}

#[tokio::test]
async fn api_queries_and_proplist() {
    let router = TestRouter::start().await.unwrap();
    let path = "/ip/firewall/nat";
    router.seed(path, &[("chain", "srcnat"), ("action", "src-nat"), ("to-addresses", "192.0.0.1"), ("comment", "x")]);
    router.seed(path, &[("chain", "dstnat"), ("action", "dst-nat"), ("comment", "y")]);
    router.seed(path, &[("chain", "input"), ("comment", "z")]);
    let client = api(&router).await;
    // The manual's OR example, with raw query words.
    let rows =
        bounded(client.run(&format!("{path}/print"), &[], &["chain=srcnat", "?chain=dstnat", "#|"])).await.unwrap();
    assert_eq!(comments(&rows), ["x", "y"]);
    let cmd = Command::new(&format!("{path}/print")).proplist(&[".id", "to-addresses"]).where_eq("action", "src-nat");
    let resp = bounded(client.execute(cmd)).await.unwrap();
    assert_eq!(
        resp.rows,
        vec![Attrs::from([(".id".into(), "*1".into()), ("to-addresses".into(), "192.0.0.1".into())])]
    );
}

#[tokio::test]
async fn api_print_without_empty_word() {
    // Routers before 7.18 answer an empty print with `!done` alone.
    let router = TestRouter::builder().empty_replies(false).start().await.unwrap();
    let client = api(&router).await;
    assert!(bounded(client.print("/ipv6/route", &[("comment", "none")])).await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_concurrent_tagged_commands() {
    const N: usize = 40;
    let router = TestRouter::start().await.unwrap();
    let client = api(&router).await;
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..N {
        let c = client.clone();
        tasks.spawn(async move {
            let comment = format!("rule-{i}");
            let id = c.add("/ipv6/firewall/filter", &[("chain", "forward"), ("comment", &comment)]).await?;
            let rows = c.print("/ipv6/firewall/filter", &[("comment", &comment)]).await?;
            assert_eq!(rows.len(), 1);
            assert_eq!(rows[0][".id"], id);
            Ok::<_, ApiError>(id)
        });
    }
    let mut ids = Vec::new();
    while let Some(done) = bounded(tasks.join_next()).await {
        ids.push(done.unwrap().unwrap());
    }
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), N);
    assert_eq!(router.rows("/ipv6/firewall/filter").len(), N);
}

#[tokio::test]
async fn api_replies_out_of_order_reach_their_caller() {
    let router = TestRouter::start().await.unwrap();
    let client = api(&router).await;
    router.hold("/ip/route/print");
    let slow = tokio::spawn({
        let c = client.clone();
        async move { c.print("/ip/route", &[]).await }
    });
    bounded(router.wait_held(1)).await;
    // A later command finishes while the first one is still held.
    let id =
        bounded(client.add("/ip/route", &[("dst-address", "192.0.0.0/29"), ("gateway", "veth-xlat")])).await.unwrap();
    assert!(!slow.is_finished());
    assert_eq!(router.release_held(), 1);
    let rows = bounded(slow).await.unwrap().unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0][".id"], id);
}

#[tokio::test]
async fn api_timeout_cancels_and_keeps_the_connection() {
    let router = TestRouter::start().await.unwrap();
    let client = api(&router).await;
    router.hold("/ip/route/print");
    let err = bounded(client.execute_with_timeout(Command::new("/ip/route/print"), SHORT)).await.unwrap_err();
    assert!(matches!(&err, ApiError::Timeout { command, .. } if command == "/ip/route/print"), "{err:?}");
    // The client sent `/cancel =tag=...`: the router dropped the command.
    bounded(router.wait_held(0)).await;
    router.unhold("/ip/route/print");
    assert!(bounded(client.print("/ip/route", &[])).await.unwrap().is_empty());
    assert!(!client.is_closed());
}

#[tokio::test]
async fn api_fatal_fails_every_waiter_and_closes() {
    let router = TestRouter::start().await.unwrap();
    let client = api(&router).await;
    router.hold("/ip/route/print");
    let waiting = tokio::spawn({
        let c = client.clone();
        async move { c.print("/ip/route", &[]).await }
    });
    bounded(router.wait_held(1)).await;
    let err = bounded(client.run("/quit", &[], &[])).await.unwrap_err();
    assert!(matches!(&err, ApiError::Fatal(reason) if reason == QUIT_REASON), "{err:?}");
    let err = bounded(waiting).await.unwrap().unwrap_err();
    assert!(matches!(&err, ApiError::Fatal(reason) if reason == QUIT_REASON), "{err:?}");
    assert!(client.is_closed());
    let err = bounded(client.print("/ip/route", &[])).await.unwrap_err();
    assert!(matches!(err, ApiError::Closed { .. }), "{err:?}");
}

#[tokio::test]
async fn api_close_fails_later_commands() {
    let router = TestRouter::start().await.unwrap();
    let client = api(&router).await;
    client.close();
    let err = bounded(client.print("/ip/route", &[])).await.unwrap_err();
    assert!(matches!(err, ApiError::Closed { .. }), "{err:?}");
}

#[tokio::test]
async fn connect_refused_is_a_connect_error() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let ep: Endpoint = format!("api://127.0.0.1:{port}").parse().unwrap();
    let err = bounded(Client::connect(&ep, &Credentials::new("a", "b"), &ClientOptions::default())).await.unwrap_err();
    assert!(matches!(err, ApiError::Connect { .. }), "{err:?}");
}

#[tokio::test]
async fn silent_router_times_out_login() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let ep: Endpoint = format!("api://{}", listener.local_addr().unwrap()).parse().unwrap();
    let opts = ClientOptions { connect_timeout: SHORT, ..ClientOptions::default() };
    let creds = Credentials::new("a", "b");
    let login = Client::connect(&ep, &creds, &opts);
    // Accept and keep the socket open without answering.
    let (err, _socket) = bounded(async { tokio::join!(login, listener.accept()) }).await;
    let err = err.unwrap_err();
    assert!(matches!(&err, ApiError::Timeout { command, .. } if command == "/login"), "{err:?}");
}

/// Reads from `s` until `dec` completes one sentence.
async fn read_sentence(s: &mut tokio::net::TcpStream, dec: &mut Decoder) -> Vec<String> {
    let mut buf = [0u8; 1024];
    loop {
        if let Some(sentence) = dec.next_sentence() {
            return sentence.unwrap().into_words();
        }
        let n = s.read(&mut buf).await.unwrap();
        assert!(n > 0, "client closed");
        if let Some(sentence) = dec.feed(&buf[..n]).next() {
            return sentence.unwrap().into_words();
        }
    }
}

/// A "router" that logs in fine, then answers with a reserved control byte.
#[tokio::test]
async fn garbage_from_the_router_is_a_protocol_error() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let ep: Endpoint = format!("api://{}", listener.local_addr().unwrap()).parse().unwrap();
    let server = async {
        let (mut s, _) = listener.accept().await.unwrap();
        let mut dec = Decoder::new();
        assert_eq!(read_sentence(&mut s, &mut dec).await[0], "/login");
        let done = ReplySentence { tag: None, reply: Reply::Done(Attrs::new()) }.to_sentence().to_bytes();
        s.write_all(&done).await.unwrap();
        assert_eq!(read_sentence(&mut s, &mut dec).await[0], "/ip/route/print");
        s.write_all(&[0xF8, 0, 0]).await.unwrap();
        s
    };
    let client = async {
        let c = Client::connect(&ep, &Credentials::new("a", "b"), &ClientOptions::default()).await.unwrap();
        c.print("/ip/route", &[]).await
    };
    let (result, _socket) = bounded(async { tokio::join!(client, server) }).await;
    let err = result.unwrap_err();
    assert!(matches!(err, ApiError::Protocol(ProtoError::ControlByte(0xF8))), "{err:?}");
}

// ---------------------------------------------------------------- REST

#[tokio::test]
async fn rest_crud() {
    let router = TestRouter::start().await.unwrap();
    let client = rest(&router).await;
    let path = "/ipv6/firewall/filter";
    let a = bounded(client.add(path, &[("chain", "forward"), ("comment", "a")])).await.unwrap();
    let b = bounded(client.add(path, &[("chain", "forward"), ("comment", "b b")])).await.unwrap();
    bounded(RouterOs::move_before(&client, path, &b, &a)).await.unwrap();
    assert_eq!(comments(&router.rows(path)), ["b b", "a"]);
    bounded(client.set(path, &b, &[("action", "drop")])).await.unwrap();
    // Values with spaces and slashes survive the query string.
    let rows = bounded(client.print(path, &[("comment", "b b")])).await.unwrap();
    assert_eq!(rows[0]["action"], "drop");
    bounded(client.remove(path, &b)).await.unwrap();
    assert_eq!(comments(&router.rows(path)), ["a"]);
}

#[tokio::test]
async fn rest_errors() {
    let router = TestRouter::start().await.unwrap();
    let bad = Credentials::new(router.credentials().user(), "wrong");
    let err = bounded(RestClient::connect(&router.rest_endpoint(), &bad, &ClientOptions::default())).await.unwrap_err();
    assert!(matches!(err, ApiError::Login { .. }), "{err:?}");

    let client = rest(&router).await;
    let err = bounded(client.remove("/ip/route", "*9")).await.unwrap_err();
    assert!(matches!(err, ApiError::Http { status: 404, .. }), "{err:?}");
    let err = bounded(client.print("/ip/bogus", &[])).await.unwrap_err();
    assert!(matches!(&err, ApiError::Http { status: 400, detail: Some(d), .. } if d.contains("bogus")), "{err:?}");
    let err = bounded(client.move_before("/ip/firewall/filter", "*1", "*2")).await.unwrap_err();
    assert!(matches!(err, ApiError::Http { status: 400, .. }), "{err:?}");
    // PUT with a property the menu does not have: 400 with the trap's text.
    let err = bounded(client.add("/interface/veth", &[("name", "veth-xlat"), ("adress", "x")])).await.unwrap_err();
    let unknown = |d: &str| d == "unknown parameter adress";
    assert!(matches!(&err, ApiError::Http { status: 400, detail: Some(d), .. } if unknown(d)), "{err:?}");
    assert!(router.rows("/interface/veth").is_empty());
}

#[tokio::test]
async fn rest_post_print_with_query_and_proplist() {
    let router = TestRouter::start().await.unwrap();
    router.seed("/ip/dhcp-server/option", &[("name", "ipv6-only"), ("code", "108"), ("value", "0x00000708")]);
    router.seed("/ip/dhcp-server/option", &[("name", "other"), ("code", "43"), ("value", "'x'")]);
    let client = rest(&router).await;
    let reply = bounded(client.post("/ip/dhcp-server/option/print", &[(".proplist", "name,code")])).await.unwrap();
    assert_eq!(reply, serde_json::json!([{"name": "ipv6-only", "code": "108"}, {"name": "other", "code": "43"}]));
    let reply = bounded(client.post("/ip/dhcp-server/option/add", &[("name", "n"), ("code", "1")])).await.unwrap();
    assert_eq!(reply, serde_json::json!({"ret": "*3"}));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rest_concurrent_requests_and_reuse() {
    let router = TestRouter::start().await.unwrap();
    router.seed("/ipv6/pool", &[("name", "xlat"), ("prefix", "2001:db8:aaaa::/64"), ("prefix-length", "64")]);
    let client = rest(&router).await;
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..16 {
        let c = client.clone();
        tasks.spawn(async move { c.print("/ipv6/pool", &[("name", "xlat")]).await });
    }
    while let Some(done) = bounded(tasks.join_next()).await {
        assert_eq!(done.unwrap().unwrap()[0]["prefix"], "2001:db8:aaaa::/64");
    }
    // Sequential requests reuse the idle connection.
    for _ in 0..5 {
        assert_eq!(bounded(client.print("/ipv6/pool", &[])).await.unwrap().len(), 1);
    }
    assert_eq!(router.rest_requests(), 1 + 16 + 5);
}

// ---------------------------------------------------------------- both

/// The same operations, through the trait, on one transport.
async fn scenario(c: &impl RouterOs) -> Vec<Vec<Attrs>> {
    let mut snapshots = Vec::new();
    let route = "/ipv6/route";
    let id =
        c.add(route, &[("dst-address", "64:ff9b::/96"), ("gateway", "veth-xlat"), ("comment", "xlat")]).await.unwrap();
    c.add(route, &[("dst-address", "::/0"), ("gateway", "fe80::1%ether1"), ("comment", "uplink")]).await.unwrap();
    snapshots.push(c.print(route, &[]).await.unwrap());
    c.set(route, &id, &[("distance", "5")]).await.unwrap();
    snapshots.push(c.print(route, &[("comment", "xlat")]).await.unwrap());

    let fw = "/ip/firewall/filter";
    let first = c.add(fw, &[("chain", "forward"), ("action", "accept"), ("comment", "1")]).await.unwrap();
    let second = c
        .add(fw, &[("chain", "forward"), ("action", "accept"), ("in-interface", "veth-xlat"), ("comment", "2")])
        .await
        .unwrap();
    c.move_before(fw, &second, &first).await.unwrap();
    snapshots.push(c.print(fw, &[]).await.unwrap());
    c.remove(fw, &first).await.unwrap();
    snapshots.push(c.print(fw, &[("chain", "forward")]).await.unwrap());
    snapshots.push(c.print(fw, &[("comment", "nothing")]).await.unwrap());
    snapshots
}

#[tokio::test]
async fn both_transports_give_the_same_results() {
    let via_api = TestRouter::start().await.unwrap();
    let via_rest = TestRouter::start().await.unwrap();
    let opts = ClientOptions::default();
    let api_client = bounded(AnyClient::connect(&via_api.api_url(), &via_api.credentials(), &opts)).await.unwrap();
    let rest_client = bounded(AnyClient::connect(&via_rest.rest_url(), &via_rest.credentials(), &opts)).await.unwrap();
    assert!(matches!(api_client, AnyClient::Api(_)) && matches!(rest_client, AnyClient::Rest(_)));

    let a = bounded(scenario(&api_client)).await;
    let r = bounded(scenario(&rest_client)).await;
    assert_eq!(a, r);
    assert_eq!(comments(&a[2]), ["2", "1"]);
    assert_eq!(a[1][0]["distance"], "5");
    for menu in ["/ipv6/route", "/ip/firewall/filter"] {
        assert_eq!(via_api.rows(menu), via_rest.rows(menu), "{menu}");
    }
}

// ---------------------------------------------------------------- TLS

struct Pki {
    dir: std::path::PathBuf,
    router_cert: String,
    router_key: String,
}

impl Pki {
    /// A self-signed certificate for 127.0.0.1, its PEM in a temp dir.
    fn new(name: &str) -> Self {
        let ck = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned(), "localhost".to_owned()]).unwrap();
        let dir = std::env::temp_dir().join(format!("routeros-api-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("ca.pem"), ck.cert.pem()).unwrap();
        Self { dir, router_cert: ck.cert.pem(), router_key: ck.signing_key.serialize_pem() }
    }

    fn ca_file(&self) -> std::path::PathBuf {
        self.dir.join("ca.pem")
    }
}

impl Drop for Pki {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[tokio::test]
async fn tls_with_ca_file_on_both_transports() {
    let pki = Pki::new("tls-ok");
    let router = TestRouter::builder().tls(&pki.router_cert, &pki.router_key).start().await.unwrap();
    assert!(router.api_url().starts_with("apis://") && router.rest_url().starts_with("https://"));
    let opts = ClientOptions { tls: TlsOptions::with_ca_file(pki.ca_file()), ..ClientOptions::default() };
    for url in [router.api_url(), router.rest_url()] {
        let c = bounded(AnyClient::connect(&url, &router.credentials(), &opts)).await.unwrap();
        bounded(c.add("/ip/route", &[("dst-address", "192.0.0.0/29")])).await.unwrap();
    }
    assert_eq!(router.rows("/ip/route").len(), 2);
}

#[tokio::test]
async fn tls_rejects_an_unknown_certificate_unless_insecure() {
    let pki = Pki::new("tls-router");
    let other = Pki::new("tls-other");
    let router = TestRouter::builder().tls(&pki.router_cert, &pki.router_key).start().await.unwrap();

    let wrong = ClientOptions { tls: TlsOptions::with_ca_file(other.ca_file()), ..ClientOptions::default() };
    for url in [router.api_url(), router.rest_url()] {
        let err = bounded(AnyClient::connect(&url, &router.credentials(), &wrong)).await.unwrap_err();
        assert!(matches!(&err, ApiError::Connect { reason, .. } if reason.contains("TLS")), "{url}: {err:?}");
    }

    let none = ClientOptions::default();
    let err = bounded(AnyClient::connect(&router.api_url(), &router.credentials(), &none)).await.unwrap_err();
    assert!(matches!(err, ApiError::Tls(_)), "{err:?}");

    let insecure = ClientOptions { tls: TlsOptions::insecure(), ..ClientOptions::default() };
    for url in [router.api_url(), router.rest_url()] {
        let c = bounded(AnyClient::connect(&url, &router.credentials(), &insecure)).await.unwrap();
        assert!(bounded(c.print("/ip/route", &[])).await.unwrap().is_empty());
    }
}

#[tokio::test]
async fn wrong_scheme_for_a_client_is_refused() {
    let ep: Endpoint = "https://127.0.0.1:1".parse().unwrap();
    let err = Client::connect(&ep, &Credentials::new("a", "b"), &ClientOptions::default()).await.unwrap_err();
    assert!(matches!(err, ApiError::InvalidUrl { .. }), "{err:?}");
    let ep: Endpoint = "api://127.0.0.1:1".parse().unwrap();
    let err = RestClient::new(&ep, &Credentials::new("a", "b"), &ClientOptions::default()).unwrap_err();
    assert!(matches!(err, ApiError::InvalidUrl { .. }), "{err:?}");
}
