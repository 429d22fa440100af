//! The emulator's time. Every rule that depends on time — how long an operation stays
//! `Processing`, when a lock expires, a token's lifetime, the rate limit's refill, the
//! `dateModified` stamps — reads one [`Clock`]: the system clock by default, or a manual clock that
//! moves only when it is told to ([`Clock::advance`], `RunningEmulator::advance_clock`,
//! `POST /emulator/clock`), so a test steps through time instead of sleeping.
//!
//! The injected latency (`latencyMs`) is the network's and stays real time.

use chrono::{DateTime, Utc};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The system clock, or a shared manual clock (clones advance together).
#[derive(Debug, Clone, Default)]
pub struct Clock(Option<Arc<Manual>>);

#[derive(Debug)]
struct Manual {
    start: Instant,
    start_wall: DateTime<Utc>,
    elapsed: Mutex<Duration>,
}

impl Clock {
    /// The system clock (the default).
    pub fn system() -> Clock {
        Clock(None)
    }

    /// A clock that starts at the present and stands still until advanced.
    pub fn manual() -> Clock {
        Clock(Some(Arc::new(Manual {
            start: Instant::now(),
            start_wall: Utc::now(),
            elapsed: Mutex::new(Duration::ZERO),
        })))
    }

    pub fn is_manual(&self) -> bool {
        self.0.is_some()
    }

    /// How far a manual clock was advanced since it started; `None` for the system clock.
    pub fn elapsed(&self) -> Option<Duration> {
        self.0
            .as_ref()
            .map(|m| *m.elapsed.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// Move a manual clock forward by `by`. The system clock cannot be moved: `false`.
    pub fn advance(&self, by: Duration) -> bool {
        match &self.0 {
            Some(m) => {
                *m.elapsed.lock().unwrap_or_else(|p| p.into_inner()) += by;
                true
            }
            None => false,
        }
    }

    /// The monotonic present (deadlines: processing, locks, tokens, the rate limit).
    pub(crate) fn now(&self) -> Instant {
        match &self.0 {
            Some(m) => m.start + self.elapsed().unwrap_or_default(),
            None => Instant::now(),
        }
    }

    /// The wall-clock present (`dateModified`).
    pub(crate) fn wall(&self) -> DateTime<Utc> {
        match &self.0 {
            Some(m) => {
                m.start_wall
                    + chrono::Duration::from_std(self.elapsed().unwrap_or_default())
                        .unwrap_or(chrono::Duration::MAX)
            }
            None => Utc::now(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manual_clock_moves_only_when_advanced_and_its_clones_with_it() {
        let c = Clock::manual();
        let (t0, w0) = (c.now(), c.wall());
        assert_eq!((c.now(), c.wall()), (t0, w0));
        let other = c.clone();
        assert!(other.advance(Duration::from_millis(250)));
        assert_eq!(c.now() - t0, Duration::from_millis(250));
        assert_eq!(c.wall() - w0, chrono::Duration::milliseconds(250));
        assert_eq!(c.elapsed(), Some(Duration::from_millis(250)));
    }

    #[test]
    fn the_system_clock_cannot_be_advanced() {
        let c = Clock::system();
        assert!(!c.is_manual());
        assert!(!c.advance(Duration::from_secs(1)));
        assert_eq!(c.elapsed(), None);
        let t0 = c.now();
        assert!(c.now() >= t0);
    }
}
