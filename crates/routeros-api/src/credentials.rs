//! Router credentials, never logged.

use std::fmt;
use std::path::Path;

use crate::ApiError;

/// Environment variable with the RouterOS user name.
pub const ENV_USER: &str = "XLAT_ROUTEROS_USER";
/// Environment variable with the password (prefer [`ENV_PASSWORD_FILE`]).
pub const ENV_PASSWORD: &str = "XLAT_ROUTEROS_PASSWORD";
/// Environment variable naming a file that holds the password.
pub const ENV_PASSWORD_FILE: &str = "XLAT_ROUTEROS_PASSWORD_FILE";

/// Largest password file accepted: a password, not a data file.
const MAX_SECRET_FILE_LEN: u64 = 4096;
/// Shown instead of the password by `Debug`.
const REDACTED: &str = "<redacted>";

/// A RouterOS user name and password.
///
/// `Debug` prints the user and `<redacted>` for the password; there is no
/// `Display`. Keep it that way: the classic API on port 8728 and REST over
/// plain HTTP send the password in clear, a log must not.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    user: String,
    password: String,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials").field("user", &self.user).field("password", &REDACTED).finish()
    }
}

impl Credentials {
    /// Credentials from values (command-line arguments, configuration).
    pub fn new(user: impl Into<String>, password: impl Into<String>) -> Self {
        Self { user: user.into(), password: password.into() }
    }

    /// The password is the content of `path`, without one trailing newline
    /// (`\n` or `\r\n`), as secret files and container secrets are written.
    pub fn with_password_file(user: impl Into<String>, path: &Path) -> Result<Self, ApiError> {
        Ok(Self::new(user, read_secret_file(path)?))
    }

    /// Reads [`ENV_USER`] and either [`ENV_PASSWORD_FILE`] or
    /// [`ENV_PASSWORD`] (the file wins when both are set). A missing
    /// password means the empty password (RouterOS's default `admin` has
    /// none).
    pub fn from_env() -> Result<Self, ApiError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// [`from_env`](Self::from_env) over any lookup function (for tests and
    /// for configuration layers that merge several sources).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ApiError> {
        let user = lookup(ENV_USER)
            .filter(|u| !u.is_empty())
            .ok_or_else(|| ApiError::Credentials(format!("{ENV_USER} is not set")))?;
        match (lookup(ENV_PASSWORD_FILE).filter(|p| !p.is_empty()), lookup(ENV_PASSWORD)) {
            (Some(file), _) => Self::with_password_file(user, Path::new(&file)),
            (None, password) => Ok(Self::new(user, password.unwrap_or_default())),
        }
    }

    /// The user name.
    pub fn user(&self) -> &str {
        &self.user
    }

    /// The password. Do not log it.
    pub fn password(&self) -> &str {
        &self.password
    }
}

fn read_secret_file(path: &Path) -> Result<String, ApiError> {
    let err = |why: String| ApiError::Credentials(format!("password file {}: {why}", path.display()));
    let meta = std::fs::metadata(path).map_err(|e| err(e.to_string()))?;
    if meta.len() > MAX_SECRET_FILE_LEN {
        return Err(err(format!("larger than {MAX_SECRET_FILE_LEN} bytes, not a password file")));
    }
    let text = std::fs::read_to_string(path).map_err(|e| err(e.to_string()))?;
    let text = text.strip_suffix('\n').map(|t| t.strip_suffix('\r').unwrap_or(t)).unwrap_or(&text);
    Ok(text.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn debug_redacts_the_password() {
        let c = Credentials::new("xlat", "hunter2");
        let dbg = format!("{c:?}");
        assert!(!dbg.contains("hunter2"), "{dbg}");
        assert!(dbg.contains("xlat") && dbg.contains(REDACTED), "{dbg}");
    }

    #[test]
    fn from_lookup_prefers_the_file() {
        let dir = std::env::temp_dir().join(format!("routeros-api-cred-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("pw");
        std::fs::write(&file, "s3cret=x\r\n").unwrap();
        let env = HashMap::from([
            (ENV_USER, "xlat".to_owned()),
            (ENV_PASSWORD, "ignored".to_owned()),
            (ENV_PASSWORD_FILE, file.display().to_string()),
        ]);
        let c = Credentials::from_lookup(|k| env.get(k).cloned()).unwrap();
        assert_eq!((c.user(), c.password()), ("xlat", "s3cret=x"));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn from_lookup_plain_and_missing() {
        let env = HashMap::from([(ENV_USER, "admin".to_owned())]);
        let c = Credentials::from_lookup(|k| env.get(k).cloned()).unwrap();
        assert_eq!(c.password(), "");
        assert!(Credentials::from_lookup(|_| None).is_err());
        let env = HashMap::from([(ENV_USER, "a".to_owned()), (ENV_PASSWORD_FILE, "/nonexistent/pw".to_owned())]);
        let e = Credentials::from_lookup(|k| env.get(k).cloned()).unwrap_err().to_string();
        assert!(e.contains("/nonexistent/pw"), "{e}");
    }
}
