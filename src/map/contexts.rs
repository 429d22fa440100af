//! Each agent's context as its shifts, trades and time-off requests read it (its issue, user,
//! units, fallback zone names, whether the agents file has it), held through map's stream in a
//! compact form: a slot of 32 bytes an agent, the user ids one after the other in one text, the
//! few distinct unit ids and zone names once each. Held as `AgentRes` plus two shared zone names
//! it was 176 bytes an agent, plus 48 bytes of heap for a user id of 36 characters and 8 for its
//! rows: ~2.3 MB at 10,000 agents, held to the end.

use super::agents::{AgentIssue, AgentRes, ExportAgent};
use std::collections::HashMap;
use std::sync::Arc;

/// One agent's context (see [`AgentContexts::get`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct AgentCtx<'a> {
    pub issue: Option<&'a AgentIssue>,
    pub user_id: Option<&'a str>,
    pub management_unit_id: Option<&'a str>,
    pub business_unit_id: Option<&'a str>,
    /// The agent's fallback zone name (agent, else location), before the default.
    pub tz: Option<&'a str>,
    pub location_tz: Option<&'a str>,
    /// The agent has a row in the agents file (else only shifts, trades or time off name it).
    pub in_file: bool,
}

/// No user, name or issue.
const NONE: u32 = u32::MAX;

#[derive(Debug, Clone, Copy)]
struct Slot {
    /// The user id's place in `texts` (start, length; start [`NONE`]: no user).
    user: (u32, u32),
    /// Management unit, business unit, zone, location's zone: each an index in `names`, or
    /// [`NONE`].
    names: [u32; 4],
    /// An index in `issues`, or [`NONE`].
    issue: u32,
    in_file: bool,
}

/// The agents' contexts, by agent index (the export's agents' order).
#[derive(Debug, Default)]
pub(super) struct AgentContexts {
    slots: Vec<Slot>,
    /// The user ids, one after the other.
    texts: String,
    /// Each distinct unit id and zone name once.
    names: Vec<Box<str>>,
    /// The issues of the agents that have one (few).
    issues: Vec<AgentIssue>,
}

fn index(n: usize) -> u32 {
    u32::try_from(n)
        .ok()
        .filter(|&n| n != NONE)
        .expect("fewer than 4 billion agents, names and bytes of user ids")
}

impl AgentContexts {
    /// The contexts of `export_agents`, resolved as `res` says (by index); an agent's zone is its
    /// own (when not blank), its location's is `loc_tz`'s.
    pub(super) fn new(
        loc_tz: &HashMap<String, Arc<str>>,
        export_agents: &[ExportAgent],
        res: Vec<AgentRes>,
    ) -> AgentContexts {
        let mut c = AgentContexts {
            slots: Vec::with_capacity(res.len()),
            texts: String::with_capacity(
                res.iter()
                    .filter_map(|r| r.user_id.as_ref())
                    .map(String::len)
                    .sum(),
            ),
            ..Default::default()
        };
        let mut known: HashMap<Box<str>, u32> = HashMap::new();
        let mut names = Vec::new();
        let mut name = |s: Option<&str>| -> u32 {
            let Some(s) = s else { return NONE };
            if let Some(&i) = known.get(s) {
                return i;
            }
            let i = index(names.len());
            names.push(Box::<str>::from(s));
            known.insert(s.into(), i);
            i
        };
        for (a, r) in export_agents.iter().zip(res) {
            let user = match &r.user_id {
                Some(u) => {
                    let start = index(c.texts.len());
                    c.texts.push_str(u);
                    (start, index(u.len()))
                }
                None => (NONE, 0),
            };
            let tz = a.timezone.as_deref().filter(|s| !s.trim().is_empty());
            let loc = a
                .location
                .as_deref()
                .and_then(|l| loc_tz.get(l))
                .map(|z| &**z);
            let slot_names = [
                name(r.management_unit_id.as_deref()),
                name(r.business_unit_id.as_deref()),
                name(tz),
                name(loc),
            ];
            let issue = match r.issue {
                Some(i) => {
                    c.issues.push(i);
                    index(c.issues.len() - 1)
                }
                None => NONE,
            };
            c.slots.push(Slot {
                user,
                names: slot_names,
                issue,
                in_file: a.line.is_some(),
            });
        }
        c.names = names;
        c.names.shrink_to_fit();
        c.issues.shrink_to_fit();
        c
    }

    pub(super) fn len(&self) -> usize {
        self.slots.len()
    }

    /// Agent `i`'s context. Called for every shift: [`NONE`] is out of range of every table, so
    /// each field is one range check (callgrind, long-id tenth re-run: ~75 instructions a call
    /// when each was a check for `NONE` and then an index).
    #[inline]
    pub(super) fn get(&self, i: usize) -> AgentCtx<'_> {
        let s = &self.slots[i];
        let name = |n: u32| self.names.get(n as usize).map(|b| &**b);
        let (start, len) = (s.user.0 as usize, s.user.1 as usize);
        AgentCtx {
            issue: self.issues.get(s.issue as usize),
            user_id: self.texts.get(start..start.saturating_add(len)),
            management_unit_id: name(s.names[0]),
            business_unit_id: name(s.names[1]),
            tz: name(s.names[2]),
            location_tz: name(s.names[3]),
            in_file: s.in_file,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// What each context was before: the resolution and the zone names held as they are.
    fn naive<'a>(
        loc_tz: &'a HashMap<String, Arc<str>>,
        a: &'a ExportAgent,
        r: &'a AgentRes,
    ) -> AgentCtx<'a> {
        AgentCtx {
            issue: r.issue.as_ref(),
            user_id: r.user_id.as_deref(),
            management_unit_id: r.management_unit_id.as_deref(),
            business_unit_id: r.business_unit_id.as_deref(),
            tz: a.timezone.as_deref().filter(|s| !s.trim().is_empty()),
            location_tz: a
                .location
                .as_deref()
                .and_then(|l| loc_tz.get(l))
                .map(|z| &**z),
            in_file: a.line.is_some(),
        }
    }

    fn pick(pool: &[&str], k: u8) -> Option<String> {
        pool.get(k as usize).map(|s| s.to_string())
    }

    proptest! {
        /// Every agent's context is what its resolution and export row say, for users, units,
        /// zones and issues that repeat, are empty texts, or are missing.
        #[test]
        fn contexts_give_what_the_resolutions_give(
            agents in prop::collection::vec(
                (any::<[u8; 6]>(), any::<bool>(), any::<bool>()), 0..60)
        ) {
            let users = ["", "u-1", "00000000-0000-4000-8000-000000000001", "u-1", "é-ü"];
            let units = ["bu1", "mu1", "", "00000000-0000-4000-9000-000000000000"];
            let zones = ["Europe/Paris", " ", "", "America/New_York", "mu1"];
            let locs = ["Paris", "Lyon", "Nowhere", ""];
            let loc_tz: HashMap<String, Arc<str>> = [
                ("Paris".to_string(), Arc::from("Europe/Paris")),
                ("Lyon".to_string(), Arc::from("bu1")),
                (String::new(), Arc::from("UTC")),
            ]
            .into_iter()
            .collect();
            let mut export = Vec::new();
            let mut res = Vec::new();
            for (i, (k, in_file, with_issue)) in agents.iter().enumerate() {
                export.push(ExportAgent {
                    agent_id: format!("a{i}"),
                    timezone: pick(&zones, k[0] % 7),
                    location: pick(&locs, k[1] % 6),
                    line: in_file.then_some(i as u64 + 2),
                    ..Default::default()
                });
                res.push(AgentRes {
                    user_id: pick(&users, k[2] % 7),
                    management_unit_id: pick(&units, k[3] % 6).map(|s| Arc::from(s.as_str())),
                    business_unit_id: pick(&units, k[4] % 6).map(|s| Arc::from(s.as_str())),
                    issue: with_issue.then(|| match k[5] % 3 {
                        0 => AgentIssue::Unmapped(format!("agent {i}")),
                        1 => AgentIssue::Ambiguous {
                            message: format!("agent {i}"),
                            candidates: vec![format!("u{i}"), "u".into()],
                        },
                        _ => AgentIssue::NoManagementUnit { message: format!("{i}"), help: "h" },
                    }),
                    ..Default::default()
                });
            }
            let c = AgentContexts::new(&loc_tz, &export, res.clone());
            prop_assert_eq!(c.len(), export.len());
            for i in 0..export.len() {
                prop_assert_eq!(c.get(i), naive(&loc_tz, &export[i], &res[i]), "agent {}", i);
            }
        }
    }
}
