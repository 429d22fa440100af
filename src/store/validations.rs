//! The `validations` table (migration 3): one row per validation, written by `validate`, read by
//! `load`'s gate and the cutover report. The only module that runs SQL on it.

use super::runs::SnapshotId;
use crate::error::Result;
use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;
use std::path::Path;

/// One recorded validation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Validation {
    pub id: i64,
    pub snapshot_id: String,
    /// The validate run (a map run inside validate has the same or a smaller id).
    pub run_id: i64,
    pub validated_at: String,
    pub errors: u64,
    pub warnings: u64,
    pub infos: u64,
    pub ready_to_load: bool,
    /// The JSON report kept in the migration directory (relative to it), and its SHA-256.
    pub report_path: String,
    pub report_sha256: String,
    /// SHA-256 over zd2gc.toml and the mapping tables the validation read.
    pub config_sha256: String,
}

/// What `validate` records.
pub struct NewValidation<'a> {
    pub snapshot_id: &'a SnapshotId,
    pub run_id: i64,
    pub validated_at: &'a str,
    pub errors: u64,
    pub warnings: u64,
    pub infos: u64,
    pub ready_to_load: bool,
    pub report_path: &'a Path,
    pub report_sha256: &'a str,
    pub config_sha256: &'a str,
}

/// Record a validation; its id.
pub fn record(conn: &Connection, v: &NewValidation<'_>) -> Result<i64> {
    conn.execute(
        "INSERT INTO validations(snapshot_id, run_id, validated_at, errors, warnings, infos, ready_to_load,
                                 report_path, report_sha256, config_sha256)
         VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10)",
        params![
            v.snapshot_id.as_str(),
            v.run_id,
            v.validated_at,
            v.errors as i64,
            v.warnings as i64,
            v.infos as i64,
            v.ready_to_load,
            v.report_path.display().to_string(),
            v.report_sha256,
            v.config_sha256
        ],
    )?;
    Ok(conn.last_insert_rowid())
}

const COLUMNS: &str =
    "id, snapshot_id, run_id, validated_at, errors, warnings, infos, ready_to_load,
                       report_path, report_sha256, config_sha256";

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Validation> {
    Ok(Validation {
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
}

/// The last validation, of whatever snapshot (`load`'s gate compares its snapshot with the
/// current one).
pub fn last(conn: &Connection) -> Result<Option<Validation>> {
    Ok(conn
        .query_row(
            &format!("SELECT {COLUMNS} FROM validations ORDER BY id DESC LIMIT 1"),
            [],
            row,
        )
        .optional()?)
}

/// The last validation of one snapshot.
pub fn last_of(conn: &Connection, snapshot: &SnapshotId) -> Result<Option<Validation>> {
    Ok(conn
        .query_row(
            &format!(
                "SELECT {COLUMNS} FROM validations WHERE snapshot_id = ?1 ORDER BY id DESC LIMIT 1"
            ),
            [snapshot.as_str()],
            row,
        )
        .optional()?)
}
