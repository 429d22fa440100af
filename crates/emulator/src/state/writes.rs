//! The writes: locks and If-Match, the synchronous blank create, imports, updates (the patch
//! semantics: shifts replaced, deleted or added by id; agent schedules by version) and deletes,
//! each checked against the versions before it is accepted.

use super::uploads::{gunzip, parse_upload};
use super::{
    Accepted, Activity, AgentPatch, ApiError, BusinessUnit, Payload, Schedule, Shift, ShiftPatch,
    State, Strings, UploadTarget, instant_error,
};
use crate::fixture::OperationRecord;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use genesys::model::{self as m, format_instant, parse_instant};
use std::collections::BTreeMap;
use std::time::Instant;

impl State {
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

    pub(super) fn check_if_match(s: &Schedule, if_match: Option<&str>) -> Result<(), ApiError> {
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
            modified: self.clock.wall(),
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
        if self.fault_rng.chance(self.faults.concurrent_edit_rate) {
            let body_for_edit = self
                .uploads
                .get(key)
                .and_then(|u| u.body.as_deref())
                .and_then(|gz| gunzip(gz).ok())
                .and_then(|b| serde_json::from_slice::<m::UpdateScheduleUploadSchema>(&b).ok())
                .map(|u| {
                    u.agent_schedules
                        .into_iter()
                        .map(|a| a.user_id)
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default();
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

    /// The versions an update was based on must still be current (checked when it is submitted and
    /// again when its processing ends).
    pub(super) fn check_versions(&self, id: &str, payload: &Payload) -> Result<(), ApiError> {
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

    pub(super) fn check_user(&self, bu: &str, field: String, user: &str) -> Result<(), ApiError> {
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
                let mut x = convert_shift(&path, sh, &b, &mut self.strings)?;
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
        // Borrowed, not cloned: a week's schedule holds every agent of the business unit, and a load
        // updates it many times.
        let s = self
            .schedules
            .get(id)
            .ok_or_else(|| ApiError::not_found("schedule", id))?;
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
                let mut x = convert_shift(&path, &full, &b, &mut self.strings)?;
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
}

/// Convert and validate an API shift (dates, lengths, activity codes, activities inside the shift).
pub(super) fn convert_shift(
    path: &str,
    sh: &m::BuAgentScheduleShift,
    bu: &BusinessUnit,
    strings: &mut Strings,
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
            description: strings.get(&a.description),
            code: strings.get(&a.activity_code_id),
            paid: a.paid,
            time_off: a.time_off_request_id.as_deref().map(|t| strings.get(t)),
        });
    }
    Ok(Shift {
        id: String::new(),
        start,
        length: sh.length_minutes,
        activities,
    })
}

pub(super) fn check_in_week(
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
