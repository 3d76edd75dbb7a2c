//! # adapter-check-axum
//!
//! The proof that "your `Cargo.toml` needs only the adapter" holds for `ssekit-axum`: this
//! crate's only workspace dependency is `ssekit-axum`, with the features it forwards
//! (`serde`, `jwt`, `metrics`, `signal`), next to what a user adds (the framework,
//! tokio, futures-util, serde, metrics-exporter-prometheus). It compiles as doctests
//!
//! - `ssekit-axum`'s README, and
//! - every snippet of the workspace README that uses `ssekit-axum` or its framework and no other
//!   adapter (picked by `build.rs`, copied verbatim).
//!
//! A missing re-export or feature fails here, where the `examples` crate, which depends on
//! every workspace crate, would not notice it. Run: `cargo test -p adapter-check-axum --doc`
//! (also part of `cargo test --workspace`).

/// `ssekit-axum`'s README.
#[cfg(doctest)]
#[doc = include_str!("../../../ssekit-axum/README.md")]
pub struct AdapterReadme;

/// The workspace README's snippets that use `ssekit-axum` and no other adapter.
#[cfg(doctest)]
#[doc = include_str!(concat!(env!("OUT_DIR"), "/readme_snippets.md"))]
pub struct WorkspaceReadme;
