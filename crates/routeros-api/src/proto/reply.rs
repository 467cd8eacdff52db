//! Reply sentences (`!re`, `!done`, `!trap`, `!fatal`, `!empty`).

use std::collections::BTreeMap;

use super::{ProtoError, Sentence};

/// Properties of one item, or the attributes of a `!done` (`ret`).
///
/// RouterOS gives no meaning to attribute order, so a sorted map is used.
/// All values are strings, as on the wire (and as the REST API returns them).
pub type Attrs = BTreeMap<String, String>;

/// Reply words.
mod word {
    /// Data reply: one item.
    pub(super) const RE: &str = "!re";
    /// Last reply of every command.
    pub(super) const DONE: &str = "!done";
    /// Error or exceptional condition; a `!done` follows.
    pub(super) const TRAP: &str = "!trap";
    /// The router closes the connection.
    pub(super) const FATAL: &str = "!fatal";
    /// RouterOS 7.18+: the command has no data to reply with.
    pub(super) const EMPTY: &str = "!empty";
    /// First character of every reply word.
    pub(super) const REPLY_PREFIX: char = '!';
    /// First character of an attribute word.
    pub(super) const ATTR_PREFIX: char = '=';
    /// API attribute word carrying the tag.
    pub(super) const TAG_PREFIX: &str = ".tag=";
    /// Trap attribute with the error category.
    pub(super) const CATEGORY: &str = "category";
    /// Trap attribute with the error text.
    pub(super) const MESSAGE: &str = "message";
}

/// A parsed reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// `!re`: one item (for `print`), or one update (for `listen`).
    Re(Attrs),
    /// `!done`: the command finished. Attributes carry results such as
    /// `ret` (the `.id` of an item `add` created).
    Done(Attrs),
    /// `!trap`: the command failed. A `!done` still follows.
    Trap {
        /// `=category=`, when RouterOS sends one: 0 missing item or command,
        /// 1 argument value failure, 2 execution interrupted, 3 scripting
        /// failure, 4 general failure, 5 API failure, 6 TTY failure,
        /// 7 value of `:return`.
        category: Option<u32>,
        /// `=message=`, empty if absent.
        message: String,
    },
    /// `!fatal`: the router closes the connection; the reason follows as a
    /// bare word (`session terminated on request`).
    Fatal(String),
    /// `!empty` (RouterOS 7.18+): the command has no data; `!done` follows.
    Empty,
}

/// A reply and the tag of the command it answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplySentence {
    /// Value of `.tag=`, if the reply carries one.
    pub tag: Option<String>,
    /// The reply.
    pub reply: Reply,
}

/// Splits `=name=value` (already stripped of its leading `=`) at the first
/// `=`. A word without a second `=` is an attribute without value.
fn split_attr(body: &str) -> (&str, &str) {
    body.split_once(word::ATTR_PREFIX).unwrap_or((body, ""))
}

impl ReplySentence {
    /// Parses a reply sentence. Unknown words after the reply word (query
    /// words, API attributes other than `.tag`) are ignored.
    pub fn parse(sentence: &Sentence) -> Result<Self, ProtoError> {
        let words = sentence.words();
        let first = sentence.first();
        if !first.starts_with(word::REPLY_PREFIX) {
            return Err(ProtoError::NotAReply(first.to_owned()));
        }
        let rest = words.get(1..).unwrap_or_default();
        // "If you do not include the 'tag' parameter or its value is empty,
        // then all responses for this command will not have a 'tag'".
        let tag =
            rest.iter().find_map(|w| w.strip_prefix(word::TAG_PREFIX)).filter(|t| !t.is_empty()).map(str::to_owned);
        let attrs = || -> Attrs {
            rest.iter()
                .filter_map(|w| w.strip_prefix(word::ATTR_PREFIX))
                .map(|body| {
                    let (k, v) = split_attr(body);
                    (k.to_owned(), v.to_owned())
                })
                .collect()
        };
        let reply = match first {
            word::RE => Reply::Re(attrs()),
            word::DONE => Reply::Done(attrs()),
            word::EMPTY => Reply::Empty,
            word::TRAP => {
                let mut attrs = attrs();
                let category = match attrs.remove(word::CATEGORY) {
                    None => None,
                    Some(c) => Some(c.parse::<u32>().map_err(|_| ProtoError::InvalidCategory(c))?),
                };
                let message = attrs.remove(word::MESSAGE).unwrap_or_default();
                Reply::Trap { category, message }
            }
            word::FATAL => {
                // The manual shows the reason as a bare word; accept
                // `=message=` too.
                let reason = rest
                    .iter()
                    .find(|w| !w.starts_with(word::TAG_PREFIX))
                    .map(|w| match w.strip_prefix(word::ATTR_PREFIX) {
                        Some(body) if split_attr(body).0 == word::MESSAGE => split_attr(body).1.to_owned(),
                        _ => w.clone(),
                    })
                    .unwrap_or_default();
                Reply::Fatal(reason)
            }
            other => return Err(ProtoError::UnknownReply(other.to_owned())),
        };
        Ok(Self { tag, reply })
    }

    /// The words of this reply, for a server to send (`testing` uses it).
    pub fn to_sentence(&self) -> Sentence {
        let attr_words = |attrs: &Attrs| attrs.iter().map(|(k, v)| format!("={k}={v}")).collect::<Vec<_>>();
        let mut words = match &self.reply {
            Reply::Re(a) => [vec![word::RE.to_owned()], attr_words(a)].concat(),
            Reply::Done(a) => [vec![word::DONE.to_owned()], attr_words(a)].concat(),
            Reply::Empty => vec![word::EMPTY.to_owned()],
            Reply::Trap { category, message } => {
                let mut w = vec![word::TRAP.to_owned()];
                if let Some(c) = category {
                    w.push(format!("={}={c}", word::CATEGORY));
                }
                w.push(format!("={}={message}", word::MESSAGE));
                w
            }
            Reply::Fatal(reason) if reason.is_empty() => vec![word::FATAL.to_owned()],
            Reply::Fatal(reason) => vec![word::FATAL.to_owned(), reason.clone()],
        };
        if let Some(tag) = &self.tag {
            if !tag.is_empty() {
                words.push(format!("{}{tag}", word::TAG_PREFIX));
            }
        }
        Sentence::from_decoded(words)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(words: &[&str]) -> Result<ReplySentence, ProtoError> {
        ReplySentence::parse(&Sentence::new(words.iter().map(|w| (*w).to_owned()).collect()).unwrap())
    }

    #[test]
    fn re_with_tag() {
        let r = parse(&["!re", "=.id=*1", "=dst-address=192.0.0.1/32", "=comment=a=b", ".tag=5"]).unwrap();
        assert_eq!(r.tag.as_deref(), Some("5"));
        let Reply::Re(a) = r.reply else { panic!("not !re") };
        assert_eq!(a[".id"], "*1");
        assert_eq!(a["comment"], "a=b");
    }

    #[test]
    fn done_with_ret() {
        let r = parse(&["!done", "=ret=*A"]).unwrap();
        assert_eq!(r.reply, Reply::Done(Attrs::from([("ret".into(), "*A".into())])));
        assert_eq!(r.tag, None);
    }

    /// The manual's `!trap` example for `/ip/address/add =interface=asdf`.
    #[test]
    fn trap_with_category() {
        let r = parse(&["!trap", "=category=1", "=message=input does not match any value of interface"]).unwrap();
        assert_eq!(
            r.reply,
            Reply::Trap { category: Some(1), message: "input does not match any value of interface".into() }
        );
    }

    /// A failed post-6.43 login: `!trap =message=invalid user name or password (6)`.
    #[test]
    fn trap_without_category() {
        let r = parse(&["!trap", "=message=invalid user name or password (6)"]).unwrap();
        assert_eq!(r.reply, Reply::Trap { category: None, message: "invalid user name or password (6)".into() });
    }

    #[test]
    fn bad_category() {
        assert_eq!(parse(&["!trap", "=category=x"]), Err(ProtoError::InvalidCategory("x".into())));
    }

    /// The manual: `/quit` answers `!fatal` and `session terminated on request`.
    #[test]
    fn fatal_bare_reason() {
        let r = parse(&["!fatal", "session terminated on request"]).unwrap();
        assert_eq!(r.reply, Reply::Fatal("session terminated on request".into()));
        let r = parse(&["!fatal", "=message=not logged in"]).unwrap();
        assert_eq!(r.reply, Reply::Fatal("not logged in".into()));
        assert_eq!(parse(&["!fatal"]).unwrap().reply, Reply::Fatal(String::new()));
    }

    /// RouterOS 7.18+ answers a print with no match by `!empty` then `!done`.
    #[test]
    fn empty() {
        assert_eq!(parse(&["!empty", ".tag=5"]).unwrap(), ReplySentence { tag: Some("5".into()), reply: Reply::Empty });
    }

    #[test]
    fn not_replies() {
        assert_eq!(parse(&["/ip/route/print"]), Err(ProtoError::NotAReply("/ip/route/print".into())));
        assert_eq!(parse(&["!bogus"]), Err(ProtoError::UnknownReply("!bogus".into())));
    }

    #[test]
    fn to_sentence_round_trips() {
        for r in [
            ReplySentence { tag: Some("9".into()), reply: Reply::Re(Attrs::from([("a".into(), "b=c".into())])) },
            ReplySentence { tag: None, reply: Reply::Done(Attrs::new()) },
            ReplySentence { tag: None, reply: Reply::Trap { category: Some(0), message: "no such item".into() } },
            ReplySentence { tag: Some("1".into()), reply: Reply::Trap { category: None, message: String::new() } },
            ReplySentence { tag: None, reply: Reply::Fatal("not logged in".into()) },
            ReplySentence { tag: Some("2".into()), reply: Reply::Empty },
        ] {
            assert_eq!(ReplySentence::parse(&r.to_sentence()).unwrap(), r);
        }
    }
}
