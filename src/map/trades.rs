//! What happens to each legacy trade (see `mappings.md`, `pending_trades`): a pure decision from
//! the trades, the configured policy and who owns which shift in the export.
//!
//! - `approved`: already reflected in the exported shifts → `history`;
//! - `denied`, `cancelled`, `expired`: nothing to do → `history`;
//! - pending (`requested`, `offered`, `accepted`) under `report` → `reported` (shifts as exported);
//!   under `drop` → `dropped`; under `apply` → `applied` (the two shifts swap owners before load; a
//!   give-away moves the requester's shift to the recipient) when exactly one offer of the swap
//!   request can be chosen and both shifts are owned as the trade says; otherwise `reported` with a
//!   note saying why it was not applied.

use crate::config::PendingTradePolicy;
use std::collections::{HashMap, HashSet};

/// A legacy trade as staged.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TradeIn {
    pub trade_id: String,
    pub swap_request_id: String,
    pub status: String,
    pub requester_agent_id: String,
    pub requester_shift_id: String,
    pub recipient_agent_id: String,
    pub recipient_shift_id: Option<String>,
}

impl TradeIn {
    pub fn is_pending(&self) -> bool {
        is_pending(&self.status)
    }
}

/// Whether a trade of this status is still pending (`requested`, `offered`, `accepted`, in any
/// case).
pub fn is_pending(status: &str) -> bool {
    matches!(
        status.to_ascii_lowercase().as_str(),
        "requested" | "offered" | "accepted"
    )
}

/// The decision for one trade.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TradeAction {
    /// `history`, `reported`, `applied` or `dropped`.
    pub action: &'static str,
    pub note: Option<String>,
}

/// A trade's action before `apply` chooses what it applies: what `report` and `drop` decide, from
/// the status alone (`is_pending`), with no note.
pub fn first_action(pending: bool, policy: PendingTradePolicy) -> &'static str {
    if pending {
        match policy {
            PendingTradePolicy::Report => "reported",
            PendingTradePolicy::Drop => "dropped",
            PendingTradePolicy::Apply => "reported",
        }
    } else {
        "history"
    }
}

/// Decide every trade (same order as given; the first occurrence of a repeated trade id decides,
/// later ones get the same action) and the owner changes `apply` makes: shift id → new owner.
pub fn decide(
    trades: &[TradeIn],
    policy: PendingTradePolicy,
    owner: &mut dyn FnMut(&str) -> Option<String>,
) -> (Vec<TradeAction>, HashMap<String, String>) {
    let mut out: Vec<TradeAction> = trades
        .iter()
        .map(|t| TradeAction {
            action: first_action(t.is_pending(), policy),
            note: None,
        })
        .collect();
    let mut overrides = HashMap::new();
    if policy != PendingTradePolicy::Apply {
        return (out, overrides);
    }
    // Repeated trade ids: conflicting content is never applied.
    let mut first: HashMap<&str, usize> = HashMap::new();
    let mut conflicting: HashSet<&str> = HashSet::new();
    for (i, t) in trades.iter().enumerate() {
        match first.get(t.trade_id.as_str()) {
            None => {
                first.insert(&t.trade_id, i);
            }
            Some(&j) if trades[j] != *t => {
                conflicting.insert(&t.trade_id);
            }
            Some(_) => {}
        }
    }
    let mut by_request: HashMap<&str, Vec<usize>> = HashMap::new();
    for (&id, &i) in &first {
        by_request
            .entry(trades[i].swap_request_id.as_str())
            .or_default()
            .push(i);
        let _ = id;
    }
    let mut chosen: Vec<usize> = Vec::new();
    let mut requests: Vec<&&str> = by_request.keys().collect();
    requests.sort();
    for req in requests {
        let idx = &by_request[*req];
        let note = |out: &mut Vec<TradeAction>, i: usize, n: String| {
            if trades[i].is_pending() {
                out[i].note = Some(n);
            }
        };
        if idx
            .iter()
            .any(|&i| trades[i].status.eq_ignore_ascii_case("approved"))
        {
            for &i in idx {
                note(
                    &mut out,
                    i,
                    "another trade of this swap request was approved".into(),
                );
            }
            continue;
        }
        let pending: Vec<usize> = idx
            .iter()
            .copied()
            .filter(|&i| trades[i].is_pending())
            .collect();
        let accepted: Vec<usize> = pending
            .iter()
            .copied()
            .filter(|&i| trades[i].status.eq_ignore_ascii_case("accepted"))
            .collect();
        let pick = match (accepted.len(), pending.len()) {
            (1, _) => Some(accepted[0]),
            (0, 1) => Some(pending[0]),
            _ => None,
        };
        match pick {
            Some(p) => {
                chosen.push(p);
                for &i in &pending {
                    if i != p {
                        note(
                            &mut out,
                            i,
                            format!(
                                "trade `{}` of this swap request was chosen",
                                trades[p].trade_id
                            ),
                        );
                    }
                }
            }
            None => {
                for &i in &pending {
                    note(
                        &mut out,
                        i,
                        format!(
                            "{} pending offers for this swap request: none can be chosen",
                            pending.len()
                        ),
                    );
                }
            }
        }
    }
    // A shift in two chosen trades: apply neither.
    let mut uses: HashMap<&str, usize> = HashMap::new();
    for &i in &chosen {
        *uses
            .entry(trades[i].requester_shift_id.as_str())
            .or_default() += 1;
        if let Some(s) = &trades[i].recipient_shift_id {
            *uses.entry(s.as_str()).or_default() += 1;
        }
    }
    chosen.sort();
    for i in chosen {
        let t = &trades[i];
        let why = if conflicting.contains(t.trade_id.as_str()) {
            Some("the trade id is repeated with different content".to_string())
        } else if t.requester_agent_id == t.recipient_agent_id {
            Some("requester and recipient are the same agent".to_string())
        } else if uses[t.requester_shift_id.as_str()] > 1
            || t.recipient_shift_id.as_deref().is_some_and(|s| uses[s] > 1)
        {
            Some("a shift of this trade is in another trade being applied".to_string())
        } else if owner(&t.requester_shift_id).as_deref() != Some(t.requester_agent_id.as_str()) {
            Some(format!(
                "shift `{}` is not owned by requester `{}` in the export",
                t.requester_shift_id, t.requester_agent_id
            ))
        } else if let Some(s) = &t.recipient_shift_id
            && owner(s).as_deref() != Some(t.recipient_agent_id.as_str())
        {
            Some(format!(
                "shift `{s}` is not owned by recipient `{}` in the export",
                t.recipient_agent_id
            ))
        } else {
            None
        };
        match why {
            Some(n) => out[i].note = Some(format!("not applied: {n}")),
            None => {
                out[i].action = "applied";
                overrides.insert(t.requester_shift_id.clone(), t.recipient_agent_id.clone());
                if let Some(s) = &t.recipient_shift_id {
                    overrides.insert(s.clone(), t.requester_agent_id.clone());
                }
            }
        }
    }
    // Later occurrences of a repeated id follow the first.
    for (i, t) in trades.iter().enumerate() {
        let f = first[t.trade_id.as_str()];
        if f != i {
            out[i] = out[f].clone();
        }
    }
    (out, overrides)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(
        id: &str,
        req: &str,
        status: &str,
        ra: &str,
        rs: &str,
        ca: &str,
        cs: Option<&str>,
    ) -> TradeIn {
        TradeIn {
            trade_id: id.into(),
            swap_request_id: req.into(),
            status: status.into(),
            requester_agent_id: ra.into(),
            requester_shift_id: rs.into(),
            recipient_agent_id: ca.into(),
            recipient_shift_id: cs.map(str::to_string),
        }
    }

    fn owners(s: &str) -> Option<String> {
        match s {
            "S1" => Some("A".into()),
            "S2" => Some("B".into()),
            "S3" => Some("C".into()),
            _ => None,
        }
    }

    #[test]
    fn policies() {
        let trades = vec![
            t("T1", "R1", "accepted", "A", "S1", "B", Some("S2")),
            t("T0", "R0", "approved", "C", "S9", "A", None),
            t("T2", "R2", "denied", "C", "S3", "A", None),
        ];
        let (a, o) = decide(&trades, PendingTradePolicy::Report, &mut owners);
        assert_eq!(
            a.iter().map(|x| x.action).collect::<Vec<_>>(),
            ["reported", "history", "history"]
        );
        assert!(o.is_empty());
        let (a, o) = decide(&trades, PendingTradePolicy::Drop, &mut owners);
        assert_eq!(a[0].action, "dropped");
        assert!(o.is_empty());
        let (a, o) = decide(&trades, PendingTradePolicy::Apply, &mut owners);
        assert_eq!(a[0].action, "applied");
        assert_eq!(o.get("S1").map(String::as_str), Some("B"));
        assert_eq!(o.get("S2").map(String::as_str), Some("A"));
        assert_eq!(a[1].action, "history");
    }

    #[test]
    fn give_away_and_refusals() {
        let trades = vec![
            // Give-away of S3 by C to A.
            t("T1", "R1", "offered", "C", "S3", "A", None),
            // Two open offers on R2: nothing chosen.
            t("T2", "R2", "offered", "A", "S1", "B", Some("S2")),
            t("T3", "R2", "offered", "A", "S1", "C", None),
            // Owner mismatch.
            t("T4", "R4", "requested", "B", "S1", "C", None),
        ];
        let (a, o) = decide(&trades, PendingTradePolicy::Apply, &mut owners);
        assert_eq!(a[0].action, "applied");
        assert_eq!(o.get("S3").map(String::as_str), Some("A"));
        assert_eq!(a[1].action, "reported");
        assert!(a[1].note.as_deref().unwrap().contains("2 pending offers"));
        assert_eq!(a[3].action, "reported");
        assert!(
            a[3].note.as_deref().unwrap().contains("not owned"),
            "{:?}",
            a[3]
        );
        assert_eq!(o.len(), 1);
    }

    #[test]
    fn approved_request_supersedes_pending_offers() {
        let trades = vec![
            t("T1", "R1", "approved", "A", "S1", "B", Some("S2")),
            t("T2", "R1", "offered", "A", "S1", "C", None),
        ];
        let (a, o) = decide(&trades, PendingTradePolicy::Apply, &mut owners);
        assert_eq!(a[1].action, "reported");
        assert!(o.is_empty());
    }
}
