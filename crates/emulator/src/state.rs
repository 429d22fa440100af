//! The emulated org and every rule the contract puts on it: versions, week ids, validation of
//! uploads, the patch semantics of updates, asynchronous processing, tokens, rate limits, locks and
//! concurrent edits.
//!
//! Everything here is synchronous and runs under one lock (see `http.rs`); time comes in as
//! arguments, so the rules are plain functions of the state.
//!
//! Invariants:
//! - A schedule's version goes up by one whenever it or any agent schedule in it changes; an agent
//!   schedule's version goes up by one whenever it changes.
//! - A refused or failed write changes nothing.
//! - Lookups by id or e-mail are hash lookups; nothing scans all users per request.

use super::faults::{Faults, Rng, TokenBucket};
use super::fixture::{
    Actor, ConcurrentEdit, Dump, Fixture, FixtureAgentSchedule, FixtureBusinessUnit,
    FixtureManagementUnit, FixtureSchedule, FixtureTrade, FixtureUser, OperationRecord, OrgInfo,
};
use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc, Weekday};
use genesys::model::{self as m, InstantError, format_instant, parse_instant};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::time::Instant;

mod timeoff;

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

/// An activity inside a shift.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Activity {
    pub start: DateTime<Utc>,
    pub length: i64,
    pub description: String,
    pub code: String,
    pub paid: Option<bool>,
    /// The time-off request an approved request's activity belongs to (from a fixture).
    pub time_off: Option<String>,
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
                    description: a.description.clone(),
                    activity_code_id: a.code.clone(),
                    paid: a.paid,
                    time_off_request_id: a.time_off.clone(),
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
    pub(crate) fn new(client_id: String, client_secret: String, faults: Faults) -> State {
        State {
            base_url: String::new(),
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

    pub(crate) fn rng(&mut self) -> &mut Rng {
        &mut self.fault_rng
    }

    pub(crate) fn new_id(&mut self) -> String {
        self.id_rng.uuid()
    }

    // ---------------------------------------------------------------- fixture and dump

    /// Replace the org with a fixture (or a dump). Faults, tokens and credentials are kept.
    pub(crate) fn load(&mut self, dump: &Dump) -> Result<(), Vec<String>> {
        let fx = &dump.org;
        let mut errors = Vec::new();
        let mut users = Vec::with_capacity(fx.users.len());
        let mut user_index = HashMap::with_capacity(fx.users.len());
        let mut email_index: HashMap<String, Vec<usize>> = HashMap::with_capacity(fx.users.len());
        for u in &fx.users {
            if user_index.insert(u.id.clone(), users.len()).is_some() {
                errors.push(format!("user {} appears twice", u.id));
            }
            email_index
                .entry(u.email.clone())
                .or_default()
                .push(users.len());
            users.push(UserRec {
                id: u.id.clone(),
                name: u.name.clone(),
                email: u.email.clone(),
                state: u.state.clone(),
            });
        }
        let mut bus = BTreeMap::new();
        let mut mus = HashMap::new();
        let mut user_mu = HashMap::new();
        for b in &fx.business_units {
            let zone: chrono_tz::Tz = match b.time_zone.parse() {
                Ok(z) => z,
                Err(_) => {
                    errors.push(format!(
                        "business unit {}: unknown time zone `{}`",
                        b.id, b.time_zone
                    ));
                    continue;
                }
            };
            let Some(start_day) = parse_weekday(&b.start_day_of_week) else {
                errors.push(format!(
                    "business unit {}: startDayOfWeek `{}` is not Sunday … Saturday",
                    b.id, b.start_day_of_week
                ));
                continue;
            };
            for mu in &b.management_units {
                for uid in &mu.user_ids {
                    if !user_index.contains_key(uid) {
                        errors.push(format!("management unit {}: unknown user {uid}", mu.id));
                    }
                    if let Some(prev) = user_mu.insert(uid.clone(), mu.id.clone()) {
                        errors.push(format!(
                            "user {uid} belongs to two management units ({prev}, {})",
                            mu.id
                        ));
                    }
                }
                mus.insert(
                    mu.id.clone(),
                    MuRec {
                        id: mu.id.clone(),
                        name: mu.name.clone(),
                        bu: b.id.clone(),
                        users: mu.user_ids.clone(),
                    },
                );
            }
            let codes = b
                .activity_codes
                .iter()
                .map(|c| m::BusinessUnitActivityCode {
                    metadata: Some(
                        c.metadata
                            .clone()
                            .unwrap_or(m::WfmVersionedEntityMetadata::version(1)),
                    ),
                    ..c.clone()
                })
                .collect();
            bus.insert(
                b.id.clone(),
                BusinessUnit {
                    id: b.id.clone(),
                    name: b.name.clone(),
                    zone,
                    zone_name: b.time_zone.clone(),
                    start_day,
                    codes,
                    mus: b.management_units.iter().map(|m| m.id.clone()).collect(),
                },
            );
        }
        let now = Utc::now();
        let mut schedules = HashMap::new();
        for s in &fx.schedules {
            let Some(bu) = bus.get(&s.business_unit_id) else {
                errors.push(format!(
                    "schedule {}: unknown business unit {}",
                    s.id, s.business_unit_id
                ));
                continue;
            };
            let week = match NaiveDate::parse_from_str(&s.week_id, "%Y-%m-%d") {
                Ok(w) if w.weekday() == bu.start_day => w,
                _ => {
                    errors.push(format!("schedule {}: weekId {} is not a {:?} (the business unit's first day of week)", s.id, s.week_id, bu.start_day));
                    continue;
                }
            };
            let mut agents = BTreeMap::new();
            for a in &s.agent_schedules {
                let mut shifts = Vec::with_capacity(a.shifts.len());
                for (i, sh) in a.shifts.iter().enumerate() {
                    let path = format!("schedule {} user {} shift {i}", s.id, a.user_id);
                    match convert_shift(&path, sh, bu) {
                        Ok(mut x) => {
                            x.id = sh
                                .id
                                .clone()
                                .unwrap_or_else(|| format!("{}-{}-{i}", s.id, a.user_id));
                            shifts.push(x)
                        }
                        Err(e) => errors.push(e.message),
                    }
                }
                let version = a.metadata.as_ref().map_or(1, |m| m.version);
                agents.insert(
                    a.user_id.clone(),
                    AgentSchedule {
                        version,
                        modified: modified_at(a.metadata.as_ref(), now),
                        shifts,
                    },
                );
            }
            schedules.insert(
                s.id.clone(),
                Schedule {
                    id: s.id.clone(),
                    bu: bu.id.clone(),
                    week,
                    week_count: s.week_count.max(1),
                    description: s.description.clone(),
                    published: s.published,
                    version: s.metadata.as_ref().map_or(1, |m| m.version),
                    modified: modified_at(s.metadata.as_ref(), now),
                    agents,
                },
            );
        }
        for t in &fx.shift_trades {
            if !mus.contains_key(&t.management_unit_id) {
                errors.push(format!(
                    "shift trade {}: unknown management unit {}",
                    t.id, t.management_unit_id
                ));
            }
        }
        for t in &fx.time_off_requests {
            let user = t.request.user.as_ref().map(|u| u.id.as_str()).unwrap_or("");
            if user_mu.get(user) != Some(&t.management_unit_id) {
                errors.push(format!(
                    "time off request {}: user `{user}` is not in management unit {}",
                    t.request.id, t.management_unit_id
                ));
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        self.org = fx.org.clone();
        self.users = users;
        self.user_index = user_index;
        self.email_index = email_index;
        self.bus = bus;
        self.mus = mus;
        self.user_mu = user_mu;
        self.schedules = schedules;
        self.drafted.clear();
        self.trades = fx.shift_trades.clone();
        self.uploads.clear();
        self.operations = dump
            .operations
            .iter()
            .map(|r| Operation {
                record: r.clone(),
                due: Instant::now(),
                payload: None,
                fail_late: false,
            })
            .collect();
        for op in &mut self.operations {
            if op.record.status == "Processing" {
                op.record.status = "Error".into();
                op.record.error = Some("the emulator restarted while it was processing".into());
            }
        }
        self.pending = 0;
        self.edits = dump.concurrent_edits.clone();
        self.locks.clear();
        self.downloads.clear();
        let mut errors = Vec::new();
        self.load_time_off(&fx.time_off_requests, &mut errors);
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(())
    }

    /// The whole state, in the fixture format with every version filled in.
    pub(crate) fn dump(&self) -> Dump {
        let business_units = self
            .bus
            .values()
            .map(|b| FixtureBusinessUnit {
                id: b.id.clone(),
                name: b.name.clone(),
                time_zone: b.zone_name.clone(),
                start_day_of_week: weekday_name(b.start_day).into(),
                activity_codes: b.codes.clone(),
                management_units: b
                    .mus
                    .iter()
                    .filter_map(|id| self.mus.get(id))
                    .map(|m| FixtureManagementUnit {
                        id: m.id.clone(),
                        name: m.name.clone(),
                        user_ids: m.users.clone(),
                    })
                    .collect(),
            })
            .collect();
        let mut schedules: Vec<&Schedule> = self.schedules.values().collect();
        schedules.sort_by(|a, b| (&a.bu, a.week, &a.id).cmp(&(&b.bu, b.week, &b.id)));
        let schedules = schedules
            .into_iter()
            .map(|s| FixtureSchedule {
                id: s.id.clone(),
                business_unit_id: s.bu.clone(),
                week_id: s.week.format("%Y-%m-%d").to_string(),
                week_count: s.week_count,
                description: s.description.clone(),
                published: s.published,
                metadata: Some(metadata(s.version, s.modified)),
                agent_schedules: s
                    .agents
                    .iter()
                    .map(|(uid, a)| FixtureAgentSchedule {
                        user_id: uid.clone(),
                        shifts: a.shifts.iter().map(Shift::to_api).collect(),
                        metadata: Some(metadata(a.version, a.modified)),
                    })
                    .collect(),
            })
            .collect();
        Dump {
            org: Fixture {
                org: self.org.clone(),
                users: self
                    .users
                    .iter()
                    .map(|u| FixtureUser {
                        id: u.id.clone(),
                        name: u.name.clone(),
                        email: u.email.clone(),
                        state: u.state.clone(),
                    })
                    .collect(),
                business_units,
                schedules,
                shift_trades: self.trades.clone(),
                time_off_requests: self.dump_time_off(),
            },
            concurrent_edits: self.edits.clone(),
            operations: self.operations.iter().map(|o| o.record.clone()).collect(),
            faults: self.faults.clone(),
        }
    }

    // ---------------------------------------------------------------- tokens and limits

    /// `POST /oauth/token` with the Basic credentials already decoded.
    pub(crate) fn issue_token(
        &mut self,
        client_id: &str,
        secret: &str,
        now: Instant,
    ) -> Option<m::TokenResponse> {
        if client_id != self.client_id || secret != self.client_secret {
            return None;
        }
        let token = self.id_rng.hex(24);
        let life = self.faults.token_lifetime_secs;
        self.tokens.insert(
            token.clone(),
            TokenRec {
                client: client_id.into(),
                expires: now + std::time::Duration::from_secs(life),
            },
        );
        if self.tokens.len() > 10_000 {
            self.tokens.retain(|_, t| t.expires > now);
        }
        Some(m::TokenResponse {
            access_token: token,
            token_type: "bearer".into(),
            expires_in: life,
        })
    }

    /// The client a bearer token belongs to, or `401`.
    pub(crate) fn authenticate(
        &self,
        authorization: Option<&str>,
        now: Instant,
    ) -> Result<String, ApiError> {
        let Some(token) = authorization.and_then(|h| {
            h.strip_prefix("Bearer ")
                .or_else(|| h.strip_prefix("bearer "))
        }) else {
            return Err(ApiError::new(
                401,
                "authentication.required",
                "No authentication bearer token specified in authorization header.",
            ));
        };
        match self.tokens.get(token.trim()) {
            None => Err(ApiError::new(
                401,
                "bad.credentials",
                "Invalid login credentials.",
            )),
            Some(t) if t.expires <= now => Err(ApiError::new(
                401,
                "authentication.required",
                "The access token has expired; request a new one.",
            )),
            Some(t) => Ok(t.client.clone()),
        }
    }

    /// Count one request against the client's bucket, or `429` with the seconds to wait.
    pub(crate) fn rate_limit(&mut self, client: &str, now: Instant) -> Result<(), ApiError> {
        let rpm = self.faults.rate_limit_rpm;
        if rpm == 0 {
            return Ok(());
        }
        let bucket = self
            .buckets
            .entry(client.to_string())
            .or_insert_with(|| TokenBucket::new(rpm, now));
        bucket.take(rpm, now).map_err(|wait| {
            let secs = wait.as_secs_f64().ceil().max(1.0) as u64;
            ApiError {
                retry_after: Some(secs),
                ..ApiError::new(
                    429,
                    "too.many.requests.retry.after",
                    format!(
                        "Rate limit exceeded the maximum. Retry the request in [{secs}] seconds"
                    ),
                )
            }
        })
    }

    // ---------------------------------------------------------------- reads

    pub(crate) fn users_search(
        &self,
        req: &m::UserSearchRequest,
    ) -> Result<m::UsersSearchResponse, ApiError> {
        if req.query.is_empty() {
            return Err(ApiError::invalid(
                "query",
                "at least one search criterion is required",
            ));
        }
        let mut hits: Option<Vec<usize>> = None;
        for (i, c) in req.query.iter().enumerate() {
            if c.kind != "EXACT" || c.fields.is_empty() || c.fields.iter().any(|f| f != "email") {
                return Err(ApiError::bad_request(format!(
                    "query[{i}]: the emulator supports only EXACT searches on the field `email`"
                )));
            }
            let values: Vec<&String> = c.value.iter().chain(c.values.iter().flatten()).collect();
            if values.is_empty() {
                return Err(ApiError::invalid(
                    format!("query[{i}].value"),
                    "a value is required",
                ));
            }
            let mut found: Vec<usize> = values
                .iter()
                .flat_map(|v| self.email_index.get(*v).into_iter().flatten().copied())
                .collect();
            found.sort_unstable();
            found.dedup();
            hits = Some(match hits {
                None => found,
                Some(prev) => prev.into_iter().filter(|x| found.contains(x)).collect(),
            });
        }
        let hits = hits.unwrap_or_default();
        let page_size = req.page_size.unwrap_or(25).clamp(1, 100) as usize;
        let page_number = req.page_number.unwrap_or(1).max(1) as usize;
        let results = hits
            .iter()
            .skip((page_number - 1) * page_size)
            .take(page_size)
            .map(|&i| {
                let u = &self.users[i];
                m::User {
                    id: u.id.clone(),
                    name: u.name.clone(),
                    email: Some(u.email.clone()),
                    state: Some(u.state.clone()),
                    version: 1,
                    self_uri: Some(format!("/api/v2/users/{}", u.id)),
                }
            })
            .collect();
        Ok(m::UsersSearchResponse {
            total: hits.len() as u64,
            page_count: hits.len().div_ceil(page_size) as u64,
            page_size: page_size as u64,
            page_number: page_number as u64,
            types: vec!["users".into()],
            results,
        })
    }

    pub(crate) fn agent_management_unit(
        &self,
        user_id: &str,
    ) -> Result<m::AgentManagementUnitReference, ApiError> {
        if !self.user_index.contains_key(user_id) {
            return Err(ApiError::not_found("user", user_id));
        }
        let mu = self
            .user_mu
            .get(user_id)
            .and_then(|id| self.mus.get(id))
            .ok_or_else(|| ApiError::not_found("management unit of agent", user_id))?;
        Ok(m::AgentManagementUnitReference {
            user: reference(user_id, format!("/api/v2/users/{user_id}")),
            management_unit: reference(
                &mu.id,
                format!("/api/v2/workforcemanagement/managementunits/{}", mu.id),
            ),
            business_unit: (!self.faults.omit_agent_business_unit).then(|| {
                reference(
                    &mu.bu,
                    format!("/api/v2/workforcemanagement/businessunits/{}", mu.bu),
                )
            }),
        })
    }

    /// `GET /managementunits/{muId}/users`: the unit's users.
    pub(crate) fn management_unit_users(
        &self,
        mu_id: &str,
    ) -> Result<m::Listing<m::UserReference>, ApiError> {
        let mu = self
            .mus
            .get(mu_id)
            .ok_or_else(|| ApiError::not_found("management unit", mu_id))?;
        Ok(m::Listing {
            entities: mu
                .users
                .iter()
                .map(|u| reference(u, format!("/api/v2/users/{u}")))
                .collect(),
            download_url: None,
        })
    }

    /// `GET /managementunits/{muId}`: the unit with its business unit.
    pub(crate) fn management_unit(&self, mu_id: &str) -> Result<m::ManagementUnit, ApiError> {
        let mu = self
            .mus
            .get(mu_id)
            .ok_or_else(|| ApiError::not_found("management unit", mu_id))?;
        Ok(m::ManagementUnit {
            id: mu.id.clone(),
            name: mu.name.clone(),
            business_unit: Some(reference(
                &mu.bu,
                format!("/api/v2/workforcemanagement/businessunits/{}", mu.bu),
            )),
            self_uri: Some(format!(
                "/api/v2/workforcemanagement/managementunits/{}",
                mu.id
            )),
        })
    }

    pub(crate) fn bu(&self, id: &str) -> Result<&BusinessUnit, ApiError> {
        self.bus
            .get(id)
            .ok_or_else(|| ApiError::not_found("business unit", id))
    }

    pub(crate) fn business_unit(
        &self,
        id: &str,
        settings: bool,
    ) -> Result<m::BusinessUnitResponse, ApiError> {
        let b = self.bu(id)?;
        Ok(m::BusinessUnitResponse {
            id: b.id.clone(),
            name: b.name.clone(),
            settings: settings.then(|| m::BusinessUnitSettingsResponse {
                start_day_of_week: weekday_name(b.start_day).into(),
                time_zone: b.zone_name.clone(),
                metadata: m::WfmVersionedEntityMetadata::version(1),
            }),
            self_uri: Some(format!(
                "/api/v2/workforcemanagement/businessunits/{}",
                b.id
            )),
        })
    }

    pub(crate) fn business_units(&self) -> m::Listing<m::NamedEntity> {
        let entities = self
            .bus
            .values()
            .map(|b| m::NamedEntity {
                id: b.id.clone(),
                name: b.name.clone(),
                self_uri: Some(format!(
                    "/api/v2/workforcemanagement/businessunits/{}",
                    b.id
                )),
            })
            .collect();
        m::Listing {
            entities,
            download_url: None,
        }
    }

    pub(crate) fn management_units(
        &self,
        bu: &str,
    ) -> Result<m::Listing<m::NamedEntity>, ApiError> {
        let b = self.bu(bu)?;
        let entities = b
            .mus
            .iter()
            .filter_map(|id| self.mus.get(id))
            .map(|m| m::NamedEntity {
                id: m.id.clone(),
                name: m.name.clone(),
                self_uri: Some(format!(
                    "/api/v2/workforcemanagement/managementunits/{}",
                    m.id
                )),
            })
            .collect();
        Ok(m::Listing {
            entities,
            download_url: None,
        })
    }

    pub(crate) fn activity_codes(
        &self,
        bu: &str,
    ) -> Result<m::Listing<m::BusinessUnitActivityCode>, ApiError> {
        Ok(m::Listing {
            entities: self.bu(bu)?.codes.clone(),
            download_url: None,
        })
    }

    /// The week id as a date, or `400` when it is not the business unit's first day of week.
    pub(crate) fn week(&self, bu: &str, week_id: &str) -> Result<NaiveDate, ApiError> {
        let b = self.bu(bu)?;
        let week = NaiveDate::parse_from_str(week_id, "%Y-%m-%d").map_err(|_| {
            ApiError::new(
                400,
                "invalid.date",
                format!("weekId `{week_id}` is not a date in yyyy-MM-dd format"),
            )
        })?;
        if week.weekday() != b.start_day {
            return Err(ApiError {
                field: Some("weekId".into()),
                ..ApiError::new(
                    400,
                    "wfm.validation.failure",
                    format!(
                        "weekId {week_id} is a {}, but business unit {bu} starts its weeks on {}",
                        weekday_name(week.weekday()),
                        weekday_name(b.start_day)
                    ),
                )
            });
        }
        Ok(week)
    }

    fn schedule_meta(&self, s: &Schedule, with_mus: bool) -> m::BuScheduleMetadata {
        let management_units = with_mus.then(|| {
            let mut counts: BTreeMap<&str, u64> = BTreeMap::new();
            for uid in s.agents.keys() {
                if let Some(mu) = self.user_mu.get(uid) {
                    *counts.entry(mu).or_default() += 1;
                }
            }
            counts
                .into_iter()
                .map(|(mu, n)| m::BuManagementUnitScheduleSummary {
                    management_unit: reference(
                        mu,
                        format!("/api/v2/workforcemanagement/managementunits/{mu}"),
                    ),
                    agent_count: n,
                })
                .collect()
        });
        m::BuScheduleMetadata {
            id: s.id.clone(),
            week_date: s.week.format("%Y-%m-%d").to_string(),
            week_count: s.week_count,
            description: s.description.clone(),
            published: s.published,
            metadata: metadata(s.version, s.modified),
            management_units,
            self_uri: Some(format!(
                "/api/v2/workforcemanagement/businessunits/{}/weeks/{}/schedules/{}",
                s.bu,
                s.week.format("%Y-%m-%d"),
                s.id
            )),
        }
    }

    /// Schedules of a week: every schedule of the business unit that spans it (drafts, copies and
    /// multi-week schedules included, as the real list is).
    pub(crate) fn week_schedules(
        &mut self,
        bu: &str,
        week_id: &str,
    ) -> Result<m::Listing<m::BuScheduleMetadata>, ApiError> {
        let week = self.week(bu, week_id)?;
        if self.faults.drafts {
            self.add_drafts(bu, week);
        }
        let mut list: Vec<&Schedule> = self
            .schedules
            .values()
            .filter(|s| {
                s.bu == bu && s.week <= week && week < s.week + Duration::weeks(s.week_count as i64)
            })
            .collect();
        list.sort_by(|a, b| (a.week, &a.id).cmp(&(b.week, &b.id)));
        Ok(m::Listing {
            entities: list
                .into_iter()
                .map(|s| self.schedule_meta(s, false))
                .collect(),
            download_url: None,
        })
    }

    /// The `drafts` fidelity switch: a week read for the first time gets two unpublished
    /// schedules, one of one week and one of two, with ids that sort before any other (a loader
    /// that takes the lowest id, or the first of the list, writes into a draft).
    fn add_drafts(&mut self, bu: &str, week: NaiveDate) {
        if !self.drafted.insert((bu.to_string(), week)) {
            return;
        }
        let now = Utc::now();
        for (n, (weeks, what)) in [(1u32, "what-if"), (2, "two-week what-if")]
            .into_iter()
            .enumerate()
        {
            let id = format!(
                "00000000-0000-4000-8000-{:012x}",
                self.id_rng.next_u64() >> 16 | n as u64
            );
            self.schedules.insert(
                id.clone(),
                Schedule {
                    id,
                    bu: bu.to_string(),
                    week,
                    week_count: weeks,
                    description: format!("Planner draft ({what}) {}", week.format("%Y-%m-%d")),
                    published: false,
                    version: 1,
                    modified: now,
                    agents: BTreeMap::new(),
                },
            );
        }
    }

    fn schedule_of(&self, bu: &str, week_id: &str, id: &str) -> Result<&Schedule, ApiError> {
        let week = self.week(bu, week_id)?;
        match self.schedules.get(id) {
            Some(s) if s.bu == bu && s.week == week => Ok(s),
            _ => Err(ApiError::not_found("schedule", id)),
        }
    }

    pub(crate) fn schedule(
        &self,
        bu: &str,
        week_id: &str,
        id: &str,
    ) -> Result<m::BuScheduleMetadata, ApiError> {
        let s = self.schedule_of(bu, week_id, id)?;
        Ok(self.schedule_meta(s, true))
    }

    /// `agentschedules/query`: inline, or as a download when larger than the threshold or forced.
    pub(crate) fn query_agent_schedules(
        &mut self,
        bu: &str,
        week_id: &str,
        id: &str,
        req: &m::BuQueryAgentSchedulesRequest,
        force_download: bool,
    ) -> Result<m::BuAsyncAgentSchedulesQueryResponse, ApiError> {
        self.schedule_of(bu, week_id, id)?;
        // The server may go asynchronous: `Processing`, an operation id, no result. Drawn only when
        // the knob is on, so the other knobs' seeded sequences do not move.
        let processing = self.faults.query_processing_rate;
        if processing > 0.0 && self.fault_rng.chance(processing) {
            return Ok(m::BuAsyncAgentSchedulesQueryResponse {
                status: "Processing".into(),
                operation_id: Some(self.id_rng.uuid()),
                result: None,
                download_url: None,
            });
        }
        let s = self.schedule_of(bu, week_id, id)?;
        let mu = match self.mus.get(&req.management_unit_id) {
            Some(mu) if mu.bu == bu => mu,
            _ => {
                return Err(ApiError::not_found(
                    "management unit",
                    &req.management_unit_id,
                ));
            }
        };
        let wanted: Option<std::collections::HashSet<&str>> = req
            .user_ids
            .as_ref()
            .map(|v| v.iter().map(String::as_str).collect());
        let agent_schedules: Vec<m::BuAgentScheduleQueryResponse> = s
            .agents
            .iter()
            .filter(|(uid, _)| self.user_mu.get(*uid) == Some(&mu.id))
            .filter(|(uid, _)| wanted.as_ref().is_none_or(|w| w.contains(uid.as_str())))
            .map(|(uid, a)| m::BuAgentScheduleQueryResponse {
                user: reference(uid, format!("/api/v2/users/{uid}")),
                shifts: a.shifts.iter().map(Shift::to_api).collect(),
                full_day_time_off_markers: vec![],
                metadata: metadata(a.version, a.modified),
            })
            .collect();
        let result = m::BuAgentSchedulesQueryResponse {
            agent_schedules,
            business_unit_time_zone: Some(self.bus[bu].zone_name.clone()),
        };
        if force_download || result.agent_schedules.len() > self.faults.download_threshold {
            let bytes = serde_json::to_vec(&result).expect("query result serializes");
            return Ok(m::BuAsyncAgentSchedulesQueryResponse {
                status: "Complete".into(),
                operation_id: None,
                result: None,
                download_url: Some(self.offer_download(bytes)),
            });
        }
        Ok(m::BuAsyncAgentSchedulesQueryResponse {
            status: "Complete".into(),
            operation_id: None,
            result: Some(result),
            download_url: None,
        })
    }

    /// Keep `bytes` behind a signed download URL (plain JSON, fetched without a bearer token).
    fn offer_download(&mut self, bytes: Vec<u8>) -> String {
        let key = self.id_rng.uuid();
        self.downloads.push_back((key.clone(), bytes));
        while self.downloads.len() > MAX_DOWNLOADS {
            self.downloads.pop_front();
        }
        format!("{}/download/{key}", self.base_url)
    }

    pub(crate) fn download(&self, key: &str) -> Option<Vec<u8>> {
        self.downloads
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, b)| b.clone())
    }

    /// A week's shift trades. `evaluate_matches` (the API's default, `true`) adds each trade's
    /// `matchReview`, as the real server does at a cost; a list longer than the download threshold
    /// comes only as a `downloadUrl` (the downloaded JSON never holds one itself).
    pub(crate) fn shift_trades(
        &mut self,
        mu_id: &str,
        week_id: &str,
        evaluate_matches: bool,
    ) -> Result<m::WeekShiftTradeListResponse, ApiError> {
        let mu = self
            .mus
            .get(mu_id)
            .ok_or_else(|| ApiError::not_found("management unit", mu_id))?;
        self.week(&mu.bu, week_id)?;
        let entities = self
            .trades
            .iter()
            .filter(|t| t.management_unit_id == mu_id && t.week_date == week_id)
            .map(|t| {
                let (ini_start, ini_end) = self.shift_span(
                    &mu.bu,
                    &t.initiating_user_id,
                    &t.initiating_shift_id,
                    t.initiating_shift_date.as_deref(),
                );
                let (rec_start, rec_end) = match (&t.receiving_user_id, &t.receiving_shift_id) {
                    (Some(u), Some(s)) => {
                        self.shift_span(&mu.bu, u, s, t.receiving_shift_date.as_deref())
                    }
                    _ => (t.receiving_shift_date.clone(), None),
                };
                m::WeekShiftTradeResponse {
                    trade: m::ShiftTradeResponse {
                        id: t.id.clone(),
                        week_date: t.week_date.clone(),
                        state: t.state.clone(),
                        initiating_user: reference(
                            &t.initiating_user_id,
                            format!("/api/v2/users/{}", t.initiating_user_id),
                        ),
                        initiating_shift_id: t.initiating_shift_id.clone(),
                        initiating_shift_start: ini_start,
                        initiating_shift_end: ini_end,
                        receiving_user: t
                            .receiving_user_id
                            .as_ref()
                            .map(|u| reference(u, format!("/api/v2/users/{u}"))),
                        receiving_shift_id: t.receiving_shift_id.clone(),
                        receiving_shift_start: rec_start,
                        receiving_shift_end: rec_end,
                        metadata: Some(m::WfmVersionedEntityMetadata::version(1)),
                    },
                    match_review: evaluate_matches.then(|| {
                        serde_json::json!({"initiatingUser": {}, "receivingUser": {}, "violations": []})
                    }),
                }
            })
            .collect::<Vec<_>>();
        if entities.len() > self.faults.download_threshold {
            let bytes = serde_json::to_vec(&m::WeekShiftTradeListResponse {
                entities,
                download_url: None,
            })
            .expect("trades serialize");
            return Ok(m::WeekShiftTradeListResponse {
                entities: vec![],
                download_url: Some(self.offer_download(bytes)),
            });
        }
        Ok(m::WeekShiftTradeListResponse {
            entities,
            download_url: None,
        })
    }

    /// Start and end of a traded shift, from the schedules when the shift is there, else the
    /// fixture's date.
    fn shift_span(
        &self,
        bu: &str,
        user: &str,
        shift_id: &str,
        date: Option<&str>,
    ) -> (Option<String>, Option<String>) {
        for s in self.schedules.values().filter(|s| s.bu == bu) {
            if let Some(sh) = s
                .agents
                .get(user)
                .and_then(|a| a.shifts.iter().find(|x| x.id == shift_id))
            {
                return (
                    Some(format_instant(sh.start)),
                    Some(format_instant(sh.start + Duration::minutes(sh.length))),
                );
            }
        }
        (date.map(str::to_string), None)
    }

    // ---------------------------------------------------------------- uploads

    /// Hand out an upload URL for a target.
    pub(crate) fn upload_url(
        &mut self,
        target: UploadTarget,
        content_length: u64,
    ) -> m::UploadUrlResponse {
        let key = self.id_rng.uuid();
        let signature = self.id_rng.hex(16);
        let headers: BTreeMap<String, String> = [
            ("Content-Type".to_string(), "application/json".to_string()),
            ("Content-Encoding".to_string(), "gzip".to_string()),
            (
                "x-amz-server-side-encryption".to_string(),
                "AES256".to_string(),
            ),
            ("x-emulator-signature".to_string(), signature),
        ]
        .into();
        self.uploads.insert(
            key.clone(),
            Upload {
                target,
                content_length,
                headers: headers.clone(),
                body: None,
            },
        );
        m::UploadUrlResponse {
            upload_key: key.clone(),
            url: format!("{}/upload/{key}", self.base_url),
            headers,
        }
    }

    /// The `PUT` of an upload: exact headers, exact length, gzip, and no bearer token.
    pub(crate) fn put_upload(
        &mut self,
        key: &str,
        headers: &axum::http::HeaderMap,
        body: &[u8],
    ) -> Result<(), ApiError> {
        let up = self.uploads.get_mut(key).ok_or_else(|| {
            ApiError::new(
                404,
                "not.found",
                format!("no upload URL was handed out for key {key}"),
            )
        })?;
        if headers.contains_key(axum::http::header::AUTHORIZATION) {
            return Err(ApiError::bad_request(
                "An Authorization header must not be sent to the upload URL (it is signed)",
            ));
        }
        for (name, value) in &up.headers {
            let got = headers.get(name.as_str()).and_then(|v| v.to_str().ok());
            if got != Some(value.as_str()) {
                return Err(ApiError::bad_request(format!(
                    "header {name} must be `{value}` as handed out with the upload URL, not {}",
                    got.map_or("absent".to_string(), |g| format!("`{g}`"))
                )));
            }
        }
        let declared = headers
            .get(axum::http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared != Some(up.content_length) || body.len() as u64 != up.content_length {
            return Err(ApiError::bad_request(format!(
                "Content-Length must be {} (the contentLengthBytes asked for), not {}",
                up.content_length,
                declared.map_or("absent".to_string(), |d| d.to_string())
            )));
        }
        let mut json = Vec::new();
        use std::io::Read;
        flate2::read::GzDecoder::new(body)
            .read_to_end(&mut json)
            .map_err(|e| ApiError::bad_request(format!("the body is not gzip: {e}")))?;
        up.body = Some(json);
        Ok(())
    }

    fn uploaded(&self, key: &str, target: &UploadTarget) -> Result<Vec<u8>, ApiError> {
        let up = self
            .uploads
            .get(key)
            .ok_or_else(|| ApiError::invalid("uploadKey", format!("unknown upload key {key}")))?;
        if &up.target != target {
            return Err(ApiError::invalid(
                "uploadKey",
                format!("upload key {key} was handed out for another schedule or week"),
            ));
        }
        up.body.clone().ok_or_else(|| {
            ApiError::invalid("uploadKey", format!("nothing was uploaded for key {key}"))
        })
    }

    // ---------------------------------------------------------------- locks and If-Match

    pub(crate) fn check_lock(&mut self, schedule: &str, now: Instant) -> Result<(), ApiError> {
        match self.locks.get(schedule) {
            Some(until) if *until > now => Err(ApiError::locked()),
            Some(_) => {
                self.locks.remove(schedule);
                Ok(())
            }
            None => Ok(()),
        }
    }

    /// After an accepted write, maybe lock the schedule for a short while (the `lockRate` knob).
    fn maybe_lock(&mut self, schedule: &str, now: Instant) {
        let rate = self.faults.lock_rate;
        if self.fault_rng.chance(rate) {
            let until = now + std::time::Duration::from_millis(self.faults.lock_ms);
            self.locks.insert(schedule.to_string(), until);
        }
    }

    /// Lock a schedule for `ms` milliseconds (admin surface).
    pub(crate) fn lock(&mut self, schedule: &str, ms: u64, now: Instant) -> Result<(), ApiError> {
        if !self.schedules.contains_key(schedule) {
            return Err(ApiError::not_found("schedule", schedule));
        }
        self.locks.insert(
            schedule.to_string(),
            now + std::time::Duration::from_millis(ms),
        );
        Ok(())
    }

    fn check_if_match(s: &Schedule, if_match: Option<&str>) -> Result<(), ApiError> {
        let Some(h) = if_match else { return Ok(()) };
        let h = h.trim();
        if h == "*" {
            return Ok(());
        }
        let v = h.trim_start_matches("W/").trim_matches('"');
        if v.parse::<i64>().ok() == Some(s.version) {
            return Ok(());
        }
        Err(ApiError {
            entity_id: Some(s.id.clone()),
            ..ApiError::new(
                412,
                "precondition.failed",
                format!(
                    "If-Match {h} does not match the current version \"{}\" of schedule {}",
                    s.version, s.id
                ),
            )
        })
    }

    // ---------------------------------------------------------------- imports, updates, deletes

    pub(crate) fn import_upload_url(
        &mut self,
        bu: &str,
        week_id: &str,
        len: u64,
    ) -> Result<m::UploadUrlResponse, ApiError> {
        let week = self.week(bu, week_id)?;
        check_length(len)?;
        Ok(self.upload_url(
            UploadTarget::Import {
                bu: bu.into(),
                week,
            },
            len,
        ))
    }

    pub(crate) fn update_upload_url(
        &mut self,
        bu: &str,
        week_id: &str,
        id: &str,
        if_match: Option<&str>,
        len: u64,
        now: Instant,
    ) -> Result<m::UploadUrlResponse, ApiError> {
        let s = self.schedule_of(bu, week_id, id)?;
        let week = s.week;
        Self::check_if_match(s, if_match.filter(|_| self.faults.enforce_if_match))?;
        self.check_lock(id, now)?;
        check_length(len)?;
        Ok(self.upload_url(
            UploadTarget::Update {
                bu: bu.into(),
                week,
                schedule: id.into(),
            },
            len,
        ))
    }

    /// `POST …/weeks/{weekId}/schedules`: a blank, unpublished schedule, created at once.
    pub(crate) fn create_blank(
        &mut self,
        bu: &str,
        week_id: &str,
        req: &m::BuCreateBlankScheduleRequest,
    ) -> Result<m::BuScheduleMetadata, ApiError> {
        let week = self.week(bu, week_id)?;
        if req.week_count == 0 {
            return Err(ApiError::invalid("weekCount", "must be at least 1"));
        }
        if req.description.trim().is_empty() {
            return Err(ApiError::invalid("description", "is required"));
        }
        let id = self.id_rng.uuid();
        let s = Schedule {
            id: id.clone(),
            bu: bu.into(),
            week,
            week_count: req.week_count,
            description: req.description.clone(),
            published: false,
            version: 1,
            modified: Utc::now(),
            agents: BTreeMap::new(),
        };
        let meta = self.schedule_meta(&s, false);
        self.schedules.insert(id, s);
        Ok(meta)
    }

    pub(crate) fn process_import(
        &mut self,
        bu: &str,
        week_id: &str,
        key: &str,
        now: Instant,
    ) -> Result<Accepted, ApiError> {
        let week = self.week(bu, week_id)?;
        let body = self.uploaded(
            key,
            &UploadTarget::Import {
                bu: bu.into(),
                week,
            },
        )?;
        let upload: m::ImportScheduleUploadSchema = parse_upload(&body)?;
        let payload = self.prepare_import(bu, week, &upload)?;
        let record = OperationRecord {
            operation_id: self.id_rng.uuid(),
            kind: "import".into(),
            business_unit_id: bu.into(),
            week_id: week_id.into(),
            schedule_id: None,
            upload_key: Some(key.into()),
            status: "Processing".into(),
            error: None,
        };
        Ok(self.submit(record, payload, now))
    }

    pub(crate) fn process_update(
        &mut self,
        bu: &str,
        week_id: &str,
        id: &str,
        if_match: Option<&str>,
        key: &str,
        now: Instant,
    ) -> Result<Accepted, ApiError> {
        self.schedule_of(bu, week_id, id)?;
        let body_for_edit = self
            .uploads
            .get(key)
            .and_then(|u| u.body.as_deref())
            .and_then(|b| serde_json::from_slice::<m::UpdateScheduleUploadSchema>(b).ok())
            .map(|u| {
                u.agent_schedules
                    .into_iter()
                    .map(|a| a.user_id)
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default();
        if self.fault_rng.chance(self.faults.concurrent_edit_rate) {
            // A planner or an agent got there first: their edit lands between the loader's read and
            // this write, preferably on an agent schedule the upload touches.
            let _ = self.concurrent_edit(id, None, &body_for_edit, None, "rate");
        }
        self.check_lock(id, now)?;
        let s = self.schedule_of(bu, week_id, id)?;
        Self::check_if_match(s, if_match.filter(|_| self.faults.enforce_if_match))?;
        let target = UploadTarget::Update {
            bu: bu.into(),
            week: s.week,
            schedule: id.into(),
        };
        let body = self.uploaded(key, &target)?;
        let upload: m::UpdateScheduleUploadSchema = parse_upload(&body)?;
        let payload = self.prepare_update(id, &upload)?;
        self.check_versions(id, &payload)?;
        let record = OperationRecord {
            operation_id: self.id_rng.uuid(),
            kind: "update".into(),
            business_unit_id: bu.into(),
            week_id: week_id.into(),
            schedule_id: Some(id.into()),
            upload_key: Some(key.into()),
            status: "Processing".into(),
            error: None,
        };
        self.maybe_lock(id, now);
        Ok(self.submit(record, payload, now))
    }

    pub(crate) fn delete_schedule(
        &mut self,
        bu: &str,
        week_id: &str,
        id: &str,
        if_match: Option<&str>,
        now: Instant,
    ) -> Result<Accepted, ApiError> {
        self.check_lock(id, now)?;
        let s = self.schedule_of(bu, week_id, id)?;
        Self::check_if_match(s, if_match.filter(|_| self.faults.enforce_if_match))?;
        let record = OperationRecord {
            operation_id: self.id_rng.uuid(),
            kind: "delete".into(),
            business_unit_id: bu.into(),
            week_id: week_id.into(),
            schedule_id: Some(id.into()),
            upload_key: None,
            status: "Processing".into(),
            error: None,
        };
        Ok(self.submit(record, Payload::Delete, now))
    }

    fn submit(&mut self, record: OperationRecord, payload: Payload, now: Instant) -> Accepted {
        // Draws only for the knobs that are on, so a seeded run without them repeats as before.
        let (lo, hi) = (self.faults.processing_ms, self.faults.processing_max_ms);
        let ms = if hi > lo {
            lo + self.fault_rng.next_u64() % (hi - lo + 1)
        } else {
            lo
        };
        let fail_late = record.kind != "delete"
            && self.faults.late_error_rate > 0.0
            && self.fault_rng.chance(self.faults.late_error_rate);
        let due = now + std::time::Duration::from_millis(ms);
        self.operations.push(Operation {
            record,
            due,
            payload: Some(payload),
            fail_late,
        });
        let idx = self.operations.len() - 1;
        if ms == 0 {
            self.finish(idx);
            let op = &self.operations[idx].record;
            let result = op
                .schedule_id
                .as_ref()
                .and_then(|id| self.schedules.get(id))
                .map(|s| self.schedule_meta(s, false));
            // A late failure at once is still an answer, `200` with `status: Error` and no reason;
            // a version refused when processing ends is `409`.
            let status = if op.status == "Complete" || fail_late {
                200
            } else {
                409
            };
            return Accepted {
                status,
                body: m::AsyncScheduleResponse {
                    status: op.status.clone(),
                    operation_id: Some(op.operation_id.clone()),
                    result: if fail_late { None } else { result },
                },
            };
        }
        self.pending += 1;
        let op = &self.operations[idx].record;
        Accepted {
            status: 202,
            body: m::AsyncScheduleResponse {
                status: "Processing".into(),
                operation_id: Some(op.operation_id.clone()),
                result: None,
            },
        }
    }

    /// Finish every operation whose processing time has passed, in the order they were submitted.
    pub(crate) fn settle(&mut self, now: Instant) {
        if self.pending == 0 {
            return;
        }
        for idx in 0..self.operations.len() {
            if self.operations[idx].payload.is_some() && self.operations[idx].due <= now {
                self.finish(idx);
                self.pending -= 1;
            }
        }
    }

    fn finish(&mut self, idx: usize) {
        let Some(payload) = self.operations[idx].payload.take() else {
            return;
        };
        if self.operations[idx].fail_late {
            // Nothing applied; Genesys tells no reason (the dump says why, for tests).
            let rec = &mut self.operations[idx].record;
            rec.status = "Error".into();
            rec.error = Some("late failure injected (lateErrorRate): nothing applied".into());
            return;
        }
        let now = Utc::now();
        let outcome: Result<Option<String>, String> = match payload {
            Payload::Import {
                description,
                week_count,
                published,
                agents,
            } => {
                let rec = &self.operations[idx].record;
                let id = self.id_rng.uuid();
                let week =
                    NaiveDate::parse_from_str(&rec.week_id, "%Y-%m-%d").expect("checked at submit");
                let agents = agents
                    .into_iter()
                    .map(|(u, shifts)| {
                        (
                            u,
                            AgentSchedule {
                                version: 1,
                                modified: now,
                                shifts,
                            },
                        )
                    })
                    .collect();
                let s = Schedule {
                    id: id.clone(),
                    bu: rec.business_unit_id.clone(),
                    week,
                    week_count,
                    description,
                    published,
                    version: 1,
                    modified: now,
                    agents,
                };
                self.schedules.insert(id.clone(), s);
                Ok(Some(id))
            }
            Payload::Update {
                base_version,
                description,
                published,
                agents,
            } => {
                let id = self.operations[idx]
                    .record
                    .schedule_id
                    .clone()
                    .expect("update has a schedule");
                let patch = Payload::Update {
                    base_version,
                    description: description.clone(),
                    published,
                    agents: agents.clone(),
                };
                match self.check_versions(&id, &patch) {
                    Err(e) => Err(e.message),
                    Ok(()) => {
                        let s = self.schedules.get_mut(&id).expect("checked");
                        for a in agents {
                            if a.delete {
                                s.agents.remove(&a.user);
                                continue;
                            }
                            let entry = s.agents.entry(a.user.clone()).or_insert(AgentSchedule {
                                version: 0,
                                modified: now,
                                shifts: vec![],
                            });
                            for p in a.shifts {
                                match p {
                                    ShiftPatch::Replace(sh) => {
                                        if let Some(x) =
                                            entry.shifts.iter_mut().find(|x| x.id == sh.id)
                                        {
                                            *x = sh;
                                        }
                                    }
                                    ShiftPatch::Delete(sid) => entry.shifts.retain(|x| x.id != sid),
                                    ShiftPatch::Add(sh) => entry.shifts.push(sh),
                                }
                            }
                            entry
                                .shifts
                                .sort_by(|a, b| (a.start, &a.id).cmp(&(b.start, &b.id)));
                            entry.version += 1;
                            entry.modified = now;
                        }
                        if let Some(d) = description {
                            s.description = d;
                        }
                        if let Some(p) = published {
                            s.published = p;
                        }
                        s.version += 1;
                        s.modified = now;
                        Ok(Some(id))
                    }
                }
            }
            Payload::Delete => {
                let id = self.operations[idx]
                    .record
                    .schedule_id
                    .clone()
                    .expect("delete has a schedule");
                match self.schedules.remove(&id) {
                    Some(_) => Ok(Some(id)),
                    None => Err(format!("schedule {id} no longer exists")),
                }
            }
        };
        let rec = &mut self.operations[idx].record;
        match outcome {
            Ok(id) => {
                rec.status = "Complete".into();
                if rec.schedule_id.is_none() {
                    rec.schedule_id = id;
                }
            }
            Err(e) => {
                rec.status = "Error".into();
                rec.error = Some(e);
            }
        }
    }

    /// The versions an update was based on must still be current (checked when it is submitted and
    /// again when its processing ends).
    fn check_versions(&self, id: &str, payload: &Payload) -> Result<(), ApiError> {
        let Payload::Update {
            base_version,
            agents,
            ..
        } = payload
        else {
            return Ok(());
        };
        let s = self
            .schedules
            .get(id)
            .ok_or_else(|| ApiError::not_found("schedule", id))?;
        if *base_version != s.version {
            return Err(ApiError {
                entity_id: Some(id.into()),
                ..ApiError::version_conflict(format!(
                    "metadata.version {base_version} of schedule {id} does not match the current version {}",
                    s.version
                ))
            });
        }
        for a in agents {
            match (s.agents.get(&a.user), a.base_version) {
                (Some(cur), Some(v)) if cur.version == v => {}
                (Some(cur), Some(v)) => {
                    return Err(ApiError {
                        entity_id: Some(a.user.clone()),
                        ..ApiError::version_conflict(format!(
                            "metadata.version {v} of the agent schedule of user {} does not match the current version {}",
                            a.user, cur.version
                        ))
                    });
                }
                (Some(cur), None) => {
                    return Err(ApiError {
                        entity_id: Some(a.user.clone()),
                        ..ApiError::version_conflict(format!(
                            "the agent schedule of user {} exists: its metadata.version is required and does not match the current version {}",
                            a.user, cur.version
                        ))
                    });
                }
                (None, Some(v)) => {
                    return Err(ApiError {
                        entity_id: Some(a.user.clone()),
                        ..ApiError::version_conflict(format!(
                            "metadata.version {v} was given for user {}, who has no agent schedule: it does not match the current version (none)",
                            a.user
                        ))
                    });
                }
                (None, None) => {}
            }
        }
        Ok(())
    }

    fn check_user(&self, bu: &str, field: String, user: &str) -> Result<(), ApiError> {
        if !self.user_index.contains_key(user) {
            return Err(ApiError {
                entity_id: Some(user.into()),
                ..ApiError::invalid(field, format!("unknown user {user}"))
            });
        }
        match self.user_mu.get(user).and_then(|m| self.mus.get(m)) {
            Some(mu) if mu.bu == bu => Ok(()),
            _ => Err(ApiError {
                entity_id: Some(user.into()),
                ..ApiError::invalid(
                    field,
                    format!(
                        "user {user} does not belong to a management unit of business unit {bu}"
                    ),
                )
            }),
        }
    }

    fn prepare_import(
        &mut self,
        bu: &str,
        week: NaiveDate,
        up: &m::ImportScheduleUploadSchema,
    ) -> Result<Payload, ApiError> {
        if up.week_count == 0 {
            return Err(ApiError::invalid("weekCount", "must be at least 1"));
        }
        let b = self.bu(bu)?.clone();
        let bounds = b.week_bounds(week, up.week_count);
        let mut seen = std::collections::HashSet::new();
        let mut agents = Vec::with_capacity(up.agent_schedules.len());
        for (i, a) in up.agent_schedules.iter().enumerate() {
            self.check_user(bu, format!("agentSchedules[{i}].userId"), &a.user_id)?;
            if !seen.insert(a.user_id.as_str()) {
                return Err(ApiError::invalid(
                    format!("agentSchedules[{i}].userId"),
                    format!("user {} appears more than once", a.user_id),
                ));
            }
            let mut shifts = Vec::with_capacity(a.shifts.len());
            for (j, sh) in a.shifts.iter().enumerate() {
                let path = format!("agentSchedules[{i}].shifts[{j}]");
                let mut x = convert_shift(&path, sh, &b)?;
                check_in_week(&path, &x, bounds)?;
                x.id = match &sh.id {
                    Some(id) => id.clone(),
                    None => self.id_rng.uuid(),
                };
                shifts.push(x);
            }
            agents.push((a.user_id.clone(), shifts));
        }
        Ok(Payload::Import {
            description: up.description.clone(),
            week_count: up.week_count,
            published: up.published.unwrap_or(false),
            agents,
        })
    }

    fn prepare_update(
        &mut self,
        id: &str,
        up: &m::UpdateScheduleUploadSchema,
    ) -> Result<Payload, ApiError> {
        let s = self
            .schedules
            .get(id)
            .ok_or_else(|| ApiError::not_found("schedule", id))?
            .clone();
        let b = self.bu(&s.bu)?.clone();
        let bounds = b.week_bounds(s.week, s.week_count);
        let mut seen = std::collections::HashSet::new();
        let mut agents = Vec::with_capacity(up.agent_schedules.len());
        for (i, a) in up.agent_schedules.iter().enumerate() {
            self.check_user(&s.bu, format!("agentSchedules[{i}].userId"), &a.user_id)?;
            if !seen.insert(a.user_id.as_str()) {
                return Err(ApiError::invalid(
                    format!("agentSchedules[{i}].userId"),
                    format!("user {} appears more than once", a.user_id),
                ));
            }
            let existing = s.agents.get(&a.user_id);
            let mut patches = Vec::with_capacity(a.shifts.len());
            for (j, sh) in a.shifts.iter().enumerate() {
                let path = format!("agentSchedules[{i}].shifts[{j}]");
                if let Some(sid) = &sh.id {
                    if !existing.is_some_and(|e| e.shifts.iter().any(|x| &x.id == sid)) {
                        return Err(ApiError {
                            entity_id: Some(sid.clone()),
                            ..ApiError::invalid(
                                format!("{path}.id"),
                                format!("unknown shift id {sid} for user {}", a.user_id),
                            )
                        });
                    }
                    if sh.delete == Some(true) {
                        patches.push(ShiftPatch::Delete(sid.clone()));
                        continue;
                    }
                }
                let start = sh
                    .start_date
                    .clone()
                    .ok_or_else(|| ApiError::invalid(format!("{path}.startDate"), "is required"))?;
                let length = sh.length_minutes.ok_or_else(|| {
                    ApiError::invalid(format!("{path}.lengthMinutes"), "is required")
                })?;
                let full = m::BuAgentScheduleShift {
                    id: sh.id.clone(),
                    start_date: start,
                    length_minutes: length,
                    activities: sh.activities.clone().unwrap_or_default(),
                    manually_edited: None,
                };
                let mut x = convert_shift(&path, &full, &b)?;
                check_in_week(&path, &x, bounds)?;
                match &sh.id {
                    Some(sid) => {
                        x.id = sid.clone();
                        patches.push(ShiftPatch::Replace(x));
                    }
                    None => {
                        if sh.delete == Some(true) {
                            return Err(ApiError::invalid(
                                format!("{path}.delete"),
                                "a shift without an id cannot be deleted",
                            ));
                        }
                        x.id = self.id_rng.uuid();
                        patches.push(ShiftPatch::Add(x));
                    }
                }
            }
            agents.push(AgentPatch {
                user: a.user_id.clone(),
                delete: a.delete == Some(true),
                base_version: a.metadata.as_ref().map(|m| m.version),
                shifts: patches,
            });
        }
        Ok(Payload::Update {
            base_version: up.metadata.version,
            description: up.description.clone(),
            published: up.published,
            agents,
        })
    }

    // ---------------------------------------------------------------- concurrent edits

    /// A simulated planner or agent self-service edit of one agent schedule of `schedule_id` (of
    /// `user` if given, else preferably one of `prefer`, else any): moves or extends one shift by 15
    /// minutes, or adds a shift when the agent has none. Bumps the agent schedule's and the
    /// schedule's versions and records the edit.
    pub(crate) fn concurrent_edit(
        &mut self,
        schedule_id: &str,
        user: Option<&str>,
        prefer: &[String],
        actor: Option<Actor>,
        trigger: &str,
    ) -> Result<ConcurrentEdit, ApiError> {
        let s = self
            .schedules
            .get(schedule_id)
            .ok_or_else(|| ApiError::not_found("schedule", schedule_id))?;
        let bu = self
            .bus
            .get(&s.bu)
            .expect("schedule's business unit exists")
            .clone();
        let user = match user {
            Some(u) => {
                self.check_user(&s.bu, "userId".into(), u)?;
                u.to_string()
            }
            None => {
                let preferred: Vec<&String> = prefer
                    .iter()
                    .filter(|u| s.agents.contains_key(*u))
                    .collect();
                if !preferred.is_empty() {
                    let i = self.fault_rng.below(preferred.len());
                    preferred[i].clone()
                } else if !s.agents.is_empty() {
                    let i = self.fault_rng.below(s.agents.len());
                    s.agents.keys().nth(i).expect("index in range").clone()
                } else {
                    let candidates: Vec<&String> = bu
                        .mus
                        .iter()
                        .filter_map(|m| self.mus.get(m))
                        .flat_map(|m| m.users.iter())
                        .collect();
                    if candidates.is_empty() {
                        return Err(ApiError::invalid(
                            "scheduleId",
                            "the schedule's business unit has no agents to edit",
                        ));
                    }
                    let i = self.fault_rng.below(candidates.len());
                    candidates[i].clone()
                }
            }
        };
        let actor = actor.unwrap_or_else(|| {
            if self.fault_rng.chance(0.5) {
                Actor::Planner
            } else {
                Actor::AgentSelfService
            }
        });
        let (wk_start, wk_end) = bu.week_bounds(s.week, s.week_count);
        let pick = s
            .agents
            .get(&user)
            .filter(|a| !a.shifts.is_empty())
            .map(|a| a.shifts.len());
        let pick = pick.map(|n| self.fault_rng.below(n));
        let new_shift_id = self.id_rng.uuid();
        let now = Utc::now();
        let s = self.schedules.get_mut(schedule_id).expect("checked above");
        let agent = s.agents.entry(user.clone()).or_insert(AgentSchedule {
            version: 0,
            modified: now,
            shifts: vec![],
        });
        let (change, description, before, after) = match (pick, actor) {
            (Some(i), Actor::Planner) => {
                let before = agent.shifts[i].clone();
                let sh = &mut agent.shifts[i];
                let forward = sh.start + Duration::minutes(15) < wk_end;
                let delta = Duration::minutes(if forward { 15 } else { -15 });
                sh.start += delta;
                for a in &mut sh.activities {
                    a.start += delta;
                }
                let words = if forward {
                    "moved 15 minutes later"
                } else {
                    "moved 15 minutes earlier"
                };
                (
                    "moved",
                    words.to_string(),
                    Some(before.to_api()),
                    sh.to_api(),
                )
            }
            (Some(i), Actor::AgentSelfService) => {
                let before = agent.shifts[i].clone();
                let sh = &mut agent.shifts[i];
                let end = sh.start + Duration::minutes(sh.length);
                sh.length += 15;
                if let Some(last) = sh.activities.iter_mut().max_by_key(|a| a.start)
                    && last.start + Duration::minutes(last.length) == end
                {
                    last.length += 15;
                }
                (
                    "extended",
                    "extended by 15 minutes".to_string(),
                    Some(before.to_api()),
                    sh.to_api(),
                )
            }
            (None, _) => {
                let local = s.week.and_hms_opt(9, 0, 0).expect("valid time");
                let start = bu
                    .zone
                    .from_local_datetime(&local)
                    .earliest()
                    .map_or(wk_start, |t| t.with_timezone(&Utc));
                let activities = bu
                    .codes
                    .iter()
                    .find(|c| c.active)
                    .map(|c| {
                        vec![Activity {
                            start,
                            length: 240,
                            description: c.name.clone(),
                            code: c.id.clone(),
                            paid: None,
                            time_off: None,
                        }]
                    })
                    .unwrap_or_default();
                let sh = Shift {
                    id: new_shift_id,
                    start,
                    length: 240,
                    activities,
                };
                let api = sh.to_api();
                agent.shifts.push(sh);
                agent
                    .shifts
                    .sort_by(|a, b| (a.start, &a.id).cmp(&(b.start, &b.id)));
                ("added", "added a 4-hour shift".to_string(), None, api)
            }
        };
        agent.version += 1;
        agent.modified = now;
        let agent_version = agent.version;
        s.version += 1;
        s.modified = now;
        let edit = ConcurrentEdit {
            seq: self.edits.len() as u64 + 1,
            schedule_id: schedule_id.into(),
            business_unit_id: s.bu.clone(),
            week_id: s.week.format("%Y-%m-%d").to_string(),
            user_id: user,
            shift_id: after.id.clone().unwrap_or_default(),
            actor,
            change: change.into(),
            description,
            before,
            after,
            agent_schedule_version: agent_version,
            schedule_version: s.version,
            trigger: trigger.into(),
        };
        self.edits.push(edit.clone());
        Ok(edit)
    }
}

fn check_length(len: u64) -> Result<(), ApiError> {
    if len == 0 {
        return Err(ApiError::invalid(
            "contentLengthBytes",
            "must be greater than 0",
        ));
    }
    Ok(())
}

fn parse_upload<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|e| {
        ApiError::new(
            400,
            "wfm.validation.failure",
            format!("the uploaded schedule is invalid: {e}"),
        )
    })
}

/// Convert and validate an API shift (dates, lengths, activity codes, activities inside the shift).
fn convert_shift(
    path: &str,
    sh: &m::BuAgentScheduleShift,
    bu: &BusinessUnit,
) -> Result<Shift, ApiError> {
    let start =
        parse_instant(&sh.start_date).map_err(|e| instant_error(format!("{path}.startDate"), e))?;
    if sh.length_minutes <= 0 {
        return Err(ApiError::invalid(
            format!("{path}.lengthMinutes"),
            format!("must be positive, not {}", sh.length_minutes),
        ));
    }
    let end = start + Duration::minutes(sh.length_minutes);
    let mut activities = Vec::with_capacity(sh.activities.len());
    for (k, a) in sh.activities.iter().enumerate() {
        let ap = format!("{path}.activities[{k}]");
        let astart = parse_instant(&a.start_date)
            .map_err(|e| instant_error(format!("{ap}.startDate"), e))?;
        if a.length_minutes <= 0 {
            return Err(ApiError::invalid(
                format!("{ap}.lengthMinutes"),
                format!("must be positive, not {}", a.length_minutes),
            ));
        }
        if !bu.active_code(&a.activity_code_id) {
            return Err(ApiError {
                entity_id: Some(a.activity_code_id.clone()),
                ..ApiError::invalid(
                    format!("{ap}.activityCodeId"),
                    format!(
                        "{} is not an active activity code of business unit {}",
                        a.activity_code_id, bu.id
                    ),
                )
            });
        }
        if astart < start || astart + Duration::minutes(a.length_minutes) > end {
            return Err(ApiError::invalid(
                ap,
                "the activity does not lie inside its shift",
            ));
        }
        activities.push(Activity {
            start: astart,
            length: a.length_minutes,
            description: a.description.clone(),
            code: a.activity_code_id.clone(),
            paid: a.paid,
            time_off: a.time_off_request_id.clone(),
        });
    }
    Ok(Shift {
        id: String::new(),
        start,
        length: sh.length_minutes,
        activities,
    })
}

fn check_in_week(
    path: &str,
    sh: &Shift,
    (start, end): (DateTime<Utc>, DateTime<Utc>),
) -> Result<(), ApiError> {
    if sh.start < start || sh.start >= end {
        return Err(ApiError::invalid(
            format!("{path}.startDate"),
            format!(
                "{} does not lie inside the schedule's week ({} to {})",
                format_instant(sh.start),
                format_instant(start),
                format_instant(end)
            ),
        ));
    }
    Ok(())
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

pub(crate) fn parse_weekday(s: &str) -> Option<Weekday> {
    Some(match s {
        "Sunday" => Weekday::Sun,
        "Monday" => Weekday::Mon,
        "Tuesday" => Weekday::Tue,
        "Wednesday" => Weekday::Wed,
        "Thursday" => Weekday::Thu,
        "Friday" => Weekday::Fri,
        "Saturday" => Weekday::Sat,
        _ => return None,
    })
}

pub(crate) fn weekday_name(d: Weekday) -> &'static str {
    match d {
        Weekday::Sun => "Sunday",
        Weekday::Mon => "Monday",
        Weekday::Tue => "Tuesday",
        Weekday::Wed => "Wednesday",
        Weekday::Thu => "Thursday",
        Weekday::Fri => "Friday",
        Weekday::Sat => "Saturday",
    }
}
