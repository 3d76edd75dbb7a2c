//! The chat end to end: the axum chat server on `127.0.0.1:0`, event streams read with
//! the shared `conformance::e2e::EventStream`, messages posted over a raw HTTP/1.1 socket.
//!
//! Client A follows the stream, client B posts; A leaves and comes back with its
//! `Last-Event-ID` (the header, then the `?lastEventId=` query parameter a page uses) and gets
//! exactly what it missed, then live messages.

use std::net::SocketAddr;
use std::time::Duration;

use conformance::e2e::EventStream;
use conformance::http::{BodyEnd, Request};
use conformance::wait::within;
use examples::chat::{ChatState, MAX_BODY_BYTES, MAX_TEXT_CHARS, MAX_USER_CHARS};
use serde_json::{Value, json};
use ssekit_proto::MessageEvent;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::task::JoinHandle;

/// Every wait in these tests is bounded by this.
const WAIT: Duration = Duration::from_secs(10);

/// The chat server on a free port.
struct Server {
    addr: SocketAddr,
    state: ChatState,
    task: JoinHandle<std::io::Result<()>>,
}

impl Server {
    fn start() -> Server {
        let listener = examples::bind("127.0.0.1:0".parse().expect("addr")).expect("bind");
        let addr = listener.local_addr().expect("local addr");
        let state = ChatState::new();
        let task = tokio::spawn(examples::chat_axum::serve(listener, state.clone()));
        Server { addr, state, task }
    }

    /// Waits until the hub has `n` subscribers.
    async fn subscribers(&self, n: usize) {
        within(WAIT, "a step", async {
            while self.state.hub.subscriber_count() != n {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
        .await;
    }

    /// `POST /send` with `body`; returns the status and the response body.
    async fn post(&self, body: &[u8]) -> (u16, String) {
        let mut stream = within(WAIT, "a step", TcpStream::connect(self.addr))
            .await
            .expect("connect");
        let head = format!(
            "POST /send HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n",
            self.addr,
            body.len()
        );
        stream.write_all(head.as_bytes()).await.expect("send head");
        // A server may answer (413) before it has read a large body, and close.
        let _ = stream.write_all(body).await;
        let mut response = Vec::new();
        let _ = within(WAIT, "a step", stream.read_to_end(&mut response)).await;
        let response = String::from_utf8(response).expect("UTF-8 response");
        let (head, body) = response.split_once("\r\n\r\n").expect("a response head");
        let status = head
            .split(' ')
            .nth(1)
            .and_then(|code| code.parse().ok())
            .expect("a status line");
        (status, body.to_owned())
    }

    /// Posts a valid message; returns the id the hub gave it.
    async fn send(&self, user: &str, text: &str) -> String {
        let body = json!({ "user": user, "text": text }).to_string();
        let (status, response) = self.post(body.as_bytes()).await;
        assert_eq!(status, 200, "{response}");
        let response: Value = serde_json::from_str(&response).expect("JSON response");
        response["id"].as_str().expect("an id").to_owned()
    }

    async fn stop(self) {
        self.state.shutdown.trigger();
        within(WAIT, "a step", self.task)
            .await
            .expect("server task")
            .expect("server");
    }
}

/// A `chat` event as received: id, and the data's `user` and `text`.
#[derive(Debug, PartialEq, Eq)]
struct Chat {
    id: String,
    user: String,
    text: String,
}

fn chat(id: &str, user: &str, text: &str) -> Chat {
    Chat {
        id: id.into(),
        user: user.into(),
        text: text.into(),
    }
}

/// An open `GET /events` stream.
struct Events {
    stream: EventStream,
}

impl Events {
    async fn open(addr: SocketAddr, request: Request) -> Events {
        let stream = EventStream::connect(addr, request).await;
        let headers = ["content-type", "access-control-allow-origin"]
            .map(|name| stream.response.header(name));
        assert_eq!(headers, [Some("text/event-stream"), Some("*")]);
        Events { stream }
    }

    /// The next `n` events.
    async fn next(&mut self, n: usize) -> Vec<MessageEvent> {
        self.stream.take(n).await
    }

    /// The next `n` events, which must all be `chat` events.
    async fn take(&mut self, n: usize) -> Vec<Chat> {
        let mut out = Vec::new();
        for event in self.next(n).await {
            assert_eq!(event.event_type(), "chat", "{event:?}");
            out.push(parse_chat(event.last_event_id().to_owned(), event.data()));
        }
        out
    }
}

fn parse_chat(id: String, data: &str) -> Chat {
    let data: Value = serde_json::from_str(data).expect("JSON data");
    let time = data["time"].as_str().expect("a time");
    assert!(time.ends_with(" UTC"), "{time}");
    Chat {
        id,
        user: data["user"].as_str().expect("a user").to_owned(),
        text: data["text"].as_str().expect("a text").to_owned(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_reconnects_with_its_last_id_misses_nothing() {
    let server = Server::start();

    let mut page = within(WAIT, "a step", Request::get("/").send(server.addr))
        .await
        .expect("GET /");
    assert_eq!(page.status, 200);
    assert!(
        page.header("content-type")
            .unwrap()
            .starts_with("text/html")
    );
    let (html, _) = within(WAIT, "a step", page.read_to_end()).await;
    let html = String::from_utf8(html).expect("UTF-8 page");
    assert!(html.contains("new EventSource('/events?lastEventId='"));

    // A follows; B posts three messages.
    let mut a = Events::open(server.addr, Request::get("/events")).await;
    server.subscribers(1).await;
    for text in ["one", "two", "three"] {
        server.send("bob", text).await;
    }
    assert_eq!(
        a.take(3).await,
        [
            chat("1", "bob", "one"),
            chat("2", "bob", "two"),
            chat("3", "bob", "three")
        ]
    );

    // A goes away; B posts two more.
    drop(a);
    server.subscribers(0).await;
    assert_eq!(server.send("bob", "four").await, "4");
    assert_eq!(server.send("bob", "five").await, "5");

    // A comes back with the header: exactly the two it missed, then live.
    let mut a = Events::open(
        server.addr,
        Request::get("/events").header("Last-Event-ID", "3"),
    )
    .await;
    assert_eq!(
        a.take(2).await,
        [chat("4", "bob", "four"), chat("5", "bob", "five")]
    );
    server.send("bob", "six").await;
    assert_eq!(a.take(1).await, [chat("6", "bob", "six")]);

    // Again, with the query parameter a page uses for a new EventSource.
    drop(a);
    server.subscribers(0).await;
    server.send("bob", "seven").await;
    server.send("bob", "eight").await;
    let mut a = Events::open(server.addr, Request::get("/events?lastEventId=6")).await;
    assert_eq!(
        a.take(2).await,
        [chat("7", "bob", "seven"), chat("8", "bob", "eight")]
    );
    // B follows too now (live only); A posts; both get it once.
    let mut b = Events::open(server.addr, Request::get("/events")).await;
    server.subscribers(2).await;
    server.send("ada", "nine").await;
    assert_eq!(a.take(1).await, [chat("9", "ada", "nine")]);
    assert_eq!(b.take(1).await, [chat("9", "ada", "nine")]);

    // Shutting down ends the open streams cleanly, and the server stops.
    server.state.shutdown.trigger();
    for mut events in [a, b] {
        let (rest, end) = within(WAIT, "a step", events.stream.response.read_to_end()).await;
        assert_eq!(end, BodyEnd::Complete);
        assert!(rest.is_empty(), "{rest:?}");
    }
    server.stop().await;
}

#[tokio::test]
async fn invalid_messages_are_refused_with_400() {
    let server = Server::start();
    let long_user = "é".repeat(MAX_USER_CHARS + 1);
    let long_text = "x".repeat(MAX_TEXT_CHARS + 1);
    let invalid: Vec<(&str, Vec<u8>)> = vec![
        ("not JSON", b"user=ada&text=hi".to_vec()),
        ("empty body", Vec::new()),
        ("not an object", br#"["ada", "hi"]"#.to_vec()),
        ("no text", br#"{"user": "ada"}"#.to_vec()),
        ("no user", br#"{"text": "hi"}"#.to_vec()),
        (
            "an unknown field",
            br#"{"user": "ada", "text": "hi", "x": 1}"#.to_vec(),
        ),
        (
            "a number for text",
            br#"{"user": "ada", "text": 7}"#.to_vec(),
        ),
        ("an empty user", br#"{"user": "", "text": "hi"}"#.to_vec()),
        ("a blank user", br#"{"user": "   ", "text": "hi"}"#.to_vec()),
        (
            "a control character",
            br#"{"user": "a\u0007b", "text": "hi"}"#.to_vec(),
        ),
        (
            "a blank text",
            br#"{"user": "ada", "text": " \n "}"#.to_vec(),
        ),
        (
            "a user over 32 characters",
            json!({ "user": long_user, "text": "hi" })
                .to_string()
                .into_bytes(),
        ),
        (
            "a text over 2000 characters",
            json!({ "user": "ada", "text": long_text })
                .to_string()
                .into_bytes(),
        ),
    ];
    for (what, body) in &invalid {
        let (status, reason) = server.post(body).await;
        assert_eq!(status, 400, "{what}: {reason}");
        assert!(!reason.is_empty(), "{what}: a reason is given");
    }
    // A body over the limit is refused before it is parsed.
    let (status, _) = server.post(&vec![b' '; MAX_BODY_BYTES + 1]).await;
    assert_eq!(status, 413);
    assert_eq!(server.state.hub.retained().0, 0, "nothing was published");

    // The limits themselves are fine (counted in characters, not bytes).
    let longest_user = "é".repeat(MAX_USER_CHARS);
    let longest_text = "€".repeat(MAX_TEXT_CHARS);
    assert_eq!(server.send(&longest_user, &longest_text).await, "1");
    // `0` is not an id the hub gave (they start at 1): the documented reset frame comes
    // first, its data the id asked for, then everything retained.
    let mut events = Events::open(server.addr, Request::get("/events?lastEventId=0")).await;
    let got = events.next(2).await;
    assert_eq!(got[0], MessageEvent::new("sse-reset", "0", ""));
    assert_eq!(got[1].event_type(), "chat");
    assert_eq!(
        parse_chat(got[1].last_event_id().to_owned(), got[1].data()),
        chat("1", &longest_user, &longest_text)
    );
    drop(events);
    server.stop().await;
}
