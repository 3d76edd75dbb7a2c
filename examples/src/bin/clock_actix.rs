//! The clock stream on actix-web: `cargo run -p examples --bin clock-actix`, then open
//! <http://127.0.0.1:8844/> (set `PORT` to change the port, `PORT=0` for any free one).
//!
//! The handlers are in `examples::clock_actix`; this file binds, prints the address and serves
//! until Ctrl-C or `SIGTERM` (`ssekit::Shutdown::trigger_on_signals`), in an actix `System` (actix-web's usual runtime).

use examples::{ClockState, bind_from_env, clock_actix};

fn main() -> std::io::Result<()> {
    actix_web::rt::System::new().block_on(async {
        let listener = bind_from_env()?;
        let state = ClockState::new();
        actix_web::rt::spawn(state.shutdown.trigger_on_signals()?);
        clock_actix::serve(listener, state).await
    })
}
