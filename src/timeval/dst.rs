//! The DST rule: what a local wall-clock value means under the `dst_ambiguous` policy.
//!
//! A value that happened twice (fall-back overlap) becomes an instant only under an explicit
//! `earlier`/`later` policy; a value that never happened (spring-forward gap) never does. Lengths
//! are differences of instants, so a shift across a DST night is an hour shorter or longer than its
//! wall-clock difference. `map` and `validate` both resolve through here, and both report a DST
//! problem with the one finding of [`finding`] (rules `dst-ambiguous` and `dst-nonexistent`,
//! `docs/validation-report.md`).

use super::{Resolved, TimeVal, render, utc_string};
use crate::config::{DstPolicy, Severity};
use chrono_tz::Tz;

/// The severity a DST policy gives an ambiguous time it resolved: a warning (never overridden by
/// the configured severity of `dst-ambiguous`).
pub(crate) const POLICY_RESOLVED: Severity = Severity::Warning;

/// Why a time value could not be turned into an instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TimeIssue {
    /// A local value and no zone applies.
    NoZone,
    /// The zone name is not in the tz database.
    UnknownZone,
    /// Happened twice and the policy is `reject`: both candidates.
    Ambiguous(i64, i64),
    /// Never happened (spring-forward gap).
    Nonexistent,
}

/// An instant, and whether a DST policy chose it (the chosen instant and the other candidate).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Instant {
    pub utc: i64,
    /// `Some((earlier, later))` when the value was ambiguous and the policy picked one.
    pub chosen_from: Option<(i64, i64)>,
}

/// Resolve a value to UTC seconds: absolute forms as they are, local forms in `tz` under `policy`.
#[cfg(test)]
pub(crate) fn resolve_value(
    v: TimeVal,
    tz: Result<Tz, TimeIssue>,
    policy: DstPolicy,
) -> Result<Instant, TimeIssue> {
    resolve_value_with(v, tz, policy, super::resolve)
}

/// [`resolve_value`] with the local-time resolution given (e.g. [`super::OffsetCache::resolve`],
/// which returns the same as [`super::resolve`], faster).
pub(crate) fn resolve_value_with(
    v: TimeVal,
    tz: Result<Tz, TimeIssue>,
    policy: DstPolicy,
    resolve: impl FnOnce(Tz, i64) -> Resolved,
) -> Result<Instant, TimeIssue> {
    if !v.is_local() {
        return Ok(Instant {
            utc: v.secs,
            chosen_from: None,
        });
    }
    let tz = tz?;
    match resolve(tz, v.secs) {
        Resolved::Single(utc) => Ok(Instant {
            utc,
            chosen_from: None,
        }),
        Resolved::Ambiguous(a, b) => match policy {
            DstPolicy::Reject => Err(TimeIssue::Ambiguous(a, b)),
            DstPolicy::Earlier => Ok(Instant {
                utc: a,
                chosen_from: Some((a, b)),
            }),
            DstPolicy::Later => Ok(Instant {
                utc: b,
                chosen_from: Some((a, b)),
            }),
        },
        Resolved::Nonexistent => Err(TimeIssue::Nonexistent),
    }
}

/// What a DST rule says about one value; the caller adds where it was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DstFinding {
    /// `dst-ambiguous` or `dst-nonexistent`.
    pub rule: &'static str,
    /// `Error` (the configured severity of the rule applies), or [`POLICY_RESOLVED`] when a
    /// policy chose the instant (kept as it is).
    pub severity: Severity,
    /// Both instants of an ambiguous time (RFC 3339, UTC), none for a gap.
    pub candidates: Vec<String>,
    pub message: String,
    pub help: String,
}

const HELP_GAP: &str = "this wall-clock time never happened in that zone (the clocks jumped over it): correct the row, e.g. to 03:00 or 01:59";

/// The DST finding a value owes, given what [`resolve_value_with`] made of it in the zone named
/// `zone` under `policy`: `dst-ambiguous` (an error, or under `earlier`/`later` a warning naming the
/// instant chosen), `dst-nonexistent`, or none (one instant; or no zone, another rule's finding).
pub(crate) fn finding(
    v: TimeVal,
    zone: &str,
    resolved: &Result<Instant, TimeIssue>,
    policy: DstPolicy,
) -> Option<DstFinding> {
    // Most values resolve to one instant: return before rendering anything (map and validate ask
    // for every shift and task time, millions of them).
    if matches!(
        resolved,
        Ok(Instant {
            chosen_from: None,
            ..
        }) | Err(TimeIssue::NoZone | TimeIssue::UnknownZone)
    ) {
        return None;
    }
    let written = render(v);
    let f = |rule, severity, candidates, message, help| DstFinding {
        rule,
        severity,
        candidates,
        message,
        help,
    };
    match *resolved {
        Ok(Instant {
            utc,
            chosen_from: Some((a, b)),
        }) => Some(f(
            "dst-ambiguous",
            POLICY_RESOLVED,
            vec![utc_string(a), utc_string(b)],
            format!(
                "`{written}` happened twice in {zone}; the policy `dst_ambiguous = \"{}\"` chose {}",
                policy.as_str(),
                utc_string(utc)
            ),
            "check that the chosen instant is the one meant".to_string(),
        )),
        Err(TimeIssue::Ambiguous(a, b)) => Some(f(
            "dst-ambiguous",
            Severity::Error,
            vec![utc_string(a), utc_string(b)],
            format!(
                "`{written}` happened twice in {zone} (at {} and at {}): the instant is ambiguous",
                utc_string(a),
                utc_string(b)
            ),
            format!(
                "set `dst_ambiguous = \"earlier\"` or `\"later\"` in zd2gc.toml after checking which is meant, or correct the row to {} / {}",
                hh_mm(v.secs - 3600),
                hh_mm(v.secs + 3600)
            ),
        )),
        Err(TimeIssue::Nonexistent) => Some(f(
            "dst-nonexistent",
            Severity::Error,
            Vec::new(),
            format!("`{written}` never happened in {zone} (spring-forward gap)"),
            HELP_GAP.to_string(),
        )),
        Ok(_) | Err(TimeIssue::NoZone | TimeIssue::UnknownZone) => None,
    }
}

/// `HH:MM` of naive local seconds.
fn hh_mm(naive: i64) -> String {
    let s = naive.rem_euclid(86400);
    format!("{:02}:{:02}", s / 3600, s % 3600 / 60)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::timeval::{self, parse_local};
    use proptest::prelude::*;

    fn paris() -> Tz {
        "Europe/Paris".parse().unwrap()
    }
    fn utc(s: &str) -> i64 {
        crate::timeval::parse_rfc3339(s).unwrap().secs
    }
    fn local(s: &str) -> TimeVal {
        parse_local(s).unwrap()
    }

    #[test]
    fn dst_policy_is_explicit() {
        let amb = local("2026-10-25 02:30");
        assert_eq!(
            resolve_value(amb, Ok(paris()), DstPolicy::Reject),
            Err(TimeIssue::Ambiguous(
                utc("2026-10-25T00:30:00Z"),
                utc("2026-10-25T01:30:00Z")
            ))
        );
        let e = resolve_value(amb, Ok(paris()), DstPolicy::Earlier).unwrap();
        assert_eq!(e.utc, utc("2026-10-25T00:30:00Z"));
        assert!(e.chosen_from.is_some());
        let l = resolve_value(amb, Ok(paris()), DstPolicy::Later).unwrap();
        assert_eq!(l.utc, utc("2026-10-25T01:30:00Z"));
        for p in [DstPolicy::Reject, DstPolicy::Earlier, DstPolicy::Later] {
            assert_eq!(
                resolve_value(local("2026-03-29 02:15"), Ok(paris()), p),
                Err(TimeIssue::Nonexistent)
            );
        }
        assert_eq!(
            resolve_value(
                local("2026-03-29 12:00"),
                Err(TimeIssue::NoZone),
                DstPolicy::Later
            ),
            Err(TimeIssue::NoZone)
        );
        // Absolute forms need no zone.
        let abs = crate::timeval::parse_rfc3339("2026-10-25T02:30:00+01:00").unwrap();
        assert_eq!(
            resolve_value(abs, Err(TimeIssue::NoZone), DstPolicy::Reject)
                .unwrap()
                .utc,
            utc("2026-10-25T01:30:00Z")
        );
    }

    #[test]
    fn one_finding_per_dst_problem() {
        let amb = local("2026-10-25 02:30");
        let f = |v, p| finding(v, "Europe/Paris", &resolve_value(v, Ok(paris()), p), p);
        let reject = f(amb, DstPolicy::Reject).unwrap();
        assert_eq!(
            (reject.rule, reject.severity),
            ("dst-ambiguous", Severity::Error)
        );
        assert_eq!(
            reject.candidates,
            ["2026-10-25T00:30:00Z", "2026-10-25T01:30:00Z"]
        );
        assert!(reject.help.ends_with("correct the row to 01:30 / 03:30"));
        let later = f(amb, DstPolicy::Later).unwrap();
        assert_eq!(later.severity, POLICY_RESOLVED);
        assert!(
            later.message.ends_with("chose 2026-10-25T01:30:00Z"),
            "{}",
            later.message
        );
        let gap = f(local("2026-03-29 02:15"), DstPolicy::Earlier).unwrap();
        assert_eq!(gap.rule, "dst-nonexistent");
        assert!(gap.candidates.is_empty());
        assert_eq!(f(local("2026-10-25 03:30"), DstPolicy::Reject), None);
        let no_zone = resolve_value(amb, Err(TimeIssue::NoZone), DstPolicy::Reject);
        assert_eq!(finding(amb, "", &no_zone, DstPolicy::Reject), None);
    }

    #[test]
    fn overnight_dst_shift_lengths_come_from_instants() {
        // Saturday 22:00 → Sunday 06:00 across the autumn change: 9 hours, not 8.
        let s = resolve_value(local("2026-10-24 22:00"), Ok(paris()), DstPolicy::Reject).unwrap();
        let e = resolve_value(local("2026-10-25 06:00"), Ok(paris()), DstPolicy::Reject).unwrap();
        assert_eq!((e.utc - s.utc) / 60, 540);
        // And across the spring change: 7 hours.
        let s = resolve_value(local("2026-03-28 22:00"), Ok(paris()), DstPolicy::Reject).unwrap();
        let e = resolve_value(local("2026-03-29 06:00"), Ok(paris()), DstPolicy::Reject).unwrap();
        assert_eq!((e.utc - s.utc) / 60, 420);
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

        /// For every zone and every local minute of 2024–2027 that is neither ambiguous nor
        /// nonexistent, local → UTC → local round-trips (sampled).
        #[test]
        fn local_utc_local_round_trips(zi in 0..chrono_tz::TZ_VARIANTS.len(),
                                       minute in 0i64..(4 * 366 * 24 * 60)) {
            let tz = chrono_tz::TZ_VARIANTS[zi];
            let base = timeval::days_from_civil(2024, 1, 1) * 86_400;
            let naive = base + minute * 60;
            prop_assume!(naive < timeval::days_from_civil(2028, 1, 1) * 86_400);
            let v = TimeVal { secs: naive, fmt: timeval::fmt::LOCAL };
            match resolve_value(v, Ok(tz), DstPolicy::Reject) {
                Ok(i) => prop_assert_eq!(timeval::to_local(tz, i.utc), naive),
                Err(TimeIssue::Ambiguous(a, b)) => {
                    prop_assert!(a < b);
                    prop_assert_eq!(timeval::to_local(tz, a), naive);
                    prop_assert_eq!(timeval::to_local(tz, b), naive);
                }
                Err(TimeIssue::Nonexistent) => {}
                Err(e) => prop_assert!(false, "unexpected {:?}", e),
            }
        }
    }
}
