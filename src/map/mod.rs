//! `zd2gc map`: turn the staged export (snapshot.db) into the desired Genesys state and fill the
//! crosswalk (zd2gc.db).
//!
//! Inputs: the snapshot, the mapping tables (`mappings/`, see [`tables`]), the configuration, and
//! with `--online` Genesys Cloud itself (see [`online`], cached). Outputs, all in zd2gc.db:
//! - `desired_shifts`: per legacy shift, the owner's Genesys user, business and management unit,
//!   week id, `start_utc` (UTC seconds) and `length_minutes`, its activities (a terse text over the
//!   dictionary `activity_kinds`, see [`desired::activities_compact`]; the content hash covers their
//!   JSON; the view `desired_activities` unfolds them), or the reason it is held back; `meta.mapped_snapshot_id` names the snapshot mapped;
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
mod contexts;
pub mod core;
pub mod current;
pub mod online;
mod pipeline;
mod prepare;
mod shift;
pub mod tables;
pub mod time_off;
pub mod trades;
mod write;

use shift::{issue_reason, resolve_field};

use crate::config::{Config, Severity};
use crate::error::{Error, Result};
use crate::store::desired;
use crate::timeval::zone::Zones;
use chrono::Weekday;
use chrono_tz::Tz;
use contexts::AgentContexts;
use rusqlite::{Connection, OptionalExtension};
use rustc_hash::FxHashMap;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
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
    /// Where map counts the shifts it has read (a progress display; none by default).
    pub progress: crate::ui::Counter,
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
    /// Agents with a user and a business unit but no management unit (`unmapped-management-unit`).
    pub agents_without_management_unit: u64,
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
    // 4 MB of page cache: map reads the snapshot mostly in order, and a bigger cache only made its
    // RSS grow with the export, no faster (128 MB → 16 MB: first run at 1.3 M shifts 174 → 126 MB;
    // 16 MB → 4 MB: unchanged re-run 68-70 → 54-56 MB, tenth 36-41 → 30-31 MB; same CPU).
    snap.execute_batch("PRAGMA cache_size = -4096; PRAGMA temp_store = MEMORY;")?;
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
        tables,
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
    tables: tables::Tables,
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

    // ---- agents, online, business units -------------------------------------------------------
    let prepare::Export {
        agents: export_agents,
        idx: agent_idx,
        time_off: time_off_rows,
    } = prepare::read_export(&snap, files)?;
    let agent_idx = &agent_idx;
    let mut res = agents::resolve_offline(&export_agents, &tables);
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
    let bus = prepare::business_units(cfg, &tables, &res, online.as_mut())?;
    agents::finish(
        &export_agents,
        &mut res,
        &|b| bus.contains_key(b),
        out.online,
    );
    if let Some(on) = &online {
        out.online_calls = on.fetched;
        out.online_cache_hits = on.hits;
    }
    drop(online);
    let mut zones = Zones::default();
    let default_tz = cfg.default_timezone.clone();
    let loc_tz = prepare::location_zones(&tables);
    // Everything the shifts need of the tables is in the resolutions and the units now (the
    // rows of agents.csv: 3.2 MB at 10,000 agents, held through the stream until now).
    drop(tables);
    let (applied, overrides) = prepare::decide_trades(&snap, cfg)?;

    // ---- the write transaction ----------------------------------------------------------------
    let first_load = write::begin_first_load(state)?;
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
    let mut sink = write::FindingSink::new(&tx, run_id, cfg)?;
    write::agent_findings(&export_agents, &res, agents_file, &mut sink, &mut out)?;
    // The crosswalks of agents and trades before the shifts (they need neither), so that the
    // export's agents, their resolutions and `apply`'s decisions are not held through the stream
    // and the index build: only each agent's context for its shifts is (the agents' rows and
    // resolutions: ~3.5 MB at 10,000 agents with long user ids). Their pages go through a cache
    // of 4 MB, as the first run's (a re-run's 64 MB cache kept every page of xw_trades it read:
    // 7.5 MB at 26,000 trades with long ids, the re-run's peak).
    let cache: i64 = tx.query_row("PRAGMA cache_size", [], |r| r.get(0))?;
    tx.execute_batch("PRAGMA cache_size = -4096;")?;
    write::xw_agents(&tx, &export_agents, &res, run_id, &mut out)?;
    let agent_ctx = AgentContexts::new(&loc_tz, &export_agents, res);
    drop(loc_tz);
    drop(export_agents);
    write::xw_trades(
        &tx,
        &snap,
        (cfg.pending_trades, applied.as_deref()),
        (&agent_ctx, agent_idx),
        run_id,
        &mut out,
    )?;
    drop(applied);
    tx.pragma_update(None, "cache_size", cache)?;
    // The crosswalk's pages it read stay in the state's 64 MB cache otherwise, unused by the
    // stream (an unchanged re-run at 26,000 trades: 4.8 MB held to the end; only clean pages go).
    tx.execute_batch("PRAGMA shrink_memory;")?;
    let agent_bus: Vec<Option<&BuInfo>> = (0..agent_ctx.len())
        .map(|i| {
            Some(agent_ctx.get(i))
                .filter(|a| a.issue.is_none())
                .and_then(|a| a.business_unit_id)
                .and_then(|b| bus.get(b))
        })
        .collect();
    let shared = shift::Shared {
        cfg,
        files,
        agent_idx,
        agents: &agent_ctx,
        bus: &bus,
        agent_bus: &agent_bus,
        overrides: &overrides,
        default_tz: default_tz.as_deref(),
        progress: &opts.progress,
    };
    // What the preparation freed (the tables' and the trades' rows, SQLite's pages) back to the
    // system before the stream's threads allocate from arenas of their own.
    crate::store::release_free_memory();
    pipeline::stream_shifts(
        &tx,
        old.as_ref(),
        snap,
        &shared,
        &mut zones,
        run_id,
        &mut sink,
        &mut out,
        &lap,
    )?;
    // ---- time off ---------------------------------------------------------------------------------
    {
        let migration = crate::store::migration_id(&tx)?;
        let in_file = |a: &str| agent_idx.get(a).is_some_and(|i| agent_ctx.get(i).in_file);
        let ctx = time_off::Ctx {
            cfg,
            files,
            agent_idx,
            agents: &agent_ctx,
            in_agents_file: &in_file,
            bus: &bus,
            default_tz: default_tz.as_deref(),
            migration_id: &migration,
        };
        // The shifts of every agent with a request, read in one pass in agent order (map_all
        // asks for them in that order).
        let mut with_time_off: Vec<&str> =
            time_off_rows.iter().map(|r| r.agent_id.as_str()).collect();
        with_time_off.sort_unstable();
        with_time_off.dedup();
        // Its sort keeps runs of up to cache_size bytes in memory, one per sorter thread (a
        // re-run's 64 MB cache: +58 MB of peak at 1.3 M shifts, every agent with a request; the
        // first run's two sorter threads: +11 MB); one run of 4 MB, as the first run's index
        // build, for the time of the pass.
        let cache: i64 = tx.query_row("PRAGMA cache_size", [], |r| r.get(0))?;
        let threads: i64 = tx.query_row("PRAGMA threads", [], |r| r.get(0))?;
        let small = !with_time_off.is_empty();
        if small {
            tx.execute_batch("PRAGMA cache_size = -4096; PRAGMA threads = 0;")?;
        }
        let mut shifts_st = desired::AgentShifts::prepare(&tx)?;
        let mut cursor = shifts_st.of_agents(&with_time_off)?;
        let mut shifts_of = |a: &str| cursor.of(a);
        let mut m = time_off::map_all(&ctx, &time_off_rows, &mut zones, &mut shifts_of)?;
        drop(cursor);
        drop(shifts_st);
        if small {
            tx.pragma_update(None, "cache_size", cache)?;
            tx.pragma_update(None, "threads", threads)?;
        }
        for f in std::mem::take(&mut m.findings) {
            sink.push(f)?;
        }
        write::write_time_off(&tx, &m, run_id, &mut out)?;
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
            mappings_dir: current::recorded_dir(dir, mappings),
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
