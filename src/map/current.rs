//! Whether the desired state is current: the one answer that `validate` and `load` share
//! (docs/mappings.md, "Is map current?").
//!
//! Every `map` run, online or offline, records what it used in the state database (`meta`, key
//! `map_inputs`, written in the same transaction as the desired state): the snapshot, a hash of
//! zd2gc.toml, a hash of each mapping table, whether it asked Genesys Cloud, and the generation of
//! the Genesys cache. [`check`] compares that record with the migration directory as it is now and
//! says what changed. [`ensure_current`] (validate) maps again, **the same way** the last map ran:
//! online stays online (through the cache), and a map can fall back to offline only when there are
//! no credentials, which it says. `load` refuses a desired state that is not current and says what
//! changed.
//!
//! Invariant: a resolution made online is never thrown away silently.

use super::{MapOptions, OnlineMode};
use crate::config::Config;
use crate::error::Result;
use rusqlite::{Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The `meta` key of the record.
const KEY: &str = "map_inputs";
/// The `meta` key of the Genesys cache's generation: bumped whenever a cached answer that map
/// uses is replaced by a different one (`--refresh`).
pub const CACHE_GENERATION: &str = "genesys_cache_generation";

/// What a `map` run used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MapInputs {
    /// The run that mapped.
    pub run_id: i64,
    pub snapshot_id: String,
    /// SHA-256 of zd2gc.toml (`None`: no file).
    pub config_sha256: Option<String>,
    /// The mapping tables' directory as map read it: relative to the migration directory when it
    /// is inside it (so a copied or moved migration directory keeps naming its own tables), else
    /// absolute. Read it through [`MapInputs::tables_dir`].
    pub mappings_dir: String,
    /// File name → SHA-256 of every `*.csv` of the mapping tables' directory.
    pub tables: BTreeMap<String, String>,
    /// Whether map asked Genesys Cloud (`--online`).
    pub online: bool,
    /// [`CACHE_GENERATION`] when map ran.
    pub cache_generation: i64,
}

impl MapInputs {
    /// The mapping tables' directory this record names, for the migration directory `dir`: a
    /// relative record is under `dir`; an absolute one (every record of a zd2gc before this rule,
    /// and tables outside `dir`) is where it says; an empty one is `dir/mappings`.
    pub fn tables_dir(&self, dir: &Path) -> PathBuf {
        if self.mappings_dir.is_empty() {
            dir.join("mappings")
        } else {
            dir.join(&self.mappings_dir)
        }
    }
}

/// How a record names the mapping tables' directory `mappings` of the migration directory `dir`
/// (see [`MapInputs::mappings_dir`]): relative when it is inside `dir`, both canonicalized.
pub fn recorded_dir(dir: &Path, mappings: &Path) -> String {
    let abs = std::fs::canonicalize(mappings).unwrap_or_else(|_| mappings.to_path_buf());
    match std::fs::canonicalize(dir)
        .ok()
        .and_then(|d| abs.strip_prefix(d).ok().map(Path::to_path_buf))
    {
        Some(rel) if !rel.as_os_str().is_empty() => rel.display().to_string(),
        _ => abs.display().to_string(),
    }
}

/// Whether two paths name the same directory (both canonicalized when they exist).
fn same_dir(a: &Path, b: &Path) -> bool {
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

/// The inputs as they are now (files only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Files {
    pub config_sha256: Option<String>,
    pub tables: BTreeMap<String, String>,
}

fn sha(bytes: &[u8]) -> String {
    use sha2::Digest;
    format!("{:x}", sha2::Sha256::digest(bytes))
}

/// Hash zd2gc.toml and every `*.csv` of `mappings`.
pub fn files_now(dir: &Path, mappings: &Path) -> Files {
    let config_sha256 = std::fs::read(dir.join(crate::config::FILE_NAME))
        .ok()
        .map(|b| sha(&b));
    let mut tables = BTreeMap::new();
    if let Ok(rd) = std::fs::read_dir(mappings) {
        for e in rd.flatten() {
            let p = e.path();
            let is_csv = p.extension().is_some_and(|x| x.eq_ignore_ascii_case("csv"));
            if !is_csv {
                continue;
            }
            if let (Some(name), Ok(b)) = (p.file_name(), std::fs::read(&p)) {
                tables.insert(name.to_string_lossy().into_owned(), sha(&b));
            }
        }
    }
    Files {
        config_sha256,
        tables,
    }
}

/// The cache generation now.
pub fn cache_generation(conn: &Connection) -> Result<i64> {
    Ok(crate::store::meta_get(conn, CACHE_GENERATION)?
        .and_then(|v| v.parse().ok())
        .unwrap_or(0))
}

/// Note that a cached answer changed.
pub fn bump_cache_generation(conn: &Connection) -> Result<()> {
    let g = cache_generation(conn)?;
    crate::store::meta_set(conn, CACHE_GENERATION, &(g + 1).to_string())
}

/// Record what a map run used (in map's write transaction).
pub fn record(conn: &Connection, inputs: &MapInputs) -> Result<()> {
    crate::store::meta_set(
        conn,
        KEY,
        &serde_json::to_string(inputs).expect("inputs serialize"),
    )
}

/// What the last map recorded, if it recorded anything (a map of an older zd2gc did not).
pub fn recorded(conn: &Connection) -> Result<Option<MapInputs>> {
    let v: Option<String> = conn
        .query_row("SELECT value FROM meta WHERE key = ?1", [KEY], |r| r.get(0))
        .optional()?;
    Ok(v.and_then(|v| serde_json::from_str(&v).ok()))
}

/// Whether the desired state is current.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Currency {
    /// Nothing map depends on changed since it ran.
    Current(MapInputs),
    /// These inputs changed since the recorded map.
    Stale(MapInputs, Vec<String>),
    /// No recorded map (never mapped, or mapped by an older zd2gc): why.
    Missing(String),
}

fn short(s: &str) -> &str {
    &s[..s.len().min(12)]
}

/// The snapshot `map` last mapped.
pub fn mapped_snapshot(conn: &Connection) -> Result<Option<String>> {
    crate::store::desired::mapped_snapshot(conn)
}

/// The current snapshot of the migration directory (`snapshot.db`).
pub fn current_snapshot(dir: &Path) -> Option<String> {
    let p = crate::store::snapshot_path(dir);
    if !p.exists() {
        return None;
    }
    let c = Connection::open_with_flags(&p, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).ok()?;
    c.query_row(
        "SELECT value FROM snapshot_meta WHERE key = 'snapshot_id'",
        [],
        |r| r.get(0),
    )
    .ok()
}

/// Compare the last map's record with the directory now. `mappings`: the tables' directory the
/// caller was told to use (`None`: the one map used).
pub fn check(conn: &Connection, dir: &Path, mappings: Option<&Path>) -> Result<Currency> {
    let snapshot = current_snapshot(dir).unwrap_or_default();
    let Some(rec) = recorded(conn)? else {
        let mapped = mapped_snapshot(conn)?;
        return Ok(Currency::Missing(match mapped {
            None => "no desired state yet".into(),
            Some(_) => "the last map did not record what it used (an older zd2gc)".into(),
        }));
    };
    let mappings: PathBuf = mappings
        .map(Path::to_path_buf)
        .unwrap_or_else(|| rec.tables_dir(dir));
    let now = files_now(dir, &mappings);
    let mut changes = Vec::new();
    if rec.snapshot_id != snapshot {
        changes.push(format!(
            "the export was extracted again (snapshot {} → {})",
            short(&rec.snapshot_id),
            short(&snapshot)
        ));
    }
    match (&rec.config_sha256, &now.config_sha256) {
        (a, b) if a == b => {}
        (None, Some(_)) => changes.push(format!("{} was created", crate::config::FILE_NAME)),
        (Some(_), None) => changes.push(format!("{} was removed", crate::config::FILE_NAME)),
        _ => changes.push(format!("{} changed", crate::config::FILE_NAME)),
    }
    for (name, h) in &now.tables {
        match rec.tables.get(name) {
            Some(old) if old == h => {}
            Some(_) => changes.push(format!("mappings/{name} changed")),
            None => changes.push(format!("mappings/{name} is new")),
        }
    }
    for name in rec.tables.keys() {
        if !now.tables.contains_key(name) {
            changes.push(format!("mappings/{name} was removed"));
        }
    }
    if rec.online && cache_generation(conn)? != rec.cache_generation {
        changes.push("cached Genesys answers were refreshed (`--refresh`)".into());
    }
    Ok(if changes.is_empty() {
        Currency::Current(rec)
    } else {
        Currency::Stale(rec, changes)
    })
}

/// How [`ensure_current`] brought the desired state up to date.
#[derive(Debug, Clone, PartialEq)]
pub struct Remapped {
    /// What changed since the last map (or why there was none to use).
    pub changes: Vec<String>,
    /// Whether it mapped online.
    pub online: bool,
    /// Said when the last map ran online and this one could not (no credentials).
    pub fallback: Option<String>,
    pub seconds: f64,
    /// Genesys calls made (answers not in the cache).
    pub online_calls: u64,
}

impl Remapped {
    /// One line for the operator.
    pub fn describe(&self) -> String {
        let how = if self.online {
            format!(
                "mapped again online (cached Genesys answers, {} new call(s))",
                self.online_calls
            )
        } else {
            "mapped offline".to_string()
        };
        let mut s = format!(
            "map: {}; {how} ({:.2}s)",
            self.changes.join("; "),
            self.seconds
        );
        if let Some(f) = &self.fallback {
            s.push_str("\n  warning: ");
            s.push_str(f);
        }
        s
    }
}

/// Map again when the desired state is not current, the way the last map ran. `online`: how to
/// reach Genesys when the last map ran online ([`OnlineMode::FromConfig`] from the command line;
/// [`OnlineMode::Off`] means no credentials). Returns `None` when the desired state was current.
pub fn ensure_current(
    dir: &Path,
    cfg: &Config,
    mappings: &Path,
    online: &OnlineMode,
    argv: &str,
    progress: &crate::ui::Counter,
) -> Result<Option<Remapped>> {
    let (changes, was_online) = {
        let state = crate::store::open_state(dir)?;
        match check(&state, dir, Some(mappings))? {
            Currency::Current(rec) => {
                // The tables validate was given are the ones map used, byte for byte: when the
                // record names another directory (a migration directory copied or moved since an
                // older zd2gc recorded it absolute, or `map --mappings` elsewhere), it names these
                // from now on, so that load checks the tables this validation checked.
                if !same_dir(&rec.tables_dir(dir), mappings) {
                    record(
                        &state,
                        &MapInputs {
                            mappings_dir: recorded_dir(dir, mappings),
                            ..rec
                        },
                    )?;
                }
                return Ok(None);
            }
            Currency::Stale(rec, changes) => (changes, rec.online),
            Currency::Missing(why) => (vec![why], false),
        }
    };
    let mut fallback = None;
    let mode = if !was_online {
        OnlineMode::Off
    } else {
        match online {
            OnlineMode::With(c) => OnlineMode::With(c.clone()),
            OnlineMode::FromConfig => {
                match crate::client::Credentials::resolve(&(&cfg.genesys).into()) {
                    Ok(_) => OnlineMode::FromConfig,
                    Err(e) => {
                        fallback = Some(no_credentials(&e.to_string()));
                        OnlineMode::Off
                    }
                }
            }
            OnlineMode::Off => {
                fallback = Some(no_credentials("no Genesys Cloud credentials"));
                OnlineMode::Off
            }
        }
    };
    let o = super::map_dir(
        dir,
        cfg,
        &MapOptions {
            mappings: Some(mappings.to_path_buf()),
            online: mode,
            refresh: false,
            argv: argv.to_string(),
            progress: progress.clone(),
        },
    )?;
    Ok(Some(Remapped {
        changes,
        online: o.online,
        fallback,
        seconds: o.seconds,
        online_calls: o.online_calls,
    }))
}

fn no_credentials(why: &str) -> String {
    format!(
        "the last map ran online, but {why}: mapped offline, so what Genesys resolved (users, units, \
         activity codes) is not used; set GENESYSCLOUD_OAUTHCLIENT_ID and GENESYSCLOUD_OAUTHCLIENT_SECRET \
         (or fill the mapping tables with `zd2gc mappings pull`) and validate again"
    )
}
