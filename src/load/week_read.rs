//! Reading a week for the week worker ([`super::worker`]): the week's schedule list (ours by its
//! description marker, else a planner's published schedule), and the agent schedules of the
//! management units that matter, asked again while the query is still processing.

use super::Shared;
use super::model::{AgentView, Content, WeekView};
use crate::client::retry::CallKind;
use crate::client::{ApiError, enc};
use crate::error::Result;
use crate::genesys::model as m;
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
            let user = a.user.id.clone();
            let mut shifts = Vec::with_capacity(a.shifts.len());
            shifts.extend(
                a.shifts
                    .iter()
                    .filter_map(|s| Some((s.id.clone()?, Content::from_api(&user, s)?))),
            );
            let time_off = a
                .shifts
                .iter()
                .filter(|s| s.activities.iter().any(|x| x.time_off_request_id.is_some()))
                .filter_map(|s| s.id.clone())
                .collect();
            agents.insert(
                user,
                AgentView {
                    version: a.metadata.version,
                    shifts,
                    time_off,
                },
            );
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
) -> Result<m::BuAgentSchedulesQueryResponse, ApiError> {
    let req = m::BuQueryAgentSchedulesRequest {
        management_unit_id: mu.to_string(),
        user_ids: None,
    };
    let started = Instant::now();
    let mut wait = sh.opts.poll_ms.max(1);
    let mut asks = 0u32;
    loop {
        let r: m::BuAsyncAgentSchedulesQueryResponse = sh
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
                return sh
                    .client
                    .download::<m::BuAgentSchedulesQueryResponse>(&url)
                    .await;
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
