//! The menu operations both transports offer, behind one trait.

use std::future::Future;

use crate::client::{Client, ClientOptions};
use crate::proto::{Attrs, Command};
use crate::rest::{menu_path, RestClient};
use crate::{ApiError, Credentials, Endpoint};

/// Attribute with an item's internal id (`*1`, `*1F` ...).
pub const ID_ATTR: &str = ".id";
/// `!done` attribute with the id of the item `add` created.
const RET_ATTR: &str = "ret";
/// Parameter of `move` naming the item to move before.
const MOVE_DESTINATION_ATTR: &str = "destination";

/// Table operations on a RouterOS menu (`/ip/route`,
/// `/ipv6/firewall/filter`, `/ip/firewall/nat` ...), the same over the
/// classic API and REST.
///
/// `path` is the menu (`/ip/route`; a missing leading `/` or an extra
/// trailing one is tolerated). Ids are RouterOS internal ids as returned in
/// `.id` (`*1`). Every future is `Send`, so callers can spawn them.
pub trait RouterOs {
    /// Items of `path` whose properties equal all `query` pairs (an empty
    /// query returns every item). Classic API: `print` with `?name=value`
    /// words; REST: `GET` with `?name=value` parameters.
    fn print(&self, path: &str, query: &[(&str, &str)]) -> impl Future<Output = Result<Vec<Attrs>, ApiError>> + Send;

    /// Creates an item, returns its id. Classic API: `add`, `=ret=`; REST:
    /// `PUT`, `.id` of the created object.
    fn add(&self, path: &str, attrs: &[(&str, &str)]) -> impl Future<Output = Result<String, ApiError>> + Send;

    /// Changes properties of item `id`. Classic API: `set =.id=`; REST:
    /// `PATCH <path>/<id>`.
    fn set(&self, path: &str, id: &str, attrs: &[(&str, &str)]) -> impl Future<Output = Result<(), ApiError>> + Send;

    /// Removes item `id`. Classic API: `remove =.id=`; REST: `DELETE`.
    fn remove(&self, path: &str, id: &str) -> impl Future<Output = Result<(), ApiError>> + Send;

    /// Moves item `id` just before item `before_id` (firewall rule order).
    /// Classic API: `move =.id= =destination=`; REST: `POST <path>/move`
    /// with `.id` and `destination`, the REST API page's own example (REST
    /// is a JSON wrapper of the API, so both carry the same attributes).
    fn move_before(&self, path: &str, id: &str, before_id: &str) -> impl Future<Output = Result<(), ApiError>> + Send;
}

fn command(path: &str, verb: &str) -> Command {
    Command::new(&format!("{}/{verb}", menu_path(path)))
}

fn with_attrs(mut cmd: Command, attrs: &[(&str, &str)]) -> Command {
    for (k, v) in attrs {
        cmd = cmd.attr(k, v);
    }
    cmd
}

impl RouterOs for Client {
    async fn print(&self, path: &str, query: &[(&str, &str)]) -> Result<Vec<Attrs>, ApiError> {
        let mut cmd = command(path, "print");
        for (k, v) in query {
            cmd = cmd.where_eq(k, v);
        }
        Ok(self.execute(cmd).await?.rows)
    }

    async fn add(&self, path: &str, attrs: &[(&str, &str)]) -> Result<String, ApiError> {
        let done = self.execute(with_attrs(command(path, "add"), attrs)).await?.done;
        done.get(RET_ATTR)
            .cloned()
            .ok_or_else(|| ApiError::UnexpectedReply(format!("{}/add returned no ={RET_ATTR}=", menu_path(path))))
    }

    async fn set(&self, path: &str, id: &str, attrs: &[(&str, &str)]) -> Result<(), ApiError> {
        self.execute(with_attrs(command(path, "set").attr(ID_ATTR, id), attrs)).await.map(drop)
    }

    async fn remove(&self, path: &str, id: &str) -> Result<(), ApiError> {
        self.execute(command(path, "remove").attr(ID_ATTR, id)).await.map(drop)
    }

    async fn move_before(&self, path: &str, id: &str, before_id: &str) -> Result<(), ApiError> {
        let cmd = command(path, "move").attr(ID_ATTR, id).attr(MOVE_DESTINATION_ATTR, before_id);
        self.execute(cmd).await.map(drop)
    }
}

impl RouterOs for RestClient {
    async fn print(&self, path: &str, query: &[(&str, &str)]) -> Result<Vec<Attrs>, ApiError> {
        self.get(path, query).await
    }

    async fn add(&self, path: &str, attrs: &[(&str, &str)]) -> Result<String, ApiError> {
        self.put(path, attrs).await
    }

    async fn set(&self, path: &str, id: &str, attrs: &[(&str, &str)]) -> Result<(), ApiError> {
        self.patch(path, id, attrs).await
    }

    async fn remove(&self, path: &str, id: &str) -> Result<(), ApiError> {
        self.delete(path, id).await
    }

    async fn move_before(&self, path: &str, id: &str, before_id: &str) -> Result<(), ApiError> {
        RestClient::move_before(self, path, id, before_id).await
    }
}

/// A connection over whichever transport the URL names.
///
/// ```no_run
/// # async fn f() -> Result<(), routeros_api::ApiError> {
/// use routeros_api::{AnyClient, ClientOptions, Credentials, RouterOs};
/// let router = AnyClient::connect("apis://192.168.88.1", &Credentials::from_env()?, &ClientOptions::default()).await?;
/// let routes = router.print("/ip/route", &[("comment", "xlat")]).await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub enum AnyClient {
    /// `api://` or `apis://`.
    Api(Client),
    /// `http://` or `https://`.
    Rest(RestClient),
}

impl AnyClient {
    /// Parses `url` ([`Endpoint`]) and connects (classic API: connect and
    /// log in; REST: check the credentials with one request).
    pub async fn connect(url: &str, creds: &Credentials, opts: &ClientOptions) -> Result<Self, ApiError> {
        Self::connect_endpoint(&url.parse()?, creds, opts).await
    }

    /// Connects to an already parsed endpoint.
    pub async fn connect_endpoint(
        endpoint: &Endpoint,
        creds: &Credentials,
        opts: &ClientOptions,
    ) -> Result<Self, ApiError> {
        if endpoint.scheme.is_rest() {
            Ok(Self::Rest(RestClient::connect(endpoint, creds, opts).await?))
        } else {
            Ok(Self::Api(Client::connect(endpoint, creds, opts).await?))
        }
    }

    /// The router this client talks to.
    pub fn endpoint(&self) -> &Endpoint {
        match self {
            Self::Api(c) => c.endpoint(),
            Self::Rest(c) => c.endpoint(),
        }
    }
}

impl RouterOs for AnyClient {
    async fn print(&self, path: &str, query: &[(&str, &str)]) -> Result<Vec<Attrs>, ApiError> {
        match self {
            Self::Api(c) => c.print(path, query).await,
            Self::Rest(c) => RouterOs::print(c, path, query).await,
        }
    }

    async fn add(&self, path: &str, attrs: &[(&str, &str)]) -> Result<String, ApiError> {
        match self {
            Self::Api(c) => c.add(path, attrs).await,
            Self::Rest(c) => RouterOs::add(c, path, attrs).await,
        }
    }

    async fn set(&self, path: &str, id: &str, attrs: &[(&str, &str)]) -> Result<(), ApiError> {
        match self {
            Self::Api(c) => c.set(path, id, attrs).await,
            Self::Rest(c) => RouterOs::set(c, path, id, attrs).await,
        }
    }

    async fn remove(&self, path: &str, id: &str) -> Result<(), ApiError> {
        match self {
            Self::Api(c) => c.remove(path, id).await,
            Self::Rest(c) => RouterOs::remove(c, path, id).await,
        }
    }

    async fn move_before(&self, path: &str, id: &str, before_id: &str) -> Result<(), ApiError> {
        match self {
            Self::Api(c) => c.move_before(path, id, before_id).await,
            Self::Rest(c) => RouterOs::move_before(c, path, id, before_id).await,
        }
    }
}
