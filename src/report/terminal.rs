//! The terminal form of the report: a summary table by rule and severity, then the first findings
//! of each error rule rendered by miette (the source line as written, a label under the offending
//! field), the rest counted, and the verdict. Reads right without colour.

use super::{Finding, Report};
use crate::config::Severity;
use crate::diag::SourceDiag;
use std::fmt::Write;

/// How many findings of each error rule are shown with their source line.
pub const SHOWN_PER_RULE: usize = 3;

/// A finding as a miette diagnostic pointing at its line.
pub fn to_diag(f: &Finding) -> SourceDiag {
    let mut d = SourceDiag::new(
        &f.rule,
        f.file.clone().unwrap_or_else(|| "-".into()),
        f.line.unwrap_or(0),
        f.message.clone(),
    );
    if !f.help.is_empty() {
        d = d.help(f.help.clone());
    }
    // A snippet only when there is a value to point at (a whole long line says nothing).
    if let (Some(t), Some(_)) = (&f.text, &f.value) {
        let label = match (&f.field, &f.timezone) {
            (Some(field), Some(tz)) if f.candidates.is_some() => format!("{field} ({tz})"),
            (Some(field), _) => field.clone(),
            _ => f.rule.clone(),
        };
        d = d
            .text(t.clone())
            .label_text(f.value.as_deref().unwrap_or(""), label);
    }
    d
}

fn sev_word(s: Severity) -> &'static str {
    s.as_str()
}

/// Render the whole terminal report.
pub fn render(report: &Report, color: bool) -> String {
    let mut o = String::new();
    let files: Vec<&str> = report.inputs.iter().map(|i| i.path.as_str()).collect();
    let _ = writeln!(
        o,
        "validate: snapshot {} ({} files: {})",
        &report.snapshot_id[..report.snapshot_id.len().min(12)],
        files.len(),
        files.join(", ")
    );
    let counts = report.rule_counts();
    if counts.is_empty() {
        let _ = writeln!(o, "\n  no findings");
    } else {
        let w = counts.iter().map(|c| c.0.len()).max().unwrap_or(4).max(4);
        let _ = writeln!(o, "\n  {:<w$}  {:<8}  {:>7}", "rule", "severity", "count");
        let _ = writeln!(o, "  {:-<w$}  {:-<8}  {:->7}", "", "", "");
        for (rule, sev, n) in &counts {
            let _ = writeln!(o, "  {rule:<w$}  {:<8}  {n:>7}", sev_word(*sev));
        }
        let _ = writeln!(o, "  {:-<w$}  {:-<8}  {:->7}", "", "", "");
    }
    let s = &report.summary;
    let _ = writeln!(
        o,
        "  {} error{}, {} warning{}, {} info{}",
        s.errors,
        plural(s.errors),
        s.warnings,
        plural(s.warnings),
        s.infos,
        plural(s.infos)
    );
    // The first findings of each error rule, worst-first rule order, then how many more.
    for (rule, sev, n) in &counts {
        if *sev != Severity::Error {
            continue;
        }
        let _ = writeln!(o);
        // `shown` holds the first SHOWN_PER_RULE error findings of each rule, in report order.
        for f in report
            .shown
            .iter()
            .filter(|f| f.rule == *rule && f.severity == Severity::Error)
            .take(SHOWN_PER_RULE)
        {
            let _ = write!(o, "{}", crate::diag::render(&to_diag(f), color));
        }
        let n = *n as usize;
        if n > SHOWN_PER_RULE {
            let _ = writeln!(
                o,
                "  … and {} more `{rule}` finding{} (all are in --html / --report-json)",
                n - SHOWN_PER_RULE,
                plural((n - SHOWN_PER_RULE) as u64)
            );
        }
    }
    let _ = writeln!(o);
    if report.ready_to_load {
        let _ = writeln!(
            o,
            "READY TO LOAD: no error findings ({} warning{}, {} info{})",
            s.warnings,
            plural(s.warnings),
            s.infos,
            plural(s.infos)
        );
    } else {
        let _ = writeln!(
            o,
            "NOT READY TO LOAD: {} error finding{} block `zd2gc load`",
            s.errors,
            plural(s.errors)
        );
    }
    o
}

fn plural(n: u64) -> &'static str {
    if n == 1 { "" } else { "s" }
}
