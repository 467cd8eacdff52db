//! Sans-IO codec of the classic RouterOS API (TCP 8728, TLS 8729).
//!
//! Everything here is pure: bytes in, sentences out, and back. No sockets, no
//! clock, no tokio. The [`client`](crate::client) module drives it over TCP
//! or TLS; the fake router in `testing` drives it from the other side.
//!
//! Wire format, as the RouterOS manual's "API" page describes it:
//!
//! - a **word** is a length prefix ([`length`]) followed by that many bytes;
//! - a **sentence** is a sequence of non-empty words ended by a zero-length
//!   word; empty sentences are ignored;
//! - a command sentence starts with a command word (`/ip/route/print`),
//!   followed by attribute words (`=name=value`, the value may itself contain
//!   `=`), API attribute words (`.tag=5`) and query words (`?type=ether`,
//!   `?#|`), see [`Command`];
//! - a reply sentence starts with `!re`, `!done`, `!trap`, `!fatal` or
//!   (RouterOS 7.18 and later) `!empty`, see [`Reply`].
//!
//! # Contracts
//!
//! - **No panics on any input.** [`Decoder`] and [`ReplySentence::parse`]
//!   return [`ProtoError`] for malformed bytes; the fuzz-style proptests feed
//!   them garbage.
//! - **Bounded memory.** A word longer than [`Limits::max_word_len`], a
//!   sentence longer than [`Limits::max_sentence_len`] or with more than
//!   [`Limits::max_words`] words is rejected from its length prefix, before
//!   anything is allocated for it. The decoder buffers at most the word in
//!   progress plus the bytes of one `feed` call.
//! - **Text.** Words are kept as `String`. RouterOS sends bytes in the
//!   router's code page; bytes that are not UTF-8 are replaced with U+FFFD
//!   rather than failing the whole reply (only comments of unrelated items
//!   are expected to carry them).

mod command;
mod decoder;
pub mod length;
mod login;
mod reply;

pub use command::{Command, CommandError, Sentence};
pub use decoder::{Decoder, Limits, Sentences, DEFAULT_MAX_SENTENCE_LEN, DEFAULT_MAX_WORDS, DEFAULT_MAX_WORD_LEN};
pub use login::{Login, LoginError, LOGIN_COMMAND};
pub use reply::{Attrs, Reply, ReplySentence};

/// Malformed bytes or sentences received from the other side.
///
/// These are faults of the peer (or of the link), never of the caller: the
/// connection that produced one cannot be trusted to stay in sync and should
/// be closed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProtoError {
    /// A length prefix starts with a reserved control byte (`>= 0xF8`).
    #[error("reserved control byte {0:#04x} in a word length")]
    ControlByte(u8),
    /// A length prefix uses the 35-bit form, which RouterOS does not support.
    #[error("unsupported word length prefix {0:#04x} (only four-byte lengths exist)")]
    UnsupportedLength(u8),
    /// A word announces more bytes than [`Limits::max_word_len`].
    #[error("word of {len} bytes exceeds the limit of {max} bytes")]
    WordTooLong {
        /// Announced length.
        len: u32,
        /// The limit in force.
        max: usize,
    },
    /// A sentence grows past [`Limits::max_sentence_len`].
    #[error("sentence of at least {len} bytes exceeds the limit of {max} bytes")]
    SentenceTooLong {
        /// Bytes seen so far, including the word that crossed the limit.
        len: usize,
        /// The limit in force.
        max: usize,
    },
    /// A sentence has more than [`Limits::max_words`] words.
    #[error("sentence has more than {max} words")]
    TooManyWords {
        /// The limit in force.
        max: usize,
    },
    /// A reply sentence does not start with a `!` reply word.
    #[error("reply sentence starts with {0:?}, not a reply word")]
    NotAReply(String),
    /// A reply word this crate does not know.
    #[error("unknown reply word {0:?}")]
    UnknownReply(String),
    /// `=category=` of a `!trap` is not a decimal number.
    #[error("trap category {0:?} is not a number")]
    InvalidCategory(String),
}
