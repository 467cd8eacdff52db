//! The two translators an image can carry. Each image carries one: the
//! role's binary is the image's entrypoint (`/clat` or `/plat`) and `run`
//! (the daemon) its default command. One role per image because both
//! binaries together do not fit the 5 MB budget of a small router (see
//! container/README.md), and a customer router never runs the PLAT.

/// Which translator an image carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// Customer side (RFC 6877 CLAT): `/clat`.
    Clat,
    /// Provider side (RFC 6146 NAT64 as PLAT): `/plat`.
    Plat,
}

impl Role {
    /// Every role.
    pub const ALL: [Role; 2] = [Role::Clat, Role::Plat];

    /// The role's name: its binary's file name in the image and crate.
    pub fn name(self) -> &'static str {
        match self {
            Role::Clat => "clat",
            Role::Plat => "plat",
        }
    }

    /// Parses `clat` or `plat`.
    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "clat" => Some(Role::Clat),
            "plat" => Some(Role::Plat),
            _ => None,
        }
    }

    /// Repository of the image tag, also the file name stem: `xlat` for
    /// the CLAT (the image most routers need), `xlat-plat` for the PLAT.
    pub fn repository(self) -> &'static str {
        match self {
            Role::Clat => "xlat",
            Role::Plat => "xlat-plat",
        }
    }

    /// The image's `Entrypoint`: the role's binary.
    pub fn entrypoint(self) -> Vec<String> {
        vec![format!("/{}", self.name())]
    }

    /// The image's default `Cmd`: the daemon. RouterOS `cmd=` replaces
    /// it (`cmd="run --tun-mtu 1400"`, `cmd="--version"`).
    pub fn cmd(self) -> Vec<String> {
        vec!["run".into()]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_images() {
        for r in Role::ALL {
            assert_eq!(Role::parse(r.name()), Some(r));
        }
        assert_eq!(Role::parse("nat64"), None);
        assert_eq!(Role::Clat.repository(), "xlat");
        assert_eq!(Role::Plat.entrypoint(), ["/plat"]);
        assert_eq!(Role::Plat.cmd(), ["run"]);
    }
}
