//! `zd2gc plan`: its arguments, and the table of what `load` would do per business-unit week.

use super::load::ConnArgs;
use super::view;
use crate::context::Context;
use crate::error::Result;
use crate::exit::Exit;
use crate::load::{LoadOptions, client_for, plan_dir_ui, timeoff};

/// Show what `load` would do per business-unit week.
#[derive(Debug, Clone, clap::Args)]
pub struct PlanArgs {
    #[command(flatten)]
    pub conn: ConnArgs,
    /// Plan although the validation found errors, as `load --allow-errors` would load: the records
    /// with errors are held back
    #[arg(long)]
    pub allow_errors: bool,
}

pub fn run(a: &PlanArgs, ctx: &Context) -> Result<Exit> {
    let mut o = LoadOptions {
        allow_errors: a.allow_errors,
        ..Default::default()
    };
    a.conn.apply(&mut o);
    let f = plan_dir_ui(
        &ctx.dir,
        client_for(&ctx.dir)?,
        &o,
        &ctx.argv.join(" "),
        &ctx.ui,
    )?;
    let conn = crate::store::open_state(&ctx.dir)?;
    // Time off from the desired rows and the load's journal (no request).
    let to = timeoff::plan(&conn)?;
    if ctx.ui.json {
        ctx.ui.json_summary(&serde_json::json!({
            "schema": "plan/v1",
            "weeks": f,
            "time_off": to,
        }));
    } else {
        let names = view::Names::load(&ctx.dir, &conn);
        ctx.ui.data(view::plan(&f, &names).trim_end());
        if to.to_create + to.already_there + to.in_doubt + to.changed + to.failed + to.held_back > 0
        {
            ctx.ui.data(format!(
                "time off: {} request(s) to create, {} already there, {} in doubt (looked for before any create), {} changed since created (reported, not re-created), {} failed (not retried), {} held back",
                to.to_create, to.already_there, to.in_doubt, to.changed, to.failed, to.held_back
            ));
        }
    }
    Ok(if f.iter().any(|w| w.error.is_some()) {
        Exit::Failure
    } else {
        Exit::Ok
    })
}
