//! Physical lines, as `docs/export-format.md` defines them: CRLF, LF and a lone CR each end one
//! line, line ends inside a quoted field count too, and a record's line is 1 + the number of line
//! ends before its first byte. Every `file:line` zd2gc shows or stores comes from here.
//!
//! Extract counts line ends in the same pass that hands the bytes to the CSV reader
//! ([`Counting`]), so finding a record's line costs no second read of the file.

use std::collections::VecDeque;
use std::io::{BufRead, Read};

/// One line end: where its terminator starts and where the next line starts.
#[derive(Debug, Clone, Copy)]
struct End {
    term_start: u64,
    next_start: u64,
}

/// The line ends seen so far in a byte stream, answering "which line holds the record whose
/// reading started at byte `offset`" for increasing offsets. Memory: the line ends not yet asked
/// about (at most a reader's buffer ahead).
#[derive(Debug, Default)]
pub struct LineIndex {
    ends: VecDeque<End>,
    /// Line ends already passed by a query.
    passed: u64,
    /// Bytes fed so far.
    pos: u64,
    /// A CR at this offset was the last byte fed: its line end is known when the next byte is.
    pending_cr: Option<u64>,
}

impl LineIndex {
    pub fn new() -> Self {
        Self::default()
    }

    /// Account for the next bytes of the stream.
    pub fn feed(&mut self, buf: &[u8]) {
        let base = self.pos;
        let mut from = 0usize;
        if let Some(cr) = self.pending_cr.take() {
            match buf.first() {
                None => {
                    self.pending_cr = Some(cr);
                    return;
                }
                Some(b'\n') => {
                    self.ends.push_back(End {
                        term_start: cr,
                        next_start: cr + 2,
                    });
                    from = 1;
                }
                Some(_) => self.ends.push_back(End {
                    term_start: cr,
                    next_start: cr + 1,
                }),
            }
        }
        for i in memchr::memchr2_iter(b'\r', b'\n', &buf[from..]).map(|i| i + from) {
            let at = base + i as u64;
            if buf[i] == b'\n' {
                // A LF right after a CR was taken with that CR.
                if i > from && buf[i - 1] == b'\r' {
                    continue;
                }
                self.ends.push_back(End {
                    term_start: at,
                    next_start: at + 1,
                });
            } else if i + 1 < buf.len() {
                let next = if buf[i + 1] == b'\n' { at + 2 } else { at + 1 };
                self.ends.push_back(End {
                    term_start: at,
                    next_start: next,
                });
            } else {
                self.pending_cr = Some(at);
            }
        }
        self.pos += buf.len() as u64;
    }

    /// The end of the stream: a trailing CR is a line end.
    pub fn finish(&mut self) {
        if let Some(cr) = self.pending_cr.take() {
            self.ends.push_back(End {
                term_start: cr,
                next_start: cr + 1,
            });
        }
    }

    /// The physical line of the first record byte at or after `offset`, skipping the line ends
    /// that start there (the rest of a CRLF whose CR ended the previous record, and blank lines,
    /// which CSV readers skip). Offsets must not decrease from one call to the next.
    pub fn line_at(&mut self, offset: u64) -> u64 {
        if self.pending_cr.is_some_and(|cr| cr < offset) {
            self.finish();
        }
        while self.ends.front().is_some_and(|e| e.next_start <= offset) {
            self.ends.pop_front();
            self.passed += 1;
        }
        let mut cur = offset;
        let mut extra = 0;
        for e in &self.ends {
            if !(e.term_start <= cur && cur < e.next_start) {
                break;
            }
            cur = e.next_start;
            extra += 1;
        }
        self.passed + extra + 1
    }
}

/// A reader that counts line ends in the bytes it passes on.
pub struct Counting<R> {
    pub inner: R,
    pub index: LineIndex,
}

impl<R> Counting<R> {
    pub fn new(inner: R) -> Self {
        Counting {
            inner,
            index: LineIndex::new(),
        }
    }
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n == 0 {
            self.index.finish();
        } else {
            self.index.feed(&buf[..n]);
        }
        Ok(n)
    }
}

/// Read one physical line of at most `max` bytes into `buf`, without its line end (CRLF, LF or a
/// lone CR). Returns `None` at the end, else whether the line was longer than `max` (then `buf`
/// holds its first `max` bytes and the rest was skipped).
pub fn read_line_bounded<R: BufRead>(
    r: &mut R,
    buf: &mut Vec<u8>,
    max: usize,
) -> std::io::Result<Option<bool>> {
    buf.clear();
    let mut over = false;
    let mut any = false;
    loop {
        let avail = r.fill_buf()?;
        if avail.is_empty() {
            return Ok(any.then_some(over));
        }
        any = true;
        let (chunk, end) = match memchr::memchr2(b'\r', b'\n', avail) {
            Some(i) => (&avail[..i], Some((i, avail[i]))),
            None => (avail, None),
        };
        let room = max.saturating_sub(buf.len());
        if chunk.len() > room {
            over = true;
        }
        buf.extend_from_slice(&chunk[..chunk.len().min(room)]);
        match end {
            None => {
                let n = avail.len();
                r.consume(n);
            }
            Some((i, b'\n')) => {
                r.consume(i + 1);
                return Ok(Some(over));
            }
            Some((i, _)) => {
                // A CR: one line end, with the LF that may follow it (maybe in the next buffer).
                r.consume(i + 1);
                if r.fill_buf()?.first() == Some(&b'\n') {
                    r.consume(1);
                }
                return Ok(Some(over));
            }
        }
    }
}

/// The physical lines of a text, without their line ends (CRLF, LF or a lone CR).
pub fn split(text: &str) -> Vec<&str> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while let Some(j) = memchr::memchr2(b'\r', b'\n', &b[i..]).map(|j| j + i) {
        out.push(&text[start..j]);
        i = if b[j] == b'\r' && b.get(j + 1) == Some(&b'\n') {
            j + 2
        } else {
            j + 1
        };
        start = i;
    }
    if start < b.len() {
        out.push(&text[start..]);
    }
    out
}

/// The physical line of the byte at `offset` of a whole text.
pub fn line_of(bytes: &[u8], offset: usize) -> u64 {
    let mut ix = LineIndex::new();
    ix.feed(&bytes[..offset.min(bytes.len())]);
    ix.finish();
    ix.line_at(offset as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_ends_of_every_style() {
        let text = b"h\r\na\nb\rc\r\n\r\nd";
        for split in 0..=text.len() {
            let mut ix = LineIndex::new();
            ix.feed(&text[..split]);
            ix.feed(&text[split..]);
            ix.finish();
            // "a" starts at 3, "b" at 5, "c" at 7, the blank line at 10, "d" at 12.
            assert_eq!(ix.line_at(3), 2, "split {split}");
            assert_eq!(ix.line_at(5), 3);
            assert_eq!(ix.line_at(7), 4);
            // The csv crate starts the next record at the LF of a CRLF.
            assert_eq!(ix.line_at(9), 6, "blank line skipped, split {split}");
            assert_eq!(ix.line_at(12), 6);
        }
    }

    #[test]
    fn reads_lines_on_every_line_end() {
        let text = b"a\r\nb\rc\n\rd";
        let mut r = std::io::BufReader::with_capacity(2, &text[..]);
        let mut buf = Vec::new();
        let mut got = Vec::new();
        while read_line_bounded(&mut r, &mut buf, 100).unwrap().is_some() {
            got.push(String::from_utf8(buf.clone()).unwrap());
        }
        assert_eq!(got, ["a", "b", "c", "", "d"]);
        assert_eq!(
            split(std::str::from_utf8(text).unwrap()),
            ["a", "b", "c", "", "d"]
        );
        assert_eq!(split("a\n"), ["a"]);
    }
}
