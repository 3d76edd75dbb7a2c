//! A real browser against the rooms example: headless Chromium, one tab per user, driven over
//! WebDriver. Each page follows room 1 and its user's notifications in one `EventSource`, and
//! tries the other user's notifications in a second one. The server publishes a notification
//! to each user and a message to the room: each tab shows its own notification and the room's
//! message, never the other user's, and its second `EventSource` is closed by the 403.
//!
//! Needs `chromium` and `chromedriver` (see `conformance::webdriver`). With `SSE_SKIP_BROWSER=1`
//! the test is skipped; otherwise a missing browser is a failure.

use std::thread::sleep;
use std::time::{Duration, Instant};

use conformance::webdriver::Browser;
use examples::rooms_axum::{self, RoomsState};
use ssekit::Event;

const TEST_BUDGET: Duration = Duration::from_secs(60);
const WAIT: Duration = Duration::from_secs(20);

const READ_PAGE: &str = "
    const el = (id) => document.getElementById(id);
    return {
        state: Number(el('state').dataset.readyState),
        snoop: Number(el('snoop').dataset.readyState),
        leaked: el('snoop').dataset.leaked || '',
        messages: Array.from(document.querySelectorAll('#messages li')).map((li) => li.textContent),
    };";

#[derive(Debug, Default)]
struct Page {
    state: i64,
    snoop: i64,
    leaked: String,
    messages: Vec<String>,
}

fn read(browser: &Browser) -> Page {
    let v = browser.execute(READ_PAGE, &[]);
    Page {
        state: v["state"].as_i64().unwrap_or(-1),
        snoop: v["snoop"].as_i64().unwrap_or(-1),
        leaked: v["leaked"].as_str().unwrap_or_default().to_owned(),
        messages: v["messages"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|m| m.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default(),
    }
}

fn wait_for(
    browser: &Browser,
    deadline: Instant,
    what: &str,
    done: impl Fn(&Page) -> bool,
) -> Page {
    let until = deadline.min(Instant::now() + WAIT);
    loop {
        let page = read(browser);
        if done(&page) {
            return page;
        }
        assert!(
            Instant::now() < until,
            "the page did not reach \"{what}\": {page:?}"
        );
        sleep(Duration::from_millis(100));
    }
}

#[test]
fn each_user_sees_the_room_and_only_their_own_notifications() {
    let deadline = Instant::now() + TEST_BUDGET;
    let Some(browser) = Browser::start_or_skip(deadline, "the rooms browser test") else {
        return;
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    let listener = examples::bind("127.0.0.1:0".parse().expect("addr")).expect("bind");
    let addr = listener.local_addr().expect("local addr");
    let state = RoomsState::new(b"browser test secret", None);
    let server = {
        let _guard = rt.enter();
        rt.spawn(rooms_axum::serve(listener, state.clone()))
    };

    let seven = browser.tab();
    browser.goto(&format!("http://{addr}/?user=7"));
    wait_for(
        &browser,
        deadline,
        "user 7 connected, snooping refused",
        |p| p.state == 1 && p.snoop == 2,
    );
    let eight = browser.new_tab();
    browser.switch_to(&eight);
    browser.goto(&format!("http://{addr}/?user=8"));
    wait_for(
        &browser,
        deadline,
        "user 8 connected, snooping refused",
        |p| p.state == 1 && p.snoop == 2,
    );
    let until = deadline.min(Instant::now() + WAIT);
    while state.broker.subscription_count() != 2 {
        assert!(
            Instant::now() < until,
            "{} subscriptions",
            state.broker.subscription_count()
        );
        sleep(Duration::from_millis(20));
    }

    let publish = |topic: &str, text: &str| {
        state
            .broker
            .publish([topic], Event::message(text))
            .expect("publish");
    };
    publish("users/7", "for 7 only");
    publish("users/8", "for 8 only");
    publish("rooms/1/chat", "hello room");

    let page = wait_for(&browser, deadline, "user 8's messages", |p| {
        p.messages.len() >= 2
    });
    assert_eq!(page.messages, ["for 8 only", "hello room"]);
    assert_eq!(page.leaked, "", "nothing of user 7 reached user 8");
    browser.switch_to(&seven);
    let page = wait_for(&browser, deadline, "user 7's messages", |p| {
        p.messages.len() >= 2
    });
    assert_eq!(page.messages, ["for 7 only", "hello room"]);
    assert_eq!(page.leaked, "");

    drop(browser);
    state.shutdown.trigger();
    rt.block_on(async {
        tokio::time::timeout(WAIT, server)
            .await
            .expect("graceful shutdown in time")
            .expect("server task")
            .expect("server");
    });
}
