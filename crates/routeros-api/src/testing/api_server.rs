//! Classic API front end of the fake router: the real wire protocol.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;

use super::store::{category, op_for, split_command, Outcome, RET};
use super::{Held, RouterState};
use crate::proto::{Attrs, Decoder, Reply, ReplySentence, Sentence};

/// Message of a refused login, as RouterOS 6.43+ sends it.
pub const BAD_LOGIN_MESSAGE: &str = "invalid user name or password (6)";
/// `!fatal` reason for a command before login.
pub const NOT_LOGGED_IN: &str = "not logged in";
/// `!fatal` reason after `/quit` (the manual's example).
pub const QUIT_REASON: &str = "session terminated on request";
/// Message of a command interrupted by `/cancel`.
const INTERRUPTED: &str = "interrupted";
/// The pre-6.43 challenge from the manual's example, sent in legacy mode.
const LEGACY_CHALLENGE: &str = "856780b7411eefd3abadee2058c149a3";
/// Bytes read at a time.
const READ_CHUNK: usize = 4096;
/// `/login` attribute with the user name.
const NAME_ATTR: &str = "name";
/// `/login` attribute with the password.
const PASSWORD_ATTR: &str = "password";
/// `/cancel` attribute naming the tag to cancel.
const CANCEL_TAG_ATTR: &str = "tag";

/// What the connection writer does next.
#[derive(Debug)]
pub(crate) enum Out {
    /// Send these bytes.
    Bytes(Vec<u8>),
    /// Shut the connection down.
    Close,
}

/// Sender half of a connection's writer queue.
pub(crate) type OutTx = mpsc::UnboundedSender<Out>;

/// Sends reply sentences, tagged with `tag`.
pub(crate) fn send(tx: &OutTx, tag: Option<&str>, replies: Vec<Reply>) {
    let mut bytes = Vec::new();
    for reply in replies {
        ReplySentence { tag: tag.map(str::to_owned), reply }.to_sentence().encode(&mut bytes);
    }
    // The connection may be gone; the reply is then simply lost.
    let _ = tx.send(Out::Bytes(bytes));
}

/// Serves one classic API connection until the client leaves or a `!fatal`.
pub(crate) async fn serve<S>(stream: S, state: Arc<RouterState>)
where
    S: AsyncRead + AsyncWrite + Send + 'static,
{
    let (mut rd, mut wr) = tokio::io::split(stream);
    let (tx, mut rx) = mpsc::unbounded_channel::<Out>();
    let writer = async move {
        while let Some(out) = rx.recv().await {
            match out {
                Out::Bytes(b) => {
                    if wr.write_all(&b).await.is_err() {
                        break;
                    }
                }
                Out::Close => {
                    let _ = wr.shutdown().await;
                    break;
                }
            }
        }
    };
    let reader = async move {
        let mut decoder = Decoder::new();
        let mut buf = vec![0; READ_CHUNK];
        let mut logged_in = false;
        loop {
            let n = match rd.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            };
            for sentence in decoder.feed(&buf[..n]) {
                let Ok(sentence) = sentence else {
                    let _ = tx.send(Out::Close);
                    return;
                };
                if !handle(&state, &sentence, &mut logged_in, &tx) {
                    let _ = tx.send(Out::Close);
                    return;
                }
            }
        }
    };
    tokio::join!(reader, writer);
}

/// Attribute words (`=k=v`) and query words (`?...`, without the `?`).
fn parts(sentence: &Sentence) -> (Attrs, Vec<String>) {
    let mut attrs = Attrs::new();
    let mut query = Vec::new();
    for word in sentence.words().iter().skip(1) {
        if let Some(body) = word.strip_prefix('=') {
            let (k, v) = body.split_once('=').unwrap_or((body, ""));
            attrs.insert(k.to_owned(), v.to_owned());
        } else if let Some(q) = word.strip_prefix('?') {
            query.push(q.to_owned());
        }
    }
    (attrs, query)
}

/// Handles one sentence; `false` closes the connection.
fn handle(state: &Arc<RouterState>, sentence: &Sentence, logged_in: &mut bool, tx: &OutTx) -> bool {
    let command = sentence.first();
    let tag = sentence.tag();
    let (attrs, _) = parts(sentence);
    match command {
        "/login" => {
            if state.legacy_login {
                let ret = Attrs::from([(RET.to_owned(), LEGACY_CHALLENGE.to_owned())]);
                send(tx, tag, vec![Reply::Done(ret)]);
            } else if state.check_user(
                attrs.get(NAME_ATTR).map_or("", String::as_str),
                attrs.get(PASSWORD_ATTR).map_or("", String::as_str),
            ) {
                *logged_in = true;
                state.api_logins.fetch_add(1, Ordering::Relaxed);
                send(tx, tag, vec![Reply::Done(Attrs::new())]);
            } else {
                let trap = Reply::Trap { category: None, message: BAD_LOGIN_MESSAGE.into() };
                send(tx, tag, vec![trap, Reply::Done(Attrs::new())]);
            }
            true
        }
        _ if !*logged_in => {
            send(tx, None, vec![Reply::Fatal(NOT_LOGGED_IN.into())]);
            false
        }
        "/quit" => {
            send(tx, None, vec![Reply::Fatal(QUIT_REASON.into())]);
            false
        }
        "/cancel" => {
            if let Some(target) = attrs.get(CANCEL_TAG_ATTR) {
                let cancelled = state.take_held(|h| h.tx.same_channel(tx) && h.sentence.tag() == Some(target.as_str()));
                for h in cancelled {
                    let trap = Reply::Trap { category: Some(category::INTERRUPTED), message: INTERRUPTED.into() };
                    send(tx, h.sentence.tag(), vec![trap, Reply::Done(Attrs::new())]);
                }
            }
            send(tx, tag, vec![Reply::Done(Attrs::new())]);
            true
        }
        _ if state.is_held(command) => {
            state.park(Held { tx: tx.clone(), sentence: sentence.clone() });
            true
        }
        _ => {
            run(state, sentence, tx);
            true
        }
    }
}

/// Runs a menu command and sends its replies.
pub(crate) fn run(state: &RouterState, sentence: &Sentence, tx: &OutTx) {
    let (attrs, query) = parts(sentence);
    let (menu, verb) = split_command(sentence.first());
    let result = op_for(verb, attrs, query).and_then(|op| state.store().apply(menu, op));
    let done = Reply::Done(Attrs::new());
    let replies = match result {
        Ok(Outcome::Rows(rows)) if rows.is_empty() && state.emit_empty => vec![Reply::Empty, done],
        Ok(Outcome::Rows(rows)) => rows.into_iter().map(Reply::Re).chain([done]).collect(),
        Ok(Outcome::Created(id)) => vec![Reply::Done(Attrs::from([(RET.to_owned(), id)]))],
        Ok(Outcome::Done) => vec![done],
        Err(trap) => vec![Reply::Trap { category: trap.category, message: trap.message }, done],
    };
    send(tx, sentence.tag(), replies);
}
