//! Which zone applies to a row (row → agent → location → default) and what a local wall-clock value
//! means in it, fast: each zone name is parsed once, and each (zone, local hour) is resolved once —
//! an hour with one UTC offset at both ends is cached as that offset, an hour holding a transition
//! is resolved exactly every time.

use crate::config::DstPolicy;
use crate::timeval::{self, Resolved, TimeVal};
use chrono_tz::Tz;
use std::collections::HashMap;

/// The zone that applies to a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ZoneSel {
    /// A known zone (index into [`Zones`]).
    Zone(u16),
    /// A name that is not in the tz database (reported where it is written).
    Unknown,
    /// No zone at all.
    Missing,
}

/// Zone names parsed once, and the hour cache.
#[derive(Clone, Default)]
pub struct Zones {
    by_name: HashMap<String, Option<u16>>,
    pub tzs: Vec<Tz>,
    names: Vec<String>,
    cache: timeval::OffsetCache,
}

impl Zones {
    /// The zone of a name (trimmed); `Missing` for an empty one.
    pub fn sel(&mut self, name: Option<&str>) -> ZoneSel {
        let Some(name) = name.map(str::trim).filter(|s| !s.is_empty()) else {
            return ZoneSel::Missing;
        };
        if let Some(z) = self.by_name.get(name) {
            return z.map_or(ZoneSel::Unknown, ZoneSel::Zone);
        }
        let z = match name.parse::<Tz>() {
            Ok(tz) if self.tzs.len() < 4096 => {
                self.tzs.push(tz);
                self.names.push(name.to_string());
                Some((self.tzs.len() - 1) as u16)
            }
            _ => None,
        };
        self.by_name.insert(name.to_string(), z);
        z.map_or(ZoneSel::Unknown, ZoneSel::Zone)
    }

    pub fn name(&self, z: u16) -> &str {
        &self.names[z as usize]
    }

    /// What a naive local time (seconds as if UTC) means in zone `z`.
    pub fn resolve(&mut self, z: u16, naive: i64) -> Resolved {
        self.cache.resolve(self.tzs[z as usize], naive)
    }

    /// The instant of a value under the DST policy (`None` when it has none: no or unknown zone,
    /// a gap, or an ambiguous time under `reject`).
    pub fn instant(&mut self, zone: ZoneSel, v: TimeVal, policy: DstPolicy) -> Option<i64> {
        if !v.is_local() {
            return Some(v.secs);
        }
        let ZoneSel::Zone(z) = zone else { return None };
        match self.resolve(z, v.secs) {
            Resolved::Single(u) => Some(u),
            Resolved::Ambiguous(a, b) => match policy {
                DstPolicy::Reject => None,
                DstPolicy::Earlier => Some(a),
                DstPolicy::Later => Some(b),
            },
            Resolved::Nonexistent => None,
        }
    }

    /// The local wall clock of an instant in a zone (naive seconds; UTC without a zone).
    pub fn local_of(&mut self, zone: ZoneSel, utc: i64) -> i64 {
        match zone {
            ZoneSel::Zone(z) => self.cache.to_local(self.tzs[z as usize], utc),
            _ => utc,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::timeval::parse_local;

    /// What `Zones` adds to `timeval::OffsetCache` (whose results are tested against chrono there):
    /// names parsed once into indexes, and each index resolving in its own zone.
    #[test]
    fn zone_names_select_their_zone() {
        let mut z = Zones::default();
        let ZoneSel::Zone(paris) = z.sel(Some(" Europe/Paris ")) else {
            panic!("a known zone")
        };
        let ZoneSel::Zone(chicago) = z.sel(Some("America/Chicago")) else {
            panic!("a known zone")
        };
        assert_eq!(
            z.sel(Some("Europe/Paris")),
            ZoneSel::Zone(paris),
            "parsed once"
        );
        assert_ne!(paris, chicago);
        assert_eq!(z.name(paris), "Europe/Paris");
        let t = parse_local("2026-10-25 02:30").unwrap().secs;
        assert!(matches!(z.resolve(paris, t), Resolved::Ambiguous(..)));
        assert!(matches!(z.resolve(chicago, t), Resolved::Single(_)));
        let gap = parse_local("2026-03-29 02:30").unwrap().secs;
        assert_eq!(z.resolve(paris, gap), Resolved::Nonexistent);
        assert_eq!(z.sel(Some("Mars/Olympus")), ZoneSel::Unknown);
        assert_eq!(z.sel(Some("  ")), ZoneSel::Missing);
        assert_eq!(z.sel(None), ZoneSel::Missing);
    }
}
