//! `zd2gc rehearse [EXPORT_DIR]`: the whole pipeline on an export (default `samples/paris-cutover`)
//! in a fresh rehearsal directory, against the in-process emulator started with `samples/org.json`
//! and faults on (unless `--no-faults`): init, extract, map (online), validate, plan, load with
//! `--allow-errors` (the planted problems are held back and said so), verify. Exit 0 when verify
//! matches.

use crate::cli::Ctx;
use crate::error::{Error, Result};
use crate::exit::Exit;
use std::path::PathBuf;

/// The file that marks a directory made by `zd2gc rehearse` (the only kind it empties).
pub const MARKER: &str = ".zd2gc-rehearsal";

#[derive(Debug, clap::Args)]
pub struct RehearseArgs {
    /// The export to rehearse with.
    #[arg(default_value = "samples/paris-cutover")]
    pub export_dir: PathBuf,
    /// Where the rehearsal's migration directory is created. An existing DIR is emptied first only
    /// when an earlier `zd2gc rehearse` made it (its `.zd2gc-rehearsal` marker) or it is empty.
    #[arg(long, default_value = "rehearsal", value_name = "DIR")]
    pub workdir: PathBuf,
    /// Empty an existing --workdir that `zd2gc rehearse` did not make (everything in it is lost).
    #[arg(long)]
    pub force: bool,
    /// Mapping tables to use (default: `mappings/` beside the export's parent if present, else the
    /// built-in ones).
    #[arg(long, value_name = "DIR")]
    pub mappings: Option<PathBuf>,
    /// The emulator's org fixture.
    #[arg(long, default_value = "samples/org.json", value_name = "FILE")]
    pub org: PathBuf,
    /// Run the emulator without fault injection.
    #[arg(long)]
    pub no_faults: bool,
}

pub fn run(args: &RehearseArgs, ctx: &Ctx) -> Result<Exit> {
    if !args.export_dir.is_dir() {
        return Err(Error::usage(
            format!(
                "export directory {} does not exist",
                args.export_dir.display()
            ),
            Some(
                "run from the project root, or name an export: `zd2gc rehearse path/to/export`"
                    .into(),
            ),
        ));
    }
    let work = &args.workdir;
    if work.exists() {
        // Only ever empty a directory this command made (or an empty one): a real migration
        // directory holds a journal and a crosswalk that nothing could rebuild.
        let empty = std::fs::read_dir(work)
            .map(|mut d| d.next().is_none())
            .unwrap_or(false);
        if !empty && !work.join(MARKER).is_file() && !args.force {
            let what = if work.join("zd2gc.db").exists() {
                "a migration directory (its zd2gc.db holds the journal and the crosswalk)"
            } else if work.join(crate::config::FILE_NAME).exists() {
                "a migration directory"
            } else {
                "a directory with files in it"
            };
            return Err(Error::usage(
                format!(
                    "{} is {what} that `zd2gc rehearse` did not make (no {MARKER} in it); refusing to empty it",
                    work.display()
                ),
                Some(
                    "name another --workdir (a new directory), or add --force to empty this one (everything in it is lost)"
                        .into(),
                ),
            ));
        }
        std::fs::remove_dir_all(work).map_err(|e| Error::io(work, e))?;
    }
    let mappings = args.mappings.clone().or_else(|| {
        let m = PathBuf::from("mappings");
        m.join("agents.csv").exists().then_some(m)
    });
    ctx.ui.step(format!(
        "rehearse: {} in {}",
        args.export_dir.display(),
        work.display()
    ));
    // The rehearsal's export is the samples' org: without a mappings folder, its tables.
    crate::init::init_dir_with(work, mappings.as_deref(), crate::init::BUILTIN_MAPPINGS)?;
    let marker = work.join(MARKER);
    std::fs::write(
        &marker,
        format!(
            "made by zd2gc rehearse at {}; the next rehearse with this --workdir empties this directory\n",
            crate::db::now_rfc3339()
        ),
    )
    .map_err(|e| Error::io(&marker, e))?;
    ctx.ui.info("  init      done");
    let wctx = Ctx {
        dir: work.clone(),
        ui: ctx.ui.clone(),
        argv: ctx.argv.clone(),
    };
    let sub = crate::extract::ExtractArgs {
        export_dir: args.export_dir.clone(),
        ignore_unknown_files: false,
    };
    let exit = crate::extract::run_quietly(&sub, &wctx)?;
    ctx.ui.info(format!("  extract   {}", exit.describe()));
    downstream(args, &wctx)
}

/// map, validate, plan, load and verify against the in-process emulator.
fn downstream(args: &RehearseArgs, ctx: &Ctx) -> Result<Exit> {
    use crate::emulator::{Dump, Emulator, EmulatorConfig, Faults, Fixture};
    let text = std::fs::read_to_string(&args.org).map_err(|e| Error::io(&args.org, e))?;
    let fixture: Fixture = serde_json::from_str(&text).map_err(|e| {
        Error::usage(
            format!("{}: not an org fixture: {e}", args.org.display()),
            None,
        )
    })?;
    let faults = if args.no_faults {
        Faults::default()
    } else {
        Faults {
            seed: 7,
            concurrent_edit_rate: 0.15,
            lock_rate: 0.1,
            lock_ms: 200,
            error_rate: 0.05,
            drop_rate: 0.02,
            // Seconds, as a real org: where a load meets its own unfinished writes.
            processing_ms: 1_000,
            processing_max_ms: 3_000,
            token_lifetime_secs: 60,
            // Real orgs: weeks with planners' drafts, and queries that go asynchronous.
            drafts: true,
            query_processing_rate: 0.1,
            ..Faults::default()
        }
    };
    let emu = Emulator::start(EmulatorConfig {
        faults: Faults::default(),
        org: Some(Dump {
            org: fixture,
            ..Dump::default()
        }),
        ..EmulatorConfig::default()
    })?;
    let client = std::sync::Arc::new(crate::client::Client::new(
        emu.endpoints(),
        crate::client::Credentials {
            client_id: emu.client_id().to_string(),
            secret: crate::client::Secret::new(emu.client_secret()),
        },
    )?);
    ctx.ui.info(format!(
        "  emulator  {} ({})",
        emu.base_url(),
        if args.no_faults {
            "no faults"
        } else {
            "faults on: 15% concurrent edits, 10% locks, 5% 5xx, 2% drops"
        }
    ));
    let cfg = crate::config::Config::load(&ctx.dir)?;
    let m = crate::map::map_dir(
        &ctx.dir,
        &cfg,
        &crate::map::MapOptions {
            online: crate::map::OnlineMode::With(client.clone()),
            argv: "rehearse".into(),
            ..Default::default()
        },
    )?;
    ctx.ui.info(format!(
        "  map       {} shifts mapped, {} held back",
        m.shifts_mapped, m.shifts_held_back
    ));
    let v = crate::validate::validate_dir(
        &ctx.dir,
        &cfg,
        &crate::validate::ValidateOptions {
            remap: crate::validate::Remap::Never,
            argv: "rehearse".into(),
            ..Default::default()
        },
    )?;
    ctx.ui.info(format!(
        "  validate  {} error(s), {} warning(s): the records with errors will be held back (--allow-errors)",
        v.report.summary.errors, v.report.summary.warnings
    ));
    emu.set_faults(faults)?;
    let opts = crate::load::LoadOptions {
        allow_errors: true,
        max_rpm: 3000,
        settle_timeout: std::time::Duration::from_secs(10),
        ..Default::default()
    };
    let plan = crate::load::plan_dir(&ctx.dir, client.clone(), &opts, "rehearse plan")?;
    let creates = plan.iter().filter(|w| w.action == "create").count();
    let updates = plan.iter().filter(|w| w.action == "update").count();
    ctx.ui.info(format!(
        "  plan      {} week(s): {creates} to create, {updates} to update",
        plan.len()
    ));
    let quiet = crate::ui::Ui {
        quiet: true,
        progress: false,
        ..ctx.ui.clone()
    };
    let r = crate::load::load_dir(&ctx.dir, client.clone(), &opts, &quiet, "rehearse load")?;
    ctx.ui.info(format!(
        "  load      {} week(s) done, {} with parked conflicts, {} failed; {} shift(s) held back {:?}; {} requests",
        r.weeks_done, r.weeks_conflict, r.weeks_failed, r.shifts_held_back, r.held_back_by_reason, r.requests.total
    ));
    emu.set_faults(Faults::default())?;
    let ver = crate::load::verify_dir(&ctx.dir, client, &opts, "rehearse verify")?;
    ctx.ui.info(format!(
        "  verify    {}: {} shift(s) match, missing {}, different {}, unexpected {}, {} conflict(s) reported",
        if ver.matches() { "matches" } else { "DIFFERS" },
        ver.matching_shifts, ver.missing, ver.different, ver.unexpected, ver.conflicts
    ));
    Ok(if ver.matches() {
        Exit::Ok
    } else {
        Exit::Findings
    })
}
