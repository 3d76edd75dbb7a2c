//! `sse-cli`: parse an event stream from stdin, or watch a URL.
//!
//! ```text
//! sse-cli                      # all of stdin as one chunk
//! sse-cli --chunk-size N       # consecutive N-byte chunks
//! sse-cli --splits i,j,k       # cut at those byte offsets
//! sse-cli URL [--json] [--header 'Name: value']... [--last-event-id ID] [--no-reconnect]
//!             [--cacert FILE]
//! ```
//!
//! URL mode (see `sse_cli::url`) connects with `sse_client::EventSource` and prints events as
//! they arrive. The rest of this comment is about the stdin parse mode.
//!
//! stdout gets one JSON object per line: `{"type":..,"data":..,"id":..}` for each dispatched
//! event (id = the last event ID at dispatch), `{"retry":N}` for each accepted retry value, and
//! once at the end `{"last_event_id":..}`. Nothing else goes to stdout. Limits are off in this
//! mode (the whole input is in memory already); errors go to stderr.

use std::io::{self, Read, Write};
use std::process::ExitCode;

use sse_cli::url::{self, Outcome};
use sse_cli::{Chunking, JsonLines, parse_args};
use sse_core::{Limits, Parser};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if url::wants_url_mode(&args) {
        return url_mode(&args);
    }
    let chunking = match arguments(parse_args(&args)) {
        Ok(chunking) => chunking,
        Err(code) => return code,
    };
    let mut input = Vec::new();
    if let Err(e) = io::stdin().lock().read_to_end(&mut input) {
        eprintln!("sse-cli: reading stdin: {e}");
        return ExitCode::FAILURE;
    }
    let stdout = io::stdout().lock();
    let mut out = JsonLines::new(io::BufWriter::new(stdout));
    let result = run(&input, &chunking, &mut out).and_then(|()| out.into_inner().flush());
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("sse-cli: writing stdout: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The parsed arguments, or the exit code once `--help` printed the usage (0) or a bad
/// argument was reported (2).
fn arguments<T>(parsed: Result<Option<T>, String>) -> Result<T, ExitCode> {
    match parsed {
        Ok(Some(value)) => Ok(value),
        Ok(None) => {
            print!("{}", sse_cli::USAGE);
            Err(ExitCode::SUCCESS)
        }
        Err(message) => {
            eprintln!("sse-cli: {message}\n\n{}", sse_cli::USAGE);
            Err(ExitCode::from(2))
        }
    }
}

fn run<W: Write>(input: &[u8], chunking: &Chunking, out: &mut JsonLines<W>) -> io::Result<()> {
    let mut parser = Parser::with_limits(Limits::unlimited());
    for chunk in chunking.chunks(input) {
        for item in parser.feed(chunk) {
            out.item(item)?;
        }
    }
    for item in parser.finish() {
        out.item(item)?;
    }
    out.last_event_id(parser.last_event_id())
}

fn url_mode(args: &[String]) -> ExitCode {
    let options = match arguments(url::parse_url_args(args)) {
        Ok(options) => options,
        Err(code) => return code,
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("sse-cli: starting the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let stdout = io::stdout().lock();
    match runtime.block_on(url::run(&options, io::BufWriter::new(stdout))) {
        Ok(Outcome::Ended) => ExitCode::SUCCESS,
        Ok(Outcome::Failed) => ExitCode::FAILURE,
        Ok(Outcome::BadArguments) => ExitCode::from(2),
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("sse-cli: writing stdout: {e}");
            ExitCode::FAILURE
        }
    }
}
