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
    let conn = crate::store::open_state(&ctx.dir)?;
    let names = view::Names::load(&ctx.dir, &conn);
    let time_off = desired_time_off_counts(&conn);
    // Counted only before any load (a scan of the desired shifts; the journal counts after).
    let shifts = r
        .weeks
        .is_empty()
        .then(|| crate::store::desired::shift_counts(&conn).ok())
        .flatten();
    ctx.ui
        .data(view::status(&r, &names, shifts, time_off, &ctx.dir).trim_end());
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

/// Print every run, oldest first: an aligned table on stdout, or JSON with `--json`.
pub fn run_history(ctx: &Context) -> Result<Exit> {
    if !crate::store::state_path(&ctx.dir).exists() {
        return Err(Error::usage(
            format!("{} has no state database", ctx.dir.display()),
            Some(format!("create it with `zd2gc init {}`", ctx.dir.display())),
        ));
    }
    let conn = crate::store::open_state(&ctx.dir)?;
    let runs = crate::store::runs(&conn)?;
    if ctx.ui.json {
        ctx.ui.json_summary(&serde_json::json!({
            "schema": "status-history/v1",
            "runs": runs,
        }));
        return Ok(Exit::Ok);
    }
    ctx.ui.data(history_table(&runs).trim_end());
    Ok(Exit::Ok)
}

/// The audit trail as a table a person reads: run, command, outcome and exit code, start (UTC),
/// how long it took, its key counts (the numbers of its recorded counts) and its arguments
/// (redacted as recorded). The full record is in `--json`.
fn history_table(runs: &[crate::store::runs::RunRow]) -> String {
    let mut rows: Vec<[String; 8]> = vec![[
        "run".into(),
        "command".into(),
        "outcome".into(),
        "exit".into(),
        "started (UTC)".into(),
        "took".into(),
        "counts".into(),
        "arguments".into(),
    ]];
    for r in runs {
        let started = chrono::DateTime::parse_from_rfc3339(&r.started_at).ok();
        let ended = r
            .ended_at
            .as_deref()
            .and_then(|e| chrono::DateTime::parse_from_rfc3339(e).ok());
        let took = match (started, ended) {
            (Some(s), Some(e)) => crate::ui::duration((e - s).num_seconds().max(0) as f64),
            _ => "-".into(),
        };
        rows.push([
            r.id.to_string(),
            r.command.clone(),
            r.outcome.clone().unwrap_or_else(|| "running".into()),
            r.exit_code.map_or("-".into(), |c| c.to_string()),
            started.map_or(r.started_at.clone(), |s| {
                s.naive_utc().format("%Y-%m-%d %H:%M:%S").to_string()
            }),
            took,
            r.counts.as_ref().map_or(String::new(), key_counts),
            r.args.replace(['\t', '\n'], " "),
        ]);
    }
    let width: Vec<usize> = (0..8)
        .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for r in &rows {
        let mut line = String::new();
        for (c, cell) in r.iter().enumerate() {
            let pad = width[c] - cell.chars().count();
            // Numbers right-aligned, text left-aligned.
            if c == 0 || c == 3 {
                line.push_str(&" ".repeat(pad));
                line.push_str(cell);
            } else {
                line.push_str(cell);
                if c < 7 {
                    line.push_str(&" ".repeat(pad));
                }
            }
            if c < 7 {
                line.push_str("  ");
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// The numbers of a run's recorded counts, `name n` each (one level of nesting as
/// `outer.inner n`), the first six.
fn key_counts(v: &serde_json::Value) -> String {
    let mut parts = Vec::new();
    if let Some(o) = v.as_object() {
        for (k, v) in o {
            match v {
                serde_json::Value::Number(n) => parts.push(format!("{k} {n}")),
                serde_json::Value::Object(inner) => {
                    for (k2, v2) in inner {
                        if let serde_json::Value::Number(n) = v2 {
                            parts.push(format!("{k}.{k2} {n}"));
                        }
                    }
                }
                _ => {}
            }
        }
    }
    let more = parts.len().saturating_sub(6);
    parts.truncate(6);
    let mut s = parts.join(", ");
    if more > 0 {
        s.push_str(&format!(", +{more} more"));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(
        id: i64,
        command: &str,
        ended: Option<&str>,
        counts: &str,
    ) -> crate::store::runs::RunRow {
        crate::store::runs::RunRow {
            id,
            command: command.into(),
            args: format!("--dir /m {command}"),
            tool_version: "0.1.0".into(),
            inputs_sha256: None,
            snapshot_id: None,
            started_at: "2026-12-06T07:12:03Z".into(),
            ended_at: ended.map(str::to_string),
            outcome: ended.map(|_| "ok".into()),
            exit_code: ended.map(|_| 0),
            counts: serde_json::from_str(counts).ok(),
        }
    }

    #[test]
    fn history_is_an_aligned_table_with_durations_and_counts() {
        let t = history_table(&[
            row(
                9,
                "extract",
                Some("2026-12-06T07:14:08Z"),
                r#"{"records": 1200, "files": 4, "note": "x"}"#,
            ),
            row(10, "load", None, "null"),
        ]);
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines.len(), 3, "{t}");
        assert!(!t.contains('\t'), "{t}");
        // Columns start at the same place on every line.
        let col = |l: &str, w: &str| l.find(w).unwrap();
        assert_eq!(col(lines[0], "command"), col(lines[1], "extract"), "{t}");
        assert_eq!(col(lines[1], "extract"), col(lines[2], "load"), "{t}");
        assert_eq!(
            col(lines[0], "started"),
            col(lines[2], "2026-12-06 07:12:03"),
            "{t}"
        );
        assert!(lines[1].contains("2m05s"), "{t}");
        assert!(lines[1].contains("files 4, records 1200"), "{t}");
        assert!(!lines[1].contains("note"), "{t}");
        assert!(lines[2].contains("running"), "{t}");
        assert!(lines[2].ends_with("--dir /m load"), "{t}");
    }
}
