//! `genesys_cache` (migration 2): the answers of Genesys reads, by kind and key, as JSON, so a
//! re-run of `map` or `mappings pull` repeats no call; validate and load's views read it too. The
//! only module that runs SQL on it.

use crate::error::Result;
use rusqlite::{Connection, OptionalExtension, params};

/// The cached answer of `kind`/`key` and the run that fetched it.
pub fn get(conn: &Connection, kind: &str, key: &str) -> Result<Option<(String, i64)>> {
    Ok(conn
        .query_row(
            "SELECT value, run_id FROM genesys_cache WHERE kind = ?1 AND key = ?2",
            params![kind, key],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?)
}

/// Keep (or replace) the answer of `kind`/`key`, fetched now by run `run_id`.
pub fn put(conn: &Connection, kind: &str, key: &str, value: &str, run_id: i64) -> Result<()> {
    conn.execute(
        "INSERT INTO genesys_cache(kind, key, value, fetched_at, run_id) VALUES (?1,?2,?3,?4,?5)
         ON CONFLICT(kind, key) DO UPDATE SET value = excluded.value, fetched_at = excluded.fetched_at, run_id = excluded.run_id",
        params![kind, key, value, super::now_rfc3339(), run_id],
    )?;
    Ok(())
}

/// Every cached (kind, key, value) of the given kinds.
pub fn entries(conn: &Connection, kinds: &[&str]) -> Result<Vec<(String, String, String)>> {
    let kinds = serde_json::to_string(kinds).expect("strings serialize");
    let mut st = conn.prepare(
        "SELECT kind, key, value FROM genesys_cache
         WHERE kind IN (SELECT value FROM json_each(?1))",
    )?;
    Ok(st
        .query_map([kinds], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<rusqlite::Result<_>>()?)
}
