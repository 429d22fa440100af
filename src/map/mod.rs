//! `zd2gc map`: turn the staged export (snapshot.db) into the desired Genesys state and fill the
//! crosswalk (zd2gc.db).
//!
//! Inputs: the snapshot, the mapping tables (`mappings/`, see [`tables`]), the configuration, and
//! with `--online` Genesys Cloud itself (see [`online`], cached). Outputs, all in zd2gc.db:
//! - `desired_shifts`: per legacy shift, the owner's Genesys user, business and management unit,
//!   week id, `start_utc` (UTC seconds) and `length_minutes`, its activities (compact JSON over the
//!   dictionary `activity_kinds`, see [`activities_compact`]; the view `desired_activities` unfolds
//!   them), or the reason it is held back; `meta.mapped_snapshot_id` names the snapshot mapped;
//! - `map_findings`: what could not be mapped, with its rule id, file and line (read by `validate`);
//! - `xw_agents`, `xw_trades`: the crosswalk of agents and trades (shifts: the view
//!   `crosswalk_shifts`, completed by `load` in `xw_shifts`).
//!
//! Invariants: nothing ambiguous is guessed (see [`core`]); every row records the run that wrote
//! it, and a re-run on the same inputs writes nothing (rows are compared by a content hash).
//! Memory is bounded: shifts and tasks are streamed in shift-id order and merge-joined with each
//! other and with the previous desired state, in one write transaction. Three threads share the
//! work, connected by bounded channels of batches: one reads the snapshot (into row buffers the
//! next one hands back), one maps, one merges with the previous state and writes. A first run
//! (empty desired state) is a bulk load: written once through a rollback journal when nothing else
//! has the state open, secondary indexes built after.

pub mod agents;
pub mod core;
pub mod current;
pub mod online;
pub mod tables;
pub mod time_off;
pub mod trades;

use crate::config::{Config, DstPolicy, Severity};
use crate::error::{Error, Result};
use crate::store::desired::{self, Kinds, activities_compact};
use crate::timeval::dst::{self, TimeIssue};
use crate::timeval::zone::{Zones, zone_name};
use crate::timeval::{self, TimeVal};
use agents::{AgentIssue, AgentRes, ExportAgent};
use chrono::Weekday;
use chrono_tz::Tz;
use core::TaskIn;
use rusqlite::{Connection, OptionalExtension, params};
use rustc_hash::FxHashMap;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

/// Where online answers come from.
#[derive(Debug, Clone, Default)]
pub enum OnlineMode {
    /// Tables only.
    #[default]
    Off,
    /// A client built from the environment and the configuration.
    FromConfig,
    /// This client (tests, the rehearsal).
    With(std::sync::Arc<crate::client::Client>),
}

/// Options of [`map_dir`].
#[derive(Debug, Clone, Default)]
pub struct MapOptions {
    /// The mapping tables' directory (default: `<dir>/mappings`).
    pub mappings: Option<PathBuf>,
    pub online: OnlineMode,
    pub refresh: bool,
    /// The command line, for the run's audit record.
    pub argv: String,
}

/// A few ids of each kind of change, for the summary.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Changes {
    pub inserted: u64,
    pub updated: u64,
    pub unchanged: u64,
    pub removed: u64,
    pub examples: BTreeMap<&'static str, Vec<String>>,
}

impl Changes {
    fn note(&mut self, kind: &'static str, id: &str) {
        let v = self.examples.entry(kind).or_default();
        if v.len() < 5 {
            v.push(id.to_string());
        }
    }
}

/// Time-off requests of a `map` run.
#[derive(Debug, Clone, Default, Serialize)]
pub struct TimeOffCounts {
    /// Loadable (a row of desired_time_off without held_back).
    pub mapped: u64,
    pub held_back: u64,
    /// Left out by policy (denied, cancelled, before time_off_from): crosswalk history only.
    pub not_loaded: u64,
    /// Rows of desired_time_off written or removed by this run.
    pub changed: u64,
    pub held_back_by_reason: BTreeMap<String, u64>,
}

/// What a `map` run did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct MapOutcome {
    pub run_id: i64,
    pub snapshot_id: String,
    pub online: bool,
    /// Shift rows and task rows read from the snapshot.
    pub shifts_read: u64,
    pub tasks_read: u64,
    pub drafts_skipped: u64,
    pub shifts_mapped: u64,
    pub shifts_held_back: u64,
    pub activities: u64,
    pub held_back_by_reason: BTreeMap<String, u64>,
    pub shifts: Changes,
    pub time_off: TimeOffCounts,
    pub agents_mapped: u64,
    pub agents_unmapped: u64,
    pub agents_ambiguous: u64,
    pub agents_changed: u64,
    pub trades_by_action: BTreeMap<String, u64>,
    pub trades_changed: u64,
    pub findings: u64,
    pub findings_by_rule: BTreeMap<String, u64>,
    pub errors: u64,
    pub online_calls: u64,
    pub online_cache_hits: u64,
    pub seconds: f64,
}

impl MapOutcome {
    /// Records (shifts and tasks) per second.
    pub fn throughput(&self) -> f64 {
        (self.shifts_read + self.tasks_read) as f64 / self.seconds.max(1e-9)
    }
}

/// One finding of `map` (the columns of `map_findings`).
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    pub rule: &'static str,
    pub severity: Severity,
    pub file: Option<String>,
    pub line: Option<u64>,
    pub record_id: Option<String>,
    pub field: Option<&'static str>,
    pub value: Option<String>,
    pub timezone: Option<String>,
    pub candidates: Vec<String>,
    pub message: String,
    pub help: String,
}

/// A business unit's zone, week start and activity codes by task name.
#[derive(Debug, Clone)]
struct BuInfo {
    tz: Tz,
    start_day: Weekday,
    /// Task name → activity code (table rows of the unit over rows for all units over the unit's
    /// own activity codes by name, online).
    codes: FxHashMap<String, String>,
    /// The default activity's code and name.
    default: Option<(String, String)>,
    /// Time-off reason → TimeOff activity code (rows of time_off.csv for the unit over rows for
    /// all units over, online, the unit's active TimeOff codes by name).
    time_off_codes: FxHashMap<String, String>,
}

/// An agent, resolved, ready for its shifts.
struct AgentCtx {
    res: AgentRes,
    /// The agent's fallback zone name (agent, else location), before the default.
    tz: Option<String>,
    location_tz: Option<String>,
}

/// One shift row of the snapshot.
#[derive(Debug, Clone, Default, PartialEq)]
struct ShiftRow {
    file_id: i64,
    line: i64,
    shift_id: String,
    agent_id: String,
    start: i64,
    end: i64,
    fmt: i64,
    timezone: Option<String>,
    published: Option<i64>,
}

impl ShiftRow {
    fn same_content(&self, o: &ShiftRow) -> bool {
        self.agent_id == o.agent_id
            && self.start == o.start
            && self.end == o.end
            && self.fmt == o.fmt
            && self.timezone == o.timezone
            && self.published == o.published
    }
}

/// One task row of the snapshot (its shift id is the shift's).
#[derive(Default)]
struct TaskRow {
    file_id: i64,
    line: i64,
    has_task_id: bool,
    task_id: String,
    name: String,
    start: i64,
    end: i64,
    fmt: i64,
}

impl TaskRow {
    fn task_id(&self) -> Option<&str> {
        self.has_task_id.then_some(self.task_id.as_str())
    }
}

/// Map the staged export of a migration directory. The library entry point of `zd2gc map` (and of
/// the benchmark): no terminal output.
pub fn map_dir(dir: &Path, cfg: &Config, opts: &MapOptions) -> Result<MapOutcome> {
    crate::store::sqlite_init();
    let started = std::time::Instant::now();
    let mappings = opts
        .mappings
        .clone()
        .unwrap_or_else(|| dir.join("mappings"));
    // Hashed before they are read: an edit made while map runs shows as a change next time.
    let inputs = current::files_now(dir, &mappings);
    let mut diags = Vec::new();
    let tables = tables::load(&mappings, &mut diags).map_err(|e| {
        if diags.len() > 1 {
            Error::usage(
                format!(
                    "{} problems in the mapping tables; the first: {}",
                    diags.len(),
                    diags[0]
                ),
                Some(
                    diags
                        .iter()
                        .skip(1)
                        .take(10)
                        .map(|d| d.to_string())
                        .collect::<Vec<_>>()
                        .join("\n"),
                ),
            )
        } else {
            e
        }
    })?;
    // Checked by the usual opener, then opened again without SQLite's per-call mutex: each
    // connection of `map` is used by one thread at a time.
    drop(crate::extract::stage::open_snapshot(dir)?);
    let snap = Connection::open_with_flags(
        crate::store::snapshot_path(dir),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    crate::extract::stage::attach_tasks(&snap, dir, "snapshot_tasks")?;
    snap.execute_batch("PRAGMA cache_size = -131072; PRAGMA temp_store = MEMORY;")?;
    let snapshot_id: String = snap
        .query_row(
            "SELECT value FROM snapshot_meta WHERE key = 'snapshot_id'",
            [],
            |r| r.get(0),
        )
        .optional()?
        .unwrap_or_default();
    let files: HashMap<i64, String> = {
        let mut st = snap.prepare("SELECT file_id, name FROM files")?;
        st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?
    };
    let agents_file: Option<String> = snap
        .query_row("SELECT name FROM files WHERE kind = 'agents'", [], |r| {
            r.get(0)
        })
        .optional()?;

    let mut state = crate::store::open_state(dir)?;
    state.pragma_update(None, "synchronous", "NORMAL")?;
    state.execute_batch("PRAGMA cache_size = -65536;")?;
    let run = crate::store::run_start(&state, "map", &opts.argv)?;
    let res = map_inner(
        dir,
        cfg,
        opts,
        &tables,
        snap,
        &snapshot_id,
        &files,
        agents_file,
        &mut state,
        run.id,
        (&inputs, &mappings),
    );
    let (outcome, exit_code, counts) = match &res {
        Ok(o) => (
            if o.errors > 0 {
                crate::store::Outcome::Findings
            } else {
                crate::store::Outcome::Ok
            },
            if o.errors > 0 { 1 } else { 0 },
            serde_json::to_value(o).unwrap_or_default(),
        ),
        Err(e) => (
            crate::store::Outcome::Error,
            e.exit().code(),
            serde_json::json!({"error": e.to_string()}),
        ),
    };
    // Back to WAL after a first bulk load through a rollback journal (a no-op otherwise).
    let _ = state.query_row("PRAGMA journal_mode = WAL", [], |r| r.get::<_, String>(0));
    state.pragma_update(None, "synchronous", "NORMAL")?;
    crate::store::run_end(
        &state,
        &run,
        outcome,
        exit_code,
        Some(&crate::store::SnapshotId::new(&snapshot_id)),
        &counts,
    )?;
    let mut o = res?;
    o.seconds = started.elapsed().as_secs_f64();
    Ok(o)
}

#[allow(clippy::too_many_arguments)]
fn map_inner(
    dir: &Path,
    cfg: &Config,
    opts: &MapOptions,
    tables: &tables::Tables,
    snap: Connection,
    snapshot_id: &str,
    files: &HashMap<i64, String>,
    agents_file: Option<String>,
    state: &mut Connection,
    run_id: i64,
    (inputs, mappings): (&current::Files, &Path),
) -> Result<MapOutcome> {
    let mut out = MapOutcome {
        run_id,
        snapshot_id: snapshot_id.to_string(),
        ..Default::default()
    };
    let file_name = |id: i64| files.get(&id).cloned();

    // ---- agents -------------------------------------------------------------------------------
    let mut export_agents: Vec<ExportAgent> = Vec::new();
    let mut agent_idx: FxHashMap<String, usize> = FxHashMap::default();
    {
        let mut st = snap.prepare(
            "SELECT agent_id, email, timezone, location, line, file_id FROM agents ORDER BY file_id, line",
        )?;
        let mut rows = st.query([])?;
        while let Some(r) = rows.next()? {
            let id: String = r.get(0)?;
            if agent_idx.contains_key(&id) {
                continue;
            }
            let email: Option<String> = r.get(1)?;
            agent_idx.insert(id.clone(), export_agents.len());
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
        let mut st = snap.prepare("SELECT DISTINCT agent_id FROM shifts")?;
        st.query_map([], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?
    };
    let trade_rows = read_trades(&snap)?;
    for t in &trade_rows {
        owner_ids.push(t.0.requester_agent_id.clone());
        owner_ids.push(t.0.recipient_agent_id.clone());
    }
    for id in owner_ids {
        let i = *agent_idx.entry(id.clone()).or_insert_with(|| {
            export_agents.push(ExportAgent {
                agent_id: id,
                ..Default::default()
            });
            export_agents.len() - 1
        });
        export_agents[i].owns = true;
    }
    // An agent of the agents file with time off needs a user too (an unknown one is reported
    // at the request, `time-off-unknown-agent`).
    let time_off_rows = time_off::read(&snap)?;
    for r in &time_off_rows {
        if let Some(&i) = agent_idx.get(&r.agent_id) {
            export_agents[i].owns = true;
        }
    }
    let mut res = agents::resolve_offline(&export_agents, tables);

    // ---- online -------------------------------------------------------------------------------
    let client = match &opts.online {
        OnlineMode::Off => None,
        OnlineMode::FromConfig => Some(std::sync::Arc::new(crate::client::Client::from_config(
            &(&cfg.genesys).into(),
        )?)),
        OnlineMode::With(c) => Some(c.clone()),
    };
    out.online = client.is_some();
    let mut online = match &client {
        Some(c) => Some(online::Online::new(c, state, run_id, opts.refresh)?),
        None => None,
    };
    if let Some(on) = online.as_mut() {
        on.fill_agents(&export_agents, &mut res)?;
    }

    // ---- business units -----------------------------------------------------------------------
    let mut bus: FxHashMap<String, BuInfo> = FxHashMap::default();
    let used_bus: std::collections::BTreeSet<String> = res
        .iter()
        .filter(|r| r.issue.is_none())
        .filter_map(|r| r.business_unit_id.clone())
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
    agents::finish(&export_agents, &mut res, &|b| bus.contains_key(b));
    if let Some(on) = &online {
        out.online_calls = on.fetched;
        out.online_cache_hits = on.hits;
    }

    let mut zones = Zones::default();
    let default_tz = cfg.default_timezone.clone();
    let loc_tz: HashMap<&str, String> = tables
        .locations
        .iter()
        .filter_map(|l| Some((l.location.as_str(), l.time_zone?.name().to_string())))
        .collect();
    let agent_ctx: Vec<AgentCtx> = export_agents
        .iter()
        .zip(res.iter())
        .map(|(a, r)| AgentCtx {
            res: r.clone(),
            tz: a.timezone.clone().filter(|s| !s.trim().is_empty()),
            location_tz: a.location.as_deref().and_then(|l| loc_tz.get(l)).cloned(),
        })
        .collect();

    // ---- trades -------------------------------------------------------------------------------
    let trade_in: Vec<trades::TradeIn> = trade_rows.iter().map(|t| t.0.clone()).collect();
    let (actions, overrides) = {
        let mut st = snap.prepare("SELECT agent_id FROM shifts WHERE shift_id = ?1 LIMIT 1")?;
        let mut owner = |s: &str| -> Option<String> {
            st.query_row([s], |r| r.get(0)).optional().ok().flatten()
        };
        trades::decide(&trade_in, cfg.pending_trades, &mut owner)
    };

    // ---- the write transaction ----------------------------------------------------------------
    drop(online);
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
            // as fast, and keeps memory down.
            state.execute_batch("PRAGMA cache_size = -16384;")?;
        }
    }
    let old = if first_load {
        None
    } else {
        Some(Connection::open_with_flags(
            crate::store::state_path(dir),
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?)
    };
    let t0 = std::time::Instant::now();
    let lap =
        |what: &str| crate::ui::timing(&format!("map {what}: {:.2}s", t0.elapsed().as_secs_f64()));
    let tx = state.transaction()?;
    let mut sink = FindingSink {
        stmt: crate::store::findings::FindingWriter::replace_all(&tx)?,
        run_id,
        count: 0,
        errors: 0,
        by_rule: BTreeMap::new(),
        cfg,
    };

    // Agent findings, one per agent that owns shifts or trades.
    for (a, c) in export_agents.iter().zip(agent_ctx.iter()) {
        match &c.res.issue {
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
                }
                let (message, candidates) = match issue {
                    AgentIssue::Unmapped(m) => (m.clone(), vec![]),
                    AgentIssue::Ambiguous {
                        message,
                        candidates,
                    } => (message.clone(), candidates.clone()),
                };
                sink.push(Finding {
                    rule: issue.rule(),
                    severity: Severity::Error,
                    file: a.file.clone().or_else(|| agents_file.clone()),
                    line: a.line,
                    record_id: Some(a.agent_id.clone()),
                    field: Some(if a.email.is_some() {
                        "email"
                    } else {
                        "agent_id"
                    }),
                    value: a.email.clone().or_else(|| Some(a.agent_id.clone())),
                    timezone: None,
                    candidates,
                    message,
                    help: agents::help(issue).to_string(),
                })?;
            }
        }
    }

    // Shifts: three sorted streams merge-joined by shift id, on three threads: a reader (shifts and
    // tasks in shift-id order, grouped per id), a mapper, and this thread, which merges the
    // results with the previous desired state and writes. The content hash is computed by
    // whichever has less to do: the mapper on a first load (every row is written), the writer
    // otherwise (most rows are only compared). They are connected by bounded channels of batches,
    // so memory stays bounded whatever the export's size.
    {
        type OldRow = rusqlite::Result<desired::Stored>;
        let mut old_st = old
            .as_ref()
            .map(desired::StoredShifts::prepare)
            .transpose()?;
        let olds: Box<dyn Iterator<Item = OldRow> + '_> = match old_st.as_mut() {
            Some(st) => Box::new(st.rows()?),
            None => Box::new(std::iter::empty()),
        };
        let mut olds = olds.peekable();
        // A first run into an empty table: drop the secondary indexes and build them again once
        // the rows are in (one sorted build instead of 1.3 million random inserts each), in the
        // same transaction, from their own definitions.
        let rebuild: Vec<(String, String)> = if olds.peek().is_none() {
            desired::drop_indexes(&tx)?
        } else {
            Vec::new()
        };
        let mut writer = desired::ShiftWriter::new(&tx)?;
        let kinds = Kinds::load(&tx)?;

        let shared = Shared {
            cfg,
            files,
            agent_idx: &agent_idx,
            agents: &agent_ctx,
            bus: &bus,
            overrides: &overrides,
            default_tz: default_tz.as_deref(),
        };
        let no_file = String::new();
        let (produced, written) = std::thread::scope(|scope| -> Result<_> {
            let (btx, brx) = std::sync::mpsc::sync_channel::<Batch>(8);
            let shared = &shared;
            let (rtx, rrx) = std::sync::mpsc::sync_channel::<RawBatch>(4);
            let (recycle_tx, recycle_rx) = std::sync::mpsc::sync_channel::<RawBatch>(8);
            let spawn_failed =
                |e: std::io::Error| Error::failure(format!("cannot start a thread: {e}"), None);
            let reader = std::thread::Builder::new()
                .name("map-read".into())
                .spawn_scoped(scope, move || read_groups(snap, rtx, recycle_rx))
                .map_err(spawn_failed)?;
            let zones = &mut zones;
            let mapper = std::thread::Builder::new()
                .name("map-shift".into())
                .spawn_scoped(scope, move || {
                    map_groups(shared, zones, first_load, kinds, rrx, recycle_tx, btx)
                })
                .map_err(spawn_failed)?;
            let written = (|| -> Result<()> {
                for (new_kinds, batch) in brx {
                    for (kind, code, desc) in new_kinds {
                        writer.add_kind(kind, &code, &desc)?;
                    }
                    for m in batch {
                        let id = m.id;
                        // Previous state before this id: removed.
                        let mut previous: Option<(i64, String, i64)> = None;
                        while let Some(Ok((oid, _, _, _))) = olds.peek() {
                            if oid.as_str() > id.as_str() {
                                break;
                            }
                            let (oid, h, old_file, old_line) = olds.next().expect("peeked")?;
                            if oid == id {
                                previous = Some((h, old_file, old_line));
                            } else {
                                writer.delete(&oid)?;
                                out.shifts.removed += 1;
                                out.shifts.note("removed", &oid);
                            }
                        }
                        if let Some(Err(_)) = olds.peek() {
                            olds.next().expect("peeked")?;
                        }
                        let Some(mut d) = m.desired else {
                            out.drafts_skipped += m.drafts;
                            if previous.is_some() {
                                writer.delete(&id)?;
                                out.shifts.removed += 1;
                                out.shifts.note("removed", &id);
                            }
                            continue;
                        };
                        for f in m.findings {
                            sink.push(f)?;
                        }
                        if !first_load {
                            d.hash = content_hash(&d, &m.exported_agent_id);
                        }
                        let file = files.get(&m.file_id).unwrap_or(&no_file);
                        match &d.held_back {
                            None => {
                                out.shifts_mapped += 1;
                                out.activities += d.n_activities;
                            }
                            Some(r) => {
                                out.shifts_held_back += 1;
                                *out.held_back_by_reason.entry(r.to_string()).or_default() += 1;
                            }
                        }
                        match previous {
                            Some((h, old_file, old_line)) if h == d.hash => {
                                out.shifts.unchanged += 1;
                                if old_file != *file || old_line != m.line {
                                    writer.relocate(&id, file, m.line)?;
                                }
                            }
                            prev => {
                                if prev.is_some() {
                                    out.shifts.updated += 1;
                                    out.shifts.note("updated", &id);
                                } else {
                                    out.shifts.inserted += 1;
                                    out.shifts.note("inserted", &id);
                                }
                                let mut week = [0u8; 10];
                                writer.upsert(&desired::ShiftRow {
                                    legacy_shift_id: &id,
                                    agent_id: d.owner_override.unwrap_or(&m.exported_agent_id),
                                    exported_agent_id: &m.exported_agent_id,
                                    user_id: d.user_id,
                                    business_unit_id: d.bu,
                                    management_unit_id: d.mu,
                                    week_id: d
                                        .week
                                        .map(|w| timeval::date_str(w, &mut week))
                                        .as_deref(),
                                    start_utc: d.start,
                                    length_minutes: d.length,
                                    activities: &d.activities,
                                    file,
                                    line: m.line,
                                    run_id,
                                    content_hash: d.hash,
                                    held_back_reason: d.held_back,
                                })?;
                            }
                        }
                    }
                }
                Ok(())
            })();
            let mapped = mapper.join().expect("map thread panicked");
            let read = reader.join().expect("map reading thread panicked");
            // The first error in stream order: reading, then mapping.
            let produced = match (read, mapped) {
                (Err(e), _) | (Ok(_), Err(e)) => Err(e),
                (Ok(counts), Ok(())) => Ok(counts),
            };
            Ok((produced, written))
        })?;
        // A reading error ends the stream early: report it rather than what the writer made of
        // the shortened stream.
        written?;
        let (shifts_read, tasks_read) = produced?;
        out.shifts_read = shifts_read;
        out.tasks_read = tasks_read;
        for o in olds {
            let (oid, _, _, _) = o?;
            writer.delete(&oid)?;
            out.shifts.removed += 1;
            out.shifts.note("removed", &oid);
        }
        lap("shifts streamed");
        if !rebuild.is_empty() {
            // The reader and mapper are done: SQLite's sorter may use the second core (the week
            // index of the benchmark export: 0.90 s instead of 1.19 s in the sqlite3 shell).
            tx.pragma_update(None, "threads", 2)?;
        }
        desired::rebuild_indexes(&tx, &rebuild)?;
        lap("indexes built");
    }

    // ---- crosswalk: agents ----------------------------------------------------------------------
    {
        let mut st = crate::store::crosswalk::AgentWriter::new(&tx)?;
        for (a, c) in export_agents.iter().zip(agent_ctx.iter()) {
            let r = &c.res;
            let (how, cands) = match &r.issue {
                Some(AgentIssue::Ambiguous { candidates, .. }) => (
                    "ambiguous".to_string(),
                    Some(serde_json::to_string(candidates).expect("strings serialize")),
                ),
                Some(AgentIssue::Unmapped(_)) if r.user_id.is_none() => ("unmapped".into(), None),
                _ => (r.resolved_by.clone(), None),
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
                resolved_by: &how,
                candidates: cands.as_deref(),
                run_id,
            })?;
        }
    }

    // ---- crosswalk: trades ----------------------------------------------------------------------
    {
        let user_of = |agent: &str| -> Option<String> {
            let c = &agent_ctx[*agent_idx.get(agent)?];
            if c.res.issue.is_some() {
                None
            } else {
                c.res.user_id.clone()
            }
        };
        let mut st = crate::store::crosswalk::TradeWriter::new(&tx)?;
        let mut seen: HashSet<&str> = HashSet::new();
        for ((t, _line), a) in trade_rows.iter().zip(actions.iter()) {
            if !seen.insert(t.trade_id.as_str()) {
                continue;
            }
            *out.trades_by_action
                .entry(a.action.to_string())
                .or_default() += 1;
            let (requester_user, recipient_user) = (
                user_of(&t.requester_agent_id),
                user_of(&t.recipient_agent_id),
            );
            out.trades_changed += st.upsert(&crate::store::crosswalk::TradeLink {
                trade_id: &t.trade_id,
                swap_request_id: &t.swap_request_id,
                legacy_status: &t.status,
                requester_agent_id: &t.requester_agent_id,
                requester_user_id: requester_user.as_deref(),
                requester_shift_id: &t.requester_shift_id,
                recipient_agent_id: &t.recipient_agent_id,
                recipient_user_id: recipient_user.as_deref(),
                recipient_shift_id: t.recipient_shift_id.as_deref(),
                action: a.action,
                note: a.note.as_deref(),
                run_id,
            })?;
        }
        // Trades no longer in the export stay in the crosswalk, marked.
        let ids: Vec<&str> = seen.into_iter().collect();
        drop(st);
        out.trades_changed +=
            crate::store::crosswalk::mark_trades_not_in_export(&tx, &ids, run_id)?;
    }
    // ---- time off ---------------------------------------------------------------------------------
    {
        let migration = crate::store::migration_id(&tx)?;
        let in_file = |a: &str| {
            agent_idx
                .get(a)
                .is_some_and(|&i| export_agents[i].line.is_some())
        };
        let ctx = time_off::Ctx {
            cfg,
            files,
            agent_idx: &agent_idx,
            agents: &agent_ctx,
            in_agents_file: &in_file,
            bus: &bus,
            default_tz: default_tz.as_deref(),
            migration_id: &migration,
        };
        let mut shifts_st = desired::AgentShifts::prepare(&tx)?;
        let mut shifts_of = |a: &str| shifts_st.of(a);
        let mut m = time_off::map_all(&ctx, &time_off_rows, &mut zones, &mut shifts_of)?;
        drop(shifts_st);
        for f in std::mem::take(&mut m.findings) {
            sink.push(f)?;
        }
        write_time_off(&tx, &m, run_id, &mut out)?;
    }
    // Which snapshot the desired state is of (load refuses a desired state of another one).
    desired::set_mapped_snapshot(&tx, snapshot_id)?;
    // What this run used: the record `validate` and `load` compare with (see [`current`]).
    current::record(
        &tx,
        &current::MapInputs {
            run_id,
            snapshot_id: snapshot_id.to_string(),
            config_sha256: inputs.config_sha256.clone(),
            mappings_dir: std::fs::canonicalize(mappings)
                .unwrap_or_else(|_| mappings.to_path_buf())
                .display()
                .to_string(),
            tables: inputs.tables.clone(),
            online: out.online,
            cache_generation: current::cache_generation(&tx)?,
        },
    )?;
    out.findings = sink.count;
    out.errors = sink.errors;
    out.findings_by_rule = sink.by_rule.clone();
    drop(sink);
    lap("crosswalk written");
    tx.commit()?;
    lap("committed");
    if let Some(c) = &client {
        let mut on = online::Online::new(c, state, run_id, opts.refresh)?;
        out.trades_changed += on.link_trades(run_id)?;
        out.online_calls += on.fetched;
        out.online_cache_hits += on.hits;
    }
    Ok(out)
}

/// Write the time-off pass: `desired_time_off` converges on `m.desired` (a row whose content hash
/// is unchanged is not written), `xw_time_off` keeps every request ever exported (the Genesys id
/// load filled in is kept; a request gone from the export is marked `not-in-export`).
fn write_time_off(
    tx: &Connection,
    m: &time_off::Mapped,
    run_id: i64,
    out: &mut MapOutcome,
) -> Result<()> {
    let old: HashMap<String, String> = {
        let mut st =
            tx.prepare("SELECT time_off_request_id, content_hash FROM desired_time_off")?;
        st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?
    };
    let mut up = tx.prepare(
        "INSERT OR REPLACE INTO desired_time_off(time_off_request_id, file, line, agent_id, user_id,
            management_unit_id, business_unit_id, activity_code_id, status, full_day_dates, partial_starts,
            daily_minutes, paid, notes, content_hash, held_back, run_id)
         VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17)",
    )?;
    let mut relocate = tx.prepare(
        "UPDATE desired_time_off SET file = ?2, line = ?3 WHERE time_off_request_id = ?1
         AND (file IS NOT ?2 OR line IS NOT ?3)",
    )?;
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
            relocate.execute(params![d.id, d.file, d.line])?;
            continue;
        }
        out.time_off.changed += 1;
        up.execute(params![
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
            h,
            d.held_back,
            run_id
        ])?;
    }
    let mut del = tx.prepare("DELETE FROM desired_time_off WHERE time_off_request_id = ?1")?;
    for id in old.keys().filter(|k| !seen.contains(k.as_str())) {
        del.execute([id])?;
        out.time_off.changed += 1;
    }
    let mut xw = tx.prepare(
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
    )?;
    let mut ids: HashSet<&str> = HashSet::new();
    for x in &m.xw {
        ids.insert(&x.id);
        if x.action == "not-loaded" {
            out.time_off.not_loaded += 1;
        }
        xw.execute(params![
            x.id,
            x.agent_id,
            x.user_id,
            x.management_unit_id,
            x.business_unit_id,
            x.status,
            x.action,
            run_id
        ])?;
    }
    let gone: Vec<String> = {
        let mut st = tx.prepare(
            "SELECT time_off_request_id FROM xw_time_off WHERE action != 'not-in-export'",
        )?;
        st.query_map([], |r| r.get::<_, String>(0))?
            .collect::<rusqlite::Result<Vec<_>>>()?
            .into_iter()
            .filter(|id| !ids.contains(id.as_str()))
            .collect()
    };
    for id in gone {
        tx.execute(
            "UPDATE xw_time_off SET action = 'not-in-export', run_id = ?2 WHERE time_off_request_id = ?1",
            params![id, run_id],
        )?;
    }
    Ok(())
}

/// One shift id as the mapping thread hands it to the writer.
struct Mapped<'a> {
    id: String,
    /// `None`: a draft, skipped (`drafts` rows).
    desired: Option<Desired<'a>>,
    drafts: u64,
    file_id: i64,
    line: i64,
    exported_agent_id: String,
    /// What mapping it found, in order.
    findings: Vec<Finding>,
}

/// Shifts per batch sent to the writer.
const BATCH: usize = 1024;

/// What the mapping thread sends the writer: the activity kinds first used in the batch (to
/// insert before its rows), and the batch.
type Batch<'a> = (Vec<(i64, String, String)>, Vec<Mapped<'a>>);

/// Copy a text column into a reused buffer; `false` for NULL.
fn text_into(v: rusqlite::types::ValueRef<'_>, buf: &mut String) -> rusqlite::Result<bool> {
    buf.clear();
    match v {
        rusqlite::types::ValueRef::Null => Ok(false),
        _ => {
            buf.push_str(v.as_str()?);
            Ok(true)
        }
    }
}

/// Shift groups read from the snapshot, handed from the reading thread to the mapping thread.
/// The buffers go back to the reader once mapped, so rows are read into reused strings.
#[derive(Default)]
struct RawBatch {
    shifts: Vec<ShiftRow>,
    tasks: Vec<TaskRow>,
    /// Per shift id: (first shift row, shift rows, first task row, task rows).
    groups: Vec<(usize, usize, usize, usize)>,
    /// Rows in use (the vectors may hold more, kept for reuse).
    n_shifts: usize,
    n_tasks: usize,
}

impl RawBatch {
    fn clear(&mut self) {
        self.groups.clear();
        self.n_shifts = 0;
        self.n_tasks = 0;
    }

    fn next_shift(&mut self) -> &mut ShiftRow {
        if self.n_shifts == self.shifts.len() {
            self.shifts.push(ShiftRow::default());
        }
        self.n_shifts += 1;
        &mut self.shifts[self.n_shifts - 1]
    }

    fn next_task(&mut self) -> &mut TaskRow {
        if self.n_tasks == self.tasks.len() {
            self.tasks.push(TaskRow::default());
        }
        self.n_tasks += 1;
        &mut self.tasks[self.n_tasks - 1]
    }
}

fn fill_shift(r: &rusqlite::Row<'_>, s: &mut ShiftRow) -> rusqlite::Result<()> {
    s.file_id = r.get(0)?;
    s.line = r.get(1)?;
    text_into(r.get_ref(2)?, &mut s.shift_id)?;
    text_into(r.get_ref(3)?, &mut s.agent_id)?;
    s.start = r.get(4)?;
    s.end = r.get(5)?;
    s.fmt = r.get(6)?;
    let mut tz = s.timezone.take().unwrap_or_default();
    if text_into(r.get_ref(7)?, &mut tz)? {
        s.timezone = Some(tz);
    }
    s.published = r.get(8)?;
    Ok(())
}

/// The reading thread: shifts and tasks in shift-id order, each id's rows grouped with its tasks
/// (tasks of ids with no shift are skipped: validate reports them), sent in batches of [`BATCH`]
/// ids. Returns the shift and task rows read.
fn read_groups(
    snap: Connection,
    to_mapper: std::sync::mpsc::SyncSender<RawBatch>,
    recycled: std::sync::mpsc::Receiver<RawBatch>,
) -> Result<(u64, u64)> {
    let stopped = || Error::failure("the map thread stopped", None);
    let mut shifts_st = snap.prepare(
        "SELECT file_id, line, shift_id, agent_id, start, end, fmt, timezone, published FROM shifts ORDER BY shift_id",
    )?;
    let mut tasks_st = snap.prepare(
        "SELECT file_id, line, task_id, shift_id, name, start, end, fmt FROM tasks ORDER BY shift_id",
    )?;
    let mut shifts = shifts_st.query([])?;
    let mut tasks = tasks_st.query([])?;
    let (mut shifts_read, mut tasks_read) = (0u64, 0u64);
    let mut batch = RawBatch::default();
    let mut row = shifts.next()?;
    let mut task = tasks.next()?;
    while let Some(r) = row {
        // One shift id: its rows, then its tasks.
        let first = batch.n_shifts;
        fill_shift(r, batch.next_shift())?;
        shifts_read += 1;
        loop {
            row = shifts.next()?;
            let Some(r) = row else { break };
            let sid = r.get_ref(2)?.as_str().map_err(rusqlite::Error::from)?;
            if sid != batch.shifts[first].shift_id {
                break;
            }
            fill_shift(r, batch.next_shift())?;
            shifts_read += 1;
        }
        let first_task = batch.n_tasks;
        while let Some(r) = task {
            let sid = r.get_ref(3)?.as_str().map_err(rusqlite::Error::from)?;
            let id = batch.shifts[first].shift_id.as_str();
            if sid > id {
                break;
            }
            tasks_read += 1;
            if sid == id {
                let t = batch.next_task();
                t.file_id = r.get(0)?;
                t.line = r.get(1)?;
                t.has_task_id = text_into(r.get_ref(2)?, &mut t.task_id)?;
                text_into(r.get_ref(4)?, &mut t.name)?;
                t.start = r.get(5)?;
                t.end = r.get(6)?;
                t.fmt = r.get(7)?;
            }
            task = tasks.next()?;
        }
        batch.groups.push((
            first,
            batch.n_shifts - first,
            first_task,
            batch.n_tasks - first_task,
        ));
        if batch.groups.len() == BATCH {
            let mut next = recycled.try_recv().unwrap_or_default();
            next.clear();
            let full = std::mem::replace(&mut batch, next);
            to_mapper.send(full).map_err(|_| stopped())?;
        }
    }
    while task.is_some() {
        tasks_read += 1;
        task = tasks.next()?;
    }
    if !batch.groups.is_empty() {
        to_mapper.send(batch).map_err(|_| stopped())?;
    }
    Ok((shifts_read, tasks_read))
}

/// The mapping thread: map each shift id of the reader's batches and send the results to the
/// writer in batches (computing the content hash when `hash_here`: on a first load the writer has
/// more to do).
fn map_groups<'a>(
    sh: &Shared<'a>,
    zones: &mut Zones,
    hash_here: bool,
    mut kinds: Kinds,
    from_reader: std::sync::mpsc::Receiver<RawBatch>,
    recycle: std::sync::mpsc::SyncSender<RawBatch>,
    to_writer: std::sync::mpsc::SyncSender<Batch<'a>>,
) -> Result<()> {
    let stopped = || Error::failure("the map writer stopped", None);
    for raw in from_reader {
        let mut out: Vec<Mapped<'a>> = Vec::with_capacity(raw.groups.len());
        for &(s0, ns, t0, nt) in &raw.groups {
            let group = &raw.shifts[s0..s0 + ns];
            let draft = group.iter().all(|s| s.published == Some(0));
            let mut m = Mapped {
                id: group[0].shift_id.clone(),
                desired: None,
                drafts: 0,
                file_id: group[0].file_id,
                line: group[0].line,
                exported_agent_id: group[0].agent_id.clone(),
                findings: Vec::new(),
            };
            if draft && !sh.cfg.include_drafts {
                m.drafts = ns as u64;
            } else {
                m.desired = Some(map_shift(
                    sh,
                    group,
                    &raw.tasks[t0..t0 + nt],
                    zones,
                    &mut kinds,
                    &mut m.findings,
                ));
            }
            if hash_here && let Some(d) = m.desired.as_mut() {
                d.hash = content_hash(d, &m.exported_agent_id);
            }
            out.push(m);
        }
        // The reader may have stopped (an error); its buffers are then simply dropped.
        let _ = recycle.try_send(raw);
        to_writer
            .send((kinds.take_new(), out))
            .map_err(|_| stopped())?;
    }
    Ok(())
}

/// Trades of the snapshot in file order, with their line.
fn read_trades(snap: &Connection) -> Result<Vec<(trades::TradeIn, i64)>> {
    let mut st = snap.prepare(
        "SELECT trade_id, swap_request_id, status, requester_agent_id, requester_shift_id, recipient_agent_id,
                recipient_shift_id, line FROM trades ORDER BY file_id, line",
    )?;
    let rows = st
        .query_map([], |r| {
            Ok((
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
            ))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

struct FindingSink<'c, 'a> {
    stmt: crate::store::findings::FindingWriter<'c>,
    run_id: i64,
    count: u64,
    errors: u64,
    by_rule: BTreeMap<String, u64>,
    cfg: &'a Config,
}

impl FindingSink<'_, '_> {
    fn push(&mut self, f: Finding) -> Result<()> {
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

/// Read-only context of the shift loop.
struct Shared<'a> {
    cfg: &'a Config,
    files: &'a HashMap<i64, String>,
    agent_idx: &'a FxHashMap<String, usize>,
    agents: &'a [AgentCtx],
    bus: &'a FxHashMap<String, BuInfo>,
    overrides: &'a HashMap<String, String>,
    default_tz: Option<&'a str>,
}

/// The desired row of one shift. Texts that every shift of an agent shares are borrowed from the
/// mapping context, not copied per shift.
struct Desired<'a> {
    /// The owner when a pending-trade policy changed it (else the exported agent).
    owner_override: Option<&'a str>,
    user_id: Option<&'a str>,
    bu: Option<&'a str>,
    mu: Option<&'a str>,
    week: Option<chrono::NaiveDate>,
    start: Option<i64>,
    length: Option<i64>,
    activities: String,
    n_activities: u64,
    held_back: Option<&'static str>,
    hash: i64,
}

/// Resolve one value of a row; push a finding for a DST problem.
#[allow(clippy::too_many_arguments)]
fn resolve_field(
    v: TimeVal,
    tz: Result<Tz, TimeIssue>,
    tz_name: Option<&str>,
    policy: DstPolicy,
    file: Option<&String>,
    line: i64,
    record: &str,
    field: &'static str,
    sink: &mut Vec<Finding>,
    offsets: &mut timeval::OffsetCache,
) -> std::result::Result<i64, TimeIssue> {
    let r = dst::resolve_value_with(v, tz, policy, |tz, n| offsets.resolve(tz, n));
    if let Some(d) = dst::finding(v, tz_name.unwrap_or("?"), &r, policy) {
        sink.push(Finding {
            rule: d.rule,
            severity: d.severity,
            file: file.cloned(),
            line: Some(line as u64),
            record_id: Some(record.to_string()),
            field: Some(field),
            value: Some(timeval::render(v)),
            timezone: tz_name.map(str::to_string),
            candidates: d.candidates,
            message: d.message,
            help: d.help,
        });
    }
    r.map(|i| i.utc)
}

fn map_shift<'a>(
    sh: &Shared<'a>,
    group: &[ShiftRow],
    tasks: &[TaskRow],
    zones: &mut Zones,
    kinds: &mut Kinds,
    sink: &mut Vec<Finding>,
) -> Desired<'a> {
    let s = &group[0];
    let policy = sh.cfg.dst_ambiguous;
    let owner_override = sh.overrides.get(&s.shift_id).map(String::as_str);
    let owner = owner_override.unwrap_or(&s.agent_id);
    let agent = sh.agent_idx.get(owner).map(|&i| &sh.agents[i]);
    let mut held: Option<&'static str> = None;
    let mut hold = |r: &'static str| {
        if held.is_none() {
            held = Some(r);
        }
    };
    if group.len() > 1 && group.iter().any(|g| !g.same_content(s)) {
        hold("conflicting-shift-id");
    }
    let res = agent.map(|a| &a.res);
    match res.and_then(|r| r.issue.as_ref()) {
        Some(i) => hold(i.rule()),
        None if res.is_none() => hold("unmapped-agent"),
        None => {}
    }
    // Zone chain: row → agent → location → default.
    let zone = zone_name(
        s.timezone.as_deref(),
        agent.and_then(|a| a.tz.as_deref()),
        agent.and_then(|a| a.location_tz.as_deref()),
        sh.default_tz,
    );
    let tz = zones.tz_named(zone.map(|z| z.0));
    let tz_name = zone.map(|z| z.0);
    let file = sh.files.get(&s.file_id);
    let sv = TimeVal {
        secs: s.start,
        fmt: (s.fmt & 0xff) as u8,
    };
    let ev = TimeVal {
        secs: s.end,
        fmt: ((s.fmt >> 8) & 0xff) as u8,
    };
    let start = resolve_field(
        sv,
        tz,
        tz_name,
        policy,
        file,
        s.line,
        &s.shift_id,
        sv.column(true),
        sink,
        &mut zones.offsets,
    );
    let end = resolve_field(
        ev,
        tz,
        tz_name,
        policy,
        file,
        s.line,
        &s.shift_id,
        ev.column(false),
        sink,
        &mut zones.offsets,
    );
    let mut task_times: Vec<Option<(i64, i64)>> = Vec::with_capacity(tasks.len());
    for t in tasks {
        let tf = sh.files.get(&t.file_id);
        let rid = t.task_id().unwrap_or(&s.shift_id);
        let a = TimeVal {
            secs: t.start,
            fmt: (t.fmt & 0xff) as u8,
        };
        let b = TimeVal {
            secs: t.end,
            fmt: ((t.fmt >> 8) & 0xff) as u8,
        };
        let ta = resolve_field(
            a,
            tz,
            tz_name,
            policy,
            tf,
            t.line,
            rid,
            a.column(true),
            sink,
            &mut zones.offsets,
        );
        let tb = resolve_field(
            b,
            tz,
            tz_name,
            policy,
            tf,
            t.line,
            rid,
            b.column(false),
            sink,
            &mut zones.offsets,
        );
        task_times.push(match (ta, tb) {
            (Ok(a), Ok(b)) => Some((a, b)),
            (Err(e), _) | (_, Err(e)) => {
                hold(issue_reason(e));
                None
            }
        });
    }
    let (start, end) = match (start, end) {
        (Ok(a), Ok(b)) => (Some(a), Some(b)),
        (Err(e), _) | (_, Err(e)) => {
            hold(issue_reason(e));
            (None, None)
        }
    };
    let mut week = None;
    let mut length = None;
    let mut activities = String::from("[]");
    let mut n_activities = 0;
    let bu = res
        .filter(|r| r.issue.is_none())
        .and_then(|r| r.business_unit_id.as_deref());
    let bu_info = bu.and_then(|b| sh.bus.get(b));
    if let (Some(a), Some(b)) = (start, end) {
        if b <= a {
            hold("shift-end-before-start");
        } else if a % 60 != 0 || b % 60 != 0 || sv.has_sub_minute() || ev.has_sub_minute() {
            hold("sub-minute-time");
        } else {
            length = Some((b - a) / 60);
        }
        if let Some(info) = bu_info {
            week = Some(core::week_id_with(a, info.tz, info.start_day, |tz, u| {
                zones.offsets.to_local(tz, u)
            }));
        }
    }
    if let (Some(a), Some(b), Some(info)) = (start, end, bu_info)
        && length.is_some()
        && task_times.iter().all(Option::is_some)
    {
        let tin: Vec<TaskIn<'_>> = tasks
            .iter()
            .zip(task_times.iter())
            .map(|(t, tt)| {
                let (ts, te) = tt.expect("checked above");
                TaskIn {
                    task_id: t.task_id(),
                    name: &t.name,
                    start: ts,
                    end: te,
                    code: info.codes.get(&t.name).map(String::as_str),
                }
            })
            .collect();
        let default = info.default.as_ref().map(|(c, n)| (c.as_str(), n.as_str()));
        match core::build_activities(a, b, &tin, default) {
            Ok(acts) => {
                n_activities = acts.len() as u64;
                activities = activities_compact(&acts, a, kinds);
                if acts.iter().any(|x| x.start % 60 != 0) {
                    hold("sub-minute-time");
                }
            }
            Err(issues) => {
                let gaps = issues
                    .iter()
                    .filter(|i| matches!(i, core::ActivityIssue::Uncovered { .. }))
                    .count();
                let mut gap_reported = false;
                for i in issues {
                    let f = match i {
                        core::ActivityIssue::TaskOutside(k) => {
                            hold("task-outside-shift");
                            let t = &tasks[k];
                            Finding {
                                rule: "task-outside-shift",
                                severity: Severity::Error,
                                file: sh.files.get(&t.file_id).cloned(),
                                line: Some(t.line as u64),
                                record_id: Some(t.task_id().unwrap_or(&s.shift_id).to_string()),
                                field: None,
                                value: Some(t.name.clone()),
                                timezone: tz_name.map(str::to_string),
                                candidates: vec![],
                                message: format!(
                                    "task `{}` ({} – {}) does not lie inside shift `{}` ({} – {}); the shift is held back",
                                    t.name,
                                    timeval::utc_string(tin[k].start),
                                    timeval::utc_string(tin[k].end),
                                    s.shift_id,
                                    timeval::utc_string(a),
                                    timeval::utc_string(b)
                                ),
                                help: "correct the task's or the shift's times in the export"
                                    .into(),
                            }
                        }
                        core::ActivityIssue::Unmapped(k) => {
                            hold("unmapped-activity");
                            let t = &tasks[k];
                            Finding {
                                rule: "unmapped-activity",
                                severity: Severity::Error,
                                file: sh.files.get(&t.file_id).cloned(),
                                line: Some(t.line as u64),
                                record_id: Some(t.task_id().unwrap_or(&s.shift_id).to_string()),
                                field: Some("name"),
                                value: Some(t.name.clone()),
                                timezone: None,
                                candidates: vec![],
                                message: format!(
                                    "task `{}` has no Genesys activity code in business unit `{}`; the shift is held back",
                                    t.name,
                                    bu.unwrap_or_default()
                                ),
                                help: format!(
                                    "add `{}` to mappings/activities.csv (exact, case-sensitive name)",
                                    t.name
                                ),
                            }
                        }
                        core::ActivityIssue::Uncovered { start: ua, end: ub } => {
                            hold("unmapped-activity");
                            // One finding per shift row, naming the first uncovered part.
                            if gap_reported {
                                continue;
                            }
                            gap_reported = true;
                            Finding {
                                rule: "unmapped-activity",
                                severity: Severity::Error,
                                file: file.cloned(),
                                line: Some(s.line as u64),
                                record_id: Some(s.shift_id.clone()),
                                field: None,
                                value: None,
                                timezone: None,
                                candidates: vec![],
                                message: format!(
                                    "{} – {} of shift `{}`{} is covered by no task and no default activity applies in business unit `{}`; the shift is held back",
                                    timeval::utc_string(ua),
                                    timeval::utc_string(ub),
                                    s.shift_id,
                                    if gaps > 1 {
                                        format!(" (and {} more parts)", gaps - 1)
                                    } else {
                                        String::new()
                                    },
                                    bu.unwrap_or_default()
                                ),
                                help: match &sh.cfg.default_activity {
                                    Some(n) => format!(
                                        "map the default activity `{n}` in mappings/activities.csv (zendesk_task_name = `{n}`)"
                                    ),
                                    None => "set `default_activity` in zd2gc.toml".into(),
                                },
                            }
                        }
                    };
                    sink.push(f);
                }
            }
        }
    }
    let user_id = res
        .filter(|r| r.issue.is_none())
        .and_then(|r| r.user_id.as_deref());
    let mu = res
        .filter(|r| r.issue.is_none())
        .and_then(|r| r.management_unit_id.as_deref());
    Desired {
        owner_override,
        user_id,
        bu,
        mu,
        week,
        start,
        length,
        activities,
        n_activities,
        held_back: held,
        hash: 0,
    }
}

/// The content hash of a desired row (`desired_shifts.content_hash`): what a re-run compares.
fn content_hash(d: &Desired<'_>, exported_agent_id: &str) -> i64 {
    let mut week = [0u8; 10];
    let week = d.week.map(|w| timeval::date_str(w, &mut week));
    core::row_hash(&core::RowContent {
        agent_id: d.owner_override.unwrap_or(exported_agent_id),
        exported_agent_id,
        user_id: d.user_id,
        business_unit_id: d.bu,
        management_unit_id: d.mu,
        week_id: week.as_deref(),
        start_utc: d.start,
        length_minutes: d.length,
        activities: &d.activities,
        held_back_reason: d.held_back,
    })
}

fn issue_reason(e: TimeIssue) -> &'static str {
    match e {
        TimeIssue::NoZone => "missing-timezone",
        TimeIssue::UnknownZone => "unknown-timezone",
        TimeIssue::Ambiguous(..) => "dst-ambiguous",
        TimeIssue::Nonexistent => "dst-nonexistent",
    }
}
