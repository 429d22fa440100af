//! `zd2gc validate`: the pre-flight validation report (`docs/validation-report.md`).
//!
//! Reads what `extract` staged (snapshot.db) and what `map` found (`map_findings` in zd2gc.db), runs
//! every rule of [`crate::rules`] and writes one [`Report`] in three forms: the terminal summary,
//! JSON (`--report-json FILE|-`) and a self-contained HTML page (`--html FILE`). Every run is
//! recorded in the `validations` table of zd2gc.db (`store::validations`, which `load` asks).
//!
//! The rules, by family: [`rows`] (extract's rejects), [`agents`] (agent rows, and map's
//! agent/activity findings), [`shifts`] (time, DST, shift and task rules, overlaps), [`trades`].
//!
//! Invariants:
//! - one finding per offence (spec: "One finding per offence"), severities from the configuration;
//! - memory does not grow with the export: shifts and tasks are streamed in SQLite index order
//!   (by shift id, merge-joined; then by agent, one agent's shifts at a time); only agents and
//!   per-week counts are held, and the findings up to a budget (past it they are spilled to disk,
//!   [`report::FindingStore`], and the JSON report is written from them as a stream);
//! - mapping-dependent rules come from `map`; when something map depends on changed since it ran
//!   (the snapshot, the mapping tables, zd2gc.toml, refreshed Genesys answers), validate says what
//!   and maps again the way the last map ran ([`crate::map::current`]): online stays online.

pub mod agents;
pub mod rows;
pub mod shifts;
pub mod trades;

use crate::config::Config;
use crate::error::{Error, Result};
use crate::exit::Exit;
use crate::report::{self, Finding, Input, Policy, Report};
use crate::timeval::zone::{ZoneSel, Zones};
use rusqlite::{Connection, OptionalExtension};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Whether validate runs `map` first.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Remap {
    /// When something map depends on changed since it ran (the default; see
    /// [`crate::map::current`]).
    #[default]
    Auto,
    /// Always (tests).
    Always,
    /// Never: use whatever map_findings holds.
    Never,
}

/// Options of [`validate_dir`].
#[derive(Debug, Clone, Default)]
pub struct ValidateOptions {
    pub mappings: Option<PathBuf>,
    pub remap: Remap,
    /// How to reach Genesys when the last map ran online and must run again (`Off`: no
    /// credentials; the map then runs offline and says so).
    pub online: crate::map::OnlineMode,
    /// The command line, for the audit record.
    pub argv: String,
    /// Where validate (and the map it runs when the desired state is not current) says what it
    /// does and counts (a progress display; none by default).
    pub progress: crate::ui::Counter,
    /// Findings held in memory before they are spilled to disk (`None`:
    /// [`report::findings::IN_MEMORY`]; tests set a small one).
    pub findings_in_memory: Option<usize>,
    /// Tests: each findings store's spill writes fail (as on a full disk) after this many runs.
    #[doc(hidden)]
    pub findings_spill_fails_after: Option<usize>,
    /// Tests: the kept report's writes fail (as on a full disk) while the findings' temporary
    /// file is held.
    #[doc(hidden)]
    pub disk_full_while_spilled: bool,
}

/// What a validation run produced.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub report: Report,
    pub run_id: i64,
    /// The JSON report kept in the migration directory.
    pub report_path: PathBuf,
    /// Whether map ran first: what changed, how it mapped.
    pub mapped: Option<crate::map::current::Remapped>,
}

/// Findings being collected, with the configured severities (in memory up to a budget, then
/// spilled to disk: [`report::FindingStore`]).
pub struct Sink<'a> {
    pub cfg: &'a Config,
    pub findings: report::FindingStore,
}

impl Sink<'_> {
    /// Add a finding of `rule` at the configured severity.
    pub fn push(&mut self, mut f: Finding) {
        f.severity = self.cfg.severity_of(&f.rule);
        self.findings.push(f);
    }

    /// Add a finding whose severity a policy decided (a DST time the policy resolved).
    pub fn push_as(&mut self, f: Finding) {
        self.findings.push(f);
    }
}

/// An agent of the export, as the rules need it.
#[derive(Debug, Clone)]
pub struct AgentInfo {
    /// The agent's zone (agent, else location, else default).
    pub(crate) zone: ZoneSel,
    pub deactivated: bool,
    pub file_id: i64,
    pub line: i64,
}

/// The export's agents by id, as the rules look them up (a few times per shift, in no agent order):
/// an id of up to 16 bytes is kept inline as its key (one probe, no second read of the id's own
/// heap string), a longer one in its own table; both hashed with FxHash instead of SipHash.
#[derive(Debug, Clone, Default)]
pub struct Agents {
    short: rustc_hash::FxHashMap<(u128, u8), AgentInfo>,
    long: rustc_hash::FxHashMap<String, AgentInfo>,
}

impl Agents {
    pub fn get(&self, id: &str) -> Option<&AgentInfo> {
        match crate::store::inline_key(id) {
            Some(k) => self.short.get(&k),
            None => self.long.get(id),
        }
    }

    pub fn contains_key(&self, id: &str) -> bool {
        self.get(id).is_some()
    }

    /// Add agent `id` unless it is there (the first row of an id wins).
    pub fn insert_first(&mut self, id: String, info: AgentInfo) {
        match crate::store::inline_key(&id) {
            Some(k) => {
                self.short.entry(k).or_insert(info);
            }
            None => {
                self.long.entry(id).or_insert(info);
            }
        }
    }

    pub fn len(&self) -> usize {
        self.short.len() + self.long.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// What every rule family shares.
pub struct Env<'a> {
    pub cfg: &'a Config,
    pub files: HashMap<i64, String>,
    /// Shared with the passes' forks (read-only once the agents are checked).
    pub agents: std::sync::Arc<Agents>,
    pub(crate) zones: Zones,
    pub(crate) default_zone: ZoneSel,
    /// Location name → zone name (mappings/locations.csv).
    pub location_tz: HashMap<String, String>,
    /// When the export was staged (UTC seconds): "future" shifts start after it.
    pub extracted_at: i64,
    pub sink: Sink<'a>,
    /// Shifts per Monday-week.
    pub weeks: std::collections::BTreeMap<i64, u64>,
    pub records: u64,
    /// Where the streaming passes count the rows they walk (see [`Tally`]).
    pub progress: crate::ui::Counter,
}

/// Rows a streaming pass walked, handed to the progress display a batch at a time (the hot loops
/// only bump a local count); the rest on drop. `skip` rows are not counted again (a pass that
/// starts over).
pub(crate) struct Tally<'c> {
    progress: &'c crate::ui::Counter,
    pending: u64,
    pub seen: u64,
    pub skip: u64,
}

impl<'c> Tally<'c> {
    const BATCH: u64 = 4096;

    pub fn new(progress: &'c crate::ui::Counter) -> Self {
        Tally {
            progress,
            pending: 0,
            seen: 0,
            skip: 0,
        }
    }

    #[inline]
    pub fn tick(&mut self) {
        self.seen += 1;
        if self.skip > 0 {
            self.skip -= 1;
            return;
        }
        self.pending += 1;
        if self.pending == Self::BATCH {
            self.progress.add(Self::BATCH);
            self.pending = 0;
        }
    }
}

impl Drop for Tally<'_> {
    fn drop(&mut self) {
        if self.pending > 0 {
            self.progress.add(self.pending);
        }
    }
}

impl<'a> Env<'a> {
    /// A copy for a second thread: the same agents (shared, not copied: 10,000 agents were
    /// ~1.6 MB a copy) and zones (zone indexes stay valid), no findings yet.
    pub fn fork(&self) -> Env<'a> {
        Env {
            cfg: self.cfg,
            files: self.files.clone(),
            agents: self.agents.clone(),
            zones: self.zones.clone(),
            default_zone: self.default_zone,
            location_tz: self.location_tz.clone(),
            extracted_at: self.extracted_at,
            sink: Sink {
                cfg: self.cfg,
                findings: self.sink.findings.empty_like(),
            },
            weeks: Default::default(),
            records: 0,
            progress: self.progress.clone(),
        }
    }

    /// Take a fork's findings and counts back.
    pub fn absorb(&mut self, other: Env<'_>) {
        self.sink.findings.absorb(other.sink.findings);
        for (w, n) in other.weeks {
            *self.weeks.entry(w).or_default() += n;
        }
        self.records += other.records;
    }

    pub fn file(&self, id: i64) -> Option<String> {
        self.files.get(&id).cloned()
    }

    /// The zone of a row: its own zone name when written, else the agent's chain, else the default.
    pub(crate) fn row_zone(&mut self, row_tz: Option<&str>, agent_id: &str) -> ZoneSel {
        match self.zones.sel(row_tz) {
            ZoneSel::Missing => self
                .agents
                .get(agent_id)
                .map_or(self.default_zone, |a| a.zone),
            z => z,
        }
    }

    /// [`Env::row_zone`] with the row's own zone and the agent's zone (`None`: not an agent of the
    /// export) already looked up.
    pub(crate) fn zone_of(&self, own: ZoneSel, agent_zone: Option<ZoneSel>) -> ZoneSel {
        match own {
            ZoneSel::Missing => agent_zone.unwrap_or(self.default_zone),
            z => z,
        }
    }

    pub(crate) fn zone_name(&self, z: ZoneSel) -> Option<String> {
        match z {
            ZoneSel::Zone(i) => Some(self.zones.name(i).to_string()),
            _ => None,
        }
    }
}

/// Validate the staged export of a migration directory: the library entry point of `zd2gc validate`
/// (and of the benchmark). Writes the JSON report to DIR/reports/ and records the run; no terminal
/// output.
pub fn validate_dir(dir: &Path, cfg: &Config, opts: &ValidateOptions) -> Result<Outcome> {
    let started = std::time::Instant::now();
    let mappings = opts
        .mappings
        .clone()
        .unwrap_or_else(|| dir.join("mappings"));
    let snap = crate::extract::stage::open_snapshot(dir)?;
    // Small page caches here and on each pass's connection (4 MB each): bigger ones only made RSS
    // grow with the export, no faster (128 + 2 × 32 MB → 16 + 2 × 8 MB: 1.3 M shifts 193 → 78 MB,
    // 2.6 M 258 → 100 MB; → 3 × 4 MB: 75-76 → 55-56 MB, tenth 45 → 35-36 MB; same CPU).
    snap.execute_batch("PRAGMA cache_size = -4096; PRAGMA temp_store = MEMORY;")?;
    let meta = |k: &str| -> Result<Option<String>> {
        Ok(snap
            .query_row("SELECT value FROM snapshot_meta WHERE key = ?1", [k], |r| {
                r.get(0)
            })
            .optional()?)
    };
    let snapshot_id = meta("snapshot_id")?.unwrap_or_default();
    let extracted_at = meta("extracted_at")?
        .and_then(|s| chrono::DateTime::parse_from_rfc3339(&s).ok())
        .map_or(i64::MAX, |d| d.timestamp());

    // Map first when something it depends on changed (the way it last ran).
    let mapped = match opts.remap {
        Remap::Never => None,
        Remap::Auto => crate::map::current::ensure_current(
            dir,
            cfg,
            &mappings,
            &opts.online,
            "(run by validate)",
            &opts.progress,
        )?,
        Remap::Always => {
            let o = crate::map::map_dir(
                dir,
                cfg,
                &crate::map::MapOptions {
                    mappings: Some(mappings.clone()),
                    argv: "(run by validate)".into(),
                    progress: opts.progress.clone(),
                    ..Default::default()
                },
            )?;
            Some(crate::map::current::Remapped {
                changes: vec!["asked to map again".into()],
                online: false,
                fallback: None,
                seconds: o.seconds,
                online_calls: 0,
            })
        }
    };
    let state = crate::store::open_state(dir)?;
    let run = crate::store::run_start(&state, "validate", &opts.argv)?;
    let res = run_rules(
        dir,
        cfg,
        opts,
        &mappings,
        &snap,
        &state,
        &snapshot_id,
        extracted_at,
    );
    let (mut report, run_id) = match res {
        Ok(r) => (r, run.id),
        Err(e) => {
            crate::store::run_end(
                &state,
                &run,
                crate::store::Outcome::Error,
                Exit::Failure.code(),
                Some(&crate::store::SnapshotId::new(&snapshot_id)),
                &serde_json::json!({"error": e.to_string()}),
            )?;
            return Err(e);
        }
    };
    report.seconds = started.elapsed().as_secs_f64();
    attach_lines(cfg, &snap, &mut report);

    // Keep the JSON report beside the state, and record the validation.
    let reports = dir.join("reports");
    std::fs::create_dir_all(&reports).map_err(|e| Error::io(&reports, e))?;
    let report_path = reports.join(format!("validate-{run_id}.json"));
    // Written as it is made (the findings streamed), hashed on the way.
    let report_sha256 = keep_report(&report_path, &mut report, opts.disk_full_while_spilled)?;
    let s = &report.summary;
    crate::store::validations::record(
        &state,
        &crate::store::validations::NewValidation {
            snapshot_id: &crate::store::SnapshotId::new(&snapshot_id),
            run_id,
            validated_at: &report.generated_at,
            errors: s.errors,
            warnings: s.warnings,
            infos: s.infos,
            ready_to_load: report.ready_to_load,
            // Relative to the migration directory, so the record stays true wherever zd2gc runs from.
            report_path: &Path::new("reports").join(format!("validate-{run_id}.json")),
            report_sha256: &report_sha256,
            config_sha256: &config_hash(dir, &mappings),
        },
    )?;
    let s = &report.summary;
    crate::store::run_end(
        &state,
        &run,
        if report.ready_to_load {
            crate::store::Outcome::Ok
        } else {
            crate::store::Outcome::Findings
        },
        if report.ready_to_load { 0 } else { 1 },
        Some(&crate::store::SnapshotId::new(&snapshot_id)),
        &serde_json::json!({
            "errors": s.errors, "warnings": s.warnings, "infos": s.infos,
            "ready_to_load": report.ready_to_load, "records": report.records,
            "seconds": report.seconds,
            // Whether map ran first, why and how (the audit of "is map current").
            "remapped": mapped.as_ref().map(|m| serde_json::json!({
                "changes": m.changes, "online": m.online, "fallback": m.fallback,
            })),
        }),
    )?;
    Ok(Outcome {
        report,
        run_id,
        report_path,
        mapped,
    })
}

/// Another read-only connection to the snapshot `snapshot_id`: a concurrent `extract` may have
/// replaced it since the first was opened, and one report must describe one snapshot.
fn open_same_snapshot(dir: &Path, snapshot_id: &str) -> Result<Connection> {
    let c = crate::extract::stage::open_snapshot(dir)?;
    let id: Option<String> = c
        .query_row(
            "SELECT value FROM snapshot_meta WHERE key = 'snapshot_id'",
            [],
            |r| r.get(0),
        )
        .optional()?;
    if id.as_deref().unwrap_or_default() != snapshot_id {
        return Err(Error::usage(
            "the staged export was replaced while validate was reading it",
            Some("run `zd2gc validate` again once `extract` has finished".into()),
        ));
    }
    c.execute_batch("PRAGMA cache_size = -4096; PRAGMA temp_store = MEMORY;")?;
    Ok(c)
}

#[allow(clippy::too_many_arguments)]
fn run_rules(
    dir: &Path,
    cfg: &Config,
    opts: &ValidateOptions,
    mappings: &Path,
    snap: &Connection,
    state: &Connection,
    snapshot_id: &str,
    extracted_at: i64,
) -> Result<Report> {
    let mut diags = Vec::new();
    let tables = crate::map::tables::load(mappings, &mut diags)?;
    let files: HashMap<i64, String> = {
        let mut st = snap.prepare("SELECT file_id, name FROM files")?;
        st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?
    };
    let inputs: Vec<Input> = {
        let mut st = snap.prepare("SELECT name, rows_read, sha256 FROM files ORDER BY file_id")?;
        st.query_map([], |r| {
            Ok(Input {
                path: r.get(0)?,
                rows: r.get::<_, i64>(1)? as u64,
                sha256: r.get(2)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?
    };
    let mut zones = Zones::default();
    let default_zone = zones.sel(cfg.default_timezone.as_deref());
    let location_tz = tables
        .locations
        .iter()
        .filter_map(|l| Some((l.location.clone(), l.time_zone?.name().to_string())))
        .collect();
    let mut env = Env {
        cfg,
        files,
        agents: Default::default(),
        zones,
        default_zone,
        location_tz,
        extracted_at,
        sink: Sink {
            cfg,
            findings: report::FindingStore::new(
                Some(dir.to_path_buf()),
                opts.findings_in_memory
                    .unwrap_or(report::findings::IN_MEMORY),
            )
            .spill_fails_after(opts.findings_spill_fails_after),
        },
        weeks: Default::default(),
        records: 0,
        progress: opts.progress.clone(),
    };
    let mut t = std::time::Instant::now();
    let mut lap = |what: &str| {
        tracing::debug!(
            pass = what,
            seconds = t.elapsed().as_secs_f64(),
            "validate pass"
        );
        crate::ui::timing(&format!(
            "validate pass {what}: {:.2}s",
            t.elapsed().as_secs_f64()
        ));
        t = std::time::Instant::now();
    };
    opts.progress.phase(
        "checking the rejects, the agents and the mapping tables",
        "",
        None,
    );
    rows::check_rejects(&mut env, snap)?;
    rows::check_empty(&mut env, snap)?;
    agents::table_findings(&mut env, mappings, &tables, state)?;
    // Not needed past here (agents.csv's rows: 3.2 MB at 10,000 agents, held through the passes).
    drop(tables);
    agents::check_agents(&mut env, snap)?;
    agents::map_findings(&mut env, state)?;
    lap("rejects, agents, map findings");
    // Three streams at once, each on its own read-only connection: shifts by id here, each shift
    // id handed on to the task pass, which reads the tasks in shift-id order beside them; the
    // overlap pass and the trades. Each thread has a fork of the environment.
    // The total: pass 1 and pass 2 each walk every shift row, pass 3 every task row.
    let count = |table: &str| -> Result<u64> {
        Ok(
            snap.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| {
                r.get::<_, i64>(0)
            })? as u64,
        )
    };
    // The tasks file's count, kept by extract (a count would decode every run).
    let tasks = crate::extract::stage::task_count(snap)?;
    let rows_total = 2 * count("shifts")? + tasks as u64;
    opts.progress.phase(
        "checking the shifts (by id, by agent), tasks, overlaps and trades",
        "rows",
        Some(rows_total),
    );
    // What the checks so far freed back to the system before the passes' threads allocate from
    // arenas of their own (see [`crate::store::release_free_memory`]).
    crate::store::release_free_memory();
    let mut tasks_env = env.fork();
    let mut overlap_env = env.fork();
    let snap2 = open_same_snapshot(dir, snapshot_id)?;
    let snap3 = open_same_snapshot(dir, snapshot_id)?;
    // A few batches of shift ids in flight from pass 1 to the task pass.
    let (groups_tx, groups_rx) = std::sync::mpsc::sync_channel(4);
    let (repeated, spans) = std::thread::scope(|s| -> Result<_> {
        let forked = &mut overlap_env;
        let overlaps = s.spawn(move || -> Result<()> {
            let t = std::time::Instant::now();
            shifts::check_overlaps(forked, &snap2)?;
            let o = t.elapsed().as_secs_f64();
            trades::check_trades(forked, &snap2)?;
            crate::ui::timing(&format!(
                "  overlaps {o:.2}s, trades {:.2}s",
                t.elapsed().as_secs_f64() - o
            ));
            Ok(())
        });
        let forked = &mut tasks_env;
        let tasks = s.spawn(move || {
            let t = std::time::Instant::now();
            let r = shifts::check_tasks(forked, &snap3, groups_rx);
            crate::ui::timing(&format!("  tasks {:.2}s", t.elapsed().as_secs_f64()));
            r
        });
        let t = std::time::Instant::now();
        let repeated = shifts::check_shifts(&mut env, snap, groups_tx)?;
        crate::ui::timing(&format!("  shifts {:.2}s", t.elapsed().as_secs_f64()));
        overlaps.join().expect("overlap thread panicked")?;
        let spans = tasks.join().expect("task thread panicked")?;
        Ok((repeated, spans))
    })?;
    shifts::recheck_repeated(&mut env, &mut tasks_env, spans, &repeated, snap)?;
    env.absorb(tasks_env);
    env.absorb(overlap_env);
    lap("shifts, tasks, overlaps, trades");
    let policy = Policy {
        dst_ambiguous: cfg.dst_ambiguous.as_str().into(),
        pending_trades: cfg.pending_trades.as_str().into(),
        include_drafts: cfg.include_drafts,
        max_shift_hours: cfg.max_shift_hours,
    };
    let weeks = env
        .weeks
        .iter()
        .map(|(&monday, &shifts)| report::WeekStat { monday, shifts })
        .collect();
    let records = env.records;
    let spilled = env.sink.findings.spilled_bytes();
    let mut r = Report::from_store(
        snapshot_id.to_string(),
        inputs,
        policy,
        env.sink.findings,
        weeks,
    )
    .map_err(|e| spill_error(dir, spilled, &e))?;
    r.records = records;
    Ok(r)
}

/// The diagnostic of a failure of the findings' temporary file (a write failure alone is not one:
/// the findings then stay in memory, see [`report::findings`]).
fn spill_error(dir: &Path, spilled: u64, e: &std::io::Error) -> Error {
    let file = dir.join(format!(".zd2gc-findings-{}-N.tmp", std::process::id()));
    Error::failure(
        format!(
            "I/O error on the findings' temporary file {} (unlinked once created): {e}",
            file.display()
        ),
        Some(format!(
            "validate keeps the findings past the first {} in that file: it needs about the report's size free in {} (here at least {:.1} MB), besides the report itself; free some space there and run validate again",
            report::findings::IN_MEMORY,
            dir.display(),
            spilled as f64 / 1e6
        )),
    )
}

/// Read back the source line of the findings the terminal shows (one pass per file).
fn attach_lines(cfg: &Config, snap: &Connection, report: &mut Report) {
    let Ok(Some(export_dir)) = snap
        .query_row(
            "SELECT value FROM snapshot_meta WHERE key = 'export_dir'",
            [],
            |r| r.get::<_, String>(0),
        )
        .optional()
    else {
        return;
    };
    let mut wanted: HashMap<String, Vec<(u64, usize)>> = HashMap::new();
    for (i, f) in report.shown.iter().enumerate() {
        if f.text.is_some() {
            continue;
        }
        if let (Some(file), Some(line)) = (&f.file, f.line) {
            wanted.entry(file.clone()).or_default().push((line, i));
        }
    }
    for (file, mut want) in wanted {
        want.sort_unstable();
        let path = if file.starts_with("mappings/") {
            continue;
        } else {
            Path::new(&export_dir).join(&file)
        };
        let Ok(fh) = std::fs::File::open(&path) else {
            continue;
        };
        // Decoded as extract read it (`[csv] encoding`), so the snippet is the text as written.
        let fh: Box<dyn std::io::Read> = match cfg.csv.encoding() {
            Some(enc) if file.ends_with(".csv") => Box::new(
                encoding_rs_io::DecodeReaderBytesBuilder::new()
                    .encoding(Some(enc))
                    .bom_sniffing(true)
                    .build(fh),
            ),
            _ => Box::new(fh),
        };
        let mut rd = std::io::BufReader::with_capacity(1 << 16, fh);
        let mut buf = Vec::new();
        let mut n = 0u64;
        let mut k = 0;
        while k < want.len() {
            // Physical lines, as extract counts them (CRLF, LF or a lone CR end one).
            match crate::lines::read_line_bounded(&mut rd, &mut buf, 1 << 20) {
                Ok(Some(_)) => {}
                Ok(None) | Err(_) => break,
            }
            n += 1;
            while k < want.len() && want[k].0 == n {
                let mut t = String::from_utf8_lossy(&buf).into_owned();
                if n == 1 {
                    t = t.trim_start_matches('\u{feff}').to_string();
                }
                report.shown[want[k].1].text = Some(t);
                k += 1;
            }
        }
    }
}

/// Write a report file (an error names the file).
pub(crate) fn write_file(path: &Path, bytes: &[u8]) -> Result<()> {
    std::fs::write(path, bytes).map_err(|e| Error::io(path, e))
}

/// Write the JSON report to `path` as it is made ([`report::json::write`]); its SHA-256.
pub(crate) fn write_report(path: &Path, report: &Report) -> Result<String> {
    let f = std::fs::File::create(path).map_err(|e| Error::io(path, e))?;
    write_report_to(f, path, report)
}

/// The kept report (`reports/validate-N.json`): written owner-only under a temporary name in the same
/// directory and renamed into place once complete, so a full disk or a kill never leaves a truncated
/// report (or one readable by others) under the report's name. Returns the SHA-256 of its bytes.
///
/// When the disk is full and the findings are spilled ([`report::findings`]), their temporary file
/// holds about the report's size: they are read back into memory, the file let go and the report
/// written again, so validate needs no more free space than the report itself (as before the spill).
/// `full_while_spilled` (tests) makes the report's writes fail as on a full disk while the findings'
/// temporary file is held.
pub(crate) fn keep_report(
    path: &Path,
    report: &mut Report,
    full_while_spilled: bool,
) -> Result<String> {
    let is_full = |e: &std::io::Error| {
        matches!(
            e.kind(),
            std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded
        )
    };
    let kept = match keep_report_once(path, report, full_while_spilled) {
        Err(Error::Io { ref source, .. }) if is_full(source) && report.findings.spilled() => {
            let dir = path.parent().and_then(Path::parent).unwrap_or(path);
            let spilled = report.findings.spilled_bytes();
            report
                .findings
                .take_back(format!(
                    "the disk was full writing {}: read the findings back from their temporary file into memory and wrote the report again (memory grows with their number)",
                    path.display()
                ))
                .map_err(|e| spill_error(dir, spilled, &e))?;
            keep_report_once(path, report, full_while_spilled)
        }
        r => r,
    };
    match kept {
        Err(Error::Io { source, .. }) if is_full(&source) => {
            Err(report_full_error(path, report.findings.len(), &source))
        }
        r => r,
    }
}

/// The kept report did not fit on the disk even with the findings held in memory: say so under the
/// report's own name (not its temporary one), with what to do.
fn report_full_error(path: &Path, findings: usize, e: &std::io::Error) -> Error {
    let dir = path.parent().unwrap_or(path);
    Error::failure(
        format!(
            "the disk is full: the validation report {} could not be written ({e})",
            path.display()
        ),
        Some(format!(
            "nothing was kept under that name; the report of {findings} finding(s) needs more free space in {} than there was: free some space there and run validate again",
            dir.display()
        )),
    )
}

fn keep_report_once(path: &Path, report: &Report, full_while_spilled: bool) -> Result<String> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(format!(".tmp-{}", std::process::id()));
    let tmp = std::path::PathBuf::from(tmp);
    let done = crate::store::private_options()
        .write(true)
        .create(true)
        .truncate(true)
        .open(&tmp)
        .map_err(|e| Error::io(&tmp, e))
        .and_then(|f| {
            let left = if full_while_spilled && report.findings.spilled() {
                1024
            } else {
                u64::MAX
            };
            write_report_to(Full { w: f, left }, &tmp, report)
        })
        .and_then(|sha| {
            std::fs::rename(&tmp, path)
                .map(|()| sha)
                .map_err(|e| Error::io(path, e))
        });
    if done.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    done
}

/// A writer that takes `left` bytes, then fails as a full disk does (tests).
struct Full<W> {
    w: W,
    left: u64,
}

impl<W: std::io::Write> std::io::Write for Full<W> {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        if self.left == 0 && !b.is_empty() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::StorageFull,
                "No space left on device (test)",
            ));
        }
        let take = usize::try_from(self.left).map_or(b.len(), |l| b.len().min(l));
        let n = self.w.write(&b[..take])?;
        self.left -= n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.w.flush()
    }
}

fn write_report_to(f: impl std::io::Write, path: &Path, report: &Report) -> Result<String> {
    use sha2::Digest;
    struct Hashing<W> {
        w: W,
        h: sha2::Sha256,
    }
    impl<W: std::io::Write> std::io::Write for Hashing<W> {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            let n = self.w.write(b)?;
            self.h.update(&b[..n]);
            Ok(n)
        }
        fn flush(&mut self) -> std::io::Result<()> {
            self.w.flush()
        }
    }
    let io = |e| Error::io(path, e);
    let mut w = Hashing {
        w: std::io::BufWriter::with_capacity(1 << 16, f),
        h: sha2::Sha256::new(),
    };
    report::json::write(report, &mut w).map_err(io)?;
    let f = w.w.into_inner().map_err(|e| io(e.into_error()))?;
    // As `std::fs::write`: the bytes handed to the file (no sync).
    drop(f);
    Ok(format!("{:x}", w.h.finalize()))
}

/// SHA-256 over zd2gc.toml and the mapping tables (what the findings depend on besides the export).
fn config_hash(dir: &Path, mappings: &Path) -> String {
    use sha2::Digest;
    let mut h = sha2::Sha256::new();
    let mut paths = vec![dir.join(crate::config::FILE_NAME)];
    if let Ok(rd) = std::fs::read_dir(mappings) {
        let mut v: Vec<PathBuf> = rd.flatten().map(|e| e.path()).collect();
        v.sort();
        paths.extend(v);
    }
    for p in paths {
        if let Ok(b) = std::fs::read(&p) {
            h.update(
                p.file_name()
                    .map(|n| n.as_encoded_bytes())
                    .unwrap_or_default(),
            );
            h.update([0]);
            h.update(&b);
        }
    }
    format!("{:x}", h.finalize())
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    fn info(line: i64) -> super::AgentInfo {
        super::AgentInfo {
            zone: crate::timeval::zone::ZoneSel::Missing,
            deactivated: false,
            file_id: 1,
            line,
        }
    }

    proptest! {
        /// The agents table answers as a plain map of the ids does (the first row of an id wins),
        /// for ids around the 16 bytes kept inline: shorter, exactly 16, longer, with NULs and
        /// trailing zero bytes (an id and the same id with a NUL after it are two agents).
        #[test]
        fn agents_answer_as_a_map_of_their_ids(
            ids in proptest::collection::vec("[ab\\x00]{0,3}|[0-9]{14,18}|[a\\x00]{15,17}", 1..40),
            probes in proptest::collection::vec("[ab\\x00]{0,3}|[0-9]{14,18}|[a\\x00]{15,17}", 1..40),
        ) {
            let mut oracle = std::collections::HashMap::new();
            let mut agents = super::Agents::default();
            for (k, id) in ids.iter().enumerate() {
                oracle.entry(id.clone()).or_insert(k as i64);
                agents.insert_first(id.clone(), info(k as i64));
            }
            prop_assert_eq!(agents.len(), oracle.len());
            for id in ids.iter().chain(probes.iter()) {
                prop_assert_eq!(agents.get(id).map(|a| a.line), oracle.get(id).copied(), "{:?}", id);
                prop_assert_eq!(agents.contains_key(id), oracle.contains_key(id));
            }
        }
    }

    fn small_report() -> crate::report::Report {
        use crate::report::{Finding, Policy, Report};
        use crate::rules::Severity;
        Report::new(
            "snap".into(),
            vec![],
            Policy {
                dst_ambiguous: String::new(),
                pending_trades: String::new(),
                include_drafts: false,
                max_shift_hours: 0.0,
            },
            (0..50)
                .map(|i| Finding::new("shift-overlap", Severity::Error, format!("finding {i}")))
                .collect(),
            vec![],
        )
    }

    fn names_in(dir: &std::path::Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    /// The kept report lands complete, owner-only, under its name, with the hash of its bytes;
    /// nothing else is left in the directory.
    #[test]
    fn the_kept_report_is_renamed_into_place_owner_only() {
        use sha2::Digest;
        let d = tempfile::tempdir().unwrap();
        let mut r = small_report();
        let kept = d.path().join("validate-3.json");
        let sha = super::keep_report(&kept, &mut r, false).unwrap();
        let bytes = std::fs::read(&kept).unwrap();
        assert_eq!(sha, format!("{:x}", sha2::Sha256::digest(&bytes)));
        let plain = d.path().join("plain.json");
        super::write_report(&plain, &r).unwrap();
        assert_eq!(bytes, std::fs::read(&plain).unwrap());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&kept).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "{mode:o}");
        }
        assert_eq!(names_in(d.path()), ["plain.json", "validate-3.json"]);
    }

    /// A report that cannot be put in place leaves nothing behind: no partial file under the
    /// report's name (here a directory stands there) and no temporary file.
    #[test]
    fn a_report_that_cannot_be_kept_leaves_nothing_behind() {
        let d = tempfile::tempdir().unwrap();
        let kept = d.path().join("validate-3.json");
        std::fs::create_dir(&kept).unwrap();
        std::fs::write(kept.join("x"), b"x").unwrap();
        let e = super::keep_report(&kept, &mut small_report(), false).unwrap_err();
        assert!(e.to_string().contains("validate-3.json"), "{e}");
        assert_eq!(names_in(d.path()), ["validate-3.json"]);
        assert_eq!(names_in(&kept), ["x"]);
    }

    /// A full disk under the kept report names the report (not its temporary file) and says what to do.
    #[test]
    fn a_report_the_disk_cannot_hold_is_named_with_help() {
        use miette::Diagnostic;
        let e = super::report_full_error(
            std::path::Path::new("/m/reports/validate-4.json"),
            52_181,
            &std::io::Error::from(std::io::ErrorKind::StorageFull),
        );
        let msg = e.to_string();
        assert!(
            msg.contains("/m/reports/validate-4.json ") && !msg.contains(".tmp-"),
            "{msg}"
        );
        let help = e.help().map(|h| h.to_string()).unwrap_or_default();
        assert!(
            help.contains("52181 finding(s)")
                && help.contains("/m/reports")
                && help.contains("free some space"),
            "{help}"
        );
    }

    /// The same through `keep_report`: its temporary file made a link to /dev/full, whose writes fail
    /// as a full disk's do.
    #[cfg(target_os = "linux")]
    #[test]
    fn a_full_disk_under_the_kept_report_is_a_diagnostic_with_help() {
        use miette::Diagnostic;
        let d = tempfile::tempdir().unwrap();
        let kept = d.path().join("validate-4.json");
        let tmp = d
            .path()
            .join(format!("validate-4.json.tmp-{}", std::process::id()));
        std::os::unix::fs::symlink("/dev/full", &tmp).unwrap();
        let e = super::keep_report(&kept, &mut small_report(), false).unwrap_err();
        assert!(e.to_string().contains("the disk is full"), "{e}");
        assert!(e.help().is_some(), "{e}");
        assert!(names_in(d.path()).is_empty(), "{:?}", names_in(d.path()));
    }

    /// A failure of the findings' temporary file names that file and the space it needs.
    #[test]
    fn a_spill_failure_names_the_temporary_file_and_the_space_needed() {
        use miette::Diagnostic;
        let e = super::spill_error(
            std::path::Path::new("/m"),
            27_000_000,
            &std::io::Error::other("boom"),
        );
        let msg = e.to_string();
        assert!(
            msg.contains("/m/.zd2gc-findings-") && msg.contains("boom"),
            "{msg}"
        );
        let help = e.help().map(|h| h.to_string()).unwrap_or_default();
        assert!(help.contains("27.0 MB") && help.contains("/m"), "{help}");
    }
}
