//! HTTP/2 over TLS, in a real browser and on the wire.
//!
//! The `tls-h2` example's server (`examples::tls`: rustls with a certificate made by `rcgen`
//! for this run, ALPN `h2` + `http/1.1`, hyper's automatic HTTP/1.1-or-HTTP/2 connections)
//! runs in-process on 127.0.0.1; headless Chromium (with `--ignore-certificate-errors`, the
//! certificate is self-signed) loads its page, which opens 10 `EventSource`s to the one
//! origin, and every one of the 10 receives events, over HTTP/2. The control: the same page
//! and server over plain HTTP/1.1, where Chromium's 6 connections per origin leave 4 streams
//! waiting. On the wire, an `h2` client over rustls (trusting the generated certificate) sees
//! ALPN `h2`, the SSE headers, no `Connection` header, and the events.
//!
//! Needs `chromium` and `chromedriver` (`./test.sh` installs them); without them the browser
//! test is skipped, or fails when `CI=true` (`SSE_SKIP_BROWSER=1` skips it too). The wire test
//! always runs.

mod support;
mod webdriver;

use std::net::SocketAddr;
use std::sync::Arc;
use std::thread::sleep;
use std::time::{Duration, Instant};

use axum::http::Version;
use conformance::wait::within;
use examples::deploy::Events;
use examples::tls;
use serde_json::Value;
use ssekit::Shutdown;
use ssekit::headers::RESPONSE_HEADERS;
use ssekit::hub::Hub;
use ssekit_proto::{Parsed, Parser};
use webdriver::Browser;

const STREAMS: usize = 10;
const WAIT: Duration = Duration::from_secs(20);

/// The demo server, over TLS and (for the control) over plain HTTP/1.1.
struct Demo {
    rt: tokio::runtime::Runtime,
    events: Events<Hub>,
    identity: tls::SelfSigned,
    https: SocketAddr,
    http: SocketAddr,
    shutdown: Shutdown,
}

impl Demo {
    fn start() -> Demo {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("tokio runtime");
        let shutdown = Shutdown::new();
        let events = tls::demo_events(shutdown.clone());
        let identity = tls::self_signed(&["localhost", "127.0.0.1"]).expect("certificate");
        let config = tls::server_config(&identity).expect("rustls config");
        let (https, http) = rt.block_on(async {
            let https = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind");
            let http = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind");
            let addrs = (
                https.local_addr().expect("addr"),
                http.local_addr().expect("addr"),
            );
            tokio::spawn(tls::serve(
                https,
                config,
                tls::app(&events),
                shutdown.clone(),
            ));
            let plain =
                axum::serve(http, tls::app(&events)).with_graceful_shutdown(shutdown.signal());
            tokio::spawn(async move { plain.await });
            tokio::spawn(tls::tick(
                events.broadcast().clone(),
                Duration::from_millis(100),
                shutdown.clone(),
            ));
            addrs
        });
        Demo {
            rt,
            events,
            identity,
            https,
            http,
            shutdown,
        }
    }
}

impl Drop for Demo {
    fn drop(&mut self) {
        self.shutdown.trigger();
    }
}

/// Each stream's event count and `readyState`, and the page's protocol, from the DOM.
#[derive(Debug, Default)]
struct Page {
    protocol: String,
    counts: Vec<u64>,
    ready_states: Vec<i64>,
}

const READ_PAGE: &str = "
    const items = Array.from(document.querySelectorAll('#streams li'));
    return {
        protocol: document.getElementById('protocol').textContent,
        counts: items.map((li) => Number(li.dataset.count)),
        readyStates: items.map((li) => Number(li.dataset.readyState)),
    };";

fn read_page(browser: &Browser) -> Page {
    let v = browser.execute(READ_PAGE, &[]);
    let numbers = |key: &str| -> Vec<Value> { v[key].as_array().cloned().unwrap_or_default() };
    Page {
        protocol: v["protocol"].as_str().unwrap_or_default().to_owned(),
        counts: numbers("counts")
            .iter()
            .map(|n| n.as_u64().unwrap_or(0))
            .collect(),
        ready_states: numbers("readyStates")
            .iter()
            .map(|n| n.as_i64().unwrap_or(-1))
            .collect(),
    }
}

fn wait_for(browser: &Browser, what: &str, done: impl Fn(&Page) -> bool) -> Page {
    let until = Instant::now() + WAIT;
    loop {
        let page = read_page(browser);
        if done(&page) {
            return page;
        }
        assert!(
            Instant::now() < until,
            "the page did not reach \"{what}\": {page:?}\nchromedriver log:\n{}",
            browser.driver_log_tail()
        );
        sleep(Duration::from_millis(100));
    }
}

fn browser_or_skip(deadline: Instant) -> Option<Browser> {
    if webdriver::skipped() {
        eprintln!("SKIPPED: SSE_SKIP_BROWSER=1, the real-browser test did not run");
        return None;
    }
    let chromium = ["chromium", "chromium-browser", "google-chrome"];
    let found = webdriver::find_binary("CHROMIUM", &chromium)
        .and_then(|_| webdriver::find_binary("CHROMEDRIVER", &["chromedriver"]));
    if let Err(e) = found {
        support::missing(&format!(
            "no browser for the HTTP/2 test: {e}; install them with \
             `apt-get install chromium chromium-driver` (./test.sh does)"
        ));
        return None;
    }
    let browser = Browser::start_with_args(deadline, &["--ignore-certificate-errors"])
        .unwrap_or_else(|e| panic!("could not start headless Chromium through chromedriver: {e}"));
    Some(browser)
}

#[test]
fn ten_event_sources_on_one_origin_all_receive_over_http_2() {
    let started = Instant::now();
    let Some(browser) = browser_or_skip(started + Duration::from_secs(60)) else {
        return;
    };
    let demo = Demo::start();
    eprintln!(
        "[{:?}] browser up, server on https://{}/",
        started.elapsed(),
        demo.https
    );

    browser.goto(&format!(
        "https://127.0.0.1:{}/?n={STREAMS}",
        demo.https.port()
    ));
    let page = wait_for(&browser, "every stream receiving", |p| {
        p.counts.len() == STREAMS && p.counts.iter().all(|&n| n >= 2)
    });
    eprintln!("[{:?}] over TLS: {page:?}", started.elapsed());
    assert_eq!(page.protocol, "h2", "the page came over HTTP/2");
    let requests = demo.events.requests();
    assert_eq!(requests.len(), STREAMS, "{requests:?}");
    assert!(
        requests.iter().all(|r| r.version == Version::HTTP_2),
        "every stream over HTTP/2: {requests:?}"
    );

    // The control: the same page over HTTP/1.1 gets 6 connections to the origin.
    browser.goto(&format!(
        "http://127.0.0.1:{}/?n={STREAMS}",
        demo.http.port()
    ));
    wait_for(&browser, "6 streams receiving", |p| {
        p.counts.len() == STREAMS && p.counts.iter().filter(|&&n| n >= 2).count() >= 6
    });
    // Give the other 4 time they would have had to connect over HTTP/2.
    sleep(Duration::from_secs(1));
    let page = read_page(&browser);
    eprintln!("[{:?}] over HTTP/1.1: {page:?}", started.elapsed());
    assert_eq!(page.protocol, "http/1.1");
    let receiving = page.counts.iter().filter(|&&n| n > 0).count();
    let connecting = page.ready_states.iter().filter(|&&s| s == 0).count();
    assert_eq!(
        (receiving, connecting),
        (6, STREAMS - 6),
        "HTTP/1.1: 6 streams per origin, the rest wait: {page:?}"
    );
    drop(browser);
    drop(demo);
    eprintln!("[{:?}] done", started.elapsed());
}

#[test]
fn http_2_responses_over_tls_carry_no_connection_header() {
    let demo = Demo::start();
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(demo.identity.cert.clone())
        .expect("trust the certificate");
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let addr = demo.https;
    demo.rt.block_on(async move {
        let tcp = tokio::net::TcpStream::connect(addr).await.expect("connect");
        let name = rustls::pki_types::ServerName::try_from("127.0.0.1").expect("name");
        let tls = within(
            Duration::from_secs(5),
            "TLS handshake",
            connector.connect(name, tcp),
        )
        .await
        .expect("TLS handshake, trusting the generated certificate");
        assert_eq!(
            tls.get_ref().1.alpn_protocol(),
            Some(&b"h2"[..]),
            "ALPN chose h2"
        );
        let (mut client, connection) = within(
            Duration::from_secs(5),
            "h2 handshake",
            h2::client::handshake(tls),
        )
        .await
        .expect("h2 handshake");
        tokio::spawn(connection);
        let request = http::Request::get(format!("https://127.0.0.1:{}/events", addr.port()))
            .body(())
            .expect("request");
        let (response, _) = client.send_request(request, true).expect("send");
        let response = within(Duration::from_secs(5), "response", response)
            .await
            .expect("response");
        assert_eq!(response.status(), 200);
        assert_eq!(response.version(), http::Version::HTTP_2);
        let headers = response.headers();
        for (name, value) in RESPONSE_HEADERS {
            assert_eq!(
                headers.get(name).map(|v| v.as_bytes()),
                Some(value.as_bytes()),
                "{name}"
            );
        }
        assert!(
            headers.get("connection").is_none(),
            "no Connection header on HTTP/2: {headers:?}"
        );
        assert!(headers.get("keep-alive").is_none() && headers.get("transfer-encoding").is_none());

        let mut body = response.into_body();
        let mut parser = Parser::new();
        let (mut retry, mut ticks) = (None, Vec::new());
        while ticks.len() < 2 {
            let data = within(Duration::from_secs(5), "data", body.data())
                .await
                .expect("the stream is open")
                .expect("data");
            let _ = body.flow_control().release_capacity(data.len());
            for item in parser.feed(&data) {
                match item {
                    Ok(Parsed::Retry(r)) => retry = Some(r),
                    Ok(Parsed::Event(e)) => ticks.push(e.data().to_owned()),
                    _ => {}
                }
            }
        }
        assert_eq!(retry, Some(Duration::from_secs(1)), "retry: first");
        assert!(ticks.iter().all(|t| t.starts_with("tick ")), "{ticks:?}");
    });
}
