//! The emulated org and every rule the contract puts on it: versions, week ids, validation of
//! uploads, the patch semantics of updates, asynchronous processing, tokens, rate limits, locks and
//! concurrent edits.
//!
//! Everything here is synchronous and runs under one lock (see `http.rs`); time comes in as
//! arguments, so the rules are plain functions of the state.
//!
//! This file holds the records and the [`State`] itself; the rules are by family: `org.rs` (load a
//! fixture or a dump, dump the state), `auth.rs` (tokens, the rate limit), `reads.rs` (every read
//! call), `uploads.rs` (upload URLs and their `PUT`), `writes.rs` (locks, If-Match, the blank
//! create, imports, updates and their patch semantics, deletes), `operations.rs` (asynchronous
//! processing), `edits.rs` (concurrent edits), `timeoff.rs` (time-off requests).
//!
//! Invariants:
//! - A schedule's version goes up by one whenever it or any agent schedule in it changes; an agent
//!   schedule's version goes up by one whenever it changes.
//! - A refused or failed write changes nothing.
//! - Lookups by id or e-mail are hash lookups; nothing scans all users per request.

use super::clock::Clock;
use super::faults::{Faults, Rng, TokenBucket};
use super::fixture::{ConcurrentEdit, FixtureTrade, OperationRecord, OrgInfo};
use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc, Weekday};
use genesys::model::{self as m, InstantError, format_instant};
pub(crate) use genesys::model::{day_name as weekday_name, parse_day_name as parse_weekday};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;
use std::time::Instant;

mod auth;
mod edits;
mod operations;
mod org;
mod reads;
mod timeoff;
mod uploads;
mod writes;

#[cfg(test)]
mod tests;

/// A Genesys-shaped refusal; `http.rs` turns it into an [`m::ErrorBody`] with the correlation id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ApiError {
    pub status: u16,
    pub code: &'static str,
    pub message: String,
    pub field: Option<String>,
    pub entity_id: Option<String>,
    /// Seconds, for a `429`.
    pub retry_after: Option<u64>,
}

impl ApiError {
    pub(crate) fn new(status: u16, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
            field: None,
            entity_id: None,
            retry_after: None,
        }
    }
    pub(crate) fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(400, "bad.request", message)
    }
    /// A `400 wfm.validation.failure` about one field.
    pub(crate) fn invalid(field: impl Into<String>, message: impl Into<String>) -> ApiError {
        let field = field.into();
        let message = format!("{field}: {}", message.into());
        ApiError {
            field: Some(field),
            ..ApiError::new(400, "wfm.validation.failure", message)
        }
    }
    pub(crate) fn not_found(what: &str, id: &str) -> ApiError {
        ApiError {
            entity_id: Some(id.into()),
            ..ApiError::new(
                404,
                "wfm.entity.not.found",
                format!("{what} {id} was not found"),
            )
        }
    }
    /// `409`: a stale, missing or unexpected version.
    pub(crate) fn version_conflict(message: impl Into<String>) -> ApiError {
        ApiError::new(409, "general.conflict", message)
    }
    /// `409`: the transient lock.
    pub(crate) fn locked() -> ApiError {
        ApiError::new(
            409,
            "general.conflict",
            "The requested resource is currently being modified by another process",
        )
    }
}

fn instant_error(field: String, e: InstantError) -> ApiError {
    ApiError {
        field: Some(field.clone()),
        ..ApiError::new(
            400,
            "invalid.date",
            format!(
                "{field}: {e}; dates must be specified as ISO-8601 strings in UTC on a whole minute"
            ),
        )
    }
}

/// An activity inside a shift. Its strings are shared (`Strings`): a cutover's millions of activities
/// name a few dozen codes and descriptions.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Activity {
    pub start: DateTime<Utc>,
    pub length: i64,
    pub description: Arc<str>,
    pub code: Arc<str>,
    pub paid: Option<bool>,
    /// The time-off request an approved request's activity belongs to (from a fixture).
    pub time_off: Option<Arc<str>>,
}

/// One copy of each activity code, description and time-off id the schedules hold.
#[derive(Debug, Default)]
pub(crate) struct Strings(std::collections::HashSet<Arc<str>>);

impl Strings {
    pub(crate) fn get(&mut self, s: &str) -> Arc<str> {
        if let Some(x) = self.0.get(s) {
            return x.clone();
        }
        let x: Arc<str> = Arc::from(s);
        self.0.insert(x.clone());
        x
    }
}

/// A shift of an agent schedule.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Shift {
    pub id: String,
    pub start: DateTime<Utc>,
    pub length: i64,
    pub activities: Vec<Activity>,
}

impl Shift {
    pub(crate) fn to_api(&self) -> m::BuAgentScheduleShift {
        m::BuAgentScheduleShift {
            id: Some(self.id.clone()),
            start_date: format_instant(self.start),
            length_minutes: self.length,
            activities: self
                .activities
                .iter()
                .map(|a| m::BuAgentScheduleActivity {
                    start_date: format_instant(a.start),
                    length_minutes: a.length,
                    description: a.description.to_string(),
                    activity_code_id: a.code.to_string(),
                    paid: a.paid,
                    time_off_request_id: a.time_off.as_deref().map(str::to_string),
                })
                .collect(),
            manually_edited: None,
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct AgentSchedule {
    pub version: i64,
    pub modified: DateTime<Utc>,
    pub shifts: Vec<Shift>,
}

#[derive(Debug, Clone)]
pub(crate) struct Schedule {
    pub id: String,
    pub bu: String,
    pub week: NaiveDate,
    pub week_count: u32,
    pub description: String,
    pub published: bool,
    pub version: i64,
    pub modified: DateTime<Utc>,
    pub agents: BTreeMap<String, AgentSchedule>,
}

#[derive(Debug, Clone)]
pub(crate) struct BusinessUnit {
    pub id: String,
    pub name: String,
    pub zone: chrono_tz::Tz,
    pub zone_name: String,
    pub start_day: Weekday,
    pub codes: Vec<m::BusinessUnitActivityCode>,
    pub mus: Vec<String>,
}

impl BusinessUnit {
    /// The UTC bounds `[start, end)` of `week_count` weeks from local midnight of `week`.
    pub(crate) fn week_bounds(
        &self,
        week: NaiveDate,
        week_count: u32,
    ) -> (DateTime<Utc>, DateTime<Utc>) {
        let start = local_midnight(self.zone, week);
        let end = local_midnight(self.zone, week + Duration::weeks(week_count.max(1) as i64));
        (start, end)
    }

    fn active_code(&self, id: &str) -> bool {
        self.codes.iter().any(|c| c.id == id && c.active)
    }
}

/// Local midnight of `day` in `zone`, as UTC. A midnight that falls in a spring-forward gap (a few
/// zones switch at 00:00) becomes the first instant after the gap; an ambiguous one the earlier.
fn local_midnight(zone: chrono_tz::Tz, day: NaiveDate) -> DateTime<Utc> {
    let naive = day.and_hms_opt(0, 0, 0).expect("midnight exists");
    match zone.from_local_datetime(&naive) {
        chrono::LocalResult::Single(t) => t.with_timezone(&Utc),
        chrono::LocalResult::Ambiguous(earlier, _) => earlier.with_timezone(&Utc),
        chrono::LocalResult::None => {
            let later = zone
                .from_local_datetime(&(naive + Duration::hours(1)))
                .earliest();
            later
                .expect("a gap is shorter than an hour")
                .with_timezone(&Utc)
        }
    }
}

#[derive(Debug, Clone)]
struct UserRec {
    id: String,
    name: String,
    email: String,
    state: String,
}

#[derive(Debug, Clone)]
struct MuRec {
    id: String,
    name: String,
    bu: String,
    users: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum UploadTarget {
    Import {
        bu: String,
        week: NaiveDate,
    },
    Update {
        bu: String,
        week: NaiveDate,
        schedule: String,
    },
}

#[derive(Debug, Clone)]
struct Upload {
    target: UploadTarget,
    content_length: u64,
    headers: BTreeMap<String, String>,
    body: Option<Vec<u8>>,
}

#[derive(Debug, Clone)]
enum ShiftPatch {
    Replace(Shift),
    Delete(String),
    Add(Shift),
}

#[derive(Debug, Clone)]
struct AgentPatch {
    user: String,
    delete: bool,
    base_version: Option<i64>,
    shifts: Vec<ShiftPatch>,
}

#[derive(Debug, Clone)]
enum Payload {
    Import {
        description: String,
        week_count: u32,
        published: bool,
        agents: Vec<(String, Vec<Shift>)>,
    },
    Update {
        base_version: i64,
        description: Option<String>,
        published: Option<bool>,
        agents: Vec<AgentPatch>,
    },
    Delete,
}

#[derive(Debug, Clone)]
struct Operation {
    record: OperationRecord,
    due: Instant,
    payload: Option<Payload>,
    /// Drawn at submission (the `lateErrorRate` knob): ends `Error` with nothing applied.
    fail_late: bool,
}

struct TokenRec {
    client: String,
    expires: Instant,
}

/// The emulated org with the emulator's bookkeeping.
pub(crate) struct State {
    pub base_url: String,
    pub faults: Faults,
    /// Every deadline and `dateModified` stamp is read from it (system or manual).
    pub clock: Clock,
    client_id: String,
    client_secret: String,
    fault_rng: Rng,
    id_rng: Rng,
    org: Option<OrgInfo>,
    users: Vec<UserRec>,
    user_index: HashMap<String, usize>,
    email_index: HashMap<String, Vec<usize>>,
    bus: BTreeMap<String, BusinessUnit>,
    mus: HashMap<String, MuRec>,
    user_mu: HashMap<String, String>,
    schedules: HashMap<String, Schedule>,
    /// The strings the schedules' activities share.
    strings: Strings,
    trades: Vec<FixtureTrade>,
    uploads: HashMap<String, Upload>,
    operations: Vec<Operation>,
    pending: usize,
    downloads: VecDeque<(String, Vec<u8>)>,
    tokens: HashMap<String, TokenRec>,
    buckets: HashMap<String, TokenBucket>,
    locks: HashMap<String, Instant>,
    edits: Vec<ConcurrentEdit>,
    /// Weeks that got their drafts already (the `drafts` fidelity switch).
    drafted: std::collections::HashSet<(String, NaiveDate)>,
    /// Time-off requests in creation order, by id and by user.
    time_off: Vec<timeoff::TimeOff>,
    time_off_index: HashMap<String, usize>,
    time_off_by_user: HashMap<String, Vec<usize>>,
}

const MAX_DOWNLOADS: usize = 64;

/// Reply of a process call: `202 Processing` or `200 Complete`.
pub(crate) struct Accepted {
    pub status: u16,
    pub body: m::AsyncScheduleResponse,
}

impl State {
    pub(crate) fn new(
        client_id: String,
        client_secret: String,
        faults: Faults,
        clock: Clock,
    ) -> State {
        State {
            base_url: String::new(),
            clock,
            fault_rng: Rng::new(faults.seed),
            id_rng: Rng::new(faults.seed ^ 0x05EE_D1D5),
            faults,
            client_id,
            client_secret,
            org: None,
            users: vec![],
            user_index: HashMap::new(),
            email_index: HashMap::new(),
            bus: BTreeMap::new(),
            mus: HashMap::new(),
            user_mu: HashMap::new(),
            schedules: HashMap::new(),
            strings: Strings::default(),
            trades: vec![],
            uploads: HashMap::new(),
            operations: vec![],
            pending: 0,
            downloads: VecDeque::new(),
            tokens: HashMap::new(),
            buckets: HashMap::new(),
            locks: HashMap::new(),
            edits: vec![],
            drafted: Default::default(),
            time_off: vec![],
            time_off_index: HashMap::new(),
            time_off_by_user: HashMap::new(),
        }
    }

    pub(crate) fn set_faults(&mut self, faults: Faults) {
        if faults.seed != self.faults.seed {
            self.id_rng = Rng::new(faults.seed ^ 0x05EE_D1D5);
        }
        self.fault_rng = Rng::new(faults.seed);
        self.faults = faults;
    }

    /// Move a manual clock forward and settle what became due; refused on the system clock.
    pub(crate) fn advance_clock(&mut self, by: std::time::Duration) -> Result<(), ApiError> {
        if !self.clock.advance(by) {
            return Err(ApiError::new(
                409,
                "clock.not.manual",
                "the emulator runs on the system clock; start it with a manual clock (zd2gc emulate --manual-clock) to advance it",
            ));
        }
        let now = self.clock.now();
        self.settle(now);
        Ok(())
    }

    pub(crate) fn rng(&mut self) -> &mut Rng {
        &mut self.fault_rng
    }

    pub(crate) fn new_id(&mut self) -> String {
        self.id_rng.uuid()
    }
}

/// `dateModified` of a fixture's metadata (kept across a dump and a reload), else `now`.
fn modified_at(meta: Option<&m::WfmVersionedEntityMetadata>, now: DateTime<Utc>) -> DateTime<Utc> {
    meta.and_then(|m| m.date_modified.as_deref())
        .and_then(|d| DateTime::parse_from_rfc3339(d).ok())
        .map_or(now, |d| d.with_timezone(&Utc))
}

fn metadata(version: i64, modified: DateTime<Utc>) -> m::WfmVersionedEntityMetadata {
    m::WfmVersionedEntityMetadata {
        version,
        modified_by: None,
        date_modified: Some(format_instant(modified)),
    }
}

fn reference(id: &str, uri: String) -> m::UserReference {
    m::UserReference {
        id: id.into(),
        self_uri: Some(uri),
    }
}
