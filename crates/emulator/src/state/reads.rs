//! The reads of the contract: users, management and business units, activity codes, week ids,
//! schedule lists (with the drafts switch), schedules, agent-schedule queries (large answers as
//! downloads) and shift trades.

use super::{
    ApiError, BusinessUnit, MAX_DOWNLOADS, Schedule, Shift, State, metadata, reference,
    weekday_name,
};
use chrono::{Datelike, Duration, NaiveDate};
use genesys::model as m;
use genesys::model::format_instant;
use std::collections::BTreeMap;

impl State {
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

    pub(super) fn schedule_meta(&self, s: &Schedule, with_mus: bool) -> m::BuScheduleMetadata {
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
        let now = self.clock.wall();
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

    pub(super) fn schedule_of(
        &self,
        bu: &str,
        week_id: &str,
        id: &str,
    ) -> Result<&Schedule, ApiError> {
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
}
