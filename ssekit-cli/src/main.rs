//! `ssekit`: watch a URL, serve stdin as an event stream, load-test a server, or parse an
//! event stream from stdin. The manual is `ssekit --help`; the command line is parsed with
//! clap (`cli`), its prose is in `help`.
//!
//! ```text
//! ssekit [watch] URL [--json | --raw] [--event NAME]... [--count N] [--timeout S] ...
//! ssekit serve [--listen ADDR] [--format lines|sse|json] [--exit-on-eof]
//! ssekit bench URL [--connections N] [--duration S] [--json] ...
//! ssekit [parse] [--chunk-size N | --splits i,j,k]     # parse mode
//! ```
//!
//! Parse mode: stdout gets one JSON object per line: `{"type":..,"data":..,"id":..}` for each
//! dispatched event (id = the last event ID at dispatch), `{"retry":N}` for each accepted
//! retry value, and once at the end `{"last_event_id":..}`. Nothing else goes to stdout.
//! Limits are off in this mode (the whole input is in memory already); errors go to stderr.

use std::io::{self, IsTerminal, Read, Write};
use std::process::ExitCode;

use clap::error::ErrorKind;
use clap::{ArgMatches, CommandFactory, FromArgMatches};
use ssekit_cli::output::{Escape, use_colour};
use ssekit_cli::serve::ServeOptions;
use ssekit_cli::url::UrlOptions;
use ssekit_cli::{Chunking, JsonLines, serve, url};
use ssekit_proto::{Limits, Parser};

mod cli;
mod help;

use cli::{Cli, Mode};

fn main() -> ExitCode {
    let (args, manual) = cli::with_mode(std::env::args_os().collect());
    let (cli, matches) = match parse(args) {
        Ok(parsed) => parsed,
        Err(error) => return clap_exit(&error, manual),
    };
    match cli.mode {
        None => parse_mode(&cli.parse.chunking(&matches)),
        Some(Mode::Parse(args)) => {
            let sub = matches.subcommand().map(|(_, sub)| sub).unwrap_or(&matches);
            parse_mode(&args.chunking(sub))
        }
        Some(Mode::Watch(args)) => match args.into_options() {
            Ok(options) => url_mode(&options),
            Err(message) => usage_error(&message, manual),
        },
        Some(Mode::Serve(args)) => serve_mode(&args.options()),
        Some(Mode::Bench(args)) => match args.options() {
            Ok(options) => bench_mode(&options, args.json),
            Err(message) => usage_error(&message, manual),
        },
    }
}

/// The command line, parsed.
fn parse(args: Vec<std::ffi::OsString>) -> Result<(Cli, ArgMatches), clap::Error> {
    let matches = Cli::command().try_get_matches_from(args)?;
    let cli = Cli::from_arg_matches(&matches)?;
    Ok((cli, matches))
}

/// The exit code once `--help` or `--version` printed what was asked (0), or a usage error
/// was reported (2), pointing at the `manual` command.
fn clap_exit(error: &clap::Error, manual: &str) -> ExitCode {
    match error.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            // Writing to a closed stdout is not worth reporting.
            let _ = error.print();
            ExitCode::SUCCESS
        }
        _ => {
            let text = error.render().to_string();
            let text = text.replace("For more information, try '--help'.\n", "");
            eprint!("{}", text.trim_end_matches('\n'));
            eprintln!("\n\nssekit: `{manual}` prints the manual");
            ExitCode::from(2)
        }
    }
}

/// Reports a bad argument found after parsing (exit status 2).
fn usage_error(message: &str, manual: &str) -> ExitCode {
    eprintln!("ssekit: {message}\nssekit: `{manual}` prints the manual");
    ExitCode::from(2)
}

fn parse_mode(chunking: &Chunking) -> ExitCode {
    let mut input = Vec::new();
    if let Err(e) = io::stdin().lock().read_to_end(&mut input) {
        eprintln!("ssekit: reading stdin: {e}");
        return ExitCode::FAILURE;
    }
    let stdout = io::stdout().lock();
    let mut out = JsonLines::new(io::BufWriter::new(stdout));
    let result = run(&input, chunking, &mut out).and_then(|()| out.into_inner().flush());
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ssekit: writing stdout: {e}");
            ExitCode::FAILURE
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

fn url_mode(options: &UrlOptions) -> ExitCode {
    let runtime = match runtime() {
        Ok(runtime) => runtime,
        Err(code) => return code,
    };
    let stdout = io::stdout();
    let no_color = std::env::var_os("NO_COLOR");
    let terminal = stdout.is_terminal();
    let colour = use_colour(options.format, terminal, no_color.as_deref());
    let mut options = options.clone();
    options.escape = if options.escape.applies(terminal) {
        Escape::Always
    } else {
        Escape::Never
    };
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

fn serve_mode(options: &ServeOptions) -> ExitCode {
    let runtime = match runtime() {
        Ok(runtime) => runtime,
        Err(code) => return code,
    };
    match runtime.block_on(serve::run(options)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ssekit: {e}");
            ExitCode::FAILURE
        }
    }
}

fn bench_mode(options: &ssekit_bench::Options, json: bool) -> ExitCode {
    let runtime = match runtime() {
        Ok(runtime) => runtime,
        Err(code) => return code,
    };
    let progress = std::sync::Arc::default();
    match runtime.block_on(ssekit_bench::run(options, progress)) {
        Ok(report) if json => {
            println!("{}", report.json());
            ExitCode::SUCCESS
        }
        Ok(report) => {
            print!("{}", report.table());
            ExitCode::SUCCESS
        }
        Err(e @ ssekit_bench::Error::Options(_)) => {
            usage_error(&e.to_string(), "ssekit bench --help")
        }
        Err(e) => {
            eprintln!("ssekit: {e}");
            ExitCode::FAILURE
        }
    }
}
