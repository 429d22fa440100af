//! The org in and out: loading a fixture or a dump (every rule checked, every problem listed) and
//! dumping the whole state.

use super::writes::convert_shift;
use super::{
    AgentSchedule, BusinessUnit, MuRec, Operation, Schedule, Shift, State, UserRec, metadata,
    modified_at, parse_weekday, weekday_name,
};
use crate::fixture::{
    Dump, Fixture, FixtureAgentSchedule, FixtureBusinessUnit, FixtureManagementUnit,
    FixtureSchedule, FixtureUser,
};
use chrono::{Datelike, NaiveDate};
use genesys::model as m;
use std::collections::{BTreeMap, HashMap};

impl State {
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
        let now = self.clock.wall();
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
                    match convert_shift(&path, sh, bu, &mut self.strings) {
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
                due: self.clock.now(),
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
}
