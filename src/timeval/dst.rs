//! The DST rule: what a local wall-clock value means under the `dst_ambiguous` policy.
//!
//! A value that happened twice (fall-back overlap) becomes an instant only under an explicit
//! `earlier`/`later` policy; a value that never happened (spring-forward gap) never does. Lengths
//! are differences of instants, so a shift across a DST night is an hour shorter or longer than its
//! wall-clock difference. `map` and `validate` both resolve through here.

use super::{Resolved, TimeVal};
use crate::config::DstPolicy;
use chrono_tz::Tz;

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
