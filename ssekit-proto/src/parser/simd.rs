//! Line-end bitmaps, 64 bytes at a time: the crate's only `unsafe` code.
//!
//! [`line_ends`] tells where the CRs and LFs of up to 64 bytes are, as the bits of a `u64`
//! (bit `k` set: byte `k` is `\r` or `\n`). The parser computes one such bitmap per 64-byte
//! block of a chunk and consumes it across the lines of the block (`Input::line_end`), so a
//! short line costs a shift and a `trailing_zeros`, not a search call of its own.
//!
//! On `x86_64` the bitmap is four SSE2 compares-and-movemasks (SSE2 is part of the `x86_64`
//! baseline: no run-time detection, and the function inlines into the parser); elsewhere it is
//! built from `memchr2` over the block, in safe code. The first line end of a chunk's rest
//! shorter than 16 bytes (small chunks) is found a word at a time ([`short_line_end`], safe
//! code, every target); a bitmap of fewer than 16 bytes is built byte by byte. Such a rest
//! with no line end is appended to the carry-over line by [`append_short`] (safe code too).
//!
//! # Invariants of the `unsafe` code
//!
//! - Every load is `_mm_loadu_si128` (unaligned) of the 16 bytes at `bytes[i..i + 16]`, and
//!   is only made when `i + 16 <= bytes.len()`: nothing outside the slice is read. A span whose
//!   length is not a multiple of 16 gets its last vector from `bytes[len - 16..len]`,
//!   overlapping the one before (the bits it sets twice are the same bits).
//! - The intrinsics used are SSE2 only, which every `x86_64` CPU has
//!   (`target_feature = "sse2"` is on for every `x86_64` target Rust supports); the module
//!   compiles them only under `cfg(target_arch = "x86_64")`.
//! - Nothing is written through a pointer, and no pointer outlives the call.
//!
//! The tests below compare [`line_ends`] with a byte-by-byte reference on every length from 0
//! to 80 at every alignment, and a proptest does so on random bytes, offsets and lengths.
#![allow(unsafe_code)]
// As httparse does: every `unsafe` block carries a `// SAFETY:` comment saying why it is sound,
// and clippy rejects one that does not.
#![deny(clippy::undocumented_unsafe_blocks)]

use alloc::vec::Vec;

/// The bitmap of CR and LF bytes among the first 64 bytes of `bytes` (all of them if fewer):
/// bit `k` is set when `bytes[k]` is `\r` or `\n`. Bits past the end of `bytes` are clear.
#[inline(always)]
pub(super) fn line_ends(bytes: &[u8]) -> u64 {
    if bytes.len() < 16 {
        return line_ends_bytewise(bytes);
    }
    #[cfg(target_arch = "x86_64")]
    {
        sse2::line_ends(bytes)
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        line_ends_memchr(bytes)
    }
}

/// [`line_ends`] byte by byte: for short spans, and the reference the tests compare with.
#[inline(always)]
fn line_ends_bytewise(bytes: &[u8]) -> u64 {
    let mut mask = 0;
    for (k, &b) in bytes.iter().take(64).enumerate() {
        mask |= u64::from(b == b'\n' || b == b'\r') << k;
    }
    mask
}

/// The first CR or LF of a span shorter than 16 bytes (a chunk's rest), or `None`: a word
/// at a time, in safe code. Two overlapping 8-byte words cover 8 to 15 bytes, two
/// overlapping 4-byte ones 4 to 7 (a 7-byte chunk); under 4 bytes, byte by byte. In an
/// overlap, the first word had no line end, so the second's first is the span's.
#[inline(always)]
pub(super) fn short_line_end(bytes: &[u8]) -> Option<usize> {
    let len = bytes.len();
    debug_assert!(len < 16);
    if len >= 8 {
        let head = line_end_bytes(u64::from_le_bytes(array(bytes, 0)));
        if head != 0 {
            return Some(head.trailing_zeros() as usize / 8);
        }
        let tail = line_end_bytes(u64::from_le_bytes(array(bytes, len - 8)));
        return (tail != 0).then(|| len - 8 + tail.trailing_zeros() as usize / 8);
    }
    if len >= 4 {
        let head = line_end_bytes(u64::from(u32::from_le_bytes(array(bytes, 0))));
        if head != 0 {
            return Some(head.trailing_zeros() as usize / 8);
        }
        let tail = line_end_bytes(u64::from(u32::from_le_bytes(array(bytes, len - 4))));
        return (tail != 0).then(|| len - 4 + tail.trailing_zeros() as usize / 8);
    }
    bytes.iter().position(|&b| b == b'\n' || b == b'\r')
}

/// Appends `bytes` (under 16 of them) to `line` with fixed-size copies, two overlapping ones
/// for 4 to 15 bytes, instead of a call to `memcpy`, which costs more than the copy itself.
#[inline(always)]
pub(super) fn append_short(line: &mut Vec<u8>, bytes: &[u8]) {
    let len = bytes.len();
    debug_assert!(len < 16);
    let old = line.len();
    line.extend_from_slice(&[0; 16]);
    let out = &mut line[old..];
    // Through integers of two sizes, so that the two cases are not merged into one copy of a
    // variable size (which the compiler makes a `memcpy` call).
    if len >= 8 {
        let (head, tail) = (
            u64::from_ne_bytes(array(bytes, 0)),
            u64::from_ne_bytes(array(bytes, len - 8)),
        );
        out[..8].copy_from_slice(&head.to_ne_bytes());
        out[len - 8..len].copy_from_slice(&tail.to_ne_bytes());
    } else if len >= 4 {
        let (head, tail) = (
            u32::from_ne_bytes(array(bytes, 0)),
            u32::from_ne_bytes(array(bytes, len - 4)),
        );
        out[..4].copy_from_slice(&head.to_ne_bytes());
        out[len - 4..len].copy_from_slice(&tail.to_ne_bytes());
    } else {
        out[..len].iter_mut().zip(bytes).for_each(|(o, &b)| *o = b);
    }
    line.truncate(old + len);
}

/// `N` bytes of `bytes` from `at` (the callers check the length).
#[inline(always)]
fn array<const N: usize>(bytes: &[u8], at: usize) -> [u8; N] {
    let mut out = [0; N];
    out.copy_from_slice(&bytes[at..at + N]);
    out
}

/// The high bit of each byte of `word` (little-endian) that is CR or LF, exact up to and
/// including the lowest such byte (the classic zero-byte test: a borrow may mark bytes above a
/// true match, never below one). Bytes 0 (the zero-extended upper half of a 4-byte word) are
/// neither.
#[inline(always)]
fn line_end_bytes(word: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let zero_bytes = |x: u64| x.wrapping_sub(ONES) & !x & HIGH;
    zero_bytes(word ^ (ONES * u64::from(b'\n'))) | zero_bytes(word ^ (ONES * u64::from(b'\r')))
}

/// [`line_ends`] in safe code, for targets without the SIMD path.
#[cfg(any(not(target_arch = "x86_64"), test))]
#[inline]
fn line_ends_memchr(bytes: &[u8]) -> u64 {
    let block = &bytes[..bytes.len().min(64)];
    memchr::memchr2_iter(b'\r', b'\n', block).fold(0, |mask, k| mask | 1 << k)
}

#[cfg(target_arch = "x86_64")]
mod sse2 {
    use core::arch::x86_64::{
        __m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_or_si128, _mm_set1_epi8,
    };

    /// The CR/LF bitmap of `bytes[i..i + 16]`, in the low 16 bits.
    ///
    /// # Panics
    ///
    /// If `i + 16 > bytes.len()` (an invariant the callers keep: the check is optimised away
    /// where they inline it).
    #[inline(always)]
    fn vector(bytes: &[u8], i: usize) -> u64 {
        let Some(v) = bytes.get(i..i + 16) else {
            unreachable!("callers load only whole vectors");
        };
        // SAFETY: `v` is 16 readable bytes (the slice `bytes[i..i + 16]` exists), and
        // `_mm_loadu_si128` reads exactly 16 bytes through the pointer, with no alignment
        // requirement; the pointer is not kept past this block. The other intrinsics work on
        // values only. SSE2, the only instruction set used, is part of the x86_64 baseline, so
        // the CPU has every instruction called here.
        let bits = unsafe {
            let v = _mm_loadu_si128(v.as_ptr().cast::<__m128i>());
            let cr = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'\r' as i8));
            let lf = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'\n' as i8));
            _mm_movemask_epi8(_mm_or_si128(cr, lf))
        };
        // `movemask` sets the low 16 bits only.
        u64::from(bits as u16)
    }

    /// [`super::line_ends`] for `bytes.len() >= 16`.
    #[inline(always)]
    pub(super) fn line_ends(bytes: &[u8]) -> u64 {
        debug_assert!(bytes.len() >= 16);
        if bytes.len() >= 64 {
            return vector(bytes, 0)
                | vector(bytes, 16) << 16
                | vector(bytes, 32) << 32
                | vector(bytes, 48) << 48;
        }
        let len = bytes.len();
        let mut mask = 0;
        let mut i = 0;
        while i + 16 <= len {
            mask |= vector(bytes, i) << i;
            i += 16;
        }
        if i < len {
            // The last, partial vector: the 16 bytes that end the span, overlapping the last
            // whole one.
            mask |= vector(bytes, len - 16) << (len - 16);
        }
        mask
    }
}

#[cfg(test)]
mod tests {
    use super::{append_short, line_ends, line_ends_bytewise, line_ends_memchr, short_line_end};
    use alloc::vec::Vec;
    use proptest::prelude::*;

    /// Every length from 0 to 80 (every tail length past 16 and 64) at every alignment, with
    /// CR and LF in every position, and bytes that differ from them by one bit.
    #[test]
    fn every_length_and_offset_matches_the_reference() {
        let pattern: Vec<u8> = (0..200u32)
            .map(|i| match (i * 7 + i / 3) % 11 {
                0 => b'\r',
                1 => b'\n',
                2 => 0x8D,
                3 => 0x8A,
                4 => 0x0B,
                5 => 0x0C,
                _ => b'a' + (i % 26) as u8,
            })
            .collect();
        for start in 0..64 {
            for len in 0..=80 {
                let bytes = &pattern[start..start + len];
                assert_eq!(line_ends(bytes), line_ends_bytewise(bytes), "{start} {len}");
                assert_eq!(line_ends_memchr(bytes), line_ends_bytewise(bytes));
            }
        }
        // A single line end in each position of a 64-byte block.
        for at in 0..64 {
            for byte in [b'\r', b'\n'] {
                let mut block = [b'x'; 70];
                block[at] = byte;
                assert_eq!(line_ends(&block), 1 << at);
                assert_eq!(line_ends(&block[..at + 1]), 1 << at);
            }
        }
        // Short spans: every length under 16, at every offset of the pattern, with line ends
        // in every position alone and after bytes that differ from them by one bit.
        let first = |bytes: &[u8]| bytes.iter().position(|&b| b == b'\n' || b == b'\r');
        for start in 0..100 {
            for len in 0..16 {
                let bytes = &pattern[start..start + len];
                assert_eq!(short_line_end(bytes), first(bytes), "{start} {len}");
            }
        }
        for len in 1..16 {
            for at in 0..len {
                for byte in [b'\r', b'\n'] {
                    for fill in [b'x', 0x8D, 0x8A, 0x0B, 0x0C, 0, 0xFF] {
                        let mut span = [fill; 15];
                        span[at] = byte;
                        assert_eq!(short_line_end(&span[..len]), Some(at), "{len} {at} {fill}");
                        span[..at].fill(byte);
                        assert_eq!(short_line_end(&span[..len]), first(&span[..len]));
                    }
                }
            }
            assert_eq!(short_line_end(&[b'y'; 15][..len]), None);
        }
        // Appending a short span: every length under 16, onto lines of every length 0-20.
        for prefix in 0..=20 {
            for len in 0..16 {
                let span = &pattern[len * 3..len * 4];
                let mut line: Vec<u8> = pattern[100..100 + prefix].to_vec();
                append_short(&mut line, span);
                let mut expected = pattern[100..100 + prefix].to_vec();
                expected.extend_from_slice(span);
                assert_eq!(line, expected, "{prefix} {len}");
            }
        }
        assert_eq!(line_ends(&[b'\n'; 64]), u64::MAX);
        assert_eq!(line_ends(&[b'\r'; 100]), u64::MAX);
        assert_eq!(line_ends(&[0xFF; 64]), 0);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4000))]

        /// Random bytes (line ends frequent), a random offset and length into them.
        #[test]
        fn simd_matches_the_reference(
            bytes in prop::collection::vec(
                prop_oneof![Just(b'\r'), Just(b'\n'), any::<u8>(), any::<u8>(), any::<u8>()],
                0..200,
            ),
            start in 0usize..200,
            len in 0usize..200,
        ) {
            let start = start.min(bytes.len());
            let end = (start + len).min(bytes.len());
            let span = &bytes[start..end];
            prop_assert_eq!(line_ends(span), line_ends_bytewise(span));
            prop_assert_eq!(line_ends_memchr(span), line_ends_bytewise(span));
            let short = &span[..span.len().min(15)];
            prop_assert_eq!(
                short_line_end(short),
                short.iter().position(|&b| b == b'\n' || b == b'\r')
            );
        }
    }
}
