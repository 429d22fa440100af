//! The shift pipeline of `map`: three sorted streams merge-joined by shift id on three threads —
//! a reader of the snapshot (shifts and tasks in shift-id order, grouped per id, into row buffers
//! the mapper hands back), a mapper ([`super::shift`]), and the writer, which merges the results
//! with the previous desired state — connected by bounded channels of batches.

use super::shift::{Desired, Scratch, Shared, map_shift};
use super::write::FindingSink;
use super::{Finding, MapOutcome};
use crate::error::{Error, Result};
use crate::store::desired::{self, Kinds};
use crate::timeval::{self, zone::Zones};
use rusqlite::Connection;
use std::collections::HashMap;

/// One shift row of the snapshot.
#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct ShiftRow {
    pub(super) file_id: i64,
    pub(super) line: i64,
    pub(super) shift_id: String,
    pub(super) agent_id: String,
    pub(super) start: i64,
    pub(super) end: i64,
    pub(super) fmt: i64,
    pub(super) timezone: Option<String>,
    pub(super) published: Option<i64>,
}

impl ShiftRow {
    pub(super) fn same_content(&self, o: &ShiftRow) -> bool {
        self.agent_id == o.agent_id
            && self.start == o.start
            && self.end == o.end
            && self.fmt == o.fmt
            && self.timezone == o.timezone
            && self.published == o.published
    }
}

/// One task row of the snapshot (its shift id is the shift's).
#[derive(Default)]
pub(super) struct TaskRow {
    pub(super) file_id: i64,
    pub(super) line: i64,
    pub(super) has_task_id: bool,
    pub(super) task_id: String,
    /// `task_id`'s 16 bytes when the snapshot kept it packed (it is their spelling then).
    pub(super) packed_id: Option<[u8; 16]>,
    pub(super) name: String,
    pub(super) start: i64,
    pub(super) end: i64,
    pub(super) fmt: i64,
}

impl TaskRow {
    pub(super) fn task_id(&self) -> Option<&str> {
        self.has_task_id.then_some(self.task_id.as_str())
    }

    pub(super) fn task_uuid(&self) -> Option<&[u8; 16]> {
        self.packed_id.as_ref().filter(|_| self.has_task_id)
    }
}

/// Shifts: three sorted streams merge-joined by shift id, on three threads: a reader (shifts and
/// tasks in shift-id order, grouped per id), a mapper, and this thread (the writer,
/// [`write_batches`]), which merges the results with the previous desired state and writes. The
/// mapper computes the content hash (over the activities' JSON, which it builds in a buffer of its
/// own and never sends). They are connected by bounded channels of batches, so memory stays
/// bounded whatever the export's size.
#[allow(clippy::too_many_arguments)]
pub(super) fn stream_shifts(
    tx: &Connection,
    old: Option<&Connection>,
    snap: Connection,
    shared: &Shared<'_>,
    zones: &mut Zones,
    run_id: i64,
    sink: &mut FindingSink<'_, '_>,
    out: &mut MapOutcome,
    lap: &dyn Fn(&str),
) -> Result<()> {
    let files = shared.files;
    type OldRow = rusqlite::Result<desired::Stored>;
    let mut old_st = old.map(desired::StoredShifts::prepare).transpose()?;
    let olds: Box<dyn Iterator<Item = OldRow> + '_> = match old_st.as_mut() {
        Some(st) => Box::new(st.rows()?),
        None => Box::new(std::iter::empty()),
    };
    let mut olds = olds.peekable();
    // A first run into an empty table: drop the secondary indexes and build them again once
    // the rows are in (one sorted build instead of 1.3 million random inserts each), in the
    // same transaction, from their own definitions.
    let rebuild: Vec<(String, String)> = if olds.peek().is_none() {
        desired::drop_indexes(tx)?
    } else {
        Vec::new()
    };
    // The writer's rows still waiting are written when this closure returns Ok.
    desired::ShiftWriter::write(tx, |writer| {
        let kinds = Kinds::load(tx)?;

        let (produced, written) = std::thread::scope(|scope| -> Result<_> {
            // Two mapped batches may wait for the writer (was 8): on a first run the writer is the
            // slowest of the three threads, so the queue stays full, and with a bigger export it
            // is full longer: 8 waiting batches (~0.3 MB each with their strings) were ~3 MB of
            // map's peak at 1.3 M shifts and less at a tenth (short ids, whole, index build
            // single-threaded: 49.4 / 49.7 -> 46.6 / 46.5 MB). The mapper still runs ahead.
            let (btx, brx) = std::sync::mpsc::sync_channel::<Batch>(2);
            let (done_tx, done_rx) = std::sync::mpsc::sync_channel::<Vec<Mapped>>(2);
            let (rtx, rrx) = std::sync::mpsc::sync_channel::<RawBatch>(4);
            let (recycle_tx, recycle_rx) = std::sync::mpsc::sync_channel::<RawBatch>(8);
            let spawn_failed =
                |e: std::io::Error| Error::failure(format!("cannot start a thread: {e}"), None);
            // The shift rows to read, for the progress display (its ETA).
            let total: Option<u64> = snap
                .query_row("SELECT count(*) FROM shift_rows", [], |r| {
                    r.get::<_, i64>(0)
                })
                .ok()
                .map(|n| n as u64);
            shared
                .progress
                .phase("mapping shifts and tasks", "shifts", total);
            let progress = shared.progress.clone();
            let reader = std::thread::Builder::new()
                .name("map-read".into())
                .spawn_scoped(scope, move || read_groups(snap, rtx, recycle_rx, &progress))
                .map_err(spawn_failed)?;
            let mapper = std::thread::Builder::new()
                .name("map-shift".into())
                .spawn_scoped(scope, move || {
                    map_groups(shared, zones, kinds, (rrx, recycle_tx), (btx, done_rx))
                })
                .map_err(spawn_failed)?;
            let memos = OwnerMemos::new(shared.agents.len());
            let written = write_batches(
                (brx, done_tx),
                &mut olds,
                (writer, memos),
                sink,
                out,
                files,
                run_id,
            );
            let mapped = mapper.join().expect("map thread panicked");
            let read = reader.join().expect("map reading thread panicked");
            // The first error in stream order: reading, then mapping.
            let produced = match (read, mapped) {
                (Err(e), _) | (Ok(_), Err(e)) => Err(e),
                (Ok(counts), Ok(())) => Ok(counts),
            };
            Ok((produced, written))
        })?;
        // A reading error ends the stream early: report it rather than what the writer made of
        // the shortened stream.
        written?;
        let (shifts_read, tasks_read) = produced?;
        out.shifts_read = shifts_read;
        out.tasks_read = tasks_read;
        for o in olds {
            let (oid, _, _, _) = o?;
            writer.delete(&oid)?;
            out.shifts.removed += 1;
            out.shifts.note("removed", &oid);
        }
        Ok(())
    })?;
    lap("shifts streamed");
    if !rebuild.is_empty() {
        // One sorter thread: with two (`PRAGMA threads = 2`, the second core free now that the
        // reader and mapper are done) each kept its own 4 MB run in memory, and the build was
        // map's peak at 1.3 M shifts, 5-6 MB over the stream (short ids, whole: 55.3 / 54.1 ->
        // 49.4 / 49.7 MB). One thread does less work in all (callgrind, tenth, first run: long
        // ids 5,862 -> 5,670 M instructions, short 4,760 -> 4,684 M, measured together with the
        // 2-batch bound of the writer's queue) at the cost of the second core's help (the week
        // index of the benchmark export: 0.90 s with two threads, 1.19 s with one, sqlite3
        // shell, idle; the first run's wall +0.1-0.5 s at the whole in 4 of 6 alternated pairs,
        // README "Latest run"). `PRAGMA threads = 1` measured level with 0 (noise either way).
        tx.pragma_update(None, "threads", 0)?;
        // The reader's and mapper's buffers back to the system before the sorter takes its own
        // (the index build at 1.3 M shifts peaked 12 MB over the stream, now 5-6 MB).
        crate::store::release_free_memory();
    }
    desired::rebuild_indexes(tx, &rebuild)?;
    lap("indexes built");
    Ok(())
}

/// The previous desired state, in shift-id order.
type OldRows<'s> =
    std::iter::Peekable<Box<dyn Iterator<Item = rusqlite::Result<desired::Stored>> + 's>>;

/// The writer: each mapped shift id merged with the previous state (`olds`): ids before it are
/// removed, an unchanged row (same content hash) is only relocated, a changed or new one written.
fn write_batches<'a>(
    (brx, done): (
        std::sync::mpsc::Receiver<Batch<'a>>,
        std::sync::mpsc::SyncSender<Vec<Mapped<'a>>>,
    ),
    olds: &mut OldRows<'_>,
    (writer, mut owner_refs): (&mut desired::ShiftWriter<'_>, OwnerMemos),
    sink: &mut FindingSink<'_, '_>,
    out: &mut MapOutcome,
    files: &HashMap<i64, String>,
    run_id: i64,
) -> Result<()> {
    let no_file = String::new();
    // Each snapshot file's number in `desired_names` (what the stored rows carry).
    let mut file_refs: HashMap<i64, desired::FileRef> = HashMap::new();
    // The last row's file: (snapshot file id, name, number), most rows share it.
    let mut last_file: Option<(i64, &String, desired::FileRef)> = None;
    for (new_kinds, mut batch) in brx {
        for (kind, code, desc) in new_kinds {
            writer.add_kind(kind, &code, &desc)?;
        }
        for m in batch.iter_mut() {
            let id = m.id.as_str();
            // Previous state before this id: removed.
            let mut previous: Option<(i64, desired::FileRef, i64)> = None;
            while let Some(Ok((oid, _, _, _))) = olds.peek() {
                if oid.as_str() > id {
                    break;
                }
                let (oid, h, old_file, old_line) = olds.next().expect("peeked")?;
                if oid == id {
                    previous = Some((h, old_file, old_line));
                } else {
                    writer.delete(&oid)?;
                    out.shifts.removed += 1;
                    out.shifts.note("removed", &oid);
                }
            }
            if let Some(Err(_)) = olds.peek() {
                olds.next().expect("peeked")?;
            }
            let Some(d) = m.desired.as_ref() else {
                out.drafts_skipped += m.drafts;
                if previous.is_some() {
                    writer.delete(id)?;
                    out.shifts.removed += 1;
                    out.shifts.note("removed", id);
                }
                continue;
            };
            for f in m.findings.drain(..) {
                sink.push(f)?;
            }
            let (file, file_ref) = match last_file {
                Some((fid, file, r)) if fid == m.file_id => (file, r),
                _ => {
                    let file = files.get(&m.file_id).unwrap_or(&no_file);
                    let r = match file_refs.get(&m.file_id) {
                        Some(&r) => r,
                        None => {
                            let r = writer.file_ref(file)?;
                            file_refs.insert(m.file_id, r);
                            r
                        }
                    };
                    last_file = Some((m.file_id, file, r));
                    (file, r)
                }
            };
            match &d.held_back {
                None => {
                    out.shifts_mapped += 1;
                    out.activities += d.n_activities;
                }
                Some(r) => {
                    out.shifts_held_back += 1;
                    *out.held_back_by_reason.entry(r.to_string()).or_default() += 1;
                }
            }
            match previous {
                Some((h, old_file, old_line)) if h == d.hash => {
                    out.shifts.unchanged += 1;
                    if old_file != file_ref || old_line != m.line {
                        writer.relocate(id, file_ref, m.line)?;
                    }
                }
                prev => {
                    if prev.is_some() {
                        out.shifts.updated += 1;
                        out.shifts.note("updated", id);
                    } else {
                        out.shifts.inserted += 1;
                        out.shifts.note("inserted", id);
                    }
                    let mut week = [0u8; 10];
                    let mut memo = d.owner.and_then(|i| owner_refs.get(i));
                    writer.upsert_with(
                        &desired::ShiftRow {
                            legacy_shift_id: id,
                            agent_id: d.owner_override.unwrap_or(&m.exported_agent_id),
                            exported_agent_id: &m.exported_agent_id,
                            user_id: d.user_id,
                            business_unit_id: d.bu,
                            management_unit_id: d.mu,
                            week_id: d.week.map(|w| timeval::date_str(w, &mut week)).as_deref(),
                            start_utc: d.start,
                            length_minutes: d.length,
                            activities: &d.activities,
                            task_uuids: &d.task_uuids,
                            file,
                            line: m.line,
                            run_id,
                            content_hash: d.hash,
                            held_back_reason: d.held_back,
                        },
                        &mut memo,
                    )?;
                    if let Some(i) = d.owner {
                        owner_refs.put(i, memo);
                    }
                }
            }
        }
        // Back to the mapper, whose next batch reuses the rows' buffers (dropped if it stopped).
        let _ = done.try_send(batch);
    }
    Ok(())
}

/// The numbers in `desired_names` of each owner's names (by agent index), given by the first row
/// of the owner written: 16 bytes an agent, made when the first row is written (as
/// `Option<OwnerRefs>` grown by `resize`, 64 bytes an agent and the room of the `Vec`'s growth:
/// up to 1 MB at 10,000 agents on a first run, where every owner's rows are written). A number
/// is held as a `u32`, 0 for none; an owner with a number outside 1..=u32::MAX has no memo (its
/// names are looked up again at each of its rows, as the writer does for its first).
#[derive(Debug, Default)]
struct OwnerMemos {
    agents: usize,
    memos: Vec<[u32; 4]>,
}

impl OwnerMemos {
    fn new(agents: usize) -> OwnerMemos {
        OwnerMemos {
            agents,
            memos: Vec::new(),
        }
    }

    /// Agent `i`'s memo, if it has one.
    fn get(&self, i: usize) -> Option<desired::OwnerRefs> {
        let m = self.memos.get(i)?;
        let n = |k: u32| (k != 0).then_some(k as i64);
        Some((n(m[0])?, [n(m[1]), n(m[2]), n(m[3])]))
    }

    /// Agent `i`'s memo is `refs` (none: unchanged).
    fn put(&mut self, i: usize, refs: Option<desired::OwnerRefs>) {
        let Some((agent, units)) = refs else { return };
        let n = |k: Option<i64>| -> Option<u32> {
            match k {
                None => Some(0),
                Some(k) => u32::try_from(k).ok().filter(|&k| k != 0),
            }
        };
        let (Some(a), Some(u0), Some(u1), Some(u2)) =
            (n(Some(agent)), n(units[0]), n(units[1]), n(units[2]))
        else {
            return;
        };
        if self.memos.len() <= i {
            self.memos.resize(self.agents.max(i + 1), [0; 4]);
        }
        self.memos[i] = [a, u0, u1, u2];
    }
}

/// One shift id as the mapping thread hands it to the writer (and the writer back, to reuse
/// its buffers).
#[derive(Default)]
struct Mapped<'a> {
    id: String,
    /// `None`: a draft, skipped (`drafts` rows).
    desired: Option<Desired<'a>>,
    drafts: u64,
    file_id: i64,
    line: i64,
    exported_agent_id: String,
    /// What mapping it found, in order.
    findings: Vec<Finding>,
}

/// Shifts per batch sent to the writer.
const BATCH: usize = 1024;

/// What the mapping thread sends the writer: the activity kinds first used in the batch (to
/// insert before its rows), and the batch.
type Batch<'a> = (Vec<(i64, String, String)>, Vec<Mapped<'a>>);

/// Copy a text column into a reused buffer; `false` for NULL.
fn text_into(v: rusqlite::types::ValueRef<'_>, buf: &mut String) -> rusqlite::Result<bool> {
    buf.clear();
    match v {
        rusqlite::types::ValueRef::Null => Ok(false),
        _ => {
            buf.push_str(v.as_str()?);
            Ok(true)
        }
    }
}

/// Shift groups read from the snapshot, handed from the reading thread to the mapping thread.
/// The buffers go back to the reader once mapped, so rows are read into reused strings.
#[derive(Default)]
struct RawBatch {
    shifts: Vec<ShiftRow>,
    tasks: Vec<TaskRow>,
    /// Per shift id: (first shift row, shift rows, first task row, task rows).
    groups: Vec<(usize, usize, usize, usize)>,
    /// Rows in use (the vectors may hold more, kept for reuse).
    n_shifts: usize,
    n_tasks: usize,
}

impl RawBatch {
    fn clear(&mut self) {
        self.groups.clear();
        self.n_shifts = 0;
        self.n_tasks = 0;
    }

    fn next_shift(&mut self) -> &mut ShiftRow {
        if self.n_shifts == self.shifts.len() {
            self.shifts.push(ShiftRow::default());
        }
        self.n_shifts += 1;
        &mut self.shifts[self.n_shifts - 1]
    }

    fn next_task(&mut self) -> &mut TaskRow {
        if self.n_tasks == self.tasks.len() {
            self.tasks.push(TaskRow::default());
        }
        self.n_tasks += 1;
        &mut self.tasks[self.n_tasks - 1]
    }
}

/// Fill `s` from a row of [`read_groups`]' shifts query, whose shift id's text is `id` (known
/// already: not unpacked again).
fn fill_shift(r: &rusqlite::Row<'_>, s: &mut ShiftRow, id: &str) -> rusqlite::Result<()> {
    use crate::extract::stage::{int_column, opt_int_column};
    s.file_id = int_column(r, 0)?;
    s.line = int_column(r, 1)?;
    s.shift_id.clear();
    s.shift_id.push_str(id);
    text_into(r.get_ref(3)?, &mut s.agent_id)?;
    s.start = int_column(r, 4)?;
    s.end = int_column(r, 5)?;
    s.fmt = int_column(r, 6)?;
    let mut tz = s.timezone.take().unwrap_or_default();
    if text_into(r.get_ref(7)?, &mut tz)? {
        s.timezone = Some(tz);
    }
    s.published = opt_int_column(r, 8)?;
    Ok(())
}

/// A shift id as `shift_rows` or `task_runs` keeps it (snapshot schema 8, see
/// [`crate::extract::stage::shift_id_str`]): its text, or its 16 packed bytes. The reader keeps
/// the current group's id so to compare the next rows' ids with it as stored, without unpacking
/// them: within one form the bytes order as the texts do (packed bytes as their text, see
/// [`crate::store::uuid16`]); across forms (each table chooses its own) the texts are compared.
#[derive(Default)]
struct StoredId {
    bytes: Vec<u8>,
    packed: bool,
    /// Its text (unpacked once, when set).
    text: String,
}

impl StoredId {
    /// The bytes of `v` as stored and whether they are packed (a 16-byte BLOB).
    fn parts(v: rusqlite::types::ValueRef<'_>) -> rusqlite::Result<(&[u8], bool)> {
        match v {
            rusqlite::types::ValueRef::Blob(b) => {
                Ok((crate::extract::stage::packed_shift_id(b)?, true))
            }
            v => Ok((v.as_str()?.as_bytes(), false)),
        }
    }

    /// Become the id `v`.
    fn set(&mut self, v: rusqlite::types::ValueRef<'_>) -> rusqlite::Result<()> {
        let (b, packed) = Self::parts(v)?;
        self.bytes.clear();
        self.bytes.extend_from_slice(b);
        self.packed = packed;
        self.text.clear();
        crate::extract::stage::push_shift_id(v, &mut self.text)
    }

    /// The text of this id.
    fn text(&self) -> &str {
        &self.text
    }

    /// How the id `v` orders against this one, in the order of their texts; `buf` takes `v`'s
    /// text when the forms differ.
    fn cmp(
        &self,
        v: rusqlite::types::ValueRef<'_>,
        buf: &mut String,
    ) -> rusqlite::Result<std::cmp::Ordering> {
        let (b, packed) = Self::parts(v)?;
        if packed == self.packed {
            return Ok(b.cmp(&self.bytes));
        }
        let t = crate::extract::stage::shift_id_str(v, buf)?;
        Ok(t.cmp(self.text()))
    }
}

/// The snapshot's task names by number (`task_names`).
fn task_names(snap: &Connection) -> Result<Vec<Option<String>>> {
    let mut names: Vec<Option<String>> = Vec::new();
    let mut st = snap.prepare("SELECT name_id, name FROM task_names")?;
    let mut rows = st.query([])?;
    while let Some(r) = rows.next()? {
        let Ok(i) = usize::try_from(r.get::<_, i64>(0)?) else {
            continue;
        };
        if names.len() <= i {
            names.resize(i + 1, None);
        }
        names[i] = Some(r.get(1)?);
    }
    Ok(names)
}

/// The number of tasks of a run read by [`crate::extract::stage::TASKS_BY_SHIFT_ID`] (the `;`
/// of its text, which ends at a NUL when packed ids follow it).
fn count_tasks(r: &rusqlite::Row<'_>) -> Result<u64> {
    let text = r.get_ref(7)?.as_bytes().map_err(rusqlite::Error::from)?;
    let text = text.split(|&b| b == 0).next().unwrap_or_default();
    Ok(1 + text.iter().filter(|&&b| b == b';').count() as u64)
}

/// The reading thread: shifts (read as [`crate::extract::by_id`] chooses: a merge of the file's
/// ascending runs of ids, a sort, or the index) and tasks in shift-id order, each id's rows grouped with its tasks
/// (tasks of ids with no shift are skipped: validate reports them), sent in batches of [`BATCH`]
/// ids. Returns the shift and task rows read.
fn read_groups(
    snap: Connection,
    to_mapper: std::sync::mpsc::SyncSender<RawBatch>,
    recycled: std::sync::mpsc::Receiver<RawBatch>,
    progress: &crate::ui::Counter,
) -> Result<(u64, u64)> {
    let stopped = || Error::failure("the map thread stopped", None);
    let mut shifts_st = crate::extract::by_id::ShiftsById::prepare(
        &snap,
        "file_id, line, shift_id, agent_id, start, end, fmt, timezone, published",
        2,
    )?;
    let mut tasks_st = snap.prepare(crate::extract::stage::TASKS_BY_SHIFT_ID)?;
    let names = task_names(&snap)?;
    let ids = crate::extract::stage::TaskIds::load(&snap)?;
    let mut shifts = shifts_st.query()?;
    let mut tasks = tasks_st.query([])?;
    let (mut shifts_read, mut tasks_read) = (0u64, 0u64);
    let mut batch = RawBatch::default();
    let mut row = shifts.next()?;
    let mut task = tasks.next()?;
    // The current shift id as stored, and a buffer for an id of the other form.
    let mut id = StoredId::default();
    let mut sid_buf = String::new();
    while let Some(r) = row {
        // One shift id: its rows, then its tasks. Its id is unpacked once (`id`).
        let first = batch.n_shifts;
        id.set(r.get_ref(2)?)?;
        fill_shift(r, batch.next_shift(), id.text())?;
        shifts_read += 1;
        loop {
            row = shifts.next()?;
            let Some(r) = row else { break };
            if id.cmp(r.get_ref(2)?, &mut sid_buf)?.is_ne() {
                break;
            }
            fill_shift(r, batch.next_shift(), id.text())?;
            shifts_read += 1;
        }
        let first_task = batch.n_tasks;
        while let Some(r) = task {
            let order = id.cmp(r.get_ref(0)?, &mut sid_buf)?;
            if order.is_gt() {
                break;
            }
            if order.is_eq() {
                let mut run = crate::extract::stage::RunTasks::read(r, 0, id.text())?;
                while let Some(rt) = run.next_task()? {
                    tasks_read += 1;
                    let t = batch.next_task();
                    t.file_id = run.file_id;
                    t.line = rt.line;
                    t.has_task_id = run.write_id(&ids, &rt, &mut t.task_id)?;
                    t.packed_id = run.packed_id(&rt).copied();
                    let name = usize::try_from(rt.name_id)
                        .ok()
                        .and_then(|i| names.get(i))
                        .and_then(Option::as_deref)
                        .ok_or_else(|| {
                            Error::failure(
                                format!(
                                    "the snapshot's task {} names no task name ({})",
                                    rt.row, rt.name_id
                                ),
                                Some("run `zd2gc extract` again".into()),
                            )
                        })?;
                    t.name.clear();
                    t.name.push_str(name);
                    t.start = rt.start;
                    t.end = rt.end;
                    t.fmt = rt.fmt;
                }
            } else {
                tasks_read += count_tasks(r)?;
            }
            task = tasks.next()?;
        }
        batch.groups.push((
            first,
            batch.n_shifts - first,
            first_task,
            batch.n_tasks - first_task,
        ));
        if batch.groups.len() == BATCH {
            let mut next = recycled.try_recv().unwrap_or_default();
            next.clear();
            let full = std::mem::replace(&mut batch, next);
            progress.add(full.n_shifts as u64);
            to_mapper.send(full).map_err(|_| stopped())?;
        }
    }
    while let Some(r) = task {
        tasks_read += count_tasks(r)?;
        task = tasks.next()?;
    }
    if !batch.groups.is_empty() {
        progress.add(batch.n_shifts as u64);
        to_mapper.send(batch).map_err(|_| stopped())?;
    }
    Ok((shifts_read, tasks_read))
}

/// The mapping thread: map each shift id of the reader's batches (content hash included) and
/// send the results to the writer in batches.
fn map_groups<'a>(
    sh: &Shared<'a>,
    zones: &mut Zones,
    mut kinds: Kinds,
    (from_reader, recycle): (
        std::sync::mpsc::Receiver<RawBatch>,
        std::sync::mpsc::SyncSender<RawBatch>,
    ),
    (to_writer, written): (
        std::sync::mpsc::SyncSender<Batch<'a>>,
        std::sync::mpsc::Receiver<Vec<Mapped<'a>>>,
    ),
) -> Result<()> {
    let stopped = || Error::failure("the map writer stopped", None);
    let mut scratch = Scratch::default();
    for raw in from_reader {
        // A batch the writer is done with: its rows' strings are overwritten, not allocated.
        let mut out: Vec<Mapped<'a>> = written.try_recv().unwrap_or_default();
        let mut used = 0;
        for &(s0, ns, t0, nt) in &raw.groups {
            let group = &raw.shifts[s0..s0 + ns];
            let draft = group.iter().all(|s| s.published == Some(0));
            if used == out.len() {
                out.push(Mapped::default());
            }
            let m = &mut out[used];
            used += 1;
            m.id.clear();
            m.id.push_str(&group[0].shift_id);
            m.exported_agent_id.clear();
            m.exported_agent_id.push_str(&group[0].agent_id);
            m.file_id = group[0].file_id;
            m.line = group[0].line;
            m.drafts = 0;
            m.findings.clear();
            let stored = m
                .desired
                .take()
                .map(|d| (d.activities, d.task_uuids))
                .unwrap_or_default();
            if draft && !sh.cfg.include_drafts {
                m.drafts = ns as u64;
            } else {
                m.desired = Some(map_shift(
                    sh,
                    group,
                    &raw.tasks[t0..t0 + nt],
                    zones,
                    &mut kinds,
                    &mut m.findings,
                    &mut scratch,
                    stored,
                ));
            }
        }
        out.truncate(used);
        // The reader may have stopped (an error); its buffers are then simply dropped.
        let _ = recycle.try_send(raw);
        to_writer
            .send((kinds.take_new(), out))
            .map_err(|_| stopped())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {

    proptest! {
        /// The memos give back what was put, as a map of `Option<OwnerRefs>` by agent would,
        /// except a memo with a number outside 1..=u32::MAX, which is not kept.
        #[test]
        fn owner_memos_give_what_was_put(
            agents in 0usize..20,
            ops in prop::collection::vec(
                (0usize..30, any::<bool>(), prop::array::uniform4(
                    prop_oneof![
                        Just(None),
                        (1i64..5).prop_map(Some),
                        (1i64..=u32::MAX as i64).prop_map(Some),
                        prop_oneof![Just(0i64), Just(-1), Just(u32::MAX as i64 + 1), Just(i64::MAX)].prop_map(Some),
                    ]
                )),
                0..60,
            )
        ) {
            let mut m = super::OwnerMemos::new(agents);
            let mut model: std::collections::HashMap<usize, crate::store::desired::OwnerRefs> =
                Default::default();
            for (i, put, v) in ops {
                if put {
                    let refs = v[0].map(|a| (a, [v[1], v[2], v[3]]));
                    m.put(i, refs);
                    if let Some((a, u)) = refs {
                        let fits = |k: i64| (1..=u32::MAX as i64).contains(&k);
                        if fits(a) && u.iter().flatten().all(|&k| fits(k)) {
                            model.insert(i, (a, u));
                        }
                    }
                }
                prop_assert_eq!(m.get(i), model.get(&i).copied(), "agent {}", i);
            }
            if !m.memos.is_empty() {
                prop_assert!(m.memos.len() >= agents);
            }
        }
    }

    use super::*;
    use proptest::prelude::*;
    use rusqlite::types::ValueRef;

    /// A shift id as a table keeps it: packed when `pack` and it is a canonical lowercase UUID.
    fn stored(id: &str, pack: bool) -> (Vec<u8>, bool) {
        match crate::store::uuid16::pack(id).filter(|_| pack) {
            Some(p) => (p.to_vec(), true),
            None => (id.as_bytes().to_vec(), false),
        }
    }

    fn value((b, packed): &(Vec<u8>, bool)) -> ValueRef<'_> {
        match packed {
            true => ValueRef::Blob(b),
            false => ValueRef::Text(b),
        }
    }

    /// Ids that are canonical UUIDs (sharing prefixes, often equal) or not (upper case, short,
    /// other text).
    fn id() -> impl Strategy<Value = String> {
        prop_oneof![
            "[0a]{8}-[0f]{4}-[09]{4}-[0-9a-f]{4}-[0b]{12}",
            "[0aA]{8}-[0f]{4}-[09]{4}-[0-9a-f]{4}-[0b]{12}",
            "[0a-]{0,37}",
            "[0-9a-zA-Z-]{0,40}",
        ]
    }

    proptest! {
        /// The naive oracle: the texts' byte order (what the reader compared before ids were
        /// packed), whichever form each table keeps its ids in.
        #[test]
        fn stored_ids_compare_as_their_texts(
            a in id(), b in id(), pack_a in any::<bool>(), pack_b in any::<bool>(),
        ) {
            let (sa, sb) = (stored(&a, pack_a), stored(&b, pack_b));
            let mut key = StoredId::default();
            key.set(value(&sa)).unwrap();
            prop_assert_eq!(key.text(), a.as_str());
            let mut buf = String::new();
            prop_assert_eq!(
                key.cmp(value(&sb), &mut buf).unwrap(),
                b.as_bytes().cmp(a.as_bytes()),
                "{:?} ({}) against {:?} ({})", b, sb.1, a, sa.1
            );
            // The same id in the other form compares equal.
            prop_assert!(key.cmp(value(&stored(&a, !pack_a)), &mut buf).unwrap().is_eq());
        }
    }

    #[test]
    fn a_packed_shift_id_of_another_length_is_an_error() {
        let mut key = StoredId::default();
        assert!(key.set(ValueRef::Blob(&[1; 15])).is_err());
        key.set(ValueRef::Text(b"S1")).unwrap();
        let mut buf = String::new();
        assert!(key.cmp(ValueRef::Blob(&[1; 17]), &mut buf).is_err());
        assert!(key.cmp(ValueRef::Null, &mut buf).is_err());
        assert!(key.cmp(ValueRef::Text(b"S1"), &mut buf).unwrap().is_eq());
    }
}
