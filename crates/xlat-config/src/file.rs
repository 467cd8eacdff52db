//! The TOML configuration file: the same keys as the long flags.

use std::path::Path;

use serde::Deserialize;

use crate::Error;

/// The settings a TOML file may hold. Strings are parsed later, with the
/// same parsers (and messages) as the flags; numbers and booleans are typed
/// by TOML itself.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct FileSettings {
    pub(crate) pool6: Option<String>,
    pub(crate) eam: Option<Vec<String>>,
    pub(crate) ipv4_addr: Option<String>,
    pub(crate) ipv6_addr: Option<String>,
    pub(crate) rfc6791_v4: Option<String>,
    pub(crate) rfc6791_v6: Option<String>,
    pub(crate) mtu_v6: Option<u16>,
    pub(crate) mtu_v4: Option<u16>,
    pub(crate) lowest_ipv6_mtu: Option<u16>,
    pub(crate) udp_zero_checksum: Option<String>,
    pub(crate) wkp_strict: Option<bool>,
    pub(crate) copy_traffic_class: Option<bool>,
    pub(crate) icmp_errors: Option<bool>,
    pub(crate) eam_hairpin: Option<bool>,
    pub(crate) mss_clamp: Option<MssValue>,
    pub(crate) icmp_error_rate: Option<u32>,
    /// `[clat]`: daemon settings of the CLAT, read by [`crate::load_section`].
    #[allow(dead_code)]
    pub(crate) clat: Option<toml::Table>,
    /// `[plat]`: daemon settings of the PLAT, read by [`crate::load_section`].
    #[allow(dead_code)]
    pub(crate) plat: Option<toml::Table>,
}

/// `mss-clamp = 1220` or `mss-clamp = "auto"`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(crate) enum MssValue {
    /// An MSS in bytes.
    Bytes(u16),
    /// `"off"`, `"auto"` (or a number written as a string).
    Text(String),
}

impl MssValue {
    /// The value as the command line would spell it.
    pub(crate) fn to_text(&self) -> String {
        match self {
            Self::Bytes(n) => n.to_string(),
            Self::Text(s) => s.clone(),
        }
    }
}

impl FileSettings {
    /// Reads and parses `path`.
    pub(crate) fn load(path: &Path) -> Result<Self, Error> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::ReadFile { path: path.to_owned(), source })?;
        Self::parse(&text).map_err(|(line, message)| Error::ParseFile { path: path.to_owned(), line, message })
    }

    /// Parses TOML text; on error, the 1-based line and a one-line message.
    fn parse(text: &str) -> Result<Self, (usize, String)> {
        toml::from_str(text).map_err(|e: toml::de::Error| {
            let at = e.span().map_or(0, |span| span.start);
            let line = 1 + text.as_bytes()[..at.min(text.len())].iter().filter(|b| **b == b'\n').count();
            let message = e.message().split_whitespace().collect::<Vec<_>>().join(" ");
            (line, message)
        })
    }
}

/// Reads the `[name]` table of the TOML file at `path` into `T` (a role's
/// daemon settings, keys spelled like its long flags). A missing table is
/// `T::default()`; unknown keys are errors if `T` denies them.
pub fn load_section<T: serde::de::DeserializeOwned + Default>(path: &Path, name: &str) -> Result<T, Error> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::ReadFile { path: path.to_owned(), source })?;
    let table: toml::Table = toml::from_str(&text).map_err(|e: toml::de::Error| Error::ParseFile {
        path: path.to_owned(),
        line: 0,
        message: e.message().split_whitespace().collect::<Vec<_>>().join(" "),
    })?;
    match table.get(name) {
        None => Ok(T::default()),
        Some(v) => v.clone().try_into().map_err(|e: toml::de::Error| Error::ParseFile {
            path: path.to_owned(),
            line: 0,
            message: format!("[{name}]: {}", e.message().split_whitespace().collect::<Vec<_>>().join(" ")),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_spelled_like_the_flags() {
        let f = FileSettings::parse(
            "pool6 = \"2001:db8:64::/96\"\neam = [\"192.0.0.1/32=2001:db8:aaaa::1/128\"]\n\
             mtu-v6 = 1280\nwkp-strict = false\nrfc6791-v4 = \"192.0.0.8\"\nmss-clamp = 1220\n",
        )
        .unwrap();
        assert_eq!(f.pool6.as_deref(), Some("2001:db8:64::/96"));
        assert_eq!(f.eam.map(|e| e.len()), Some(1));
        assert_eq!(f.mtu_v6, Some(1280));
        assert_eq!(f.wkp_strict, Some(false));
        assert_eq!(f.rfc6791_v4.as_deref(), Some("192.0.0.8"));
        assert_eq!(f.mss_clamp.map(|m| m.to_text()).as_deref(), Some("1220"));
        let auto = FileSettings::parse("mss-clamp = \"auto\"\n").unwrap();
        assert_eq!(auto.mss_clamp.map(|m| m.to_text()).as_deref(), Some("auto"));
    }

    #[test]
    fn unknown_key_is_named_with_its_line() {
        let (line, message) = FileSettings::parse("pool6 = \"2001:db8:64::/96\"\npool7 = 1\n").unwrap_err();
        assert_eq!(line, 2);
        assert!(message.contains("pool7"), "{message}");
        assert!(!message.contains('\n'));
    }

    #[test]
    fn wrong_type_is_an_error() {
        let (line, message) = FileSettings::parse("\n\nmtu-v6 = \"big\"\n").unwrap_err();
        assert_eq!(line, 3);
        assert!(message.contains("u16") || message.contains("integer"), "{message}");
    }
}
