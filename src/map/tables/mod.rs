//! The mapping tables of a migration (`mappings/*.csv`, see `docs/mappings.md`), read into
//! memory with every problem reported as a [`SourceDiag`] at its file and line.
//!
//! Invariants: column order is free; an unknown column is an error (a typo must never be ignored);
//! a missing file is an empty table (offline mapping then reports what it could not map); every
//! problem of every table is collected before failing, so one run shows all of them.

mod csv_file;
mod read;

use crate::diag::SourceDiag;
use crate::error::{Error, Result};
use chrono::Weekday;
use chrono_tz::Tz;
use std::collections::HashMap;
use std::path::Path;

/// One row of `agents.csv`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AgentMapRow {
    pub line: u64,
    pub zendesk_agent_id: Option<String>,
    /// Trimmed and lower-cased.
    pub email: Option<String>,
    pub genesys_user_id: Option<String>,
    pub management_unit_id: Option<String>,
    pub business_unit_id: Option<String>,
}

/// One row of `business_units.csv`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BusinessUnitRow {
    pub line: u64,
    pub business_unit_id: String,
    pub name: String,
    pub time_zone: Tz,
    pub start_day_of_week: Weekday,
}

/// One row of `locations.csv`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocationRow {
    pub line: u64,
    pub location: String,
    pub time_zone: Option<Tz>,
    pub business_unit_id: Option<String>,
}

/// One row of `activities.csv`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActivityRow {
    pub line: u64,
    pub zendesk_task_name: String,
    pub genesys_activity_code_id: String,
    /// `None` = every business unit.
    pub business_unit_id: Option<String>,
}

/// One row of `time_off.csv`: a Zendesk time-off reason → an activity code of the TimeOff category.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeOffMapRow {
    pub line: u64,
    pub zendesk_reason: String,
    pub genesys_activity_code_id: String,
    /// `None` = every business unit.
    pub business_unit_id: Option<String>,
}

/// All five tables.
#[derive(Debug, Clone, Default)]
pub struct Tables {
    pub agents: Vec<AgentMapRow>,
    pub business_units: Vec<BusinessUnitRow>,
    pub locations: Vec<LocationRow>,
    pub activities: Vec<ActivityRow>,
    pub time_off: Vec<TimeOffMapRow>,
    /// SHA-256 of each table read (file name → hex), for the run's audit record.
    pub sha256: Vec<(String, String)>,
    /// Cells that cannot be right (`mapping-invalid-value`) and references to business units the
    /// tables do not have (`mapping-unknown-reference`), at the table's file and line. They do not
    /// stop `map`: the row is left out, so what depends on it is unmapped and held back, and
    /// `validate` reports them.
    pub findings: Vec<SourceDiag>,
    /// Locations whose row was left out for an invalid value: their agents are held back rather
    /// than given the default zone or unit.
    pub bad_locations: Vec<String>,
    /// Business units whose row was left out for an invalid value (reported there; a reference to
    /// one is not reported again as unknown).
    pub bad_business_units: Vec<String>,
    /// Rows of agents.csv left out for an invalid value: (line, zendesk_agent_id, e-mail), so that
    /// the agent's `unmapped-agent` names that row instead of asking to add one.
    pub bad_agents: Vec<(u64, Option<String>, Option<String>)>,
}

impl Tables {
    /// The business unit row of an id.
    pub fn business_unit(&self, id: &str) -> Option<&BusinessUnitRow> {
        self.business_units
            .iter()
            .find(|b| b.business_unit_id == id)
    }

    /// Activity code of a task name in a business unit: a row of that unit wins over a row for all.
    pub fn activity_index(&self) -> HashMap<(String, Option<String>), String> {
        self.activities
            .iter()
            .map(|a| {
                (
                    (a.zendesk_task_name.clone(), a.business_unit_id.clone()),
                    a.genesys_activity_code_id.clone(),
                )
            })
            .collect()
    }
}

/// Parse a day name (`Monday` … `Sunday`, case-insensitive, blanks around ignored): the names
/// Genesys writes ([`crate::genesys::model::day_name`]).
pub fn parse_weekday(s: &str) -> Option<Weekday> {
    let s = s.trim();
    (0..7u8)
        .filter_map(|i| Weekday::try_from(i).ok())
        .find(|d| crate::genesys::model::day_name(*d).eq_ignore_ascii_case(s))
}

/// A Genesys id: a UUID (8-4-4-4-12 hex digits).
pub fn is_uuid(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

/// An e-mail address's shape: one `@`, something before it, a dotted domain after it, no spaces.
pub fn is_email(s: &str) -> bool {
    let s = s.trim();
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.contains('@')
        && !s.chars().any(|c| c.is_whitespace() || c == ',' || c == ';')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains("..")
}

/// Normalise an e-mail for comparison: trimmed, lower-cased; empty is none.
pub fn norm_email(s: &str) -> Option<String> {
    let t = s.trim();
    (!t.is_empty()).then(|| t.to_lowercase())
}

/// Read the four tables from a `mappings/` directory. All problems are collected; if any, the
/// error carries the first and `diags` all of them.
pub fn load(dir: &Path, diags: &mut Vec<SourceDiag>) -> Result<Tables> {
    let mut t = Tables::default();
    let start = diags.len();

    read::agents(dir, &mut t, diags)?;
    read::business_units(dir, &mut t, diags)?;
    read::locations(dir, &mut t, diags)?;
    t.activities = read::code_table(dir, &read::ACTIVITIES, &mut t, diags)?
        .into_iter()
        .map(|r| ActivityRow {
            line: r.line,
            zendesk_task_name: r.name,
            genesys_activity_code_id: r.code,
            business_unit_id: r.business_unit_id,
        })
        .collect();
    t.time_off = read::code_table(dir, &read::TIME_OFF, &mut t, diags)?
        .into_iter()
        .map(|r| TimeOffMapRow {
            line: r.line,
            zendesk_reason: r.name,
            genesys_activity_code_id: r.code,
            business_unit_id: r.business_unit_id,
        })
        .collect();

    if diags.len() > start {
        let first = diags[start].clone();
        return Err(Error::from(first));
    }
    Ok(t)
}

/// The rows of `agents.csv` in `dir` that can be read (for a diagnostic that names a row; the
/// table's own problems are reported by `map` and `validate`).
pub fn agent_rows(dir: &Path) -> Vec<AgentMapRow> {
    let mut t = Tables::default();
    let mut diags = Vec::new();
    let _ = read::agents(dir, &mut t, &mut diags);
    t.agents
}

/// The text of a table's physical line (for a finding's snippet).
pub fn table_line(dir: &Path, file: &str, line: u64) -> String {
    std::fs::read(dir.join(file))
        .ok()
        .and_then(|b| {
            let s = String::from_utf8_lossy(&b).into_owned();
            crate::lines::split(s.trim_start_matches('\u{feff}'))
                .get((line as usize).saturating_sub(1))
                .map(|l| l.to_string())
        })
        .unwrap_or_default()
}

/// `mapping-unknown-reference` for activity codes, online: a row of activities.csv for a business
/// unit whose codes Genesys listed (`codes`, from the online cache) naming a code not among them.
/// Offline the tables have no list of codes to check against.
pub fn unknown_activity_codes(
    dir: &Path,
    t: &Tables,
    codes: &HashMap<String, std::collections::HashSet<String>>,
) -> Vec<SourceDiag> {
    let rows = t.activities.iter().map(|a| {
        (
            a.line,
            a.business_unit_id.as_ref(),
            &a.genesys_activity_code_id,
        )
    });
    unknown_codes(
        dir,
        "activities.csv",
        rows,
        codes,
        "an activity code",
        "correct the code id (`zd2gc mappings pull` writes the unit's codes by name; docs/mappings.md)",
    )
}

/// `mapping-unknown-reference` for management units, online: a row of agents.csv naming a
/// management unit that Genesys said does not exist (`GET /managementunits/{id}` answered 404,
/// cached as `missing`), or one that is not among its business unit's management units as Genesys
/// listed them (`listed`, business unit → unit ids). Offline the tables have no list of units.
pub fn unknown_management_units(
    dir: &Path,
    t: &Tables,
    missing: &std::collections::HashSet<String>,
    listed: &HashMap<String, std::collections::HashSet<String>>,
) -> Vec<SourceDiag> {
    let mut out = Vec::new();
    for a in &t.agents {
        let Some(mu) = &a.management_unit_id else {
            continue;
        };
        let message = if missing.contains(mu) {
            format!("management unit `{mu}` does not exist in Genesys")
        } else if let Some(bu) = &a.business_unit_id
            && let Some(units) = listed.get(bu)
            && !units.contains(mu)
        {
            format!(
                "management unit `{mu}` is not a management unit of business unit `{bu}` in Genesys"
            )
        } else {
            continue;
        };
        out.push(
            SourceDiag::new("mapping-unknown-reference", "mappings/agents.csv", a.line, message)
                .help("correct the management unit id, or leave it blank to look it up online (`zd2gc mappings pull` fills it; docs/mappings.md)")
                .text(table_line(dir, "agents.csv", a.line))
                .label_text(mu, "management_unit_id"),
        );
    }
    out
}

/// `mapping-unknown-reference` for TimeOff codes, online: a row of time_off.csv for a business
/// unit whose codes Genesys listed (`codes`: the unit's active codes of the TimeOff category)
/// naming a code not among them. Genesys refuses a time-off request with any other code.
pub fn unknown_time_off_codes(
    dir: &Path,
    t: &Tables,
    codes: &HashMap<String, std::collections::HashSet<String>>,
) -> Vec<SourceDiag> {
    let rows = t.time_off.iter().map(|a| {
        (
            a.line,
            a.business_unit_id.as_ref(),
            &a.genesys_activity_code_id,
        )
    });
    unknown_codes(
        dir,
        "time_off.csv",
        rows,
        codes,
        "an active TimeOff activity code",
        "time off needs a code of the TimeOff category: correct the id (`zd2gc mappings pull` writes the unit's TimeOff codes by name; docs/mappings.md)",
    )
}

/// The rows `(line, business unit, code)` of a code table (`file`) for a business unit whose
/// codes Genesys listed, naming a code not among them: `{what}` says which codes count.
fn unknown_codes<'t>(
    dir: &Path,
    file: &str,
    rows: impl Iterator<Item = (u64, Option<&'t String>, &'t String)>,
    codes: &HashMap<String, std::collections::HashSet<String>>,
    what: &str,
    help: &str,
) -> Vec<SourceDiag> {
    let mut out = Vec::new();
    for (line, bu, code) in rows {
        let Some(bu) = bu else {
            continue;
        };
        let Some(known) = codes.get(bu) else { continue };
        if known.contains(code) {
            continue;
        }
        out.push(
            SourceDiag::new(
                "mapping-unknown-reference",
                format!("mappings/{file}"),
                line,
                format!("activity code `{code}` is not {what} of business unit `{bu}` in Genesys"),
            )
            .help(help)
            .text(table_line(dir, file, line))
            .label_text(code, "genesys_activity_code_id"),
        );
    }
    out
}

/// `mapping-unknown-reference`: rows of agents.csv, locations.csv and activities.csv that name a
/// business unit neither business_units.csv nor `known` (what Genesys answered online) has. One
/// finding per row, at its line; the agents and locations naming it are unmapped (held back) by
/// `map` already, since the unit's zone and week start are unknown.
pub fn unknown_references(dir: &Path, t: &Tables, known: &dyn Fn(&str) -> bool) -> Vec<SourceDiag> {
    let mut out = Vec::new();
    let text_of = |file: &str, line: u64| table_line(dir, file, line);
    let mut check = |file: &str, line: u64, bu: Option<&String>| {
        let Some(bu) = bu else { return };
        if t.business_unit(bu).is_some() || t.bad_business_units.contains(bu) || known(bu) {
            return;
        }
        out.push(
            SourceDiag::new(
                "mapping-unknown-reference",
                format!("mappings/{file}"),
                line,
                format!("business unit `{bu}` is not in mappings/business_units.csv"),
            )
            .help("add the business unit to mappings/business_units.csv (id, name, time_zone, start_day_of_week), or correct the id (`zd2gc mappings pull` lists the org's units; docs/mappings.md)")
            .text(text_of(file, line))
            .label_text(bu, "business_unit_id"),
        );
    };
    for a in &t.agents {
        check("agents.csv", a.line, a.business_unit_id.as_ref());
    }
    for l in &t.locations {
        check("locations.csv", l.line, l.business_unit_id.as_ref());
    }
    for a in &t.activities {
        check("activities.csv", a.line, a.business_unit_id.as_ref());
    }
    for a in &t.time_off {
        check("time_off.csv", a.line, a.business_unit_id.as_ref());
    }
    out.sort_by(|a, b| (&a.file, a.line).cmp(&(&b.file, b.line)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, body: &str) {
        std::fs::write(dir.join(name), body).unwrap();
    }

    #[test]
    fn reads_tables_with_free_column_order() {
        let d = tempfile::tempdir().unwrap();
        write(
            d.path(),
            "agents.csv",
            "email,zendesk_agent_id,genesys_user_id,management_unit_id,business_unit_id\n  Camille@Acme.Example ,101,00000000-0000-4000-8000-0000000000a1,,\n,102,,,00000000-0000-4000-8000-0000000000b1\n",
        );
        write(
            d.path(),
            "business_units.csv",
            "business_unit_id,name,time_zone,start_day_of_week\n00000000-0000-4000-8000-0000000000b1,Paris,Europe/Paris,Sunday\n",
        );
        write(
            d.path(),
            "activities.csv",
            "zendesk_task_name,genesys_activity_code_id,business_unit_id\nBreak,00000000-0000-4000-8000-0000000000c1,\nBreak,00000000-0000-4000-8000-0000000000c2,00000000-0000-4000-8000-0000000000b1\n",
        );
        let mut diags = Vec::new();
        let t = load(d.path(), &mut diags).unwrap();
        assert!(diags.is_empty());
        assert_eq!(t.agents.len(), 2);
        assert_eq!(t.agents[0].email.as_deref(), Some("camille@acme.example"));
        assert_eq!(t.agents[0].line, 2);
        assert_eq!(t.business_units[0].start_day_of_week, Weekday::Sun);
        assert_eq!(t.activities.len(), 2);
        assert!(t.locations.is_empty());
        assert!(t.findings.is_empty(), "{:?}", t.findings);
    }

    /// `activities.csv` and `time_off.csv` share one reader: the same checks, each with its own
    /// column, file and wording.
    #[test]
    fn both_code_tables_report_missing_bad_and_repeated_rows_at_their_lines() {
        let c = |n: u32| format!("00000000-0000-4000-8000-0000000000{n:02}");
        let b1 = "00000000-0000-4000-8000-0000000000b1";
        for (file, col, what, help) in [
            (
                "activities.csv",
                "zendesk_task_name",
                "task",
                "keep one row per task name and business unit",
            ),
            (
                "time_off.csv",
                "zendesk_reason",
                "time-off reason",
                "keep one row per reason and business unit",
            ),
        ] {
            let d = tempfile::tempdir().unwrap();
            write(
                d.path(),
                file,
                &format!(
                    "business_unit_id,genesys_activity_code_id,{col}\n,{},Sick\n{b1},{},Sick\n,{},Sick\n,,Lunch\n,not-a-uuid,Break\n{b1},{},Sick\n",
                    c(1),
                    c(2),
                    c(3),
                    c(4)
                ),
            );
            let mut diags = Vec::new();
            let err = load(d.path(), &mut diags);
            assert!(err.is_err(), "{file}");
            let got: Vec<(String, u64, String)> = diags
                .iter()
                .map(|d| (d.code.clone(), d.line, d.message.clone()))
                .collect();
            assert_eq!(
                got,
                [
                    (
                        "bad-mapping".to_string(),
                        4,
                        format!("{what} `Sick` is mapped twice for every business unit")
                    ),
                    (
                        "missing-field".to_string(),
                        5,
                        "`genesys_activity_code_id` is empty".to_string()
                    ),
                    (
                        "bad-mapping".to_string(),
                        7,
                        format!("{what} `Sick` is mapped twice for business unit `{b1}`")
                    ),
                ],
                "{file}"
            );
            assert_eq!(diags[0].help.as_deref(), Some(help));
            assert_eq!(diags[0].file, format!("mappings/{file}"));
            let bad: Vec<u64> = load_findings(d.path()).iter().map(|f| f.line).collect();
            assert_eq!(bad, [6], "{file}: the bad id is a finding");
        }
    }

    fn load_findings(dir: &Path) -> Vec<SourceDiag> {
        let mut t = Tables::default();
        let mut diags = Vec::new();
        read::code_table(dir, &read::ACTIVITIES, &mut t, &mut diags).unwrap();
        read::code_table(dir, &read::TIME_OFF, &mut t, &mut diags).unwrap();
        t.findings
    }

    /// The online code checks of activities.csv and time_off.csv: a row of a listed business unit
    /// naming a code Genesys did not list is reported at its line, in its own table and words.
    #[test]
    fn unknown_codes_are_reported_per_table_at_their_lines() {
        let d = tempfile::tempdir().unwrap();
        let (b1, b2) = (
            "00000000-0000-4000-8000-0000000000b1",
            "00000000-0000-4000-8000-0000000000b2",
        );
        let c = |n: u32| format!("00000000-0000-4000-8000-0000000000{n:02}");
        for file in ["activities.csv", "time_off.csv"] {
            let col = if file == "activities.csv" {
                "zendesk_task_name"
            } else {
                "zendesk_reason"
            };
            write(
                d.path(),
                file,
                &format!(
                    "{col},genesys_activity_code_id,business_unit_id\nA,{},{b1}\nB,{},{b1}\nC,{},{b2}\nD,{},\n",
                    c(1),
                    c(2),
                    c(3),
                    c(4)
                ),
            );
        }
        let mut diags = Vec::new();
        let t = load(d.path(), &mut diags).unwrap();
        let codes: HashMap<String, std::collections::HashSet<String>> =
            [(b1.to_string(), [c(1)].into_iter().collect())].into();
        let acts = unknown_activity_codes(d.path(), &t, &codes);
        let offs = unknown_time_off_codes(d.path(), &t, &codes);
        for (got, file, what) in [
            (&acts, "activities.csv", "an activity code"),
            (&offs, "time_off.csv", "an active TimeOff activity code"),
        ] {
            let got: Vec<(String, u64, String)> = got
                .iter()
                .map(|d| (d.file.clone(), d.line, d.message.clone()))
                .collect();
            assert_eq!(
                got,
                [(
                    format!("mappings/{file}"),
                    3,
                    format!(
                        "activity code `{}` is not {what} of business unit `{b1}` in Genesys",
                        c(2)
                    )
                )]
            );
        }
        assert!(
            acts[0]
                .help
                .as_deref()
                .unwrap()
                .starts_with("correct the code id")
        );
        assert!(
            offs[0]
                .help
                .as_deref()
                .unwrap()
                .starts_with("time off needs")
        );
    }

    #[test]
    fn day_names_of_a_table_ignore_case_and_blanks() {
        assert_eq!(parse_weekday(" monday "), Some(Weekday::Mon));
        assert_eq!(parse_weekday("SUNDAY"), Some(Weekday::Sun));
        assert_eq!(parse_weekday("Mon"), None);
        assert_eq!(parse_weekday(""), None);
    }

    #[test]
    fn unknown_column_is_an_error_and_bad_values_are_findings_with_lines() {
        let d = tempfile::tempdir().unwrap();
        write(
            d.path(),
            "agents.csv",
            "zendesk_agent_id,emial\n101,a@b.c\n",
        );
        let mut diags = Vec::new();
        let err = load(d.path(), &mut diags).unwrap_err();
        assert!(matches!(err, Error::Source(_)));
        let summary: Vec<(String, String, u64)> = diags
            .iter()
            .map(|d| (d.code.clone(), d.file.clone(), d.line))
            .collect();
        assert_eq!(
            summary,
            [("bad-mapping".into(), "mappings/agents.csv".into(), 1)]
        );
        assert!(diags[0].message.contains("emial"));

        write(
            d.path(),
            "agents.csv",
            "zendesk_agent_id,email,genesys_user_id\n101,a@b.c,not-a-uuid\n102,anne@,\n103,b@c.example,00000000-0000-4000-8000-0000000000a1\n",
        );
        write(
            d.path(),
            "business_units.csv",
            "business_unit_id,time_zone,start_day_of_week\nbu1,Europe/Paris,Monday\n00000000-0000-4000-8000-0000000000b1,Europe/Pariss,Mon\n",
        );
        let mut diags = Vec::new();
        let t = load(d.path(), &mut diags).unwrap();
        assert!(diags.is_empty());
        let got: Vec<(String, String, u64, String)> = t
            .findings
            .iter()
            .map(|d| {
                (
                    d.code.clone(),
                    d.file.clone(),
                    d.line,
                    d.span.as_ref().map(|s| s.2.clone()).unwrap_or_default(),
                )
            })
            .collect();
        let f = |file: &str, line, col: &str| {
            (
                "mapping-invalid-value".to_string(),
                format!("mappings/{file}"),
                line,
                col.to_string(),
            )
        };
        assert_eq!(
            got,
            [
                f("agents.csv", 2, "genesys_user_id"),
                f("agents.csv", 3, "email"),
                f("business_units.csv", 2, "business_unit_id"),
                f("business_units.csv", 3, "time_zone"),
                f("business_units.csv", 3, "start_day_of_week"),
            ]
        );
        // Rows with an invalid value are left out: nothing is mapped with them.
        assert_eq!(t.agents.len(), 1);
        assert!(t.business_units.is_empty());
    }

    #[test]
    fn table_lines_are_physical_on_every_line_end_and_comments_are_skipped() {
        for eol in ["\n", "\r\n", "\r"] {
            let d = tempfile::tempdir().unwrap();
            let body = [
                "\u{feff}business_unit_id,name,time_zone,start_day_of_week",
                "# one row per Genesys business unit",
                "00000000-0000-4000-8000-0000000000b1,\"Paris",
                "office\",Europe/Paris,Monday",
                "",
                "00000000-0000-4000-8000-0000000000a1,Lyon,Europe/Pariss,Monday",
            ]
            .join(eol);
            write(d.path(), "business_units.csv", &body);
            let mut diags = Vec::new();
            let t = load(d.path(), &mut diags).unwrap();
            let got: Vec<(String, u64)> = t
                .findings
                .iter()
                .map(|d| (d.code.clone(), d.line))
                .collect();
            assert_eq!(got, [("mapping-invalid-value".to_string(), 6)], "{eol:?}");
            assert_eq!(
                t.findings[0].text.as_deref(),
                Some("00000000-0000-4000-8000-0000000000a1,Lyon,Europe/Pariss,Monday"),
                "{eol:?}"
            );
            assert_eq!(t.business_units.len(), 1);
        }
    }
}
