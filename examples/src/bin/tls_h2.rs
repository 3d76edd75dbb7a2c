//! Event streams over TLS and HTTP/2: `cargo run -p examples --bin tls-h2`, then open
//! <https://127.0.0.1:8843/> (set `PORT` to change the port, `PORT=0` for any free one) and
//! accept the self-signed certificate: 10 `EventSource`s on one page, all receiving, which
//! HTTP/1.1's 6 connections per origin would not allow.
//!
//! The certificate is made at start-up for `localhost` and `127.0.0.1`. Ctrl-C or `SIGTERM`
//! ends every stream and stops the server. The server is `examples::tls`.

use std::time::Duration;

use examples::tls::{self, TLS_PORT};
use ssekit::Shutdown;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let identity = tls::self_signed(&["localhost", "127.0.0.1"])?;
    let config = tls::server_config(&identity)?;
    let listener = examples::bind(examples::addr_from_env_or(TLS_PORT)?)?;
    println!("listening on https://{}/", listener.local_addr()?);
    let shutdown = Shutdown::new();
    tokio::spawn(shutdown.trigger_on_signals()?);
    let events = tls::demo_events(shutdown.clone());
    tokio::spawn(tls::tick(
        events.broadcast().clone(),
        Duration::from_millis(500),
        shutdown.clone(),
    ));
    let listener = tokio::net::TcpListener::from_std(listener)?;
    tls::serve(listener, config, tls::app(&events), shutdown).await?;
    Ok(())
}
