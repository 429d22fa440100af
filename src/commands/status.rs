//! `zd2gc status`: its arguments, the journal's tables it prints, and `--history`, the audit trail
//! of a migration directory (the `runs` table), one line per command run: when, what (arguments,
//! never a secret), the outcome and the exit code.

use super::view;
use crate::context::Context;
use crate::error::{Error, Result};
use crate::exit::Exit;
use crate::load::status::desired_time_off_counts;
use crate::load::status_dir;

/// Progress of the load journal, parked conflicts and failures.
#[derive(Debug, Clone, clap::Args)]
pub struct StatusArgs {
    /// List every run recorded in the audit trail (command, arguments, outcome, exit code) instead;
    /// a table on stdout, or JSON with `--json`.
    #[arg(long)]
    pub history: bool,
}

pub fn run(a: &StatusArgs, ctx: &Context) -> Result<Exit> {
    if a.history {
        return run_history(ctx);
    }
    let r = status_dir(&ctx.dir)?;
    if ctx.ui.json {
        ctx.ui
            .json_summary(&serde_json::to_value(&r).unwrap_or_default());
        return Ok(Exit::Ok);
    }
    let conn = crate::db::open_state(&ctx.dir)?;
    let names = view::Names::load(&ctx.dir, &conn);
    let time_off = desired_time_off_counts(&conn);
    ctx.ui
        .data(view::status(&r, &names, time_off, &ctx.dir).trim_end());
    if !r.time_off_by_state.is_empty() {
        let states: Vec<String> = r
            .time_off_by_state
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect();
        ctx.ui.data(format!("time off: {}", states.join(", ")));
    }
    for j in &r.time_off_failures {
        ctx.ui.data(format!(
            "time off {} failed: {}{}",
            j.id,
            j.reason.as_deref().unwrap_or("refused"),
            j.context_id
                .as_deref()
                .filter(|c| !c.is_empty())
                .map(|c| format!(" (correlation id {c})"))
                .unwrap_or_default()
        ));
    }
    for j in &r.time_off_in_doubt {
        ctx.ui.data(format!(
            "time off {} in doubt: a create was sent ({} so far) and its outcome is not known; the next load looks for it before sending again",
            j.id, j.attempts
        ));
    }
    Ok(Exit::Ok)
}

/// Print every run, oldest first: a tab-separated table on stdout, or JSON with `--json`.
pub fn run_history(ctx: &Context) -> Result<Exit> {
    if !crate::db::state_path(&ctx.dir).exists() {
        return Err(Error::usage(
            format!("{} has no state database", ctx.dir.display()),
            Some(format!("create it with `zd2gc init {}`", ctx.dir.display())),
        ));
    }
    let conn = crate::db::open_state(&ctx.dir)?;
    let runs = crate::db::runs(&conn)?;
    if ctx.ui.json {
        ctx.ui.json_summary(&serde_json::json!({
            "schema": "status-history/v1",
            "runs": runs,
        }));
        return Ok(Exit::Ok);
    }
    ctx.ui
        .data("id\tstarted_at\tended_at\tcommand\toutcome\texit\tversion\targs\tcounts");
    for r in &runs {
        ctx.ui.data(format!(
            "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}",
            r.id,
            r.started_at,
            r.ended_at.as_deref().unwrap_or("-"),
            r.command,
            r.outcome.as_deref().unwrap_or("running"),
            r.exit_code.map_or("-".to_string(), |c| c.to_string()),
            r.tool_version,
            r.args.replace(['\t', '\n'], " "),
            r.counts.as_ref().map_or("-".to_string(), |c| c.to_string())
        ));
    }
    Ok(Exit::Ok)
}
