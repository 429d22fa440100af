//! The one retry decision of every Genesys call, as a pure function (see `genesys-contract.md`,
//! "Errors and limits"): what to do after an answer (or no answer) to attempt number `n`.
//!
//! - `429` → wait `Retry-After` (seconds), then send again (the request was not applied);
//! - `502`/`503`/`504`, a timeout or a dropped connection → for a read, a capped, jittered
//!   exponential backoff; for a write, [`Action::ReadBack`]: the write may have landed, so the caller
//!   must re-read before it writes again;
//! - `401` → fetch a new token once and send again; a second `401` is final;
//! - anything else is final ([`Action::Done`]); the caller looks at the status.

use std::time::Duration;

/// What came back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reply {
    Status(u16),
    Timeout,
    /// Connection refused, reset or dropped.
    Connection,
}

/// A read (safe to repeat) or a write (its outcome must be read back after a transient failure).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallKind {
    Read,
    Write,
}

/// The state of one request's attempts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Attempt {
    /// Attempts already failed (0 on the first answer).
    pub number: u32,
    /// A `401` already caused a token refresh for this request.
    pub token_refreshed: bool,
    /// A uniform random value in `[0, 1)` for the backoff's jitter.
    pub jitter: f64,
}

/// What to do next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Action {
    /// Final: hand the answer to the caller.
    Done,
    /// Wait, then send the same request again.
    Retry(Duration),
    /// Fetch a new token, then send again.
    RefreshToken,
    /// A write's outcome is unknown: re-read before writing again.
    ReadBack,
    /// Retries are exhausted; report the last answer.
    GiveUp,
}

/// Limits of the retry policy.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Policy {
    /// Most retries of one request (429s and backoffs together).
    pub max_retries: u32,
    pub base: Duration,
    pub cap: Duration,
    /// A `Retry-After` longer than this is clamped (a wrong header must not stall a run for hours).
    pub max_retry_after: Duration,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            max_retries: 8,
            base: Duration::from_millis(250),
            cap: Duration::from_secs(30),
            max_retry_after: Duration::from_secs(120),
        }
    }
}

/// Seconds of a `Retry-After` header (delta-seconds, possibly fractional); `None` when absent or
/// not a number (HTTP-dates are not sent by Genesys).
pub(crate) fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let v = headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?;
    let secs: f64 = v.trim().parse().ok()?;
    // A hostile value (1e30, NaN, negative) is no `Retry-After` at all, never a panic.
    Duration::try_from_secs_f64(secs).ok()
}

/// The decision. Pure: the same inputs give the same action.
pub(crate) fn decide(
    reply: Reply,
    headers: &reqwest::header::HeaderMap,
    attempt: Attempt,
    kind: CallKind,
    policy: &Policy,
) -> Action {
    let transient = match reply {
        Reply::Status(s) if (200..300).contains(&s) => return Action::Done,
        Reply::Status(401) => {
            return if attempt.token_refreshed {
                Action::Done
            } else {
                Action::RefreshToken
            };
        }
        Reply::Status(429) => {
            if attempt.number >= policy.max_retries {
                return Action::GiveUp;
            }
            let wait = retry_after(headers)
                .unwrap_or_else(|| backoff(attempt, policy))
                .min(policy.max_retry_after);
            return Action::Retry(wait);
        }
        Reply::Status(502..=504) | Reply::Timeout | Reply::Connection => true,
        Reply::Status(_) => false,
    };
    if !transient {
        return Action::Done;
    }
    if kind == CallKind::Write {
        return Action::ReadBack;
    }
    if attempt.number >= policy.max_retries {
        return Action::GiveUp;
    }
    Action::Retry(backoff(attempt, policy))
}

/// Exponential backoff with "equal jitter": half fixed, half random, capped.
fn backoff(attempt: Attempt, policy: &Policy) -> Duration {
    let exp = policy
        .base
        .saturating_mul(1u32 << attempt.number.min(16))
        .min(policy.cap);
    let half = exp / 2;
    half + half.mul_f64(attempt.jitter.clamp(0.0, 1.0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::{HeaderMap, HeaderValue, RETRY_AFTER};

    fn at(n: u32) -> Attempt {
        Attempt {
            number: n,
            token_refreshed: false,
            jitter: 0.5,
        }
    }
    const P: Policy = Policy {
        max_retries: 3,
        base: Duration::from_millis(100),
        cap: Duration::from_secs(1),
        max_retry_after: Duration::from_secs(60),
    };

    #[test]
    fn rate_limit_waits_retry_after() {
        let mut h = HeaderMap::new();
        h.insert(RETRY_AFTER, HeaderValue::from_static("7"));
        assert_eq!(
            decide(Reply::Status(429), &h, at(0), CallKind::Write, &P),
            Action::Retry(Duration::from_secs(7))
        );
        h.insert(RETRY_AFTER, HeaderValue::from_static("3600"));
        assert_eq!(
            decide(Reply::Status(429), &h, at(0), CallKind::Read, &P),
            Action::Retry(Duration::from_secs(60))
        );
        assert_eq!(
            decide(Reply::Status(429), &h, at(3), CallKind::Read, &P),
            Action::GiveUp
        );
        // An absurd header is ignored (backoff), never a panic.
        h.insert(
            RETRY_AFTER,
            HeaderValue::from_static("99999999999999999999999"),
        );
        assert_eq!(retry_after(&h), None);
        h.insert(RETRY_AFTER, HeaderValue::from_static("NaN"));
        assert_eq!(retry_after(&h), None);
        // No header: backoff.
        assert!(matches!(
            decide(
                Reply::Status(429),
                &HeaderMap::new(),
                at(1),
                CallKind::Read,
                &P
            ),
            Action::Retry(_)
        ));
    }

    #[test]
    fn transient_failures_back_off_for_reads_and_read_back_for_writes() {
        let h = HeaderMap::new();
        for r in [
            Reply::Status(502),
            Reply::Status(503),
            Reply::Status(504),
            Reply::Timeout,
            Reply::Connection,
        ] {
            assert_eq!(decide(r, &h, at(0), CallKind::Write, &P), Action::ReadBack);
            assert_eq!(
                decide(r, &h, at(0), CallKind::Read, &P),
                Action::Retry(Duration::from_millis(75))
            );
            assert_eq!(decide(r, &h, at(3), CallKind::Read, &P), Action::GiveUp);
        }
        // Capped: 100ms·2^5 > 1s → between 0.5s and 1s.
        let Action::Retry(d) = decide(
            Reply::Timeout,
            &h,
            at(2),
            CallKind::Read,
            &Policy {
                max_retries: 10,
                ..P
            },
        ) else {
            panic!()
        };
        assert_eq!(d, Duration::from_millis(300));
        let Action::Retry(d) = decide(
            Reply::Timeout,
            &h,
            at(9),
            CallKind::Read,
            &Policy {
                max_retries: 10,
                ..P
            },
        ) else {
            panic!()
        };
        assert_eq!(d, Duration::from_millis(750));
    }

    #[test]
    fn unauthorized_refreshes_once() {
        let h = HeaderMap::new();
        assert_eq!(
            decide(Reply::Status(401), &h, at(0), CallKind::Read, &P),
            Action::RefreshToken
        );
        let refreshed = Attempt {
            token_refreshed: true,
            ..at(1)
        };
        assert_eq!(
            decide(Reply::Status(401), &h, refreshed, CallKind::Read, &P),
            Action::Done
        );
    }

    #[test]
    fn other_answers_are_final() {
        let h = HeaderMap::new();
        for s in [200, 202, 400, 404, 409, 412, 500] {
            assert_eq!(
                decide(Reply::Status(s), &h, at(0), CallKind::Read, &P),
                Action::Done
            );
        }
    }
}
