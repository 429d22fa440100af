//! The readers of the mapping tables, one per table; `activities.csv` and `time_off.csv` share
//! one ([`code_table`]).

use super::csv_file::{check_ids, invalid, missing, parse_tz, read_csv};
use super::{
    AgentMapRow, BusinessUnitRow, LocationRow, Tables, is_email, norm_email, parse_weekday,
};
use crate::diag::SourceDiag;
use crate::error::Result;
use std::path::Path;

/// `agents.csv`: Zendesk agent (id or e-mail) → Genesys user, management and business unit.
pub(super) fn agents(dir: &Path, t: &mut Tables, diags: &mut Vec<SourceDiag>) -> Result<()> {
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
    Ok(())
}

/// `business_units.csv`: each business unit's zone and first day of week.
pub(super) fn business_units(
    dir: &Path,
    t: &mut Tables,
    diags: &mut Vec<SourceDiag>,
) -> Result<()> {
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
    Ok(())
}

/// `locations.csv`: a location's zone and business unit.
pub(super) fn locations(dir: &Path, t: &mut Tables, diags: &mut Vec<SourceDiag>) -> Result<()> {
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
    Ok(())
}

/// A table that maps a Zendesk name to a Genesys activity code, for one business unit or for
/// all of them: `activities.csv` (task names) and `time_off.csv` (time-off reasons).
pub(super) struct CodeTable {
    /// The file's name in `mappings/`.
    file: &'static str,
    /// The column of the Zendesk name.
    name_col: &'static str,
    /// What a name is, in messages.
    what: &'static str,
    /// The help of a name mapped twice for one business unit.
    help_twice: &'static str,
}

pub(super) const ACTIVITIES: CodeTable = CodeTable {
    file: "activities.csv",
    name_col: "zendesk_task_name",
    what: "task",
    help_twice: "keep one row per task name and business unit",
};

pub(super) const TIME_OFF: CodeTable = CodeTable {
    file: "time_off.csv",
    name_col: "zendesk_reason",
    what: "time-off reason",
    help_twice: "keep one row per reason and business unit",
};

/// One row of a code table.
pub(super) struct CodeRow {
    pub line: u64,
    pub name: String,
    pub code: String,
    pub business_unit_id: Option<String>,
}

/// Read a code table: a row without a name or a code is `missing-field`, a bad id
/// `mapping-invalid-value` (the row left out), a name mapped twice for one business unit
/// `bad-mapping`.
pub(super) fn code_table(
    dir: &Path,
    table: &CodeTable,
    t: &mut Tables,
    diags: &mut Vec<SourceDiag>,
) -> Result<Vec<CodeRow>> {
    let mut out: Vec<CodeRow> = Vec::new();
    let Some((csv, sha)) = read_csv(
        &dir.join(table.file),
        &format!("mappings/{}", table.file),
        &[
            table.name_col,
            "genesys_activity_code_id",
            "business_unit_id",
        ],
        &[table.name_col, "genesys_activity_code_id"],
        diags,
    )?
    else {
        return Ok(out);
    };
    t.sha256.push((table.file.into(), sha));
    for (line, text, v) in &csv.rows {
        let (Some(name), Some(code)) = (v.get(table.name_col), v.get("genesys_activity_code_id"))
        else {
            let col = if v.contains_key(table.name_col) {
                "genesys_activity_code_id"
            } else {
                table.name_col
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
        if out
            .iter()
            .any(|r| &r.name == name && r.business_unit_id == bu)
        {
            diags.push(
                SourceDiag::new(
                    "bad-mapping",
                    &csv.file,
                    *line,
                    format!(
                        "{} `{name}` is mapped twice for {}",
                        table.what,
                        bu.as_deref()
                            .map_or("every business unit".to_string(), |b| {
                                format!("business unit `{b}`")
                            })
                    ),
                )
                .help(table.help_twice)
                .text(text.clone()),
            );
            continue;
        }
        out.push(CodeRow {
            line: *line,
            name: name.clone(),
            code: code.clone(),
            business_unit_id: bu,
        });
    }
    Ok(out)
}
