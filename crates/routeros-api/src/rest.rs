//! Client of the RouterOS v7 REST API (`https://`, or `http://` since 7.9).
//!
//! The RouterOS manual ("REST API" page) maps HTTP methods onto console
//! verbs, which this client follows:
//!
//! | operation              | request                                              |
//! |------------------------|------------------------------------------------------|
//! | print with filters     | `GET /rest/ip/route?comment=xlat` → list of objects  |
//! | add                    | `PUT /rest/ip/route` + JSON object → created object  |
//! | set                    | `PATCH /rest/ip/route/*1` + JSON object → object      |
//! | remove                 | `DELETE /rest/ip/route/*1` → empty body              |
//! | any command, e.g. move | `POST /rest/ip/firewall/filter/move` + `{".id":"*9","destination":"*C"}` |
//!
//! Authentication is HTTP Basic on every request. All values in replies are
//! JSON strings ("even if the underlying data is a number or a boolean");
//! numbers, booleans and null are turned into strings anyway, to be lenient.
//! Errors come as status >= 400 with `{"error":404,"message":"Not Found",
//! "detail":"..."}`, mapped to [`ApiError::Http`] (401 to
//! [`ApiError::Login`]).
//!
//! One HTTP/1.1 connection is kept for reuse; concurrent requests open more
//! connections (and only one goes back to the idle slot). A request that
//! could not be sent on the reused connection is retried on a new one.

use std::sync::{Arc, Mutex, Once, PoisonError};
use std::time::Duration;

use base64::Engine as _;
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::client::conn::http1::{self, SendRequest};
use hyper::header::{HeaderValue, AUTHORIZATION, CONTENT_TYPE, HOST};
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{Map, Value};

use crate::client::ClientOptions;
use crate::proto::Attrs;
use crate::tls::{self, TlsSetup, ALPN_HTTP1};
use crate::{ApiError, Credentials, Endpoint, Scheme};

/// Root of the REST API on the router.
pub const REST_PREFIX: &str = "/rest";
/// Largest response body accepted: a print of a big table, not a file.
pub const MAX_RESPONSE_BODY: usize = 16 << 20;
/// Menu read by [`RestClient::connect`] to check the credentials.
const PROBE_PATH: &str = "/system/identity";
/// JSON key of an item's internal id.
const ID_KEY: &str = ".id";
/// JSON key of the target position of a `move`.
const DESTINATION_KEY: &str = "destination";
/// Keys of an error body.
const ERROR_MESSAGE_KEY: &str = "message";
/// See [`ERROR_MESSAGE_KEY`].
const ERROR_DETAIL_KEY: &str = "detail";
/// Media type of request bodies.
const JSON_MEDIA_TYPE: &str = "application/json";

static PLAINTEXT_WARNING: Once = Once::new();

/// A REST API client. Cheap to clone; clones share the idle connection.
#[derive(Clone)]
pub struct RestClient {
    inner: Arc<RestInner>,
}

struct RestInner {
    endpoint: Endpoint,
    user: String,
    authorization: HeaderValue,
    tls: Option<TlsSetup>,
    connect_timeout: Duration,
    command_timeout: Duration,
    idle: Mutex<Option<SendRequest<Full<Bytes>>>>,
}

impl std::fmt::Debug for RestClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RestClient")
            .field("endpoint", &self.inner.endpoint)
            .field("user", &self.inner.user)
            .field("authorization", &"<redacted>")
            .finish_non_exhaustive()
    }
}

impl RestClient {
    /// A client for `endpoint` (`http://` or `https://`). Opens no
    /// connection; the first request does.
    pub fn new(endpoint: &Endpoint, creds: &Credentials, opts: &ClientOptions) -> Result<Self, ApiError> {
        let tls = match endpoint.scheme {
            Scheme::Http => None,
            Scheme::Https => Some(TlsSetup::new(&opts.tls, endpoint, Some(ALPN_HTTP1))?),
            Scheme::Api | Scheme::ApiSsl => {
                return Err(ApiError::InvalidUrl {
                    url: endpoint.to_string(),
                    reason: "the REST client needs http:// or https://; api(s):// is the classic API".into(),
                })
            }
        };
        let token = base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", creds.user(), creds.password()));
        let mut authorization = HeaderValue::from_str(&format!("Basic {token}"))
            .map_err(|_| ApiError::Credentials("cannot build the Authorization header".into()))?;
        authorization.set_sensitive(true);
        Ok(Self {
            inner: Arc::new(RestInner {
                endpoint: endpoint.clone(),
                user: creds.user().to_owned(),
                authorization,
                tls,
                connect_timeout: opts.connect_timeout,
                command_timeout: opts.command_timeout,
                idle: Mutex::new(None),
            }),
        })
    }

    /// [`new`](Self::new), then checks the connection and the credentials
    /// by reading `/system/identity`, so that a wrong password shows up at
    /// start as it does with the classic API.
    pub async fn connect(endpoint: &Endpoint, creds: &Credentials, opts: &ClientOptions) -> Result<Self, ApiError> {
        if endpoint.scheme == Scheme::Http {
            PLAINTEXT_WARNING.call_once(|| {
                tracing::warn!(
                    %endpoint,
                    "using the RouterOS REST API over plain HTTP: the password crosses the network in clear text; \
                     prefer https:// with a CA file"
                );
            });
        }
        let client = Self::new(endpoint, creds, opts)?;
        client.request(Method::GET, PROBE_PATH, None).await?;
        tracing::debug!(%endpoint, user = creds.user(), "RouterOS REST API reachable, credentials accepted");
        Ok(client)
    }

    /// The router this client talks to.
    pub fn endpoint(&self) -> &Endpoint {
        &self.inner.endpoint
    }

    /// `GET /rest<path>?k=v&...`: the items of a menu matching all filters.
    pub async fn get(&self, path: &str, query: &[(&str, &str)]) -> Result<Vec<Attrs>, ApiError> {
        let mut target = menu_path(path);
        for (i, (k, v)) in query.iter().enumerate() {
            target.push(if i == 0 { '?' } else { '&' });
            target.push_str(&percent_encode(k, false));
            target.push('=');
            target.push_str(&percent_encode(v, false));
        }
        match self.request(Method::GET, &target, None).await? {
            None => Ok(Vec::new()),
            Some(value) => rows(value),
        }
    }

    /// `PUT /rest<path>`: creates an item, returns its `.id`.
    pub async fn put(&self, path: &str, attrs: &[(&str, &str)]) -> Result<String, ApiError> {
        let reply = self.request(Method::PUT, &menu_path(path), Some(object(attrs))).await?;
        let created = reply.map(to_attrs).transpose()?.unwrap_or_default();
        created
            .get(ID_KEY)
            .cloned()
            .ok_or_else(|| ApiError::UnexpectedReply(format!("PUT {path} returned no {ID_KEY}")))
    }

    /// `PATCH /rest<path>/<id>`: changes properties of one item.
    pub async fn patch(&self, path: &str, id: &str, attrs: &[(&str, &str)]) -> Result<(), ApiError> {
        self.request(Method::PATCH, &item_path(path, id), Some(object(attrs))).await.map(drop)
    }

    /// `DELETE /rest<path>/<id>`: removes one item.
    pub async fn delete(&self, path: &str, id: &str) -> Result<(), ApiError> {
        self.request(Method::DELETE, &item_path(path, id), None).await.map(drop)
    }

    /// `POST /rest<command>` with a JSON object of attributes: any console
    /// command (`/ip/firewall/filter/move`, `/container/start` ...).
    /// Returns the JSON reply (`null` for an empty body).
    pub async fn post(&self, command: &str, attrs: &[(&str, &str)]) -> Result<Value, ApiError> {
        Ok(self.request(Method::POST, &menu_path(command), Some(object(attrs))).await?.unwrap_or(Value::Null))
    }

    /// `POST /rest<path>/move` with `.id` and `destination`.
    pub async fn move_before(&self, path: &str, id: &str, before_id: &str) -> Result<(), ApiError> {
        let command = format!("{}/move", menu_path(path));
        self.post(&command, &[(ID_KEY, id), (DESTINATION_KEY, before_id)]).await.map(drop)
    }

    /// Sends one request within the command timeout; `Ok(None)` for an
    /// empty 2xx body.
    async fn request(&self, method: Method, target: &str, body: Option<Value>) -> Result<Option<Value>, ApiError> {
        let what = format!("{method} {REST_PREFIX}{target}");
        let timeout = self.inner.command_timeout;
        tokio::time::timeout(timeout, self.request_inner(method, target, body))
            .await
            .map_err(|_| ApiError::Timeout { command: what, after: timeout })?
    }

    async fn request_inner(
        &self,
        method: Method,
        target: &str,
        body: Option<Value>,
    ) -> Result<Option<Value>, ApiError> {
        let body = body.map(|b| Bytes::from(b.to_string())).unwrap_or_default();
        let make = || {
            let mut builder = Request::builder()
                .method(method.clone())
                .uri(format!("{REST_PREFIX}{target}"))
                .header(HOST, self.inner.endpoint.authority())
                .header(AUTHORIZATION, self.inner.authorization.clone());
            if !body.is_empty() {
                builder = builder.header(CONTENT_TYPE, JSON_MEDIA_TYPE);
            }
            builder
                .body(Full::new(body.clone()))
                .map_err(|e| ApiError::InvalidUrl { url: target.to_owned(), reason: e.to_string() })
        };

        let (response, sender) = self.send(&method, make).await?;
        let status = response.status();
        let bytes = Limited::new(response.into_body(), MAX_RESPONSE_BODY)
            .collect()
            .await
            .map_err(|e| ApiError::Closed { reason: format!("reading the HTTP body: {e}") })?
            .to_bytes();
        self.put_idle(sender);

        let json = if bytes.iter().all(u8::is_ascii_whitespace) {
            None
        } else {
            Some(
                serde_json::from_slice::<Value>(&bytes)
                    .map_err(|e| ApiError::UnexpectedReply(format!("body is not JSON ({e})")))?,
            )
        };
        if status.is_success() {
            return Ok(json);
        }
        let field = |key: &str| json.as_ref().and_then(|j| j.get(key)).and_then(Value::as_str).map(str::to_owned);
        let message =
            field(ERROR_MESSAGE_KEY).or_else(|| status.canonical_reason().map(str::to_owned)).unwrap_or_default();
        let detail = field(ERROR_DETAIL_KEY);
        if status == StatusCode::UNAUTHORIZED {
            return Err(ApiError::Login { message: detail.unwrap_or(message) });
        }
        Err(ApiError::Http { status: status.as_u16(), message, detail })
    }

    /// Sends on the idle connection if there is one, else on a new one.
    async fn send(
        &self,
        method: &Method,
        make: impl Fn() -> Result<Request<Full<Bytes>>, ApiError>,
    ) -> Result<(hyper::Response<hyper::body::Incoming>, SendRequest<Full<Bytes>>), ApiError> {
        let mut req = make()?;
        let idle = self.inner.idle.lock().unwrap_or_else(PoisonError::into_inner).take();
        if let Some(mut sender) = idle.filter(|s| !s.is_closed()) {
            match sender.try_send_request(req).await {
                Ok(resp) => return Ok((resp, sender)),
                Err(mut e) => match e.take_message() {
                    Some(unsent) => req = unsent,
                    // Sent on a connection the router had closed: only a GET
                    // is safe to send again.
                    None if *method == Method::GET && e.error().is_incomplete_message() => req = make()?,
                    None => return Err(http_error(e.error())),
                },
            }
        }
        let mut sender = self.open().await?;
        let resp = sender.send_request(req).await.map_err(|e| http_error(&e))?;
        Ok((resp, sender))
    }

    async fn open(&self) -> Result<SendRequest<Full<Bytes>>, ApiError> {
        let endpoint = &self.inner.endpoint;
        let stream = tls::connect(endpoint, self.inner.tls.as_ref(), self.inner.connect_timeout).await?;
        let (sender, conn) = http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| ApiError::Connect { endpoint: endpoint.to_string(), reason: e.to_string() })?;
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(error = %e, "REST connection ended");
            }
        });
        Ok(sender)
    }

    fn put_idle(&self, sender: SendRequest<Full<Bytes>>) {
        if sender.is_closed() {
            return;
        }
        let mut idle = self.inner.idle.lock().unwrap_or_else(PoisonError::into_inner);
        if idle.is_none() {
            *idle = Some(sender);
        }
    }
}

fn http_error(e: &hyper::Error) -> ApiError {
    ApiError::Closed { reason: format!("HTTP: {e}") }
}

/// `ip/route`, `/ip/route/` and `/ip/route` all become `/ip/route`.
pub(crate) fn menu_path(path: &str) -> String {
    let trimmed = path.trim_matches('/');
    format!("/{trimmed}")
}

fn item_path(path: &str, id: &str) -> String {
    format!("{}/{}", menu_path(path), percent_encode(id, true))
}

/// Percent-encodes everything but RFC 3986 unreserved characters (and `*`,
/// which starts every RouterOS id, when `keep_star`).
fn percent_encode(s: &str, keep_star: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') || (keep_star && b == b'*') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn object(attrs: &[(&str, &str)]) -> Value {
    Value::Object(attrs.iter().map(|(k, v)| ((*k).to_owned(), Value::String((*v).to_owned()))).collect::<Map<_, _>>())
}

/// A JSON object with string values (or anything) as [`Attrs`].
pub(crate) fn to_attrs(value: Value) -> Result<Attrs, ApiError> {
    let Value::Object(map) = value else {
        return Err(ApiError::UnexpectedReply(format!("expected a JSON object, got {value}")));
    };
    Ok(map
        .into_iter()
        .map(|(k, v)| {
            let v = match v {
                Value::String(s) => s,
                Value::Null => String::new(),
                other => other.to_string(),
            };
            (k, v)
        })
        .collect())
}

/// A list of objects (or one object) as rows.
fn rows(value: Value) -> Result<Vec<Attrs>, ApiError> {
    match value {
        Value::Array(items) => items.into_iter().map(to_attrs).collect(),
        obj @ Value::Object(_) => Ok(vec![to_attrs(obj)?]),
        other => Err(ApiError::UnexpectedReply(format!("expected a JSON list, got {other}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths() {
        assert_eq!(menu_path("ip/route"), "/ip/route");
        assert_eq!(menu_path("/ip/route/"), "/ip/route");
        assert_eq!(item_path("/ip/route", "*1A"), "/ip/route/*1A");
        assert_eq!(item_path("/interface", "ether 1"), "/interface/ether%201");
    }

    #[test]
    fn query_encoding() {
        assert_eq!(percent_encode("0.0.0.0/0", false), "0.0.0.0%2F0");
        assert_eq!(percent_encode("xlat clat", false), "xlat%20clat");
        assert_eq!(percent_encode("2001:db8::/96", false), "2001%3Adb8%3A%3A%2F96");
        assert_eq!(percent_encode("*1", false), "%2A1");
    }

    #[test]
    fn json_values_become_strings() {
        let v: Value = serde_json::from_str(r#"{".id":"*1","n":3,"b":true,"z":null}"#).unwrap();
        let a = to_attrs(v).unwrap();
        assert_eq!(a["n"], "3");
        assert_eq!(a["b"], "true");
        assert_eq!(a["z"], "");
        assert!(rows(Value::String("x".into())).is_err());
    }

    #[test]
    fn debug_hides_the_authorization() {
        let ep: Endpoint = "http://127.0.0.1:1".parse().unwrap();
        let c = RestClient::new(&ep, &Credentials::new("u", "hunter2"), &ClientOptions::default()).unwrap();
        let dbg = format!("{c:?}");
        // base64("u:hunter2")
        assert!(!dbg.contains("hunter2") && !dbg.contains("dTpodW50ZXIy"), "{dbg}");
    }
}
