//! The clock stream on axum: `cargo run -p examples --bin clock-axum`, then open
//! <http://127.0.0.1:8844/> (set `PORT` to change the port, `PORT=0` for any free one).
//!
//! The handlers are in `examples::clock_axum`; this file binds, prints the address and serves
//! until Ctrl-C.

use examples::{ClockState, bind_from_env, clock_axum, trigger_on_ctrl_c};

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let listener = bind_from_env()?;
    let state = ClockState::new();
    tokio::spawn(trigger_on_ctrl_c(state.shutdown.clone()));
    clock_axum::serve(listener, state).await
}
