//! The state database `zd2gc.db` of a migration directory (SQLite, WAL): runs, the crosswalk, the load
//! journal, the org binding. Its schema changes only through the numbered migrations of
//! [`migrations`], stepping `PRAGMA user_version`; a migration is never edited once released, only
//! followed by a new one.
//!
//! The staged export lives apart, in `snapshot.db` (see `extract::stage`), so that re-extracting
//! replaces it atomically by a rename while the state survives.

pub mod compact;
pub mod crosswalk;
pub mod desired;
pub mod findings;
pub mod genesys_cache;
pub mod lock;
pub mod migrations;
pub mod runs;
pub mod time_off;
pub mod upgrade;
pub mod uuid16;
pub mod validations;

pub use migrations::{migrate, schema_version};
pub use runs::{
    InputsHash, Outcome, RunRecord, RunRow, SnapshotId, audit_begin, audit_end, inputs_hash,
    run_end, run_start, runs,
};
pub use upgrade::upgrade;

use crate::error::{Error, Result};
use rusqlite::Connection;
use std::path::{Path, PathBuf};

pub const STATE_DB: &str = "zd2gc.db";
pub const SNAPSHOT_DB: &str = "snapshot.db";

/// Process-wide SQLite settings, applied once before the first connection opens. Memory statistics
/// are turned off: with them on, every SQLite allocation takes one global mutex, which the parallel
/// readers and writers of extract, map and validate would otherwise contend on. Statement journals
/// stay in memory up to [`STMT_JOURNAL_SPILL`] (SQLite's default, 64 KiB, is four 16 KiB pages): a
/// multi-row INSERT inside a transaction keeps the pages it changes in one, so that it can be
/// undone alone, and map's 32-row INSERTs went past 64 KiB to a temporary file on most statements
/// (about 0.4 s of system CPU at 1.3 M shifts). A connection has one such journal, emptied when the
/// statement (or savepoint) ends, so this adds at most that much per connection writing.
/// How large a statement journal grows in memory before SQLite moves it to a temporary file: just
/// under 128 KiB. Not more: when it moves, SQLite writes the in-memory journal out in pieces of
/// this size, and its unix file layer writes at most 128 KiB − 1 bytes at a time (`seekAndWriteFd`
/// keeps only the low 17 bits of the length; SQLite 3.54), so a larger piece is written short and
/// the statement fails with "database or disk is full" (1 MiB here made every statement whose
/// journal passed 1 MiB fail: migration 10 and 11 on 1.3 M shifts, a large re-map).
pub const STMT_JOURNAL_SPILL: i32 = (128 << 10) - 1;

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
            rusqlite::ffi::sqlite3_config(
                rusqlite::ffi::SQLITE_CONFIG_STMTJRNL_SPILL,
                STMT_JOURNAL_SPILL as std::os::raw::c_int,
            );
        }
    });
}

/// Give the heap memory freed so far back to the system (glibc's `malloc_trim`; elsewhere a
/// no-op), between the phases of a stage. glibc keeps freed memory in the arena that held it,
/// and threads allocate from arenas of their own: what one phase freed on the main thread stays
/// resident while the next phase's threads (map's reader and mapper) fill theirs, and what they
/// freed stays resident under SQLite's sorter that builds the indexes after them, so the phases'
/// peaks add up instead of overlapping. In the `zd2gc` binary Rust's own allocations go to
/// jemalloc (src/main.rs), which returns freed pages by itself (at once in every stage but
/// extract); there this trims what is left on glibc's heap: SQLite's page caches and sorter
/// memory. The library used elsewhere (its tests) keeps the system allocator, all of it glibc's.
pub fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        unsafe extern "C" {
            fn malloc_trim(pad: usize) -> std::os::raw::c_int;
        }
        // SAFETY: malloc_trim only returns free pages of glibc's arenas to the system; it takes
        // its own locks and touches no memory in use.
        unsafe {
            malloc_trim(0);
        }
    }
}

/// An id of up to 16 bytes (agent look-ups in map and validate) as (its bytes, zero-padded, as one integer; its length).
pub(crate) fn inline_key(id: &str) -> Option<(u128, u8)> {
    let b = id.as_bytes();
    if b.len() > 16 {
        return None;
    }
    let mut w = [0u8; 16];
    w[..b.len()].copy_from_slice(b);
    Some((u128::from_le_bytes(w), b.len() as u8))
}

pub fn state_path(dir: &Path) -> PathBuf {
    dir.join(STATE_DB)
}

pub fn snapshot_path(dir: &Path) -> PathBuf {
    dir.join(SNAPSHOT_DB)
}

/// Open (creating if needed) the state database of a migration directory and bring its schema up to
/// date (under the directory's lock, [`upgrade`]). The file is created readable by its owner only.
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
    // An upgrade takes the directory's lock (refused while a load holds it); an up-to-date
    // database is opened without it.
    let version = conn.query_row("PRAGMA user_version", [], |r| r.get::<_, i64>(0))? as usize;
    let _lock = if version > 0 && version < schema_version() {
        upgrade::lock_for_upgrade(dir, version)?
    } else {
        None
    };
    migrate(&conn)?;
    Ok(conn)
}

/// TEST-ONLY hooks that simulate operator mistakes the test user (root) cannot cause with chmod:
/// `ZD2GC_TEST_MAX_PAGE_COUNT=N` caps the state database at N pages (a full disk) and
/// `ZD2GC_TEST_READ_ONLY=1` opens it read-only (a read-only mount); `ZD2GC_TEST_FREE_SPACE=N`
/// says the disk has N bytes free ([`upgrade`], [`compact`]), `ZD2GC_TEST_ABORT_MIGRATION` kills an
/// upgrade ([`migrations`]) and `ZD2GC_TEST_ABORT_COMPACT` a compaction ([`compact`]);
/// `ZD2GC_TEST_LINK_SPILL` and `ZD2GC_TEST_ABORT_LINK_SPILL` lower and kill a load's link spill
/// (`load::changes`). Never set them for real use.
pub(crate) fn test_hook(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// Options that create a file readable and writable by its owner only (state, reports, temporary
/// files: they name real people); the caller adds how to open it.
pub fn private_options() -> std::fs::OpenOptions {
    let mut o = std::fs::OpenOptions::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o600);
    }
    o
}

/// Create an empty file readable and writable by its owner only.
fn create_private(path: &Path) -> Result<()> {
    private_options()
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .map(drop)
        .map_err(|e| Error::io(path, e))
}

/// What a database error means for the operator, by its SQLite error code: a full disk, a
/// read-only file system and a database another process keeps locked get a message naming the
/// file and what to do; other errors pass unchanged.
pub fn explain(err: Error, dir: &Path) -> Error {
    let Error::Db(e) = &err else { return err };
    match e.sqlite_error_code() {
        Some(rusqlite::ErrorCode::DiskFull) => storage_error(Storage::Full, &e.to_string(), dir),
        Some(rusqlite::ErrorCode::ReadOnly) => {
            storage_error(Storage::ReadOnly, &e.to_string(), dir)
        }
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked) => {
            storage_error(Storage::Busy, &e.to_string(), dir)
        }
        _ => err,
    }
}

enum Storage {
    Full,
    ReadOnly,
    Busy,
}

fn storage_error(kind: Storage, detail: &str, dir: &Path) -> Error {
    let path = state_path(dir);
    match kind {
        Storage::Full => Error::failure(
            format!(
                "disk full: {} (or a database beside it) could not be written ({detail})",
                path.display()
            ),
            Some(format!(
                "free space on the disk of {}, then run the same command again: every write is a transaction, the journal is intact, and the run resumes where it stopped",
                dir.display()
            )),
        ),
        Storage::ReadOnly => Error::failure(
            format!("read-only: {} cannot be written ({detail})", path.display()),
            Some(format!(
                "make {} writable (remount it read-write, or fix its owner and mode), then run the same command again",
                dir.display()
            )),
        ),
        Storage::Busy => Error::failure(
            format!(
                "busy: {} stayed locked by another process for 10 s ({detail})",
                path.display()
            ),
            Some(
                "wait for the other zd2gc command on this migration directory to finish (or close the program that holds the database open), then run the same command again"
                    .to_string(),
            ),
        ),
    }
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

/// A migration id, created once: the stable marker of this migration's schedules.
pub fn migration_id(conn: &Connection) -> Result<String> {
    if let Some(id) = meta_get(conn, "migration_id")? {
        return Ok(id);
    }
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let id = format!(
        "{:012x}",
        (t as u64 ^ ((std::process::id() as u64) << 40)) & 0xffff_ffff_ffff
    );
    meta_set(conn, "migration_id", &id)?;
    Ok(id)
}

pub fn now_rfc3339() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

#[cfg(test)]
mod tests {
    /// A statement whose journal grows far past [`super::STMT_JOURNAL_SPILL`] (every row of a
    /// 4 MB table changed, in a transaction, on a unique column) moves that journal to a file and
    /// succeeds: with the spill at 1 MiB, SQLite wrote the journal's first MiB short and the
    /// statement failed with "database or disk is full" (what broke migrations 10 and 11 on 1.3 M
    /// shifts).
    #[test]
    fn a_statement_journal_larger_than_the_spill_size_moves_to_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let conn = super::open_state(dir.path()).unwrap();
        conn.execute_batch(
            "CREATE TABLE big (id INTEGER PRIMARY KEY, x TEXT NOT NULL UNIQUE);
             WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 4000)
             INSERT INTO big SELECT i, printf('%d-%.1000c', i, 'x') FROM n;",
        )
        .unwrap();
        let tx = conn.unchecked_transaction().unwrap();
        tx.execute_batch("UPDATE big SET x = x || 'y'; UPDATE big SET x = 'z' || x;")
            .unwrap();
        tx.commit().unwrap();
        let n: i64 = conn
            .query_row("SELECT count(*) FROM big WHERE x LIKE 'z%y'", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(n, 4000);
    }
}
