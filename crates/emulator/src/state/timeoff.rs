//! Time-off requests (docs/genesys-contract.md, "Time off"): admin creates with no idempotency
//! key, the query's 33-day / Pending rule, overlaps refused with `400`, TimeOff-category codes only,
//! the statuses an admin may set, versions.

use super::{ApiError, State, local_midnight, metadata, reference};
use crate::fixture::FixtureTimeOff;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use genesys::model::{self as m, format_instant, parse_instant};

/// The longest date range a query may ask for without `statuses == ["Pending"]`.
pub(crate) const QUERY_MAX_DAYS: i64 = 33;

/// One stored time-off request.
#[derive(Debug, Clone)]
pub(super) struct TimeOff {
    pub id: String,
    pub mu: String,
    pub user: String,
    pub status: String,
    pub code: String,
    pub full_days: Vec<NaiveDate>,
    pub partial: Vec<DateTime<Utc>>,
    pub daily_minutes: i64,
    pub paid: bool,
    pub notes: String,
    pub version: i64,
    pub modified: DateTime<Utc>,
    pub submitted: DateTime<Utc>,
}

impl TimeOff {
    /// Whether it still holds its days (a denied or cancelled request does not).
    fn active(&self) -> bool {
        matches!(self.status.as_str(), "APPROVED" | "PENDING")
    }

    fn to_api(&self) -> m::TimeOffRequestResponse {
        m::TimeOffRequestResponse {
            id: self.id.clone(),
            user: Some(reference(
                &self.user,
                format!("/api/v2/users/{}", self.user),
            )),
            is_full_day_request: !self.full_days.is_empty(),
            activity_code_id: self.code.clone(),
            paid: self.paid,
            status: self.status.clone(),
            partial_day_start_date_times: self.partial.iter().map(|t| format_instant(*t)).collect(),
            full_day_management_unit_dates: self
                .full_days
                .iter()
                .map(|d| d.format("%Y-%m-%d").to_string())
                .collect(),
            daily_duration_minutes: self.daily_minutes,
            notes: self.notes.clone(),
            submitted_date: Some(format_instant(self.submitted)),
            metadata: Some(metadata(self.version, self.modified)),
            self_uri: Some(format!(
                "/api/v2/workforcemanagement/managementunits/{}/users/{}/timeoffrequests/{}",
                self.mu, self.user, self.id
            )),
        }
    }

    /// The management-unit dates it touches (a partial day by its start's local date).
    fn dates(&self, zone: chrono_tz::Tz) -> Vec<NaiveDate> {
        if !self.full_days.is_empty() {
            return self.full_days.clone();
        }
        self.partial
            .iter()
            .map(|t| t.with_timezone(&zone).date_naive())
            .collect()
    }
}

/// The UTC intervals a request occupies: a full day is local midnight to local midnight (23 or 25
/// hours over a DST change), a partial day its start plus the daily minutes.
fn intervals(
    zone: chrono_tz::Tz,
    full: &[NaiveDate],
    partial: &[DateTime<Utc>],
    minutes: i64,
) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
    let mut v: Vec<_> = full
        .iter()
        .map(|d| {
            (
                local_midnight(zone, *d),
                local_midnight(zone, *d + Duration::days(1)),
            )
        })
        .chain(
            partial
                .iter()
                .map(|t| (*t, *t + Duration::minutes(minutes))),
        )
        .collect();
    v.sort();
    v
}

fn overlaps(a: &[(DateTime<Utc>, DateTime<Utc>)], b: &[(DateTime<Utc>, DateTime<Utc>)]) -> bool {
    a.iter()
        .any(|(s1, e1)| b.iter().any(|(s2, e2)| s1 < e2 && s2 < e1))
}

fn parse_date(field: &str, s: &str) -> Result<NaiveDate, ApiError> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .map_err(|_| ApiError::invalid(field, format!("`{s}` is not a date in yyyy-MM-dd format")))
}

impl State {
    fn time_off_zone(&self, mu: &str) -> Result<chrono_tz::Tz, ApiError> {
        let rec = self
            .mus
            .get(mu)
            .ok_or_else(|| ApiError::not_found("management unit", mu))?;
        Ok(self.bu(&rec.bu)?.zone)
    }

    /// `POST /managementunits/{muId}/timeoffrequests`: one request per user, every rule checked
    /// before anything is stored (a refusal creates nothing). The same body twice creates two.
    pub(crate) fn create_time_off(
        &mut self,
        mu: &str,
        req: &m::CreateAdminTimeOffRequest,
    ) -> Result<m::TimeOffRequestList, ApiError> {
        let zone = self.time_off_zone(mu)?;
        let bu = self.mus[mu].bu.clone();
        if !matches!(req.status.as_str(), "APPROVED" | "PENDING") {
            return Err(ApiError::invalid(
                "status",
                format!(
                    "`{}` cannot be set on a new request; an admin creates APPROVED or PENDING requests",
                    req.status
                ),
            ));
        }
        if req.users.is_empty() {
            return Err(ApiError::invalid("users", "at least one user is required"));
        }
        let code = self
            .bu(&bu)?
            .codes
            .iter()
            .find(|c| c.id == req.activity_code_id)
            .cloned();
        match &code {
            Some(c) if c.category == "TimeOff" && c.active => {}
            Some(c) => {
                return Err(ApiError {
                    entity_id: Some(c.id.clone()),
                    ..ApiError::invalid(
                        "activityCodeId",
                        format!(
                            "{} is a {} activity code{}; time off needs an active activity code of the TimeOff category",
                            c.id,
                            c.category,
                            if c.active { "" } else { " (inactive)" }
                        ),
                    )
                });
            }
            None => {
                return Err(ApiError {
                    entity_id: Some(req.activity_code_id.clone()),
                    ..ApiError::invalid(
                        "activityCodeId",
                        format!(
                            "{} is not an activity code of business unit {bu}",
                            req.activity_code_id
                        ),
                    )
                });
            }
        }
        let full = &req.full_day_management_unit_dates;
        let partial = &req.partial_day_start_date_times;
        if full.is_empty() == partial.is_empty() {
            return Err(ApiError::invalid(
                "fullDayManagementUnitDates",
                "exactly one of fullDayManagementUnitDates and partialDayStartDateTimes is required",
            ));
        }
        let minutes = req.daily_duration_minutes.unwrap_or(0);
        if !(1..=1440).contains(&minutes) {
            return Err(ApiError::invalid(
                "dailyDurationMinutes",
                format!("must be between 1 and 1440, not {minutes}"),
            ));
        }
        let mut days = Vec::with_capacity(full.len());
        for (i, d) in full.iter().enumerate() {
            days.push(parse_date(&format!("fullDayManagementUnitDates[{i}]"), d)?);
        }
        let mut starts = Vec::with_capacity(partial.len());
        for (i, t) in partial.iter().enumerate() {
            let field = format!("partialDayStartDateTimes[{i}]");
            starts.push(parse_instant(t).map_err(|e| super::instant_error(field, e))?);
        }
        let mine = intervals(zone, &days, &starts, minutes);
        if mine.windows(2).any(|w| w[0].1 > w[1].0) {
            return Err(ApiError::invalid(
                "partialDayStartDateTimes",
                "the request's own days overlap each other",
            ));
        }
        for u in &req.users {
            if self.user_mu.get(&u.id).map(String::as_str) != Some(mu) {
                return Err(ApiError {
                    entity_id: Some(u.id.clone()),
                    ..ApiError::invalid(
                        "users",
                        format!("user {} is not in management unit {mu}", u.id),
                    )
                });
            }
            for &i in self.time_off_by_user.get(&u.id).into_iter().flatten() {
                let other = &self.time_off[i];
                if other.active()
                    && overlaps(
                        &mine,
                        &intervals(zone, &other.full_days, &other.partial, other.daily_minutes),
                    )
                {
                    return Err(ApiError {
                        entity_id: Some(other.id.clone()),
                        ..ApiError::new(
                            400,
                            "wfm.validation.failure",
                            format!(
                                "the time off request overlaps time off request {} of user {}",
                                other.id, u.id
                            ),
                        )
                    });
                }
            }
        }
        let now = self.clock.wall();
        let paid = req.paid.unwrap_or(true);
        let mut out = Vec::with_capacity(req.users.len());
        for u in &req.users {
            let rec = TimeOff {
                id: self.new_id(),
                mu: mu.to_string(),
                user: u.id.clone(),
                status: req.status.clone(),
                code: req.activity_code_id.clone(),
                full_days: days.clone(),
                partial: starts.clone(),
                daily_minutes: minutes,
                paid,
                notes: req.notes.clone().unwrap_or_default(),
                version: 1,
                modified: now,
                submitted: now,
            };
            out.push(rec.to_api());
            self.insert_time_off(rec);
        }
        Ok(m::TimeOffRequestList {
            time_off_requests: out,
        })
    }

    fn insert_time_off(&mut self, rec: TimeOff) {
        let i = self.time_off.len();
        self.time_off_index.insert(rec.id.clone(), i);
        self.time_off_by_user
            .entry(rec.user.clone())
            .or_default()
            .push(i);
        self.time_off.push(rec);
    }

    /// `POST /managementunits/{muId}/timeoffrequests/query`: refused unless `statuses ==
    /// ["Pending"]` or the date range is at most 33 days.
    pub(crate) fn query_time_off(
        &self,
        mu: &str,
        q: &m::TimeOffRequestQueryBody,
    ) -> Result<m::Listing<m::TimeOffRequestResponse>, ApiError> {
        let zone = self.time_off_zone(mu)?;
        let pending_only = q
            .statuses
            .as_deref()
            .is_some_and(|s| s.len() == 1 && s[0].eq_ignore_ascii_case("pending"));
        let range = match &q.date_range {
            Some(r) => {
                let a = parse_date("dateRange.startDate", &r.start_date)?;
                let b = parse_date("dateRange.endDate", &r.end_date)?;
                if b < a {
                    return Err(ApiError::invalid(
                        "dateRange",
                        "endDate is before startDate",
                    ));
                }
                Some((a, b))
            }
            None => None,
        };
        let days = range.map(|(a, b)| (b - a).num_days() + 1);
        if !pending_only && days.is_none_or(|d| d > QUERY_MAX_DAYS) {
            return Err(ApiError::invalid(
                "dateRange",
                format!(
                    "a query needs statuses == [\"Pending\"] or a date range of at most {QUERY_MAX_DAYS} days{}",
                    days.map(|d| format!(" (this one has {d})"))
                        .unwrap_or_default()
                ),
            ));
        }
        let wanted = |s: &str| {
            q.statuses
                .as_deref()
                .is_none_or(|l| l.is_empty() || l.iter().any(|x| x.eq_ignore_ascii_case(s)))
        };
        let candidates: Box<dyn Iterator<Item = &TimeOff>> = match &q.user_ids {
            Some(users) if !users.is_empty() => Box::new(
                users
                    .iter()
                    .filter_map(|u| self.time_off_by_user.get(u))
                    .flatten()
                    .map(|&i| &self.time_off[i]),
            ),
            _ => Box::new(self.time_off.iter()),
        };
        let entities = candidates
            .filter(|t| t.mu == mu && wanted(&t.status))
            .filter(|t| {
                q.ids
                    .as_deref()
                    .is_none_or(|ids| ids.is_empty() || ids.contains(&t.id))
            })
            .filter(|t| range.is_none_or(|(a, b)| t.dates(zone).iter().any(|d| *d >= a && *d <= b)))
            .map(TimeOff::to_api)
            .collect();
        Ok(m::Listing {
            entities,
            download_url: None,
        })
    }

    /// `GET /managementunits/{muId}/users/{userId}/timeoffrequests`.
    pub(crate) fn user_time_off(
        &self,
        mu: &str,
        user: &str,
    ) -> Result<m::TimeOffRequestList, ApiError> {
        self.time_off_zone(mu)?;
        if !self.user_index.contains_key(user) {
            return Err(ApiError::not_found("user", user));
        }
        Ok(m::TimeOffRequestList {
            time_off_requests: self
                .time_off_by_user
                .get(user)
                .into_iter()
                .flatten()
                .map(|&i| &self.time_off[i])
                .filter(|t| t.mu == mu)
                .map(TimeOff::to_api)
                .collect(),
        })
    }

    fn time_off_of(&self, mu: &str, user: &str, id: &str) -> Result<usize, ApiError> {
        self.time_off_index
            .get(id)
            .copied()
            .filter(|&i| self.time_off[i].mu == mu && self.time_off[i].user == user)
            .ok_or_else(|| ApiError::not_found("time off request", id))
    }

    /// `GET /managementunits/{muId}/users/{userId}/timeoffrequests/{id}`.
    pub(crate) fn get_time_off(
        &self,
        mu: &str,
        user: &str,
        id: &str,
    ) -> Result<m::TimeOffRequestResponse, ApiError> {
        Ok(self.time_off[self.time_off_of(mu, user, id)?].to_api())
    }

    /// `PATCH /managementunits/{muId}/users/{userId}/timeoffrequests/{id}`: versioned; an admin sets
    /// APPROVED, PENDING or DENIED, never CANCELED.
    pub(crate) fn patch_time_off(
        &mut self,
        mu: &str,
        user: &str,
        id: &str,
        p: &m::AdminTimeOffRequestPatch,
    ) -> Result<m::TimeOffRequestResponse, ApiError> {
        let i = self.time_off_of(mu, user, id)?;
        let zone = self.time_off_zone(mu)?;
        let current = self.time_off[i].version;
        if p.metadata.version != current {
            return Err(ApiError::version_conflict(format!(
                "The version number {} does not match the current version {current} of time off request {id}",
                p.metadata.version
            )));
        }
        if let Some(s) = &p.status {
            if !matches!(s.as_str(), "APPROVED" | "PENDING" | "DENIED") {
                return Err(ApiError::invalid(
                    "status",
                    format!("an admin may set APPROVED, PENDING or DENIED, not `{s}`"),
                ));
            }
            // Reviving a denied request takes its days back: refused if another request holds them.
            let t = &self.time_off[i];
            if !t.active() && s != "DENIED" {
                let mine = intervals(zone, &t.full_days, &t.partial, t.daily_minutes);
                for &j in self.time_off_by_user.get(user).into_iter().flatten() {
                    let o = &self.time_off[j];
                    if j != i
                        && o.active()
                        && overlaps(
                            &mine,
                            &intervals(zone, &o.full_days, &o.partial, o.daily_minutes),
                        )
                    {
                        return Err(ApiError::bad_request(format!(
                            "the time off request overlaps time off request {}",
                            o.id
                        )));
                    }
                }
            }
        }
        let wall = self.clock.wall();
        let t = &mut self.time_off[i];
        if let Some(s) = &p.status {
            t.status = s.clone();
        }
        if let Some(n) = &p.notes {
            t.notes = n.clone();
        }
        if let Some(paid) = p.paid {
            t.paid = paid;
        }
        t.version += 1;
        t.modified = wall;
        Ok(t.to_api())
    }

    /// Load the fixture's requests (after the org): each checked against its unit and user.
    pub(super) fn load_time_off(&mut self, list: &[FixtureTimeOff], errors: &mut Vec<String>) {
        self.time_off.clear();
        self.time_off_index.clear();
        self.time_off_by_user.clear();
        let now = self.clock.wall();
        for f in list {
            let r = &f.request;
            let user = r.user.as_ref().map(|u| u.id.clone()).unwrap_or_default();
            if self.user_mu.get(&user) != Some(&f.management_unit_id) {
                errors.push(format!(
                    "time off request {}: user `{user}` is not in management unit {}",
                    r.id, f.management_unit_id
                ));
                continue;
            }
            let days: Result<Vec<_>, _> = r
                .full_day_management_unit_dates
                .iter()
                .map(|d| parse_date("fullDayManagementUnitDates", d))
                .collect();
            let starts: Result<Vec<_>, _> = r
                .partial_day_start_date_times
                .iter()
                .map(|t| parse_instant(t))
                .collect();
            let (Ok(days), Ok(starts)) = (days, starts) else {
                errors.push(format!("time off request {}: a date is invalid", r.id));
                continue;
            };
            let meta = r.metadata.as_ref();
            self.insert_time_off(TimeOff {
                id: r.id.clone(),
                mu: f.management_unit_id.clone(),
                user,
                status: r.status.clone(),
                code: r.activity_code_id.clone(),
                full_days: days,
                partial: starts,
                daily_minutes: r.daily_duration_minutes,
                paid: r.paid,
                notes: r.notes.clone(),
                version: meta.map_or(1, |m| m.version),
                modified: super::modified_at(meta, now),
                submitted: r
                    .submitted_date
                    .as_deref()
                    .and_then(|d| DateTime::parse_from_rfc3339(d).ok())
                    .map_or(now, |d| d.with_timezone(&Utc)),
            });
        }
    }

    /// The requests in the dump, in creation order.
    pub(super) fn dump_time_off(&self) -> Vec<FixtureTimeOff> {
        self.time_off
            .iter()
            .map(|t| FixtureTimeOff {
                management_unit_id: t.mu.clone(),
                request: t.to_api(),
            })
            .collect()
    }
}
