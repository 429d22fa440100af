//! `zd2gc init [DIR]`: create a migration directory with a commented `zd2gc.toml`, empty mapping
//! tables (a header and a comment line each: a new migration never starts with another org's ids,
//! docs/mappings.md), and the state database. Never overwrites a file that exists.

use crate::error::{Error, Result};
use std::path::{Path, PathBuf};

/// The empty tables `init` writes: the header, and a comment line saying what goes in it.
pub const EMPTY_MAPPINGS: &[(&str, &str)] = &[
    (
        "agents.csv",
        "zendesk_agent_id,email,genesys_user_id,management_unit_id,business_unit_id\n# one row per Zendesk agent: its id or e-mail and its Genesys user / management unit / business unit ids (UUIDs; blank = look up online). See docs/mappings.md\n",
    ),
    (
        "business_units.csv",
        "business_unit_id,name,time_zone,start_day_of_week\n# one row per Genesys business unit: its id (UUID) and name; time_zone is IANA (Europe/Paris); start_day_of_week is Monday to Sunday. See docs/mappings.md\n",
    ),
    (
        "locations.csv",
        "location,time_zone,business_unit_id\n# one row per Zendesk location: the zone of its wall-clock times and its default business unit id. See docs/mappings.md\n",
    ),
    (
        "activities.csv",
        "zendesk_task_name,genesys_activity_code_id,business_unit_id\n# one row per Zendesk task name (exact): the Genesys activity code id; business_unit_id blank = every unit. See docs/mappings.md\n",
    ),
    (
        "time_off.csv",
        "zendesk_reason,genesys_activity_code_id,business_unit_id\n# one row per Zendesk time-off reason (exact): the id of a Genesys activity code of the TimeOff category; business_unit_id blank = every unit. See docs/mappings.md\n",
    ),
];

/// The mapping tables of the samples (`samples/`, the rehearsal's org): only for `rehearse`.
pub const BUILTIN_MAPPINGS: &[(&str, &str)] = &[
    ("agents.csv", include_str!("../mappings/agents.csv")),
    (
        "business_units.csv",
        include_str!("../mappings/business_units.csv"),
    ),
    ("locations.csv", include_str!("../mappings/locations.csv")),
    ("activities.csv", include_str!("../mappings/activities.csv")),
    ("time_off.csv", include_str!("../mappings/time_off.csv")),
];

/// Create the migration directory; returns what was created (existing files are left alone).
pub fn init_dir(dir: &Path, mappings_from: Option<&Path>) -> Result<Vec<PathBuf>> {
    init_dir_with(dir, mappings_from, EMPTY_MAPPINGS)
}

/// [`init_dir`], writing `tables` when no folder to copy from is given.
pub fn init_dir_with(
    dir: &Path,
    mappings_from: Option<&Path>,
    tables: &[(&str, &str)],
) -> Result<Vec<PathBuf>> {
    let mut created = Vec::new();
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let cfg = dir.join(crate::config::FILE_NAME);
    if !cfg.exists() {
        std::fs::write(&cfg, crate::config::TEMPLATE).map_err(|e| Error::io(&cfg, e))?;
        crate::store::restrict_permissions(&cfg);
        created.push(cfg);
    }
    let mdir = dir.join("mappings");
    std::fs::create_dir_all(&mdir).map_err(|e| Error::io(&mdir, e))?;
    for (name, builtin) in tables {
        let target = mdir.join(name);
        if target.exists() {
            continue;
        }
        match mappings_from {
            Some(src) => {
                let from = src.join(name);
                std::fs::copy(&from, &target).map_err(|e| Error::io(&from, e))?;
            }
            None => std::fs::write(&target, builtin).map_err(|e| Error::io(&target, e))?,
        }
        // The tables name real people (agents' e-mails): owner only, like the state database.
        crate::store::restrict_permissions(&target);
        created.push(target);
    }
    let db = crate::store::state_path(dir);
    if !db.exists() {
        crate::store::open_state(dir)?;
        created.push(db);
    }
    Ok(created)
}
