//! # adapter-check-warp
//!
//! The proof that "your `Cargo.toml` needs only the adapter" holds for `ssekit-warp`: this
//! crate's only workspace dependency is `ssekit-warp`, with the features it forwards
//! (`serde`, `jwt`, `metrics`, `signal`), next to what a user adds (the framework,
//! tokio, futures-util, serde, metrics-exporter-prometheus). It compiles as doctests
//!
//! - `ssekit-warp`'s README, and
//! - every snippet of the workspace README that uses `ssekit-warp` or its framework and no other
//!   adapter (picked by `build.rs`, copied verbatim).
//!
//! A missing re-export or feature fails here, where the `examples` crate, which depends on
//! every workspace crate, would not notice it. Run: `cargo test -p adapter-check-warp --doc`
//! (also part of `cargo test --workspace`).

/// `ssekit-warp`'s README.
#[cfg(doctest)]
#[doc = include_str!("../../../ssekit-warp/README.md")]
pub struct AdapterReadme;

/// The workspace README's snippets that use `ssekit-warp` and no other adapter.
#[cfg(doctest)]
#[doc = include_str!(concat!(env!("OUT_DIR"), "/readme_snippets.md"))]
pub struct WorkspaceReadme;
