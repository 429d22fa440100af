//! Fault injection: the knobs ([`Faults`]), the seeded generator that draws them ([`Rng`]), and the
//! per-client token bucket of the rate limit ([`TokenBucket`]).
//!
//! Invariant: every random decision of the emulator comes from a [`Rng`] seeded by [`Faults::seed`],
//! drawn in request order, so a run that sends the same requests in the same order repeats exactly.

use serde::{Deserialize, Serialize};
use std::time::{Duration, Instant};

/// Every fault knob of the contract. Rates are probabilities in `[0, 1]`; zero turns a knob off.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Faults {
    /// Seed of every random decision (setting the faults re-seeds).
    pub seed: u64,
    /// Probability that an update's process call is preceded by a simulated planner or agent
    /// self-service edit of one agent schedule of that schedule (making the upload stale).
    pub concurrent_edit_rate: f64,
    /// Probability that an accepted write locks its schedule for `lockMs` (`409` "being modified by
    /// another process" on writes meanwhile).
    pub lock_rate: f64,
    /// How long such a lock lasts, in milliseconds.
    pub lock_ms: u64,
    /// Requests per minute per OAuth client (a token bucket shared by all its tokens); 0 = no limit.
    pub rate_limit_rpm: u32,
    /// Probability of a `502`, `503` or `504` on an API call (a `504` comes after the call was
    /// applied, as a gateway timeout often does).
    pub error_rate: f64,
    /// Probability that an API call is applied and then its connection dropped with no answer.
    pub drop_rate: f64,
    /// Added to every request, in milliseconds.
    pub latency_ms: u64,
    /// How long an import, update or delete stays `Processing`; 0 answers `200 Complete` at once.
    pub processing_ms: u64,
    /// When above `processing_ms`: each import, update or delete takes a time drawn (seeded)
    /// uniformly from `processing_ms..=processing_max_ms` (real processing times vary).
    pub processing_max_ms: u64,
    /// Probability that an accepted import or update ends `Error` with nothing applied and no
    /// reason (a late failure, as a real org reports it).
    pub late_error_rate: f64,
    /// Whether `If-Match` is enforced (`412` when it is not the schedule's version). Genesys itself
    /// shows no If-Match on WFM: switched off, only the body's `metadata.version` protects.
    pub enforce_if_match: bool,
    /// `expires_in` of the tokens handed out, in seconds; an expired token gets `401`.
    pub token_lifetime_secs: u64,
    /// An agent-schedule query with more agent schedules than this, or a week's shift-trade list
    /// with more trades than this, answers with a `downloadUrl` only.
    pub download_threshold: usize,
    /// Probability that an agent-schedule query answers `status: Processing` with no result (the
    /// server went asynchronous); asking again later may answer it.
    pub query_processing_rate: f64,
    /// Fidelity switch: every business-unit week whose schedule list is read also holds an
    /// unpublished draft and an unpublished two-week draft starting that week (ids that sort
    /// first), as real planners' orgs do.
    pub drafts: bool,
    /// Fidelity: leave `businessUnit` out of the agent's management-unit answer, as Genesys does
    /// without `expand=businessUnit` (the client then asks `GET /managementunits/{muId}`).
    pub omit_agent_business_unit: bool,
}

impl Default for Faults {
    fn default() -> Self {
        Faults {
            seed: 0,
            concurrent_edit_rate: 0.0,
            lock_rate: 0.0,
            lock_ms: 500,
            rate_limit_rpm: 0,
            error_rate: 0.0,
            drop_rate: 0.0,
            latency_ms: 0,
            processing_ms: 0,
            processing_max_ms: 0,
            late_error_rate: 0.0,
            enforce_if_match: true,
            token_lifetime_secs: 86_400,
            download_threshold: 500,
            query_processing_rate: 0.0,
            drafts: false,
            omit_agent_business_unit: false,
        }
    }
}

impl Faults {
    /// Check the knobs (rates within `[0, 1]`, a non-zero token lifetime).
    pub fn validate(&self) -> Result<(), String> {
        for (name, r) in [
            ("concurrentEditRate", self.concurrent_edit_rate),
            ("lockRate", self.lock_rate),
            ("errorRate", self.error_rate),
            ("dropRate", self.drop_rate),
            ("queryProcessingRate", self.query_processing_rate),
            ("lateErrorRate", self.late_error_rate),
        ] {
            if !(0.0..=1.0).contains(&r) {
                return Err(format!("{name} must be between 0 and 1, not {r}"));
            }
        }
        if self.token_lifetime_secs == 0 {
            return Err("tokenLifetimeSecs must be at least 1".into());
        }
        Ok(())
    }
}

/// A small deterministic generator (splitmix64): fast, seedable, good enough for fault draws and ids
/// (and for zd2gc's synthetic exports and tests: the one copy of the algorithm).
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A uniform float in `[0, 1)`.
    pub(crate) fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// True with probability `p` (always draws, so the sequence does not depend on `p`).
    pub(crate) fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// A uniform index below `n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    /// A version-4-shaped UUID string.
    pub(crate) fn uuid(&mut self) -> String {
        let a = self.next_u64();
        let b = self.next_u64();
        format!(
            "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0x0fff,
            0x8000 | ((b >> 48) & 0x3fff),
            b & 0xffff_ffff_ffff
        )
    }

    /// `n` random bytes as lowercase hex.
    pub(crate) fn hex(&mut self, bytes: usize) -> String {
        let mut s = String::with_capacity(bytes * 2);
        while s.len() < bytes * 2 {
            s.push_str(&format!("{:016x}", self.next_u64()));
        }
        s.truncate(bytes * 2);
        s
    }
}

/// A token bucket: `capacity` requests, refilled at `capacity` per minute.
#[derive(Debug, Clone)]
pub(crate) struct TokenBucket {
    capacity: f64,
    tokens: f64,
    last: Instant,
}

impl TokenBucket {
    pub(crate) fn new(rpm: u32, now: Instant) -> TokenBucket {
        TokenBucket {
            capacity: rpm as f64,
            tokens: rpm as f64,
            last: now,
        }
    }

    /// Take one token, or say how long until one is available.
    pub(crate) fn take(&mut self, rpm: u32, now: Instant) -> Result<(), Duration> {
        let rpm = rpm as f64;
        if rpm != self.capacity {
            self.tokens = self.tokens.min(rpm);
            self.capacity = rpm;
        }
        let rate = rpm / 60.0;
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.tokens = (self.tokens + elapsed * rate).min(self.capacity);
        self.last = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - self.tokens) / rate))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rng_repeats_and_spreads() {
        let mut a = Rng::new(7);
        let mut b = Rng::new(7);
        let xs: Vec<u64> = (0..5).map(|_| a.next_u64()).collect();
        let ys: Vec<u64> = (0..5).map(|_| b.next_u64()).collect();
        assert_eq!(xs, ys);
        let hits = (0..10_000).filter(|_| a.chance(0.25)).count();
        assert!((2_200..2_800).contains(&hits), "{hits}");
        let u = a.uuid();
        assert_eq!(u.len(), 36);
        assert_eq!(&u[14..15], "4");
    }

    #[test]
    fn bucket_refuses_then_refills() {
        let t0 = Instant::now();
        let mut b = TokenBucket::new(2, t0);
        assert!(b.take(2, t0).is_ok());
        assert!(b.take(2, t0).is_ok());
        let wait = b.take(2, t0).unwrap_err();
        assert!(
            wait > Duration::from_secs(29) && wait <= Duration::from_secs(30),
            "{wait:?}"
        );
        assert!(b.take(2, t0 + Duration::from_secs(31)).is_ok());
    }

    #[test]
    fn rates_are_checked() {
        assert!(Faults::default().validate().is_ok());
        assert!(
            Faults {
                error_rate: 1.5,
                ..Faults::default()
            }
            .validate()
            .is_err()
        );
    }
}
