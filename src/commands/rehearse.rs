//! `zd2gc rehearse [EXPORT_DIR]`: its arguments, and the one `--json` object of the rehearsal.

use crate::context::Context;
use crate::error::Result;
use crate::exit::Exit;
use crate::rehearse::{RehearseOptions, rehearse};
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct RehearseArgs {
    /// The export to rehearse with (default: the built-in sample `samples/paris-cutover`, with its
    /// org and mapping tables, from any directory).
    pub export_dir: Option<PathBuf>,
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
    /// The emulator's org fixture (default: the built-in `samples/org.json`).
    #[arg(long, value_name = "FILE")]
    pub org: Option<PathBuf>,
    /// Run the emulator without fault injection.
    #[arg(long)]
    pub no_faults: bool,
}

pub fn run(args: &RehearseArgs, ctx: &Context) -> Result<Exit> {
    let (exit, summary) = rehearse(
        &RehearseOptions {
            export_dir: args.export_dir.clone(),
            workdir: args.workdir.clone(),
            force: args.force,
            mappings: args.mappings.clone(),
            org: args.org.clone(),
            no_faults: args.no_faults,
        },
        ctx,
    )?;
    ctx.ui.json_summary(&summary);
    Ok(exit)
}
