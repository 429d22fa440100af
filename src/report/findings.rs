//! The findings of a validation report, held in memory up to a budget and past it spilled, sorted,
//! to runs in an unlinked temporary file; read back as one sorted stream. The report's memory then
//! does not grow with the number of findings (13,121 findings at the whole bench export were
//! ~9 MB held until the report was written).
//!
//! The order is the report's: (file, line, rule, field), ties in the order the findings were made
//! — what a stable sort of all of them collected in one list gives ([`FindingStore::absorb`]
//! appends another store's findings after this one's, as `Vec::extend` did).
//! A run is JSON lines of the findings with their sequence number and week (the fields the JSON
//! form skips); the store writes a run when it holds [`IN_MEMORY`] findings.
//!
//! When a run cannot be written (a full disk: the runs take about the report's size), the store
//! reads the runs it has back and keeps all its findings in memory from then on, as before the
//! spill existed: memory grows with the findings, but the report is made ([`Findings::warning`]
//! says so; validate prints it as a warning on stderr).

use super::Finding;
use super::names::UnitNames;
use serde::{Deserialize, Serialize};
use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Seek, Write};
use std::os::unix::fs::FileExt;
use std::path::PathBuf;
use std::sync::Arc;

/// Findings a store holds before it writes them out as a sorted run (~0.7 MB).
pub const IN_MEMORY: usize = 1024;

type Key<'a> = (Option<&'a str>, Option<u64>, &'a str, Option<&'a str>);

fn key(f: &Finding) -> Key<'_> {
    (
        f.file.as_deref(),
        f.line,
        f.rule.as_str(),
        f.field.as_deref(),
    )
}

/// One spilled finding: the fields the JSON form skips ride beside it.
#[derive(Serialize)]
struct RecOut<'a> {
    s: u64,
    w: Option<i64>,
    f: &'a Finding,
}

#[derive(Deserialize)]
struct RecIn {
    s: u64,
    w: Option<i64>,
    f: Finding,
}

/// A sorted run: `len` bytes at `start` of `file`; its sequence numbers count from `offset`.
#[derive(Debug, Clone)]
struct Run {
    file: Arc<File>,
    start: u64,
    len: u64,
    offset: u64,
}

/// Findings being collected: in memory up to the budget, then in sorted runs on disk.
#[derive(Debug)]
pub struct FindingStore {
    dir: Option<PathBuf>,
    budget: usize,
    mem: Vec<(u64, Finding)>,
    runs: Vec<Run>,
    file: Option<Arc<File>>,
    next_seq: u64,
    /// Sequence ranges taken back ([`FindingStore::drop_range`]).
    dropped: Vec<(u64, u64)>,
    error: Option<io::Error>,
    /// A run could not be written: every finding stays in memory.
    in_memory: bool,
    /// What to tell the operator when so.
    warning: Option<String>,
    /// Tests: the runs' writes fail after this many runs (as on a full disk).
    fail_after: Option<usize>,
    written: usize,
}

impl Default for FindingStore {
    fn default() -> Self {
        FindingStore::new(None, IN_MEMORY)
    }
}

impl FindingStore {
    /// A store whose runs go to a temporary file in `dir` (the system's temporary directory when
    /// `None`), written each time it holds `budget` findings.
    pub fn new(dir: Option<PathBuf>, budget: usize) -> FindingStore {
        FindingStore {
            dir,
            budget: budget.max(1),
            mem: Vec::new(),
            runs: Vec::new(),
            file: None,
            next_seq: 0,
            dropped: Vec::new(),
            error: None,
            in_memory: false,
            warning: None,
            fail_after: None,
            written: 0,
        }
    }

    /// Tests: make the runs' writes fail (as on a full disk) after `after` runs, when given.
    pub fn spill_fails_after(mut self, after: Option<usize>) -> FindingStore {
        self.fail_after = after;
        self
    }

    /// An empty store with the same directory and budget (for another thread).
    pub fn empty_like(&self) -> FindingStore {
        FindingStore::new(self.dir.clone(), self.budget).spill_fails_after(self.fail_after)
    }

    /// Bytes of the runs on disk (what the temporary file holds).
    pub fn spilled_bytes(&self) -> u64 {
        self.runs.iter().map(|r| r.len).sum()
    }

    /// How many findings were pushed (taken-back ones included): the position of the next one.
    pub fn len(&self) -> usize {
        self.next_seq as usize
    }

    pub fn is_empty(&self) -> bool {
        self.next_seq == 0
    }

    pub fn push(&mut self, f: Finding) {
        self.mem.push((self.next_seq, f));
        self.next_seq += 1;
        if self.mem.len() >= self.budget {
            self.spill();
        }
    }

    /// Take back the findings pushed at positions `from..to` (as [`FindingStore::len`] counted).
    pub fn drop_range(&mut self, from: usize, to: usize) {
        if from < to {
            self.dropped.push((from as u64, to as u64));
        }
    }

    /// Append `other`'s findings after this store's (as if pushed here after all of these).
    pub fn absorb(&mut self, other: FindingStore) {
        let off = self.next_seq;
        self.runs.extend(other.runs.into_iter().map(|mut r| {
            r.offset += off;
            r
        }));
        self.mem
            .extend(other.mem.into_iter().map(|(s, f)| (s + off, f)));
        self.dropped
            .extend(other.dropped.iter().map(|&(a, b)| (a + off, b + off)));
        self.next_seq += other.next_seq;
        if self.error.is_none() {
            self.error = other.error;
        }
        self.in_memory |= other.in_memory;
        if self.warning.is_none() {
            self.warning = other.warning;
        }
        if self.mem.len() >= self.budget || (self.in_memory && !self.runs.is_empty()) {
            self.spill();
        }
    }

    /// Write what is in memory out as one sorted run; when that fails, keep every finding in
    /// memory from then on (a failure reading the runs back is kept for [`FindingStore::finish`]).
    fn spill(&mut self) {
        if self.error.is_some() {
            // Keep collecting in memory; finish reports the error.
            return;
        }
        if !self.in_memory {
            let Err(e) = self.try_spill() else { return };
            self.in_memory = true;
            let dir = self.dir.clone().unwrap_or_else(std::env::temp_dir);
            self.warning = Some(format!(
                "could not write the findings' temporary file in {} ({e}); kept the findings in memory instead (memory grows with their number)",
                dir.display()
            ));
        }
        if let Err(e) = self.take_back_runs() {
            self.error = Some(e);
        }
    }

    /// Read the runs on disk back into memory and let their file go.
    fn take_back_runs(&mut self) -> io::Result<()> {
        let runs = std::mem::take(&mut self.runs);
        self.file = None;
        for r in &runs {
            let mut rd = run_reader(r);
            while let Some(sf) = rd.next()? {
                self.mem.push(sf);
            }
        }
        Ok(())
    }

    fn try_spill(&mut self) -> io::Result<()> {
        if self.mem.is_empty() {
            return Ok(());
        }
        if self.fail_after.is_some_and(|n| self.written >= n) {
            return Err(io::Error::new(
                io::ErrorKind::StorageFull,
                "No space left on device (test)",
            ));
        }
        let file = match &self.file {
            Some(f) => f.clone(),
            None => {
                let f = Arc::new(temp_file(self.dir.as_deref())?);
                self.file = Some(f.clone());
                f
            }
        };
        self.mem
            .sort_by(|a, b| key(&a.1).cmp(&key(&b.1)).then(a.0.cmp(&b.0)));
        let start = (&*file).stream_position()?;
        let mut w = io::BufWriter::with_capacity(1 << 16, &*file);
        for (s, f) in &self.mem {
            serde_json::to_writer(
                &mut w,
                &RecOut {
                    s: *s,
                    w: f.week,
                    f,
                },
            )
            .map_err(io::Error::other)?;
            w.write_all(b"\n")?;
        }
        w.flush()?;
        drop(w);
        let end = (&*file).stream_position()?;
        self.runs.push(Run {
            file,
            start,
            len: end - start,
            offset: 0,
        });
        self.written += 1;
        self.mem = Vec::new();
        Ok(())
    }

    /// The findings in report order. Fails when a run could not be written.
    pub fn finish(mut self) -> io::Result<Findings> {
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        let dropped = |s: u64, d: &[(u64, u64)]| d.iter().any(|&(a, b)| a <= s && s < b);
        let taken: u64 = self.dropped.iter().map(|&(a, b)| b - a).sum();
        if !self.runs.is_empty() && !self.in_memory {
            // The last run; when it cannot be written, all of them stay in memory.
            self.spill();
            if let Some(e) = self.error.take() {
                return Err(e);
            }
        }
        if self.in_memory {
            self.take_back_runs()?;
        }
        if self.runs.is_empty() {
            let d = std::mem::take(&mut self.dropped);
            self.mem.retain(|(s, _)| !dropped(*s, &d));
            self.mem
                .sort_by(|a, b| key(&a.1).cmp(&key(&b.1)).then(a.0.cmp(&b.0)));
            let mut f = Findings::from_sorted(self.mem.into_iter().map(|(_, f)| f).collect());
            f.warning = self.warning;
            return Ok(f);
        }
        Ok(Findings {
            mem: Vec::new(),
            runs: self.runs,
            dropped: Arc::new(self.dropped),
            len: (self.next_seq - taken) as usize,
            names: None,
            warning: None,
        })
    }
}

/// A reader of one run.
fn run_reader(r: &Run) -> RunReader {
    RunReader {
        rd: BufReader::with_capacity(
            1 << 16,
            Range {
                file: r.file.clone(),
                pos: r.start,
                end: r.start + r.len,
            },
        ),
        offset: r.offset,
        line: Vec::new(),
    }
}

/// A file for the runs, unlinked at once: it goes away with the process, however it ends.
fn temp_file(dir: Option<&std::path::Path>) -> io::Result<File> {
    use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
    static N: AtomicU64 = AtomicU64::new(0);
    let dir = dir.map_or_else(std::env::temp_dir, |d| d.to_path_buf());
    loop {
        let p = dir.join(format!(
            ".zd2gc-findings-{}-{}.tmp",
            std::process::id(),
            N.fetch_add(1, Relaxed)
        ));
        match crate::store::private_options()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&p)
        {
            Ok(f) => {
                let _ = std::fs::remove_file(&p);
                return Ok(f);
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
}

/// The findings of a report, in report order: a list, or sorted runs on disk read back merged.
#[derive(Clone, Default)]
pub struct Findings {
    mem: Vec<Finding>,
    runs: Vec<Run>,
    dropped: Arc<Vec<(u64, u64)>>,
    len: usize,
    /// Unit names to write into the spilled findings as they are read ([`Findings::name_units`]).
    names: Option<Arc<UnitNames>>,
    /// Why they are held in memory although they were to be spilled (a run could not be written).
    warning: Option<String>,
}

impl Findings {
    /// Findings already in report order.
    pub fn from_sorted(mem: Vec<Finding>) -> Findings {
        Findings {
            len: mem.len(),
            mem,
            ..Default::default()
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Set when the findings' temporary file could not be written and they were kept in memory.
    pub fn warning(&self) -> Option<&str> {
        self.warning.as_deref()
    }

    /// Bytes of the runs on disk (what their temporary file holds).
    pub fn spilled_bytes(&self) -> u64 {
        self.runs.iter().map(|r| r.len).sum()
    }

    /// Whether they are read back from disk (tests).
    pub fn spilled(&self) -> bool {
        !self.runs.is_empty()
    }

    /// Each finding in report order; a read failure ends the stream early (logged):
    /// [`Findings::try_iter`] where that must fail the command.
    pub fn iter(&self) -> impl Iterator<Item = Finding> + '_ {
        self.try_iter().map_while(|r| {
            r.map_err(|e| tracing::error!(error = %e, "reading the spilled findings back"))
                .ok()
        })
    }

    /// Each finding in report order, or the error reading it back.
    pub fn try_iter(&self) -> Box<dyn Iterator<Item = io::Result<Finding>> + '_> {
        if self.runs.is_empty() {
            return Box::new(self.mem.iter().cloned().map(Ok));
        }
        let mut m = Merge {
            readers: Vec::new(),
            heap: BinaryHeap::new(),
            dropped: &self.dropped,
            names: self.names.as_deref(),
            failed: false,
            primed: false,
        };
        for r in &self.runs {
            m.readers.push(run_reader(r));
        }
        Box::new(m)
    }

    /// Read spilled findings back into memory and let their temporary file go, saying why in
    /// [`Findings::warning`]: on a full disk the space the file holds is what the report needs
    /// (memory then grows with the findings, as before the spill existed). Nothing to do when they
    /// are in memory; a read failure leaves them as they were.
    pub fn take_back(&mut self, why: String) -> io::Result<()> {
        if self.runs.is_empty() {
            return Ok(());
        }
        // Unit names, when given, are written in as they are read.
        let mem = self.try_iter().collect::<io::Result<Vec<Finding>>>()?;
        *self = Findings {
            warning: Some(why),
            ..Findings::from_sorted(mem)
        };
        Ok(())
    }

    /// All of them in a list (the HTML page and tests).
    pub fn to_vec(&self) -> Vec<Finding> {
        self.iter().collect()
    }

    /// Unit names for ids in messages ([`super::names::name_units`]): at once in memory, as they
    /// are read back for spilled ones.
    pub fn name_units(&mut self, names: UnitNames) {
        if self.runs.is_empty() {
            super::names::name_units(&mut self.mem, &names);
        } else {
            self.names = Some(Arc::new(names));
        }
    }
}

impl From<Vec<Finding>> for Findings {
    /// Findings as given (already in report order).
    fn from(v: Vec<Finding>) -> Findings {
        Findings::from_sorted(v)
    }
}

impl<'a> IntoIterator for &'a Findings {
    type Item = Finding;
    type IntoIter = Box<dyn Iterator<Item = Finding> + 'a>;
    fn into_iter(self) -> Self::IntoIter {
        Box::new(self.iter())
    }
}

impl std::fmt::Debug for Findings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl PartialEq for Findings {
    fn eq(&self, other: &Findings) -> bool {
        self.len == other.len && self.iter().eq(other.iter())
    }
}

impl Serialize for Findings {
    /// As the list would serialize (a read failure fails the serialization).
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{Error, SerializeSeq};
        let mut seq = s.serialize_seq(Some(self.len))?;
        for f in self.try_iter() {
            seq.serialize_element(&f.map_err(S::Error::custom)?)?;
        }
        seq.end()
    }
}

impl<'de> Deserialize<'de> for Findings {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Findings, D::Error> {
        Ok(Findings::from_sorted(Vec::deserialize(d)?))
    }
}

/// `end - pos` bytes of a file from `pos`, read with `pread` (runs of one file read side by side).
struct Range {
    file: Arc<File>,
    pos: u64,
    end: u64,
}

impl Read for Range {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = buf.len().min((self.end - self.pos) as usize);
        if n == 0 {
            return Ok(0);
        }
        let n = self.file.read_at(&mut buf[..n], self.pos)?;
        if n == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        self.pos += n as u64;
        Ok(n)
    }
}

struct RunReader {
    rd: BufReader<Range>,
    offset: u64,
    line: Vec<u8>,
}

impl RunReader {
    fn next(&mut self) -> io::Result<Option<(u64, Finding)>> {
        self.line.clear();
        if self.rd.read_until(b'\n', &mut self.line)? == 0 {
            return Ok(None);
        }
        let r: RecIn = serde_json::from_slice(&self.line).map_err(io::Error::other)?;
        let mut f = r.f;
        f.week = r.w;
        Ok(Some((r.s + self.offset, f)))
    }
}

/// The head of one run, ordered so that the heap's top is the first in report order.
struct Head {
    seq: u64,
    f: Finding,
    run: usize,
}

impl Ord for Head {
    fn cmp(&self, o: &Head) -> Ordering {
        key(&o.f).cmp(&key(&self.f)).then(o.seq.cmp(&self.seq))
    }
}

impl PartialOrd for Head {
    fn partial_cmp(&self, o: &Head) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}

impl PartialEq for Head {
    fn eq(&self, o: &Head) -> bool {
        self.cmp(o) == Ordering::Equal
    }
}

impl Eq for Head {}

struct Merge<'a> {
    readers: Vec<RunReader>,
    heap: BinaryHeap<Head>,
    dropped: &'a [(u64, u64)],
    names: Option<&'a UnitNames>,
    failed: bool,
    primed: bool,
}

impl Merge<'_> {
    fn refill(&mut self, run: usize) -> io::Result<()> {
        if let Some((seq, f)) = self.readers[run].next()? {
            self.heap.push(Head { seq, f, run });
        }
        Ok(())
    }

    fn step(&mut self) -> io::Result<Option<Finding>> {
        if !self.primed {
            self.primed = true;
            for i in 0..self.readers.len() {
                self.refill(i)?;
            }
        }
        loop {
            let Some(h) = self.heap.pop() else {
                return Ok(None);
            };
            self.refill(h.run)?;
            if self.dropped.iter().any(|&(a, b)| a <= h.seq && h.seq < b) {
                continue;
            }
            let mut f = h.f;
            if let Some(n) = self.names {
                super::names::name_units(std::slice::from_mut(&mut f), n);
            }
            return Ok(Some(f));
        }
    }
}

impl Iterator for Merge<'_> {
    type Item = io::Result<Finding>;
    fn next(&mut self) -> Option<io::Result<Finding>> {
        if self.failed {
            return None;
        }
        match self.step() {
            Ok(f) => f.map(Ok),
            Err(e) => {
                self.failed = true;
                Some(Err(e))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Severity;

    /// Findings with many ties on the sort key (few files, lines and rules) and a unique message,
    /// so that the order among ties shows.
    fn sample(n: usize, salt: usize) -> Vec<Finding> {
        (0..n)
            .map(|i| {
                let k = (i * 7919 + salt * 104_729) % 97;
                let mut f = Finding::new(
                    ["trade-pending", "shift-overlap", "dst-ambiguous"][k % 3],
                    [Severity::Warning, Severity::Error, Severity::Info][k % 3],
                    format!("finding {salt}/{i} of business unit `bu{}`", k % 4),
                );
                f.file = (!k.is_multiple_of(5)).then(|| format!("f{}.csv", k % 2));
                f.line = (!k.is_multiple_of(7)).then_some((k % 11) as u64);
                f.field = k.is_multiple_of(3).then(|| "x".to_string());
                f.week = Some(k as i64 - 40);
                f.value = Some(format!("v\n\"{i}\u{0}é"));
                f
            })
            .collect()
    }

    /// The oracle: every finding in one list, then one stable sort (what `Report::new` does).
    fn naive(parts: &[Vec<Finding>], drop: &[(usize, usize, usize)]) -> Vec<Finding> {
        let mut all = Vec::new();
        for (p, v) in parts.iter().enumerate() {
            for (i, f) in v.iter().enumerate() {
                if !drop.iter().any(|&(dp, a, b)| dp == p && a <= i && i < b) {
                    all.push(f.clone());
                }
            }
        }
        all.sort_by(|a, b| key(a).cmp(&key(b)));
        all
    }

    fn store(parts: &[Vec<Finding>], drop: &[(usize, usize, usize)], budget: usize) -> Findings {
        store_failing(parts, drop, budget, None)
    }

    fn store_failing(
        parts: &[Vec<Finding>],
        drop: &[(usize, usize, usize)],
        budget: usize,
        fail_after: Option<usize>,
    ) -> Findings {
        let dir = std::env::temp_dir();
        let mut stores: Vec<FindingStore> = parts
            .iter()
            .enumerate()
            .map(|(p, v)| {
                let mut s =
                    FindingStore::new(Some(dir.clone()), budget).spill_fails_after(fail_after);
                for f in v {
                    s.push(f.clone());
                }
                for &(dp, a, b) in drop {
                    if dp == p {
                        s.drop_range(a, b);
                    }
                }
                s
            })
            .collect();
        let mut first = stores.remove(0);
        for s in stores {
            first.absorb(s);
        }
        first.finish().unwrap()
    }

    #[test]
    fn spilled_findings_come_back_in_the_order_of_one_stable_sort() {
        let parts = vec![sample(1000, 1), sample(333, 2), sample(57, 3)];
        let drop = [(1, 10, 40), (0, 999, 1000), (2, 0, 3)];
        let want = naive(&parts, &drop);
        for budget in [1, 7, 100, 5000] {
            let got = store(&parts, &drop, budget);
            assert_eq!(got.spilled(), budget < 1000, "budget {budget}");
            assert_eq!(got.len(), want.len(), "budget {budget}");
            let v = got.to_vec();
            assert_eq!(v.len(), want.len());
            for (i, (a, b)) in v.iter().zip(&want).enumerate() {
                assert_eq!(a, b, "budget {budget}, finding {i}");
                assert_eq!(a.week, b.week);
            }
            // A second read gives the same, and the JSON form is the list's.
            assert!(got.iter().eq(want.iter().cloned()));
            assert_eq!(
                serde_json::to_string_pretty(&got).unwrap(),
                serde_json::to_string_pretty(&want).unwrap()
            );
        }
    }

    /// A run that cannot be written (a full disk) keeps every finding in memory, those already
    /// on disk read back: the same findings in the same order.
    #[test]
    fn findings_stay_in_memory_when_a_run_cannot_be_written() {
        let parts = vec![sample(1000, 1), sample(333, 2), sample(57, 3)];
        let drop = [(1, 10, 40), (0, 999, 1000), (2, 0, 3)];
        let want = naive(&parts, &drop);
        for (budget, after) in [(1, 0), (7, 3), (100, 9), (100, 2)] {
            let got = store_failing(&parts, &drop, budget, Some(after));
            assert!(!got.spilled(), "budget {budget}, failing after {after}");
            assert!(got.warning().is_some_and(|w| w.contains("in memory")));
            assert_eq!(got.len(), want.len());
            assert!(
                got.to_vec() == want,
                "budget {budget}, failing after {after}"
            );
        }
    }

    #[test]
    fn unit_names_are_written_into_spilled_findings_as_they_are_read() {
        let parts = vec![sample(50, 4)];
        let names = UnitNames {
            business_units: Default::default(),
            management_units: Default::default(),
        };
        let mut n = names.clone();
        n.business_units.insert("bu1".into(), "Lyon".into());
        let mut want = naive(&parts, &[]);
        super::super::names::name_units(&mut want, &n);
        let mut got = store(&parts, &[], 8);
        assert!(got.spilled());
        got.name_units(n);
        assert_eq!(got.to_vec(), want);
        assert!(want.iter().any(|f| f.message.contains("`Lyon`")));
    }
}
