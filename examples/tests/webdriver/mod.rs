//! The examples' browser tests' view of [`conformance::webdriver`], the shared WebDriver client
//! (headless Chromium through chromedriver): a local [`Browser`] type, so each test file can
//! add the readers of its own page to it, with every command of the shared one through
//! `Deref`.

// Each browser test crate uses a part of this module.
#![allow(dead_code, unused_imports)]

use std::ops::Deref;
use std::time::Instant;

pub(crate) use conformance::webdriver::{find_binary, skipped};

/// A headless Chromium session; see [`conformance::webdriver::Browser`].
pub(crate) struct Browser(conformance::webdriver::Browser);

impl Browser {
    pub(crate) fn start(deadline: Instant) -> Result<Browser, String> {
        conformance::webdriver::Browser::start(deadline).map(Browser)
    }

    /// [`Browser::start`] with more Chromium flags (e.g. `--ignore-certificate-errors`).
    pub(crate) fn start_with_args(deadline: Instant, extra: &[&str]) -> Result<Browser, String> {
        conformance::webdriver::Browser::start_with_args(deadline, extra).map(Browser)
    }
}

impl Deref for Browser {
    type Target = conformance::webdriver::Browser;

    fn deref(&self) -> &Self::Target {
        &self.0
    }
}
