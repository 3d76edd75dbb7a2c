//! The input streams of the parser benchmarks, deterministic so every run measures the same
//! bytes. Shared by `sse-core/benches/parser.rs` and the `benches` crate (which includes this
//! file by path), so both measure the same bytes.

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

/// The data of one small JSON token event (~70 bytes; ~85 bytes on the wire), as an LLM
/// token stream sends them.
pub(crate) fn token_json(i: u64, rng: &mut Rng) -> String {
    let word = WORDS[rng.below(WORDS.len() as u64) as usize];
    format!(r#"{{"id":"chatcmpl-{i:06}","choices":[{{"delta":{{"content":"{word}"}}}}]}}"#)
}

/// Small JSON token events (~85 bytes each), LF line ends.
pub(crate) fn small_json_tokens() -> Vec<u8> {
    let total = total();
    let mut out = Vec::with_capacity(total + 256);
    let mut rng = Rng(1);
    let mut i = 0u64;
    while out.len() < total {
        out.extend_from_slice(b"data: ");
        out.extend_from_slice(token_json(i, &mut rng).as_bytes());
        out.extend_from_slice(b"\n\n");
        i += 1;
    }
    out
}

/// Mixed events: id, sometimes an event name, 1-10 data lines of 10-80 bytes, sometimes a
/// comment or a `retry:` line.
pub(crate) fn mixed_events() -> Vec<u8> {
    let total = total();
    let mut out = Vec::with_capacity(total + 4096);
    let mut rng = Rng(2);
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
            out.extend(std::iter::repeat_n(b'a' + (line as u8 % 26), len));
            out.push(b'\n');
        }
        out.push(b'\n');
        i += 1;
    }
    out
}

/// Large events of 4-64 KiB, lines of 60-260 bytes, CRLF line ends.
pub(crate) fn large_crlf_events() -> Vec<u8> {
    let total = total();
    let mut out = Vec::with_capacity(total + (70 << 10));
    let mut rng = Rng(3);
    while out.len() < total {
        let size = 4096 + rng.below(60 << 10) as usize;
        let start = out.len();
        while out.len() - start < size {
            out.extend_from_slice(b"data: ");
            let len = 60 + rng.below(200) as usize;
            out.extend(std::iter::repeat_n(b'x', len));
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// The three parser shapes, by name.
pub(crate) fn parser_shapes() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("small_json_tokens", small_json_tokens()),
        ("mixed", mixed_events()),
        ("large_crlf", large_crlf_events()),
    ]
}
