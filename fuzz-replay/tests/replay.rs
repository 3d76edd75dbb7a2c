//! Replays every fuzz target's checking function over its seed corpus (and, with
//! `SSE_FUZZ_CORPUS=<dir>`, over `<dir>/<target>/` too; a relative `<dir>` is taken from the
//! workspace root).

use std::path::{Path, PathBuf};

use fuzz_replay::targets::{EventCase, ParseCase};
use fuzz_replay::{TARGETS, replay, seeds_dir};
use ssekit_proto::Limits;

fn replay_target(name: &str) {
    let (_, check) = TARGETS
        .iter()
        .find(|(target, _)| *target == name)
        .copied()
        .expect("known target");
    let mut dirs = vec![seeds_dir().join(name)];
    if let Some(extra) = std::env::var_os("SSE_FUZZ_CORPUS") {
        // A relative folder is taken from the workspace root (tests run in fuzz-replay/).
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        dirs.push(root.join(PathBuf::from(extra)).join(name));
    }
    for dir in dirs {
        let (count, failures) = replay(&dir, check);
        eprintln!("{name}: {count} files of {}", dir.display());
        assert!(
            failures.is_empty(),
            "{} of {count} inputs failed:\n{}",
            failures.len(),
            failures.join("\n")
        );
        if dir.starts_with(seeds_dir()) {
            assert!(count > 0, "no seeds in {}", dir.display());
        }
    }
}

#[test]
fn parse_seeds() {
    replay_target("parse");
}

#[test]
fn parse_chunking_seeds() {
    replay_target("parse_chunking");
}

#[test]
fn roundtrip_seeds() {
    replay_target("roundtrip");
}

#[test]
fn last_event_id_seeds() {
    replay_target("last_event_id");
}

/// The seed files are written by hand in the documented format; check that it reads as meant.
#[test]
fn parse_case_format() {
    let case = ParseCase::from_bytes(b"\x00\x00data: x\n\n");
    assert_eq!(case.limits, Limits::default());
    assert_eq!(case.take, 0);
    assert_eq!(case.input, b"data: x\n\n");
    assert_eq!(case.chunks(), [&b"data: x\n\n"[..]]);

    let case = ParseCase::from_bytes(b"\x05\x02\x03\x00abcdefg");
    assert_eq!(
        case.limits,
        Limits::default().max_line_length(64).max_event_size(256)
    );
    assert_eq!(case.take, 1);
    assert_eq!(case.chunks(), [&b"abc"[..], b"", b"def", b"", b"g"]);

    let case = ParseCase::from_bytes(b"\x03\x0a\x05\x01\x00xy");
    assert_eq!(
        case.limits,
        Limits::default().max_line_length(10).max_event_size(20)
    );
    assert_eq!(case.chunks(), [&b""[..], b"xy"]);

    assert_eq!(ParseCase::from_bytes(b"").input, b"");
}

#[test]
fn event_case_format() {
    let case = EventCase::from_bytes(b"\x1fd\xffe\xffi\xff1500.5\xffc");
    assert_eq!(case.data.as_deref(), Some("d"));
    assert_eq!(case.event.as_deref(), Some("e"));
    assert_eq!(case.id.as_deref(), Some("i"));
    assert_eq!(case.retry, Some(std::time::Duration::new(1, 500_000_005)));
    assert_eq!(case.comment.as_deref(), Some("c"));
    assert_eq!(
        EventCase::from_bytes(b"\x01"),
        EventCase {
            data: Some(String::new()),
            ..EventCase::default()
        }
    );
    assert_eq!(
        EventCase::from_bytes(b"\x08\xff\xff\xff99999999999999999999999999").retry,
        Some(std::time::Duration::MAX)
    );
}
