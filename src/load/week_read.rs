//! Reading a week for the week worker ([`super::worker`]): the week's schedule list (ours by its
//! description marker, else a planner's published schedule), and the agent schedules of the
//! management units that matter, asked again while the query is still processing.

use super::Shared;
use super::model::{AgentView, Content, WeekView};
use crate::client::retry::CallKind;
use crate::client::{ApiError, enc};
use crate::error::Result;
use crate::genesys::model as m;
use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

pub(super) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

pub(super) fn week_path(bu: &str, week: &str) -> String {
    format!(
        "/api/v2/workforcemanagement/businessunits/{}/weeks/{}/schedules",
        enc(bu),
        enc(week)
    )
}

/// The description marker of this migration's schedule of a week.
pub(super) fn marker(migration: &str, bu: &str, week: &str) -> String {
    format!("[zd2gc:{migration}:{bu}:{week}]")
}

/// Read a week: its schedule (ours by marker, else a planner's), and the agent schedules of `mus`.
/// `known` skips the list when the schedule is already known (the answer of a write). Requests are
/// counted in `reads`, and queries asked again because they were still processing in `polls`.
pub async fn read_week(
    sh: &Shared,
    bu: &str,
    week: &str,
    mus: &std::collections::BTreeSet<String>,
    known: Option<m::BuScheduleMetadata>,
    reads: &mut u64,
    polls: &mut u64,
) -> Result<Option<WeekView>, ApiError> {
    let Some(mut view) = read_header(sh, bu, week, known, reads).await? else {
        return Ok(None);
    };
    view.agents = read_agents(sh, bu, &view, mus, reads, polls).await?;
    Ok(Some(view))
}

/// A week's schedule (ours by marker, else a planner's) without its agent schedules: the week's
/// list (one request, counted in `reads`), or nothing when `known` is the schedule.
pub(super) async fn read_header(
    sh: &Shared,
    bu: &str,
    week: &str,
    known: Option<m::BuScheduleMetadata>,
    reads: &mut u64,
) -> Result<Option<WeekView>, ApiError> {
    let mark = marker(&sh.migration, bu, week);
    let mut ours_in_week = None;
    let meta = match known {
        Some(k) => Some(k),
        None => {
            *reads += 1;
            let list: m::Listing<m::BuScheduleMetadata> =
                sh.client.get(&week_path(bu, week)).await?;
            ours_in_week = Some(
                list.entities
                    .iter()
                    .filter(|s| s.description.contains(&mark))
                    .count(),
            );
            pick(list.entities, &mark, week)
        }
    };
    let Some(meta) = meta else { return Ok(None) };
    let ours = meta.description.contains(&mark);
    let ours_in_week = ours_in_week.unwrap_or(usize::from(ours));
    Ok(Some(WeekView {
        schedule_id: meta.id,
        week_date: meta.week_date,
        version: meta.metadata.version,
        ours,
        ours_in_week,
        agents: BTreeMap::new(),
    }))
}

/// The agent schedules of management units `mus` (in this order) of the schedule `header`, by
/// user (a user answered by two units keeps the later answer).
pub(super) async fn read_agents<'a>(
    sh: &Shared,
    bu: &str,
    header: &WeekView,
    mus: impl IntoIterator<Item = &'a String>,
    reads: &mut u64,
    polls: &mut u64,
) -> Result<BTreeMap<String, AgentView>, ApiError> {
    let mut agents = BTreeMap::new();
    for mu in mus {
        *reads += 1;
        let path = format!(
            "{}/{}/agentschedules/query",
            week_path(bu, &header.week_date),
            enc(&header.schedule_id)
        );
        let result = query_agent_schedules(sh, &path, mu, reads, polls).await?;
        for a in result.agent_schedules {
            agents.insert(a.user, a.view);
        }
    }
    Ok(agents)
}

/// Most pauses before an agent-schedule query that keeps answering `Processing` is given up.
const QUERY_ASKS: u32 = 12;

/// One management unit's agent schedules of a schedule (`path` is its `agentschedules/query`).
/// A `Processing` answer with no result (the server went asynchronous) is asked again after a
/// growing pause (`poll_ms`, ×1.5, at most 2 s; [`QUERY_ASKS`] times and within the settle
/// timeout), never read as an empty week; one that never completes, or ends `Error`/`Canceled`,
/// is an error that says so. A result that comes as a `downloadUrl` is fetched (no bearer).
async fn query_agent_schedules(
    sh: &Shared,
    path: &str,
    mu: &str,
    reads: &mut u64,
    polls: &mut u64,
) -> Result<AgentsAnswer, ApiError> {
    let req = m::BuQueryAgentSchedulesRequest {
        management_unit_id: mu.to_string(),
        user_ids: None,
    };
    let started = Instant::now();
    let mut wait = sh.opts.poll_ms.max(1);
    let mut asks = 0u32;
    loop {
        let r: AgentsQueryAnswer = sh
            .client
            .call(reqwest::Method::POST, path, Some(&req), CallKind::Read)
            .await?;
        let unfinished = |why: String| ApiError {
            method: "POST",
            path: path.to_string(),
            status: Some(200),
            message: why,
            code: String::new(),
            context_id: String::new(),
            outcome_unknown: false,
        };
        match (r.status.as_str(), r.result, r.download_url) {
            (_, Some(res), _) => return Ok(res),
            (_, None, Some(url)) => {
                *reads += 1;
                return sh.client.download::<AgentsAnswer>(&url).await;
            }
            ("Processing", None, None) => {
                asks += 1;
                if asks > QUERY_ASKS || started.elapsed() >= sh.opts.settle_timeout {
                    return Err(unfinished(format!(
                        "the agent-schedule query of management unit {mu} was still `Processing` after {asks} asks over {:.1} s (last operation id {}); the week was not read (never taken for an empty week): run `zd2gc load` again later",
                        started.elapsed().as_secs_f64(),
                        r.operation_id.as_deref().unwrap_or("none")
                    )));
                }
                tracing::debug!(
                    path,
                    asks,
                    wait_ms = wait,
                    "agent-schedule query processing"
                );
                tokio::time::sleep(Duration::from_millis(wait)).await;
                wait = (wait * 3 / 2).min(2_000);
                *polls += 1;
            }
            (other, None, None) => {
                return Err(unfinished(format!(
                    "the agent-schedule query of management unit {mu} ended `{other}` with no result (operation id {})",
                    r.operation_id.as_deref().unwrap_or("none")
                )));
            }
        }
    }
}

/// An agent-schedule query's answer: `BuAsyncAgentSchedulesQueryResponse` with its result read
/// as [`AgentsAnswer`].
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AgentsQueryAnswer {
    status: String,
    #[serde(default)]
    operation_id: Option<String>,
    #[serde(default)]
    result: Option<AgentsAnswer>,
    #[serde(default)]
    download_url: Option<String>,
}

/// `BuAgentSchedulesQueryResponse` decoded straight into the load's view of each agent: each
/// shift is read as the typed [`m::BuAgentScheduleShift`] (the same fields required, the same
/// unknown fields ignored) and turned into its [`Content`] at once, so an answer is never held
/// whole as API structs beside its view (issue #17: that was the largest block of a load's
/// memory). Reads exactly what [`m::BuAgentSchedulesQueryResponse`] reads, and refuses what it
/// refuses but for an agent schedule written as a JSON array instead of an object.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub(super) struct AgentsAnswer {
    #[serde(default)]
    agent_schedules: Vec<AgentAnswer>,
    #[serde(default, rename = "businessUnitTimeZone")]
    _time_zone: Option<String>,
}

/// One agent's schedule (`BuAgentScheduleQueryResponse`): its user and its view.
struct AgentAnswer {
    user: String,
    view: AgentView,
}

/// Shift `s` of `user` into `view` as `read_agents` always took it: kept when it has an id and
/// a readable content, and its id among the time off when it carries time off (an activity with
/// a `timeOffRequestId`).
fn keep_shift(user: &str, s: &m::BuAgentScheduleShift, view: &mut AgentView) {
    if s.activities.iter().any(|x| x.time_off_request_id.is_some())
        && let Some(id) = &s.id
    {
        view.time_off.push(id.clone());
    }
    if let Some(id) = &s.id
        && let Some(c) = Content::from_api(user, s)
    {
        view.shifts.push((id.clone(), c));
    }
}

impl<'de> Deserialize<'de> for AgentAnswer {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(field_identifier, rename_all = "camelCase")]
        enum Field {
            User,
            Shifts,
            FullDayTimeOffMarkers,
            Metadata,
            #[serde(other)]
            Other,
        }
        const FIELDS: &[&str] = &["user", "shifts", "fullDayTimeOffMarkers", "metadata"];

        /// The shifts array: each shift turned into the view as it is read when the user came
        /// before it (the emulator's order, which serializes the API struct's fields in order),
        /// else kept as API shifts until the user is read.
        struct Shifts<'a>(Option<&'a str>);
        enum Read {
            Viewed(AgentView),
            Typed(Vec<m::BuAgentScheduleShift>),
        }
        impl<'de> DeserializeSeed<'de> for Shifts<'_> {
            type Value = Read;
            fn deserialize<D: Deserializer<'de>>(
                self,
                d: D,
            ) -> std::result::Result<Read, D::Error> {
                d.deserialize_seq(self)
            }
        }
        impl<'de> Visitor<'de> for Shifts<'_> {
            type Value = Read;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a sequence")
            }
            fn visit_seq<A: SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> std::result::Result<Read, A::Error> {
                let Some(user) = self.0 else {
                    let mut typed = Vec::new();
                    while let Some(s) = seq.next_element()? {
                        typed.push(s);
                    }
                    return Ok(Read::Typed(typed));
                };
                let mut view = AgentView::default();
                while let Some(s) = seq.next_element::<m::BuAgentScheduleShift>()? {
                    keep_shift(user, &s, &mut view);
                }
                view.shifts.shrink_to_fit();
                view.time_off.shrink_to_fit();
                Ok(Read::Viewed(view))
            }
        }

        struct Agent;
        impl<'de> Visitor<'de> for Agent {
            type Value = AgentAnswer;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("struct BuAgentScheduleQueryResponse")
            }
            fn visit_map<A: MapAccess<'de>>(
                self,
                mut map: A,
            ) -> std::result::Result<AgentAnswer, A::Error> {
                let mut user: Option<String> = None;
                let mut shifts: Option<Read> = None;
                let mut markers = false;
                let mut metadata: Option<m::WfmVersionedEntityMetadata> = None;
                while let Some(k) = map.next_key::<Field>()? {
                    match k {
                        Field::User if user.is_some() => {
                            return Err(de::Error::duplicate_field("user"));
                        }
                        Field::User => user = Some(map.next_value::<m::UserReference>()?.id),
                        Field::Shifts if shifts.is_some() => {
                            return Err(de::Error::duplicate_field("shifts"));
                        }
                        Field::Shifts => {
                            shifts = Some(map.next_value_seed(Shifts(user.as_deref()))?);
                        }
                        Field::FullDayTimeOffMarkers if markers => {
                            return Err(de::Error::duplicate_field("fullDayTimeOffMarkers"));
                        }
                        Field::FullDayTimeOffMarkers => {
                            map.next_value::<Vec<IgnoredAny>>()?;
                            markers = true;
                        }
                        Field::Metadata if metadata.is_some() => {
                            return Err(de::Error::duplicate_field("metadata"));
                        }
                        Field::Metadata => metadata = Some(map.next_value()?),
                        Field::Other => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                let user = user.ok_or_else(|| de::Error::missing_field("user"))?;
                let metadata = metadata.ok_or_else(|| de::Error::missing_field("metadata"))?;
                let mut view = match shifts {
                    None => AgentView::default(),
                    Some(Read::Viewed(v)) => v,
                    Some(Read::Typed(typed)) => {
                        let mut v = AgentView::default();
                        for s in &typed {
                            keep_shift(&user, s, &mut v);
                        }
                        v.shifts.shrink_to_fit();
                        v.time_off.shrink_to_fit();
                        v
                    }
                };
                view.version = metadata.version;
                Ok(AgentAnswer { user, view })
            }
        }

        d.deserialize_struct("BuAgentScheduleQueryResponse", FIELDS, Agent)
    }
}

/// The schedule to write to (`genesys-contract.md`, "A week's schedule list"): ours, by its
/// marker (a published one first, then the lowest id: a planner's unpublished copy of ours
/// carries the marker too); else the published schedule that starts in this week (the lowest id
/// if a list ever held two). Never an unpublished draft of a planner, and never a schedule that
/// started in an earlier week and spans this one: then there is none, and the week is imported.
fn pick(
    mut list: Vec<m::BuScheduleMetadata>,
    mark: &str,
    week: &str,
) -> Option<m::BuScheduleMetadata> {
    list.sort_by(|a, b| (!a.published, &a.id).cmp(&(!b.published, &b.id)));
    if let Some(i) = list.iter().position(|s| s.description.contains(mark)) {
        return Some(list.swap_remove(i));
    }
    list.into_iter()
        .find(|s| s.published && s.week_date == week)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    /// What an answer was read as: its status, its download URL, and each agent's view.
    type Read = Option<(String, Option<String>, Vec<(String, AgentView)>)>;

    /// The oracle: the answer read as the API structs, then turned into views as `read_agents`
    /// did before the answer was decoded straight into them.
    fn typed(text: &str) -> Read {
        let r: m::BuAsyncAgentSchedulesQueryResponse = serde_json::from_str(text).ok()?;
        let agents = r.result.map(|res| {
            res.agent_schedules
                .into_iter()
                .map(|a| {
                    let user = a.user.id.clone();
                    let shifts = a
                        .shifts
                        .iter()
                        .filter_map(|s| Some((s.id.clone()?, Content::from_api(&user, s)?)))
                        .collect();
                    let time_off = a
                        .shifts
                        .iter()
                        .filter(|s| s.activities.iter().any(|x| x.time_off_request_id.is_some()))
                        .filter_map(|s| s.id.clone())
                        .collect();
                    let view = AgentView {
                        version: a.metadata.version,
                        shifts,
                        time_off,
                    };
                    (user, view)
                })
                .collect()
        });
        Some((r.status, r.download_url, agents.unwrap_or_default()))
    }

    fn direct(text: &str) -> Read {
        let r: AgentsQueryAnswer = serde_json::from_str(text).ok()?;
        let agents = r.result.map(|res| {
            res.agent_schedules
                .into_iter()
                .map(|a| (a.user, a.view))
                .collect()
        });
        Some((r.status, r.download_url, agents.unwrap_or_default()))
    }

    /// JSON text of `v` with each object's `user` written first (the order Genesys and the
    /// emulator use, read in one pass) or last (the shifts are then kept until the user is read).
    fn text(v: &Value, user_first: bool) -> String {
        match v {
            Value::Object(o) => {
                let mut keys: Vec<&String> = o.keys().collect();
                keys.sort_by_key(|k| (k.as_str() == "user") != user_first);
                let fields: Vec<String> = keys
                    .iter()
                    .map(|k| format!("{}:{}", Value::from(k.as_str()), text(&o[*k], user_first)))
                    .collect();
                format!("{{{}}}", fields.join(","))
            }
            Value::Array(a) => {
                let items: Vec<String> = a.iter().map(|x| text(x, user_first)).collect();
                format!("[{}]", items.join(","))
            }
            other => other.to_string(),
        }
    }

    fn answer() -> Value {
        let act = |start: &str, len: i64, code: &str| {
            json!({"startDate": start, "lengthMinutes": len, "description": "Work",
                   "activityCodeId": code, "paid": true, "x-unknown": {"a": [1]}})
        };
        json!({
            "status": "Complete",
            "operationId": "op",
            "result": {
                "businessUnitTimeZone": "Europe/Paris",
                "agentSchedules": [
                    {
                        "user": {"id": "u1", "selfUri": "/u1"},
                        "shifts": [
                            {"id": "s1", "startDate": "2026-10-19T08:00:00.000Z", "lengthMinutes": 120,
                             "activities": [act("2026-10-19T09:00:00Z", 60, "b"),
                                            act("2026-10-19T08:00:00.000Z", 60, "a")],
                             "manuallyEdited": false, "schedule": {"id": "x"}},
                            {"id": "s2", "startDate": "2026-10-20T08:00:00.000Z", "lengthMinutes": 60,
                             "activities": [{"startDate": "2026-10-20T08:00:00.000Z", "lengthMinutes": 60,
                                             "description": "Off", "activityCodeId": "t",
                                             "timeOffRequestId": "r1"}]},
                            {"startDate": "2026-10-21T08:00:00.000Z", "lengthMinutes": 60,
                             "activities": [act("2026-10-21T08:00:00.000Z", 60, "a")]},
                            {"id": "s4", "startDate": "not an instant", "lengthMinutes": 60, "activities": []},
                            {"id": "s5", "startDate": "2026-10-22T08:00:00.000Z", "lengthMinutes": 30}
                        ],
                        "fullDayTimeOffMarkers": [{"date": "2026-10-23"}, 3, null],
                        "metadata": {"version": 7, "modifiedBy": {"id": "p"}, "dateModified": "d"},
                        "workPlan": null
                    },
                    {"user": {"id": "u2"}, "metadata": {"version": 1}},
                    {"user": {"id": "u3"}, "shifts": [], "fullDayTimeOffMarkers": [],
                     "metadata": {"version": 2}}
                ]
            }
        })
    }

    /// Every object of `v` and the path to it.
    fn objects(v: &Value, path: Vec<String>, out: &mut Vec<Vec<String>>) {
        match v {
            Value::Object(o) => {
                out.push(path.clone());
                for (k, x) in o {
                    let mut p = path.clone();
                    p.push(k.clone());
                    objects(x, p, out);
                }
            }
            Value::Array(a) => {
                for (i, x) in a.iter().enumerate() {
                    let mut p = path.clone();
                    p.push(i.to_string());
                    objects(x, p, out);
                }
            }
            _ => {}
        }
    }

    fn at<'a>(v: &'a mut Value, path: &[String]) -> &'a mut serde_json::Map<String, Value> {
        let mut x = v;
        for k in path {
            x = match x {
                Value::Object(o) => o.get_mut(k).expect("path"),
                Value::Array(a) => &mut a[k.parse::<usize>().expect("index")],
                _ => unreachable!("path through a scalar"),
            };
        }
        x.as_object_mut().expect("an object")
    }

    /// The answer decoded straight into views is what the API structs gave, and is refused
    /// exactly when they refused it: for the answer as it is, and with each field of each
    /// object removed or replaced by a value of every JSON type, or an unknown field added,
    /// with the user written before its shifts and after them.
    #[test]
    fn agent_schedules_are_read_as_the_api_structs_read_them() {
        let base = answer();
        let mut paths = Vec::new();
        objects(&base, Vec::new(), &mut paths);
        let mut cases = vec![base.clone()];
        let others = [
            json!(null),
            json!(5),
            json!(-1.5),
            json!("s"),
            json!(true),
            json!([]),
            json!({}),
        ];
        for p in &paths {
            let keys: Vec<String> = at(&mut base.clone(), p).keys().cloned().collect();
            for k in &keys {
                let mut v = base.clone();
                at(&mut v, p).remove(k);
                cases.push(v);
                for o in &others {
                    let mut v = base.clone();
                    at(&mut v, p).insert(k.clone(), o.clone());
                    cases.push(v);
                }
            }
            let mut v = base.clone();
            at(&mut v, p).insert("zzUnknown".into(), json!({"user": 1}));
            cases.push(v);
        }
        let (mut read, mut refused) = (0, 0);
        for case in &cases {
            for user_first in [true, false] {
                let t = text(case, user_first);
                let want = typed(&t);
                assert_eq!(direct(&t), want, "{t}");
                if want.is_some() {
                    read += 1
                } else {
                    refused += 1
                }
            }
        }
        // u1 keeps s1, s2 (its time off) and s5 (no activities); the shift without an id and
        // the one with an unreadable instant are dropped.
        let (_, _, agents) = direct(&text(&base, true)).expect("the base answer is read");
        assert_eq!(agents.len(), 3);
        let kept: Vec<&str> = agents[0]
            .1
            .shifts
            .iter()
            .map(|(id, _)| id.as_str())
            .collect();
        assert_eq!(kept, ["s1", "s2", "s5"]);
        assert_eq!(agents[0].1.time_off, ["s2"]);
        assert_eq!(agents[0].1.version, 7);
        assert!(
            read > 100 && refused > 100,
            "{read} read, {refused} refused"
        );
    }

    /// A field given twice is refused, as the API structs refuse it.
    #[test]
    fn a_repeated_agent_schedule_field_is_refused() {
        for field in [
            r#""user":{"id":"a"}"#,
            r#""shifts":[]"#,
            r#""fullDayTimeOffMarkers":[]"#,
            r#""metadata":{"version":1}"#,
        ] {
            let t = format!(
                r#"{{"status":"Complete","result":{{"agentSchedules":[{{"user":{{"id":"a"}},"shifts":[],"fullDayTimeOffMarkers":[],"metadata":{{"version":1}},{field}}}]}}}}"#
            );
            assert!(typed(&t).is_none(), "{t}");
            assert!(direct(&t).is_none(), "{t}");
        }
    }
}
