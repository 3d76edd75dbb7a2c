//! The chat's framework-independent part: the page, the `POST /send` body and its checks, the
//! `chat` event, and the shared state (a [`Hub`] and a [`Shutdown`]).
//!
//! Messages go through a [`Hub`]: `POST /send` publishes one `chat` event, every open
//! `GET /events` stream gets it, and a client that reconnects with its `Last-Event-ID` (header,
//! or `?lastEventId=` from a page that opens a new `EventSource` itself) gets what it missed,
//! exactly once, before the live messages.
//!
//! ```
//! use examples::chat::{ChatState, PostError};
//!
//! let chat = ChatState::new();
//! let id = chat.post(br#"{"user": "ada", "text": "hello"}"#).unwrap();
//! assert_eq!(&*id, "1");
//! assert_eq!(chat.post(br#"{"user": "", "text": "hi"}"#), Err(PostError::User));
//! ```

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use ssekit::Shutdown;
use ssekit::hub::{Hub, HubConfig};
use ssekit_proto::Event;

/// The chat's browser page (`static/chat.html`), served at `/`.
///
/// It opens `new EventSource('/events?lastEventId=0')` (ids start at 1, so `0` asks for every
/// retained message), lists the messages with their ids (dropping any id it has already
/// shown), shows the `readyState`, posts to `/send`, and has a "disconnect / reconnect" button:
/// `es.close()`, then `new EventSource('/events?lastEventId=' + lastId)`, since a page cannot
/// set the `Last-Event-ID` header on an `EventSource` it opens. A `sse-reset` event (the id was
/// no longer retained: messages were lost) is shown as a warning.
pub const CHAT_HTML: &str = include_str!("../static/chat.html");

/// The port the chat listens on unless `PORT` says otherwise.
pub const CHAT_PORT: u16 = 8845;

/// The most characters (Unicode scalar values) in a user name.
pub const MAX_USER_CHARS: usize = 32;

/// The most characters (Unicode scalar values) in a message.
pub const MAX_TEXT_CHARS: usize = 2000;

/// The largest `POST /send` body accepted, in bytes: room for the longest valid message even
/// with every character escaped in the JSON. Larger bodies get `413 Payload Too Large`.
pub const MAX_BODY_BYTES: usize = 32 * 1024;

/// The name of the events the chat publishes.
pub const CHAT_EVENT: &str = "chat";

/// The body of `POST /send`: `{"user": "...", "text": "..."}`, nothing else.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Post {
    /// Who writes: 1 to [`MAX_USER_CHARS`] characters once trimmed, no control characters.
    pub user: String,
    /// The message: 1 to [`MAX_TEXT_CHARS`] characters once trimmed (line breaks allowed).
    pub text: String,
}

/// Why a `POST /send` body was refused (`400 Bad Request`, with this as the text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PostError {
    /// Not a JSON object with exactly the string fields `user` and `text`.
    Json(String),
    /// `user` is empty, longer than [`MAX_USER_CHARS`] or has control characters.
    User,
    /// `text` is empty or longer than [`MAX_TEXT_CHARS`].
    Text,
}

impl fmt::Display for PostError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PostError::Json(e) => write!(
                f,
                "expected a JSON object {{\"user\": \"...\", \"text\": \"...\"}}: {e}"
            ),
            PostError::User => write!(
                f,
                "user must be 1 to {MAX_USER_CHARS} characters, without control characters"
            ),
            PostError::Text => write!(f, "text must be 1 to {MAX_TEXT_CHARS} characters"),
        }
    }
}

impl std::error::Error for PostError {}

impl Post {
    /// Parses and checks a `POST /send` body; the fields come back trimmed.
    ///
    /// ```
    /// use examples::chat::{Post, PostError};
    ///
    /// let post = Post::parse(br#"{"user": " ada ", "text": "hi\nthere"}"#).unwrap();
    /// assert_eq!((post.user.as_str(), post.text.as_str()), ("ada", "hi\nthere"));
    /// assert_eq!(Post::parse(br#"{"user": "ada", "text": "   "}"#), Err(PostError::Text));
    /// assert!(matches!(Post::parse(b"user=ada"), Err(PostError::Json(_))));
    /// ```
    pub fn parse(body: &[u8]) -> Result<Post, PostError> {
        let json = |e: serde_json::Error| PostError::Json(e.to_string());
        let value: serde_json::Value = serde_json::from_slice(body).map_err(json)?;
        // serde would also take `["ada", "hi"]` for a struct: only an object will do.
        if !value.is_object() {
            return Err(PostError::Json("not an object".into()));
        }
        let post: Post = serde_json::from_value(value).map_err(json)?;
        let user = post.user.trim();
        let text = post.text.trim();
        if user.is_empty()
            || user.chars().count() > MAX_USER_CHARS
            || user.chars().any(char::is_control)
        {
            return Err(PostError::User);
        }
        if text.is_empty() || text.chars().count() > MAX_TEXT_CHARS {
            return Err(PostError::Text);
        }
        Ok(Post {
            user: user.to_owned(),
            text: text.to_owned(),
        })
    }

    /// The `chat` event for this message, posted at `time`: its data is one line of JSON,
    /// `{"user": ..., "text": ..., "time": ...}`. It has no id: the hub numbers it.
    ///
    /// ```
    /// use examples::chat::Post;
    ///
    /// let post = Post { user: "ada".into(), text: "hi".into() };
    /// let event = post.to_event("2026-11-26 06:30:01 UTC");
    /// assert_eq!(event.event_name(), Some("chat"));
    /// assert_eq!(
    ///     event.data(),
    ///     Some(r#"{"user":"ada","text":"hi","time":"2026-11-26 06:30:01 UTC"}"#)
    /// );
    /// ```
    pub fn to_event(&self, time: &str) -> Event {
        let message = Message {
            user: &self.user,
            text: &self.text,
            time,
        };
        Event::builder()
            .event(CHAT_EVENT)
            .json_data(&message)
            .build()
            // The name is a constant without line ends, and a struct of strings always
            // serialises: building cannot fail.
            .expect("a valid chat event")
    }
}

/// The data of a `chat` event (serialised; JSON escapes line breaks, so it is one `data:` line).
#[derive(Serialize)]
struct Message<'a> {
    user: &'a str,
    text: &'a str,
    time: &'a str,
}

/// What the chat's handlers share: the hub every message goes through, and the shutdown handle
/// (triggered on Ctrl-C; every event stream ends on it). Cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct ChatState {
    /// The fan-out hub: replay window and subscribers.
    pub hub: Hub,
    /// Ends every open event stream when triggered.
    pub shutdown: Shutdown,
}

impl ChatState {
    /// A chat with the default [`HubConfig`] (the last 1024 messages retained for replay).
    pub fn new() -> ChatState {
        ChatState::default()
    }

    /// A chat whose hub has the given settings.
    pub fn with_config(config: HubConfig) -> ChatState {
        ChatState {
            hub: Hub::with_config(config),
            shutdown: Shutdown::new(),
        }
    }

    /// Handles a `POST /send` body: checks it ([`Post::parse`]) and publishes the `chat` event,
    /// stamped with the current time; returns the id the hub gave it.
    pub fn post(&self, body: &[u8]) -> Result<Arc<str>, PostError> {
        let post = Post::parse(body)?;
        Ok(self.hub.publish(post.to_event(&crate::now_utc())))
    }
}
