//! Which Genesys Cloud user each Zendesk agent becomes, and in which management and business unit.
//!
//! Offline, `mappings/agents.csv` decides: a row matches an agent by `zendesk_agent_id` or by e-mail
//! (trimmed, case-insensitive); the business unit is the row's, else the agent's location's. Online
//! fills the blanks (see `online`). Ambiguity is reported, never resolved by picking: an agent whose
//! matching rows name different users, an e-mail search with several results, or two agents that
//! resolve to one user.

use super::tables::Tables;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

/// An agent as the export knows it (from agents, shifts or trades).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExportAgent {
    pub agent_id: String,
    /// Trimmed, lower-cased.
    pub email: Option<String>,
    pub timezone: Option<String>,
    pub location: Option<String>,
    /// Where the agent's row is in the export (none when only shifts or trades name it): the
    /// file's name, one text for every agent of the file.
    pub file: Option<std::sync::Arc<str>>,
    pub line: Option<u64>,
    /// Owns shifts or appears in trades (only those get findings).
    pub owns: bool,
}

/// Why an agent has no usable user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AgentIssue {
    /// No user (or no business unit): the message says which.
    Unmapped(String),
    /// Several users for this agent, or this agent's user is also another agent's.
    Ambiguous {
        message: String,
        candidates: Vec<String>,
    },
    /// A user and a business unit, but no management unit (blank in the table and not looked up
    /// online, none in Genesys, or rows naming different units): load reads and writes an agent's
    /// schedule through its management unit, so the agent cannot be loaded.
    NoManagementUnit { message: String, help: &'static str },
}

impl AgentIssue {
    pub fn rule(&self) -> &'static str {
        match self {
            AgentIssue::Unmapped(_) => "unmapped-agent",
            AgentIssue::Ambiguous { .. } => "ambiguous-agent-mapping",
            AgentIssue::NoManagementUnit { .. } => "unmapped-management-unit",
        }
    }
}

/// The resolution of one agent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AgentRes {
    pub user_id: Option<String>,
    /// The units, one shared text per unit (many agents share one; a copy each was 2 × 48
    /// bytes of heap an agent with UUIDs).
    pub management_unit_id: Option<Arc<str>>,
    pub business_unit_id: Option<Arc<str>>,
    /// How the user was found: `table:agent_id`, `table:email`, `online:email`, or `none`.
    pub resolved_by: &'static str,
    /// The lines of the rows of `mappings/agents.csv` that match the agent (by id or e-mail).
    pub rows: Vec<u64>,
    pub issue: Option<AgentIssue>,
}

/// Resolve every agent from the tables alone.
pub fn resolve_offline(agents: &[ExportAgent], t: &Tables) -> Vec<AgentRes> {
    let mut by_id: HashMap<&str, Vec<usize>> = HashMap::new();
    let mut by_email: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, r) in t.agents.iter().enumerate() {
        if let Some(id) = &r.zendesk_agent_id {
            by_id.entry(id.as_str()).or_default().push(i);
        }
        if let Some(e) = &r.email {
            by_email.entry(e.as_str()).or_default().push(i);
        }
    }
    let loc_bu: HashMap<&str, &str> = t
        .locations
        .iter()
        .filter_map(|l| Some((l.location.as_str(), l.business_unit_id.as_deref()?)))
        .collect();
    // Each unit's id once, shared by its agents.
    let mut units: HashMap<String, Arc<str>> = HashMap::new();
    let mut unit = |u: String| -> Arc<str> {
        units
            .entry(u)
            .or_insert_with_key(|u| Arc::from(u.as_str()))
            .clone()
    };
    agents
        .iter()
        .map(|a| {
            let mut rows: BTreeSet<usize> = BTreeSet::new();
            let mut how = "none";
            if let Some(v) = by_id.get(a.agent_id.as_str()) {
                rows.extend(v);
                how = "table:agent_id";
            }
            if let Some(e) = &a.email
                && let Some(v) = by_email.get(e.as_str())
            {
                if rows.is_empty() {
                    how = "table:email";
                }
                rows.extend(v);
            }
            let pick = |f: fn(&super::tables::AgentMapRow) -> Option<&String>| -> BTreeSet<String> {
                rows.iter()
                    .filter_map(|&i| f(&t.agents[i]).cloned())
                    .collect()
            };
            let users = pick(|r| r.genesys_user_id.as_ref());
            let mus = pick(|r| r.management_unit_id.as_ref());
            let bus = pick(|r| r.business_unit_id.as_ref());
            let loc = a
                .location
                .as_deref()
                .and_then(|l| loc_bu.get(l))
                .map(|s| s.to_string());
            let mut res = AgentRes {
                resolved_by: how,
                rows: rows.iter().map(|&i| t.agents[i].line).collect(),
                ..Default::default()
            };
            if let Some(l) = a.location.as_deref()
                && t.bad_locations.iter().any(|b| b == l)
            {
                // Its location's row has an invalid value (reported at that row): held back,
                // never given the default zone or unit instead.
                res.issue = Some(AgentIssue::Unmapped(format!(
                    "agent `{}`'s location `{l}` has an invalid row in mappings/locations.csv",
                    a.agent_id
                )));
                return res;
            }
            if users.len() > 1 {
                let lines: Vec<String> = rows.iter().map(|&i| t.agents[i].line.to_string()).collect();
                res.issue = Some(AgentIssue::Ambiguous {
                    message: format!(
                        "agent `{}` matches rows {} of mappings/agents.csv, which name different users",
                        a.agent_id,
                        lines.join(", ")
                    ),
                    candidates: users.into_iter().collect(),
                });
                return res;
            }
            res.user_id = users.into_iter().next();
            if mus.len() > 1 {
                res.issue = Some(AgentIssue::NoManagementUnit {
                    message: format!(
                        "agent `{}` matches rows {} of mappings/agents.csv, which name different management units ({})",
                        a.agent_id,
                        lines(&res.rows),
                        mus.iter().map(|m| format!("`{m}`")).collect::<Vec<_>>().join(", ")
                    ),
                    help: "keep one management_unit_id per agent in mappings/agents.csv (a user is in one management unit; `zd2gc mappings pull` writes each user's)",
                });
                return res;
            }
            res.management_unit_id = mus.into_iter().next().map(&mut unit);
            res.business_unit_id = match bus.len() {
                0 => loc.map(&mut unit),
                1 => bus.into_iter().next().map(&mut unit),
                _ => {
                    res.issue = Some(AgentIssue::Ambiguous {
                        message: format!(
                            "agent `{}` matches rows of mappings/agents.csv with different business units",
                            a.agent_id
                        ),
                        candidates: bus.into_iter().collect(),
                    });
                    None
                }
            };
            if res.user_id.is_none() {
                res.resolved_by = "none";
                if let Some((line, ..)) = t.bad_agents.iter().find(|(_, id, email)| {
                    id.as_deref() == Some(a.agent_id.as_str())
                        || (email.is_some() && *email == a.email)
                }) {
                    // Its row is there but was left out (`mapping-invalid-value` at that line).
                    res.issue = Some(AgentIssue::Unmapped(format!(
                        "agent `{}` has no usable row: its row at mappings/agents.csv:{line} has an invalid value",
                        a.agent_id
                    )));
                }
            }
            res
        })
        .collect()
}

/// `2, 5` (row lines).
fn lines(rows: &[u64]) -> String {
    rows.iter()
        .map(u64::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// After every agent has its user: flag missing users and units, and two agents sharing one user
/// (both are ambiguous). `bu_known` says whether a business unit's zone and week start are known;
/// `online` whether Genesys was asked for what the tables leave blank.
pub fn finish(
    agents: &[ExportAgent],
    res: &mut [AgentRes],
    bu_known: &dyn Fn(&str) -> bool,
    online: bool,
) {
    let mut by_user: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (i, r) in res.iter().enumerate() {
        if r.issue.is_none()
            && let Some(u) = &r.user_id
        {
            by_user.entry(u.clone()).or_default().push(i);
        }
    }
    for (user, idx) in &by_user {
        if idx.len() > 1 {
            let ids: Vec<String> = idx.iter().map(|&i| agents[i].agent_id.clone()).collect();
            for &i in idx {
                res[i].issue = Some(AgentIssue::Ambiguous {
                    message: format!(
                        "agents {} all resolve to Genesys user `{user}`",
                        ids.iter()
                            .map(|s| format!("`{s}`"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                    candidates: ids.clone(),
                });
            }
        }
    }
    for (a, r) in agents.iter().zip(res.iter_mut()) {
        if r.issue.is_some() {
            continue;
        }
        r.issue = match (&r.user_id, &r.business_unit_id) {
            (None, _) => Some(AgentIssue::Unmapped(format!(
                "no Genesys Cloud user for agent `{}`{}",
                a.agent_id,
                a.email
                    .as_deref()
                    .map_or(" (no e-mail in the export)".to_string(), |e| format!(
                        " <{e}>"
                    ))
            ))),
            (Some(u), None) => Some(AgentIssue::Unmapped(format!(
                "agent `{}` (user `{u}`) has no business unit: none in mappings/agents.csv, none for its location",
                a.agent_id
            ))),
            (Some(_), Some(bu)) if !bu_known(bu) => Some(AgentIssue::Unmapped(format!(
                "business unit `{bu}` of agent `{}` is not in mappings/business_units.csv",
                a.agent_id
            ))),
            (Some(u), Some(_)) if r.management_unit_id.is_none() => {
                let rows = match r.rows.as_slice() {
                    [] => String::new(),
                    [l] => format!(" (row {l})"),
                    more => format!(" (rows {})", lines(more)),
                };
                Some(if online {
                    AgentIssue::NoManagementUnit {
                        message: format!(
                            "agent `{}` (user `{u}`) has no management unit: Genesys lists the user in none, and mappings/agents.csv names none{rows}",
                            a.agent_id
                        ),
                        help: "add the user to a management unit in Genesys Cloud WFM (then `zd2gc map --online --refresh`), or fill management_unit_id in mappings/agents.csv; load reads and writes an agent's schedule through its management unit",
                    }
                } else {
                    AgentIssue::NoManagementUnit {
                        message: format!(
                            "agent `{}` (user `{u}`) has no management unit: management_unit_id is blank in mappings/agents.csv{rows} and map ran offline",
                            a.agent_id
                        ),
                        help: "fill management_unit_id in mappings/agents.csv (`zd2gc mappings pull` writes it from Genesys), or run `zd2gc map --online` to look it up; load reads and writes an agent's schedule through its management unit",
                    }
                })
            }
            _ => None,
        };
    }
}

/// The help line of an agent finding.
pub fn help(issue: &AgentIssue) -> &'static str {
    match issue {
        AgentIssue::Unmapped(m) if m.contains("has no usable row") => {
            "correct that row of mappings/agents.csv (its mapping-invalid-value finding says which cell), or run `zd2gc map --online` to look the user up by e-mail"
        }
        AgentIssue::Unmapped(_) => {
            "add the agent to mappings/agents.csv (genesys_user_id, business_unit_id), or run `zd2gc map --online` to look the user up by e-mail"
        }
        AgentIssue::Ambiguous { .. } => {
            "keep one Genesys user per agent and one agent per user in mappings/agents.csv"
        }
        AgentIssue::NoManagementUnit { help, .. } => help,
    }
}

#[cfg(test)]
mod tests {
    use super::super::tables::{AgentMapRow, BusinessUnitRow, LocationRow, Tables};
    use super::*;

    fn agent(id: &str, email: Option<&str>, loc: Option<&str>) -> ExportAgent {
        ExportAgent {
            agent_id: id.into(),
            email: email.map(str::to_string),
            location: loc.map(str::to_string),
            owns: true,
            ..Default::default()
        }
    }

    fn row(
        line: u64,
        id: Option<&str>,
        email: Option<&str>,
        user: Option<&str>,
        bu: Option<&str>,
    ) -> AgentMapRow {
        AgentMapRow {
            line,
            zendesk_agent_id: id.map(str::to_string),
            email: email.map(str::to_string),
            genesys_user_id: user.map(str::to_string),
            management_unit_id: Some("mu1".into()),
            business_unit_id: bu.map(str::to_string),
        }
    }

    fn tables() -> Tables {
        Tables {
            agents: vec![
                row(2, Some("1"), None, Some("u1"), Some("bu1")),
                row(3, None, Some("b@x.test"), Some("u2"), None),
                row(4, Some("3"), None, Some("u3"), None),
                row(5, None, Some("c@x.test"), Some("u4"), None),
                row(6, Some("5"), None, Some("u5"), Some("bu1")),
                row(7, Some("6"), None, Some("u5"), Some("bu1")),
            ],
            business_units: vec![BusinessUnitRow {
                line: 2,
                business_unit_id: "bu1".into(),
                name: String::new(),
                time_zone: chrono_tz::Europe::Paris,
                start_day_of_week: chrono::Weekday::Mon,
            }],
            locations: vec![LocationRow {
                line: 2,
                location: "Paris".into(),
                time_zone: None,
                business_unit_id: Some("bu1".into()),
            }],
            ..Default::default()
        }
    }

    #[test]
    fn resolves_by_id_email_and_location_and_reports_ambiguity() {
        let agents = vec![
            agent("1", None, None),
            agent("2", Some("b@x.test"), Some("Paris")),
            agent("3", Some("c@x.test"), Some("Paris")),
            agent("4", None, None),
            agent("5", None, None),
            agent("6", None, None),
            agent("7", Some("b@x.test"), None),
        ];
        let t = tables();
        let mut res = resolve_offline(&agents, &t);
        finish(&agents, &mut res, &|b| b == "bu1", false);
        assert_eq!(res[0].user_id.as_deref(), Some("u1"));
        assert_eq!(res[0].resolved_by, "table:agent_id");
        assert_eq!(res[0].issue, None);
        // By e-mail, business unit from the location; but agent 7 has the same e-mail → both ambiguous.
        assert_eq!(res[1].resolved_by, "table:email");
        assert_eq!(res[1].business_unit_id.as_deref(), Some("bu1"));
        assert!(matches!(res[1].issue, Some(AgentIssue::Ambiguous { .. })));
        assert!(matches!(res[6].issue, Some(AgentIssue::Ambiguous { .. })));
        // Agent 3 matches u3 by id and u4 by e-mail.
        match &res[2].issue {
            Some(AgentIssue::Ambiguous { candidates, .. }) => assert_eq!(candidates, &["u3", "u4"]),
            other => panic!("{other:?}"),
        }
        assert_eq!(
            res[3].issue.as_ref().map(AgentIssue::rule),
            Some("unmapped-agent")
        );
        // Two agents, one user.
        assert_eq!(
            res[4].issue.as_ref().map(AgentIssue::rule),
            Some("ambiguous-agent-mapping")
        );
        assert_eq!(
            res[5].issue.as_ref().map(AgentIssue::rule),
            Some("ambiguous-agent-mapping")
        );
    }

    /// A row without a unit (offline: nothing else to ask), and rows of one agent that name two
    /// units, are `unmapped-management-unit` naming the rows; a row with its unit is not.
    #[test]
    fn an_agent_without_one_management_unit_is_reported_with_its_rows() {
        let mut t = tables();
        t.agents[0].management_unit_id = None; // agent 1, line 2
        t.agents[4].zendesk_agent_id = Some("9".into()); // agent 9: lines 6 and 8
        t.agents.push(AgentMapRow {
            line: 8,
            zendesk_agent_id: Some("9".into()),
            management_unit_id: Some("mu2".into()),
            ..row(8, Some("9"), None, Some("u5"), Some("bu1"))
        });
        let agents = vec![
            agent("1", None, None),
            agent("9", None, None),
            agent("6", None, None),
        ];
        for online in [false, true] {
            let mut res = resolve_offline(&agents, &t);
            finish(&agents, &mut res, &|b| b == "bu1", online);
            let msg = |i: usize| match &res[i].issue {
                Some(AgentIssue::NoManagementUnit { message, .. }) => message.clone(),
                other => panic!("{i}: {other:?}"),
            };
            assert_eq!(res[0].rows, [2]);
            assert!(msg(0).contains("(row 2)"), "{}", msg(0));
            assert_eq!(msg(0).contains("map ran offline"), !online, "{}", msg(0));
            assert_eq!(
                res[0].issue.as_ref().map(AgentIssue::rule),
                Some("unmapped-management-unit")
            );
            assert!(msg(1).contains("rows 6, 8"), "{}", msg(1));
            assert!(msg(1).contains("`mu1`, `mu2`"), "{}", msg(1));
            assert_eq!(res[2].issue, None);
            assert_eq!(res[2].management_unit_id.as_deref(), Some("mu1"));
        }
    }

    #[test]
    fn unknown_business_unit_is_unmapped() {
        let agents = vec![agent("1", None, None)];
        let mut res = resolve_offline(&agents, &tables());
        finish(&agents, &mut res, &|_| false, false);
        match &res[0].issue {
            Some(AgentIssue::Unmapped(m)) => assert!(m.contains("bu1"), "{m}"),
            other => panic!("{other:?}"),
        }
    }
}
