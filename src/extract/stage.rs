//! The staged snapshot: `snapshot.db`, a SQLite file written fresh by every `extract` and renamed
//! into place only when complete, so a crash mid-extract leaves the previous snapshot intact.
//!
//! Written by one thread, in one transaction, with bulk settings that are safe only because the file
//! is new and unused until the rename (no journal, no sync until the end). Times are compact integers
//! (`timeval`), texts kept only where they cannot be rebuilt. Tasks, most of an export's rows, are
//! stored compactly (see [`TASKS_SCHEMA`]): their shift id once per run of tasks, their name as a
//! number into a dictionary, their end as a length, their line as an offset from their row number,
//! an id of the usual shape as a number, their RFC 3339 texts apart.

use super::records::{AgentRow, Reject, ShiftRow, TaskBatch, TaskRow, TimeOffRow, TradeRow};
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
/// 5: each run's tasks packed into one text of its `task_runs` row (no `task_rows`), the runs a
/// WITHOUT ROWID table in (shift id, first task) order (no index), `paid` beside the name in
/// `task_names`, the task count in `snapshot_meta`; the view `tasks` unchanged.
/// 6: the index `shifts_by_agent` over the agent id alone (validate's overlap pass orders an
/// agent's shifts itself; 26.0 -> 19.5 MB at 1.3 M shifts).
/// 7: a task id that is a canonical lowercase UUID is kept as its 16 bytes ([`crate::store::uuid16`])
/// after the run's text (`tasks` a BLOB: the text, a NUL, the packed ids), its field `*`; the view
/// `tasks` unchanged.
/// 8: shift ids kept as 16 bytes when every one is a canonical lowercase UUID, each table on its
/// own (see [`shift_id_str`]): the shifts in the table `shift_rows`, shown as text by the view
/// `shifts` (the columns of schema 7), the runs' `shift_id` in the tasks file (the view `tasks`
/// unchanged).
pub const SNAPSHOT_SCHEMA: i64 = 8;

/// How the snapshot keeps shift ids (snapshot schema 8), in `shift_rows.shift_id` and in
/// `task_runs.shift_id`, each table on its own: when every shift id of the table is a canonical
/// lowercase UUID ([`crate::store::uuid16`]), all are kept as their 16 bytes (a BLOB); otherwise all
/// are kept as written (TEXT). All or nothing, because SQLite orders every TEXT before every BLOB:
/// packing only some ids would break "in shift-id order", which map and validate read the tables in.
/// Among packed ids the byte order is the text's, so the order is the same either way.
///
/// Readers take a shift id as text with this function and look one up with
/// [`SHIFT_ID_MATCHES`] bound to [`shift_key`] (which matches it whichever way the table keeps it).
///
/// The shift id `v` of `shift_rows` or `task_runs` as text: a TEXT value as it is, a 16-byte BLOB
/// unpacked into `buf`.
pub fn shift_id_str<'a>(
    v: rusqlite::types::ValueRef<'a>,
    buf: &'a mut String,
) -> rusqlite::Result<&'a str> {
    match v {
        rusqlite::types::ValueRef::Blob(_) => {
            buf.clear();
            push_shift_id(v, buf)?;
            Ok(buf.as_str())
        }
        v => Ok(v.as_str()?),
    }
}

/// Append the text of the shift id `v` (as [`shift_id_str`]) to `out`.
pub fn push_shift_id(v: rusqlite::types::ValueRef<'_>, out: &mut String) -> rusqlite::Result<()> {
    match v {
        rusqlite::types::ValueRef::Blob(b) => {
            crate::store::uuid16::push_unpacked(packed_shift_id(b)?, out)
        }
        v => out.push_str(v.as_str()?),
    }
    Ok(())
}

/// The 16 bytes of a packed shift id (a BLOB of `shift_rows` or `task_runs`; see
/// [`shift_id_str`]), an error when the BLOB has another length.
pub fn packed_shift_id(b: &[u8]) -> rusqlite::Result<&[u8; 16]> {
    b.try_into().map_err(|_| {
        rusqlite::Error::FromSqlConversionFailure(
            b.len(),
            rusqlite::types::Type::Blob,
            "a packed shift id is 16 bytes".into(),
        )
    })
}

/// A look-up of one shift id, to put after `WHERE` (`shift_rows` or `task_runs`), its parameters
/// `?1` and `?2` bound to [`shift_key`]: the id as written, and as the table keeps it when packed.
pub const SHIFT_ID_MATCHES: &str = "shift_id IN (?1, ?2)";

/// The parameters of [`SHIFT_ID_MATCHES`] for `id`: its text, and its 16 bytes when it is a
/// canonical lowercase UUID (else its text again). A table keeps either form for all its ids, so
/// exactly the rows of `id` match.
pub fn shift_key(id: &str) -> (rusqlite::types::Value, rusqlite::types::Value) {
    use rusqlite::types::Value;
    let packed = match crate::store::uuid16::pack(id) {
        Some(p) => Value::Blob(p.to_vec()),
        None => Value::Text(id.to_string()),
    };
    (Value::Text(id.to_string()), packed)
}

pub static SCHEMA: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    r#"
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
-- shift_id: TEXT as written, or a 16-byte BLOB for every row when every id is a canonical
-- lowercase UUID (see shift_id_str in src/extract/stage.rs); the view `shifts` shows it as text.
CREATE TABLE shift_rows (
    file_id INTEGER NOT NULL, line INTEGER NOT NULL, shift_id BLOB NOT NULL, agent_id TEXT NOT NULL,
    start INTEGER NOT NULL, end INTEGER NOT NULL, fmt INTEGER NOT NULL, start_text TEXT, end_text TEXT,
    timezone TEXT, published INTEGER, parent_id TEXT
);
CREATE VIEW shifts AS
    SELECT file_id, line, SHIFT_ID_TEXT AS shift_id, agent_id, start, end, fmt, start_text,
           end_text, timezone, published, parent_id
    FROM shift_rows;
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
"#
    .replace("SHIFT_ID_TEXT", &shift_id_sql("shift_id"))
});

/// An SQL expression showing the shift id `col` of `shift_rows` or `task_runs` as text (see
/// [`shift_id_str`]).
pub fn shift_id_sql(col: &str) -> String {
    format!(
        "CASE WHEN typeof({col}) = 'blob' THEN {} ELSE {col} END",
        crate::store::uuid16::sql_text(col)
    )
}

/// The tasks file (written by its own thread; see [`Staging`]).
///
/// Tasks are numbered from 1 in the order they were staged (the file's order): a task's
/// `task_row`. Consecutive tasks of one file that name the same shift id form a run, one row of
/// `task_runs`, keyed by (shift id as written, its first task's number) and stored in that order
/// (WITHOUT ROWID: the table is its own index by shift id). A shift id whose tasks are not
/// consecutive has several runs. The shift id is the task's own, whether or not such a shift was
/// staged (validate reports the others).
///
/// A run's row holds its first task's values (`file_id`; `line_offset` = line − `first`;
/// `id_offset` = its id's number − `first`, 0 when its id is not numbered; `start`; `fmt`) and its
/// tasks in `tasks`: a text, or, when some of its tasks' ids are packed (`*` below), a BLOB of the
/// text's bytes, a NUL (never in the text) and the packed ids, 16 bytes each, in task order. The
/// text has one item a task, separated by `;`, each
/// `NAME,LENGTH[,GAP[,ID[,SKIP[,FMT]]]]` (trailing empty fields left out):
/// - `NAME`: the number of the task's name and paid flag in `task_names`;
/// - `LENGTH`: end − start, `GAP`: start − the previous task's end (the first task starts at
///   `start`; empty: 0); both in minutes, or `s` and seconds when not whole minutes;
/// - `ID`: empty: the file's prefix (`task_id_prefixes`, fixed by the first id of that shape)
///   followed by the previous task's number + 1 (the first task's: `first + id_offset`); `#D`:
///   the same plus `D`; `=TEXT`: any other id, as written, with `%`, `;`, `,` and NUL written
///   `%25`, `%3B`, `%2C` and `%00`; `*`: a canonical lowercase UUID, the run's next packed id (its
///   16 bytes, [`crate::store::uuid16`]; any other spelling of a UUID is `=TEXT`); `!`: no id. A
///   text, packed or missing id counts as a number too (the next task's default is one more). A number is used only for a prefix and a decimal number
///   without leading zeros of at most 18 digits; every other id stays text (`T007`, `12`, ...);
/// - `SKIP`: line − (the previous task's line + 1) (a header, a rejected row, a value over several
///   lines, several tasks on one JSON line; empty: 0; the first task's line is `first +
///   line_offset`);
/// - `FMT`: the task's time formats when they differ from the run's `fmt`.
///
/// The RFC 3339 texts (`start_text`, `end_text`) are in `task_texts`, only for tasks that have one.
///
/// The view `tasks` shows the columns of schema 2 (`task_row` is the task's number), decoding each
/// run with SQL (a recursive split and window sums); readers in Rust decode the runs with
/// [`RunTasks`] (map, validate) instead.
pub static TASKS_SCHEMA: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    r#"
CREATE TABLE task_names (name_id INTEGER PRIMARY KEY, name TEXT NOT NULL, paid INTEGER, UNIQUE (name, paid));
CREATE TABLE task_id_prefixes (file_id INTEGER PRIMARY KEY, prefix TEXT NOT NULL);
CREATE TABLE task_runs (
    shift_id BLOB NOT NULL, first INTEGER NOT NULL, file_id INTEGER NOT NULL,
    line_offset INTEGER NOT NULL, id_offset INTEGER NOT NULL, start INTEGER NOT NULL,
    fmt INTEGER NOT NULL, tasks BLOB NOT NULL,
    PRIMARY KEY (shift_id, first)
) WITHOUT ROWID;
CREATE TABLE task_texts (task_row INTEGER PRIMARY KEY, start_text TEXT, end_text TEXT);
CREATE VIEW tasks AS
    SELECT r.first + (j.value ->> 0) AS task_row, r.file_id AS file_id, j.value ->> 1 AS line,
           j.value ->> 2 AS task_id, RUN_SHIFT_ID AS shift_id, n.name AS name,
           j.value ->> 3 AS start, j.value ->> 4 AS "end", j.value ->> 5 AS fmt,
           x.start_text AS start_text, x.end_text AS end_text, n.paid AS paid
    FROM task_runs r
    CROSS JOIN json_each((
        WITH RECURSIVE s(k, rest, t) AS (
            SELECT -1, CASE WHEN typeof(r.tasks) = 'blob'
                            THEN CAST(substr(r.tasks, 1, instr(r.tasks, x'00') - 1) AS TEXT)
                            ELSE r.tasks END || ';', ''
            UNION ALL
            SELECT k + 1, substr(rest, instr(rest, ';') + 1),
                   substr(rest, 1, instr(rest, ';') - 1) || ',,,,,,'
            FROM s WHERE rest != ''),
        a(k, name, t) AS (
            SELECT k, CAST(t AS INTEGER), substr(t, instr(t, ',') + 1) FROM s WHERE k >= 0),
        b(k, name, len, t) AS (
            SELECT k, name,
                   CASE WHEN substr(t, 1, 1) = 's' THEN CAST(substr(t, 2) AS INTEGER)
                        ELSE 60 * CAST(t AS INTEGER) END,
                   substr(t, instr(t, ',') + 1) FROM a),
        c(k, name, len, gap, t) AS (
            SELECT k, name, len,
                   CASE WHEN substr(t, 1, 1) = 's' THEN CAST(substr(t, 2) AS INTEGER)
                        ELSE 60 * CAST(t AS INTEGER) END,
                   substr(t, instr(t, ',') + 1) FROM b),
        d(k, name, len, gap, id, t) AS (
            SELECT k, name, len, gap, substr(t, 1, instr(t, ',') - 1), substr(t, instr(t, ',') + 1)
            FROM c),
        e(k, name, len, gap, id, skip, fmt) AS (
            SELECT k, name, len, gap, id, CAST(t AS INTEGER),
                   CASE WHEN substr(substr(t, instr(t, ',') + 1), 1, 1) = ',' THEN r.fmt
                        ELSE CAST(substr(t, instr(t, ',') + 1) AS INTEGER) END
            FROM d),
        f(k, name, len, gap, id, skip, fmt, m) AS (
            SELECT k, name, len, gap, id, skip, fmt,
                   sum(id = '*') OVER (ORDER BY k ROWS UNBOUNDED PRECEDING) FROM e)
        SELECT json_group_array(json_array(k, line, id, start, start + len, fmt, name)) FROM (
            SELECT k, name, len, fmt,
                   r.first + r.line_offset + k + sum(skip) OVER w AS line,
                   r.start + sum(gap + len) OVER w - len AS start,
                   CASE WHEN id = '' OR substr(id, 1, 1) = '#'
                        THEN (SELECT p.prefix FROM task_id_prefixes p WHERE p.file_id = r.file_id)
                             || (r.first + r.id_offset + k
                                 + sum(CASE WHEN substr(id, 1, 1) = '#'
                                            THEN CAST(substr(id, 2) AS INTEGER) ELSE 0 END) OVER w)
                        WHEN substr(id, 1, 1) = '='
                        THEN replace(replace(replace(replace(substr(id, 2),
                                 '%3B', ';'), '%2C', ','), '%00', char(0)), '%25', '%')
                        WHEN id = '*' THEN PACKED_ID END AS id
            FROM f WINDOW w AS (ORDER BY k ROWS UNBOUNDED PRECEDING) ORDER BY k))) j
    CROSS JOIN task_names n ON n.name_id = j.value ->> 6
    LEFT JOIN task_texts x ON x.task_row = r.first + (j.value ->> 0);
"#
    .replace(
        "PACKED_ID",
        &crate::store::uuid16::sql_text("substr(r.tasks, instr(r.tasks, x'00') + 16 * m - 15, 16)"),
    )
    .replace("RUN_SHIFT_ID", &shift_id_sql("r.shift_id"))
});

/// The columns of `task_runs` a [`RunTasks`] is read from, in its order.
pub const RUN_COLUMNS: &str = "shift_id, first, file_id, line_offset, id_offset, start, fmt, tasks";

/// Every run in (shift id, first task) order: the table's own order, no sort.
pub const TASKS_BY_SHIFT_ID: &str =
    "SELECT shift_id, first, file_id, line_offset, id_offset, start, fmt, tasks
     FROM task_runs ORDER BY shift_id, first";

/// The runs of one shift id (`?1`, `?2`: [`shift_key`]), in file order.
pub const RUNS_OF_SHIFT: &str =
    "SELECT shift_id, first, file_id, line_offset, id_offset, start, fmt, tasks
     FROM task_runs WHERE shift_id IN (?1, ?2) ORDER BY first";

/// The number of tasks staged (`snapshot_meta.tasks` of the main file).
pub fn task_count(snap: &Connection) -> Result<i64> {
    let v: Option<String> = snap
        .query_row(
            "SELECT value FROM snapshot_meta WHERE key = 'tasks'",
            [],
            |r| r.get(0),
        )
        .optional()?;
    Ok(v.and_then(|v| v.parse().ok()).unwrap_or(0))
}

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

/// The task-id prefixes of a tasks file (`task_id_prefixes`), for [`RunTasks`].
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

    fn prefix(&self, file_id: i64) -> Option<&str> {
        self.prefixes
            .iter()
            .find(|p| p.0 == file_id)
            .map(|p| p.1.as_str())
    }
}

/// Write `v` seconds as a run's text stores a length or gap: minutes, or `s` and seconds.
fn push_secs(out: &mut String, v: i64) {
    if v % 60 == 0 {
        out.push_str(itoa::Buffer::new().format(v / 60));
    } else {
        out.push('s');
        out.push_str(itoa::Buffer::new().format(v));
    }
}

/// The field of a run's item that starts at `*i`: its bytes up to the next `,` or `;` (or the
/// text's end), and that separator (0 at the end); `*i` moves past the separator.
fn field<'t>(b: &'t [u8], i: &mut usize) -> (&'t [u8], u8) {
    let from = *i;
    let mut j = from;
    while let Some(&c) = b.get(j) {
        if c == b',' || c == b';' {
            *i = j + 1;
            return (&b[from..j], c);
        }
        j += 1;
    }
    *i = j;
    (&b[from..], 0)
}

/// The number field that starts at `*i`, parsed while it is scanned (one pass over its bytes,
/// not a scan for its end and then [`parse_i64`]): exactly what `parse_i64` (so
/// `str::parse::<i64>`) accepts, or `empty` when the field is empty (`None`: an empty field is
/// malformed); and its separator, as [`field`]. `None` when the field is not such a number.
fn num_field(b: &[u8], i: &mut usize, empty: Option<i64>) -> Option<(i64, u8)> {
    let mut j = *i;
    let (neg, signed) = match b.get(j) {
        Some(b'-') => (true, true),
        Some(b'+') => (false, true),
        _ => (false, false),
    };
    j += usize::from(signed);
    let digits = j;
    let mut v: i64 = 0;
    let sep = loop {
        let Some(&c) = b.get(j) else { break 0 };
        let d = c.wrapping_sub(b'0');
        if d <= 9 {
            v = v.checked_mul(10)?;
            v = if neg {
                v.checked_sub(i64::from(d))?
            } else {
                v.checked_add(i64::from(d))?
            };
            j += 1;
        } else if c == b',' || c == b';' {
            break c;
        } else {
            return None;
        }
    };
    *i = j + usize::from(sep != 0);
    if j == digits {
        // No digit: a lone sign is malformed, an empty field is `empty`.
        return if signed {
            None
        } else {
            empty.map(|e| (e, sep))
        };
    }
    Some((v, sep))
}

/// A length or gap field as [`push_secs`] writes it, in seconds (empty: 0), and its separator,
/// as [`num_field`].
fn secs_field(b: &[u8], i: &mut usize) -> Option<(i64, u8)> {
    if b.get(*i) == Some(&b's') {
        *i += 1;
        return num_field(b, i, None);
    }
    let (v, sep) = num_field(b, i, Some(0))?;
    Some((v.checked_mul(60)?, sep))
}

/// A decimal `i64` from bytes, accepting exactly what `str::parse::<i64>` accepts (an optional
/// `+` or `-`, then one or more ASCII digits, no overflow), without its UTF-8 slice and error
/// value (a run's decoding parses about six numbers a task).
fn parse_i64(b: &[u8]) -> Option<i64> {
    let (neg, digits) = match b {
        [b'-', d @ ..] => (true, d),
        [b'+', d @ ..] => (false, d),
        d => (false, d),
    };
    if digits.is_empty() {
        return None;
    }
    let mut v: i64 = 0;
    for &c in digits {
        let d = c.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        v = v.checked_mul(10)?;
        v = if neg {
            v.checked_sub(i64::from(d))?
        } else {
            v.checked_add(i64::from(d))?
        };
    }
    Some(v)
}

/// A text task id as a run's text stores it (see [`TASKS_SCHEMA`]).
fn push_escaped(out: &mut String, id: &str) {
    for c in id.chars() {
        match c {
            '%' => out.push_str("%25"),
            ';' => out.push_str("%3B"),
            ',' => out.push_str("%2C"),
            '\0' => out.push_str("%00"),
            c => out.push(c),
        }
    }
}

fn push_unescaped(out: &mut String, s: &str) -> Option<()> {
    let mut rest = s;
    while let Some(i) = rest.find('%') {
        out.push_str(&rest[..i]);
        let esc = rest.get(i..i + 3)?;
        out.push(match esc {
            "%25" => '%',
            "%3B" => ';',
            "%2C" => ',',
            "%00" => '\0',
            _ => return None,
        });
        rest = &rest[i + 3..];
    }
    out.push_str(rest);
    Some(())
}

/// One task of a run, as [`RunTasks::next_task`] decodes it. Its id is written on demand
/// ([`RunTasks::write_id`]).
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub struct RunTask {
    /// The task's number (`task_row`).
    pub row: i64,
    pub line: i64,
    pub name_id: i64,
    pub start: i64,
    pub end: i64,
    pub fmt: i64,
    /// The number its id has or would have (see [`TASKS_SCHEMA`]).
    num: i64,
    /// Where its id field is in the run's text.
    id_at: (u32, u32),
    /// Packed ids of the run before this task's (the index of its own when its field is `*`).
    packed: u32,
}

/// The tasks of one `task_runs` row, decoded in order (see [`TASKS_SCHEMA`]). It borrows the
/// row's text and packed ids where SQLite keeps them (valid until the next row is stepped to) and
/// the caller's text of the shift id: map and validate read every run of the export, and a copy
/// of each cost more than its decoding.
pub struct RunTasks<'a> {
    pub shift_id: &'a str,
    pub first: i64,
    pub file_id: i64,
    fmt: i64,
    text: &'a str,
    /// The run's packed ids, 16 bytes each (see [`TASKS_SCHEMA`]).
    packed: &'a [u8],
    /// Where the next task's item starts in `text` (`None`: done).
    at: Option<usize>,
    prev: RunTask,
    k: i64,
}

/// An integer column (of a run, or of a shift row as map and validate read them): read as the
/// value SQLite holds when it is an integer (the common case, without [`rusqlite::Row::get`]'s
/// conversion), else through `get`, so with the same value or error as `get::<_, i64>`.
pub fn int_column(r: &rusqlite::Row<'_>, col: usize) -> rusqlite::Result<i64> {
    match r.get_ref(col)? {
        rusqlite::types::ValueRef::Integer(v) => Ok(v),
        _ => r.get(col),
    }
}

/// A nullable integer column, as [`int_column`]: `None` for NULL, the integer SQLite holds, else
/// through `get::<_, Option<i64>>` for the same value or error.
pub fn opt_int_column(r: &rusqlite::Row<'_>, col: usize) -> rusqlite::Result<Option<i64>> {
    match r.get_ref(col)? {
        rusqlite::types::ValueRef::Integer(v) => Ok(Some(v)),
        rusqlite::types::ValueRef::Null => Ok(None),
        _ => r.get(col),
    }
}

impl<'a> RunTasks<'a> {
    /// The run of a row whose columns from `col` on are [`RUN_COLUMNS`], whose shift id's text
    /// the caller has (`shift_id`: [`push_shift_id`] of the row's id).
    pub fn read(r: &'a rusqlite::Row<'_>, col: usize, shift_id: &'a str) -> Result<RunTasks<'a>> {
        let first = int_column(r, col + 1)?;
        let file_id = int_column(r, col + 2)?;
        let line_offset = int_column(r, col + 3)?;
        let id_offset = int_column(r, col + 4)?;
        let start = int_column(r, col + 5)?;
        let fmt = int_column(r, col + 6)?;
        let mut run = RunTasks {
            shift_id,
            first,
            file_id,
            fmt,
            text: "",
            packed: &[],
            at: Some(0),
            prev: RunTask {
                row: first - 1,
                line: first + line_offset - 1,
                end: start,
                num: first + id_offset - 1,
                ..RunTask::default()
            },
            k: 0,
        };
        match r.get_ref(col + 7)? {
            rusqlite::types::ValueRef::Blob(b) => {
                let nul = b.iter().position(|&c| c == 0);
                let text = nul.and_then(|i| std::str::from_utf8(&b[..i]).ok());
                let (Some(i), Some(text)) = (nul, text) else {
                    return Err(run.malformed());
                };
                run.text = text;
                run.packed = &b[i + 1..];
            }
            v => run.text = v.as_str().map_err(rusqlite::Error::from)?,
        }
        Ok(run)
    }

    fn malformed(&self) -> Error {
        Error::failure(
            format!(
                "the snapshot's task run of shift `{}` at task {} is malformed",
                self.shift_id,
                self.first + self.k
            ),
            Some("run `zd2gc extract` again".into()),
        )
    }

    /// The next task of the run, `None` after the last.
    pub fn next_task(&mut self) -> Result<Option<RunTask>> {
        let Some(at) = self.at else {
            return Ok(None);
        };
        match self.decode(at) {
            Some((t, next)) => {
                self.at = next;
                self.k += 1;
                self.prev = t;
                Ok(Some(t))
            }
            None => {
                // Past the malformed item, as when its end was found first.
                let b = self.text.as_bytes();
                self.at = b[at..].iter().position(|&c| c == b';').map(|k| at + k + 1);
                Err(self.malformed())
            }
        }
    }

    /// The task whose item starts at `at`, and where the next item starts (`None`: this was the
    /// last). The item's fields (`NAME,LENGTH[,GAP[,ID[,SKIP[,FMT]]]]`, 2 to 6 of them, a missing
    /// one as an empty one) are scanned and their numbers parsed in one pass ([`num_field`],
    /// [`secs_field`]: map and validate decode every task of the export), as `str::parse::<i64>`
    /// parses them.
    fn decode(&self, at: usize) -> Option<(RunTask, Option<usize>)> {
        let b = self.text.as_bytes();
        let p = &self.prev;
        let mut i = at;
        let (name_id, mut sep) = num_field(b, &mut i, None)?;
        if sep != b',' {
            return None;
        }
        let len;
        (len, sep) = secs_field(b, &mut i)?;
        let (mut gap, mut id, mut id_at, mut skip, mut fmt) = (0, &b[..0], (0, 0), 0, self.fmt);
        if sep == b',' {
            (gap, sep) = secs_field(b, &mut i)?;
            if sep == b',' {
                let from = i;
                (id, sep) = field(b, &mut i);
                id_at = (from as u32, (from + id.len()) as u32);
                if sep == b',' {
                    (skip, sep) = num_field(b, &mut i, Some(0))?;
                    if sep == b',' {
                        (fmt, sep) = num_field(b, &mut i, Some(self.fmt))?;
                        if sep == b',' {
                            return None;
                        }
                    }
                }
            }
        }
        let start = p.end.checked_add(gap)?;
        let num = match id {
            [b'#', d @ ..] => p.num.checked_add(1)?.checked_add(parse_i64(d)?)?,
            [] | [b'!'] | [b'*'] | [b'=', ..] => p.num.checked_add(1)?,
            _ => return None,
        };
        // The previous task's packed id, if it had one, is before this task's.
        let packed = p.packed + u32::from(self.k > 0 && self.id_of(p) == "*");
        let t = RunTask {
            row: p.row + 1,
            line: p.line.checked_add(1)?.checked_add(skip)?,
            name_id,
            start,
            end: start.checked_add(len)?,
            fmt,
            num,
            id_at,
            packed,
        };
        Some((t, (sep == b';').then_some(i)))
    }

    fn id_of(&self, t: &RunTask) -> &str {
        &self.text[t.id_at.0 as usize..t.id_at.1 as usize]
    }

    /// The 16 bytes of task `t`'s id (of this run, the last one decoded) when the run keeps it
    /// packed: [`RunTasks::write_id`] writes their canonical text then.
    pub fn packed_id(&self, t: &RunTask) -> Option<&'a [u8; 16]> {
        if self.id_of(t) != "*" {
            return None;
        }
        crate::store::uuid16::at(self.packed, 16 * t.packed as usize)
    }

    /// Write the id of task `t` (of this run, the last one decoded) into `out`; false when the task
    /// has none.
    pub fn write_id(&self, ids: &TaskIds, t: &RunTask, out: &mut String) -> Result<bool> {
        out.clear();
        let id = self.id_of(t);
        if id == "!" {
            return Ok(false);
        }
        if id == "*" {
            let p = crate::store::uuid16::at(self.packed, 16 * t.packed as usize)
                .ok_or_else(|| self.malformed())?;
            crate::store::uuid16::push_unpacked(p, out);
            return Ok(true);
        }
        if let Some(text) = id.strip_prefix('=') {
            push_unescaped(out, text).ok_or_else(|| self.malformed())?;
            return Ok(true);
        }
        let prefix = ids.prefix(self.file_id).ok_or_else(|| {
            Error::failure(
                format!(
                    "the snapshot's task {} has a numbered id but its file {} no id prefix",
                    t.row, self.file_id
                ),
                Some("run `zd2gc extract` again".into()),
            )
        })?;
        out.push_str(prefix);
        out.push_str(itoa::Buffer::new().format(t.num));
        Ok(true)
    }
}

/// Rows inserted by one statement: its step, reset and halt are paid once for them, not once a
/// row (see [`insert_rows`]).
const ROWS_PER_INSERT: usize = 32;

/// Runs the tasks writer inserts with one [`insert_rows`] call (a multiple of [`ROWS_PER_INSERT`],
/// so only the last call inserts rows one at a time): 2,048 runs are about 300 KB.
const RUNS_PER_FLUSH: usize = 64 * ROWS_PER_INSERT;

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
    std::sync::LazyLock::new(|| Insert::new("INSERT INTO shift_rows", 12));
/// The runs go into `task_runs` in key order once all are staged ([`Writer::write_runs`]: sorted
/// by [`super::runsort`]), so the table's pages are filled in order, as an index build fills them.
static RUN_INSERT: std::sync::LazyLock<Insert> = std::sync::LazyLock::new(|| {
    Insert::new(
        "INSERT INTO main.task_runs (shift_id, first, file_id, line_offset, id_offset, start, fmt, tasks)",
        8,
    )
});

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

/// A run being staged (see [`TASKS_SCHEMA`]).
struct StagedRun {
    first: i64,
    shift_id: String,
    file_id: i64,
    line_offset: i64,
    id_offset: i64,
    start: i64,
    fmt: i64,
    tasks: String,
    /// Its packed task ids (see [`TASKS_SCHEMA`]).
    packed: Vec<u8>,
}

/// The open run and what its next task is written against.
struct OpenRun {
    run: StagedRun,
    prev_end: i64,
    prev_line: i64,
    prev_num: i64,
}

/// The tasks writer's state: the run being written and the names seen.
#[derive(Default)]
struct Runs {
    /// The number the next task gets.
    next: i64,
    open: Option<OpenRun>,
    /// The closed runs, until they are written in key order.
    sorter: super::runsort::RunSorter,
    /// The last closed run's buffers, reused by the next run (no allocation a run).
    spare: Option<StagedRun>,
    /// Name → its numbers in `task_names` with paid unknown, false, true (0: none yet).
    names: rustc_hash::FxHashMap<String, [i64; 3]>,
    /// Each file's task-id prefix (`None`: no id of that shape seen yet).
    prefixes: std::collections::HashMap<i64, Option<String>>,
    /// Some closed run's shift id is not a canonical lowercase UUID: `task_runs` keeps them all as
    /// text (see [`shift_id_str`]).
    text_shift_ids: bool,
}

/// The shifts table's indexes, built once its rows are in (faster than maintaining them row by
/// row): as soon as the shifts file is staged ([`Batch::Staged`]), while the tasks file is still
/// being read, so the index builds share the two cores with the tasks' reader and writer instead of
/// running after them (see [`Writer::index_shifts`]).
pub const SHIFT_INDEXES: &str = r#"
CREATE INDEX shifts_by_id ON shift_rows(shift_id);
CREATE INDEX shifts_by_agent ON shift_rows(agent_id);
"#;

/// The other indexes of the main file, built at the end.
pub const INDEXES: &str = r#"
CREATE INDEX trades_by_id ON trades(trade_id);
CREATE INDEX agents_by_id ON agents(agent_id);
CREATE INDEX time_off_by_id ON time_off(time_off_request_id);
"#;

/// What the readers send the writer.
pub enum Batch {
    Agents(i64, Vec<AgentRow>),
    Shifts(i64, Vec<ShiftRow>),
    Tasks(i64, TaskBatch),
    Trades(i64, Vec<TradeRow>),
    TimeOff(i64, Vec<TimeOffRow>),
    Rejects(i64, Vec<Reject>),
    /// A file of this kind was read to its end and all its rows sent (sent to the main writer).
    Staged(super::columns::Kind),
}

impl Batch {
    pub fn len(&self) -> usize {
        match self {
            Batch::Agents(_, v) => v.len(),
            Batch::Shifts(_, v) => v.len(),
            Batch::Tasks(_, v) => v.len(),
            Batch::Trades(_, v) => v.len(),
            Batch::TimeOff(_, v) => v.len(),
            Batch::Rejects(_, _) | Batch::Staged(_) => 0,
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
    /// [`SHIFT_INDEXES`] are built (main file).
    shifts_indexed: bool,
    /// The ascending runs of shift ids in rowid order (see [`super::by_id`]).
    shift_runs: super::by_id::RunTracker,
    /// Every shift id staged so far is a canonical lowercase UUID, kept packed (see
    /// [`shift_id_str`]); the first that is not turns them all back into text.
    shift_ids_packed: bool,
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
            shifts_indexed: false,
            shift_runs: Default::default(),
            shift_ids_packed: true,
        })
    }

    /// Build [`SHIFT_INDEXES`] unless they are built: once the shifts file is staged (one file a
    /// kind, so no shift row comes after it), or at the end.
    fn index_shifts(&mut self) -> Result<()> {
        if !self.shifts_indexed {
            self.conn.execute_batch(SHIFT_INDEXES)?;
            self.shifts_indexed = true;
        }
        Ok(())
    }

    /// Insert everything the readers send until they all hang up.
    pub fn consume(&mut self, rx: Receiver<Batch>, progress: &(dyn Fn(u64) + Sync)) -> Result<()> {
        for batch in rx {
            progress(batch.len() as u64);
            if let Batch::Staged(super::columns::Kind::Shifts) = batch {
                self.index_shifts()?;
                continue;
            }
            let c = &self.conn;
            match batch {
                Batch::Staged(_) => {}
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
                    for r in &rows {
                        self.shift_runs.push(&r.shift_id);
                    }
                    if self.shift_ids_packed
                        && rows
                            .iter()
                            .any(|r| crate::store::uuid16::pack(&r.shift_id).is_none())
                    {
                        // Rare (an export mixing UUIDs and other ids): the ids staged so far, all
                        // packed, back to text before this batch adds text ids.
                        c.execute_batch(&format!(
                            "UPDATE shift_rows SET shift_id = {} WHERE typeof(shift_id) = 'blob'",
                            crate::store::uuid16::sql_text("shift_id")
                        ))?;
                        self.shift_ids_packed = false;
                    }
                    let packed = self.shift_ids_packed;
                    insert_rows(c, &SHIFT_INSERT, &rows, |st, i, r| {
                        let fmt = crate::timeval::pack_fmt(r.start.val.fmt, r.end.val.fmt);
                        st.raw_bind_parameter(i + 1, f)?;
                        st.raw_bind_parameter(i + 2, r.line as i64)?;
                        match crate::store::uuid16::pack(&r.shift_id).filter(|_| packed) {
                            Some(p) => st.raw_bind_parameter(i + 3, &p[..])?,
                            None => st.raw_bind_parameter(i + 3, &r.shift_id)?,
                        }
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
                Batch::Tasks(f, batch) => {
                    let runs = &mut self.runs;
                    let mut texts = Vec::new();
                    for r in &batch.rows {
                        let row = Self::add_task(c, runs, f, r, &batch.text)?;
                        if r.start.text.is_some() || r.end.text.is_some() {
                            texts.push((row, r));
                        }
                    }
                    if !texts.is_empty() {
                        let mut ins = c.prepare_cached(
                            "INSERT INTO task_texts (task_row, start_text, end_text) VALUES (?1, ?2, ?3)",
                        )?;
                        for (row, r) in texts {
                            ins.execute(params![
                                row,
                                r.start.text.as_deref(),
                                r.end.text.as_deref()
                            ])?;
                        }
                    }
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
        Ok(())
    }

    /// The tasks file's thread: stage every batch of tasks until the readers hang up, then write
    /// the runs in key order and seal the file at once, while the main file may still be building
    /// its shifts' indexes (the main writer's work does not wait for this, nor this for it). On an
    /// error the file is removed.
    pub fn stage_tasks(
        mut self,
        rx: Receiver<Batch>,
        progress: &(dyn Fn(u64) + Sync),
    ) -> Result<TasksFile> {
        let tmp = self.tmp.clone();
        let staged = self.consume(rx, progress).and_then(|()| {
            let tasks = self.runs.next - 1;
            self.write_runs()?;
            Ok(tasks)
        });
        match staged.and_then(|tasks| Ok((tasks, self.seal("", true)?))) {
            Ok((tasks, tmp)) => Ok(TasksFile { tmp, tasks }),
            Err(e) => {
                let _ = std::fs::remove_file(&tmp);
                Err(e)
            }
        }
    }

    /// Add task `r` of file `f` to the open run, or close it and open one (see [`TASKS_SCHEMA`]);
    /// its number.
    fn add_task(c: &Connection, runs: &mut Runs, f: i64, r: &TaskRow, text: &str) -> Result<i64> {
        use std::fmt::Write as _;
        let row = runs.next;
        runs.next += 1;
        let sid = r.shift_id(text);
        if runs
            .open
            .as_ref()
            .is_some_and(|o| o.run.shift_id != sid || o.run.file_id != f)
        {
            Self::close_run(runs)?;
        }
        let name_id = Self::name_id(c, &mut runs.names, r.name(text), r.paid)?;
        let num = Self::task_id_number(c, &mut runs.prefixes, f, r.task_id(text))?;
        let fmt = crate::timeval::pack_fmt(r.start.val.fmt, r.end.val.fmt);
        let (start, end, line) = (r.start.val.secs, r.end.val.secs, r.line as i64);
        let o = match &mut runs.open {
            Some(o) => {
                o.run.tasks.push(';');
                o
            }
            None => {
                let id_offset = num.map_or(0, |n| n - row);
                let (mut shift_id, mut tasks, mut packed) = match runs.spare.take() {
                    Some(r) => (r.shift_id, r.tasks, r.packed),
                    None => (String::new(), String::with_capacity(32), Vec::new()),
                };
                shift_id.clear();
                shift_id.push_str(sid);
                tasks.clear();
                packed.clear();
                runs.open.insert(OpenRun {
                    run: StagedRun {
                        first: row,
                        shift_id,
                        file_id: f,
                        line_offset: line - row,
                        id_offset,
                        start,
                        fmt,
                        tasks,
                        packed,
                    },
                    prev_end: start,
                    prev_line: line - 1,
                    prev_num: row + id_offset - 1,
                })
            }
        };
        let t = &mut o.run.tasks;
        t.push_str(itoa::Buffer::new().format(name_id));
        t.push(',');
        push_secs(t, end - start);
        // The optional fields, each after the commas of the empty ones before it.
        let mut commas = 1;
        let gap = start - o.prev_end;
        if gap != 0 {
            t.push(',');
            push_secs(t, gap);
            commas = 0;
        }
        commas += 1;
        match (num, r.task_id(text)) {
            (Some(n), _) => {
                let d = n - (o.prev_num + 1);
                if d != 0 {
                    t.extend(std::iter::repeat_n(',', commas));
                    let _ = write!(t, "#{d}");
                    commas = 0;
                }
                o.prev_num = n;
            }
            (None, id) => {
                t.extend(std::iter::repeat_n(',', commas));
                match id {
                    Some(id) => match crate::store::uuid16::pack(id) {
                        Some(p) => {
                            t.push('*');
                            o.run.packed.extend_from_slice(&p);
                        }
                        None => {
                            t.push('=');
                            push_escaped(t, id);
                        }
                    },
                    None => t.push('!'),
                }
                commas = 0;
                o.prev_num += 1;
            }
        }
        commas += 1;
        let skip = line - (o.prev_line + 1);
        if skip != 0 {
            t.extend(std::iter::repeat_n(',', commas));
            t.push_str(itoa::Buffer::new().format(skip));
            commas = 0;
        }
        commas += 1;
        if fmt != o.run.fmt {
            t.extend(std::iter::repeat_n(',', commas));
            t.push_str(itoa::Buffer::new().format(fmt));
        }
        o.prev_line = line;
        o.prev_end = end;
        Ok(row)
    }

    /// Close the open run, if any, and hand it to the sorter.
    fn close_run(runs: &mut Runs) -> Result<()> {
        if let Some(o) = runs.open.take() {
            let r = &o.run;
            runs.text_shift_ids =
                runs.text_shift_ids || crate::store::uuid16::pack(&r.shift_id).is_none();
            runs.sorter.push(&super::runsort::RunRec {
                shift_id: &r.shift_id,
                first: r.first,
                file_id: r.file_id,
                line_offset: r.line_offset,
                id_offset: r.id_offset,
                start: r.start,
                fmt: r.fmt,
                tasks: &r.tasks,
                packed: &r.packed,
            })?;
            runs.spare = Some(o.run);
        }
        Ok(())
    }

    /// Insert every run into `task_runs`, in key order (the tasks file, once all are staged).
    fn write_runs(&mut self) -> Result<()> {
        let c = &self.conn;
        let sorter = std::mem::take(&mut self.runs.sorter);
        let packed_ids = !self.runs.text_shift_ids;
        // Records back to back, handed to `insert_rows` [`RUNS_PER_FLUSH`] at a time (its statements
        // are looked up in the cache once a call, not once a statement).
        let mut batch: Vec<u8> = Vec::new();
        let mut ends: Vec<usize> = Vec::with_capacity(RUNS_PER_FLUSH);
        // A run's `tasks` as a BLOB (text, NUL, packed ids), when it has packed ids.
        let mut blob: Vec<u8> = Vec::new();
        let mut flush = |batch: &mut Vec<u8>, ends: &mut Vec<usize>| -> Result<()> {
            let mut recs = Vec::with_capacity(ends.len());
            let mut from = 0;
            for &e in ends.iter() {
                recs.push(super::runsort::decode(&batch[from..e])?);
                from = e;
            }
            insert_rows(c, &RUN_INSERT, &recs, |st, i, r| {
                match crate::store::uuid16::pack(r.shift_id).filter(|_| packed_ids) {
                    Some(p) => st.raw_bind_parameter(i + 1, &p[..])?,
                    None => st.raw_bind_parameter(i + 1, r.shift_id)?,
                }
                st.raw_bind_parameter(i + 2, r.first)?;
                st.raw_bind_parameter(i + 3, r.file_id)?;
                st.raw_bind_parameter(i + 4, r.line_offset)?;
                st.raw_bind_parameter(i + 5, r.id_offset)?;
                st.raw_bind_parameter(i + 6, r.start)?;
                st.raw_bind_parameter(i + 7, r.fmt)?;
                if r.packed.is_empty() {
                    st.raw_bind_parameter(i + 8, r.tasks)?;
                } else {
                    blob.clear();
                    blob.extend_from_slice(r.tasks.as_bytes());
                    blob.push(0);
                    blob.extend_from_slice(r.packed);
                    st.raw_bind_parameter(i + 8, blob.as_slice())?;
                }
                Ok(())
            })?;
            batch.clear();
            ends.clear();
            Ok(())
        };
        sorter.finish(|rec| {
            batch.extend_from_slice(rec);
            ends.push(batch.len());
            if ends.len() == RUNS_PER_FLUSH {
                flush(&mut batch, &mut ends)?;
            }
            Ok(())
        })?;
        flush(&mut batch, &mut ends)
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

    /// The number of a task name and paid flag in `task_names`, added when new.
    fn name_id(
        c: &Connection,
        names: &mut rustc_hash::FxHashMap<String, [i64; 3]>,
        name: &str,
        paid: Option<bool>,
    ) -> Result<i64> {
        let slot = match paid {
            None => 0,
            Some(false) => 1,
            Some(true) => 2,
        };
        let in_memory = names.get(name);
        if let Some(ids) = in_memory
            && ids[slot] != 0
        {
            return Ok(ids[slot]);
        }
        // A name in memory has every pair seen with it there; while every name is in memory, a
        // name not there is new; past that, ask the table.
        let known: Option<i64> = if in_memory.is_some() || names.len() < NAMES_IN_MEMORY {
            None
        } else {
            c.prepare_cached("SELECT name_id FROM task_names WHERE name = ?1 AND paid IS ?2")?
                .query_row(params![name, b(paid)], |r| r.get(0))
                .optional()?
        };
        let id = match known {
            Some(id) => id,
            None => {
                c.prepare_cached("INSERT INTO task_names (name, paid) VALUES (?1, ?2)")?
                    .execute(params![name, b(paid)])?;
                c.last_insert_rowid()
            }
        };
        if let Some(ids) = names.get_mut(name) {
            ids[slot] = id;
        } else if names.len() < NAMES_IN_MEMORY {
            let mut ids = [0; 3];
            ids[slot] = id;
            names.insert(name.to_string(), ids);
        }
        Ok(id)
    }

    /// Build the indexes, commit, close and fsync.
    /// `pack`: write the file anew with full pages (`VACUUM INTO`), for a WITHOUT ROWID table
    /// filled by an INSERT, whose page splits leave about an eighth of each page unused.
    fn seal(self, indexes: &str, pack: bool) -> Result<PathBuf> {
        self.conn.execute_batch(indexes)?;
        self.conn.execute_batch("COMMIT")?;
        let Writer { conn, tmp, .. } = self;
        if pack {
            let name = tmp.file_name().map_or_else(String::new, |n| {
                n.to_string_lossy()
                    .replacen(".db.tmp-", ".db.packed.tmp-", 1)
            });
            let packed = tmp.with_file_name(name);
            // Empty and owner-only before SQLite writes into it.
            let _ = std::fs::remove_file(&packed);
            std::fs::File::create(&packed).map_err(|e| Error::io(&packed, e))?;
            crate::store::restrict_permissions(&packed);
            // The copy's page cache is sized from this connection's cache_size as if its pages
            // were 4 KiB: 4 MB here gave it ~1,000 pages of 16 KiB, 16 MB of heap at the whole
            // export (extract's peak; +21 MB RSS in a VACUUM INTO of its 67 MB tasks file, +11 MB
            // at a tenth). 64 pages (1 MB) for both: +2 MB, the same bytes, no slower (both
            // sides are read and written in order).
            conn.execute_batch("PRAGMA cache_size = 64;")?;
            conn.execute("VACUUM INTO ?1", [packed.display().to_string()])?;
            conn.close().map_err(|(_, e)| Error::Db(e))?;
            std::fs::rename(&packed, &tmp).map_err(|e| Error::io(&tmp, e))?;
        } else {
            conn.close().map_err(|(_, e)| Error::Db(e))?;
        }
        let f = std::fs::File::open(&tmp).map_err(|e| Error::io(&tmp, e))?;
        f.sync_all().map_err(|e| Error::io(&tmp, e))?;
        Ok(tmp)
    }
}

/// A snapshot being written: the main file (agents, shifts, trades, time off, rejects) and the tasks
/// file, each by its own thread so the two cores share the inserts and the index builds. The tasks
/// file's thread writes its runs and seals it as soon as the last task is staged
/// ([`Writer::stage_tasks`]), while the main file may still build its shifts' indexes. It becomes
/// the snapshot on [`Staging::commit`]: the tasks file is renamed to a fresh unique name, then the main
/// file (which names it) replaces `snapshot.db` in one rename. A crash at any point leaves the previous
/// snapshot whole; leftovers are removed by the next extract.
pub struct Staging {
    pub main: Writer,
    /// Until taken by [`Staging::take_tasks`].
    tasks: Option<Writer>,
    target: PathBuf,
    tasks_name: String,
}

/// The tasks file once written and sealed ([`Writer::stage_tasks`]), under its temporary name.
pub struct TasksFile {
    tmp: PathBuf,
    /// Tasks staged (`snapshot_meta.tasks`).
    tasks: i64,
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
        let main = Writer::create(target.with_extension(format!("db.tmp-{pid}")), &SCHEMA)?;
        let tasks = Writer::create(
            dir.join(format!("{TASKS_PREFIX}{pid}-{nanos}.db.tmp-{pid}")),
            &TASKS_SCHEMA,
        )?;
        let mut tasks = tasks;
        tasks.runs.sorter = super::runsort::RunSorter::new(
            dir.join(format!("snapshot-runs.tmp-{pid}")),
            super::runsort::BUDGET,
        );
        Ok(Staging {
            main,
            tasks: Some(tasks),
            target: target.to_path_buf(),
            tasks_name: format!("{TASKS_PREFIX}{pid}-{nanos}.db"),
        })
    }

    /// The tasks file's writer, for its own thread ([`Writer::stage_tasks`]); once.
    pub fn take_tasks(&mut self) -> Writer {
        self.tasks.take().expect("the tasks writer is taken once")
    }

    /// Record the files and the snapshot's identity, build the main file's indexes, make it
    /// durable, and switch `snapshot.db` to the new snapshot with the sealed `tasks` file.
    pub fn commit(
        self,
        files: &[FileStats],
        meta: &[(&str, String)],
        tasks: TasksFile,
    ) -> Result<()> {
        let Staging {
            mut main,
            tasks: _,
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
            c.execute(
                "INSERT INTO snapshot_meta VALUES ('tasks', ?1)",
                [tasks.tasks.to_string()],
            )?;
            // The runs name rowids: recorded only when the rowids are 1, 2, … as counted (always,
            // the table being new and only appended to; otherwise readers walk the index).
            let last: Option<i64> =
                c.query_row("SELECT max(rowid) FROM shift_rows", [], |r| r.get(0))?;
            if last.unwrap_or(0) == main.shift_runs.rows() {
                for (k, v) in main.shift_runs.meta() {
                    c.execute("INSERT INTO snapshot_meta VALUES (?1, ?2)", params![k, v])?;
                }
            }
        }
        main.index_shifts()?;
        let main_tmp = main.seal(INDEXES, false)?;
        let tasks_tmp = tasks.tmp;
        let dir = target.parent().map(Path::to_path_buf).unwrap_or_default();
        let tasks_final = dir.join(&tasks_name);
        std::fs::rename(&tasks_tmp, &tasks_final).map_err(|e| Error::io(&tasks_final, e))?;
        sync_dir(&dir);
        std::fs::rename(&main_tmp, &target).map_err(|e| Error::io(&target, e))?;
        sync_dir(&dir);
        remove_stale(&dir, &target);
        Ok(())
    }

    /// Drop the staging files, the tasks file too when sealed (the previous snapshot stays).
    pub fn abandon(self, tasks: Option<TasksFile>) {
        for w in [Some(self.main), self.tasks].into_iter().flatten() {
            let Writer { conn, tmp, .. } = w;
            drop(conn);
            let _ = std::fs::remove_file(&tmp);
        }
        if let Some(t) = tasks {
            let _ = std::fs::remove_file(&t.tmp);
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
/// current snapshot does not name; with either, SQLite's side files of such a file (`-journal`,
/// `-wal`, `-shm`, e.g. a `.db.packed.tmp-<pid>-journal` of a kill during the tasks file's packing).
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
        // A side file is stale exactly when the file it belongs to is.
        let name = ["-journal", "-wal", "-shm"]
            .iter()
            .find_map(|s| name.strip_suffix(s))
            .unwrap_or(name);
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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The oracle's lengths and gaps: through `str::parse`, as the decoder parsed them before
    /// [`parse_i64`].
    fn parse_secs(f: &str) -> Option<i64> {
        match f.strip_prefix('s') {
            Some(s) => s.parse().ok(),
            None if f.is_empty() => Some(0),
            None => f.parse::<i64>().ok()?.checked_mul(60),
        }
    }

    /// The oracle: the decoder as it was before the byte scan (`str::find` for the item's end,
    /// `split` for its fields), on the same state.
    fn oracle_next(r: &mut RunTasks<'_>) -> Option<std::result::Result<RunTask, ()>> {
        let at = r.at?;
        let item_end = r.text[at..].find(';').map_or(r.text.len(), |i| at + i);
        r.at = (item_end < r.text.len()).then_some(item_end + 1);
        let decoded = (|| {
            let item = &r.text[at..item_end];
            let mut fields = [""; 6];
            let mut offs = [0usize; 6];
            let mut n = 0;
            let mut pos = 0;
            for f in item.split(',') {
                if n == 6 {
                    return None;
                }
                fields[n] = f;
                offs[n] = at + pos;
                pos += f.len() + 1;
                n += 1;
            }
            if n < 2 {
                return None;
            }
            let p = &r.prev;
            let len = parse_secs(fields[1])?;
            let start = p.end.checked_add(parse_secs(fields[2])?)?;
            let id = fields[3];
            let num = match id.strip_prefix('#') {
                Some(d) => p.num.checked_add(1)?.checked_add(d.parse().ok()?)?,
                None if id.is_empty() || id == "!" || id == "*" || id.starts_with('=') => {
                    p.num.checked_add(1)?
                }
                None => return None,
            };
            let packed = p.packed + u32::from(r.k > 0 && r.id_of(p) == "*");
            let skip: i64 = if fields[4].is_empty() {
                0
            } else {
                fields[4].parse().ok()?
            };
            Some(RunTask {
                row: p.row + 1,
                line: p.line.checked_add(1)?.checked_add(skip)?,
                name_id: fields[0].parse().ok()?,
                start,
                end: start.checked_add(len)?,
                fmt: if fields[5].is_empty() {
                    r.fmt
                } else {
                    fields[5].parse().ok()?
                },
                num,
                id_at: (offs[3] as u32, (offs[3] + id.len()) as u32),
                packed,
            })
        })();
        match decoded {
            Some(t) => {
                r.k += 1;
                r.prev = t;
                Some(Ok(t))
            }
            None => Some(Err(())),
        }
    }

    fn run_of(text: &str) -> RunTasks<'_> {
        RunTasks {
            shift_id: "s1",
            first: 7,
            file_id: 0,
            fmt: 3,
            text,
            packed: &[],
            at: Some(0),
            prev: RunTask {
                row: 6,
                line: 10,
                end: 1_000,
                num: 40,
                ..RunTask::default()
            },
            k: 0,
        }
    }

    /// Every task the decoder gives, then `Err` at a malformed item (and nothing after it).
    fn all(
        r: &mut RunTasks<'_>,
        mut next: impl FnMut(&mut RunTasks<'_>) -> Option<std::result::Result<RunTask, ()>>,
    ) -> Vec<std::result::Result<RunTask, ()>> {
        let mut out = Vec::new();
        while let Some(t) = next(r) {
            let stop = t.is_err();
            out.push(t);
            if stop {
                break;
            }
        }
        out
    }

    proptest! {
        /// Runs of well-formed and malformed items (too few or too many fields, empty items,
        /// non-numbers, `s` seconds, every kind of id, non-ASCII text): the same tasks, the same
        /// place of the error, as the oracle.
        #[test]
        fn tasks_are_decoded_as_the_split_decoder_did(
            items in proptest::collection::vec(
                proptest::collection::vec("|[0-9]{1,3}|s[0-9]{1,2}|#[0-9]|!|\\*|=[a-z%é]{0,3}|-[0-9]|x", 0..8),
                0..6),
            trailing in any::<bool>(),
        ) {
            let mut text = items.iter().map(|f| f.join(",")).collect::<Vec<_>>().join(";");
            if trailing {
                text.push(';');
            }
            let want = all(&mut run_of(&text), oracle_next);
            let got = all(&mut run_of(&text), |r| r.next_task().transpose().map(|t| t.map_err(|_| ())));
            prop_assert_eq!(got, want, "{:?}", text);
        }
    }

    proptest! {
        /// [`parse_i64`] accepts what `str::parse::<i64>` accepts, with the same value: signs
        /// (one, several, alone), digits up to past the `i64` range, and a stray byte.
        #[test]
        fn numbers_are_parsed_as_str_parse_does(
            s in "[+-]{0,2}[0-9]{0,21}[x ]?|[+-]?92233720368547758[0-9]{2}",
        ) {
            prop_assert_eq!(parse_i64(s.as_bytes()), s.parse::<i64>().ok(), "{:?}", s);
        }

        /// [`num_field`] and [`secs_field`] read a field as `str::parse::<i64>` parses the text
        /// up to its `,` or `;` (the oracle: the field found with `str::find`, then parsed; an
        /// empty field is the default given, `s` seconds, minutes × 60), and stop past that
        /// separator: signs, digits past the `i64` range, stray bytes, non-ASCII text, and what
        /// follows the field.
        #[test]
        fn number_fields_are_read_as_str_parse_does(
            f in "[+s-]{0,2}[0-9]{0,20}[xé ]?|[+-]?s?92233720368547758[0-9]{2}|s?153722867280912930[0-9]",
            rest in "|[,;][0-9,;]{0,3}",
            empty in proptest::option::of(-3i64..3),
        ) {
            let text = format!("{f}{rest}");
            let end = text.find([',', ';']).unwrap_or(text.len());
            let (field, sep) = (&text[..end], text.as_bytes().get(end).copied().unwrap_or(0));
            let next = end + usize::from(sep != 0);
            let parsed = |t: &str| if t.is_empty() { empty } else { t.parse::<i64>().ok() };
            let mut i = 0;
            let got = num_field(text.as_bytes(), &mut i, empty);
            prop_assert_eq!(got, parsed(field).map(|v| (v, sep)), "{:?}", text);
            if got.is_some() {
                prop_assert_eq!(i, next, "{:?}", text);
            }
            let secs = match field.strip_prefix('s') {
                Some(d) => d.parse::<i64>().ok(),
                None if field.is_empty() => Some(0),
                None => field.parse::<i64>().ok().and_then(|m| m.checked_mul(60)),
            };
            let mut i = 0;
            let got = secs_field(text.as_bytes(), &mut i);
            prop_assert_eq!(got, secs.map(|v| (v, sep)), "{:?}", text);
            if got.is_some() {
                prop_assert_eq!(i, next, "{:?}", text);
            }
        }

        /// Runs whose numbers have signs, or are at or past the `i64` range (lengths, gaps, id
        /// steps, skips, formats): the same tasks and errors as the oracle (which parses with
        /// `str::parse`).
        #[test]
        fn signed_and_huge_numbers_are_decoded_as_the_split_decoder_did(
            items in proptest::collection::vec(
                proptest::collection::vec(
                    "|[+-]?[0-9]{1,2}|[+-]{1,2}|s[+-]?[0-9]?|#[+-]?[0-9]?|\\*|[+-]?922337203685477580[6-9]|-922337203685477580[7-9]|15372286728091293[0-9]",
                    0..8),
                0..6),
        ) {
            let text = items.iter().map(|f| f.join(",")).collect::<Vec<_>>().join(";");
            let want = all(&mut run_of(&text), oracle_next);
            let got = all(&mut run_of(&text), |r| r.next_task().transpose().map(|t| t.map_err(|_| ())));
            prop_assert_eq!(got, want, "{:?}", text);
        }
    }

    proptest! {
        /// Items whose fields are all well formed, 2 to 8 of them (random fields seldom make a
        /// valid item of 6 or more): every field count decoded as the oracle decodes it (7 or 8
        /// fields are malformed).
        #[test]
        fn well_formed_fields_of_any_count_are_decoded_as_the_split_decoder_did(
            items in proptest::collection::vec(
                (
                    "[0-9]{1,2}",
                    "[0-9]{1,2}|s[0-9]{1,2}|",
                    "[0-9]{1,2}|s[0-9]|",
                    "|!|\\*|#[0-9]|=[a-z]{1,2}",
                    "|[0-9]",
                    "|[0-9]",
                    proptest::collection::vec("|[0-9]", 0..3),
                    0usize..7,
                ),
                1..5,
            ),
        ) {
            let text = items
                .iter()
                .map(|(a, b, c, d, e, f, extra, keep)| {
                    let mut v = vec![a.clone(), b.clone(), c.clone(), d.clone(), e.clone(), f.clone()];
                    v.truncate(2 + keep % 5);
                    if v.len() == 6 {
                        v.extend(extra.iter().cloned());
                    }
                    v.join(",")
                })
                .collect::<Vec<_>>()
                .join(";");
            let want = all(&mut run_of(&text), oracle_next);
            let got = all(&mut run_of(&text), |r| r.next_task().transpose().map(|t| t.map_err(|_| ())));
            prop_assert_eq!(got, want, "{:?}", text);
        }
    }

    proptest! {
        /// [`int_column`] and [`opt_int_column`] give what `Row::get` gives (the oracle) for
        /// `i64` and `Option<i64>`, whatever SQLite holds: integers (the `i64` range's ends too),
        /// NULL, reals, texts (numeric ones too) and blobs; the same value or an error both.
        #[test]
        fn int_columns_are_read_as_row_get_reads_them(
            v in prop_oneof![
                any::<i64>().prop_map(rusqlite::types::Value::Integer),
                prop_oneof![Just(i64::MIN), Just(i64::MAX), Just(0)].prop_map(rusqlite::types::Value::Integer),
                Just(rusqlite::types::Value::Null),
                (-1e3f64..1e3).prop_map(rusqlite::types::Value::Real),
                "[0-9a-z.-]{0,4}".prop_map(rusqlite::types::Value::Text),
                proptest::collection::vec(any::<u8>(), 0..9).prop_map(rusqlite::types::Value::Blob),
            ],
        ) {
            let c = Connection::open_in_memory().unwrap();
            c.query_row("SELECT ?1", [&v], |r| {
                let want: rusqlite::Result<i64> = r.get(0);
                let got = int_column(r, 0);
                assert_eq!(format!("{got:?}"), format!("{want:?}"), "{v:?}");
                let want: rusqlite::Result<Option<i64>> = r.get(0);
                let got = opt_int_column(r, 0);
                assert_eq!(format!("{got:?}"), format!("{want:?}"), "{v:?}");
                Ok(())
            })
            .unwrap();
        }
    }

    #[test]
    fn a_well_formed_run_decodes_every_task() {
        let mut r = run_of("2,30;3,s90,15,*;1,45,,#2,1,9");
        let got = all(&mut r, |r| {
            r.next_task().transpose().map(|t| t.map_err(|_| ()))
        });
        assert_eq!(got.len(), 3);
        assert!(got.iter().all(Result::is_ok), "{got:?}");
        let t: Vec<RunTask> = got.into_iter().map(Result::unwrap).collect();
        assert_eq!(
            (t[0].name_id, t[0].start, t[0].end, t[0].fmt),
            (2, 1_000, 2_800, 3)
        );
        assert_eq!((t[1].name_id, t[1].start, t[1].end), (3, 3_700, 3_790));
        assert_eq!(
            (t[2].name_id, t[2].num, t[2].line, t[2].fmt, t[2].packed),
            (1, 45, 14, 9, 1)
        );
    }
}
