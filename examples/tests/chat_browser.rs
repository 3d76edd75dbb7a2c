//! A real browser against the axum chat: headless Chromium, two tabs, driven over WebDriver.
//!
//! The test starts the chat server in-process on `127.0.0.1:0` and opens the page in two tabs.
//! Tab 2 sends a message through the page's form; tab 1 shows it. Tab 1 presses "disconnect"
//! (`es.close()`); tab 2 sends three more; tab 1 still shows one. Tab 1 presses "reconnect"
//! (`new EventSource('/events?lastEventId=1')`) and shows the three it missed, once each, in
//! order, without a reset; then a message from tab 1 shows in both tabs.
//!
//! Needs `chromium` and `chromedriver` (see the `webdriver` module). With `SSE_SKIP_BROWSER=1`
//! the test is skipped; otherwise a missing browser is a failure.
//! `SSE_CHAT_SCREENSHOT=/path/to/file.png` saves a screenshot of tab 1 at the end.

mod webdriver;

use std::path::Path;
use std::thread::sleep;
use std::time::{Duration, Instant};

use examples::chat::ChatState;
use examples::chat_axum;
use serde_json::json;
use webdriver::Browser;

/// The whole test, start to end, stays under this.
const TEST_BUDGET: Duration = Duration::from_secs(60);
/// One wait for a page (or the server) to reach a state.
const WAIT: Duration = Duration::from_secs(20);

/// What a chat page shows, read from its DOM.
#[derive(Debug, Clone, Default)]
struct ChatPage {
    ready_state: i64,
    /// In the order shown (oldest first).
    ids: Vec<String>,
    texts: Vec<String>,
    url: String,
    dupes: i64,
    resets: i64,
    send_error: String,
}

const READ_PAGE: &str = "
    const text = (sel) => (document.querySelector(sel) || {}).textContent || '';
    const items = Array.from(document.querySelectorAll('#messages li'));
    return {
        readyState: Number(document.querySelector('#state').dataset.readyState),
        ids: items.map((li) => li.dataset.id),
        texts: items.map((li) => li.lastChild.textContent),
        url: text('#url'),
        dupes: Number(text('#dupes')),
        resets: Number(text('#resets')),
        sendError: text('#send-error'),
    };";

const SEND: &str = "
    const [user, text] = arguments;
    document.getElementById('user').value = user;
    document.getElementById('text').value = text;
    document.getElementById('send').requestSubmit();";

const TOGGLE: &str = "document.getElementById('toggle').click();";

fn read(browser: &Browser) -> ChatPage {
    let v = browser.execute(READ_PAGE, &[]);
    let strings = |key: &str| -> Vec<String> {
        v[key]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|s| s.as_str().unwrap_or_default().to_owned())
                    .collect()
            })
            .unwrap_or_default()
    };
    ChatPage {
        ready_state: v["readyState"].as_i64().unwrap_or(-1),
        ids: strings("ids"),
        texts: strings("texts"),
        url: v["url"].as_str().unwrap_or_default().to_owned(),
        dupes: v["dupes"].as_i64().unwrap_or(-1),
        resets: v["resets"].as_i64().unwrap_or(-1),
        send_error: v["sendError"].as_str().unwrap_or_default().to_owned(),
    }
}

/// Polls the current tab until `done` holds; panics with what it shows after [`WAIT`].
fn wait_for(
    browser: &Browser,
    deadline: Instant,
    what: &str,
    done: impl Fn(&ChatPage) -> bool,
) -> ChatPage {
    let until = deadline.min(Instant::now() + WAIT);
    loop {
        let page = read(browser);
        if done(&page) {
            return page;
        }
        if Instant::now() >= until {
            let text = browser.execute("return document.body.innerText;", &[]);
            panic!(
                "the page did not reach \"{what}\" in time: {page:?}\nits text:\n{}\n\
                 chromedriver log tail:\n{}",
                text.as_str().unwrap_or_default(),
                browser.driver_log_tail()
            );
        }
        sleep(Duration::from_millis(100));
    }
}

fn ids(range: std::ops::RangeInclusive<u32>) -> Vec<String> {
    range.map(|n| n.to_string()).collect()
}

#[test]
fn two_tabs_chat_and_a_reconnect_loses_nothing() {
    if webdriver::skipped() {
        eprintln!("SKIPPED: SSE_SKIP_BROWSER=1, the real-browser chat test did not run");
        return;
    }
    let deadline = Instant::now() + TEST_BUDGET;
    let started = Instant::now();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    let listener = examples::bind("127.0.0.1:0".parse().expect("addr")).expect("bind");
    let addr = listener.local_addr().expect("local addr");
    let state = ChatState::new();
    let server = {
        let _guard = rt.enter();
        rt.spawn(chat_axum::serve(listener, state.clone()))
    };
    let subscribers = |n: usize| {
        let until = deadline.min(Instant::now() + WAIT);
        while state.hub.subscriber_count() != n {
            assert!(
                Instant::now() < until,
                "the hub has {} subscribers, not {n}",
                state.hub.subscriber_count()
            );
            sleep(Duration::from_millis(20));
        }
    };

    let browser = Browser::start(deadline).unwrap_or_else(|e| {
        panic!(
            "could not start headless Chromium through chromedriver: {e}\n\
             install them (`apt-get install chromium chromium-driver`, or run ./test.sh), or \
             set SSE_SKIP_BROWSER=1 to skip this test"
        )
    });
    let url = format!("http://{addr}/");
    let tab1 = browser.tab();
    browser.goto(&url);
    wait_for(&browser, deadline, "tab 1 connected", |p| {
        p.ready_state == 1
    });
    let tab2 = browser.new_tab();
    browser.switch_to(&tab2);
    browser.goto(&url);
    wait_for(&browser, deadline, "tab 2 connected", |p| {
        p.ready_state == 1
    });
    subscribers(2);
    eprintln!("[{:?}] two tabs connected", started.elapsed());

    // Tab 2 writes; tab 1 sees it.
    browser.execute(SEND, &[json!("bob"), json!("hello from tab 2")]);
    wait_for(&browser, deadline, "tab 2 shows its message", |p| {
        p.ids == ["1"]
    });
    browser.switch_to(&tab1);
    let page = wait_for(&browser, deadline, "tab 1 shows tab 2's message", |p| {
        p.ids == ["1"]
    });
    assert_eq!(page.texts, ["hello from tab 2"]);
    assert_eq!(page.url, "/events?lastEventId=0");

    // Tab 1 disconnects; tab 2 writes three more.
    browser.execute(TOGGLE, &[]);
    wait_for(&browser, deadline, "tab 1 closed", |p| p.ready_state == 2);
    subscribers(1);
    browser.switch_to(&tab2);
    for n in 2..=4 {
        browser.execute(SEND, &[json!("bob"), json!(format!("message {n}"))]);
        wait_for(&browser, deadline, "tab 2 shows it", |p| {
            p.ids.len() == n as usize
        });
    }
    browser.switch_to(&tab1);
    let page = read(&browser);
    assert_eq!(page.ids, ["1"], "nothing arrives while disconnected");
    eprintln!("[{:?}] tab 1 disconnected, 3 sent", started.elapsed());

    // Tab 1 reconnects with `?lastEventId=1`: the three it missed, once each, in order.
    browser.execute(TOGGLE, &[]);
    let page = wait_for(&browser, deadline, "tab 1 caught up", |p| {
        p.ready_state == 1 && p.ids.len() >= 4
    });
    assert_eq!(page.url, "/events?lastEventId=1");
    assert_eq!(page.ids, ids(1..=4), "{page:?}");
    assert_eq!(
        page.texts,
        ["hello from tab 2", "message 2", "message 3", "message 4"]
    );
    assert_eq!((page.dupes, page.resets), (0, 0), "{page:?}");
    subscribers(2);
    eprintln!("[{:?}] tab 1 resumed: {page:?}", started.elapsed());

    // And live again, both ways.
    browser.execute(SEND, &[json!("ada"), json!("back")]);
    let page = wait_for(&browser, deadline, "tab 1 shows its own message", |p| {
        p.ids.len() == 5
    });
    assert_eq!(page.ids, ids(1..=5));
    assert!(page.send_error.is_empty(), "{page:?}");
    browser.switch_to(&tab2);
    let page = wait_for(&browser, deadline, "tab 2 shows tab 1's message", |p| {
        p.ids.len() == 5
    });
    assert_eq!(page.ids, ids(1..=5));
    assert_eq!(page.texts.last().map(String::as_str), Some("back"));

    // The page shows the server's refusal of an invalid message.
    browser.execute(SEND, &[json!("x".repeat(33)), json!("too long a name")]);
    let page = wait_for(&browser, deadline, "the refusal shown", |p| {
        !p.send_error.is_empty()
    });
    assert!(page.send_error.starts_with("400"), "{page:?}");
    assert_eq!(page.ids.len(), 5);

    if let Some(path) = std::env::var_os("SSE_CHAT_SCREENSHOT") {
        browser.switch_to(&tab1);
        browser.screenshot(Path::new(&path));
        eprintln!("screenshot saved to {}", Path::new(&path).display());
    }
    drop(browser);
    state.shutdown.trigger();
    rt.block_on(async {
        tokio::time::timeout(WAIT, server)
            .await
            .expect("graceful shutdown in time")
            .expect("server task")
            .expect("server");
    });
    eprintln!("[{:?}] done", started.elapsed());
}
