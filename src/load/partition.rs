//! A week's merge, management unit by management unit: the week's management units are grouped
//! into components that no shift, link or user of the week crosses, and each component is read and
//! merged on its own ([`merge::merge_parts`]), so a round holds one component's agent schedules,
//! desired shifts (read when it is merged: [`super::desired::WeekOutline::read`]), merge maps and
//! writes at a time instead of the week's (issue #17). The partition itself needs only each
//! desired shift's legacy id, user and unit ([`Slot`]).
//!
//! Why it is the week's merge. [`merge::merge`] looks across agents in exactly these places: a
//! link's Genesys shift is found by id under any agent (`theirs_by_id`: a trade moves a shift to
//! another agent), a shift is owned when any link of the week names it (`owned`), a desired shift
//! looks at its own agent's schedule (adoption, overlaps), and a patch's version is its agent's.
//! Components join, before anything is read:
//! - the management units of each user's desired shifts (a user is in one component);
//! - for each link, the unit of its desired user (when its legacy id is desired) and the unit of its
//!   base's user (where zd2gc last wrote or adopted it: a trade in the export moves it from there).
//!
//! Each link is given to one component (its desired user's, else its base user's, else the
//! shifts-without-a-unit one). The merge of a component then equals the week's merge restricted to
//! it, provided that what Genesys answered agrees with the components; each answer is checked
//! ([`Partition::admit`]) before it is merged:
//! - (U) a user with desired shifts in a component is answered by no other component;
//! - (A) a user is answered by one component only (a patch's version, the versions compared after
//!   a refusal);
//! - (D) a linked Genesys shift id is answered by no component but its link's;
//! - (G) a Genesys shift id is answered by one component only (adoption's `owned`).
//!
//! Under these, every lookup of the week's merge for a component's shifts and links finds the same
//! thing in the component's answers (the proof is in the comments of [`Partition::admit`]). When a
//! check fails (a planner moved a linked shift to an agent of an unrelated unit, an agent changed
//! unit), the round falls back to the whole week's merge: nothing was sent or recorded yet. Shift
//! ids are checked by a 64-bit hash: two ids with one hash can only make a check fail (a fallback),
//! never pass.

use super::changes::{LinkChanges, SlotIndex};
use super::desired::{Slots, UserUnits};
use super::links::LinkStore;
use super::merge::{self, Conflict, OnConflict, PlanCounts, Tags, WeekPlan};
use super::model::{AgentView, Desired, Link, WeekView};
use rustc_hash::FxHashMap;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::hash::{BuildHasher, BuildHasherDefault};

/// A component's id; `MANY` marks a hashed shift id that two components' links name.
type Comp = u32;
const MANY: Comp = Comp::MAX;

fn id_hash(s: &str) -> u64 {
    BuildHasherDefault::<rustc_hash::FxHasher>::default().hash_one(s)
}

/// One component: its management units (in order), and its desired shifts and links (indices
/// into the week's, in order).
#[derive(Debug, Default)]
struct Part {
    mus: Vec<String>,
    desired: Vec<u32>,
    links: Vec<u32>,
}

/// A week's components, and what the answers are checked against.
pub struct Partition<'a> {
    links: &'a LinkStore,
    parts: Vec<Part>,
    /// (U): each desired user's component.
    user_comp: FxHashMap<&'a str, Comp>,
    /// (D): each linked Genesys shift id's component (by hash; `MANY` when two disagree).
    link_comp: FxHashMap<u64, Comp>,
    /// (A): the users the components admitted so far answered (by hash, sorted).
    answered_user: Vec<u64>,
    /// (G): the Genesys shift ids the components admitted so far answered (by hash, sorted).
    answered_gid: Vec<u64>,
}

/// Add the sorted hashes `new` (of one component's answers, in any order) to the sorted `seen`.
fn add_sorted(seen: &mut Vec<u64>, mut new: Vec<u64>) {
    new.sort_unstable();
    new.dedup();
    // Two sorted runs: the stable sort merges them in one pass.
    seen.extend(new);
    seen.sort();
    seen.dedup();
}

fn find(p: &mut [u32], mut x: u32) -> u32 {
    while p[x as usize] != x {
        p[x as usize] = p[p[x as usize] as usize];
        x = p[x as usize];
    }
    x
}

fn union(p: &mut [u32], a: u32, b: u32) {
    let (a, b) = (find(p, a), find(p, b));
    // The smaller root stays: a component is named by its first unit.
    match a.cmp(&b) {
        std::cmp::Ordering::Less => p[b as usize] = a,
        std::cmp::Ordering::Greater => p[a as usize] = b,
        std::cmp::Ordering::Equal => {}
    }
}

impl<'a> Partition<'a> {
    /// The components of a week: `mus` are the units read (the week's), `user_mu` the crosswalk's
    /// unit of a user (for the base user of a link whose user has no desired shift this week).
    pub fn new(
        desired: &'a Slots,
        links: &'a LinkStore,
        mus: &BTreeSet<String>,
        user_mu: &UserUnits,
    ) -> Partition<'a> {
        let mu_list: Vec<&String> = mus.iter().collect();
        // Node `none` stands for the shifts of users with no unit read (nothing is read for it).
        let none = mu_list.len() as u32;
        let node_of_mu = |mu: &str| -> u32 {
            mu_list
                .binary_search_by(|m| m.as_str().cmp(mu))
                .map_or(none, |i| i as u32)
        };
        let mut parent: Vec<u32> = (0..=none).collect();
        let mut user_node: FxHashMap<&str, u32> = FxHashMap::default();
        for i in 0..desired.len() {
            let n = node_of_mu(desired.mu(i));
            match user_node.get(&**desired.user(i)) {
                Some(&first) => union(&mut parent, first, n),
                None => {
                    user_node.insert(desired.user(i), n);
                }
            }
        }
        // A link's desired user, by its legacy id (the last slot of an id, as a map collected
        // from the slots would keep).
        let by_legacy = SlotIndex::new(desired);
        let desired_user =
            |legacy: &str| by_legacy.find(legacy).map(|i| &**desired.user(i as usize));
        let node_of_user = |u: &str| -> Option<u32> {
            user_node
                .get(u)
                .copied()
                .or_else(|| user_mu.get(u).map(&node_of_mu))
        };
        let mut link_node = Vec::with_capacity(links.len());
        links.each_key(|_, legacy, _, base_user| {
            let ours = desired_user(legacy).map(|u| user_node[u]);
            let base = base_user.and_then(|u| node_of_user(u));
            if let (Some(a), Some(b)) = (ours, base) {
                union(&mut parent, a, b);
            }
            link_node.push(ours.or(base).unwrap_or(none));
        });
        // Components in the order of their first unit.
        let mut comp_of_root: HashMap<u32, Comp> = HashMap::new();
        let mut parts: Vec<Part> = Vec::new();
        let mut comp_of_node = Vec::with_capacity(parent.len());
        for n in 0..=none {
            let r = find(&mut parent, n);
            let c = *comp_of_root.entry(r).or_insert_with(|| {
                parts.push(Part::default());
                (parts.len() - 1) as Comp
            });
            comp_of_node.push(c);
            if n < none {
                parts[c as usize].mus.push(mu_list[n as usize].clone());
            }
        }
        for i in 0..desired.len() {
            let c = comp_of_node[user_node[&**desired.user(i)] as usize];
            parts[c as usize].desired.push(i as u32);
        }
        let mut link_comp: FxHashMap<u64, Comp> = FxHashMap::default();
        link_comp.reserve(links.len());
        links.each_key(|j, _, gid, _| {
            let c = comp_of_node[link_node[j] as usize];
            parts[c as usize].links.push(j as u32);
            let e = link_comp.entry(id_hash(gid)).or_insert(c);
            if *e != c {
                *e = MANY;
            }
        });
        drop(link_node);
        let user_comp = user_node
            .into_iter()
            .map(|(u, n)| (u, comp_of_node[n as usize]))
            .collect();
        Partition {
            links,
            parts,
            user_comp,
            link_comp,
            answered_user: Vec::new(),
            answered_gid: Vec::new(),
        }
    }

    /// How many components.
    pub fn len(&self) -> usize {
        self.parts.len()
    }

    /// Whether there is none (never: the shifts without a unit are one).
    pub fn is_empty(&self) -> bool {
        self.parts.is_empty()
    }

    /// The management units of component `c`, in order.
    pub fn mus(&self, c: usize) -> &[String] {
        &self.parts[c].mus
    }

    /// Check what component `c`'s units answered against the components: `false` when anything
    /// crosses into another component (the round must fall back to the week's merge).
    ///
    /// Given (U), (A), (D), (G) for every answer, the merge of component C over its desired
    /// shifts, its links and its answers makes the week's merge's decisions for them:
    /// - `theirs_by_id` is looked up for C's links only; by (D) a linked id answered anywhere is
    ///   answered in C, and by (G, A) under the same agent as in the week's view;
    /// - `by_user` is looked up for C's desired users only, answered in C or nowhere (U, A);
    /// - `owned` is looked up for ids of C's answers: by (D) a link naming one is C's; adoptions
    ///   insert ids of C's desired users' schedules only, seen by no other component (G);
    /// - `time_off` is looked up for ids of C's answers or links (D, G);
    /// - `link_of` and `desired_ids` for C's legacy ids: a link whose legacy id is desired is in
    ///   its desired user's component;
    /// - writes go to C's desired users and to the agents holding C's linked shifts (in C by D),
    ///   each user's in the week's relative order; a patch's version is its agent's (U, A).
    ///
    /// Each component is admitted once, in order: (A) and (G) look the answers up among those of
    /// the components admitted before (users by hash too: a shared hash can only fail a check).
    pub fn admit(&mut self, c: usize, agents: &BTreeMap<String, AgentView>) -> bool {
        let c = c as Comp;
        let (mut users, mut gids) = (Vec::with_capacity(agents.len()), Vec::new());
        for (user, a) in agents {
            if self.user_comp.get(user.as_str()).is_some_and(|&x| x != c) {
                return false;
            }
            let h = id_hash(user);
            if self.answered_user.binary_search(&h).is_ok() {
                return false;
            }
            users.push(h);
            for (gid, _) in &a.shifts {
                let h = id_hash(gid);
                if self.link_comp.get(&h).is_some_and(|&x| x != c) {
                    return false;
                }
                if self.answered_gid.binary_search(&h).is_ok() {
                    return false;
                }
                gids.push(h);
            }
        }
        add_sorted(&mut self.answered_user, users);
        add_sorted(&mut self.answered_gid, gids);
        true
    }

    /// The desired shifts of component `c` (indices into the week's, in order).
    pub fn desired(&self, c: usize) -> &[u32] {
        &self.parts[c].desired
    }

    /// The merge of component `c` over its answers (`view`: the week's schedule with only `c`'s
    /// agent schedules), with its items' tags in the week's indices. `desired` are its desired
    /// shifts with their contents, those of [`Partition::desired`] in that order.
    pub fn merge(
        &self,
        c: usize,
        desired: &[Desired],
        held: &HashSet<String>,
        view: Option<&WeekView>,
        on_conflict: OnConflict,
    ) -> (WeekPlan, Tags) {
        let p = &self.parts[c];
        assert_eq!(
            desired.len(),
            p.desired.len(),
            "a component's desired shifts"
        );
        let desired: Vec<&Desired> = desired.iter().collect();
        // The component's links are decoded now, and dropped with its merge.
        let links: Vec<Link> = p
            .links
            .iter()
            .map(|&j| self.links.get(j as usize))
            .collect();
        let links: Vec<&Link> = links.iter().collect();
        let (plan, mut tags) = merge::merge_parts(&desired, &links, held, view, on_conflict);
        // Local indices to the week's: phase 1 of conflicts and 3 of links count links.
        let week = |i: u32, by_link: bool| {
            if by_link {
                p.links[i as usize]
            } else {
                p.desired[i as usize]
            }
        };
        for t in &mut tags.conflicts {
            t.1 = week(t.1, t.0 == 1);
        }
        for t in &mut tags.links {
            t.1 = week(t.1, t.0 == 3);
        }
        for t in &mut tags.relabelled {
            t.1 = week(t.1, false);
        }
        (plan, tags)
    }
}

/// The week-wide part of a round's plan gathered from its components' merges, in the order one
/// merge of the week gives (the writes themselves are not kept: each component's are serialized
/// as they come).
#[derive(Debug, Default)]
pub struct Gathered {
    pub counts: PlanCounts,
    conflicts: Vec<((u8, u32), Conflict)>,
    /// The link changes as they come, in compact form, and their tags (apart: a week's adoption
    /// round holds tens of thousands, put in order in place by [`Gathered::finish`]).
    links: LinkChanges,
    link_tags: Vec<(u8, u32)>,
    relabelled: Vec<((u8, u32), String)>,
    /// At most this many link changes (one per desired shift and one per link): the link changes
    /// are sized once, when the first come, instead of growing by doubling (a week's adoption
    /// round holds tens of thousands).
    most_links: usize,
}

impl Gathered {
    /// Gathered merges of a week of `desired` shifts and `links` links.
    pub fn new(desired: usize, links: usize) -> Gathered {
        Gathered {
            most_links: desired + links,
            ..Gathered::default()
        }
    }

    /// The link changes past a few chunks go to a temporary file in `dir` ([`LinkChanges`]).
    pub fn spill_to(&mut self, dir: &std::path::Path) {
        self.links.spill_to(dir);
    }

    /// Keep a component's conflicts, link changes, relabelled ids and counts (its writes are the
    /// caller's). `slots` are the week's desired shifts, which the tags index.
    pub fn add(&mut self, plan: &mut WeekPlan, tags: Tags, slots: &Slots) {
        let c = &mut self.counts;
        let k = plan.counts;
        c.create += k.create;
        c.update += k.update;
        c.delete += k.delete;
        c.adopt += k.adopt;
        c.noop += k.noop;
        c.kept_theirs += k.kept_theirs;
        c.conflicts += k.conflicts;
        c.relabelled += k.relabelled;
        self.conflicts
            .extend(tags.conflicts.into_iter().zip(plan.conflicts.drain(..)));
        if self.link_tags.capacity() == 0 && !plan.links.is_empty() {
            let most = self.most_links.max(plan.links.len());
            self.links.reserve_exact(most);
            self.link_tags.reserve_exact(most);
        }
        assert_eq!(tags.links.len(), plan.links.len(), "a tag per link change");
        for (c, &(phase, i)) in plan.links.drain(..).zip(&tags.links) {
            // Phases 0-2 are about desired shift i (3: link i, no slot).
            self.links.push(&c, (phase < 3).then_some(i), slots);
        }
        self.link_tags.extend(tags.links);
        self.relabelled
            .extend(tags.relabelled.into_iter().zip(plan.relabelled.drain(..)));
    }

    /// Conflicts, link changes and relabelled ids in the week's merge order.
    pub fn finish(mut self) -> (PlanCounts, Vec<Conflict>, LinkChanges, Vec<String>) {
        // Stable: a shift's two conflicts keep their order.
        self.conflicts.sort_by_key(|(t, _)| *t);
        let mut order: Vec<u32> = (0..self.links.len() as u32).collect();
        // Stable, as the sort of (tag, change) pairs by tag.
        order.sort_by_key(|&i| self.link_tags[i as usize]);
        self.links.reorder(&mut order);
        self.relabelled.sort_by_key(|(t, _)| *t);
        (
            self.counts,
            self.conflicts.into_iter().map(|(_, c)| c).collect(),
            self.links,
            self.relabelled.into_iter().map(|(_, c)| c).collect(),
        )
    }
}

/// Put `v` in the order `order` gives, in place: afterwards `v[k]` is what `v[order[k]]` was
/// (`order` a permutation of `0..v.len()`; it is used up).
pub(super) fn gather<T>(v: &mut [T], order: &mut [u32]) {
    const DONE: u32 = u32::MAX;
    for i in 0..v.len() {
        if order[i] == DONE {
            continue;
        }
        // Follow the cycle through i: each place takes what its order names.
        let mut k = i;
        loop {
            let j = order[k] as usize;
            order[k] = DONE;
            if j == i {
                break;
            }
            v.swap(k, j);
            k = j;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::merge::{Op, merge};
    use crate::load::model::{Act, Content, label};
    use proptest::prelude::*;

    const UNITS: [&str; 3] = ["m0", "m1", "m2"];
    const USERS: usize = 6;

    fn user(u: usize) -> String {
        format!("u{u}")
    }

    /// The crosswalk's unit of a user.
    fn unit_of(u: usize) -> &'static str {
        UNITS[u % UNITS.len()]
    }

    fn content(u: usize, slot: i64, len: i64, code: u8, desc: usize) -> Content {
        Content::new(
            label(&user(u)),
            slot * 4 * 3600,
            len,
            vec![Act::new(
                slot * 4 * 3600,
                60,
                &format!("c{code}"),
                ["On Queue Work", "Meal"][desc],
            )],
        )
    }

    fn any_content() -> impl Strategy<Value = Content> {
        (
            0..USERS,
            0..4i64,
            prop_oneof![Just(240i64), Just(300)],
            0..2u8,
            0..2usize,
        )
            .prop_map(|(u, s, l, c, d)| content(u, s, l, c, d))
    }

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
        time_off: bool,
    }

    #[derive(Debug, Clone)]
    struct Case {
        entries: Vec<Entry>,
        unowned: Vec<(Content, bool)>,
        /// Per user: the unit its desired shifts name (index into UNITS, or 3 for none).
        desired_unit: Vec<usize>,
        /// Per user: the unit that answers its agent schedule (None: no unit does).
        answered_by: Vec<Option<usize>>,
        schedule: bool,
        ours_wins: bool,
    }

    fn any_entry() -> impl Strategy<Value = Entry> {
        (
            proptest::option::weighted(0.8, any_content()),
            proptest::option::weighted(0.7, proptest::option::weighted(0.95, any_content())),
            0..4u8,
            any_content(),
            any::<bool>(),
            proptest::bool::weighted(0.1),
        )
            .prop_map(|(ours, base, t, other, held, time_off)| Entry {
                held: held && ours.is_none(),
                theirs: match t {
                    0 => Theirs::Gone,
                    1 => Theirs::Base,
                    2 => Theirs::Ours,
                    _ => Theirs::Other(other),
                },
                ours,
                base,
                time_off,
            })
    }

    fn any_case() -> impl Strategy<Value = Case> {
        // Mostly a user's own unit; sometimes another one, or none.
        let desired_unit = proptest::collection::vec(
            prop_oneof![8 => Just(None), 1 => (0..4usize).prop_map(Some)],
            USERS,
        )
        .prop_map(|v| {
            v.into_iter()
                .enumerate()
                .map(|(u, x)| x.unwrap_or(u % UNITS.len()))
                .collect::<Vec<_>>()
        });
        let answered_by = proptest::collection::vec(
            prop_oneof![12 => Just(None), 1 => Just(Some(None)), 1 => (0..3usize).prop_map(|m| Some(Some(m)))],
            USERS,
        );
        (
            proptest::collection::vec(any_entry(), 0..12),
            proptest::collection::vec((any_content(), proptest::bool::weighted(0.2)), 0..5),
            desired_unit,
            answered_by,
            proptest::bool::weighted(0.85),
            any::<bool>(),
        )
            .prop_map(
                |(entries, unowned, desired_unit, answered_by, schedule, ours_wins)| Case {
                    answered_by: answered_by
                        .into_iter()
                        .enumerate()
                        .map(|(u, x)| match x {
                            None => Some(u % UNITS.len()),
                            Some(x) => x,
                        })
                        .collect(),
                    entries,
                    unowned,
                    desired_unit,
                    schedule,
                    ours_wins,
                },
            )
    }

    struct Inputs {
        desired: Vec<Desired>,
        links: Vec<Link>,
        held: HashSet<String>,
        /// Each unit's answer (user → agent schedule).
        answers: BTreeMap<String, BTreeMap<String, AgentView>>,
        mode: OnConflict,
    }

    fn inputs(c: &Case) -> Inputs {
        let (mut desired, mut links, mut held) = (vec![], vec![], HashSet::new());
        let mut shifts: Vec<(String, Content, bool)> = vec![];
        for (i, e) in c.entries.iter().enumerate() {
            let legacy = format!("L{i:02}");
            if let Some(o) = &e.ours
                && !desired.iter().any(|d: &Desired| d.content.overlaps(o))
            {
                let u: usize = o.user[1..].parse().unwrap();
                desired.push(Desired {
                    legacy: legacy.clone(),
                    mu: label(UNITS.get(c.desired_unit[u]).copied().unwrap_or("")),
                    content: o.clone(),
                });
            }
            if e.held {
                held.insert(legacy.clone());
            }
            if let Some(base) = &e.base {
                let gid = format!("g{i:02}");
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
                    shifts.push((gid, t, e.time_off));
                }
            }
        }
        for (j, (u, t)) in c.unowned.iter().enumerate() {
            shifts.push((format!("p{j}"), u.clone(), *t));
        }
        let mut answers: BTreeMap<String, BTreeMap<String, AgentView>> = UNITS
            .iter()
            .map(|m| (m.to_string(), BTreeMap::new()))
            .collect();
        for u in 0..USERS {
            if let Some(m) = c.answered_by[u] {
                let a = AgentView {
                    version: 10 + u as i64,
                    ..Default::default()
                };
                answers.get_mut(UNITS[m]).unwrap().insert(user(u), a);
            }
        }
        for (gid, s, t) in shifts {
            let u: usize = s.user[1..].parse().unwrap();
            if let Some(m) = c.answered_by[u] {
                let a = answers
                    .get_mut(UNITS[m])
                    .unwrap()
                    .get_mut(&*s.user)
                    .unwrap();
                if t {
                    a.time_off.push(gid.clone());
                }
                a.shifts.push((gid, s));
            }
        }
        // Desired shifts in legacy-id order, as the week reads them.
        desired.sort_by(|a, b| a.legacy.cmp(&b.legacy));
        Inputs {
            desired,
            links,
            held,
            answers,
            mode: if c.ours_wins {
                OnConflict::Ours
            } else {
                OnConflict::Park
            },
        }
    }

    fn header() -> WeekView {
        WeekView {
            schedule_id: "s1".into(),
            week_date: "2026-01-05".into(),
            version: 3,
            ours: true,
            ours_in_week: 1,
            agents: BTreeMap::new(),
        }
    }

    /// The week's view as `read_week` makes it: every unit's answer, in unit order.
    fn whole_view(i: &Inputs) -> WeekView {
        let mut v = header();
        for a in i.answers.values() {
            v.agents
                .extend(a.iter().map(|(u, a)| (u.clone(), a.clone())));
        }
        v
    }

    fn crosswalk() -> UserUnits {
        (0..USERS)
            .map(|u| (user(u), unit_of(u).to_string()))
            .collect::<HashMap<_, _>>()
            .into()
    }

    /// What a round's partition knows of each desired shift before reading its contents.
    fn slots(desired: &[Desired]) -> Slots {
        let mut s = Slots::default();
        for d in desired {
            s.push(&d.legacy, d.content.user.clone(), d.mu.clone());
        }
        s
    }

    /// The round's plan component by component, or `None` when an answer crossed components.
    fn partitioned(i: &Inputs, schedule: bool) -> Option<WeekPlan> {
        let mus: BTreeSet<String> = UNITS.iter().map(|m| m.to_string()).collect();
        let user_mu = crosswalk();
        let slots = slots(&i.desired);
        let store = LinkStore::of(&i.links);
        let mut part = Partition::new(&slots, &store, &mus, &user_mu);
        let mut gathered = Gathered::new(i.desired.len(), i.links.len());
        let mut update: BTreeMap<String, merge::AgentPatch> = BTreeMap::new();
        let mut import: BTreeMap<String, Vec<(String, Content)>> = BTreeMap::new();
        for c in 0..part.len() {
            let view = schedule.then(|| {
                let mut v = header();
                for m in part.mus(c) {
                    v.agents
                        .extend(i.answers[m].iter().map(|(u, a)| (u.clone(), a.clone())));
                }
                v
            });
            if let Some(v) = &view
                && !part.admit(c, &v.agents)
            {
                return None;
            }
            // The component's shifts, as a round reads them (by their week indices).
            let desired: Vec<Desired> = part
                .desired(c)
                .iter()
                .map(|&k| i.desired[k as usize].clone())
                .collect();
            let (mut plan, tags) = part.merge(c, &desired, &i.held, view.as_ref(), i.mode);
            for (u, p) in std::mem::take(&mut plan.update) {
                assert!(
                    update.insert(u.clone(), p).is_none(),
                    "{u} in two components"
                );
            }
            for (u, p) in plan.import.take().unwrap_or_default() {
                assert!(
                    import.insert(u.clone(), p).is_none(),
                    "{u} in two components"
                );
            }
            gathered.add(&mut plan, tags, &slots);
        }
        let (counts, conflicts, links, relabelled) = gathered.finish();
        Some(WeekPlan {
            import: (!import.is_empty()).then_some(import),
            update,
            links: links.iter(&slots).map(|c| c.unwrap()).collect(),
            conflicts,
            counts,
            relabelled,
        })
    }

    proptest! {
        /// Changes put in order in place are those of the stable sort of (tag, change) pairs by
        /// tag (the oracle: the sort itself), whatever the tags, repeated ones included.
        #[test]
        fn changes_gathered_in_place_are_the_stable_sort_by_tag(
                tags in proptest::collection::vec((0u8..3, 0u32..6), 0..40)) {
            let pairs: Vec<((u8, u32), usize)> = tags.iter().copied().zip(0..).collect();
            let mut sorted = pairs.clone();
            sorted.sort_by_key(|(t, _)| *t);
            let mut v: Vec<usize> = (0..tags.len()).collect();
            let mut order: Vec<u32> = (0..tags.len() as u32).collect();
            order.sort_by_key(|&i| tags[i as usize]);
            gather(&mut v, &mut order);
            prop_assert_eq!(v, sorted.into_iter().map(|(_, c)| c).collect::<Vec<_>>());
        }
    }

    proptest! {
        /// Admitting components in order answers as the checks (A) and (G) kept as maps of the
        /// component that first answered each user and shift id (the oracle, as admit was before
        /// it kept sorted hashes), up to the first refusal, after which a round falls back.
        #[test]
        fn admit_refuses_what_an_earlier_component_answered(
                comps in proptest::collection::vec(
                    proptest::collection::vec((0..8usize, proptest::collection::vec(0..12u8, 0..4)), 0..4),
                    1..6)) {
            let slots = Slots::default();
            let mus: BTreeSet<String> = BTreeSet::new();
            let store = LinkStore::new();
            let mut part = Partition::new(&slots, &store, &mus, &UserUnits::default());
            let (mut users, mut gids): (HashMap<String, usize>, HashMap<String, usize>) = Default::default();
            for (c, answers) in comps.iter().enumerate() {
                let mut agents: BTreeMap<String, AgentView> = BTreeMap::new();
                for (u, g) in answers {
                    let a = agents.entry(user(*u)).or_default();
                    a.shifts.extend(g.iter().map(|g| (format!("g{g}"), content(*u, 0, 240, 0, 0))));
                }
                let mut naive = true;
                for (u, a) in &agents {
                    if *users.entry(u.clone()).or_insert(c) != c {
                        naive = false;
                    }
                    for (g, _) in &a.shifts {
                        if *gids.entry(g.clone()).or_insert(c) != c {
                            naive = false;
                        }
                    }
                }
                prop_assert_eq!(part.admit(c, &agents), naive, "component {}", c);
                if !naive {
                    break;
                }
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4000))]

        /// The round's plan made component by component is the week's merge's plan (the oracle:
        /// `merge::merge` over the whole week): the same ops per user in the same order, the same
        /// link changes, conflicts and relabelled ids in the same order, the same counts; unless
        /// an answer crossed components, when the round falls back to that merge itself.
        #[test]
        fn a_round_by_components_is_the_weeks_merge(c in any_case()) {
            let i = inputs(&c);
            let view = c.schedule.then(|| whole_view(&i));
            let week = merge(&i.desired, &i.links, &i.held, view.as_ref(), i.mode);
            if let Some(parts) = partitioned(&i, c.schedule) {
                prop_assert_eq!(parts, week);
            }
        }
    }

    /// The test above is not vacuous: a case where every user is answered by its own unit, the
    /// export moves a linked shift to an agent of another unit (a trade) and a planner deleted one
    /// of ours, splits into more than one component and never falls back.
    #[test]
    fn a_trade_across_units_joins_them_and_merges_without_falling_back() {
        let a = content(0, 1, 240, 0, 0); // u0, unit m0
        let traded = content(1, 1, 240, 0, 0); // the same shift, now u1's (m1)
        let kept = content(2, 2, 240, 0, 0); // u2 (m2), untouched
        let gone = content(2, 3, 240, 0, 0);
        let c = Case {
            entries: vec![
                Entry {
                    ours: Some(traded.clone()),
                    base: Some(Some(a.clone())),
                    theirs: Theirs::Base,
                    held: false,
                    time_off: false,
                },
                Entry {
                    ours: Some(kept.clone()),
                    base: Some(Some(kept.clone())),
                    theirs: Theirs::Base,
                    held: false,
                    time_off: false,
                },
                Entry {
                    ours: Some(gone.clone()),
                    base: Some(Some(gone.clone())),
                    theirs: Theirs::Gone,
                    held: false,
                    time_off: false,
                },
            ],
            unowned: vec![],
            desired_unit: (0..USERS).map(|u| u % 3).collect(),
            answered_by: (0..USERS).map(|u| Some(u % 3)).collect(),
            schedule: true,
            ours_wins: false,
        };
        let i = inputs(&c);
        let mus: BTreeSet<String> = UNITS.iter().map(|m| m.to_string()).collect();
        let slots = slots(&i.desired);
        let store = LinkStore::of(&i.links);
        let part = Partition::new(&slots, &store, &mus, &crosswalk());
        // {m0, m1} joined by the trade, {m2}, and the shifts without a unit.
        assert_eq!(part.len(), 3);
        assert_eq!(part.mus(0), ["m0", "m1"]);
        let parts = partitioned(&i, true).expect("no answer crosses components");
        let week = merge(&i.desired, &i.links, &i.held, Some(&whole_view(&i)), i.mode);
        assert_eq!(parts, week);
        // The trade is a delete under u0 and an add under u1, never a second copy.
        assert_eq!(parts.update["u0"].ops, [Op::Delete { gid: "g00".into() }]);
        assert!(matches!(&parts.update["u1"].ops[..], [Op::Add { .. }]));
        assert_eq!((parts.counts.noop, parts.counts.kept_theirs), (1, 1));
    }

    /// A planner moved one of our linked shifts to an agent of an unrelated unit: the component
    /// of its link would treat it as gone (and add it again); the answer that holds it fails the
    /// check, so the round falls back to the week's merge.
    #[test]
    fn a_linked_shift_answered_by_another_component_falls_back() {
        let a = content(0, 1, 240, 0, 0); // u0, m0
        let moved = content(2, 1, 240, 0, 0); // now under u2, m2
        let c = Case {
            entries: vec![Entry {
                ours: Some(content(0, 1, 300, 0, 0)),
                base: Some(Some(a.clone())),
                theirs: Theirs::Other(moved),
                held: false,
                time_off: false,
            }],
            unowned: vec![],
            desired_unit: (0..USERS).map(|u| u % 3).collect(),
            answered_by: (0..USERS).map(|u| Some(u % 3)).collect(),
            schedule: true,
            ours_wins: true,
        };
        let i = inputs(&c);
        assert_eq!(partitioned(&i, true), None);
    }
}
