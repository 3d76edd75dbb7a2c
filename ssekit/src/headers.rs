//! The response headers of an event stream, and how `Connection` is handled per HTTP version.
//!
//! Every SSE response carries [`RESPONSE_HEADERS`]:
//!
//! - `Content-Type: text/event-stream`;
//! - `Cache-Control: no-cache`, so no cache between server and client holds events back;
//! - `X-Accel-Buffering: no`, which asks nginx (and proxies that honour it) not to buffer the
//!   response;
//! - `Content-Encoding: identity`, which compression middleware (tower-http's
//!   `CompressionLayer`, actix-web's `Compress`) treats as "already encoded" and leaves alone,
//!   so it never holds events back waiting for a compression block to fill.
//!
//! # `Connection: keep-alive` and HTTP/2
//!
//! `Connection` is a connection-specific header: illegal on HTTP/2 (RFC 9113, section 8.2.2),
//! meaningless on HTTP/1.1 where persistence is the default (RFC 9112, section 9.3), but looked
//! for by some proxies and old clients. The adapters set it as [`CONNECTION_KEEP_ALIVE`] and
//! rely on the server below them to treat it per version:
//!
//! - **hyper** (axum, warp): an `IntoResponse` / `Reply` does not see the request, so the
//!   adapter sets `Connection: keep-alive` always. hyper sends it as given on HTTP/1.1 (and
//!   adds `close` when it decides to close), removes it from every HTTP/2 response before it is
//!   encoded, and on HTTP/1.0 (no browser's `EventSource` uses it) sends it and closes the
//!   connection after the body, which has no chunked framing there.
//! - **actix-web**: the responder sees the request and sets the header on HTTP/1.1 requests
//!   only. actix-http's HTTP/1 encoder then drops it and writes its own (`close` when it will
//!   close), so an HTTP/1.1 response from actix has no `Connection` header on the wire; the one
//!   set is what middleware and `actix_web::test` see. On HTTP/1.0 the responder turns chunked
//!   encoding off and closes the connection after the response.
//!
//! Each adapter's tests check the wire over real HTTP/1.1 and HTTP/2 connections.

/// Headers every SSE response carries (lower-case names, as HTTP/2 wants them).
pub const RESPONSE_HEADERS: [(&str, &str); 4] = [
    ("content-type", "text/event-stream"),
    ("cache-control", "no-cache"),
    ("x-accel-buffering", "no"),
    ("content-encoding", "identity"),
];

/// `Connection: keep-alive`, for HTTP/1.1 responses only (see the module docs).
pub const CONNECTION_KEEP_ALIVE: (&str, &str) = ("connection", "keep-alive");
