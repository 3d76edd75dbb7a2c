//! The command line, with clap: one subcommand a mode, and the conversion of each mode's
//! arguments into the library's options.
//!
//! `ssekit URL ...` (a command line with a URL or a watch-only flag and no mode) is
//! `ssekit watch URL ...`: [`with_mode`] puts the `watch` in before clap sees the arguments.
//! With no mode and no URL, the top-level options are the parse mode's (`ssekit parse`).

use std::ffi::OsString;
use std::io::{self, Read};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Arg, ArgAction, ArgMatches, Args, Parser, Subcommand, ValueEnum};
use ssekit_cli::Chunking;
use ssekit_cli::output::{Escape, Format};
use ssekit_cli::serve::{DEFAULT_LISTEN, Engine, InputFormat, ServeOptions};
use ssekit_cli::url::{UrlOptions, is_url};
use ssekit_client::RedirectPolicy;
use ssekit_client::reqwest::Method;
use ssekit_client::reqwest::header::{HeaderName, HeaderValue};

use crate::help;

/// The modes, as the first argument names them.
const MODES: [&str; 4] = ["watch", "serve", "bench", "parse"];

/// The flags that exist only in watch mode (any of them on a command line without a mode
/// means watch mode).
const WATCH_FLAGS: [&str; 17] = [
    "--json",
    "--raw",
    "--event",
    "--count",
    "--timeout",
    "-H",
    "--header",
    "-X",
    "--method",
    "-d",
    "--data",
    "--last-event-id",
    "--no-reconnect",
    "--cacert",
    "--escape",
    "--redirects",
    "--idle-timeout",
];

/// `ssekit`: watch, serve, load-test and parse Server-Sent Events streams.
#[derive(Debug, Parser)]
#[command(
    name = "ssekit",
    version,
    about = "Watch, serve, load-test and parse Server-Sent Events streams",
    long_about = help::MAIN_ABOUT,
    override_usage = help::MAIN_USAGE,
    before_help = help::MAIN_NAME,
    after_help = help::MAIN_AFTER,
    help_template = help::TEMPLATE,
    disable_help_flag = true,
    arg(help_flag()),
    args_conflicts_with_subcommands = true,
    args_override_self = true,
    disable_help_subcommand = true,
    next_line_help = false
)]
pub(crate) struct Cli {
    /// The mode; none: parse stdin (or watch, with a URL).
    #[command(subcommand)]
    pub(crate) mode: Option<Mode>,
    /// Parse mode's options, when there is no mode.
    #[command(flatten)]
    pub(crate) parse: ParseArgs,
}

/// `-h, --help`: the manual (the same for both), in every mode.
fn help_flag() -> Arg {
    Arg::new("help")
        .short('h')
        .long("help")
        .help("Print this manual")
        .display_order(1000)
        .action(ArgAction::HelpLong)
        .global(true)
}

/// The modes.
#[derive(Debug, Subcommand)]
pub(crate) enum Mode {
    /// Print the events of an event stream as they arrive (`ssekit URL` for short)
    #[command(
        long_about = help::WATCH_ABOUT,
        before_help = help::WATCH_NAME,
        after_help = help::WATCH_AFTER,
        help_template = help::TEMPLATE,
        disable_help_flag = true,
        args_override_self = true,
        allow_negative_numbers = true
    )]
    Watch(WatchArgs),
    /// Serve stdin as a live, resumable event stream
    #[command(
        long_about = help::SERVE_ABOUT,
        before_help = help::SERVE_NAME,
        after_help = help::SERVE_AFTER,
        help_template = help::TEMPLATE,
        disable_help_flag = true,
        args_override_self = true
    )]
    Serve(ServeArgs),
    /// Load an event stream with many connections and measure delivery
    #[command(
        long_about = help::BENCH_ABOUT,
        before_help = help::BENCH_NAME,
        after_help = help::BENCH_AFTER,
        help_template = help::TEMPLATE,
        disable_help_flag = true,
        args_override_self = true,
        allow_negative_numbers = true
    )]
    Bench(BenchArgs),
    /// Print the events of a stream read from stdin as JSON lines (the default mode)
    #[command(
        long_about = help::PARSE_ABOUT,
        before_help = help::PARSE_NAME,
        after_help = help::PARSE_AFTER,
        help_template = help::TEMPLATE,
        disable_help_flag = true,
        args_override_self = true
    )]
    Parse(ParseArgs),
}

/// Parse mode: how stdin is cut before it is fed to the parser.
#[derive(Debug, Args)]
pub(crate) struct ParseArgs {
    /// Feed the parser consecutive N-byte chunks (default: all of stdin at once)
    #[arg(long, value_name = "N", value_parser = chunk_size)]
    chunk_size: Option<usize>,
    /// Feed it the chunks between these byte offsets (any order, repeats allowed)
    #[arg(long, value_name = "I,J,K", value_parser = splits)]
    splits: Option<Splits>,
}

/// `--splits`: byte offsets, sorted.
#[derive(Debug, Clone)]
struct Splits(Vec<usize>);

impl ParseArgs {
    /// The chunking asked for; of `--chunk-size` and `--splits`, the one given last wins.
    /// `matches` are the matches of the command these arguments belong to.
    pub(crate) fn chunking(&self, matches: &ArgMatches) -> Chunking {
        let size = self.chunk_size.map(Chunking::Size);
        let splits = self.splits.as_ref().map(|s| Chunking::Splits(s.0.clone()));
        match (size, splits) {
            (Some(size), Some(splits)) => {
                if matches.index_of("chunk_size") > matches.index_of("splits") {
                    size
                } else {
                    splits
                }
            }
            (size, splits) => size.or(splits).unwrap_or(Chunking::Whole),
        }
    }
}

/// Watch mode's arguments.
#[derive(Debug, Args)]
pub(crate) struct WatchArgs {
    /// The http:// or https:// URL of the event stream
    #[arg(value_name = "URL", value_parser = url)]
    url: String,

    /// One JSON object per line, as the parse mode prints them
    #[arg(
        long,
        conflicts_with = "raw",
        help_heading = "Output",
        long_help = "One JSON object per line, as the parse mode prints them:\n\
                     {\"type\":..,\"data\":..,\"id\":..} per event, {\"retry\":N} per retry change,\n\
                     {\"last_event_id\":..} once at the end"
    )]
    json: bool,
    /// Each event re-encoded as SSE wire text
    #[arg(
        long,
        help_heading = "Output",
        long_help = "Each event re-encoded as SSE wire text (event:, id: when it changed, data:\n\
                     lines, a blank line; retry: N for a retry change): what the client parsed,\n\
                     not the bytes received, so comments and line ends are normalised. `ssekit`\n\
                     (parse mode) reads it back to the --json output."
    )]
    raw: bool,
    /// Show control characters visibly: always, auto (on a terminal) or never
    #[arg(
        long,
        value_name = "WHEN",
        value_enum,
        default_value_t = EscapeArg::Auto,
        help_heading = "Output",
        long_help = "Whether readable output shows control characters visibly, so that an event\n\
                     cannot drive the terminal (clear it with ESC[2J, set its title with OSC 0,\n\
                     write the clipboard with OSC 52): ESC as ^[, BEL as ^G, DEL as ^?, the C1\n\
                     controls as \\u{9b}; tabs and line ends stay. auto (the default): only when\n\
                     stdout is a terminal, a pipe or a file gets the exact text; always; never.\n\
                     --json escapes them as JSON does; --raw output is always exact."
    )]
    escape: EscapeArg,

    /// Print only events of type NAME (repeatable; plain events are `message`)
    #[arg(
        long = "event",
        value_name = "NAME",
        help_heading = "Selecting and stopping"
    )]
    events: Vec<String>,
    /// Stop after printing N events (exit 0)
    #[arg(long, value_name = "N", value_parser = count, help_heading = "Selecting and stopping")]
    count: Option<u64>,
    /// Stop after S seconds (decimals allowed), whatever happens (exit 124)
    #[arg(long, value_name = "S", value_parser = seconds, help_heading = "Selecting and stopping")]
    timeout: Option<Duration>,
    /// Stop at the first network error or end of stream instead of reconnecting
    #[arg(long, help_heading = "Selecting and stopping")]
    no_reconnect: bool,

    /// Send this request header on every connection (repeatable): Cookie,
    /// Authorization, ...
    #[arg(
        short = 'H',
        long = "header",
        value_name = "'Name: value'",
        value_parser = header,
        help_heading = "Request"
    )]
    headers: Vec<(String, String)>,
    /// The request method (default GET, or POST with --data)
    #[arg(short = 'X', long, value_name = "METHOD", value_parser = method, help_heading = "Request")]
    method: Option<Method>,
    /// Send DATA as the request body on every connection; @FILE sends the file, @- stdin
    #[arg(
        short = 'd',
        long,
        value_name = "DATA",
        help_heading = "Request",
        long_help = "Send DATA as the request body on every connection; @FILE sends the file,\n\
                     @- sends stdin. Sets Content-Type: application/json unless a --header\n\
                     gives one."
    )]
    data: Vec<String>,
    /// Send Last-Event-ID: ID on the first connection (resume where a previous run stopped)
    #[arg(long, value_name = "ID", help_heading = "Request")]
    last_event_id: Option<String>,
    /// For https://, also trust the PEM certificate(s) in FILE
    #[arg(
        long,
        value_name = "FILE",
        help_heading = "Request",
        long_help = "For https://, also trust the PEM certificate(s) in FILE (a private CA, a\n\
                     self-signed server); the built-in webpki roots stay trusted"
    )]
    cacert: Option<PathBuf>,
    /// Which redirects to follow: follow (the default), same-origin or never
    #[arg(
        long,
        value_name = "POLICY",
        value_enum,
        default_value_t = RedirectArg::Follow,
        help_heading = "Request",
        long_help = "Which redirects to follow. follow (the default, as browsers): every redirect;\n\
                     one to another origin drops Authorization, Cookie and Proxy-Authorization\n\
                     but keeps the other -H headers and, on 307/308, the -d body. same-origin:\n\
                     only redirects to the same scheme, host and port. never: none. A redirect\n\
                     that is not followed stops the watch with exit status 5."
    )]
    redirects: RedirectArg,
    /// Reconnect after S seconds without a byte from the server (0: never; default 60)
    #[arg(
        long,
        value_name = "S",
        value_parser = seconds_or_zero,
        help_heading = "Request",
        long_help = "Drop the connection and reconnect (with Last-Event-ID) after S seconds\n\
                     (decimals allowed) without a byte from the server, keep-alive comments\n\
                     included; it covers the wait for the response head too. Default 60, four\n\
                     times the usual 15 s keep-alive; 0 turns it off (wait on a silent server\n\
                     until --timeout)."
    )]
    idle_timeout: Option<Duration>,
}

/// `--escape`'s values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum EscapeArg {
    Always,
    Auto,
    Never,
}

/// `--redirects`'s values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum RedirectArg {
    Follow,
    SameOrigin,
    Never,
}

impl WatchArgs {
    /// The options of the watch, reading `--data @FILE` (or `@-`: stdin).
    pub(crate) fn into_options(self) -> Result<UrlOptions, String> {
        let format = match (self.json, self.raw) {
            (true, _) => Format::Json,
            (_, true) => Format::Raw,
            _ => Format::Readable,
        };
        let body = match self.data.as_slice() {
            [] => None,
            [data] => Some(request_body(data)?),
            _ => return Err("--data: the request body was already given".to_owned()),
        };
        let method = self.method.unwrap_or(if body.is_some() {
            Method::POST
        } else {
            Method::GET
        });
        Ok(UrlOptions {
            url: self.url,
            format,
            events: self.events,
            count: self.count,
            timeout: self.timeout,
            method,
            body,
            headers: self.headers,
            last_event_id: self.last_event_id,
            reconnect: !self.no_reconnect,
            cacert: self.cacert,
            escape: match self.escape {
                EscapeArg::Always => Escape::Always,
                EscapeArg::Auto => Escape::Auto,
                EscapeArg::Never => Escape::Never,
            },
            redirects: match self.redirects {
                RedirectArg::Follow => RedirectPolicy::Follow,
                RedirectArg::SameOrigin => RedirectPolicy::SameOrigin,
                RedirectArg::Never => RedirectPolicy::Never,
            },
            idle_timeout: self.idle_timeout,
        })
    }
}

/// Serve mode's arguments.
#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// The address to listen on (port 0 picks a free port; a bare PORT means 127.0.0.1:PORT)
    #[arg(long, value_name = "ADDR", default_value_t = DEFAULT_LISTEN, value_parser = listen)]
    listen: SocketAddr,
    /// How stdin is read: lines, sse or json
    #[arg(
        long,
        value_name = "FORMAT",
        value_enum,
        default_value_t = ServeFormat::Lines,
        hide_possible_values = true,
        long_help = "How stdin is read:\n\
                     lines  each line is the data of one `message` event (the default; invalid\n\
                     \x20      UTF-8 is replaced by U+FFFD)\n\
                     sse    SSE wire text, parsed as a client would (event:, id:, data:, retry:);\n\
                     \x20      whole events, several data lines each\n\
                     json   one JSON object per line: {\"event\":..,\"data\":..,\"id\":..} (\"type\"\n\
                     \x20      for \"event\", as --json prints it; \"retry\": ms; data that is not a\n\
                     \x20      string is sent as compact JSON; a line without \"data\" sends nothing,\n\
                     \x20      its retry goes with the next event; other keys are ignored). A bad\n\
                     \x20      line is reported on stderr and skipped."
    )]
    format: ServeFormat,
    /// When stdin ends, let every client receive what is left, then exit
    #[arg(long)]
    exit_on_eof: bool,
    /// What serves the event stream: edge or axum
    #[arg(
        long,
        value_name = "ENGINE",
        value_enum,
        default_value_t = ServeEngine::Edge,
        hide_possible_values = true,
        long_help = "What serves the event stream:\n\
                     edge   the edge (the default): the stream below the framework, a cursor and\n\
                     \x20      a socket per client (ssekit::edge); the page through axum\n\
                     axum   axum's own serving of the same hub (Sse::from_broadcast), for\n\
                     \x20      comparison\n\
                     Either way a request head must arrive within 10 s, and bound to a loopback\n\
                     address only loopback Host names (localhost, 127.0.0.1, [::1]) are answered."
    )]
    engine: ServeEngine,
    /// Close a connection whose request head has not arrived within S seconds (default 10)
    #[arg(long, value_name = "S", default_value_t = 10.0, value_parser = head_seconds)]
    head_timeout: f64,
}

/// `--head-timeout`: seconds above 0.
fn head_seconds(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(seconds) if seconds > 0.0 && seconds.is_finite() => Ok(seconds),
        _ => Err(format!("expected seconds above 0, got {text:?}")),
    }
}

/// `serve --engine`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ServeEngine {
    /// The edge: the stream below the framework
    Edge,
    /// axum's own serving, for comparison
    Axum,
}

/// `serve --format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ServeFormat {
    /// Each line is the data of one `message` event (invalid UTF-8 is replaced by U+FFFD)
    Lines,
    /// SSE wire text, parsed as a client would (event:, id:, data:, retry:); whole events,
    /// several data lines each
    Sse,
    /// One JSON object per line: {"event":..,"data":..,"id":..} ("type" for "event", as --json
    /// prints it; "retry": ms; data that is not a string is sent as compact JSON; a line
    /// without "data" sends nothing, its retry goes with the next event; other keys are
    /// ignored). A bad line is reported on stderr and skipped.
    Json,
}

impl ServeArgs {
    /// The options of the server.
    pub(crate) fn options(&self) -> ServeOptions {
        ServeOptions {
            listen: self.listen,
            format: match self.format {
                ServeFormat::Lines => InputFormat::Lines,
                ServeFormat::Sse => InputFormat::Sse,
                ServeFormat::Json => InputFormat::Json,
            },
            exit_on_eof: self.exit_on_eof,
            engine: match self.engine {
                ServeEngine::Edge => Engine::Edge,
                ServeEngine::Axum => Engine::Axum,
            },
            head_timeout: std::time::Duration::from_secs_f64(self.head_timeout),
        }
    }
}

/// Bench mode's arguments.
#[derive(Debug, Args)]
pub(crate) struct BenchArgs {
    /// The http:// URL of the event stream (https:// is not supported)
    #[arg(value_name = "URL")]
    url: String,
    /// Connections to open
    #[arg(short = 'c', long, value_name = "N", default_value_t = 100, value_parser = positive)]
    connections: usize,
    /// Stop after S seconds (decimals allowed)
    #[arg(short = 'd', long, value_name = "S", default_value = "10", value_parser = seconds)]
    duration: Duration,
    /// Connections connecting at once; N equal to --connections opens them all at once
    #[arg(long, value_name = "N", default_value_t = 64, value_parser = positive)]
    connect_concurrency: usize,
    /// Send Last-Event-ID: ID on every connection
    #[arg(long, value_name = "ID", value_parser = last_event_id)]
    last_event_id: Option<String>,
    /// A connection closes after N events (the run ends when all are done)
    #[arg(long, value_name = "N", value_parser = positive)]
    events: Option<usize>,
    /// The last N connections read the response head and then nothing
    #[arg(
        long,
        value_name = "N",
        default_value_t = 0,
        long_help = "The last N connections read the response head and then nothing (clients\n\
                     that do not drain; their receive buffer is set to 4 KiB); 4 s before the\n\
                     end they drain to learn whether the server ended them"
    )]
    stalled: usize,
    /// Connect from these local addresses in turn (ADDR,ADDR,... or a range FIRST-LAST)
    #[arg(
        long,
        value_name = "ADDRS",
        value_parser = sources,
        long_help = "Connect from these local addresses, in turn: a list (127.0.0.2,127.0.0.3)\n\
                     or an IPv4 range (127.0.0.2-127.0.0.40). One client address has about\n\
                     28 000 ports to connect from, so more connections to one server need\n\
                     several; on loopback every 127.x.y.z works with no setting"
    )]
    source: Option<Sources>,
    /// One JSON object instead of the table
    #[arg(long)]
    pub(crate) json: bool,
}

/// `bench --source`: the local addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Sources(Vec<std::net::IpAddr>);

/// At most this many source addresses (a range of a /16 at most).
const MAX_SOURCES: u32 = 65_536;

fn sources(text: &str) -> Result<Sources, String> {
    if let Some((first, last)) = text.split_once('-') {
        let parse = |s: &str| {
            s.trim()
                .parse::<std::net::Ipv4Addr>()
                .map(u32::from)
                .map_err(|_| format!("expected an IPv4 range FIRST-LAST, got {text:?}"))
        };
        let (first, last) = (parse(first)?, parse(last)?);
        if last < first || last - first >= MAX_SOURCES {
            return Err(format!(
                "the range {text:?} is empty or has more than {MAX_SOURCES} addresses"
            ));
        }
        return Ok(Sources(
            (first..=last)
                .map(|n| std::net::IpAddr::V4(n.into()))
                .collect(),
        ));
    }
    text.split(',')
        .map(|s| {
            s.trim()
                .parse()
                .map_err(|_| format!("expected IP addresses separated by commas, got {s:?}"))
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Sources)
}

impl BenchArgs {
    /// The options of the run, checked ([`ssekit_bench::Options::check`]).
    pub(crate) fn options(&self) -> Result<ssekit_bench::Options, String> {
        let options = ssekit_bench::Options {
            connections: self.connections,
            duration: self.duration,
            connect_concurrency: self.connect_concurrency,
            last_event_id: self.last_event_id.clone(),
            events: self.events.map(|n| n as u64),
            stalled: self.stalled,
            sources: self.source.clone().map(|s| s.0).unwrap_or_default(),
            ..ssekit_bench::Options::new(self.url.as_str())
        };
        match options.check() {
            Ok(()) => Ok(options),
            // The options' own message names them as the library does; say it with flags.
            Err(_) if self.stalled > self.connections => Err(format!(
                "--stalled {} is more than --connections {}",
                self.stalled, self.connections
            )),
            Err(e) => Err(e.to_string()),
        }
    }
}

/// The command line `args` (program name first) with `watch` put in when it asks for watch
/// mode without naming a mode, and the command whose `--help` is the manual to point at on
/// a usage error.
pub(crate) fn with_mode(mut args: Vec<OsString>) -> (Vec<OsString>, &'static str) {
    let first = args.get(1).map(|arg| arg.to_string_lossy().into_owned());
    if let Some(mode) = first
        .as_deref()
        .and_then(|arg| MODES.iter().find(|m| **m == arg))
    {
        let manual = match *mode {
            "watch" => "ssekit watch --help",
            "serve" => "ssekit serve --help",
            "bench" => "ssekit bench --help",
            _ => "ssekit parse --help",
        };
        return (args, manual);
    }
    let wants_watch = args.iter().skip(1).any(|arg| {
        let arg = arg.to_string_lossy();
        let flag = arg.split_once('=').map_or(&*arg, |(flag, _)| flag);
        is_url(&arg) || WATCH_FLAGS.contains(&flag)
    });
    if wants_watch {
        args.insert(1.min(args.len()), "watch".into());
        return (args, "ssekit watch --help");
    }
    (args, "ssekit --help")
}

/// The body `-d/--data VALUE` sends: `VALUE` itself, the contents of `FILE` for `@FILE`, or
/// all of stdin for `@-`.
fn request_body(value: &str) -> Result<Vec<u8>, String> {
    match value.strip_prefix('@') {
        None => Ok(value.as_bytes().to_vec()),
        Some("-") => {
            let mut body = Vec::new();
            io::stdin()
                .lock()
                .read_to_end(&mut body)
                .map_err(|e| format!("--data @-: reading stdin: {e}"))?;
            Ok(body)
        }
        Some(path) => std::fs::read(path).map_err(|e| format!("--data @{path}: {e}")),
    }
}

// Value parsers: each takes the argument as given and says what is wrong with it.

fn chunk_size(value: &str) -> Result<usize, String> {
    match value.trim().parse::<usize>() {
        Ok(0) => Err("must be at least 1".to_owned()),
        Ok(n) => Ok(n),
        Err(_) => Err("not a number".to_owned()),
    }
}

fn splits(value: &str) -> Result<Splits, String> {
    let mut cuts = Vec::new();
    for part in value.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        cuts.push(
            part.parse::<usize>()
                .map_err(|_| format!("not an offset: {part:?}"))?,
        );
    }
    cuts.sort_unstable();
    Ok(Splits(cuts))
}

fn url(value: &str) -> Result<String, String> {
    if is_url(value) {
        Ok(value.to_owned())
    } else {
        Err("expected an http:// or https:// URL".to_owned())
    }
}

fn count(value: &str) -> Result<u64, String> {
    match value.trim().parse::<u64>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err("expected a number above 0".to_owned()),
    }
}

fn positive(value: &str) -> Result<usize, String> {
    match value.trim().parse::<usize>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err("expected a number above 0".to_owned()),
    }
}

fn seconds(value: &str) -> Result<Duration, String> {
    value
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|s| *s > 0.0)
        .and_then(|s| Duration::try_from_secs_f64(s).ok())
        .ok_or_else(|| "expected seconds above 0".to_owned())
}

/// Seconds, `0` allowed (it turns the setting off).
fn seconds_or_zero(value: &str) -> Result<Duration, String> {
    value
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|s| *s >= 0.0)
        .and_then(|s| Duration::try_from_secs_f64(s).ok())
        .ok_or_else(|| "expected seconds, 0 or more".to_owned())
}

fn method(value: &str) -> Result<Method, String> {
    Method::from_bytes(value.trim().to_ascii_uppercase().as_bytes())
        .map_err(|_| "not an HTTP method".to_owned())
}

fn header(value: &str) -> Result<(String, String), String> {
    let (name, value) = value
        .split_once(':')
        .filter(|(name, _)| !name.trim().is_empty())
        .ok_or("expected 'Name: value'")?;
    let (name, value) = (name.trim(), value.trim());
    HeaderName::from_bytes(name.as_bytes())
        .map_err(|_| format!("not a valid header name: {name:?}"))?;
    HeaderValue::from_str(value).map_err(|_| format!("not a valid header value: {value:?}"))?;
    Ok((name.to_owned(), value.to_owned()))
}

fn listen(value: &str) -> Result<SocketAddr, String> {
    let value = value.trim();
    match value.parse::<u16>() {
        Ok(port) => Ok(SocketAddr::new(DEFAULT_LISTEN.ip(), port)),
        Err(_) => value
            .parse()
            .map_err(|_| "expected HOST:PORT (such as 127.0.0.1:8845) or PORT".to_owned()),
    }
}

fn last_event_id(value: &str) -> Result<String, String> {
    if value.contains(['\r', '\n', '\0']) {
        return Err("CR, LF and NUL cannot be sent".to_owned());
    }
    Ok(value.to_owned())
}

#[cfg(test)]
mod tests {
    use clap::{CommandFactory, FromArgMatches};

    use super::*;

    /// Parses `ssekit ARGS` as `main` does.
    fn parse(list: &[&str]) -> Result<(Cli, ArgMatches), clap::Error> {
        let args = std::iter::once("ssekit")
            .chain(list.iter().copied())
            .map(OsString::from)
            .collect();
        let (args, _) = with_mode(args);
        let matches = Cli::command().try_get_matches_from(args)?;
        Ok((Cli::from_arg_matches(&matches)?, matches))
    }

    fn chunking(list: &[&str]) -> Result<Chunking, clap::Error> {
        let (cli, matches) = parse(list)?;
        assert!(cli.mode.is_none());
        Ok(cli.parse.chunking(&matches))
    }

    fn watch(list: &[&str]) -> Result<UrlOptions, String> {
        match parse(list).map_err(|e| e.to_string())? {
            (
                Cli {
                    mode: Some(Mode::Watch(args)),
                    ..
                },
                _,
            ) => args.into_options(),
            (other, _) => panic!("not watch mode: {other:?}"),
        }
    }

    #[test]
    fn the_command_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn flag_values_follow_or_are_inline_and_the_last_chunking_wins() {
        for form in [&["--chunk-size", "7"][..], &["--chunk-size=7"]] {
            assert_eq!(chunking(form).unwrap(), Chunking::Size(7));
        }
        assert_eq!(
            chunking(&["--splits=9,3", "--chunk-size", "2"]).unwrap(),
            Chunking::Size(2)
        );
        assert_eq!(
            chunking(&["--chunk-size", "2", "--splits=9,3"]).unwrap(),
            Chunking::Splits(vec![3, 9])
        );
        assert_eq!(
            chunking(&["--chunk-size", "2", "--chunk-size", "5"]).unwrap(),
            Chunking::Size(5)
        );
        assert_eq!(
            chunking(&["--splits", "9, 3,"]).unwrap(),
            Chunking::Splits(vec![3, 9])
        );
        assert_eq!(chunking(&[]).unwrap(), Chunking::Whole);
        for bad in [
            &["--chunk-size"][..],
            &["--chunk-size", "0"],
            &["--splits", "1,x"],
            &["--bogus=1"],
        ] {
            let error = chunking(bad).unwrap_err();
            assert_eq!(error.exit_code(), 2, "{bad:?}");
        }
        let (cli, matches) = parse(&["parse", "--chunk-size", "3"]).unwrap();
        let Some(Mode::Parse(args)) = cli.mode else {
            panic!("parse mode")
        };
        let (_, sub) = matches.subcommand().expect("parse");
        assert_eq!(args.chunking(sub), Chunking::Size(3));
    }

    #[test]
    fn a_url_or_a_watch_flag_means_watch() {
        let options = watch(&[
            "--last-event-id=7",
            "http://127.0.0.1:1/a?b=c",
            "--header",
            "X-A: 1",
            "-X",
            "put",
            "--timeout=0.25",
            "--event",
            "a",
            "--event=b",
        ])
        .unwrap();
        assert_eq!(options.url, "http://127.0.0.1:1/a?b=c");
        assert_eq!(options.last_event_id.as_deref(), Some("7"));
        assert_eq!(options.headers, [("X-A".to_owned(), "1".to_owned())]);
        assert_eq!(options.method, "PUT");
        assert_eq!(options.timeout, Some(Duration::from_millis(250)));
        assert_eq!(options.events, ["a", "b"]);
        assert!(options.reconnect);
        let post = watch(&["http://h/", "-d", "{}"]).unwrap();
        assert_eq!(
            (post.method.as_str(), post.body.as_deref()),
            ("POST", Some(&b"{}"[..]))
        );
        let json = watch(&["watch", "HTTPS://h/", "--json", "--json", "--no-reconnect"]).unwrap();
        assert_eq!(json.format, Format::Json);
        assert!(!json.reconnect);
        for bad in [
            &["http://h/", "--count", "0"][..],
            &["http://h/", "--timeout", "-1"],
            &["http://h/", "--timeout", "NaN"],
            &["http://h/", "--timeout", "inf"],
            &["http://h/", "--timeout", "1e400"],
            &["http://h/", "--json", "--raw"],
            &["http://h/", "-X", "BAD METHOD"],
            &["http://h/", "-d", "a", "-d", "b"],
            &["http://h/", "-d", "@/nonexistent/file"],
            &["--header"],
            &["--json"],
            &["watch", "not-a-url"],
        ] {
            assert!(watch(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn escape_redirects_and_idle_timeout() {
        let options = watch(&["http://h/"]).unwrap();
        assert_eq!(options.escape, Escape::Auto);
        assert_eq!(options.redirects, RedirectPolicy::Follow);
        assert_eq!(options.idle_timeout, None);
        let options = watch(&[
            "--escape=always",
            "http://h/",
            "--redirects",
            "same-origin",
            "--idle-timeout",
            "0",
        ])
        .unwrap();
        assert_eq!(options.escape, Escape::Always);
        assert_eq!(options.redirects, RedirectPolicy::SameOrigin);
        assert_eq!(options.idle_timeout, Some(Duration::ZERO));
        let options = watch(&["--redirects=never", "http://h/", "--idle-timeout=2.5"]).unwrap();
        assert_eq!(options.redirects, RedirectPolicy::Never);
        assert_eq!(options.idle_timeout, Some(Duration::from_millis(2500)));
        assert_eq!(
            watch(&["http://h/", "--escape", "never"]).unwrap().escape,
            Escape::Never
        );
        for bad in [
            &["http://h/", "--escape", "sometimes"][..],
            &["http://h/", "--redirects", "anywhere"],
            &["http://h/", "--idle-timeout", "-1"],
        ] {
            assert!(watch(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn serve_and_bench() {
        let (cli, _) = parse(&["serve", "--listen", "0", "--format=sse"]).unwrap();
        let Some(Mode::Serve(serve)) = cli.mode else {
            panic!("serve")
        };
        let options = serve.options();
        assert_eq!(options.listen.to_string(), "127.0.0.1:0");
        assert_eq!(options.format, InputFormat::Sse);
        assert!(!options.exit_on_eof);
        let (cli, _) = parse(&["serve"]).unwrap();
        let Some(Mode::Serve(serve)) = cli.mode else {
            panic!("serve")
        };
        assert_eq!(serve.options().listen, DEFAULT_LISTEN);
        assert!(parse(&["serve", "--format", "xml"]).is_err());

        let bench = |list: &[&str]| -> Result<ssekit_bench::Options, String> {
            match parse(list).map_err(|e| e.to_string())? {
                (
                    Cli {
                        mode: Some(Mode::Bench(args)),
                        ..
                    },
                    _,
                ) => args.options(),
                (other, _) => panic!("not bench mode: {other:?}"),
            }
        };
        let options = bench(&[
            "bench",
            "http://127.0.0.1:1/e",
            "-c",
            "3",
            "--duration=0.5",
            "--stalled",
            "1",
            "--events",
            "4",
        ])
        .unwrap();
        assert_eq!(
            (options.connections, options.stalled, options.events),
            (3, 1, Some(4))
        );
        assert_eq!(options.duration, Duration::from_millis(500));
        let defaults = bench(&["bench", "http://h/"]).unwrap();
        assert_eq!(defaults, ssekit_bench::Options::new("http://h/"));
        for bad in [
            &["bench", "http://h/", "--connections", "0"][..],
            &["bench", "http://h/", "--duration", "-1"],
            &["bench", "http://h/", "--stalled", "2", "-c", "1"],
            &["bench", "http://h/", "--bogus"],
            &["bench", "http://h/", "--last-event-id", "a\nb"],
            &["bench", "https://h/"],
            &["bench"],
            &["bench", "http://h/", "http://i/"],
        ] {
            assert!(bench(bad).is_err(), "{bad:?}");
        }
    }
}
