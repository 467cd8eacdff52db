//! Login as RouterOS 6.43 and later do it.
//!
//! The manual ("API" page, "Initial login"): the client sends
//! `/login =name=<user> =password=<password>` in one sentence, the password
//! in plain text; the router answers `!done`, or `!trap =message=...` (then
//! `!done`) on failure. A router older than 6.43 answers the same sentence
//! with `!done =ret=<challenge>` instead, asking for the MD5
//! challenge-response login, which the manual says is no longer supported
//! after 6.45.1. This crate does not implement it and reports
//! [`LoginError::LegacyChallenge`].

use super::{Command, CommandError, Reply, Sentence};

/// The login command word.
pub const LOGIN_COMMAND: &str = "/login";
/// Attribute with the user name.
const NAME_ATTR: &str = "name";
/// Attribute with the password.
const PASSWORD_ATTR: &str = "password";
/// `!done` attribute carrying a pre-6.43 challenge.
const CHALLENGE_ATTR: &str = "ret";

/// Why a login failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LoginError {
    /// The router refused the credentials (`!trap`), with its message, e.g.
    /// `invalid user name or password (6)`.
    #[error("login refused: {0}")]
    Rejected(String),
    /// The router asked for the pre-6.43 MD5 challenge login.
    #[error(
        "the router asked for the legacy MD5 challenge login (RouterOS older than 6.43); \
         it is not supported: upgrade RouterOS"
    )]
    LegacyChallenge,
    /// The router closed the session (`!fatal`).
    #[error("router closed the session during login: {0}")]
    Fatal(String),
}

/// Sans-IO login exchange: send the sentence [`Login::start`] returns, then feed each reply
/// to [`Login::handle`] until it returns `Some`.
///
/// ```
/// use routeros_api::proto::{Login, Reply, Attrs};
/// let (mut login, sentence) = Login::start("admin", "").unwrap();
/// assert_eq!(sentence.words(), ["/login", "=name=admin", "=password="]);
/// assert_eq!(login.handle(&Reply::Done(Attrs::new())), Some(Ok(())));
/// ```
#[derive(Debug, Default)]
pub struct Login {
    refused: Option<String>,
}

impl Login {
    /// Builds the login sentence for `user` and `password`.
    pub fn start(user: &str, password: &str) -> Result<(Self, Sentence), CommandError> {
        let sentence = Command::new(LOGIN_COMMAND).attr(NAME_ATTR, user).attr(PASSWORD_ATTR, password).sentence()?;
        Ok((Self::default(), sentence))
    }

    /// Takes one reply; returns the outcome once the exchange is over.
    pub fn handle(&mut self, reply: &Reply) -> Option<Result<(), LoginError>> {
        match reply {
            Reply::Trap { message, .. } => {
                self.refused.get_or_insert_with(|| message.clone());
                None
            }
            Reply::Done(attrs) => Some(match self.refused.take() {
                Some(message) => Err(LoginError::Rejected(message)),
                None if attrs.contains_key(CHALLENGE_ATTR) => Err(LoginError::LegacyChallenge),
                None => Ok(()),
            }),
            Reply::Fatal(reason) => Some(Err(LoginError::Fatal(reason.clone()))),
            Reply::Re(_) | Reply::Empty => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::Attrs;

    #[test]
    fn refused_then_done() {
        let (mut login, _) = Login::start("admin", "wrong").unwrap();
        let trap = Reply::Trap { category: None, message: "invalid user name or password (6)".into() };
        assert_eq!(login.handle(&trap), None);
        assert_eq!(
            login.handle(&Reply::Done(Attrs::new())),
            Some(Err(LoginError::Rejected("invalid user name or password (6)".into())))
        );
    }

    /// A pre-6.43 router: `!done =ret=856780b7411eefd3abadee2058c149a3`
    /// (the challenge from the manual's example).
    #[test]
    fn legacy_challenge() {
        let (mut login, _) = Login::start("admin", "").unwrap();
        let done = Reply::Done(Attrs::from([("ret".into(), "856780b7411eefd3abadee2058c149a3".into())]));
        assert_eq!(login.handle(&done), Some(Err(LoginError::LegacyChallenge)));
    }

    #[test]
    fn fatal() {
        let (mut login, _) = Login::start("admin", "").unwrap();
        assert_eq!(login.handle(&Reply::Fatal("x".into())), Some(Err(LoginError::Fatal("x".into()))));
    }

    #[test]
    fn password_with_equals_and_spaces() {
        let (_, s) = Login::start("xlat", "a=b c").unwrap();
        assert_eq!(s.words()[2], "=password=a=b c");
    }
}
