//! A desired state written straight into a migration directory, for the loader's tests and
//! benchmark: `agents` users of each business unit of a [`crate::emulator::synthetic`] org get five
//! shifts a week for `weeks` weeks (three activities each), as `map` would have staged them, and a
//! clean validation of that "snapshot" is recorded. Not part of the migration path.

use crate::emulator::Fixture;
use crate::error::Result;
use chrono::{Duration, NaiveDate, TimeZone};
use rusqlite::params;
use std::path::Path;

/// Write the desired state of `weeks` weeks for the first `agents_per_bu` users of every business
/// unit of `org`. `variant` shifts every fifth shift's start by 30 minutes per step (a newer export).
pub fn write_desired(
    dir: &Path,
    org: &Fixture,
    agents_per_bu: usize,
    weeks: usize,
    variant: u32,
) -> Result<u64> {
    let mut conn = crate::db::open_state(dir)?;
    let tx = conn.transaction()?;
    let snapshot = format!("synthetic-{variant}");
    tx.execute("DELETE FROM desired_shifts", [])?;
    tx.execute(
        "INSERT OR REPLACE INTO meta (key, value) VALUES ('mapped_snapshot_id', ?1)",
        [&snapshot],
    )?;
    let run = 1i64;
    let mut n = 0u64;
    for (b, bu) in org.business_units.iter().enumerate() {
        let tz: chrono_tz::Tz = bu.time_zone.parse().expect("fixture zone");
        let first = if bu.start_day_of_week == "Monday" {
            NaiveDate::from_ymd_opt(2026, 1, 5)
        } else {
            NaiveDate::from_ymd_opt(2026, 1, 4)
        }
        .expect("date");
        let code = |k: usize| format!("ac-{}-{k}", bu.id.trim_start_matches("bu-"));
        let kind = |code: String, desc: &str| -> Result<i64> {
            tx.execute(
                "INSERT OR IGNORE INTO activity_kinds (activity_code_id, description) VALUES (?1, ?2)",
                params![code, desc],
            )?;
            Ok(tx.query_row(
                "SELECT kind FROM activity_kinds WHERE activity_code_id = ?1 AND description = ?2",
                params![code, desc],
                |r| r.get(0),
            )?)
        };
        let kinds = (kind(code(0), "On Queue Work")?, kind(code(1), "Break")?);
        let users: Vec<(&str, &str)> = bu
            .management_units
            .iter()
            .flat_map(|m| m.user_ids.iter().map(move |u| (u.as_str(), m.id.as_str())))
            .take(agents_per_bu)
            .collect();
        for w in 0..weeks {
            let week = first + Duration::weeks(w as i64);
            let week_id = week.format("%Y-%m-%d").to_string();
            for (a, (user, mu)) in users.iter().enumerate() {
                for d in 0..5usize {
                    let day = week + Duration::days(d as i64);
                    let local = day.and_hms_opt(8 + (a % 4) as u32, 0, 0).expect("time");
                    let mut start = tz
                        .from_local_datetime(&local)
                        .earliest()
                        .expect("exists")
                        .timestamp();
                    let legacy = format!("L-{b}-{w}-{a}-{d}");
                    if variant > 0 && (a + d) % 5 == 0 {
                        start += 1800 * variant as i64;
                    }
                    // The compact form `map` writes: [kind, offset (s), length (min), task].
                    let acts = serde_json::json!([
                        [kinds.0, 0, 240, format!("T-{legacy}-1")],
                        [kinds.1, 240 * 60, 15, format!("T-{legacy}-2")],
                        [kinds.0, 255 * 60, 225, format!("T-{legacy}-3")],
                    ]);
                    tx.execute(
                        "INSERT INTO desired_shifts (legacy_shift_id, agent_id, exported_agent_id, user_id, business_unit_id, management_unit_id, week_id, start_utc, length_minutes, activities, file, line, run_id, content_hash)
                         VALUES (?1, ?2, ?2, ?3, ?4, ?5, ?6, ?7, 480, ?8, 'shifts.csv', 0, ?9, 0)",
                        params![legacy, format!("A-{user}"), user, bu.id, mu, week_id, start, acts.to_string(), run],
                    )?;
                    n += 1;
                }
            }
        }
        let _ = b;
    }
    tx.execute(
        "INSERT INTO validations (snapshot_id, run_id, validated_at, errors, warnings, infos, ready_to_load, report_path, report_sha256, config_sha256)
         VALUES (?1, 1, ?2, 0, 0, 0, 1, '', '', '')",
        params![snapshot, crate::db::now_rfc3339()],
    )?;
    tx.commit()?;
    Ok(n)
}
