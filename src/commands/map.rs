//! `zd2gc map`: its arguments, and the summary it prints of what the map did.

use crate::config::Config;
use crate::context::Context;
use crate::error::Result;
use crate::exit::Exit;
use crate::map::{MapOptions, OnlineMode, map_dir};
use std::path::PathBuf;

/// Turn the staged export into Genesys shapes and fill the crosswalk.
///
/// Offline (default) from `mappings/*.csv` alone; `--online` fills what the tables leave blank from
/// Genesys Cloud (users by e-mail, management and business units, unit settings, activity codes)
/// and caches the answers in zd2gc.db.
#[derive(Debug, Clone, clap::Args)]
pub struct MapArgs {
    /// Also ask Genesys Cloud (credentials and region from the environment or zd2gc.toml).
    #[arg(long)]
    pub online: bool,
    /// With --online: read again what earlier runs cached.
    #[arg(long, requires = "online")]
    pub refresh: bool,
    /// The mapping tables (default: DIR/mappings).
    #[arg(long, value_name = "DIR")]
    pub mappings: Option<PathBuf>,
}

/// `zd2gc map`.
pub fn run(args: &MapArgs, ctx: &Context) -> Result<Exit> {
    let cfg = Config::load(&ctx.dir)?;
    let ui = &ctx.ui;
    ui.step(format!(
        "map {}{}",
        ctx.dir.display(),
        if args.online { " (online)" } else { "" }
    ));
    let spin = ui.spinner("map", "reading the agents and the mapping tables");
    let opts = MapOptions {
        mappings: args.mappings.clone(),
        online: if args.online {
            OnlineMode::FromConfig
        } else {
            OnlineMode::Off
        },
        refresh: args.refresh,
        argv: ctx.argv.join(" "),
        progress: spin.counter(),
    };
    let o = map_dir(&ctx.dir, &cfg, &opts);
    spin.finish();
    let o = o?;
    ui.info(format!(
        "  {} shifts and {} tasks read in {:.2}s ({:.0} records/s); {} drafts skipped",
        o.shifts_read,
        o.tasks_read,
        o.seconds,
        o.throughput(),
        o.drafts_skipped
    ));
    ui.info(format!(
        "  {} shifts mapped ({} activities), {} held back{}",
        o.shifts_mapped,
        o.activities,
        o.shifts_held_back,
        if o.held_back_by_reason.is_empty() {
            String::new()
        } else {
            format!(
                ": {}",
                o.held_back_by_reason
                    .iter()
                    .map(|(k, v)| format!("{k} {v}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        }
    ));
    ui.info(format!(
        "  agents: {} mapped, {} unmapped, {} ambiguous{}",
        o.agents_mapped,
        o.agents_unmapped,
        o.agents_ambiguous,
        if o.agents_without_management_unit > 0 {
            format!(
                ", {} without a management unit (held back: load cannot reach their schedules)",
                o.agents_without_management_unit
            )
        } else {
            String::new()
        }
    ));
    if !o.trades_by_action.is_empty() {
        ui.info(format!(
            "  trades ({} policy): {}",
            cfg.pending_trades.as_str(),
            o.trades_by_action
                .iter()
                .map(|(k, v)| format!("{k} {v}"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    let c = &o.shifts;
    if c.inserted + c.updated + c.removed == 0 && o.agents_changed == 0 && o.trades_changed == 0 {
        ui.info("  nothing changed since the last map");
    } else {
        let ex = |k: &str| {
            c.examples
                .get(k)
                .filter(|v| !v.is_empty())
                .map_or(String::new(), |v| format!(" (e.g. {})", v.join(", ")))
        };
        ui.info(format!(
            "  changes: {} new{}, {} updated{}, {} removed{}, {} unchanged shifts; {} agents and {} trades changed",
            c.inserted,
            ex("inserted"),
            c.updated,
            ex("updated"),
            c.removed,
            ex("removed"),
            c.unchanged,
            o.agents_changed,
            o.trades_changed
        ));
    }
    if o.online {
        ui.info(format!(
            "  Genesys Cloud: {} calls, {} answers from the cache",
            o.online_calls, o.online_cache_hits
        ));
    }
    if o.findings > 0 {
        ui.warn(format!(
            "{} findings ({} errors): {} — `zd2gc validate` lists them with their lines",
            o.findings,
            o.errors,
            o.findings_by_rule
                .iter()
                .map(|(k, v)| format!("{k} {v}"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    let mut v = serde_json::to_value(&o).unwrap_or_default();
    if let Some(m) = v.as_object_mut() {
        m.insert("command".into(), "map".into());
    }
    ui.json_summary(&v);
    Ok(if o.errors > 0 {
        Exit::Findings
    } else {
        Exit::Ok
    })
}
