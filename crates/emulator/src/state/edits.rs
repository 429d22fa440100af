//! Concurrent edits: a planner's or an agent's change to one agent schedule, made now (admin
//! surface) or injected before an update (the `concurrentEditRate` knob).

use super::{Activity, AgentSchedule, ApiError, Shift, State};
use crate::fixture::{Actor, ConcurrentEdit};
use chrono::{Duration, TimeZone, Utc};

impl State {
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
        let now = self.clock.wall();
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
                            description: c.name.as_str().into(),
                            code: c.id.as_str().into(),
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
