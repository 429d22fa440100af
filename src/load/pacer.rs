//! The one global request pace of a load, shared by every request of every week in flight.
//!
//! [`Pace`] is the pure decision (a reservation clock driven by a rate in requests per minute, with
//! additive-increase / multiplicative-decrease): each request reserves the next free slot; a `429`
//! cuts the rate and pushes every later slot past its `Retry-After`; each success raises the rate a
//! little, back up to the ceiling (`--max-rpm`). [`Pacer`] wraps it in a mutex and implements the
//! client's [`Gate`], counting requests by kind for the progress line and the final summary.

use crate::client::Gate;
use crate::client::retry::Reply;
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The pure pacing state.
#[derive(Debug, Clone)]
pub struct Pace {
    /// Current rate, requests per minute.
    pub rpm: f64,
    pub max_rpm: f64,
    pub min_rpm: f64,
    /// The earliest instant the next request may go.
    next: Instant,
    /// No request goes before this instant (the last `Retry-After`).
    paused_until: Instant,
    /// The rate at which the last `429` came, while it is a useful hint (see [`Pace::on_ok`]).
    limit_hint: Option<f64>,
    /// Answers since the last `429`.
    since_429: u32,
}

impl Pace {
    pub fn new(max_rpm: f64, now: Instant) -> Pace {
        let max_rpm = max_rpm.max(1.0);
        Pace {
            rpm: max_rpm,
            max_rpm,
            min_rpm: (max_rpm / 20.0).max(1.0),
            next: now,
            paused_until: now,
            limit_hint: None,
            since_429: 0,
        }
    }

    /// Reserve a slot: how long to wait before sending.
    pub fn reserve(&mut self, now: Instant) -> Duration {
        let slot = self.next.max(now);
        self.next = slot + Duration::from_secs_f64(60.0 / self.rpm);
        slot - now
    }

    /// A `429`: cut the rate by 30% and let nothing go before `Retry-After` has passed. A `429`
    /// that comes back during the pause of an earlier one answers a request sent before that
    /// pause was known: it extends the pause but does not cut the rate again (one cut per
    /// congestion event, however many requests were in flight).
    pub fn on_429(&mut self, retry_after: Option<Duration>, now: Instant) {
        if now >= self.paused_until {
            self.limit_hint = Some(self.rpm);
            self.rpm = (self.rpm * 0.7).max(self.min_rpm);
        }
        self.since_429 = 0;
        let pause = retry_after.unwrap_or(Duration::from_secs(1));
        self.paused_until = self.paused_until.max(now + pause);
        self.next = self.next.max(self.paused_until);
    }

    /// How long requests must still hold off for a `Retry-After`.
    pub fn hold(&self, now: Instant) -> Duration {
        self.paused_until.saturating_duration_since(now)
    }

    /// A request that was not refused for the rate: recover gradually, by 0.2% of the ceiling per
    /// answer, and ten times slower from 90% of the rate at which the last `429` came (the limit
    /// is near: probe it gently). After 2,000 answers without a `429` the hint is forgotten (the
    /// limit may have been freed, e.g. another tool sharing the client stopped).
    pub fn on_ok(&mut self) {
        self.since_429 = self.since_429.saturating_add(1);
        if self.since_429 > 2_000 {
            self.limit_hint = None;
        }
        let near = self.limit_hint.is_some_and(|h| self.rpm >= 0.9 * h);
        let step = self.max_rpm / if near { 5_000.0 } else { 500.0 };
        self.rpm = (self.rpm + step).min(self.max_rpm);
    }
}

/// Counts of every request a load sent.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RequestStats {
    /// By kind (`token`, `list-schedules`, `query-agent-schedules`, `upload-url`, `upload-put`,
    /// `import`, `update`, `get-schedule`, `download`, `other`).
    pub by_kind: BTreeMap<&'static str, u64>,
    pub total: u64,
    pub status_429: u64,
    pub status_409: u64,
    pub status_412: u64,
    pub status_5xx: u64,
    pub no_answer: u64,
    pub status_401: u64,
}

/// The shared pacer and request accounting of one load.
#[derive(Debug)]
pub struct Pacer {
    pace: Mutex<Pace>,
    stats: Mutex<RequestStats>,
    started: Instant,
}

impl Pacer {
    pub fn new(max_rpm: f64) -> Pacer {
        let now = Instant::now();
        Pacer {
            pace: Mutex::new(Pace::new(max_rpm, now)),
            stats: Mutex::default(),
            started: now,
        }
    }

    pub fn stats(&self) -> RequestStats {
        self.stats.lock().expect("stats lock").clone()
    }

    pub fn rpm(&self) -> f64 {
        self.pace.lock().expect("pace lock").rpm
    }

    /// Requests per minute actually sent since the start.
    pub fn observed_rpm(&self) -> f64 {
        let mins = self.started.elapsed().as_secs_f64() / 60.0;
        self.stats().total as f64 / mins.max(1e-9)
    }
}

/// The kind of a request, from its method and path.
pub fn kind_of(method: &str, path: &str) -> &'static str {
    let p = path.split('?').next().unwrap_or(path);
    match (method, p) {
        (_, "/oauth/token") => "token",
        (_, "<upload>") => "upload-put",
        (_, "<download>") => "download",
        ("GET", p) if p.ends_with("/schedules") => "list-schedules",
        ("POST", p) if p.ends_with("/agentschedules/query") => "query-agent-schedules",
        ("POST", p) if p.ends_with("/schedules") => "create-schedule",
        ("POST", p) if p.ends_with("/uploadurl") => "upload-url",
        ("POST", p) if p.ends_with("/schedules/import") => "import",
        ("POST", p) if p.ends_with("/update") => "update",
        ("GET", p) if p.contains("/schedules/") => "get-schedule",
        _ => "other",
    }
}

impl Gate for Pacer {
    fn reserve(&self) -> Duration {
        self.pace.lock().expect("pace lock").reserve(Instant::now())
    }

    fn hold(&self) -> Duration {
        self.pace.lock().expect("pace lock").hold(Instant::now())
    }

    fn observe(
        &self,
        method: &'static str,
        path: &str,
        reply: Reply,
        retry_after: Option<Duration>,
    ) {
        let api = path.starts_with("/api/");
        {
            let mut s = self.stats.lock().expect("stats lock");
            s.total += 1;
            *s.by_kind.entry(kind_of(method, path)).or_default() += 1;
            match reply {
                Reply::Status(429) => s.status_429 += 1,
                Reply::Status(409) => s.status_409 += 1,
                Reply::Status(412) => s.status_412 += 1,
                Reply::Status(401) => s.status_401 += 1,
                Reply::Status(500..=599) => s.status_5xx += 1,
                Reply::Status(_) => {}
                Reply::Timeout | Reply::Connection => s.no_answer += 1,
            }
        }
        if api {
            let mut p = self.pace.lock().expect("pace lock");
            match reply {
                Reply::Status(429) => p.on_429(retry_after, Instant::now()),
                _ => p.on_ok(),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn paces_evenly_at_the_ceiling() {
        let t0 = Instant::now();
        let mut p = Pace::new(300.0, t0);
        assert_eq!(p.reserve(t0), Duration::ZERO);
        assert_eq!(p.reserve(t0), Duration::from_millis(200));
        assert_eq!(p.reserve(t0), Duration::from_millis(400));
        // Idle time is not banked: no burst after a pause.
        let later = t0 + Duration::from_secs(60);
        assert_eq!(p.reserve(later), Duration::ZERO);
        assert_eq!(p.reserve(later), Duration::from_millis(200));
    }

    #[test]
    fn a_429_slows_down_and_honours_retry_after_then_recovers() {
        let t0 = Instant::now();
        let mut p = Pace::new(300.0, t0);
        p.on_429(Some(Duration::from_secs(3)), t0);
        assert!((p.rpm - 210.0).abs() < 1e-9);
        assert!(p.reserve(t0) >= Duration::from_secs(3));
        // Fast back to 90% of where the 429 came, then gently.
        for _ in 0..100 {
            p.on_ok();
        }
        assert!(p.rpm > 270.0 - 1e-6 && p.rpm < 271.0, "{}", p.rpm);
        let at = p.rpm;
        for _ in 0..100 {
            p.on_ok();
        }
        assert!((p.rpm - at - 6.0).abs() < 0.6, "{} {at}", p.rpm);
        for _ in 0..3000 {
            p.on_ok();
        }
        assert_eq!(p.rpm, 300.0);
    }

    #[test]
    fn requests_in_flight_during_a_pause_hold_and_cut_the_rate_once() {
        let t0 = Instant::now();
        let mut p = Pace::new(1200.0, t0);
        // Three requests took their slots; the first comes back 429 with Retry-After: 1.
        for _ in 0..3 {
            p.reserve(t0);
        }
        p.on_429(Some(Duration::from_secs(1)), t0);
        assert_eq!(p.hold(t0), Duration::from_secs(1));
        assert_eq!(
            p.hold(t0 + Duration::from_millis(400)),
            Duration::from_millis(600)
        );
        // The others were already sent: their 429s extend the pause, not the cut.
        let t1 = t0 + Duration::from_millis(100);
        p.on_429(Some(Duration::from_secs(1)), t1);
        p.on_429(Some(Duration::from_secs(1)), t1);
        assert!((p.rpm - 840.0).abs() < 1e-9, "{}", p.rpm);
        assert_eq!(p.hold(t1), Duration::from_secs(1));
        assert!(p.reserve(t1) >= Duration::from_secs(1));
        // A 429 after the pause is a new event: cut again.
        let t2 = t1 + Duration::from_secs(2);
        assert_eq!(p.hold(t2), Duration::ZERO);
        p.on_429(Some(Duration::from_secs(1)), t2);
        assert!((p.rpm - 588.0).abs() < 1e-9, "{}", p.rpm);
    }

    #[test]
    fn kinds() {
        assert_eq!(
            kind_of(
                "GET",
                "/api/v2/workforcemanagement/businessunits/b/weeks/w/schedules"
            ),
            "list-schedules"
        );
        assert_eq!(
            kind_of(
                "POST",
                "/api/v2/workforcemanagement/businessunits/b/weeks/w/schedules/import"
            ),
            "import"
        );
        assert_eq!(
            kind_of(
                "POST",
                "/api/v2/workforcemanagement/businessunits/b/weeks/w/schedules/s/update"
            ),
            "update"
        );
        assert_eq!(
            kind_of(
                "POST",
                "/api/v2/workforcemanagement/businessunits/b/weeks/w/schedules/s/update/uploadurl"
            ),
            "upload-url"
        );
        assert_eq!(
            kind_of(
                "GET",
                "/api/v2/workforcemanagement/businessunits/b/weeks/w/schedules/s"
            ),
            "get-schedule"
        );
    }

    proptest! {
        /// Whatever the 429s, the rate stays within [min, max] and slots never go backwards.
        #[test]
        fn rate_stays_bounded(events in proptest::collection::vec(0u8..3, 1..300)) {
            let t0 = Instant::now();
            let mut p = Pace::new(300.0, t0);
            let mut last = t0;
            let mut now = t0;
            for e in events {
                now += Duration::from_millis(50);
                match e {
                    0 => p.on_429(Some(Duration::from_millis(500)), now),
                    1 => p.on_ok(),
                    _ => {
                        let slot = now + p.reserve(now);
                        prop_assert!(slot >= last);
                        last = slot;
                    }
                }
                prop_assert!(p.rpm >= p.min_rpm && p.rpm <= p.max_rpm);
            }
        }
    }
}
