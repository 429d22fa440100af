//! The validation report: one model ([`Report`]) and its three renderings — the terminal summary
//! ([`terminal`]), the published JSON form ([`json`], `validation-report/v1`, see
//! `docs/validation-report.md`) and a self-contained HTML page ([`html`]).
//!
//! Invariants: `ready_to_load` is true exactly when no finding has severity `error`; the summary
//! counts are computed from the findings, never kept apart from them; findings are in a stable
//! order (file, line, rule, field) so two runs on the same inputs give the same report.

pub mod context;
pub mod cutover;
pub mod findings;
pub mod html;
pub mod json;
pub mod names;
pub mod terminal;

use crate::config::Severity;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub use findings::{FindingStore, Findings};

/// The schema name of the JSON form.
pub const SCHEMA: &str = "validation-report/v1";

/// One finding: one offence of one rule at one place.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    pub rule: String,
    pub severity: Severity,
    /// The export file's name relative to the export directory.
    pub file: Option<String>,
    /// 1-based physical line of the record (the CSV header is line 1).
    pub line: Option<u64>,
    /// The record's own id (shift_id, trade_id, agent_id, task_id).
    pub record_id: Option<String>,
    pub field: Option<String>,
    /// The value as written.
    pub value: Option<String>,
    pub timezone: Option<String>,
    /// DST rules only: both instants of an ambiguous time, none for a gap.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub candidates: Option<Vec<String>>,
    pub message: String,
    pub help: String,
    /// The business unit the message names (by its name when one is known: the id is here).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub business_unit_id: Option<String>,
    /// The management unit the message names (by its name when one is known: the id is here).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub management_unit_id: Option<String>,
    /// The Monday-based week (days since 1970-01-01 of its Monday) of the record's local start, for
    /// the HTML week strip. Not part of the JSON form.
    #[serde(skip)]
    pub week: Option<i64>,
    /// The source line as written, when it was read back for rendering. Not part of the JSON form.
    #[serde(skip)]
    pub text: Option<String>,
}

impl Finding {
    /// A finding with the given rule, severity and message; everything else empty.
    pub fn new(rule: &str, severity: Severity, message: impl Into<String>) -> Finding {
        Finding {
            rule: rule.to_string(),
            severity,
            file: None,
            line: None,
            record_id: None,
            field: None,
            value: None,
            timezone: None,
            candidates: None,
            message: message.into(),
            help: String::new(),
            business_unit_id: None,
            management_unit_id: None,
            week: None,
            text: None,
        }
    }

    /// `file:line` (or what is known of it).
    pub fn location(&self) -> String {
        match (&self.file, self.line) {
            (Some(f), Some(l)) => format!("{f}:{l}"),
            (Some(f), None) => f.clone(),
            _ => "-".into(),
        }
    }

    fn sort_key(&self) -> (Option<&str>, Option<u64>, &str, Option<&str>) {
        (
            self.file.as_deref(),
            self.line,
            self.rule.as_str(),
            self.field.as_deref(),
        )
    }
}

/// One input file of the snapshot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Input {
    pub path: String,
    pub rows: u64,
    pub sha256: String,
}

/// The policies in force (they change what some rules report).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Policy {
    pub dst_ambiguous: String,
    pub pending_trades: String,
    pub include_drafts: bool,
    pub max_shift_hours: f64,
}

/// Counts by severity and by rule.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub errors: u64,
    pub warnings: u64,
    pub infos: u64,
    pub by_rule: BTreeMap<String, u64>,
}

/// Shifts per week, for the HTML strip (not part of the JSON form).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WeekStat {
    /// Days since 1970-01-01 of the week's Monday.
    pub monday: i64,
    pub shifts: u64,
}

/// The whole report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub schema: String,
    pub generated_at: String,
    pub tool_version: String,
    pub snapshot_id: String,
    pub inputs: Vec<Input>,
    pub policy: Policy,
    pub summary: Summary,
    pub ready_to_load: bool,
    /// In report order (held in memory, or read back from disk: [`findings`]).
    pub findings: Findings,
    /// The findings the terminal shows with their source line (the first few of each error rule,
    /// [`terminal::SHOWN_PER_RULE`]), in report order (not part of the JSON form).
    #[serde(skip)]
    pub shown: Vec<Finding>,
    /// Shifts per week (not part of the JSON form).
    #[serde(skip)]
    pub weeks: Vec<WeekStat>,
    /// Records that went through the rules, and how long it took (not part of the JSON form).
    #[serde(skip)]
    pub records: u64,
    #[serde(skip)]
    pub seconds: f64,
}

impl Report {
    /// Build a report from its findings: sorted, counted, with the verdict.
    pub fn new(
        snapshot_id: String,
        inputs: Vec<Input>,
        policy: Policy,
        mut findings: Vec<Finding>,
        weeks: Vec<WeekStat>,
    ) -> Report {
        findings.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
        Report::from_findings(snapshot_id, inputs, policy, findings.into(), weeks)
            .expect("findings in memory are read without I/O")
    }

    /// Build a report from the findings a store collected (sorted as [`Report::new`] sorts; the
    /// counts taken in one pass over them). Fails when the store could not write or read them.
    pub fn from_store(
        snapshot_id: String,
        inputs: Vec<Input>,
        policy: Policy,
        store: FindingStore,
        weeks: Vec<WeekStat>,
    ) -> std::io::Result<Report> {
        Report::from_findings(snapshot_id, inputs, policy, store.finish()?, weeks)
    }

    fn from_findings(
        snapshot_id: String,
        inputs: Vec<Input>,
        policy: Policy,
        findings: Findings,
        weeks: Vec<WeekStat>,
    ) -> std::io::Result<Report> {
        // One pass: a spilled run that cannot be read back fails here, not in a rendering.
        let (summary, shown) = summarize(&findings)?;
        Ok(Report {
            schema: SCHEMA.into(),
            generated_at: crate::store::now_rfc3339(),
            tool_version: env!("CARGO_PKG_VERSION").into(),
            snapshot_id,
            inputs,
            policy,
            ready_to_load: summary.errors == 0,
            summary,
            findings,
            shown,
            weeks,
            records: 0,
            seconds: 0.0,
        })
    }

    /// Unit names for the ids in what a person reads ([`names::name_units`]).
    pub fn name_units(&mut self, names: names::UnitNames) {
        names::name_units(&mut self.shown, &names);
        self.findings.name_units(names);
    }

    /// Rules that have findings, worst severity first, then by id: (rule, severity, count).
    pub fn rule_counts(&self) -> Vec<(&str, Severity, u64)> {
        let mut sev: BTreeMap<String, Severity> = BTreeMap::new();
        for f in &self.findings {
            let e = sev.entry(f.rule).or_insert(f.severity);
            *e = (*e).max(f.severity);
        }
        let mut v: Vec<(&str, Severity, u64)> = self
            .summary
            .by_rule
            .iter()
            .map(|(r, n)| {
                (
                    r.as_str(),
                    sev.get(r.as_str()).copied().unwrap_or(Severity::Info),
                    *n,
                )
            })
            .collect();
        v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        v
    }
}

/// The counts, and the findings the terminal shows ([`terminal::SHOWN_PER_RULE`] of each error
/// rule, in report order).
fn summarize(findings: &Findings) -> std::io::Result<(Summary, Vec<Finding>)> {
    let mut s = Summary::default();
    let mut shown = Vec::new();
    let mut per_rule: std::collections::HashMap<String, usize> = Default::default();
    for f in findings.try_iter() {
        let f = f?;
        if f.severity == Severity::Error {
            let n = per_rule.entry(f.rule.clone()).or_default();
            *n += 1;
            if *n <= terminal::SHOWN_PER_RULE {
                shown.push(f.clone());
            }
        }
        match f.severity {
            Severity::Error => s.errors += 1,
            Severity::Warning => s.warnings += 1,
            Severity::Info => s.infos += 1,
        }
        *s.by_rule.entry(f.rule.clone()).or_default() += 1;
    }
    Ok((s, shown))
}

/// The Monday (days since the epoch) of the week holding a naive local instant (seconds).
pub fn week_of(naive_secs: i64) -> i64 {
    let days = naive_secs.div_euclid(86400);
    // 1970-01-01 was a Thursday: Monday-based weeks start 3 days before it.
    (days + 3).div_euclid(7) * 7 - 3
}

/// `YYYY-MM-DD` of days since the epoch.
pub fn date_of(days: i64) -> String {
    chrono::DateTime::from_timestamp(days * 86400, 0)
        .map(|d| d.format("%Y-%m-%d").to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weeks_start_on_monday() {
        let d = crate::timeval::days_from_civil(2026, 10, 25) * 86400 + 3600; // a Sunday
        assert_eq!(date_of(week_of(d)), "2026-10-19");
        let m = crate::timeval::days_from_civil(2026, 10, 26) * 86400; // a Monday
        assert_eq!(date_of(week_of(m)), "2026-10-26");
    }

    #[test]
    fn verdict_follows_errors() {
        let p = Policy {
            dst_ambiguous: "reject".into(),
            pending_trades: "report".into(),
            include_drafts: false,
            max_shift_hours: 16.0,
        };
        let r = Report::new(
            "x".into(),
            vec![],
            p.clone(),
            vec![Finding::new("trade-pending", Severity::Warning, "m")],
            vec![],
        );
        assert!(r.ready_to_load);
        let r = Report::new(
            "x".into(),
            vec![],
            p,
            vec![Finding::new("shift-overlap", Severity::Error, "m")],
            vec![],
        );
        assert!(!r.ready_to_load);
        assert_eq!(r.summary.errors, 1);
    }
}
