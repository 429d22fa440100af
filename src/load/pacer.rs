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
}

impl Pace {
    pub fn new(max_rpm: f64, now: Instant) -> Pace {
        let max_rpm = max_rpm.max(1.0);
        Pace {
            rpm: max_rpm,
            max_rpm,
            min_rpm: (max_rpm / 20.0).max(1.0),
            next: now,
        }
    }

    /// Reserve a slot: how long to wait before sending.
    pub fn reserve(&mut self, now: Instant) -> Duration {
        let slot = self.next.max(now);
        self.next = slot + Duration::from_secs_f64(60.0 / self.rpm);
        slot - now
    }

    /// A `429`: cut the rate by 30% and let nothing go before `Retry-After` has passed.
    pub fn on_429(&mut self, retry_after: Option<Duration>, now: Instant) {
        self.rpm = (self.rpm * 0.7).max(self.min_rpm);
        let pause = retry_after.unwrap_or(Duration::from_secs(1));
        self.next = self.next.max(now + pause);
    }

    /// A request that was not refused for the rate: recover gradually (about 0.2% of the ceiling).
    pub fn on_ok(&mut self) {
        self.rpm = (self.rpm + self.max_rpm / 500.0).min(self.max_rpm);
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
        for _ in 0..1000 {
            p.on_ok();
        }
        assert_eq!(p.rpm, 300.0);
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
