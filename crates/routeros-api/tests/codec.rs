//! Property tests of the sans-IO codec: encode-then-decode is the identity
//! for any words and any split of the byte stream, and garbage never makes
//! the decoder or the reply parser panic.

use proptest::prelude::*;
use routeros_api::proto::length::{decode_length, encode_length};
use routeros_api::proto::{Decoder, Limits, ReplySentence, Sentence};

/// A non-empty word: short ones mostly, some long enough for the 2- and
/// 3-byte length forms.
fn word() -> impl Strategy<Value = String> {
    prop_oneof![
        8 => "\\PC{1,40}",
        1 => "[a-z=]{100,300}",
        1 => proptest::collection::vec(any::<char>(), 1..20).prop_map(|v| v.into_iter().collect()),
        1 => "x{16400,16500}",
    ]
    .prop_filter("non-empty", |w: &String| !w.is_empty())
}

fn sentence() -> impl Strategy<Value = Sentence> {
    proptest::collection::vec(word(), 1..8).prop_map(|w| Sentence::new(w).expect("non-empty words"))
}

/// Feeds `bytes` cut at `cuts` (sorted, deduplicated offsets).
fn decode_split(bytes: &[u8], cuts: &[usize]) -> Vec<Sentence> {
    let mut dec = Decoder::new();
    let mut out = Vec::new();
    let mut start = 0;
    for &cut in cuts.iter().chain(std::iter::once(&bytes.len())) {
        let cut = cut.clamp(start, bytes.len());
        out.extend(dec.feed(&bytes[start..cut]).map(|s| s.expect("valid stream")));
        start = cut;
    }
    assert!(dec.is_idle(), "bytes left over");
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn length_round_trip(len in any::<u32>()) {
        let mut out = Vec::new();
        encode_length(len, &mut out);
        prop_assert_eq!(decode_length(&out).unwrap(), Some((len, out.len())));
        // Any shorter prefix asks for more bytes.
        for cut in 0..out.len() {
            prop_assert_eq!(decode_length(&out[..cut]).unwrap(), None);
        }
    }

    #[test]
    fn sentences_round_trip_any_split(
        sentences in proptest::collection::vec(sentence(), 1..5),
        cuts in proptest::collection::vec(any::<proptest::sample::Index>(), 0..12),
    ) {
        let mut bytes = Vec::new();
        for s in &sentences {
            s.encode(&mut bytes);
        }
        let mut cuts: Vec<usize> = cuts.iter().map(|i| i.index(bytes.len() + 1)).collect();
        cuts.sort_unstable();
        cuts.dedup();
        prop_assert_eq!(decode_split(&bytes, &cuts), sentences);
    }

    #[test]
    fn one_byte_at_a_time(s in sentence()) {
        let bytes = s.to_bytes();
        let cuts: Vec<usize> = (1..bytes.len()).collect();
        prop_assert_eq!(decode_split(&bytes, &cuts), vec![s]);
    }

    #[test]
    fn garbage_never_panics(
        data in proptest::collection::vec(any::<u8>(), 0..2048),
        cuts in proptest::collection::vec(any::<proptest::sample::Index>(), 0..8),
    ) {
        let limits = Limits { max_word_len: 512, max_sentence_len: 1024, max_words: 16 };
        let mut dec = Decoder::with_limits(limits);
        let mut cuts: Vec<usize> = cuts.iter().map(|i| i.index(data.len() + 1)).collect();
        cuts.sort_unstable();
        let mut start = 0;
        let mut errors = 0;
        for cut in cuts.into_iter().chain(std::iter::once(data.len())) {
            for item in dec.feed(&data[start..cut.max(start)]) {
                match item {
                    // Whatever decodes must parse or be rejected cleanly.
                    Ok(s) => { let _ = ReplySentence::parse(&s); }
                    Err(_) => errors += 1,
                }
            }
            start = cut.max(start);
            // Memory stays bounded by the limits plus one chunk.
            prop_assert!(dec.buffered() <= limits.max_sentence_len + data.len());
        }
        prop_assert!(errors <= 1, "an error is reported once");
        prop_assert_eq!(errors == 1, dec.is_failed());
    }

    #[test]
    fn reply_parser_never_panics(words in proptest::collection::vec("[!=.?a-z]{0,3}[a-z=!.#0-9]{0,12}", 1..6)) {
        let words: Vec<String> = words.into_iter().map(|w| if w.is_empty() { "!".into() } else { w }).collect();
        let s = Sentence::new(words).unwrap();
        if let Ok(r) = ReplySentence::parse(&s) {
            // A parsed reply re-encodes to something that parses the same.
            prop_assert_eq!(ReplySentence::parse(&r.to_sentence()).unwrap(), r);
        }
    }
}
