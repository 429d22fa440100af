//! Rows extract could not stage (the `rejects` table) become `malformed-row` / `missing-field`
//! findings, with their file, line, field and value as written.

use super::Env;
use crate::config::Severity;
use crate::error::Result;
use crate::report::Finding;
use rusqlite::Connection;

/// One finding per rejected row.
pub fn check_rejects(env: &mut Env<'_>, snap: &Connection) -> Result<()> {
    let mut st = snap.prepare(
        "SELECT file_id, line, code, field, message, value, text, record_id FROM rejects ORDER BY file_id, line",
    )?;
    let mut rows = st.query([])?;
    while let Some(r) = rows.next()? {
        let code: String = r.get(2)?;
        let rule = if crate::rules::is_rule(&code) {
            code
        } else {
            "malformed-row".to_string()
        };
        let message: String = r.get(4)?;
        let help = match rule.as_str() {
            "missing-field" => {
                "fill the value in the export, or map the right column with a header alias in zd2gc.toml"
            }
            _ if message.contains("UTF-8") => {
                "re-export the file as CSV UTF-8, or read it as it is with `[csv] encoding = \"windows-1252\"` in zd2gc.toml (docs/export-format.md)"
            }
            _ if message.contains("column count") => {
                "check the row's quoting: a comma inside a value must be quoted"
            }
            _ if message.contains("date") || message.contains("time") => {
                "local times are `YYYY-MM-DD HH:MM`, absolute ones RFC 3339 with an offset"
            }
            _ => "correct the row in the export and run `zd2gc extract` again",
        };
        let mut f = Finding::new(&rule, Severity::Error, message);
        f.file = env.file(r.get(0)?);
        f.line = Some(r.get::<_, i64>(1)? as u64);
        f.field = r.get(3)?;
        f.value = r.get(5)?;
        f.record_id = r.get(7)?;
        let text: String = r.get(6)?;
        if !text.is_empty() {
            f.text = Some(text);
        }
        f.help = help.into();
        env.records += 1;
        env.sink.push(f);
    }
    Ok(())
}

/// `empty-export`: the export has no agent, or no shift to load: its agents or shifts file is empty
/// or has a header and no record. One finding per such file, at its line 1. (A file whose rows
/// were all rejected already has an error finding per row.)
pub fn check_empty(env: &mut Env<'_>, snap: &Connection) -> Result<()> {
    let mut st = snap.prepare(
        "SELECT name, kind, bytes FROM files WHERE kind IN ('agents', 'shifts') AND rows_read = 0 ORDER BY file_id",
    )?;
    let empty: Vec<(String, String, i64)> = st
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<rusqlite::Result<_>>()?;
    for (name, kind, bytes) in empty {
        let what = if kind == "agents" { "agent" } else { "shift" };
        let why = if bytes == 0 {
            "is empty"
        } else {
            "has no record"
        };
        let mut f = Finding::new(
            "empty-export",
            Severity::Error,
            format!("{name} {why}: the export has no {what} to load"),
        );
        f.file = Some(name);
        f.line = Some(1);
        f.help = format!(
            "export the {kind} again: the file holds one {what} per row under its header (docs/export-format.md)"
        );
        env.sink.push(f);
    }
    Ok(())
}
