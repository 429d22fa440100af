//! The desired state `map` produced (`desired_shifts`), grouped by business-unit week, with the
//! records held back: by `map` itself (`held_back_reason`), and under `--allow-errors` by the
//! validation's error findings (`validation-report.md`, "What load does with error findings": a
//! shift is held back when it, one of its tasks, or its agent has an error finding; a finding names
//! the later shift of an overlapping pair and every occurrence of a conflicting id).
//!
//! Also the validation gate: `load` refuses while the snapshot changed since the last validation,
//! or the last validation of the current snapshot has errors (unless `--allow-errors`).

use super::model::{Act, Content, Desired};
use crate::error::{Error, Result};
use rusqlite::Connection;
use sha2::Digest;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::Path;

/// One business-unit week of the desired state.
#[derive(Debug, Clone, Default)]
pub struct WeekInput {
    pub desired: Vec<Desired>,
    /// Management units whose agent schedules tell the week's state (of desired and linked users).
    pub mus: BTreeSet<String>,
    /// A digest of the desired shifts and held-back ids of the week (a done week whose digest is
    /// unchanged needs no request).
    pub hash: i64,
}

/// The desired state of a migration.
#[derive(Debug, Clone, Default)]
pub struct DesiredState {
    pub weeks: BTreeMap<(String, String), WeekInput>,
    pub held: HashSet<String>,
    pub held_by_reason: BTreeMap<String, u64>,
    pub snapshot_id: String,
}

impl DesiredState {
    pub fn shifts(&self) -> u64 {
        self.weeks.values().map(|w| w.desired.len() as u64).sum()
    }
}

/// The gate before a load: the desired state must be of the current snapshot, and the last
/// validation must be of it and clean (or `allow_errors`). Returns what to tell the operator and
/// the record ids with error findings (to hold back).
pub fn gate(
    conn: &Connection,
    dir: &Path,
    allow_errors: bool,
) -> Result<(Vec<String>, HashSet<String>)> {
    let mut notes = Vec::new();
    let mapped = crate::map::current::mapped_snapshot(conn)?.ok_or_else(|| {
        Error::usage(
            "there is no desired state to load",
            Some("run `zd2gc extract` and `zd2gc map` first".to_string()),
        )
    })?;
    if let Some(cur) = crate::map::current::current_snapshot(dir)
        && cur != mapped
    {
        return Err(Error::usage(
            format!(
                "the export was extracted again (snapshot {}) since `map` ran (snapshot {})",
                short(&cur),
                short(&mapped)
            ),
            Some("run `zd2gc map` and `zd2gc validate` again, then load".to_string()),
        ));
    }
    // Is the desired state current (docs/mappings.md, "Is map current?")? The same answer
    // validate acts on: load does not map again itself (what it would load must be validated
    // first), it says what changed.
    let rec = match crate::map::current::check(conn, dir, None)? {
        crate::map::current::Currency::Stale(_, changes) => {
            return Err(Error::usage(
                format!("the desired state is out of date: {}", changes.join("; ")),
                Some("run `zd2gc validate`: it maps again the way the last map ran (online stays online), then load".to_string()),
            ));
        }
        crate::map::current::Currency::Current(rec) => Some(rec),
        crate::map::current::Currency::Missing(_) => None,
    };
    let last = crate::store::validations::last(conn)?;
    if let (Some(rec), Some(v)) = (&rec, &last)
        && v.run_id < rec.run_id
        && v.snapshot_id == mapped
    {
        return Err(Error::usage(
            format!(
                "map ran again (run {}) after the last validation (run {})",
                rec.run_id, v.run_id
            ),
            Some("run `zd2gc validate` again before loading".to_string()),
        ));
    }
    let mut error_ids = HashSet::new();
    match last {
        Some(v) if v.snapshot_id != mapped => {
            return Err(Error::usage(
                format!(
                    "the snapshot changed since the last validation (validated {}, now {})",
                    short(&v.snapshot_id),
                    short(&mapped)
                ),
                Some("run `zd2gc validate` again before loading".to_string()),
            ));
        }
        Some(v) if v.errors > 0 => {
            if !allow_errors {
                return Err(Error::usage(
                    format!("the last validation of this snapshot found {} error(s)", v.errors),
                    Some("fix them and run `zd2gc validate` again, or load the rest with `--allow-errors` (the records with errors are held back and listed)".to_string()),
                ));
            }
            notes.push(format!(
                "--allow-errors: {} validation error(s); the records concerned are held back",
                v.errors
            ));
            error_ids.extend(report_error_ids(dir, &v.report_path)?);
        }
        Some(_) => {}
        None => {
            if !allow_errors {
                return Err(Error::usage(
                    "this snapshot has not been validated",
                    Some("run `zd2gc validate` first (or `--allow-errors` to load what map accepted)".to_string()),
                ));
            }
            notes.push(
                "--allow-errors: no validation recorded; loading what map accepted".to_string(),
            );
        }
    }
    // map's own error findings hold their records back too.
    let mut st = conn.prepare(
        "SELECT record_id FROM map_findings WHERE severity = 'error' AND record_id IS NOT NULL",
    )?;
    for id in st.query_map([], |r| r.get::<_, String>(0))? {
        error_ids.insert(id?);
    }
    Ok((notes, error_ids))
}

fn short(s: &str) -> &str {
    &s[..s.len().min(12)]
}

/// The record ids of the error findings of a validation report (JSON form). The report is what
/// decides which records are held back, so a report that cannot be read stops the load: loading
/// without it would load records that have errors.
fn report_error_ids(dir: &Path, report: &str) -> Result<HashSet<String>> {
    let candidates = [dir.join(report), Path::new(report).to_path_buf()];
    let Some(p) = candidates.iter().find(|p| p.is_file()) else {
        return Err(Error::usage(
            format!("the report of the last validation ({report}) is missing"),
            Some("run `zd2gc validate` again, then load".to_string()),
        ));
    };
    let text = std::fs::read_to_string(p).map_err(|e| Error::io(p, e))?;
    let v: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
        Error::usage(
            format!(
                "the report of the last validation ({}) is not valid JSON: {e}",
                p.display()
            ),
            Some("run `zd2gc validate` again, then load".to_string()),
        )
    })?;
    Ok(v.get("findings")
        .and_then(|f| f.as_array())
        .into_iter()
        .flatten()
        .filter(|f| f.get("severity").and_then(|s| s.as_str()) == Some("error"))
        .filter_map(|f| {
            f.get("record_id")
                .and_then(|r| r.as_str())
                .map(str::to_string)
        })
        .collect())
}

/// Read the desired state; `error_ids` are record ids (shift, task or agent) to hold back.
pub fn read(conn: &Connection, error_ids: &HashSet<String>) -> Result<DesiredState> {
    let mut out = DesiredState {
        snapshot_id: crate::map::current::mapped_snapshot(conn)?.unwrap_or_default(),
        ..Default::default()
    };
    let user_mu: HashMap<String, String> = {
        let mut st = conn.prepare(
            "SELECT user_id, management_unit_id FROM xw_agents WHERE user_id IS NOT NULL AND management_unit_id IS NOT NULL",
        )?;
        st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?
    };
    crate::store::desired::for_each_shift(conn, |row| {
        let crate::store::desired::StoredShift {
            legacy_shift_id: legacy,
            agent_id: agent,
            user_id: user,
            business_unit_id: bu,
            management_unit_id: mu,
            week_id: week,
            start_utc: start,
            length_minutes: len,
            activities: acts,
            held_back_reason: reason,
        } = row;
        let held_reason = if let Some(reason) = reason {
            Some(reason)
        } else if error_ids.contains(&legacy)
            || error_ids.contains(&agent)
            || acts
                .iter()
                .any(|a| a.task_id.as_ref().is_some_and(|t| error_ids.contains(t)))
        {
            Some("validation-error".to_string())
        } else {
            None
        };
        let (Some(user), Some(bu), Some(week), Some(start), Some(len)) =
            (user, bu, week, start, len)
        else {
            out.held.insert(legacy);
            *out.held_by_reason
                .entry(held_reason.unwrap_or_else(|| "unmapped".into()))
                .or_default() += 1;
            return Ok(());
        };
        if let Some(reason) = held_reason {
            out.held.insert(legacy);
            *out.held_by_reason.entry(reason).or_default() += 1;
            return Ok(());
        }
        let content = Content {
            user: user.clone(),
            start,
            len,
            acts: acts
                .into_iter()
                .map(|a| Act {
                    start: a.start,
                    len: a.length_minutes,
                    code: a.code,
                    desc: a.description,
                })
                .collect(),
        }
        .normalized();
        let mu = mu
            .or_else(|| user_mu.get(&user).cloned())
            .unwrap_or_default();
        let w = out.weeks.entry((bu, week)).or_default();
        if !mu.is_empty() {
            w.mus.insert(mu.clone());
        }
        w.desired.push(Desired {
            legacy,
            mu,
            content,
        });
        Ok(())
    })?;
    // Weeks where only links remain (every shift left the export): they may need deletes.
    let mut st = conn.prepare(
        "SELECT DISTINCT x.business_unit_id, x.week_id, x.user_id FROM xw_shifts x
         WHERE x.genesys_shift_id IS NOT NULL AND x.business_unit_id IS NOT NULL AND x.week_id IS NOT NULL",
    )?;
    let linked: Vec<(String, String, Option<String>)> = st
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<rusqlite::Result<_>>()?;
    for (bu, week, user) in linked {
        let w = out.weeks.entry((bu, week)).or_default();
        if let Some(mu) = user.as_ref().and_then(|u| user_mu.get(u)) {
            w.mus.insert(mu.clone());
        }
    }
    for ((bu, week), w) in out.weeks.iter_mut() {
        let mut h = sha2::Sha256::new();
        h.update(bu.as_bytes());
        h.update(week.as_bytes());
        for d in &w.desired {
            h.update(d.legacy.as_bytes());
            h.update(d.content.to_json().as_bytes());
        }
        let digest = h.finalize();
        w.hash = i64::from_le_bytes(digest[..8].try_into().expect("8 bytes"));
    }
    Ok(out)
}
