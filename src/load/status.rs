//! The load journal's view of a migration directory for `zd2gc status`: weeks by state, failures,
//! writes in doubt, parked conflicts, time off.

use super::{guard, journal, timeoff};
use crate::error::Result;
use rusqlite::Connection;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::Path;

/// The journal's view for `status`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct StatusReport {
    pub by_state: BTreeMap<String, u64>,
    pub weeks: Vec<serde_json::Value>,
    pub conflicts: Vec<journal::ConflictRow>,
    pub failures: Vec<serde_json::Value>,
    /// Weeks with a write sent whose outcome is not known yet (a resumed load settles them by
    /// reading, never by sending again blindly).
    pub in_doubt: Vec<serde_json::Value>,
    pub org: Option<String>,
    /// Time-off requests by journal state (`created`, `found`, `sending` = in doubt, `failed`).
    pub time_off_by_state: BTreeMap<String, u64>,
    /// Time-off requests refused or never found after their bounded creates, with the reason.
    pub time_off_failures: Vec<timeoff::JournalRow>,
    /// Time-off creates sent whose outcome is not known yet (the next load looks before sending).
    pub time_off_in_doubt: Vec<timeoff::JournalRow>,
}

pub fn status_dir(dir: &Path) -> Result<StatusReport> {
    let conn = crate::store::open_state(dir)?;
    let mut r = StatusReport {
        org: crate::store::meta_get(&conn, guard::ORG_KEY)?,
        ..Default::default()
    };
    for w in journal::all(&conn)? {
        *r.by_state.entry(w.state.as_str().to_string()).or_default() += 1;
        let v = serde_json::json!({
            "business_unit_id": w.bu, "week_id": w.week, "state": w.state.as_str(),
            "schedule_id": w.schedule_id, "step": w.step, "upload_key": w.upload_key,
            "operation_id": w.operation_id, "refusals": w.refusals, "lock_waits": w.lock_waits,
            "writes": w.writes, "shifts_desired": w.shifts_desired, "shifts_done": w.shifts_done,
            "conflicts": w.conflicts, "reason": w.reason, "context_id": w.context_id,
        });
        if w.state == journal::State::Failed {
            r.failures.push(v.clone());
        }
        if matches!(
            w.state,
            journal::State::Uploading | journal::State::Processing | journal::State::Verifying
        ) {
            r.in_doubt.push(v.clone());
        }
        r.weeks.push(v);
    }
    r.conflicts = journal::conflicts(&conn)?;
    for j in timeoff::journal_all(&conn)? {
        *r.time_off_by_state.entry(j.state.clone()).or_default() += 1;
        match j.state.as_str() {
            "failed" => r.time_off_failures.push(j),
            "sending" => r.time_off_in_doubt.push(j),
            _ => {}
        }
    }
    Ok(r)
}

/// Time-off requests in the desired state, and how many are held back (`None` when there are
/// none).
pub fn desired_time_off_counts(conn: &Connection) -> Option<(u64, u64)> {
    crate::store::time_off::desired_counts(conn)
        .ok()
        .filter(|(n, _)| *n > 0)
}
