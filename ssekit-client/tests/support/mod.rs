//! A raw HTTP/1.1 server on 127.0.0.1 for the client tests: full control over misbehaviour.
//!
//! Each connection reads one request, logs it, and hands it to the test's handler with the
//! socket; the handler writes whatever bytes it likes and returns (closing the connection) or
//! holds it open. Dropping the [`Server`] stops the listener and every connection.

#![allow(dead_code, unreachable_pub)]

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use ssekit_client::{ClientError, EventSource, MessageEvent, SseItem};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{JoinHandle, JoinSet};

/// The head of a streaming `200 OK` whose body runs until the server closes the connection.
pub const SSE_HEAD: &str = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\nConnection: close\r\n\r\n";

/// One request as the server read it.
#[derive(Debug, Clone)]
pub struct Request {
    /// 0 for the first connection, 1 for the next, ...
    pub index: usize,
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub at: Instant,
}

impl Request {
    /// The value of the header `name` (case-insensitive), if sent once or more (the first).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A connection handed to the handler.
pub struct Conn {
    pub request: Request,
    pub stream: TcpStream,
}

impl Conn {
    /// Writes bytes (errors ignored: the client may be gone).
    pub async fn write(&mut self, bytes: impl AsRef<[u8]>) {
        let _ = self.stream.write_all(bytes.as_ref()).await;
        let _ = self.stream.flush().await;
    }

    /// Writes the streaming `200 OK` head and then `body`.
    pub async fn sse(&mut self, body: &str) {
        self.write(format!("{SSE_HEAD}{body}")).await;
    }

    /// Writes a whole response with a `Content-Length` body.
    pub async fn respond(&mut self, status: &str, headers: &str, body: &str) {
        let response = format!(
            "HTTP/1.1 {status}\r\n{headers}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        self.write(response).await;
    }

    /// Keeps the connection open until the client closes it (or 30 s pass).
    pub async fn hold(mut self) {
        let mut buf = [0u8; 1024];
        let _ = tokio::time::timeout(Duration::from_secs(30), async {
            while let Ok(n) = self.stream.read(&mut buf).await {
                if n == 0 {
                    break;
                }
            }
        })
        .await;
    }
}

type Handler = Arc<dyn Fn(Conn) -> Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync>;

/// A test server; stops when dropped.
pub struct Server {
    pub addr: SocketAddr,
    log: Arc<Mutex<Vec<Request>>>,
    accepted: Arc<Mutex<usize>>,
    task: JoinHandle<()>,
}

impl Drop for Server {
    fn drop(&mut self) {
        // Aborting the accept loop drops its JoinSet, which aborts every connection task.
        self.task.abort();
    }
}

impl Server {
    /// Starts a server on 127.0.0.1, port 0, answering with `handler`.
    pub async fn start<F, Fut>(handler: F) -> Server
    where
        F: Fn(Conn) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let handler: Handler = Arc::new(move |conn| Box::pin(handler(conn)));
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let log = Arc::new(Mutex::new(Vec::new()));
        let accepted = Arc::new(Mutex::new(0));
        let task = tokio::spawn({
            let log = log.clone();
            let accepted = accepted.clone();
            async move {
                let mut connections = JoinSet::new();
                while let Ok((stream, _)) = listener.accept().await {
                    let index = {
                        let mut n = accepted.lock().expect("lock");
                        *n += 1;
                        *n - 1
                    };
                    let (log, handler) = (log.clone(), handler.clone());
                    connections.spawn(async move {
                        let Some(conn) = read_request(stream, index).await else {
                            return;
                        };
                        log.lock().expect("lock").push(conn.request.clone());
                        handler(conn).await;
                    });
                    while connections.try_join_next().is_some() {}
                }
            }
        });
        Server {
            addr,
            log,
            accepted,
            task,
        }
    }

    /// A server whose first connection gets a streaming `200 OK` with `first` and is closed
    /// (the end of the body), and every later one gets `then` and is held open.
    pub async fn first_then(first: &'static str, then: &'static str) -> Server {
        Server::start(move |mut conn: Conn| async move {
            if conn.request.index == 0 {
                conn.sse(first).await;
            } else {
                conn.sse(then).await;
                conn.hold().await;
            }
        })
        .await
    }

    /// A server that answers `from` with the redirect `status` to `to`, and is otherwise
    /// [`first_then`](Server::first_then) (`first` for the connection after the first redirect).
    pub async fn redirect_first_then(
        status: &'static str,
        (from, to): (&'static str, &'static str),
        first: &'static str,
        then: &'static str,
    ) -> Server {
        Server::start(move |mut conn: Conn| async move {
            match (conn.request.path.as_str(), conn.request.index) {
                (path, _) if path == from => {
                    conn.respond(status, &format!("Location: {to}\r\n"), "")
                        .await;
                }
                (_, 1) => conn.sse(first).await,
                _ => {
                    conn.sse(then).await;
                    conn.hold().await;
                }
            }
        })
        .await
    }

    /// `http://127.0.0.1:PORT{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// The requests read so far, in arrival order.
    pub fn requests(&self) -> Vec<Request> {
        self.log.lock().expect("lock").clone()
    }

    /// How many TCP connections were accepted so far.
    pub fn connections(&self) -> usize {
        *self.accepted.lock().expect("lock")
    }
}

/// Reads one request head (and a `Content-Length` body).
async fn read_request(mut stream: TcpStream, index: usize) -> Option<Conn> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut request_line = lines.next()?.split(' ');
    let method = request_line.next()?.to_owned();
    let path = request_line.next()?.to_owned();
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let length: usize = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = buf[head_end + 4..].to_vec();
    while body.len() < length {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    Some(Conn {
        request: Request {
            index,
            method,
            path,
            headers,
            body,
            at: Instant::now(),
        },
        stream,
    })
}

/// The next item of `source`, failing the test after 5 s.
pub async fn next(source: &mut EventSource) -> Option<Result<SseItem, ClientError>> {
    tokio::time::timeout(Duration::from_secs(5), source.next())
        .await
        .expect("the EventSource yields within 5 s")
}

/// The next item, which must be `Ok`.
pub async fn next_ok(source: &mut EventSource) -> SseItem {
    match next(source).await {
        Some(Ok(item)) => item,
        other => panic!("expected an item, got {other:?}"),
    }
}

/// The next item, which must be a message.
pub async fn next_message(source: &mut EventSource) -> MessageEvent {
    match next_ok(source).await {
        SseItem::Message(m) => m,
        other => panic!("expected a message, got {other:?}"),
    }
}

/// The next item, which must be an error.
pub async fn next_err(source: &mut EventSource) -> ClientError {
    match next(source).await {
        Some(Err(e)) => e,
        other => panic!("expected an error, got {other:?}"),
    }
}

/// Waits until the stream ends (fails the test if it does not within 5 s).
pub async fn expect_end(source: &mut EventSource) {
    if let Some(item) = next(source).await {
        panic!("expected the end of the stream, got {item:?}");
    }
}
