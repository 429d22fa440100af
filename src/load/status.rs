//! `zd2gc status --history`: the audit trail of a migration directory (the `runs` table), one
//! line per command run: when, what (arguments, never a secret), the outcome and the exit code.

use crate::cli::Ctx;
use crate::error::{Error, Result};
use crate::exit::Exit;

/// Print every run, oldest first: a tab-separated table on stdout, or JSON with `--json`.
pub fn run_history(ctx: &Ctx) -> Result<Exit> {
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
