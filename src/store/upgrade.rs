//! Upgrading the schema of a state database safely, for the engineer who swaps in a newer zd2gc:
//! - an upgrade takes the migration directory's lock (`zd2gc.lock`, [`super::lock`]) and is
//!   refused while a load, of any zd2gc version, holds it: a load's writes would otherwise fail
//!   against the new schema after Genesys was written (review of schema 17, finding 2). Commands on
//!   an up-to-date database never take the lock (`status` works during a load);
//! - before a migration that rewrites a table, the CLI says how much free disk it needs (the copy
//!   and the write-ahead log: up to twice the tables it rewrites) and refuses before starting when
//!   the disk has less; after it, the log is truncated and the space a `VACUUM` would give back is
//!   named, with the command.

use super::lock::{Acquired, DirLock};
use super::{schema_version, state_path};
use crate::error::{Error, Result};
use rusqlite::Connection;
use std::path::Path;

/// What the lock file says of an upgrade holding it (an upgrade refused by another tells them
/// apart from a load by it).
const UPGRADING: &str = "upgrading the state database";

/// Take the lock of `dir` for an upgrade of its state database from schema `from`: `None` when
/// this process holds it already (a load whose first open upgrades); refused, naming the holder,
/// when another holds it.
pub(crate) fn lock_for_upgrade(dir: &Path, from: usize) -> Result<Option<DirLock>> {
    if super::lock::held_here(dir) {
        return Ok(None);
    }
    let to = schema_version();
    match DirLock::try_acquire(dir, &format!(" ({UPGRADING} from schema {from} to {to})"))? {
        Acquired::Taken(lock, _) => Ok(Some(lock)),
        Acquired::Busy(who) if who.contains(UPGRADING) => Err(Error::usage(
            format!(
                "another zd2gc is upgrading the state database of {} ({who})",
                dir.display()
            ),
            Some("wait for it to finish, then run this command again".to_string()),
        )),
        Acquired::Busy(who) if super::lock::rewriting(&who) => Err(Error::usage(
            format!(
                "another zd2gc is working on the state database of {} ({who})",
                dir.display()
            ),
            Some("wait for it to finish, then run this command again".to_string()),
        )),
        Acquired::Busy(who) => Err(Error::usage(
            format!(
                "a load is running on {} ({}): its state database cannot be upgraded from schema {from} to {to} under it",
                dir.display(),
                super::lock::holder(&who)
            ),
            Some(format!(
                "upgrade after it ends: let that load finish (or stop it with Ctrl-C, which checkpoints it), then run this command again; meanwhile the zd2gc that runs the load still reads the directory (`status`). Nothing was changed: {} is still at schema {from}",
                state_path(dir).display()
            )),
        )),
    }
}

/// Bring the state database of `dir` up to this zd2gc's schema when it is older, saying so
/// through `say` (the CLI runs it before a command's first open): under the directory's lock,
/// after checking the free disk the rewrite needs, then the write-ahead log truncated and the
/// space a `VACUUM` would give back named. A database at this schema (or newer, or none) is left
/// alone and the lock is not taken.
pub fn upgrade(dir: &Path, say: &mut dyn FnMut(String)) -> Result<()> {
    let Some(from) = super::state_version(dir) else {
        return Ok(());
    };
    let to = schema_version();
    if from == 0 || from >= to {
        return Ok(());
    }
    let _lock = lock_for_upgrade(dir, from)?;
    let path = state_path(dir);
    let (tables, rewritten) = {
        let c = Connection::open_with_flags(&path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)?;
        let tables = super::migrations::rewritten_tables(from);
        let size = table_bytes(&c, &tables)?;
        (tables, size)
    };
    // The copy (or the rewritten pages) goes to the write-ahead log first, then into the file,
    // which grows by the copy while the old table's pages become free: up to twice the tables.
    let need = 2 * rewritten;
    if need == 0 {
        say(format!(
            "upgrading the state database {} from schema {from} to {to} (once)",
            path.display()
        ));
    } else {
        say(format!(
            "upgrading the state database {} from schema {from} to {to} (once): it rewrites {} ({}) and needs up to {} free on the disk of {} until it is done",
            path.display(),
            tables.join(", "),
            mb(rewritten),
            mb(need),
            dir.display()
        ));
        if let Some(free) = free_space(dir)
            && free < need
        {
            return Err(Error::failure(
                format!(
                    "not enough free disk to upgrade {}: the upgrade needs up to {}, the disk of {} has {} free",
                    path.display(),
                    mb(need),
                    dir.display(),
                    mb(free)
                ),
                Some(format!(
                    "free {} on that disk (or move the migration directory to a larger one), then run the command again. Nothing was changed: the database is still at schema {from}, and the zd2gc that wrote it still reads it",
                    mb(need - free)
                )),
            ));
        }
    }
    let conn = super::open_state(dir)?;
    // The log held the whole rewrite; give its space back now rather than at the last close.
    let _ = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()));
    let free_pages: i64 = conn.query_row(
        "SELECT freelist_count * page_size FROM pragma_freelist_count, pragma_page_size",
        [],
        |r| r.get(0),
    )?;
    if free_pages >= 1 << 20 {
        say(format!(
            "upgraded; {} of {} are free pages now, which a VACUUM gives back: run `zd2gc --dir {} compact` (it needs about the database's size free while it runs, and is refused while a load runs)",
            mb(free_pages as u64),
            path.display(),
            dir.display()
        ));
    }
    Ok(())
}

/// The bytes of the pages of `tables` and their indexes (SQLite's `dbstat`).
fn table_bytes(c: &Connection, tables: &[&str]) -> Result<u64> {
    let mut total = 0u64;
    let mut st = c.prepare(
        "SELECT coalesce(sum(pgsize), 0) FROM dbstat('main', 1)
         WHERE name IN (SELECT name FROM sqlite_schema WHERE tbl_name = ?1)",
    )?;
    for t in tables {
        total += st.query_row([t], |r| r.get::<_, i64>(0))? as u64;
    }
    Ok(total)
}

/// The bytes an unprivileged user may still write on the file system of `dir` (`statvfs`), if
/// known. `ZD2GC_TEST_FREE_SPACE=N` (tests only) says N.
pub(super) fn free_space(dir: &Path) -> Option<u64> {
    if let Some(n) = super::test_hook("ZD2GC_TEST_FREE_SPACE").and_then(|v| v.parse().ok()) {
        return Some(n);
    }
    #[cfg(unix)]
    {
        let s = rustix::fs::statvfs(dir).ok()?;
        Some(s.f_bavail.saturating_mul(s.f_frsize))
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        None
    }
}

fn mb(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1e6)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A state database at schema 16 (its `user_version` set back: the steps of the crosswalk
    /// find it done, the others run again harmlessly).
    fn at_16(dir: &Path) {
        let c = super::super::open_state(dir).unwrap();
        c.execute_batch("PRAGMA user_version = 16;").unwrap();
    }

    fn version(dir: &Path) -> usize {
        let c = Connection::open(state_path(dir)).unwrap();
        c.query_row("PRAGMA user_version", [], |r| r.get::<_, i64>(0))
            .unwrap() as usize
    }

    /// A load holds the lock and then opens the state: when that open upgrades, it does not
    /// refuse itself (the lock is this process's); another holder's lock refuses it.
    #[test]
    fn a_load_that_holds_the_lock_upgrades_its_own_state() {
        let d = tempfile::tempdir().unwrap();
        at_16(d.path());
        let Acquired::Taken(load, _) = DirLock::try_acquire(d.path(), "").unwrap() else {
            panic!("free")
        };
        super::super::open_state(d.path()).unwrap();
        assert_eq!(version(d.path()), schema_version());
        drop(load);
        at_16(d.path());
        // Another holder (another process: here another open file of the lock, with this
        // process's list of held locks left empty) refuses the upgrade.
        let other = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(d.path().join(super::super::lock::LOCK_FILE))
            .unwrap();
        other.try_lock().unwrap();
        let e = super::super::open_state(d.path()).unwrap_err();
        assert!(e.to_string().contains("a load is running on"), "{e}");
        assert_eq!(version(d.path()), 16);
    }
}
