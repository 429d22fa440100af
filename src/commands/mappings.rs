//! `zd2gc mappings pull`: its arguments, the `--dry-run` diff and the summary it prints.

use crate::config::Config;
use crate::context::Context;
use crate::error::Result;
use crate::exit::Exit;
use crate::map::OnlineMode;
use crate::mappings::{PullOptions, pull_dir};
use std::path::PathBuf;

/// Work on the mapping tables.
#[derive(Debug, clap::Args)]
pub struct MappingsArgs {
    #[command(subcommand)]
    pub command: MappingsCommand,
}

#[derive(Debug, clap::Subcommand)]
pub enum MappingsCommand {
    /// Draft the mapping tables from Genesys Cloud (online): business units, agents' users and
    /// units by e-mail, activity and time-off codes by name. Filled cells are kept; differences
    /// and what could not be resolved are listed.
    Pull(PullArgs),
}

#[derive(Debug, Clone, clap::Args)]
pub struct PullArgs {
    /// Show what would change (a diff on stdout); write no table.
    #[arg(long)]
    pub dry_run: bool,
    /// Ask Genesys again for what earlier runs cached.
    #[arg(long)]
    pub refresh: bool,
    /// The mapping tables (default: DIR/mappings).
    #[arg(long, value_name = "DIR")]
    pub mappings: Option<PathBuf>,
}

/// `zd2gc mappings …`.
pub fn run(args: &MappingsArgs, ctx: &Context) -> Result<Exit> {
    match &args.command {
        MappingsCommand::Pull(p) => run_pull(p, ctx),
    }
}

fn run_pull(args: &PullArgs, ctx: &Context) -> Result<Exit> {
    let ui = &ctx.ui;
    let cfg = Config::load(&ctx.dir)?;
    ui.step(format!(
        "mappings pull {}{}",
        ctx.dir.display(),
        if args.dry_run { " (dry run)" } else { "" }
    ));
    let spin = ctx.ui.spinner("mappings pull", "reading Genesys Cloud");
    let o = pull_dir(
        &ctx.dir,
        &cfg,
        &PullOptions {
            mappings: args.mappings.clone(),
            online: OnlineMode::FromConfig,
            refresh: args.refresh,
            dry_run: args.dry_run,
            argv: ctx.argv.join(" "),
            progress: spin.counter(),
        },
    );
    spin.finish();
    let o = o?;
    // With --json the diff is in the one JSON object (`diff`), not beside it.
    if args.dry_run && !ui.json {
        for l in &o.diff {
            ui.data(l);
        }
    }
    for t in &o.tables {
        ui.info(format!(
            "  {}: {} row(s) filled, {} added{}",
            t.file,
            t.rows_filled,
            t.rows_added,
            if o.dry_run {
                " (dry run: not written)"
            } else if t.written {
                ""
            } else {
                " (unchanged)"
            }
        ));
    }
    ui.info(format!(
        "  agents: {} of {} resolved (user, management unit, business unit); {} business unit(s), {} management unit(s)",
        o.agents_resolved, o.agents, o.business_units, o.management_units
    ));
    ui.info(format!(
        "  Genesys: {} call(s), {} answer(s) from the cache, {} HTTP request(s), {:.2}s",
        o.online_calls, o.cache_hits, o.requests, o.seconds
    ));
    const SHOWN: usize = 50;
    for (title, list) in [
        ("kept as written, but Genesys differs", &o.disagreements),
        ("left blank (resolve by hand)", &o.unresolved),
        ("worth a look", &o.notes),
    ] {
        if list.is_empty() {
            continue;
        }
        ui.warn(format!("{} {title}:", list.len()));
        for n in list.iter().take(SHOWN) {
            ui.warn(format!("  {n}"));
        }
        if list.len() > SHOWN {
            ui.warn(format!(
                "  … and {} more (all of them with --json)",
                list.len() - SHOWN
            ));
        }
    }
    if !o.dry_run {
        ui.info("review the tables (git diff), then `zd2gc map` and `zd2gc validate`");
    }
    ui.json_summary(&serde_json::json!({
        "command": "mappings pull",
        "outcome": o,
    }));
    Ok(if o.unresolved.is_empty() && o.disagreements.is_empty() {
        Exit::Ok
    } else {
        Exit::Findings
    })
}
