//! Runs the fuzz targets' checking code on stable Rust.
//!
//! The fuzz crate (`fuzz/`, its own workspace, nightly + libFuzzer) keeps every target's checks
//! in plain functions in `fuzz/src/lib.rs`. This crate compiles that same file as its
//! [`targets`] module, without libFuzzer, and its tests call each function on every file of
//! `fuzz/seeds/<target>/`, so `cargo test --workspace` runs the fuzz checks over the seed corpus
//! (every crash the fuzzers ever found is kept there as a regression seed).
//!
//! Set `SSE_FUZZ_CORPUS` to a folder holding `<target>/` subfolders (for example
//! `fuzz/corpus-run`) to replay a fuzzing run's whole corpus as well.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

#[path = "../../fuzz/src/lib.rs"]
pub mod targets;

/// A fuzz target's checking function: panics when a contract is broken for the input.
pub type Check = fn(&[u8]);

/// The fuzz targets, by name, with their checking function.
pub const TARGETS: [(&str, Check); 4] = [
    ("parse", targets::parse),
    ("parse_chunking", targets::parse_chunking),
    ("roundtrip", targets::roundtrip),
    ("last_event_id", targets::last_event_id),
];

/// `fuzz/seeds`, the checked-in seed corpus (one folder per target).
pub fn seeds_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/seeds")
}

/// The files of `dir`, sorted by name (none if `dir` does not exist).
pub fn corpus_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(entries) => entries
            .filter_map(Result::ok)
            .map(|entry| entry.path())
            .filter(|path| path.is_file())
            .collect(),
        Err(_) => Vec::new(),
    };
    files.sort();
    files
}

/// Runs `check` on every file of `dir`; returns how many files ran and one line per failure
/// (the file and the panic message).
pub fn replay(dir: &Path, check: Check) -> (usize, Vec<String>) {
    let files = corpus_files(dir);
    let mut failures = Vec::new();
    for file in &files {
        let bytes = match std::fs::read(file) {
            Ok(bytes) => bytes,
            Err(e) => {
                failures.push(format!("{}: unreadable: {e}", file.display()));
                continue;
            }
        };
        if let Err(panic) = catch_unwind(AssertUnwindSafe(|| check(&bytes))) {
            let message = panic
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| panic.downcast_ref::<&str>().copied())
                .unwrap_or("(non-string panic)");
            failures.push(format!("{}: {message}", file.display()));
        }
    }
    (files.len(), failures)
}
