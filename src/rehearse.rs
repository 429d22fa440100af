//! `zd2gc rehearse [EXPORT_DIR]`: the whole pipeline, as far as it has been built, on an export
//! (default `samples/paris-cutover`) in a fresh rehearsal directory, against the in-process emulator.

use crate::cli::Ctx;
use crate::error::{Error, Result};
use crate::exit::Exit;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct RehearseArgs {
    /// The export to rehearse with.
    #[arg(default_value = "samples/paris-cutover")]
    pub export_dir: PathBuf,
    /// Where the rehearsal's migration directory is created (emptied first).
    #[arg(long, default_value = "rehearsal", value_name = "DIR")]
    pub workdir: PathBuf,
    /// Mapping tables to use (default: `mappings/` beside the export's parent if present, else the
    /// built-in ones).
    #[arg(long, value_name = "DIR")]
    pub mappings: Option<PathBuf>,
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
        // Only ever empty a directory that looks like one of ours.
        if !work.join(crate::config::FILE_NAME).exists()
            && std::fs::read_dir(work)
                .map(|mut d| d.next().is_some())
                .unwrap_or(false)
        {
            return Err(Error::usage(
                format!(
                    "{} exists and is not a zd2gc migration directory; refusing to empty it",
                    work.display()
                ),
                Some("name another --workdir".into()),
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
    crate::init::init_dir(work, mappings.as_deref())?;
    ctx.ui.info("  init      done");
    let wctx = Ctx {
        dir: work.clone(),
        ui: ctx.ui.clone(),
        argv: ctx.argv.clone(),
    };
    let sub = crate::extract::ExtractArgs {
        export_dir: args.export_dir.clone(),
    };
    let exit = crate::extract::run_quietly(&sub, &wctx)?;
    ctx.ui.info(format!("  extract   {}", exit.describe()));
    ctx.ui
        .info("  map, validate, load, verify: not built yet (later releases)");
    Ok(exit.exit)
}
