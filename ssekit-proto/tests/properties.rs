//! Property tests: chunking invariance and encode/parse round trip.

use std::time::Duration;

use conformance::{Outcome, Output, parse_with_cuts, parse_with_cuts_borrowed};
use proptest::prelude::*;
use ssekit_proto::{Event, Limits, Parsed, Parser};

/// Bytes that hit the parser's interesting paths more often than uniform bytes would.
fn stream_bytes() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        Just(b"data".to_vec()),
        Just(b"data:".to_vec()),
        Just(b"data: ".to_vec()),
        Just(b"event:".to_vec()),
        Just(b"id:".to_vec()),
        Just(b"retry:".to_vec()),
        Just(b":".to_vec()),
        Just(b" ".to_vec()),
        Just(b"\r".to_vec()),
        Just(b"\n".to_vec()),
        Just(b"\r\n".to_vec()),
        Just(b"\n\n".to_vec()),
        Just(vec![0xEF, 0xBB, 0xBF]),
        Just(vec![0xE2, 0x82]),
        Just(vec![0xAC]),
        Just(vec![0]),
        Just(b"123".to_vec()),
        "[a-z0-9]{0,6}".prop_map(String::into_bytes),
        any::<u8>().prop_map(|b| vec![b]),
    ];
    prop::collection::vec(piece, 0..40).prop_map(|pieces| pieces.concat())
}

fn cuts_for(len: usize) -> impl Strategy<Value = Vec<usize>> {
    prop::collection::vec(0..=len, 0..12).prop_map(|mut cuts| {
        cuts.sort_unstable();
        cuts
    })
}

/// A stream and sorted cut points inside it.
fn stream_and_cuts() -> impl Strategy<Value = (Vec<u8>, Vec<usize>)> {
    stream_bytes().prop_flat_map(|input| {
        let len = input.len();
        (Just(input), cuts_for(len))
    })
}

/// Long streams (up to a few KiB: many 64-byte line-end blocks, chunks long enough to be
/// validated as a whole) of the same pieces, with long data lines among them.
fn long_stream_and_cuts() -> impl Strategy<Value = (Vec<u8>, Vec<usize>)> {
    let piece = prop_oneof![
        4 => stream_bytes(),
        1 => ("[a-z\u{e9}\u{65e5}\u{1f642} ]{0,150}", prop::sample::select(vec!["\n", "\r", "\r\n"]))
            .prop_map(|(text, end)| format!("data: {text}{end}").into_bytes()),
    ];
    prop::collection::vec(piece, 0..40)
        .prop_map(|pieces| pieces.concat())
        .prop_flat_map(|input| {
            let len = input.len();
            (Just(input), cuts_for(len))
        })
}

/// Streams of long data lines (up to a few KiB, so that they span many chunks of a few hundred
/// bytes) of text with multi-byte characters, invalid bytes and cut sequences, among short
/// lines; the cuts often fall inside a multi-byte sequence.
fn long_line_stream_and_cuts() -> impl Strategy<Value = (Vec<u8>, Vec<usize>)> {
    let text = prop::collection::vec(
        prop_oneof![
            8 => "[a-z ]{1,40}".prop_map(String::into_bytes),
            2 => "[\u{e9}\u{65e5}\u{1f642}]{1,3}".prop_map(String::into_bytes),
            1 => prop::sample::select(vec![
                vec![0xFF],
                vec![0xE2, 0x82],
                vec![0xF0, 0x9F, 0x98],
                vec![0x80],
                vec![0xC3],
                vec![0xED, 0xA0, 0x80],
            ]),
        ],
        0..200,
    )
    .prop_map(|pieces| pieces.concat());
    let line = (
        prop::sample::select(vec!["data:", "data: ", "data:  ", ": ", "id: ", "event: "]),
        text,
        prop::sample::select(vec!["\n", "\r", "\r\n", "\n\n", "\r\n\r\n", ""]),
    )
        .prop_map(|(head, text, end)| [head.as_bytes(), &text, end.as_bytes()].concat());
    prop::collection::vec(prop_oneof![3 => line, 1 => stream_bytes()], 0..12)
        .prop_map(|pieces| pieces.concat())
        .prop_flat_map(|input| {
            let len = input.len();
            let cuts = prop::collection::vec(0..=len, 0..40).prop_map(|mut cuts| {
                cuts.sort_unstable();
                cuts
            });
            (Just(input), cuts)
        })
}

/// The default limits, or tiny ones that the generated streams often exceed.
fn limits(small: bool) -> Limits {
    if small {
        Limits::default().max_line_length(9).max_event_size(14)
    } else {
        Limits::default()
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn chunking_never_changes_the_result(
        (input, cuts) in stream_and_cuts(),
        small_limits in any::<bool>(),
    ) {
        let limits = limits(small_limits);
        let whole = parse_with_cuts(&input, &[], limits);
        let cut = parse_with_cuts(&input, &cuts, limits);
        prop_assert_eq!(&whole, &cut);
        let bytewise: Vec<usize> = (1..input.len()).collect();
        prop_assert_eq!(&whole, &parse_with_cuts(&input, &bytewise, limits));
    }

    #[test]
    fn feed_with_gives_what_feed_gives(
        (input, cuts) in stream_and_cuts(),
        small_limits in any::<bool>(),
    ) {
        let limits = limits(small_limits);
        let owned = parse_with_cuts(&input, &cuts, limits);
        prop_assert_eq!(&owned, &parse_with_cuts_borrowed(&input, &cuts, limits));
        let bytewise: Vec<usize> = (1..input.len()).collect();
        prop_assert_eq!(&owned, &parse_with_cuts_borrowed(&input, &bytewise, limits));

        // Mixing both ways on one parser (and a `Feed` dropped early) changes nothing either.
        let mut parser = Parser::with_limits(limits);
        let mut outputs = Vec::new();
        let mut start = 0;
        for (n, &cut) in cuts.iter().chain(std::iter::once(&input.len())).enumerate() {
            let cut = cut.clamp(start, input.len());
            let piece = &input[start..cut];
            match n % 3 {
                0 => parser.feed_with(piece, |item| outputs.push(conformance::output_of_ref(item))),
                1 => outputs.extend(parser.feed(piece).map(conformance::output_of)),
                _ => outputs.extend(parser.feed(piece).take(1).map(conformance::output_of)),
            }
            start = cut;
        }
        parser.feed_with(b"", |item| outputs.push(conformance::output_of_ref(item)));
        outputs.extend(parser.finish().map(conformance::output_of));
        prop_assert_eq!(owned, Outcome { outputs, last_event_id: parser.last_event_id().to_owned() });
    }

    #[test]
    fn dropping_a_feed_early_loses_nothing(input in stream_bytes(), take in 0usize..3) {
        let whole = parse_with_cuts(&input, &[], Limits::default());
        let mut parser = Parser::new();
        let mut outputs: Vec<Output> = parser.feed(&input).take(take).map(conformance::output_of).collect();
        outputs.extend(parser.feed(b"").map(conformance::output_of));
        outputs.extend(parser.finish().map(conformance::output_of));
        prop_assert_eq!(whole, Outcome { outputs, last_event_id: parser.last_event_id().to_owned() });
    }

    #[test]
    fn encode_then_parse_gives_the_event_back(
        data in prop::option::of(any::<String>()),
        name in prop::option::of("[^\r\n]{0,12}"),
        id in prop::option::of("[^\r\n\u{0}]{0,12}"),
        retry in prop::option::of(any::<u64>()),
        comment in prop::option::of(any::<String>()),
    ) {
        let mut builder = Event::builder();
        if let Some(data) = &data { builder = builder.data(data.clone()); }
        if let Some(name) = &name { builder = builder.event(name.clone()); }
        if let Some(id) = &id { builder = builder.id(id.clone()); }
        if let Some(ms) = retry { builder = builder.retry(Duration::from_millis(ms)); }
        if let Some(comment) = &comment { builder = builder.comment(comment.clone()); }
        let event = builder.build().expect("valid fields are accepted");
        let wire = event.to_vec();

        let mut parser = Parser::with_limits(Limits::unlimited());
        parser.set_last_event_id("previous");
        let items: Vec<Parsed> = parser.feed(&wire).map(|r| r.expect("no limit")).collect();
        prop_assert!(!parser.finish().discarded(), "a whole event was encoded");

        let expected_id = id.clone().unwrap_or_else(|| "previous".to_owned());
        let mut expected = Vec::new();
        if let Some(ms) = retry { expected.push(Parsed::Retry(Duration::from_millis(ms))); }
        if let Some(data) = &data {
            let normalised = data.replace("\r\n", "\n").replace('\r', "\n");
            let event_type = match name.as_deref() { None | Some("") => "message", Some(n) => n };
            expected.push(Parsed::Event(ssekit_proto::MessageEvent::new(event_type, normalised, &expected_id)));
        }
        prop_assert_eq!(items, expected);
        prop_assert_eq!(parser.last_event_id(), expected_id.as_str());
    }

    #[test]
    fn builder_refuses_injection(prefix in "[a-z]{0,4}", bad in prop::sample::select(vec!["\r", "\n", "\r\n"]), suffix in "[a-z:]{0,8}") {
        let value = format!("{prefix}{bad}{suffix}");
        prop_assert!(Event::builder().event(value.clone()).build().is_err());
        prop_assert!(Event::builder().id(value).build().is_err());
        let with_nul = format!("{prefix}\0{suffix}");
        prop_assert!(Event::builder().id(with_nul).build().is_err());
    }
}

proptest! {
    // Long inputs: fewer cases.
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// Line ends found 64 bytes at a time, in chunks validated as a whole, give what the
    /// same stream gives one byte at a time (where nothing is validated ahead and every line
    /// is carried over).
    #[test]
    fn long_streams_parse_the_same_in_any_chunking((input, cuts) in long_stream_and_cuts()) {
        let limits = Limits::default();
        let whole = parse_with_cuts(&input, &[], limits);
        prop_assert_eq!(&whole, &parse_with_cuts(&input, &cuts, limits));
        prop_assert_eq!(&whole, &parse_with_cuts_borrowed(&input, &cuts, limits));
        let bytewise: Vec<usize> = (1..input.len()).collect();
        prop_assert_eq!(&whole, &parse_with_cuts_borrowed(&input, &bytewise, limits));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    /// Long data lines spanning many chunks are decoded piece by piece into the data buffer:
    /// whatever the cuts (inside multi-byte sequences, next to invalid bytes), and under
    /// limits the lines exceed now and then, every API gives what the whole input gives.
    #[test]
    fn long_lines_across_chunks_parse_as_whole(
        (input, cuts) in long_line_stream_and_cuts(),
        limit in prop::sample::select(vec![0usize, 300, 2000]),
    ) {
        let limits = if limit == 0 {
            Limits::default()
        } else {
            Limits::default().max_line_length(limit).max_event_size(limit * 2)
        };
        let whole = parse_with_cuts(&input, &[], limits);
        prop_assert_eq!(&whole, &parse_with_cuts(&input, &cuts, limits));
        prop_assert_eq!(&whole, &parse_with_cuts_borrowed(&input, &cuts, limits));
        #[cfg(feature = "futures")]
        prop_assert_eq!(&whole, &parse_stream_with_cuts(&input, &cuts, limits));
        // Chunks of a fixed size, small and large, as readers deliver them.
        for size in [70, 257, 1000] {
            let fixed: Vec<usize> = (size..input.len()).step_by(size).collect();
            prop_assert_eq!(&whole, &parse_with_cuts(&input, &fixed, limits));
        }
    }
}

/// [`parse_with_cuts`] through [`ssekit_proto::stream::ParseStream`]: the same pieces as a stream
/// of chunks, every output and the final last event ID.
#[cfg(feature = "futures")]
fn parse_stream_with_cuts(input: &[u8], cuts: &[usize], limits: Limits) -> Outcome {
    use futures_util::{FutureExt, StreamExt, stream};
    use ssekit_proto::stream::{ParseStream, StreamError};

    let chunks: Vec<Result<Vec<u8>, std::convert::Infallible>> = conformance::pieces(input, cuts)
        .map(|piece| Ok(piece.to_vec()))
        .collect();
    let mut parsed = ParseStream::with_parser(stream::iter(chunks), Parser::with_limits(limits));
    let items: Vec<_> = parsed
        .by_ref()
        .collect::<Vec<_>>()
        .now_or_never()
        .expect("a stream of ready chunks is ready");
    let outputs = items
        .into_iter()
        .map(|item| {
            conformance::output_of(item.map_err(|e| match e {
                StreamError::Parse(e) => e,
                StreamError::Transport(never) => match never {},
            }))
        })
        .collect();
    Outcome {
        outputs,
        last_event_id: parsed.parser().last_event_id().to_owned(),
    }
}

#[cfg(feature = "futures")]
proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    /// `ParseStream` gives what `feed` gives, in any chunking (one byte at a time too, where
    /// most chunks are appended to the carry-over line whole) and under tiny limits.
    #[test]
    fn parse_stream_gives_what_feed_gives(
        (input, cuts) in stream_and_cuts(),
        small_limits in any::<bool>(),
    ) {
        let limits = limits(small_limits);
        let owned = parse_with_cuts(&input, &cuts, limits);
        prop_assert_eq!(&owned, &parse_stream_with_cuts(&input, &cuts, limits));
        let bytewise: Vec<usize> = (1..input.len()).collect();
        prop_assert_eq!(&owned, &parse_stream_with_cuts(&input, &bytewise, limits));
    }

    /// The same over long streams: chunks validated as a whole, long lines, and non-ASCII
    /// text cut anywhere.
    #[test]
    fn parse_stream_parses_long_streams_as_feed_does((input, cuts) in long_stream_and_cuts()) {
        let limits = Limits::default();
        prop_assert_eq!(
            &parse_with_cuts(&input, &cuts, limits),
            &parse_stream_with_cuts(&input, &cuts, limits)
        );
    }
}
