//! Time, DST, shift and task rules, in three streaming passes over the snapshot (run on threads of
//! their own; see `run_rules`).
//!
//! 1. Shifts by shift id (`extract::by_id`; this file): duplicate/conflicting ids, zones, DST
//!    (field level), end before start, sub-minute times, too long, length change across a transition.
//! 2. Shifts by agent (`shifts_by_agent`, over the agent id alone; `overlaps.rs`), one agent's shifts at
//!    a time sorted here by their resolved UTC instants (a naive local order would not be the UTC
//!    order across a fall-back night or between zones): `shift-overlap` (one finding per pair, on
//!    the later-starting shift) and `deactivated-agent`.
//! 3. Tasks in shift-id order (`tasks.rs`): the snapshot's task runs (stored in shift-id order)
//!    walked in step with the shift ids pass 1 hands on, in the same order (one read of the
//!    shifts by id for both passes, on ids in no order a sort of every shift): each task's times and
//!    whether it lies inside its shift, whatever order the export lists them in. The tasks of a
//!    repeated shift id are checked again against pass 1's choice ([`recheck_repeated`]).
//!
//! Drafts (`published = false`) are skipped unless `include_drafts`; an included draft edit
//! (`parent_id`) replaces its parent for the overlap check.

mod overlaps;
mod tasks;

pub use overlaps::check_overlaps;
pub use tasks::{TaskFindings, check_tasks, recheck_repeated};

use super::Env;
use crate::config::Severity;
use crate::error::Result;
use crate::extract::by_id::ShiftsById;
use crate::report::{Finding, week_of};
use crate::timeval::zone::ZoneSel;
use crate::timeval::{self, TimeVal, dst};
use rusqlite::{Connection, Row};
use std::collections::HashMap;

/// Where a time value was written.
pub(crate) struct At<'a> {
    pub file_id: i64,
    pub line: i64,
    pub record: &'a str,
    pub field: &'a str,
    pub week: Option<i64>,
}

/// Resolve one value, reporting `dst-nonexistent` / `dst-ambiguous`; the instant under the policy,
/// or `None` when it has none (a gap, an ambiguous time under `reject`, no usable zone).
pub(crate) fn check_time(env: &mut Env<'_>, zone: ZoneSel, v: TimeVal, at: &At<'_>) -> Option<i64> {
    if !v.is_local() {
        return Some(v.secs);
    }
    let ZoneSel::Zone(z) = zone else { return None };
    let policy = env.cfg.dst_ambiguous;
    let r = env.zones.resolve_value(zone, v, policy);
    if let Ok(dst::Instant {
        utc,
        chosen_from: None,
    }) = r
    {
        return Some(utc);
    }
    if let Some(d) = dst::finding(v, env.zones.name(z), &r, policy) {
        let mut f = Finding::new(d.rule, d.severity, d.message);
        f.file = env.file(at.file_id);
        f.line = Some(at.line as u64);
        f.record_id = Some(at.record.to_string());
        f.field = Some(at.field.to_string());
        f.value = Some(timeval::render(v));
        f.timezone = Some(env.zones.name(z).to_string());
        f.candidates = Some(d.candidates);
        f.help = d.help;
        f.week = at.week;
        if d.severity == dst::POLICY_RESOLVED {
            env.sink.push_as(f);
        } else {
            env.sink.push(f);
        }
    }
    r.ok().map(|i| i.utc)
}

/// The text of a value as written (RFC 3339 keeps its own text), rendered only when displayed:
/// the hot loops never format a time unless a finding needs it.
#[derive(Clone, Copy)]
struct Txt<'a>(TimeVal, Option<&'a str>);

impl std::fmt::Display for Txt<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.1 {
            Some(t) => f.write_str(t),
            None => f.write_str(&timeval::render(self.0)),
        }
    }
}

/// One shift row (pass 1 reads them by id, the task pass in file order, into reused buffers).
#[derive(Debug, Clone, Default, PartialEq)]
struct Shift {
    file_id: i64,
    line: i64,
    id: String,
    agent: String,
    start: i64,
    end: i64,
    fmt: i64,
    start_text: Option<String>,
    end_text: Option<String>,
    tz: Option<String>,
    published: Option<i64>,
    parent: Option<String>,
}

impl Shift {
    fn fill(&mut self, r: &Row<'_>) -> Result<()> {
        fn text(dst: &mut Option<String>, v: Option<&str>) {
            match (v, dst.as_mut()) {
                (None, _) => *dst = None,
                (Some(v), Some(d)) => {
                    d.clear();
                    d.push_str(v);
                }
                (Some(v), None) => *dst = Some(v.to_string()),
            }
        }
        use crate::extract::stage::{int_column, opt_int_column};
        self.file_id = int_column(r, 0)?;
        self.line = int_column(r, 1)?;
        self.id.clear();
        crate::extract::stage::push_shift_id(r.get_ref(SHIFT_ID_COLUMN)?, &mut self.id)?;
        self.agent.clear();
        self.agent.push_str(opt_str(r, 3)?.unwrap_or_default());
        self.start = int_column(r, 4)?;
        self.end = int_column(r, 5)?;
        self.fmt = int_column(r, 6)?;
        self.published = opt_int_column(r, 7)?;
        match opt_str(r, 8)? {
            // The common case: none of the four.
            None => {
                self.start_text = None;
                self.end_text = None;
                self.tz = None;
                self.parent = None;
            }
            Some(json) => {
                let [a, b, c, d] = unpack_texts(json).map_err(|e| {
                    rusqlite::Error::FromSqlConversionFailure(
                        8,
                        rusqlite::types::Type::Text,
                        Box::new(e),
                    )
                })?;
                text(&mut self.start_text, a.as_deref());
                text(&mut self.end_text, b.as_deref());
                text(&mut self.tz, c.as_deref());
                text(&mut self.parent, d.as_deref());
            }
        }
        Ok(())
    }

    fn same_content(&self, o: &Shift) -> bool {
        (
            &self.agent,
            self.start,
            self.end,
            self.fmt,
            &self.start_text,
            &self.end_text,
            self.tz.as_deref().map(str::trim).filter(|s| !s.is_empty()),
            self.published,
            &self.parent,
        ) == (
            &o.agent,
            o.start,
            o.end,
            o.fmt,
            &o.start_text,
            &o.end_text,
            o.tz.as_deref().map(str::trim).filter(|s| !s.is_empty()),
            o.published,
            &o.parent,
        )
    }

    fn vals(&self) -> (TimeVal, TimeVal) {
        let (a, b) = crate::timeval::split_fmt(self.fmt);
        (
            TimeVal {
                secs: self.start,
                fmt: a,
            },
            TimeVal {
                secs: self.end,
                fmt: b,
            },
        )
    }
}

/// The resolved shift the tasks are checked against.
pub struct Resolved2 {
    zone: ZoneSel,
    start: Option<i64>,
    end: Option<i64>,
    sv: TimeVal,
    ev: TimeVal,
    start_raw: Option<String>,
    end_raw: Option<String>,
}

/// A text column borrowed from the row (no allocation).
fn opt_str<'r>(r: &'r Row<'_>, i: usize) -> rusqlite::Result<Option<&'r str>> {
    r.get_ref(i)?.as_str_or_null().map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, Box::new(e))
    })
}

fn included(cfg: &crate::config::Config, published: Option<i64>) -> bool {
    cfg.include_drafts || published != Some(0)
}

/// The shift ids that occur more than once, with what their tasks are checked against (the first
/// included occurrence, resolved; `None` when every occurrence is an excluded draft).
pub type Repeated = HashMap<String, Option<Resolved2>>;

/// One shift id of pass 1, handed to the task pass (ids ascending, each once): its first included
/// occurrence (`None` when every occurrence is an excluded draft).
pub struct ShiftGroup {
    id: String,
    first: Option<First>,
}

/// What the task pass resolves a group's first included occurrence from ([`First::resolve`]):
/// the shift without its ids, its agent as the agent's zone (pass 1 looked the agent up; the
/// agents and their zones are the same in every fork of the environment), so that pass 1 reads
/// every shift into the same two buffers and hands on one allocation a shift id (its text).
struct First {
    /// The agent's zone (`None`: not an agent of the export).
    agent_zone: Option<ZoneSel>,
    tz: Option<String>,
    published: Option<i64>,
    start: i64,
    end: i64,
    fmt: i64,
    start_text: Option<String>,
    end_text: Option<String>,
}

impl First {
    /// What [`Shift::resolve`] gives for the shift it was made from.
    fn resolve(&self, env: &mut Env<'_>) -> Option<Resolved2> {
        if !included(env.cfg, self.published) {
            return None;
        }
        let (a, b) = crate::timeval::split_fmt(self.fmt);
        let sv = TimeVal {
            secs: self.start,
            fmt: a,
        };
        let ev = TimeVal {
            secs: self.end,
            fmt: b,
        };
        let own = env.zones.sel(self.tz.as_deref());
        let zone = env.zone_of(own, self.agent_zone);
        let policy = env.cfg.dst_ambiguous;
        Some(Resolved2 {
            zone,
            start: env.zones.instant(zone, sv, policy),
            end: env.zones.instant(zone, ev, policy),
            sv,
            ev,
            start_raw: self.start_text.clone(),
            end_raw: self.end_text.clone(),
        })
    }
}

/// Groups handed from pass 1 to the task pass a batch at a time.
pub type GroupBatch = Vec<ShiftGroup>;

/// Groups a batch holds.
const GROUPS_PER_BATCH: usize = 1024;

/// Where pass 1 hands its groups to the task pass (if it still listens: a task pass that stopped
/// on an error reports it itself).
struct Feed {
    tx: Option<std::sync::mpsc::SyncSender<GroupBatch>>,
    batch: GroupBatch,
}

impl Feed {
    fn push(&mut self, g: ShiftGroup) {
        if self.tx.is_none() {
            return;
        }
        self.batch.push(g);
        if self.batch.len() >= GROUPS_PER_BATCH {
            self.flush();
        }
    }

    fn flush(&mut self) {
        if self.batch.is_empty() {
            return;
        }
        let b = std::mem::replace(&mut self.batch, Vec::with_capacity(GROUPS_PER_BATCH));
        if let Some(tx) = &self.tx
            && tx.send(b).is_err()
        {
            self.tx = None;
        }
    }
}

/// Pass 1: shifts by id (duplicates and conflicts are neighbours), every shift-level rule; each
/// shift id's group goes on to the task pass through `groups` (so that pass reads the shifts in
/// shift-id order once, not twice: on ids in no order each read is a sort of every shift).
/// Returns the repeated ids for [`recheck_repeated`].
pub fn check_shifts(
    env: &mut Env<'_>,
    snap: &Connection,
    groups: std::sync::mpsc::SyncSender<GroupBatch>,
) -> Result<Repeated> {
    let mut feed = Feed {
        tx: Some(groups),
        batch: Vec::with_capacity(GROUPS_PER_BATCH),
    };
    let mut sst = ShiftsById::prepare(snap, SHIFT_COLUMNS, SHIFT_ID_COLUMN)?;
    let mut srows = sst.query()?;
    let mut repeated = Repeated::new();
    // The current group: whether there is one, its first included row (in `primary` when
    // `has_primary`), whether the id repeats. Rows are read into `next` and swapped into `primary`:
    // the same two buffers for every shift.
    let mut in_group = false;
    let mut primary = Shift::default();
    let mut has_primary = false;
    let mut next = Shift::default();
    let mut repeats = false;
    let progress = env.progress.clone();
    let mut tally = super::Tally::new(&progress);
    loop {
        let row = srows.next()?;
        if let Some(r) = row {
            tally.tick();
            next.fill(r)?;
            env.records += 1;
            if in_group && primary.id == next.id {
                repeats = true;
                if !included(env.cfg, next.published) {
                    continue;
                }
                if has_primary {
                    duplicate(env, &primary, &next);
                } else {
                    std::mem::swap(&mut primary, &mut next);
                    has_primary = true;
                }
                continue;
            }
        }
        // The group ends: its rules.
        if in_group {
            // The agent looked up once for pass 1's rules and the task pass.
            let agent_zone = env.agents.get(&primary.agent).map(|a| a.zone);
            let res = has_primary.then(|| shift_rules(env, &primary, agent_zone));
            if repeats {
                repeated.insert(primary.id.clone(), res);
            }
            let first = has_primary.then(|| First {
                agent_zone,
                tz: primary.tz.clone(),
                published: primary.published,
                start: primary.start,
                end: primary.end,
                fmt: primary.fmt,
                start_text: primary.start_text.clone(),
                end_text: primary.end_text.clone(),
            });
            feed.push(ShiftGroup {
                id: primary.id.clone(),
                first,
            });
        }
        if row.is_none() {
            break;
        }
        // A new group: `primary` holds its id (and its row, when included).
        std::mem::swap(&mut primary, &mut next);
        in_group = true;
        repeats = false;
        has_primary = included(env.cfg, primary.published);
    }
    feed.flush();
    Ok(repeated)
}

/// Pass 1's columns: at most 9, so that SQLite sorts them (long ids: the sort way of
/// `extract::by_id`) with its `memcmp` comparator (see [`crate::extract::by_id::SORT_KEY`]): the
/// four texts most shifts leave NULL (`start_text`, `end_text`, `timezone`, `parent_id`) are one
/// column, NULL when all four are, else a JSON array of the four ([`unpack_texts`]).
const SHIFT_COLUMNS: &str = "file_id, line, shift_id, agent_id, start, end, fmt, published, \
    CASE WHEN coalesce(start_text, end_text, timezone, parent_id) IS NULL THEN NULL \
    ELSE json_array(start_text, end_text, timezone, parent_id) END";
/// The index of `shift_id` in [`SHIFT_COLUMNS`].
const SHIFT_ID_COLUMN: usize = 2;

/// The four texts of [`SHIFT_COLUMNS`]' last column (a JSON array of four strings or nulls, as
/// SQLite's `json_array` writes them), as written.
fn unpack_texts(json: &str) -> serde_json::Result<[Option<String>; 4]> {
    serde_json::from_str(json)
}

/// A repeated shift id: identical (duplicate, collapsed) or different (conflicting).
fn duplicate(env: &mut Env<'_>, first: &Shift, s: &Shift) {
    let file = env.file(s.file_id);
    let first_at = format!(
        "{}:{}",
        env.file(first.file_id).unwrap_or_default(),
        first.line
    );
    let mut f = if first.same_content(s) {
        let mut f = Finding::new(
            "duplicate-shift-id",
            Severity::Warning,
            format!(
                "shift `{}` appears again with identical content (first at {first_at}); collapsed to one",
                s.id
            ),
        );
        f.help = "nothing to do unless the repeat is a mistake in the export".into();
        f
    } else {
        let mut f = Finding::new(
            "conflicting-shift-id",
            Severity::Error,
            format!(
                "shift `{}` appears again with different content (first at {first_at}); every occurrence is held back",
                s.id
            ),
        );
        f.help =
            "keep one version of the shift in the export (or give the other its own id)".into();
        f
    };
    f.file = file;
    f.line = Some(s.line as u64);
    f.record_id = Some(s.id.clone());
    f.field = Some("shift_id".into());
    f.value = Some(s.id.clone());
    env.sink.push(f);
}

fn base(env: &Env<'_>, rule: &str, file_id: i64, line: i64, id: &str, message: String) -> Finding {
    let mut f = Finding::new(rule, Severity::Error, message);
    f.file = env.file(file_id);
    f.line = Some(line as u64);
    f.record_id = Some(id.to_string());
    f
}

/// The zone of a row for its local values (`own`: its own zone's selection, `zone`: the zone that
/// applies, [`Env::zone_of`]); reports an unknown zone name written on the row and a local value
/// with no zone at all.
fn row_zone(
    env: &mut Env<'_>,
    s: &Shift,
    (own, zone): (ZoneSel, ZoneSel),
    any_local: bool,
    week: Option<i64>,
) -> ZoneSel {
    if own == ZoneSel::Unknown {
        let name = s.tz.as_deref().unwrap_or_default().trim().to_string();
        let mut f = base(
            env,
            "unknown-timezone",
            s.file_id,
            s.line,
            &s.id,
            format!(
                "zone `{name}` is not in the tz database; the shift's local times cannot be resolved"
            ),
        );
        f.field = Some("timezone".into());
        f.value = Some(name);
        f.help =
            "use an IANA zone name such as `Europe/Paris`, or leave it empty for the agent's zone"
                .into();
        f.week = week;
        env.sink.push(f);
    } else if zone == ZoneSel::Missing && any_local {
        let (sv, _) = s.vals();
        let mut f = base(
            env,
            "missing-timezone",
            s.file_id,
            s.line,
            &s.id,
            format!(
                "`{}` is a local wall-clock time and no zone applies (none on the row, agent `{}`, its location, or `default_timezone`)",
                timeval::render(sv),
                s.agent
            ),
        );
        f.field = Some(sv.column(true).into());
        f.value = Some(timeval::render(sv));
        f.help = "set `default_timezone` in zd2gc.toml, a zone for the agent's location in mappings/locations.csv, or the row's `timezone`".into();
        f.week = week;
        env.sink.push(f);
    }
    zone
}

/// Every shift-level rule on `s`, whose agent's zone is `agent_zone` (`None`: not an agent of the
/// export).
fn shift_rules(env: &mut Env<'_>, s: &Shift, agent_zone: Option<ZoneSel>) -> Resolved2 {
    let (sv, ev) = s.vals();
    let any_local = sv.is_local() || ev.is_local();
    let own = env.zones.sel(s.tz.as_deref());
    let pre_zone = env.zone_of(own, agent_zone);
    let local_start = if sv.is_local() {
        sv.secs
    } else {
        env.zones.local_of(pre_zone, sv.secs)
    };
    let week = week_of(local_start);
    *env.weeks.entry(week).or_default() += 1;
    let zone = row_zone(env, s, (own, pre_zone), any_local, Some(week));
    if agent_zone.is_none() {
        // At the shift's own line: the agents file has none for this agent.
        let mut f = base(
            env,
            "shift-unknown-agent",
            s.file_id,
            s.line,
            &s.id,
            format!(
                "shift `{}` names agent `{}`, who is not in the agents file",
                s.id, s.agent
            ),
        );
        f.field = Some("agent_id".into());
        f.value = Some(s.agent.clone());
        f.help = "add the agent to the export's agents file (with its e-mail and zone), or correct the shift's agent_id".into();
        f.week = Some(week);
        env.sink.push(f);
    }
    let start_text = Txt(sv, s.start_text.as_deref());
    let end_text = Txt(ev, s.end_text.as_deref());
    let a = check_time(
        env,
        zone,
        sv,
        &At {
            file_id: s.file_id,
            line: s.line,
            record: &s.id,
            field: sv.column(true),
            week: Some(week),
        },
    );
    let b = check_time(
        env,
        zone,
        ev,
        &At {
            file_id: s.file_id,
            line: s.line,
            record: &s.id,
            field: ev.column(false),
            week: Some(week),
        },
    );
    if sv.has_sub_minute() || ev.has_sub_minute() {
        let (v, t, start) = if sv.has_sub_minute() {
            (sv, &start_text, true)
        } else {
            (ev, &end_text, false)
        };
        let mut f = base(
            env,
            "sub-minute-time",
            s.file_id,
            s.line,
            &s.id,
            format!("`{t}` has seconds: Genesys schedules in whole minutes"),
        );
        f.field = Some(v.column(start).into());
        f.value = Some(t.to_string());
        f.help = "round the time to the minute in the export".into();
        f.week = Some(week);
        env.sink.push(f);
    }
    if let (Some(a), Some(b)) = (a, b) {
        if b <= a {
            let mut f = base(
                env,
                "shift-end-before-start",
                s.file_id,
                s.line,
                &s.id,
                format!(
                    "shift `{}` ends ({end_text}) at or before it starts ({start_text})",
                    s.id
                ),
            );
            f.field = Some(ev.column(false).into());
            f.value = Some(end_text.to_string());
            f.help = "correct the end time (an overnight shift ends on the next day's date)".into();
            f.week = Some(week);
            env.sink.push(f);
        } else {
            let real = b - a;
            if real as f64 > env.cfg.max_shift_hours * 3600.0 {
                let mut f = base(
                    env,
                    "shift-too-long",
                    s.file_id,
                    s.line,
                    &s.id,
                    format!(
                        "shift `{}` lasts {} min, longer than max_shift_hours = {}",
                        s.id,
                        real / 60,
                        env.cfg.max_shift_hours
                    ),
                );
                f.field = Some(ev.column(false).into());
                f.value = Some(end_text.to_string());
                f.help = "check the end date; if such shifts are real, raise `max_shift_hours` in zd2gc.toml".into();
                f.week = Some(week);
                env.sink.push(f);
            }
            // The wall-clock difference in the row's zone (absolute values read on that clock).
            let wall = match zone {
                ZoneSel::Zone(_) => {
                    let la = if sv.is_local() {
                        sv.secs
                    } else {
                        env.zones.local_of(zone, a)
                    };
                    let lb = if ev.is_local() {
                        ev.secs
                    } else {
                        env.zones.local_of(zone, b)
                    };
                    Some(lb - la)
                }
                _ if sv.is_local() && ev.is_local() => Some(ev.secs - sv.secs),
                _ => None,
            };
            if let Some(wall) = wall
                && real != wall
            {
                let mut f = base(
                    env,
                    "dst-length-change",
                    s.file_id,
                    s.line,
                    &s.id,
                    format!(
                        "shift `{}` ({start_text} → {end_text}) crosses a DST transition: it lasts {} min, not the {} min of its wall clock",
                        s.id,
                        real / 60,
                        wall / 60
                    ),
                );
                f.severity = Severity::Info;
                f.field = Some(ev.column(false).into());
                f.value = Some(end_text.to_string());
                f.timezone = env.zone_name(zone);
                f.help = "nothing to do if the real length is meant (pay and adherence follow it)"
                    .into();
                f.week = Some(week);
                f.candidates = Some(vec![]);
                env.sink.push(f);
            }
        }
    }
    Resolved2 {
        zone,
        start: a,
        end: b,
        sv,
        ev,
        start_raw: s.start_text.clone(),
        end_raw: s.end_text.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A `shift_rows` table as extract writes it (the columns pass 1 reads).
    fn table() -> Connection {
        let c = Connection::open_in_memory().unwrap();
        c.execute_batch(
            "CREATE TABLE shift_rows (
                file_id INTEGER NOT NULL, line INTEGER NOT NULL, shift_id BLOB NOT NULL,
                agent_id TEXT NOT NULL, start INTEGER NOT NULL, end INTEGER NOT NULL,
                fmt INTEGER NOT NULL, start_text TEXT, end_text TEXT, timezone TEXT,
                published INTEGER, parent_id TEXT);",
        )
        .unwrap();
        c
    }

    /// The oracle: a row read column by column as written (what pass 1 read before its texts
    /// became one column).
    fn naive(r: &Row<'_>) -> Shift {
        Shift {
            file_id: r.get(0).unwrap(),
            line: r.get(1).unwrap(),
            id: r.get(2).unwrap(),
            agent: r.get(3).unwrap(),
            start: r.get(4).unwrap(),
            end: r.get(5).unwrap(),
            fmt: r.get(6).unwrap(),
            start_text: r.get(7).unwrap(),
            end_text: r.get(8).unwrap(),
            tz: r.get(9).unwrap(),
            published: r.get(10).unwrap(),
            parent: r.get(11).unwrap(),
        }
    }

    #[test]
    fn a_sorted_read_of_pass_one_takes_at_most_nine_columns() {
        let c = table();
        let st = c
            .prepare(&format!("SELECT {SHIFT_COLUMNS} FROM shift_rows"))
            .unwrap();
        assert!(st.column_count() <= crate::extract::by_id::SORT_MAX_COLUMNS);
        assert_eq!(st.column_name(SHIFT_ID_COLUMN).unwrap(), "shift_id");
    }

    /// A text drawn from what breaks naive packing: quotes, backslashes, control characters, NUL,
    /// non-ASCII, the empty text, a JSON-looking text.
    fn text() -> impl Strategy<Value = Option<String>> {
        prop_oneof![
            2 => Just(None),
            1 => Just(Some(String::new())),
            1 => Just(Some("[\"x\",null]".to_string())),
            3 => proptest::collection::vec(
                prop_oneof![
                    Just('"'),
                    Just('\\'),
                    Just('\u{0}'),
                    Just('\n'),
                    Just('\u{1f}'),
                    Just('\u{7f}'),
                    Just('é'),
                    Just('\u{2028}'),
                    Just('😀'),
                    Just('a'),
                    Just('/'),
                ],
                0..6
            )
            .prop_map(|v| Some(v.into_iter().collect::<String>())),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]
        /// Every row reads back as its columns do one by one, whichever of the four texts are
        /// NULL, whatever they hold; each row read into the buffers of the row before (reused).
        #[test]
        fn pass_one_reads_each_shift_as_its_columns(
            rows in proptest::collection::vec(
                (text(), text(), text(), text(), prop_oneof![Just(None), Just(Some(0i64)), Just(Some(1i64))]),
                1..12
            )
        ) {
            let c = table();
            for (k, (a, b, tz, parent, published)) in rows.iter().enumerate() {
                c.execute(
                    "INSERT INTO shift_rows VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
                    rusqlite::params![
                        k as i64 % 3, k as i64 + 2, format!("S{k}"), format!("A{}", k % 2),
                        1_000 + k as i64, 2_000 + k as i64, 257 * (k as i64 % 4), a, b, tz,
                        published, parent
                    ],
                )
                .unwrap();
            }
            let mut naive_st = c.prepare(
                "SELECT file_id, line, shift_id, agent_id, start, end, fmt, start_text, end_text, \
                 timezone, published, parent_id FROM shift_rows ORDER BY rowid",
            )
            .unwrap();
            let want: Vec<Shift> = naive_st
                .query_map([], |r| Ok(naive(r)))
                .unwrap()
                .map(|r| r.unwrap())
                .collect();
            let mut st = c
                .prepare(&format!("SELECT {SHIFT_COLUMNS} FROM shift_rows ORDER BY rowid"))
                .unwrap();
            let mut q = st.query([]).unwrap();
            let mut got = Vec::new();
            let mut buf = Shift::default();
            while let Some(r) = q.next().unwrap() {
                buf.fill(r).unwrap();
                got.push(buf.clone());
            }
            prop_assert_eq!(got, want);
        }
    }
}
