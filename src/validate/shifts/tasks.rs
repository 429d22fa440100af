//! Pass 3: every task checked against its shift, the tasks read in file order and walked in step
//! with the shifts in file order ([`ShiftCursor`]), or in shift-id order when they do not follow
//! ([`IdCursor`]); the tasks of a repeated shift id checked again ([`recheck_repeated`]).

use super::{
    At, Env, Repeated, Resolved2, SHIFT_COLUMNS, Shift, Txt, base, check_time, included, opt_str,
};
use crate::error::Result;
use crate::report::week_of;
use crate::timeval::zone::ZoneSel;
use crate::timeval::{self, Resolved, TimeVal};
use rusqlite::Connection;

/// A task row held while the merge advances (buffers reused: no allocation per task).
#[derive(Default)]
struct TaskBuf {
    has: bool,
    file_id: i64,
    line: i64,
    shift_id: String,
    task_id: String,
    start: i64,
    end: i64,
    fmt: i64,
}

/// The next row of a [`TASK_COLUMNS`] query into `t`, whose shift id is `shift_id`.
fn next_task(rows: &mut rusqlite::Rows<'_>, t: &mut TaskBuf, shift_id: &str) -> Result<()> {
    match rows.next()? {
        None => t.has = false,
        Some(r) => {
            t.has = true;
            t.file_id = r.get(0)?;
            t.line = r.get(1)?;
            t.task_id.clear();
            if let Some(s) = opt_str(r, 2)? {
                t.task_id.push_str(s);
            }
            t.shift_id.clear();
            t.shift_id.push_str(shift_id);
            t.start = r.get(3)?;
            t.end = r.get(4)?;
            t.fmt = r.get(5)?;
        }
    }
    Ok(())
}

/// The shifts in file (rowid) order, read a chunk at a time from a position that can move: the
/// task pass walks it in step with the tasks, which exports list shift by shift in the shifts'
/// own order. Shifts without tasks are skipped by looking a little ahead; a task whose shift is
/// elsewhere is found through the index and the cursor moves there.
struct ShiftCursor<'c> {
    chunk: rusqlite::Statement<'c>,
    by_id: rusqlite::Statement<'c>,
    buf: std::collections::VecDeque<Shift>,
    spare: Vec<Shift>,
    /// The rowid after which the next chunk starts.
    pos: i64,
    /// Rows per chunk: small after a jump (the next jump would waste it), doubling while the walk
    /// keeps in step.
    chunk_rows: i64,
    done: bool,
    /// Shift ids asked for, and how many of them needed the index.
    changes: u64,
    jumps: u64,
}

/// How far ahead a task's shift is looked for before the index is asked.
const LOOKAHEAD: usize = 64;
const CHUNK_MIN: i64 = 64;
const CHUNK_MAX: i64 = 8192;

/// What a task is checked against.
enum TaskShift {
    /// Its shift (`None`: every occurrence is an excluded draft).
    Found(Option<Resolved2>),
    /// No shift has its id.
    Missing,
}

impl<'c> ShiftCursor<'c> {
    fn new(snap: &'c Connection) -> Result<Self> {
        Ok(ShiftCursor {
            chunk: snap.prepare(&format!(
                "SELECT {SHIFT_COLUMNS} FROM shifts WHERE rowid > ?1 ORDER BY rowid LIMIT ?2"
            ))?,
            by_id: snap.prepare(&format!(
                "SELECT {SHIFT_COLUMNS} FROM shifts WHERE shift_id = ?1 ORDER BY rowid"
            ))?,
            buf: Default::default(),
            spare: Vec::new(),
            pos: 0,
            chunk_rows: CHUNK_MAX,
            done: false,
            changes: 0,
            jumps: 0,
        })
    }

    /// Read the next chunk; false at the end of the table.
    fn refill(&mut self) -> Result<bool> {
        if self.done {
            return Ok(false);
        }
        let mut rows = self
            .chunk
            .query(rusqlite::params![self.pos, self.chunk_rows])?;
        let mut n = 0;
        while let Some(r) = rows.next()? {
            let mut row = self.spare.pop().unwrap_or_default();
            row.fill(r)?;
            self.pos = row.rowid;
            self.buf.push_back(row);
            n += 1;
        }
        if n < self.chunk_rows {
            self.done = true;
        }
        self.chunk_rows = (self.chunk_rows * 2).min(CHUNK_MAX);
        Ok(n > 0)
    }

    /// The shift a task names, resolved.
    fn find(&mut self, env: &mut Env<'_>, id: &str) -> Result<TaskShift> {
        let mut i = 0;
        while i < LOOKAHEAD {
            if i == self.buf.len() && !self.refill()? {
                break;
            }
            if self.buf[i].id == id {
                for _ in 0..i {
                    let r = self.buf.pop_front().expect("within the buffer");
                    self.spare.push(r);
                }
                let row = self.buf.pop_front().expect("found");
                let res = row.resolve(env);
                self.spare.push(row);
                return Ok(TaskShift::Found(res));
            }
            i += 1;
        }
        // Elsewhere in the file: the first included occurrence by rowid (pass 1's primary), then
        // walk on from there.
        self.jumps += 1;
        let mut rows = self.by_id.query([id])?;
        let mut first: Option<Shift> = None;
        let mut last = None;
        while let Some(r) = rows.next()? {
            let mut row = Shift::default();
            row.fill(r)?;
            last = Some(row.rowid);
            if first.is_none() && included(env.cfg, row.published) {
                first = Some(row);
            }
        }
        let Some(last) = last else {
            return Ok(TaskShift::Missing);
        };
        self.spare.extend(self.buf.drain(..));
        self.pos = last;
        self.done = false;
        self.chunk_rows = CHUNK_MIN;
        Ok(TaskShift::Found(first.and_then(|r| r.resolve(env))))
    }
}

/// Which task findings belong to which shift id (to take back those of a repeated id).
#[derive(Default)]
pub struct TaskFindings {
    /// (first finding index, end index, shift id), for tasks that had findings.
    spans: Vec<(usize, usize, String)>,
}

/// Whether [`check_time`] would report nothing for this value; its instant then.
fn quiet_instant(env: &mut Env<'_>, zone: ZoneSel, v: TimeVal) -> Result<Option<i64>, ()> {
    if !v.is_local() {
        return Ok(Some(v.secs));
    }
    let ZoneSel::Zone(z) = zone else {
        return Ok(None);
    };
    match env.zones.resolve(z, v.secs) {
        Resolved::Single(u) => Ok(Some(u)),
        Resolved::Ambiguous(..) | Resolved::Nonexistent => Err(()),
    }
}

/// Whether [`task_rules`] would report nothing for a task (the hot path: most tasks are clean,
/// and only the others are read whole).
fn task_is_clean(env: &mut Env<'_>, start: i64, end: i64, fmt: i64, sh: &Resolved2) -> bool {
    let (fa, fb) = crate::timeval::split_fmt(fmt);
    let tv = TimeVal {
        secs: start,
        fmt: fa,
    };
    let uv = TimeVal { secs: end, fmt: fb };
    if tv.has_sub_minute() || uv.has_sub_minute() {
        return false;
    }
    let (Ok(a), Ok(b)) = (
        quiet_instant(env, sh.zone, tv),
        quiet_instant(env, sh.zone, uv),
    ) else {
        return false;
    };
    !matches!((a, b, sh.start, sh.end), (Some(a), Some(b), Some(s), Some(e)) if a < s || b > e)
}

/// What a task with a finding is read with (its shift id is its run's, known to the caller): file
/// id, line, task id, start, end, fmt.
static TASK_COLUMNS: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    use crate::extract::stage::{TASK_ID, TASK_LINE};
    format!("t.file_id, {TASK_LINE}, {TASK_ID}, t.start, t.start + t.length, t.fmt")
});

/// Every task with its shift id (`rowid, shift_id, start, end, fmt`), in `ORDER BY` order: the
/// snapshot's runs (`task_runs`) each followed by its rows (see `extract::stage::TASKS_SCHEMA`).
fn task_scan(order_by: &str) -> String {
    format!(
        "SELECT t.rowid, r.shift_id, t.start, t.start + t.length, t.fmt
         FROM {} ORDER BY {order_by}",
        crate::extract::stage::RUN_ROWS
    )
}

/// Pass 3: every task checked against its shift. Tasks are read in file order and their shifts
/// found by walking the shifts in file order beside them ([`ShiftCursor`]): sequential reads of
/// both tables instead of one index lookup per task. When the tasks turn out not to follow the
/// shifts' order (more than one shift change in 20 needs the index, e.g. an export sorted by
/// date), the pass starts again with both tables in shift-id order through their indexes
/// ([`IdCursor`]), whose cost does not depend on the order. Only what the check needs is read for
/// every task; a task with a finding is read whole by rowid. A task of a repeated shift id is
/// checked against whichever occurrence the walk met; [`recheck_repeated`] corrects those.
pub fn check_tasks(env: &mut Env<'_>, snap: &Connection, max_jumps: u64) -> Result<TaskFindings> {
    let mut whole = snap.prepare(&format!(
        "SELECT {} FROM task_rows t WHERE t.rowid = ?1",
        *TASK_COLUMNS
    ))?;
    let progress = env.progress.clone();
    let mut tally = super::super::Tally::new(&progress);
    {
        // In file order: the task rows and the runs, each scanned in rowid order.
        let mut tst =
            snap.prepare("SELECT rowid, start, start + length, fmt FROM task_rows ORDER BY rowid")?;
        let mut rst =
            snap.prepare("SELECT first, first + n - 1, shift_id FROM task_runs ORDER BY first")?;
        let mut cursor = ShiftCursor::new(snap)?;
        let walked = tasks_pass(
            env,
            &mut FileOrder {
                tasks: tst.query([])?,
                runs: rst.query([])?,
                last: 0,
                sid: Vec::new(),
            },
            &mut whole,
            &mut tally,
            |env, id| {
                let found = cursor.find(env, id)?;
                cursor.changes += 1;
                let out_of_step = cursor.jumps > max_jumps && cursor.jumps * 20 > cursor.changes;
                Ok((!out_of_step).then_some(found))
            },
        )?;
        if let Some(out) = walked {
            return Ok(out);
        }
    }
    crate::ui::timing("  tasks are not in the shifts' order: read through the index instead");
    env.sink.findings.clear();
    env.records = 0;
    // The rows the given-up walk counted are not counted again.
    tally.skip = tally.seen;
    // In shift-id order: the runs' index (no sort).
    let mut tst = snap.prepare(&task_scan("r.shift_id, r.first, t.rowid"))?;
    let mut sst = snap.prepare(&format!(
        "SELECT {SHIFT_COLUMNS} FROM shifts ORDER BY shift_id"
    ))?;
    let mut cursor = IdCursor {
        rows: sst.query([])?,
        next: None,
    };
    let out = tasks_pass(
        env,
        &mut Scanned {
            rows: tst.query([])?,
            sid: Vec::new(),
        },
        &mut whole,
        &mut tally,
        |env, id| cursor.find(env, id).map(Some),
    )?;
    Ok(out.expect("the index walk never gives up"))
}

/// Index look-ups the file-order task walk makes before it may give up (see [`check_tasks`]).
pub const TASK_WALK_MAX_JUMPS: u64 = 1000;

/// The shifts in shift-id order, for tasks read in shift-id order.
struct IdCursor<'s> {
    rows: rusqlite::Rows<'s>,
    /// The first row not yet consumed.
    next: Option<Shift>,
}

impl IdCursor<'_> {
    fn peek(&mut self) -> Result<Option<&Shift>> {
        if self.next.is_none()
            && let Some(r) = self.rows.next()?
        {
            let mut row = Shift::default();
            row.fill(r)?;
            self.next = Some(row);
        }
        Ok(self.next.as_ref())
    }

    /// The shift of `id` (ids asked in ascending order): pass 1's occurrence, the first included.
    fn find(&mut self, env: &mut Env<'_>, id: &str) -> Result<TaskShift> {
        while self.peek()?.is_some_and(|r| r.id.as_str() < id) {
            self.next = None;
        }
        let mut found = false;
        let mut first: Option<Shift> = None;
        while self.peek()?.is_some_and(|r| r.id == id) {
            found = true;
            let row = self.next.take().expect("peeked");
            if first.is_none() && included(env.cfg, row.published) {
                first = Some(row);
            }
        }
        Ok(if found {
            TaskShift::Found(first.and_then(|r| r.resolve(env)))
        } else {
            TaskShift::Missing
        })
    }
}

/// What the task pass reads of every task (the rest only for a task with a finding).
struct Head {
    rowid: i64,
    start: i64,
    end: i64,
    fmt: i64,
}

/// Tasks as the task pass reads them: each with its shift id.
trait TaskStream {
    fn next_task(&mut self) -> Result<Option<(Head, &[u8])>>;
}

fn text_bytes<'r>(v: rusqlite::types::ValueRef<'r>) -> &'r [u8] {
    match v {
        rusqlite::types::ValueRef::Text(b) => b,
        _ => b"",
    }
}

/// The tasks in file order: `task_rows` and `task_runs` each read in rowid order, side by side
/// (two sequential scans; no look-up of each run's rows).
struct FileOrder<'s> {
    tasks: rusqlite::Rows<'s>,
    runs: rusqlite::Rows<'s>,
    /// The last task row of the current run (0: none yet) and its shift id.
    last: i64,
    sid: Vec<u8>,
}

impl TaskStream for FileOrder<'_> {
    fn next_task(&mut self) -> Result<Option<(Head, &[u8])>> {
        let Some(r) = self.tasks.next()? else {
            return Ok(None);
        };
        let head = Head {
            rowid: r.get(0)?,
            start: r.get(1)?,
            end: r.get(2)?,
            fmt: r.get(3)?,
        };
        while head.rowid > self.last {
            let run = self
                .runs
                .next()?
                .filter(|run| run.get::<_, i64>(0).is_ok_and(|first| first <= head.rowid));
            let Some(run) = run else {
                return Err(crate::error::Error::failure(
                    format!(
                        "the snapshot's task row {} is in no run of task_runs",
                        head.rowid
                    ),
                    Some("run `zd2gc extract` again".into()),
                ));
            };
            self.last = run.get(1)?;
            self.sid.clear();
            self.sid.extend_from_slice(text_bytes(run.get_ref(2)?));
        }
        Ok(Some((head, &self.sid)))
    }
}

/// The rows of a [`task_scan`] query.
struct Scanned<'s> {
    rows: rusqlite::Rows<'s>,
    sid: Vec<u8>,
}

impl TaskStream for Scanned<'_> {
    fn next_task(&mut self) -> Result<Option<(Head, &[u8])>> {
        let Some(r) = self.rows.next()? else {
            return Ok(None);
        };
        let sid = text_bytes(r.get_ref(1)?);
        if self.sid != sid {
            self.sid.clear();
            self.sid.extend_from_slice(sid);
        }
        let head = Head {
            rowid: r.get(0)?,
            start: r.get(2)?,
            end: r.get(3)?,
            fmt: r.get(4)?,
        };
        Ok(Some((head, &self.sid)))
    }
}

/// The task pass over `tasks`, asking `find` for each new shift id; `None` from `find` gives up
/// (nothing is kept).
fn tasks_pass(
    env: &mut Env<'_>,
    tasks: &mut impl TaskStream,
    whole: &mut rusqlite::Statement<'_>,
    tally: &mut crate::validate::Tally<'_>,
    mut find: impl FnMut(&mut Env<'_>, &str) -> Result<Option<TaskShift>>,
) -> Result<Option<TaskFindings>> {
    let mut task = TaskBuf::default();
    let mut out = TaskFindings::default();
    let mut current_id: Vec<u8> = Vec::new();
    let mut current: Option<TaskShift> = None;
    while let Some((h, sid)) = tasks.next_task()? {
        env.records += 1;
        tally.tick();
        if current.is_none() || current_id != sid {
            current_id.clear();
            current_id.extend_from_slice(sid);
            let id = std::str::from_utf8(sid).map_err(|e| {
                rusqlite::Error::FromSqlConversionFailure(
                    1,
                    rusqlite::types::Type::Text,
                    Box::new(e),
                )
            })?;
            match find(env, id)? {
                Some(f) => current = Some(f),
                None => return Ok(None),
            }
        }
        let clean = match current.as_ref().expect("set above") {
            TaskShift::Missing => false,
            TaskShift::Found(None) => true,
            TaskShift::Found(Some(res)) => task_is_clean(env, h.start, h.end, h.fmt, res),
        };
        if clean {
            continue;
        }
        let rowid = h.rowid;
        let shift_id = std::str::from_utf8(&current_id).expect("checked when it was read");
        next_task(&mut whole.query([rowid])?, &mut task, shift_id)?;
        debug_assert!(task.has, "the row just read");
        let before = env.sink.findings.len();
        match current.as_ref().expect("set above") {
            TaskShift::Missing => {
                env.records -= 1; // counted by `orphan`
                orphan(env, &task);
            }
            TaskShift::Found(res) => {
                if let Some(res) = res {
                    task_rules(env, &task, &task.shift_id.clone(), res);
                }
            }
        }
        let after = env.sink.findings.len();
        if after > before {
            out.spans.push((before, after, task.shift_id.clone()));
        }
    }
    Ok(Some(out))
}

/// The tasks of repeated shift ids again, against the occurrence pass 1 chose: the task pass's
/// findings for them (in `tasks_env`) are dropped and made again in `env` (pass 1's environment,
/// whose zones the resolved shifts refer to). Records were counted by the task pass.
pub fn recheck_repeated(
    env: &mut Env<'_>,
    tasks_env: &mut Env<'_>,
    spans: TaskFindings,
    repeated: &Repeated,
    snap: &Connection,
) -> Result<()> {
    if repeated.is_empty() {
        return Ok(());
    }
    let mut drop = vec![false; tasks_env.sink.findings.len()];
    for (a, b, id) in &spans.spans {
        if repeated.contains_key(id) {
            drop[*a..*b].iter_mut().for_each(|d| *d = true);
        }
    }
    let mut i = 0;
    tasks_env.sink.findings.retain(|_| {
        i += 1;
        !drop[i - 1]
    });
    let mut st = snap.prepare(&format!(
        "SELECT {} FROM {} WHERE r.shift_id = ?1 ORDER BY r.first, t.rowid",
        *TASK_COLUMNS,
        crate::extract::stage::RUN_ROWS
    ))?;
    for (id, res) in repeated {
        let Some(res) = res else { continue };
        let mut rows = st.query([id])?;
        let mut task = TaskBuf::default();
        loop {
            next_task(&mut rows, &mut task, id)?;
            if !task.has {
                break;
            }
            task_rules(env, &task, id, res);
        }
    }
    Ok(())
}

fn task_rules(env: &mut Env<'_>, t: &TaskBuf, shift_id: &str, sh: &Resolved2) {
    let (fa, fb) = crate::timeval::split_fmt(t.fmt);
    let (tv, uv) = (
        TimeVal {
            secs: t.start,
            fmt: fa,
        },
        TimeVal {
            secs: t.end,
            fmt: fb,
        },
    );
    let record = if t.task_id.is_empty() {
        shift_id
    } else {
        t.task_id.as_str()
    };
    let week = tv.is_local().then(|| week_of(tv.secs));
    let a = check_time(
        env,
        sh.zone,
        tv,
        &At {
            file_id: t.file_id,
            line: t.line,
            record,
            field: tv.column(true),
            week,
        },
    );
    let b = check_time(
        env,
        sh.zone,
        uv,
        &At {
            file_id: t.file_id,
            line: t.line,
            record,
            field: uv.column(false),
            week,
        },
    );
    if tv.has_sub_minute() || uv.has_sub_minute() {
        let (v, start) = if tv.has_sub_minute() {
            (tv, true)
        } else {
            (uv, false)
        };
        let mut f = base(
            env,
            "sub-minute-time",
            t.file_id,
            t.line,
            record,
            format!(
                "`{}` has seconds: Genesys schedules in whole minutes",
                timeval::render(v)
            ),
        );
        f.field = Some(v.column(start).into());
        f.value = Some(timeval::render(v));
        f.help = "round the time to the minute in the export".into();
        env.sink.push(f);
    }
    if let (Some(a), Some(b), Some(s), Some(e)) = (a, b, sh.start, sh.end)
        && (a < s || b > e)
    {
        let (v, start) = if a < s { (tv, true) } else { (uv, false) };
        let mut f = base(
            env,
            "task-outside-shift",
            t.file_id,
            t.line,
            record,
            format!(
                "task `{record}` ({} → {}) does not lie inside its shift `{shift_id}` ({} → {})",
                timeval::render(tv),
                timeval::render(uv),
                Txt(sh.sv, sh.start_raw.as_deref()),
                Txt(sh.ev, sh.end_raw.as_deref())
            ),
        );
        f.field = Some(v.column(start).into());
        f.value = Some(timeval::render(v));
        f.timezone = env.zone_name(sh.zone);
        f.help = "correct the task's or the shift's times in the export".into();
        f.week = week;
        env.sink.push(f);
    }
}

fn orphan(env: &mut Env<'_>, t: &TaskBuf) {
    env.records += 1;
    let record = if t.task_id.is_empty() {
        t.shift_id.as_str()
    } else {
        t.task_id.as_str()
    };
    let mut f = base(
        env,
        "task-outside-shift",
        t.file_id,
        t.line,
        record,
        format!(
            "task `{record}` names shift `{}`, which is not in the export",
            t.shift_id
        ),
    );
    f.field = Some("shift_id".into());
    f.value = Some(t.shift_id.clone());
    f.help = "export the shift too, or remove the task".into();
    env.sink.push(f);
}
