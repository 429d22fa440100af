//! Pass 2: shifts by agent, one agent's shifts at a time sorted by their resolved UTC instants:
//! `shift-overlap` (one finding per pair, on the later-starting shift) and `deactivated-agent`.

use super::{Env, included, opt_str};
use crate::config::Severity;
use crate::error::Result;
use crate::report::{Finding, week_of};
use crate::timeval::{self, TimeVal};
use rusqlite::Connection;

/// One shift of an agent in the overlap pass.
struct Item {
    start: i64,
    end: i64,
    file_id: i64,
    line: i64,
    id: String,
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
        let same = match r {
            Some(r) => opt_str(r, 3)?.unwrap_or_default() == agent,
            None => false,
        };
        if !same {
            agent_done(env, &agent, &mut items);
        }
        let Some(r) = r else { break };
        if !same {
            agent.clear();
            agent.push_str(opt_str(r, 3)?.unwrap_or_default());
            agent_zone = env.agents.get(&agent).map(|a| a.zone);
        }
        let published: Option<i64> = r.get(8)?;
        if !included(env.cfg, published) {
            continue;
        }
        let (fa, fb) = crate::timeval::split_fmt(r.get(6)?);
        let sv = TimeVal {
            secs: r.get(4)?,
            fmt: fa,
        };
        let ev = TimeVal {
            secs: r.get(5)?,
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
            file_id: r.get(0)?,
            line: r.get(1)?,
            id: {
                let mut id = String::new();
                crate::extract::stage::push_shift_id(r.get_ref(2)?, &mut id)?;
                id
            },
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
    let mut seen = std::collections::HashSet::new();
    let replaced: std::collections::HashSet<String> = items
        .iter()
        .filter(|i| i.draft)
        .filter_map(|i| i.parent.clone())
        .collect();
    items.retain(|i| !replaced.contains(&i.id) && seen.insert(i.id.clone()));

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
            f.record_id = Some(x.id.clone());
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
