//! One shift id mapped: its owner (after the pending-trade policy), user, units, week, instants
//! (each value resolved in its row's zone under the DST policy, findings for what cannot be),
//! length and activities, or the reason it is held back.

use super::pipeline::{ShiftRow, TaskRow};
use super::{AgentContexts, BuInfo, Finding, core};
use crate::config::{Config, DstPolicy, Severity};
use crate::store::desired::{Kinds, activities_compact_into};
use crate::timeval::dst::{self, TimeIssue};
use crate::timeval::zone::{Zones, zone_name};
use crate::timeval::{self, TimeVal};
use chrono_tz::Tz;
use core::TaskIn;
use rustc_hash::FxHashMap;
use std::collections::HashMap;

/// Read-only context of the shift loop.
pub(super) struct Shared<'a> {
    pub(super) cfg: &'a Config,
    pub(super) files: &'a HashMap<i64, String>,
    pub(super) agent_idx: &'a AgentIdx,
    pub(super) agents: &'a AgentContexts,
    pub(super) bus: &'a FxHashMap<String, BuInfo>,
    /// Each agent's business unit in `bus` (by agent index; `None`: no unit, an agent issue, or
    /// a unit `bus` lacks), looked up once instead of once a shift.
    pub(super) agent_bus: &'a [Option<&'a BuInfo>],
    pub(super) overrides: &'a HashMap<String, String>,
    pub(super) default_tz: Option<&'a str>,
    /// Where the reading thread counts the shift rows read (a progress display).
    pub(super) progress: &'a crate::ui::Counter,
}

/// Agent ids to their index in the export's agents (the one index of them: built by
/// `read_export`, asked for every shift's owner). Ids of up to 16 bytes are kept inline in the
/// table, so a look-up reads one place in memory (with the ids' own strings the key comparison
/// was a cache miss on shifts in random agent order: 0.6 s of the mapper's CPU on the long-id
/// whole export), as 24 bytes and the index as 4; longer ids are kept as texts.
#[derive(Default)]
pub(super) struct AgentIdx {
    short: FxHashMap<(u64, u64, u8), u32>,
    long: FxHashMap<Box<str>, u32>,
}

impl AgentIdx {
    fn key(id: &str) -> Option<(u64, u64, u8)> {
        crate::store::inline_key(id).map(|(k, n)| (k as u64, (k >> 64) as u64, n))
    }

    /// The index of agent `id`.
    pub(super) fn get(&self, id: &str) -> Option<usize> {
        match Self::key(id) {
            Some(k) => self.short.get(&k),
            None => self.long.get(id),
        }
        .map(|&i| i as usize)
    }

    /// Agent `id` is at index `i` (an id already held keeps its index).
    pub(super) fn insert(&mut self, id: &str, i: usize) {
        let i = u32::try_from(i).expect("fewer than 4 billion agents");
        match Self::key(id) {
            Some(k) => {
                self.short.entry(k).or_insert(i);
            }
            None => {
                if !self.long.contains_key(id) {
                    self.long.insert(id.into(), i);
                }
            }
        }
    }
}

/// The desired row of one shift. Texts that every shift of an agent shares are borrowed from the
/// mapping context, not copied per shift.
pub(super) struct Desired<'a> {
    /// The owner when a pending-trade policy changed it (else the exported agent).
    pub(super) owner_override: Option<&'a str>,
    /// The owner's index in the agents (`None`: not an agent of the export): the owner, user and
    /// units of every shift with one index are the same names.
    pub(super) owner: Option<usize>,
    pub(super) user_id: Option<&'a str>,
    pub(super) bu: Option<&'a str>,
    pub(super) mu: Option<&'a str>,
    pub(super) week: Option<chrono::NaiveDate>,
    pub(super) start: Option<i64>,
    pub(super) length: Option<i64>,
    /// The stored text of the activities ([`activities_compact_into`]'s; the content hash
    /// covered their JSON, built in the mapper's buffer and not kept).
    pub(super) activities: String,
    /// The task ids `activities` writes `#`, 16 bytes each.
    pub(super) task_uuids: Vec<u8>,
    pub(super) n_activities: u64,
    pub(super) held_back: Option<&'static str>,
    pub(super) hash: i64,
}

/// Resolve one value of a row; push a finding for a DST problem.
#[allow(clippy::too_many_arguments)]
pub(super) fn resolve_field(
    v: TimeVal,
    tz: Result<Tz, TimeIssue>,
    tz_name: Option<&str>,
    policy: DstPolicy,
    file: Option<&String>,
    line: i64,
    record: &str,
    field: &'static str,
    sink: &mut Vec<Finding>,
    offsets: &mut timeval::OffsetCache,
) -> std::result::Result<i64, TimeIssue> {
    let r = dst::resolve_value_with(v, tz, policy, |tz, n| offsets.resolve(tz, n));
    if let Some(d) = dst::finding(v, tz_name.unwrap_or("?"), &r, policy) {
        sink.push(Finding {
            rule: d.rule,
            severity: d.severity,
            file: file.cloned(),
            line: Some(line as u64),
            record_id: Some(record.to_string()),
            field: Some(field),
            value: Some(timeval::render(v)),
            timezone: tz_name.map(str::to_string),
            candidates: d.candidates,
            message: d.message,
            help: d.help,
        });
    }
    r.map(|i| i.utc)
}

/// Buffers of the mapping thread, reused from shift to shift.
#[derive(Default)]
pub(super) struct Scratch {
    /// The activities' JSON, which only the content hash needs.
    json: String,
    /// Each task's instants in UTC, or `None` when one cannot be resolved.
    task_times: Vec<Option<(i64, i64)>>,
}

/// Map one shift id (its rows `group` and its tasks) to its desired row, content hash included;
/// its stored activities are written into `activities` and `task_uuids` (buffers handed back by
/// the writer).
#[allow(clippy::too_many_arguments)]
pub(super) fn map_shift<'a>(
    sh: &Shared<'a>,
    group: &[ShiftRow],
    tasks: &[TaskRow],
    zones: &mut Zones,
    kinds: &mut Kinds,
    sink: &mut Vec<Finding>,
    scratch: &mut Scratch,
    (mut activities, mut task_uuids): (String, Vec<u8>),
) -> Desired<'a> {
    let Scratch { json, task_times } = scratch;
    let s = &group[0];
    let policy = sh.cfg.dst_ambiguous;
    let owner_override = sh.overrides.get(&s.shift_id).map(String::as_str);
    let owner = owner_override.unwrap_or(&s.agent_id);
    let owner_i = sh.agent_idx.get(owner);
    let agent = owner_i.map(|i| sh.agents.get(i));
    let mut held: Option<&'static str> = None;
    let mut hold = |r: &'static str| {
        if held.is_none() {
            held = Some(r);
        }
    };
    if group.len() > 1 && group.iter().any(|g| !g.same_content(s)) {
        hold("conflicting-shift-id");
    }
    match agent.and_then(|a| a.issue) {
        Some(i) => hold(i.rule()),
        None if agent.is_none() => hold("unmapped-agent"),
        None => {}
    }
    // Zone chain: row → agent → location → default.
    let zone = zone_name(
        s.timezone.as_deref(),
        agent.and_then(|a| a.tz),
        agent.and_then(|a| a.location_tz),
        sh.default_tz,
    );
    let tz = zones.tz_named(zone.map(|z| z.0));
    let tz_name = zone.map(|z| z.0);
    let file = sh.files.get(&s.file_id);
    let (sv, ev) = TimeVal::start_end(s.start, s.end, s.fmt);
    let start = resolve_field(
        sv,
        tz,
        tz_name,
        policy,
        file,
        s.line,
        &s.shift_id,
        sv.column(true),
        sink,
        &mut zones.offsets,
    );
    let end = resolve_field(
        ev,
        tz,
        tz_name,
        policy,
        file,
        s.line,
        &s.shift_id,
        ev.column(false),
        sink,
        &mut zones.offsets,
    );
    task_times.clear();
    // The tasks' file: nearly always one for all of them, looked up once (`files` hashes with
    // SipHash: ~100 instructions a look-up, 455,000 tasks at a tenth of the benchmark export).
    let mut task_file: Option<(i64, Option<&String>)> = None;
    for t in tasks {
        let tf = match task_file {
            Some((id, f)) if id == t.file_id => f,
            _ => {
                let f = sh.files.get(&t.file_id);
                task_file = Some((t.file_id, f));
                f
            }
        };
        let rid = t.task_id().unwrap_or(&s.shift_id);
        let (a, b) = TimeVal::start_end(t.start, t.end, t.fmt);
        let ta = resolve_field(
            a,
            tz,
            tz_name,
            policy,
            tf,
            t.line,
            rid,
            a.column(true),
            sink,
            &mut zones.offsets,
        );
        let tb = resolve_field(
            b,
            tz,
            tz_name,
            policy,
            tf,
            t.line,
            rid,
            b.column(false),
            sink,
            &mut zones.offsets,
        );
        task_times.push(match (ta, tb) {
            (Ok(a), Ok(b)) => Some((a, b)),
            (Err(e), _) | (_, Err(e)) => {
                hold(issue_reason(e));
                None
            }
        });
    }
    let (start, end) = match (start, end) {
        (Ok(a), Ok(b)) => (Some(a), Some(b)),
        (Err(e), _) | (_, Err(e)) => {
            hold(issue_reason(e));
            (None, None)
        }
    };
    let mut week = None;
    let mut length = None;
    activities.clear();
    task_uuids.clear();
    json.clear();
    json.push_str("[]");
    let mut n_activities = 0;
    let usable = agent.filter(|a| a.issue.is_none());
    let bu = usable.and_then(|a| a.business_unit_id);
    let bu_info = owner_i.and_then(|i| sh.agent_bus[i]);
    debug_assert_eq!(
        bu_info.map(|b| b as *const BuInfo),
        bu.and_then(|b| sh.bus.get(b)).map(|b| b as *const BuInfo)
    );
    if let (Some(a), Some(b)) = (start, end) {
        if b <= a {
            hold("shift-end-before-start");
        } else if a % 60 != 0 || b % 60 != 0 || sv.has_sub_minute() || ev.has_sub_minute() {
            hold("sub-minute-time");
        } else {
            length = Some((b - a) / 60);
        }
        if let Some(info) = bu_info {
            week = Some(core::week_id_with(a, info.tz, info.start_day, |tz, u| {
                zones.offsets.to_local(tz, u)
            }));
        }
    }
    if let (Some(a), Some(b), Some(info)) = (start, end, bu_info)
        && length.is_some()
        && task_times.iter().all(Option::is_some)
    {
        let tin: Vec<TaskIn<'_>> = tasks
            .iter()
            .zip(task_times.iter())
            .map(|(t, tt)| {
                let (ts, te) = tt.expect("checked above");
                TaskIn {
                    task_id: t.task_id(),
                    task_uuid: t.task_uuid(),
                    name: &t.name,
                    start: ts,
                    end: te,
                    code: info.codes.get(&t.name).map(String::as_str),
                }
            })
            .collect();
        let default = info.default.as_ref().map(|(c, n)| (c.as_str(), n.as_str()));
        match core::build_activities(a, b, &tin, default) {
            Ok(acts) => {
                n_activities = acts.len() as u64;
                activities.reserve(acts.len() * 10);
                let stored = (&mut activities, &mut task_uuids);
                activities_compact_into(&acts, a, kinds, json, stored);
                if acts.iter().any(|x| x.start % 60 != 0) {
                    hold("sub-minute-time");
                }
            }
            Err(issues) => {
                let tf = (tasks, tin.as_slice());
                if let Some(r) = activity_findings(sh, s, tf, (a, b), (bu, tz_name), issues, sink) {
                    hold(r);
                }
            }
        }
    }
    let user_id = usable.and_then(|a| a.user_id);
    let mu = usable.and_then(|a| a.management_unit_id);
    let mut d = Desired {
        owner_override,
        owner: owner_i,
        user_id,
        bu,
        mu,
        week,
        start,
        length,
        activities,
        task_uuids,
        n_activities,
        held_back: held,
        hash: 0,
    };
    d.hash = content_hash(&d, &s.agent_id, json);
    d
}

/// The findings of a shift whose activities could not be built — each task outside the shift or
/// without an activity code, and the first part no task covers when no default activity applies —
/// and the reason to hold it back (the first issue's).
fn activity_findings(
    sh: &Shared<'_>,
    s: &ShiftRow,
    (tasks, tin): (&[TaskRow], &[TaskIn<'_>]),
    (a, b): (i64, i64),
    (bu, tz_name): (Option<&str>, Option<&str>),
    issues: Vec<core::ActivityIssue>,
    sink: &mut Vec<Finding>,
) -> Option<&'static str> {
    let mut first = None;
    let gaps = issues
        .iter()
        .filter(|i| matches!(i, core::ActivityIssue::Uncovered { .. }))
        .count();
    let mut gap_reported = false;
    for i in issues {
        let f = match i {
            core::ActivityIssue::TaskOutside(k) => {
                first.get_or_insert("task-outside-shift");
                let t = &tasks[k];
                Finding {
                    rule: "task-outside-shift",
                    severity: Severity::Error,
                    file: sh.files.get(&t.file_id).cloned(),
                    line: Some(t.line as u64),
                    record_id: Some(t.task_id().unwrap_or(&s.shift_id).to_string()),
                    field: None,
                    value: Some(t.name.clone()),
                    timezone: tz_name.map(str::to_string),
                    candidates: vec![],
                    message: format!(
                        "task `{}` ({} – {}) does not lie inside shift `{}` ({} – {}); the shift is held back",
                        t.name,
                        timeval::utc_string(tin[k].start),
                        timeval::utc_string(tin[k].end),
                        s.shift_id,
                        timeval::utc_string(a),
                        timeval::utc_string(b)
                    ),
                    help: "correct the task's or the shift's times in the export".into(),
                }
            }
            core::ActivityIssue::Unmapped(k) => {
                first.get_or_insert("unmapped-activity");
                let t = &tasks[k];
                Finding {
                    rule: "unmapped-activity",
                    severity: Severity::Error,
                    file: sh.files.get(&t.file_id).cloned(),
                    line: Some(t.line as u64),
                    record_id: Some(t.task_id().unwrap_or(&s.shift_id).to_string()),
                    field: Some("name"),
                    value: Some(t.name.clone()),
                    timezone: None,
                    candidates: vec![],
                    message: format!(
                        "task `{}` has no Genesys activity code in business unit `{}`; the shift is held back",
                        t.name,
                        bu.unwrap_or_default()
                    ),
                    help: format!(
                        "add `{}` to mappings/activities.csv (exact, case-sensitive name)",
                        t.name
                    ),
                }
            }
            core::ActivityIssue::Uncovered { start: ua, end: ub } => {
                first.get_or_insert("unmapped-activity");
                // One finding per shift row, naming the first uncovered part.
                if gap_reported {
                    continue;
                }
                gap_reported = true;
                Finding {
                    rule: "unmapped-activity",
                    severity: Severity::Error,
                    file: sh.files.get(&s.file_id).cloned(),
                    line: Some(s.line as u64),
                    record_id: Some(s.shift_id.clone()),
                    field: None,
                    value: None,
                    timezone: None,
                    candidates: vec![],
                    message: format!(
                        "{} – {} of shift `{}`{} is covered by no task and no default activity applies in business unit `{}`; the shift is held back",
                        timeval::utc_string(ua),
                        timeval::utc_string(ub),
                        s.shift_id,
                        if gaps > 1 {
                            format!(" (and {} more parts)", gaps - 1)
                        } else {
                            String::new()
                        },
                        bu.unwrap_or_default()
                    ),
                    help: match &sh.cfg.default_activity {
                        Some(n) => format!(
                            "map the default activity `{n}` in mappings/activities.csv (zendesk_task_name = `{n}`)"
                        ),
                        None => "set `default_activity` in zd2gc.toml".into(),
                    },
                }
            }
        };
        sink.push(f);
    }
    first
}

/// The content hash of a desired row (`desired_shifts.content_hash`): what a re-run compares;
/// `activities_json` is the JSON of its activities ([`activities_compact_into`]'s).
pub(super) fn content_hash(d: &Desired<'_>, exported_agent_id: &str, activities_json: &str) -> i64 {
    let mut week = [0u8; 10];
    let week = d.week.map(|w| timeval::date_str(w, &mut week));
    core::row_hash(&core::RowContent {
        agent_id: d.owner_override.unwrap_or(exported_agent_id),
        exported_agent_id,
        user_id: d.user_id,
        business_unit_id: d.bu,
        management_unit_id: d.mu,
        week_id: week.as_deref(),
        start_utc: d.start,
        length_minutes: d.length,
        activities: activities_json,
        held_back_reason: d.held_back,
    })
}

pub(super) fn issue_reason(e: TimeIssue) -> &'static str {
    match e {
        TimeIssue::NoZone => "missing-timezone",
        TimeIssue::UnknownZone => "unknown-timezone",
        TimeIssue::Ambiguous(..) => "dst-ambiguous",
        TimeIssue::Nonexistent => "dst-nonexistent",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The index gives what a map of the ids gives, for ids that differ only past their bytes
    /// (trailing NULs), at 16 and 17 bytes, multi-byte text, ids inserted twice and ids it does
    /// not hold.
    #[test]
    fn agent_idx_gives_what_the_map_gives() {
        let held = [
            "",
            "a",
            "a\0",
            "\0",
            "360000008005",
            "0123456789abcdef",
            "0123456789abcdefg",
            "0123456789abcdeg",
            "\u{e9}t\u{e9}",
            "e\u{301}te\u{301}",
            "A1 ",
        ];
        let mut idx: FxHashMap<String, usize> = FxHashMap::default();
        let mut look = AgentIdx::default();
        // Each id twice: the first index stays.
        for (i, k) in held.iter().chain(held.iter()).enumerate() {
            idx.entry(k.to_string()).or_insert(i);
            look.insert(k, i);
        }
        let asked = held.iter().copied().chain([
            "a\0\0",
            "A1",
            "0123456789abcde",
            "0123456789abcdefh",
            "\u{e9}t\u{e9}\0",
            "b",
        ]);
        for id in asked {
            assert_eq!(look.get(id), idx.get(id).copied(), "{id:?}");
        }
    }
}
