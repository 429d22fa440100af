//! Guards of a load: one `load` per migration directory at a time (an advisory lock on
//! `zd2gc.lock`, released by the kernel when its holder dies, so a killed load leaves no stale
//! lock to clear), and the Genesys org a migration is bound to (the API base URL and the OAuth
//! client id; the API has no org-id call a client-credentials token may make), which another org
//! may replace only with `--rebind`, recorded.

use crate::client::Client;
use crate::error::{Error, Result};
use crate::store::lock::Acquired;
use crate::ui::Ui;
use rusqlite::Connection;
use std::path::Path;

pub use crate::store::lock::LOCK_FILE;
pub const ORG_KEY: &str = "genesys_org";

/// The held lock of a migration directory; released on drop (or by the kernel on any exit).
#[derive(Debug)]
pub struct DirLock {
    _held: crate::store::lock::DirLock,
}

impl DirLock {
    /// Take the lock, or refuse naming the holder's pid and start time. A load that holds it may
    /// upgrade the state database itself (`store::open_state` sees the lock is this process's).
    pub fn acquire(dir: &Path, ui: &Ui) -> Result<DirLock> {
        match crate::store::lock::DirLock::try_acquire(dir, "")? {
            Acquired::Busy(who) if crate::store::lock::rewriting(&who) => Err(Error::usage(
                format!(
                    "another zd2gc is working on the state database of {} ({who}): a load waits until it is done",
                    dir.display()
                ),
                Some("wait for it to finish, then run `zd2gc load` again; nothing was loaded".to_string()),
            )),
            Acquired::Busy(who) => Err(Error::usage(
                format!(
                    "another load is running on {} ({})",
                    dir.display(),
                    crate::store::lock::holder(&who)
                ),
                Some("wait for it to finish, or stop it (Ctrl-C checkpoints it) and run `zd2gc load` again".to_string()),
            )),
            Acquired::Taken(held, previous) => {
                if !previous.is_empty() {
                    // The file names a holder, but the kernel says nobody holds it: that load died.
                    ui.info(format!(
                        "taking over the lock of a load that is gone ({previous})"
                    ));
                }
                Ok(DirLock { _held: held })
            }
        }
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
