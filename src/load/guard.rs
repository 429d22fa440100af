//! Guards of a load: one `load` per migration directory at a time (an advisory lock on
//! `zd2gc.lock`, released by the kernel when its holder dies, so a killed load leaves no stale
//! lock to clear), and the Genesys org a migration is bound to (the API base URL and the OAuth
//! client id; the API has no org-id call a client-credentials token may make), which another org
//! may replace only with `--rebind`, recorded.

use crate::client::Client;
use crate::error::{Error, Result};
use crate::ui::Ui;
use rusqlite::Connection;
use std::fs::File;
use std::io::{Read, Seek, Write};
use std::path::Path;

pub const LOCK_FILE: &str = "zd2gc.lock";
pub const ORG_KEY: &str = "genesys_org";

/// The held lock of a migration directory; released on drop (or by the kernel on any exit).
#[derive(Debug)]
pub struct DirLock {
    file: File,
}

impl DirLock {
    /// Take the lock, or refuse naming the holder's pid and start time.
    pub fn acquire(dir: &Path, ui: &Ui) -> Result<DirLock> {
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
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                let who = previous.trim();
                return Err(Error::usage(
                    format!(
                        "another load is running on {} ({})",
                        dir.display(),
                        if who.is_empty() { "holder unknown".to_string() } else { who.to_string() }
                    ),
                    Some("wait for it to finish, or stop it (Ctrl-C checkpoints it) and run `zd2gc load` again".to_string()),
                ));
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(Error::io(&path, e)),
        }
        if !previous.trim().is_empty() {
            // The file names a holder, but the kernel says nobody holds it: that load died.
            ui.info(format!(
                "taking over the lock of a load that is gone ({})",
                previous.trim()
            ));
        }
        let me = format!(
            "pid {} started {}",
            std::process::id(),
            crate::store::now_rfc3339()
        );
        file.set_len(0).map_err(|e| Error::io(&path, e))?;
        file.rewind().map_err(|e| Error::io(&path, e))?;
        file.write_all(me.as_bytes())
            .map_err(|e| Error::io(&path, e))?;
        file.sync_all().map_err(|e| Error::io(&path, e))?;
        Ok(DirLock { file })
    }
}

impl Drop for DirLock {
    fn drop(&mut self) {
        let _ = self.file.set_len(0);
        let _ = self.file.unlock();
    }
}

/// The org identity of a client: its API base URL and OAuth client id.
pub fn org_of(client: &Client) -> String {
    format!("{} (client {})", client.endpoints.api, client.client_id())
}

/// Bind the migration to the client's org on first use; refuse another org unless `rebind`.
/// `load` calls it twice: read-only before any request (another org is refused before it is
/// contacted), then for real once [`Client::identify`] has proved the URLs and the credentials,
/// so a run with a wrong secret or URL binds nothing and its corrected re-run needs no `--rebind`.
pub fn bind_org(
    conn: &Connection,
    client: &Client,
    rebind: bool,
    read_only: bool,
) -> Result<Vec<String>> {
    let now = org_of(client);
    match crate::store::meta_get(conn, ORG_KEY)? {
        None if read_only => Ok(vec![]),
        None => {
            crate::store::meta_set(conn, ORG_KEY, &now)?;
            Ok(vec![])
        }
        Some(bound) if bound == now => Ok(vec![]),
        Some(bound) if rebind => {
            if !read_only {
                crate::store::meta_set(conn, ORG_KEY, &now)?;
                let log = crate::store::meta_get(conn, "genesys_org_rebinds")?.unwrap_or_default();
                crate::store::meta_set(
                    conn,
                    "genesys_org_rebinds",
                    &format!("{log}{} {bound} -> {now}\n", crate::store::now_rfc3339()),
                )?;
            }
            Ok(vec![format!("--rebind: this migration was bound to {bound}; now bound to {now}")])
        }
        Some(bound) => Err(Error::usage(
            format!("this migration was loaded into another Genesys org: {bound}; this run points at {now}"),
            Some("check ZD2GC_API_URL / GENESYSCLOUD_REGION and the client id; to move the migration on purpose, add `--rebind` (recorded)".to_string()),
        )),
    }
}
