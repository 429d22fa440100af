//! The pure core of `map`: which week a shift belongs to, a shift's activities, and the stable row
//! hash. Which zone applies and what a time value means under the DST policy are the time
//! module's ([`crate::timeval::zone`], [`crate::timeval::dst`]). No I/O here; everything is a plain
//! function with unit and property tests.
//!
//! Invariants:
//! - a week id is the start instant's local date in the business unit's zone, moved back to the
//!   unit's first day of week (an overnight shift belongs to the week of its start);
//! - activities cover their shift exactly: the tasks, plus the default activity in every gap.

use crate::timeval;
use chrono::{Datelike, NaiveDate, Weekday};
use chrono_tz::Tz;

/// The week id of a shift starting at `start_utc` in a business unit: the local date of the start
/// in the unit's zone, moved back to the unit's first day of week.
pub fn week_id(start_utc: i64, tz: Tz, start_day: Weekday) -> NaiveDate {
    week_id_with(start_utc, tz, start_day, timeval::to_local)
}

/// [`week_id`] with the UTC → local conversion given (e.g. [`timeval::OffsetCache::to_local`]).
pub fn week_id_with(
    start_utc: i64,
    tz: Tz,
    start_day: Weekday,
    to_local: impl FnOnce(Tz, i64) -> i64,
) -> NaiveDate {
    let local = to_local(tz, start_utc);
    let date = NaiveDate::from_num_days_from_ce_opt(
        (local.div_euclid(86_400) + 719_163) as i32, // 719163 = days from 0001-01-01 to 1970-01-01
    )
    .expect("in range");
    let back = (date.weekday().num_days_from_monday() + 7 - start_day.num_days_from_monday()) % 7;
    date - chrono::Days::new(back as u64)
}

/// A task of a shift, resolved to instants, with its activity code (`None`: no mapping).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskIn<'a> {
    pub task_id: Option<&'a str>,
    /// `task_id`'s 16 bytes when known ([`Activity::task_uuid`]).
    pub task_uuid: Option<&'a [u8; 16]>,
    pub name: &'a str,
    pub start: i64,
    pub end: i64,
    pub code: Option<&'a str>,
}

pub use crate::store::desired::Activity;

/// Why a shift's activities could not be built; the shift is held back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ActivityIssue {
    /// Task `index` does not lie inside the shift.
    TaskOutside(usize),
    /// Task `index` has no activity code.
    Unmapped(usize),
    /// Part of the shift is not covered by a task and there is no default activity.
    Uncovered { start: i64, end: i64 },
}

/// Build a shift's activities: its tasks in start order, and the default activity (code, name) in
/// every part of `[start, end)` that no task covers. Every issue is returned, not just the first.
pub fn build_activities<'a>(
    start: i64,
    end: i64,
    tasks: &[TaskIn<'a>],
    default: Option<(&'a str, &'a str)>,
) -> Result<Vec<Activity<'a>>, Vec<ActivityIssue>> {
    let mut issues = Vec::new();
    for (i, t) in tasks.iter().enumerate() {
        if t.start < start || t.end > end || t.end <= t.start {
            issues.push(ActivityIssue::TaskOutside(i));
        } else if t.code.is_none() {
            issues.push(ActivityIssue::Unmapped(i));
        }
    }
    if !issues.is_empty() {
        return Err(issues);
    }
    let mut order: Vec<usize> = (0..tasks.len()).collect();
    order.sort_by_key(|&i| (tasks[i].start, tasks[i].end));
    let mut out = Vec::with_capacity(tasks.len() * 2 + 1);
    let mut covered = start;
    let gap = |from: i64, to: i64, out: &mut Vec<Activity<'a>>, issues: &mut Vec<ActivityIssue>| {
        if to > from {
            match default {
                Some((code, name)) => out.push(Activity {
                    code,
                    start: from,
                    length_minutes: (to - from) / 60,
                    description: name,
                    task_id: None,
                    task_uuid: None,
                }),
                None => issues.push(ActivityIssue::Uncovered {
                    start: from,
                    end: to,
                }),
            }
        }
    };
    for i in order {
        let t = &tasks[i];
        gap(covered, t.start, &mut out, &mut issues);
        out.push(Activity {
            code: t.code.unwrap_or_default(),
            start: t.start,
            length_minutes: (t.end - t.start) / 60,
            description: t.name,
            task_id: t.task_id,
            task_uuid: t.task_uuid,
        });
        covered = covered.max(t.end);
    }
    gap(covered, end, &mut out, &mut issues);
    if issues.is_empty() {
        Ok(out)
    } else {
        Err(issues)
    }
}

/// The columns of a `desired_shifts` row that its content hash covers.
#[derive(Debug, Clone, Copy)]
pub struct RowContent<'a> {
    pub agent_id: &'a str,
    pub exported_agent_id: &'a str,
    pub user_id: Option<&'a str>,
    pub business_unit_id: Option<&'a str>,
    pub management_unit_id: Option<&'a str>,
    pub week_id: Option<&'a str>,
    pub start_utc: Option<i64>,
    pub length_minutes: Option<i64>,
    pub activities: &'a str,
    pub held_back_reason: Option<&'a str>,
}

/// `desired_shifts.content_hash`: what a re-run of `map` compares to know a row is unchanged.
/// Changing it needs a new migration that rehashes the stored rows (migration 5 keeps its own
/// frozen copy, `store::migrations`).
pub fn row_hash(c: &RowContent<'_>) -> i64 {
    let mut h = RowHasher::default();
    h.str(Some(c.agent_id))
        .str(Some(c.exported_agent_id))
        .str(c.user_id)
        .str(c.business_unit_id)
        .str(c.management_unit_id)
        .str(c.week_id)
        .int(c.start_utc.unwrap_or(i64::MIN))
        .int(c.length_minutes.unwrap_or(i64::MIN))
        .str(Some(c.activities))
        .str(c.held_back_reason);
    h.finish()
}

/// A stable 64-bit content hash (unlike `std`'s hasher it never changes between Rust versions, so
/// a re-run recognises unchanged rows), eight bytes at a time: each word is mixed in with a
/// multiply and a shift, each field ends with its length (so ("ab","c") and ("a","bc") differ),
/// and the result goes through MurmurHash3's finaliser.
#[derive(Debug, Clone, Copy)]
pub struct RowHasher(u64);

const MIX: u64 = 0x9e37_79b9_7f4a_7c15;

impl Default for RowHasher {
    fn default() -> Self {
        RowHasher(0xcbf2_9ce4_8422_2325)
    }
}

impl RowHasher {
    fn word(&mut self, w: u64) {
        self.0 = (self.0 ^ w).wrapping_mul(MIX);
        self.0 ^= self.0 >> 29;
    }
    pub fn bytes(&mut self, b: &[u8]) -> &mut Self {
        let mut chunks = b.chunks_exact(8);
        for c in &mut chunks {
            self.word(u64::from_le_bytes(c.try_into().expect("8 bytes")));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut last = [0u8; 8];
            last[..rest.len()].copy_from_slice(rest);
            self.word(u64::from_le_bytes(last));
        }
        self.word(b.len() as u64 ^ 0xff00_0000_0000_0000);
        self
    }
    pub fn str(&mut self, s: Option<&str>) -> &mut Self {
        match s {
            Some(s) => self.bytes(s.as_bytes()),
            None => {
                self.word(0xfe00_0000_0000_0000);
                self
            }
        }
    }
    pub fn int(&mut self, v: i64) -> &mut Self {
        self.word(v as u64);
        self
    }
    pub fn finish(&self) -> i64 {
        let mut h = self.0;
        h ^= h >> 33;
        h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^= h >> 33;
        h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        h ^= h >> 33;
        h as i64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::DstPolicy;
    use crate::timeval::TimeVal;
    use crate::timeval::dst::resolve_value;
    use proptest::prelude::*;

    fn paris() -> Tz {
        "Europe/Paris".parse().unwrap()
    }
    fn utc(s: &str) -> i64 {
        crate::timeval::parse_rfc3339(s).unwrap().secs
    }

    fn content<'a>(acts: &'a str, agent: &'a str, exported: &'a str) -> RowContent<'a> {
        RowContent {
            agent_id: agent,
            exported_agent_id: exported,
            user_id: Some("u-1"),
            business_unit_id: Some("bu"),
            management_unit_id: None,
            week_id: Some("2026-10-19"),
            start_utc: Some(1_788_155_100),
            length_minutes: Some(480),
            activities: acts,
            held_back_reason: None,
        }
    }

    #[test]
    fn row_hash_is_stable_and_sees_every_field() {
        let base = content("[[1,0,480,null]]", "A1", "A1");
        // Stored in zd2gc.db: the function must never change without a migration rehashing rows.
        assert_eq!(row_hash(&base), row_hash(&base.clone()));
        assert_eq!(
            row_hash(&base),
            -250_187_224_973_173_704,
            "the hash function changed"
        );
        let variants = [
            content("[[1,0,480,null]] ", "A1", "A1"),
            content("[[2,0,480,null]]", "A1", "A1"),
            content("[[1,0,480,null]]", "A1x", "A1"),
            content("[[1,0,480,null]]", "A", "1A1"),
            RowContent {
                user_id: None,
                ..base
            },
            RowContent {
                user_id: Some(""),
                ..base
            },
            RowContent {
                management_unit_id: Some(""),
                ..base
            },
            RowContent {
                start_utc: Some(1_788_155_160),
                ..base
            },
            RowContent {
                length_minutes: None,
                ..base
            },
            RowContent {
                held_back_reason: Some("unmapped-agent"),
                ..base
            },
        ];
        let mut seen = std::collections::HashSet::new();
        seen.insert(row_hash(&base));
        for v in &variants {
            assert!(seen.insert(row_hash(v)), "{v:?} collides");
        }
    }

    #[test]
    fn week_ids_follow_start_day_and_zone() {
        // Sunday 2026-10-25 23:30 in Paris is Sunday 22:30 UTC.
        let t = utc("2026-10-25T22:30:00Z");
        assert_eq!(week_id(t, paris(), Weekday::Mon).to_string(), "2026-10-19");
        assert_eq!(week_id(t, paris(), Weekday::Sun).to_string(), "2026-10-25");
        // Monday 00:30 in Paris is still Sunday in UTC: the zone decides.
        let t = utc("2026-10-25T23:30:00Z");
        assert_eq!(week_id(t, paris(), Weekday::Mon).to_string(), "2026-10-26");
        let ny: Tz = "America/New_York".parse().unwrap();
        assert_eq!(week_id(t, ny, Weekday::Mon).to_string(), "2026-10-19");
    }

    fn task<'a>(name: &'a str, s: i64, e: i64, code: Option<&'a str>) -> TaskIn<'a> {
        TaskIn {
            task_id: Some(name),
            task_uuid: None,
            name,
            start: s,
            end: e,
            code,
        }
    }

    #[test]
    fn activities_fill_gaps_with_default() {
        let h = 3600;
        let tasks = [
            task("Lunch", 4 * h, 5 * h, Some("ac-lunch")),
            task("Email", 0, h, Some("ac-mail")),
        ];
        let acts = build_activities(0, 8 * h, &tasks, Some(("ac-q", "On Queue Work"))).unwrap();
        let got: Vec<(&str, i64, i64)> = acts
            .iter()
            .map(|a| (a.code, a.start / 60, a.length_minutes))
            .collect();
        assert_eq!(
            got,
            vec![
                ("ac-mail", 0, 60),
                ("ac-q", 60, 180),
                ("ac-lunch", 240, 60),
                ("ac-q", 300, 180)
            ]
        );
        assert_eq!(acts[1].description, "On Queue Work");
        assert_eq!(acts[2].task_id, Some("Lunch"));
    }

    #[test]
    fn activity_issues_hold_the_shift_back() {
        let h = 3600;
        let tasks = [
            task("Late", 7 * h, 9 * h, Some("a")),
            task("Odd", h, 2 * h, None),
        ];
        assert_eq!(
            build_activities(0, 8 * h, &tasks, Some(("q", "Q"))),
            Err(vec![
                ActivityIssue::TaskOutside(0),
                ActivityIssue::Unmapped(1)
            ])
        );
        assert_eq!(
            build_activities(0, 2 * h, &[task("x", 0, h, Some("a"))], None),
            Err(vec![ActivityIssue::Uncovered {
                start: h,
                end: 2 * h
            }])
        );
        assert_eq!(
            build_activities(0, h, &[task("x", 0, h, Some("a"))], None)
                .unwrap()
                .len(),
            1
        );
    }

    /// All zones of the tz database, sorted.
    fn zones() -> Vec<Tz> {
        chrono_tz::TZ_VARIANTS.to_vec()
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

        /// A shift's length is the difference of its instants, and its activities cover it exactly.
        #[test]
        fn lengths_are_instant_differences(zi in 0..chrono_tz::TZ_VARIANTS.len(),
                                           minute in 0i64..(4 * 365 * 24 * 60),
                                           len in 1i64..(14 * 60),
                                           cut in 0i64..(14 * 60)) {
            let tz = zones()[zi];
            let s_naive = timeval::days_from_civil(2024, 1, 1) * 86_400 + minute * 60;
            let e_naive = s_naive + len * 60;
            let sv = TimeVal { secs: s_naive, fmt: timeval::fmt::LOCAL };
            let ev = TimeVal { secs: e_naive, fmt: timeval::fmt::LOCAL };
            let (Ok(s), Ok(e)) = (resolve_value(sv, Ok(tz), DstPolicy::Earlier),
                                  resolve_value(ev, Ok(tz), DstPolicy::Earlier)) else {
                return Ok(());
            };
            prop_assume!(e.utc > s.utc);
            let length = (e.utc - s.utc) / 60;
            // The wall-clock difference differs from the real one by the offset change only.
            let offset_change = (timeval::to_local(tz, e.utc) - e.utc) - (timeval::to_local(tz, s.utc) - s.utc);
            prop_assert_eq!(length * 60 + offset_change, len * 60);
            let cut = s.utc + (cut % length) * 60;
            let tasks = [TaskIn { task_id: None, task_uuid: None, name: "t", start: s.utc, end: cut.max(s.utc + 60), code: Some("c") }];
            let acts = build_activities(s.utc, e.utc, &tasks, Some(("d", "D"))).unwrap();
            prop_assert_eq!(acts.iter().map(|a| a.length_minutes).sum::<i64>(), length);
            prop_assert_eq!(acts[0].start, s.utc);
        }

        /// Week ids start on the unit's first day, contain the start's local date, and are at most
        /// six days before it.
        #[test]
        fn week_ids_follow_first_day(zi in 0..chrono_tz::TZ_VARIANTS.len(),
                                     minute in 0i64..(4 * 365 * 24 * 60),
                                     day in 0u8..7) {
            let tz = zones()[zi];
            let start_day = Weekday::try_from(day).expect("0..7");
            let t = timeval::days_from_civil(2024, 1, 1) * 86_400 + minute * 60;
            let w = week_id(t, tz, start_day);
            prop_assert_eq!(w.weekday(), start_day);
            let local_date = chrono::DateTime::from_timestamp(t, 0).unwrap().with_timezone(&tz).date_naive();
            let diff = (local_date - w).num_days();
            prop_assert!((0..7).contains(&diff), "{} {} {}", w, local_date, diff);
        }
    }
}
