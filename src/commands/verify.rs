//! `zd2gc verify`: its arguments, and what differs between Genesys Cloud and the desired state.

use super::load::ConnArgs;
use super::view;
use crate::context::Context;
use crate::error::Result;
use crate::exit::Exit;
use crate::load::{LoadOptions, VerifyReport, client_for, verify_dir_ui};
use crate::ui::Ui;

/// Re-read Genesys Cloud and compare it with the desired state.
#[derive(Debug, Clone, clap::Args)]
pub struct VerifyArgs {
    #[command(flatten)]
    pub conn: ConnArgs,
}

pub fn run(a: &VerifyArgs, ctx: &Context) -> Result<Exit> {
    let mut o = LoadOptions::default();
    a.conn.apply(&mut o);
    let r = verify_dir_ui(
        &ctx.dir,
        client_for(&ctx.dir)?,
        &o,
        &ctx.argv.join(" "),
        &ctx.ui,
    )?;
    let names = crate::store::open_state(&ctx.dir)
        .map(|c| view::Names::load(&ctx.dir, &c))
        .unwrap_or_default();
    print_verify(&ctx.ui, &r, &names);
    Ok(if r.matches() {
        Exit::Ok
    } else {
        Exit::Findings
    })
}

pub fn print_verify(ui: &Ui, r: &VerifyReport, names: &view::Names) {
    ui.step(format!(
        "verify: {} week(s): {} shift(s) match; missing {}, different {}, unexpected {}, duplicated {}, second schedules of ours {}; {} conflict(s) reported, {} planner edit(s) kept, {} held back",
        r.weeks, r.matching_shifts, r.missing, r.different, r.unexpected, r.duplicates, r.extra_schedules, r.conflicts, r.kept_planner_edits, r.held_back
    ));
    if !r.held_back_by_reason.is_empty() {
        let reasons: Vec<String> = r
            .held_back_by_reason
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect();
        ui.info(format!("  held back: {}", reasons.join(", ")));
    }
    let t = &r.time_off;
    if t.desired > 0 || !t.unexpected.is_empty() {
        ui.step(format!(
            "verify: {} time-off request(s): {} match; missing {}, different {}, unexpected {}, duplicated {}{}",
            t.desired,
            t.matching,
            t.missing.len(),
            t.different.len(),
            t.unexpected.len(),
            t.duplicated.len(),
            if t.errors.is_empty() {
                String::new()
            } else {
                format!(", {} user(s) not read", t.errors.len())
            }
        ));
        for (what, ids) in [
            ("missing", &t.missing),
            ("different", &t.different),
            ("unexpected", &t.unexpected),
            ("duplicated", &t.duplicated),
            ("not read", &t.errors),
        ] {
            for id in ids.iter().take(20) {
                ui.info(format!("  time off {what}: {id}"));
            }
        }
    }
    for w in r.weeks_differing.iter().take(20) {
        ui.info(format!(
            "  {} week of {}: missing {}, different {}, unexpected {}, duplicated {}, second schedules of ours {}, conflicts {}{}",
            names.bu(&w.business_unit_id),
            w.week_id,
            w.counts.create,
            w.counts.update,
            w.counts.delete,
            w.duplicates,
            w.extra_schedules,
            w.counts.conflicts,
            w.error
                .as_deref()
                .map(|e| format!(" (error: {e})"))
                .unwrap_or_default()
        ));
    }
    ui.json_summary(&serde_json::to_value(r).unwrap_or_default());
}
