//! The crosswalk tables `map` writes: `xw_agents` (each exported agent → Genesys user) and
//! `xw_trades` (each legacy trade, its users and what map decided). `xw_shifts` is written by
//! load's journal (`load::journal`), `xw_time_off` with the time-off desired state
//! (`store::time_off`). Writers update a row only when it changed, and count the rows they
//! changed. The crosswalk's readers are here too: the agents' links other stages look up, and
//! every query of `crosswalk lookup` and `crosswalk export`.

use crate::error::Result;
use crate::store::uuid16;
use rusqlite::types::ValueRef;
use rusqlite::{Connection, Statement, ToSql, params};
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
//
// The shifts and the trades' Genesys shift ids are read from `xw_shift_rows`, not through the
// views `xw_shifts` and `crosswalk_shifts` (schema 17): the view spells every packed id out in SQL
// (`uuid16::sql_text`, five `hex()` calls an id), which made `crosswalk export` 32 % slower than
// schema 15 at the whole. The queries below are the views' own SQL with the table in place of
// `xw_shifts`; each id column read from the table is shown as the view shows it ([`Col::Id`]:
// a 16-byte BLOB spelled out in Rust, `uuid16::spell`), and the views' `COALESCE` of a packed id
// is done in Rust ([`Col::IdOr`]). Orders and filters never compare a packed id with a text:
// they are on the legacy id (unchanged), or on a packed column against both forms of the id
// looked up ([`shifts_matching`]).

/// How a column shown is made from its query's row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Col {
    /// Column `i` as SQLite gives it.
    Plain(usize),
    /// Column `i`, an id column of `xw_shift_rows`, as the view `xw_shifts` shows it: a 16-byte
    /// BLOB as its canonical UUID text, any other value (text, NULL, another BLOB) as it is.
    Id(usize),
    /// `COALESCE(Id(i), Plain(j))`: the crosswalk's id when it has one, else the desired state's
    /// (as `crosswalk_shifts` does).
    IdOr(usize, usize),
}

/// A query and the columns it shows (named as its columns `i` of [`Col`]).
struct Query {
    sql: &'static str,
    cols: &'static [Col],
}

/// The most columns a query shows (a row's values are kept on the stack).
const MAX_COLS: usize = 16;

const AGENTS: Query = Query {
    sql: "SELECT agent_id, email, user_id, management_unit_id, business_unit_id, resolved_by, candidates, run_id FROM xw_agents",
    cols: &plain::<8>(),
};

/// `crosswalk_shifts` (migrations.rs, schema 1) with `xw_shift_rows` and its business-unit weeks
/// `xw_shift_weeks` (schema 18) for `xw_shifts` (joined as the view joins them: `+` keeps the
/// links read in key order, not through the index by week), and the
/// desired user and business unit as columns 10 and 11 for the `COALESCE`s; `$removed` is the
/// condition of the second arm (a link whose shift is no longer desired).
macro_rules! shifts_arms {
    ($removed:literal) => {
        concat!(
            "SELECT d.legacy_shift_id AS legacy_shift_id, d.agent_id AS agent_id,
                d.exported_agent_id AS exported_agent_id, x.user_id AS user_id,
                w.business_unit_id AS business_unit_id, COALESCE(w.week_id, d.week_id) AS week_id,
                w.schedule_id AS schedule_id, x.genesys_shift_id AS genesys_shift_id,
                d.held_back_reason AS held_back_reason, MAX(d.run_id, COALESCE(x.run_id, 0)) AS run_id,
                d.user_id AS desired_user_id, d.business_unit_id AS desired_business_unit_id
            FROM desired_shifts d LEFT JOIN xw_shift_rows x USING (legacy_shift_id)
                LEFT JOIN xw_shift_weeks w ON w.id = +x.week_ref
            UNION ALL
            SELECT x.legacy_shift_id, NULL, NULL, x.user_id, w.business_unit_id, w.week_id,
                w.schedule_id, x.genesys_shift_id, 'removed-from-export', x.run_id, NULL, NULL
            FROM xw_shift_rows x LEFT JOIN xw_shift_weeks w ON w.id = +x.week_ref WHERE ",
            $removed
        )
    };
}

/// The shifts (the look-ups, whose `LIMIT` takes rows in the view's order, and the export,
/// sorted after). A link removed from the export is found with a look-up of its key in
/// `desired_shift_rows`, where the view builds a temporary index of every desired key (`NOT IN`):
/// the same rows, since both keys are primary keys of WITHOUT ROWID tables, so neither is NULL,
/// and the `LEFT JOIN`s of `desired_shifts` keep every row of `desired_shift_rows`. The arm still
/// reads `xw_shift_rows` in key order, as the view's does (no index holds its columns).
const SHIFTS_ARMS: &str = shifts_arms!(
    "NOT EXISTS (SELECT 1 FROM desired_shift_rows s WHERE s.legacy_shift_id = x.legacy_shift_id)"
);

const SHIFT_COLS: &[Col] = &[
    Col::Plain(0),
    Col::Plain(1),
    Col::Plain(2),
    Col::IdOr(3, 10),
    Col::IdOr(4, 11),
    Col::Plain(5),
    Col::Id(6),
    Col::Id(7),
    Col::Plain(8),
    Col::Plain(9),
];

/// The trades, each side's Genesys shift id from the crosswalk.
const TRADES: Query = Query {
    sql: "SELECT t.trade_id, t.swap_request_id, t.legacy_status, t.action, t.note,
    t.requester_agent_id, t.requester_user_id, t.requester_shift_id, rs.genesys_shift_id AS requester_genesys_shift_id,
    t.recipient_agent_id, t.recipient_user_id, t.recipient_shift_id, cs.genesys_shift_id AS recipient_genesys_shift_id,
    t.genesys_trade_id, t.run_id
    FROM xw_trades t LEFT JOIN xw_shift_rows rs ON rs.legacy_shift_id = t.requester_shift_id
    LEFT JOIN xw_shift_rows cs ON cs.legacy_shift_id = t.recipient_shift_id",
    cols: &{
        let mut c = plain::<15>();
        c[8] = Col::Id(8);
        c[12] = Col::Id(12);
        c
    },
};

const TIME_OFF: Query = Query {
    sql: "SELECT x.time_off_request_id, x.agent_id, x.user_id, x.management_unit_id,
    x.business_unit_id, x.status, x.action, d.held_back, d.activity_code_id, d.full_day_dates,
    d.partial_starts, d.daily_minutes, x.genesys_time_off_request_id, x.run_id
    FROM xw_time_off x LEFT JOIN desired_time_off d USING (time_off_request_id)",
    cols: &plain::<14>(),
};

/// Columns `0..N` as they are.
const fn plain<const N: usize>() -> [Col; N] {
    let mut c = [Col::Plain(0); N];
    let mut i = 0;
    while i < N {
        c[i] = Col::Plain(i);
        i += 1;
    }
    c
}

/// The names shown of `cols` (those of the statement's columns they read first).
fn names(st: &Statement<'_>, cols: &[Col]) -> Vec<String> {
    cols.iter()
        .map(|c| match *c {
            Col::Plain(i) | Col::Id(i) | Col::IdOr(i, _) => st.column_name(i).map(str::to_string),
        })
        .collect::<rusqlite::Result<_>>()
        .unwrap_or_default()
}

/// Calls `f` with the values shown of row `r` (`cols`; packed ids spelled out on the stack).
fn with_shown<T>(
    r: &rusqlite::Row<'_>,
    cols: &[Col],
    f: impl FnOnce(&[ValueRef<'_>]) -> Result<T>,
) -> Result<T> {
    let mut spelled = [[0u8; 36]; MAX_COLS];
    let mut vals = [ValueRef::Null; MAX_COLS];
    for ((c, v), buf) in cols.iter().zip(vals.iter_mut()).zip(spelled.iter_mut()) {
        *v = match *c {
            Col::Plain(i) => r.get_ref(i)?,
            Col::Id(i) => id_shown(r.get_ref(i)?, buf),
            Col::IdOr(i, j) => match r.get_ref(i)? {
                ValueRef::Null => r.get_ref(j)?,
                x => id_shown(x, buf),
            },
        };
    }
    f(&vals[..cols.len()])
}

/// An id column's value as the view `xw_shifts` shows it (`CASE WHEN typeof(x) = 'blob' AND
/// length(x) = 16 THEN <its UUID text> ELSE x END`), spelled into `buf` when packed.
fn id_shown<'a>(v: ValueRef<'a>, buf: &'a mut [u8; 36]) -> ValueRef<'a> {
    match v {
        ValueRef::Blob(b) => match <&[u8; 16]>::try_from(b) {
            Ok(p) => {
                *buf = uuid16::spell(p);
                ValueRef::Text(&buf[..])
            }
            Err(_) => v,
        },
        v => v,
    }
}

/// A value as JSON: text (lossy UTF-8), numbers; NULL and BLOBs are `null`.
fn json_value(v: ValueRef<'_>) -> Value {
    match v {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(x) => Value::from(x),
        ValueRef::Real(x) => Value::from(x),
        ValueRef::Text(t) => Value::from(String::from_utf8_lossy(t)),
        ValueRef::Blob(_) => Value::Null,
    }
}

fn rows(conn: &Connection, sql: &str, cols: &[Col], params: &[&dyn ToSql]) -> Result<Vec<Value>> {
    let mut st = conn.prepare(sql)?;
    let names = names(&st, cols);
    let mut rs = st.query(params)?;
    let mut out = Vec::new();
    while let Some(r) = rs.next()? {
        let m = with_shown(r, cols, |vals| {
            Ok(names
                .iter()
                .zip(vals)
                .map(|(n, v)| (n.clone(), json_value(*v)))
                .collect::<Map<_, _>>())
        })?;
        out.push(Value::Object(m));
    }
    Ok(out)
}

/// The agents whose agent id or user id is `id`, or whose email is `email`.
pub fn agents_matching(conn: &Connection, id: &str, email: &str) -> Result<Vec<Value>> {
    rows(
        conn,
        &format!(
            "{} WHERE agent_id = ?1 OR user_id = ?1 OR email = ?2",
            AGENTS.sql
        ),
        AGENTS.cols,
        &[&id, &email],
    )
}

/// The agent `agent_id` (none or one row).
pub fn agent(conn: &Connection, agent_id: &str) -> Result<Vec<Value>> {
    rows(
        conn,
        &format!("{} WHERE agent_id = ?1", AGENTS.sql),
        AGENTS.cols,
        &[&agent_id],
    )
}

/// At most `limit` shifts whose legacy id, Genesys id or schedule id is `id`. A packed id
/// (`xw_shift_rows`) is `id` when it is `id` packed (`uuid16::pack`, one-to-one with the text the
/// view shows), any other value when it equals `id`.
pub fn shifts_matching(conn: &Connection, id: &str, limit: usize) -> Result<Vec<Value>> {
    let packed = uuid16::pack(id);
    rows(
        conn,
        &format!(
            "SELECT * FROM ({SHIFTS_ARMS}) WHERE legacy_shift_id = ?1
                OR genesys_shift_id = ?1 OR genesys_shift_id = ?2
                OR schedule_id = ?1 OR schedule_id = ?2 LIMIT {limit}"
        ),
        SHIFT_COLS,
        &[&id, &packed.as_ref().map(|p| &p[..])],
    )
}

/// The shift `legacy_shift_id` (none or one row).
pub fn shift(conn: &Connection, legacy_shift_id: &str) -> Result<Vec<Value>> {
    rows(
        conn,
        &format!("SELECT * FROM ({SHIFTS_ARMS}) WHERE legacy_shift_id = ?1"),
        SHIFT_COLS,
        &[&legacy_shift_id],
    )
}

/// The trades whose trade id, swap request id or Genesys trade id is `id`.
pub fn trades_matching(conn: &Connection, id: &str) -> Result<Vec<Value>> {
    rows(
        conn,
        &format!(
            "{} WHERE t.trade_id = ?1 OR t.swap_request_id = ?1 OR t.genesys_trade_id = ?1",
            TRADES.sql
        ),
        TRADES.cols,
        &[&id],
    )
}

/// The trades an agent requested or received.
pub fn trades_of_agent(conn: &Connection, agent_id: &str) -> Result<Vec<Value>> {
    rows(
        conn,
        &format!(
            "{} WHERE t.requester_agent_id = ?1 OR t.recipient_agent_id = ?1",
            TRADES.sql
        ),
        TRADES.cols,
        &[&agent_id],
    )
}

/// The trades of a shift (either side).
pub fn trades_of_shift(conn: &Connection, legacy_shift_id: &str) -> Result<Vec<Value>> {
    rows(
        conn,
        &format!(
            "{} WHERE t.requester_shift_id = ?1 OR t.recipient_shift_id = ?1",
            TRADES.sql
        ),
        TRADES.cols,
        &[&legacy_shift_id],
    )
}

/// The time-off requests whose legacy or Genesys id is `id`.
pub fn time_off_matching(conn: &Connection, id: &str) -> Result<Vec<Value>> {
    rows(
        conn,
        &format!(
            "{} WHERE x.time_off_request_id = ?1 OR x.genesys_time_off_request_id = ?1",
            TIME_OFF.sql
        ),
        TIME_OFF.cols,
        &[&id],
    )
}

/// The time-off requests of an agent.
pub fn time_off_of_agent(conn: &Connection, agent_id: &str) -> Result<Vec<Value>> {
    rows(
        conn,
        &format!("{} WHERE x.agent_id = ?1", TIME_OFF.sql),
        TIME_OFF.cols,
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
pub struct ExportRows<'c> {
    st: Statement<'c>,
    cols: &'static [Col],
}

impl<'c> ExportRows<'c> {
    pub fn prepare(conn: &'c Connection, table: XwTable) -> Result<ExportRows<'c>> {
        let (sql, cols) = match table {
            XwTable::Agents => (AGENTS.sql, AGENTS.cols),
            // The arms are each read in legacy id order (the tables' keys) and merged, where the
            // view was sorted in a temporary b-tree.
            XwTable::Shifts => (SHIFTS_ARMS, SHIFT_COLS),
            XwTable::Trades => (TRADES.sql, TRADES.cols),
            XwTable::TimeOff => (TIME_OFF.sql, TIME_OFF.cols),
        };
        Ok(ExportRows {
            st: conn.prepare(&format!("{sql} ORDER BY 1"))?,
            cols,
        })
    }

    /// The column names, as shown.
    pub fn names(&self) -> Vec<String> {
        names(&self.st, self.cols)
    }

    /// Each row in turn: its values as shown, in the order of [`ExportRows::names`].
    pub fn for_each(&mut self, mut f: impl FnMut(&[ValueRef<'_>]) -> Result<()>) -> Result<()> {
        let cols = self.cols;
        let mut rs = self.st.query([])?;
        while let Some(r) = rs.next()? {
            with_shown(r, cols, &mut f)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rusqlite::types::Value as Sql;

    /// A value an id column may hold: what zd2gc writes (canonical UUIDs packed, other ids as
    /// text), what a hand edit may leave (a canonical UUID as text, upper case, braces, near
    /// UUIDs, '', NULL, numbers, text that is not UTF-8, BLOBs of 16 bytes and of other lengths).
    /// `(value, cast)`: a BLOB with `cast` is stored as TEXT of its bytes.
    fn odd_value() -> impl Strategy<Value = (Sql, bool)> {
        let uuid = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}";
        prop_oneof![
            3 => uuid.prop_map(|s| (Sql::Blob(uuid16::pack(&s).unwrap().to_vec()), false)),
            1 => uuid.prop_map(|s| (Sql::Text(s), false)),
            1 => "[0-9A-F]{8}-[0-9a-fA-F]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
                .prop_map(|s| (Sql::Text(s), false)),
            1 => "\\{[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\\}"
                .prop_map(|s| (Sql::Text(s), false)),
            1 => "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{11}[ \\x00g]?"
                .prop_map(|s| (Sql::Text(s), false)),
            1 => "[a-c0-9 ]{0,3}".prop_map(|s| (Sql::Text(s), false)),
            1 => Just((Sql::Null, false)),
            1 => any::<i64>().prop_map(|i| (Sql::Integer(i), false)),
            1 => (-1e6f64..1e6).prop_map(|x| (Sql::Real(x), false)),
            1 => prop::collection::vec(any::<u8>(), 0..20).prop_map(|b| (Sql::Blob(b), false)),
            1 => any::<[u8; 16]>().prop_map(|b| (Sql::Blob(b.to_vec()), false)),
            1 => prop::collection::vec(any::<u8>(), 1..6).prop_map(|b| (Sql::Blob(b), true)),
        ]
    }

    /// A legacy shift id: a few texts, so that desired shifts and links share some; a link's may
    /// also be a BLOB or text that is not UTF-8.
    fn legacy() -> impl Strategy<Value = (Sql, bool)> {
        prop_oneof![
            6 => "[Ssa-b0-9 ]{0,3}".prop_map(|s| (Sql::Text(s), false)),
            1 => prop::collection::vec(any::<u8>(), 0..4).prop_map(|b| (Sql::Blob(b), false)),
            1 => prop::collection::vec(any::<u8>(), 1..4).prop_map(|b| (Sql::Blob(b), true)),
        ]
    }

    /// `?n`, or `CAST(?n AS TEXT)` for a value stored as text of its bytes.
    fn p(n: usize, v: &(Sql, bool)) -> String {
        if v.1 {
            format!("CAST(?{n} AS TEXT)")
        } else {
            format!("?{n}")
        }
    }

    fn owned(vals: &[ValueRef<'_>]) -> Vec<Sql> {
        vals.iter()
            .map(|v| match *v {
                ValueRef::Null => Sql::Null,
                ValueRef::Integer(x) => Sql::Integer(x),
                ValueRef::Real(x) => Sql::Real(x),
                ValueRef::Text(t) => Sql::Text(String::from_utf8_lossy(t).into_owned()),
                ValueRef::Blob(b) => Sql::Blob(b.to_vec()),
            })
            .collect()
    }

    /// Every row of `sql` (the oracle: the views), each column as SQLite gives it.
    fn all(c: &Connection, sql: &str, params: &[&dyn ToSql]) -> Vec<Vec<Sql>> {
        let mut st = c.prepare(sql).unwrap();
        let n = st.column_count();
        st.query_map(params, |r| {
            let vals = (0..n)
                .map(|i| r.get_ref(i))
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(owned(&vals))
        })
        .unwrap()
        .map(|r| r.unwrap())
        .collect()
    }

    /// The rows as the lookup shows them, by the views (column names and values, BLOB as null).
    fn view_json(c: &Connection, sql: &str, params: &[&dyn ToSql]) -> Vec<Value> {
        let mut st = c.prepare(sql).unwrap();
        let names: Vec<String> = st.column_names().map(|s| s.to_string()).collect();
        st.query_map(params, |r| {
            let mut m = Map::new();
            for (i, n) in names.iter().enumerate() {
                let v = match r.get_ref(i)? {
                    ValueRef::Integer(x) => Value::from(x),
                    ValueRef::Real(x) => Value::from(x),
                    ValueRef::Text(t) => Value::from(String::from_utf8_lossy(t)),
                    ValueRef::Null | ValueRef::Blob(_) => Value::Null,
                };
                m.insert(n.clone(), v);
            }
            Ok(Value::Object(m))
        })
        .unwrap()
        .map(|r| r.unwrap())
        .collect()
    }

    const VIEW_SHIFTS: &str = "SELECT legacy_shift_id, agent_id, exported_agent_id, user_id,
        business_unit_id, week_id, schedule_id, genesys_shift_id, held_back_reason, run_id
        FROM crosswalk_shifts";
    const VIEW_TRADES: &str = "SELECT t.trade_id, t.swap_request_id, t.legacy_status, t.action,
        t.note, t.requester_agent_id, t.requester_user_id, t.requester_shift_id,
        rs.genesys_shift_id AS requester_genesys_shift_id, t.recipient_agent_id,
        t.recipient_user_id, t.recipient_shift_id, cs.genesys_shift_id AS recipient_genesys_shift_id,
        t.genesys_trade_id, t.run_id
        FROM xw_trades t LEFT JOIN xw_shifts rs ON rs.legacy_shift_id = t.requester_shift_id
        LEFT JOIN xw_shifts cs ON cs.legacy_shift_id = t.recipient_shift_id";

    type Desired = (
        String,
        Option<(Sql, bool)>,
        Option<(Sql, bool)>,
        Option<String>,
        i64,
    );
    type Linked = ((Sql, bool), [(Sql, bool); 4], Option<String>, i64);

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]
        /// The shifts and trades `crosswalk export` and `lookup` read from `xw_shift_rows`
        /// (packed ids spelled out in Rust) are, row for row and in the same order, what the views
        /// `crosswalk_shifts` and `xw_shifts` (the ids spelled out in SQL) show: desired shifts
        /// with and without a link, links removed from the export, every odd id value.
        #[test]
        fn the_crosswalk_reads_as_the_views_show_it(
            desired in prop::collection::vec((
                "[Ssa-b0-9 ]{0,3}",
                prop::option::of(odd_value()),
                prop::option::of(odd_value()),
                prop::option::of("[a-z]{0,6}"),
                0i64..5,
            ), 0..12),
            linked in prop::collection::vec((
                legacy(),
                [odd_value(), odd_value(), odd_value(), odd_value()],
                prop::option::of("20[0-9]{2}-0[1-9]-0[1-9]"),
                0i64..5,
            ), 0..12),
            trades in prop::collection::vec(("[Ssa-b0-9 ]{0,3}", prop::option::of("[Ssa-b0-9 ]{0,3}")), 0..5),
            limit in 1usize..4,
        ) {
            let c = Connection::open_in_memory().unwrap();
            crate::store::migrations::migrate(&c).unwrap();
            let desired: Vec<Desired> = desired;
            let linked: Vec<Linked> = linked;
            c.execute_batch("INSERT INTO desired_names(id, name) VALUES (1, 'agent'), (2, 'f.csv')").unwrap();
            let mut name_id = 100;
            let mut name = |v: &Option<(Sql, bool)>| -> Option<i64> {
                let v = v.as_ref()?;
                name_id += 1;
                c.execute(&format!("INSERT INTO desired_names(id, name) VALUES (?1, {})", p(2, v)),
                    params![name_id, v.0]).ok().map(|_| name_id)
            };
            for (i, (legacy, user, bu, held, run)) in desired.iter().enumerate() {
                let (u, b) = (name(user), name(bu));
                let _ = c.execute(
                    "INSERT INTO desired_shift_rows (legacy_shift_id, agent_ref, user_ref,
                        business_unit_ref, week_ref, activities, file_ref, line, run_id,
                        content_hash, held_back_reason)
                     VALUES (?1, 1, ?2, ?3, NULL, '', ?7, ?4, ?5, 0, ?6)",
                    // File 3 has no name (a damaged dictionary).
                    params![legacy, u, b, i as i64, run, held, 2 + (i as i64 % 2)],
                );
            }
            for (legacy, ids, week, run) in &linked {
                // The link's business unit, week and schedule in the dictionary (schema 18).
                // A triple already there is refused (the dictionary is add-only), then found.
                let _ = c.execute(
                    &format!(
                        "INSERT INTO xw_shift_weeks (business_unit_id, week_id, schedule_id)
                         VALUES ({}, ?2, {})",
                        p(1, &ids[1]), p(3, &ids[2])
                    ),
                    params![ids[1].0, week, ids[2].0],
                );
                let wref: i64 = c.query_row(
                    &format!(
                        "SELECT id FROM xw_shift_weeks WHERE business_unit_id IS {}
                            AND week_id IS ?2 AND schedule_id IS {} ORDER BY id DESC",
                        p(1, &ids[1]), p(3, &ids[2])
                    ),
                    params![ids[1].0, week, ids[2].0],
                    |r| r.get(0),
                ).unwrap();
                let _ = c.execute(
                    &format!(
                        "INSERT INTO xw_shift_rows (legacy_shift_id, user_id, week_ref,
                            genesys_shift_id, run_id, base, adopted)
                         VALUES ({}, {}, ?3, {}, ?5, NULL, 0)",
                        p(1, legacy), p(2, &ids[0]), p(4, &ids[3])
                    ),
                    params![legacy.0, ids[0].0, wref, ids[3].0, run],
                );
            }
            for (i, (req, rec)) in trades.iter().enumerate() {
                c.execute(
                    "INSERT INTO xw_trades VALUES (?1, 'sr', 'requested', 'agent', NULL, ?2,
                        'agent', NULL, ?3, NULL, 'reported', NULL, 1)",
                    params![format!("t{i}"), req, rec],
                ).unwrap();
            }

            for (table, oracle) in [(XwTable::Shifts, VIEW_SHIFTS), (XwTable::Trades, VIEW_TRADES)] {
                let mut st = ExportRows::prepare(&c, table).unwrap();
                let want_names: Vec<String> =
                    c.prepare(oracle).unwrap().column_names().map(|s| s.to_string()).collect();
                prop_assert_eq!(st.names(), want_names);
                let mut got = Vec::new();
                st.for_each(|vals| {
                    got.push(owned(vals));
                    Ok(())
                }).unwrap();
                prop_assert_eq!(got, all(&c, &format!("{oracle} ORDER BY 1"), &[]));
            }

            // Look-ups by every text an id column shows, and by near spellings of it.
            let mut ids: Vec<String> = all(&c, "SELECT legacy_shift_id, schedule_id, genesys_shift_id
                FROM crosswalk_shifts", &[])
                .into_iter()
                .flatten()
                .filter_map(|v| match v { Sql::Text(t) => Some(t), _ => None })
                .collect();
            ids.extend(ids.clone().iter().map(|s| s.to_uppercase()));
            ids.push("00000000-0000-0000-0000-000000000000".into());
            for id in &ids {
                prop_assert_eq!(
                    shifts_matching(&c, id, limit).unwrap(),
                    view_json(&c, &format!("{VIEW_SHIFTS} WHERE legacy_shift_id = ?1
                        OR genesys_shift_id = ?1 OR schedule_id = ?1 LIMIT {limit}"), &[id]),
                    "shifts matching {:?}", id
                );
                prop_assert_eq!(
                    shift(&c, id).unwrap(),
                    view_json(&c, &format!("{VIEW_SHIFTS} WHERE legacy_shift_id = ?1"), &[id])
                );
                prop_assert_eq!(
                    trades_of_shift(&c, id).unwrap(),
                    view_json(&c, &format!("{VIEW_TRADES} WHERE t.requester_shift_id = ?1
                        OR t.recipient_shift_id = ?1"), &[id])
                );
            }
        }
    }
}
