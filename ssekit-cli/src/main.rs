//! `ssekit`: watch a URL, serve stdin as an event stream, load-test a server, or parse an event stream from
//! stdin. The manual is `ssekit --help` ([`ssekit_cli::help`]).
//!
//! ```text
//! ssekit [watch] URL [--json | --raw] [--event NAME]... [--count N] [--timeout S] ...
//! ssekit serve [--listen ADDR] [--format lines|sse|json] [--exit-on-eof]
//! ssekit bench URL [--connections N] [--duration S] [--json] ...
//! ssekit [--chunk-size N | --splits i,j,k]     # parse mode
//! ```
//!
//! Parse mode: stdout gets one JSON object per line: `{"type":..,"data":..,"id":..}` for each
//! dispatched event (id = the last event ID at dispatch), `{"retry":N}` for each accepted
//! retry value, and once at the end `{"last_event_id":..}`. Nothing else goes to stdout.
//! Limits are off in this mode (the whole input is in memory already); errors go to stderr.

use std::io::{self, Read, Write};
use std::process::ExitCode;

use std::io::IsTerminal;

use ssekit_cli::output::use_colour;
use ssekit_cli::{Chunking, JsonLines, bench, help, parse_args, serve, url};
use ssekit_proto::{Limits, Parser};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("serve") => return serve_mode(&args[1..]),
        Some("watch") => return url_mode(&args[1..]),
        Some("bench") => return bench_mode(&args[1..]),
        _ if url::wants_url_mode(&args) => return url_mode(&args),
        _ => {}
    }
    let chunking = match arguments(parse_args(&args), help::MAIN, "ssekit --help") {
        Ok(chunking) => chunking,
        Err(code) => return code,
    };
    let mut input = Vec::new();
    if let Err(e) = io::stdin().lock().read_to_end(&mut input) {
        eprintln!("ssekit: reading stdin: {e}");
        return ExitCode::FAILURE;
    }
    let stdout = io::stdout().lock();
    let mut out = JsonLines::new(io::BufWriter::new(stdout));
    let result = run(&input, &chunking, &mut out).and_then(|()| out.into_inner().flush());
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ssekit: writing stdout: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The parsed arguments, or the exit code once `--help` printed the mode's `manual` (0) or a
/// bad argument was reported (2), pointing at the `help` command.
fn arguments<T>(
    parsed: Result<Option<T>, String>,
    manual: &str,
    help: &str,
) -> Result<T, ExitCode> {
    match parsed {
        Ok(Some(value)) => Ok(value),
        Ok(None) => {
            print!("{manual}");
            Err(ExitCode::SUCCESS)
        }
        Err(message) => {
            eprintln!("ssekit: {message}\nssekit: `{help}` prints the manual");
            Err(ExitCode::from(2))
        }
    }
}

/// A runtime for the network modes, or the exit code after reporting why there is none.
fn runtime() -> Result<tokio::runtime::Runtime, ExitCode> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| {
            eprintln!("ssekit: starting the runtime: {e}");
            ExitCode::FAILURE
        })
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
    let options = match arguments(
        url::parse_url_args(args),
        help::WATCH,
        "ssekit watch --help",
    ) {
        Ok(options) => options,
        Err(code) => return code,
    };
    let runtime = match runtime() {
        Ok(runtime) => runtime,
        Err(code) => return code,
    };
    let stdout = io::stdout();
    let no_color = std::env::var_os("NO_COLOR");
    let colour = use_colour(options.format, stdout.is_terminal(), no_color.as_deref());
    let out = io::BufWriter::new(stdout.lock());
    match runtime.block_on(url::run(&options, out, colour)) {
        Ok(outcome) => ExitCode::from(outcome.exit_code()),
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ssekit: writing stdout: {e}");
            ExitCode::FAILURE
        }
    }
}

fn serve_mode(args: &[String]) -> ExitCode {
    let parsed = serve::parse_serve_args(args);
    let options = match arguments(parsed, help::SERVE, "ssekit serve --help") {
        Ok(options) => options,
        Err(code) => return code,
    };
    let runtime = match runtime() {
        Ok(runtime) => runtime,
        Err(code) => return code,
    };
    match runtime.block_on(serve::run(&options)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ssekit: {e}");
            ExitCode::FAILURE
        }
    }
}

fn bench_mode(args: &[String]) -> ExitCode {
    let parsed = bench::parse_bench_args(args);
    let options = match arguments(parsed, help::BENCH, "ssekit bench --help") {
        Ok(options) => options,
        Err(code) => return code,
    };
    let runtime = match runtime() {
        Ok(runtime) => runtime,
        Err(code) => return code,
    };
    let progress = std::sync::Arc::default();
    match runtime.block_on(bench::run(&options, progress)) {
        Ok(report) if options.json => {
            println!("{}", report.json());
            ExitCode::SUCCESS
        }
        Ok(report) => {
            print!("{}", report.table());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("ssekit: {e}");
            ExitCode::FAILURE
        }
    }
}
