//! A desired state written straight into a migration directory, for the loader's tests and
//! benchmark: `agents` users of each business unit of a [`crate::emulator::synthetic`] org get five
//! shifts a week for `weeks` weeks (three activities each), as `map` would have staged them, and a
//! clean validation of that "snapshot" is recorded. Not part of the migration path.

use crate::emulator::Fixture;
use crate::error::Result;
use crate::store::desired;
use chrono::{Duration, NaiveDate, TimeZone};
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
    let mut conn = crate::store::open_state(dir)?;
    let tx = conn.transaction()?;
    let snapshot = format!("synthetic-{variant}");
    desired::clear_shifts(&tx)?;
    desired::set_mapped_snapshot(&tx, &snapshot)?;
    let mut kinds_of = desired::Kinds::load(&tx)?;
    let run = 1i64;
    let n = desired::ShiftWriter::write(&tx, |writer| {
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
            let (work, brk) = (code(0), code(1));
            let users = bu_users(bu, agents_per_bu);
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
                        let tasks = [1, 2, 3].map(|i| format!("T-{legacy}-{i}"));
                        let act = |code, at: i64, len, desc, task| desired::Activity {
                            code,
                            start: start + at,
                            length_minutes: len,
                            description: desc,
                            task_id: Some(task),
                            task_uuid: None,
                        };
                        let acts = [
                            act(&work, 0, 240, "On Queue Work", &tasks[0]),
                            act(&brk, 240 * 60, 15, "Break", &tasks[1]),
                            act(&work, 255 * 60, 225, "On Queue Work", &tasks[2]),
                        ];
                        let text = desired::activities_compact(&acts, start, &mut kinds_of);
                        for (kind, code, desc) in kinds_of.take_new() {
                            writer.add_kind(kind, &code, &desc)?;
                        }
                        let agent = format!("A-{user}");
                        writer.upsert(&desired::ShiftRow {
                            legacy_shift_id: &legacy,
                            agent_id: &agent,
                            exported_agent_id: &agent,
                            user_id: Some(user),
                            business_unit_id: Some(&bu.id),
                            management_unit_id: Some(mu),
                            week_id: Some(&week_id),
                            start_utc: Some(start),
                            length_minutes: Some(480),
                            activities: &text.stored,
                            task_uuids: &text.task_uuids,
                            file: "shifts.csv",
                            line: 0,
                            run_id: run,
                            content_hash: 0,
                            held_back_reason: None,
                        })?;
                        n += 1;
                    }
                }
            }
            let _ = b;
        }
        Ok(n)
    })?;
    crate::store::validations::record(
        &tx,
        &crate::store::validations::NewValidation {
            snapshot_id: &crate::store::SnapshotId::new(snapshot.as_str()),
            run_id: 1,
            validated_at: &crate::store::now_rfc3339(),
            errors: 0,
            warnings: 0,
            infos: 0,
            ready_to_load: true,
            report_path: Path::new(""),
            report_sha256: "",
            config_sha256: "",
        },
    )?;
    tx.commit()?;
    Ok(n)
}

/// Write `per_agent` time-off requests for each of the first `agents_per_bu` users of every business
/// unit of `org` into `desired_time_off`, as `map` would (the marker `zd2gc:<migration>:<id>` first
/// in `notes`): full days (two dates) and partial days (one 4-hour start) in turn, on distinct
/// weeks from 2026-01-05 over 26 weeks, APPROVED and PENDING in turn, with the business unit's
/// TimeOff code (`ac-<b>-3` in a synthetic org). `variant` > 0 changes every fifth request's notes
/// (a newer export). Returns the number of rows.
pub fn write_desired_time_off(
    dir: &Path,
    org: &Fixture,
    agents_per_bu: usize,
    per_agent: usize,
    variant: u32,
) -> Result<u64> {
    let mut conn = crate::store::open_state(dir)?;
    let migration = crate::store::migration_id(&conn)?;
    let tx = conn.transaction()?;
    crate::store::time_off::clear_desired(&tx)?;
    let first = NaiveDate::from_ymd_opt(2026, 1, 5).expect("date");
    let mut n = 0u64;
    for bu in &org.business_units {
        let code = format!("ac-{}-3", bu.id.trim_start_matches("bu-"));
        let users = bu_users(bu, agents_per_bu);
        for (a, (user, mu)) in users.iter().enumerate() {
            for k in 0..per_agent {
                let id = format!("TO-{}-{a}-{k}", bu.id);
                // Weeks spread over half a year, distinct per request of one agent.
                let week = (a * 7 + k * 26 / per_agent.max(1)) % 26;
                let day = first + Duration::weeks(week as i64) + Duration::days((a % 3) as i64);
                let (full, partial) = if k % 2 == 0 {
                    let d = |x: i64| (day + Duration::days(x)).format("%Y-%m-%d").to_string();
                    (Some(serde_json::json!([d(0), d(1)]).to_string()), None)
                } else {
                    let t = day
                        .and_hms_opt(12, 0, 0)
                        .expect("time")
                        .and_utc()
                        .format("%Y-%m-%dT%H:%M:%SZ")
                        .to_string();
                    (None, Some(serde_json::json!([t]).to_string()))
                };
                let mut notes = format!("zd2gc:{migration}:{id}\nHoliday");
                if variant > 0 && (a + k) % 5 == 0 {
                    notes.push_str(&format!(" (v{variant})"));
                }
                let minutes = if full.is_some() { 480 } else { 240 };
                let status = if k % 2 == 0 { "APPROVED" } else { "PENDING" };
                let hash = format!(
                    "{:016x}",
                    fnv(&format!("{notes}|{status}|{code}|{full:?}|{partial:?}"))
                );
                crate::store::time_off::insert_synthetic(
                    &tx,
                    &crate::store::time_off::SyntheticRow {
                        id: &id,
                        line: n as i64 + 2,
                        agent_id: &format!("A-{user}"),
                        user_id: user,
                        management_unit_id: mu,
                        business_unit_id: &bu.id,
                        activity_code_id: &code,
                        status,
                        full_day_dates: full.as_deref(),
                        partial_starts: partial.as_deref(),
                        daily_minutes: minutes,
                        notes: &notes,
                        content_hash: &hash,
                    },
                )?;
                n += 1;
            }
        }
    }
    tx.commit()?;
    Ok(n)
}

/// FNV-1a, for the synthetic rows' content hash.
fn fnv(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ b as u64).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The first `n` users of a business unit of the fixture, each with its management unit, in the
/// fixture's order: (user id, management unit id).
fn bu_users(bu: &crate::emulator::fixture::FixtureBusinessUnit, n: usize) -> Vec<(&str, &str)> {
    bu.management_units
        .iter()
        .flat_map(|m| m.user_ids.iter().map(move |u| (u.as_str(), m.id.as_str())))
        .take(n)
        .collect()
}
