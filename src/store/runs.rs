//! The audit trail: one row of `runs` per command. Its values are typed ([`Outcome`],
//! [`InputsHash`], [`SnapshotId`]) so that one cannot be stored in another's column.

use super::{now_rfc3339, open_state, state_path};
use crate::error::{Error, Result};
use crate::exit::Exit;
use rusqlite::Connection;
use std::path::{Path, PathBuf};

/// How a run ended (`runs.outcome`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Ok,
    /// extract: some records were rejected.
    Rejects,
    Findings,
    Partial,
    Conflicts,
    Interrupted,
    Failure,
    /// The command ended with an error.
    Error,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Rejects => "rejects",
            Outcome::Findings => "findings",
            Outcome::Partial => "partial",
            Outcome::Conflicts => "conflicts",
            Outcome::Interrupted => "interrupted",
            Outcome::Failure => "failure",
            Outcome::Error => "error",
        }
    }
}

impl From<Exit> for Outcome {
    fn from(e: Exit) -> Outcome {
        match e {
            Exit::Ok => Outcome::Ok,
            Exit::Findings => Outcome::Findings,
            Exit::Failure => Outcome::Failure,
            Exit::Partial => Outcome::Partial,
            Exit::Conflicts => Outcome::Conflicts,
            Exit::Interrupted => Outcome::Interrupted,
        }
    }
}

/// SHA-256 (hex) of the configuration and the mapping tables (`runs.inputs_sha256`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(transparent)]
pub struct InputsHash(String);

impl InputsHash {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The id of a staged snapshot (`snapshot_meta.snapshot_id`, `runs.snapshot_id`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(transparent)]
pub struct SnapshotId(String);

impl SnapshotId {
    pub fn new(id: impl Into<String>) -> SnapshotId {
        SnapshotId(id.into())
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Audit: one row per run of a command.
pub struct RunRecord {
    pub id: i64,
}

pub fn run_start(conn: &Connection, command: &str, args: &str) -> Result<RunRecord> {
    if let Some(id) = central_for(conn) {
        return Ok(RunRecord { id });
    }
    conn.execute(
        "INSERT INTO runs(command, args, tool_version, started_at) VALUES (?1, ?2, ?3, ?4)",
        rusqlite::params![command, args, env!("CARGO_PKG_VERSION"), now_rfc3339()],
    )?;
    Ok(RunRecord {
        id: conn.last_insert_rowid(),
    })
}

/// End a stage's run: its outcome, exit code and counts, and the id of the snapshot it read
/// (extract: wrote). The configuration's hash is kept if the command line recorded it, else taken
/// now from the migration directory of `conn`.
pub fn run_end(
    conn: &Connection,
    run: &RunRecord,
    outcome: Outcome,
    exit_code: i32,
    snapshot_id: Option<&SnapshotId>,
    counts: &serde_json::Value,
) -> Result<()> {
    let inputs = conn
        .path()
        .and_then(|p| Path::new(p).parent().map(Path::to_path_buf))
        .and_then(|dir| inputs_hash(&dir));
    conn.execute(
        "UPDATE runs SET ended_at = ?1, outcome = ?2, exit_code = ?3,
             inputs_sha256 = COALESCE(inputs_sha256, ?4),
             snapshot_id = COALESCE(?5, snapshot_id), counts = ?6
         WHERE id = ?7",
        rusqlite::params![
            now_rfc3339(),
            outcome.as_str(),
            exit_code,
            inputs.as_ref().map(InputsHash::as_str),
            snapshot_id.map(SnapshotId::as_str),
            counts.to_string(),
            run.id
        ],
    )?;
    Ok(())
}

/// The central audit of the command line (`commands::run`): while it is open, a stage's
/// [`run_start`] on the same state database reuses its record instead of adding one, so each
/// command is one row, and a stage's rows (map, load) carry that run's id.
static CENTRAL: std::sync::Mutex<Option<(PathBuf, i64)>> = std::sync::Mutex::new(None);

fn central_for(conn: &Connection) -> Option<i64> {
    let g = CENTRAL.lock().ok()?;
    let (path, id) = g.as_ref()?;
    let here = std::fs::canonicalize(conn.path()?).ok()?;
    (here == *path).then_some(*id)
}

/// Begin the audit record of one command in `dir` (one row of `runs`). `None` when `dir` has no
/// state database (the command will fail or create one: `init` is recorded at its end).
pub fn audit_begin(dir: &Path, command: &str, args: &str) -> Result<Option<i64>> {
    if !state_path(dir).exists() {
        return Ok(None);
    }
    let conn = open_state(dir)?;
    let run = run_start(&conn, command, args)?;
    if let Ok(p) = std::fs::canonicalize(state_path(dir))
        && let Ok(mut g) = CENTRAL.lock()
    {
        *g = Some((p, run.id));
    }
    Ok(Some(run.id))
}

/// End the audit record begun by [`audit_begin`] (or, for `init`, write the whole record), keeping
/// what the stage recorded (counts, input hashes) and adding the outcome, exit code and end time.
pub fn audit_end(
    dir: &Path,
    id: Option<i64>,
    command: &str,
    args: &str,
    started_at: &str,
    result: std::result::Result<crate::exit::Exit, &Error>,
) -> Result<()> {
    if let Ok(mut g) = CENTRAL.lock() {
        *g = None;
    }
    if !state_path(dir).exists() {
        return Ok(());
    }
    let conn = open_state(dir)?;
    let id = match id {
        Some(id) => id,
        None => {
            let run = run_start(&conn, command, args)?;
            conn.execute(
                "UPDATE runs SET started_at = ?1 WHERE id = ?2",
                rusqlite::params![started_at, run.id],
            )?;
            run.id
        }
    };
    let (outcome, code, error) = match result {
        Ok(exit) => (Outcome::from(exit), exit.code(), None),
        Err(e) => (
            Outcome::Error,
            e.exit().code(),
            Some(crate::redact::redact_text(&e.to_string())),
        ),
    };
    conn.execute(
        "UPDATE runs SET ended_at = ?1, outcome = ?2, exit_code = ?3,
             inputs_sha256 = COALESCE(inputs_sha256, ?4),
             counts = CASE WHEN ?5 IS NULL THEN COALESCE(counts, '{}')
                           ELSE json_set(COALESCE(counts, '{}'), '$.error', ?5) END
         WHERE id = ?6",
        rusqlite::params![
            now_rfc3339(),
            outcome.as_str(),
            code,
            inputs_hash(dir).as_ref().map(InputsHash::as_str),
            error,
            id
        ],
    )?;
    Ok(())
}

/// SHA-256 of the configuration and the mapping tables (name and bytes, in name order).
pub fn inputs_hash(dir: &Path) -> Option<InputsHash> {
    use sha2::{Digest, Sha256};
    let mut files = vec![dir.join(crate::config::FILE_NAME)];
    if let Ok(rd) = std::fs::read_dir(dir.join("mappings")) {
        let mut m: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
        m.sort();
        files.extend(m);
    }
    let mut h = Sha256::new();
    let mut any = false;
    for f in files {
        if let Ok(bytes) = std::fs::read(&f) {
            any = true;
            h.update(f.file_name().unwrap_or_default().as_encoded_bytes());
            h.update([0]);
            h.update((bytes.len() as u64).to_le_bytes());
            h.update(&bytes);
        }
    }
    any.then(|| InputsHash(format!("{:x}", h.finalize())))
}

/// One row of the audit trail, for `zd2gc status --history`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RunRow {
    pub id: i64,
    pub command: String,
    pub args: String,
    pub tool_version: String,
    pub inputs_sha256: Option<InputsHash>,
    /// The snapshot the run read (extract: wrote); extract, map and validate only.
    pub snapshot_id: Option<SnapshotId>,
    pub started_at: String,
    pub ended_at: Option<String>,
    pub outcome: Option<String>,
    pub exit_code: Option<i64>,
    pub counts: Option<serde_json::Value>,
}

/// Every run, oldest first.
pub fn runs(conn: &Connection) -> Result<Vec<RunRow>> {
    let mut st = conn.prepare(
        "SELECT id, command, args, tool_version, inputs_sha256, started_at, ended_at, outcome, exit_code, counts, snapshot_id FROM runs ORDER BY id",
    )?;
    let rows = st.query_map([], |r| {
        Ok(RunRow {
            id: r.get(0)?,
            command: r.get(1)?,
            args: r.get(2)?,
            tool_version: r.get(3)?,
            inputs_sha256: r.get::<_, Option<String>>(4)?.map(InputsHash),
            snapshot_id: r.get::<_, Option<String>>(10)?.map(SnapshotId),
            started_at: r.get(5)?,
            ended_at: r.get(6)?,
            outcome: r.get(7)?,
            exit_code: r.get(8)?,
            counts: r
                .get::<_, Option<String>>(9)?
                .and_then(|c| serde_json::from_str(&c).ok()),
        })
    })?;
    Ok(rows.collect::<std::result::Result<_, _>>()?)
}
