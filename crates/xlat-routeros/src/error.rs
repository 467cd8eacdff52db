//! The error type of provisioning, sorted by fault.

use routeros_api::ApiError;

/// Everything provisioning can fail with.
///
/// - **the operator's configuration**: [`Config`](Self::Config);
/// - **the router's state** (something we need is missing or malformed):
///   [`Router`](Self::Router);
/// - **talking to the router**: [`Api`](Self::Api) (connection, login,
///   `!trap`, REST errors; never holds a password).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A role configuration that cannot be provisioned (one line, naming
    /// the setting and what is accepted).
    #[error("{0}")]
    Config(String),
    /// The router lacks something the configuration refers to (the veth,
    /// the DHCPv6-PD pool ...), or answered with a value we cannot use.
    #[error("router: {0}")]
    Router(String),
    /// The RouterOS API failed.
    #[error("RouterOS API: {0}")]
    Api(#[from] ApiError),
    /// A change of a plan failed (the ones before it were written).
    #[error("applying `{change}`: {source}")]
    Apply {
        /// The change, as a console line.
        change: String,
        /// What the router said.
        source: ApiError,
    },
}

impl Error {
    pub(crate) fn config(msg: impl Into<String>) -> Self {
        Self::Config(msg.into())
    }

    pub(crate) fn router(msg: impl Into<String>) -> Self {
        Self::Router(msg.into())
    }
}
