//! `zd2gc validate`: its arguments, the reports it writes (`--report-json`, `--html`) and the
//! summary it prints.

use crate::config::Config;
use crate::context::Context;
use crate::error::Result;
use crate::exit::Exit;
use crate::report;
use crate::validate::{Remap, ValidateOptions, validate_dir, write_file};
use std::path::PathBuf;

/// Pre-flight validation report (terminal, HTML, JSON).
///
/// Runs every validation rule on the staged export (and map's results; when something map depends
/// on changed since it ran, map runs again first, online if it last ran online). Exit status: 0 ready to load, 1 error findings, 2 the tool
/// could not run. The JSON report is also kept in DIR/reports/.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ValidateArgs {
    /// Write the JSON report (schema validation-report/v1) to FILE; `-` for stdout. (Named
    /// `--report-json` because the global `--json` flag prints the command's summary.)
    #[arg(long = "report-json", value_name = "FILE")]
    pub report_json: Option<PathBuf>,
    /// Write the self-contained HTML report to FILE.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// The mapping tables (default: DIR/mappings).
    #[arg(long, value_name = "DIR")]
    pub mappings: Option<PathBuf>,
}

/// `zd2gc validate`. Any failure to run is exit 2 (the spec's "the tool itself could not run"),
/// shown as its diagnostic.
pub fn run(args: &ValidateArgs, ctx: &Context) -> Result<Exit> {
    match run_inner(args, ctx) {
        Ok(e) => Ok(e),
        Err(e) => {
            ctx.ui.json_error(&e, Exit::Failure);
            super::report_error(
                &e,
                if ctx.ui.color {
                    crate::ui::ColorChoice::Always
                } else {
                    crate::ui::ColorChoice::Never
                },
            );
            Ok(Exit::Failure)
        }
    }
}

fn run_inner(args: &ValidateArgs, ctx: &Context) -> Result<Exit> {
    let ui = &ctx.ui;
    let cfg = Config::load(&ctx.dir)?;
    let spin = ctx.ui.spinner("validate", "running the rules");
    let opts = ValidateOptions {
        mappings: args.mappings.clone(),
        remap: Remap::Auto,
        online: crate::map::OnlineMode::FromConfig,
        argv: ctx.argv.join(" "),
        progress: spin.counter(),
        findings_in_memory: None,
        findings_spill_fails_after: None,
        disk_full_while_spilled: false,
    };
    let o = validate_dir(&ctx.dir, &cfg, &opts);
    spin.finish();
    let mut o = o?;
    if let Some(w) = o.report.findings.warning() {
        ui.warn(w);
    }
    // Names, not ids, in what a person reads (the ids stay in the findings' JSON fields).
    let mappings = args
        .mappings
        .clone()
        .unwrap_or_else(|| ctx.dir.join("mappings"));
    o.report
        .name_units(report::names::UnitNames::load(&ctx.dir, &mappings));
    if let Some(m) = &o.mapped {
        if m.fallback.is_some() {
            ui.warn(m.describe());
        } else {
            ui.info(m.describe());
        }
    }
    let r = &o.report;
    if let Some(p) = &args.report_json {
        // Streamed (the findings are not held): the bytes `json::to_string` gives.
        if p.as_os_str() == "-" {
            // As `ui.data` would: a closed stdout is not the command's failure.
            let out = std::io::stdout().lock();
            let _ = report::json::write(r, std::io::BufWriter::with_capacity(1 << 16, out));
        } else {
            crate::validate::write_report(p, r)?;
            crate::store::restrict_permissions(p);
        }
    }
    if let Some(p) = &args.html {
        let mappings = args
            .mappings
            .clone()
            .unwrap_or_else(|| ctx.dir.join("mappings"));
        let cx = report::context::gather(&ctx.dir, &mappings, r)?;
        write_file(p, report::html::render_with(r, &cx).as_bytes())?;
        crate::store::restrict_permissions(p);
    }
    ui.info(report::terminal::render(r, ui.color).trim_end());
    if ui.quiet {
        let s = &r.summary;
        ui.warn(format!(
            "validate: {} errors, {} warnings, {} infos; {}",
            s.errors,
            s.warnings,
            s.infos,
            if r.ready_to_load {
                "ready to load"
            } else {
                "not ready to load"
            }
        ));
    }
    ui.info(format!(
        "{} records through {} rules in {:.2}s; report kept in {}",
        r.records,
        crate::rules::RULES.len(),
        r.seconds,
        o.report_path.display()
    ));
    ui.json_summary(&serde_json::json!({
        "command": "validate",
        "snapshot_id": r.snapshot_id,
        "ready_to_load": r.ready_to_load,
        "summary": r.summary,
        "report": o.report_path,
    }));
    Ok(if r.ready_to_load {
        Exit::Ok
    } else {
        Exit::Findings
    })
}
