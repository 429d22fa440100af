//! `zd2gc extract EXPORT_DIR`: its arguments, and the table of files, rejects and summary it prints.

use crate::context::Context;
use crate::error::Result;
use crate::exit::Exit;
use crate::extract::{ExtractOptions, reject_diag, run_quietly};
use std::path::PathBuf;

#[derive(Debug, Clone, clap::Args)]
pub struct ExtractArgs {
    /// The export directory (agents, shifts, shift_tasks, shift_trades, time_off; CSV or JSON Lines).
    pub export_dir: PathBuf,
    /// Go on when the export directory holds files zd2gc does not know (they are named, and not
    /// read); without it such a file stops extract, since a misnamed file would be lost silently.
    #[arg(long)]
    pub ignore_unknown_files: bool,
}

pub fn run(args: &ExtractArgs, ctx: &Context) -> Result<Exit> {
    let opts = ExtractOptions {
        ignore_unknown_files: args.ignore_unknown_files,
    };
    let o = run_quietly(&args.export_dir, &opts, ctx)?;
    let ui = &ctx.ui;
    ui.step(format!("extract {}", args.export_dir.display()));
    ui.info(format!(
        "  {:<22} {:>6} {:>10} {:>10} {:>9}",
        "file", "format", "rows read", "staged", "rejected"
    ));
    for f in &o.files {
        let staged = if f.nested_tasks > 0 {
            format!("{}+{}t", f.staged, f.nested_tasks)
        } else {
            f.staged.to_string()
        };
        ui.info(format!(
            "  {:<22} {:>6} {:>10} {:>10} {:>9}",
            f.file, f.format, f.rows_read, staged, f.rejected
        ));
    }
    ui.info(format!(
        "  {} (snapshot {})",
        o.describe(),
        &o.snapshot_id[..12]
    ));
    for f in &o.files {
        if f.rows_read == 0 {
            ui.warn(format!(
                "{} {}: nothing staged from it",
                f.file,
                if f.bytes == 0 {
                    "is empty"
                } else {
                    "has no record"
                }
            ));
        }
    }
    for name in &o.ignored_files {
        ui.warn(format!(
            "not read: {name} (not a file of the export; --ignore-unknown-files)"
        ));
    }
    let mut shown = 0;
    for f in &o.files {
        for r in f.sample.iter().take(5) {
            if shown < 20 {
                ui.diag(&reject_diag(&f.file, r));
                shown += 1;
            }
        }
    }
    if o.rejected > shown as u64 {
        ui.warn(format!(
            "{} more rejected rows are in snapshot.db (table `rejects`); `zd2gc validate` lists them all",
            o.rejected - shown as u64
        ));
    }
    ui.json_summary(&serde_json::json!({
        "command": "extract",
        "snapshot_id": o.snapshot_id,
        "export_dir": o.export_dir,
        "records_staged": o.records_staged,
        "rejected": o.rejected,
        "seconds": o.seconds,
        "files": o.files,
        "ignored_files": o.ignored_files,
    }));
    Ok(o.exit)
}
