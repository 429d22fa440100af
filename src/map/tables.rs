//! The mapping tables of a migration (`mappings/*.csv`, see `docs/mappings.md`), read into
//! memory with every problem reported as a [`SourceDiag`] at its file and line.
//!
//! Invariants: column order is free; an unknown column is an error (a typo must never be ignored);
//! a missing file is an empty table (offline mapping then reports what it could not map); every
//! problem of every table is collected before failing, so one run shows all of them.

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

/// Parse a day name (`Monday` … `Sunday`, case-insensitive).
pub fn parse_weekday(s: &str) -> Option<Weekday> {
    match s.trim().to_ascii_lowercase().as_str() {
        "monday" => Some(Weekday::Mon),
        "tuesday" => Some(Weekday::Tue),
        "wednesday" => Some(Weekday::Wed),
        "thursday" => Some(Weekday::Thu),
        "friday" => Some(Weekday::Fri),
        "saturday" => Some(Weekday::Sat),
        "sunday" => Some(Weekday::Sun),
        _ => None,
    }
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

/// A `mapping-invalid-value` finding for one cell.
fn invalid(
    file: &str,
    line: u64,
    text: &str,
    col: &str,
    v: &str,
    what: &str,
    fix: &str,
) -> SourceDiag {
    SourceDiag::new(
        "mapping-invalid-value",
        file,
        line,
        format!("`{col}` is `{v}`, which is not {what}"),
    )
    .help(fix.to_string())
    .text(text)
    .label_text(v, col)
}

const UUID_FIX: &str = "Genesys ids are UUIDs such as `8a5f5c0e-1d2b-4c3a-9e8f-0123456789ab`: copy it from Genesys Cloud (or run `zd2gc mappings pull`), or leave the cell blank (docs/mappings.md)";

/// Check the id columns of a row; returns whether all are UUIDs (a finding for each that is not).
fn check_ids(
    file: &str,
    line: u64,
    text: &str,
    v: &HashMap<&'static str, String>,
    cols: &[&str],
    out: &mut Vec<SourceDiag>,
) -> bool {
    let mut ok = true;
    for c in cols {
        if let Some(id) = v.get(c)
            && !is_uuid(id)
        {
            out.push(invalid(
                file,
                line,
                text,
                c,
                id,
                "a Genesys id (a UUID)",
                UUID_FIX,
            ));
            ok = false;
        }
    }
    ok
}

/// Normalise an e-mail for comparison: trimmed, lower-cased; empty is none.
pub fn norm_email(s: &str) -> Option<String> {
    let t = s.trim();
    (!t.is_empty()).then(|| t.to_lowercase())
}

/// One table's rows as (line, raw line text, column → value), with header checks done.
struct Csv {
    file: String,
    rows: Vec<(u64, String, HashMap<&'static str, String>)>,
}

fn read_csv(
    path: &Path,
    file: &str,
    columns: &[&'static str],
    required: &[&'static str],
    diags: &mut Vec<SourceDiag>,
) -> Result<Option<(Csv, String)>> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io(path, e)),
    };
    let sha = {
        use sha2::Digest;
        format!("{:x}", sha2::Sha256::digest(&bytes))
    };
    let text = match String::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => {
            let line = crate::lines::line_of(e.as_bytes(), e.utf8_error().valid_up_to());
            diags.push(
                SourceDiag::new("malformed-row", file, line, "the table is not valid UTF-8")
                    .help("save the spreadsheet as CSV UTF-8"),
            );
            return Ok(None);
        }
    };
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text).to_string();
    // Physical lines (docs/mappings.md): CRLF, LF and a lone CR each end one.
    let lines = crate::lines::split(&text);
    let line_text = |l: u64| {
        lines
            .get((l as usize).saturating_sub(1))
            .copied()
            .unwrap_or("")
            .to_string()
    };
    let mut rdr = csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(crate::lines::Counting::new(text.as_bytes()));
    let headers = match rdr.headers() {
        Ok(h) => h.clone(),
        Err(e) => {
            diags.push(SourceDiag::new(
                "malformed-row",
                file,
                1,
                format!("bad header: {e}"),
            ));
            return Ok(None);
        }
    };
    let mut map: Vec<Option<&'static str>> = Vec::with_capacity(headers.len());
    let mut header_ok = true;
    for h in headers.iter() {
        let h = h.trim();
        match columns.iter().find(|c| **c == h) {
            Some(c) => {
                if map.contains(&Some(*c)) {
                    diags.push(
                        SourceDiag::new(
                            "bad-mapping",
                            file,
                            1,
                            format!("column `{h}` appears twice"),
                        )
                        .help("remove one of the two columns")
                        .text(line_text(1))
                        .label_text(h, "again"),
                    );
                    header_ok = false;
                }
                map.push(Some(*c));
            }
            None => {
                diags.push(
                    SourceDiag::new("bad-mapping", file, 1, format!("unknown column `{h}`"))
                        .help(format!("the columns of {file} are: {}", columns.join(", ")))
                        .text(line_text(1))
                        .label_text(h, "unknown"),
                );
                header_ok = false;
                map.push(None);
            }
        }
    }
    for r in required {
        if !map.contains(&Some(*r)) {
            diags.push(
                SourceDiag::new(
                    "bad-mapping",
                    file,
                    1,
                    format!("required column `{r}` is missing"),
                )
                .help(format!("the columns of {file} are: {}", columns.join(", ")))
                .text(line_text(1)),
            );
            header_ok = false;
        }
    }
    if !header_ok {
        return Ok(None);
    }
    let mut rows = Vec::new();
    let mut rec = csv::StringRecord::new();
    loop {
        match rdr.read_record(&mut rec) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => {
                let line = match e.position() {
                    Some(p) => rdr.get_mut().index.line_at(p.byte()),
                    None => 0,
                };
                diags.push(SourceDiag::new("malformed-row", file, line, e.to_string()));
                if matches!(e.kind(), csv::ErrorKind::Io(_)) {
                    break;
                }
                continue;
            }
        }
        let line = match rec.position() {
            Some(p) => rdr.get_mut().index.line_at(p.byte()),
            None => 0,
        };
        // Blank rows, and comment lines (`#` first, as `zd2gc init` writes one per table).
        if rec.iter().all(|v| v.trim().is_empty())
            || rec.get(0).is_some_and(|v| v.trim_start().starts_with('#'))
        {
            continue;
        }
        if rec.len() != map.len() {
            diags.push(
                SourceDiag::new(
                    "malformed-row",
                    file,
                    line,
                    format!("{} values for {} columns", rec.len(), map.len()),
                )
                .help("check the row's quoting: a comma inside a value must be quoted")
                .text(line_text(line)),
            );
            continue;
        }
        let mut vals = HashMap::new();
        for (i, v) in rec.iter().enumerate() {
            if let Some(c) = map[i] {
                let v = v.trim();
                if !v.is_empty() {
                    vals.insert(c, v.to_string());
                }
            }
        }
        rows.push((line, line_text(line), vals));
    }
    Ok(Some((
        Csv {
            file: file.to_string(),
            rows,
        },
        sha,
    )))
}

fn missing(file: &str, line: u64, text: &str, col: &str) -> SourceDiag {
    SourceDiag::new("missing-field", file, line, format!("`{col}` is empty"))
        .help(format!("fill `{col}` or remove the row"))
        .text(text)
}

fn parse_tz(csv: &Csv, line: u64, text: &str, v: &str, out: &mut Vec<SourceDiag>) -> Option<Tz> {
    match v.parse::<Tz>() {
        Ok(tz) => Some(tz),
        Err(_) => {
            out.push(invalid(
                &csv.file,
                line,
                text,
                "time_zone",
                v,
                "a zone of the tz database",
                "use an IANA name such as `Europe/Paris` (docs/mappings.md)",
            ));
            None
        }
    }
}

/// Read the four tables from a `mappings/` directory. All problems are collected; if any, the
/// error carries the first and `diags` all of them.
pub fn load(dir: &Path, diags: &mut Vec<SourceDiag>) -> Result<Tables> {
    let mut t = Tables::default();
    let start = diags.len();

    if let Some((csv, sha)) = read_csv(
        &dir.join("agents.csv"),
        "mappings/agents.csv",
        &[
            "zendesk_agent_id",
            "email",
            "genesys_user_id",
            "management_unit_id",
            "business_unit_id",
        ],
        &[],
        diags,
    )? {
        t.sha256.push(("agents.csv".into(), sha));
        for (line, text, v) in csv.rows {
            let mut ok = check_ids(
                &csv.file,
                line,
                &text,
                &v,
                &["genesys_user_id", "management_unit_id", "business_unit_id"],
                &mut t.findings,
            );
            if let Some(e) = v.get("email")
                && !is_email(e)
            {
                t.findings.push(invalid(
                    &csv.file,
                    line,
                    &text,
                    "email",
                    e,
                    "an e-mail address",
                    "write the agent's address as Zendesk has it, e.g. `anne.martin@example.com`, or leave it blank and give `zendesk_agent_id` (docs/mappings.md)",
                ));
                ok = false;
            }
            if !ok {
                // Left out: the agent is unmapped (and held back), never loaded with a bad id.
                t.bad_agents.push((
                    line,
                    v.get("zendesk_agent_id").cloned(),
                    v.get("email").and_then(|e| norm_email(e)),
                ));
                continue;
            }
            let row = AgentMapRow {
                line,
                zendesk_agent_id: v.get("zendesk_agent_id").cloned(),
                email: v.get("email").and_then(|e| norm_email(e)),
                genesys_user_id: v.get("genesys_user_id").cloned(),
                management_unit_id: v.get("management_unit_id").cloned(),
                business_unit_id: v.get("business_unit_id").cloned(),
            };
            if row.zendesk_agent_id.is_none() && row.email.is_none() {
                diags.push(
                    SourceDiag::new(
                        "missing-field",
                        &csv.file,
                        line,
                        "neither `zendesk_agent_id` nor `email` is given",
                    )
                    .help("one of the two identifies the Zendesk agent")
                    .text(text),
                );
                continue;
            }
            t.agents.push(row);
        }
    }

    if let Some((csv, sha)) = read_csv(
        &dir.join("business_units.csv"),
        "mappings/business_units.csv",
        &["business_unit_id", "name", "time_zone", "start_day_of_week"],
        &["business_unit_id", "time_zone", "start_day_of_week"],
        diags,
    )? {
        t.sha256.push(("business_units.csv".into(), sha));
        for (line, text, v) in &csv.rows {
            let (Some(id), Some(tz), Some(day)) = (
                v.get("business_unit_id"),
                v.get("time_zone"),
                v.get("start_day_of_week"),
            ) else {
                let col = ["business_unit_id", "time_zone", "start_day_of_week"]
                    .into_iter()
                    .find(|c| !v.contains_key(c))
                    .unwrap_or("business_unit_id");
                diags.push(missing(&csv.file, *line, text, col));
                continue;
            };
            let id_ok = check_ids(
                &csv.file,
                *line,
                text,
                v,
                &["business_unit_id"],
                &mut t.findings,
            );
            let tz = parse_tz(&csv, *line, text, tz, &mut t.findings);
            let wd = parse_weekday(day);
            if wd.is_none() {
                t.findings.push(invalid(
                    &csv.file,
                    *line,
                    text,
                    "start_day_of_week",
                    day,
                    "a day of the week",
                    "write Monday, Tuesday, … or Sunday (docs/mappings.md)",
                ));
            }
            if !id_ok {
                continue;
            }
            if tz.is_none() || wd.is_none() {
                t.bad_business_units.push(id.clone());
            }
            if t.business_units.iter().any(|b| &b.business_unit_id == id) {
                diags.push(
                    SourceDiag::new(
                        "bad-mapping",
                        &csv.file,
                        *line,
                        format!("business unit `{id}` appears twice"),
                    )
                    .help("keep one row per business unit")
                    .text(text.clone()),
                );
                continue;
            }
            if let (Some(tz), Some(wd)) = (tz, wd) {
                t.business_units.push(BusinessUnitRow {
                    line: *line,
                    business_unit_id: id.clone(),
                    name: v.get("name").cloned().unwrap_or_default(),
                    time_zone: tz,
                    start_day_of_week: wd,
                });
            }
        }
    }

    if let Some((csv, sha)) = read_csv(
        &dir.join("locations.csv"),
        "mappings/locations.csv",
        &["location", "time_zone", "business_unit_id"],
        &["location"],
        diags,
    )? {
        t.sha256.push(("locations.csv".into(), sha));
        for (line, text, v) in &csv.rows {
            let Some(loc) = v.get("location") else {
                diags.push(missing(&csv.file, *line, text, "location"));
                continue;
            };
            let ids_ok = check_ids(
                &csv.file,
                *line,
                text,
                v,
                &["business_unit_id"],
                &mut t.findings,
            );
            let tz = match v.get("time_zone") {
                Some(z) => match parse_tz(&csv, *line, text, z, &mut t.findings) {
                    Some(tz) => Some(tz),
                    None => {
                        t.bad_locations.push(loc.clone());
                        continue;
                    }
                },
                None => None,
            };
            if !ids_ok {
                t.bad_locations.push(loc.clone());
                continue;
            }
            t.locations.push(LocationRow {
                line: *line,
                location: loc.clone(),
                time_zone: tz,
                business_unit_id: v.get("business_unit_id").cloned(),
            });
        }
    }

    if let Some((csv, sha)) = read_csv(
        &dir.join("activities.csv"),
        "mappings/activities.csv",
        &[
            "zendesk_task_name",
            "genesys_activity_code_id",
            "business_unit_id",
        ],
        &["zendesk_task_name", "genesys_activity_code_id"],
        diags,
    )? {
        t.sha256.push(("activities.csv".into(), sha));
        for (line, text, v) in &csv.rows {
            let (Some(name), Some(code)) = (
                v.get("zendesk_task_name"),
                v.get("genesys_activity_code_id"),
            ) else {
                let col = if v.contains_key("zendesk_task_name") {
                    "genesys_activity_code_id"
                } else {
                    "zendesk_task_name"
                };
                diags.push(missing(&csv.file, *line, text, col));
                continue;
            };
            if !check_ids(
                &csv.file,
                *line,
                text,
                v,
                &["genesys_activity_code_id", "business_unit_id"],
                &mut t.findings,
            ) {
                continue;
            }
            let bu = v.get("business_unit_id").cloned();
            if t.activities
                .iter()
                .any(|a| &a.zendesk_task_name == name && a.business_unit_id == bu)
            {
                diags.push(
                    SourceDiag::new(
                        "bad-mapping",
                        &csv.file,
                        *line,
                        format!(
                            "task `{name}` is mapped twice for {}",
                            bu.as_deref()
                                .map_or("every business unit".to_string(), |b| {
                                    format!("business unit `{b}`")
                                })
                        ),
                    )
                    .help("keep one row per task name and business unit")
                    .text(text.clone()),
                );
                continue;
            }
            t.activities.push(ActivityRow {
                line: *line,
                zendesk_task_name: name.clone(),
                genesys_activity_code_id: code.clone(),
                business_unit_id: bu,
            });
        }
    }

    if let Some((csv, sha)) = read_csv(
        &dir.join("time_off.csv"),
        "mappings/time_off.csv",
        &[
            "zendesk_reason",
            "genesys_activity_code_id",
            "business_unit_id",
        ],
        &["zendesk_reason", "genesys_activity_code_id"],
        diags,
    )? {
        t.sha256.push(("time_off.csv".into(), sha));
        for (line, text, v) in &csv.rows {
            let (Some(reason), Some(code)) =
                (v.get("zendesk_reason"), v.get("genesys_activity_code_id"))
            else {
                let col = if v.contains_key("zendesk_reason") {
                    "genesys_activity_code_id"
                } else {
                    "zendesk_reason"
                };
                diags.push(missing(&csv.file, *line, text, col));
                continue;
            };
            if !check_ids(
                &csv.file,
                *line,
                text,
                v,
                &["genesys_activity_code_id", "business_unit_id"],
                &mut t.findings,
            ) {
                continue;
            }
            let bu = v.get("business_unit_id").cloned();
            if t.time_off
                .iter()
                .any(|a| &a.zendesk_reason == reason && a.business_unit_id == bu)
            {
                diags.push(
                    SourceDiag::new(
                        "bad-mapping",
                        &csv.file,
                        *line,
                        format!(
                            "time-off reason `{reason}` is mapped twice for {}",
                            bu.as_deref()
                                .map_or("every business unit".to_string(), |b| {
                                    format!("business unit `{b}`")
                                })
                        ),
                    )
                    .help("keep one row per reason and business unit")
                    .text(text.clone()),
                );
                continue;
            }
            t.time_off.push(TimeOffMapRow {
                line: *line,
                zendesk_reason: reason.clone(),
                genesys_activity_code_id: code.clone(),
                business_unit_id: bu,
            });
        }
    }

    if diags.len() > start {
        let first = diags[start].clone();
        return Err(Error::from(first));
    }
    Ok(t)
}

/// The text of a table's physical line (for a finding's snippet).
fn table_line(dir: &Path, file: &str, line: u64) -> String {
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
    let mut out = Vec::new();
    for a in &t.activities {
        let Some(bu) = &a.business_unit_id else {
            continue;
        };
        let Some(known) = codes.get(bu) else { continue };
        if known.contains(&a.genesys_activity_code_id) {
            continue;
        }
        out.push(
            SourceDiag::new(
                "mapping-unknown-reference",
                "mappings/activities.csv",
                a.line,
                format!(
                    "activity code `{}` is not an activity code of business unit `{bu}` in Genesys",
                    a.genesys_activity_code_id
                ),
            )
            .help("correct the code id (`zd2gc mappings pull` writes the unit's codes by name; docs/mappings.md)")
            .text(table_line(dir, "activities.csv", a.line))
            .label_text(&a.genesys_activity_code_id, "genesys_activity_code_id"),
        );
    }
    out
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
    let mut out = Vec::new();
    for a in &t.time_off {
        let Some(bu) = &a.business_unit_id else {
            continue;
        };
        let Some(known) = codes.get(bu) else { continue };
        if known.contains(&a.genesys_activity_code_id) {
            continue;
        }
        out.push(
            SourceDiag::new(
                "mapping-unknown-reference",
                "mappings/time_off.csv",
                a.line,
                format!(
                    "activity code `{}` is not an active TimeOff activity code of business unit `{bu}` in Genesys",
                    a.genesys_activity_code_id
                ),
            )
            .help("time off needs a code of the TimeOff category: correct the id (`zd2gc mappings pull` writes the unit's TimeOff codes by name; docs/mappings.md)")
            .text(table_line(dir, "time_off.csv", a.line))
            .label_text(&a.genesys_activity_code_id, "genesys_activity_code_id"),
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
