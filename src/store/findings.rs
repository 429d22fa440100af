//! `map_findings` (migration 2): what `map` could not map, with rule, severity, file and line;
//! `validate` reports them. The only module that runs SQL on it.

use crate::error::Result;
use rusqlite::{Connection, Statement, params};

/// One stored finding, as `map` writes it and `validate` reads it back.
#[derive(Debug, Clone, Default)]
pub struct StoredFinding {
    pub rule: String,
    /// `info`, `warning` or `error`: the severity `map` applied.
    pub severity: String,
    pub file: Option<String>,
    pub line: Option<i64>,
    pub record_id: Option<String>,
    pub field: Option<String>,
    pub value: Option<String>,
    pub timezone: Option<String>,
    /// A JSON array of strings, when there are candidates.
    pub candidates: Option<String>,
    pub message: String,
    pub help: Option<String>,
}

/// `map`'s writer: clears the previous map's findings, then appends one row per finding with a
/// statement prepared once.
pub struct FindingWriter<'c>(Statement<'c>);

impl<'c> FindingWriter<'c> {
    pub fn replace_all(tx: &'c Connection) -> Result<FindingWriter<'c>> {
        tx.execute("DELETE FROM map_findings", [])?;
        Ok(FindingWriter(tx.prepare(
            "INSERT INTO map_findings(run_id, rule, severity, file, line, record_id, field, value, timezone, candidates, message, help)
             VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12)",
        )?))
    }

    #[allow(clippy::too_many_arguments)]
    pub fn write(
        &mut self,
        run_id: i64,
        rule: &str,
        severity: &str,
        file: Option<&str>,
        line: Option<i64>,
        record_id: Option<&str>,
        field: Option<&str>,
        value: Option<&str>,
        timezone: Option<&str>,
        candidates: Option<&str>,
        message: &str,
        help: &str,
    ) -> Result<()> {
        self.0.execute(params![
            run_id, rule, severity, file, line, record_id, field, value, timezone, candidates,
            message, help
        ])?;
        Ok(())
    }
}

/// The findings `validate` shows again, in the order `map` wrote them: agent and activity mapping,
/// every time-off finding (by rule, or at a row of one of `time_off_files`).
pub fn for_validate(conn: &Connection, time_off_files: &[String]) -> Result<Vec<StoredFinding>> {
    let mut st = conn.prepare(
        "SELECT rule, file, line, record_id, field, value, timezone, candidates, message, help, severity
         FROM map_findings WHERE rule IN ('unmapped-agent', 'ambiguous-agent-mapping', 'unmapped-management-unit', 'unmapped-activity')
            OR rule LIKE '%time-off%' OR file IN (SELECT value FROM json_each(?1))
         ORDER BY id",
    )?;
    let files_json = serde_json::to_string(time_off_files).expect("strings serialize");
    Ok(st
        .query_map([files_json], |r| {
            Ok(StoredFinding {
                rule: r.get(0)?,
                file: r.get(1)?,
                line: r.get(2)?,
                record_id: r.get(3)?,
                field: r.get(4)?,
                value: r.get(5)?,
                timezone: r.get(6)?,
                candidates: r.get(7)?,
                message: r.get(8)?,
                help: r.get(9)?,
                severity: r.get(10)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?)
}
