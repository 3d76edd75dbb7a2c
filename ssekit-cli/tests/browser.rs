//! The page `ssekit serve` serves at `/`, in a real browser: headless Chromium over
//! WebDriver (the workspace's client, `conformance::webdriver`). It needs `chromium` and
//! `chromedriver`; with `SSE_SKIP_BROWSER=1` the test is skipped, as the examples' are.

mod common;

use std::thread::sleep;
use std::time::{Duration, Instant};

use common::{PATIENCE, Proc};
use conformance::webdriver;

/// The page's log as the browser shows it, once it contains `wanted` (or the test fails).
fn wait_for_log(browser: &webdriver::Browser, wanted: &str) -> String {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let text = browser.execute(
            "return document.getElementById('state').innerText + '\\n' + \
             document.getElementById('log').innerText;",
            &[],
        );
        let text = text.as_str().unwrap_or_default().to_owned();
        if text.contains(wanted) {
            return text;
        }
        assert!(
            Instant::now() < deadline,
            "no {wanted:?} on the page: {text}"
        );
        sleep(Duration::from_millis(50));
    }
}

#[test]
fn the_page_shows_events_of_every_type_published_and_live_ones() {
    if webdriver::skipped() {
        eprintln!("SKIPPED: SSE_SKIP_BROWSER=1, the real-browser test did not run");
        return;
    }
    let mut server = Proc::start(&["serve", "--listen", "127.0.0.1:0", "--format", "sse"]);
    let line = server.wait_for_stderr("serving on http://");
    let url = line[line.find("http://").expect("a URL")..]
        .split_whitespace()
        .next()
        .expect("the URL")
        .to_owned();
    // Published before the page loads: the page listens to its type, but connecting without
    // a Last-Event-ID it gets live events only.
    server.write("event: deploy\ndata: before the page\n\n");
    let browser = webdriver::Browser::start(Instant::now() + PATIENCE)
        .unwrap_or_else(|e| panic!("headless Chromium through chromedriver: {e}"));
    browser.goto(&url);
    wait_for_log(&browser, "connected to /events");
    server.write("event: deploy\nid: d2\ndata: step <2>\n\ndata: plain\ndata: two lines\n\n");
    let log = wait_for_log(&browser, "two lines");
    assert!(log.contains("deploy id=d2  step <2>"), "{log}");
    assert!(log.contains("message id=3  plain\ntwo lines"), "{log}");
    assert!(!log.contains("before the page"), "{log}");
}
