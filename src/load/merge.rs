//! The three-way merge of one business-unit week, shift by shift, as a pure function.
//!
//! Inputs: the desired shifts (ours), the crosswalk's links with the content zd2gc last wrote or
//! adopted (base), and what Genesys holds now (theirs). Output: a [`WeekPlan`]: the writes (an import
//! when the week has no schedule, else a patch per agent schedule), the local crosswalk changes
//! (adoptions, base refreshes, forgotten links), and the conflicts.
//!
//! Invariants (issue #6, "Ownership and three-way merge"):
//! - zd2gc owns only linked shifts (and the ones it adopts now); a shift it does not own is never
//!   replaced or deleted, whatever `on_conflict` says;
//! - theirs = base → write ours; ours = base → leave theirs (a planner's edit or deletion stands);
//!   theirs = ours → nothing; otherwise a conflict, parked unless `OnConflict::Ours`;
//! - an unlinked Genesys shift identical to a desired one is adopted, never duplicated;
//! - a desired shift that would overlap a shift zd2gc does not own is a conflict too;
//! - held-back shifts are left exactly as they are.

use super::model::{Content, Desired, Link, WeekView};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap, HashSet};

/// What to do when both sides changed a shift.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OnConflict {
    /// Leave theirs, record the conflict with both sides, go on with the rest of the week.
    #[default]
    Park,
    /// Overwrite theirs with ours, and record that it was done.
    Ours,
}

/// Why a shift is in conflict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ConflictKind {
    /// Both sides changed the shift since zd2gc last wrote it.
    BothChanged,
    /// Genesys deleted the shift; the export changed it.
    DeletedByThem,
    /// The export dropped the shift; Genesys changed it.
    RemovedByUs,
    /// Ours would overlap a shift zd2gc does not own.
    OverlapsUnowned,
}

impl ConflictKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ConflictKind::BothChanged => "both-changed",
            ConflictKind::DeletedByThem => "deleted-by-them",
            ConflictKind::RemovedByUs => "removed-by-us",
            ConflictKind::OverlapsUnowned => "overlaps-unowned",
        }
    }
}

/// A conflict with both sides.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Conflict {
    pub kind: ConflictKind,
    pub user: String,
    pub legacy: Option<String>,
    pub gid: Option<String>,
    pub base: Option<Content>,
    pub ours: Option<Content>,
    pub theirs: Option<Content>,
    /// `true` when ours was written anyway (`--on-conflict ours`).
    pub overwritten: bool,
}

/// One change to an agent schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    Add {
        legacy: Option<String>,
        content: Content,
    },
    Replace {
        legacy: String,
        gid: String,
        content: Content,
    },
    Delete {
        gid: String,
    },
}

/// The patch of one agent schedule: its current version (`None` when it does not exist yet).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AgentPatch {
    pub version: Option<i64>,
    pub ops: Vec<Op>,
}

/// A local change to the crosswalk (no request).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkChange {
    /// Link `legacy` to `gid` with this base (`adopted`: zd2gc did not write it).
    Set {
        legacy: String,
        gid: String,
        base: Content,
        adopted: bool,
    },
    /// The linked shift is gone and the export no longer has it: forget the link.
    Forget { legacy: String },
}

/// Counts of a plan, by what happens to each shift.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct PlanCounts {
    pub create: u64,
    pub update: u64,
    pub delete: u64,
    pub adopt: u64,
    pub noop: u64,
    /// Owned shifts a planner changed or deleted since zd2gc wrote them, where the export did not change: theirs stands.
    pub kept_theirs: u64,
    pub conflicts: u64,
}

/// What one week needs.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct WeekPlan {
    /// The week has no schedule: import these agent schedules (user → shifts with their legacy ids).
    pub import: Option<BTreeMap<String, Vec<(String, Content)>>>,
    /// Patches of the week's schedule, by user.
    pub update: BTreeMap<String, AgentPatch>,
    pub links: Vec<LinkChange>,
    pub conflicts: Vec<Conflict>,
    pub counts: PlanCounts,
}

impl WeekPlan {
    /// Whether the plan sends any write.
    pub fn writes(&self) -> bool {
        self.import.as_ref().is_some_and(|i| !i.is_empty()) || !self.update.is_empty()
    }
}

/// Merge one week. `links` are the crosswalk's links of this week (any legacy id, desired or not);
/// `held` the legacy ids held back (left untouched); `view` the week's schedule, if any.
pub fn merge(
    desired: &[Desired],
    links: &[Link],
    held: &HashSet<String>,
    view: Option<&WeekView>,
    on_conflict: OnConflict,
) -> WeekPlan {
    let mut plan = WeekPlan::default();
    let ours_wins = on_conflict == OnConflict::Ours;
    // Genesys shifts by id, and by user.
    let mut theirs_by_id: HashMap<&str, &Content> = HashMap::new();
    let mut by_user: HashMap<&str, Vec<(&str, &Content)>> = HashMap::new();
    if let Some(v) = view {
        for (user, a) in &v.agents {
            for (id, c) in &a.shifts {
                theirs_by_id.insert(id.as_str(), c);
                by_user
                    .entry(user.as_str())
                    .or_default()
                    .push((id.as_str(), c));
            }
        }
    }
    let link_of: HashMap<&str, &Link> = links.iter().map(|l| (l.legacy.as_str(), l)).collect();
    let mut owned: HashSet<&str> = links.iter().map(|l| l.gid.as_str()).collect();
    let desired_ids: HashSet<&str> = desired.iter().map(|d| d.legacy.as_str()).collect();

    // Adoption first: an unlinked Genesys shift identical to an unlinked desired shift becomes ours.
    let mut adopted: HashMap<&str, &str> = HashMap::new();
    for d in desired {
        // A linked shift is never adopted again (if its Genesys shift is gone, that is a
        // deletion by them, handled below).
        if link_of.contains_key(d.legacy.as_str()) {
            continue;
        }
        let candidates = by_user.get(d.content.user.as_str());
        if let Some((gid, c)) = candidates
            .into_iter()
            .flatten()
            .find(|(gid, c)| **c == d.content && !owned.contains(gid))
        {
            owned.insert(gid);
            adopted.insert(d.legacy.as_str(), gid);
            plan.links.push(LinkChange::Set {
                legacy: d.legacy.clone(),
                gid: gid.to_string(),
                base: (*c).clone(),
                adopted: true,
            });
            plan.counts.adopt += 1;
        }
    }

    // The unowned shifts a write of ours must not overlap.
    let overlaps_unowned = |c: &Content, except: Option<&str>| -> Option<Content> {
        by_user.get(c.user.as_str()).and_then(|v| {
            v.iter()
                .find(|(gid, t)| !owned.contains(gid) && Some(*gid) != except && t.overlaps(c))
                .map(|(_, t)| (*t).clone())
        })
    };

    let mut writes: Vec<(String, Op)> = Vec::new();
    for d in desired {
        if adopted.contains_key(d.legacy.as_str()) {
            continue;
        }
        let ours = &d.content;
        let link = link_of.get(d.legacy.as_str());
        let theirs = link.and_then(|l| theirs_by_id.get(l.gid.as_str()).copied());
        match (link, theirs) {
            (Some(l), Some(t)) => {
                let base = l.base.as_ref();
                if t == ours {
                    plan.counts.noop += 1;
                    if base != Some(ours) {
                        plan.links.push(LinkChange::Set {
                            legacy: d.legacy.clone(),
                            gid: l.gid.clone(),
                            base: ours.clone(),
                            adopted: false,
                        });
                    }
                    continue;
                }
                if base == Some(ours) {
                    plan.counts.kept_theirs += 1;
                    continue;
                }
                let mut overwrite = base == Some(t);
                if !overwrite {
                    plan.conflicts.push(Conflict {
                        kind: ConflictKind::BothChanged,
                        user: ours.user.clone(),
                        legacy: Some(d.legacy.clone()),
                        gid: Some(l.gid.clone()),
                        base: base.cloned(),
                        ours: Some(ours.clone()),
                        theirs: Some(t.clone()),
                        overwritten: ours_wins,
                    });
                    plan.counts.conflicts += 1;
                    overwrite = ours_wins;
                }
                if !overwrite {
                    continue;
                }
                if let Some(x) = overlaps_unowned(ours, Some(&l.gid)) {
                    plan.conflicts.push(Conflict {
                        kind: ConflictKind::OverlapsUnowned,
                        user: ours.user.clone(),
                        legacy: Some(d.legacy.clone()),
                        gid: Some(l.gid.clone()),
                        base: base.cloned(),
                        ours: Some(ours.clone()),
                        theirs: Some(x),
                        overwritten: ours_wins,
                    });
                    plan.counts.conflicts += 1;
                    if !ours_wins {
                        continue;
                    }
                }
                plan.counts.update += 1;
                if t.user == ours.user {
                    writes.push((
                        ours.user.clone(),
                        Op::Replace {
                            legacy: d.legacy.clone(),
                            gid: l.gid.clone(),
                            content: ours.clone(),
                        },
                    ));
                } else {
                    // The shift moved to another agent (a trade applied): delete and add.
                    writes.push((t.user.clone(), Op::Delete { gid: l.gid.clone() }));
                    writes.push((
                        ours.user.clone(),
                        Op::Add {
                            legacy: Some(d.legacy.clone()),
                            content: ours.clone(),
                        },
                    ));
                }
            }
            (Some(l), None) if view.is_some() => {
                // Deleted in Genesys since zd2gc wrote it.
                let base = l.base.as_ref();
                if base == Some(ours) {
                    plan.counts.kept_theirs += 1;
                    continue;
                }
                plan.conflicts.push(Conflict {
                    kind: ConflictKind::DeletedByThem,
                    user: ours.user.clone(),
                    legacy: Some(d.legacy.clone()),
                    gid: Some(l.gid.clone()),
                    base: base.cloned(),
                    ours: Some(ours.clone()),
                    theirs: None,
                    overwritten: ours_wins,
                });
                plan.counts.conflicts += 1;
                if ours_wins {
                    plan.counts.create += 1;
                    writes.push((
                        ours.user.clone(),
                        Op::Add {
                            legacy: Some(d.legacy.clone()),
                            content: ours.clone(),
                        },
                    ));
                }
            }
            (Some(l), None) => {
                // The whole schedule is gone: a deletion that stands unless ours changed.
                if l.base.as_ref() == Some(ours) {
                    plan.counts.kept_theirs += 1;
                    continue;
                }
                plan.conflicts.push(Conflict {
                    kind: ConflictKind::DeletedByThem,
                    user: ours.user.clone(),
                    legacy: Some(d.legacy.clone()),
                    gid: Some(l.gid.clone()),
                    base: l.base.clone(),
                    ours: Some(ours.clone()),
                    theirs: None,
                    overwritten: ours_wins,
                });
                plan.counts.conflicts += 1;
                if ours_wins {
                    plan.counts.create += 1;
                    writes.push((
                        ours.user.clone(),
                        Op::Add {
                            legacy: Some(d.legacy.clone()),
                            content: ours.clone(),
                        },
                    ));
                }
            }
            (None, _) => {
                if let Some(x) = overlaps_unowned(ours, None) {
                    plan.conflicts.push(Conflict {
                        kind: ConflictKind::OverlapsUnowned,
                        user: ours.user.clone(),
                        legacy: Some(d.legacy.clone()),
                        gid: None,
                        base: None,
                        ours: Some(ours.clone()),
                        theirs: Some(x),
                        overwritten: ours_wins,
                    });
                    plan.counts.conflicts += 1;
                    if !ours_wins {
                        continue;
                    }
                }
                plan.counts.create += 1;
                writes.push((
                    ours.user.clone(),
                    Op::Add {
                        legacy: Some(d.legacy.clone()),
                        content: ours.clone(),
                    },
                ));
            }
        }
    }

    // Links whose legacy shift left the export (and is not merely held back).
    for l in links {
        if desired_ids.contains(l.legacy.as_str()) || held.contains(&l.legacy) {
            continue;
        }
        if view.is_none() {
            plan.links.push(LinkChange::Forget {
                legacy: l.legacy.clone(),
            });
            continue;
        }
        match theirs_by_id.get(l.gid.as_str()) {
            None => plan.links.push(LinkChange::Forget {
                legacy: l.legacy.clone(),
            }),
            Some(t) if l.base.as_ref() == Some(*t) || ours_wins => {
                if l.base.as_ref() != Some(*t) {
                    plan.conflicts.push(Conflict {
                        kind: ConflictKind::RemovedByUs,
                        user: t.user.clone(),
                        legacy: Some(l.legacy.clone()),
                        gid: Some(l.gid.clone()),
                        base: l.base.clone(),
                        ours: None,
                        theirs: Some((*t).clone()),
                        overwritten: true,
                    });
                    plan.counts.conflicts += 1;
                }
                plan.counts.delete += 1;
                writes.push((t.user.clone(), Op::Delete { gid: l.gid.clone() }));
            }
            Some(t) => {
                plan.conflicts.push(Conflict {
                    kind: ConflictKind::RemovedByUs,
                    user: t.user.clone(),
                    legacy: Some(l.legacy.clone()),
                    gid: Some(l.gid.clone()),
                    base: l.base.clone(),
                    ours: None,
                    theirs: Some((*t).clone()),
                    overwritten: false,
                });
                plan.counts.conflicts += 1;
            }
        }
    }

    match view {
        None => {
            let mut import: BTreeMap<String, Vec<(String, Content)>> = BTreeMap::new();
            for (user, op) in writes {
                if let Op::Add { legacy, content } = op {
                    import
                        .entry(user)
                        .or_default()
                        .push((legacy.unwrap_or_default(), content));
                }
            }
            if !import.is_empty() {
                plan.import = Some(import);
            }
        }
        Some(v) => {
            for (user, op) in writes {
                let e = plan
                    .update
                    .entry(user.clone())
                    .or_insert_with(|| AgentPatch {
                        version: v.agents.get(&user).map(|a| a.version),
                        ops: vec![],
                    });
                e.ops.push(op);
            }
        }
    }
    plan
}
