//! Runs the `ssekit` binary, shared by the integration tests: to completion ([`run`]), or as
//! a running process the test talks to ([`Proc`]), which is killed when dropped.

// Each test binary uses a part of this module.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, ChildStdin, Command, Output, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// How long any one wait of a test may take before the test fails.
pub(crate) const PATIENCE: Duration = Duration::from_secs(5);

/// Runs `ssekit` with `args`, `stdin` written from another thread (so a large input cannot
/// deadlock against a full stdout pipe), and returns what it did.
pub(crate) fn run<A: AsRef<std::ffi::OsStr>>(args: &[A], stdin: &[u8]) -> Output {
    let mut child = spawn(args);
    let mut input = child.stdin.take().expect("stdin");
    let stdin = stdin.to_vec();
    let writer = thread::spawn(move || input.write_all(&stdin));
    let output = child.wait_with_output().expect("ssekit runs");
    writer.join().expect("writer").expect("stdin written");
    output
}

/// Starts `ssekit args` with stdin, stdout and stderr piped.
fn spawn<A: AsRef<std::ffi::OsStr>>(args: &[A]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_ssekit"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("ssekit starts")
}

/// What a finished [`Proc`] did.
#[derive(Debug)]
pub(crate) struct Finished {
    /// The exit status code (`None`: killed by a signal).
    pub(crate) code: Option<i32>,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

/// A running `ssekit`: stdin piped, stdout collected, stderr read line by line. Dropping it
/// kills the process.
pub(crate) struct Proc {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: Option<JoinHandle<String>>,
    stderr_lines: Receiver<String>,
    stderr: String,
}

impl Proc {
    /// Starts `ssekit args`.
    pub(crate) fn start(args: &[&str]) -> Proc {
        let mut child = spawn(args);
        let mut stdout = child.stdout.take().expect("stdout");
        let stdout = thread::spawn(move || {
            let mut text = String::new();
            let _ = stdout.read_to_string(&mut text);
            text
        });
        let stderr = child.stderr.take().expect("stderr");
        let (tx, stderr_lines) = channel();
        thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Proc {
            stdin: child.stdin.take(),
            child,
            stdout: Some(stdout),
            stderr_lines,
            stderr: String::new(),
        }
    }

    /// Waits for a stderr line containing `needle` and returns it.
    pub(crate) fn wait_for_stderr(&mut self, needle: &str) -> String {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.stderr_lines.recv_timeout(left) {
                Ok(line) => {
                    self.stderr.push_str(&line);
                    self.stderr.push('\n');
                    if line.contains(needle) {
                        return line;
                    }
                }
                Err(RecvTimeoutError::Timeout) => {
                    panic!(
                        "no {needle:?} on stderr in {PATIENCE:?}; so far:\n{}",
                        self.stderr
                    )
                }
                Err(RecvTimeoutError::Disconnected) => {
                    panic!("stderr ended without {needle:?}:\n{}", self.stderr)
                }
            }
        }
    }

    /// Writes `text` to its stdin.
    pub(crate) fn write(&mut self, text: &str) {
        let stdin = self.stdin.as_mut().expect("stdin still open");
        stdin.write_all(text.as_bytes()).expect("stdin written");
        stdin.flush().expect("stdin flushed");
    }

    /// Closes its stdin (the end of input).
    pub(crate) fn close_stdin(&mut self) {
        self.stdin = None;
    }

    /// Sends it a signal (`"TERM"`, `"INT"`).
    pub(crate) fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .args([format!("-{name}"), self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success());
    }

    /// Waits (at most [`PATIENCE`]) for it to exit by itself.
    pub(crate) fn finish(mut self) -> Finished {
        self.close_stdin();
        let deadline = Instant::now() + PATIENCE;
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                break status;
            }
            assert!(
                Instant::now() < deadline,
                "ssekit did not exit in {PATIENCE:?}; stderr so far:\n{}",
                self.stderr
            );
            thread::sleep(Duration::from_millis(10));
        };
        let stdout = self.stdout.take().expect("stdout").join().expect("stdout");
        let mut stderr = std::mem::take(&mut self.stderr);
        while let Ok(line) = self.stderr_lines.recv_timeout(Duration::from_secs(1)) {
            stderr.push_str(&line);
            stderr.push('\n');
        }
        Finished {
            code: status.code(),
            stdout,
            stderr,
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Reads an HTTP/1.1 request or response head (up to the blank line), lowercased.
pub(crate) fn read_head(stream: &mut TcpStream) -> String {
    stream.set_read_timeout(Some(PATIENCE)).expect("timeout");
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match stream.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            _ => break,
        }
    }
    String::from_utf8_lossy(&head).to_lowercase()
}
