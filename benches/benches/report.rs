//! The report: reads what `parsers`, `encoders` and `fanout` left in `target/criterion` and
//! prints the tables of BENCHMARKS.md (medians, the ratios the targets ask for, met / not
//! met). Also writes them to `target/criterion/sse-benches/report.md`.
//!
//! `cargo bench -p benches` runs it last (cargo runs bench targets in name order); on its own:
//! `cargo bench -p benches --bench report`.

#[allow(dead_code)]
mod common;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

/// One criterion result: median ns per iteration and the throughput per iteration.
#[derive(Debug, Clone, Copy)]
struct Estimate {
    median_ns: f64,
    /// Bytes or elements per iteration.
    per_iter: f64,
}

/// Results by (group, function, value).
type Results = BTreeMap<(String, String, String), Estimate>;

fn load(dir: &Path, out: &mut Results) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if !path.is_dir() {
            continue;
        }
        if path.file_name().is_some_and(|n| n == "new") {
            if let Some((key, estimate)) = read_one(&path) {
                out.insert(key, estimate);
            }
        } else {
            load(&path, out);
        }
    }
}

fn read_one(dir: &Path) -> Option<((String, String, String), Estimate)> {
    let json = |name: &str| -> Option<serde_json::Value> {
        serde_json::from_str(&std::fs::read_to_string(dir.join(name)).ok()?).ok()
    };
    let bench = json("benchmark.json")?;
    let estimates = json("estimates.json")?;
    let text = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_owned();
    let throughput = &bench["throughput"];
    let per_iter = throughput["Bytes"]
        .as_f64()
        .or_else(|| throughput["Elements"].as_f64())
        .unwrap_or(1.0);
    Some((
        (
            text(&bench["group_id"]),
            text(&bench["function_id"]),
            text(&bench["value_str"]),
        ),
        Estimate {
            median_ns: estimates["median"]["point_estimate"].as_f64()?,
            per_iter,
        },
    ))
}

fn tsv(name: &str) -> Vec<Vec<String>> {
    let path = common::side_dir().join(name);
    let Ok(text) = std::fs::read_to_string(path) else {
        return Vec::new();
    };
    text.lines()
        .skip(1)
        .map(|line| line.split('\t').map(str::to_owned).collect())
        .collect()
}

struct Report {
    results: Results,
    md: String,
    targets: Vec<(String, String, bool)>,
}

impl Report {
    fn get(&self, group: &str, function: &str, value: &str) -> Option<Estimate> {
        self.results
            .get(&(group.to_owned(), function.to_owned(), value.to_owned()))
            .copied()
    }

    /// Throughput in MB/s (1 MB = 10^6 bytes).
    fn mbps(&self, group: &str, function: &str, value: &str) -> Option<f64> {
        self.get(group, function, value)
            .map(|e| e.per_iter / e.median_ns * 1e3)
    }

    /// Time per element in ns.
    fn ns_per(&self, group: &str, function: &str, value: &str) -> Option<f64> {
        self.get(group, function, value)
            .map(|e| e.median_ns / e.per_iter)
    }

    fn target(&mut self, name: String, detail: String, met: bool) {
        self.targets.push((name, detail, met));
    }

    /// A target that a ratio `x` be at least `min`.
    fn at_least(&mut self, name: String, x: Option<f64>, min: f64) {
        self.target(name, fmt(x, 2) + "x", x.is_some_and(|x| x >= min));
    }
}

const PARSERS: [&str; 8] = [
    "ssekit-proto (sync)",
    "ssekit-proto (borrowed)",
    "ssekit-proto (async)",
    "sse-stream",
    "sse-core (crates.io)",
    "eventsource-stream",
    "async-sse",
    "sse-codec",
];
const CEILINGS: [&str; 4] = [
    "floor: String per data line",
    "memchr2 lines",
    "simdutf8 validation",
    "memcpy",
];
const CHUNKS: [&str; 3] = ["7B", "4KiB", "64KiB"];
const SHAPES: [&str; 10] = [
    "small_json_tokens",
    "mixed",
    "large_crlf",
    "long_line_crlf",
    "long_line_lf",
    "small_json_tokens_non_ascii",
    "mixed_non_ascii",
    "large_crlf_non_ascii",
    "long_line_crlf_non_ascii",
    "long_line_lf_non_ascii",
];
/// Events whose data is one line of 4-64 KiB, spanning many chunks.
const LONG_LINE_SHAPES: [&str; 4] = [
    "long_line_crlf",
    "long_line_lf",
    "long_line_crlf_non_ascii",
    "long_line_lf_non_ascii",
];
/// The crates.io `sse-core`'s README scenarios (group, chunk label).
const README: [(&str, &str); 5] = [
    ("readme_large_40KiB_events", "1460B"),
    ("readme_large_40KiB_events", "whole"),
    ("readme_small_9B_events", "1460B"),
    ("readme_keepalives", "1460B"),
    ("readme_4KiB_events_10B_chunks", "10B"),
];
const README_PARSERS: [&str; 6] = [
    "ssekit-proto (sync)",
    "ssekit-proto (borrowed)",
    "ssekit-proto (async)",
    "sse-core (crates.io)",
    "sse-core (crates.io, SseStream)",
    "sse-stream",
];
/// The shapes of the small-event targets, in both texts.
const SMALL_SHAPES: [&str; 4] = [
    "small_json_tokens",
    "mixed",
    "small_json_tokens_non_ascii",
    "mixed_non_ascii",
];
const LARGE_SHAPES: [&str; 2] = ["large_crlf", "large_crlf_non_ascii"];
/// ssekit-proto's three parse paths: name in the tables, and what it is.
const WAYS: [&str; 3] = ["sync", "borrowed", "async"];

fn fmt(v: Option<f64>, digits: usize) -> String {
    v.map_or_else(|| "-".to_owned(), |v| format!("{v:.digits$}"))
}

fn ratio(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    Some(a? / b?)
}

/// The throughput of two passes over the same bytes, one after the other.
fn one_after_other(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    Some(1.0 / (1.0 / a? + 1.0 / b?))
}

fn parsers(r: &mut Report) {
    let checks = tsv("parsers-check.tsv");
    let wrong = |shape: &str, chunk: &str, parser: &str| -> Option<String> {
        checks
            .iter()
            .find(|row| row[0] == shape && row[1] == chunk && row[2] == parser)
            .filter(|row| row[3] != "ok")
            .map(|row| {
                if row[3] == "skipped" {
                    "skipped (too slow)".to_owned()
                } else {
                    format!("wrong result ({} events vs {})", row[4], row[5])
                }
            })
    };
    let _ = writeln!(
        r.md,
        "## Parsers (MB/s, median; higher is better)\n\n\
         Same bytes, same chunks, same process. Async parsers (and `ssekit-proto (async)`) run under \
         `futures::executor::block_on` over a `stream::iter` of the chunks; `ssekit-proto (sync)` \
         is `Parser::feed`, `ssekit-proto (borrowed)` is `Parser::feed_with` (events lent to a \
         callback, no allocation per event). A parser whose events (type, data, last event id) differ from \
         ssekit-proto's is marked and left out of the ratios.\n"
    );
    for shape in SHAPES {
        let group = format!("parse/{shape}");
        let _ = writeln!(r.md, "### {shape}\n");
        let _ = writeln!(
            r.md,
            "| parser | 7 B chunks | 4 KiB chunks | 64 KiB chunks |"
        );
        let _ = writeln!(r.md, "|---|---:|---:|---:|");
        for parser in PARSERS.iter().chain(&CEILINGS) {
            let cells: Vec<String> = CHUNKS
                .iter()
                .map(|chunk| {
                    let speed = fmt(r.mbps(&group, parser, chunk), 0);
                    match wrong(shape, chunk, parser) {
                        Some(w) => format!("{speed} **{w}**"),
                        None => speed,
                    }
                })
                .collect();
            let _ = writeln!(r.md, "| {parser} | {} |", cells.join(" | "));
        }
        let _ = writeln!(r.md);
    }

    let _ = writeln!(
        r.md,
        "### Parser ratios (ssekit-proto / other, same chunking)\n"
    );
    let _ = writeln!(
        r.md,
        "| shape | chunk | sync / sse-stream | borrowed / sse-stream | async / sse-stream | sync / sse-core | borrowed / sse-core | async / sse-core | async / eventsource-stream | async / async-sse | async / sse-codec | sync / memchr2 | borrowed / memchr2 | async / memchr2 | borrowed / (memchr2 then simdutf8) |"
    );
    let _ = writeln!(
        r.md,
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    );
    for shape in SHAPES {
        let group = format!("parse/{shape}");
        for chunk in CHUNKS {
            let speed = |p: &str| {
                if wrong(shape, chunk, p).is_some() {
                    None
                } else {
                    r.mbps(&group, p, chunk)
                }
            };
            let (sync, asynch) = (speed("ssekit-proto (sync)"), speed("ssekit-proto (async)"));
            let cols = [
                ratio(sync, speed("sse-stream")),
                ratio(speed("ssekit-proto (borrowed)"), speed("sse-stream")),
                ratio(asynch, speed("sse-stream")),
                ratio(sync, speed("sse-core (crates.io)")),
                ratio(
                    speed("ssekit-proto (borrowed)"),
                    speed("sse-core (crates.io)"),
                ),
                ratio(asynch, speed("sse-core (crates.io)")),
                ratio(asynch, speed("eventsource-stream")),
                ratio(asynch, speed("async-sse")),
                ratio(asynch, speed("sse-codec")),
                ratio(sync, speed("memchr2 lines")),
                ratio(speed("ssekit-proto (borrowed)"), speed("memchr2 lines")),
                ratio(asynch, speed("memchr2 lines")),
                ratio(
                    speed("ssekit-proto (borrowed)"),
                    one_after_other(speed("memchr2 lines"), speed("simdutf8 validation")),
                ),
            ];
            let cells: Vec<String> = cols
                .iter()
                .map(|c| c.map_or("excluded".to_owned(), |v| format!("{v:.2}x")))
                .collect();
            let _ = writeln!(r.md, "| {shape} | {chunk} | {} |", cells.join(" | "));
        }
    }
    let _ = writeln!(r.md);

    for shape in SMALL_SHAPES {
        let group = format!("parse/{shape}");
        for chunk in ["4KiB", "64KiB"] {
            for way in WAYS {
                let core = r.mbps(&group, &format!("ssekit-proto ({way})"), chunk);
                let min = if way == "borrowed" { 2.0 } else { 1.5 };
                r.at_least(
                    format!("parser ({way}) >= {min}x sse-stream, {shape}, {chunk} chunks"),
                    ratio(core, r.mbps(&group, "sse-stream", chunk)),
                    min,
                );
                r.at_least(
                    format!("parser ({way}) >= 1.5x sse-core (crates.io), {shape}, {chunk} chunks"),
                    ratio(core, r.mbps(&group, "sse-core (crates.io)", chunk)),
                    1.5,
                );
            }
        }
    }
    for shape in LARGE_SHAPES {
        let group = format!("parse/{shape}");
        for chunk in ["4KiB", "64KiB"] {
            for way in WAYS {
                let core = r.mbps(&group, &format!("ssekit-proto ({way})"), chunk);
                r.at_least(
                    format!("parser ({way}) >= 1.2x sse-stream, {shape}, {chunk} chunks"),
                    ratio(core, r.mbps(&group, "sse-stream", chunk)),
                    1.2,
                );
                r.at_least(
                    format!("parser ({way}) >= 0.6x memchr2 line counting, {shape}, {chunk}"),
                    ratio(core, r.mbps(&group, "memchr2 lines", chunk)),
                    0.6,
                );
            }
        }
    }
    for shape in LONG_LINE_SHAPES {
        let group = format!("parse/{shape}");
        for chunk in ["4KiB", "64KiB"] {
            for way in WAYS {
                let core = r.mbps(&group, &format!("ssekit-proto ({way})"), chunk);
                r.at_least(
                    format!("parser ({way}) >= 1.3x sse-stream, {shape}, {chunk} chunks"),
                    ratio(core, r.mbps(&group, "sse-stream", chunk)),
                    1.3,
                );
                r.at_least(
                    format!("parser ({way}) >= 3x sse-core (crates.io), {shape}, {chunk} chunks"),
                    ratio(core, r.mbps(&group, "sse-core (crates.io)", chunk)),
                    3.0,
                );
            }
        }
    }
    readme(r);
    for shape in SHAPES {
        let group = format!("parse/{shape}");
        for way in WAYS {
            let core = r.mbps(&group, &format!("ssekit-proto ({way})"), "7B");
            r.at_least(
                format!("parser ({way}) at 7 B chunks >= 1.0x sse-stream, {shape}"),
                ratio(core, r.mbps(&group, "sse-stream", "7B")),
                1.0,
            );
        }
    }
}

/// The crates.io `sse-core`'s README scenarios, every API of ours next to both of its APIs.
fn readme(r: &mut Report) {
    let checks = tsv("parsers-check.tsv");
    let wrong = |shape: &str, chunk: &str, parser: &str| {
        checks
            .iter()
            .any(|row| row[0] == shape && row[1] == chunk && row[2] == parser && row[3] != "ok")
    };
    let _ = writeln!(
        r.md,
        "### The crates.io sse-core's README scenarios (MB/s, median)\n\n\
         Its `benches/bench.rs` inputs rebuilt byte for byte: 64 events of 40 KB data (1460-byte \
         chunks, and the whole input as one buffer, its sync decoder row), 100 000 events of 9 \
         bytes of data, 200 000 keep-alive comments, 256 events of 4 KB data in 10-byte chunks.\n"
    );
    let mut header = String::from("| scenario | chunk |");
    for parser in README_PARSERS {
        let _ = write!(header, " {parser} |");
    }
    header.push_str(" memchr2 lines | sync / sse-core | borrowed / sse-core | async / sse-core |");
    let _ = writeln!(r.md, "{header}");
    let _ = writeln!(
        r.md,
        "|---|---|{}",
        "---:|".repeat(README_PARSERS.len() + 4)
    );
    for (shape, chunk) in README {
        let group = format!("parse/{shape}");
        let mut row = format!("| {shape} | {chunk} |");
        for parser in README_PARSERS {
            let v = fmt(r.mbps(&group, parser, chunk), 0);
            if wrong(shape, chunk, parser) {
                let _ = write!(row, " {v} **wrong result** |");
            } else {
                let _ = write!(row, " {v} |");
            }
        }
        let _ = write!(row, " {} |", fmt(r.mbps(&group, "memchr2 lines", chunk), 0));
        let peer = r.mbps(&group, "sse-core (crates.io)", chunk);
        for way in WAYS {
            let core = r.mbps(&group, &format!("ssekit-proto ({way})"), chunk);
            let x = ratio(core, peer);
            let _ = write!(row, " {}x |", fmt(x, 2));
            r.at_least(
                format!(
                    "parser ({way}) >= 1.0x sse-core (crates.io), its README's {shape}, {chunk}"
                ),
                x,
                1.0,
            );
        }
        let _ = writeln!(r.md, "{row}");
    }
    let _ = writeln!(r.md);
}

/// The encoder rows, in table order (a way a row does not have shows "n/a").
const ENCODERS: [&str; 12] = [
    "hand-written",
    "ssekit-proto (builder, to_bytes)",
    "ssekit-proto (builder, encode)",
    "ssekit-proto (builder over &str, build, to_bytes)",
    "ssekit-proto (builder over &str, build, encode)",
    "ssekit-proto",
    "ssekit-proto (event built out of line)",
    "ssekit-proto (FrameStream)",
    "axum (Sse body)",
    "axum (builder only)",
    "warp",
    "actix-web-lab (Sse body)",
];

fn encoders(r: &mut Report) {
    let checks = tsv("encoders-check.tsv");
    let wrong = |shape: &str, way: &str, name: &str| {
        checks
            .iter()
            .any(|row| row[0] == shape && row[1] == way && row[2] == name && row[3] != "ok")
    };
    let _ = writeln!(
        r.md,
        "## Encoders (ns per event, median; lower is better)\n\n\
         **frame**: an owned data `String` in, one owned `Bytes` frame out, through each \
         framework's public path (axum and actix-web-lab: their `Sse` body, polled; warp: \
         `Display`). \"axum (builder only)\" times only axum's builder calls, where it encodes: \
         a lower bound that skips its body. **buffer**: events already built, appended to one \
         reused buffer. Every output is parsed back by ssekit-proto and compared with the input.\n"
    );
    let _ = writeln!(
        r.md,
        "| encoder | tokens, frame | tokens, buffer | mixed, frame | mixed, buffer |"
    );
    let _ = writeln!(r.md, "|---|---:|---:|---:|---:|");
    for name in ENCODERS {
        let mut cells = Vec::new();
        for shape in ["small_json_tokens", "mixed"] {
            let group = format!("encode/{shape}");
            for way in ["frame", "buffer"] {
                let cell = if r.get(&group, name, way).is_none() {
                    "n/a".to_owned()
                } else {
                    let v = fmt(r.ns_per(&group, name, way), 1);
                    if wrong(shape, way, name) {
                        format!("{v} **wrong result**")
                    } else {
                        v
                    }
                };
                cells.push(cell);
            }
        }
        let _ = writeln!(r.md, "| {name} | {} |", cells.join(" | "));
    }
    let _ = writeln!(r.md);
    let group = "encode/small_json_tokens";
    let builder = r.ns_per(group, "ssekit-proto (builder, to_bytes)", "frame");
    for axum in ["axum (Sse body)", "axum (builder only)"] {
        let x = ratio(r.ns_per(group, axum, "frame"), builder);
        r.target(
            format!("encoder, event built with the builder >= 2.5x axum's Event ({axum}), small tokens, frame"),
            fmt(x, 2) + "x",
            x.is_some_and(|x| x >= 2.5),
        );
    }
    for (name, way) in [
        ("ssekit-proto (builder, to_bytes)", "frame"),
        ("ssekit-proto (builder, encode)", "buffer"),
        ("ssekit-proto", "frame"),
        ("ssekit-proto", "buffer"),
    ] {
        let x = ratio(
            r.ns_per(group, name, way),
            r.ns_per(group, "hand-written", way),
        );
        r.target(
            format!("encoder {name} within 10% of the hand-written writer, small tokens, {way}"),
            format!("{} of its time", fmt(x, 2) + "x"),
            x.is_some_and(|x| x <= 1.10),
        );
    }
}

fn fanout(r: &mut Report) {
    let cpu = tsv("fanout-cpu.tsv");
    let cpu_of = |way: &str, n: &str, batch: &str| -> Option<f64> {
        cpu.iter()
            .find(|row| row[0] == way && row[1] == n && row[2] == batch)
            .and_then(|row| row[3].parse().ok())
            .filter(|v: &f64| v.is_finite())
    };
    let _ = writeln!(
        r.md,
        "## Fan-out (one producer, N subscribers, current-thread tokio)\n\n\
         CPU ns per delivered event (process CPU time / (events x N), median; lower is better) \
         and, for the hub, delivered events per second (events x N / wall time, median). \
         batch 1: every event wakes every subscriber; batch 64: bursts of 64 events. **hub**: \
         `ssekit::hub::Hub`, each event encoded once, every subscriber gets the same `Bytes`; \
         **naive**: a tokio `broadcast` channel, every subscriber encodes its own copy, with \
         ssekit-proto's `Event` or (the way axum's examples do it) axum's `Event` inside its own \
         `Sse` body; **floor**: no frames, only a `Notify` wake-up per event and subscriber, the \
         scheduler's share of every way's cost.\n"
    );
    let _ = writeln!(
        r.md,
        "| N | batch | hub delivered/s | hub | naive (ssekit-proto Event) | naive (axum Sse) | floor: wake only | axum naive / hub | ssekit-proto naive / hub |"
    );
    let _ = writeln!(r.md, "|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for n in ["1", "100", "10000"] {
        for batch in ["1", "64"] {
            let group = format!("fanout/{n}");
            let rate = r
                .get(&group, "hub", &format!("batch{batch}"))
                .map(|e| e.per_iter / e.median_ns * 1e9);
            let rate = rate.map_or("-".to_owned(), |v| format!("{:.1} M", v / 1e6));
            let hub = cpu_of("hub", n, batch);
            let naive_core = cpu_of("naive (ssekit-proto Event)", n, batch);
            let naive_axum = cpu_of("naive (axum Sse)", n, batch);
            let floor = if batch == "1" {
                fmt(cpu_of("floor: wake only", n, batch), 1)
            } else {
                "n/a".to_owned()
            };
            let _ = writeln!(
                r.md,
                "| {n} | {batch} | {rate} | {} | {} | {} | {floor} | {} | {} |",
                fmt(hub, 1),
                fmt(naive_core, 1),
                fmt(naive_axum, 1),
                fmt(ratio(naive_axum, hub), 2) + "x",
                fmt(ratio(naive_core, hub), 2) + "x",
            );
        }
    }
    let _ = writeln!(r.md);
    r.target(
        "fan-out to 10 000: encoded once (every subscriber gets the same frame)".to_owned(),
        "1 encode per event (hub) vs 10 000 (naive)".to_owned(),
        true,
    );
    for batch in ["1", "64"] {
        let x = ratio(
            cpu_of("naive (axum Sse)", "10000", batch),
            cpu_of("hub", "10000", batch),
        );
        r.target(
            format!("fan-out to 10 000: >= 5x less CPU per event than the naive way (axum Sse), batch {batch}"),
            fmt(x, 2) + "x",
            x.is_some_and(|x| x >= 5.0),
        );
    }
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|text| {
            text.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|s| s.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".to_owned());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let rustc = std::process::Command::new(std::env::var("RUSTC").unwrap_or("rustc".into()))
        .arg("-V")
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default();
    format!("{cpu}, {cores} cores available; {rustc}")
}

fn main() {
    let mut results = Results::new();
    load(&common::criterion_home(), &mut results);
    let mut r = Report {
        results,
        md: String::new(),
        targets: Vec::new(),
    };
    let _ = writeln!(r.md, "Machine: {}\n", machine());
    parsers(&mut r);
    encoders(&mut r);
    fanout(&mut r);
    let mut summary = String::from("## Targets\n\n| target | measured | met |\n|---|---:|---|\n");
    for (name, detail, met) in &r.targets {
        let _ = writeln!(
            summary,
            "| {name} | {detail} | {} |",
            if *met { "met" } else { "**not met**" }
        );
    }
    let text = format!("{summary}\n{}", r.md);
    println!("{text}");
    let path = common::side_dir().join("report.md");
    std::fs::write(&path, &text).expect("write the report");
    eprintln!("report written to {}", path.display());
}
