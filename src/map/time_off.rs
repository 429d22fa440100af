//! Time off: each exported time-off request → its Genesys form (docs/genesys-contract.md, "Time
//! off") in `desired_time_off`, the crosswalk `xw_time_off` (history included), and the time-off
//! rules of docs/validation-report.md as map findings at the time_off file's line.
//!
//! A full-day request is a run of calendar dates: they are taken as written (or, for an absolute
//! start and end, as the dates in the agent's zone) and never shifted, so a full day on a DST
//! Sunday is one day like any other. A partial-day request is instants: its local start and end
//! are resolved in the row's zone (row → agent → location → default) under the DST policy, and a
//! request longer than a day has one start per local day, each resolved the same way.

use super::core;
use super::{AgentContexts, BuInfo, Finding, resolve_field};
use crate::config::Config;
use crate::timeval::dst::TimeIssue;
use crate::timeval::zone::{Zones, zone_name};
use crate::timeval::{self, Resolved, TimeVal, fmt};
use chrono::NaiveDate;
use chrono_tz::Tz;
use rustc_hash::FxHashMap;
use std::collections::HashMap;

/// One staged row of the time_off file.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub file_id: i64,
    pub line: i64,
    pub id: String,
    pub agent_id: String,
    pub start: i64,
    pub end: i64,
    pub fmt: i64,
    pub status: String,
    pub reason: Option<String>,
    pub full_day: Option<bool>,
    pub dates: bool,
    pub paid: Option<bool>,
    pub minutes: Option<i64>,
    pub notes: Option<String>,
    pub timezone: Option<String>,
}

impl Row {
    /// Same request content (everything but where it was read).
    fn same_content(&self, o: &Row) -> bool {
        (
            &self.agent_id,
            self.start,
            self.end,
            self.fmt,
            &self.status,
            &self.reason,
            self.full_day,
            self.dates,
            self.paid,
            self.minutes,
            &self.notes,
            &self.timezone,
        ) == (
            &o.agent_id,
            o.start,
            o.end,
            o.fmt,
            &o.status,
            &o.reason,
            o.full_day,
            o.dates,
            o.paid,
            o.minutes,
            &o.notes,
            &o.timezone,
        )
    }
    fn start_val(&self) -> TimeVal {
        TimeVal::start_end(self.start, self.end, self.fmt).0
    }
    fn end_val(&self) -> TimeVal {
        TimeVal::start_end(self.start, self.end, self.fmt).1
    }
    fn is_full_day(&self) -> bool {
        self.dates || self.full_day == Some(true)
    }
}

/// Read the staged requests, ordered by id and then by file position (first occurrence first).
pub fn read(snap: &rusqlite::Connection) -> crate::error::Result<Vec<Row>> {
    let mut st = snap.prepare(
        "SELECT file_id, line, time_off_request_id, agent_id, start, end, fmt, status, reason,
                full_day, dates, paid, minutes_per_day, notes, timezone
         FROM time_off ORDER BY time_off_request_id, file_id, line",
    )?;
    let rows = st
        .query_map([], |r| {
            Ok(Row {
                file_id: r.get(0)?,
                line: r.get(1)?,
                id: r.get(2)?,
                agent_id: r.get(3)?,
                start: r.get(4)?,
                end: r.get(5)?,
                fmt: r.get(6)?,
                status: r.get::<_, Option<String>>(7)?.unwrap_or_default(),
                reason: r.get(8)?,
                full_day: r.get::<_, Option<i64>>(9)?.map(|v| v != 0),
                dates: r.get::<_, i64>(10)? != 0,
                paid: r.get::<_, Option<i64>>(11)?.map(|v| v != 0),
                minutes: r.get(12)?,
                notes: r.get(13)?,
                timezone: r.get(14)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

/// The desired Genesys form of one request (a row of `desired_time_off`).
#[derive(Debug, Clone, PartialEq)]
pub struct Desired {
    pub id: String,
    pub file: Option<String>,
    pub line: i64,
    pub agent_id: String,
    pub user_id: String,
    pub management_unit_id: String,
    pub business_unit_id: String,
    pub activity_code_id: String,
    /// `APPROVED` or `PENDING`.
    pub status: &'static str,
    pub full_day_dates: Option<String>,
    pub partial_starts: Option<String>,
    pub daily_minutes: i64,
    pub paid: bool,
    pub notes: String,
    pub held_back: Option<&'static str>,
    /// The instants it covers (for the overlap rules), when known.
    pub spans: Vec<(i64, i64)>,
}

impl Desired {
    /// The stable content hash (hex) of everything load sends.
    pub fn content_hash(&self) -> String {
        let mut h = core::RowHasher::default();
        h.str(Some(&self.agent_id))
            .str(Some(&self.user_id))
            .str(Some(&self.management_unit_id))
            .str(Some(&self.business_unit_id))
            .str(Some(&self.activity_code_id))
            .str(Some(self.status))
            .str(self.full_day_dates.as_deref())
            .str(self.partial_starts.as_deref())
            .int(self.daily_minutes)
            .int(self.paid as i64)
            .str(Some(&self.notes))
            .str(self.held_back);
        format!("{:016x}", h.finish() as u64)
    }
}

/// One row of `xw_time_off` as map writes it.
#[derive(Debug, Clone, PartialEq)]
pub struct Xw {
    pub id: String,
    pub agent_id: String,
    pub user_id: Option<String>,
    pub management_unit_id: Option<String>,
    pub business_unit_id: Option<String>,
    /// As exported (lower case; `pending` = `requested`).
    pub status: String,
    /// `load`, `held-back` or `not-loaded`.
    pub action: &'static str,
}

/// What the time-off pass needs from the rest of map.
pub(super) struct Ctx<'a> {
    pub(super) cfg: &'a Config,
    pub(super) files: &'a HashMap<i64, String>,
    pub(super) agent_idx: &'a super::shift::AgentIdx,
    pub(super) agents: &'a AgentContexts,
    /// Whether the agents file has the agent (else `time-off-unknown-agent`).
    pub(super) in_agents_file: &'a dyn Fn(&str) -> bool,
    pub(super) bus: &'a FxHashMap<String, BuInfo>,
    pub(super) default_tz: Option<&'a str>,
    pub(super) migration_id: &'a str,
}

/// The result of the pass.
#[derive(Default)]
pub struct Mapped {
    pub desired: Vec<Desired>,
    pub xw: Vec<Xw>,
    pub findings: Vec<Finding>,
}

/// The marker that starts a request's `notes` in Genesys: `zd2gc:<migration id>:<request id>`,
/// then a newline and the exported notes, if any.
pub fn notes(migration_id: &str, id: &str, legacy: Option<&str>) -> String {
    let mut n = format!("zd2gc:{migration_id}:{id}");
    if let Some(l) = legacy.filter(|l| !l.trim().is_empty()) {
        n.push('\n');
        n.push_str(l);
    }
    n
}

fn finding(
    ctx: &Ctx<'_>,
    r: &Row,
    rule: &'static str,
    field: Option<&'static str>,
    value: Option<String>,
    message: String,
    help: &str,
) -> Finding {
    Finding {
        rule,
        severity: ctx.cfg.severity_of(rule),
        file: ctx.files.get(&r.file_id).cloned(),
        line: Some(r.line as u64),
        record_id: Some(r.id.clone()),
        field,
        value,
        timezone: None,
        candidates: Vec::new(),
        message,
        help: help.to_string(),
    }
}

fn date_of(naive_secs: i64) -> NaiveDate {
    let (y, m, d) = timeval::civil_from_days(naive_secs.div_euclid(86_400));
    NaiveDate::from_ymd_opt(y as i32, m, d).expect("a staged date is valid")
}

/// The first instant of a local date in a zone (midnight, or the first minute after a gap).
fn day_start(tz: Tz, day: NaiveDate) -> i64 {
    let naive = timeval::days_from_civil(
        chrono::Datelike::year(&day),
        chrono::Datelike::month(&day),
        chrono::Datelike::day(&day),
    ) * 86_400;
    match timeval::resolve(tz, naive) {
        Resolved::Single(u) | Resolved::Ambiguous(u, _) => u,
        Resolved::Nonexistent => {
            let mut n = naive;
            loop {
                n += 60;
                if let Resolved::Single(u) | Resolved::Ambiguous(u, _) = timeval::resolve(tz, n) {
                    return u;
                }
            }
        }
    }
}

/// An agent's loadable shifts: `(start, end, shift id)`, UTC seconds, by start.
pub(super) type ShiftsOf<'a> =
    dyn FnMut(&str) -> crate::error::Result<Vec<(i64, i64, String)>> + 'a;

/// Map every request. `shifts_of(agent)` gives the agent's loadable shifts as
/// `(start, end, shift id)` in UTC seconds, sorted by start.
pub(super) fn map_all(
    ctx: &Ctx<'_>,
    rows: &[Row],
    zones: &mut Zones,
    shifts_of: &mut ShiftsOf<'_>,
) -> crate::error::Result<Mapped> {
    let mut out = Mapped::default();
    let from = ctx.cfg.time_off_from_date();
    let mut i = 0;
    while i < rows.len() {
        let mut j = i + 1;
        while j < rows.len() && rows[j].id == rows[i].id {
            j += 1;
        }
        let group = &rows[i..j];
        i = j;
        let r = &group[0];
        let mut held: Option<&'static str> = None;
        let mut errs: Vec<Finding> = Vec::new();
        // Repeated ids: each later occurrence, at its line.
        let conflicting = group.iter().any(|g| !g.same_content(r));
        for g in &group[1..] {
            let (rule, msg, help) = if conflicting {
                (
                    "conflicting-time-off-id",
                    format!(
                        "time-off request `{}` appears again with different content (first at line {}); every occurrence is held back",
                        r.id, r.line
                    ),
                    "keep one row per time_off_request_id: correct or remove the wrong one",
                )
            } else {
                (
                    "duplicate-time-off-id",
                    format!(
                        "time-off request `{}` appears again with identical content (first at line {}); loaded once",
                        r.id, r.line
                    ),
                    "nothing to do, or remove the repeated row",
                )
            };
            errs.push(finding(
                ctx,
                g,
                rule,
                Some("time_off_request_id"),
                Some(g.id.clone()),
                msg,
                help,
            ));
        }
        if conflicting {
            held = Some("conflicting-time-off-id");
        }

        let agent = ctx.agent_idx.get(&r.agent_id).map(|k| ctx.agents.get(k));
        let known_agent = (ctx.in_agents_file)(&r.agent_id);
        let res = agent.filter(|_| known_agent);
        let loads_by_status = matches!(r.status.as_str(), "approved" | "requested")
            && ctx.cfg.time_off_status_loads(&r.status);
        let mut xw = Xw {
            id: r.id.clone(),
            agent_id: r.agent_id.clone(),
            user_id: res.and_then(|r| r.user_id).map(str::to_string),
            management_unit_id: res.and_then(|r| r.management_unit_id).map(str::to_string),
            business_unit_id: res.and_then(|r| r.business_unit_id).map(str::to_string),
            status: r.status.clone(),
            action: "load",
        };

        // The zone of local values (and of the dates of absolute full-day times).
        let zone = zone_name(
            r.timezone.as_deref(),
            agent.and_then(|a| a.tz),
            agent.and_then(|a| a.location_tz),
            ctx.default_tz,
        );
        let tz = zones.tz_named(zone.map(|z| z.0));
        let tz_name = zone.map(|z| z.0);
        let sv = r.start_val();
        let ev = r.end_val();
        let file = ctx.files.get(&r.file_id);

        // Policy first: a request that will not load is listed once and kept as history.
        let last_day = {
            let local_end = if ev.is_local() {
                Some(ev.secs)
            } else {
                tz.ok().map(|t| timeval::to_local(t, ev.secs))
            };
            local_end.map(|e| date_of(e - 1))
        };
        let before_from = matches!((from, last_day), (Some(f), Some(l)) if l < f);
        if !loads_by_status || before_from {
            let why = if !loads_by_status {
                format!("its status is `{}`", r.status)
            } else {
                format!(
                    "it ends before time_off_from = {}",
                    ctx.cfg.time_off_from.trim()
                )
            };
            out.findings.extend(errs);
            out.findings.push(finding(
                ctx,
                r,
                "time-off-not-loaded",
                Some("status"),
                Some(r.status.clone()),
                format!(
                    "time-off request `{}` is not loaded: {why}; it stays in the crosswalk as history",
                    r.id
                ),
                "nothing to do if this is intended; `time_off_statuses` and `time_off_from` in zd2gc.toml choose what loads",
            ));
            xw.action = "not-loaded";
            out.xw.push(xw);
            continue;
        }

        match (known_agent, res.and_then(|r| r.issue)) {
            (false, _) => {
                errs.push(finding(
                    ctx,
                    r,
                    "time-off-unknown-agent",
                    Some("agent_id"),
                    Some(r.agent_id.clone()),
                    format!(
                        "time-off request `{}` names agent `{}`, who is not in the agents file",
                        r.id, r.agent_id
                    ),
                    "add the agent to the export's agents file, or correct the agent id",
                ));
                held.get_or_insert("time-off-unknown-agent");
            }
            (true, Some(issue)) => {
                // Reported once, on the agents file.
                held.get_or_insert(issue.rule());
            }
            (true, None) => {}
        }

        // Times.
        let mut sub_minute = sv.has_sub_minute() || ev.has_sub_minute();
        let mut full_day_dates: Option<Vec<NaiveDate>> = None;
        let mut partial: Option<(Vec<i64>, i64)> = None;
        if r.is_full_day() {
            let local = |v: TimeVal| -> Result<i64, TimeIssue> {
                if v.is_local() {
                    Ok(v.secs)
                } else {
                    Ok(timeval::to_local(tz?, v.secs))
                }
            };
            match (local(sv), local(ev)) {
                (Ok(a), Ok(b)) => {
                    if b <= a {
                        errs.push(end_before(ctx, r, sv, ev));
                        held.get_or_insert("time-off-end-before-start");
                    } else {
                        let (first, last) = (date_of(a), date_of(b - 1));
                        full_day_dates =
                            Some(first.iter_days().take_while(|d| *d <= last).collect());
                    }
                }
                (Err(e), _) | (_, Err(e)) => {
                    errs.push(zone_finding(ctx, r, e, tz_name));
                    held.get_or_insert(super::issue_reason(e));
                }
            }
        } else {
            let mut sink = Vec::new();
            let a = resolve_field(
                sv,
                tz,
                tz_name,
                ctx.cfg.dst_ambiguous,
                file,
                r.line,
                &r.id,
                sv.column(true),
                &mut sink,
                &mut zones.offsets,
            );
            let b = resolve_field(
                ev,
                tz,
                tz_name,
                ctx.cfg.dst_ambiguous,
                file,
                r.line,
                &r.id,
                ev.column(false),
                &mut sink,
                &mut zones.offsets,
            );
            errs.append(&mut sink);
            match (a, b) {
                (Ok(a), Ok(b)) => {
                    sub_minute |= a % 60 != 0 || b % 60 != 0;
                    if b <= a {
                        errs.push(end_before(ctx, r, sv, ev));
                        held.get_or_insert("time-off-end-before-start");
                    } else if b - a <= 86_400 {
                        partial = Some((vec![a], (b - a) / 60));
                    } else if let Ok(t) = tz {
                        // Several days: one start per local day at the start's wall-clock time.
                        let (la, lb) = (timeval::to_local(t, a), timeval::to_local(t, b));
                        let (ta, tb) = (la.rem_euclid(86_400), lb.rem_euclid(86_400));
                        let daily = (tb - ta).rem_euclid(86_400) / 60;
                        let daily = if daily == 0 { 1440 } else { daily };
                        let mut starts = Vec::new();
                        let mut day = la - ta;
                        while day + ta < lb {
                            let v = TimeVal {
                                secs: day + ta,
                                fmt: fmt::LOCAL,
                            };
                            let mut s2 = Vec::new();
                            match resolve_field(
                                v,
                                tz,
                                tz_name,
                                ctx.cfg.dst_ambiguous,
                                file,
                                r.line,
                                &r.id,
                                "start_local",
                                &mut s2,
                                &mut zones.offsets,
                            ) {
                                Ok(u) => starts.push(u),
                                Err(e) => {
                                    held.get_or_insert(super::issue_reason(e));
                                }
                            }
                            errs.append(&mut s2);
                            day += 86_400;
                        }
                        partial = Some((starts, daily));
                    } else {
                        // Absolute times and no zone to find the days in.
                        partial = Some((vec![a], (b - a) / 60));
                    }
                }
                (Err(e), _) | (_, Err(e)) => {
                    if matches!(e, TimeIssue::NoZone | TimeIssue::UnknownZone) {
                        errs.push(zone_finding(ctx, r, e, tz_name));
                    }
                    held.get_or_insert(super::issue_reason(e));
                }
            }
        }
        if sub_minute {
            errs.push(finding(
                ctx,
                r,
                "sub-minute-time",
                Some(if sv.has_sub_minute() || sv.secs % 60 != 0 {
                    sv.column(true)
                } else {
                    ev.column(false)
                }),
                Some(timeval::render(if sv.has_sub_minute() || sv.secs % 60 != 0 {
                    sv
                } else {
                    ev
                })),
                format!(
                    "time-off request `{}` has a time with seconds: Genesys schedules in whole minutes",
                    r.id
                ),
                "write the time in whole minutes",
            ));
            held.get_or_insert("sub-minute-time");
        }
        // The TimeOff activity code of the reason, in the agent's business unit.
        let bu = res
            .filter(|r| r.issue.is_none())
            .and_then(|r| r.business_unit_id);
        let bu_info = bu.and_then(|b| ctx.bus.get(b));
        let reason = r.reason.as_deref().map(str::trim).unwrap_or("");
        let code = bu_info.and_then(|b| b.time_off_codes.get(reason));
        if code.is_none() && (bu_info.is_some() || res.is_some_and(|r| r.issue.is_none())) {
            errs.push(finding(
                ctx,
                r,
                "unmapped-time-off-reason",
                Some("reason"),
                Some(reason.to_string()),
                if reason.is_empty() {
                    format!("time-off request `{}` has no reason", r.id)
                } else {
                    format!(
                        "time-off reason `{reason}` has no Genesys activity code of the TimeOff category for business unit `{}`",
                        bu.unwrap_or("?")
                    )
                },
                "add a row to mappings/time_off.csv (zendesk_reason, genesys_activity_code_id of a TimeOff code, business_unit_id or blank for all), or run `zd2gc mappings pull`",
            ));
            held.get_or_insert("unmapped-time-off-reason");
        }

        // Spans (for the overlap rules) in UTC.
        let mut spans = Vec::new();
        let mut daily = 0;
        let (mut fdd, mut ps) = (None, None);
        if let Some(days) = &full_day_dates {
            daily = r.minutes.unwrap_or(ctx.cfg.time_off_day_minutes as i64);
            if let Ok(t) = bu_info.map(|b| b.tz).ok_or(()).or(tz.map_err(|_| ())) {
                // Consecutive days as one span each, midnight to midnight in the zone.
                for d in days {
                    spans.push((day_start(t, *d), day_start(t, d.succ_opt().unwrap_or(*d))));
                }
            }
            fdd = Some(
                serde_json::to_string(
                    &days
                        .iter()
                        .map(|d| timeval::date_string(*d))
                        .collect::<Vec<_>>(),
                )
                .expect("strings serialize"),
            );
        }
        if let Some((starts, d)) = &partial {
            daily = *d;
            for s in starts {
                spans.push((*s, s + d * 60));
            }
            ps = Some(
                serde_json::to_string(
                    &starts
                        .iter()
                        .map(|s| timeval::utc_string(*s))
                        .collect::<Vec<_>>(),
                )
                .expect("strings serialize"),
            );
        }
        if held.is_some() {
            xw.action = "held-back";
        }
        out.findings.extend(errs);
        out.xw.push(xw);
        let rr = res.filter(|r| r.issue.is_none());
        out.desired.push(Desired {
            id: r.id.clone(),
            file: file.cloned(),
            line: r.line,
            agent_id: r.agent_id.clone(),
            user_id: rr
                .and_then(|r| r.user_id)
                .map(str::to_string)
                .unwrap_or_default(),
            management_unit_id: rr
                .and_then(|r| r.management_unit_id)
                .unwrap_or_default()
                .to_string(),
            business_unit_id: bu.unwrap_or_default().to_string(),
            activity_code_id: code.cloned().unwrap_or_default(),
            status: if r.status == "approved" {
                "APPROVED"
            } else {
                "PENDING"
            },
            full_day_dates: fdd,
            partial_starts: ps,
            daily_minutes: daily,
            paid: r.paid.unwrap_or(false),
            notes: notes(ctx.migration_id, &r.id, r.notes.as_deref()),
            held_back: held,
            spans,
        });
    }

    // Overlaps among the loadable requests of one agent, and with the agent's shifts.
    let mut by_agent: HashMap<&str, Vec<usize>> = HashMap::new();
    for (k, d) in out.desired.iter().enumerate() {
        if d.held_back.is_none() && !d.spans.is_empty() {
            by_agent.entry(d.agent_id.as_str()).or_default().push(k);
        }
    }
    let mut agents: Vec<&str> = by_agent.keys().copied().collect();
    agents.sort_unstable();
    let mut extra = Vec::new();
    for a in agents {
        let mut ks = by_agent[a].clone();
        ks.sort_by_key(|&k| (out.desired[k].spans[0].0, out.desired[k].id.clone()));
        for (x, &k) in ks.iter().enumerate() {
            let d = &out.desired[k];
            if let Some(&o) = ks[..x]
                .iter()
                .find(|&&o| overlaps(&out.desired[o].spans, &d.spans))
            {
                extra.push(desired_finding(
                    ctx,
                    d,
                    "time-off-overlap",
                    format!(
                        "time-off request `{}` overlaps request `{}` of the same agent; Genesys refuses the second (400)",
                        d.id, out.desired[o].id
                    ),
                    "remove or shorten one of the two requests in Zendesk and export again",
                ));
            }
        }
        let shifts = shifts_of(a)?;
        for &k in &ks {
            let d = &out.desired[k];
            if let Some(s) = shifts
                .iter()
                .find(|s| d.spans.iter().any(|(a, b)| s.0 < *b && *a < s.1))
            {
                extra.push(desired_finding(
                    ctx,
                    d,
                    "time-off-overlaps-shift",
                    format!(
                        "time-off request `{}` overlaps shift `{}` of the same agent (the agent would be scheduled while on leave)",
                        d.id, s.2
                    ),
                    "remove the shift or the request in Zendesk, or accept that both load",
                ));
            }
        }
    }
    out.findings.extend(extra);
    Ok(out)
}

fn overlaps(a: &[(i64, i64)], b: &[(i64, i64)]) -> bool {
    a.iter()
        .any(|(s, e)| b.iter().any(|(s2, e2)| s < e2 && s2 < e))
}

fn desired_finding(
    ctx: &Ctx<'_>,
    d: &Desired,
    rule: &'static str,
    message: String,
    help: &str,
) -> Finding {
    Finding {
        rule,
        severity: ctx.cfg.severity_of(rule),
        file: d.file.clone(),
        line: Some(d.line as u64),
        record_id: Some(d.id.clone()),
        field: None,
        value: None,
        timezone: None,
        candidates: Vec::new(),
        message,
        help: help.to_string(),
    }
}

fn end_before(ctx: &Ctx<'_>, r: &Row, sv: TimeVal, ev: TimeVal) -> Finding {
    let field = if r.dates {
        "end_date"
    } else {
        ev.column(false)
    };
    let value = if r.dates {
        timeval::date_string(date_of(ev.secs - 86_400))
    } else {
        timeval::render(ev)
    };
    finding(
        ctx,
        r,
        "time-off-end-before-start",
        Some(field),
        Some(value),
        format!(
            "time-off request `{}` ends at or before it starts (start {})",
            r.id,
            if r.dates {
                timeval::date_string(date_of(sv.secs))
            } else {
                timeval::render(sv)
            }
        ),
        "correct the end (for full days, end_date is the last day of leave, inclusive)",
    )
}

fn zone_finding(ctx: &Ctx<'_>, r: &Row, e: TimeIssue, tz_name: Option<&str>) -> Finding {
    let rule = super::issue_reason(e);
    let mut f = finding(
        ctx,
        r,
        rule,
        Some("timezone"),
        tz_name.map(str::to_string),
        match e {
            TimeIssue::UnknownZone => format!(
                "time-off request `{}`: `{}` is not a zone of the tz database",
                r.id,
                tz_name.unwrap_or("")
            ),
            _ => format!(
                "time-off request `{}`: no zone applies to its local times (none on the row, agent, location or default)",
                r.id
            ),
        },
        "give the row, the agent or its location a zone (IANA name such as `Europe/Paris`), or set default_timezone in zd2gc.toml",
    );
    f.timezone = tz_name.map(str::to_string);
    f
}
