//! The time-off tables `map` writes and `load` reads: `desired_time_off` (the desired Genesys form
//! of each loadable request, one row per legacy request) and `xw_time_off` (the crosswalk of every
//! request ever exported; `load` fills in the Genesys id). The only module that runs SQL on them,
//! besides the crosswalk's reader (`store::crosswalk`); `load_time_off` is load's journal
//! (`load::timeoff`).

use crate::error::Result;
use rusqlite::{Connection, Statement, params};
use std::collections::HashMap;

/// One `desired_time_off` row as `map` writes it.
pub struct DesiredRow<'a> {
    pub id: &'a str,
    pub file: Option<&'a str>,
    pub line: i64,
    pub agent_id: &'a str,
    pub user_id: &'a str,
    pub management_unit_id: &'a str,
    pub business_unit_id: &'a str,
    pub activity_code_id: &'a str,
    pub status: &'a str,
    pub full_day_dates: Option<&'a str>,
    pub partial_starts: Option<&'a str>,
    pub daily_minutes: i64,
    pub paid: bool,
    pub notes: &'a str,
    pub content_hash: &'a str,
    pub held_back: Option<&'a str>,
    pub run_id: i64,
}

/// (time-off request id → content hash) of every stored desired request.
pub fn desired_hashes(tx: &Connection) -> Result<HashMap<String, String>> {
    let mut st = tx.prepare("SELECT time_off_request_id, content_hash FROM desired_time_off")?;
    Ok(st
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?)
}

/// `map`'s writer of `desired_time_off`, its statements prepared once in the writing transaction.
pub struct DesiredWriter<'c> {
    upsert: Statement<'c>,
    relocate: Statement<'c>,
}

impl<'c> DesiredWriter<'c> {
    pub fn new(tx: &'c Connection) -> Result<DesiredWriter<'c>> {
        Ok(DesiredWriter {
            upsert: tx.prepare(
                "INSERT OR REPLACE INTO desired_time_off(time_off_request_id, file, line, agent_id, user_id,
            management_unit_id, business_unit_id, activity_code_id, status, full_day_dates, partial_starts,
            daily_minutes, paid, notes, content_hash, held_back, run_id)
         VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17)",
            )?,
            relocate: tx.prepare(
                "UPDATE desired_time_off SET file = ?2, line = ?3 WHERE time_off_request_id = ?1
         AND (file IS NOT ?2 OR line IS NOT ?3)",
            )?,
        })
    }

    /// Insert or replace a request.
    pub fn upsert(&mut self, d: &DesiredRow<'_>) -> Result<()> {
        self.upsert.execute(params![
            d.id,
            d.file,
            d.line,
            d.agent_id,
            d.user_id,
            d.management_unit_id,
            d.business_unit_id,
            d.activity_code_id,
            d.status,
            d.full_day_dates,
            d.partial_starts,
            d.daily_minutes,
            d.paid,
            d.notes,
            d.content_hash,
            d.held_back,
            d.run_id
        ])?;
        Ok(())
    }

    /// An unchanged request found at another place of the export.
    pub fn relocate(&mut self, id: &str, file: Option<&str>, line: i64) -> Result<()> {
        self.relocate.execute(params![id, file, line])?;
        Ok(())
    }
}

/// Remove the desired requests `ids`; how many were given.
pub fn delete_desired<'a>(tx: &Connection, ids: impl Iterator<Item = &'a str>) -> Result<u64> {
    let mut del = tx.prepare("DELETE FROM desired_time_off WHERE time_off_request_id = ?1")?;
    let mut n = 0;
    for id in ids {
        del.execute([id])?;
        n += 1;
    }
    Ok(n)
}

/// One `xw_time_off` row as `map` writes it (the Genesys id is left to `load`).
pub struct XwRow<'a> {
    pub id: &'a str,
    pub agent_id: &'a str,
    pub user_id: Option<&'a str>,
    pub management_unit_id: Option<&'a str>,
    pub business_unit_id: Option<&'a str>,
    pub status: &'a str,
    pub action: &'a str,
    pub run_id: i64,
}

/// `map`'s writer of `xw_time_off`: a row is updated only when it changed.
pub struct XwWriter<'c>(Statement<'c>);

impl<'c> XwWriter<'c> {
    pub fn new(tx: &'c Connection) -> Result<XwWriter<'c>> {
        Ok(XwWriter(tx.prepare(
            "INSERT INTO xw_time_off(time_off_request_id, agent_id, user_id, management_unit_id, business_unit_id,
            status, action, genesys_time_off_request_id, run_id)
         VALUES (?1,?2,?3,?4,?5,?6,?7,NULL,?8)
         ON CONFLICT(time_off_request_id) DO UPDATE SET agent_id = excluded.agent_id,
            user_id = excluded.user_id, management_unit_id = excluded.management_unit_id,
            business_unit_id = excluded.business_unit_id, status = excluded.status,
            action = excluded.action, run_id = excluded.run_id
         WHERE (xw_time_off.agent_id, xw_time_off.user_id, xw_time_off.management_unit_id,
                xw_time_off.business_unit_id, xw_time_off.status, xw_time_off.action)
            IS NOT (excluded.agent_id, excluded.user_id, excluded.management_unit_id,
                excluded.business_unit_id, excluded.status, excluded.action)",
        )?))
    }

    pub fn upsert(&mut self, x: &XwRow<'_>) -> Result<()> {
        self.0.execute(params![
            x.id,
            x.agent_id,
            x.user_id,
            x.management_unit_id,
            x.business_unit_id,
            x.status,
            x.action,
            x.run_id
        ])?;
        Ok(())
    }
}

/// Requests of the crosswalk not yet marked `not-in-export`.
pub fn xw_in_export(tx: &Connection) -> Result<Vec<String>> {
    let mut st =
        tx.prepare("SELECT time_off_request_id FROM xw_time_off WHERE action != 'not-in-export'")?;
    Ok(st
        .query_map([], |r| r.get::<_, String>(0))?
        .collect::<rusqlite::Result<Vec<_>>>()?)
}

/// A request gone from the export stays in the crosswalk, marked `not-in-export`.
pub fn mark_not_in_export(tx: &Connection, id: &str, run_id: i64) -> Result<()> {
    tx.execute(
        "UPDATE xw_time_off SET action = 'not-in-export', run_id = ?2 WHERE time_off_request_id = ?1",
        params![id, run_id],
    )?;
    Ok(())
}

/// One stored `desired_time_off` row as `load` reads it (the date lists as stored, JSON arrays).
pub struct StoredRequest {
    pub id: String,
    pub agent_id: Option<String>,
    pub user_id: String,
    pub management_unit_id: String,
    pub business_unit_id: String,
    pub activity_code_id: String,
    pub status: String,
    pub full_day_dates: Option<String>,
    pub partial_starts: Option<String>,
    pub daily_minutes: i64,
    pub paid: bool,
    pub notes: String,
    pub content_hash: String,
    pub held_back: Option<String>,
}

/// Every row of `desired_time_off`, in legacy-id order.
pub fn read_desired(conn: &Connection) -> Result<Vec<StoredRequest>> {
    let mut st = conn.prepare(
        "SELECT time_off_request_id, agent_id, user_id, management_unit_id, business_unit_id,
                activity_code_id, status, full_day_dates, partial_starts, daily_minutes, paid, notes,
                content_hash, held_back
         FROM desired_time_off ORDER BY time_off_request_id",
    )?;
    let rows = st.query_map([], |r| {
        Ok(StoredRequest {
            id: r.get(0)?,
            agent_id: r.get(1)?,
            user_id: r.get(2)?,
            management_unit_id: r.get(3)?,
            business_unit_id: r.get(4)?,
            activity_code_id: r.get(5)?,
            status: r.get(6)?,
            full_day_dates: r.get(7)?,
            partial_starts: r.get(8)?,
            daily_minutes: r.get(9)?,
            paid: r.get::<_, i64>(10)? != 0,
            notes: r.get(11)?,
            content_hash: r.get(12)?,
            held_back: r.get(13)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// Requests in the desired state, and how many of them are held back.
pub fn desired_counts(conn: &Connection) -> Result<(u64, u64)> {
    Ok(conn.query_row(
        "SELECT COUNT(*), COUNT(held_back) FROM desired_time_off",
        [],
        |r| Ok((r.get::<_, i64>(0)? as u64, r.get::<_, i64>(1)? as u64)),
    )?)
}

/// `load` created (or found) a request: link its Genesys id; the rows changed (0 when the
/// crosswalk has no row for it).
pub fn link_genesys(tx: &Connection, id: &str, genesys_id: &str, run_id: i64) -> Result<u64> {
    Ok(tx.execute(
        "UPDATE xw_time_off SET genesys_time_off_request_id = ?2, run_id = ?3
             WHERE time_off_request_id = ?1",
        params![id, genesys_id, run_id],
    )? as u64)
}

/// A crosswalk row for a request `load` created that map never wrote one for (action `load`).
#[allow(clippy::too_many_arguments)]
pub fn insert_loaded(
    tx: &Connection,
    id: &str,
    agent_id: &str,
    user_id: &str,
    management_unit_id: &str,
    business_unit_id: &str,
    status: &str,
    genesys_id: &str,
    run_id: i64,
) -> Result<()> {
    tx.execute(
        "INSERT INTO xw_time_off (time_off_request_id, agent_id, user_id, management_unit_id,
                     business_unit_id, status, action, genesys_time_off_request_id, run_id)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'load', ?7, ?8)",
        params![
            id,
            agent_id,
            user_id,
            management_unit_id,
            business_unit_id,
            status,
            genesys_id,
            run_id
        ],
    )?;
    Ok(())
}

/// Empty `desired_time_off` (the synthetic desired state of tests and benches).
pub fn clear_desired(tx: &Connection) -> Result<()> {
    tx.execute("DELETE FROM desired_time_off", [])?;
    Ok(())
}

/// One synthetic `desired_time_off` row (`load::synth`): from `time_off.csv`, paid, loadable.
pub struct SyntheticRow<'a> {
    pub id: &'a str,
    pub line: i64,
    pub agent_id: &'a str,
    pub user_id: &'a str,
    pub management_unit_id: &'a str,
    pub business_unit_id: &'a str,
    pub activity_code_id: &'a str,
    pub status: &'a str,
    pub full_day_dates: Option<&'a str>,
    pub partial_starts: Option<&'a str>,
    pub daily_minutes: i64,
    pub notes: &'a str,
    pub content_hash: &'a str,
}

pub fn insert_synthetic(tx: &Connection, r: &SyntheticRow<'_>) -> Result<()> {
    tx.execute(
        "INSERT INTO desired_time_off (time_off_request_id, file, line, agent_id, user_id,
                         management_unit_id, business_unit_id, activity_code_id, status, full_day_dates,
                         partial_starts, daily_minutes, paid, notes, content_hash, held_back)
                     VALUES (?1, 'time_off.csv', ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, 1, ?12, ?13, NULL)",
        params![
            r.id,
            r.line,
            r.agent_id,
            r.user_id,
            r.management_unit_id,
            r.business_unit_id,
            r.activity_code_id,
            r.status,
            r.full_day_dates,
            r.partial_starts,
            r.daily_minutes,
            r.notes,
            r.content_hash
        ],
    )?;
    Ok(())
}
