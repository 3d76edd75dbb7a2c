//! Encoders side by side: the same events turned into wire bytes by ssekit-proto, axum 0.8, warp
//! 0.4, actix-web-lab, and a hand-written writer (the reference).
//!
//! Two ways, each reported in ns per event:
//!
//! - **frame**: what a server does per event: an owned data `String` in, one owned `Bytes`
//!   frame out (then dropped). Each framework goes through its public path:
//!   - axum's `Event` has no public encoder: events go through `Sse::new(stream)
//!     .into_response()` and the response body's data stream (the path axum serves). Its
//!     builder does the encoding, so "axum (builder only)" times just the builder calls, a
//!     lower bound of axum's cost that skips the final blank line and the body.
//!   - warp's `Event` implements `Display`: `event.to_string()` into `Bytes`, as warp's
//!     `sse::reply` does.
//!   - actix-web-lab's `Event` has no public encoder either: events go through its `Sse`
//!     responder, polled as the `MessageBody` actix-web polls.
//!   - ssekit-proto: `Event::message(data)` (the builder when there is an id or a name), then
//!     `to_bytes()`; the same with the event built in a function kept out of line; and its
//!     `stream::FrameStream`.
//!   - ssekit-proto's builder as a handler writes it: `Event::builder().data(s)...to_bytes()`
//!     (owned strings moved in, the frame written straight from them), and the builder over
//!     borrowed `&str` fields, `build()` (a copy per field), `to_bytes()`.
//!   - hand-written: exact-size `Vec`, the fields written by hand, into `Bytes`.
//! - **buffer**: appended to one reused, warm buffer: the hand-written writer formatting the
//!   application's fields; ssekit-proto's builder over the same fields borrowed, encoded straight
//!   into the buffer (`EventBuilder::encode`, no allocation); the same builder through
//!   `build()` then `Event::encode` (a copy per field); events already built (ssekit-proto's
//!   `Event::encode`, warp's `Display` into a reused `String`). axum and actix-web-lab have no
//!   public way to do this.
//!
//! Shapes: small JSON token events (data only) and mixed events (id, event name on every
//! other event, 1-10 data lines). Before timing, every encoder's output is parsed back with
//! ssekit-proto's parser and compared with the events it was given; the verdicts go to
//! `target/criterion/sse-benches/encoders-check.tsv`.
#![allow(missing_docs)] // criterion_group! generates an undocumented function

#[allow(dead_code)]
mod common;

use std::convert::Infallible;
use std::fmt::Write as _;
use std::hint::black_box;
use std::pin::Pin;

use bytes::Bytes;
use common::inputs::EventSpec;
use criterion::{BatchSize, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use futures::executor::block_on;
use futures::stream::{self, StreamExt};

/// What each frame encoder does with its frames: add up their lengths, then drop them.
type FrameFn = fn(Vec<EventSpec>, &mut dyn FnMut(Bytes));

fn hand_written_line(out: &mut Vec<u8>, name: &[u8], value: &[u8]) {
    out.extend_from_slice(name);
    out.extend_from_slice(b": ");
    out.extend_from_slice(value);
    out.push(b'\n');
}

/// The reference writer: the fields by hand, data split on CR, LF and CRLF with `memchr2`.
fn hand_written(out: &mut Vec<u8>, event: Option<&str>, id: Option<&str>, data: &str) {
    if let Some(event) = event {
        hand_written_line(out, b"event", event.as_bytes());
    }
    if let Some(id) = id {
        hand_written_line(out, b"id", id.as_bytes());
    }
    let mut rest = data.as_bytes();
    while let Some(i) = memchr::memchr2(b'\r', b'\n', rest) {
        hand_written_line(out, b"data", &rest[..i]);
        let skip = if rest[i] == b'\r' && rest.get(i + 1) == Some(&b'\n') {
            2
        } else {
            1
        };
        rest = &rest[i + skip..];
    }
    hand_written_line(out, b"data", rest);
    out.push(b'\n');
}

/// The exact size of what `hand_written` writes (so `Bytes::from` needs no second block).
fn hand_written_len(event: Option<&str>, id: Option<&str>, data: &str) -> usize {
    let lines = 1 + memchr::memchr2_iter(b'\r', b'\n', data.as_bytes()).count();
    event.map_or(0, |e| e.len() + 8) + id.map_or(0, |i| i.len() + 5) + data.len() + 7 * lines + 1
}

fn frame_hand_written(specs: Vec<EventSpec>, sink: &mut dyn FnMut(Bytes)) {
    for spec in specs {
        let (event, id, data) = (spec.event.as_deref(), spec.id.as_deref(), &spec.data);
        let mut out = Vec::with_capacity(hand_written_len(event, id, data));
        hand_written(&mut out, event, id, data);
        sink(Bytes::from(out));
    }
}

/// The event as an application would build it: `Event::message` for data alone, the builder
/// otherwise. Inlined where it is encoded, as an event built in the handler that sends it;
/// `frame_ssekit_proto_out_of_line` measures the other case.
#[inline(always)]
fn core_event(spec: EventSpec) -> ssekit_proto::Event {
    if spec.event.is_none() && spec.id.is_none() {
        return ssekit_proto::Event::message(spec.data);
    }
    let mut builder = ssekit_proto::Event::builder().data(spec.data);
    if let Some(event) = spec.event {
        builder = builder.event(event);
    }
    if let Some(id) = spec.id {
        builder = builder.id(id);
    }
    builder.build().expect("valid event")
}

fn frame_ssekit_proto(specs: Vec<EventSpec>, sink: &mut dyn FnMut(Bytes)) {
    for spec in specs {
        sink(core_event(spec).to_bytes());
    }
}

/// The same, with the event built by a function the compiler keeps out of line: the event
/// (112 bytes) then comes back through memory, which costs more than encoding a token event.
fn frame_ssekit_proto_out_of_line(specs: Vec<EventSpec>, sink: &mut dyn FnMut(Bytes)) {
    #[inline(never)]
    fn build(spec: EventSpec) -> ssekit_proto::Event {
        core_event(spec)
    }
    for spec in specs {
        sink(build(spec).to_bytes());
    }
}

/// What a handler writes: the builder, then the frame straight from it (no `Event` in
/// between; the owned strings are moved in, nothing is copied per field).
fn frame_ssekit_proto_builder(specs: Vec<EventSpec>, sink: &mut dyn FnMut(Bytes)) {
    for spec in specs {
        let mut builder = ssekit_proto::Event::builder().data(spec.data);
        if let Some(event) = spec.event {
            builder = builder.event(event);
        }
        if let Some(id) = spec.id {
            builder = builder.id(id);
        }
        sink(builder.to_bytes().expect("valid event"));
    }
}

/// The builder over borrowed fields, `build()` (which copies each field into the event), then
/// `to_bytes()`: the way that allocates per field.
fn frame_ssekit_proto_builder_build(specs: Vec<EventSpec>, sink: &mut dyn FnMut(Bytes)) {
    for spec in &specs {
        sink(
            borrowed_builder(spec)
                .build()
                .expect("valid event")
                .to_bytes(),
        );
    }
}

/// The builder over `spec`'s fields, borrowed.
#[inline(always)]
fn borrowed_builder(spec: &EventSpec) -> ssekit_proto::EventBuilder<'_> {
    let mut builder = ssekit_proto::Event::builder().data(spec.data.as_str());
    if let Some(event) = &spec.event {
        builder = builder.event(event.as_str());
    }
    if let Some(id) = &spec.id {
        builder = builder.id(id.as_str());
    }
    builder
}

fn frame_ssekit_proto_stream(specs: Vec<EventSpec>, sink: &mut dyn FnMut(Bytes)) {
    let mut frames = ssekit_proto::stream::FrameStream::new(stream::iter(specs).map(core_event));
    block_on(async {
        while let Some(frame) = frames.next().await {
            sink(frame);
        }
    })
}

fn axum_event(spec: EventSpec) -> axum::response::sse::Event {
    let mut event = axum::response::sse::Event::default();
    if let Some(name) = spec.event {
        event = event.event(name);
    }
    if let Some(id) = spec.id {
        event = event.id(id);
    }
    event.data(spec.data)
}

fn frame_axum(specs: Vec<EventSpec>, sink: &mut dyn FnMut(Bytes)) {
    use axum::response::IntoResponse;
    let events = stream::iter(specs).map(|spec| Ok::<_, Infallible>(axum_event(spec)));
    let response = axum::response::sse::Sse::new(events).into_response();
    let mut body = response.into_body().into_data_stream();
    block_on(async {
        while let Some(frame) = body.next().await {
            sink(frame.expect("axum body frame"));
        }
    })
}

/// Only the builder calls, where axum does its encoding: a lower bound of axum's cost.
fn frame_axum_builder_only(specs: Vec<EventSpec>, sink: &mut dyn FnMut(Bytes)) {
    for spec in specs {
        let event = black_box(axum_event(spec));
        drop(event);
        sink(Bytes::new());
    }
}

fn warp_event(spec: EventSpec) -> warp::sse::Event {
    let mut event = warp::sse::Event::default();
    if let Some(name) = spec.event {
        event = event.event(name);
    }
    if let Some(id) = spec.id {
        event = event.id(id);
    }
    event.data(spec.data)
}

fn frame_warp(specs: Vec<EventSpec>, sink: &mut dyn FnMut(Bytes)) {
    for spec in specs {
        sink(Bytes::from(warp_event(spec).to_string()));
    }
}

fn frame_actix(specs: Vec<EventSpec>, sink: &mut dyn FnMut(Bytes)) {
    use actix_web::body::MessageBody;
    use actix_web_lab::sse;
    let events = stream::iter(specs).map(|spec| {
        let mut data = sse::Data::new(spec.data);
        if let Some(name) = spec.event {
            data = data.event(name);
        }
        if let Some(id) = spec.id {
            data = data.id(id);
        }
        sse::Event::Data(data)
    });
    let mut body = sse::Sse::from_infallible_stream(events);
    block_on(async {
        while let Some(frame) =
            futures::future::poll_fn(|cx| Pin::new(&mut body).poll_next(cx)).await
        {
            sink(frame.expect("actix-web-lab frame"));
        }
    })
}

const FRAMERS: [(&str, FrameFn); 10] = [
    ("hand-written", frame_hand_written),
    ("ssekit-proto", frame_ssekit_proto),
    (
        "ssekit-proto (builder, to_bytes)",
        frame_ssekit_proto_builder,
    ),
    (
        "ssekit-proto (builder over &str, build, to_bytes)",
        frame_ssekit_proto_builder_build,
    ),
    (
        "ssekit-proto (event built out of line)",
        frame_ssekit_proto_out_of_line,
    ),
    ("ssekit-proto (FrameStream)", frame_ssekit_proto_stream),
    ("axum (Sse body)", frame_axum),
    ("axum (builder only)", frame_axum_builder_only),
    ("warp", frame_warp),
    ("actix-web-lab (Sse body)", frame_actix),
];

/// Appends every event to `out` (cleared first).
type BufferFn<E> = fn(&[E], &mut Vec<u8>);

fn buffer_hand_written(specs: &[EventSpec], out: &mut Vec<u8>) {
    out.clear();
    for spec in specs {
        hand_written(out, spec.event.as_deref(), spec.id.as_deref(), &spec.data);
    }
}

fn buffer_ssekit_proto(events: &[ssekit_proto::Event], out: &mut Vec<u8>) {
    out.clear();
    for event in events {
        event.encode(out);
    }
}

/// The builder over borrowed fields, encoded straight into the buffer: no allocation at all.
fn buffer_ssekit_proto_builder(specs: &[EventSpec], out: &mut Vec<u8>) {
    out.clear();
    for spec in specs {
        borrowed_builder(spec).encode(out).expect("valid event");
    }
}

/// The builder over borrowed fields, `build()` (a copy of each field), then `encode`.
fn buffer_ssekit_proto_builder_build(specs: &[EventSpec], out: &mut Vec<u8>) {
    out.clear();
    for spec in specs {
        borrowed_builder(spec)
            .build()
            .expect("valid event")
            .encode(out);
    }
}

fn buffer_warp(events: &[warp::sse::Event], out: &mut Vec<u8>) {
    // warp writes through `fmt::Write`; a `String` is the buffer it can use.
    let mut text = String::from_utf8(std::mem::take(out)).expect("utf-8");
    text.clear();
    for event in events {
        let _ = write!(text, "{event}");
    }
    *out = text.into_bytes();
}

/// The buffer ways that build the event from the application's fields as they encode.
const BUILDER_BUFFERS: [(&str, BufferFn<EventSpec>); 2] = [
    (
        "ssekit-proto (builder, encode)",
        buffer_ssekit_proto_builder,
    ),
    (
        "ssekit-proto (builder over &str, build, encode)",
        buffer_ssekit_proto_builder_build,
    ),
];

/// Parses `wire` with ssekit-proto and compares with `specs` (ids persist, as in the spec).
fn verdict(specs: &[EventSpec], wire: &[u8]) -> (&'static str, String) {
    let mut parser = ssekit_proto::Parser::new();
    let mut got = Vec::new();
    for item in parser.feed(wire) {
        if let Ok(ssekit_proto::Parsed::Event(event)) = item {
            got.push((
                event.event_type().to_owned(),
                event.data().to_owned(),
                event.last_event_id().to_owned(),
            ));
        }
    }
    let mut last_id = String::new();
    let expected: Vec<_> = specs
        .iter()
        .map(|spec| {
            if let Some(id) = &spec.id {
                last_id.clone_from(id);
            }
            let event_type = spec.event.clone().unwrap_or_else(|| "message".to_owned());
            (event_type, spec.data.clone(), last_id.clone())
        })
        .collect();
    if got == expected {
        ("ok", String::new())
    } else {
        (
            "wrong",
            format!("{} events parsed back, {} sent", got.len(), expected.len()),
        )
    }
}

fn check(shapes: &[(&str, Vec<EventSpec>)]) {
    let mut tsv = String::from("shape\tway\tencoder\tverdict\tdetail\n");
    let mut record = |shape: &str, way: &str, name: &str, (verdict, detail): (&str, String)| {
        println!("check {shape}/{way}: {name}: {verdict} {detail}");
        let _ = writeln!(tsv, "{shape}\t{way}\t{name}\t{verdict}\t{detail}");
    };
    for (shape, specs) in shapes {
        for (name, frame) in FRAMERS {
            if name.contains("builder only") {
                continue;
            }
            let mut wire = Vec::new();
            frame(specs.clone(), &mut |bytes| wire.extend_from_slice(&bytes));
            record(shape, "frame", name, verdict(specs, &wire));
        }
        let mut wire = Vec::new();
        buffer_hand_written(specs, &mut wire);
        record(shape, "buffer", "hand-written", verdict(specs, &wire));
        let events: Vec<_> = specs.iter().cloned().map(core_event).collect();
        buffer_ssekit_proto(&events, &mut wire);
        record(shape, "buffer", "ssekit-proto", verdict(specs, &wire));
        for (name, encode) in BUILDER_BUFFERS {
            encode(specs, &mut wire);
            record(shape, "buffer", name, verdict(specs, &wire));
        }
        let events: Vec<_> = specs.iter().cloned().map(warp_event).collect();
        buffer_warp(&events, &mut wire);
        record(shape, "buffer", "warp", verdict(specs, &wire));
    }
    let path = common::side_dir().join("encoders-check.tsv");
    std::fs::write(&path, tsv).expect("write the encoder check results");
}

fn bench_buffer<E>(
    group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    name: &str,
    events: &[E],
    encode: BufferFn<E>,
) {
    let mut out = Vec::new();
    group.bench_function(BenchmarkId::new(name, "buffer"), |b| {
        b.iter(|| {
            encode(black_box(events), &mut out);
            black_box(out.len())
        })
    });
}

fn bench(c: &mut Criterion) {
    let shapes = [
        ("small_json_tokens", common::inputs::token_specs()),
        ("mixed", common::inputs::mixed_specs()),
    ];
    // `--profile-time` (a profiler run of one bench): skip the check, keep its last verdicts.
    if !std::env::args().any(|arg| arg == "--profile-time") {
        check(&shapes);
    }
    for (shape, specs) in &shapes {
        let mut group = c.benchmark_group(format!("encode/{shape}"));
        group.throughput(Throughput::Elements(specs.len() as u64));
        for (name, frame) in FRAMERS {
            group.bench_function(BenchmarkId::new(name, "frame"), |b| {
                b.iter_batched(
                    || specs.clone(),
                    |specs| {
                        let mut total = 0;
                        frame(specs, &mut |bytes| total += bytes.len());
                        black_box(total)
                    },
                    BatchSize::LargeInput,
                )
            });
        }
        bench_buffer(&mut group, "hand-written", specs, buffer_hand_written);
        let events: Vec<_> = specs.iter().cloned().map(core_event).collect();
        bench_buffer(&mut group, "ssekit-proto", &events, buffer_ssekit_proto);
        for (name, encode) in BUILDER_BUFFERS {
            bench_buffer(&mut group, name, specs, encode);
        }
        let events: Vec<_> = specs.iter().cloned().map(warp_event).collect();
        bench_buffer(&mut group, "warp", &events, buffer_warp);
        group.finish();
    }
}

criterion_group! {
    name = benches;
    config = common::criterion(15, 700);
    targets = bench
}
criterion_main!(benches);
