//! Pass 2: shifts by agent, one agent's shifts at a time sorted by their resolved UTC instants:
//! `shift-overlap` (one finding per pair, on the later-starting shift) and `deactivated-agent`.

use super::{Env, included, opt_str};
use crate::config::Severity;
use crate::error::Result;
use crate::report::{Finding, week_of};
use crate::timeval::{self, TimeVal};
use rusqlite::Connection;
use rusqlite::types::ValueRef;
use rustc_hash::FxHashSet;
use std::fmt;

/// A shift id as the overlap pass keeps it: a canonical lowercase UUID as its 16 bytes (as the
/// snapshot keeps it: no text is spelled for the shifts that raise no finding), any other id as
/// its text. Two ids are equal exactly when their texts are (a packed id's text is canonical, and
/// a text id that is canonical is packed too), so the pass can compare and hash them as they are.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum ShiftId {
    Packed([u8; 16]),
    Text(String),
}

impl ShiftId {
    /// The id of a `shift_rows` value (a 16-byte BLOB or a TEXT, as `push_shift_id` reads it).
    fn read(v: ValueRef<'_>) -> rusqlite::Result<ShiftId> {
        match v {
            ValueRef::Blob(b) => Ok(ShiftId::Packed(*crate::extract::stage::packed_shift_id(b)?)),
            v => Ok(ShiftId::of_text(v.as_str()?)),
        }
    }

    /// The id whose text is `s`.
    fn of_text(s: &str) -> ShiftId {
        match crate::store::uuid16::pack(s) {
            Some(p) => ShiftId::Packed(p),
            None => ShiftId::Text(s.to_string()),
        }
    }
}

/// The id's text.
impl fmt::Display for ShiftId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ShiftId::Packed(p) => {
                let mut s = String::with_capacity(36);
                crate::store::uuid16::push_unpacked(p, &mut s);
                f.write_str(&s)
            }
            ShiftId::Text(s) => f.write_str(s),
        }
    }
}

/// One shift of an agent in the overlap pass.
struct Item {
    start: i64,
    end: i64,
    file_id: i64,
    line: i64,
    id: ShiftId,
    parent: Option<String>,
    draft: bool,
    sv: TimeVal,
    ev: TimeVal,
    field: &'static str,
}

/// The shifts, one agent's after another.
const BY_AGENT: &str =
    "SELECT file_id, line, shift_id, agent_id, start, end, fmt, timezone, published, parent_id
     FROM shift_rows ORDER BY agent_id";

/// Pass 2: shifts by agent (the index `shifts_by_agent`, over the agent id alone: an agent's
/// shifts come in file order and [`agent_done`] sorts them by their instants, file and line, which
/// tell every two shifts apart).
pub fn check_overlaps(env: &mut Env<'_>, snap: &Connection) -> Result<()> {
    use crate::extract::stage::{int_column, opt_int_column};
    let mut st = snap.prepare(BY_AGENT)?;
    let mut rows = st.query([])?;
    let mut agent = String::new();
    // The agent's zone (`None`: not an agent of the export), looked up once per agent.
    let mut agent_zone = None;
    let mut items: Vec<Item> = Vec::new();
    let policy = env.cfg.dst_ambiguous;
    let progress = env.progress.clone();
    let mut tally = super::super::Tally::new(&progress);
    loop {
        let r = rows.next()?;
        if r.is_some() {
            tally.tick();
        }
        let this_agent = match r {
            Some(r) => Some(opt_str(r, 3)?.unwrap_or_default()),
            None => None,
        };
        let same = this_agent == Some(agent.as_str());
        if !same {
            agent_done(env, &agent, &mut items);
        }
        let (Some(r), Some(this_agent)) = (r, this_agent) else {
            break;
        };
        if !same {
            agent.clear();
            agent.push_str(this_agent);
            agent_zone = env.agents.get(&agent).map(|a| a.zone);
        }
        let published = opt_int_column(r, 8)?;
        if !included(env.cfg, published) {
            continue;
        }
        let (fa, fb) = crate::timeval::split_fmt(int_column(r, 6)?);
        let sv = TimeVal {
            secs: int_column(r, 4)?,
            fmt: fa,
        };
        let ev = TimeVal {
            secs: int_column(r, 5)?,
            fmt: fb,
        };
        let own = env.zones.sel(opt_str(r, 7)?);
        let zone = env.zone_of(own, agent_zone);
        let (Some(a), Some(b)) = (
            env.zones.instant(zone, sv, policy),
            env.zones.instant(zone, ev, policy),
        ) else {
            continue;
        };
        if b <= a {
            continue;
        }
        items.push(Item {
            start: a,
            end: b,
            file_id: int_column(r, 0)?,
            line: int_column(r, 1)?,
            id: ShiftId::read(r.get_ref(2)?)?,
            parent: r.get(9)?,
            draft: published == Some(0),
            sv,
            ev,
            field: sv.column(true),
        });
    }
    Ok(())
}

fn agent_done(env: &mut Env<'_>, agent: &str, items: &mut Vec<Item>) {
    if items.is_empty() {
        return;
    }
    items.sort_by_key(|x| (x.start, x.file_id, x.line));
    // A repeated shift id is one shift (its duplicate/conflict is reported by pass 1); a draft edit
    // replaces its parent.
    dedup(items);

    let info = env.agents.get(agent).cloned();
    if let Some(info) = &info
        && info.deactivated
        && let Some(fut) = items.iter().find(|i| i.start > env.extracted_at)
    {
        let n = items.iter().filter(|i| i.start > env.extracted_at).count();
        let mut f = Finding::new(
            "deactivated-agent",
            Severity::Warning,
            format!(
                "agent `{agent}` is deactivated but owns {n} shift{} after the export (the first: `{}` at {})",
                if n == 1 { "" } else { "s" },
                fut.id,
                timeval::render(fut.sv)
            ),
        );
        f.file = env.file(info.file_id);
        f.line = Some(info.line as u64);
        f.record_id = Some(agent.to_string());
        f.field = Some("deactivated".into());
        f.value = Some("true".into());
        f.help = "reassign or delete the agent's future shifts in Zendesk before the export, or reactivate the agent".into();
        env.sink.push(f);
    }

    // Sweep: every earlier shift still running when this one starts overlaps it.
    let mut active: Vec<usize> = Vec::new();
    for i in 0..items.len() {
        active.retain(|&j| items[j].end > items[i].start);
        for &j in &active {
            let (x, y) = (&items[i], &items[j]);
            let mut f = Finding::new(
                "shift-overlap",
                Severity::Error,
                format!(
                    "shift `{}` ({} → {}) of agent `{agent}` overlaps its shift `{}` ({} → {}, {}:{}); the later-starting one is held back",
                    x.id,
                    timeval::render(x.sv),
                    timeval::render(x.ev),
                    y.id,
                    timeval::render(y.sv),
                    timeval::render(y.ev),
                    env.file(y.file_id).unwrap_or_default(),
                    y.line
                ),
            );
            f.file = env.file(x.file_id);
            f.line = Some(x.line as u64);
            f.record_id = Some(x.id.to_string());
            f.field = Some(x.field.into());
            f.value = Some(timeval::render(x.sv));
            f.help = format!(
                "remove or shorten one of `{}` and `{}` in the export",
                y.id, x.id
            );
            f.week = Some(week_of(x.start));
            env.sink.push(f);
        }
        active.push(i);
    }
    items.clear();
}

/// Keep the first of each shift id (in the items' order), and no shift a draft edit among them
/// replaces (its `parent`).
fn dedup(items: &mut Vec<Item>) {
    let replaced: FxHashSet<ShiftId> = items
        .iter()
        .filter(|i| i.draft)
        .filter_map(|i| i.parent.as_deref().map(ShiftId::of_text))
        .collect();
    let mut seen: FxHashSet<&ShiftId> = FxHashSet::default();
    seen.reserve(items.len());
    let keep: Vec<bool> = items
        .iter()
        .map(|i| !replaced.contains(&i.id) && seen.insert(&i.id))
        .collect();
    drop(seen);
    let mut keep = keep.into_iter();
    items.retain(|_| keep.next().expect("a flag for every item"));
}

#[cfg(test)]
mod tests {
    /// The pass walks the snapshot's index by agent: no sort of the shifts.
    #[test]
    fn shifts_by_agent_come_from_the_index_without_a_sort() {
        let c = rusqlite::Connection::open_in_memory().unwrap();
        c.execute_batch(&crate::extract::stage::SCHEMA).unwrap();
        c.execute_batch(crate::extract::stage::SHIFT_INDEXES)
            .unwrap();
        let plan: Vec<String> = c
            .prepare(&format!("EXPLAIN QUERY PLAN {}", super::BY_AGENT))
            .unwrap()
            .query_map([], |r| r.get(3))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert!(
            plan.iter()
                .any(|p| p.contains("USING INDEX shifts_by_agent"))
                && !plan.iter().any(|p| p.contains("TEMP B-TREE")),
            "{plan:?}"
        );
    }
}

#[cfg(test)]
mod dedup_tests {
    use super::*;
    use proptest::prelude::*;

    /// Ids that collide in every way the forms allow: canonical UUIDs (packed when read from a
    /// BLOB or from text), the same in upper case or braces (kept as text), short ids, the empty id.
    fn id_text() -> impl Strategy<Value = String> {
        prop_oneof![
            (0u8..4).prop_map(|n| format!("0e1f2a3b-0000-4000-8000-00000000000{n}")),
            (0u8..2).prop_map(|n| format!("0E1F2A3B-0000-4000-8000-00000000000{n}")),
            (0u8..2).prop_map(|n| format!("{{0e1f2a3b-0000-4000-8000-00000000000{n}}}")),
            (0u8..3).prop_map(|n| format!("S{n}")),
            Just(String::new()),
        ]
    }

    fn item(id: ShiftId, parent: Option<String>, draft: bool) -> Item {
        let t = TimeVal { secs: 0, fmt: 0 };
        Item {
            start: 0,
            end: 1,
            file_id: 1,
            line: 1,
            id,
            parent,
            draft,
            sv: t,
            ev: t,
            field: "start",
        }
    }

    proptest! {
        /// `dedup` keeps what the pass kept with a set of the ids' texts: the first of each id,
        /// and no shift a draft's parent names.
        #[test]
        fn dedup_keeps_what_a_set_of_texts_keeps(
            rows in proptest::collection::vec(
                (id_text(), any::<bool>(), proptest::option::of(id_text()), any::<bool>()), 0..24)
        ) {
            let mut items: Vec<Item> = rows.iter().map(|(id, blob, parent, draft)| {
                let packed = crate::store::uuid16::pack(id);
                let v = match (blob, &packed) {
                    (true, Some(p)) => ShiftId::read(ValueRef::Blob(p)).unwrap(),
                    _ => ShiftId::read(ValueRef::Text(id.as_bytes())).unwrap(),
                };
                prop_assert_eq!(v.to_string(), id.clone());
                Ok(item(v, parent.clone(), *draft))
            }).collect::<Result<_, TestCaseError>>()?;
            // The model: the pass's former code, over the texts.
            let mut seen = std::collections::HashSet::new();
            let replaced: std::collections::HashSet<String> = rows
                .iter()
                .filter(|r| r.3)
                .filter_map(|r| r.2.clone())
                .collect();
            let want: Vec<String> = rows
                .iter()
                .map(|r| r.0.clone())
                .filter(|id| !replaced.contains(id) && seen.insert(id.clone()))
                .collect();
            dedup(&mut items);
            let got: Vec<String> = items.iter().map(|i| i.id.to_string()).collect();
            prop_assert_eq!(got, want);
        }
    }

    #[test]
    fn a_packed_id_of_another_length_is_an_error() {
        assert!(ShiftId::read(ValueRef::Blob(&[0u8; 15])).is_err());
        assert!(ShiftId::read(ValueRef::Blob(&[0u8; 17])).is_err());
    }
}
