//! Conformance vectors for the event stream format, and the harness that runs them.
//!
//! The vectors live in `conformance/vectors/*.json`, written from the WHATWG HTML standard's
//! "Interpreting an event stream" and from tricky cases. Each is an input byte stream, the
//! outputs a parser must give for it (dispatched events, accepted retry values, limit errors)
//! and the last event ID after end of input.
//!
//! [`check_parser`] runs a vector through [`ssekit_proto::Parser`] whole, in 1-byte chunks, and at
//! seeded random cut points; other crates (adapters, clients) use [`vectors`] and [`Outcome`]
//! to check their own pipelines against the same expectations.
//!
//! The server adapters' end-to-end tests use [`replay`] (the events that make a server's body
//! parse back to a vector's outcome) and, with feature `http`, `http` (a minimal HTTP/1.x
//! client over tokio) and `e2e` (the routes' streams and the checks every adapter's end-to-end
//! tests share).
//!
//! The real-browser tests (the examples' pages, ssekit-client's differential test against
//! Chromium's `EventSource`) drive headless Chromium through [`webdriver`].

#[cfg(feature = "http")]
pub mod broker;
#[cfg(feature = "http")]
pub mod e2e;
pub mod events;
#[cfg(feature = "http")]
pub mod http;
#[cfg(feature = "redis")]
pub mod redis_server;
pub mod replay;
#[cfg(feature = "http")]
pub mod wait;
pub mod webdriver;

use std::fmt;
use std::path::PathBuf;

use serde::Deserialize;
use ssekit_proto::{Limits, ParseError, Parsed, ParsedRef, Parser};

/// One expected parser output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// A dispatched event: type, data, last event ID at dispatch.
    Event {
        /// The event type.
        event_type: String,
        /// The data.
        data: String,
        /// The last event ID at dispatch.
        id: String,
    },
    /// An accepted `retry` value in milliseconds.
    Retry(u64),
    /// A limit error: `line_too_long` or `event_too_large`.
    Error(String),
}

impl fmt::Display for Output {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Output::Event {
                event_type,
                data,
                id,
            } => write!(f, "event type={event_type:?} data={data:?} id={id:?}"),
            Output::Retry(ms) => write!(f, "retry {ms}"),
            Output::Error(kind) => write!(f, "error {kind}"),
        }
    }
}

/// Everything a parser produced for one input: outputs in order, then the final last event ID.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// The outputs, in stream order.
    pub outputs: Vec<Output>,
    /// The last event ID after end of input.
    pub last_event_id: String,
}

/// One test vector.
#[derive(Debug, Clone)]
pub struct Vector {
    /// Unique name.
    pub name: String,
    /// The rule of the standard it exercises.
    pub rule: String,
    /// The raw input stream.
    pub input: Vec<u8>,
    /// Limits to parse with (`None`: the defaults).
    pub limits: Option<Limits>,
    /// What a conforming parser produces.
    pub expected: Outcome,
    /// The file it came from.
    pub file: String,
}

impl Vector {
    /// True when the vector only makes sense with its special limits (a server or client with
    /// default limits cannot reproduce it).
    pub fn needs_limits(&self) -> bool {
        self.limits.is_some()
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawVector {
    name: String,
    #[serde(default)]
    rule: String,
    input: Option<String>,
    input_hex: Option<String>,
    #[serde(default)]
    limits: Option<RawLimits>,
    expected: Vec<RawOutput>,
    last_event_id: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLimits {
    max_line_length: Option<usize>,
    max_event_size: Option<usize>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RawOutput {
    Event {
        #[serde(rename = "type")]
        event_type: String,
        data: String,
        id: String,
    },
    Retry {
        retry: u64,
    },
    Error {
        error: String,
    },
}

/// The folder holding the vector files.
pub fn vectors_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("vectors")
}

/// Loads every vector, sorted by file then position. Panics on a malformed file (it is test
/// data: a broken file must fail the build's tests loudly).
pub fn vectors() -> Vec<Vector> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(vectors_dir())
        .expect("conformance/vectors exists")
        .map(|entry| entry.expect("readable dir entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
        .collect();
    files.sort();
    let mut all = Vec::new();
    for path in files {
        let text = std::fs::read_to_string(&path).expect("readable vector file");
        let raw: Vec<RawVector> = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{}: invalid vector file: {e}", path.display()));
        let file = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        for r in raw {
            all.push(convert(r, &file));
        }
    }
    let mut names: Vec<&str> = all.iter().map(|v| v.name.as_str()).collect();
    names.sort_unstable();
    for pair in names.windows(2) {
        assert_ne!(pair[0], pair[1], "duplicate vector name");
    }
    all
}

fn convert(r: RawVector, file: &str) -> Vector {
    let input = match (r.input, r.input_hex) {
        (Some(text), None) => text.into_bytes(),
        (None, Some(hex)) => {
            decode_hex(&hex).unwrap_or_else(|| panic!("{file}: {}: invalid input_hex", r.name))
        }
        _ => panic!("{file}: {}: give exactly one of input, input_hex", r.name),
    };
    let limits = r.limits.map(|l| {
        let mut limits = Limits::default();
        if let Some(n) = l.max_line_length {
            limits = limits.max_line_length(n);
        }
        if let Some(n) = l.max_event_size {
            limits = limits.max_event_size(n);
        }
        limits
    });
    let outputs = r
        .expected
        .into_iter()
        .map(|o| match o {
            RawOutput::Event {
                event_type,
                data,
                id,
            } => Output::Event {
                event_type,
                data,
                id,
            },
            RawOutput::Retry { retry } => Output::Retry(retry),
            RawOutput::Error { error } => Output::Error(error),
        })
        .collect();
    Vector {
        name: r.name,
        rule: r.rule,
        input,
        limits,
        expected: Outcome {
            outputs,
            last_event_id: r.last_event_id,
        },
        file: file.to_owned(),
    }
}

fn decode_hex(hex: &str) -> Option<Vec<u8>> {
    if !hex.len().is_multiple_of(2) {
        return None;
    }
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
        .collect()
}

/// Converts one parser item into the harness's [`Output`].
pub fn output_of(item: Result<Parsed, ParseError>) -> Output {
    match item {
        Ok(Parsed::Event(e)) => Output::Event {
            event_type: e.event_type().to_owned(),
            data: e.data().to_owned(),
            id: e.last_event_id().to_owned(),
        },
        Ok(Parsed::Retry(d)) => Output::Retry(u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
        Err(ParseError::LineTooLong { .. }) => Output::Error("line_too_long".into()),
        Err(ParseError::EventTooLarge { .. }) => Output::Error("event_too_large".into()),
        Err(other) => Output::Error(format!("{other:?}")),
        Ok(other) => Output::Error(format!("unknown output {other:?}")),
    }
}

/// `input` cut at the sorted byte offsets `cuts` (clamped to the input): consecutive pieces
/// that together are exactly `input`.
pub fn pieces<'a>(input: &'a [u8], cuts: &'a [usize]) -> impl Iterator<Item = &'a [u8]> + 'a {
    let mut start = 0;
    let end = input.len();
    cuts.iter()
        .copied()
        .chain(std::iter::once(end))
        .map(move |cut| {
            let cut = cut.clamp(start, input.len());
            let piece = &input[start..cut];
            start = cut;
            piece
        })
}

/// Parses `input` cut at the sorted byte offsets `cuts`, then finishes.
pub fn parse_with_cuts(input: &[u8], cuts: &[usize], limits: Limits) -> Outcome {
    let mut parser = Parser::with_limits(limits);
    let mut outputs = Vec::new();
    for piece in pieces(input, cuts) {
        outputs.extend(parser.feed(piece).map(output_of));
    }
    outputs.extend(parser.finish().map(output_of));
    Outcome {
        outputs,
        last_event_id: parser.last_event_id().to_owned(),
    }
}

/// Converts one item of [`Parser::feed_with`] into the harness's [`Output`], through
/// [`ssekit_proto::EventRef::to_owned`].
pub fn output_of_ref(item: ParsedRef<'_>) -> Output {
    match item {
        ParsedRef::Event(event) => output_of(Ok(Parsed::Event(event.to_owned()))),
        ParsedRef::Retry(retry) => output_of(Ok(Parsed::Retry(retry))),
        ParsedRef::Error(error) => output_of(Err(error)),
        other => Output::Error(format!("unknown output {other:?}")),
    }
}

/// [`parse_with_cuts`] through the borrowing [`Parser::feed_with`] instead of
/// [`Parser::feed`].
pub fn parse_with_cuts_borrowed(input: &[u8], cuts: &[usize], limits: Limits) -> Outcome {
    let mut parser = Parser::with_limits(limits);
    let mut outputs = Vec::new();
    for piece in pieces(input, cuts) {
        parser.feed_with(piece, |item| outputs.push(output_of_ref(item)));
    }
    outputs.extend(parser.finish().map(output_of));
    Outcome {
        outputs,
        last_event_id: parser.last_event_id().to_owned(),
    }
}

/// A small deterministic generator (xorshift64*), so random cut points are reproducible.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed (any value; 0 is remapped).
    pub fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }

    /// The next pseudo-random number.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `0..n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
}

/// The chunkings every vector is run with: whole, 1-byte chunks, and `random` seeded random
/// cut sets (sorted offsets).
pub fn chunkings(len: usize, seed: u64, random: usize) -> Vec<Vec<usize>> {
    let mut all = vec![Vec::new(), (1..len).collect()];
    let mut rng = Rng::new(seed);
    for _ in 0..random {
        if len < 2 {
            break;
        }
        let count = rng.below(len.min(16)) + 1;
        let mut cuts: Vec<usize> = (0..count).map(|_| rng.below(len + 1)).collect();
        cuts.sort_unstable();
        all.push(cuts);
    }
    all
}

/// How a parse is run: the input, its sorted cut points, the limits.
pub type ParseFn = fn(&[u8], &[usize], Limits) -> Outcome;

/// Runs one vector through `parse` in every chunking of [`chunkings`]; returns a description of
/// the first mismatch (`path` names the parser path in the message).
pub fn check_with(vector: &Vector, path: &str, parse: ParseFn) -> Result<(), String> {
    let limits = vector.limits.unwrap_or_default();
    let seed = vector.name.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    });
    for cuts in chunkings(vector.input.len(), seed, 24) {
        let got = parse(&vector.input, &cuts, limits);
        if got != vector.expected {
            let shown: Vec<usize> = cuts.iter().copied().take(20).collect();
            return Err(format!(
                "{} ({}; rule: {}), {path}, cuts {:?}{}:\n  expected {:?}\n  got      {:?}",
                vector.name,
                vector.file,
                vector.rule,
                shown,
                if cuts.len() > 20 { " ..." } else { "" },
                vector.expected,
                got
            ));
        }
    }
    Ok(())
}

/// Runs one vector through [`ssekit_proto::Parser::feed`] in every chunking of [`chunkings`].
pub fn check_parser(vector: &Vector) -> Result<(), String> {
    check_with(vector, "feed", parse_with_cuts)
}

/// [`check_parser`] through the borrowing [`Parser::feed_with`]
/// ([`parse_with_cuts_borrowed`]), in the same chunkings.
pub fn check_parser_borrowed(vector: &Vector) -> Result<(), String> {
    check_with(vector, "feed_with", parse_with_cuts_borrowed)
}

/// Runs [`check_with`] on every vector and panics with every mismatch; returns the count.
pub fn assert_all_vectors_pass_with(path: &str, parse: ParseFn) -> usize {
    let vectors = vectors();
    assert!(!vectors.is_empty(), "no conformance vectors found");
    let failures: Vec<String> = vectors
        .iter()
        .filter_map(|v| check_with(v, path, parse).err())
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} vectors failed:\n{}",
        failures.len(),
        vectors.len(),
        failures.join("\n")
    );
    vectors.len()
}

/// Runs [`check_parser_borrowed`] on every vector and panics with every mismatch.
pub fn assert_all_vectors_pass_borrowed() -> usize {
    assert_all_vectors_pass_with("feed_with", parse_with_cuts_borrowed)
}

/// Runs [`check_parser`] on every vector and panics with every mismatch.
pub fn assert_all_vectors_pass() -> usize {
    assert_all_vectors_pass_with("feed", parse_with_cuts)
}
