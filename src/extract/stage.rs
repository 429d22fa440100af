//! The staged snapshot: `snapshot.db`, a SQLite file written fresh by every `extract` and renamed
//! into place only when complete, so a crash mid-extract leaves the previous snapshot intact.
//!
//! Written by one thread, in one transaction, with bulk settings that are safe only because the file
//! is new and unused until the rename (no journal, no sync until the end). Times are compact integers
//! (`timeval`), texts kept only where they cannot be rebuilt.

use super::records::{AgentRow, Reject, ShiftRow, TaskRow, TimeOffRow, TradeRow};
use super::source::FileStats;
use crate::error::{Error, Result};
use rusqlite::{Connection, params};
use std::path::{Path, PathBuf};
use std::sync::mpsc::Receiver;

/// Version of the snapshot's schema (`PRAGMA user_version` of snapshot.db).
pub const SNAPSHOT_SCHEMA: i64 = 1;

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
CREATE TABLE tasks (
    file_id INTEGER NOT NULL, line INTEGER NOT NULL, task_id TEXT, shift_id TEXT NOT NULL, name TEXT NOT NULL,
    start INTEGER NOT NULL, end INTEGER NOT NULL, fmt INTEGER NOT NULL, start_text TEXT, end_text TEXT, paid INTEGER
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
    status TEXT, reason TEXT, full_day INTEGER
);
CREATE TABLE rejects (
    file_id INTEGER NOT NULL, line INTEGER NOT NULL, code TEXT NOT NULL, field TEXT, message TEXT NOT NULL,
    value TEXT, text TEXT NOT NULL, record_id TEXT, shift_id TEXT
);
"#;

/// Indexes built once the rows are in (faster than maintaining them row by row).
pub const INDEXES: &str = r#"
CREATE INDEX shifts_by_id ON shifts(shift_id);
CREATE INDEX shifts_by_agent ON shifts(agent_id, start);
CREATE INDEX tasks_by_shift ON tasks(shift_id);
CREATE INDEX trades_by_id ON trades(trade_id);
CREATE INDEX agents_by_id ON agents(agent_id);
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

/// A staging file being written; becomes the snapshot on [`Staging::commit`].
pub struct Staging {
    conn: Connection,
    tmp: PathBuf,
    target: PathBuf,
}

fn b(v: Option<bool>) -> Option<i64> {
    v.map(i64::from)
}

impl Staging {
    /// Create a fresh staging file beside `target` (removing leftovers of a crashed extract).
    pub fn create(target: &Path) -> Result<Staging> {
        let tmp = target.with_extension(format!("db.tmp-{}", std::process::id()));
        if let Some(dir) = target.parent() {
            remove_stale_tmp(dir, target);
        }
        let conn = Connection::open(&tmp)?;
        crate::db::restrict_permissions(&tmp);
        conn.execute_batch(
            "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF; PRAGMA locking_mode = EXCLUSIVE;
             PRAGMA page_size = 16384; PRAGMA cache_size = -65536; PRAGMA temp_store = FILE;",
        )?;
        conn.execute_batch(SCHEMA)?;
        conn.pragma_update(None, "user_version", SNAPSHOT_SCHEMA)?;
        conn.execute_batch("BEGIN")?;
        Ok(Staging {
            conn,
            tmp,
            target: target.to_path_buf(),
        })
    }

    /// Insert everything the readers send until they all hang up.
    pub fn consume(&mut self, rx: Receiver<Batch>, progress: &mut dyn FnMut(u64)) -> Result<()> {
        let mut n: u64 = 0;
        let mut next_report: u64 = 100_000;
        let c = &self.conn;
        let mut ins_agent = c.prepare("INSERT INTO agents VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9)")?;
        let mut ins_shift =
            c.prepare("INSERT INTO shifts VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12)")?;
        let mut ins_task =
            c.prepare("INSERT INTO tasks VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11)")?;
        let mut ins_trade = c.prepare(
            "INSERT INTO trades VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14)",
        )?;
        let mut ins_off =
            c.prepare("INSERT INTO time_off VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12)")?;
        let mut ins_rej = c.prepare("INSERT INTO rejects VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9)")?;
        for batch in rx {
            n += batch.len() as u64;
            if n >= next_report {
                progress(n);
                next_report = n + 200_000;
            }
            match batch {
                Batch::Agents(f, rows) => {
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
                    for r in rows {
                        let fmt = r.start.val.fmt as i64 | (r.end.val.fmt as i64) << 8;
                        ins_shift.execute(params![
                            f,
                            r.line as i64,
                            r.shift_id,
                            r.agent_id,
                            r.start.val.secs,
                            r.end.val.secs,
                            fmt,
                            r.start.text,
                            r.end.text,
                            r.timezone,
                            b(r.published),
                            r.parent_id
                        ])?;
                    }
                }
                Batch::Tasks(f, rows) => {
                    for r in rows {
                        let fmt = r.start.val.fmt as i64 | (r.end.val.fmt as i64) << 8;
                        ins_task.execute(params![
                            f,
                            r.line as i64,
                            r.task_id,
                            r.shift_id,
                            r.name,
                            r.start.val.secs,
                            r.end.val.secs,
                            fmt,
                            r.start.text,
                            r.end.text,
                            b(r.paid)
                        ])?;
                    }
                }
                Batch::Trades(f, rows) => {
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
                    for r in rows {
                        let fmt = r.start.val.fmt as i64 | (r.end.val.fmt as i64) << 8;
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
                            b(r.full_day)
                        ])?;
                    }
                }
                Batch::Rejects(f, rows) => {
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
        Ok(())
    }

    /// Record the files and the snapshot's identity, build the indexes, and make it durable.
    pub fn finish(&mut self, files: &[FileStats], meta: &[(&str, String)]) -> Result<()> {
        let c = &self.conn;
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
        c.execute_batch(INDEXES)?;
        c.execute_batch("COMMIT")?;
        Ok(())
    }

    /// Atomically replace the previous snapshot with this one (fsync, then rename).
    pub fn commit(self) -> Result<()> {
        let Staging { conn, tmp, target } = self;
        conn.close().map_err(|(_, e)| Error::Db(e))?;
        let f = std::fs::File::open(&tmp).map_err(|e| Error::io(&tmp, e))?;
        f.sync_all().map_err(|e| Error::io(&tmp, e))?;
        std::fs::rename(&tmp, &target).map_err(|e| Error::io(&target, e))?;
        if let Some(dir) = target.parent()
            && let Ok(d) = std::fs::File::open(if dir.as_os_str().is_empty() {
                Path::new(".")
            } else {
                dir
            })
        {
            let _ = d.sync_all();
        }
        Ok(())
    }

    /// Drop the staging file (the previous snapshot stays).
    pub fn abandon(self) {
        let Staging { conn, tmp, .. } = self;
        drop(conn);
        let _ = std::fs::remove_file(&tmp);
    }
}

/// Remove `snapshot.db.tmp-<pid>` files left by extracts that were killed (their pid is gone).
fn remove_stale_tmp(dir: &Path, target: &Path) {
    let Some(stem) = target.file_name().and_then(|n| n.to_str()) else {
        return;
    };
    let prefix = format!("{stem}.tmp-");
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name();
        let Some(name) = name.to_str() else { continue };
        if let Some(pid) = name
            .strip_prefix(&prefix)
            .and_then(|p| p.parse::<u32>().ok())
            && !Path::new(&format!("/proc/{pid}")).exists()
        {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

/// Open the current snapshot read-only; a clear error when there is none yet.
pub fn open_snapshot(dir: &Path) -> Result<Connection> {
    let p = crate::db::snapshot_path(dir);
    if !p.exists() {
        return Err(Error::usage(
            format!("no staged export in {}", dir.display()),
            Some("run `zd2gc extract EXPORT_DIR` first".into()),
        ));
    }
    let c = Connection::open_with_flags(&p, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    let v: i64 = c.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if v != SNAPSHOT_SCHEMA {
        return Err(Error::usage(
            format!("snapshot.db has schema {v}, this zd2gc reads {SNAPSHOT_SCHEMA}"),
            Some("run `zd2gc extract` again with this version".into()),
        ));
    }
    Ok(c)
}
