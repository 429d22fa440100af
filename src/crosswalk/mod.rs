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
                csv_fields(vals, &mut rec);
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
                let keys = JsonKeys::new(&st.names());
                let mut first = true;
                let mut line = Vec::new();
                st.for_each(|vals| {
                    line.clear();
                    line.extend_from_slice(if first { b"\n    " } else { b",\n    " });
                    first = false;
                    keys.write_row(vals, &mut line)
                        .map_err(|e| Error::failure(e.to_string(), None))?;
                    w.write_all(&line).map_err(io)
                })?;
                w.write_all(if first { b"]" } else { b"\n  ]" })
                    .map_err(io)?;
            }
            w.write_all(b"\n}\n").map_err(io)?;
        }
    }
    Ok(())
}

/// The CSV fields of a row into `rec`, its Strings reused from row to row (issue #17: a String a
/// field of 1.3 M rows): text as lossy UTF-8, numbers as Rust writes them, NULL and BLOBs empty.
fn csv_fields(vals: &[rusqlite::types::ValueRef<'_>], rec: &mut Vec<String>) {
    use rusqlite::types::ValueRef;
    use std::fmt::Write as _;
    rec.resize_with(vals.len(), String::new);
    for (f, v) in rec.iter_mut().zip(vals) {
        f.clear();
        // Writing to a String cannot fail.
        let _ = match *v {
            ValueRef::Null | ValueRef::Blob(_) => Ok(()),
            ValueRef::Integer(x) => write!(f, "{x}"),
            ValueRef::Real(x) => write!(f, "{x}"),
            ValueRef::Text(t) => {
                f.push_str(&String::from_utf8_lossy(t));
                Ok(())
            }
        };
    }
}

/// How `crosswalk export` writes a row as a JSON object: what `serde_json` writes for a
/// `Map` of the row (keys in byte order, the last column of a name wins; text as lossy UTF-8,
/// numbers, NULL and BLOBs `null`), without building the map (issue #17: a map and its
/// strings for each of 1.3 M rows).
struct JsonKeys {
    /// `"name":` (with `,` before all but the first) and the column it shows, in key order.
    keys: Vec<(Vec<u8>, usize)>,
}

impl JsonKeys {
    fn new(names: &[String]) -> JsonKeys {
        let mut by_name = std::collections::BTreeMap::new();
        for (i, n) in names.iter().enumerate() {
            by_name.insert(n.as_str(), i);
        }
        let keys = by_name
            .into_iter()
            .enumerate()
            .map(|(k, (n, i))| {
                let mut key = Vec::new();
                key.extend_from_slice(if k == 0 { b"{" } else { b"," });
                // A string always serializes.
                serde_json::to_writer(&mut key, n).unwrap_or_default();
                key.push(b':');
                (key, i)
            })
            .collect();
        JsonKeys { keys }
    }

    /// Appends the row `vals` as one JSON object to `out`.
    fn write_row(
        &self,
        vals: &[rusqlite::types::ValueRef<'_>],
        out: &mut Vec<u8>,
    ) -> serde_json::Result<()> {
        use rusqlite::types::ValueRef;
        if self.keys.is_empty() {
            out.extend_from_slice(b"{");
        }
        for (key, i) in &self.keys {
            out.extend_from_slice(key);
            match vals.get(*i).copied().unwrap_or(ValueRef::Null) {
                ValueRef::Integer(x) => serde_json::to_writer(&mut *out, &x)?,
                ValueRef::Text(t) => match std::str::from_utf8(t) {
                    Ok(s) => serde_json::to_writer(&mut *out, s)?,
                    Err(_) => serde_json::to_writer(&mut *out, &String::from_utf8_lossy(t))?,
                },
                ValueRef::Real(x) => serde_json::to_writer(&mut *out, &Value::from(x))?,
                ValueRef::Null | ValueRef::Blob(_) => out.extend_from_slice(b"null"),
            }
        }
        out.extend_from_slice(b"}");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rusqlite::types::ValueRef;

    /// A value as the export shows it.
    #[derive(Debug, Clone)]
    enum V {
        Null,
        Int(i64),
        Real(f64),
        Text(Vec<u8>),
        Blob(Vec<u8>),
    }

    impl V {
        /// The value as SQLite hands it to the writers.
        fn as_ref(&self) -> ValueRef<'_> {
            match self {
                V::Null => ValueRef::Null,
                V::Int(x) => ValueRef::Integer(*x),
                V::Real(x) => ValueRef::Real(*x),
                V::Text(t) => ValueRef::Text(t),
                V::Blob(b) => ValueRef::Blob(b),
            }
        }
    }

    fn any_v() -> impl Strategy<Value = V> {
        prop_oneof![
            Just(V::Null),
            any::<i64>().prop_map(V::Int),
            any::<f64>().prop_map(V::Real),
            prop_oneof![Just(f64::NAN), Just(f64::INFINITY), Just(-0.0), Just(1e300)]
                .prop_map(V::Real),
            ".{0,12}".prop_map(|s| V::Text(s.into_bytes())),
            "[\"\\\\\\x00-\\x1f\u{7f}\u{2028}é]{0,6}".prop_map(|s| V::Text(s.into_bytes())),
            prop::collection::vec(any::<u8>(), 0..8).prop_map(V::Text),
            prop::collection::vec(any::<u8>(), 0..8).prop_map(V::Blob),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]
        /// A row written by `JsonKeys` is byte for byte what `serde_json` writes for the row as a
        /// `Map` (the export's former writer): odd and repeated column names, escapes, text that
        /// is not UTF-8, non-finite reals, BLOBs.
        #[test]
        fn a_row_is_written_as_serde_json_writes_its_map(
            cols in prop::collection::vec(
                (prop_oneof!["[a-c_]{0,3}", ".{0,4}"], any_v()), 0..8),
        ) {
            let names: Vec<String> = cols.iter().map(|(n, _)| n.clone()).collect();
            let vals: Vec<ValueRef<'_>> = cols.iter().map(|(_, v)| v.as_ref()).collect();
            let mut m = Map::new();
            for (n, v) in &cols {
                m.insert(n.clone(), match v {
                    V::Int(x) => Value::from(*x),
                    V::Text(t) => Value::from(String::from_utf8_lossy(t)),
                    V::Real(x) => Value::from(*x),
                    V::Null | V::Blob(_) => Value::Null,
                });
            }
            let want = serde_json::to_vec(&m).unwrap();
            let mut got = b"x".to_vec();
            JsonKeys::new(&names).write_row(&vals, &mut got).unwrap();
            prop_assert_eq!(String::from_utf8_lossy(&got[1..]), String::from_utf8_lossy(&want));
            prop_assert_eq!(&got[1..], &want[..]);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]
        /// The CSV fields of rows written one after another into the same `rec` are what the
        /// export's former code made for each row (a new String a field).
        #[test]
        fn csv_fields_are_as_before(rows in prop::collection::vec(prop::collection::vec(any_v(), 0..6), 1..4)) {
            let mut rec = Vec::new();
            for row in &rows {
                let vals: Vec<ValueRef<'_>> = row.iter().map(V::as_ref).collect();
                let want: Vec<String> = row
                    .iter()
                    .map(|v| match v {
                        V::Null | V::Blob(_) => String::new(),
                        V::Int(x) => x.to_string(),
                        V::Real(x) => x.to_string(),
                        V::Text(t) => String::from_utf8_lossy(t).into_owned(),
                    })
                    .collect();
                csv_fields(&vals, &mut rec);
                prop_assert_eq!(&rec, &want);
            }
        }
    }
}
