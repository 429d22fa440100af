//! The crosswalk tables `map` writes: `xw_agents` (each exported agent → Genesys user) and
//! `xw_trades` (each legacy trade, its users and what map decided). `xw_shifts` is written by
//! load's journal (`load::journal`), `xw_time_off` with the time-off desired state
//! (`store::time_off`). Writers update a row only when it changed, and count the rows they
//! changed. The crosswalk's readers are here too: the agents' links other stages look up, and
//! every query of `crosswalk lookup` and `crosswalk export`.

use crate::error::Result;
use rusqlite::{Connection, Statement, params};
use serde_json::{Map, Value};
use std::collections::HashMap;

/// One `xw_agents` row.
pub struct AgentLink<'a> {
    pub agent_id: &'a str,
    pub email: Option<&'a str>,
    pub user_id: Option<&'a str>,
    pub management_unit_id: Option<&'a str>,
    pub business_unit_id: Option<&'a str>,
    /// How it was resolved (`email`, `table`, …), or `ambiguous`/`unmapped`.
    pub resolved_by: &'a str,
    /// The candidates of an ambiguous agent, as a JSON array.
    pub candidates: Option<&'a str>,
    pub run_id: i64,
}

pub struct AgentWriter<'c>(Statement<'c>);

impl<'c> AgentWriter<'c> {
    pub fn new(tx: &'c Connection) -> Result<AgentWriter<'c>> {
        Ok(AgentWriter(tx.prepare(
            "INSERT INTO xw_agents(agent_id, email, user_id, management_unit_id, business_unit_id, resolved_by, candidates, run_id)
             VALUES (?1,?2,?3,?4,?5,?6,?7,?8)
             ON CONFLICT(agent_id) DO UPDATE SET email = excluded.email, user_id = excluded.user_id,
                management_unit_id = excluded.management_unit_id, business_unit_id = excluded.business_unit_id,
                resolved_by = excluded.resolved_by, candidates = excluded.candidates, run_id = excluded.run_id
             WHERE (xw_agents.email, xw_agents.user_id, xw_agents.management_unit_id, xw_agents.business_unit_id,
                    xw_agents.resolved_by, xw_agents.candidates)
                IS NOT (excluded.email, excluded.user_id, excluded.management_unit_id, excluded.business_unit_id,
                    excluded.resolved_by, excluded.candidates)",
        )?))
    }

    /// Write one agent; 1 when the row changed, else 0.
    pub fn upsert(&mut self, a: &AgentLink<'_>) -> Result<u64> {
        Ok(self.0.execute(params![
            a.agent_id,
            a.email,
            a.user_id,
            a.management_unit_id,
            a.business_unit_id,
            a.resolved_by,
            a.candidates,
            a.run_id
        ])? as u64)
    }
}

/// One `xw_trades` row as map writes it (the Genesys trade id is linked later, by `map --online`).
pub struct TradeLink<'a> {
    pub trade_id: &'a str,
    pub swap_request_id: &'a str,
    pub legacy_status: &'a str,
    pub requester_agent_id: &'a str,
    pub requester_user_id: Option<&'a str>,
    pub requester_shift_id: &'a str,
    pub recipient_agent_id: &'a str,
    pub recipient_user_id: Option<&'a str>,
    pub recipient_shift_id: Option<&'a str>,
    pub action: &'a str,
    pub note: Option<&'a str>,
    pub run_id: i64,
}

pub struct TradeWriter<'c>(Statement<'c>);

impl<'c> TradeWriter<'c> {
    pub fn new(tx: &'c Connection) -> Result<TradeWriter<'c>> {
        Ok(TradeWriter(tx.prepare(
            "INSERT INTO xw_trades(trade_id, swap_request_id, legacy_status, requester_agent_id, requester_user_id,
                requester_shift_id, recipient_agent_id, recipient_user_id, recipient_shift_id, genesys_trade_id, action, note, run_id)
             VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13)
             ON CONFLICT(trade_id) DO UPDATE SET swap_request_id = excluded.swap_request_id,
                legacy_status = excluded.legacy_status, requester_agent_id = excluded.requester_agent_id,
                requester_user_id = excluded.requester_user_id, requester_shift_id = excluded.requester_shift_id,
                recipient_agent_id = excluded.recipient_agent_id, recipient_user_id = excluded.recipient_user_id,
                recipient_shift_id = excluded.recipient_shift_id,
                genesys_trade_id = COALESCE(excluded.genesys_trade_id, xw_trades.genesys_trade_id),
                action = excluded.action, note = excluded.note, run_id = excluded.run_id
             WHERE (xw_trades.swap_request_id, xw_trades.legacy_status, xw_trades.requester_agent_id, xw_trades.requester_user_id,
                    xw_trades.requester_shift_id, xw_trades.recipient_agent_id, xw_trades.recipient_user_id,
                    xw_trades.recipient_shift_id, xw_trades.action, xw_trades.note)
                IS NOT (excluded.swap_request_id, excluded.legacy_status, excluded.requester_agent_id, excluded.requester_user_id,
                    excluded.requester_shift_id, excluded.recipient_agent_id, excluded.recipient_user_id,
                    excluded.recipient_shift_id, excluded.action, excluded.note)
                OR (excluded.genesys_trade_id IS NOT NULL AND excluded.genesys_trade_id IS NOT xw_trades.genesys_trade_id)",
        )?))
    }

    /// Write one trade; 1 when the row changed, else 0.
    pub fn upsert(&mut self, t: &TradeLink<'_>) -> Result<u64> {
        Ok(self.0.execute(params![
            t.trade_id,
            t.swap_request_id,
            t.legacy_status,
            t.requester_agent_id,
            t.requester_user_id,
            t.requester_shift_id,
            t.recipient_agent_id,
            t.recipient_user_id,
            t.recipient_shift_id,
            Option::<String>::None,
            t.action,
            t.note,
            t.run_id
        ])? as u64)
    }
}

/// Trades no longer in the export (`in_export` says which are) stay in the crosswalk, marked
/// `not-in-export`; the rows changed.
pub fn mark_trades_not_in_export(
    tx: &Connection,
    in_export: &mut dyn FnMut(&str) -> Result<bool>,
    run_id: i64,
) -> Result<u64> {
    let mut gone = Vec::new();
    {
        let mut st =
            tx.prepare("SELECT trade_id FROM xw_trades WHERE action != 'not-in-export'")?;
        let mut rows = st.query([])?;
        while let Some(r) = rows.next()? {
            let id: String = r.get(0)?;
            if !in_export(&id)? {
                gone.push(id);
            }
        }
    }
    let mut st = tx.prepare(
        "UPDATE xw_trades SET action = 'not-in-export', run_id = ?1
         WHERE trade_id = ?2 AND action != 'not-in-export'",
    )?;
    let mut n = 0;
    for id in gone {
        n += st.execute(params![run_id, id])? as u64;
    }
    Ok(n)
}

/// The trades `map --online` links to Genesys trades: (trade id, requester user, recipient user,
/// requester shift's start, its week, the requester's management unit), for trades still in the
/// export whose requester is mapped.
#[allow(clippy::type_complexity)]
pub fn trades_to_link(
    conn: &Connection,
) -> Result<Vec<(String, String, Option<String>, i64, String, String)>> {
    let mut st = conn.prepare(
        "SELECT t.trade_id, t.requester_user_id, t.recipient_user_id, d.start_utc, d.week_id, a.management_unit_id
         FROM xw_trades t JOIN desired_shifts d ON d.legacy_shift_id = t.requester_shift_id
         JOIN xw_agents a ON a.agent_id = t.requester_agent_id
         WHERE t.requester_user_id IS NOT NULL AND d.start_utc IS NOT NULL AND d.week_id IS NOT NULL
           AND a.management_unit_id IS NOT NULL AND t.action != 'not-in-export'",
    )?;
    Ok(st
        .query_map([], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
            ))
        })?
        .collect::<rusqlite::Result<_>>()?)
}

/// Link a trade to its Genesys trade; 1 when the row changed.
pub fn link_trade(
    conn: &Connection,
    trade_id: &str,
    genesys_trade_id: &str,
    run_id: i64,
) -> Result<u64> {
    Ok(conn.execute(
        "UPDATE xw_trades SET genesys_trade_id = ?2, run_id = ?3
         WHERE trade_id = ?1 AND genesys_trade_id IS NOT ?2",
        params![trade_id, genesys_trade_id, run_id],
    )? as u64)
}

/// (user id, email or else agent id) of every mapped agent, for display; a row that cannot be
/// read is left out.
pub fn user_names(conn: &Connection) -> Result<Vec<(String, String)>> {
    let mut st = conn.prepare(
        "SELECT user_id, COALESCE(email, agent_id) FROM xw_agents WHERE user_id IS NOT NULL",
    )?;
    let rows = st.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
    Ok(rows.flatten().collect())
}

/// (agent id, business unit id) of every agent with a business unit; a row that cannot be read is
/// left out.
pub fn agent_business_units(conn: &Connection) -> Result<Vec<(String, String)>> {
    let mut st = conn.prepare(
        "SELECT agent_id, business_unit_id FROM xw_agents WHERE business_unit_id IS NOT NULL",
    )?;
    let rows = st.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
    Ok(rows.flatten().collect())
}

/// User id → management unit id of every agent mapped to both.
pub fn user_management_units(conn: &Connection) -> Result<HashMap<String, String>> {
    let mut st = conn.prepare(
        "SELECT user_id, management_unit_id FROM xw_agents WHERE user_id IS NOT NULL AND management_unit_id IS NOT NULL",
    )?;
    Ok(st
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?)
}

// ------------------------------------------------------------------ `crosswalk lookup` and `export`
// The crosswalk as people read it: each table a query whose column names are the names shown
// (`crosswalk_shifts` is the view over `desired_shifts` and `xw_shifts`; time off joins
// `xw_time_off` with `desired_time_off`).

const AGENTS: &str = "SELECT agent_id, email, user_id, management_unit_id, business_unit_id, resolved_by, candidates, run_id FROM xw_agents";
const SHIFTS: &str = "SELECT legacy_shift_id, agent_id, exported_agent_id, user_id, business_unit_id, week_id, schedule_id, genesys_shift_id, held_back_reason, run_id FROM crosswalk_shifts";
const TRADES: &str = "SELECT t.trade_id, t.swap_request_id, t.legacy_status, t.action, t.note,
    t.requester_agent_id, t.requester_user_id, t.requester_shift_id, rs.genesys_shift_id AS requester_genesys_shift_id,
    t.recipient_agent_id, t.recipient_user_id, t.recipient_shift_id, cs.genesys_shift_id AS recipient_genesys_shift_id,
    t.genesys_trade_id, t.run_id
    FROM xw_trades t LEFT JOIN xw_shifts rs ON rs.legacy_shift_id = t.requester_shift_id
    LEFT JOIN xw_shifts cs ON cs.legacy_shift_id = t.recipient_shift_id";

const TIME_OFF: &str = "SELECT x.time_off_request_id, x.agent_id, x.user_id, x.management_unit_id,
    x.business_unit_id, x.status, x.action, d.held_back, d.activity_code_id, d.full_day_dates,
    d.partial_starts, d.daily_minutes, x.genesys_time_off_request_id, x.run_id
    FROM xw_time_off x LEFT JOIN desired_time_off d USING (time_off_request_id)";

fn rows(conn: &Connection, sql: &str, params: &[&dyn rusqlite::ToSql]) -> Result<Vec<Value>> {
    let mut st = conn.prepare(sql)?;
    let names: Vec<String> = st.column_names().map(|s| s.to_string()).collect();
    let mut rs = st.query(params)?;
    let mut out = Vec::new();
    while let Some(r) = rs.next()? {
        let mut m = Map::new();
        for (i, n) in names.iter().enumerate() {
            let v = match r.get_ref(i)? {
                rusqlite::types::ValueRef::Null => Value::Null,
                rusqlite::types::ValueRef::Integer(x) => Value::from(x),
                rusqlite::types::ValueRef::Real(x) => Value::from(x),
                rusqlite::types::ValueRef::Text(t) => Value::from(String::from_utf8_lossy(t)),
                rusqlite::types::ValueRef::Blob(_) => Value::Null,
            };
            m.insert(n.clone(), v);
        }
        out.push(Value::Object(m));
    }
    Ok(out)
}

/// The agents whose agent id or user id is `id`, or whose email is `email`.
pub fn agents_matching(conn: &Connection, id: &str, email: &str) -> Result<Vec<Value>> {
    rows(
        conn,
        &format!("{AGENTS} WHERE agent_id = ?1 OR user_id = ?1 OR email = ?2"),
        &[&id, &email],
    )
}

/// The agent `agent_id` (none or one row).
pub fn agent(conn: &Connection, agent_id: &str) -> Result<Vec<Value>> {
    rows(conn, &format!("{AGENTS} WHERE agent_id = ?1"), &[&agent_id])
}

/// At most `limit` shifts whose legacy id, Genesys id or schedule id is `id`.
pub fn shifts_matching(conn: &Connection, id: &str, limit: usize) -> Result<Vec<Value>> {
    rows(
        conn,
        &format!(
            "{SHIFTS} WHERE legacy_shift_id = ?1 OR genesys_shift_id = ?1 OR schedule_id = ?1 LIMIT {limit}"
        ),
        &[&id],
    )
}

/// The shift `legacy_shift_id` (none or one row).
pub fn shift(conn: &Connection, legacy_shift_id: &str) -> Result<Vec<Value>> {
    rows(
        conn,
        &format!("{SHIFTS} WHERE legacy_shift_id = ?1"),
        &[&legacy_shift_id],
    )
}

/// The trades whose trade id, swap request id or Genesys trade id is `id`.
pub fn trades_matching(conn: &Connection, id: &str) -> Result<Vec<Value>> {
    rows(
        conn,
        &format!(
            "{TRADES} WHERE t.trade_id = ?1 OR t.swap_request_id = ?1 OR t.genesys_trade_id = ?1"
        ),
        &[&id],
    )
}

/// The trades an agent requested or received.
pub fn trades_of_agent(conn: &Connection, agent_id: &str) -> Result<Vec<Value>> {
    rows(
        conn,
        &format!("{TRADES} WHERE t.requester_agent_id = ?1 OR t.recipient_agent_id = ?1"),
        &[&agent_id],
    )
}

/// The trades of a shift (either side).
pub fn trades_of_shift(conn: &Connection, legacy_shift_id: &str) -> Result<Vec<Value>> {
    rows(
        conn,
        &format!("{TRADES} WHERE t.requester_shift_id = ?1 OR t.recipient_shift_id = ?1"),
        &[&legacy_shift_id],
    )
}

/// The time-off requests whose legacy or Genesys id is `id`.
pub fn time_off_matching(conn: &Connection, id: &str) -> Result<Vec<Value>> {
    rows(
        conn,
        &format!(
            "{TIME_OFF} WHERE x.time_off_request_id = ?1 OR x.genesys_time_off_request_id = ?1"
        ),
        &[&id],
    )
}

/// The time-off requests of an agent.
pub fn time_off_of_agent(conn: &Connection, agent_id: &str) -> Result<Vec<Value>> {
    rows(
        conn,
        &format!("{TIME_OFF} WHERE x.agent_id = ?1"),
        &[&agent_id],
    )
}

/// A table of `crosswalk export`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum XwTable {
    Agents,
    Shifts,
    Trades,
    TimeOff,
}

/// A whole table of the crosswalk in the order of its first column, streamed.
pub struct ExportRows<'c>(Statement<'c>);

impl<'c> ExportRows<'c> {
    pub fn prepare(conn: &'c Connection, table: XwTable) -> Result<ExportRows<'c>> {
        let sql = match table {
            XwTable::Agents => AGENTS,
            XwTable::Shifts => SHIFTS,
            XwTable::Trades => TRADES,
            XwTable::TimeOff => TIME_OFF,
        };
        Ok(ExportRows(conn.prepare(&format!("{sql} ORDER BY 1"))?))
    }

    /// The column names, as shown.
    pub fn names(&self) -> Vec<String> {
        self.0.column_names().map(|s| s.to_string()).collect()
    }

    /// Each row in turn (its columns in the order of [`ExportRows::names`]).
    pub fn for_each(&mut self, mut f: impl FnMut(&rusqlite::Row<'_>) -> Result<()>) -> Result<()> {
        let mut rs = self.0.query([])?;
        while let Some(r) = rs.next()? {
            f(r)?;
        }
        Ok(())
    }
}
