#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| sse_fuzz::roundtrip(data));
