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
//! - an unlinked Genesys shift identical to a desired one is adopted, never duplicated; activity
//!   descriptions are labels, not content: every comparison is [`Content::same_shape`] (user,
//!   start, length, activity codes and times), so a planner's shift that says "Meal" where the
//!   export says "Lunch" is adopted (counted in `relabelled`, its descriptions kept), and a
//!   description-only difference is never written;
//! - a desired shift that would overlap a shift zd2gc does not own is a conflict too;
//! - held-back shifts are left exactly as they are.

use super::model::{Content, Desired, Label, Link, WeekView};
use rustc_hash::{FxHashMap, FxHashSet};
use serde::Serialize;
use std::collections::{BTreeMap, HashSet};

/// What to do when both sides changed a shift.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
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
    /// Adopted or matching shifts whose Genesys activity descriptions differ from the export's
    /// (Genesys' stand; they are counted in `adopt` or `noop` too).
    pub relabelled: u64,
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
    /// Legacy ids adopted now whose Genesys activity descriptions differ from the export's.
    pub relabelled: Vec<String>,
}

impl WeekPlan {
    /// Whether the plan sends any write.
    pub fn writes(&self) -> bool {
        self.import.as_ref().is_some_and(|i| !i.is_empty()) || !self.update.is_empty()
    }
}

/// Whether a base (if any) is the same shift as `c` (descriptions aside).
fn same(base: Option<&Content>, c: &Content) -> bool {
    base.is_some_and(|b| b.same_shape(c))
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
    let desired: Vec<&Desired> = desired.iter().collect();
    let links: Vec<&Link> = links.iter().collect();
    merge_parts(&desired, &links, held, view, on_conflict).0
}

/// Where each item of a plan's `conflicts`, `links` and `relabelled` came from in [`merge_parts`]'s
/// inputs: `(phase, index)`, the index into `desired` or `links`. Sorting items from several
/// merges by (phase, index in the week) puts them back in the order one merge of the week makes.
/// Phases: conflicts 0 = a desired shift, 1 = a link no longer desired; links 0 = adopted by an
/// unlinked desired shift, 1 = adopted by a linked one, 2 = a base refreshed, 3 = forgotten;
/// relabelled 0 and 1 as links.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tags {
    pub conflicts: Vec<(u8, u32)>,
    pub links: Vec<(u8, u32)>,
    pub relabelled: Vec<(u8, u32)>,
}

/// [`merge`] over references, saying where each conflict, link change and relabelled id came
/// from ([`Tags`]).
pub fn merge_parts(
    desired: &[&Desired],
    links: &[&Link],
    held: &HashSet<String>,
    view: Option<&WeekView>,
    on_conflict: OnConflict,
) -> (WeekPlan, Tags) {
    let mut plan = WeekPlan::default();
    let mut tags = Tags::default();
    let ours_wins = on_conflict == OnConflict::Ours;
    // Genesys shifts by id, and by user (each agent schedule's own list of shifts, in its order).
    // Every map of a week is sized once, from counts known before it is filled: a week of tens
    // of thousands of shifts would otherwise hold a map and its next size at once when it grows.
    let theirs = view.map_or(0, |v| v.agents.values().map(|a| a.shifts.len()).sum());
    // Fx maps (the ids are not adversarial; none of these is iterated).
    let mut theirs_by_id: FxHashMap<&str, &Content> =
        FxHashMap::with_capacity_and_hasher(theirs, Default::default());
    let mut by_user: FxHashMap<&str, &[(String, Content)]> =
        FxHashMap::with_capacity_and_hasher(view.map_or(0, |v| v.agents.len()), Default::default());
    if let Some(v) = view {
        for (user, a) in &v.agents {
            for (id, c) in &a.shifts {
                theirs_by_id.insert(id.as_str(), c);
            }
            if !a.shifts.is_empty() {
                by_user.insert(user.as_str(), &a.shifts);
            }
        }
    }
    // Shifts carrying time off (docs/genesys-contract.md, "Time off"): Genesys', never ours.
    let time_off: FxHashSet<&str> = view
        .iter()
        .flat_map(|v| v.agents.values())
        .flat_map(|a| a.time_off.iter().map(String::as_str))
        .collect();
    let link_of: FxHashMap<&str, &Link> = links.iter().map(|l| (l.legacy.as_str(), *l)).collect();
    let desired_ids: FxHashSet<&str> = desired.iter().map(|d| d.legacy.as_str()).collect();

    // Adoption first: an unowned Genesys shift identical to a desired shift becomes ours.
    // Unlinked desired shifts adopt first, then linked ones whose Genesys shift is gone: a linked
    // shift whose Genesys shift is still there is never adopted again. When that shift is gone,
    // an identical unowned one is linked instead: it is what zd2gc itself wrote in the round
    // before (a trade's move, an overwrite after a deletion), or a planner's copy of ours; either
    // way the week holds ours, and adding it again would duplicate it (and, with `--on-conflict
    // ours`, add one more copy every round). The order keeps identical desired shifts stable from
    // one round to the next.
    let unlinked = desired
        .iter()
        .enumerate()
        .filter(|(_, d)| !link_of.contains_key(d.legacy.as_str()))
        .map(|(i, d)| (0u8, i as u32, *d));
    let relinked = desired
        .iter()
        .enumerate()
        .filter(|(_, d)| {
            link_of
                .get(d.legacy.as_str())
                .is_some_and(|l| view.is_some() && !theirs_by_id.contains_key(l.gid.as_str()))
        })
        .map(|(i, d)| (1u8, i as u32, *d));
    // At most this many adopt; each link changes at most once besides (a base refreshed or a link
    // forgotten).
    let adoptable = unlinked.clone().chain(relinked.clone()).count();
    let mut owned: FxHashSet<&str> =
        FxHashSet::with_capacity_and_hasher(links.len() + adoptable, Default::default());
    owned.extend(links.iter().map(|l| l.gid.as_str()));
    let mut adopted: FxHashMap<&str, &str> =
        FxHashMap::with_capacity_and_hasher(adoptable, Default::default());
    plan.links.reserve_exact(adoptable + links.len());
    for (phase, i, d) in unlinked.chain(relinked) {
        let candidates = by_user.get(&*d.content.user).copied();
        // An identical shift first, else one that differs only in activity descriptions.
        let free = |exact: bool| {
            candidates
                .into_iter()
                .flatten()
                .map(|(gid, c)| (gid.as_str(), c))
                .find(|(gid, c)| {
                    !owned.contains(gid)
                        && !time_off.contains(gid)
                        && if exact {
                            *c == &d.content
                        } else {
                            c.same_shape(&d.content)
                        }
                })
        };
        if let Some((gid, c)) = free(true).or_else(|| free(false)) {
            if *c != d.content {
                plan.counts.relabelled += 1;
                plan.relabelled.push(d.legacy.clone());
                tags.relabelled.push((phase, i));
            }
            owned.insert(gid);
            adopted.insert(d.legacy.as_str(), gid);
            tags.links.push((phase, i));
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
        by_user.get(&*c.user).and_then(|v| {
            v.iter()
                .find(|(gid, t)| {
                    !owned.contains(gid.as_str()) && Some(gid.as_str()) != except && t.overlaps(c)
                })
                .map(|(_, t)| t.clone())
        })
    };

    // The writes, by user, in the order they are planned (no week-sized vector: a week of tens of
    // thousands of shifts would grow one by doubling).
    let mut writes: BTreeMap<Label, Vec<Op>> = BTreeMap::new();
    for (i, d) in desired.iter().enumerate() {
        let i = i as u32;
        if adopted.contains_key(d.legacy.as_str()) {
            continue;
        }
        let ours = &d.content;
        let link = link_of.get(d.legacy.as_str());
        let theirs = link.and_then(|l| theirs_by_id.get(l.gid.as_str()).copied());
        match (link, theirs) {
            (Some(l), Some(t)) => {
                let base = l.base.as_ref();
                if t.same_shape(ours) {
                    plan.counts.noop += 1;
                    if t != ours {
                        plan.counts.relabelled += 1;
                    }
                    // The base is what Genesys holds (its descriptions included).
                    if base != Some(t) {
                        tags.links.push((2, i));
                        plan.links.push(LinkChange::Set {
                            legacy: d.legacy.clone(),
                            gid: l.gid.clone(),
                            base: t.clone(),
                            adopted: false,
                        });
                    }
                    continue;
                }
                if same(base, ours) || time_off.contains(l.gid.as_str()) {
                    // Ours unchanged, or the shift now carries time off: theirs stands.
                    plan.counts.kept_theirs += 1;
                    continue;
                }
                let mut overwrite = same(base, t);
                if !overwrite {
                    tags.conflicts.push((0, i));
                    plan.conflicts.push(Conflict {
                        kind: ConflictKind::BothChanged,
                        user: ours.user.to_string(),
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
                    tags.conflicts.push((0, i));
                    plan.conflicts.push(Conflict {
                        kind: ConflictKind::OverlapsUnowned,
                        user: ours.user.to_string(),
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
                    writes
                        .entry(ours.user.clone())
                        .or_default()
                        .push(Op::Replace {
                            legacy: d.legacy.clone(),
                            gid: l.gid.clone(),
                            content: ours.clone(),
                        });
                } else {
                    // The shift moved to another agent (a trade applied): delete and add.
                    writes
                        .entry(t.user.clone())
                        .or_default()
                        .push(Op::Delete { gid: l.gid.clone() });
                    writes.entry(ours.user.clone()).or_default().push(Op::Add {
                        legacy: Some(d.legacy.clone()),
                        content: ours.clone(),
                    });
                }
            }
            (Some(l), None) if view.is_some() => {
                // Deleted in Genesys since zd2gc wrote it.
                let base = l.base.as_ref();
                if same(base, ours) {
                    plan.counts.kept_theirs += 1;
                    continue;
                }
                tags.conflicts.push((0, i));
                plan.conflicts.push(Conflict {
                    kind: ConflictKind::DeletedByThem,
                    user: ours.user.to_string(),
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
                    writes.entry(ours.user.clone()).or_default().push(Op::Add {
                        legacy: Some(d.legacy.clone()),
                        content: ours.clone(),
                    });
                }
            }
            (Some(l), None) => {
                // The whole schedule is gone: a deletion that stands unless ours changed.
                if same(l.base.as_ref(), ours) {
                    plan.counts.kept_theirs += 1;
                    continue;
                }
                tags.conflicts.push((0, i));
                plan.conflicts.push(Conflict {
                    kind: ConflictKind::DeletedByThem,
                    user: ours.user.to_string(),
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
                    writes.entry(ours.user.clone()).or_default().push(Op::Add {
                        legacy: Some(d.legacy.clone()),
                        content: ours.clone(),
                    });
                }
            }
            (None, _) => {
                if let Some(x) = overlaps_unowned(ours, None) {
                    tags.conflicts.push((0, i));
                    plan.conflicts.push(Conflict {
                        kind: ConflictKind::OverlapsUnowned,
                        user: ours.user.to_string(),
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
                writes.entry(ours.user.clone()).or_default().push(Op::Add {
                    legacy: Some(d.legacy.clone()),
                    content: ours.clone(),
                });
            }
        }
    }

    // Links whose legacy shift left the export (and is not merely held back).
    for (j, l) in links.iter().enumerate() {
        let j = j as u32;
        if desired_ids.contains(l.legacy.as_str()) || held.contains(&l.legacy) {
            continue;
        }
        if view.is_none() {
            tags.links.push((3, j));
            plan.links.push(LinkChange::Forget {
                legacy: l.legacy.clone(),
            });
            continue;
        }
        match theirs_by_id.get(l.gid.as_str()) {
            None => {
                tags.links.push((3, j));
                plan.links.push(LinkChange::Forget {
                    legacy: l.legacy.clone(),
                })
            }
            // A shift that carries time off is never deleted.
            Some(_) if time_off.contains(l.gid.as_str()) => plan.counts.kept_theirs += 1,
            Some(t) if same(l.base.as_ref(), t) || ours_wins => {
                if !same(l.base.as_ref(), t) {
                    tags.conflicts.push((1, j));
                    plan.conflicts.push(Conflict {
                        kind: ConflictKind::RemovedByUs,
                        user: t.user.to_string(),
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
                writes
                    .entry(t.user.clone())
                    .or_default()
                    .push(Op::Delete { gid: l.gid.clone() });
            }
            Some(t) => {
                tags.conflicts.push((1, j));
                plan.conflicts.push(Conflict {
                    kind: ConflictKind::RemovedByUs,
                    user: t.user.to_string(),
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
            for (user, ops) in writes {
                let adds: Vec<(String, Content)> = ops
                    .into_iter()
                    .filter_map(|op| match op {
                        Op::Add { legacy, content } => Some((legacy.unwrap_or_default(), content)),
                        _ => None,
                    })
                    .collect();
                if !adds.is_empty() {
                    import.insert(user.to_string(), adds);
                }
            }
            if !import.is_empty() {
                plan.import = Some(import);
            }
        }
        Some(v) => {
            for (user, ops) in writes {
                plan.update.insert(
                    user.to_string(),
                    AgentPatch {
                        version: v.agents.get(&*user).map(|a| a.version),
                        ops,
                    },
                );
            }
        }
    }
    (plan, tags)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::model::{Act, AgentView};
    use proptest::prelude::*;

    const H: i64 = 3600;

    /// A shift of `user` starting `start_h` hours into the week, `len` minutes, one activity `code`.
    fn shift(user: &str, start_h: i64, len: i64, code: &str) -> Content {
        Content::new(
            user.into(),
            start_h * H,
            len,
            vec![Act::new(start_h * H, 60, code, "On Queue Work")],
        )
    }

    fn want(legacy: &str, c: &Content) -> Desired {
        Desired {
            legacy: legacy.into(),
            mu: "mu".into(),
            content: c.clone(),
        }
    }

    fn link(legacy: &str, gid: &str, base: &Content) -> Link {
        Link {
            legacy: legacy.into(),
            gid: gid.into(),
            base: Some(base.clone()),
        }
    }

    /// A week whose agent schedules hold these (gid, content) shifts (grouped by the content's user).
    fn week(shifts: &[(&str, &Content)]) -> WeekView {
        let mut agents: BTreeMap<String, AgentView> = BTreeMap::new();
        for (gid, c) in shifts {
            agents
                .entry(c.user.to_string())
                .or_insert_with(|| AgentView {
                    version: 7,
                    shifts: vec![],
                    time_off: vec![],
                })
                .shifts
                .push((gid.to_string(), (*c).clone()));
        }
        WeekView {
            schedule_id: "s1".into(),
            week_date: "2026-01-05".into(),
            version: 3,
            ours: true,
            ours_in_week: 1,
            agents,
        }
    }

    fn no_held() -> HashSet<String> {
        HashSet::new()
    }

    fn ops(plan: &WeekPlan) -> Vec<&Op> {
        plan.update.values().flat_map(|p| p.ops.iter()).collect()
    }

    /// docs/genesys-contract.md, "Time off": a shift Genesys put time off in (an activity with a
    /// `timeOffRequestId`) is never adopted, replaced or deleted, even with `--on-conflict ours`.
    #[test]
    fn a_shift_carrying_time_off_is_never_adopted_replaced_or_deleted() {
        let base = shift("u", 8, 480, "c");
        let changed = shift("u", 9, 480, "c");
        let dropped = shift("u", 32, 480, "c");
        let copy = shift("u", 56, 480, "c");
        let mut v = week(&[("g1", &base), ("g2", &dropped), ("g3", &copy)]);
        for a in v.agents.values_mut() {
            a.time_off = vec!["g1".into(), "g2".into(), "g3".into()];
        }
        for mode in [OnConflict::Park, OnConflict::Ours] {
            let plan = merge(
                &[want("L1", &changed), want("L3", &copy)],
                &[link("L1", "g1", &base), link("L2", "g2", &dropped)],
                &no_held(),
                Some(&v),
                mode,
            );
            for op in ops(&plan) {
                if let Op::Replace { gid, .. } | Op::Delete { gid } = op {
                    panic!("{mode:?}: {gid} carries time off and was written: {op:?}");
                }
            }
            assert_eq!(plan.counts.adopt, 0, "{mode:?}");
            assert_eq!(plan.counts.kept_theirs, 2, "{mode:?}");
        }
        // The same week without time off: the changed shift is replaced and the dropped one deleted.
        for a in v.agents.values_mut() {
            a.time_off.clear();
        }
        let plan = merge(
            &[want("L1", &changed), want("L3", &copy)],
            &[link("L1", "g1", &base), link("L2", "g2", &dropped)],
            &no_held(),
            Some(&v),
            OnConflict::Park,
        );
        assert_eq!(
            (plan.counts.update, plan.counts.delete, plan.counts.adopt),
            (1, 1, 1)
        );
    }

    #[test]
    fn theirs_equal_to_base_writes_ours() {
        let (a, b) = (shift("u", 8, 480, "c"), shift("u", 9, 480, "c"));
        let v = week(&[("g1", &a)]);
        let plan = merge(
            &[want("L1", &b)],
            &[link("L1", "g1", &a)],
            &no_held(),
            Some(&v),
            OnConflict::Park,
        );
        assert!(plan.conflicts.is_empty());
        assert_eq!(plan.counts.update, 1);
        let p = &plan.update["u"];
        assert_eq!(p.version, Some(7), "the agent schedule's current version");
        assert_eq!(
            p.ops,
            vec![Op::Replace {
                legacy: "L1".into(),
                gid: "g1".into(),
                content: b
            }]
        );
    }

    #[test]
    fn ours_equal_to_base_leaves_a_planner_edit_or_deletion() {
        let (a, b) = (shift("u", 8, 480, "c"), shift("u", 10, 360, "c"));
        let links = [link("L1", "g1", &a)];
        // Edited by a planner.
        let v = week(&[("g1", &b)]);
        let plan = merge(
            &[want("L1", &a)],
            &links,
            &no_held(),
            Some(&v),
            OnConflict::Ours,
        );
        assert!(!plan.writes() && plan.conflicts.is_empty(), "{plan:?}");
        assert_eq!(plan.counts.kept_theirs, 1);
        // Deleted by a planner (the schedule stays, the shift is gone).
        let other = shift("u", 30, 480, "c");
        let v = week(&[("x", &other)]);
        let plan = merge(
            &[want("L1", &a)],
            &links,
            &no_held(),
            Some(&v),
            OnConflict::Ours,
        );
        assert!(!plan.writes() && plan.conflicts.is_empty(), "{plan:?}");
        assert_eq!(plan.counts.kept_theirs, 1);
        // The whole schedule deleted: no import either.
        let plan = merge(
            &[want("L1", &a)],
            &links,
            &no_held(),
            None,
            OnConflict::Ours,
        );
        assert!(!plan.writes() && plan.conflicts.is_empty(), "{plan:?}");
        assert_eq!(plan.counts.kept_theirs, 1);
    }

    #[test]
    fn theirs_equal_to_ours_is_nothing_but_a_base_refresh() {
        let (a, b) = (shift("u", 8, 480, "c"), shift("u", 9, 480, "c"));
        let v = week(&[("g1", &b)]);
        let plan = merge(
            &[want("L1", &b)],
            &[link("L1", "g1", &a)],
            &no_held(),
            Some(&v),
            OnConflict::Park,
        );
        assert!(!plan.writes() && plan.conflicts.is_empty());
        assert_eq!(plan.counts.noop, 1);
        assert_eq!(
            plan.links,
            vec![LinkChange::Set {
                legacy: "L1".into(),
                gid: "g1".into(),
                base: b.clone(),
                adopted: false
            }]
        );
        // Already the base: not even that.
        let plan = merge(
            &[want("L1", &b)],
            &[link("L1", "g1", &b)],
            &no_held(),
            Some(&v),
            OnConflict::Park,
        );
        assert_eq!(
            plan,
            WeekPlan {
                counts: PlanCounts {
                    noop: 1,
                    ..Default::default()
                },
                ..Default::default()
            }
        );
    }

    #[test]
    fn all_three_different_is_a_conflict_parked_or_overwritten_and_recorded() {
        let (base, ours, theirs) = (
            shift("u", 8, 480, "c"),
            shift("u", 9, 480, "c"),
            shift("u", 8, 480, "d"),
        );
        let v = week(&[("g1", &theirs)]);
        let links = [link("L1", "g1", &base)];
        let plan = merge(
            &[want("L1", &ours)],
            &links,
            &no_held(),
            Some(&v),
            OnConflict::Park,
        );
        assert!(!plan.writes());
        assert_eq!(
            plan.conflicts,
            vec![Conflict {
                kind: ConflictKind::BothChanged,
                user: "u".into(),
                legacy: Some("L1".into()),
                gid: Some("g1".into()),
                base: Some(base.clone()),
                ours: Some(ours.clone()),
                theirs: Some(theirs.clone()),
                overwritten: false,
            }]
        );
        let plan = merge(
            &[want("L1", &ours)],
            &links,
            &no_held(),
            Some(&v),
            OnConflict::Ours,
        );
        assert_eq!(plan.conflicts.len(), 1);
        assert!(plan.conflicts[0].overwritten);
        assert_eq!(
            ops(&plan),
            vec![&Op::Replace {
                legacy: "L1".into(),
                gid: "g1".into(),
                content: ours.clone()
            }]
        );
        // Deleted by them while the export changed it; and dropped by the export while they changed it.
        let v = week(&[]);
        let plan = merge(
            &[want("L1", &ours)],
            &links,
            &no_held(),
            Some(&v),
            OnConflict::Park,
        );
        assert_eq!(plan.conflicts[0].kind, ConflictKind::DeletedByThem);
        assert!(!plan.writes());
        let v = week(&[("g1", &theirs)]);
        let plan = merge(&[], &links, &no_held(), Some(&v), OnConflict::Park);
        assert_eq!(plan.conflicts[0].kind, ConflictKind::RemovedByUs);
        assert!(!plan.writes());
        let plan = merge(&[], &links, &no_held(), Some(&v), OnConflict::Ours);
        assert!(plan.conflicts[0].overwritten);
        assert_eq!(ops(&plan), vec![&Op::Delete { gid: "g1".into() }]);
    }

    #[test]
    fn a_shift_dropped_by_the_export_is_deleted_only_when_theirs_is_still_the_base() {
        let a = shift("u", 8, 480, "c");
        let v = week(&[("g1", &a)]);
        let plan = merge(
            &[],
            &[link("L1", "g1", &a)],
            &no_held(),
            Some(&v),
            OnConflict::Park,
        );
        assert_eq!(ops(&plan), vec![&Op::Delete { gid: "g1".into() }]);
        assert_eq!(plan.counts.delete, 1);
        // Gone on both sides: only the link is forgotten.
        let plan = merge(
            &[],
            &[link("L1", "g1", &a)],
            &no_held(),
            Some(&week(&[])),
            OnConflict::Park,
        );
        assert!(!plan.writes());
        assert_eq!(
            plan.links,
            vec![LinkChange::Forget {
                legacy: "L1".into()
            }]
        );
    }

    #[test]
    fn unowned_shifts_are_never_changed_or_deleted() {
        let mine = shift("u", 8, 480, "c");
        let theirs = shift("u", 32, 480, "d");
        let v = week(&[("p1", &theirs)]);
        for mode in [OnConflict::Park, OnConflict::Ours] {
            // The export has nothing like it; no link names it: it is not ours to delete.
            let plan = merge(&[want("L1", &mine)], &[], &no_held(), Some(&v), mode);
            assert_eq!(
                ops(&plan),
                vec![&Op::Add {
                    legacy: Some("L1".into()),
                    content: mine.clone()
                }]
            );
            assert!(plan.links.is_empty());
        }
    }

    #[test]
    fn an_identical_unowned_shift_is_adopted_not_duplicated() {
        let a = shift("u", 8, 480, "c");
        let v = week(&[("p1", &a)]);
        let plan = merge(
            &[want("L1", &a)],
            &[],
            &no_held(),
            Some(&v),
            OnConflict::Park,
        );
        assert!(!plan.writes());
        assert_eq!(plan.counts.adopt, 1);
        assert_eq!(
            plan.links,
            vec![LinkChange::Set {
                legacy: "L1".into(),
                gid: "p1".into(),
                base: a.clone(),
                adopted: true
            }]
        );
        // Two identical desired shifts and one in Genesys: one adopted, one added.
        let plan = merge(
            &[want("L1", &a), want("L2", &a)],
            &[],
            &no_held(),
            Some(&v),
            OnConflict::Park,
        );
        assert_eq!(plan.counts.adopt, 1);
        assert_eq!(plan.counts.create, 1);
        // An owned shift is never adopted by another legacy shift.
        let plan = merge(
            &[want("L2", &a)],
            &[link("L1", "p1", &a)],
            &["L1".to_string()].into(),
            Some(&v),
            OnConflict::Park,
        );
        assert_eq!(plan.counts.adopt, 0);
        assert_eq!(plan.counts.create, 1);
    }

    #[test]
    fn a_planner_shift_differing_only_in_activity_descriptions_is_adopted_and_stays_theirs() {
        let ours = shift("u", 8, 480, "c");
        let theirs = ours.with_acts(|a| a[0] = a[0].with_desc("Meal"));
        // Unlinked: adopted with Genesys' descriptions as the base, recorded, nothing written.
        let v = week(&[("g1", &theirs)]);
        let plan = merge(
            &[want("L1", &ours)],
            &[],
            &no_held(),
            Some(&v),
            OnConflict::Park,
        );
        assert!(!plan.writes() && plan.conflicts.is_empty(), "{plan:?}");
        assert_eq!((plan.counts.adopt, plan.counts.relabelled), (1, 1));
        assert_eq!(plan.relabelled, vec!["L1".to_string()]);
        assert_eq!(
            plan.links,
            vec![LinkChange::Set {
                legacy: "L1".into(),
                gid: "g1".into(),
                base: theirs.clone(),
                adopted: true
            }]
        );
        // The next round: the same, nothing to do (no description rewrite).
        let links = [link("L1", "g1", &theirs)];
        let again = merge(
            &[want("L1", &ours)],
            &links,
            &no_held(),
            Some(&v),
            OnConflict::Park,
        );
        assert!(!again.writes() && again.links.is_empty() && again.conflicts.is_empty());
        assert_eq!((again.counts.noop, again.counts.relabelled), (1, 1));
        assert!(again.relabelled.is_empty(), "recorded once, at adoption");
        // The planner then moves it, the export did not change: theirs stands, no conflict.
        let moved = shift("u", 9, 480, "c");
        let v2 = week(&[("g1", &moved)]);
        let p = merge(
            &[want("L1", &ours)],
            &links,
            &no_held(),
            Some(&v2),
            OnConflict::Park,
        );
        assert!(!p.writes() && p.conflicts.is_empty(), "{p:?}");
        assert_eq!(p.counts.kept_theirs, 1);
        // The export moves it, Genesys did not change: ours is written over the adopted shift.
        let later = shift("u", 10, 480, "c");
        let p = merge(
            &[want("L1", &later)],
            &links,
            &no_held(),
            Some(&v),
            OnConflict::Park,
        );
        assert!(p.conflicts.is_empty(), "{p:?}");
        assert_eq!(
            ops(&p),
            vec![&Op::Replace {
                legacy: "L1".into(),
                gid: "g1".into(),
                content: later
            }]
        );
        // A different activity code or time is not the same shift: no adoption, an overlap.
        let other = ours.with_acts(|a| a[0] = a[0].with_code("d"));
        let v3 = week(&[("g1", &other)]);
        let p = merge(
            &[want("L1", &ours)],
            &[],
            &no_held(),
            Some(&v3),
            OnConflict::Park,
        );
        assert_eq!(p.counts.adopt, 0);
        assert_eq!(p.conflicts[0].kind, ConflictKind::OverlapsUnowned);
    }

    #[test]
    fn a_linked_shift_gone_from_genesys_relinks_to_an_identical_one_instead_of_adding_again() {
        // What zd2gc itself re-created (a trade's move, an overwrite after a deletion) must not
        // be added once more in the next round.
        let (base, ours) = (shift("u", 8, 480, "c"), shift("w", 8, 480, "c"));
        let v = week(&[("n1", &ours)]);
        for mode in [OnConflict::Park, OnConflict::Ours] {
            let plan = merge(
                &[want("L1", &ours)],
                &[link("L1", "g1", &base)],
                &no_held(),
                Some(&v),
                mode,
            );
            assert!(!plan.writes(), "{plan:?}");
            assert!(plan.conflicts.is_empty(), "{plan:?}");
            assert_eq!(plan.counts.adopt, 1);
        }
    }

    #[test]
    fn a_desired_shift_overlapping_an_unowned_shift_is_a_conflict() {
        let planner = shift("u", 8, 480, "d");
        let mine = shift("u", 12, 480, "c");
        let v = week(&[("p1", &planner)]);
        let plan = merge(
            &[want("L1", &mine)],
            &[],
            &no_held(),
            Some(&v),
            OnConflict::Park,
        );
        assert!(!plan.writes());
        assert_eq!(plan.conflicts.len(), 1);
        assert_eq!(plan.conflicts[0].kind, ConflictKind::OverlapsUnowned);
        assert_eq!(plan.conflicts[0].theirs.as_ref(), Some(&planner));
        // Overwritten: ours is added, theirs still stands (never changed nor deleted).
        let plan = merge(
            &[want("L1", &mine)],
            &[],
            &no_held(),
            Some(&v),
            OnConflict::Ours,
        );
        assert!(plan.conflicts[0].overwritten);
        assert_eq!(
            ops(&plan),
            vec![&Op::Add {
                legacy: Some("L1".into()),
                content: mine.clone()
            }]
        );
        // The same for an owned shift whose new time would overlap it.
        let old = shift("u", 20, 480, "c");
        let v = week(&[("p1", &planner), ("g1", &old)]);
        let plan = merge(
            &[want("L1", &mine)],
            &[link("L1", "g1", &old)],
            &no_held(),
            Some(&v),
            OnConflict::Park,
        );
        assert!(!plan.writes());
        assert_eq!(plan.conflicts[0].kind, ConflictKind::OverlapsUnowned);
        // Another agent's shift at the same time does not overlap.
        let elsewhere = shift("w", 8, 480, "d");
        let v = week(&[("p1", &elsewhere)]);
        let plan = merge(
            &[want("L1", &mine)],
            &[],
            &no_held(),
            Some(&v),
            OnConflict::Park,
        );
        assert!(plan.conflicts.is_empty() && plan.writes());
    }

    #[test]
    fn held_back_shifts_are_left_exactly_as_they_are() {
        let (a, b) = (shift("u", 8, 480, "c"), shift("u", 9, 480, "c"));
        let held: HashSet<String> = ["L1".to_string()].into();
        for theirs in [&a, &b] {
            let v = week(&[("g1", theirs)]);
            for mode in [OnConflict::Park, OnConflict::Ours] {
                let plan = merge(&[], &[link("L1", "g1", &a)], &held, Some(&v), mode);
                assert_eq!(plan, WeekPlan::default(), "{theirs:?} {mode:?}");
            }
        }
        // Even with the schedule gone, its link is kept.
        let plan = merge(&[], &[link("L1", "g1", &a)], &held, None, OnConflict::Park);
        assert_eq!(plan, WeekPlan::default());
    }

    #[test]
    fn a_week_without_schedule_is_one_import() {
        let (a, b) = (shift("u", 8, 480, "c"), shift("w", 8, 480, "c"));
        let plan = merge(
            &[want("L1", &a), want("L2", &b)],
            &[],
            &no_held(),
            None,
            OnConflict::Park,
        );
        let import = plan.import.as_ref().unwrap();
        assert_eq!(import["u"], vec![("L1".to_string(), a)]);
        assert_eq!(import["w"], vec![("L2".to_string(), b)]);
        assert!(plan.update.is_empty());
        assert_eq!(plan.counts.create, 2);
    }

    #[test]
    fn a_shift_traded_to_another_agent_moves_by_delete_and_add() {
        let (base, ours) = (shift("u", 8, 480, "c"), shift("w", 8, 480, "c"));
        let v = week(&[("g1", &base)]);
        let plan = merge(
            &[want("L1", &ours)],
            &[link("L1", "g1", &base)],
            &no_held(),
            Some(&v),
            OnConflict::Park,
        );
        assert_eq!(plan.update["u"].ops, vec![Op::Delete { gid: "g1".into() }]);
        assert_eq!(
            plan.update["w"].version, None,
            "a new agent schedule carries no version"
        );
        assert_eq!(
            plan.update["w"].ops,
            vec![Op::Add {
                legacy: Some("L1".into()),
                content: ours
            }]
        );
    }

    // ---- Properties, over small random weeks where equal and overlapping shifts are frequent. ----

    /// What Genesys holds for a linked shift.
    #[derive(Debug, Clone)]
    enum Theirs {
        Gone,
        Base,
        Ours,
        Other(Content),
    }

    #[derive(Debug, Clone)]
    struct Entry {
        ours: Option<Content>,
        base: Option<Option<Content>>,
        theirs: Theirs,
        held: bool,
    }

    #[derive(Debug, Clone)]
    struct Case {
        entries: Vec<Entry>,
        unowned: Vec<Content>,
        schedule: bool,
        mode: OnConflict,
    }

    fn any_content() -> impl Strategy<Value = Content> {
        (
            0..2usize,
            0..5i64,
            prop_oneof![Just(240i64), Just(300)],
            0..2u8,
            0..2usize,
        )
            .prop_map(|(u, slot, len, code, desc)| {
                let c = shift(&format!("u{u}"), slot * 4, len, &format!("c{code}"));
                // A planner's label for the same activity.
                c.with_acts(|a| a[0] = a[0].with_desc(["On Queue Work", "Meal"][desc]))
            })
    }

    fn any_entry() -> impl Strategy<Value = Entry> {
        (
            proptest::option::weighted(0.8, any_content()),
            proptest::option::weighted(0.7, proptest::option::weighted(0.95, any_content())),
            0..4u8,
            any_content(),
            any::<bool>(),
        )
            .prop_map(|(ours, base, t, other, held)| Entry {
                held: held && ours.is_none(),
                theirs: match t {
                    0 => Theirs::Gone,
                    1 => Theirs::Base,
                    2 => Theirs::Ours,
                    _ => Theirs::Other(other),
                },
                ours,
                base,
            })
    }

    fn any_case() -> impl Strategy<Value = Case> {
        (
            proptest::collection::vec(any_entry(), 0..8),
            proptest::collection::vec(any_content(), 0..4),
            proptest::bool::weighted(0.8),
            any::<bool>(),
        )
            .prop_map(|(entries, unowned, schedule, ours)| Case {
                entries,
                unowned,
                schedule,
                mode: if ours {
                    OnConflict::Ours
                } else {
                    OnConflict::Park
                },
            })
    }

    /// The merge's inputs of a case.
    fn inputs(c: &Case) -> (Vec<Desired>, Vec<Link>, HashSet<String>, Option<WeekView>) {
        let mut desired = vec![];
        let mut links = vec![];
        let mut held = HashSet::new();
        let mut shifts: Vec<(String, Content)> = vec![];
        for (i, e) in c.entries.iter().enumerate() {
            let legacy = format!("L{i}");
            // The export's shifts of one agent never overlap (validate refuses them), so
            // neither do the desired ones.
            if let Some(o) = &e.ours
                && !desired.iter().any(|d: &Desired| d.content.overlaps(o))
            {
                desired.push(want(&legacy, o));
            }
            if e.held {
                held.insert(legacy.clone());
            }
            if let Some(base) = &e.base {
                let gid = format!("g{i}");
                links.push(Link {
                    legacy: legacy.clone(),
                    gid: gid.clone(),
                    base: base.clone(),
                });
                let t = match &e.theirs {
                    Theirs::Gone => None,
                    Theirs::Base => base.clone(),
                    Theirs::Ours => e.ours.clone(),
                    Theirs::Other(x) => Some(x.clone()),
                };
                if let Some(t) = t {
                    shifts.push((gid, t));
                }
            }
        }
        for (j, u) in c.unowned.iter().enumerate() {
            shifts.push((format!("p{j}"), u.clone()));
        }
        let view = c.schedule.then(|| {
            let refs: Vec<(&str, &Content)> = shifts.iter().map(|(g, s)| (g.as_str(), s)).collect();
            week(&refs)
        });
        (desired, links, held, view)
    }

    /// What Genesys and the crosswalk hold once a plan is written and read back (new shifts get
    /// fresh ids). Panics on an op the server would refuse (an unknown id).
    fn apply(
        view: Option<&WeekView>,
        links: &[Link],
        plan: &WeekPlan,
        fresh: &mut u32,
    ) -> (Option<WeekView>, Vec<Link>) {
        let mut next = |c: &Content| {
            *fresh += 1;
            (format!("n{fresh}"), c.clone())
        };
        let out = match (view, &plan.import) {
            (None, Some(import)) => {
                let mut v = week(&[]);
                for (user, shifts) in import {
                    let a = v.agents.entry(user.clone()).or_default();
                    a.shifts.extend(shifts.iter().map(|(_, c)| next(c)));
                }
                Some(v)
            }
            (None, None) => None,
            (Some(v), _) => {
                assert!(plan.import.is_none());
                let mut v = v.clone();
                for (user, p) in &plan.update {
                    let a = v.agents.entry(user.clone()).or_default();
                    for op in &p.ops {
                        match op {
                            Op::Add { content, .. } => {
                                assert_eq!(&*content.user, user.as_str());
                                a.shifts.push(next(content));
                            }
                            Op::Replace { gid, content, .. } => {
                                assert_eq!(&*content.user, user.as_str());
                                let s = a
                                    .shifts
                                    .iter_mut()
                                    .find(|(g, _)| g == gid)
                                    .expect("replace of a shift of that agent");
                                s.1 = content.clone();
                            }
                            Op::Delete { gid } => {
                                let n = a.shifts.len();
                                a.shifts.retain(|(g, _)| g != gid);
                                assert_eq!(
                                    a.shifts.len() + 1,
                                    n,
                                    "delete of a shift of that agent"
                                );
                            }
                        }
                    }
                }
                Some(v)
            }
        };
        let mut links: BTreeMap<String, Link> = links
            .iter()
            .map(|l| (l.legacy.clone(), l.clone()))
            .collect();
        for ch in &plan.links {
            match ch {
                LinkChange::Set {
                    legacy, gid, base, ..
                } => {
                    links.insert(
                        legacy.clone(),
                        Link {
                            legacy: legacy.clone(),
                            gid: gid.clone(),
                            base: Some(base.clone()),
                        },
                    );
                }
                LinkChange::Forget { legacy } => {
                    links.remove(legacy);
                }
            }
        }
        (out, links.into_values().collect())
    }

    fn all_shifts(v: Option<&WeekView>) -> BTreeMap<String, Content> {
        v.into_iter()
            .flat_map(|v| v.agents.values())
            .flat_map(|a| a.shifts.iter().cloned())
            .collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        /// No shift zd2gc does not own (unlinked, or linked to a held-back record) is ever in the
        /// write set, and every one of them is still there, unchanged, after the writes.
        #[test]
        fn unowned_and_held_back_shifts_are_never_written(c in any_case()) {
            let (desired, links, held, view) = inputs(&c);
            let plan = merge(&desired, &links, &held, view.as_ref(), c.mode);
            let writable: HashSet<&str> = links.iter().filter(|l| !held.contains(&l.legacy)).map(|l| l.gid.as_str()).collect();
            for op in ops(&plan) {
                match op {
                    Op::Replace { gid, .. } | Op::Delete { gid } => prop_assert!(writable.contains(gid.as_str()), "{op:?} touches a shift zd2gc does not own"),
                    Op::Add { .. } => {}
                }
            }
            for ch in &plan.links {
                let legacy = match ch { LinkChange::Set { legacy, .. } | LinkChange::Forget { legacy } => legacy };
                prop_assert!(!held.contains(legacy), "a held-back link changed: {ch:?}");
            }
            let before = all_shifts(view.as_ref());
            let (after, _) = apply(view.as_ref(), &links, &plan, &mut 0);
            let after = all_shifts(after.as_ref());
            for (gid, s) in &before {
                if !writable.contains(gid.as_str()) {
                    prop_assert_eq!(after.get(gid), Some(s), "unowned shift {} changed", gid);
                }
            }
        }

        /// Written and read back, every desired shift not in a parked conflict holds ours, unless
        /// it is a planner's edit or deletion of a shift the export did not change (theirs stands).
        #[test]
        fn the_writes_make_genesys_hold_ours(c in any_case()) {
            let (desired, links, held, view) = inputs(&c);
            let plan = merge(&desired, &links, &held, view.as_ref(), c.mode);
            let parked: HashSet<&str> = plan.conflicts.iter().filter(|x| !x.overwritten).filter_map(|x| x.legacy.as_deref()).collect();
            let (after, _) = apply(view.as_ref(), &links, &plan, &mut 0);
            let now = all_shifts(after.as_ref());
            let theirs = all_shifts(view.as_ref());
            for d in &desired {
                if parked.contains(d.legacy.as_str()) {
                    continue;
                }
                let l = links.iter().find(|l| l.legacy == d.legacy);
                // Descriptions aside (they are labels: a planner's stand).
                let kept = l.is_some_and(|l| same(l.base.as_ref(), &d.content) && !theirs.get(&l.gid).is_some_and(|t| t.same_shape(&d.content)));
                if kept {
                    prop_assert_eq!(now.get(&l.unwrap().gid), theirs.get(&l.unwrap().gid));
                } else {
                    prop_assert!(now.values().any(|s| s.same_shape(&d.content)), "{} does not hold ours: {:?}", d.legacy, plan);
                }
            }
            // Nothing desired is duplicated by the writes: at most one new copy per desired shift.
            let added = ops(&plan).iter().filter(|o| matches!(o, Op::Add { .. })).count()
                + plan.import.as_ref().map_or(0, |i| i.values().map(Vec::len).sum());
            prop_assert!(added <= desired.len());
        }

        /// Merging the written result again sends no write, and changes nothing a second time.
        #[test]
        fn merging_the_result_again_writes_nothing(c in any_case()) {
            let (desired, links, held, view) = inputs(&c);
            let plan = merge(&desired, &links, &held, view.as_ref(), c.mode);
            let mut fresh = 0;
            let (view2, links2) = apply(view.as_ref(), &links, &plan, &mut fresh);
            let again = merge(&desired, &links2, &held, view2.as_ref(), c.mode);
            prop_assert!(!again.writes(), "second round writes: first {:?}\nsecond {:?}", plan, again);
            let (view3, links3) = apply(view2.as_ref(), &links2, &again, &mut fresh);
            let third = merge(&desired, &links3, &held, view3.as_ref(), c.mode);
            prop_assert!(!third.writes() && third.links.is_empty(), "third round: {:?}", third);
            // The conflicts left are stable: the same ones are reported every round.
            let parked = |p: &WeekPlan| -> Vec<(Option<String>, ConflictKind)> {
                let mut v: Vec<_> = p.conflicts.iter().filter(|x| !x.overwritten).map(|x| (x.legacy.clone(), x.kind)).collect();
                v.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.as_str().cmp(b.1.as_str())));
                v
            };
            prop_assert_eq!(parked(&again), parked(&third));
        }
    }
}
