//! The tasks writer's sort of its runs into `task_runs`' key order (shift id, first task) with a
//! fixed memory budget: runs are kept back to back in one buffer; a full buffer is sorted and
//! appended to a spill file as one sorted chunk; at the end the chunks are merged (one pass, any
//! number of chunks). An export whose runs fit in the buffer never touches the disk.
//!
//! This replaces staging the runs in a temporary SQLite table and `INSERT ... ORDER BY`: that
//! wrote every run three times more (the table, SQLite's sorted runs, and its intermediate merge
//! beyond 16 of them) through SQLite's row machinery.
//!
//! Keys compare as SQLite's BINARY collation does: the shift id's UTF-8 bytes (a prefix first),
//! then the first task's number (unique, so the order is total and the output deterministic).

use crate::error::{Error, Result};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// Bytes of runs kept in memory before a chunk is sorted and spilled (the temporary table's page
/// cache it replaces was 2 MB; SQLite's sorter then kept 4 MB).
pub const BUDGET: usize = 2 << 20;

/// Bytes of read buffers shared by the chunks while merging (each at least [`MIN_READ`]).
const READ_BUDGET: usize = 2 << 20;
const MIN_READ: usize = 8 << 10;

/// One run, as the tasks writer closes it and as `task_runs` stores it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunRec<'a> {
    pub shift_id: &'a str,
    pub first: i64,
    pub file_id: i64,
    pub line_offset: i64,
    pub id_offset: i64,
    pub start: i64,
    pub fmt: i64,
    pub tasks: &'a str,
    /// The run's packed task ids, 16 bytes each (see `stage::TASKS_SCHEMA`).
    pub packed: &'a [u8],
}

/// Record layout, after a `u32` length of the rest: `u32` length of the shift id, its bytes, `first`
/// as 8 bytes little-endian, `file_id`, `line_offset`, `id_offset`, `start`, `fmt` and the packed
/// ids' length as zigzag LEB128 varints, then the tasks' text, then the packed ids.
fn encode(out: &mut Vec<u8>, r: &RunRec<'_>) {
    let at = out.len();
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(&(r.shift_id.len() as u32).to_le_bytes());
    out.extend_from_slice(r.shift_id.as_bytes());
    out.extend_from_slice(&r.first.to_le_bytes());
    let packed = r.packed.len() as i64;
    for v in [
        r.file_id,
        r.line_offset,
        r.id_offset,
        r.start,
        r.fmt,
        packed,
    ] {
        let mut z = ((v << 1) ^ (v >> 63)) as u64;
        while z >= 0x80 {
            out.push(z as u8 | 0x80);
            z >>= 7;
        }
        out.push(z as u8);
    }
    out.extend_from_slice(r.tasks.as_bytes());
    out.extend_from_slice(r.packed);
    let len = (out.len() - at - 4) as u32;
    out[at..at + 4].copy_from_slice(&len.to_le_bytes());
}

fn corrupt() -> Error {
    Error::failure(
        "extract's sorted runs of tasks are corrupt (its spill file was changed or cut while it ran)",
        Some("run `zd2gc extract` again".into()),
    )
}

/// The key of a record (without its length prefix): shift id bytes and first task.
fn key(rec: &[u8]) -> (&[u8], i64) {
    let n = u32::from_le_bytes(rec[0..4].try_into().expect("4 bytes")) as usize;
    let first = i64::from_le_bytes(rec[4 + n..12 + n].try_into().expect("8 bytes"));
    (&rec[4..4 + n], first)
}

/// The first 8 bytes of a shift id, big-endian, zero-padded: ordered as the ids are wherever they
/// differ (a shorter id's padding zeros sort first, as its being a prefix does), so most comparisons
/// of UUID ids are one of integers; equal prefixes fall back to the whole key.
fn prefix(id: &[u8]) -> u64 {
    let mut b = [0u8; 8];
    let n = id.len().min(8);
    b[..n].copy_from_slice(&id[..n]);
    u64::from_be_bytes(b)
}

/// Decode a record (without its length prefix).
pub fn decode(rec: &[u8]) -> Result<RunRec<'_>> {
    let n = u32::from_le_bytes(rec.get(0..4).ok_or_else(corrupt)?.try_into().expect("4"));
    let n = n as usize;
    let shift_id =
        std::str::from_utf8(rec.get(4..4 + n).ok_or_else(corrupt)?).map_err(|_| corrupt())?;
    let first = i64::from_le_bytes(
        rec.get(4 + n..12 + n)
            .ok_or_else(corrupt)?
            .try_into()
            .expect("8"),
    );
    let mut at = 12 + n;
    let mut vals = [0i64; 6];
    for v in &mut vals {
        let mut z = 0u64;
        let mut shift = 0;
        loop {
            let b = *rec.get(at).ok_or_else(corrupt)?;
            at += 1;
            if shift > 63 {
                return Err(corrupt());
            }
            z |= u64::from(b & 0x7f) << shift;
            shift += 7;
            if b < 0x80 {
                break;
            }
        }
        *v = (z >> 1) as i64 ^ -((z & 1) as i64);
    }
    let packed_at = usize::try_from(vals[5])
        .ok()
        .and_then(|n| rec.len().checked_sub(n))
        .filter(|&p| p >= at)
        .ok_or_else(corrupt)?;
    let tasks = std::str::from_utf8(&rec[at..packed_at]).map_err(|_| corrupt())?;
    Ok(RunRec {
        shift_id,
        first,
        file_id: vals[0],
        line_offset: vals[1],
        id_offset: vals[2],
        start: vals[3],
        fmt: vals[4],
        tasks,
        packed: &rec[packed_at..],
    })
}

/// The runs being sorted (see the module's comment).
pub struct RunSorter {
    budget: usize,
    /// Records of the chunk being filled, each with its length prefix.
    arena: Vec<u8>,
    /// Each record of the arena: its shift id's [`prefix`] and where it starts.
    starts: Vec<(u64, usize)>,
    /// The spill file (created on the first spill, removed on drop).
    path: PathBuf,
    spill: Option<std::io::BufWriter<std::fs::File>>,
    /// Each sorted chunk's (offset, length) in the spill file.
    chunks: Vec<(u64, u64)>,
    spilled: u64,
}

impl RunSorter {
    /// A sorter that spills to `path` (created only if needed, owner-only) past `budget` bytes.
    pub fn new(path: PathBuf, budget: usize) -> RunSorter {
        RunSorter {
            budget,
            arena: Vec::new(),
            starts: Vec::new(),
            path,
            spill: None,
            chunks: Vec::new(),
            spilled: 0,
        }
    }

    pub fn push(&mut self, r: &RunRec<'_>) -> Result<()> {
        self.starts
            .push((prefix(r.shift_id.as_bytes()), self.arena.len()));
        encode(&mut self.arena, r);
        if self.arena.len() + self.starts.len() * std::mem::size_of::<(u64, usize)>() >= self.budget
        {
            self.spill_chunk()?;
        }
        Ok(())
    }

    /// Sort the arena's records by key (their start offsets): by prefix, the whole keys only
    /// where prefixes are equal (for UUID shift ids the 36-byte compares were most of the tasks
    /// writer's sort).
    fn sort(&mut self) {
        let arena = &self.arena;
        self.starts.sort_unstable_by(|&(pa, a), &(pb, b)| {
            pa.cmp(&pb)
                .then_with(|| key(&arena[a + 4..]).cmp(&key(&arena[b + 4..])))
        });
    }

    fn record(arena: &[u8], start: usize) -> &[u8] {
        let n = u32::from_le_bytes(arena[start..start + 4].try_into().expect("4")) as usize;
        &arena[start..start + 4 + n]
    }

    fn spill_chunk(&mut self) -> Result<()> {
        if self.starts.is_empty() {
            return Ok(());
        }
        self.sort();
        if self.spill.is_none() {
            let f = std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(true)
                .open(&self.path)
                .map_err(|e| Error::io(&self.path, e))?;
            crate::store::restrict_permissions(&self.path);
            self.spill = Some(std::io::BufWriter::with_capacity(64 << 10, f));
        }
        let w = self.spill.as_mut().expect("spill file");
        let from = self.spilled;
        for &(_, s) in &self.starts {
            let rec = Self::record(&self.arena, s);
            w.write_all(rec).map_err(|e| Error::io(&self.path, e))?;
            self.spilled += rec.len() as u64;
        }
        self.chunks.push((from, self.spilled - from));
        self.arena.clear();
        self.starts.clear();
        Ok(())
    }

    /// Hand every run to `each` in key order (each record's bytes without their length prefix;
    /// see [`decode`]).
    pub fn finish(mut self, mut each: impl FnMut(&[u8]) -> Result<()>) -> Result<()> {
        if self.chunks.is_empty() {
            self.sort();
            for &(_, s) in &self.starts {
                each(&Self::record(&self.arena, s)[4..])?;
            }
            return Ok(());
        }
        self.spill_chunk()?;
        self.arena = Vec::new();
        self.starts = Vec::new();
        let w = self.spill.take().expect("spilled");
        let mut f = w
            .into_inner()
            .map_err(|e| Error::io(&self.path, e.into_error()))?;
        let buf = (READ_BUDGET / self.chunks.len()).max(MIN_READ);
        let mut cursors: Vec<Cursor> = self
            .chunks
            .iter()
            .map(|&(pos, left)| Cursor {
                buf: vec![0; buf],
                lo: 0,
                hi: 0,
                pos,
                left,
            })
            .collect();
        let mut heap: Vec<usize> = Vec::with_capacity(cursors.len());
        for (i, c) in cursors.iter_mut().enumerate() {
            if c.fill(&mut f, &self.path)? {
                heap.push(i);
            }
        }
        heapify(&mut heap, &cursors);
        while let Some(&top) = heap.first() {
            each(cursors[top].rec())?;
            cursors[top].advance();
            if !cursors[top].fill(&mut f, &self.path)? {
                heap.swap_remove(0);
            }
            sift_down(&mut heap, &cursors, 0);
        }
        Ok(())
    }
}

impl Default for RunSorter {
    /// A sorter that never spills (until given a path with [`RunSorter::new`]).
    fn default() -> RunSorter {
        RunSorter::new(PathBuf::new(), usize::MAX)
    }
}

impl Drop for RunSorter {
    fn drop(&mut self) {
        if self.spill.is_some() || !self.chunks.is_empty() {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// One sorted chunk of the spill file being read.
struct Cursor {
    buf: Vec<u8>,
    /// The unread records are `buf[lo..hi]`.
    lo: usize,
    hi: usize,
    /// Where the chunk's unread bytes start in the file, and how many there are.
    pos: u64,
    left: u64,
}

impl Cursor {
    /// Make the next record whole in the buffer; false when the chunk is done.
    fn fill(&mut self, f: &mut std::fs::File, path: &Path) -> Result<bool> {
        loop {
            let avail = self.hi - self.lo;
            if avail >= 4 {
                let n =
                    4 + u32::from_le_bytes(self.buf[self.lo..self.lo + 4].try_into().expect("4"))
                        as usize;
                if avail >= n {
                    return Ok(true);
                }
                if n > self.buf.len() {
                    self.buf.resize(n, 0);
                }
            } else if avail == 0 && self.left == 0 {
                return Ok(false);
            }
            if self.left == 0 {
                return Err(corrupt());
            }
            self.buf.copy_within(self.lo..self.hi, 0);
            self.hi -= self.lo;
            self.lo = 0;
            let want = ((self.buf.len() - self.hi) as u64).min(self.left) as usize;
            f.seek(SeekFrom::Start(self.pos))
                .and_then(|_| f.read_exact(&mut self.buf[self.hi..self.hi + want]))
                .map_err(|e| Error::io(path, e))?;
            self.pos += want as u64;
            self.left -= want as u64;
            self.hi += want;
        }
    }

    /// The current record, without its length prefix (after a `fill` that returned true).
    fn rec(&self) -> &[u8] {
        let n = u32::from_le_bytes(self.buf[self.lo..self.lo + 4].try_into().expect("4")) as usize;
        &self.buf[self.lo + 4..self.lo + 4 + n]
    }

    fn advance(&mut self) {
        let n = u32::from_le_bytes(self.buf[self.lo..self.lo + 4].try_into().expect("4")) as usize;
        self.lo += 4 + n;
    }
}

fn less(cursors: &[Cursor], a: usize, b: usize) -> bool {
    key(cursors[a].rec()) < key(cursors[b].rec())
}

fn sift_down(heap: &mut [usize], cursors: &[Cursor], mut i: usize) {
    loop {
        let (l, r) = (2 * i + 1, 2 * i + 2);
        let mut m = i;
        if l < heap.len() && less(cursors, heap[l], heap[m]) {
            m = l;
        }
        if r < heap.len() && less(cursors, heap[r], heap[m]) {
            m = r;
        }
        if m == i {
            return;
        }
        heap.swap(i, m);
        i = m;
    }
}

fn heapify(heap: &mut [usize], cursors: &[Cursor]) {
    for i in (0..heap.len() / 2).rev() {
        sift_down(heap, cursors, i);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs with shared prefixes, non-ASCII ids, ids repeated across chunks, extreme numbers and a
    /// few texts longer than a chunk's read buffer; sorted with a budget small enough to spill many
    /// chunks, and without spilling: both give back exactly what a plain sort of the owned values
    /// gives (the oracle), and the spill file is gone afterwards.
    #[test]
    fn runs_come_back_in_key_order_whatever_the_chunks() {
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut rnd = move |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        };
        let ids = [
            "S1",
            "S10",
            "S2",
            "S1é",
            "S1\u{301}",
            "É1",
            "s1",
            "S",
            "~",
            "S100",
            // Longer than a prefix, equal in their first 8 bytes (NULs among them), and UUIDs.
            "abcdefgh",
            "abcdefgh\0",
            "abcdefgh\0\0x",
            "abcdefghi",
            "abcdefg",
            "abcdefg\0",
            "\0",
            "",
            "ad4d219a-b163-4fd6-a52a-b1c3bbafacfc",
            "ad4d219a-b163-4fd6-a52a-b1c3bbafacfd",
            "ad4d219a-0163-4fd6-a52a-b1c3bbafacfc",
            "89680f48-6921-4580-84e2-aacc4c009c0e",
        ];
        /// shift id, first, file id, line offset, id offset, start, fmt, tasks, packed ids.
        type Owned = (String, i64, i64, i64, i64, i64, i64, String, Vec<u8>);
        let mut runs: Vec<Owned> = Vec::new();
        for first in 1..=3000i64 {
            let shift = format!("{}{}", ids[rnd(ids.len() as u64) as usize], rnd(40));
            let len = if rnd(200) == 0 {
                20_000
            } else {
                rnd(60) as usize
            };
            let tasks: String = (0..len)
                .map(|i| if i % 7 == 6 { ';' } else { 'x' })
                .collect();
            let big = [i64::MIN, i64::MAX, -1, 0, 1 << 40];
            // Packed ids (any bytes, NUL and `;` among them) for some runs, none for others.
            let packed: Vec<u8> = (0..16 * rnd(4)).map(|_| rnd(256) as u8).collect();
            runs.push((
                shift,
                first * 3,
                rnd(3) as i64 + 1,
                big[rnd(5) as usize],
                -(rnd(1000) as i64),
                big[rnd(5) as usize],
                rnd(0x300) as i64,
                tasks,
                packed,
            ));
        }
        let mut oracle = runs.clone();
        oracle.sort_by(|a, b| (a.0.as_bytes(), a.1).cmp(&(b.0.as_bytes(), b.1)));
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("spill");
        for budget in [1 << 10, 64 << 10, usize::MAX] {
            let mut s = RunSorter::new(path.clone(), budget);
            for r in &runs {
                s.push(&RunRec {
                    shift_id: &r.0,
                    first: r.1,
                    file_id: r.2,
                    line_offset: r.3,
                    id_offset: r.4,
                    start: r.5,
                    fmt: r.6,
                    tasks: &r.7,
                    packed: &r.8,
                })
                .unwrap();
            }
            let chunks = s.chunks.len();
            assert_eq!(
                chunks > 0,
                budget != usize::MAX,
                "budget {budget}: {chunks} chunks"
            );
            let mut got = Vec::new();
            s.finish(|rec| {
                let r = decode(rec)?;
                got.push((
                    r.shift_id.to_string(),
                    r.first,
                    r.file_id,
                    r.line_offset,
                    r.id_offset,
                    r.start,
                    r.fmt,
                    r.tasks.to_string(),
                    r.packed.to_vec(),
                ));
                Ok(())
            })
            .unwrap();
            assert!(
                got == oracle,
                "budget {budget} ({chunks} chunks): order or values differ"
            );
            assert!(!path.exists(), "spill file left behind");
        }
    }
}
