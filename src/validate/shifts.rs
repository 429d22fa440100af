//! Time, DST, shift and task rules, in three streaming passes over the snapshot (run on threads of
//! their own; see `run_rules`).
//!
//! 1. Shifts by shift id (index `shifts_by_id`): duplicate/conflicting ids, zones, DST (field
//!    level), end before start, sub-minute times, too long, length change across a transition.
//! 2. Shifts by agent (`shifts_by_agent`), one agent's shifts at a time sorted by their resolved
//!    UTC instants (the naive local order of the index is not the UTC order across a fall-back night
//!    or between zones): `shift-overlap` (one finding per pair, on the later-starting shift) and
//!    `deactivated-agent`.
//! 3. Tasks in file order, walked in step with the shifts in file order ([`ShiftCursor`]): each
//!    task's times and whether it lies inside its shift. Reading both tables sequentially is about
//!    three times cheaper than fetching every task through the `tasks_by_shift` index; a task
//!    whose shift is out of step is found through the index, so any order is correct and the usual
//!    one is fast. The tasks of a repeated shift id are checked again against pass 1's choice
//!    ([`recheck_repeated`]).
//!
//! Drafts (`published = false`) are skipped unless `include_drafts`; an included draft edit
//! (`parent_id`) replaces its parent for the overlap check.

use super::Env;
use crate::config::Severity;
use crate::error::Result;
use crate::report::{Finding, week_of};
use crate::timeval::zone::ZoneSel;
use crate::timeval::{self, Resolved, TimeVal, dst};
use rusqlite::{Connection, Row};
use std::collections::HashMap;

/// Where a time value was written.
pub(crate) struct At<'a> {
    pub file_id: i64,
    pub line: i64,
    pub record: &'a str,
    pub field: &'a str,
    pub week: Option<i64>,
}

/// Resolve one value, reporting `dst-nonexistent` / `dst-ambiguous`; the instant under the policy,
/// or `None` when it has none (a gap, an ambiguous time under `reject`, no usable zone).
pub(crate) fn check_time(env: &mut Env<'_>, zone: ZoneSel, v: TimeVal, at: &At<'_>) -> Option<i64> {
    if !v.is_local() {
        return Some(v.secs);
    }
    let ZoneSel::Zone(z) = zone else { return None };
    let policy = env.cfg.dst_ambiguous;
    let r = env.zones.resolve_value(zone, v, policy);
    if let Ok(dst::Instant {
        utc,
        chosen_from: None,
    }) = r
    {
        return Some(utc);
    }
    if let Some(d) = dst::finding(v, env.zones.name(z), &r, policy) {
        let mut f = Finding::new(d.rule, d.severity, d.message);
        f.file = env.file(at.file_id);
        f.line = Some(at.line as u64);
        f.record_id = Some(at.record.to_string());
        f.field = Some(at.field.to_string());
        f.value = Some(timeval::render(v));
        f.timezone = Some(env.zones.name(z).to_string());
        f.candidates = Some(d.candidates);
        f.help = d.help;
        f.week = at.week;
        if d.severity == dst::POLICY_RESOLVED {
            env.sink.push_as(f);
        } else {
            env.sink.push(f);
        }
    }
    r.ok().map(|i| i.utc)
}

fn split(f: i64) -> (u8, u8) {
    ((f & 0xff) as u8, ((f >> 8) & 0xff) as u8)
}

/// The text of a value as written (RFC 3339 keeps its own text), rendered only when displayed:
/// the hot loops never format a time unless a finding needs it.
#[derive(Clone, Copy)]
struct Txt<'a>(TimeVal, Option<&'a str>);

impl std::fmt::Display for Txt<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.1 {
            Some(t) => f.write_str(t),
            None => f.write_str(&timeval::render(self.0)),
        }
    }
}

/// One shift row (pass 1 reads them by id, the task pass in file order, into reused buffers).
#[derive(Debug, Clone, Default, PartialEq)]
struct Shift {
    rowid: i64,
    file_id: i64,
    line: i64,
    id: String,
    agent: String,
    start: i64,
    end: i64,
    fmt: i64,
    start_text: Option<String>,
    end_text: Option<String>,
    tz: Option<String>,
    published: Option<i64>,
    parent: Option<String>,
}

impl Shift {
    fn fill(&mut self, r: &Row<'_>) -> Result<()> {
        fn text(dst: &mut Option<String>, v: Option<&str>) {
            match (v, dst.as_mut()) {
                (None, _) => *dst = None,
                (Some(v), Some(d)) => {
                    d.clear();
                    d.push_str(v);
                }
                (Some(v), None) => *dst = Some(v.to_string()),
            }
        }
        self.rowid = r.get(0)?;
        self.file_id = r.get(1)?;
        self.line = r.get(2)?;
        self.id.clear();
        self.id.push_str(opt_str(r, 3)?.unwrap_or_default());
        self.agent.clear();
        self.agent.push_str(opt_str(r, 4)?.unwrap_or_default());
        self.start = r.get(5)?;
        self.end = r.get(6)?;
        self.fmt = r.get(7)?;
        text(&mut self.start_text, opt_str(r, 8)?);
        text(&mut self.end_text, opt_str(r, 9)?);
        text(&mut self.tz, opt_str(r, 10)?);
        self.published = r.get(11)?;
        text(&mut self.parent, opt_str(r, 12)?);
        Ok(())
    }

    fn read(r: &Row<'_>) -> Result<Shift> {
        let mut s = Shift::default();
        s.fill(r)?;
        Ok(s)
    }

    fn same_content(&self, o: &Shift) -> bool {
        (
            &self.agent,
            self.start,
            self.end,
            self.fmt,
            &self.start_text,
            &self.end_text,
            self.tz.as_deref().map(str::trim).filter(|s| !s.is_empty()),
            self.published,
            &self.parent,
        ) == (
            &o.agent,
            o.start,
            o.end,
            o.fmt,
            &o.start_text,
            &o.end_text,
            o.tz.as_deref().map(str::trim).filter(|s| !s.is_empty()),
            o.published,
            &o.parent,
        )
    }

    fn vals(&self) -> (TimeVal, TimeVal) {
        let (a, b) = split(self.fmt);
        (
            TimeVal {
                secs: self.start,
                fmt: a,
            },
            TimeVal {
                secs: self.end,
                fmt: b,
            },
        )
    }
}

/// The resolved shift the tasks are checked against.
pub struct Resolved2 {
    zone: ZoneSel,
    start: Option<i64>,
    end: Option<i64>,
    sv: TimeVal,
    ev: TimeVal,
    start_raw: Option<String>,
    end_raw: Option<String>,
}

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

fn next_task(rows: &mut rusqlite::Rows<'_>, t: &mut TaskBuf) -> Result<()> {
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
            t.shift_id.push_str(opt_str(r, 3)?.unwrap_or_default());
            t.start = r.get(4)?;
            t.end = r.get(5)?;
            t.fmt = r.get(6)?;
        }
    }
    Ok(())
}

/// A text column borrowed from the row (no allocation).
fn opt_str<'r>(r: &'r Row<'_>, i: usize) -> rusqlite::Result<Option<&'r str>> {
    r.get_ref(i)?.as_str_or_null().map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, Box::new(e))
    })
}

fn included(cfg: &crate::config::Config, published: Option<i64>) -> bool {
    cfg.include_drafts || published != Some(0)
}

/// The shift ids that occur more than once, with what their tasks are checked against (the first
/// included occurrence, resolved; `None` when every occurrence is an excluded draft).
pub type Repeated = HashMap<String, Option<Resolved2>>;

/// Pass 1: shifts by id (duplicates and conflicts are neighbours), every shift-level rule.
/// Returns the repeated ids for [`recheck_repeated`].
pub fn check_shifts(env: &mut Env<'_>, snap: &Connection) -> Result<Repeated> {
    let mut sst = snap.prepare(&format!(
        "SELECT {SHIFT_COLUMNS} FROM shifts ORDER BY shift_id"
    ))?;
    let mut srows = sst.query([])?;
    let mut repeated = Repeated::new();
    // The current group: its id, its first included row, whether the id repeats.
    let mut group_id: Option<String> = None;
    let mut primary: Option<Shift> = None;
    let mut repeats = false;
    loop {
        let row = srows.next()?;
        let next = match row {
            Some(r) => Some(Shift::read(r)?),
            None => None,
        };
        if let Some(s) = &next {
            env.records += 1;
            if group_id.as_deref() == Some(s.id.as_str()) {
                repeats = true;
                if !included(env.cfg, s.published) {
                    continue;
                }
                match &primary {
                    None => primary = next,
                    Some(p) => duplicate(env, p, s),
                }
                continue;
            }
        }
        // The group ends: its rules.
        if let Some(id) = group_id.take() {
            let res = primary.take().map(|p| shift_rules(env, &p));
            if repeats {
                repeated.insert(id, res);
            }
        }
        let Some(s) = next else { break };
        group_id = Some(s.id.clone());
        repeats = false;
        if included(env.cfg, s.published) {
            primary = Some(s);
        }
    }
    Ok(repeated)
}

const SHIFT_COLUMNS: &str = "rowid, file_id, line, shift_id, agent_id, start, end, fmt, start_text, end_text, timezone, published, parent_id";

impl Shift {
    /// What its tasks are checked against, without reporting anything (pass 1 reports the shift).
    fn resolve(&self, env: &mut Env<'_>) -> Option<Resolved2> {
        if !included(env.cfg, self.published) {
            return None;
        }
        let (sv, ev) = self.vals();
        let zone = env.row_zone(self.tz.as_deref(), &self.agent);
        let policy = env.cfg.dst_ambiguous;
        Some(Resolved2 {
            zone,
            start: env.zones.instant(zone, sv, policy),
            end: env.zones.instant(zone, ev, policy),
            sv,
            ev,
            start_raw: self.start_text.clone(),
            end_raw: self.end_text.clone(),
        })
    }
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
    let (fa, fb) = split(fmt);
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

const TASK_COLUMNS: &str = "file_id, line, task_id, shift_id, start, end, fmt";

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
        "SELECT {TASK_COLUMNS} FROM tasks WHERE rowid = ?1"
    ))?;
    {
        let mut tst = snap.prepare("SELECT rowid, shift_id, start, end, fmt FROM tasks")?;
        let mut cursor = ShiftCursor::new(snap)?;
        let walked = tasks_pass(env, &mut tst.query([])?, &mut whole, |env, id| {
            let found = cursor.find(env, id)?;
            cursor.changes += 1;
            let out_of_step = cursor.jumps > max_jumps && cursor.jumps * 20 > cursor.changes;
            Ok((!out_of_step).then_some(found))
        })?;
        if let Some(out) = walked {
            return Ok(out);
        }
    }
    crate::ui::timing("  tasks are not in the shifts' order: read through the index instead");
    env.sink.findings.clear();
    env.records = 0;
    let mut tst =
        snap.prepare("SELECT rowid, shift_id, start, end, fmt FROM tasks ORDER BY shift_id")?;
    let mut sst = snap.prepare(&format!(
        "SELECT {SHIFT_COLUMNS} FROM shifts ORDER BY shift_id"
    ))?;
    let mut cursor = IdCursor {
        rows: sst.query([])?,
        next: None,
    };
    let out = tasks_pass(env, &mut tst.query([])?, &mut whole, |env, id| {
        cursor.find(env, id).map(Some)
    })?;
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

/// The task pass over `trows` (rowid, shift_id, start, end, fmt), asking `find` for each new
/// shift id; `None` from `find` gives up (nothing is kept).
fn tasks_pass(
    env: &mut Env<'_>,
    trows: &mut rusqlite::Rows<'_>,
    whole: &mut rusqlite::Statement<'_>,
    mut find: impl FnMut(&mut Env<'_>, &str) -> Result<Option<TaskShift>>,
) -> Result<Option<TaskFindings>> {
    let mut task = TaskBuf::default();
    let mut out = TaskFindings::default();
    let mut current_id: Vec<u8> = Vec::new();
    let mut current: Option<TaskShift> = None;
    while let Some(r) = trows.next()? {
        env.records += 1;
        let sid = r.get_ref(1)?;
        let sid = match sid {
            rusqlite::types::ValueRef::Text(b) => b,
            _ => b"",
        };
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
            TaskShift::Found(Some(res)) => task_is_clean(env, r.get(2)?, r.get(3)?, r.get(4)?, res),
        };
        if clean {
            continue;
        }
        let rowid: i64 = r.get(0)?;
        next_task(&mut whole.query([rowid])?, &mut task)?;
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
        "SELECT {TASK_COLUMNS} FROM tasks WHERE shift_id = ?1 ORDER BY rowid"
    ))?;
    for (id, res) in repeated {
        let Some(res) = res else { continue };
        let mut rows = st.query([id])?;
        let mut task = TaskBuf::default();
        loop {
            next_task(&mut rows, &mut task)?;
            if !task.has {
                break;
            }
            task_rules(env, &task, id, res);
        }
    }
    Ok(())
}

/// A repeated shift id: identical (duplicate, collapsed) or different (conflicting).
fn duplicate(env: &mut Env<'_>, first: &Shift, s: &Shift) {
    let file = env.file(s.file_id);
    let first_at = format!(
        "{}:{}",
        env.file(first.file_id).unwrap_or_default(),
        first.line
    );
    let mut f = if first.same_content(s) {
        let mut f = Finding::new(
            "duplicate-shift-id",
            Severity::Warning,
            format!(
                "shift `{}` appears again with identical content (first at {first_at}); collapsed to one",
                s.id
            ),
        );
        f.help = "nothing to do unless the repeat is a mistake in the export".into();
        f
    } else {
        let mut f = Finding::new(
            "conflicting-shift-id",
            Severity::Error,
            format!(
                "shift `{}` appears again with different content (first at {first_at}); every occurrence is held back",
                s.id
            ),
        );
        f.help =
            "keep one version of the shift in the export (or give the other its own id)".into();
        f
    };
    f.file = file;
    f.line = Some(s.line as u64);
    f.record_id = Some(s.id.clone());
    f.field = Some("shift_id".into());
    f.value = Some(s.id.clone());
    env.sink.push(f);
}

fn base(env: &Env<'_>, rule: &str, file_id: i64, line: i64, id: &str, message: String) -> Finding {
    let mut f = Finding::new(rule, Severity::Error, message);
    f.file = env.file(file_id);
    f.line = Some(line as u64);
    f.record_id = Some(id.to_string());
    f
}

/// The zone of a row for its local values; reports an unknown zone name written on the row and a
/// local value with no zone at all.
fn row_zone(env: &mut Env<'_>, s: &Shift, any_local: bool, week: Option<i64>) -> ZoneSel {
    let zone = env.row_zone(s.tz.as_deref(), &s.agent);
    let own = env.zones.sel(s.tz.as_deref());
    if own == ZoneSel::Unknown {
        let name = s.tz.as_deref().unwrap_or_default().trim().to_string();
        let mut f = base(
            env,
            "unknown-timezone",
            s.file_id,
            s.line,
            &s.id,
            format!(
                "zone `{name}` is not in the tz database; the shift's local times cannot be resolved"
            ),
        );
        f.field = Some("timezone".into());
        f.value = Some(name);
        f.help =
            "use an IANA zone name such as `Europe/Paris`, or leave it empty for the agent's zone"
                .into();
        f.week = week;
        env.sink.push(f);
    } else if zone == ZoneSel::Missing && any_local {
        let (sv, _) = s.vals();
        let mut f = base(
            env,
            "missing-timezone",
            s.file_id,
            s.line,
            &s.id,
            format!(
                "`{}` is a local wall-clock time and no zone applies (none on the row, agent `{}`, its location, or `default_timezone`)",
                timeval::render(sv),
                s.agent
            ),
        );
        f.field = Some(sv.column(true).into());
        f.value = Some(timeval::render(sv));
        f.help = "set `default_timezone` in zd2gc.toml, a zone for the agent's location in mappings/locations.csv, or the row's `timezone`".into();
        f.week = week;
        env.sink.push(f);
    }
    zone
}

fn shift_rules(env: &mut Env<'_>, s: &Shift) -> Resolved2 {
    let (sv, ev) = s.vals();
    let any_local = sv.is_local() || ev.is_local();
    let pre_zone = env.row_zone(s.tz.as_deref(), &s.agent);
    let local_start = if sv.is_local() {
        sv.secs
    } else {
        env.zones.local_of(pre_zone, sv.secs)
    };
    let week = week_of(local_start);
    *env.weeks.entry(week).or_default() += 1;
    let zone = row_zone(env, s, any_local, Some(week));
    if !env.agents.contains_key(&s.agent) {
        // At the shift's own line: the agents file has none for this agent.
        let mut f = base(
            env,
            "shift-unknown-agent",
            s.file_id,
            s.line,
            &s.id,
            format!(
                "shift `{}` names agent `{}`, who is not in the agents file",
                s.id, s.agent
            ),
        );
        f.field = Some("agent_id".into());
        f.value = Some(s.agent.clone());
        f.help = "add the agent to the export's agents file (with its e-mail and zone), or correct the shift's agent_id".into();
        f.week = Some(week);
        env.sink.push(f);
    }
    let start_text = Txt(sv, s.start_text.as_deref());
    let end_text = Txt(ev, s.end_text.as_deref());
    let a = check_time(
        env,
        zone,
        sv,
        &At {
            file_id: s.file_id,
            line: s.line,
            record: &s.id,
            field: sv.column(true),
            week: Some(week),
        },
    );
    let b = check_time(
        env,
        zone,
        ev,
        &At {
            file_id: s.file_id,
            line: s.line,
            record: &s.id,
            field: ev.column(false),
            week: Some(week),
        },
    );
    if sv.has_sub_minute() || ev.has_sub_minute() {
        let (v, t, start) = if sv.has_sub_minute() {
            (sv, &start_text, true)
        } else {
            (ev, &end_text, false)
        };
        let mut f = base(
            env,
            "sub-minute-time",
            s.file_id,
            s.line,
            &s.id,
            format!("`{t}` has seconds: Genesys schedules in whole minutes"),
        );
        f.field = Some(v.column(start).into());
        f.value = Some(t.to_string());
        f.help = "round the time to the minute in the export".into();
        f.week = Some(week);
        env.sink.push(f);
    }
    if let (Some(a), Some(b)) = (a, b) {
        if b <= a {
            let mut f = base(
                env,
                "shift-end-before-start",
                s.file_id,
                s.line,
                &s.id,
                format!(
                    "shift `{}` ends ({end_text}) at or before it starts ({start_text})",
                    s.id
                ),
            );
            f.field = Some(ev.column(false).into());
            f.value = Some(end_text.to_string());
            f.help = "correct the end time (an overnight shift ends on the next day's date)".into();
            f.week = Some(week);
            env.sink.push(f);
        } else {
            let real = b - a;
            if real as f64 > env.cfg.max_shift_hours * 3600.0 {
                let mut f = base(
                    env,
                    "shift-too-long",
                    s.file_id,
                    s.line,
                    &s.id,
                    format!(
                        "shift `{}` lasts {} min, longer than max_shift_hours = {}",
                        s.id,
                        real / 60,
                        env.cfg.max_shift_hours
                    ),
                );
                f.field = Some(ev.column(false).into());
                f.value = Some(end_text.to_string());
                f.help = "check the end date; if such shifts are real, raise `max_shift_hours` in zd2gc.toml".into();
                f.week = Some(week);
                env.sink.push(f);
            }
            // The wall-clock difference in the row's zone (absolute values read on that clock).
            let wall = match zone {
                ZoneSel::Zone(_) => {
                    let la = if sv.is_local() {
                        sv.secs
                    } else {
                        env.zones.local_of(zone, a)
                    };
                    let lb = if ev.is_local() {
                        ev.secs
                    } else {
                        env.zones.local_of(zone, b)
                    };
                    Some(lb - la)
                }
                _ if sv.is_local() && ev.is_local() => Some(ev.secs - sv.secs),
                _ => None,
            };
            if let Some(wall) = wall
                && real != wall
            {
                let mut f = base(
                    env,
                    "dst-length-change",
                    s.file_id,
                    s.line,
                    &s.id,
                    format!(
                        "shift `{}` ({start_text} → {end_text}) crosses a DST transition: it lasts {} min, not the {} min of its wall clock",
                        s.id,
                        real / 60,
                        wall / 60
                    ),
                );
                f.severity = Severity::Info;
                f.field = Some(ev.column(false).into());
                f.value = Some(end_text.to_string());
                f.timezone = env.zone_name(zone);
                f.help = "nothing to do if the real length is meant (pay and adherence follow it)"
                    .into();
                f.week = Some(week);
                f.candidates = Some(vec![]);
                env.sink.push(f);
            }
        }
    }
    Resolved2 {
        zone,
        start: a,
        end: b,
        sv,
        ev,
        start_raw: s.start_text.clone(),
        end_raw: s.end_text.clone(),
    }
}

fn task_rules(env: &mut Env<'_>, t: &TaskBuf, shift_id: &str, sh: &Resolved2) {
    let (fa, fb) = split(t.fmt);
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

/// One shift of an agent in the overlap pass.
struct Item {
    start: i64,
    end: i64,
    file_id: i64,
    line: i64,
    id: String,
    parent: Option<String>,
    draft: bool,
    sv: TimeVal,
    ev: TimeVal,
    field: &'static str,
}

/// Pass 2: shifts by agent.
pub fn check_overlaps(env: &mut Env<'_>, snap: &Connection) -> Result<()> {
    let mut st = snap.prepare(
        "SELECT file_id, line, shift_id, agent_id, start, end, fmt, timezone, published, parent_id
         FROM shifts ORDER BY agent_id, start",
    )?;
    let mut rows = st.query([])?;
    let mut agent = String::new();
    let mut items: Vec<Item> = Vec::new();
    let policy = env.cfg.dst_ambiguous;
    loop {
        let r = rows.next()?;
        let same = match r {
            Some(r) => opt_str(r, 3)?.unwrap_or_default() == agent,
            None => false,
        };
        if !same {
            agent_done(env, &agent, &mut items);
        }
        let Some(r) = r else { break };
        if !same {
            agent.clear();
            agent.push_str(opt_str(r, 3)?.unwrap_or_default());
        }
        let published: Option<i64> = r.get(8)?;
        if !included(env.cfg, published) {
            continue;
        }
        let (fa, fb) = split(r.get(6)?);
        let sv = TimeVal {
            secs: r.get(4)?,
            fmt: fa,
        };
        let ev = TimeVal {
            secs: r.get(5)?,
            fmt: fb,
        };
        let zone = env.row_zone(opt_str(r, 7)?, &agent);
        let (Some(a), Some(b)) = (
            env.zones.instant(zone, sv, policy),
            env.zones.instant(zone, ev, policy),
        ) else {
            continue;
        };
        if b <= a {
            continue;
        }
        items.push(Item {
            start: a,
            end: b,
            file_id: r.get(0)?,
            line: r.get(1)?,
            id: r.get(2)?,
            parent: r.get(9)?,
            draft: published == Some(0),
            sv,
            ev,
            field: sv.column(true),
        });
    }
    Ok(())
}

fn agent_done(env: &mut Env<'_>, agent: &str, items: &mut Vec<Item>) {
    if items.is_empty() {
        return;
    }
    items.sort_by_key(|x| (x.start, x.file_id, x.line));
    // A repeated shift id is one shift (its duplicate/conflict is reported by pass 1); a draft edit
    // replaces its parent.
    let mut seen = std::collections::HashSet::new();
    let replaced: std::collections::HashSet<String> = items
        .iter()
        .filter(|i| i.draft)
        .filter_map(|i| i.parent.clone())
        .collect();
    items.retain(|i| !replaced.contains(&i.id) && seen.insert(i.id.clone()));

    let info = env.agents.get(agent).cloned();
    if let Some(info) = &info
        && info.deactivated
        && let Some(fut) = items.iter().find(|i| i.start > env.extracted_at)
    {
        let n = items.iter().filter(|i| i.start > env.extracted_at).count();
        let mut f = Finding::new(
            "deactivated-agent",
            Severity::Warning,
            format!(
                "agent `{agent}` is deactivated but owns {n} shift{} after the export (the first: `{}` at {})",
                if n == 1 { "" } else { "s" },
                fut.id,
                timeval::render(fut.sv)
            ),
        );
        f.file = env.file(info.file_id);
        f.line = Some(info.line as u64);
        f.record_id = Some(agent.to_string());
        f.field = Some("deactivated".into());
        f.value = Some("true".into());
        f.help = "reassign or delete the agent's future shifts in Zendesk before the export, or reactivate the agent".into();
        env.sink.push(f);
    }

    // Sweep: every earlier shift still running when this one starts overlaps it.
    let mut active: Vec<usize> = Vec::new();
    for i in 0..items.len() {
        active.retain(|&j| items[j].end > items[i].start);
        for &j in &active {
            let (x, y) = (&items[i], &items[j]);
            let mut f = Finding::new(
                "shift-overlap",
                Severity::Error,
                format!(
                    "shift `{}` ({} → {}) of agent `{agent}` overlaps its shift `{}` ({} → {}, {}:{}); the later-starting one is held back",
                    x.id,
                    timeval::render(x.sv),
                    timeval::render(x.ev),
                    y.id,
                    timeval::render(y.sv),
                    timeval::render(y.ev),
                    env.file(y.file_id).unwrap_or_default(),
                    y.line
                ),
            );
            f.file = env.file(x.file_id);
            f.line = Some(x.line as u64);
            f.record_id = Some(x.id.clone());
            f.field = Some(x.field.into());
            f.value = Some(timeval::render(x.sv));
            f.help = format!(
                "remove or shorten one of `{}` and `{}` in the export",
                y.id, x.id
            );
            f.week = Some(week_of(x.start));
            env.sink.push(f);
        }
        active.push(i);
    }
    items.clear();
}
