//! The snapshot's shifts in shift-id order, as map and validate read them: by (shift id, rowid),
//! shift ids compared byte by byte (SQLite's BINARY collation; Rust's `str` order is the same),
//! the rows of one id in file order.
//!
//! Extract records the ascending runs of shift ids in file (rowid) order: a run ends where an id is
//! less than the one before it ([`RunTracker`]; `snapshot_meta` keys [`RUNS_META`], their number,
//! and [`RUN_ROWS_META`], their rowid ranges when there are at most [`RUNS_KEPT`]). A reader
//! ([`ShiftsById`]) then takes one of three ways ([`Way`]), which give the same rows in the same
//! order and differ only in cost:
//! - **merge** (at most [`MERGE_MAX`] runs): one scan of each run's rowid range, merged in Rust
//!   (a heap keyed by (shift id, run)); every page is read once, in order, no index seek. Short
//!   ids written in file order (`S1`, `S2`, …, unpadded) make one run per digit count: 7 runs at
//!   1.3 M shifts.
//! - **sort** (more runs: ids in no order, such as UUIDs): SQLite sorts the table's rows
//!   (`NOT INDEXED ORDER BY shift_id, rowid`), spilling to a temporary file (the connection's
//!   `temp_store` is set to FILE), instead of a table look-up per row through `shifts_by_id`, a
//!   random page read per row.
//! - **walk** (a snapshot written before the runs were recorded): the `shifts_by_id` index with a
//!   table look-up per row, as before.

use crate::error::{Error, Result};
use rusqlite::fallible_streaming_iterator::FallibleStreamingIterator;
use rusqlite::{Connection, OptionalExtension, Row, Rows, Statement};
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::collections::binary_heap::PeekMut;

/// `snapshot_meta` key: the number of ascending runs of shift ids in file order.
pub const RUNS_META: &str = "shift_id_runs";
/// `snapshot_meta` key: the runs' rowid ranges, `FIRST-LAST` separated by spaces (only when there
/// are at most [`RUNS_KEPT`] runs).
pub const RUN_ROWS_META: &str = "shift_id_run_rows";
/// The most runs whose ranges extract records (a few kB of text).
pub const RUNS_KEPT: usize = 1024;
/// The most runs a reader merges; beyond, it sorts. Each run holds a cursor and its current leaf
/// page in the 4 MB page cache (256 pages of 16 KiB). Measured on the short-id export of 1.3 M
/// shifts, its 7 runs cut into more (shared machine, CPU s map re-run / validate, peak RSS MB):
/// 7 runs 4.05-4.09 / 3.29-3.41, 56-57; 63: 3.82-4.08 / 3.27-3.39, 56-58; 255: 3.90-4.07 /
/// 3.40-3.45, 58-60; 1024: 4.23-4.31 / 3.52-3.58, 76-91 (the pinned pages outgrow the cache);
/// SQLite's sort of the same snapshot: 4.13-4.28 / 4.01-4.07, 60-63.
pub const MERGE_MAX: usize = 64;

/// The ascending runs of shift ids, tracked while the shifts are staged in rowid order (rowids
/// 1, 2, … in insertion order: the table is new and only appended to).
#[derive(Default)]
pub struct RunTracker {
    rows: i64,
    prev: String,
    runs: u64,
    /// The first rowid of each run, up to [`RUNS_KEPT`] of them.
    starts: Vec<i64>,
}

impl RunTracker {
    /// The next shift staged (rowid one more than the last).
    pub fn push(&mut self, shift_id: &str) {
        self.rows += 1;
        if self.rows == 1 || shift_id < self.prev.as_str() {
            self.runs += 1;
            if self.starts.len() < RUNS_KEPT {
                self.starts.push(self.rows);
            }
        }
        self.prev.clear();
        self.prev.push_str(shift_id);
    }

    /// The shifts pushed so far.
    pub fn rows(&self) -> i64 {
        self.rows
    }

    /// The `snapshot_meta` rows to record.
    pub fn meta(&self) -> Vec<(&'static str, String)> {
        let mut out = vec![(RUNS_META, self.runs.to_string())];
        if self.runs as usize <= RUNS_KEPT {
            let ranges: Vec<String> = self
                .starts
                .iter()
                .enumerate()
                .map(|(k, &a)| {
                    let b = self.starts.get(k + 1).map_or(self.rows, |n| n - 1);
                    format!("{a}-{b}")
                })
                .collect();
            out.push((RUN_ROWS_META, ranges.join(" ")));
        }
        out
    }
}

/// How a reader goes through the shifts in shift-id order (see the module's comment).
#[derive(Debug, Clone, PartialEq)]
pub enum Way {
    Walk,
    /// The runs' rowid ranges, in rowid order.
    Merge(Vec<(i64, i64)>),
    Sort,
}

/// The way for this snapshot: merge at most [`MERGE_MAX`] runs, sort more, walk the index when
/// the snapshot has no runs recorded (or unreadable ones).
pub fn way(snap: &Connection) -> Result<Way> {
    let meta = |k: &str| -> Result<Option<String>> {
        Ok(snap
            .query_row("SELECT value FROM snapshot_meta WHERE key = ?1", [k], |r| {
                r.get(0)
            })
            .optional()?)
    };
    let Some(runs) = meta(RUNS_META)?.and_then(|n| n.parse::<usize>().ok()) else {
        return Ok(Way::Walk);
    };
    if runs > MERGE_MAX {
        return Ok(Way::Sort);
    }
    let Some(text) = meta(RUN_ROWS_META)? else {
        return Ok(Way::Walk);
    };
    let ranges: Option<Vec<(i64, i64)>> = text
        .split_whitespace()
        .map(|r| {
            let (a, b) = r.split_once('-')?;
            Some((a.parse().ok()?, b.parse().ok()?))
        })
        .collect();
    Ok(match ranges {
        Some(r) if r.len() == runs => Way::Merge(r),
        _ => Way::Walk,
    })
}

/// The sort way's first key: the shift id as TEXT, the same bytes in the same order as the id
/// stored (text, or 16 packed bytes: `CAST` to TEXT changes a BLOB's type, not its bytes, and
/// BINARY text compares as blobs do, by `memcmp` then length). SQLite's sorter compares records
/// whose first key is TEXT in every row with `memcmp` (`vdbeSorterCompareText`) and unpacks
/// both records (`vdbeSorterCompare`) only on a tie, when the key is a BLOB (packed ids) or when
/// the sorter holds 13 fields or more (`sqlite3VdbeSorterInit`: `nAllField < 13`, nAllField being
/// the ORDER BY terms + the result columns + 1): so a sorted read takes at most 9 columns.
pub const SORT_KEY: &str = "CAST(shift_id AS TEXT)";

/// The most columns a sorted read takes for its comparisons to stay `memcmp` (see [`SORT_KEY`]):
/// 2 ORDER BY terms + 9 + 1 = 12 fields.
pub const SORT_MAX_COLUMNS: usize = 9;

/// The statements of a read of the shifts in shift-id order ([`ShiftsById::query`] runs it).
pub struct ShiftsById<'c> {
    stmts: Vec<Statement<'c>>,
    ranges: Vec<(i64, i64)>,
    id_col: usize,
    merge: bool,
}

impl<'c> ShiftsById<'c> {
    /// Prepare `SELECT {columns} FROM shift_rows` in shift-id order, the way [`way`] chooses;
    /// `id_col` is the index of `shift_id` among `columns`.
    pub fn prepare(snap: &'c Connection, columns: &str, id_col: usize) -> Result<ShiftsById<'c>> {
        Self::prepare_way(snap, columns, id_col, way(snap)?)
    }

    /// [`ShiftsById::prepare`] with the way given.
    pub fn prepare_way(
        snap: &'c Connection,
        columns: &str,
        id_col: usize,
        way: Way,
    ) -> Result<ShiftsById<'c>> {
        let one = |sql: String| -> Result<ShiftsById<'c>> {
            Ok(ShiftsById {
                stmts: vec![snap.prepare(&sql)?],
                ranges: Vec::new(),
                id_col,
                merge: false,
            })
        };
        match way {
            Way::Walk => one(format!(
                "SELECT {columns} FROM shift_rows ORDER BY shift_id"
            )),
            Way::Sort => {
                // The sorter keeps at most a few MB in memory and spills the rest to a temporary
                // file; with temp_store MEMORY that "file" would be RAM (the whole table).
                snap.execute_batch("PRAGMA temp_store = FILE;")?;
                one(format!(
                    "SELECT {columns} FROM shift_rows NOT INDEXED ORDER BY {SORT_KEY}, rowid"
                ))
            }
            Way::Merge(ranges) => {
                let sql = format!(
                    "SELECT {columns} FROM shift_rows WHERE rowid BETWEEN ?1 AND ?2 ORDER BY rowid"
                );
                let stmts = ranges
                    .iter()
                    .map(|_| snap.prepare(&sql))
                    .collect::<rusqlite::Result<_>>()?;
                Ok(ShiftsById {
                    stmts,
                    ranges,
                    id_col,
                    merge: true,
                })
            }
        }
    }

    /// Start the read.
    pub fn query(&mut self) -> Result<ShiftRows<'_>> {
        let mut rows = Vec::with_capacity(self.stmts.len());
        if self.merge {
            for (st, &(a, b)) in self.stmts.iter_mut().zip(self.ranges.iter()) {
                rows.push(st.query([a, b])?);
            }
        } else {
            rows.push(self.stmts[0].query([])?);
        }
        Ok(ShiftRows {
            rows,
            heap: BinaryHeap::new(),
            started: false,
            merge: self.merge,
            ranges: &self.ranges,
            id_col: self.id_col,
        })
    }
}

/// A run's current row in the merge: its shift id's bytes as stored, then the run's number (runs
/// are in rowid order, so equal ids come out in rowid order). The table keeps every id as text or
/// every id packed ([`super::stage::shift_id_str`]), and either way compares byte by byte as the
/// texts do.
#[derive(PartialEq, Eq, PartialOrd, Ord)]
struct Head {
    id: Vec<u8>,
    run: usize,
}

/// The rows of a [`ShiftsById`] read, in (shift id, rowid) order.
pub struct ShiftRows<'s> {
    rows: Vec<Rows<'s>>,
    heap: BinaryHeap<Reverse<Head>>,
    started: bool,
    merge: bool,
    ranges: &'s [(i64, i64)],
    id_col: usize,
}

impl<'s> ShiftRows<'s> {
    /// The next row, `None` after the last (a row borrows the read, as rusqlite's `Rows::next`:
    /// not an `Iterator`).
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> Result<Option<&Row<'s>>> {
        if !self.merge {
            return Ok(self.rows[0].next()?);
        }
        if !self.started {
            self.started = true;
            for (run, rows) in self.rows.iter_mut().enumerate() {
                if let Some(r) = rows.next()? {
                    let id = shift_id(r, self.id_col)?.to_vec();
                    self.heap.push(Reverse(Head { id, run }));
                }
            }
        } else if let Some(mut top) = self.heap.peek_mut() {
            let run = top.0.run;
            let rows = &mut self.rows[run];
            rows.advance()?;
            match rows.get() {
                Some(r) => {
                    let id = shift_id(r, self.id_col)?;
                    if id < top.0.id.as_slice() {
                        let blob =
                            matches!(r.get_ref(self.id_col)?, rusqlite::types::ValueRef::Blob(_));
                        let text = |v: &[u8]| {
                            let mut buf = String::new();
                            match blob {
                                true => super::stage::shift_id_str(
                                    rusqlite::types::ValueRef::Blob(v),
                                    &mut buf,
                                )
                                .map(str::to_string)
                                .unwrap_or_default(),
                                false => String::from_utf8_lossy(v).into_owned(),
                            }
                        };
                        return Err(Error::failure(
                            format!(
                                "the snapshot's shift ids are not ascending in its run of rows {}-{}: `{}` after `{}`",
                                self.ranges[run].0,
                                self.ranges[run].1,
                                text(id),
                                text(&top.0.id)
                            ),
                            Some("run `zd2gc extract` again".into()),
                        ));
                    }
                    top.0.id.clear();
                    top.0.id.extend_from_slice(id);
                }
                None => {
                    PeekMut::pop(top);
                }
            }
        }
        Ok(self.heap.peek().map(|h| {
            self.rows[h.0.run]
                .get()
                .expect("a run in the heap has a row")
        }))
    }
}

/// The bytes of a row's shift id as stored (text or packed).
fn shift_id<'a>(r: &'a Row<'_>, col: usize) -> Result<&'a [u8]> {
    Ok(r.get_ref(col)?.as_bytes().map_err(rusqlite::Error::from)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A table of shifts holding `ids` in this order (rowids 1, 2, …), with the `shifts_by_id`
    /// index; the runs recorded as extract records them when `runs`.
    fn snapshot(ids: &[&str], runs: bool) -> Connection {
        let c = Connection::open_in_memory().unwrap();
        c.execute_batch(
            "CREATE TABLE snapshot_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
             CREATE TABLE shift_rows (shift_id BLOB NOT NULL, k INTEGER NOT NULL);",
        )
        .unwrap();
        let mut t = RunTracker::default();
        for (k, id) in ids.iter().enumerate() {
            c.execute(
                "INSERT INTO shift_rows VALUES (?1, ?2)",
                rusqlite::params![id, k as i64],
            )
            .unwrap();
            t.push(id);
        }
        c.execute_batch("CREATE INDEX shifts_by_id ON shift_rows(shift_id);")
            .unwrap();
        if runs {
            for (k, v) in t.meta() {
                c.execute("INSERT INTO snapshot_meta VALUES (?1, ?2)", [k, &v])
                    .unwrap();
            }
        }
        c
    }

    /// (shift id, rowid) as a reader returns them.
    fn read(c: &Connection, way: Way) -> Result<Vec<(String, i64)>> {
        let mut st = ShiftsById::prepare_way(c, "k, shift_id, rowid", 1, way)?;
        let mut rows = st.query()?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            let k: i64 = r.get(0)?;
            let rowid: i64 = r.get(2)?;
            assert_eq!(rowid, k + 1, "each row whole");
            out.push((r.get(1)?, rowid));
        }
        Ok(out)
    }

    /// The oracle: every (id as bytes, position + 1) sorted naively.
    fn oracle(ids: &[&str]) -> Vec<(String, i64)> {
        let mut v: Vec<(Vec<u8>, i64)> = ids
            .iter()
            .enumerate()
            .map(|(k, id)| (id.as_bytes().to_vec(), k as i64 + 1))
            .collect();
        v.sort();
        v.into_iter()
            .map(|(b, k)| (String::from_utf8(b).unwrap(), k))
            .collect()
    }

    /// Every way (the chosen one, and each forced) reads the oracle's order; returns the chosen way.
    fn every_way_reads_the_oracle(ids: &[&str]) -> Way {
        let c = snapshot(ids, true);
        let chosen = way(&c).unwrap();
        let want = oracle(ids);
        assert_eq!(read(&c, chosen.clone()).unwrap(), want, "{chosen:?}");
        assert_eq!(read(&c, Way::Walk).unwrap(), want, "walk");
        assert_eq!(read(&c, Way::Sort).unwrap(), want, "sort");
        let mut t = RunTracker::default();
        ids.iter().for_each(|id| t.push(id));
        let ranges = runs_of(&t);
        assert_eq!(read(&c, Way::Merge(ranges)).unwrap(), want, "merge");
        chosen
    }

    /// The ranges a tracker records (at most [`RUNS_KEPT`] runs).
    fn runs_of(t: &RunTracker) -> Vec<(i64, i64)> {
        let c = Connection::open_in_memory().unwrap();
        c.execute_batch("CREATE TABLE snapshot_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);")
            .unwrap();
        for (k, v) in t.meta() {
            c.execute("INSERT INTO snapshot_meta VALUES (?1, ?2)", [k, &v])
                .unwrap();
        }
        let text: String = c
            .query_row(
                "SELECT value FROM snapshot_meta WHERE key = ?1",
                [RUN_ROWS_META],
                |r| r.get(0),
            )
            .unwrap();
        text.split(' ')
            .filter(|r| !r.is_empty())
            .map(|r| {
                let (a, b) = r.split_once('-').unwrap();
                (a.parse().unwrap(), b.parse().unwrap())
            })
            .collect()
    }

    #[test]
    fn unpadded_counters_are_one_run_a_digit_count_and_merged() {
        let ids: Vec<String> = (1..=1200).map(|n| format!("S{n}")).collect();
        let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
        assert_eq!(
            every_way_reads_the_oracle(&ids),
            Way::Merge(vec![(1, 9), (10, 99), (100, 999), (1000, 1200)])
        );
    }

    #[test]
    fn repeated_ids_within_and_across_runs_come_out_in_file_order() {
        // Runs: [b c c] [a b c] [a a d] [b]: `b` in three runs, `c` twice in one and once in
        // another, `a` three times in two runs.
        let ids = ["b", "c", "c", "a", "b", "c", "a", "a", "d", "b"];
        assert_eq!(
            every_way_reads_the_oracle(&ids),
            Way::Merge(vec![(1, 3), (4, 6), (7, 9), (10, 10)])
        );
        let c = snapshot(&ids, true);
        let b: Vec<i64> = read(&c, way(&c).unwrap())
            .unwrap()
            .into_iter()
            .filter(|r| r.0 == "b")
            .map(|r| r.1)
            .collect();
        assert_eq!(b, [1, 5, 10]);
    }

    #[test]
    fn ids_in_order_are_one_run() {
        let ids = ["", "", "a", "a", "a\u{0}", "ab", "b", "é"];
        assert_eq!(every_way_reads_the_oracle(&ids), Way::Merge(vec![(1, 8)]));
    }

    #[test]
    fn no_shifts_read_nothing() {
        assert_eq!(every_way_reads_the_oracle(&[]), Way::Merge(vec![]));
    }

    #[test]
    fn more_runs_than_merged_are_sorted() {
        // Descending: every id its own run.
        let ids: Vec<String> = (0..MERGE_MAX + 1)
            .rev()
            .map(|n| format!("{n:04}"))
            .collect();
        let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
        assert_eq!(every_way_reads_the_oracle(&ids), Way::Sort);
        let ids: Vec<String> = (0..MERGE_MAX).rev().map(|n| format!("{n:04}")).collect();
        let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
        assert!(matches!(every_way_reads_the_oracle(&ids), Way::Merge(r) if r.len() == MERGE_MAX));
    }

    #[test]
    fn more_runs_than_kept_record_only_their_number() {
        let mut t = RunTracker::default();
        for n in (0..RUNS_KEPT as u32 + 1).rev() {
            t.push(&format!("{n:05}"));
        }
        let meta = t.meta();
        assert_eq!(meta, [(RUNS_META, (RUNS_KEPT + 1).to_string())]);
        let mut t = RunTracker::default();
        for n in (0..RUNS_KEPT as u32).rev() {
            t.push(&format!("{n:05}"));
        }
        assert_eq!(runs_of(&t).len(), RUNS_KEPT);
    }

    #[test]
    fn a_snapshot_without_runs_walks_the_index() {
        let ids = ["b", "a", "c", "a"];
        let c = snapshot(&ids, false);
        assert_eq!(way(&c).unwrap(), Way::Walk);
        assert_eq!(read(&c, Way::Walk).unwrap(), oracle(&ids));
        // Unreadable runs: the index too.
        let c = snapshot(&ids, true);
        c.execute(
            "UPDATE snapshot_meta SET value = '1-2 x' WHERE key = ?1",
            [RUN_ROWS_META],
        )
        .unwrap();
        assert_eq!(way(&c).unwrap(), Way::Walk);
        // Fewer ranges than runs (`b`, `a c`, `a`): the index too.
        c.execute(
            "UPDATE snapshot_meta SET value = '1-1 2-4' WHERE key = ?1",
            [RUN_ROWS_META],
        )
        .unwrap();
        assert_eq!(way(&c).unwrap(), Way::Walk);
        c.execute(
            "UPDATE snapshot_meta SET value = '1-1 2-3 4-4' WHERE key = ?1",
            [RUN_ROWS_META],
        )
        .unwrap();
        assert_eq!(way(&c).unwrap(), Way::Merge(vec![(1, 1), (2, 3), (4, 4)]));
    }

    #[test]
    fn wrong_runs_are_an_error_not_a_wrong_order() {
        let ids = ["a", "c", "b", "d"];
        let c = snapshot(&ids, false);
        let e = read(&c, Way::Merge(vec![(1, 4)])).unwrap_err();
        assert!(
            e.to_string()
                .contains("not ascending in its run of rows 1-4"),
            "{e}"
        );
    }

    /// Packed ids (16-byte BLOBs, as extract keeps canonical UUIDs) read the sort way and the
    /// index way: (id, rowid) as read.
    fn read_packed(ids: &[[u8; 16]]) -> [Vec<([u8; 16], i64)>; 2] {
        let c = Connection::open_in_memory().unwrap();
        c.execute_batch("CREATE TABLE shift_rows (shift_id BLOB NOT NULL, k INTEGER NOT NULL);")
            .unwrap();
        for (k, id) in ids.iter().enumerate() {
            c.execute(
                "INSERT INTO shift_rows VALUES (?1, ?2)",
                rusqlite::params![&id[..], k as i64],
            )
            .unwrap();
        }
        c.execute_batch("CREATE INDEX shifts_by_id ON shift_rows(shift_id);")
            .unwrap();
        [Way::Sort, Way::Walk].map(|w| {
            let mut st = ShiftsById::prepare_way(&c, "shift_id, rowid", 0, w).unwrap();
            let mut rows = st.query().unwrap();
            let mut out = Vec::new();
            while let Some(r) = rows.next().unwrap() {
                let id: Vec<u8> = r.get(0).unwrap();
                out.push((id.try_into().unwrap(), r.get(1).unwrap()));
            }
            out
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]
        /// Packed ids sharing long prefixes, with NUL and bytes above 0x7f, repeated: the sort
        /// (on the ids cast to TEXT, [`SORT_KEY`]) and the index read them in the naive sort's
        /// order, (bytes, rowid).
        #[test]
        fn packed_ids_are_read_in_byte_order_then_file_order(
            picks in proptest::collection::vec(0usize..8, 0..60)
        ) {
            let mut pool = [[7u8; 16]; 8];
            pool[1][15] = 0;
            pool[2][9] = 0x80;
            pool[3][8] = 0;
            pool[4] = [0; 16];
            pool[5] = [0xff; 16];
            pool[6][0] = 0;
            pool[7][12] = 0xc3;
            let ids: Vec<[u8; 16]> = picks.iter().map(|&k| pool[k]).collect();
            let mut want: Vec<([u8; 16], i64)> =
                ids.iter().enumerate().map(|(k, id)| (*id, k as i64 + 1)).collect();
            want.sort();
            let [sorted, walked] = read_packed(&ids);
            prop_assert_eq!(&sorted, &want);
            prop_assert_eq!(&walked, &want);
        }

        /// Ids drawn from a few short texts (many repeats, runs of every length, bytes above
        /// ASCII and NUL): every way reads them in the naive sort's order.
        #[test]
        fn every_way_reads_ids_in_byte_order_then_file_order(
            picks in proptest::collection::vec(0usize..9, 0..80)
        ) {
            const IDS: [&str; 9] = ["", "a", "a\u{0}", "ab", "b", "B", "é", "e\u{301}", "zz"];
            let ids: Vec<&str> = picks.iter().map(|&k| IDS[k]).collect();
            every_way_reads_the_oracle(&ids);
        }
    }
}
