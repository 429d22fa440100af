//! Every validation is recorded in zd2gc.db (`validations`, migration 3), so `load` can refuse to
//! start while the last validation of the current snapshot has errors ([`last_validation`]).

use crate::error::Result;
use crate::report::Report;
use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;
use std::path::Path;

/// One recorded validation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ValidationSummary {
    pub id: i64,
    pub snapshot_id: String,
    pub run_id: i64,
    pub validated_at: String,
    pub errors: u64,
    pub warnings: u64,
    pub infos: u64,
    pub ready_to_load: bool,
    /// The JSON report kept in the migration directory, and its SHA-256.
    pub report_path: String,
    pub report_sha256: String,
    /// SHA-256 over zd2gc.toml and the mapping tables the validation read.
    pub config_sha256: String,
}

pub(crate) struct NewValidation<'a> {
    pub snapshot_id: &'a str,
    pub run_id: i64,
    pub report: &'a Report,
    pub report_path: &'a Path,
    pub report_sha256: &'a str,
    pub config_sha256: &'a str,
}

pub(crate) fn record(conn: &mut Connection, v: &NewValidation<'_>) -> Result<i64> {
    let s = &v.report.summary;
    conn.execute(
        "INSERT INTO validations(snapshot_id, run_id, validated_at, errors, warnings, infos, ready_to_load,
                                 report_path, report_sha256, config_sha256)
         VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10)",
        params![
            v.snapshot_id,
            v.run_id,
            v.report.generated_at,
            s.errors as i64,
            s.warnings as i64,
            s.infos as i64,
            v.report.ready_to_load,
            v.report_path.display().to_string(),
            v.report_sha256,
            v.config_sha256
        ],
    )?;
    Ok(conn.last_insert_rowid())
}

/// The last validation of a snapshot, if any (what `load` checks before it starts).
pub fn last_validation(conn: &Connection, snapshot_id: &str) -> Result<Option<ValidationSummary>> {
    Ok(conn
        .query_row(
            "SELECT id, snapshot_id, run_id, validated_at, errors, warnings, infos, ready_to_load,
                    report_path, report_sha256, config_sha256
             FROM validations WHERE snapshot_id = ?1 ORDER BY id DESC LIMIT 1",
            [snapshot_id],
            |r| {
                Ok(ValidationSummary {
                    id: r.get(0)?,
                    snapshot_id: r.get(1)?,
                    run_id: r.get(2)?,
                    validated_at: r.get(3)?,
                    errors: r.get::<_, i64>(4)? as u64,
                    warnings: r.get::<_, i64>(5)? as u64,
                    infos: r.get::<_, i64>(6)? as u64,
                    ready_to_load: r.get(7)?,
                    report_path: r.get(8)?,
                    report_sha256: r.get(9)?,
                    config_sha256: r.get(10)?,
                })
            },
        )
        .optional()?)
}
