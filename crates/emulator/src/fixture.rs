//! The org fixture (docs/org-fixture.md): the JSON an emulator starts from, and the [`Dump`] it
//! answers with (the same shape with every version filled in, plus what the emulator did on its own:
//! concurrent edits and asynchronous operations). A dump is itself a valid fixture, which is how
//! `--state FILE` saves and restores an emulator.

use genesys::model::{
    BuAgentScheduleShift, BusinessUnitActivityCode, TimeOffRequestResponse,
    WfmVersionedEntityMetadata,
};
use serde::{Deserialize, Serialize};

/// An org as the emulator should hold it at start.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Fixture {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org: Option<OrgInfo>,
    #[serde(default)]
    pub users: Vec<FixtureUser>,
    #[serde(default)]
    pub business_units: Vec<FixtureBusinessUnit>,
    #[serde(default)]
    pub schedules: Vec<FixtureSchedule>,
    #[serde(default)]
    pub shift_trades: Vec<FixtureTrade>,
    /// Time-off requests, each in its management unit (docs/org-fixture.md).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub time_off_requests: Vec<FixtureTimeOff>,
}

/// A time-off request of the fixture or the dump: the API's shape plus its management unit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FixtureTimeOff {
    pub management_unit_id: String,
    #[serde(flatten)]
    pub request: TimeOffRequestResponse,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct OrgInfo {
    pub id: String,
    #[serde(default)]
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FixtureUser {
    pub id: String,
    #[serde(default)]
    pub name: String,
    pub email: String,
    /// `active` (default), `inactive` or `deleted`.
    #[serde(default = "active")]
    pub state: String,
}

fn active() -> String {
    "active".into()
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FixtureBusinessUnit {
    pub id: String,
    #[serde(default)]
    pub name: String,
    /// IANA zone id.
    pub time_zone: String,
    /// `Sunday` … `Saturday`.
    pub start_day_of_week: String,
    #[serde(default)]
    pub activity_codes: Vec<BusinessUnitActivityCode>,
    #[serde(default)]
    pub management_units: Vec<FixtureManagementUnit>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FixtureManagementUnit {
    pub id: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub user_ids: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FixtureSchedule {
    pub id: String,
    pub business_unit_id: String,
    /// `yyyy-MM-dd`, the business unit's first day of week.
    pub week_id: String,
    #[serde(default = "one")]
    pub week_count: u32,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub published: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<WfmVersionedEntityMetadata>,
    #[serde(default)]
    pub agent_schedules: Vec<FixtureAgentSchedule>,
}

fn one() -> u32 {
    1
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FixtureAgentSchedule {
    pub user_id: String,
    #[serde(default)]
    pub shifts: Vec<BuAgentScheduleShift>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<WfmVersionedEntityMetadata>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FixtureTrade {
    pub id: String,
    pub management_unit_id: String,
    pub week_date: String,
    pub state: String,
    pub initiating_user_id: String,
    pub initiating_shift_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub initiating_shift_date: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receiving_user_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receiving_shift_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receiving_shift_date: Option<String>,
}

/// Who made a concurrent edit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Actor {
    Planner,
    AgentSelfService,
}

/// One edit the emulator made on its own (a simulated planner or agent), so that a test can prove the
/// loader kept it: which agent schedule, what changed, and the versions it produced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConcurrentEdit {
    /// 1, 2, … in the order the edits were made.
    pub seq: u64,
    pub schedule_id: String,
    pub business_unit_id: String,
    pub week_id: String,
    pub user_id: String,
    pub shift_id: String,
    pub actor: Actor,
    /// `moved`, `extended` or `added`.
    pub change: String,
    /// In words, e.g. "moved 15 minutes later".
    pub description: String,
    /// The shift before the edit (absent when it was added).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<BuAgentScheduleShift>,
    /// The shift after the edit.
    pub after: BuAgentScheduleShift,
    /// The agent schedule's version the edit produced.
    pub agent_schedule_version: i64,
    /// The schedule's version the edit produced.
    pub schedule_version: i64,
    /// `rate` (injected before an update) or `admin` (asked for on `/emulator/edits`).
    pub trigger: String,
}

/// An import, update or delete the emulator accepted, and how it ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OperationRecord {
    pub operation_id: String,
    /// `import`, `update` or `delete`.
    pub kind: String,
    pub business_unit_id: String,
    pub week_id: String,
    /// The schedule updated or deleted, or the one an import created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upload_key: Option<String>,
    /// `Processing`, `Complete` or `Error`.
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The whole state: the org as a fixture (with versions), plus the emulator's own record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Dump {
    #[serde(flatten)]
    pub org: Fixture,
    #[serde(default)]
    pub concurrent_edits: Vec<ConcurrentEdit>,
    #[serde(default)]
    pub operations: Vec<OperationRecord>,
    #[serde(default)]
    pub faults: crate::Faults,
}

impl Dump {
    /// The schedule with this id.
    pub fn schedule(&self, id: &str) -> Option<&FixtureSchedule> {
        self.org.schedules.iter().find(|s| s.id == id)
    }

    /// The agent schedule of `user_id` in schedule `schedule_id`.
    pub fn agent_schedule(
        &self,
        schedule_id: &str,
        user_id: &str,
    ) -> Option<&FixtureAgentSchedule> {
        self.schedule(schedule_id)?
            .agent_schedules
            .iter()
            .find(|a| a.user_id == user_id)
    }
}

/// The size of a generated org (see [`synthetic`]).
#[derive(Debug, Clone, Copy)]
pub struct SyntheticOrg {
    pub users: usize,
    pub business_units: usize,
    pub users_per_management_unit: usize,
    pub schedules: usize,
    /// Agents in each schedule (taken from one management unit).
    pub agents_per_schedule: usize,
    pub shifts_per_agent: usize,
}

impl Default for SyntheticOrg {
    /// 10,000 users, 500 week schedules.
    fn default() -> Self {
        SyntheticOrg {
            users: 10_000,
            business_units: 10,
            users_per_management_unit: 100,
            schedules: 500,
            agents_per_schedule: 50,
            shifts_per_agent: 5,
        }
    }
}

/// A generated org for benchmarks and load tests. Ids are deterministic (`u-00042`, `bu-3`, …), e-mails
/// are `agent42@example.test`; business units alternate Monday and Sunday weeks in Europe/Paris and
/// America/New_York; each schedule is one week of one management unit, starting 2026-01-04/05.
pub fn synthetic(spec: SyntheticOrg) -> Fixture {
    use chrono::{Datelike, Duration, NaiveDate, TimeZone};
    let users: Vec<FixtureUser> = (0..spec.users)
        .map(|i| FixtureUser {
            id: format!("u-{i:05}"),
            name: format!("Agent {i}"),
            email: format!("agent{i}@example.test"),
            state: active(),
        })
        .collect();
    let bus = spec.business_units.max(1);
    let per_mu = spec.users_per_management_unit.max(1);
    let mu_count = spec.users.div_ceil(per_mu);
    let mut business_units: Vec<FixtureBusinessUnit> = (0..bus)
        .map(|b| FixtureBusinessUnit {
            id: format!("bu-{b}"),
            name: format!("Business unit {b}"),
            time_zone: if b % 2 == 0 {
                "Europe/Paris"
            } else {
                "America/New_York"
            }
            .into(),
            start_day_of_week: if b % 2 == 0 { "Monday" } else { "Sunday" }.into(),
            activity_codes: ["OnQueueWork", "Break", "Meal", "TimeOff"]
                .iter()
                .enumerate()
                .map(|(k, cat)| BusinessUnitActivityCode {
                    id: format!("ac-{b}-{k}"),
                    name: (*cat).into(),
                    active: true,
                    default_code: k == 0,
                    category: (*cat).into(),
                    metadata: None,
                })
                .collect(),
            management_units: vec![],
        })
        .collect();
    for m in 0..mu_count {
        let user_ids = users
            .iter()
            .skip(m * per_mu)
            .take(per_mu)
            .map(|u| u.id.clone())
            .collect();
        business_units[m % bus]
            .management_units
            .push(FixtureManagementUnit {
                id: format!("mu-{m}"),
                name: format!("Management unit {m}"),
                user_ids,
            });
    }
    let mut schedules = Vec::with_capacity(spec.schedules);
    let mut per_mu_week = vec![0u32; mu_count.max(1)];
    for s in 0..spec.schedules {
        if mu_count == 0 {
            break;
        }
        let m = s % mu_count;
        let bu = &business_units[m % bus];
        let mu = bu
            .management_units
            .iter()
            .find(|x| x.id == format!("mu-{m}"))
            .expect("mu exists");
        let tz: chrono_tz::Tz = bu.time_zone.parse().expect("known zone");
        let first = if bu.start_day_of_week == "Monday" {
            NaiveDate::from_ymd_opt(2026, 1, 5)
        } else {
            NaiveDate::from_ymd_opt(2026, 1, 4)
        }
        .expect("valid date");
        let week = first + Duration::weeks(per_mu_week[m] as i64);
        per_mu_week[m] += 1;
        let agent_schedules = mu
            .user_ids
            .iter()
            .take(spec.agents_per_schedule)
            .enumerate()
            .map(|(a, uid)| FixtureAgentSchedule {
                user_id: uid.clone(),
                metadata: None,
                shifts: (0..spec.shifts_per_agent.min(7))
                    .map(|d| {
                        let day = week + Duration::days(d as i64);
                        let local = day
                            .and_hms_opt(8 + (a % 4) as u32, 0, 0)
                            .expect("valid time");
                        let start = tz
                            .from_local_datetime(&local)
                            .earliest()
                            .expect("08:00-11:00 exists");
                        let start =
                            genesys::model::format_instant(start.with_timezone(&chrono::Utc));
                        BuAgentScheduleShift {
                            id: Some(format!("sh-{s}-{a}-{d}")),
                            start_date: start.clone(),
                            length_minutes: 480,
                            activities: vec![genesys::model::BuAgentScheduleActivity {
                                start_date: start,
                                length_minutes: 480,
                                description: "On Queue Work".into(),
                                activity_code_id: format!(
                                    "ac-{}-0",
                                    bu.id.trim_start_matches("bu-")
                                ),
                                paid: None,
                                time_off_request_id: None,
                            }],
                            manually_edited: None,
                        }
                    })
                    .collect(),
            })
            .collect();
        debug_assert_eq!(
            week.weekday().num_days_from_monday() % 7,
            first.weekday().num_days_from_monday()
        );
        schedules.push(FixtureSchedule {
            id: format!("sc-{s}"),
            business_unit_id: bu.id.clone(),
            week_id: week.format("%Y-%m-%d").to_string(),
            week_count: 1,
            description: format!("Generated week {s}"),
            published: true,
            metadata: None,
            agent_schedules,
        });
    }
    Fixture {
        org: Some(OrgInfo {
            id: "org-synthetic".into(),
            name: "Synthetic org".into(),
        }),
        users,
        business_units,
        schedules,
        shift_trades: vec![],
        time_off_requests: vec![],
    }
}
