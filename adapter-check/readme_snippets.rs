// Shared by the three check crates' build scripts (`include!`d): picks out of the workspace
// README the Rust snippets a user of one adapter writes, and writes them, fences and all,
// to `$OUT_DIR/readme_snippets.md`, which the crate compiles as doctests.
//
// A snippet is picked when a path in it starts with one of `uses` (the adapter or its
// framework, as `ssekit_axum::..` or `axum::..`) and none starts with a crate that is not a
// dependency of the check crate (`foreign`: the other adapters and frameworks, the other
// workspace crates). Snippets that mix adapters stay compiled by the `examples` crate, which
// compiles the whole README. A new snippet that uses one adapter and a crate this list does
// not know fails to compile here: add the crate to the check crate's dependencies (if a user
// of the adapter would) or to `FOREIGN` below.

use std::fmt::Write as _;
use std::path::Path;

/// Crates the check crates do not depend on: workspace crates other than the adapters, and
/// other crates a README snippet may name.
const FOREIGN: &[&str] = &[
    "ssekit",
    "ssekit_proto",
    "ssekit_client",
    "ssekit_redis",
    "ssekit_cli",
    "conformance",
    "examples",
    "tower_http",
    "reqwest",
];

/// The adapters and their frameworks, as paths start.
const ADAPTERS: &[(&str, &str)] = &[
    ("ssekit_axum", "axum"),
    ("ssekit_actix_web", "actix_web"),
    ("ssekit_warp", "warp"),
];

/// The first segment of every path (`a::b`, not the `b`) in `code`.
fn path_roots(code: &str) -> Vec<&str> {
    let bytes = code.as_bytes();
    let is_ident = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let mut roots = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if is_ident(bytes[i]) && (i == 0 || !is_ident(bytes[i - 1])) {
            let start = i;
            while i < bytes.len() && is_ident(bytes[i]) {
                i += 1;
            }
            let continues = code[..start].ends_with("::");
            if !continues && code[i..].starts_with("::") {
                roots.push(&code[start..i]);
            }
        } else {
            i += 1;
        }
    }
    roots
}

/// The Rust snippets of `readme` (as rustdoc sees them: fences tagged `rust`, or untagged)
/// with the line each starts on.
fn rust_snippets(readme: &str) -> Vec<(usize, &str, String)> {
    let mut snippets = Vec::new();
    let mut open: Option<(usize, &str, String)> = None;
    for (n, line) in readme.lines().enumerate() {
        let trimmed = line.trim_start();
        match open.take() {
            None => {
                if let Some(info) = trimmed.strip_prefix("```") {
                    open = Some((n + 1, info.trim(), String::new()));
                }
            }
            Some((start, info, mut code)) => {
                if trimmed.starts_with("```") {
                    let lang = info.split(',').next().unwrap_or("").trim();
                    if lang.is_empty() || lang == "rust" {
                        snippets.push((start, info, code));
                    }
                } else {
                    code.push_str(line);
                    code.push('\n');
                    open = Some((start, info, code));
                }
            }
        }
    }
    snippets
}

/// Writes the snippets of `readme` for `adapter` (`ssekit_axum`, ...) to
/// `$OUT_DIR/readme_snippets.md`; returns how many.
fn write_readme_snippets(readme: &Path, adapter: &str) -> usize {
    println!("cargo::rerun-if-changed={}", readme.display());
    let text = std::fs::read_to_string(readme).expect("the workspace README");
    let (_, framework) = ADAPTERS
        .iter()
        .find(|(name, _)| *name == adapter)
        .expect("a known adapter");
    let foreign: Vec<&str> = ADAPTERS
        .iter()
        .filter(|(name, _)| *name != adapter)
        .flat_map(|(name, framework)| [*name, *framework])
        .chain(FOREIGN.iter().copied())
        .collect();
    let mut out = String::from("The workspace README's snippets for this adapter alone.\n");
    let mut count = 0;
    for (line, info, code) in rust_snippets(&text) {
        let roots = path_roots(&code);
        let uses = roots.iter().any(|r| *r == adapter || r == framework);
        let mixed = roots.iter().any(|r| foreign.contains(r));
        if uses && !mixed {
            count += 1;
            let _ = write!(out, "\nREADME.md, line {line}:\n\n```{info}\n{code}```\n");
        }
    }
    let dir = std::env::var("OUT_DIR").expect("OUT_DIR");
    std::fs::write(Path::new(&dir).join("readme_snippets.md"), out).expect("written");
    count
}
