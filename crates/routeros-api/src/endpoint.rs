//! Router URLs: the scheme picks the transport.
//!
//! | URL                 | transport                          | default port |
//! |---------------------|------------------------------------|--------------|
//! | `api://host`        | classic API over TCP (`api`)       | 8728         |
//! | `apis://host`       | classic API over TLS (`api-ssl`)   | 8729         |
//! | `http://host`       | REST over HTTP (`www`, RouterOS 7.9+) | 80        |
//! | `https://host`      | REST over HTTPS (`www-ssl`)        | 443          |
//!
//! Ports are the defaults of `/ip/service` given by the RouterOS manual.
//! Hosts are names, IPv4 addresses or bracketed IPv6 addresses
//! (`api://[fe80::1%veth1]:8728` is not supported: zone ids need a name).
//! User names and passwords are refused in the URL: a URL ends up in logs,
//! credentials come from [`Credentials`](crate::Credentials).

use std::fmt;
use std::str::FromStr;

use crate::ApiError;

/// Default port of the `api` service (classic API over TCP).
pub const API_PORT: u16 = 8728;
/// Default port of the `api-ssl` service (classic API over TLS).
pub const API_SSL_PORT: u16 = 8729;
/// Default port of the `www` service (REST over HTTP, RouterOS 7.9+).
pub const HTTP_PORT: u16 = 80;
/// Default port of the `www-ssl` service (REST over HTTPS).
pub const HTTPS_PORT: u16 = 443;

/// Separates the scheme from the rest of the URL.
const SCHEME_SEPARATOR: &str = "://";

/// Transport selected by the URL scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scheme {
    /// `api://`: classic API over TCP.
    Api,
    /// `apis://`: classic API over TLS.
    ApiSsl,
    /// `http://`: REST over HTTP.
    Http,
    /// `https://`: REST over HTTPS.
    Https,
}

impl Scheme {
    /// The URL scheme string.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Api => "api",
            Self::ApiSsl => "apis",
            Self::Http => "http",
            Self::Https => "https",
        }
    }

    /// The default port of the matching RouterOS service.
    pub fn default_port(self) -> u16 {
        match self {
            Self::Api => API_PORT,
            Self::ApiSsl => API_SSL_PORT,
            Self::Http => HTTP_PORT,
            Self::Https => HTTPS_PORT,
        }
    }

    /// Whether the transport is encrypted.
    pub fn is_tls(self) -> bool {
        matches!(self, Self::ApiSsl | Self::Https)
    }

    /// Whether this is the REST API (as opposed to the classic API).
    pub fn is_rest(self) -> bool {
        matches!(self, Self::Http | Self::Https)
    }
}

/// A parsed router URL: scheme, host and port.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Endpoint {
    /// Transport.
    pub scheme: Scheme,
    /// Host name or IP address (IPv6 without brackets).
    pub host: String,
    /// TCP port.
    pub port: u16,
}

impl Endpoint {
    /// An endpoint from its parts.
    pub fn new(scheme: Scheme, host: impl Into<String>, port: u16) -> Self {
        Self { scheme, host: host.into(), port }
    }

    /// `host:port` for connecting (IPv6 hosts in brackets).
    pub fn authority(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{SCHEME_SEPARATOR}{}", self.scheme.as_str(), self.authority())
    }
}

impl FromStr for Endpoint {
    type Err = ApiError;

    fn from_str(url: &str) -> Result<Self, ApiError> {
        let bad = |reason: &str| ApiError::InvalidUrl { url: redact_userinfo(url), reason: reason.to_owned() };
        let (scheme, rest) = url
            .split_once(SCHEME_SEPARATOR)
            .ok_or_else(|| bad("expected api://, apis://, http:// or https:// followed by the host"))?;
        let scheme = match scheme.to_ascii_lowercase().as_str() {
            "api" => Scheme::Api,
            "apis" => Scheme::ApiSsl,
            "http" => Scheme::Http,
            "https" => Scheme::Https,
            _ => return Err(bad("unknown scheme; use api, apis, http or https")),
        };
        let authority = rest.strip_suffix('/').unwrap_or(rest);
        if authority.contains('/') || authority.contains('?') || authority.contains('#') {
            return Err(bad("a path, query or fragment is not accepted: give scheme://host[:port] only"));
        }
        if authority.contains('@') {
            return Err(bad("credentials do not belong in the URL (it gets logged); use the user/password settings"));
        }
        let (host, port) = if let Some(after) = authority.strip_prefix('[') {
            let (host, tail) = after.split_once(']').ok_or_else(|| bad("unclosed '[' in IPv6 host"))?;
            if host.parse::<std::net::Ipv6Addr>().is_err() {
                return Err(bad("bracketed host is not an IPv6 address"));
            }
            let port = match tail {
                "" => None,
                t => Some(t.strip_prefix(':').ok_or_else(|| bad("expected ':port' after ']'"))?),
            };
            (host, port)
        } else {
            match authority.rsplit_once(':') {
                Some((h, _)) if h.contains(':') => return Err(bad("IPv6 hosts must be in brackets: [2001:db8::1]")),
                Some((h, p)) => (h, Some(p)),
                None => (authority, None),
            }
        };
        if host.is_empty() {
            return Err(bad("empty host"));
        }
        let port = match port {
            None => scheme.default_port(),
            Some(p) => p.parse::<u16>().ok().filter(|&p| p != 0).ok_or_else(|| bad("port must be 1-65535"))?,
        };
        Ok(Self { scheme, host: host.to_owned(), port })
    }
}

/// `scheme://user:pw@host` becomes `scheme://***@host`, so a mistaken URL
/// never puts a password in an error message.
fn redact_userinfo(url: &str) -> String {
    match (url.find(SCHEME_SEPARATOR), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            format!("{}{SCHEME_SEPARATOR}***{}", &url[..s], &url[at..])
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ep(s: &str) -> Endpoint {
        s.parse().unwrap()
    }

    #[test]
    fn default_ports() {
        assert_eq!(ep("api://192.168.88.1"), Endpoint::new(Scheme::Api, "192.168.88.1", 8728));
        assert_eq!(ep("apis://router.lan"), Endpoint::new(Scheme::ApiSsl, "router.lan", 8729));
        assert_eq!(ep("http://router.lan/"), Endpoint::new(Scheme::Http, "router.lan", 80));
        assert_eq!(ep("HTTPS://router.lan"), Endpoint::new(Scheme::Https, "router.lan", 443));
    }

    #[test]
    fn explicit_ports_and_ipv6() {
        assert_eq!(ep("api://10.0.0.1:18728"), Endpoint::new(Scheme::Api, "10.0.0.1", 18728));
        assert_eq!(ep("apis://[2001:db8::1]"), Endpoint::new(Scheme::ApiSsl, "2001:db8::1", 8729));
        assert_eq!(ep("https://[::1]:8443"), Endpoint::new(Scheme::Https, "::1", 8443));
        assert_eq!(ep("https://[::1]:8443").to_string(), "https://[::1]:8443");
        assert_eq!(ep("api://h:1").authority(), "h:1");
    }

    #[test]
    fn rejected() {
        for bad in [
            "192.168.88.1",
            "ftp://h",
            "api://",
            "api://:8728",
            "api://h:0",
            "api://h:70000",
            "api://h:x",
            "api://admin:pw@h",
            "https://h/rest",
            "https://h?x",
            "api://2001:db8::1",
            "api://[2001:db8::1",
            "api://[nothex]",
            "api://[::1]8728",
        ] {
            assert!(bad.parse::<Endpoint>().is_err(), "{bad} should be rejected");
        }
    }

    #[test]
    fn error_names_the_url_but_not_secrets() {
        let e = "api://admin:hunter2@h".parse::<Endpoint>().unwrap_err().to_string();
        assert!(e.contains("credentials do not belong"), "{e}");
        assert!(!e.contains("hunter2"), "{e}");
        assert!(e.contains("api://***@h"), "{e}");
    }
}
