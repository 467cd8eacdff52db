//! Incremental sentence decoder.

use super::length::decode_length;
use super::{ProtoError, Sentence};

/// Default [`Limits::max_word_len`]: 1 MiB, far above any property value
/// (a script source is the largest thing a print returns).
pub const DEFAULT_MAX_WORD_LEN: usize = 1 << 20;
/// Default [`Limits::max_sentence_len`]: 4 MiB.
pub const DEFAULT_MAX_SENTENCE_LEN: usize = 4 << 20;
/// Default [`Limits::max_words`]: an item has a few dozen properties.
pub const DEFAULT_MAX_WORDS: usize = 4096;

/// Size limits applied while decoding, so a broken or hostile peer cannot
/// make us allocate without bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Longest accepted word, in bytes.
    pub max_word_len: usize,
    /// Longest accepted sentence: sum of its words' lengths, in bytes.
    pub max_sentence_len: usize,
    /// Most words accepted in one sentence.
    pub max_words: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_word_len: DEFAULT_MAX_WORD_LEN,
            max_sentence_len: DEFAULT_MAX_SENTENCE_LEN,
            max_words: DEFAULT_MAX_WORDS,
        }
    }
}

/// Turns a byte stream, split anywhere, into [`Sentence`]s.
///
/// ```
/// use routeros_api::proto::{Command, Decoder};
/// let bytes = Command::new("/ip/route/print").sentence().unwrap().to_bytes();
/// let mut dec = Decoder::new();
/// let (a, b) = bytes.split_at(3);
/// assert_eq!(dec.feed(a).count(), 0);
/// let got: Vec<_> = dec.feed(b).collect();
/// assert_eq!(got[0].as_ref().unwrap().words(), ["/ip/route/print"]);
/// ```
///
/// After a [`ProtoError`] the stream is out of sync: the decoder reports the
/// error once and then yields nothing more, whatever it is fed.
#[derive(Debug, Default)]
pub struct Decoder {
    limits: Limits,
    /// Bytes received but not yet part of a complete word.
    buf: Vec<u8>,
    /// Complete words of the sentence in progress.
    words: Vec<String>,
    /// Sum of the lengths of `words`.
    sentence_len: usize,
    /// Set after an error: the decoder is done.
    failed: bool,
}

impl Decoder {
    /// A decoder with [`Limits::default`].
    pub fn new() -> Self {
        Self::default()
    }

    /// A decoder with the given limits.
    pub fn with_limits(limits: Limits) -> Self {
        Self { limits, ..Self::default() }
    }

    /// Appends `data` and returns the sentences it completes.
    pub fn feed(&mut self, data: &[u8]) -> Sentences<'_> {
        if !self.failed {
            self.buf.extend_from_slice(data);
        }
        Sentences { dec: self }
    }

    /// Whether the decoder stopped after an error.
    pub fn is_failed(&self) -> bool {
        self.failed
    }

    /// Bytes held for words not yet complete (plus complete words of the
    /// sentence in progress).
    pub fn buffered(&self) -> usize {
        self.buf.len() + self.sentence_len
    }

    /// Whether the decoder sits between sentences with nothing buffered.
    pub fn is_idle(&self) -> bool {
        self.buf.is_empty() && self.words.is_empty()
    }

    /// Decodes the next complete sentence from what was fed so far.
    pub fn next_sentence(&mut self) -> Option<Result<Sentence, ProtoError>> {
        if self.failed {
            return None;
        }
        match self.parse() {
            Ok(found) => found.map(Ok),
            Err(e) => {
                self.failed = true;
                self.buf = Vec::new();
                self.words = Vec::new();
                self.sentence_len = 0;
                Some(Err(e))
            }
        }
    }

    fn parse(&mut self) -> Result<Option<Sentence>, ProtoError> {
        let mut pos = 0;
        let result = loop {
            let Some((len, prefix_len)) = decode_length(&self.buf[pos..])? else {
                break None;
            };
            let len_usize = usize::try_from(len).unwrap_or(usize::MAX);
            if len_usize > self.limits.max_word_len {
                return Err(ProtoError::WordTooLong { len, max: self.limits.max_word_len });
            }
            if len == 0 {
                pos += prefix_len;
                if self.words.is_empty() {
                    // "Empty sentences are ignored."
                    continue;
                }
                self.sentence_len = 0;
                break Some(Sentence::from_decoded(std::mem::take(&mut self.words)));
            }
            let total = self.sentence_len.saturating_add(len_usize);
            if total > self.limits.max_sentence_len {
                return Err(ProtoError::SentenceTooLong { len: total, max: self.limits.max_sentence_len });
            }
            if self.words.len() >= self.limits.max_words {
                return Err(ProtoError::TooManyWords { max: self.limits.max_words });
            }
            let start = pos + prefix_len;
            let Some(bytes) = self.buf.get(start..start.saturating_add(len_usize)) else {
                break None;
            };
            self.words.push(String::from_utf8_lossy(bytes).into_owned());
            self.sentence_len = total;
            pos = start.saturating_add(len_usize);
        };
        self.buf.drain(..pos);
        Ok(result)
    }
}

/// Iterator over the sentences completed by one [`Decoder::feed`].
#[derive(Debug)]
pub struct Sentences<'a> {
    dec: &'a mut Decoder,
}

impl Iterator for Sentences<'_> {
    type Item = Result<Sentence, ProtoError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.dec.next_sentence()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::Command;

    fn bytes_of(words: &[&str]) -> Vec<u8> {
        Sentence::new(words.iter().map(|w| (*w).to_owned()).collect()).unwrap().to_bytes()
    }

    #[test]
    fn two_sentences_in_one_chunk() {
        let mut data = bytes_of(&["!re", "=.id=*1", "=dst-address=0.0.0.0/0"]);
        data.extend(bytes_of(&["!done"]));
        let mut dec = Decoder::new();
        let got: Vec<_> = dec.feed(&data).map(Result::unwrap).collect();
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].words(), ["!re", "=.id=*1", "=dst-address=0.0.0.0/0"]);
        assert_eq!(got[1].words(), ["!done"]);
        assert!(dec.is_idle());
    }

    #[test]
    fn byte_by_byte() {
        let data = bytes_of(&["!trap", "=category=1", "=message=input does not match any value of interface"]);
        let mut dec = Decoder::new();
        let mut got = Vec::new();
        for b in &data {
            got.extend(dec.feed(std::slice::from_ref(b)).map(Result::unwrap));
        }
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].words()[2], "=message=input does not match any value of interface");
    }

    #[test]
    fn empty_sentences_are_ignored() {
        let mut data = vec![0, 0];
        data.extend(bytes_of(&["!done"]));
        data.push(0);
        let mut dec = Decoder::new();
        let got: Vec<_> = dec.feed(&data).map(Result::unwrap).collect();
        assert_eq!(got.len(), 1);
        assert!(dec.is_idle());
    }

    #[test]
    fn long_word_rejected_before_allocation() {
        let mut dec = Decoder::with_limits(Limits { max_word_len: 16, ..Limits::default() });
        // A 4-byte prefix announcing 0x0FFF_FFFF bytes, and nothing else.
        let err = dec.feed(&[0xEF, 0xFF, 0xFF, 0xFF]).next().unwrap().unwrap_err();
        assert_eq!(err, ProtoError::WordTooLong { len: 0x0FFF_FFFF, max: 16 });
        assert!(dec.is_failed());
        assert_eq!(dec.buffered(), 0);
        assert!(dec.feed(&[5, b'!', b'd', b'o', b'n', b'e', 0]).next().is_none());
    }

    #[test]
    fn long_sentence_rejected() {
        let mut dec = Decoder::with_limits(Limits { max_sentence_len: 10, ..Limits::default() });
        let data = bytes_of(&["!re", "=comment=0123456789"]);
        assert!(matches!(dec.feed(&data).next(), Some(Err(ProtoError::SentenceTooLong { .. }))));
    }

    #[test]
    fn too_many_words_rejected() {
        let mut dec = Decoder::with_limits(Limits { max_words: 2, ..Limits::default() });
        let data = bytes_of(&["!re", "=a=1", "=b=2"]);
        assert_eq!(dec.feed(&data).next(), Some(Err(ProtoError::TooManyWords { max: 2 })));
    }

    #[test]
    fn control_byte_fails_the_stream() {
        let mut dec = Decoder::new();
        let mut data = bytes_of(&["!done"]);
        data.push(0xF8);
        let got: Vec<_> = dec.feed(&data).collect();
        assert_eq!(got, vec![Ok(Sentence::new(vec!["!done".into()]).unwrap()), Err(ProtoError::ControlByte(0xF8))]);
    }

    #[test]
    fn invalid_utf8_is_replaced() {
        let mut dec = Decoder::new();
        let got: Vec<_> = dec.feed(&[4, b'!', b'r', b'e', 0xFF, 0]).map(Result::unwrap).collect();
        assert_eq!(got[0].words(), ["!re\u{FFFD}"]);
    }

    #[test]
    fn command_round_trip() {
        let s = Command::new("/ip/firewall/nat/add")
            .attr("chain", "srcnat")
            .attr("action", "src-nat")
            .attr("to-addresses", "192.0.0.1")
            .tag("3")
            .sentence()
            .unwrap();
        let mut dec = Decoder::new();
        let got: Vec<_> = dec.feed(&s.to_bytes()).map(Result::unwrap).collect();
        assert_eq!(got, vec![s]);
    }
}
