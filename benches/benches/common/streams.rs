//! The input streams of the parser benchmarks, deterministic so every run measures the same
//! bytes. Every bench target of this crate uses them (through `common`).

/// A quick mode for smoke runs: `SSE_BENCH_QUICK=1` shrinks the inputs.
pub(crate) fn quick() -> bool {
    std::env::var_os("SSE_BENCH_QUICK").is_some_and(|v| v != "0")
}

/// Size of each generated stream: 4 MiB (256 KiB with `SSE_BENCH_QUICK=1`).
pub(crate) fn total() -> usize {
    if quick() { 256 << 10 } else { 4 << 20 }
}

/// A deterministic xorshift generator.
pub(crate) struct Rng(pub(crate) u64);

impl Rng {
    pub(crate) fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

const WORDS: [&str; 9] = [
    "the", "quick", " brown", " fox", "jumps", " over", "lazy", " dog", "!",
];

/// Tokens of LLM output in several scripts: English, accented Latin (2-byte sequences), CJK
/// (3 bytes), emoji (4 bytes, one with a skin-tone modifier), Cyrillic and Greek (2 bytes),
/// punctuation (3 bytes). Drawn uniformly, about 40% of their bytes are not ASCII; mixed with
/// ASCII text (see [`Text`]) the streams end up with 7-8% non-ASCII bytes, as LLM output has.
const WORDS_NON_ASCII: [&str; 24] = [
    " the",
    " model",
    " answer",
    " is",
    ",",
    " caf\u{e9}",
    " na\u{ef}ve",
    " \u{fc}ber",
    " Stra\u{df}e",
    " se\u{f1}or",
    " \u{e7}a",
    " \u{65e5}\u{672c}\u{8a9e}",
    "\u{4e2d}\u{6587}",
    "\u{3067}\u{3059}",
    " \u{1f642}",
    " \u{1f44d}\u{1f3fd}",
    " \u{1f680}",
    " \u{43f}\u{440}\u{438}\u{432}\u{435}\u{442}",
    " \u{3b1}\u{3b2}\u{3b3}",
    "\u{2026}",
    " \u{201c}ok\u{201d}",
    " data",
    " stream",
    ".",
];

/// Which text the generated events carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Text {
    /// Pure ASCII (the rows the project always had).
    Ascii,
    /// Realistic text with 7-8% non-ASCII bytes (mixed scripts, emoji); with 4 KiB and
    /// 64 KiB chunks, some multi-byte sequences are cut by chunk edges, and at 7 bytes most are.
    NonAscii,
}

impl Text {
    /// The shape name's suffix: `""` or `"_non_ascii"`.
    pub(crate) fn suffix(self) -> &'static str {
        match self {
            Text::Ascii => "",
            Text::NonAscii => "_non_ascii",
        }
    }
}

/// Appends prose of about `len` bytes to `out`: one in `every` words is drawn from
/// [`WORDS_NON_ASCII`], the others are ASCII.
fn prose(out: &mut Vec<u8>, len: usize, every: u64, rng: &mut Rng) {
    let start = out.len();
    while out.len() - start < len {
        let word = if rng.below(every) == 0 {
            WORDS_NON_ASCII[rng.below(WORDS_NON_ASCII.len() as u64) as usize]
        } else {
            WORDS[rng.below(WORDS.len() as u64) as usize]
        };
        out.extend_from_slice(word.as_bytes());
    }
}

/// The data of one small JSON token event (~70 bytes; ~85 bytes on the wire), as an LLM
/// token stream sends them.
pub(crate) fn token_json(i: u64, rng: &mut Rng) -> String {
    let word = WORDS[rng.below(WORDS.len() as u64) as usize];
    format!(r#"{{"id":"chatcmpl-{i:06}","choices":[{{"delta":{{"content":"{word}"}}}}]}}"#)
}

/// [`token_json`] with two tokens of [`WORDS_NON_ASCII`] (~8% of the bytes not ASCII).
pub(crate) fn token_json_non_ascii(i: u64, rng: &mut Rng) -> String {
    let mut word = || WORDS_NON_ASCII[rng.below(WORDS_NON_ASCII.len() as u64) as usize];
    let (a, b) = (word(), word());
    format!(r#"{{"id":"chatcmpl-{i:06}","choices":[{{"delta":{{"content":"{a}{b}"}}}}]}}"#)
}

/// Small JSON token events (~85 bytes each), LF line ends.
pub(crate) fn small_json_tokens(text: Text) -> Vec<u8> {
    let total = total();
    let mut out = Vec::with_capacity(total + 256);
    let mut rng = Rng(1);
    let mut i = 0u64;
    while out.len() < total {
        out.extend_from_slice(b"data: ");
        let data = match text {
            Text::Ascii => token_json(i, &mut rng),
            Text::NonAscii => token_json_non_ascii(i, &mut rng),
        };
        out.extend_from_slice(data.as_bytes());
        out.extend_from_slice(b"\n\n");
        i += 1;
    }
    out
}

/// Mixed events: id, sometimes an event name, 1-10 data lines of 10-80 bytes, sometimes a
/// comment or a `retry:` line.
pub(crate) fn mixed_events(text: Text) -> Vec<u8> {
    let total = total();
    let mut out = Vec::with_capacity(total + 4096);
    let mut rng = Rng(2);
    // The words come from their own generator: both texts have the same events and lines.
    let mut words = Rng(12);
    let mut i = 0u64;
    while out.len() < total {
        if rng.below(10) == 0 {
            out.extend_from_slice(b": heartbeat comment\n");
        }
        if rng.below(50) == 0 {
            out.extend_from_slice(b"retry: 3000\n");
        }
        out.extend_from_slice(format!("id: {i}\n").as_bytes());
        if rng.below(2) == 0 {
            out.extend_from_slice(b"event: update\n");
        }
        for line in 0..=rng.below(10) {
            let len = 10 + rng.below(70) as usize;
            out.extend_from_slice(b"data: ");
            match text {
                Text::Ascii => out.extend(std::iter::repeat_n(b'a' + (line as u8 % 26), len)),
                Text::NonAscii => prose(&mut out, len, 8, &mut words),
            }
            out.push(b'\n');
        }
        out.push(b'\n');
        i += 1;
    }
    out
}

/// Large events of 4-64 KiB, lines of 60-260 bytes, CRLF line ends.
pub(crate) fn large_crlf_events(text: Text) -> Vec<u8> {
    let total = total();
    let mut out = Vec::with_capacity(total + (70 << 10));
    let mut rng = Rng(3);
    let mut words = Rng(13);
    while out.len() < total {
        let size = 4096 + rng.below(60 << 10) as usize;
        let start = out.len();
        while out.len() - start < size {
            out.extend_from_slice(b"data: ");
            let len = 60 + rng.below(200) as usize;
            match text {
                Text::Ascii => out.extend(std::iter::repeat_n(b'x', len)),
                Text::NonAscii => prose(&mut out, len, 8, &mut words),
            }
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// Large events whose data is one long line: a JSON document of 4-64 KiB on a single `data:`
/// line (as JSON APIs send whole objects), so at 4 KiB chunks the line spans up to 16 chunks.
/// `crlf`: CRLF line ends, else LF. Non-ASCII text is sparse (string values of prose with one
/// word in 16 from [`WORDS_NON_ASCII`], about 3% of the bytes).
pub(crate) fn long_line_events(text: Text, crlf: bool) -> Vec<u8> {
    let total = total();
    let mut out = Vec::with_capacity(total + (70 << 10));
    let mut rng = Rng(4);
    let mut words = Rng(14);
    let end: &[u8] = if crlf { b"\r\n" } else { b"\n" };
    let mut i = 0u64;
    while out.len() < total {
        let size = 4096 + rng.below(60 << 10) as usize;
        out.extend_from_slice(format!("id: {i}").as_bytes());
        out.extend_from_slice(end);
        out.extend_from_slice(b"data: {\"object\":\"list\",\"data\":[");
        let start = out.len();
        let mut n = 0u64;
        while out.len() - start < size {
            if n > 0 {
                out.push(b',');
            }
            out.extend_from_slice(
                format!(
                    "{{\"index\":{n},\"score\":0.{:04},\"text\":\"",
                    rng.below(10_000)
                )
                .as_bytes(),
            );
            let len = 40 + rng.below(160) as usize;
            match text {
                Text::Ascii => prose(&mut out, len, u64::MAX, &mut words),
                Text::NonAscii => prose(&mut out, len, 16, &mut words),
            }
            out.extend_from_slice(b"\"}");
            n += 1;
        }
        out.extend_from_slice(b"]}");
        out.extend_from_slice(end);
        out.extend_from_slice(end);
        i += 1;
    }
    out
}

/// The parser shapes, by name, each in ASCII and with non-ASCII text
/// (`small_json_tokens`, `small_json_tokens_non_ascii`, ...).
pub(crate) fn parser_shapes() -> Vec<(String, Vec<u8>)> {
    let mut shapes = Vec::new();
    for text in [Text::Ascii, Text::NonAscii] {
        let suffix = text.suffix();
        shapes.push((
            format!("small_json_tokens{suffix}"),
            small_json_tokens(text),
        ));
        shapes.push((format!("mixed{suffix}"), mixed_events(text)));
        shapes.push((format!("large_crlf{suffix}"), large_crlf_events(text)));
        shapes.push((
            format!("long_line_crlf{suffix}"),
            long_line_events(text, true),
        ));
        shapes.push((
            format!("long_line_lf{suffix}"),
            long_line_events(text, false),
        ));
    }
    shapes
}

/// The share of bytes of `input` that are not ASCII.
pub(crate) fn non_ascii_share(input: &[u8]) -> f64 {
    input.iter().filter(|b| !b.is_ascii()).count() as f64 / input.len().max(1) as f64
}
