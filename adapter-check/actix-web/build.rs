//! Picks the workspace README's snippets that use `ssekit-actix-web` and no other adapter (see
//! `../readme_snippets.rs`).

include!("../readme_snippets.rs");

fn main() {
    let readme = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../README.md");
    let count = write_readme_snippets(&readme, "ssekit_actix_web");
    assert!(
        count > 0,
        "no snippet of the workspace README uses ssekit_actix_web alone"
    );
}
