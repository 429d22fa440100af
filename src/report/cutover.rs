//! `zd2gc report`: the cutover report of a migration — one self-contained HTML page (and
//! `cutover-report/v1` JSON with `--json`) that an engineer attaches to the change ticket: the
//! inputs, the validation verdict, what loaded per business unit and week, what was held back and
//! why, the parked conflicts, the failures, the verify result, the time each stage took and the
//! requests made. Read only: it opens the state database and the last validation's JSON report,
//! and changes nothing.

use crate::error::Result;
use minijinja::{Environment, Value};
use rusqlite::Connection;
use serde::Serialize;
use serde_json::json;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The schema name of the JSON form.
pub const SCHEMA: &str = "cutover-report/v1";

const TEMPLATE: &str = include_str!("templates/cutover.html");

/// One business-unit week of the load journal.
#[derive(Debug, Clone, Serialize)]
pub struct WeekRow {
    pub business_unit_id: String,
    pub business_unit: String,
    pub week: String,
    pub state: String,
    pub shifts_desired: i64,
    pub shifts_done: i64,
    pub conflicts: i64,
    pub reason: Option<String>,
}

/// One stage's last run.
#[derive(Debug, Clone, Serialize)]
pub struct StageRun {
    pub command: String,
    pub started_at: String,
    pub ended_at: Option<String>,
    pub seconds: Option<i64>,
    pub outcome: Option<String>,
    pub exit_code: Option<i64>,
}

/// Build the report's JSON value (the HTML page renders the same value).
pub fn build(dir: &Path) -> Result<serde_json::Value> {
    let conn = crate::store::open_state(dir)?;
    // The last validation's findings decide what was held back (as they did for `load`).
    let last_report: Option<super::Report> = crate::store::validations::last(&conn)?
        .and_then(|v| {
            [dir.join(&v.report_path), PathBuf::from(&v.report_path)]
                .into_iter()
                .find(|p| p.is_file())
        })
        .and_then(|p| std::fs::read_to_string(p).ok())
        .and_then(|t| serde_json::from_str(&t).ok());
    let cx = super::context::gather(
        dir,
        &dir.join("mappings"),
        last_report.as_ref().unwrap_or(&empty_report()),
    )?;
    let runs = crate::store::runs(&conn)?;
    // The last run of each stage, in pipeline order.
    let order = ["extract", "map", "validate", "plan", "load", "verify"];
    let mut stages = Vec::new();
    for c in order {
        if let Some(r) = runs.iter().rev().find(|r| r.command == c) {
            stages.push(StageRun {
                command: c.into(),
                started_at: r.started_at.clone(),
                ended_at: r.ended_at.clone(),
                seconds: r
                    .ended_at
                    .as_deref()
                    .and_then(|e| secs_between(&r.started_at, e)),
                outcome: r.outcome.clone(),
                exit_code: r.exit_code,
            });
        }
    }
    let last = |c: &str| runs.iter().rev().find(|r| r.command == c);
    let load_runs: Vec<_> = runs.iter().filter(|r| r.command == "load").collect();
    let requests: i64 = load_runs
        .iter()
        .filter_map(|r| r.counts.as_ref()?.pointer("/requests/total")?.as_i64())
        .sum();
    let last_load = last("load").and_then(|r| r.counts.clone());
    let verify = last("verify").map(|r| {
        json!({"at": r.ended_at, "outcome": r.outcome, "exit_code": r.exit_code, "counts": r.counts})
    });
    let weeks = load_weeks(&conn, &cx)?;
    let mut by_state: BTreeMap<String, u64> = BTreeMap::new();
    for w in &weeks {
        *by_state.entry(w.state.clone()).or_default() += 1;
    }
    let conflicts = conflicts(&conn, &cx)?;
    let validation = crate::store::validations::last(&conn)?.map(|v| {
        let p = [dir.join(&v.report_path), PathBuf::from(&v.report_path)]
            .into_iter()
            .find(|p| p.is_file());
        let report: Option<serde_json::Value> = p
            .and_then(|p| std::fs::read_to_string(p).ok())
            .and_then(|t| serde_json::from_str(&t).ok());
        json!({
            "snapshot_id": v.snapshot_id,
            "errors": v.errors,
            "report": v.report_path,
            "ready_to_load": report.as_ref().map(|r| r["ready_to_load"].clone()),
            "summary": report.as_ref().map(|r| r["summary"].clone()),
            "inputs": report.as_ref().map(|r| r["inputs"].clone()),
        })
    });
    let held: BTreeMap<String, i64> = crate::store::desired::held_back_counts(&conn)?;
    let total_secs: i64 = stages.iter().filter_map(|s| s.seconds).sum();
    Ok(json!({
        "schema": SCHEMA,
        "generated_at": crate::store::now_rfc3339(),
        "tool_version": env!("CARGO_PKG_VERSION"),
        "migration": cx.migration,
        "org": cx.org,
        "run_by": cx.run_by,
        "validation": validation,
        "load": {
            "weeks": weeks,
            "weeks_by_state": by_state,
            "shifts_desired": weeks.iter().map(|w| w.shifts_desired).sum::<i64>(),
            "shifts_done": weeks.iter().map(|w| w.shifts_done).sum::<i64>(),
            "held_back_by_reason": last_load.as_ref().and_then(|c| c.get("held_back_by_reason").cloned()).unwrap_or_else(|| json!(held)),
            "failures": weeks.iter().filter(|w| w.state == "failed").collect::<Vec<_>>(),
            "requests": requests,
            "requests_last_run": last_load.as_ref().and_then(|c| c.get("requests").cloned()),
        },
        "impact": cx.impact,
        "conflicts": conflicts,
        "verify": verify,
        "stages": stages,
        "seconds": total_secs,
        "runs": runs.len(),
    }))
}

fn empty_report() -> super::Report {
    super::Report::new(
        String::new(),
        vec![],
        super::Policy {
            dst_ambiguous: String::new(),
            pending_trades: String::new(),
            include_drafts: false,
            max_shift_hours: 0.0,
        },
        vec![],
        vec![],
    )
}

fn secs_between(a: &str, b: &str) -> Option<i64> {
    let a = chrono::DateTime::parse_from_rfc3339(a).ok()?;
    let b = chrono::DateTime::parse_from_rfc3339(b).ok()?;
    Some((b - a).num_seconds())
}

fn load_weeks(conn: &Connection, cx: &super::context::Context) -> Result<Vec<WeekRow>> {
    let mut st = conn.prepare(
        "SELECT business_unit_id, week_id, state, shifts_desired, shifts_done, conflicts, reason
         FROM load_weeks ORDER BY business_unit_id, week_id",
    )?;
    let rows = st.query_map([], |r| {
        let bu: String = r.get(0)?;
        Ok(WeekRow {
            business_unit: cx.bu_name(Some(&bu)),
            business_unit_id: bu,
            week: r.get(1)?,
            state: r.get(2)?,
            shifts_desired: r.get(3)?,
            shifts_done: r.get(4)?,
            conflicts: r.get(5)?,
            reason: r.get(6)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Active conflicts per business unit, week and kind.
fn conflicts(conn: &Connection, cx: &super::context::Context) -> Result<Vec<serde_json::Value>> {
    let mut st = conn.prepare(
        "SELECT business_unit_id, week_id, kind, resolution, COUNT(*) FROM load_conflicts
         WHERE active = 1 GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3",
    )?;
    let rows = st.query_map([], |r| {
        let bu: String = r.get(0)?;
        Ok(json!({
            "business_unit": cx.bu_name(Some(&bu)),
            "business_unit_id": bu,
            "week": r.get::<_, String>(1)?,
            "kind": r.get::<_, String>(2)?,
            "resolution": r.get::<_, String>(3)?,
            "count": r.get::<_, i64>(4)?,
        }))
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Render the page from the JSON value.
pub fn render(v: &serde_json::Value) -> String {
    let mut env = Environment::new();
    env.add_template("cutover.html", TEMPLATE)
        .expect("the cutover template parses");
    let css = Value::from_safe_string(super::html::CSS.to_string());
    env.get_template("cutover.html")
        .expect("template added")
        .render(minijinja::context! { r => v, css => css })
        .expect("the cutover template renders")
}
