//! What `map` writes besides the desired shifts: its findings (`map_findings`), the crosswalk of
//! agents and trades, the time-off pass, and the switch to a bulk load on a first run.

use super::agents::{self, AgentIssue, ExportAgent};
use super::{AgentContexts, Finding, MapOutcome, prepare, time_off, trades};
use crate::config::{Config, PendingTradePolicy, Severity};
use crate::error::Result;
use crate::store::desired;
use crate::store::time_off as store_time_off;
use crate::timeval::dst;
use rusqlite::Connection;
use std::collections::{BTreeMap, HashMap, HashSet};

/// Whether this run is a first load (no desired state yet), switched to a bulk load when it can be.
pub(super) fn begin_first_load(state: &Connection) -> Result<bool> {
    // A first run (no desired state yet) is a bulk load of about a gigabyte for a large export.
    // Through the WAL it would be written twice (WAL, then the checkpoint) and synced twice; when
    // no other connection has the database open, it goes through a rollback journal instead: the
    // new pages lie past the end of the file, so they are written once and never journaled, and
    // with `synchronous = FULL` the commit is as durable and crash-safe as in WAL (a crash
    // before the commit leaves the database as it was). `map_dir` switches back to WAL at the end,
    // and every opener of the state sets WAL again anyway. When another connection has the
    // database open the switch is refused and the load goes through the WAL as usual.
    let first_load = desired::is_empty(state)?;
    if first_load {
        let mode: String = state
            .query_row("PRAGMA journal_mode = DELETE", [], |r| r.get(0))
            .unwrap_or_default();
        if mode.eq_ignore_ascii_case("delete") {
            state.pragma_update(None, "synchronous", "FULL")?;
            // Rows of about 700 bytes fill a 4 KiB page with five, and the B-tree rebalances
            // every few inserts: move a small database (nothing mapped or loaded yet) to 16 KiB
            // pages first. VACUUM rewrites it whole, so only while it is small.
            let (pages, size): (i64, i64) = state.query_row(
                "SELECT page_count, page_size FROM pragma_page_count, pragma_page_size",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?;
            if size < 16384 && pages * size < 64 << 20 {
                // Best effort: a busy database keeps its pages.
                let _ = state.execute_batch("PRAGMA page_size = 16384; VACUUM;");
            }
            // The rows go straight to the file (nothing to rewrite later): a small cache is
            // as fast, and keeps memory down. It also sizes the sorter that builds the secondary
            // indexes afterwards (SQLite sorts runs of up to cache_size bytes in memory, one per
            // sorter thread, before merging them from temporary files): with 16 MB, the index
            // build alone took about 50 MB of heap at 1.3 M shifts, and map's first run peaked
            // at 126 MB against 54 MB at a tenth of the export; with 4 MB (SQLite's smallest run
            // at 16 KiB pages) it peaks at 78 MB, no slower.
            state.execute_batch("PRAGMA cache_size = -4096;")?;
        }
    }
    Ok(first_load)
}

/// The findings of a run, written to `map_findings` as they come, and counted.
pub(super) struct FindingSink<'c, 'a> {
    stmt: crate::store::findings::FindingWriter<'c>,
    run_id: i64,
    pub count: u64,
    pub errors: u64,
    pub by_rule: BTreeMap<String, u64>,
    cfg: &'a Config,
}

impl FindingSink<'_, '_> {
    pub(super) fn push(&mut self, f: Finding) -> Result<()> {
        // A configured severity override applies, except to a DST value a policy resolved.
        let sev = if f.severity == dst::POLICY_RESOLVED && f.rule == "dst-ambiguous" {
            dst::POLICY_RESOLVED
        } else {
            self.cfg.severity_of(f.rule)
        };
        self.count += 1;
        if sev == Severity::Error {
            self.errors += 1;
        }
        *self.by_rule.entry(f.rule.to_string()).or_default() += 1;
        let cands = (!f.candidates.is_empty())
            .then(|| serde_json::to_string(&f.candidates).expect("strings serialize"));
        self.stmt.write(
            self.run_id,
            f.rule,
            sev.as_str(),
            f.file.as_deref(),
            f.line.map(|l| l as i64),
            f.record_id.as_deref(),
            f.field,
            f.value.as_deref(),
            f.timezone.as_deref(),
            cands.as_deref(),
            &f.message,
            &f.help,
        )?;
        Ok(())
    }
}

impl<'c, 'a> FindingSink<'c, 'a> {
    /// A sink writing into `tx` for run `run_id` (the configured severities of `cfg` apply).
    pub(super) fn new(tx: &'c Connection, run_id: i64, cfg: &'a Config) -> Result<Self> {
        Ok(FindingSink {
            stmt: crate::store::findings::FindingWriter::replace_all(tx)?,
            run_id,
            count: 0,
            errors: 0,
            by_rule: BTreeMap::new(),
            cfg,
        })
    }
}

/// Agent findings, one per agent that owns shifts or trades; counts the agents mapped, unmapped
/// and ambiguous.
pub(super) fn agent_findings(
    export_agents: &[ExportAgent],
    res: &[agents::AgentRes],
    agents_file: Option<String>,
    sink: &mut FindingSink<'_, '_>,
    out: &mut MapOutcome,
) -> Result<()> {
    for (a, r) in export_agents.iter().zip(res.iter()) {
        match &r.issue {
            None => {
                if a.owns {
                    out.agents_mapped += 1
                }
            }
            Some(issue) => {
                // An agent the agents file lacks is reported where it is named instead:
                // `shift-unknown-agent` at each shift, `trade-unknown-agent` at each trade.
                if !a.owns || a.line.is_none() {
                    continue;
                }
                match issue {
                    AgentIssue::Unmapped(_) => out.agents_unmapped += 1,
                    AgentIssue::Ambiguous { .. } => out.agents_ambiguous += 1,
                    AgentIssue::NoManagementUnit { .. } => out.agents_without_management_unit += 1,
                }
                let (message, candidates) = match issue {
                    AgentIssue::Unmapped(m) | AgentIssue::NoManagementUnit { message: m, .. } => {
                        (m.clone(), vec![])
                    }
                    AgentIssue::Ambiguous {
                        message,
                        candidates,
                    } => (message.clone(), candidates.clone()),
                };
                // A missing management unit is a problem of the mapping table: at its (first)
                // row of the agent, when the table has one.
                let at_row = match (issue, r.rows.first()) {
                    (AgentIssue::NoManagementUnit { .. }, Some(&l)) => Some(l),
                    _ => None,
                };
                let (file, line, field, value) = match at_row {
                    Some(l) => (
                        Some("mappings/agents.csv".to_string()),
                        Some(l),
                        "management_unit_id",
                        r.management_unit_id.as_deref().map(str::to_string),
                    ),
                    None => (
                        a.file
                            .as_deref()
                            .map(str::to_string)
                            .or_else(|| agents_file.clone()),
                        a.line,
                        if a.email.is_some() {
                            "email"
                        } else {
                            "agent_id"
                        },
                        a.email.clone().or_else(|| Some(a.agent_id.clone())),
                    ),
                };
                sink.push(Finding {
                    rule: issue.rule(),
                    severity: Severity::Error,
                    file,
                    line,
                    record_id: Some(a.agent_id.clone()),
                    field: Some(field),
                    value,
                    timezone: None,
                    candidates,
                    message,
                    help: agents::help(issue).to_string(),
                })?;
            }
        }
    }
    Ok(())
}

/// The crosswalk of agents (`xw_agents`): how each agent resolved; a row is written only when it
/// changed.
pub(super) fn xw_agents(
    tx: &Connection,
    export_agents: &[ExportAgent],
    res: &[agents::AgentRes],
    run_id: i64,
    out: &mut MapOutcome,
) -> Result<()> {
    let mut st = crate::store::crosswalk::AgentWriter::new(tx)?;
    for (a, r) in export_agents.iter().zip(res.iter()) {
        let (how, cands) = match &r.issue {
            Some(AgentIssue::Ambiguous { candidates, .. }) => (
                "ambiguous",
                Some(serde_json::to_string(candidates).expect("strings serialize")),
            ),
            Some(AgentIssue::Unmapped(_)) if r.user_id.is_none() => ("unmapped", None),
            _ => (r.resolved_by, None),
        };
        let user = match &r.issue {
            Some(AgentIssue::Ambiguous { .. }) => None,
            _ => r.user_id.clone(),
        };
        out.agents_changed += st.upsert(&crate::store::crosswalk::AgentLink {
            agent_id: &a.agent_id,
            email: a.email.as_deref(),
            user_id: user.as_deref(),
            management_unit_id: r.management_unit_id.as_deref(),
            business_unit_id: r.business_unit_id.as_deref(),
            resolved_by: how,
            candidates: cands.as_deref(),
            run_id,
        })?;
    }
    Ok(())
}

/// The crosswalk of trades (`xw_trades`): each trade's users and the policy's action (`apply`'s
/// decisions in `applied`, by trade in file order; the other policies' from the status); trades no
/// longer in the export stay, marked `not-in-export`. The trades are read from the snapshot one
/// at a time.
pub(super) fn xw_trades(
    tx: &Connection,
    snap: &Connection,
    (policy, applied): (PendingTradePolicy, Option<&[trades::TradeAction]>),
    (agent_ctx, agent_idx): (&AgentContexts, &super::shift::AgentIdx),
    run_id: i64,
    out: &mut MapOutcome,
) -> Result<()> {
    let user_of = |agent: &str| -> Option<&str> {
        let c = agent_ctx.get(agent_idx.get(agent)?);
        match c.issue {
            // The user is known; only loading the agent's schedule needs the unit.
            None | Some(AgentIssue::NoManagementUnit { .. }) => c.user_id,
            Some(_) => None,
        }
    };
    let mut st = crate::store::crosswalk::TradeWriter::new(tx)?;
    let mut i = 0;
    prepare::each_trade(snap, &mut |t, first| {
        i += 1;
        // A repeated trade id: its first row is the crosswalk's.
        if !first {
            return Ok(());
        }
        let (action, note) = match applied {
            Some(a) => (a[i - 1].action, a[i - 1].note.as_deref()),
            None => (trades::first_action(t.is_pending(), policy), None),
        };
        *out.trades_by_action.entry(action.to_string()).or_default() += 1;
        let (requester_user, recipient_user) = (
            user_of(&t.requester_agent_id),
            user_of(&t.recipient_agent_id),
        );
        out.trades_changed += st.upsert(&crate::store::crosswalk::TradeLink {
            trade_id: &t.trade_id,
            swap_request_id: &t.swap_request_id,
            legacy_status: &t.status,
            requester_agent_id: &t.requester_agent_id,
            requester_user_id: requester_user,
            requester_shift_id: &t.requester_shift_id,
            recipient_agent_id: &t.recipient_agent_id,
            recipient_user_id: recipient_user,
            recipient_shift_id: t.recipient_shift_id.as_deref(),
            action,
            note,
            run_id,
        })?;
        Ok(())
    })?;
    drop(st);
    // Trades no longer in the export stay in the crosswalk, marked.
    let mut in_export = snap.prepare("SELECT 1 FROM trades WHERE trade_id = ?1 LIMIT 1")?;
    out.trades_changed += crate::store::crosswalk::mark_trades_not_in_export(
        tx,
        &mut |id| Ok(in_export.exists([id])?),
        run_id,
    )?;
    Ok(())
}

/// Write the time-off pass: `desired_time_off` converges on `m.desired` (a row whose content hash
/// is unchanged is not written), `xw_time_off` keeps every request ever exported (the Genesys id
/// load filled in is kept; a request gone from the export is marked `not-in-export`).
pub(super) fn write_time_off(
    tx: &Connection,
    m: &time_off::Mapped,
    run_id: i64,
    out: &mut MapOutcome,
) -> Result<()> {
    let old: HashMap<String, String> = store_time_off::desired_hashes(tx)?;
    let mut w = store_time_off::DesiredWriter::new(tx)?;
    let mut seen: HashSet<&str> = HashSet::new();
    for d in &m.desired {
        seen.insert(&d.id);
        match &d.held_back {
            None => out.time_off.mapped += 1,
            Some(r) => {
                out.time_off.held_back += 1;
                *out.time_off
                    .held_back_by_reason
                    .entry(r.to_string())
                    .or_default() += 1;
            }
        }
        let h = d.content_hash();
        if old.get(&d.id) == Some(&h) {
            w.relocate(&d.id, d.file.as_deref(), d.line)?;
            continue;
        }
        out.time_off.changed += 1;
        w.upsert(&store_time_off::DesiredRow {
            id: &d.id,
            file: d.file.as_deref(),
            line: d.line,
            agent_id: &d.agent_id,
            user_id: &d.user_id,
            management_unit_id: &d.management_unit_id,
            business_unit_id: &d.business_unit_id,
            activity_code_id: &d.activity_code_id,
            status: d.status,
            full_day_dates: d.full_day_dates.as_deref(),
            partial_starts: d.partial_starts.as_deref(),
            daily_minutes: d.daily_minutes,
            paid: d.paid,
            notes: &d.notes,
            content_hash: &h,
            held_back: d.held_back,
            run_id,
        })?;
    }
    drop(w);
    out.time_off.changed += store_time_off::delete_desired(
        tx,
        old.keys()
            .filter(|k| !seen.contains(k.as_str()))
            .map(String::as_str),
    )?;
    let mut xw = store_time_off::XwWriter::new(tx)?;
    let mut ids: HashSet<&str> = HashSet::new();
    for x in &m.xw {
        ids.insert(&x.id);
        if x.action == "not-loaded" {
            out.time_off.not_loaded += 1;
        }
        xw.upsert(&store_time_off::XwRow {
            id: &x.id,
            agent_id: &x.agent_id,
            user_id: x.user_id.as_deref(),
            management_unit_id: x.management_unit_id.as_deref(),
            business_unit_id: x.business_unit_id.as_deref(),
            status: &x.status,
            action: x.action,
            run_id,
        })?;
    }
    drop(xw);
    let gone: Vec<String> = store_time_off::xw_in_export(tx)?
        .into_iter()
        .filter(|id| !ids.contains(id.as_str()))
        .collect();
    for id in gone {
        store_time_off::mark_not_in_export(tx, &id, run_id)?;
    }
    Ok(())
}
