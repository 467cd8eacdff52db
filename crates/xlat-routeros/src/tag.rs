//! Ownership: the comment tag every object we create carries.
//!
//! An object is ours when its `comment` is exactly `xlat:<role>:<instance>`
//! or starts with that tag followed by a space (a human suffix such as
//! `xlat:clat:default lan-to-clat`). Nothing else is ever changed or
//! removed: `xlat:clat:default2` and `xlat:clat:defaults` are not
//! `xlat:clat:default`.

use std::fmt;
use std::str::FromStr;

use crate::Error;

/// First field of every tag.
pub const TAG_PREFIX: &str = "xlat";
/// Instance used when none is configured.
pub const DEFAULT_INSTANCE: &str = "default";
/// Longest accepted instance name.
const MAX_INSTANCE_LEN: usize = 32;

/// Which translator the objects serve.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// Customer side (RFC 6877 CLAT).
    Clat,
    /// Provider side (RFC 6146 NAT64 as PLAT).
    Plat,
}

impl Role {
    /// `clat` or `plat`.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Clat => "clat",
            Role::Plat => "plat",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        match s {
            "clat" => Ok(Role::Clat),
            "plat" => Ok(Role::Plat),
            _ => Err(Error::config(format!("unknown role {s:?}: use clat or plat"))),
        }
    }
}

/// `xlat:<role>:<instance>`: marks, finds and names what we own.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Tag {
    role: Role,
    instance: String,
}

impl Tag {
    /// A tag; the instance is 1 to 32 characters from `A-Z a-z 0-9 - _`
    /// (it ends up in comments, address-list names and option names).
    pub fn new(role: Role, instance: &str) -> Result<Self, Error> {
        let ok = !instance.is_empty()
            && instance.len() <= MAX_INSTANCE_LEN
            && instance.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !ok {
            return Err(Error::config(format!(
                "invalid instance name {instance:?}: use 1 to {MAX_INSTANCE_LEN} characters from A-Z a-z 0-9 - _"
            )));
        }
        Ok(Self { role, instance: instance.to_owned() })
    }

    /// The role.
    pub fn role(&self) -> Role {
        self.role
    }

    /// The instance name.
    pub fn instance(&self) -> &str {
        &self.instance
    }

    /// The bare tag, `xlat:clat:default`.
    pub fn comment(&self) -> String {
        format!("{TAG_PREFIX}:{}:{}", self.role, self.instance)
    }

    /// The tag with a human suffix, `xlat:clat:default lan-to-clat`.
    pub fn comment_with(&self, what: &str) -> String {
        format!("{} {what}", self.comment())
    }

    /// Whether `comment` marks an object of ours.
    pub fn owns(&self, comment: &str) -> bool {
        let tag = self.comment();
        comment.strip_prefix(&tag).is_some_and(|rest| rest.is_empty() || rest.starts_with(' '))
    }

    /// A name derived from the tag for objects referred to by name
    /// (address lists, DHCP options): `xlat-plat-default-nonglobal`.
    pub fn name(&self, what: &str) -> String {
        format!("{TAG_PREFIX}-{}-{}-{what}", self.role, self.instance)
    }
}

impl fmt::Display for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.comment())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owns_exact_tag_and_suffixes_only() {
        let t = Tag::new(Role::Clat, "default").unwrap();
        assert_eq!(t.comment(), "xlat:clat:default");
        assert!(t.owns("xlat:clat:default"));
        assert!(t.owns("xlat:clat:default lan-to-clat"));
        for other in
            ["xlat:clat:default2", "xlat:clat:defaults x", "xlat:plat:default", "", "defconf", " xlat:clat:default"]
        {
            assert!(!t.owns(other), "{other:?}");
        }
    }

    #[test]
    fn instance_names_are_checked() {
        assert!(Tag::new(Role::Plat, "isp-1_b").is_ok());
        for bad in ["", "a b", "a:b", "x\"y", &"x".repeat(33)] {
            assert!(Tag::new(Role::Plat, bad).is_err(), "{bad:?}");
        }
        assert_eq!(Tag::new(Role::Plat, "a").unwrap().name("nonglobal"), "xlat-plat-a-nonglobal");
        assert_eq!("plat".parse::<Role>().unwrap(), Role::Plat);
        assert!("nat64".parse::<Role>().is_err());
    }
}
