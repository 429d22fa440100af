//! The lock of a migration directory: an advisory lock (`flock`) on `zd2gc.lock`, released by the
//! kernel when its holder dies, so a killed holder leaves no stale lock to clear. The file names
//! its holder ("pid N started T", and what it does when it is not a load) so that a refusal can
//! say who holds it. Every zd2gc since the lock was introduced takes it the same way for `load`
//! (`load::guard`); a state upgrade takes it too ([`super::upgrade`]), so that a newer binary never
//! rewrites the schema under a running load of an older one.
//!
//! `flock` locks belong to an open file, not to a process: the same process opening the file again
//! would be refused by its own lock. The directories this process holds are therefore kept in a
//! process-wide list, and [`held_here`] lets a migration that runs inside a held lock (a load
//! whose first open upgrades the state) go ahead instead of refusing itself.

use crate::error::{Error, Result};
use std::fs::File;
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

pub const LOCK_FILE: &str = "zd2gc.lock";

/// The directories whose lock this process holds (their canonical paths), one entry per holder.
static HELD: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

fn key(dir: &Path) -> PathBuf {
    dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf())
}

/// What a refusal says of the lock's holder: the lock file's text (its pid, start and, for a
/// command that rewrites the state, what it does), or "holder unknown" when the file is empty.
pub fn holder(who: &str) -> &str {
    if who.is_empty() {
        "holder unknown"
    } else {
        who
    }
}

/// Whether the lock's holder is a command that rewrites the state database (an upgrade, a
/// compact: their lock text ends with what they do, in parentheses) rather than a load (whose
/// text, in every zd2gc version, is only its pid and start).
pub fn rewriting(who: &str) -> bool {
    who.ends_with(')')
}

/// Whether this process holds the lock of `dir`.
pub fn held_here(dir: &Path) -> bool {
    let k = key(dir);
    HELD.lock().unwrap_or_else(|e| e.into_inner()).contains(&k)
}

/// The held lock of a migration directory; released on drop (or by the kernel on any exit).
#[derive(Debug)]
pub struct DirLock {
    file: File,
    key: PathBuf,
}

/// What [`DirLock::try_acquire`] found.
#[derive(Debug)]
pub enum Acquired {
    /// Taken; with what the file said before (a holder that died without clearing it, or empty).
    Taken(DirLock, String),
    /// Another process (or another holder in this one) holds it; what the file says of it.
    Busy(String),
}

impl DirLock {
    /// Take the lock without waiting. `doing` is written after "pid N started T" (empty for a
    /// load, which older binaries' refusals also show as it is).
    pub fn try_acquire(dir: &Path, doing: &str) -> Result<Acquired> {
        let path = dir.join(LOCK_FILE);
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| Error::io(&path, e))?;
        let mut previous = String::new();
        let _ = file.read_to_string(&mut previous);
        let previous = previous.trim().to_string();
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => return Ok(Acquired::Busy(previous)),
            Err(std::fs::TryLockError::Error(e)) => return Err(Error::io(&path, e)),
        }
        let me = format!(
            "pid {} started {}{doing}",
            std::process::id(),
            super::now_rfc3339()
        );
        file.set_len(0).map_err(|e| Error::io(&path, e))?;
        file.rewind().map_err(|e| Error::io(&path, e))?;
        file.write_all(me.as_bytes())
            .map_err(|e| Error::io(&path, e))?;
        file.sync_all().map_err(|e| Error::io(&path, e))?;
        let key = key(dir);
        HELD.lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(key.clone());
        Ok(Acquired::Taken(DirLock { file, key }, previous))
    }
}

impl Drop for DirLock {
    fn drop(&mut self) {
        let mut held = HELD.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(i) = held.iter().position(|k| *k == self.key) {
            held.swap_remove(i);
        }
        drop(held);
        let _ = self.file.set_len(0);
        let _ = self.file.unlock();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A second holder is refused while the first holds the lock (even in the same process: the
    /// lock belongs to the open file), is told who holds it, and gets it once the first is gone;
    /// [`held_here`] follows.
    #[test]
    fn one_holder_at_a_time_and_the_refusal_names_it() {
        let d = tempfile::tempdir().unwrap();
        assert!(!held_here(d.path()));
        let Acquired::Taken(first, before) = DirLock::try_acquire(d.path(), " (first)").unwrap()
        else {
            panic!("the lock was free")
        };
        assert_eq!(before, "");
        assert!(held_here(d.path()));
        let Acquired::Busy(who) = DirLock::try_acquire(d.path(), "").unwrap() else {
            panic!("the lock was taken twice")
        };
        assert!(
            who.starts_with(&format!("pid {} started ", std::process::id()))
                && who.ends_with(" (first)"),
            "{who}"
        );
        drop(first);
        assert!(!held_here(d.path()));
        assert!(matches!(
            DirLock::try_acquire(d.path(), "").unwrap(),
            Acquired::Taken(_, _)
        ));
    }
}
