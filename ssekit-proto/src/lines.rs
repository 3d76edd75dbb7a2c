//! Splitting text on CR, LF and CRLF, the three line ends of the event stream format.

/// Iterator over the lines of a byte string, split on CR, LF and CRLF.
///
/// Always yields at least one line: `""` yields `[""]`, `"a\n"` yields `["a", ""]`. This is the
/// inverse of joining with LF, which is what a parser does with `data:` lines.
pub(crate) struct Lines<'a> {
    rest: Option<&'a [u8]>,
}

impl<'a> Lines<'a> {
    #[inline]
    pub(crate) fn new(text: &'a [u8]) -> Self {
        Lines { rest: Some(text) }
    }
}

impl<'a> Iterator for Lines<'a> {
    type Item = &'a [u8];

    #[inline]
    fn next(&mut self) -> Option<&'a [u8]> {
        let rest = self.rest?;
        match memchr::memchr2(b'\r', b'\n', rest) {
            None => {
                self.rest = None;
                Some(rest)
            }
            Some(i) => {
                let end = if rest[i] == b'\r' && rest.get(i + 1) == Some(&b'\n') {
                    i + 2
                } else {
                    i + 1
                };
                self.rest = Some(&rest[end..]);
                Some(&rest[..i])
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Lines;
    use alloc::vec::Vec;

    fn split(s: &str) -> Vec<&[u8]> {
        Lines::new(s.as_bytes()).collect()
    }

    #[test]
    fn splits_on_all_line_ends() {
        assert_eq!(split(""), [b""]);
        assert_eq!(split("a"), [b"a"]);
        assert_eq!(split("a\nb"), [&b"a"[..], b"b"]);
        assert_eq!(split("a\r\nb\rc\n"), [&b"a"[..], b"b", b"c", b""]);
        assert_eq!(split("\r\r\n\n"), [&b""[..], b"", b"", b""]);
    }
}
