//! `ssekit https://...` against a local TLS server: a self-signed certificate made at test
//! time (rcgen), served by rustls on 127.0.0.1, trusted with `--cacert`. Without `--cacert`
//! the certificate is refused: TLS is on by default and verifies.

mod common;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::Duration;

use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

const RESPONSE: &str = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\nid: 1\ndata: over TLS\n\n";

/// A certificate for `127.0.0.1` and `localhost`, its PEM in a file of its own, and the
/// rustls server configuration that serves it.
struct Tls {
    pem_file: PathBuf,
    config: Arc<rustls::ServerConfig>,
}

impl Tls {
    fn new(name: &str) -> Tls {
        let certified = rcgen::generate_simple_self_signed(vec![
            "127.0.0.1".to_owned(),
            "localhost".to_owned(),
        ])
        .expect("a self-signed certificate");
        let pem_file =
            std::env::temp_dir().join(format!("ssekit-https-{name}-{}.pem", std::process::id()));
        std::fs::write(&pem_file, certified.cert.pem()).expect("write the PEM");
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
            certified.signing_key.serialize_der(),
        ));
        let chain = vec![CertificateDer::from(certified.cert.der().to_vec())];
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("TLS versions")
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .expect("the certificate and key");
        Tls {
            pem_file,
            config: Arc::new(config),
        }
    }
}

impl Drop for Tls {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.pem_file);
    }
}

/// Serves one TLS connection with [`RESPONSE`]; the handle gives back the request head, or
/// the TLS error when the client refused the handshake.
fn serve_once(config: Arc<rustls::ServerConfig>) -> (String, JoinHandle<Result<String, String>>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("https://{}/events", listener.local_addr().expect("addr"));
    let server = thread::spawn(move || {
        let (tcp, _) = listener.accept().map_err(|e| e.to_string())?;
        let timeout = Some(Duration::from_secs(10));
        tcp.set_read_timeout(timeout).map_err(|e| e.to_string())?;
        tcp.set_write_timeout(timeout).map_err(|e| e.to_string())?;
        let connection = rustls::ServerConnection::new(config).map_err(|e| e.to_string())?;
        let mut tls = rustls::StreamOwned::new(connection, tcp);
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            match tls.read(&mut byte) {
                Ok(1) => head.push(byte[0]),
                Ok(_) => return Err("closed before the request head".to_owned()),
                Err(e) => return Err(e.to_string()),
            }
        }
        tls.write_all(RESPONSE.as_bytes())
            .map_err(|e| e.to_string())?;
        tls.conn.send_close_notify();
        tls.flush().map_err(|e| e.to_string())?;
        Ok(String::from_utf8_lossy(&head).to_lowercase())
    });
    (url, server)
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn https_with_cacert_receives_the_stream() {
    let tls = Tls::new("trusted");
    let (url, server) = serve_once(tls.config.clone());
    let cacert = tls.pem_file.display().to_string();
    let output = common::run(
        &[&url, "--json", "--no-reconnect", "--cacert", &cacert],
        b"",
    );
    let stderr = text(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert_eq!(
        text(&output.stdout),
        "{\"type\":\"message\",\"data\":\"over TLS\",\"id\":\"1\"}\n{\"last_event_id\":\"1\"}\n",
        "{stderr}"
    );
    assert!(
        stderr.contains("connected to https://127.0.0.1:"),
        "{stderr}"
    );
    let head = server.join().expect("server").expect("a TLS request");
    assert!(head.starts_with("get /events http/1.1\r\n"), "{head}");
    assert!(head.contains("accept: text/event-stream\r\n"), "{head}");
}

#[test]
fn https_without_the_certificate_is_refused() {
    let tls = Tls::new("untrusted");
    let (url, server) = serve_once(tls.config.clone());
    let output = common::run(&[&url, "--no-reconnect"], b"");
    let stderr = text(&output.stderr);
    // A refused certificate is a network error; with --no-reconnect that is exit 4.
    assert_eq!(output.status.code(), Some(4), "{stderr}");
    assert!(output.stdout.is_empty());
    // reqwest's message chain names the certificate problem.
    assert!(stderr.to_lowercase().contains("certificate"), "{stderr}");
    assert!(
        server.join().expect("server").is_err(),
        "the handshake must fail"
    );
}

#[test]
fn a_cacert_that_is_not_pem_is_a_bad_argument() {
    let file = std::env::temp_dir().join(format!("ssekit-not-pem-{}.txt", std::process::id()));
    std::fs::write(&file, "not a certificate").expect("write");
    let path = file.display().to_string();
    let output = common::run(&["https://127.0.0.1:9/", "--cacert", &path], b"");
    let _ = std::fs::remove_file(&file);
    assert_eq!(output.status.code(), Some(2), "{}", text(&output.stderr));
    assert!(
        text(&output.stderr).contains("--cacert"),
        "{}",
        text(&output.stderr)
    );
    let missing = common::run(
        &["https://127.0.0.1:9/", "--cacert", "/nonexistent/ca.pem"],
        b"",
    );
    assert_eq!(missing.status.code(), Some(2));
}
