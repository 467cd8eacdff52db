//! The error type of both transports, sorted by fault.

use std::time::Duration;

use crate::proto::{CommandError, LoginError, ProtoError};

/// Everything that can go wrong talking to a router.
///
/// Sorted by whose fault it is:
///
/// - **the caller's configuration**: [`InvalidUrl`](Self::InvalidUrl),
///   [`InvalidCommand`](Self::InvalidCommand), [`Tls`](Self::Tls) (bad CA
///   file), [`Credentials`](Self::Credentials);
/// - **the environment**: [`Connect`](Self::Connect), [`Io`](Self::Io),
///   [`Timeout`](Self::Timeout), [`Closed`](Self::Closed);
/// - **the router's answer**: [`Login`](Self::Login),
///   [`LegacyLogin`](Self::LegacyLogin), [`Trap`](Self::Trap),
///   [`Fatal`](Self::Fatal), [`Http`](Self::Http);
/// - **malformed bytes from the router**: [`Protocol`](Self::Protocol),
///   [`UnexpectedReply`](Self::UnexpectedReply).
///
/// No variant ever holds a password.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ApiError {
    /// The router URL cannot be used.
    #[error("invalid RouterOS URL {url:?}: {reason}")]
    InvalidUrl {
        /// The URL as given.
        url: String,
        /// What is wrong and what is accepted.
        reason: String,
    },
    /// A command, attribute or query word cannot be encoded.
    #[error("invalid command: {0}")]
    InvalidCommand(#[from] CommandError),
    /// TLS configuration problem (unreadable CA file, no trust anchor ...).
    #[error("TLS configuration: {0}")]
    Tls(String),
    /// Credentials could not be loaded (missing variable, unreadable file).
    #[error("credentials: {0}")]
    Credentials(String),
    /// TCP connect, TLS handshake or connect timeout.
    #[error("cannot connect to {endpoint}: {reason}")]
    Connect {
        /// The endpoint, without credentials.
        endpoint: String,
        /// Why.
        reason: String,
    },
    /// The connection failed after it was established.
    #[error("connection I/O: {0}")]
    Io(#[from] std::io::Error),
    /// No reply within the per-command timeout.
    #[error("{command} got no reply within {after:?}")]
    Timeout {
        /// The command (or REST method and path).
        command: String,
        /// The timeout in force.
        after: Duration,
    },
    /// The connection is closed (after `!fatal`, an I/O error or a
    /// protocol error); the client must reconnect.
    #[error("connection closed: {reason}")]
    Closed {
        /// What closed it.
        reason: String,
    },
    /// The router refused the login (classic API `!trap`, REST 401).
    #[error("login refused by the router: {message}")]
    Login {
        /// The router's message, e.g. `invalid user name or password (6)`.
        message: String,
    },
    /// The router wants the pre-6.43 MD5 challenge login, not supported.
    #[error(
        "the router asked for the legacy MD5 challenge login (RouterOS older than 6.43), \
         which is not supported: upgrade RouterOS"
    )]
    LegacyLogin,
    /// The command failed: `!trap` from the classic API.
    #[error("router error{}: {message}", category.map(|c| format!(" (category {c})")).unwrap_or_default())]
    Trap {
        /// `=category=`, if sent (0 missing item or command, 1 argument
        /// value failure, ...).
        category: Option<u32>,
        /// `=message=`.
        message: String,
    },
    /// `!fatal`: the router closed the connection.
    #[error("router closed the connection: {0}")]
    Fatal(String),
    /// The REST API answered with an HTTP error status.
    #[error("REST error {status} {message}{}", detail.as_ref().map(|d| format!(": {d}")).unwrap_or_default())]
    Http {
        /// HTTP status.
        status: u16,
        /// `message` of the JSON error body (or the reason phrase).
        message: String,
        /// `detail` of the JSON error body, if any.
        detail: Option<String>,
    },
    /// Malformed bytes or sentences from the router.
    #[error("protocol error: {0}")]
    Protocol(#[from] ProtoError),
    /// A well-formed reply that does not fit the request (an `add` without
    /// `ret`, JSON that is not an object ...).
    #[error("unexpected reply: {0}")]
    UnexpectedReply(String),
}

impl ApiError {
    /// The router's own text for a failed command (`!trap` message or REST
    /// `detail`/`message`), if this is such an error.
    pub fn router_message(&self) -> Option<&str> {
        match self {
            Self::Trap { message, .. } | Self::Login { message } => Some(message),
            Self::Http { detail: Some(d), .. } => Some(d),
            Self::Http { message, .. } => Some(message),
            _ => None,
        }
    }
}

impl From<LoginError> for ApiError {
    fn from(e: LoginError) -> Self {
        match e {
            LoginError::Rejected(message) => Self::Login { message },
            LoginError::LegacyChallenge => Self::LegacyLogin,
            LoginError::Fatal(reason) => Self::Fatal(reason),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display() {
        let e = ApiError::Trap { category: Some(1), message: "input does not match".into() };
        assert_eq!(e.to_string(), "router error (category 1): input does not match");
        let e = ApiError::Trap { category: None, message: "x".into() };
        assert_eq!(e.to_string(), "router error: x");
        let e = ApiError::Http { status: 404, message: "Not Found".into(), detail: None };
        assert_eq!(e.to_string(), "REST error 404 Not Found");
        assert_eq!(e.router_message(), Some("Not Found"));
    }
}
