//! Runs the `sse-cli` binary, shared by the integration tests.

use std::io::Write;
use std::process::{Command, Output, Stdio};

/// Runs `sse-cli` with `args`, `stdin` written from another thread (so a large input cannot
/// deadlock against a full stdout pipe), and returns what it did.
pub(crate) fn run<A: AsRef<std::ffi::OsStr>>(args: &[A], stdin: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_sse-cli"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("sse-cli starts");
    let mut input = child.stdin.take().expect("stdin");
    let stdin = stdin.to_vec();
    let writer = std::thread::spawn(move || input.write_all(&stdin));
    let output = child.wait_with_output().expect("sse-cli runs");
    writer.join().expect("writer").expect("stdin written");
    output
}
