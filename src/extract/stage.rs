//! The staged snapshot: `snapshot.db`, a SQLite file written fresh by every `extract` and renamed
//! into place only when complete, so a crash mid-extract leaves the previous snapshot intact.
//!
//! Written by one thread, in one transaction, with bulk settings that are safe only because the file
//! is new and unused until the rename (no journal, no sync until the end). Times are compact integers
//! (`timeval`), texts kept only where they cannot be rebuilt. Tasks, most of an export's rows, are
//! stored compactly (see [`TASKS_SCHEMA`]): their shift id once per run of tasks, their name as a
//! number into a dictionary, their end as a length, their line as an offset from their row number,
//! an id of the usual shape as a number, their RFC 3339 texts apart.

use super::records::{AgentRow, Reject, ShiftRow, TaskRow, TimeOffRow, TradeRow};
use super::source::FileStats;
use crate::error::{Error, Result};
use rusqlite::{Connection, OptionalExtension, params};
use std::path::{Path, PathBuf};
use std::sync::mpsc::Receiver;

/// Version of the snapshot's schema (`PRAGMA user_version` of snapshot.db).
/// 3: tasks in `task_rows`, their shift ids in `task_runs`, their names in `task_names`; the view
/// `tasks` shows them as schema 2 stored them.
/// 4: a task's line as an offset from its row number, its id as a number when it is its file's
/// prefix and a decimal number, its texts in `task_texts` (only when present), a run's length
/// instead of its last row, the runs' index over the shift id alone; the view `tasks` unchanged.
pub const SNAPSHOT_SCHEMA: i64 = 4;

pub const SCHEMA: &str = r#"
CREATE TABLE snapshot_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE files (
    file_id INTEGER PRIMARY KEY, kind TEXT NOT NULL, name TEXT NOT NULL, format TEXT NOT NULL,
    bytes INTEGER NOT NULL, sha256 TEXT NOT NULL,
    rows_read INTEGER NOT NULL, staged INTEGER NOT NULL, rejected INTEGER NOT NULL, nested_tasks INTEGER NOT NULL
);
CREATE TABLE agents (
    file_id INTEGER NOT NULL, line INTEGER NOT NULL, agent_id TEXT NOT NULL, name TEXT, email TEXT,
    timezone TEXT, location TEXT, team TEXT, deactivated INTEGER
);
-- start/end: naive local seconds (fmt kind 0) or UTC seconds (kinds 1, 2); fmt = start_fmt | end_fmt << 8;
-- start_text/end_text only for RFC 3339 values (kept exactly as written).
CREATE TABLE shifts (
    file_id INTEGER NOT NULL, line INTEGER NOT NULL, shift_id TEXT NOT NULL, agent_id TEXT NOT NULL,
    start INTEGER NOT NULL, end INTEGER NOT NULL, fmt INTEGER NOT NULL, start_text TEXT, end_text TEXT,
    timezone TEXT, published INTEGER, parent_id TEXT
);
CREATE TABLE trades (
    file_id INTEGER NOT NULL, line INTEGER NOT NULL, trade_id TEXT NOT NULL, swap_request_id TEXT NOT NULL,
    status TEXT NOT NULL, requester_agent_id TEXT NOT NULL, requester_shift_id TEXT NOT NULL,
    recipient_agent_id TEXT NOT NULL, recipient_shift_id TEXT,
    requester_shift_start_local TEXT, recipient_shift_start_local TEXT,
    created_at_local TEXT, resolved_at_local TEXT, timezone TEXT
);
CREATE TABLE time_off (
    file_id INTEGER NOT NULL, line INTEGER NOT NULL, time_off_request_id TEXT NOT NULL, agent_id TEXT NOT NULL,
    start INTEGER NOT NULL, end INTEGER NOT NULL, fmt INTEGER NOT NULL, start_text TEXT, end_text TEXT,
    status TEXT, reason TEXT, full_day INTEGER,
    dates INTEGER NOT NULL, paid INTEGER, minutes_per_day INTEGER, notes TEXT, timezone TEXT
);
CREATE TABLE rejects (
    file_id INTEGER NOT NULL, line INTEGER NOT NULL, code TEXT NOT NULL, field TEXT, message TEXT NOT NULL,
    value TEXT, text TEXT NOT NULL, record_id TEXT, shift_id TEXT
);
"#;

/// The tasks file (written by its own thread; see [`Staging`]).
///
/// `task_rows` holds the tasks in the order they were staged (the file's order), numbered from 1 by
/// their rowid. Consecutive tasks that name the same shift id form a run, one `task_runs` row
/// (its `first` task row, its number of tasks `n`, the shift id as written): an export lists its
/// tasks shift by shift, so a shift id is stored once instead of once per task, and the runs'
/// index replaces an index over every task. A shift id whose tasks are not consecutive has several
/// runs. The shift id is the task's own, whether or not such a shift was staged (validate reports
/// the others).
///
/// What most tasks share is not stored per task (SQLite stores the integers 0 and 1 in no bytes):
/// - the line is `rowid + line_offset` (the offset changes only at a file's header, a rejected row,
///   a value over several lines or several tasks on one line, so it is mostly one constant);
/// - the task id, when it is its file's prefix (`task_id_prefixes`, fixed by the first id of that
///   shape) followed by a decimal number without leading zeros, is stored as the integer
///   `number - rowid` (0 when ids count up with the rows); any other id as written (text), none as
///   NULL. The column has no type, so a text id that looks like a number stays text;
/// - the name is a number into `task_names`; the end is `start + length` (same format rules as the
///   other times);
/// - the RFC 3339 texts (`start_text`, `end_text`) are in `task_texts`, only for tasks that have one.
///
/// The view `tasks` shows the columns of schema 2 (`task_row` is the rowid), rebuilt from these;
/// readers that scan every task join the tables themselves (see map and validate) and rebuild the
/// line with [`TASK_LINE`] and the id with [`TASK_ID`] or [`TaskIds`].
pub const TASKS_SCHEMA: &str = r#"
CREATE TABLE task_names (name_id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
CREATE TABLE task_id_prefixes (file_id INTEGER PRIMARY KEY, prefix TEXT NOT NULL);
CREATE TABLE task_runs (first INTEGER PRIMARY KEY, n INTEGER NOT NULL, shift_id TEXT NOT NULL);
CREATE TABLE task_rows (
    file_id INTEGER NOT NULL, line_offset INTEGER NOT NULL, task_id, name_id INTEGER NOT NULL,
    start INTEGER NOT NULL, length INTEGER NOT NULL, fmt INTEGER NOT NULL, paid INTEGER
);
CREATE TABLE task_texts (task_row INTEGER PRIMARY KEY, start_text TEXT, end_text TEXT);
CREATE VIEW tasks AS
    SELECT t.rowid AS task_row, t.file_id, t.rowid + t.line_offset AS line,
           CASE WHEN typeof(t.task_id) = 'integer'
                THEN (SELECT p.prefix FROM task_id_prefixes p WHERE p.file_id = t.file_id) || (t.rowid + t.task_id)
                ELSE t.task_id END AS task_id,
           r.shift_id, n.name, t.start, t.start + t.length AS "end", t.fmt, x.start_text, x.end_text, t.paid
    FROM task_runs r CROSS JOIN task_rows t ON t.rowid BETWEEN r.first AND r.first + r.n - 1
    CROSS JOIN task_names n ON n.name_id = t.name_id
    LEFT JOIN task_texts x ON x.task_row = t.rowid;
"#;

/// A task's line, of `task_rows t` (see [`TASKS_SCHEMA`]).
pub const TASK_LINE: &str = "t.rowid + t.line_offset";

/// A task's id as written, of `task_rows t` (see [`TASKS_SCHEMA`]).
pub const TASK_ID: &str = "CASE WHEN typeof(t.task_id) = 'integer'
    THEN (SELECT p.prefix FROM task_id_prefixes p WHERE p.file_id = t.file_id) || (t.rowid + t.task_id)
    ELSE t.task_id END";

/// The runs' tasks: `task_runs r` joined with its `task_rows t`.
pub const RUN_ROWS: &str =
    "task_runs r CROSS JOIN task_rows t ON t.rowid BETWEEN r.first AND r.first + r.n - 1";

/// A scan of the runs in shift-id order (the index, then the rowid `first`) followed by each run's
/// rows is in (shift id, task row) order: no sort.
pub const TASKS_INDEXES: &str = "CREATE INDEX task_runs_by_shift ON task_runs(shift_id);";

/// The tasks in shift-id order, each id's in file order (a scan of the runs' index and of each
/// run's rows): shift id, task row, file id, line, task id (stored form: see [`TaskIds`]), name
/// id, start, end, fmt.
pub const TASKS_BY_SHIFT_ID: &str = "SELECT r.shift_id, t.rowid, t.file_id, t.rowid + t.line_offset, t.task_id, t.name_id, t.start, t.start + t.length, t.fmt
     FROM task_runs r CROSS JOIN task_rows t ON t.rowid BETWEEN r.first AND r.first + r.n - 1
     ORDER BY r.shift_id, r.first, t.rowid";

/// The longest decimal number a task id is stored as (beyond it the id stays text).
const ID_DIGITS_MAX: usize = 18;

/// A task id as its file's prefix and a decimal number without leading zeros: (prefix, number).
fn split_task_id(id: &str) -> Option<(&str, i64)> {
    let digits = id.bytes().rev().take_while(u8::is_ascii_digit).count();
    let (prefix, num) = id.split_at(id.len() - digits);
    if num.is_empty() || num.len() > ID_DIGITS_MAX || (num.len() > 1 && num.starts_with('0')) {
        return None;
    }
    Some((prefix, num.parse().ok()?))
}

/// The task-id prefixes of a tasks file (`task_id_prefixes`): rebuild a task id from its stored
/// form in Rust (what [`TASK_ID`] does in SQL).
#[derive(Default)]
pub struct TaskIds {
    /// (file id, prefix): one a file of tasks, so a short list.
    prefixes: Vec<(i64, String)>,
}

impl TaskIds {
    /// Read the prefixes of the tasks file attached to `conn`.
    pub fn load(conn: &Connection) -> Result<TaskIds> {
        let mut st = conn.prepare("SELECT file_id, prefix FROM task_id_prefixes")?;
        let prefixes = st
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        Ok(TaskIds { prefixes })
    }

    /// Write the id of task row `rowid` of file `file_id`, stored as `v`, into `out`; false when the
    /// task has none.
    pub fn write(
        &self,
        file_id: i64,
        rowid: i64,
        v: rusqlite::types::ValueRef<'_>,
        out: &mut String,
    ) -> Result<bool> {
        use rusqlite::types::ValueRef;
        out.clear();
        match v {
            ValueRef::Null => Ok(false),
            ValueRef::Integer(k) => {
                let (_, prefix) = self.prefixes.iter().find(|p| p.0 == file_id).ok_or_else(|| {
                    Error::failure(
                        format!("the snapshot's task row {rowid} has a numbered id but its file {file_id} no id prefix"),
                        Some("run `zd2gc extract` again".into()),
                    )
                })?;
                out.push_str(prefix);
                out.push_str(itoa::Buffer::new().format(rowid + k));
                Ok(true)
            }
            _ => {
                out.push_str(v.as_str().map_err(rusqlite::Error::from)?);
                Ok(true)
            }
        }
    }
}

/// Rows inserted by one statement: its step, reset and halt are paid once for them, not once a
/// row (see [`insert_rows`]).
const ROWS_PER_INSERT: usize = 32;

/// The INSERTs of one table: for one row and for [`ROWS_PER_INSERT`] rows.
struct Insert {
    columns: usize,
    one: String,
    many: String,
}

impl Insert {
    fn new(head: &str, columns: usize) -> Insert {
        let row = format!("({})", vec!["?"; columns].join(","));
        Insert {
            columns,
            one: format!("{head} VALUES {row}"),
            many: format!("{head} VALUES {}", vec![row; ROWS_PER_INSERT].join(",")),
        }
    }
}

static SHIFT_INSERT: std::sync::LazyLock<Insert> =
    std::sync::LazyLock::new(|| Insert::new("INSERT INTO shifts", 12));
static TASK_INSERT: std::sync::LazyLock<Insert> = std::sync::LazyLock::new(|| {
    Insert::new(
        "INSERT INTO task_rows (rowid, file_id, line_offset, task_id, name_id, start, length, fmt, paid)",
        9,
    )
});
static RUN_INSERT: std::sync::LazyLock<Insert> =
    std::sync::LazyLock::new(|| Insert::new("INSERT INTO task_runs (first, n, shift_id)", 3));

/// Insert `rows`, [`ROWS_PER_INSERT`] a statement and the rest one at a time, in order: `bind`
/// binds one row's values from parameter `base + 1` on.
fn insert_rows<T>(
    c: &Connection,
    ins: &Insert,
    rows: &[T],
    mut bind: impl FnMut(&mut rusqlite::CachedStatement<'_>, usize, &T) -> Result<()>,
) -> Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let mut many = c.prepare_cached(&ins.many)?;
    let mut one = c.prepare_cached(&ins.one)?;
    for chunk in rows.chunks(ROWS_PER_INSERT) {
        if chunk.len() == ROWS_PER_INSERT {
            for (k, r) in chunk.iter().enumerate() {
                bind(&mut many, k * ins.columns, r)?;
            }
            many.raw_execute()?;
        } else {
            for r in chunk {
                bind(&mut one, 0, r)?;
                one.raw_execute()?;
            }
        }
    }
    Ok(())
}

/// Task names the writer keeps in memory; past this many distinct names it asks `task_names`.
const NAMES_IN_MEMORY: usize = 4096;

/// The tasks writer's state: the run being written and the names seen.
#[derive(Default)]
struct Runs {
    /// The rowid the next task gets.
    next: i64,
    /// The open run: its first task row and shift id (`first == 0`: none).
    first: i64,
    shift_id: String,
    /// Closed runs not yet inserted: (first, last, shift id).
    closed: Vec<(i64, i64, String)>,
    names: std::collections::HashMap<String, i64>,
    /// Each file's task-id prefix (`None`: no id of that shape seen yet).
    prefixes: std::collections::HashMap<i64, Option<String>>,
}

/// Indexes built once the rows are in (faster than maintaining them row by row).
pub const INDEXES: &str = r#"
CREATE INDEX shifts_by_id ON shifts(shift_id);
CREATE INDEX shifts_by_agent ON shifts(agent_id, start);
CREATE INDEX trades_by_id ON trades(trade_id);
CREATE INDEX agents_by_id ON agents(agent_id);
CREATE INDEX time_off_by_id ON time_off(time_off_request_id);
"#;

/// What the readers send the writer.
pub enum Batch {
    Agents(i64, Vec<AgentRow>),
    Shifts(i64, Vec<ShiftRow>),
    Tasks(i64, Vec<TaskRow>),
    Trades(i64, Vec<TradeRow>),
    TimeOff(i64, Vec<TimeOffRow>),
    Rejects(i64, Vec<Reject>),
}

impl Batch {
    pub fn len(&self) -> usize {
        match self {
            Batch::Agents(_, v) => v.len(),
            Batch::Shifts(_, v) => v.len(),
            Batch::Tasks(_, v) => v.len(),
            Batch::Trades(_, v) => v.len(),
            Batch::TimeOff(_, v) => v.len(),
            Batch::Rejects(_, _) => 0,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn b(v: Option<bool>) -> Option<i64> {
    v.map(i64::from)
}

/// One SQLite file being written by one thread: no journal, no sync, exclusive, one transaction.
pub struct Writer {
    conn: Connection,
    tmp: PathBuf,
    runs: Runs,
}

impl Writer {
    fn create(tmp: PathBuf, schema: &str) -> Result<Writer> {
        let _ = std::fs::remove_file(&tmp);
        let conn = Connection::open(&tmp)?;
        crate::store::restrict_permissions(&tmp);
        // 4 MB of page cache per file. The inserts only append (rowid order, the indexes are
        // built at the end), so a bigger cache held nothing the writer needed again; it also sizes
        // the sorter of the index build (runs of up to cache_size bytes in memory, merged from
        // temporary files; 4 MB is SQLite's smallest run at 16 KiB pages). With 32 MB both caches
        // and both sorters filled only on a large export: peak RSS 150 MB at 1.3 M shifts against
        // 50 MB at a tenth; with 4 MB, 54 MB against 37-45 MB, at the same CPU.
        conn.execute_batch(
            "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF; PRAGMA locking_mode = EXCLUSIVE;
             PRAGMA page_size = 16384; PRAGMA cache_size = -4096; PRAGMA temp_store = FILE;",
        )?;
        conn.execute_batch(schema)?;
        conn.pragma_update(None, "user_version", SNAPSHOT_SCHEMA)?;
        conn.execute_batch("BEGIN")?;
        Ok(Writer {
            conn,
            tmp,
            runs: Runs {
                next: 1,
                ..Runs::default()
            },
        })
    }

    /// Insert everything the readers send until they all hang up.
    pub fn consume(&mut self, rx: Receiver<Batch>, progress: &(dyn Fn(u64) + Sync)) -> Result<()> {
        let c = &self.conn;
        for batch in rx {
            progress(batch.len() as u64);
            match batch {
                Batch::Agents(f, rows) => {
                    let mut ins_agent =
                        c.prepare_cached("INSERT INTO agents VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9)")?;
                    for r in rows {
                        ins_agent.execute(params![
                            f,
                            r.line as i64,
                            r.agent_id,
                            r.name,
                            r.email,
                            r.timezone,
                            r.location,
                            r.team,
                            b(r.deactivated)
                        ])?;
                    }
                }
                Batch::Shifts(f, rows) => {
                    insert_rows(c, &SHIFT_INSERT, &rows, |st, i, r| {
                        let fmt = crate::timeval::pack_fmt(r.start.val.fmt, r.end.val.fmt);
                        st.raw_bind_parameter(i + 1, f)?;
                        st.raw_bind_parameter(i + 2, r.line as i64)?;
                        st.raw_bind_parameter(i + 3, &r.shift_id)?;
                        st.raw_bind_parameter(i + 4, &r.agent_id)?;
                        st.raw_bind_parameter(i + 5, r.start.val.secs)?;
                        st.raw_bind_parameter(i + 6, r.end.val.secs)?;
                        st.raw_bind_parameter(i + 7, fmt)?;
                        st.raw_bind_parameter(i + 8, r.start.text.as_deref())?;
                        st.raw_bind_parameter(i + 9, r.end.text.as_deref())?;
                        st.raw_bind_parameter(i + 10, r.timezone.as_deref())?;
                        st.raw_bind_parameter(i + 11, b(r.published))?;
                        st.raw_bind_parameter(i + 12, r.parent_id.as_deref())?;
                        Ok(())
                    })?;
                }
                Batch::Tasks(f, rows) => {
                    let runs = &mut self.runs;
                    let mut texts = Vec::new();
                    insert_rows(c, &TASK_INSERT, &rows, |st, i, r| {
                        let row = Self::task_row(runs, r.shift_id())?;
                        let name_id = Self::name_id(c, &mut runs.names, r.name())?;
                        let fmt = crate::timeval::pack_fmt(r.start.val.fmt, r.end.val.fmt);
                        st.raw_bind_parameter(i + 1, row)?;
                        st.raw_bind_parameter(i + 2, f)?;
                        st.raw_bind_parameter(i + 3, r.line as i64 - row)?;
                        match Self::task_id_number(c, &mut runs.prefixes, f, r.task_id())? {
                            Some(n) => st.raw_bind_parameter(i + 4, n - row)?,
                            None => st.raw_bind_parameter(i + 4, r.task_id())?,
                        }
                        st.raw_bind_parameter(i + 5, name_id)?;
                        st.raw_bind_parameter(i + 6, r.start.val.secs)?;
                        st.raw_bind_parameter(i + 7, r.end.val.secs - r.start.val.secs)?;
                        st.raw_bind_parameter(i + 8, fmt)?;
                        st.raw_bind_parameter(i + 9, b(r.paid))?;
                        if r.start.text.is_some() || r.end.text.is_some() {
                            texts.push(row);
                        }
                        Ok(())
                    })?;
                    if !texts.is_empty() {
                        let mut ins = c.prepare_cached(
                            "INSERT INTO task_texts (task_row, start_text, end_text) VALUES (?1, ?2, ?3)",
                        )?;
                        // The rows' numbers are consecutive from the batch's first.
                        let base = runs.next - rows.len() as i64;
                        for row in texts {
                            let r = &rows[(row - base) as usize];
                            ins.execute(params![
                                row,
                                r.start.text.as_deref(),
                                r.end.text.as_deref()
                            ])?;
                        }
                    }
                    Self::insert_runs(c, &mut self.runs, false)?;
                }
                Batch::Trades(f, rows) => {
                    let mut ins_trade = c.prepare_cached("INSERT INTO trades VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14)")?;
                    for r in rows {
                        let v = &r.vals;
                        ins_trade.execute(params![
                            f,
                            r.line as i64,
                            v[0],
                            v[1],
                            v[2],
                            v[3],
                            v[4],
                            v[5],
                            v[6],
                            v[7],
                            v[8],
                            v[9],
                            v[10],
                            v[11]
                        ])?;
                    }
                }
                Batch::TimeOff(f, rows) => {
                    let mut ins_off = c.prepare_cached(
                        "INSERT INTO time_off VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17)",
                    )?;
                    for r in rows {
                        let fmt = crate::timeval::pack_fmt(r.start.val.fmt, r.end.val.fmt);
                        ins_off.execute(params![
                            f,
                            r.line as i64,
                            r.id,
                            r.agent_id,
                            r.start.val.secs,
                            r.end.val.secs,
                            fmt,
                            r.start.text,
                            r.end.text,
                            r.status,
                            r.reason,
                            b(r.full_day),
                            r.dates,
                            b(r.paid),
                            r.minutes_per_day,
                            r.notes,
                            r.timezone
                        ])?;
                    }
                }
                Batch::Rejects(f, rows) => {
                    let mut ins_rej = c.prepare_cached(
                        "INSERT INTO rejects VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9)",
                    )?;
                    for r in rows {
                        ins_rej.execute(params![
                            f,
                            r.line as i64,
                            r.code,
                            r.field,
                            r.message,
                            r.value,
                            r.text,
                            r.record_id,
                            r.shift_id
                        ])?;
                    }
                }
            }
        }
        Self::close_run(&mut self.runs)?;
        Self::insert_runs(c, &mut self.runs, true)?;
        Ok(())
    }

    /// The rowid of the next task, which names `shift_id`: it extends the open run or starts one.
    fn task_row(runs: &mut Runs, shift_id: &str) -> Result<i64> {
        if runs.first != 0 && runs.shift_id != shift_id {
            Self::close_run(runs)?;
        }
        if runs.first == 0 {
            runs.first = runs.next;
            runs.shift_id.clear();
            runs.shift_id.push_str(shift_id);
        }
        runs.next += 1;
        Ok(runs.next - 1)
    }

    /// Close the open run, if any (its last task is the one before `next`).
    fn close_run(runs: &mut Runs) -> Result<()> {
        if runs.first != 0 {
            runs.closed.push((
                runs.first,
                runs.next - 1,
                std::mem::take(&mut runs.shift_id),
            ));
            runs.first = 0;
        }
        Ok(())
    }

    /// Insert the closed runs: all of them (`all`), or whole statements' worth.
    fn insert_runs(c: &Connection, runs: &mut Runs, all: bool) -> Result<()> {
        let n = if all {
            runs.closed.len()
        } else {
            runs.closed.len() / ROWS_PER_INSERT * ROWS_PER_INSERT
        };
        insert_rows(
            c,
            &RUN_INSERT,
            &runs.closed[..n],
            |st, i, (first, last, sid)| {
                st.raw_bind_parameter(i + 1, first)?;
                st.raw_bind_parameter(i + 2, last - first + 1)?;
                st.raw_bind_parameter(i + 3, sid.as_str())?;
                Ok(())
            },
        )?;
        runs.closed.drain(..n);
        Ok(())
    }

    /// The number a task id is stored as (see [`TASKS_SCHEMA`]): `Some` when the id is file `f`'s
    /// prefix and a decimal number; the first such id of a file fixes its prefix.
    fn task_id_number(
        c: &Connection,
        prefixes: &mut std::collections::HashMap<i64, Option<String>>,
        f: i64,
        id: Option<&str>,
    ) -> Result<Option<i64>> {
        let Some((prefix, n)) = id.and_then(split_task_id) else {
            return Ok(None);
        };
        let known = prefixes.entry(f).or_default();
        match known {
            Some(p) => Ok((p == prefix).then_some(n)),
            None => {
                c.prepare_cached("INSERT INTO task_id_prefixes (file_id, prefix) VALUES (?1, ?2)")?
                    .execute(params![f, prefix])?;
                *known = Some(prefix.to_string());
                Ok(Some(n))
            }
        }
    }

    /// The number of a task name in `task_names`, added when new.
    fn name_id(
        c: &Connection,
        names: &mut std::collections::HashMap<String, i64>,
        name: &str,
    ) -> Result<i64> {
        if let Some(&id) = names.get(name) {
            return Ok(id);
        }
        // While every name is in memory, a name not there is new; past that, ask the table.
        let known: Option<i64> = if names.len() < NAMES_IN_MEMORY {
            None
        } else {
            c.prepare_cached("SELECT name_id FROM task_names WHERE name = ?1")?
                .query_row([name], |r| r.get(0))
                .optional()?
        };
        let id = match known {
            Some(id) => id,
            None => {
                c.prepare_cached("INSERT INTO task_names (name) VALUES (?1)")?
                    .execute([name])?;
                c.last_insert_rowid()
            }
        };
        if names.len() < NAMES_IN_MEMORY {
            names.insert(name.to_string(), id);
        }
        Ok(id)
    }

    /// Build the indexes, commit, close and fsync.
    fn seal(self, indexes: &str) -> Result<PathBuf> {
        self.conn.execute_batch(indexes)?;
        self.conn.execute_batch("COMMIT")?;
        let Writer { conn, tmp, .. } = self;
        conn.close().map_err(|(_, e)| Error::Db(e))?;
        let f = std::fs::File::open(&tmp).map_err(|e| Error::io(&tmp, e))?;
        f.sync_all().map_err(|e| Error::io(&tmp, e))?;
        Ok(tmp)
    }
}

/// A snapshot being written: the main file (agents, shifts, trades, time off, rejects) and the tasks
/// file, each by its own thread so the two cores share the inserts and the index builds. It becomes
/// the snapshot on [`Staging::commit`]: the tasks file is renamed to a fresh unique name, then the main
/// file (which names it) replaces `snapshot.db` in one rename. A crash at any point leaves the previous
/// snapshot whole; leftovers are removed by the next extract.
pub struct Staging {
    pub main: Writer,
    pub tasks: Writer,
    target: PathBuf,
    tasks_name: String,
}

impl Staging {
    /// Create fresh staging files beside `target` (removing leftovers of a crashed extract).
    pub fn create(target: &Path) -> Result<Staging> {
        crate::store::sqlite_init();
        let dir = target.parent().map(Path::to_path_buf).unwrap_or_default();
        remove_stale(&dir, target);
        let pid = std::process::id();
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let main = Writer::create(target.with_extension(format!("db.tmp-{pid}")), SCHEMA)?;
        let tasks = Writer::create(
            dir.join(format!("{TASKS_PREFIX}{pid}-{nanos}.db.tmp-{pid}")),
            TASKS_SCHEMA,
        )?;
        Ok(Staging {
            main,
            tasks,
            target: target.to_path_buf(),
            tasks_name: format!("{TASKS_PREFIX}{pid}-{nanos}.db"),
        })
    }

    /// Record the files and the snapshot's identity, build the indexes (both files at once), make
    /// both durable, and switch `snapshot.db` to the new snapshot.
    pub fn commit(self, files: &[FileStats], meta: &[(&str, String)]) -> Result<()> {
        let Staging {
            main,
            tasks,
            target,
            tasks_name,
        } = self;
        {
            let c = &main.conn;
            for f in files {
                c.execute(
                    "INSERT INTO files VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10)",
                    params![
                        f.file_id,
                        f.kind,
                        f.file,
                        f.format,
                        f.bytes as i64,
                        f.sha256,
                        f.rows_read as i64,
                        f.staged as i64,
                        f.rejected as i64,
                        f.nested_tasks as i64
                    ],
                )?;
            }
            for (k, v) in meta {
                c.execute("INSERT INTO snapshot_meta VALUES (?1, ?2)", params![k, v])?;
            }
            c.execute(
                "INSERT INTO snapshot_meta VALUES ('tasks_file', ?1)",
                [&tasks_name],
            )?;
        }
        let (main_tmp, tasks_tmp) = std::thread::scope(|s| {
            let t = s.spawn(|| tasks.seal(TASKS_INDEXES));
            let m = main.seal(INDEXES);
            (m, t.join().expect("index thread panicked"))
        });
        let (main_tmp, tasks_tmp) = (main_tmp?, tasks_tmp?);
        let dir = target.parent().map(Path::to_path_buf).unwrap_or_default();
        let tasks_final = dir.join(&tasks_name);
        std::fs::rename(&tasks_tmp, &tasks_final).map_err(|e| Error::io(&tasks_final, e))?;
        sync_dir(&dir);
        std::fs::rename(&main_tmp, &target).map_err(|e| Error::io(&target, e))?;
        sync_dir(&dir);
        remove_stale(&dir, &target);
        Ok(())
    }

    /// Drop the staging files (the previous snapshot stays).
    pub fn abandon(self) {
        for w in [self.main, self.tasks] {
            let Writer { conn, tmp, .. } = w;
            drop(conn);
            let _ = std::fs::remove_file(&tmp);
        }
    }
}

fn sync_dir(dir: &Path) {
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
}

pub const TASKS_PREFIX: &str = "snapshot-tasks-";

/// The tasks file the current snapshot names, if any.
fn current_tasks_file(target: &Path) -> Option<String> {
    let c = Connection::open_with_flags(target, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).ok()?;
    c.query_row(
        "SELECT value FROM snapshot_meta WHERE key = 'tasks_file'",
        [],
        |r| r.get(0),
    )
    .ok()
}

/// Remove what killed extracts left: `*.tmp-<pid>` files whose process is gone, and tasks files the
/// current snapshot does not name.
fn remove_stale(dir: &Path, target: &Path) {
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    let keep = current_tasks_file(target);
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name();
        let Some(name) = name.to_str() else { continue };
        let tmp_pid = name
            .rsplit_once(".tmp-")
            .and_then(|(_, p)| p.parse::<u32>().ok());
        let stale = match tmp_pid {
            Some(pid) => pid != std::process::id() && !Path::new(&format!("/proc/{pid}")).exists(),
            None => {
                name.starts_with(TASKS_PREFIX)
                    && name.ends_with(".db")
                    && keep.as_deref() != Some(name)
            }
        };
        if stale && (name.starts_with("snapshot")) {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

/// Open the current snapshot read-only; a clear error when there is none yet.
pub fn open_snapshot(dir: &Path) -> Result<Connection> {
    crate::store::sqlite_init();
    let p = crate::store::snapshot_path(dir);
    if !p.exists() {
        return Err(Error::usage(
            format!("no staged export in {}", dir.display()),
            Some("run `zd2gc extract EXPORT_DIR` first".into()),
        ));
    }
    // Read-only, and without SQLite's per-call connection mutex (a connection is used by one thread
    // at a time; with the mutex every column read locks and unlocks it).
    let c = Connection::open_with_flags(
        &p,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    let v: i64 = c.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if v != SNAPSHOT_SCHEMA {
        let by = if v < SNAPSHOT_SCHEMA {
            "an older"
        } else {
            "a newer"
        };
        return Err(Error::usage(
            format!(
                "the staged export in {} was written by {by} zd2gc (snapshot schema {v}; this zd2gc reads schema {SNAPSHOT_SCHEMA})",
                dir.display()
            ),
            Some(
                "run `zd2gc extract EXPORT_DIR` again with this zd2gc: it stages the export anew and keeps the state database (mappings, crosswalk, load journal)".into(),
            ),
        ));
    }
    attach_tasks(&c, dir, "snapshot_tasks")?;
    Ok(c)
}

/// Attach the snapshot's tasks file to a connection that has the main snapshot file as `main` or
/// attached: unqualified `tasks` then resolves to it. Use this (or [`open_snapshot`]) rather than
/// opening the files by hand.
pub fn attach_tasks(conn: &Connection, dir: &Path, schema: &str) -> Result<()> {
    let name = current_tasks_file(&crate::store::snapshot_path(dir)).ok_or_else(|| {
        Error::failure(
            "snapshot.db names no tasks file",
            Some("run `zd2gc extract` again".into()),
        )
    })?;
    let path = dir.join(name);
    conn.execute(
        "ATTACH DATABASE ?1 AS ?2",
        params![path.display().to_string(), schema],
    )?;
    Ok(())
}
