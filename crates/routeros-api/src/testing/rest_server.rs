//! REST front end of the fake router: a tiny HTTP/1.1 server on hyper.

use std::convert::Infallible;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use base64::Engine as _;
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{AUTHORIZATION, CONTENT_TYPE};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{json, Map, Value};
use tokio::io::{AsyncRead, AsyncWrite};

use super::store::{op_for, split_command, Op, Outcome, Store, Trap, TrapKind, RET};
use super::RouterState;
use crate::proto::Attrs;
use crate::rest::REST_PREFIX;

/// Largest request body the fake router reads.
const MAX_REQUEST_BODY: usize = 1 << 20;
/// Scheme of the `Authorization` header.
const BASIC_PREFIX: &str = "Basic ";

type Reply = Response<Full<Bytes>>;

/// Serves one HTTP connection.
pub(crate) async fn serve<S>(stream: S, state: Arc<RouterState>)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = service_fn(move |req| {
        let state = state.clone();
        async move { Ok::<_, Infallible>(handle(&state, req).await) }
    });
    if let Err(e) = http1::Builder::new().serve_connection(TokioIo::new(stream), service).await {
        tracing::debug!(error = %e, "fake router: REST connection ended");
    }
}

fn json_reply(status: StatusCode, body: &Value) -> Reply {
    let mut resp = Response::new(Full::new(Bytes::from(body.to_string())));
    *resp.status_mut() = status;
    resp.headers_mut().insert(CONTENT_TYPE, hyper::header::HeaderValue::from_static("application/json"));
    resp
}

/// `{"error":code,"message":reason,"detail":...}` as the manual shows.
fn error(status: StatusCode, detail: Option<&str>) -> Reply {
    let mut body = json!({ "error": status.as_u16(), "message": status.canonical_reason().unwrap_or_default() });
    if let Some(d) = detail {
        body["detail"] = Value::String(d.to_owned());
    }
    json_reply(status, &body)
}

fn trap_reply(trap: &Trap, id_in_url: bool) -> Reply {
    match trap.kind {
        TrapKind::NoSuchItem if id_in_url => error(StatusCode::NOT_FOUND, None),
        _ => error(StatusCode::BAD_REQUEST, Some(&trap.message)),
    }
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn authorized(state: &RouterState, req: &Request<Incoming>) -> bool {
    let Some(token) =
        req.headers().get(AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix(BASIC_PREFIX))
    else {
        return false;
    };
    let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(token.trim()) else {
        return false;
    };
    let text = String::from_utf8_lossy(&decoded);
    let (user, password) = text.split_once(':').unwrap_or((&text, ""));
    state.check_user(user, password)
}

/// A JSON value as a string property.
fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// `.proplist` given as `"a,b"` or `["a","b"]`.
fn string_list(v: &Value) -> Vec<String> {
    match v {
        Value::Array(items) => items.iter().map(text).collect(),
        other => text(other).split(',').map(str::to_owned).collect(),
    }
}

async fn handle(state: &RouterState, req: Request<Incoming>) -> Reply {
    state.rest_requests.fetch_add(1, Ordering::Relaxed);
    if !authorized(state, &req) {
        return error(StatusCode::UNAUTHORIZED, None);
    }
    let method = req.method().clone();
    let path = percent_decode(req.uri().path());
    let Some(path) =
        path.strip_prefix(REST_PREFIX).filter(|p| p.starts_with('/')).map(|p| p.trim_end_matches('/').to_owned())
    else {
        return error(StatusCode::NOT_FOUND, None);
    };
    let params: Vec<(String, String)> = req
        .uri()
        .query()
        .unwrap_or_default()
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect();
    let body = match Limited::new(req.into_body(), MAX_REQUEST_BODY).collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => return error(StatusCode::PAYLOAD_TOO_LARGE, None),
    };
    let object: Map<String, Value> = if body.iter().all(u8::is_ascii_whitespace) {
        Map::new()
    } else {
        match serde_json::from_slice::<Value>(&body) {
            Ok(Value::Object(m)) => m,
            _ => return error(StatusCode::BAD_REQUEST, Some("expected a JSON object")),
        }
    };

    let (parent, last) = split_command(&path);
    let item = |store: &Store| store.is_table(parent) && last.starts_with('*');
    let mut store = state.store();
    match method {
        Method::GET if item(&store) => match store.get(parent, last) {
            Some(row) => json_reply(StatusCode::OK, &attrs_json(&row)),
            None => error(StatusCode::NOT_FOUND, None),
        },
        Method::GET => {
            let mut proplist = None;
            let mut query = Vec::new();
            for (k, v) in params {
                if k == ".proplist" {
                    proplist = Some(v.split(',').map(str::to_owned).collect());
                } else {
                    query.push(format!("{k}={v}"));
                }
            }
            match store.apply(&path, Op::Print { query, proplist }) {
                Ok(Outcome::Rows(rows)) => {
                    json_reply(StatusCode::OK, &Value::Array(rows.iter().map(attrs_json).collect()))
                }
                Ok(_) => json_reply(StatusCode::OK, &json!([])),
                Err(trap) => trap_reply(&trap, false),
            }
        }
        Method::PUT => {
            let attrs: Attrs = object.iter().map(|(k, v)| (k.clone(), text(v))).collect();
            match store.apply(&path, Op::Add(attrs)) {
                Ok(Outcome::Created(id)) => {
                    let row = store.get(&path, &id).unwrap_or_default();
                    json_reply(StatusCode::OK, &attrs_json(&row))
                }
                Ok(_) => json_reply(StatusCode::OK, &json!([])),
                Err(trap) => trap_reply(&trap, false),
            }
        }
        Method::PATCH if item(&store) => {
            let attrs: Attrs = object.iter().map(|(k, v)| (k.clone(), text(v))).collect();
            match store.apply(parent, Op::Set { ids: vec![last.to_owned()], attrs }) {
                Ok(_) => json_reply(StatusCode::OK, &attrs_json(&store.get(parent, last).unwrap_or_default())),
                Err(trap) => trap_reply(&trap, true),
            }
        }
        Method::DELETE if item(&store) => match store.apply(parent, Op::Remove { ids: vec![last.to_owned()] }) {
            Ok(_) => {
                Response::builder().status(StatusCode::NO_CONTENT).body(Full::new(Bytes::new())).unwrap_or_default()
            }
            Err(trap) => trap_reply(&trap, true),
        },
        Method::POST => {
            let mut attrs = Attrs::new();
            let mut query = Vec::new();
            for (k, v) in &object {
                match k.as_str() {
                    ".query" => query = string_list(v),
                    ".proplist" => {
                        attrs.insert(k.clone(), string_list(v).join(","));
                    }
                    _ => {
                        attrs.insert(k.clone(), text(v));
                    }
                }
            }
            let result = op_for(last, attrs, query).and_then(|op| store.apply(parent, op));
            match result {
                Ok(Outcome::Rows(rows)) => {
                    json_reply(StatusCode::OK, &Value::Array(rows.iter().map(attrs_json).collect()))
                }
                Ok(Outcome::Created(id)) => json_reply(StatusCode::OK, &json!({ RET: id })),
                Ok(Outcome::Done) => json_reply(StatusCode::OK, &json!([])),
                Err(trap) => trap_reply(&trap, false),
            }
        }
        _ => error(
            StatusCode::BAD_REQUEST,
            Some(&format!("no such command or directory ({})", method.as_str().to_lowercase())),
        ),
    }
}

fn attrs_json(row: &Attrs) -> Value {
    Value::Object(row.iter().map(|(k, v)| (k.clone(), Value::String(v.clone()))).collect())
}
