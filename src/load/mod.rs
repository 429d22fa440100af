//! `zd2gc plan`, `load`, `status` and `verify`: make Genesys Cloud hold the desired state `map`
//! produced, convergently and resumably (issue #6).
//!
//! Code map:
//! - [`model`]: a shift's content as compared and written;
//! - [`merge`]: the three-way merge of one week, pure (ours = desired, base = what zd2gc last wrote
//!   or adopted, theirs = Genesys now);
//! - [`desired`]: the desired state by week, the records held back, the validation gate;
//! - [`journal`]: the per-week journal, events, conflicts and crosswalk links in `zd2gc.db`;
//! - [`pacer`]: the one global request pace (AIMD on `429`) and the request accounting;
//! - [`worker`]: the week state machine (read → merge → upload → follow → read back);
//!   its reads in `week_read`, its write steps (create, upload, follow, settle) in `week_write`;
//! - [`guard`]: one load per migration directory, and the org the migration is bound to.
//!
//! Invariants: a run never replays requests from a log; it reads, merges and writes the
//! difference, so re-running a finished load sends no write. Every external write is announced in
//! the journal before it is sent. A shift zd2gc does not own is never changed.

pub mod changes;
pub mod desired;
pub mod guard;
pub mod journal;
pub mod links;
pub mod merge;
pub mod model;
pub mod pacer;
pub mod partition;
mod signals;
pub mod status;
#[doc(hidden)]
pub mod synth;
mod ticker;
pub mod timeoff;
mod week_read;
mod week_write;
pub mod worker;

pub use status::{StatusReport, status_dir};

use crate::client::Client;
use crate::config::Config;
use crate::error::{Error, Result};
use crate::exit::Exit;
use crate::ui::Ui;
use merge::OnConflict;
use pacer::{Pacer, RequestStats};
use rusqlite::Connection;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Everything a load is told.
#[derive(Debug, Clone)]
pub struct LoadOptions {
    pub on_conflict: OnConflict,
    pub concurrency: usize,
    pub max_rpm: u32,
    pub max_refusals: u32,
    /// Writes of one week that may end `Error` or stay invisible before the week ends `failed`.
    pub max_failed_writes: u32,
    pub max_lock_waits: u32,
    pub lock_wait_ms: u64,
    pub settle_timeout: Duration,
    pub poll_ms: u64,
    pub recheck: bool,
    pub rebind: bool,
    pub allow_errors: bool,
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions {
            on_conflict: OnConflict::Park,
            concurrency: 4,
            max_rpm: 300,
            max_refusals: 8,
            max_failed_writes: 3,
            max_lock_waits: 30,
            lock_wait_ms: 250,
            settle_timeout: Duration::from_secs(60),
            poll_ms: 200,
            recheck: false,
            rebind: false,
            allow_errors: false,
        }
    }
}

/// Requests a week needed, by purpose.
#[derive(Debug, Clone, Default)]
pub struct Counters {
    /// Reads that tell a week's state (its first read in a run).
    pub state_reads: u64,
    /// Reads after a write (the read-back that gives the crosswalk its ids).
    pub confirm_reads: u64,
    /// Polls of asynchronous operations.
    pub polls: u64,
    /// Blank creates, upload URLs, PUTs and process calls.
    pub writes: u64,
    pub weeks_written: BTreeSet<(String, String)>,
    /// Weeks whose schedule this run created (one blank create each at least).
    pub weeks_created: BTreeSet<(String, String)>,
}

/// Live progress, for the progress line.
#[derive(Debug, Default)]
pub struct Progress {
    pub weeks_total: AtomicU64,
    pub weeks_done: AtomicU64,
    /// Weeks found done and unchanged (no request): not part of the measured pace.
    pub weeks_skipped: AtomicU64,
    /// Weeks an earlier run left part-way (sent, processing or verifying) and this run finished:
    /// little work was left in them, so they are not part of the measured pace either.
    pub weeks_carried: AtomicU64,
    pub shifts_total: AtomicU64,
    pub shifts_done: AtomicU64,
    pub conflicts: AtomicU64,
    pub failed: AtomicU64,
    pub locks: AtomicU64,
}

/// What every week worker shares.
pub struct Shared {
    pub client: Arc<Client>,
    pub pacer: Arc<Pacer>,
    db: Mutex<Connection>,
    pub run_id: i64,
    pub migration: String,
    /// The migration directory (a round's link changes past a few chunks are spilled there).
    pub dir: std::path::PathBuf,
    pub opts: LoadOptions,
    pub held: HashSet<String>,
    /// The crosswalk's management unit of each user (a week's components: [`partition`]).
    pub user_mu: Arc<desired::UserUnits>,
    pub progress: Progress,
    pub stop: AtomicBool,
    read_only: bool,
    locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    totals: Mutex<Counters>,
}

impl Shared {
    pub fn with_db<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        let c = self.db.lock().expect("db lock");
        f(&c)
    }

    /// A week's journal row, or a fresh one when the week was never started. A database error is
    /// an error, never a fresh row (which would skip settling a step left in doubt).
    pub fn row(&self, bu: &str, week: &str) -> Result<journal::WeekRow> {
        Ok(self
            .with_db(|c| journal::get(c, bu, week))?
            .unwrap_or_else(|| journal::WeekRow::new(bu, week)))
    }

    /// Journal a state change (durably, before the step it announces). A journal that cannot be
    /// written is an error the load stops on: going on would break the resume guarantee.
    pub fn save(&self, row: &journal::WeekRow, event: &str, detail: &str) -> Result<()> {
        if self.read_only {
            return Ok(());
        }
        self.with_db(|c| journal::save(c, self.run_id, row, event, detail))
    }

    pub fn schedule_lock(&self, key: &str) -> Arc<tokio::sync::Mutex<()>> {
        self.locks
            .lock()
            .expect("locks")
            .entry(key.to_string())
            .or_default()
            .clone()
    }

    pub fn add(&self, c: &Counters) {
        let mut t = self.totals.lock().expect("totals");
        t.state_reads += c.state_reads;
        t.confirm_reads += c.confirm_reads;
        t.polls += c.polls;
        t.writes += c.writes;
        t.weeks_written.extend(c.weeks_written.iter().cloned());
        t.weeks_created.extend(c.weeks_created.iter().cloned());
    }
}

/// The summary of a load.
#[derive(Debug, Clone, Default, Serialize)]
pub struct LoadReport {
    pub weeks: u64,
    pub weeks_done: u64,
    pub weeks_skipped: u64,
    pub weeks_conflict: u64,
    pub weeks_failed: u64,
    pub weeks_not_started: u64,
    pub weeks_written: u64,
    pub shifts_desired: u64,
    pub shifts_held_back: u64,
    pub held_back_by_reason: BTreeMap<String, u64>,
    pub conflicts: u64,
    pub failures: Vec<(String, String, String)>,
    pub requests: RequestStats,
    pub state_reads: u64,
    pub confirm_reads: u64,
    pub polls: u64,
    pub write_requests: u64,
    /// The token, the identifying read (the business units), the reads that tell each week's
    /// state, one blank create per week created, and one upload-URL / PUT / process triple per
    /// week written.
    pub minimum_requests: u64,
    pub weeks_created: u64,
    pub seconds: f64,
    pub interrupted: bool,
    pub notes: Vec<String>,
    /// Time-off requests (after the shift weeks).
    pub time_off: timeoff::TimeOffReport,
}

impl LoadReport {
    pub fn exit(&self) -> Exit {
        if self.interrupted {
            Exit::Interrupted
        } else if self.weeks_failed > 0
            || self.weeks_not_started > 0
            || !self.time_off.failures.is_empty()
            || self.time_off.not_started > 0
        {
            Exit::Partial
        } else if self.weeks_conflict > 0 {
            Exit::Conflicts
        } else {
            Exit::Ok
        }
    }
}

/// What a week's task of [`load_dir`] returned, joined: its outcome into `outs`, or the first
/// error of a task into `fatal`. A journal that cannot be written (full disk, read-only) is a tool
/// failure with what to do (classified by its SQLite error code); the first one is reported.
fn take_week(
    r: std::result::Result<(String, String, Result<worker::Outcome>), tokio::task::JoinError>,
    outs: &mut Vec<(String, String, worker::Outcome)>,
    fatal: &mut Option<Error>,
    dir: &Path,
) {
    match r {
        Ok((bu, week, Ok(o))) => outs.push((bu, week, o)),
        Ok((_, _, Err(e))) => {
            if fatal.is_none() {
                *fatal = Some(crate::store::explain(e, dir));
            }
        }
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(_) => {}
    }
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Error::failure(format!("cannot start the async runtime: {e}"), None))
}

/// What `plan`, `load` and `verify` start from.
struct Prepared {
    shared: Arc<Shared>,
    /// The weeks and what is held back; each week's shifts are read from `reader` when it starts.
    index: desired::DesiredIndex,
    reader: Arc<desired::Reader>,
    notes: Vec<String>,
}

/// Desired shifts in memory at once, over the weeks in flight: a week is read and started only
/// when both a week slot (`--concurrency`) and its shifts fit, so a load's memory is bounded by
/// this (or by its largest business-unit week, which runs alone), whatever the export's size.
/// (`load` holds a week's outline, [`desired::WeekOutline`], and reads its shifts' contents by
/// component, one component at a time; `plan` and `verify` hold the week's shifts.)
const SHIFTS_IN_FLIGHT: u32 = 50_000;

impl Prepared {
    /// One week's shifts, read from the desired state now.
    fn week(&self, bu: &str, week: &str) -> Result<desired::WeekInput> {
        self.reader.week(&self.index, bu, week)
    }

    /// One week's outline for `load` (its shifts' contents are read by each round's components).
    fn outline(&self, bu: &str, week: &str) -> Result<desired::WeekOutline> {
        self.reader.outline(&self.index, bu, week)
    }

    /// Wait for a week slot and room for the week's shifts (see [`SHIFTS_IN_FLIGHT`]); both are
    /// given back when the permits drop.
    async fn admit(
        &self,
        slots: &Arc<tokio::sync::Semaphore>,
        shifts: &Arc<tokio::sync::Semaphore>,
        key: &(String, String),
    ) -> (
        tokio::sync::OwnedSemaphorePermit,
        tokio::sync::OwnedSemaphorePermit,
    ) {
        let n = self.index.weeks.get(key).copied().unwrap_or(0);
        let slot = slots.clone().acquire_owned().await.expect("semaphore open");
        let room = shifts
            .clone()
            .acquire_many_owned(n.clamp(1, SHIFTS_IN_FLIGHT as u64) as u32)
            .await
            .expect("semaphore open");
        (slot, room)
    }
}

#[allow(clippy::too_many_arguments)]
fn prepare(
    dir: &Path,
    client: Arc<Client>,
    opts: &LoadOptions,
    command: &str,
    argv: &str,
    read_only: bool,
    rt: &tokio::runtime::Runtime,
) -> Result<Prepared> {
    let conn = crate::store::open_state(dir)?;
    let mut notes = Vec::new();
    // Another org than the bound one is refused before any request (nothing written yet).
    guard::bind_org(&conn, &client, opts.rebind, true)?;
    // The gate, the activity kinds and the index of the desired state are read in one read
    // transaction, on a connection of its own; each week's shifts are read when the week starts
    // (so memory holds the weeks in flight, not the export), each in a short transaction that
    // first checks no map ran since: every week comes from the one commit of `map` the gate saw.
    let read_conn = Connection::open_with_flags(
        crate::store::state_path(dir),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    read_conn.busy_timeout(Duration::from_secs(10))?;
    let reader = desired::Reader::open(read_conn, HashSet::new())?;
    let (gate_notes, error_ids) = reader.with(|c| {
        if command == "verify" {
            // verify holds back what load held back, and refuses nothing; it says what load
            // would refuse.
            Ok((
                desired::staleness_notes(c, dir)?,
                desired::verify_error_ids(c, dir)?,
            ))
        } else {
            desired::gate(c, dir, opts.allow_errors)
        }
    })?;
    notes.extend(gate_notes);
    let reader = reader.with_error_ids(error_ids);
    let index = reader.with(|c| desired::index(c, reader.error_ids()))?;
    // The reader's (read in the same transaction), not a second copy of 10,000 ids (issue #17).
    let user_mu = reader.user_units();
    if command != "verify" {
        // Agents with no management unit: refused before any request (nothing written).
        let mut without = index.without_unit.clone();
        for t in reader.with(timeoff::read_desired)? {
            if t.held_back.is_none() && t.mu.is_empty() && !user_mu.contains_key(&t.user) {
                without.entry(t.agent.unwrap_or_default()).or_insert(t.user);
            }
        }
        reader.with(|c| desired::refuse_without_unit(c, dir, &without))?;
    }
    reader.release()?;
    // From here the reader only reads weeks: a week's rows through its index, then components'
    // rows by legacy id, in id order, so a few pages are hot at a time. SQLite's default cache
    // (2 MB a connection) kept ~1.7 MB of them at the whole export (issue #17); this also frees
    // what the gate and the index left in it.
    reader.with(|c| Ok(c.execute_batch("PRAGMA cache_size = -256")?))?;
    let pacer = Arc::new(Pacer::new(opts.max_rpm as f64));
    client.set_gate(pacer.clone());
    // One authenticated call before anything is bound or written: a wrong secret or URL is one
    // clear error now, and the migration is bound only to an org that answered.
    rt.block_on(client.identify())?;
    notes.extend(guard::bind_org(&conn, &client, opts.rebind, read_only)?);
    let migration = crate::store::migration_id(&conn)?;
    let run = crate::store::run_start(&conn, command, argv)?;
    let shared = Arc::new(Shared {
        client,
        pacer,
        db: Mutex::new(conn),
        run_id: run.id,
        migration,
        dir: dir.to_path_buf(),
        opts: opts.clone(),
        held: index.held.clone(),
        user_mu,
        progress: Progress::default(),
        stop: AtomicBool::new(false),
        read_only,
        locks: Mutex::default(),
        totals: Mutex::default(),
    });
    Ok(Prepared {
        shared,
        index,
        reader: Arc::new(reader),
        notes,
    })
}

fn finish_run(sh: &Shared, exit: Exit, counts: &serde_json::Value) {
    let _ = sh.with_db(|c| {
        crate::store::run_end(
            c,
            &crate::store::RunRecord { id: sh.run_id },
            exit.into(),
            exit.code(),
            None,
            counts,
        )
    });
}

/// Load a migration directory (the library entry point of `zd2gc load`, tests and benches).
pub fn load_dir(
    dir: &Path,
    client: Arc<Client>,
    opts: &LoadOptions,
    ui: &Ui,
    argv: &str,
) -> Result<LoadReport> {
    let _lock = guard::DirLock::acquire(dir, ui)?;
    let started = Instant::now();
    let rt = runtime()?;
    let p = prepare(dir, client, opts, "load", argv, false, &rt)?;
    for n in &p.notes {
        ui.warn(n);
    }
    let sh = p.shared.clone();
    let weeks: Vec<&(String, String)> = p.index.weeks.keys().collect();
    sh.progress
        .weeks_total
        .store(weeks.len() as u64, Ordering::Relaxed);
    sh.progress
        .shifts_total
        .store(p.index.shifts(), Ordering::Relaxed);
    let mut report = LoadReport {
        weeks: weeks.len() as u64,
        shifts_desired: p.index.shifts(),
        shifts_held_back: p.index.held.len() as u64,
        held_back_by_reason: p.index.held_by_reason.clone(),
        notes: p.notes.clone(),
        ..Default::default()
    };
    let outcomes = rt.block_on(async {
        let sig = sh.clone();
        let sig_ui = ui.clone();
        tokio::spawn(async move {
            // Ctrl-C, a closed terminal (SIGHUP: an SSH drop) and SIGTERM (a service manager, a
            // kill) all checkpoint the same way: no new week starts, the weeks in flight finish.
            let mut signals = match signals::Signals::new() {
                Ok(s) => s,
                Err(e) => {
                    sig_ui.warn(format!("cannot listen for signals: {e}"));
                    return;
                }
            };
            let name = signals.next().await;
            sig.stop.store(true, Ordering::SeqCst);
            sig_ui.warn(format!(
                "interrupted ({name}): finishing the weeks in flight (Ctrl-C again to stop at once)"
            ));
            signals.next().await;
            std::process::exit(Exit::Interrupted.code());
        });
        let ticker = ticker::progress_ticker(sh.clone(), ui.clone(), started);
        let sem = Arc::new(tokio::sync::Semaphore::new(opts.concurrency.max(1)));
        let room = Arc::new(tokio::sync::Semaphore::new(SHIFTS_IN_FLIGHT as usize));
        let mut set = tokio::task::JoinSet::new();
        let mut not_started = 0u64;
        let mut fatal = None;
        let mut outs = Vec::new();
        // The first error a week's task returned (a journal that cannot be written); the task
        // also set `stop`, so no new week starts.
        let mut task_fatal = None;
        for key in weeks {
            let (bu, week) = key;
            let permit = p.admit(&sem, &room, key).await;
            // The weeks finished meanwhile are taken now, not after the last week started: a
            // finished task keeps its whole cell (the size of a week's future, ~7 KB) until it is
            // joined, which made a load's memory grow with the number of weeks (1,040 weeks:
            // +7 MB).
            while let Some(r) = set.try_join_next() {
                take_week(r, &mut outs, &mut task_fatal, dir);
            }
            if sh.stop.load(Ordering::SeqCst) || fatal.is_some() {
                not_started += 1;
                continue;
            }
            // The week's outline is read once it is admitted: at most `concurrency` weeks and
            // about SHIFTS_IN_FLIGHT shifts are in memory (their contents one component at a
            // time, per round).
            let input = match p.outline(bu, week) {
                Ok(i) => i,
                Err(e) => {
                    fatal = Some(e);
                    not_started += 1;
                    continue;
                }
            };
            let (bu, week) = (bu.clone(), week.clone());
            let sh2 = sh.clone();
            set.spawn(async move {
                let carried = sh2.row(&bu, &week).is_ok_and(|r| {
                    matches!(
                        r.state,
                        journal::State::Uploading
                            | journal::State::Processing
                            | journal::State::Verifying
                    )
                });
                let o = worker::run_week(&sh2, &bu, &week, &input).await;
                if o.is_err() {
                    // The state database cannot be written: no new week starts.
                    sh2.stop.store(true, Ordering::SeqCst);
                }
                if matches!(o, Ok(worker::Outcome::Skipped)) {
                    sh2.progress.weeks_skipped.fetch_add(1, Ordering::Relaxed);
                    sh2.progress
                        .shifts_done
                        .fetch_add(input.len() as u64, Ordering::Relaxed);
                } else if carried {
                    sh2.progress.weeks_carried.fetch_add(1, Ordering::Relaxed);
                }
                sh2.progress.weeks_done.fetch_add(1, Ordering::Relaxed);
                if matches!(o, Ok(worker::Outcome::Failed(_))) {
                    sh2.progress.failed.fetch_add(1, Ordering::Relaxed);
                }
                drop(permit);
                (bu, week, o)
            });
        }
        while let Some(r) = set.join_next().await {
            take_week(r, &mut outs, &mut task_fatal, dir);
        }
        let fatal = fatal.or(task_fatal);
        ticker.abort();
        let _ = ticker.await;
        (outs, not_started, fatal)
    });
    let (outs, not_started, fatal) = outcomes;
    if let Some(e) = fatal {
        return Err(e);
    }
    // Time off, after the shift weeks (each request created exactly once; see timeoff.rs).
    let time_off_rows = sh.with_db(timeoff::read_desired)?;
    if !time_off_rows.is_empty() {
        let to = rt
            .block_on(timeoff::load_all(&sh, time_off_rows))
            .map_err(|e| crate::store::explain(e, dir))?;
        report.time_off = to;
    }
    report.weeks_not_started = not_started;
    for (bu, week, o) in outs {
        match o {
            worker::Outcome::Done => report.weeks_done += 1,
            worker::Outcome::Skipped => report.weeks_skipped += 1,
            worker::Outcome::Conflict(n) => {
                report.weeks_conflict += 1;
                report.conflicts += n as u64;
            }
            worker::Outcome::Failed(r) => {
                report.weeks_failed += 1;
                report.failures.push((bu, week, r));
            }
        }
    }
    report.interrupted = sh.stop.load(Ordering::SeqCst);
    let t = sh.totals.lock().expect("totals").clone();
    report.requests = sh.pacer.stats();
    report.state_reads = t.state_reads;
    report.confirm_reads = t.confirm_reads;
    report.polls = t.polls;
    report.write_requests = t.writes;
    report.weeks_written = t.weeks_written.len() as u64;
    let token = report
        .requests
        .by_kind
        .get("token")
        .copied()
        .unwrap_or(0)
        .min(1);
    report.weeks_created = t.weeks_created.len() as u64;
    // The token, the identifying read, the reads that tell each week's state, a blank create per
    // new week and one triple per week written.
    // Time off: one create per request created (or found after a doubt) by this run.
    report.minimum_requests = token
        + 1
        + t.state_reads
        + t.weeks_created.len() as u64
        + 3 * t.weeks_written.len() as u64
        + report.time_off.created
        + report.time_off.found;
    report.seconds = started.elapsed().as_secs_f64();
    let exit = report.exit();
    finish_run(
        &sh,
        exit,
        &serde_json::to_value(&report).unwrap_or_default(),
    );
    Ok(report)
}

/// What `plan` or `verify` found in one week.
#[derive(Debug, Clone, Serialize)]
pub struct WeekFinding {
    pub business_unit_id: String,
    pub week_id: String,
    pub schedule_id: Option<String>,
    /// `create` (a blank schedule, then an update), `update`, `nothing`, `done` (journal,
    /// unchanged) or `error`.
    pub action: String,
    pub counts: merge::PlanCounts,
    pub conflicts: Vec<merge::Conflict>,
    /// Shifts of one user in Genesys identical to each other (a duplicate).
    pub duplicates: u64,
    /// Schedules of this migration in the week beyond the first (two schedules of ours for one
    /// week is a defect: the second's shifts double the first's).
    pub extra_schedules: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Read every week and merge without writing: what `load` would do (plan) or what differs (verify).
fn survey(
    p: &Prepared,
    use_journal: bool,
    rt: &tokio::runtime::Runtime,
    ui: &Ui,
    what: &str,
) -> Result<Vec<WeekFinding>> {
    let sh = p.shared.clone();
    let weeks: Vec<&(String, String)> = p.index.weeks.keys().collect();
    let conc = sh.opts.concurrency.max(1);
    let bar = ui.progress_bar(what, "weeks read", Some(weeks.len() as u64));
    // Reads only: one or two requests a week, under the same pace limit.
    bar.set_max_rate(sh.opts.max_rpm as f64 / 60.0 / 2.0);
    bar.set_min_sample(conc as u64);
    let found = rt.block_on(async {
        let sem = Arc::new(tokio::sync::Semaphore::new(conc));
        let room = Arc::new(tokio::sync::Semaphore::new(SHIFTS_IN_FLIGHT as usize));
        let mut set = tokio::task::JoinSet::new();
        let mut v = Vec::new();
        let mut skipped = 0;
        let mut take = |r: std::result::Result<(usize, WeekFinding), tokio::task::JoinError>| {
            if let Ok(x) = r {
                // A week the journal says is done and unchanged takes no request: not in the pace.
                if x.1.action == "done" {
                    skipped += 1;
                    bar.set_done_at_start(skipped);
                }
                v.push(x);
                bar.set(v.len() as u64);
            }
        };
        for (i, key) in weeks.into_iter().enumerate() {
            let (bu, week) = key;
            let permit = p.admit(&sem, &room, key).await;
            // Finished weeks are taken as they finish (as in `load_dir`: a finished task keeps
            // its cell until joined).
            while let Some(r) = set.try_join_next() {
                take(r);
            }
            // Read once admitted: at most `concurrency` weeks and about SHIFTS_IN_FLIGHT shifts
            // in memory.
            let input = match p.week(bu, week) {
                Ok(i) => i,
                Err(e) => {
                    set.abort_all();
                    bar.finish();
                    return Err(e);
                }
            };
            let (bu, week) = (bu.clone(), week.clone());
            let sh2 = sh.clone();
            set.spawn(async move {
                let f = survey_week(&sh2, &bu, &week, &input, use_journal).await;
                drop(permit);
                (i, f)
            });
        }
        while let Some(r) = set.join_next().await {
            take(r);
        }
        bar.finish();
        v.sort_by_key(|(i, _)| *i);
        Ok(v.into_iter().map(|(_, f)| f).collect::<Vec<_>>())
    })?;
    Ok(found)
}

async fn survey_week(
    sh: &Shared,
    bu: &str,
    week: &str,
    input: &desired::WeekInput,
    use_journal: bool,
) -> WeekFinding {
    let mut f = WeekFinding {
        business_unit_id: bu.into(),
        week_id: week.into(),
        schedule_id: None,
        action: "nothing".into(),
        counts: Default::default(),
        conflicts: vec![],
        duplicates: 0,
        extra_schedules: 0,
        error: None,
    };
    let row = match sh.row(bu, week) {
        Ok(r) => r,
        Err(e) => {
            f.action = "error".into();
            f.error = Some(e.to_string());
            return f;
        }
    };
    if use_journal
        && !sh.opts.recheck
        && row.state == journal::State::Done
        && row.desired_hash == Some(input.hash)
    {
        f.action = "done".into();
        f.schedule_id = row.schedule_id;
        f.counts.noop = input.desired.len() as u64;
        return f;
    }
    let links = match sh.with_db(|c| journal::links(c, bu, week)) {
        Ok(l) => l,
        Err(e) => {
            f.action = "error".into();
            f.error = Some(e.to_string());
            return f;
        }
    };
    let (mut reads, mut polls) = (0, 0);
    match worker::read_week(sh, bu, week, &input.mus, None, &mut reads, &mut polls).await {
        Ok(view) => {
            let plan = merge::merge(
                &input.desired,
                &links,
                &sh.held,
                view.as_ref(),
                OnConflict::Park,
            );
            f.schedule_id = view.as_ref().map(|v| v.schedule_id.clone());
            f.action = if plan.import.is_some() {
                // A blank schedule, then its shifts as an update.
                "create"
            } else if plan.writes() {
                "update"
            } else {
                "nothing"
            }
            .into();
            f.counts = plan.counts;
            f.conflicts = plan.conflicts;
            if let Some(v) = &view {
                f.extra_schedules = v.ours_in_week.saturating_sub(1) as u64;
                let users: HashSet<&str> = input.desired.iter().map(|d| &*d.content.user).collect();
                for (u, a) in &v.agents {
                    if !users.contains(u.as_str()) {
                        continue;
                    }
                    let mut seen = HashSet::new();
                    for (_, c) in &a.shifts {
                        if !seen.insert(c) {
                            f.duplicates += 1;
                        }
                    }
                }
            }
        }
        Err(e) => {
            f.action = "error".into();
            f.error = Some(e.to_string());
        }
    }
    f
}

/// `plan`: per week, what `load` would do.
pub fn plan_dir(
    dir: &Path,
    client: Arc<Client>,
    opts: &LoadOptions,
    argv: &str,
) -> Result<Vec<WeekFinding>> {
    plan_dir_ui(dir, client, opts, argv, &Ui::silent())
}

/// [`plan_dir`] with its progress on `ui`.
pub fn plan_dir_ui(
    dir: &Path,
    client: Arc<Client>,
    opts: &LoadOptions,
    argv: &str,
    ui: &Ui,
) -> Result<Vec<WeekFinding>> {
    let rt = runtime()?;
    let p = prepare(dir, client, opts, "plan", argv, true, &rt)?;
    let f = survey(&p, true, &rt, ui, "plan")?;
    finish_run(&p.shared, Exit::Ok, &serde_json::json!({"weeks": f.len()}));
    Ok(f)
}

/// The result of `verify`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct VerifyReport {
    pub weeks: u64,
    pub matching_shifts: u64,
    pub missing: u64,
    pub different: u64,
    pub unexpected: u64,
    pub duplicates: u64,
    /// Schedules of this migration beyond one per week.
    pub extra_schedules: u64,
    pub conflicts: u64,
    pub kept_planner_edits: u64,
    pub held_back: u64,
    /// Why they are held back (the reasons `load` gave), by reason.
    pub held_back_by_reason: BTreeMap<String, u64>,
    pub errors: u64,
    pub weeks_differing: Vec<WeekFinding>,
    /// Time-off requests per agent: missing, unexpected, duplicated, different.
    pub time_off: timeoff::TimeOffVerify,
    /// What the operator should know about the comparison (a desired state older than the export
    /// or the tables); each was printed as a warning.
    pub notes: Vec<String>,
}

impl VerifyReport {
    pub fn matches(&self) -> bool {
        self.time_off.matches()
            && self.missing == 0
            && self.different == 0
            && self.unexpected == 0
            && self.duplicates == 0
            && self.extra_schedules == 0
            && self.errors == 0
    }
}

/// `verify`: re-read Genesys and compare with the desired state.
pub fn verify_dir(
    dir: &Path,
    client: Arc<Client>,
    opts: &LoadOptions,
    argv: &str,
) -> Result<VerifyReport> {
    verify_dir_ui(dir, client, opts, argv, &Ui::silent())
}

/// [`verify_dir`] with its progress on `ui`.
pub fn verify_dir_ui(
    dir: &Path,
    client: Arc<Client>,
    opts: &LoadOptions,
    argv: &str,
    ui: &Ui,
) -> Result<VerifyReport> {
    let rt = runtime()?;
    let p = prepare(dir, client, opts, "verify", argv, true, &rt)?;
    for n in &p.notes {
        ui.warn(n);
    }
    let found = survey(&p, false, &rt, ui, "verify")?;
    let time_off_rows = p.shared.with_db(timeoff::read_desired)?;
    let time_off = rt.block_on(timeoff::verify(
        &p.shared.client,
        &p.shared.migration,
        &time_off_rows,
    ));
    let mut r = VerifyReport {
        weeks: found.len() as u64,
        held_back: p.index.held.len() as u64,
        held_back_by_reason: p.index.held_by_reason.clone(),
        time_off,
        notes: p.notes.clone(),
        ..Default::default()
    };
    for f in found {
        let c = &f.counts;
        r.matching_shifts += c.noop + c.adopt;
        r.kept_planner_edits += c.kept_theirs;
        r.missing += c.create;
        r.different += c.update;
        r.unexpected += c.delete;
        r.duplicates += f.duplicates;
        r.extra_schedules += f.extra_schedules;
        r.conflicts += c.conflicts;
        if f.error.is_some() {
            r.errors += 1;
        }
        if c.create + c.update + c.delete + f.duplicates + f.extra_schedules + c.conflicts > 0
            || f.error.is_some()
        {
            r.weeks_differing.push(f);
        }
    }
    let exit = if r.matches() {
        Exit::Ok
    } else {
        Exit::Findings
    };
    finish_run(
        &p.shared,
        exit,
        &serde_json::to_value(&r).unwrap_or_default(),
    );
    Ok(r)
}

/// The Genesys client of a migration directory (its configuration and the environment).
pub fn client_for(dir: &Path) -> Result<Arc<Client>> {
    let cfg = Config::load(dir)?;
    Ok(Arc::new(Client::from_config(&(&cfg.genesys).into())?))
}
