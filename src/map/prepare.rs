//! What `map` prepares before it writes: the export's agents and who owns what, the business
//! units in use (zone, week start, activity and TimeOff codes, default activity), each agent's
//! context for its shifts, and the pending-trade decisions.

use super::agents::{AgentRes, ExportAgent};
use super::shift::AgentIdx;
use super::{BuInfo, online, tables, time_off, trades};
use crate::config::{Config, PendingTradePolicy};
use crate::error::Result;
use chrono_tz::Tz;
use rusqlite::{Connection, OptionalExtension};
use rustc_hash::FxHashMap;
use std::collections::HashMap;
use std::sync::Arc;

/// The export's agents (the first row of an id wins, then the owners the agents file lacks) and
/// the records that make an agent an owner.
pub(super) struct Export {
    pub agents: Vec<ExportAgent>,
    /// Agent id → index in `agents`.
    pub idx: AgentIdx,
    pub time_off: Vec<time_off::Row>,
}

/// Read the export's agents, marking those that own shifts, trades or time off.
pub(super) fn read_export(snap: &Connection, files: &HashMap<i64, String>) -> Result<Export> {
    // Each file's name once, shared by its agents.
    let mut names: HashMap<i64, Option<Arc<str>>> = HashMap::new();
    let mut file_name = |id: i64| -> Option<Arc<str>> {
        names
            .entry(id)
            .or_insert_with(|| files.get(&id).map(|f| Arc::from(f.as_str())))
            .clone()
    };
    let mut export_agents: Vec<ExportAgent> = Vec::new();
    let mut agent_idx = AgentIdx::default();
    {
        let mut st = snap.prepare(
            "SELECT agent_id, email, timezone, location, line, file_id FROM agents ORDER BY file_id, line",
        )?;
        let mut rows = st.query([])?;
        while let Some(r) = rows.next()? {
            let id: String = r.get(0)?;
            if agent_idx.get(&id).is_some() {
                continue;
            }
            let email: Option<String> = r.get(1)?;
            agent_idx.insert(&id, export_agents.len());
            export_agents.push(ExportAgent {
                agent_id: id,
                email: email.as_deref().and_then(tables::norm_email),
                timezone: r.get(2)?,
                location: r.get(3)?,
                file: file_name(r.get(5)?),
                line: Some(r.get::<_, i64>(4)? as u64),
                owns: false,
            });
        }
    }
    let mut owner_ids: Vec<String> = {
        let mut st = snap.prepare("SELECT DISTINCT agent_id FROM shift_rows")?;
        st.query_map([], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?
    };
    // The trades' agents, in file order (the trades were read whole here and held until their
    // crosswalk was written: 9.4 MB at 26,000 trades with long ids). Sorted with their two ids,
    // not by place then read by place as `in_file_order` does: the preparation is not map's peak,
    // and the look-up a trade cost ~2 k instructions (callgrind, 2,487 trades: map_inner 464.7 →
    // 459.9 M on a re-run).
    {
        let mut st = snap.prepare(
            "SELECT requester_agent_id, recipient_agent_id FROM trades ORDER BY file_id, line, rowid",
        )?;
        let mut rows = st.query([])?;
        while let Some(r) = rows.next()? {
            owner_ids.push(r.get(0)?);
            owner_ids.push(r.get(1)?);
        }
    }
    for id in owner_ids {
        let i = match agent_idx.get(&id) {
            Some(i) => i,
            None => {
                agent_idx.insert(&id, export_agents.len());
                export_agents.push(ExportAgent {
                    agent_id: id,
                    ..Default::default()
                });
                export_agents.len() - 1
            }
        };
        export_agents[i].owns = true;
    }
    // An agent of the agents file with time off needs a user too (an unknown one is reported
    // at the request, `time-off-unknown-agent`).
    let time_off_rows = time_off::read(snap)?;
    for r in &time_off_rows {
        if let Some(i) = agent_idx.get(&r.agent_id) {
            export_agents[i].owns = true;
        }
    }
    // Held to the end: without the room its growth left (up to 0.9 MB at 10,000 agents, none
    // at 1,000).
    export_agents.shrink_to_fit();
    Ok(Export {
        agents: export_agents,
        idx: agent_idx,
        time_off: time_off_rows,
    })
}

/// Each business unit an agent maps to: its zone and first day of week (the table, else Genesys
/// online; a unit with neither is left out, its agents unmapped), its activity and TimeOff codes by
/// name (table rows for the unit over rows for every unit over, online, the unit's own codes) and
/// the default activity.
pub(super) fn business_units(
    cfg: &Config,
    tables: &tables::Tables,
    res: &[AgentRes],
    mut online: Option<&mut online::Online<'_>>,
) -> Result<FxHashMap<String, BuInfo>> {
    let mut bus: FxHashMap<String, BuInfo> = FxHashMap::default();
    let used_bus: std::collections::BTreeSet<String> = res
        .iter()
        .filter(|r| r.issue.is_none())
        .filter_map(|r| r.business_unit_id.as_deref().map(str::to_string))
        .collect();
    for bu in &used_bus {
        let (tz, start_day) = match tables.business_unit(bu) {
            Some(row) => (row.time_zone, row.start_day_of_week),
            None => match online.as_mut() {
                Some(on) => {
                    let b = on.business_unit(bu)?;
                    let Some(s) = b.settings else { continue };
                    match (
                        s.time_zone.parse::<Tz>(),
                        tables::parse_weekday(&s.start_day_of_week),
                    ) {
                        (Ok(tz), Some(d)) => (tz, d),
                        _ => continue,
                    }
                }
                None => continue,
            },
        };
        let mut codes: FxHashMap<String, String> = FxHashMap::default();
        let mut time_off_codes: FxHashMap<String, String> = FxHashMap::default();
        let mut default = None;
        if let Some(on) = online.as_mut() {
            for c in on.activity_codes(bu)?.into_iter().filter(|c| c.active) {
                if c.category == "TimeOff" {
                    time_off_codes.entry(c.name.clone()).or_insert(c.id.clone());
                }
                if cfg.default_activity.as_deref() == Some(c.name.as_str()) {
                    default = Some((c.id.clone(), c.name.clone()));
                }
                codes.entry(c.name).or_insert(c.id);
            }
        }
        for scope in [None, Some(bu.as_str())] {
            for a in tables
                .activities
                .iter()
                .filter(|a| a.business_unit_id.as_deref() == scope)
            {
                codes.insert(
                    a.zendesk_task_name.clone(),
                    a.genesys_activity_code_id.clone(),
                );
            }
        }
        for scope in [None, Some(bu.as_str())] {
            for a in tables
                .time_off
                .iter()
                .filter(|a| a.business_unit_id.as_deref() == scope)
            {
                time_off_codes.insert(a.zendesk_reason.clone(), a.genesys_activity_code_id.clone());
            }
        }
        // Offline, the default activity (a name) is resolved through activities.csv: the row whose
        // `zendesk_task_name` is that name. A table row wins over the unit's code of that name.
        if let Some(name) = &cfg.default_activity
            && let Some(code) = codes.get(name)
        {
            default = Some((code.clone(), name.clone()));
        }
        bus.insert(
            bu.clone(),
            BuInfo {
                tz,
                start_day,
                codes,
                default,
                time_off_codes,
            },
        );
    }
    Ok(bus)
}

/// Each location's zone name (locations.csv), one shared text each.
pub(super) fn location_zones(tables: &tables::Tables) -> HashMap<String, Arc<str>> {
    tables
        .locations
        .iter()
        .filter_map(|l| Some((l.location.clone(), Arc::from(l.time_zone?.name()))))
        .collect()
}

/// `apply`'s decision for each trade (in file order) and the shifts whose owner it changes
/// (shift id → new owner).
type Applied = (Option<Vec<trades::TradeAction>>, HashMap<String, String>);

/// Under `apply`, the policy's decision for each trade (in file order, as [`each_trade`] gives
/// them) and the shifts whose owner it changes. The other policies decide a trade from its status
/// alone ([`trades::first_action`]): nothing to read or hold here.
pub(super) fn decide_trades(snap: &Connection, cfg: &Config) -> Result<Applied> {
    if cfg.pending_trades != PendingTradePolicy::Apply {
        return Ok((None, HashMap::new()));
    }
    let mut trade_in = Vec::new();
    each_trade(snap, &mut |t, _first| {
        trade_in.push(t);
        Ok(())
    })?;
    let mut st = snap.prepare(&format!(
        "SELECT agent_id FROM shift_rows WHERE {} LIMIT 1",
        crate::extract::stage::SHIFT_ID_MATCHES
    ))?;
    let mut owner = |s: &str| -> Option<String> {
        let key = <[_; 2]>::from(crate::extract::stage::shift_key(s));
        st.query_row(key, |r| r.get(0)).optional().ok().flatten()
    };
    let (actions, overrides) = trades::decide(&trade_in, cfg.pending_trades, &mut owner);
    Ok((Some(actions), overrides))
}

/// Each trade of the snapshot in file order, read one at a time, with whether it is the first of
/// its trade id in that order.
pub(super) fn each_trade(
    snap: &Connection,
    f: &mut dyn FnMut(trades::TradeIn, bool) -> Result<()>,
) -> Result<()> {
    in_file_order(
        snap,
        "trade_id, swap_request_id, status, requester_agent_id, requester_shift_id, recipient_agent_id,
         recipient_shift_id,
         NOT EXISTS (SELECT 1 FROM trades e WHERE e.trade_id = t.trade_id
                     AND (e.file_id, e.line, e.rowid) < (t.file_id, t.line, t.rowid))",
        &mut |r| {
            f(
                trades::TradeIn {
                    trade_id: r.get(0)?,
                    swap_request_id: r.get(1)?,
                    status: r.get::<_, String>(2)?.to_ascii_lowercase(),
                    requester_agent_id: r.get(3)?,
                    requester_shift_id: r.get(4)?,
                    recipient_agent_id: r.get(5)?,
                    recipient_shift_id: r
                        .get::<_, Option<String>>(6)?
                        .filter(|s| !s.trim().is_empty()),
                },
                r.get(7)?,
            )
        },
    )
}

/// The columns `cols` of each trade (the table is `t`) in file order (file, line), one row at a
/// time: only the rows' places are sorted, then each row is read by its place (sorting the rows
/// themselves kept every trade's texts in SQLite's sorter).
fn in_file_order(
    snap: &Connection,
    cols: &str,
    f: &mut dyn FnMut(&rusqlite::Row<'_>) -> Result<()>,
) -> Result<()> {
    let mut order = snap.prepare("SELECT rowid FROM trades ORDER BY file_id, line, rowid")?;
    let mut row = snap.prepare(&format!("SELECT {cols} FROM trades t WHERE t.rowid = ?1"))?;
    let mut places = order.query([])?;
    while let Some(p) = places.next()? {
        let mut rs = row.query([p.get::<_, i64>(0)?])?;
        if let Some(r) = rs.next()? {
            f(r)?;
        }
    }
    Ok(())
}
