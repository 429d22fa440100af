//! Time values as the export writes them, and their resolution to UTC instants.
//!
//! Invariant: a local wall-clock value is kept exactly as written, next to its zone, until `map`
//! resolves it; resolution reports `Ambiguous` (both candidates) and `Nonexistent` explicitly and never
//! picks one silently. Every instant the toolkit stores is UTC seconds since the Unix epoch.
//!
//! The time module: this file (values as written, their resolution in a zone, the offset cache),
//! [`zone`] (which zone applies to a row: the zone chain, and the zone cache) and [`dst`] (the DST
//! policy). `map` and `validate` both use these; neither resolves time on its own.

pub(crate) mod dst;
pub(crate) mod zone;

use chrono::{DateTime, LocalResult, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;

/// How a value was written. Stored in the snapshot as a small integer so the exact text can be
/// rebuilt (`render`) without storing it.
pub mod fmt {
    /// Local wall clock, no offset: `secs` are the naive date-time as if it were UTC.
    pub const LOCAL: u8 = 0;
    /// RFC 3339 with offset or `Z`: `secs` are UTC; the text as written is stored beside it.
    pub const RFC3339: u8 = 1;
    /// Unix seconds (UTC), as the WFM API returns.
    pub const UNIX: u8 = 2;
    pub const KIND_MASK: u8 = 3;
    /// `T` between date and time (else a space).
    pub const T_SEP: u8 = 4;
    /// Seconds were written (`HH:MM:SS`).
    pub const SECS: u8 = 8;
}

/// Years outside this range are rejected as absurd (a typo or a sentinel such as 0001 or 9999).
pub const MIN_YEAR: i32 = 1970;
pub const MAX_YEAR: i32 = 2200;

/// The packed `fmt` column of a start and an end format, as the snapshot stores it.
pub fn pack_fmt(start: u8, end: u8) -> i64 {
    start as i64 | (end as i64) << 8
}

/// The start's and the end's format out of a packed `fmt` column (`start_fmt | end_fmt << 8`).
pub fn split_fmt(packed: i64) -> (u8, u8) {
    ((packed & 0xff) as u8, ((packed >> 8) & 0xff) as u8)
}

/// A parsed time value: seconds (naive local or UTC, per `fmt`) and how it was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeVal {
    pub secs: i64,
    pub fmt: u8,
}

impl TimeVal {
    /// A record's start and end as the snapshot stores them: two seconds columns and one packed
    /// `fmt` column (`start_fmt | end_fmt << 8`, see `extract::stage::SCHEMA`).
    pub fn start_end(start: i64, end: i64, packed_fmt: i64) -> (TimeVal, TimeVal) {
        let (a, b) = split_fmt(packed_fmt);
        (
            TimeVal {
                secs: start,
                fmt: a,
            },
            TimeVal { secs: end, fmt: b },
        )
    }

    pub fn is_local(self) -> bool {
        self.fmt & fmt::KIND_MASK == fmt::LOCAL
    }
    /// The export column a start (`start`) or end value of this form is written in: `start_local`
    /// / `end_local`, `startTime` / `endTime` (Unix seconds), else `start` / `end`.
    pub(crate) fn column(self, start: bool) -> &'static str {
        match (self.fmt & fmt::KIND_MASK, start) {
            (fmt::LOCAL, true) => "start_local",
            (fmt::LOCAL, false) => "end_local",
            (fmt::UNIX, true) => "startTime",
            (fmt::UNIX, false) => "endTime",
            (_, true) => "start",
            (_, false) => "end",
        }
    }
    /// Non-zero seconds: Genesys schedules in whole minutes.
    pub fn has_sub_minute(self) -> bool {
        self.secs.rem_euclid(60) != 0 || self.fmt & FRACTION != 0
    }
    pub fn naive(self) -> NaiveDateTime {
        DateTime::from_timestamp(self.secs, 0)
            .expect("in range by construction")
            .naive_utc()
    }
}

fn digits(b: &[u8]) -> Option<u32> {
    let mut v = 0u32;
    for &c in b {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v * 10 + (c - b'0') as u32;
    }
    Some(v)
}

/// Days from 1970-01-01 to a civil date (Howard Hinnant's algorithm).
pub fn days_from_civil(y: i32, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y } as i64;
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let m = m as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
}

fn days_in_month(y: i32, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        _ => 28,
    }
}

/// Why a value could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TimeError {
    Malformed,
    YearOutOfRange(i32),
    OutOfRange,
}

impl std::fmt::Display for TimeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TimeError::Malformed => f.write_str(
                "not a date-time: expected `YYYY-MM-DD HH:MM[:SS]` (local), RFC 3339 with an offset, or Unix seconds",
            ),
            TimeError::YearOutOfRange(y) => {
                write!(f, "year {y} is outside {MIN_YEAR}–{MAX_YEAR}: a typo or a placeholder date")
            }
            TimeError::OutOfRange => f.write_str("a date or time field is out of range (month 13, day 31 of a 30-day month, 25:00, …)"),
        }
    }
}

fn check_date(y: u32, mo: u32, d: u32) -> Result<(), TimeError> {
    let y = y as i32;
    if !(MIN_YEAR..=MAX_YEAR).contains(&y) {
        return Err(TimeError::YearOutOfRange(y));
    }
    if !(1..=12).contains(&mo) || d == 0 || d > days_in_month(y, mo) {
        return Err(TimeError::OutOfRange);
    }
    Ok(())
}

/// Parse a local wall-clock value `YYYY-MM-DD HH:MM[:SS]` or `YYYY-MM-DDTHH:MM[:SS]` (no offset).
pub fn parse_local(s: &str) -> Result<TimeVal, TimeError> {
    let b = s.as_bytes();
    if !(b.len() == 16 || b.len() == 19) || b[4] != b'-' || b[7] != b'-' || b[13] != b':' {
        return Err(TimeError::Malformed);
    }
    let sep = b[10];
    if sep != b' ' && sep != b'T' {
        return Err(TimeError::Malformed);
    }
    let y = digits(&b[0..4]).ok_or(TimeError::Malformed)?;
    let mo = digits(&b[5..7]).ok_or(TimeError::Malformed)?;
    let d = digits(&b[8..10]).ok_or(TimeError::Malformed)?;
    let h = digits(&b[11..13]).ok_or(TimeError::Malformed)?;
    let mi = digits(&b[14..16]).ok_or(TimeError::Malformed)?;
    let (sec, has_secs) = if b.len() == 19 {
        if b[16] != b':' {
            return Err(TimeError::Malformed);
        }
        (digits(&b[17..19]).ok_or(TimeError::Malformed)?, true)
    } else {
        (0, false)
    };
    check_date(y, mo, d)?;
    if h > 23 || mi > 59 || sec > 59 {
        return Err(TimeError::OutOfRange);
    }
    let secs = days_from_civil(y as i32, mo, d) * 86400 + (h * 3600 + mi * 60 + sec) as i64;
    let mut f = fmt::LOCAL;
    if sep == b'T' {
        f |= fmt::T_SEP;
    }
    if has_secs {
        f |= fmt::SECS;
    }
    Ok(TimeVal { secs, fmt: f })
}

/// Parse an RFC 3339 instant with an offset or `Z`.
pub fn parse_rfc3339(s: &str) -> Result<TimeVal, TimeError> {
    let dt = DateTime::parse_from_rfc3339(s).map_err(|_| TimeError::Malformed)?;
    let y = chrono::Datelike::year(&dt.naive_utc());
    if !(MIN_YEAR..=MAX_YEAR).contains(&y) {
        return Err(TimeError::YearOutOfRange(y));
    }
    let mut f = fmt::RFC3339;
    if s.as_bytes().get(10) == Some(&b'T') || s.as_bytes().get(10) == Some(&b't') {
        f |= fmt::T_SEP;
    }
    // Sub-second precision is kept out of `secs`; a non-zero fraction is flagged (a sub-minute time).
    let frac = if dt.timestamp_subsec_nanos() != 0 {
        FRACTION
    } else {
        0
    };
    Ok(TimeVal {
        secs: dt.timestamp(),
        fmt: f | frac,
    })
}

/// Set on an RFC 3339 value that had a non-zero fraction of a second.
pub const FRACTION: u8 = 0x10;

/// Parse Unix seconds (UTC).
pub fn parse_unix(s: &str) -> Result<TimeVal, TimeError> {
    let v: i64 = s.trim().parse().map_err(|_| TimeError::Malformed)?;
    unix(v)
}

pub fn unix(v: i64) -> Result<TimeVal, TimeError> {
    let min = days_from_civil(MIN_YEAR, 1, 1) * 86400;
    let max = days_from_civil(MAX_YEAR + 1, 1, 1) * 86400;
    if !(min..max).contains(&v) {
        let y = DateTime::from_timestamp(v, 0).map(|d| chrono::Datelike::year(&d.naive_utc()));
        return Err(y.map_or(TimeError::OutOfRange, TimeError::YearOutOfRange));
    }
    Ok(TimeVal {
        secs: v,
        fmt: fmt::UNIX,
    })
}

/// Parse any accepted form: local wall clock, RFC 3339, or (when `allow_unix`) Unix seconds.
pub fn parse_any(s: &str, allow_unix: bool) -> Result<TimeVal, TimeError> {
    let b = s.as_bytes();
    if (b.len() == 16 || b.len() == 19) && !s.ends_with('Z') && !s.ends_with('z') {
        return parse_local(s);
    }
    if allow_unix
        && !b.is_empty()
        && b.iter()
            .enumerate()
            .all(|(i, c)| c.is_ascii_digit() || (i == 0 && *c == b'-'))
    {
        return parse_unix(s);
    }
    parse_rfc3339(s)
}

/// Rebuild the text of a value from its seconds and format, exactly as written (local and Unix
/// forms; RFC 3339 values keep their own text beside them and render here in canonical UTC form).
pub fn render(v: TimeVal) -> String {
    match v.fmt & fmt::KIND_MASK {
        fmt::UNIX => v.secs.to_string(),
        fmt::RFC3339 => utc_string(v.secs),
        _ => {
            let n = v.naive();
            let sep = if v.fmt & fmt::T_SEP != 0 { 'T' } else { ' ' };
            if v.fmt & fmt::SECS != 0 {
                n.format(&format!("%Y-%m-%d{sep}%H:%M:%S")).to_string()
            } else {
                n.format(&format!("%Y-%m-%d{sep}%H:%M")).to_string()
            }
        }
    }
}

/// An instant in Genesys' form: `yyyy-MM-ddTHH:mm:ssZ` (written by hand for years 0–9999, as
/// chrono's `%Y-%m-%dT%H:%M:%SZ` would).
pub fn utc_string(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    if !(0..=9999).contains(&y) {
        return DateTime::from_timestamp(secs, 0)
            .map(|d| d.format("%Y-%m-%dT%H:%M:%SZ").to_string())
            .unwrap_or_else(|| format!("@{secs}"));
    }
    let t = secs.rem_euclid(86_400) as u32;
    let mut b = [0u8; 20];
    put_ymd(&mut b, y as u32, m, d);
    b[10] = b'T';
    put2(&mut b[11..13], t / 3600);
    b[13] = b':';
    put2(&mut b[14..16], t / 60 % 60);
    b[16] = b':';
    put2(&mut b[17..19], t % 60);
    b[19] = b'Z';
    String::from_utf8(b.to_vec()).expect("ascii")
}

/// [`date_string`] in a caller's buffer: no allocation for the years 0–9999 (every real schedule).
pub fn date_str(date: chrono::NaiveDate, b: &mut [u8; 10]) -> std::borrow::Cow<'_, str> {
    use chrono::Datelike;
    let y = date.year();
    if !(0..=9999).contains(&y) {
        return std::borrow::Cow::Owned(date_string(date));
    }
    put_ymd(b, y as u32, date.month(), date.day());
    std::borrow::Cow::Borrowed(std::str::from_utf8(b).expect("ascii"))
}

/// A date as `yyyy-mm-dd` (chrono's `%Y-%m-%d`, written by hand for years 0–9999).
pub fn date_string(date: chrono::NaiveDate) -> String {
    use chrono::Datelike;
    let y = date.year();
    if !(0..=9999).contains(&y) {
        return date.format("%Y-%m-%d").to_string();
    }
    let mut b = [0u8; 10];
    put_ymd(&mut b, y as u32, date.month(), date.day());
    String::from_utf8(b.to_vec()).expect("ascii")
}

fn put2(b: &mut [u8], v: u32) {
    b[0] = b'0' + (v / 10) as u8;
    b[1] = b'0' + (v % 10) as u8;
}

fn put_ymd(b: &mut [u8], y: u32, m: u32, d: u32) {
    put2(&mut b[0..2], y / 100);
    put2(&mut b[2..4], y % 100);
    b[4] = b'-';
    put2(&mut b[5..7], m);
    b[7] = b'-';
    put2(&mut b[8..10], d);
}

/// The civil date of a day count from 1970-01-01 (Howard Hinnant's algorithm; the inverse of
/// [`days_from_civil`]).
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// What a local wall-clock value means in a zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolved {
    /// One instant (UTC seconds).
    Single(i64),
    /// Happened twice (fall-back overlap): the earlier and the later instant.
    Ambiguous(i64, i64),
    /// Never happened (spring-forward gap).
    Nonexistent,
}

/// Resolve a naive local time (seconds as if UTC) in a zone. Never picks silently.
pub fn resolve(tz: Tz, naive_secs: i64) -> Resolved {
    let n = DateTime::from_timestamp(naive_secs, 0)
        .expect("in range")
        .naive_utc();
    match tz.from_local_datetime(&n) {
        LocalResult::Single(d) => Resolved::Single(d.timestamp()),
        LocalResult::Ambiguous(a, b) => {
            let (a, b) = (a.timestamp(), b.timestamp());
            Resolved::Ambiguous(a.min(b), a.max(b))
        }
        LocalResult::None => Resolved::Nonexistent,
    }
}

/// Per-(zone, hour) UTC offsets, so that resolving many values skips chrono-tz's search of the
/// zone's transitions. An hour with one offset at both ends is cached as that offset; an hour that
/// holds a transition is resolved exactly every time. Results are exactly those of [`resolve`] and
/// [`to_local`] (tested around transitions, including Lord Howe's half-hour one).
///
/// The hours are kept by (zone, day): one slot holds a day's 24 hours, each filled when first
/// asked. Values come in no order of time (shifts in id order), so a table of single hours lost
/// hours of one zone to another's that shared their slot; days in an open-addressed table keep
/// every day asked for (26 weeks of 3 zones fill a fifth of it) until it is three quarters full,
/// then start again empty.
#[derive(Clone)]
pub struct OffsetCache {
    /// Keyed by local hour (for [`resolve`]).
    local: DayTable,
    /// Keyed by UTC hour (for [`to_local`]).
    utc: DayTable,
}

const IN_TRANSITION: i32 = i32::MIN;
/// An hour of a held day not asked for yet (no UTC offset is a day long).
const UNKNOWN: i32 = i32::MAX;
/// Days an [`OffsetCache`] table holds (a power of two): 2,048 days of 24 offsets, 200 KB.
const DAY_SLOTS: usize = 1 << 11;

/// (zone, day) → the day's 24 hourly offsets (or [`IN_TRANSITION`], [`UNKNOWN`]), open-addressed
/// with linear probing.
#[derive(Clone)]
struct DayTable {
    /// `(day << 12) | zone` (about 600 zones: 12 bits), `i64::MIN` when the slot is free.
    keys: Vec<i64>,
    hours: Vec<[i32; 24]>,
    used: usize,
    /// The key and slot of the last day asked for (a shift's tasks ask for its day again).
    last: (i64, usize),
}

impl DayTable {
    fn new(slots: usize) -> DayTable {
        debug_assert!(slots.is_power_of_two() && slots >= 4);
        DayTable {
            keys: vec![i64::MIN; slots],
            hours: vec![[UNKNOWN; 24]; slots],
            used: 0,
            last: (i64::MIN, 0),
        }
    }

    /// The offset of `hour` in zone `tz`, `compute`d (and kept) the first time it is asked for.
    fn offset(&mut self, tz: Tz, hour: i64, compute: impl FnOnce() -> i32) -> i32 {
        let day = hour.div_euclid(24);
        let h = (hour - day * 24) as usize;
        let key = (day << 12) | tz as u32 as i64;
        let slot = if self.last.0 == key {
            self.last.1
        } else {
            let slot = self.slot(key);
            self.last = (key, slot);
            slot
        };
        let off = &mut self.hours[slot][h];
        if *off == UNKNOWN {
            *off = compute();
        }
        *off
    }

    /// The slot of day `key`, taken (with every hour unknown) if the table does not hold it.
    fn slot(&mut self, key: i64) -> usize {
        let mask = self.keys.len() - 1;
        let home = ((key as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 40) as usize & mask;
        let mut slot = home;
        loop {
            let k = self.keys[slot];
            if k == key {
                return slot;
            }
            if k == i64::MIN {
                if self.used >= self.keys.len() / 4 * 3 {
                    self.keys.fill(i64::MIN);
                    self.used = 0;
                    slot = home;
                }
                self.keys[slot] = key;
                self.hours[slot] = [UNKNOWN; 24];
                self.used += 1;
                return slot;
            }
            slot = (slot + 1) & mask;
        }
    }
}

impl Default for OffsetCache {
    fn default() -> Self {
        OffsetCache::with_days(DAY_SLOTS)
    }
}

impl OffsetCache {
    /// A cache whose tables hold `days` days each (a power of two, at least 4).
    fn with_days(days: usize) -> OffsetCache {
        OffsetCache {
            local: DayTable::new(days),
            utc: DayTable::new(days),
        }
    }

    /// [`resolve`], cached.
    pub fn resolve(&mut self, tz: Tz, naive: i64) -> Resolved {
        let hour = naive.div_euclid(3600);
        let off = self.local.offset(tz, hour, || {
            match (resolve(tz, hour * 3600), resolve(tz, hour * 3600 + 3599)) {
                (Resolved::Single(x), Resolved::Single(y))
                    if hour * 3600 - x == hour * 3600 + 3599 - y =>
                {
                    (hour * 3600 - x) as i32
                }
                _ => IN_TRANSITION,
            }
        });
        if off == IN_TRANSITION {
            resolve(tz, naive)
        } else {
            Resolved::Single(naive - off as i64)
        }
    }

    /// [`to_local`], cached.
    pub fn to_local(&mut self, tz: Tz, utc: i64) -> i64 {
        let hour = utc.div_euclid(3600);
        let off = self.utc.offset(tz, hour, || {
            let a = to_local(tz, hour * 3600) - hour * 3600;
            let b = to_local(tz, hour * 3600 + 3599) - (hour * 3600 + 3599);
            if a == b { a as i32 } else { IN_TRANSITION }
        });
        if off == IN_TRANSITION {
            to_local(tz, utc)
        } else {
            utc + off as i64
        }
    }
}

/// The local wall clock of an instant in a zone (naive seconds).
pub fn to_local(tz: Tz, utc_secs: i64) -> i64 {
    let d = Utc
        .timestamp_opt(utc_secs, 0)
        .single()
        .expect("in range")
        .with_timezone(&tz);
    d.naive_local().and_utc().timestamp()
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_packed_fmt_column_gives_back_both_formats() {
        for a in 0..=u8::MAX {
            for b in 0..=u8::MAX {
                let packed = super::pack_fmt(a, b);
                assert_eq!(packed, a as i64 + 256 * b as i64);
                assert_eq!(super::split_fmt(packed), (a, b));
                let (s, e) = super::TimeVal::start_end(10, 20, packed);
                assert_eq!((s.secs, s.fmt, e.secs, e.fmt), (10, a, 20, b));
            }
        }
    }

    use super::*;

    #[test]
    fn date_str_is_date_string_without_allocating() {
        let mut b = [0u8; 10];
        for (y, m, d) in [
            (2026, 8, 31),
            (0, 1, 1),
            (9999, 12, 31),
            (-1, 12, 27),
            (10000, 1, 1),
        ] {
            let date = chrono::NaiveDate::from_ymd_opt(y, m, d).unwrap();
            let s = date_str(date, &mut b);
            assert_eq!(s, date_string(date));
            assert_eq!(
                matches!(s, std::borrow::Cow::Borrowed(_)),
                (0..=9999).contains(&y)
            );
        }
    }

    #[test]
    fn offset_cache_matches_chrono_around_transitions() {
        let mut c = OffsetCache::default();
        for name in [
            "Europe/Paris",
            "America/Chicago",
            "Australia/Sydney",
            "Asia/Kolkata",
            "Australia/Lord_Howe",
            "America/St_Johns",
        ] {
            let tz: Tz = name.parse().unwrap();
            let start = parse_local("2026-01-01 00:00").unwrap().secs;
            // Every 15 minutes of a year, twice (cold and warm cache).
            for _ in 0..2 {
                let mut t = start;
                while t < start + 366 * 86400 {
                    assert_eq!(c.resolve(tz, t), resolve(tz, t), "{name} local {t}");
                    assert_eq!(c.to_local(tz, t), to_local(tz, t), "{name} utc {t}");
                    t += 900;
                }
            }
        }
    }

    proptest::proptest! {
        /// The cache gives what chrono gives, values in no order of time: across zones (with
        /// half-hour and 45-minute offsets, Lord Howe's half-hour DST), centuries, transitions,
        /// and a table so small that days share slots and it fills and starts again.
        #[test]
        fn offset_cache_matches_chrono_in_any_order(
            days in proptest::sample::select(vec![4usize, 8, 2048]),
            values in proptest::collection::vec(
                (proptest::sample::select(vec![
                    "Europe/Paris", "America/Chicago", "Australia/Lord_Howe", "Asia/Kolkata",
                    "Asia/Kathmandu", "America/St_Johns", "Pacific/Apia", "UTC",
                ]),
                 proptest::prop_oneof![
                     // around 2026's transitions, to the second
                     1_774_000_000i64..1_796_000_000,
                     // 1900-2100, any second
                     -2_208_988_800i64..4_102_444_800,
                 ]),
                1..300),
        ) {
            let mut c = OffsetCache::with_days(days);
            for (name, t) in values {
                let tz: Tz = name.parse().unwrap();
                proptest::prop_assert_eq!(c.resolve(tz, t), resolve(tz, t), "{} local {}", name, t);
                proptest::prop_assert_eq!(c.to_local(tz, t), to_local(tz, t), "{} utc {}", name, t);
            }
        }
    }

    #[test]
    fn local_forms_round_trip_exactly() {
        for s in [
            "2026-10-25 02:30",
            "2026-10-25T02:30",
            "2026-10-25 02:30:00",
            "2026-03-29T02:15:45",
        ] {
            let v = parse_local(s).unwrap();
            assert_eq!(render(v), s);
        }
    }

    #[test]
    fn rejects_malformed_and_absurd() {
        assert_eq!(parse_local("2026-13-01 10:00"), Err(TimeError::OutOfRange));
        assert_eq!(parse_local("2026-02-29 10:00"), Err(TimeError::OutOfRange));
        assert_eq!(
            parse_local("0000-01-01 10:00"),
            Err(TimeError::YearOutOfRange(0))
        );
        assert_eq!(
            parse_local("9999-01-01 10:00"),
            Err(TimeError::YearOutOfRange(9999))
        );
        assert_eq!(parse_local("2026-01-01 24:00"), Err(TimeError::OutOfRange));
        assert_eq!(parse_local("2026/01/01 10:00"), Err(TimeError::Malformed));
        assert!(parse_any("yesterday", true).is_err());
        assert!(parse_any("253402300800", true).is_err());
    }

    #[test]
    fn any_form_detects_kind() {
        assert!(parse_any("2026-10-25 02:30", false).unwrap().is_local());
        let r = parse_any("2026-10-25T00:30:00Z", false).unwrap();
        assert_eq!(r.fmt & fmt::KIND_MASK, fmt::RFC3339);
        assert_eq!(utc_string(r.secs), "2026-10-25T00:30:00Z");
        let u = parse_any("1792888200", true).unwrap();
        assert_eq!(u.fmt, fmt::UNIX);
    }

    #[test]
    fn paris_2026_transitions() {
        let tz: Tz = "Europe/Paris".parse().unwrap();
        let amb = parse_local("2026-10-25 02:30").unwrap();
        match resolve(tz, amb.secs) {
            Resolved::Ambiguous(a, b) => {
                assert_eq!(utc_string(a), "2026-10-25T00:30:00Z");
                assert_eq!(utc_string(b), "2026-10-25T01:30:00Z");
            }
            other => panic!("{other:?}"),
        }
        let gap = parse_local("2026-03-29 02:15").unwrap();
        assert_eq!(resolve(tz, gap.secs), Resolved::Nonexistent);
        let ok = parse_local("2026-03-29 03:00").unwrap();
        assert_eq!(
            resolve(tz, ok.secs),
            Resolved::Single(parse_any("2026-03-29T01:00:00Z", false).unwrap().secs)
        );
    }

    #[test]
    fn hand_formatting_matches_chrono() {
        let mut t: i64 = -86_400 * 800_000;
        while t < 86_400 * 3_000_000 {
            let chrono_form = DateTime::from_timestamp(t, 0)
                .unwrap()
                .format("%Y-%m-%dT%H:%M:%SZ")
                .to_string();
            assert_eq!(utc_string(t), chrono_form, "{t}");
            let date = DateTime::from_timestamp(t, 0).unwrap().date_naive();
            assert_eq!(date_string(date), date.format("%Y-%m-%d").to_string());
            t += 7_777_777 + 13;
        }
        assert_eq!(utc_string(0), "1970-01-01T00:00:00Z");
        assert_eq!(utc_string(-1), "1969-12-31T23:59:59Z");
        assert_eq!(utc_string(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(utc_string(i64::MAX), format!("@{}", i64::MAX));
    }

    #[test]
    fn civil_days_match_chrono() {
        for (y, m, d) in [(1970, 1, 1), (2000, 2, 29), (2026, 10, 25), (2199, 12, 31)] {
            let c = chrono::NaiveDate::from_ymd_opt(y, m, d)
                .unwrap()
                .and_hms_opt(0, 0, 0)
                .unwrap();
            assert_eq!(days_from_civil(y, m, d) * 86400, c.and_utc().timestamp());
        }
    }
}
