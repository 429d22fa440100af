//! `zd2gc rehearse [EXPORT_DIR]`: the whole pipeline on an export (default `samples/paris-cutover`)
//! in a fresh rehearsal directory, against the in-process emulator started with `samples/org.json`
//! and faults on (unless `--no-faults`): init, extract, map (online), validate, plan, load with
//! `--allow-errors` (the planted problems are held back and said so), verify. Exit 0 when verify
//! matches.

use crate::context::Context;
use crate::error::{Error, Result};
use crate::exit::Exit;
use std::path::PathBuf;

/// The file that marks a directory made by `zd2gc rehearse` (the only kind it empties).
pub const MARKER: &str = ".zd2gc-rehearsal";

/// What `rehearse` is told (the flags of `zd2gc rehearse`, which say more).
#[derive(Debug, Clone)]
pub struct RehearseOptions {
    /// The export (`None`: the built-in sample).
    pub export_dir: Option<PathBuf>,
    /// The rehearsal's migration directory (emptied first only when a rehearsal made it).
    pub workdir: PathBuf,
    /// Empty `workdir` even when no rehearsal made it.
    pub force: bool,
    /// The mapping tables (`None`: `mappings/` if the export is named and it exists, else built in).
    pub mappings: Option<PathBuf>,
    /// The emulator's org fixture (`None`: the built-in one).
    pub org: Option<PathBuf>,
    pub no_faults: bool,
}

/// Rehearse: the whole pipeline in a fresh rehearsal directory (progress on `ctx.ui`). Returns the
/// exit status and the `rehearse/v1` summary.
pub fn rehearse(args: &RehearseOptions, ctx: &Context) -> Result<(Exit, serde_json::Value)> {
    if let Some(export) = &args.export_dir
        && !export.is_dir()
    {
        return Err(Error::usage(
            format!("export directory {} does not exist", export.display()),
            Some(
                "name an export (`zd2gc rehearse path/to/export`), or none for the built-in sample"
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
    // The built-in sample goes with the built-in mapping tables; a named export with `mappings/`
    // of the working directory when there is one.
    let mappings = args.mappings.clone().or_else(|| {
        let m = PathBuf::from("mappings");
        (args.export_dir.is_some() && m.join("agents.csv").exists()).then_some(m)
    });
    let export = match &args.export_dir {
        Some(e) => e.clone(),
        None => work.join("sample-export"),
    };
    ctx.ui.step(format!(
        "rehearse: {} in {}",
        match &args.export_dir {
            Some(e) => e.display().to_string(),
            None => "the built-in sample (samples/paris-cutover)".into(),
        },
        work.display()
    ));
    // The rehearsal's export is the samples' org: without a mappings folder, its tables.
    crate::init::init_dir_with(work, mappings.as_deref(), crate::init::BUILTIN_MAPPINGS)?;
    let marker = work.join(MARKER);
    std::fs::write(
        &marker,
        format!(
            "made by zd2gc rehearse at {}; the next rehearse with this --workdir empties this directory\n",
            crate::store::now_rfc3339()
        ),
    )
    .map_err(|e| Error::io(&marker, e))?;
    if args.export_dir.is_none() {
        crate::samples::write_paris_cutover(&export)?;
    }
    ctx.ui.info("  init      done");
    // The stages report to the terminal; the one `--json` object is rehearse's own.
    let mut ui = ctx.ui.clone();
    ui.json = false;
    let wctx = Context {
        dir: work.clone(),
        ui,
        argv: ctx.argv.clone(),
    };
    let exit = crate::extract::run_quietly(
        &export,
        &crate::extract::ExtractOptions {
            ignore_unknown_files: false,
        },
        &wctx,
    )?;
    ctx.ui.info(format!("  extract   {}", exit.describe()));
    let (exit, mut summary) = downstream(args, &wctx)?;
    summary["workdir"] = serde_json::json!(work);
    summary["exit_code"] = serde_json::json!(exit.code());
    Ok((exit, summary))
}

/// map, validate, plan, load and verify against the in-process emulator.
fn downstream(args: &RehearseOptions, ctx: &Context) -> Result<(Exit, serde_json::Value)> {
    use crate::emulator::{Dump, Emulator, EmulatorConfig, Faults, Fixture};
    let (text, org_name) = match &args.org {
        Some(p) => (
            std::fs::read_to_string(p).map_err(|e| Error::io(p, e))?,
            p.display().to_string(),
        ),
        None => (
            crate::samples::ORG_JSON.to_string(),
            "samples/org.json (built in)".to_string(),
        ),
    };
    let fixture: Fixture = serde_json::from_str(&text)
        .map_err(|e| Error::usage(format!("{org_name}: not an org fixture: {e}"), None))?;
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
    let to_plan = crate::load::timeoff::plan(&crate::store::open_state(&ctx.dir)?)?;
    ctx.ui.info(format!(
        "  plan      {} week(s): {creates} to create, {updates} to update; time off: {} request(s) to create, {} already there, {} held back",
        plan.len(),
        to_plan.to_create,
        to_plan.already_there,
        to_plan.held_back
    ));
    let quiet = crate::ui::Ui {
        quiet: true,
        progress: false,
        plain_progress: false,
        ..ctx.ui.clone()
    };
    let r = crate::load::load_dir(&ctx.dir, client.clone(), &opts, &quiet, "rehearse load")?;
    ctx.ui.info(format!(
        "  load      {} week(s) done, {} with parked conflicts, {} failed; {} shift(s) held back {:?}; {} requests",
        r.weeks_done, r.weeks_conflict, r.weeks_failed, r.shifts_held_back, r.held_back_by_reason, r.requests.total
    ));
    let t = &r.time_off;
    ctx.ui.info(format!(
        "  time off  {} request(s) to load: {} created, {} found after a doubt, {} already there, {} failed, {} changed (reported), {} held back",
        t.desired, t.created, t.found, t.already, t.failures.len(), t.changed.len(), t.held_back
    ));
    emu.set_faults(Faults::default())?;
    let ver = crate::load::verify_dir(&ctx.dir, client, &opts, "rehearse verify")?;
    ctx.ui.info(format!(
        "  verify    {}: {} shift(s) match, missing {}, different {}, unexpected {}, {} conflict(s) reported",
        if ver.matches() { "matches" } else { "DIFFERS" },
        ver.matching_shifts, ver.missing, ver.different, ver.unexpected, ver.conflicts
    ));
    let tv = &ver.time_off;
    ctx.ui.info(format!(
        "  verify    time off: {} request(s) match, missing {}, different {}, unexpected {}, duplicated {}",
        tv.matching,
        tv.missing.len(),
        tv.different.len(),
        tv.unexpected.len(),
        tv.duplicated.len()
    ));
    let summary = serde_json::json!({
        "schema": "rehearse/v1",
        "map": {"shifts_mapped": m.shifts_mapped, "shifts_held_back": m.shifts_held_back},
        "validate": {"ready_to_load": v.report.ready_to_load, "summary": v.report.summary},
        "plan": {"weeks": plan.len(), "creates": creates, "updates": updates, "time_off": to_plan},
        "load": {
            "weeks_done": r.weeks_done, "weeks_conflict": r.weeks_conflict,
            "weeks_failed": r.weeks_failed, "shifts_held_back": r.shifts_held_back,
            "held_back_by_reason": r.held_back_by_reason, "requests": r.requests.total,
            "time_off": {
                "desired": t.desired, "created": t.created, "found": t.found,
                "already": t.already, "failed": t.failures.len(), "changed": t.changed.len(),
                "held_back": t.held_back,
            },
        },
        "verify": {
            "matches": ver.matches(), "matching_shifts": ver.matching_shifts,
            "missing": ver.missing, "different": ver.different,
            "unexpected": ver.unexpected, "conflicts": ver.conflicts,
            "time_off": {
                "matching": tv.matching, "missing": tv.missing.len(),
                "different": tv.different.len(), "unexpected": tv.unexpected.len(),
                "duplicated": tv.duplicated.len(),
            },
        },
    });
    Ok((
        if ver.matches() {
            Exit::Ok
        } else {
            Exit::Findings
        },
        summary,
    ))
}
