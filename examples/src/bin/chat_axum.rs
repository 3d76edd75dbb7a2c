//! The chat on axum: `cargo run -p examples --bin chat-axum`, then open
//! <http://127.0.0.1:8845/> in two tabs (set `PORT` to change the port, `PORT=0` for any free
//! one).
//!
//! The handlers are in `examples::chat_axum`; this file binds, prints the address and serves
//! until Ctrl-C or `SIGTERM` (`ssekit::Shutdown::trigger_on_signals`), which ends every open event stream.

use examples::chat::{CHAT_PORT, ChatState};
use examples::{bind_from_env_or, chat_axum};

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let listener = bind_from_env_or(CHAT_PORT)?;
    let state = ChatState::new();
    tokio::spawn(state.shutdown.trigger_on_signals()?);
    chat_axum::serve(listener, state).await
}
