//! Reading and routing a request head: bounded in size and in time, parsed with `httparse`.

use std::io;
use std::time::Duration;

use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;

use crate::broker::RequestInfo;
use crate::last_event_id;

/// At most this many header lines, as hyper's HTTP/1 server allows by default: a head with
/// more goes to the application, which answers it as the framework alone does.
pub(crate) const MAX_HEADERS: usize = 100;

/// A stream request the edge serves: which route, what the route's hook sees, and the
/// `Last-Event-ID` it carries (header, else `?lastEventId=`).
#[derive(Debug)]
pub(crate) struct StreamRequest {
    pub(crate) route: usize,
    pub(crate) info: RequestInfo,
    pub(crate) last_event_id: Option<String>,
}

/// What a complete (or refused) head asks for.
#[derive(Debug)]
pub(crate) enum Routed {
    /// A `GET` of a stream route, with no body and no upgrade: the edge's.
    Stream(Box<StreamRequest>),
    /// Anything else: the application's (the bytes read so far are replayed to it).
    Application,
}

/// How reading a head ended without a routable request.
#[derive(Debug)]
pub(crate) enum HeadError {
    /// The head is longer than the limit: `431 Request Header Fields Too Large`.
    TooLarge,
    /// The head was not complete in time, or the peer closed or failed first: the connection
    /// is closed without an answer.
    Gone,
}

/// Reads from `socket` into `buf` until the head is complete and routed, the head grows past
/// `limit` bytes, or `timeout` passes.
pub(crate) async fn read_head(
    socket: &mut TcpStream,
    buf: &mut Vec<u8>,
    limit: usize,
    timeout: Duration,
    route_of: &(dyn Fn(&str) -> Option<usize> + Sync),
) -> Result<Routed, HeadError> {
    let read = async {
        // Parse what arrived first (a start line that is not HTTP/1 goes to the application at
        // once), then only when new bytes may end the head (a blank line): a head sent in many
        // small pieces is parsed a few times, not once per piece, so it costs what it sent.
        let mut parse = true;
        loop {
            if parse && let Some(routed) = route(buf, limit, route_of)? {
                return Ok(routed);
            }
            if buf.len() >= limit {
                return Err(HeadError::TooLarge);
            }
            // Grow in steps, never past the limit: a slow head costs what it sent.
            let want = (buf.len() + 1024).min(limit);
            let start = buf.len();
            buf.resize(want, 0);
            let n = match socket.read(&mut buf[start..]).await {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => 0,
                Err(_) => {
                    buf.truncate(start);
                    return Err(HeadError::Gone);
                }
            };
            buf.truncate(start + n);
            if n == 0 {
                return Err(HeadError::Gone);
            }
            parse = start == 0 || may_end_head(&buf[start.saturating_sub(3)..]);
        }
    };
    tokio::time::timeout(timeout, read)
        .await
        .unwrap_or(Err(HeadError::Gone))
}

/// Whether `bytes` (the new bytes and the three before them) hold a blank line's end, which
/// every complete head ends with.
fn may_end_head(bytes: &[u8]) -> bool {
    memchr::memmem::find(bytes, b"\n\r\n").is_some()
        || memchr::memmem::find(bytes, b"\n\n").is_some()
}

/// Routes the head at the start of `buf`: `Ok(None)` while it is incomplete.
pub(crate) fn route(
    buf: &[u8],
    limit: usize,
    route_of: &(dyn Fn(&str) -> Option<usize> + Sync),
) -> Result<Option<Routed>, HeadError> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut request = httparse::Request::new(&mut headers);
    let parsed = match request.parse(buf) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) => return Ok(None),
        // Malformed, or more headers than we look at: the framework answers it its own way
        // (hyper: 400 or 431), or a stream-only listener answers 400.
        Err(_) => return Ok(Some(Routed::Application)),
    };
    if parsed > limit {
        return Err(HeadError::TooLarge);
    }
    let (Some(method), Some(target)) = (request.method, request.path) else {
        return Ok(Some(Routed::Application));
    };
    let (path, query) = match target.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (target, None),
    };
    let Some(route) = route_of(path) else {
        return Ok(Some(Routed::Application));
    };
    if method != "GET" || !without_body_or_upgrade(request.headers) {
        return Ok(Some(Routed::Application));
    }
    let header = request
        .headers
        .iter()
        .find(|h| h.name.eq_ignore_ascii_case(last_event_id::HEADER))
        .map(|h| h.value);
    let last_event_id = last_event_id::from_request(header, query);
    let info = RequestInfo::from_parts(request.headers.iter().map(|h| (h.name, h.value)), query);
    Ok(Some(Routed::Stream(Box::new(StreamRequest {
        route,
        info,
        last_event_id,
    }))))
}

/// True when the request announces no body (no `Transfer-Encoding`, no `Content-Length` other
/// than 0) and no protocol switch (`Upgrade`): such requests are the framework's.
fn without_body_or_upgrade(headers: &[httparse::Header<'_>]) -> bool {
    headers.iter().all(|h| {
        if h.name.eq_ignore_ascii_case("content-length") {
            h.value.iter().all(|b| *b == b'0') && !h.value.is_empty()
        } else {
            !h.name.eq_ignore_ascii_case("transfer-encoding")
                && !h.name.eq_ignore_ascii_case("upgrade")
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn events_route(path: &str) -> Option<usize> {
        (path == "/events").then_some(0)
    }

    fn routed(head: &[u8]) -> Result<Option<Routed>, HeadError> {
        route(head, 8192, &events_route)
    }

    #[test]
    fn a_get_of_a_stream_route_is_the_edges() {
        let head = b"GET /events?topic=a&lastEventId=7 HTTP/1.1\r\nHost: x\r\nCookie: u=1\r\n\r\n";
        let Ok(Some(Routed::Stream(request))) = routed(head) else {
            panic!("not routed to the edge")
        };
        assert_eq!(request.route, 0);
        assert_eq!(request.last_event_id.as_deref(), Some("7"));
        assert_eq!(request.info.cookie("u"), Some("1"));
        assert_eq!(request.info.query_params("topic"), ["a"]);
    }

    #[test]
    fn the_header_wins_over_the_query() {
        let head = b"GET /events?lastEventId=7 HTTP/1.1\r\nLast-Event-ID: 9\r\n\r\n";
        let Ok(Some(Routed::Stream(request))) = routed(head) else {
            panic!("not routed to the edge")
        };
        assert_eq!(request.last_event_id.as_deref(), Some("9"));
    }

    #[test]
    fn an_incomplete_head_waits() {
        assert!(matches!(routed(b"GET /events HTTP/1.1\r\nHost"), Ok(None)));
        assert!(matches!(routed(b""), Ok(None)));
    }

    #[test]
    fn everything_else_is_the_applications() {
        for head in [
            &b"POST /events HTTP/1.1\r\nContent-Length: 0\r\n\r\n"[..],
            b"GET /other HTTP/1.1\r\n\r\n",
            b"GET /events HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello",
            b"GET /events HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
            b"GET /events HTTP/1.1\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n",
            b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
            b"GET /events HTTP/1.1\r\nBad Header\r\n\r\n",
        ] {
            assert!(
                matches!(routed(head), Ok(Some(Routed::Application))),
                "{:?}",
                String::from_utf8_lossy(head)
            );
        }
        let head = b"GET /events HTTP/1.1\r\nContent-Length: 0\r\n\r\n";
        assert!(matches!(routed(head), Ok(Some(Routed::Stream(_)))));
    }

    #[test]
    fn only_a_blank_line_can_end_a_head() {
        assert!(may_end_head(b"x\r\n\r\n"));
        assert!(may_end_head(b"\n\n"));
        assert!(may_end_head(
            b"a\r\n\r"[..]
                .iter()
                .chain(b"\n")
                .copied()
                .collect::<Vec<_>>()
                .as_slice()
        ));
        assert!(!may_end_head(b"host: x\r\n"));
        assert!(!may_end_head(b"x"));
    }

    #[test]
    fn too_many_headers_go_to_the_application() {
        let mut head = b"GET /events HTTP/1.1\r\n".to_vec();
        for i in 0..=MAX_HEADERS {
            head.extend_from_slice(format!("x-{i}: v\r\n").as_bytes());
        }
        head.extend_from_slice(b"\r\n");
        assert!(matches!(
            route(&head, 64 * 1024, &events_route),
            Ok(Some(Routed::Application))
        ));
    }
}
