//! A minimal HTTP/1.x client over tokio, for the adapters' end-to-end tests (feature `http`).
//!
//! It speaks just enough HTTP to test an event stream against a real server: one `GET` per
//! connection, HTTP/1.1 or HTTP/1.0, any request header (raw bytes, so invalid values can be
//! sent), the response head as sent (header names lowercased, values raw), and the body decoded
//! incrementally (chunked, `Content-Length` or close-delimited), telling a complete body from a
//! connection that was cut. Dropping the [`Response`] closes the connection, which is how a test
//! plays a client going away.
//!
//! ```no_run
//! # async fn demo(addr: std::net::SocketAddr) -> std::io::Result<()> {
//! use conformance::http::{BodyEnd, Request};
//!
//! let mut response = Request::get("/events").header("last-event-id", "7").send(addr).await?;
//! assert_eq!(response.status, 200);
//! assert_eq!(response.header("content-type"), Some("text/event-stream"));
//! let first = response.chunk().await?; // the first piece of the body, as it arrives
//! let (rest, end) = response.read_to_end().await;
//! assert_eq!(end, BodyEnd::Complete);
//! # Ok(())
//! # }
//! ```
//!
//! Wrap calls in `tokio::time::timeout`: the client itself waits as long as the server does.

use std::io;
use std::net::SocketAddr;

use ssekit_bench::chunked::{ChunkedDecoder, Step};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The largest response head accepted, in bytes.
const MAX_HEAD: usize = 64 * 1024;
/// The largest body chunk accepted, in bytes.
const MAX_CHUNK: usize = 64 * 1024 * 1024;

/// A `GET` request to send.
#[derive(Debug, Clone)]
pub struct Request {
    target: String,
    http_1_0: bool,
    headers: Vec<(String, Vec<u8>)>,
}

impl Request {
    /// A `GET` of `target` (path and query, e.g. `/events?x=1`) over HTTP/1.1.
    pub fn get(target: &str) -> Request {
        Request {
            target: target.to_owned(),
            http_1_0: false,
            headers: Vec::new(),
        }
    }

    /// Adds a header; the value is sent byte for byte (it may be invalid on purpose).
    pub fn header(mut self, name: &str, value: impl AsRef<[u8]>) -> Request {
        self.headers
            .push((name.to_owned(), value.as_ref().to_vec()));
        self
    }

    /// Sends the request as HTTP/1.0 instead of HTTP/1.1.
    pub fn http_1_0(mut self) -> Request {
        self.http_1_0 = true;
        self
    }

    /// The request's bytes on the wire (a `Host` header is added for HTTP/1.1).
    pub fn to_bytes(&self, addr: SocketAddr) -> Vec<u8> {
        let version = if self.http_1_0 {
            "HTTP/1.0"
        } else {
            "HTTP/1.1"
        };
        let mut out = format!("GET {} {version}\r\n", self.target).into_bytes();
        if !self.http_1_0 {
            out.extend_from_slice(format!("host: {addr}\r\n").as_bytes());
        }
        for (name, value) in &self.headers {
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(b": ");
            out.extend_from_slice(value);
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"\r\n");
        out
    }

    /// Connects to `addr`, sends the request and reads the response head.
    pub async fn send(self, addr: SocketAddr) -> io::Result<Response> {
        let mut stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        stream.write_all(&self.to_bytes(addr)).await?;
        Response::read_head(stream).await
    }
}

/// A `GET` of `target` over HTTP/1.1 with no extra header.
pub async fn get(addr: SocketAddr, target: &str) -> io::Result<Response> {
    Request::get(target).send(addr).await
}

/// How a body ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyEnd {
    /// As the framing says: the last chunk, all of `Content-Length`, or (for a close-delimited
    /// body) the connection closed.
    Complete,
    /// The connection closed or failed before the framing said the body was complete.
    Aborted,
}

#[derive(Debug, Clone)]
enum Framing {
    Chunked(ChunkedDecoder),
    Length(u64),
    Close,
    Done,
}

/// A response: its head, and the connection to read the body from.
#[derive(Debug)]
pub struct Response {
    /// The status line's version, e.g. `HTTP/1.1`.
    pub version: String,
    /// The status code.
    pub status: u16,
    /// The headers in order: names lowercased, values raw (surrounding spaces trimmed).
    pub headers: Vec<(String, Vec<u8>)>,
    stream: TcpStream,
    buf: Vec<u8>,
    framing: Framing,
}

impl Response {
    async fn read_head(mut stream: TcpStream) -> io::Result<Response> {
        let mut buf = Vec::new();
        let end = loop {
            if let Some(i) = find(&buf, b"\r\n\r\n") {
                break i;
            }
            if buf.len() > MAX_HEAD {
                return Err(invalid("response head too large"));
            }
            if read_more(&mut stream, &mut buf).await? == 0 {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
        };
        let head = String::from_utf8_lossy(&buf[..end]).into_owned();
        buf.drain(..end + 4);
        let mut lines = head.split("\r\n");
        let status_line = lines.next().unwrap_or_default();
        let mut parts = status_line.splitn(3, ' ');
        let version = parts.next().unwrap_or_default().to_owned();
        let status = parts
            .next()
            .and_then(|code| code.parse().ok())
            .ok_or_else(|| invalid("bad status line"))?;
        let mut headers = Vec::new();
        for line in lines {
            let (name, value) = line
                .split_once(':')
                .ok_or_else(|| invalid("bad header line"))?;
            headers.push((
                name.to_ascii_lowercase(),
                value.trim_matches([' ', '\t']).as_bytes().to_vec(),
            ));
        }
        let mut response = Response {
            version,
            status,
            headers,
            stream,
            buf,
            framing: Framing::Close,
        };
        response.framing = if status == 204 || status == 304 || (100..200).contains(&status) {
            Framing::Done
        } else if response
            .header("transfer-encoding")
            .is_some_and(|te| te.to_ascii_lowercase().contains("chunked"))
        {
            Framing::Chunked(ChunkedDecoder::new())
        } else if let Some(len) = response.header("content-length") {
            Framing::Length(len.parse().map_err(|_| invalid("bad content-length"))?)
        } else {
            Framing::Close
        };
        Ok(response)
    }

    /// The first value of header `name` (any case), if present and UTF-8.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.header_values(name)
            .next()
            .and_then(|v| std::str::from_utf8(v).ok())
    }

    /// Every value of header `name` (any case), in order.
    pub fn header_values<'a>(&'a self, name: &str) -> impl Iterator<Item = &'a [u8]> + use<'a> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .filter(move |(n, _)| *n == name)
            .map(|(_, v)| v.as_slice())
    }

    /// The next piece of the body as it arrives (one chunk of a chunked body), `Ok(None)` once
    /// the body is complete, an `UnexpectedEof` error if the connection ends before that.
    pub async fn chunk(&mut self) -> io::Result<Option<Vec<u8>>> {
        match self.framing {
            Framing::Done => Ok(None),
            Framing::Close => {
                if self.buf.is_empty() && read_more(&mut self.stream, &mut self.buf).await? == 0 {
                    self.framing = Framing::Done;
                    return Ok(None);
                }
                Ok(Some(std::mem::take(&mut self.buf)))
            }
            Framing::Length(0) => {
                self.framing = Framing::Done;
                Ok(None)
            }
            Framing::Length(left) => {
                if self.buf.is_empty() {
                    self.fill().await?;
                }
                let n = usize::try_from(left)
                    .unwrap_or(usize::MAX)
                    .min(self.buf.len());
                self.framing = Framing::Length(left - n as u64);
                Ok(Some(self.buf.drain(..n).collect()))
            }
            Framing::Chunked(ref mut decoder) => {
                // One chunk's data, which may come in several reads.
                let mut data = Vec::new();
                loop {
                    let (used, step) = decoder.step(&self.buf).map_err(invalid)?;
                    let (chunk_end, done) = match step {
                        Step::Data(piece) => {
                            if data.len() + piece.len() > MAX_CHUNK {
                                return Err(invalid("chunk too large"));
                            }
                            data.extend_from_slice(piece);
                            (false, false)
                        }
                        Step::ChunkEnd => (true, false),
                        Step::Done => (false, true),
                        Step::NeedMore => (false, false),
                    };
                    self.buf.drain(..used);
                    if chunk_end {
                        return Ok(Some(data));
                    }
                    if done {
                        self.framing = Framing::Done;
                        return Ok(None);
                    }
                    if self.buf.is_empty() && read_more(&mut self.stream, &mut self.buf).await? == 0
                    {
                        return Err(io::ErrorKind::UnexpectedEof.into());
                    }
                }
            }
        }
    }

    /// Reads the rest of the body; tells whether it was complete or cut.
    pub async fn read_to_end(&mut self) -> (Vec<u8>, BodyEnd) {
        let mut body = Vec::new();
        loop {
            match self.chunk().await {
                Ok(Some(piece)) => body.extend_from_slice(&piece),
                Ok(None) => return (body, BodyEnd::Complete),
                Err(_) => return (body, BodyEnd::Aborted),
            }
        }
    }

    /// The connection, for tests that go on using it (the body must have been read).
    pub fn into_stream(self) -> TcpStream {
        self.stream
    }

    /// Reads more bytes; the end of the connection is an error (the framing wants more).
    async fn fill(&mut self) -> io::Result<()> {
        if read_more(&mut self.stream, &mut self.buf).await? == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        Ok(())
    }
}

async fn read_more(stream: &mut TcpStream, buf: &mut Vec<u8>) -> io::Result<usize> {
    let mut chunk = [0u8; 8192];
    let n = stream.read(&mut chunk).await?;
    buf.extend_from_slice(&chunk[..n]);
    Ok(n)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn invalid(what: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what)
}
