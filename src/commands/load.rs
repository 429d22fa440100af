//! `zd2gc load`: its arguments (and the connection options `plan` and `verify` share), and the
//! final summary of a load.

use super::view;
use crate::context::Context;
use crate::error::Result;
use crate::exit::Exit;
use crate::load::merge::OnConflict;
use crate::load::{LoadOptions, LoadReport, client_for, load_dir};
use crate::ui::Ui;
use std::path::Path;
use std::time::Duration;

/// Options shared by `plan`, `load` and `verify`.
#[derive(Debug, Clone, clap::Args)]
pub struct ConnArgs {
    /// Most requests per minute to Genesys (the pace starts here, slows on 429 and recovers).
    #[arg(long, default_value_t = 300, value_name = "N")]
    pub max_rpm: u32,
    /// Business-unit weeks in flight at once.
    #[arg(long, default_value_t = 4, value_name = "N")]
    pub concurrency: usize,
    /// Point this migration at another Genesys org than the one it was loaded against (recorded).
    #[arg(long)]
    pub rebind: bool,
    /// Read again the weeks the journal says are done with an unchanged desired state.
    #[arg(long)]
    pub recheck: bool,
}

/// Write the mapped schedules to Genesys Cloud.
#[derive(Debug, Clone, clap::Args)]
pub struct LoadArgs {
    #[command(flatten)]
    pub conn: ConnArgs,
    /// When both sides changed a shift: park the conflict (default) or overwrite with ours.
    #[arg(long, value_enum, default_value_t = OnConflictArg::Park)]
    pub on_conflict: OnConflictArg,
    /// Load although the validation found errors: the records with errors are held back.
    #[arg(long)]
    pub allow_errors: bool,
    /// Refused writes one week may meet before it ends `failed`.
    #[arg(long, default_value_t = 8, value_name = "N")]
    pub max_refusals: u32,
    /// How long a write that is processing (or whose answer was lost) is awaited, in seconds.
    #[arg(long, default_value_t = 60, value_name = "SECS")]
    pub settle_timeout: u64,
    /// Writes of one week that may end in `Error` or stay invisible through the settle timeout
    /// before the week ends `failed` (with its operation and correlation ids); the run goes on.
    #[arg(long, default_value_t = 3, value_name = "N")]
    pub max_failed_writes: u32,
}

/// What to do when both sides changed a shift (`--on-conflict`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum OnConflictArg {
    /// Leave theirs, record the conflict with both sides, go on with the rest of the week.
    #[default]
    Park,
    /// Overwrite theirs with ours, and record that it was done.
    Ours,
}

impl From<OnConflictArg> for OnConflict {
    fn from(c: OnConflictArg) -> OnConflict {
        match c {
            OnConflictArg::Park => OnConflict::Park,
            OnConflictArg::Ours => OnConflict::Ours,
        }
    }
}

impl ConnArgs {
    pub(super) fn apply(&self, o: &mut LoadOptions) {
        o.max_rpm = self.max_rpm.max(1);
        o.concurrency = self.concurrency.max(1);
        o.rebind = self.rebind;
        o.recheck = self.recheck;
    }
}

pub fn run(a: &LoadArgs, ctx: &Context) -> Result<Exit> {
    let mut o = LoadOptions {
        on_conflict: a.on_conflict.into(),
        max_refusals: a.max_refusals,
        max_failed_writes: a.max_failed_writes.max(1),
        settle_timeout: Duration::from_secs(a.settle_timeout.max(1)),
        allow_errors: a.allow_errors,
        ..Default::default()
    };
    a.conn.apply(&mut o);
    let client = client_for(&ctx.dir)?;
    let r = load_dir(&ctx.dir, client, &o, &ctx.ui, &ctx.argv.join(" "))?;
    print_load_summary(&ctx.ui, &r, &ctx.dir);
    Ok(r.exit())
}

/// Print a load's final summary on stderr (and `--json` on stdout).
pub fn print_load_summary(ui: &Ui, r: &LoadReport, dir: &Path) {
    ui.step(format!(
        "load: {} week(s): {} done, {} unchanged, {} with parked conflicts, {} failed{}",
        r.weeks,
        r.weeks_done,
        r.weeks_skipped,
        r.weeks_conflict,
        r.weeks_failed,
        if r.weeks_not_started > 0 {
            format!(", {} not started", r.weeks_not_started)
        } else {
            String::new()
        }
    ));
    ui.info(format!(
        "  shifts: {} desired, {} held back{}",
        r.shifts_desired,
        r.shifts_held_back,
        if r.held_back_by_reason.is_empty() {
            String::new()
        } else {
            format!(
                " ({})",
                r.held_back_by_reason
                    .iter()
                    .map(|(k, v)| format!("{k}: {v}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        }
    ));
    let kinds: Vec<String> = r
        .requests
        .by_kind
        .iter()
        .map(|(k, v)| format!("{k} {v}"))
        .collect();
    ui.info(format!(
        "  requests: {} ({})",
        r.requests.total,
        kinds.join(", ")
    ));
    ui.info(format!(
        "  minimum possible {} (token, identifying read, state reads, a blank create per new week, one triple per week written); read-backs {}, polls {}",
        r.minimum_requests, r.confirm_reads, r.polls
    ));
    ui.info(format!(
        "  retries: 429 ×{}, 409 ×{}, 412 ×{}, 5xx ×{}, no answer ×{}, 401 ×{}; conflicts {}; {:.1}s",
        r.requests.status_429, r.requests.status_409, r.requests.status_412, r.requests.status_5xx, r.requests.no_answer, r.requests.status_401, r.conflicts, r.seconds
    ));
    let names = crate::store::open_state(dir)
        .map(|c| view::Names::load(dir, &c))
        .unwrap_or_default();
    let t = &r.time_off;
    if t.desired + t.held_back > 0 {
        ui.info(format!(
            "  time off: {} to load, {} held back: {} created, {} found after a doubt, {} already there, {} changed since (reported, not re-created), {} failed{}; {} create(s) and {} quer(y/ies) sent",
            t.desired,
            t.held_back,
            t.created,
            t.found,
            t.already,
            t.changed.len(),
            t.failures.len(),
            if t.not_started > 0 {
                format!(", {} not started", t.not_started)
            } else {
                String::new()
            },
            t.creates_sent,
            t.queries
        ));
    }
    for id in t.changed.iter().take(20) {
        ui.warn(format!(
            "time off {id} changed in the export after it was created in Genesys: not re-created (Genesys cannot edit a request); change it in Genesys by hand if needed"
        ));
    }
    for (id, why) in &t.failures {
        ui.warn(format!("time off {id} failed: {why}"));
    }
    for (bu, week, why) in &r.failures {
        ui.warn(format!("{} week of {week} failed: {why}", names.bu(bu)));
    }
    if r.weeks_failed > 0 {
        ui.info(format!(
            "  failed weeks: `zd2gc --dir {d} status` lists them with their operation and correlation ids (what Genesys support needs when writes keep ending in Error); `zd2gc --dir {d} load` tries them again",
            d = dir.display()
        ));
    }
    if r.interrupted {
        // Shown even with --quiet: the one line an interrupted operator needs.
        ui.warn(format!(
            "interrupted; the journal is checkpointed; resume with: zd2gc --dir {} load",
            dir.display()
        ));
    } else if r.weeks_failed > 0 || r.weeks_not_started > 0 || r.time_off.not_started > 0 {
        ui.info(format!("  resume with: zd2gc --dir {} load", dir.display()));
    }
    if r.conflicts > 0 {
        // Not a resume situation: running load again parks the same conflicts.
        ui.warn(format!(
            "{} shift(s) in {} week(s) parked as conflicts: both the export and Genesys changed them since zd2gc wrote them, and running load again changes nothing. Review both sides with `zd2gc --dir {d} status`; leave them (Genesys keeps its version) or write the export's over them with `zd2gc --dir {d} load --on-conflict ours`",
            r.conflicts,
            r.weeks_conflict,
            d = dir.display()
        ));
    }
    ui.json_summary(&serde_json::to_value(r).unwrap_or_default());
}
