//! A fake RouterOS for tests (feature `test-server`).
//!
//! [`TestRouter::start`] listens on two loopback ports:
//!
//! - the **classic API**, speaking the real wire protocol: length-encoded
//!   words, `/login` checked against the configured users (a wrong password
//!   gets `!trap =message=invalid user name or password (6)` then `!done`),
//!   `.tag` echoed on every reply, `!re` / `!empty` (RouterOS 7.18+) /
//!   `!done` / `!trap`, `!fatal` for `/quit` and for commands before login,
//!   `/cancel =tag=`;
//! - the **REST API**: HTTP/1.1 with Basic authentication, `GET` (with
//!   `?name=value` filters and `.proplist`), `PUT`, `PATCH`, `DELETE` and
//!   `POST <menu>/<command>` (`print` with `.proplist`/`.query`, `add`,
//!   `set`, `remove`, `move`), JSON errors as the manual shows them.
//!
//! Both front ends share one in-memory store of the menus in [`MENUS`]
//! (`/ip/route`, `/ipv6/route`, `/ip/firewall/{filter,nat,mangle}`,
//! `/ipv6/firewall/{filter,mangle}`, `/ipv6/nd`, `/ipv6/pool`,
//! `/ip/dhcp-server/option`, `/interface/veth`, `/container` ...), with
//! RouterOS-style ids (`*1`, `*2` ... `*A`, `*1A`: hex, never reused),
//! `print` queries evaluated as the manual's query stack (`!empty` when
//! nothing matches), `move` and `add place-before=` ordering items
//! (firewall order), and a `!trap` (REST: 400 or 404) for unknown commands,
//! missing items and, on `add`/`set`, a property the menu does not have
//! (`unknown parameter <name>`, [`UNKNOWN_PARAMETER`]; the accepted names
//! are [`menu_attributes`]). `add` sets `disabled=false` unless told
//! otherwise, like RouterOS, in menus that have `disabled`. Menus added with
//! [`TestRouterBuilder::menu`] are free-form: any property is stored.
//!
//! The wire protocol is checked against an independent client, the Python
//! `librouteros` package, in `tests/librouteros.rs`.
//!
//! Tests can seed and inspect the tables ([`TestRouter::seed`],
//! [`TestRouter::rows`]), hold a command without answering it to exercise
//! concurrency and timeouts ([`TestRouter::hold`],
//! [`TestRouter::wait_held`], [`TestRouter::release_held`]), serve TLS
//! ([`TestRouterBuilder::tls`]) and play a pre-6.43 router
//! ([`TestRouterBuilder::legacy_login`]).
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! use routeros_api::testing::TestRouter;
//! use routeros_api::{AnyClient, ClientOptions, RouterOs};
//!
//! let router = TestRouter::start().await.unwrap();
//! router.seed("/ip/route", &[("dst-address", "192.0.0.0/29"), ("comment", "xlat")]);
//! for url in [router.api_url(), router.rest_url()] {
//!     let c = AnyClient::connect(&url, &router.credentials(), &ClientOptions::default()).await.unwrap();
//!     let routes = c.print("/ip/route", &[("comment", "xlat")]).await.unwrap();
//!     assert_eq!(routes[0]["dst-address"], "192.0.0.0/29");
//! }
//! # }
//! ```

mod api_server;
mod query;
mod rest_server;
mod store;

use std::collections::HashSet;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};
use tokio_rustls::TlsAcceptor;

pub use api_server::{BAD_LOGIN_MESSAGE, NOT_LOGGED_IN, QUIT_REASON};
pub use store::{menu_attributes, MENUS, UNKNOWN_PARAMETER};

use crate::proto::{Attrs, Sentence};
use crate::tls::ALPN_HTTP1;
use crate::{Credentials, Endpoint, Scheme};
use api_server::OutTx;
use store::Store;

/// User of [`TestRouter::start`].
pub const DEFAULT_USER: &str = "xlat";
/// Password of [`DEFAULT_USER`].
pub const DEFAULT_PASSWORD: &str = "xlat-test-password";

/// A command parked by [`TestRouter::hold`].
#[derive(Debug)]
struct Held {
    tx: OutTx,
    sentence: Sentence,
}

/// State shared by the fake router's connections and the test.
#[derive(Debug)]
struct RouterState {
    store: Mutex<Store>,
    users: Vec<Credentials>,
    legacy_login: bool,
    emit_empty: bool,
    held_commands: Mutex<HashSet<String>>,
    held: Mutex<Vec<Held>>,
    held_count: watch::Sender<usize>,
    api_logins: AtomicUsize,
    rest_requests: AtomicUsize,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl RouterState {
    fn store(&self) -> MutexGuard<'_, Store> {
        lock(&self.store)
    }

    fn check_user(&self, user: &str, password: &str) -> bool {
        self.users.iter().any(|c| c.user() == user && c.password() == password)
    }

    fn is_held(&self, command: &str) -> bool {
        lock(&self.held_commands).contains(command)
    }

    fn park(&self, held: Held) {
        let mut list = lock(&self.held);
        list.push(held);
        self.held_count.send_replace(list.len());
    }

    fn take_held(&self, pick: impl Fn(&Held) -> bool) -> Vec<Held> {
        let mut list = lock(&self.held);
        let (taken, kept) = std::mem::take(&mut *list).into_iter().partition(|h| pick(h));
        *list = kept;
        self.held_count.send_replace(list.len());
        taken
    }
}

/// Settings of a [`TestRouter`].
#[derive(Debug, Default)]
pub struct TestRouterBuilder {
    users: Vec<Credentials>,
    legacy_login: bool,
    no_empty: bool,
    tls: Option<TlsPem>,
    menus: Vec<String>,
}

/// Certificate chain and private key of the fake router, in PEM.
#[derive(Default)]
struct TlsPem {
    cert_chain: String,
    key: String,
}

impl std::fmt::Debug for TlsPem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TlsPem { .. }")
    }
}

impl TestRouterBuilder {
    /// Accepts this user (the first call replaces the default user).
    pub fn user(mut self, name: &str, password: &str) -> Self {
        self.users.push(Credentials::new(name, password));
        self
    }

    /// Answer `/login` like a router older than 6.43: `!done =ret=<challenge>`.
    pub fn legacy_login(mut self, yes: bool) -> Self {
        self.legacy_login = yes;
        self
    }

    /// Answer a print without results with `!empty` before `!done`, as
    /// RouterOS 7.18+ does (the default), or with `!done` alone (`false`,
    /// older versions).
    pub fn empty_replies(mut self, yes: bool) -> Self {
        self.no_empty = !yes;
        self
    }

    /// Serve both APIs over TLS with this certificate chain and private key
    /// (PEM): the URLs become `apis://` and `https://`.
    pub fn tls(mut self, cert_chain_pem: &str, key_pem: &str) -> Self {
        self.tls = Some(TlsPem { cert_chain: cert_chain_pem.to_owned(), key: key_pem.to_owned() });
        self
    }

    /// Adds a table menu beyond [`MENUS`].
    pub fn menu(mut self, path: &str) -> Self {
        self.menus.push(path.to_owned());
        self
    }

    /// Binds both ports on 127.0.0.1 and starts serving.
    pub async fn start(self) -> std::io::Result<TestRouter> {
        let users =
            if self.users.is_empty() { vec![Credentials::new(DEFAULT_USER, DEFAULT_PASSWORD)] } else { self.users };
        let mut store = Store::default();
        for m in &self.menus {
            store.add_menu(m);
        }
        let acceptor = self.tls.as_ref().map(|pem| tls_acceptor(&pem.cert_chain, &pem.key)).transpose()?;
        let state = Arc::new(RouterState {
            store: Mutex::new(store),
            users,
            legacy_login: self.legacy_login,
            emit_empty: !self.no_empty,
            held_commands: Mutex::default(),
            held: Mutex::default(),
            held_count: watch::Sender::new(0),
            api_logins: AtomicUsize::new(0),
            rest_requests: AtomicUsize::new(0),
        });
        let api = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
        let rest = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
        let (api_addr, rest_addr) = (api.local_addr()?, rest.local_addr()?);
        let tasks = vec![
            tokio::spawn(accept_loop(api, acceptor.clone(), state.clone(), Front::Api)),
            tokio::spawn(accept_loop(rest, acceptor.clone(), state.clone(), Front::Rest)),
        ];
        Ok(TestRouter { state, api_addr, rest_addr, tls: acceptor.is_some(), tasks })
    }
}

fn tls_acceptor(cert_pem: &str, key_pem: &str) -> std::io::Result<TlsAcceptor> {
    let invalid = |e: String| std::io::Error::new(std::io::ErrorKind::InvalidInput, e);
    let certs = CertificateDer::pem_slice_iter(cert_pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| invalid(e.to_string()))?;
    let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes()).map_err(|e| invalid(e.to_string()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| invalid(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| invalid(e.to_string()))?;
    config.alpn_protocols = vec![ALPN_HTTP1.to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

#[derive(Debug, Clone, Copy)]
enum Front {
    Api,
    Rest,
}

async fn accept_loop(listener: TcpListener, tls: Option<TlsAcceptor>, state: Arc<RouterState>, front: Front) {
    // Dropping the set (when the router is dropped) aborts every connection.
    let mut conns = JoinSet::new();
    loop {
        while conns.try_join_next().is_some() {}
        let Ok((tcp, _)) = listener.accept().await else { break };
        let _ = tcp.set_nodelay(true);
        let (tls, state) = (tls.clone(), state.clone());
        conns.spawn(async move {
            match tls {
                None => serve(tcp, state, front).await,
                Some(acceptor) => match acceptor.accept(tcp).await {
                    Ok(stream) => serve(stream, state, front).await,
                    Err(e) => tracing::debug!(error = %e, "fake router: TLS handshake failed"),
                },
            }
        });
    }
}

async fn serve<S>(stream: S, state: Arc<RouterState>, front: Front)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    match front {
        Front::Api => api_server::serve(stream, state).await,
        Front::Rest => rest_server::serve(stream, state).await,
    }
}

/// The running fake router. Dropping it stops it and closes every
/// connection.
#[derive(Debug)]
pub struct TestRouter {
    state: Arc<RouterState>,
    api_addr: SocketAddr,
    rest_addr: SocketAddr,
    tls: bool,
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for TestRouter {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

impl TestRouter {
    /// A router with the default user ([`DEFAULT_USER`] /
    /// [`DEFAULT_PASSWORD`]), plain TCP and HTTP.
    pub async fn start() -> std::io::Result<Self> {
        Self::builder().start().await
    }

    /// Settings for a router.
    pub fn builder() -> TestRouterBuilder {
        TestRouterBuilder::default()
    }

    /// Address of the classic API port.
    pub fn api_addr(&self) -> SocketAddr {
        self.api_addr
    }

    /// Address of the REST port.
    pub fn rest_addr(&self) -> SocketAddr {
        self.rest_addr
    }

    /// `api://127.0.0.1:<port>` (`apis://` with TLS).
    pub fn api_url(&self) -> String {
        self.api_endpoint().to_string()
    }

    /// `http://127.0.0.1:<port>` (`https://` with TLS).
    pub fn rest_url(&self) -> String {
        self.rest_endpoint().to_string()
    }

    /// The classic API endpoint.
    pub fn api_endpoint(&self) -> Endpoint {
        let scheme = if self.tls { Scheme::ApiSsl } else { Scheme::Api };
        Endpoint::new(scheme, self.api_addr.ip().to_string(), self.api_addr.port())
    }

    /// The REST endpoint.
    pub fn rest_endpoint(&self) -> Endpoint {
        let scheme = if self.tls { Scheme::Https } else { Scheme::Http };
        Endpoint::new(scheme, self.rest_addr.ip().to_string(), self.rest_addr.port())
    }

    /// Credentials of the first configured user.
    pub fn credentials(&self) -> Credentials {
        self.state.users.first().cloned().unwrap_or_else(|| Credentials::new(DEFAULT_USER, DEFAULT_PASSWORD))
    }

    /// Adds an item to `menu` (creating the menu, free-form, if unknown)
    /// and returns its id, as `add` would, but without checking its
    /// properties: seeds play the router's own configuration, which holds
    /// read-only properties too (`dynamic`, `active` ...).
    pub fn seed(&self, menu: &str, attrs: &[(&str, &str)]) -> String {
        let attrs: Attrs = attrs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        self.state.store().seed(menu, attrs)
    }

    /// The items of `menu`, in order (empty for an unknown menu).
    pub fn rows(&self, menu: &str) -> Vec<Attrs> {
        self.state.store().rows(menu)
    }

    /// Stop answering `command` (`/ip/route/print`) on the classic API:
    /// such commands are parked until [`release_held`](Self::release_held)
    /// or a `/cancel`.
    pub fn hold(&self, command: &str) {
        lock(&self.state.held_commands).insert(command.to_owned());
    }

    /// Answer `command` again (parked commands stay parked).
    pub fn unhold(&self, command: &str) {
        lock(&self.state.held_commands).remove(command);
    }

    /// Number of commands parked now.
    pub fn held(&self) -> usize {
        *self.state.held_count.borrow()
    }

    /// Waits until exactly `n` commands are parked. Bound it with a
    /// timeout in tests.
    pub async fn wait_held(&self, n: usize) {
        let mut rx = self.state.held_count.subscribe();
        // The sender lives as long as `self`, so this cannot fail.
        let _ = rx.wait_for(|&count| count == n).await;
    }

    /// Runs and answers every parked command; returns how many.
    pub fn release_held(&self) -> usize {
        let held = self.state.take_held(|_| true);
        for h in &held {
            api_server::run(&self.state, &h.sentence, &h.tx);
        }
        held.len()
    }

    /// Successful classic API logins so far.
    pub fn api_logins(&self) -> usize {
        self.state.api_logins.load(Ordering::Relaxed)
    }

    /// REST requests received so far (authorized or not).
    pub fn rest_requests(&self) -> usize {
        self.state.rest_requests.load(Ordering::Relaxed)
    }
}
