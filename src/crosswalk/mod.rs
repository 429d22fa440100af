//! `zd2gc crosswalk`: the legacy ↔ Genesys crosswalk in zd2gc.db, for people and audits.
//!
//! Tables (written by `map`, completed by `load`; every row names the run that last wrote it):
//! - `xw_agents`: legacy agent id ↔ Genesys user id, management and business unit, and how the user
//!   was found (`table:agent_id`, `table:email`, `online:email`, `unmapped`, `ambiguous`);
//! - `crosswalk_shifts` (view over `desired_shifts` and `xw_shifts`): legacy shift id ↔ business unit,
//!   week, schedule id and Genesys shift id;
//! - `xw_trades`: trade id and swap request id ↔ both agents' users, both shifts, the Genesys trade
//!   id when one matches, and what was done (`history`, `reported`, `applied`, `dropped`,
//!   `not-in-export`);
//! - `xw_time_off` (with `desired_time_off`): time-off request id ↔ agent, user, management unit,
//!   the exported status, what map decided (`load`, `held-back`, `not-loaded`, `not-in-export`),
//!   the Genesys form, and the Genesys time-off request id once `load` created it.
//!
//! `lookup ID` finds any legacy or Genesys id and everything linked to it (one step out);
//! `export` writes the whole crosswalk as JSON or CSV.

use crate::error::{Error, Result};
use crate::store::crosswalk as xw;
use rusqlite::Connection;
use serde_json::{Map, Value};
use std::collections::BTreeSet;
use std::io::Write;

/// The form of `crosswalk export`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Csv,
}

/// The tables `crosswalk export` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Table {
    All,
    Agents,
    Shifts,
    Trades,
    TimeOff,
}

fn strs(v: &[Value], keys: &[&str]) -> BTreeSet<String> {
    v.iter()
        .flat_map(|r| keys.iter().filter_map(move |k| r.get(*k)?.as_str()))
        .map(str::to_string)
        .collect()
}

/// Shifts listed per agent in a lookup (the total is always given).
pub const MAX_SHIFTS: usize = 100;

/// Everything linked to `id`, or `None` when nothing matches.
pub fn lookup(conn: &Connection, id: &str) -> Result<Option<Value>> {
    let email = id.trim().to_lowercase();
    let mut matched = Vec::new();
    let mut agents = xw::agents_matching(conn, id, &email)?;
    if !agents.is_empty() {
        matched.push("agent");
    }
    let mut shifts = xw::shifts_matching(conn, id, MAX_SHIFTS)?;
    if !shifts.is_empty() {
        matched.push("shift");
    }
    let mut trades = xw::trades_matching(conn, id)?;
    if !trades.is_empty() {
        matched.push(if trades.iter().any(|t| t["trade_id"] == id) {
            "trade"
        } else if trades.iter().any(|t| t["swap_request_id"] == id) {
            "swap_request"
        } else {
            "genesys_trade"
        });
    }
    let mut time_off = xw::time_off_matching(conn, id)?;
    if !time_off.is_empty() {
        matched.push(if time_off.iter().any(|t| t["time_off_request_id"] == id) {
            "time_off"
        } else {
            "genesys_time_off"
        });
    }
    if matched.is_empty() {
        return Ok(None);
    }
    // One step out: the agents of shifts and trades, the shifts of trades, the trades of agents
    // and shifts.
    let mut agent_ids = strs(&agents, &["agent_id"]);
    agent_ids.extend(strs(&shifts, &["agent_id", "exported_agent_id"]));
    agent_ids.extend(strs(&trades, &["requester_agent_id", "recipient_agent_id"]));
    agent_ids.extend(strs(&time_off, &["agent_id"]));
    let shift_ids = {
        let mut s = strs(&shifts, &["legacy_shift_id"]);
        s.extend(strs(&trades, &["requester_shift_id", "recipient_shift_id"]));
        s
    };
    let known_agents = strs(&agents, &["agent_id"]);
    for a in &agent_ids {
        if !known_agents.contains(a) {
            agents.extend(xw::agent(conn, a)?);
        }
    }
    let known_trades = strs(&trades, &["trade_id"]);
    let mut more_trades = Vec::new();
    for a in &agent_ids {
        more_trades.extend(xw::trades_of_agent(conn, a)?);
    }
    for s in &shift_ids {
        more_trades.extend(xw::trades_of_shift(conn, s)?);
    }
    let mut seen = known_trades;
    for t in more_trades {
        if let Some(tid) = t["trade_id"].as_str()
            && seen.insert(tid.to_string())
        {
            trades.push(t);
        }
    }
    let known_shifts = strs(&shifts, &["legacy_shift_id"]);
    for s in &shift_ids {
        if !known_shifts.contains(s) {
            shifts.extend(xw::shift(conn, s)?);
        }
    }
    // The time off of every agent in the answer.
    let mut seen_off = strs(&time_off, &["time_off_request_id"]);
    for a in &agent_ids {
        for t in xw::time_off_of_agent(conn, a)? {
            if let Some(tid) = t["time_off_request_id"].as_str()
                && seen_off.insert(tid.to_string())
            {
                time_off.push(t);
            }
        }
    }
    let mut totals = Map::new();
    for a in strs(&agents, &["agent_id"]) {
        let n = crate::store::desired::shift_count_of_agent(conn, &a)?;
        totals.insert(a, Value::from(n));
    }
    Ok(Some(serde_json::json!({
        "id": id,
        "matched": matched,
        "agents": agents,
        "shifts": shifts,
        "shifts_per_agent": totals,
        "trades": trades,
        "time_off": time_off,
    })))
}

/// Write the crosswalk (all tables as one JSON object, or one table as JSON or CSV).
pub fn export(conn: &Connection, format: Format, table: Table, w: &mut dyn Write) -> Result<()> {
    let tables: Vec<(&str, xw::XwTable)> = match table {
        Table::All => vec![
            ("agents", xw::XwTable::Agents),
            ("shifts", xw::XwTable::Shifts),
            ("trades", xw::XwTable::Trades),
            ("time_off", xw::XwTable::TimeOff),
        ],
        Table::Agents => vec![("agents", xw::XwTable::Agents)],
        Table::Shifts => vec![("shifts", xw::XwTable::Shifts)],
        Table::Trades => vec![("trades", xw::XwTable::Trades)],
        Table::TimeOff => vec![("time_off", xw::XwTable::TimeOff)],
    };
    let io = |e: std::io::Error| Error::io("<output>", e);
    // A CSV write error is an I/O error (a closed pipe included) when it is one.
    let csv_err = |e: csv::Error| match e.into_kind() {
        csv::ErrorKind::Io(e) => Error::io("<output>", e),
        k => Error::failure(format!("{k:?}"), None),
    };
    match format {
        Format::Csv => {
            if tables.len() != 1 {
                return Err(Error::usage(
                    "CSV holds one table",
                    Some(
                        "add `--table agents`, `--table shifts`, `--table trades` or `--table time-off`"
                            .into(),
                    ),
                ));
            }
            let mut st = xw::ExportRows::prepare(conn, tables[0].1)?;
            let names = st.names();
            let mut cw = csv::Writer::from_writer(w);
            cw.write_record(&names).map_err(csv_err)?;
            let mut rec: Vec<String> = Vec::with_capacity(names.len());
            st.for_each(|vals| {
                rec.clear();
                for v in vals {
                    rec.push(match *v {
                        rusqlite::types::ValueRef::Null => String::new(),
                        rusqlite::types::ValueRef::Integer(x) => x.to_string(),
                        rusqlite::types::ValueRef::Real(x) => x.to_string(),
                        rusqlite::types::ValueRef::Text(t) => {
                            String::from_utf8_lossy(t).into_owned()
                        }
                        rusqlite::types::ValueRef::Blob(_) => String::new(),
                    });
                }
                cw.write_record(&rec).map_err(csv_err)?;
                Ok(())
            })?;
            cw.flush().map_err(io)?;
        }
        Format::Json => {
            // Streamed: a crosswalk of a million shifts must not be built in memory.
            w.write_all(b"{").map_err(io)?;
            for (n, (name, t)) in tables.iter().enumerate() {
                if n > 0 {
                    w.write_all(b",").map_err(io)?;
                }
                write!(w, "\n  {}: [", Value::from(*name)).map_err(io)?;
                let mut st = xw::ExportRows::prepare(conn, *t)?;
                let names = st.names();
                let mut first = true;
                st.for_each(|vals| {
                    let mut m = Map::new();
                    for (c, v) in names.iter().zip(vals) {
                        m.insert(
                            c.clone(),
                            match *v {
                                rusqlite::types::ValueRef::Integer(x) => Value::from(x),
                                rusqlite::types::ValueRef::Text(t) => {
                                    Value::from(String::from_utf8_lossy(t))
                                }
                                rusqlite::types::ValueRef::Real(x) => Value::from(x),
                                _ => Value::Null,
                            },
                        );
                    }
                    w.write_all(if first { b"\n    " } else { b",\n    " })
                        .map_err(io)?;
                    first = false;
                    serde_json::to_writer(&mut *w, &m)
                        .map_err(|e| Error::failure(e.to_string(), None))?;
                    Ok(())
                })?;
                w.write_all(if first { b"]" } else { b"\n  ]" })
                    .map_err(io)?;
            }
            w.write_all(b"\n}\n").map_err(io)?;
        }
    }
    Ok(())
}
