//! Which zone applies to a row, and the zones themselves, fast.
//!
//! The zone chain: the row's own zone, else the agent's, else the agent's location's, else the
//! configured default — the first name *given* wins, even when it is not a valid zone (a bad name is
//! an error to report where it is written, never silently skipped for the next one).
//!
//! [`Zones`] parses each distinct zone name once into a small index, and resolves each (zone, local
//! hour) once through [`OffsetCache`]: an hour with one UTC offset at both ends is cached as that
//! offset, an hour holding a transition is resolved exactly every time. `map` and `validate` share
//! it.

use super::dst::{self, Instant, TimeIssue};
use super::{OffsetCache, Resolved, TimeVal};
use crate::config::DstPolicy;
use chrono_tz::Tz;
use rustc_hash::FxHashMap;

/// Where a row's zone came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ZoneSource {
    Row,
    Agent,
    Location,
    Default,
}

/// The zone chain of one row: the first name given wins, even when it is not a valid zone (a bad
/// name is an error to report, never silently skipped for the next one).
pub(crate) fn zone_name<'a>(
    row: Option<&'a str>,
    agent: Option<&'a str>,
    location: Option<&'a str>,
    default: Option<&'a str>,
) -> Option<(&'a str, ZoneSource)> {
    let nz = |s: Option<&'a str>| s.map(str::trim).filter(|s| !s.is_empty());
    nz(row)
        .map(|z| (z, ZoneSource::Row))
        .or_else(|| nz(agent).map(|z| (z, ZoneSource::Agent)))
        .or_else(|| nz(location).map(|z| (z, ZoneSource::Location)))
        .or_else(|| nz(default).map(|z| (z, ZoneSource::Default)))
}

/// The zone that applies to a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ZoneSel {
    /// A known zone (index into [`Zones`]).
    Zone(u16),
    /// A name that is not in the tz database (reported where it is written).
    Unknown,
    /// No zone at all.
    Missing,
}

/// Zone names parsed once, and the hour cache.
#[derive(Clone, Default)]
pub(crate) struct Zones {
    by_name: FxHashMap<String, Option<u16>>,
    pub tzs: Vec<Tz>,
    names: Vec<String>,
    pub offsets: OffsetCache,
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

    /// The zone of a selection, or why there is none.
    pub fn tz(&self, zone: ZoneSel) -> Result<Tz, TimeIssue> {
        match zone {
            ZoneSel::Zone(z) => Ok(self.tzs[z as usize]),
            ZoneSel::Unknown => Err(TimeIssue::UnknownZone),
            ZoneSel::Missing => Err(TimeIssue::NoZone),
        }
    }

    /// The zone of a name (`NoZone` for none or an empty one), or why there is none.
    pub fn tz_named(&mut self, name: Option<&str>) -> Result<Tz, TimeIssue> {
        let z = self.sel(name);
        self.tz(z)
    }

    /// What a naive local time (seconds as if UTC) means in zone `z`.
    pub fn resolve(&mut self, z: u16, naive: i64) -> Resolved {
        self.offsets.resolve(self.tzs[z as usize], naive)
    }

    /// A value as an instant under the DST policy ([`dst::resolve_value`], cached).
    pub fn resolve_value(
        &mut self,
        zone: ZoneSel,
        v: TimeVal,
        policy: DstPolicy,
    ) -> Result<Instant, TimeIssue> {
        let tz = self.tz(zone);
        let offsets = &mut self.offsets;
        dst::resolve_value_with(v, tz, policy, |tz, n| offsets.resolve(tz, n))
    }

    /// The instant of a value under the DST policy (`None` when it has none: no or unknown zone,
    /// a gap, or an ambiguous time under `reject`).
    pub fn instant(&mut self, zone: ZoneSel, v: TimeVal, policy: DstPolicy) -> Option<i64> {
        self.resolve_value(zone, v, policy).ok().map(|i| i.utc)
    }

    /// The local wall clock of an instant in a zone (naive seconds; UTC without a zone).
    pub fn local_of(&mut self, zone: ZoneSel, utc: i64) -> i64 {
        match zone {
            ZoneSel::Zone(z) => self.offsets.to_local(self.tzs[z as usize], utc),
            _ => utc,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::timeval::parse_local;

    #[test]
    fn zone_chain_first_given_wins() {
        assert_eq!(
            zone_name(None, Some(" "), Some("Europe/Paris"), Some("UTC")),
            Some(("Europe/Paris", ZoneSource::Location))
        );
        assert_eq!(
            zone_name(Some("Bad/Zone"), Some("UTC"), None, None),
            Some(("Bad/Zone", ZoneSource::Row))
        );
        assert_eq!(zone_name(None, None, None, None), None);
    }

    /// What `Zones` adds to `OffsetCache` (whose results are tested against chrono there):
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
        assert_eq!(z.tz(ZoneSel::Unknown), Err(TimeIssue::UnknownZone));
        assert_eq!(z.tz(ZoneSel::Missing), Err(TimeIssue::NoZone));
        assert_eq!(
            z.tz(ZoneSel::Zone(chicago)),
            Ok(chrono_tz::America::Chicago)
        );
        assert_eq!(z.tz_named(Some("Bad/Zone")), Err(TimeIssue::UnknownZone));
        assert_eq!(z.tz_named(None), Err(TimeIssue::NoZone));
    }
}
