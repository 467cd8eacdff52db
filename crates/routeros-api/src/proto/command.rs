//! Sentences and the command builder.

use super::length::encode_length;

/// First byte of a command word.
const COMMAND_PREFIX: char = '/';
/// First byte of an attribute word (`=name=value`).
const ATTR_PREFIX: char = '=';
/// Separates name and value in attribute and query words.
const SEPARATOR: char = '=';
/// First byte of a query word.
const QUERY_PREFIX: char = '?';
/// Query word applying stack operations (`?#|`, `?#!`, `?#0&` ...).
const QUERY_OPS_PREFIX: &str = "?#";
/// API attribute word carrying the tag.
const TAG_PREFIX: &str = ".tag=";
/// Attribute limiting the properties `print` returns.
const PROPLIST_ATTR: &str = ".proplist";
/// Separator of `.proplist` entries.
const PROPLIST_SEPARATOR: &str = ",";

/// A caller asked for a sentence that cannot be put on the wire.
///
/// Always a bug or a configuration mistake on the caller's side, never caused
/// by bytes from the router.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CommandError {
    /// The command word must start with `/` (`/ip/route/print`).
    #[error("command {0:?} must start with '/'")]
    NotACommand(String),
    /// Attribute and query names can be neither empty nor contain `=`.
    #[error("attribute or property name {0:?} is empty or contains '='")]
    InvalidName(String),
    /// A raw query word must be non-empty after its `?`.
    #[error("query word {0:?} is empty")]
    EmptyQuery(String),
    /// A zero-length word would end the sentence early.
    #[error("a sentence cannot contain an empty word")]
    EmptyWord,
    /// A sentence needs at least one word.
    #[error("a sentence needs at least one word")]
    EmptySentence,
    /// A word longer than the four-byte length the protocol supports.
    #[error("word of {0} bytes is longer than the protocol allows")]
    WordTooLong(usize),
}

/// One sentence: a non-empty sequence of non-empty words.
///
/// The zero-length terminator is not stored; [`Sentence::encode`] adds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sentence {
    words: Vec<String>,
}

impl Sentence {
    /// Wraps words, checking they can be encoded.
    pub fn new(words: Vec<String>) -> Result<Self, CommandError> {
        if words.is_empty() {
            return Err(CommandError::EmptySentence);
        }
        for word in &words {
            check_word(word)?;
        }
        Ok(Self { words })
    }

    /// Builds a sentence from words already checked by the decoder.
    pub(crate) fn from_decoded(words: Vec<String>) -> Self {
        Self { words }
    }

    /// The words, command or reply word first.
    pub fn words(&self) -> &[String] {
        &self.words
    }

    /// Takes the words out.
    pub fn into_words(self) -> Vec<String> {
        self.words
    }

    /// The first word (`/ip/route/print`, `!done` ...).
    pub fn first(&self) -> &str {
        self.words.first().map_or("", String::as_str)
    }

    /// The value of the `.tag=` API attribute word, if any.
    pub fn tag(&self) -> Option<&str> {
        self.words.iter().skip(1).find_map(|w| w.strip_prefix(TAG_PREFIX))
    }

    /// Appends the wire form (prefixed words and the terminator) to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        for word in &self.words {
            // `new` and the decoder guarantee the length fits in a u32.
            let len = u32::try_from(word.len()).unwrap_or(u32::MAX);
            encode_length(len, out);
            out.extend_from_slice(word.as_bytes());
        }
        encode_length(0, out);
    }

    /// The wire form as a new buffer.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode(&mut out);
        out
    }
}

fn check_word(word: &str) -> Result<(), CommandError> {
    if word.is_empty() {
        return Err(CommandError::EmptyWord);
    }
    if u32::try_from(word.len()).is_err() {
        return Err(CommandError::WordTooLong(word.len()));
    }
    Ok(())
}

fn check_name(name: &str) -> Result<(), CommandError> {
    if name.is_empty() || name.contains(SEPARATOR) {
        return Err(CommandError::InvalidName(name.to_owned()));
    }
    Ok(())
}

/// Builder of a command sentence.
///
/// Every method records the first mistake it sees; [`Command::sentence`]
/// reports it. Attribute order carries no meaning for RouterOS; query words
/// are kept in the order given, which matters (they run on a stack).
///
/// ```
/// use routeros_api::proto::Command;
/// let s = Command::new("/ip/route/print")
///     .proplist(&[".id", "dst-address"])
///     .where_eq("comment", "xlat")
///     .tag("7")
///     .sentence()
///     .unwrap();
/// assert_eq!(s.words(), ["/ip/route/print", "=.proplist=.id,dst-address", "?comment=xlat", ".tag=7"]);
/// ```
#[derive(Debug, Clone)]
pub struct Command {
    words: Vec<String>,
    error: Option<CommandError>,
}

impl Command {
    /// Starts a command sentence (`/ip/firewall/filter/add`, `/login` ...).
    pub fn new(command: &str) -> Self {
        let error = (!command.starts_with(COMMAND_PREFIX)).then(|| CommandError::NotACommand(command.to_owned()));
        Self { words: vec![command.to_owned()], error }
    }

    fn push(mut self, word: Result<String, CommandError>) -> Self {
        match word {
            Ok(word) => self.words.push(word),
            Err(e) => {
                self.error.get_or_insert(e);
            }
        }
        self
    }

    /// Adds `=name=value`. The value may be empty and may contain `=`.
    pub fn attr(self, name: &str, value: &str) -> Self {
        let word = check_name(name).map(|()| format!("{ATTR_PREFIX}{name}{SEPARATOR}{value}"));
        self.push(word)
    }

    /// Adds `=.proplist=a,b,c`: `print` returns only these properties.
    pub fn proplist(self, names: &[&str]) -> Self {
        let word = names
            .iter()
            .try_for_each(|n| check_name(n))
            .map(|()| format!("{ATTR_PREFIX}{PROPLIST_ATTR}{SEPARATOR}{}", names.join(PROPLIST_SEPARATOR)));
        self.push(word)
    }

    /// Adds the `.tag=` API attribute word; every reply will carry it.
    pub fn tag(self, tag: &str) -> Self {
        self.push(Ok(format!("{TAG_PREFIX}{tag}")))
    }

    /// Query `?name=value`: pushes whether the property equals `value`.
    pub fn where_eq(self, name: &str, value: &str) -> Self {
        let word = check_name(name).map(|()| format!("{QUERY_PREFIX}{name}{SEPARATOR}{value}"));
        self.push(word)
    }

    /// Query `?name`: pushes whether the item has the property.
    pub fn where_has(self, name: &str) -> Self {
        let word = check_name(name).map(|()| format!("{QUERY_PREFIX}{name}"));
        self.push(word)
    }

    /// Query `?-name`: pushes whether the item lacks the property.
    pub fn where_missing(self, name: &str) -> Self {
        let word = check_name(name).map(|()| format!("{QUERY_PREFIX}-{name}"));
        self.push(word)
    }

    /// Query `?<name=value`: pushes whether the property is less than `value`.
    pub fn where_lt(self, name: &str, value: &str) -> Self {
        let word = check_name(name).map(|()| format!("{QUERY_PREFIX}<{name}{SEPARATOR}{value}"));
        self.push(word)
    }

    /// Query `?>name=value`: pushes whether the property is greater than `value`.
    pub fn where_gt(self, name: &str, value: &str) -> Self {
        let word = check_name(name).map(|()| format!("{QUERY_PREFIX}>{name}{SEPARATOR}{value}"));
        self.push(word)
    }

    /// Query `?#ops`: stack operations (`|`, `&`, `!`, indices, `.`).
    pub fn where_ops(self, ops: &str) -> Self {
        let word = if ops.is_empty() {
            Err(CommandError::EmptyQuery(QUERY_OPS_PREFIX.to_owned()))
        } else {
            Ok(format!("{QUERY_OPS_PREFIX}{ops}"))
        };
        self.push(word)
    }

    /// Adds a raw query word. The leading `?` is optional: `"type=ether"`,
    /// `"?type=ether"` and `"#|"` are all accepted.
    pub fn query_word(self, word: &str) -> Self {
        let body = word.strip_prefix(QUERY_PREFIX).unwrap_or(word);
        let word = if body.is_empty() {
            Err(CommandError::EmptyQuery(word.to_owned()))
        } else {
            Ok(format!("{QUERY_PREFIX}{body}"))
        };
        self.push(word)
    }

    /// Adds a raw word as is (for words this builder has no method for).
    pub fn raw_word(self, word: &str) -> Self {
        self.push(check_word(word).map(|()| word.to_owned()))
    }

    /// The command word.
    pub fn command(&self) -> &str {
        self.words.first().map_or("", String::as_str)
    }

    /// Checks everything and returns the sentence.
    pub fn sentence(self) -> Result<Sentence, CommandError> {
        match self.error {
            Some(e) => Err(e),
            None => Sentence::new(self.words),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attribute_value_may_contain_equals() {
        // The manual's example: `=name=iu=c3Eeg`.
        let s = Command::new("/user/add").attr("name", "iu=c3Eeg").sentence().unwrap();
        assert_eq!(s.words()[1], "=name=iu=c3Eeg");
    }

    #[test]
    fn attribute_without_value() {
        let s = Command::new("/ip/address/print").attr("follow", "").sentence().unwrap();
        assert_eq!(s.words()[1], "=follow=");
    }

    #[test]
    fn query_words_keep_their_order() {
        // The manual's example: ethernet or VLAN interfaces.
        let s = Command::new("/interface/print")
            .where_eq("type", "ether")
            .where_eq("type", "vlan")
            .where_ops("|")
            .sentence()
            .unwrap();
        assert_eq!(s.words(), ["/interface/print", "?type=ether", "?type=vlan", "?#|"]);
    }

    #[test]
    fn raw_query_words_get_their_question_mark() {
        let s = Command::new("/interface/print").query_word("type=ether").query_word("?#|!").sentence().unwrap();
        assert_eq!(s.words(), ["/interface/print", "?type=ether", "?#|!"]);
        assert_eq!(Command::new("/x/print").query_word("?").sentence(), Err(CommandError::EmptyQuery("?".into())));
    }

    #[test]
    fn other_query_forms() {
        let s = Command::new("/ip/route/print")
            .where_has("comment")
            .where_missing("gateway")
            .where_lt("distance", "2")
            .where_gt("comment", "")
            .sentence()
            .unwrap();
        assert_eq!(s.words()[1..], ["?comment", "?-gateway", "?<distance=2", "?>comment="]);
    }

    #[test]
    fn mistakes_are_reported() {
        assert_eq!(Command::new("ip/route/print").sentence(), Err(CommandError::NotACommand("ip/route/print".into())));
        assert_eq!(Command::new("/x/add").attr("a=b", "c").sentence(), Err(CommandError::InvalidName("a=b".into())));
        assert_eq!(Command::new("/x/add").attr("", "c").sentence(), Err(CommandError::InvalidName(String::new())));
        assert_eq!(Command::new("/x/add").raw_word("").sentence(), Err(CommandError::EmptyWord));
        assert_eq!(Sentence::new(vec![]), Err(CommandError::EmptySentence));
    }

    /// `/login =name=admin =password=` as the manual shows the post-6.43
    /// login, byte for byte.
    #[test]
    fn login_sentence_bytes() {
        let s = Command::new("/login").attr("name", "admin").attr("password", "").sentence().unwrap();
        let mut expected = vec![6];
        expected.extend_from_slice(b"/login");
        expected.push(11);
        expected.extend_from_slice(b"=name=admin");
        expected.push(10);
        expected.extend_from_slice(b"=password=");
        expected.push(0);
        assert_eq!(s.to_bytes(), expected);
    }

    #[test]
    fn tag_lookup() {
        let s = Sentence::new(vec!["!done".into(), "=ret=*1".into(), ".tag=42".into()]).unwrap();
        assert_eq!(s.tag(), Some("42"));
        assert_eq!(s.first(), "!done");
    }
}
