//! Event streams over TLS with HTTP/2 (rustls, hyper's automatic HTTP/1.1-or-HTTP/2
//! connections), and the page that shows why HTTP/2 matters for SSE.
//!
//! Over HTTP/1.1 a browser opens at most 6 connections per origin, and each open
//! `EventSource` holds one for ever: the 7th stream (a 7th tab of the same site) waits until
//! another closes. Over HTTP/2 every stream is multiplexed on one connection, and the limit is
//! the server's `SETTINGS_MAX_CONCURRENT_STREAMS` (100 or more). Browsers speak HTTP/2 only
//! over TLS, negotiated with ALPN, which is what [`server_config`] sets up (`h2`, then
//! `http/1.1`).
//!
//! ```sh
//! cargo run -p examples --bin tls-h2
//! # listening on https://127.0.0.1:8843/  (self-signed certificate: accept it in the browser)
//! ```
//!
//! The page ([`STREAMS_HTML`]) opens 10 `EventSource`s to `/events` and shows each one's count;
//! all 10 count up over HTTP/2. The same page over plain HTTP/1.1 shows 6 counting and 4 stuck
//! in "connecting" (`examples/tests/tls_h2.rs` checks both in headless Chromium). HTTP/2 also
//! forbids connection-specific headers (RFC 9113, section 8.2.2): hyper drops the
//! `Connection: keep-alive` the adapter sets, which Safari and some proxies would otherwise
//! reject.

use std::io;
use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::response::Html;
use axum::routing::get;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use rustls::ServerConfig;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use ssekit::Shutdown;
use ssekit::hub::Hub;
use ssekit_proto::Event;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

use crate::deploy::{Events, StreamConfig};

/// The default port of the `tls-h2` example.
pub const TLS_PORT: u16 = 8843;

/// The page served at `/`: opens `?n=` (default 10) `EventSource`s to `/events` and shows, per
/// stream, how many events it received (`data-count` on each `#streams li`) and its
/// `readyState` (`data-ready-state`).
pub const STREAMS_HTML: &str = include_str!("../static/streams.html");

/// How long a TLS handshake may take before the connection is dropped.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long the server waits, after the streams ended, for connections to close.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

/// A self-signed certificate and its private key.
#[derive(Debug)]
pub struct SelfSigned {
    /// The certificate (DER); a client trusts it by adding it to its root store.
    pub cert: CertificateDer<'static>,
    key: PrivatePkcs8KeyDer<'static>,
}

/// Makes a self-signed certificate for `names` (DNS names or IP addresses, e.g. `localhost`,
/// `127.0.0.1`), with a new key.
///
/// # Errors
///
/// When a name is not a valid subject alternative name, or the key cannot be generated.
pub fn self_signed(names: &[&str]) -> Result<SelfSigned, rcgen::Error> {
    let names: Vec<String> = names.iter().map(|name| (*name).to_owned()).collect();
    let certified = rcgen::generate_simple_self_signed(names)?;
    Ok(SelfSigned {
        cert: certified.cert.der().clone(),
        key: PrivatePkcs8KeyDer::from(certified.signing_key.serialize_der()),
    })
}

/// A rustls server configuration (ring crypto, TLS 1.2 and 1.3) for `identity`, offering
/// HTTP/2 and HTTP/1.1 through ALPN.
///
/// # Errors
///
/// When rustls rejects the certificate or key.
pub fn server_config(identity: &SelfSigned) -> Result<Arc<ServerConfig>, rustls::Error> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(
            vec![identity.cert.clone()],
            PrivateKeyDer::Pkcs8(identity.key.clone_key()),
        )?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// Serves `app` over TLS on `listener` (HTTP/2 or HTTP/1.1, as ALPN and the client's preface
/// say) until `shutdown` is triggered; then stops accepting, lets the open connections finish
/// gracefully (the event streams have ended on the same trigger) and returns.
pub async fn serve(
    listener: TcpListener,
    tls: Arc<ServerConfig>,
    app: Router,
    shutdown: Shutdown,
) -> io::Result<()> {
    let acceptor = TlsAcceptor::from(tls);
    let graceful = GracefulShutdown::new();
    let mut stopping = pin!(shutdown.signal());
    loop {
        let tcp = tokio::select! {
            () = &mut stopping => break,
            accepted = listener.accept() => match accepted {
                Ok((tcp, _)) => tcp,
                Err(e) => {
                    // Out of file descriptors (EMFILE) and the like: wait instead of spinning.
                    eprintln!("accept: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let acceptor = acceptor.clone();
        let service = TowerToHyperService::new(app.clone());
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            let tls = match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                Ok(Ok(tls)) => tls,
                Ok(Err(_)) | Err(_) => return,
            };
            let connection = auto::Builder::new(TokioExecutor::new())
                .serve_connection_with_upgrades(TokioIo::new(tls), service)
                .into_owned();
            let _ = watcher.watch(connection).await;
        });
    }
    drop(listener);
    let _ = tokio::time::timeout(DRAIN_TIMEOUT, graceful.shutdown()).await;
    Ok(())
}

/// The demo application: the page at `/`, and `/events` ([`Events`]) of `hub`.
pub fn app(events: &Events<Hub>) -> Router {
    events
        .router()
        .route("/", get(|| async { Html(STREAMS_HTML) }))
}

/// Publishes `tick 1`, `tick 2`, ... to `hub` every `every` until `shutdown` is triggered.
pub async fn tick(hub: Hub, every: Duration, shutdown: Shutdown) {
    let mut stopping = pin!(shutdown.signal());
    let mut interval = tokio::time::interval(every);
    for n in 1u64.. {
        tokio::select! {
            () = &mut stopping => return,
            _ = interval.tick() => {
                hub.publish(Event::message(format!("tick {n}")));
            }
        }
    }
}

/// The demo's endpoint: a new hub, `retry: 1000`, keep-alive every 15 s, `shutdown`.
pub fn demo_events(shutdown: Shutdown) -> Events<Hub> {
    let config = StreamConfig {
        retry: Duration::from_secs(1),
        shutdown,
        ..StreamConfig::default()
    };
    Events::new(Hub::new(), config)
}
