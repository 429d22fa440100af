//! Giving back the free pages of a state database (`zd2gc compact`), for the engineer whose
//! `zd2gc.db` kept its size after an upgrade rewrote a table or after many re-runs of `map`:
//! - it takes the migration directory's lock ([`super::lock`]), as an upgrade does, and is
//!   refused while a load (or an upgrade, or another compact) holds it, naming the holder;
//! - an older database is upgraded first (the CLI does so before every command, under the same
//!   lock), so what is compacted is the schema this zd2gc writes;
//! - before it starts it checks the free disk the `VACUUM` needs: the new copy is built in a
//!   temporary database in SQLite's temporary directory, then written page by page to the
//!   write-ahead log beside the database (the file only shrinks, at the checkpoint): up to the
//!   bytes in use, in each place;
//! - `VACUUM` is one SQLite transaction: killed at any point before its commit, the database is
//!   the one before it; killed after, the log holds the committed copy and the next open reads
//!   it (and the next checkpoint moves it into the file). The log is checkpointed and truncated
//!   at the end, and the sizes before and after are returned.
//!
//! `snapshot.db` is not compacted: `extract` writes it anew whole (a rename) and packs it, and no
//! later stage deletes from it, so it has no free pages to give back.

use super::lock::{Acquired, DirLock};
use super::state_path;
use crate::error::{Error, Result};
use rusqlite::Connection;
use std::path::{Path, PathBuf};

/// The sizes of a state database at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Sizes {
    /// The database file and its write-ahead log, on disk.
    pub bytes: u64,
    pub file_bytes: u64,
    pub wal_bytes: u64,
    pub page_size: u64,
    pub pages: u64,
    /// Pages on SQLite's free list (`PRAGMA freelist_count`).
    pub free_pages: u64,
}

/// What a compaction did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Compacted {
    pub path: PathBuf,
    pub before: Sizes,
    pub after: Sizes,
    /// Whether the log was checkpointed and truncated to nothing at the end (false when another
    /// connection was reading: the log then empties at a later checkpoint).
    pub checkpointed: bool,
    pub seconds: f64,
}

impl Compacted {
    /// The bytes given back to the disk (database and log).
    pub fn given_back(&self) -> u64 {
        self.before.bytes.saturating_sub(self.after.bytes)
    }
}

/// What the lock file says of a compaction holding it.
const COMPACTING: &str = "compacting the state database";

/// Compact the state database of `dir` (see the module), saying what it needs and does through
/// `say`.
pub fn compact(dir: &Path, say: &mut dyn FnMut(String)) -> Result<Compacted> {
    let path = state_path(dir);
    if !path.is_file() {
        return Err(Error::usage(
            format!("{} has no state database to compact", dir.display()),
            Some(format!(
                "check --dir; `zd2gc init {}` creates a migration directory",
                dir.display()
            )),
        ));
    }
    let _lock = lock_for_compact(dir)?;
    let started = std::time::Instant::now();
    let mut conn = super::open_state(dir)?;
    // What an earlier command left in the log goes into the file first, so that the sizes and the
    // free pages are the file's.
    checkpoint(&conn)?;
    let before = sizes(&conn, &path)?;
    let in_use = (before.pages - before.free_pages) * before.page_size;
    // Each page of the copy goes to the log with a 24-byte frame header.
    let log = in_use + (before.pages - before.free_pages) * 24;
    let tmp = sqlite_temp_dir();
    say(format!(
        "compacting {} ({}, {} of it free pages): it needs up to {} free on the disk of {} (the write-ahead log) and {} in SQLite's temporary directory {} until it is done",
        path.display(),
        mb(before.bytes),
        mb(before.free_pages * before.page_size),
        mb(log),
        dir.display(),
        mb(in_use),
        tmp.as_deref()
            .map_or("(none found)".into(), |t| t.display().to_string()),
    ));
    check_free_disk(dir, log, tmp.as_deref(), in_use, &path)?;
    let kill = abort_hook();
    if let Some(at) = kill.vacuum_at {
        let mut n = 0usize;
        conn.progress_handler(
            100,
            Some(move || {
                if n == at {
                    std::process::abort();
                }
                n += 1;
                false
            }),
        )?;
    }
    conn.execute_batch("VACUUM")?;
    if kill.vacuum_at.is_some() {
        conn.progress_handler(0, None::<fn() -> bool>)?;
    }
    if kill.after_vacuum {
        std::process::abort();
    }
    let checkpointed = checkpoint(&conn)?;
    let after = sizes(&conn, &path)?;
    Ok(Compacted {
        path,
        before,
        after,
        checkpointed,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// Take the lock of `dir` for a compaction, or refuse naming its holder: a load (its lock file
/// names only its pid and start), or another command that rewrites the state (an upgrade, a
/// compact: they name what they do in parentheses).
fn lock_for_compact(dir: &Path) -> Result<DirLock> {
    match DirLock::try_acquire(dir, &format!(" ({COMPACTING})"))? {
        Acquired::Taken(lock, _) => Ok(lock),
        Acquired::Busy(who) if super::lock::rewriting(&who) => Err(Error::usage(
            format!(
                "another zd2gc is working on the state database of {} ({who})",
                dir.display()
            ),
            Some("wait for it to finish, then run `zd2gc compact` again".to_string()),
        )),
        Acquired::Busy(who) => Err(Error::usage(
            format!(
                "a load is running on {} ({}): its state database cannot be compacted under it",
                dir.display(),
                super::lock::holder(&who)
            ),
            Some(format!(
                "compact after it ends: let that load finish (or stop it with Ctrl-C, which checkpoints it), then run `zd2gc compact` again. Nothing was changed in {}",
                state_path(dir).display()
            )),
        )),
    }
}

/// Refuse before starting when the disk of the directory (the log) or that of SQLite's
/// temporary directory (the copy) has less free than they need; both on one disk: the sum.
fn check_free_disk(dir: &Path, log: u64, tmp: Option<&Path>, copy: u64, path: &Path) -> Result<()> {
    let same_disk = tmp.is_none_or(|t| same_file_system(dir, t));
    let mut needs = vec![(dir.to_path_buf(), if same_disk { log + copy } else { log })];
    if let (Some(t), false) = (tmp, same_disk) {
        needs.push((t.to_path_buf(), copy));
    }
    for (on, need) in needs {
        let Some(free) = super::upgrade::free_space(&on) else {
            continue;
        };
        if free < need {
            return Err(Error::failure(
                format!(
                    "not enough free disk to compact {}: it needs up to {} on the disk of {}, which has {} free",
                    path.display(),
                    mb(need),
                    on.display(),
                    mb(free)
                ),
                Some(format!(
                    "free {} on that disk, then run `zd2gc compact` again (SQLite builds the copy in its temporary directory: SQLITE_TMPDIR or TMPDIR choose another). Nothing was changed: the free pages are reused by later writes meanwhile",
                    mb(need - free)
                )),
            ));
        }
    }
    Ok(())
}

/// The directory SQLite (on Unix) makes its temporary files in, as its `unixTempFileDir` picks
/// it: the first writable directory of `SQLITE_TMPDIR`, `TMPDIR`, /var/tmp, /usr/tmp, /tmp, `.`
/// (zd2gc never sets `sqlite3_temp_directory`, which would come first).
fn sqlite_temp_dir() -> Option<PathBuf> {
    #[cfg(unix)]
    {
        let env = |k| std::env::var_os(k).map(PathBuf::from);
        [
            env("SQLITE_TMPDIR"),
            env("TMPDIR"),
            Some("/var/tmp".into()),
            Some("/usr/tmp".into()),
            Some("/tmp".into()),
            Some(".".into()),
        ]
        .into_iter()
        .flatten()
        .find(|d| {
            d.is_dir()
                && rustix::fs::access(
                    d,
                    rustix::fs::Access::WRITE_OK | rustix::fs::Access::EXEC_OK,
                )
                .is_ok()
        })
    }
    #[cfg(not(unix))]
    {
        None
    }
}

fn same_file_system(a: &Path, b: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        match (std::fs::metadata(a), std::fs::metadata(b)) {
            (Ok(a), Ok(b)) => a.dev() == b.dev(),
            _ => true,
        }
    }
    #[cfg(not(unix))]
    {
        let _ = (a, b);
        true
    }
}

/// Checkpoint the log into the file and truncate it; whether it was emptied (a reader of an
/// older snapshot keeps its frames).
fn checkpoint(conn: &Connection) -> Result<bool> {
    let (busy, log, done): (i64, i64, i64) =
        conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })?;
    Ok(busy == 0 && log == done)
}

fn sizes(conn: &Connection, path: &Path) -> Result<Sizes> {
    let (page_size, pages, free_pages): (i64, i64, i64) = conn.query_row(
        "SELECT page_size, page_count, freelist_count
         FROM pragma_page_size, pragma_page_count, pragma_freelist_count",
        [],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )?;
    let len = |p: &Path| std::fs::metadata(p).map_or(0, |m| m.len());
    let file_bytes = len(path);
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    let wal_bytes = len(Path::new(&wal));
    Ok(Sizes {
        bytes: file_bytes + wal_bytes,
        file_bytes,
        wal_bytes,
        page_size: page_size as u64,
        pages: pages as u64,
        free_pages: free_pages as u64,
    })
}

/// TEST-ONLY: `ZD2GC_TEST_ABORT_COMPACT=vacuum:K` aborts the process (as a kill would: no
/// rollback, no close) at the K-th (from 0) of the checks made every 100 steps of the VACUUM's
/// statements; `ZD2GC_TEST_ABORT_COMPACT=after-vacuum` just after the VACUUM committed, before the
/// checkpoint. Never set it for real use.
#[derive(Default)]
struct AbortHook {
    vacuum_at: Option<usize>,
    after_vacuum: bool,
}

fn abort_hook() -> AbortHook {
    let v = super::test_hook("ZD2GC_TEST_ABORT_COMPACT");
    match v.as_deref() {
        Some("after-vacuum") => AbortHook {
            after_vacuum: true,
            ..AbortHook::default()
        },
        Some(v) => AbortHook {
            vacuum_at: v.strip_prefix("vacuum:").and_then(|k| k.parse().ok()),
            ..AbortHook::default()
        },
        None => AbortHook::default(),
    }
}

pub(crate) fn mb(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1e6)
}
