//! What the HTML report needs beyond the findings: who and what the report is about (migration,
//! org, snapshot, who ran it), the business unit of each finding (so a cause is grouped per unit),
//! the unit names, each unit's shifts per week in its own weeks, and the impact of the error
//! findings (the records `load --allow-errors` would hold back, per unit and week, in shifts,
//! agents and hours — the same rule as `load`, `docs/validation-report.md`).
//!
//! Gathered best-effort from the state database, the snapshot and the mapping tables: a report
//! whose context cannot be read (no state database, no snapshot yet) still renders, with less in
//! it. A snapshot that is there but cannot be read (another zd2gc's schema) is an error: the
//! report would silently lack what the snapshot gives (each finding's business unit, and the
//! impact of task findings), so it is refused with `open_snapshot`'s diagnostic (extract again).

use super::Report;
use crate::config::Severity;
use crate::error::Result;
use rusqlite::OptionalExtension;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::Path;

/// Held-back shifts of one business unit and week.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct Impact {
    pub business_unit_id: Option<String>,
    pub business_unit: String,
    /// The first day of the unit's week (`YYYY-MM-DD`), or empty when the shift has no start.
    pub week: String,
    pub shifts: u64,
    pub agents: u64,
    pub hours: f64,
    /// Why, by reason (a rule id or map's held-back reason).
    pub reasons: BTreeMap<String, u64>,
}

/// One business unit's shifts per week (its own week start).
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct UnitWeeks {
    pub business_unit_id: String,
    pub business_unit: String,
    pub start_day: String,
    /// (week's first day, shifts mapped, shifts held back)
    pub weeks: Vec<(String, u64, u64)>,
}

/// The report's context (see the module docs).
#[derive(Debug, Clone, Default)]
pub struct Context {
    pub migration: String,
    pub org: Option<String>,
    pub run_by: String,
    /// Business unit id → name.
    pub bu_names: HashMap<String, String>,
    /// The business unit id of each finding (same order as `Report::findings`).
    pub finding_bu: Vec<Option<String>>,
    pub impact: Vec<Impact>,
    pub unit_weeks: Vec<UnitWeeks>,
}

impl Context {
    /// A context that knows nothing but who runs the report (for a report without a directory).
    pub fn bare() -> Context {
        Context {
            run_by: run_by(),
            ..Default::default()
        }
    }

    /// The display name of a business unit id.
    pub fn bu_name(&self, id: Option<&str>) -> String {
        match id {
            Some(id) => self
                .bu_names
                .get(id)
                .cloned()
                .unwrap_or_else(|| id.to_string()),
            None => "no business unit".to_string(),
        }
    }

    /// A text with every known business unit id replaced by its name.
    pub fn name_ids(&self, s: &str) -> String {
        let mut s = s.to_string();
        for (id, name) in &self.bu_names {
            if s.contains(id.as_str()) {
                s = s.replace(id.as_str(), name);
            }
        }
        s
    }
}

/// Who runs the command: the login name from the environment (`USER`, `LOGNAME`, `USERNAME`).
pub fn run_by() -> String {
    ["USER", "LOGNAME", "USERNAME"]
        .iter()
        .find_map(|k| std::env::var(k).ok().filter(|v| !v.is_empty()))
        .unwrap_or_else(|| "unknown".into())
}

/// Gather the context of a report of the migration in `dir` (mapping tables in `mappings`).
pub fn gather(dir: &Path, mappings: &Path, report: &Report) -> Result<Context> {
    let mut cx = Context::bare();
    let abs = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
    cx.migration = abs.display().to_string();
    let mut diags = Vec::new();
    let tables = crate::map::tables::load(mappings, &mut diags).ok();
    let mut zone: HashMap<String, (chrono_tz::Tz, chrono::Weekday)> = HashMap::new();
    let mut agent_bu: HashMap<String, String> = HashMap::new();
    if let Some(t) = &tables {
        for b in &t.business_units {
            cx.bu_names
                .insert(b.business_unit_id.clone(), b.name.clone());
            zone.insert(
                b.business_unit_id.clone(),
                (b.time_zone, b.start_day_of_week),
            );
        }
        for a in &t.agents {
            if let (Some(id), Some(bu)) = (&a.zendesk_agent_id, &a.business_unit_id) {
                agent_bu.insert(id.clone(), bu.clone());
            }
        }
    }
    // The page lists them all: read into memory here (only `--html` asks for the context).
    let findings = report.findings.to_vec();
    cx.finding_bu = vec![None; findings.len()];
    // Opened before the state database, so that no state database never hides a snapshot of
    // another schema.
    let snap = if crate::store::snapshot_path(dir).exists() {
        Some(crate::extract::stage::open_snapshot(dir)?)
    } else {
        None
    };
    let Ok(state) = crate::store::open_state(dir) else {
        return Ok(cx);
    };
    if let Ok(Some(id)) = crate::store::meta_get(&state, "migration_id") {
        cx.migration = format!("{} (migration {id})", cx.migration);
    }
    cx.org = crate::store::meta_get(&state, "genesys_org").ok().flatten();
    if let Ok(rows) = crate::store::crosswalk::agent_business_units(&state) {
        for (a, b) in rows {
            agent_bu.insert(a, b);
        }
    }
    let errors = error_records(&findings);
    // Task findings: task id → shift id, in one pass over the tasks (no index on task_id).
    let task_ids: HashSet<&str> = findings
        .iter()
        .filter(|f| stem(f) == "shift_tasks")
        .filter_map(|f| f.record_id.as_deref())
        .collect();
    let mut task_shift: HashMap<String, String> = HashMap::new();
    if !task_ids.is_empty()
        && let Some(s) = &snap
    {
        let _ = task_shifts(s, &task_ids, &mut task_shift);
    }
    let shift_bu = |id: &str| -> Option<String> {
        let from_desired = crate::store::desired::shift_owner(&state, id)
            .ok()
            .flatten();
        match from_desired {
            Some((Some(bu), _)) => Some(bu),
            Some((None, agent)) => agent_bu.get(&agent).cloned(),
            None => snap.as_ref().and_then(|s| {
                s.query_row(
                    &format!(
                        "SELECT agent_id FROM shift_rows WHERE {} LIMIT 1",
                        crate::extract::stage::SHIFT_ID_MATCHES
                    ),
                    <[_; 2]>::from(crate::extract::stage::shift_key(id)),
                    |r| r.get::<_, String>(0),
                )
                .ok()
                .and_then(|a| agent_bu.get(&a).cloned())
            }),
        }
    };
    let mut time_off_agent: HashMap<String, String> = HashMap::new();
    if findings.iter().any(|f| stem(f) == "time_off")
        && let Some(s) = &snap
        && let Ok(mut st) = s.prepare("SELECT time_off_request_id, agent_id FROM time_off")
        && let Ok(rows) = st.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
    {
        time_off_agent.extend(rows.flatten());
    }
    for (i, f) in findings.iter().enumerate() {
        let Some(id) = f.record_id.as_deref() else {
            continue;
        };
        cx.finding_bu[i] = match stem(f) {
            "agents" => agent_bu.get(id).cloned(),
            "shifts" => shift_bu(id),
            "shift_tasks" => task_shift.get(id).and_then(|s| shift_bu(s)),
            "shift_trades" => snap.as_ref().and_then(|s| {
                s.query_row(
                    "SELECT requester_agent_id FROM trades WHERE trade_id = ?1 LIMIT 1",
                    [id],
                    |r| r.get::<_, String>(0),
                )
                .ok()
                .and_then(|a| agent_bu.get(&a).cloned())
            }),
            "time_off" => time_off_agent
                .get(id)
                .and_then(|a| agent_bu.get(a).cloned()),
            _ => None,
        };
    }
    // Impact and the weeks of each unit, in one pass over the desired state.
    let held_by_task: HashMap<&str, &str> = findings
        .iter()
        .filter(|f| f.severity == Severity::Error && stem(f) == "shift_tasks")
        .filter_map(|f| {
            let t = f.record_id.as_deref()?;
            Some((task_shift.get(t)?.as_str(), f.rule.as_str()))
        })
        .collect();
    let week_of_unit = |bu: Option<&str>, date: Option<chrono::NaiveDate>| -> String {
        let (Some(bu), Some(d)) = (bu, date) else {
            return String::new();
        };
        let start = zone.get(bu).map_or(chrono::Weekday::Mon, |z| z.1);
        let back = (7 + d.weekday().num_days_from_monday() as i64
            - start.num_days_from_monday() as i64)
            % 7;
        (d - chrono::Duration::days(back))
            .format("%Y-%m-%d")
            .to_string()
    };
    use chrono::Datelike;
    let mut impact: BTreeMap<(String, String), (Impact, BTreeSet<String>)> = BTreeMap::new();
    let mut weeks: BTreeMap<String, BTreeMap<String, (u64, u64)>> = BTreeMap::new();
    // Best effort, like the rest of the context: a row that cannot be read ends the walk.
    let _ = crate::store::desired::for_each_summary(&state, |r| {
        let crate::store::desired::ShiftSummary {
            legacy_shift_id: legacy,
            agent_id: agent,
            business_unit_id: bu,
            week_id: week,
            start_utc: start,
            length_minutes: len,
            held_back_reason: map_reason,
        } = r;
        let reason = map_reason
            .or_else(|| errors.get(legacy.as_str()).map(|s| s.to_string()))
            .or_else(|| errors.get(agent.as_str()).map(|s| s.to_string()))
            .or_else(|| held_by_task.get(legacy.as_str()).map(|s| s.to_string()));
        let bu = bu.or_else(|| agent_bu.get(&agent).cloned());
        if let (Some(bu), Some(w)) = (&bu, &week) {
            let e = weeks
                .entry(bu.clone())
                .or_default()
                .entry(w.clone())
                .or_default();
            e.0 += 1;
            if reason.is_some() {
                e.1 += 1;
            }
        }
        let Some(reason) = reason else { return Ok(()) };
        // The held shift's length and date: from the desired state, else as written.
        let (mut hours, mut date) = (
            len.map(|m| m as f64 / 60.0),
            start.and_then(|s| {
                let tz = bu.as_deref().and_then(|b| zone.get(b)).map(|z| z.0)?;
                chrono::DateTime::from_timestamp(s, 0).map(|d| d.with_timezone(&tz).date_naive())
            }),
        );
        if (hours.is_none() || date.is_none())
            && let Some(s) = &snap
            && let Ok(Some((st, en, text))) = s
                .query_row(
                    &format!(
                        "SELECT start, end, start_text FROM shift_rows WHERE {} LIMIT 1",
                        crate::extract::stage::SHIFT_ID_MATCHES
                    ),
                    <[_; 2]>::from(crate::extract::stage::shift_key(&legacy)),
                    |r| {
                        Ok((
                            r.get::<_, i64>(0)?,
                            r.get::<_, i64>(1)?,
                            r.get::<_, Option<String>>(2)?,
                        ))
                    },
                )
                .optional()
        {
            hours = hours.or(Some(((en - st).max(0)) as f64 / 3600.0));
            // `start` is naive local seconds (or UTC seconds): its date is the day written.
            date = date.or_else(|| {
                text.as_deref()
                    .and_then(|t| t.get(..10))
                    .and_then(|t| chrono::NaiveDate::parse_from_str(t, "%Y-%m-%d").ok())
                    .or_else(|| chrono::DateTime::from_timestamp(st, 0).map(|d| d.date_naive()))
            });
        }
        let wk = week.unwrap_or_else(|| week_of_unit(bu.as_deref(), date));
        let key = (cx.bu_name(bu.as_deref()), wk.clone());
        let (imp, agents) = impact.entry(key).or_insert_with(|| {
            (
                Impact {
                    business_unit_id: bu.clone(),
                    business_unit: cx.bu_name(bu.as_deref()),
                    week: wk,
                    ..Default::default()
                },
                BTreeSet::new(),
            )
        });
        imp.shifts += 1;
        imp.hours += hours.unwrap_or(0.0);
        *imp.reasons.entry(reason).or_default() += 1;
        agents.insert(agent);
        Ok(())
    });
    cx.impact = impact
        .into_values()
        .map(|(mut i, a)| {
            i.agents = a.len() as u64;
            i.hours = (i.hours * 100.0).round() / 100.0;
            i
        })
        .collect();
    cx.unit_weeks = weeks
        .into_iter()
        .map(|(bu, w)| UnitWeeks {
            business_unit: cx.bu_name(Some(&bu)),
            start_day: zone.get(&bu).map_or("Monday".into(), |z| {
                crate::genesys::model::day_name(z.1).into()
            }),
            business_unit_id: bu,
            weeks: w.into_iter().map(|(k, (n, h))| (k, n, h)).collect(),
        })
        .collect();
    Ok(cx)
}

/// A finding's file name without its extension (`shifts`, `shift_tasks`, …).
fn stem(f: &super::Finding) -> &str {
    let file = f.file.as_deref().unwrap_or("");
    file.rsplit_once('.').map_or(file, |(s, _)| s)
}

/// Record id → the rule of its (first) error finding: what `load --allow-errors` holds back.
fn error_records(findings: &[super::Finding]) -> HashMap<&str, &str> {
    let mut m = HashMap::new();
    for f in findings {
        if f.severity == Severity::Error
            && let Some(id) = f.record_id.as_deref()
        {
            m.entry(id).or_insert(f.rule.as_str());
        }
    }
    m
}

/// The shift id of each task whose id is in `wanted`, in one pass over the snapshot's runs.
fn task_shifts(
    snap: &rusqlite::Connection,
    wanted: &HashSet<&str>,
    out: &mut HashMap<String, String>,
) -> crate::error::Result<()> {
    use crate::extract::stage::{RunTasks, TASKS_BY_SHIFT_ID, TaskIds};
    let ids = TaskIds::load(snap)?;
    let mut st = snap.prepare(TASKS_BY_SHIFT_ID)?;
    let mut rows = st.query([])?;
    let mut sid = String::new();
    let mut id = String::new();
    while let Some(r) = rows.next()? {
        sid.clear();
        crate::extract::stage::push_shift_id(r.get_ref(0)?, &mut sid)?;
        let mut run = RunTasks::read(r, 0, &sid)?;
        while let Some(t) = run.next_task()? {
            if run.write_id(&ids, &t, &mut id)? && wanted.contains(id.as_str()) {
                out.insert(id.clone(), sid.clone());
            }
        }
    }
    Ok(())
}
