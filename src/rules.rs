//! The validation rules of `docs/validation-report.md`: stable ids and default severities.
//! Extract's rejects use the same ids (`malformed-row`, `missing-field`), so a rejected row and a
//! validation finding speak one language.

use Severity::{Error, Info, Warning};
use serde::{Deserialize, Serialize};

/// How much a finding of a rule weighs (`[severity]` of zd2gc.toml overrides the defaults).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

pub struct Rule {
    pub id: &'static str,
    pub severity: Severity,
    pub summary: &'static str,
}

macro_rules! rules {
    ($($id:literal $sev:ident $sum:literal;)*) => {
        pub const RULES: &[Rule] = &[$(Rule { id: $id, severity: $sev, summary: $sum }),*];
    };
}

rules! {
    "malformed-row" Error "a row that cannot be parsed: wrong column count, bad number, bad date, bad UTF-8";
    "missing-field" Error "a required value is empty";
    "unknown-timezone" Error "a zone name that is not in the tz database";
    "missing-timezone" Error "no zone applies to a local wall-clock value";
    "dst-nonexistent" Error "a local time inside a spring-forward gap";
    "dst-ambiguous" Error "a local time inside a fall-back overlap";
    "dst-length-change" Info "a shift that crosses a DST transition";
    "shift-end-before-start" Error "end at or before start";
    "sub-minute-time" Error "a time with non-zero seconds";
    "shift-too-long" Warning "longer than the configured maximum";
    "shift-overlap" Error "two shifts of one agent overlap in time";
    "duplicate-shift-id" Warning "the same shift_id again with identical content";
    "conflicting-shift-id" Error "the same shift_id again with different content";
    "duplicate-trade-id" Warning "the same trade_id again with identical content";
    "conflicting-trade-id" Error "the same trade_id again with different content";
    "trade-unknown-shift" Error "a trade names a shift that is not in the export";
    "trade-unknown-agent" Error "a trade names an agent that is not in the export";
    "trade-shift-owner-mismatch" Warning "a pending trade's shift is not owned by the agent the trade says";
    "trade-self" Error "requester and recipient are the same agent";
    "multiple-approved-trades" Error "more than one approved trade for one swap request";
    "trade-pending" Warning "a trade still pending at export time";
    "unmapped-agent" Error "no Genesys Cloud user for an agent that owns shifts or trades";
    "ambiguous-agent-mapping" Error "an agent matches more than one Genesys Cloud user, or two agents one user";
    "unmapped-management-unit" Error "an agent with shifts or time off has no Genesys management unit";
    "unmapped-activity" Error "a task name with no Genesys activity code";
    "task-outside-shift" Error "a task that does not lie inside its shift";
    "deactivated-agent" Warning "a deactivated agent still owns future shifts";
    "shift-unknown-agent" Error "a shift names an agent that is not in the agents file";
    "empty-export" Error "the export has no agent, or no shift to load";
    "mapping-invalid-value" Error "a mapping-table cell that cannot be right: not a UUID, an e-mail, a zone or a weekday";
    "mapping-unknown-reference" Error "a mapping table names a business unit the tables (or Genesys) do not have";
    "duplicate-time-off-id" Warning "the same time_off_request_id again with identical content";
    "conflicting-time-off-id" Error "the same time_off_request_id again with different content";
    "time-off-unknown-agent" Error "a time-off request names an agent that is not in the export";
    "time-off-end-before-start" Error "a time-off request that ends at or before it starts";
    "unmapped-time-off-reason" Error "a time-off reason with no TimeOff activity code in the agent's business unit";
    "time-off-overlap" Warning "two loadable time-off requests of one agent overlap";
    "time-off-overlaps-shift" Warning "a loadable time-off request overlaps a shift of the same agent";
    "time-off-not-loaded" Info "a time-off request that will not load by policy (denied, cancelled, before time_off_from)";
}

pub fn is_rule(id: &str) -> bool {
    RULES.iter().any(|r| r.id == id)
}

pub fn default_severity(id: &str) -> Option<Severity> {
    RULES.iter().find(|r| r.id == id).map(|r| r.severity)
}
