//! The state database `zd2gc.db` of a migration directory (SQLite, WAL): runs, the crosswalk, the load
//! journal, the org binding. Its schema changes only through the numbered migrations below, stepping
//! `PRAGMA user_version`; a migration is never edited once released, only followed by a new one.
//!
//! The staged export lives apart, in `snapshot.db` (see `extract::stage`), so that re-extracting
//! replaces it atomically by a rename while the state survives.

use crate::error::{Error, Result};
use rusqlite::Connection;
use std::path::{Path, PathBuf};

pub const STATE_DB: &str = "zd2gc.db";
pub const SNAPSHOT_DB: &str = "snapshot.db";

/// Numbered migrations; index + 1 is the `user_version` after applying it.
const MIGRATIONS: &[&str] = &[
    // 1: runs (audit) and key/value metadata (org binding, last validation, …).
    r#"
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE runs (
        id INTEGER PRIMARY KEY,
        command TEXT NOT NULL,
        args TEXT NOT NULL,
        tool_version TEXT NOT NULL,
        inputs_sha256 TEXT,
        started_at TEXT NOT NULL,
        ended_at TEXT,
        outcome TEXT,
        exit_code INTEGER,
        counts TEXT
    );
    "#,
    // 2: map: the desired Genesys state, map's findings, the crosswalk, and the Genesys read cache.
    // Instants are UTC seconds; a shift's activities are a JSON array (one row per shift keeps
    // `map` fast); the view `desired_activities` unfolds them.
    r#"
    CREATE TABLE desired_shifts (
        legacy_shift_id TEXT PRIMARY KEY,
        agent_id TEXT NOT NULL,
        exported_agent_id TEXT NOT NULL,
        user_id TEXT,
        business_unit_id TEXT,
        management_unit_id TEXT,
        week_id TEXT,
        start_utc INTEGER,
        length_minutes INTEGER,
        activities TEXT NOT NULL,
        file TEXT NOT NULL,
        line INTEGER NOT NULL,
        snapshot_id TEXT NOT NULL,
        run_id INTEGER NOT NULL,
        content_hash INTEGER NOT NULL,
        held_back_reason TEXT
    ) WITHOUT ROWID;
    CREATE INDEX desired_shifts_by_week ON desired_shifts(business_unit_id, week_id, user_id);
    CREATE VIEW desired_activities AS
        SELECT s.legacy_shift_id AS legacy_shift_id, CAST(j.key AS INTEGER) AS seq,
               json_extract(j.value, '$.code') AS activity_code_id,
               json_extract(j.value, '$.start') AS start_utc,
               json_extract(j.value, '$.len') AS length_minutes,
               json_extract(j.value, '$.desc') AS description,
               json_extract(j.value, '$.task') AS legacy_task_id
        FROM desired_shifts s, json_each(s.activities) j;
    CREATE TABLE map_findings (
        id INTEGER PRIMARY KEY,
        run_id INTEGER NOT NULL,
        rule TEXT NOT NULL,
        severity TEXT NOT NULL,
        file TEXT,
        line INTEGER,
        record_id TEXT,
        field TEXT,
        value TEXT,
        timezone TEXT,
        candidates TEXT,
        message TEXT NOT NULL,
        help TEXT
    );
    CREATE TABLE xw_agents (
        agent_id TEXT PRIMARY KEY,
        email TEXT,
        user_id TEXT,
        management_unit_id TEXT,
        business_unit_id TEXT,
        resolved_by TEXT NOT NULL,
        candidates TEXT,
        run_id INTEGER NOT NULL
    );
    CREATE INDEX xw_agents_by_user ON xw_agents(user_id);
    -- Written by `load`: where each legacy shift went. The view `crosswalk_shifts` joins it with
    -- the desired state, so a shift map knows and load has not written yet still shows.
    CREATE TABLE xw_shifts (
        legacy_shift_id TEXT PRIMARY KEY,
        user_id TEXT,
        business_unit_id TEXT,
        week_id TEXT,
        schedule_id TEXT,
        genesys_shift_id TEXT,
        run_id INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX xw_shifts_by_genesys ON xw_shifts(genesys_shift_id);
    CREATE VIEW crosswalk_shifts AS
        SELECT d.legacy_shift_id, d.agent_id, d.exported_agent_id,
               COALESCE(x.user_id, d.user_id) AS user_id,
               COALESCE(x.business_unit_id, d.business_unit_id) AS business_unit_id,
               COALESCE(x.week_id, d.week_id) AS week_id,
               x.schedule_id, x.genesys_shift_id, d.held_back_reason,
               MAX(d.run_id, COALESCE(x.run_id, 0)) AS run_id
        FROM desired_shifts d LEFT JOIN xw_shifts x USING (legacy_shift_id)
        UNION ALL
        SELECT x.legacy_shift_id, NULL, NULL, x.user_id, x.business_unit_id, x.week_id,
               x.schedule_id, x.genesys_shift_id, 'removed-from-export', x.run_id
        FROM xw_shifts x WHERE x.legacy_shift_id NOT IN (SELECT legacy_shift_id FROM desired_shifts);
    CREATE INDEX desired_shifts_by_agent ON desired_shifts(agent_id);
    CREATE TABLE xw_trades (
        trade_id TEXT PRIMARY KEY,
        swap_request_id TEXT NOT NULL,
        legacy_status TEXT NOT NULL,
        requester_agent_id TEXT NOT NULL,
        requester_user_id TEXT,
        requester_shift_id TEXT NOT NULL,
        recipient_agent_id TEXT NOT NULL,
        recipient_user_id TEXT,
        recipient_shift_id TEXT,
        genesys_trade_id TEXT,
        action TEXT NOT NULL,
        note TEXT,
        run_id INTEGER NOT NULL
    );
    CREATE INDEX xw_trades_by_swap ON xw_trades(swap_request_id);
    CREATE TABLE genesys_cache (
        kind TEXT NOT NULL,
        key TEXT NOT NULL,
        value TEXT NOT NULL,
        fetched_at TEXT NOT NULL,
        run_id INTEGER NOT NULL,
        PRIMARY KEY (kind, key)
    );
    "#,
    // 3: validate: one row per validation run, so `load` can refuse to start while the last
    // validation of the current snapshot has errors.
    r#"
    CREATE TABLE validations (
        id INTEGER PRIMARY KEY,
        snapshot_id TEXT NOT NULL,
        run_id INTEGER NOT NULL,
        validated_at TEXT NOT NULL,
        errors INTEGER NOT NULL,
        warnings INTEGER NOT NULL,
        infos INTEGER NOT NULL,
        ready_to_load INTEGER NOT NULL,
        report_path TEXT NOT NULL,
        report_sha256 TEXT NOT NULL,
        config_sha256 TEXT NOT NULL
    );
    CREATE INDEX validations_by_snapshot ON validations(snapshot_id, id);
    "#,
    // 4: load: the base of each owned shift (what zd2gc last wrote or adopted), the per-week journal,
    // its append-only event log, and the conflicts with both sides.
    r#"
    ALTER TABLE xw_shifts ADD COLUMN base TEXT;
    ALTER TABLE xw_shifts ADD COLUMN adopted INTEGER NOT NULL DEFAULT 0;
    CREATE TABLE load_weeks (
        business_unit_id TEXT NOT NULL,
        week_id TEXT NOT NULL,
        state TEXT NOT NULL,
        schedule_id TEXT,
        step TEXT,
        upload_key TEXT,
        operation_id TEXT,
        sent_version INTEGER,
        sent_at INTEGER,
        refusals INTEGER NOT NULL DEFAULT 0,
        lock_waits INTEGER NOT NULL DEFAULT 0,
        writes INTEGER NOT NULL DEFAULT 0,
        desired_hash INTEGER,
        shifts_desired INTEGER NOT NULL DEFAULT 0,
        shifts_done INTEGER NOT NULL DEFAULT 0,
        conflicts INTEGER NOT NULL DEFAULT 0,
        reason TEXT,
        context_id TEXT,
        run_id INTEGER NOT NULL,
        updated_at TEXT NOT NULL,
        PRIMARY KEY (business_unit_id, week_id)
    ) WITHOUT ROWID;
    CREATE TABLE load_events (
        id INTEGER PRIMARY KEY,
        run_id INTEGER NOT NULL,
        business_unit_id TEXT NOT NULL,
        week_id TEXT NOT NULL,
        at TEXT NOT NULL,
        event TEXT NOT NULL,
        detail TEXT
    );
    CREATE TABLE load_conflicts (
        id INTEGER PRIMARY KEY,
        run_id INTEGER NOT NULL,
        business_unit_id TEXT NOT NULL,
        week_id TEXT NOT NULL,
        schedule_id TEXT,
        user_id TEXT NOT NULL,
        legacy_shift_id TEXT,
        genesys_shift_id TEXT,
        kind TEXT NOT NULL,
        resolution TEXT NOT NULL,
        base TEXT,
        ours TEXT,
        theirs TEXT,
        at TEXT NOT NULL,
        active INTEGER NOT NULL DEFAULT 1
    );
    CREATE INDEX load_conflicts_by_week ON load_conflicts(business_unit_id, week_id, active);
    "#,
    // 5: compact activities. `desired_shifts.activities` becomes `[[kind, start offset (s), length
    // (min), task id], …]` over the dictionary `activity_kinds` (code, description), instead of
    // objects spelling out both on every activity (a fifth of the size: map writes and re-reads
    // every row). The snapshot id moves from every row to `meta.mapped_snapshot_id`. Existing rows
    // are converted, and their content hash recomputed (`zd2gc_row_hash`, registered by `migrate`),
    // so the next `map` sees them unchanged.
    r#"
    CREATE TABLE activity_kinds (
        kind INTEGER PRIMARY KEY,
        activity_code_id TEXT NOT NULL,
        description TEXT NOT NULL,
        UNIQUE (activity_code_id, description)
    );
    INSERT INTO activity_kinds (activity_code_id, description)
        SELECT DISTINCT json_extract(j.value, '$.code'), json_extract(j.value, '$.desc')
        FROM desired_shifts s, json_each(s.activities) j
        ORDER BY 1, 2;
    INSERT OR REPLACE INTO meta (key, value)
        SELECT 'mapped_snapshot_id', snapshot_id FROM desired_shifts LIMIT 1;
    DROP VIEW desired_activities;
    UPDATE desired_shifts SET activities = (
        SELECT json_group_array(json_array(
                   k.kind,
                   json_extract(j.value, '$.start') - desired_shifts.start_utc,
                   json_extract(j.value, '$.len'),
                   json_extract(j.value, '$.task')) ORDER BY CAST(j.key AS INTEGER))
        FROM json_each(desired_shifts.activities) j
        JOIN activity_kinds k ON k.activity_code_id = json_extract(j.value, '$.code')
                             AND k.description = json_extract(j.value, '$.desc'))
    WHERE activities != '[]';
    UPDATE desired_shifts SET content_hash = zd2gc_row_hash(agent_id, exported_agent_id, user_id,
        business_unit_id, management_unit_id, week_id, start_utc, length_minutes, activities,
        held_back_reason);
    ALTER TABLE desired_shifts DROP COLUMN snapshot_id;
    CREATE VIEW desired_activities AS
        SELECT s.legacy_shift_id AS legacy_shift_id, CAST(j.key AS INTEGER) AS seq,
               k.activity_code_id AS activity_code_id,
               s.start_utc + json_extract(j.value, '$[1]') AS start_utc,
               json_extract(j.value, '$[2]') AS length_minutes,
               k.description AS description,
               json_extract(j.value, '$[3]') AS legacy_task_id
        FROM desired_shifts s, json_each(s.activities) j
        JOIN activity_kinds k ON k.kind = json_extract(j.value, '$[0]');
    "#,
    // 6: time off (docs/genesys-contract.md, "Time off"). `desired_time_off` is map's Genesys form
    // of every loadable or held-back request (not those left out by policy): `status` is `APPROVED`
    // or `PENDING`; `full_day_dates` a JSON array of `yyyy-MM-dd` in the management unit's zone, or
    // `partial_starts` a JSON array of UTC instants `yyyy-MM-ddTHH:mm:00Z` (one per day);
    // `notes` starts with the marker `zd2gc:<migration id>:<time_off_request_id>`; `held_back` is
    // NULL when the request loads, else the reason (then an id map could not resolve is '').
    // `xw_time_off` is the crosswalk of every exported request, history included: map writes the
    // legacy side, load fills `genesys_time_off_request_id`.
    r#"
    CREATE TABLE desired_time_off (
        time_off_request_id TEXT PRIMARY KEY,
        file TEXT,
        line INTEGER,
        agent_id TEXT,
        user_id TEXT NOT NULL,
        management_unit_id TEXT NOT NULL,
        business_unit_id TEXT NOT NULL,
        activity_code_id TEXT NOT NULL,
        status TEXT NOT NULL,
        full_day_dates TEXT,
        partial_starts TEXT,
        daily_minutes INTEGER NOT NULL,
        paid INTEGER NOT NULL,
        notes TEXT NOT NULL,
        content_hash TEXT NOT NULL,
        held_back TEXT,
        run_id INTEGER
    ) WITHOUT ROWID;
    CREATE INDEX desired_time_off_by_user ON desired_time_off(management_unit_id, user_id);
    CREATE TABLE xw_time_off (
        time_off_request_id TEXT PRIMARY KEY,
        agent_id TEXT NOT NULL,
        user_id TEXT,
        management_unit_id TEXT,
        business_unit_id TEXT,
        status TEXT NOT NULL,
        action TEXT NOT NULL,
        genesys_time_off_request_id TEXT,
        run_id INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX xw_time_off_by_genesys ON xw_time_off(genesys_time_off_request_id);
    "#,
    // 7: load's journal of time-off creates (there is no idempotency key): one row per legacy
    // request, written before each create is sent (`sending`) and after its outcome is known
    // (`created`, `found` after a doubt, `failed` when refused); `content_hash` is what was sent,
    // `attempts` the creates sent (bounded), `reason` and `context_id` the last refusal.
    r#"
    CREATE TABLE load_time_off (
        time_off_request_id TEXT PRIMARY KEY,
        state TEXT NOT NULL,
        content_hash TEXT NOT NULL,
        genesys_id TEXT,
        attempts INTEGER NOT NULL DEFAULT 0,
        reason TEXT,
        context_id TEXT,
        run_id INTEGER NOT NULL,
        updated_at TEXT NOT NULL
    ) WITHOUT ROWID;
    "#,
];

/// Process-wide SQLite settings, applied once before the first connection opens. Memory statistics
/// are turned off: with them on, every SQLite allocation takes one global mutex, which the parallel
/// readers and writers of extract, map and validate would otherwise contend on.
pub fn sqlite_init() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // SAFETY: sqlite3_config is called before any connection of this process is opened (every
        // opener calls this first); if SQLite was initialised already it returns SQLITE_MISUSE and
        // changes nothing, which is harmless.
        unsafe {
            rusqlite::ffi::sqlite3_config(
                rusqlite::ffi::SQLITE_CONFIG_MEMSTATUS,
                0 as std::os::raw::c_int,
            );
        }
    });
}

pub fn state_path(dir: &Path) -> PathBuf {
    dir.join(STATE_DB)
}

pub fn snapshot_path(dir: &Path) -> PathBuf {
    dir.join(SNAPSHOT_DB)
}

/// Open (creating if needed) the state database of a migration directory and bring its schema up to
/// date. The file is created readable by its owner only.
pub fn open_state(dir: &Path) -> Result<Connection> {
    sqlite_init();
    if !dir.is_dir() {
        return Err(Error::usage(
            format!("migration directory {} does not exist", dir.display()),
            Some(format!("create it with `zd2gc init {}`", dir.display())),
        ));
    }
    let path = state_path(dir);
    if !path.exists() {
        // Created owner-only from its first byte (SQLite then gives -wal and -shm the same mode).
        create_private(&path)?;
    }
    restrict_permissions(&path);
    let conn = match test_hook("ZD2GC_TEST_READ_ONLY") {
        Some(_) => Connection::open_with_flags(&path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)?,
        None => Connection::open(&path)?,
    };
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    if let Some(n) = test_hook("ZD2GC_TEST_MAX_PAGE_COUNT").and_then(|v| v.parse::<i64>().ok()) {
        conn.pragma_update(None, "max_page_count", n)?;
    }
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    migrate(&conn)?;
    Ok(conn)
}

/// TEST-ONLY hooks that simulate operator mistakes the test user (root) cannot cause with chmod:
/// `ZD2GC_TEST_MAX_PAGE_COUNT=N` caps the state database at N pages (a full disk) and
/// `ZD2GC_TEST_READ_ONLY=1` opens it read-only (a read-only mount). Never set them for real use.
fn test_hook(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// Create an empty file readable and writable by its owner only.
fn create_private(path: &Path) -> Result<()> {
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o600);
    }
    o.open(path).map(drop).map_err(|e| Error::io(path, e))
}

/// What a database error means for the operator: a full disk and a read-only file system get a
/// message naming the file and what to do; other errors pass unchanged.
pub fn explain(err: Error, dir: &Path) -> Error {
    let Error::Db(e) = &err else { return err };
    match e.sqlite_error_code() {
        Some(rusqlite::ErrorCode::DiskFull) => storage_error(true, &e.to_string(), dir),
        Some(rusqlite::ErrorCode::ReadOnly) => storage_error(false, &e.to_string(), dir),
        _ => err,
    }
}

/// [`explain`] for an error already turned into text (a load week's failure reason): SQLite's own
/// wording of a full disk and of a read-only database.
pub fn explain_text(msg: &str, dir: &Path) -> Option<Error> {
    if msg.contains("database or disk is full") {
        Some(storage_error(true, msg, dir))
    } else if msg.contains("attempt to write a readonly database") {
        Some(storage_error(false, msg, dir))
    } else {
        None
    }
}

fn storage_error(full: bool, detail: &str, dir: &Path) -> Error {
    let path = state_path(dir);
    if full {
        Error::failure(
            format!(
                "disk full: {} (or a database beside it) could not be written ({detail})",
                path.display()
            ),
            Some(format!(
                "free space on the disk of {}, then run the same command again: every write is a transaction, the journal is intact, and the run resumes where it stopped",
                dir.display()
            )),
        )
    } else {
        Error::failure(
            format!("read-only: {} cannot be written ({detail})", path.display()),
            Some(format!(
                "make {} writable (remount it read-write, or fix its owner and mode), then run the same command again",
                dir.display()
            )),
        )
    }
}

/// Apply every migration above the database's `user_version`, each in its own transaction.
pub fn migrate(conn: &Connection) -> Result<()> {
    let current: usize =
        conn.query_row("PRAGMA user_version", [], |r| r.get::<_, i64>(0))? as usize;
    if current > MIGRATIONS.len() {
        return Err(Error::failure(
            format!(
                "the state database has schema version {current}, newer than this zd2gc knows ({})",
                MIGRATIONS.len()
            ),
            Some(
                "use the zd2gc version that last wrote this migration directory, or a newer one"
                    .into(),
            ),
        ));
    }
    if current < MIGRATIONS.len() {
        register_row_hash(conn)?;
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(current) {
        let tx = conn.unchecked_transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", (i + 1) as i64)?;
        tx.commit()?;
    }
    Ok(())
}

/// `zd2gc_row_hash(agent_id, exported_agent_id, user_id, business_unit_id, management_unit_id,
/// week_id, start_utc, length_minutes, activities, held_back_reason)`: [`crate::map::core::row_hash`]
/// for migrations that rewrite `desired_shifts` rows.
fn register_row_hash(conn: &Connection) -> Result<()> {
    use rusqlite::functions::FunctionFlags;
    conn.create_scalar_function(
        "zd2gc_row_hash",
        10,
        FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC,
        |ctx| {
            let s = |i: usize| ctx.get::<Option<String>>(i);
            let i = |i: usize| ctx.get::<Option<i64>>(i);
            let (agent, exported) = (s(0)?.unwrap_or_default(), s(1)?.unwrap_or_default());
            let (user, bu, mu, week) = (s(2)?, s(3)?, s(4)?, s(5)?);
            let activities = s(8)?.unwrap_or_default();
            let held = s(9)?;
            Ok(crate::map::core::row_hash(&crate::map::core::RowContent {
                agent_id: &agent,
                exported_agent_id: &exported,
                user_id: user.as_deref(),
                business_unit_id: bu.as_deref(),
                management_unit_id: mu.as_deref(),
                week_id: week.as_deref(),
                start_utc: i(6)?,
                length_minutes: i(7)?,
                activities: &activities,
                held_back_reason: held.as_deref(),
            }))
        },
    )?;
    Ok(())
}

/// The schema version of a migration directory's state database, if it has one (read-only: the
/// CLI uses it to announce an upgrade before the first open migrates).
pub fn state_version(dir: &Path) -> Option<usize> {
    let path = state_path(dir);
    if !path.is_file() {
        return None;
    }
    let c = Connection::open_with_flags(&path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).ok()?;
    c.query_row("PRAGMA user_version", [], |r| r.get::<_, i64>(0))
        .ok()
        .map(|v| v as usize)
}

pub fn schema_version() -> usize {
    MIGRATIONS.len()
}

/// Make a file readable and writable by its owner only (state, reports: they name real people).
pub fn restrict_permissions(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600));
    }
    #[cfg(not(unix))]
    let _ = path;
}

pub fn meta_get(conn: &Connection, key: &str) -> Result<Option<String>> {
    use rusqlite::OptionalExtension;
    Ok(conn
        .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
        .optional()?)
}

pub fn meta_set(conn: &Connection, key: &str, value: &str) -> Result<()> {
    conn.execute(
        "INSERT INTO meta(key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        [key, value],
    )?;
    Ok(())
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

pub fn run_end(
    conn: &Connection,
    run: &RunRecord,
    outcome: &str,
    exit_code: i32,
    inputs_sha256: Option<&str>,
    counts: &serde_json::Value,
) -> Result<()> {
    conn.execute(
        "UPDATE runs SET ended_at = ?1, outcome = ?2, exit_code = ?3, inputs_sha256 = COALESCE(?4, inputs_sha256), counts = ?5 WHERE id = ?6",
        rusqlite::params![now_rfc3339(), outcome, exit_code, inputs_sha256, counts.to_string(), run.id],
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
        Ok(exit) => (exit.name(), exit.code(), None),
        Err(e) => (
            "error",
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
        rusqlite::params![now_rfc3339(), outcome, code, inputs_hash(dir), error, id],
    )?;
    Ok(())
}

/// SHA-256 of the configuration and the mapping tables (name and bytes, in name order).
pub fn inputs_hash(dir: &Path) -> Option<String> {
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
    any.then(|| format!("{:x}", h.finalize()))
}

/// One row of the audit trail, for `zd2gc status --history`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RunRow {
    pub id: i64,
    pub command: String,
    pub args: String,
    pub tool_version: String,
    pub inputs_sha256: Option<String>,
    pub started_at: String,
    pub ended_at: Option<String>,
    pub outcome: Option<String>,
    pub exit_code: Option<i64>,
    pub counts: Option<serde_json::Value>,
}

/// Every run, oldest first.
pub fn runs(conn: &Connection) -> Result<Vec<RunRow>> {
    let mut st = conn.prepare(
        "SELECT id, command, args, tool_version, inputs_sha256, started_at, ended_at, outcome, exit_code, counts FROM runs ORDER BY id",
    )?;
    let rows = st.query_map([], |r| {
        Ok(RunRow {
            id: r.get(0)?,
            command: r.get(1)?,
            args: r.get(2)?,
            tool_version: r.get(3)?,
            inputs_sha256: r.get(4)?,
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

pub fn now_rfc3339() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The time-off tables carry the columns part B (load, verify) codes against.
    #[test]
    fn time_off_tables_have_the_agreed_columns() {
        let dir = tempfile::tempdir().unwrap();
        let c = open_state(dir.path()).unwrap();
        let cols = |t: &str| -> Vec<String> {
            let mut st = c.prepare(&format!("PRAGMA table_info({t})")).unwrap();
            st.query_map([], |r| r.get::<_, String>(1))
                .unwrap()
                .map(|r| r.unwrap())
                .collect()
        };
        let d = cols("desired_time_off");
        for want in [
            "time_off_request_id",
            "file",
            "line",
            "agent_id",
            "user_id",
            "management_unit_id",
            "business_unit_id",
            "activity_code_id",
            "status",
            "full_day_dates",
            "partial_starts",
            "daily_minutes",
            "paid",
            "notes",
            "content_hash",
            "held_back",
        ] {
            assert!(d.iter().any(|c| c == want), "desired_time_off lacks {want}");
        }
        let x = cols("xw_time_off");
        for want in [
            "time_off_request_id",
            "agent_id",
            "user_id",
            "management_unit_id",
            "status",
            "genesys_time_off_request_id",
            "run_id",
        ] {
            assert!(x.iter().any(|c| c == want), "xw_time_off lacks {want}");
        }
    }

    #[test]
    fn migrations_apply_once_and_reach_latest() {
        let dir = tempfile::tempdir().unwrap();
        let c = open_state(dir.path()).unwrap();
        let v: i64 = c
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(v as usize, schema_version());
        drop(c);
        let c = open_state(dir.path()).unwrap();
        let mode: String = c
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
    }
}
