//! The JSON form of the report (`validation-report/v1`): a published interface — fields may be
//! added, never renamed (see `docs/validation-report.md`).

use super::Report;

/// The report as pretty-printed JSON (with a trailing newline).
pub fn to_string(report: &Report) -> String {
    let mut s = serde_json::to_string_pretty(report).expect("the report serializes");
    s.push('\n');
    s
}

/// The same bytes as [`to_string`], written to `w` as they are made (the findings streamed, not
/// held: a report's memory does not grow with them).
pub fn write(report: &Report, mut w: impl std::io::Write) -> std::io::Result<()> {
    serde_json::to_writer_pretty(&mut w, report).map_err(std::io::Error::from)?;
    w.write_all(b"\n")?;
    w.flush()
}

#[cfg(test)]
mod tests {
    use super::super::*;
    use crate::config::Severity;

    #[test]
    fn has_the_spec_fields_in_order() {
        let mut f = Finding::new("dst-nonexistent", Severity::Error, "m");
        f.candidates = Some(vec![]);
        let r = Report::new(
            "snap".into(),
            vec![],
            Policy {
                dst_ambiguous: "reject".into(),
                pending_trades: "report".into(),
                include_drafts: false,
                max_shift_hours: 16.0,
            },
            vec![f, Finding::new("trade-pending", Severity::Warning, "w")],
            vec![],
        );
        let v: serde_json::Value = serde_json::from_str(&super::to_string(&r)).unwrap();
        assert_eq!(v["schema"], "validation-report/v1");
        assert_eq!(v["ready_to_load"], false);
        assert_eq!(v["summary"]["errors"], 1);
        assert_eq!(v["summary"]["by_rule"]["trade-pending"], 1);
        assert_eq!(v["findings"][0]["candidates"], serde_json::json!([]));
        assert!(v["findings"][1].get("candidates").is_none());
        assert!(v["findings"][1]["file"].is_null());
    }
}
