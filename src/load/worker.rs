//! The week worker: the state machine that makes one business-unit week in Genesys hold its desired
//! shifts. Each round reads the week (schedule list, agent schedules of the management units that
//! matter), merges three-way ([`super::merge`]), applies the local crosswalk changes, and, when the
//! plan has writes, sends exactly one upload (upload URL → gzip PUT → import or update) and follows
//! it to its end by re-reading. A round with nothing to write ends the week.
//!
//! Refusals (`409`/`412`, an update ending in a version error) re-read and merge again, never resend
//! unchanged; a lock waits and resends; a write whose answer was lost is settled by reading (an
//! import by its description marker, which is polled for until the settle timeout, an update by the
//! versions it carried, which make a second attempt harmless). Every state change is journalled
//! before the step it announces.

use super::desired::WeekInput;
use super::journal::{self, State, WeekRow};
use super::merge::{self, Conflict, Op, WeekPlan};
use super::model::{AgentView, Content, WeekView};
use super::{Counters, Shared};
use crate::client::retry::CallKind;
use crate::client::{ApiError, Refusal, enc};
use crate::error::{Error, Result};
use crate::genesys::model as m;
use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// How a week ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Done,
    Skipped,
    Conflict(usize),
    Failed(String),
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

fn week_path(bu: &str, week: &str) -> String {
    format!(
        "/api/v2/workforcemanagement/businessunits/{}/weeks/{}/schedules",
        enc(bu),
        enc(week)
    )
}

/// The description marker of this migration's schedule of a week.
pub fn marker(migration: &str, bu: &str, week: &str) -> String {
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
    let mut agents = BTreeMap::new();
    for mu in mus {
        *reads += 1;
        let path = format!(
            "{}/{}/agentschedules/query",
            week_path(bu, &meta.week_date),
            enc(&meta.id)
        );
        let result = query_agent_schedules(sh, &path, mu, reads, polls).await?;
        for a in result.agent_schedules {
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
    Ok(Some(WeekView {
        schedule_id: meta.id,
        week_date: meta.week_date,
        version: meta.metadata.version,
        ours,
        ours_in_week,
        agents,
    }))
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

enum Step {
    /// Written: `Complete` (the answer's schedule, when it says) or still processing.
    Sent(Option<m::BuScheduleMetadata>, bool),
    /// The process call answered `Error` (or `Canceled`) at once: nothing changed, no reason.
    Error(String),
    /// Refused for a stale version: merge again.
    Stale(String),
    /// The answer was lost: settle by reading.
    Unknown,
}

enum Failed {
    /// The week failed (why, and the correlation id of the last request); the load goes on.
    Week(String, Option<String>),
    /// The state database could not be read or written (a full disk, a read-only file, …): the
    /// load stops, as going on could not keep the journal ahead of the requests.
    Store(Error),
}

impl From<ApiError> for Failed {
    fn from(e: ApiError) -> Self {
        let cid = (!e.context_id.is_empty()).then(|| e.context_id.clone());
        Failed::Week(e.to_string(), cid)
    }
}

impl From<Error> for Failed {
    fn from(e: Error) -> Self {
        Failed::Store(e)
    }
}

/// Run one week to its end. `Err` when the state database could not be read or written: the
/// load must stop (the journal keeps what was done; a re-run resumes).
pub async fn run_week(sh: &Shared, bu: &str, week: &str, input: &WeekInput) -> Result<Outcome> {
    let mut counters = Counters::default();
    let out = run_week_inner(sh, bu, week, input, &mut counters).await;
    sh.add(&counters);
    match out {
        Ok(o) => Ok(o),
        Err(Failed::Store(e)) => Err(e),
        Err(Failed::Week(reason, cid)) => {
            let mut row = sh.row(bu, week)?;
            row.state = State::Failed;
            row.reason = Some(reason.clone());
            row.context_id = cid;
            sh.save(&row, "failed", &reason)?;
            Ok(Outcome::Failed(reason))
        }
    }
}

async fn run_week_inner(
    sh: &Shared,
    bu: &str,
    week: &str,
    input: &WeekInput,
    counters: &mut Counters,
) -> Result<Outcome, Failed> {
    let mut row = sh.row(bu, week)?;
    if !sh.opts.recheck && matches!(row.state, State::Done) && row.desired_hash == Some(input.hash)
    {
        return Ok(Outcome::Skipped);
    }
    let mark = marker(&sh.migration, bu, week);
    // A step in doubt from an earlier run. A blank create (killed mid-send, or its answer lost) is
    // settled by finding its marker, never by creating again blindly; an update needs nothing: it
    // carried its versions, so sending it again refuses itself if the first one landed. An import
    // sent by an earlier version of zd2gc is waited for by its marker.
    let mut known: Option<m::BuScheduleMetadata> = None;
    match (row.state, row.step.as_deref()) {
        (State::Processing, Some("create")) => {
            let since = row.sent_at.unwrap_or_else(now_ms);
            known = settle_create(sh, bu, week, &mark, since, counters).await?;
            sh.save(
                &row,
                "reconciled",
                if known.is_some() {
                    "create found"
                } else {
                    "create not found"
                },
            )?;
        }
        (State::Processing, Some("import")) => {
            let since = row.sent_at.unwrap_or_else(now_ms);
            known =
                settle_import(sh, bu, week, &mark, since, sh.opts.settle_timeout, counters).await?;
            sh.save(
                &row,
                "reconciled",
                if known.is_some() {
                    "import found"
                } else {
                    "import not found"
                },
            )?;
        }
        _ => {}
    }
    row.desired_hash = Some(input.hash);
    row.shifts_desired = input.desired.len() as i64;
    let mut written: HashSet<String> = HashSet::new();
    let mut overwritten: Vec<Conflict> = Vec::new();
    let mut refusals = 0u32;
    let mut lock_waits = 0u32;
    // Writes of this run that ended `Error` or stayed invisible, with what is known of each.
    let mut failures: Vec<String> = Vec::new();
    // The view of a schedule just created blank (nothing to read in it yet).
    let mut next_view: Option<WeekView> = None;
    // Every round reads and either ends the week or writes once; a write is refused (bounded by
    // `max_refusals`), fails (bounded by `max_failed_writes`) or lands. Landing writes that never
    // converge (a week changed under every write) are bounded by the round cap.
    let max_rounds = 4 + 2 * (sh.opts.max_refusals + sh.opts.max_failed_writes);
    for round in 0..max_rounds {
        row.state = State::Reading;
        let links = sh.with_db(|c| journal::links(c, bu, week))?;
        let reads = if round == 0 {
            &mut counters.state_reads
        } else {
            &mut counters.confirm_reads
        };
        let view = match next_view.take() {
            Some(v) => Some(v),
            None => {
                read_week(
                    sh,
                    bu,
                    week,
                    &input.mus,
                    known.take(),
                    reads,
                    &mut counters.polls,
                )
                .await?
            }
        };
        let plan = merge::merge(
            &input.desired,
            &links,
            &sh.held,
            view.as_ref(),
            sh.opts.on_conflict,
        );
        let sid = view.as_ref().map(|v| v.schedule_id.clone());
        sh.with_db(|c| {
            journal::apply_links(
                c,
                sh.run_id,
                bu,
                week,
                sid.as_deref(),
                &plan.links,
                &written,
            )
        })?;
        sh.with_db(|c| journal::record_relabelled(c, sh.run_id, bu, week, &plan.relabelled))?;
        overwritten.extend(plan.conflicts.iter().filter(|c| c.overwritten).cloned());
        if !plan.writes() {
            let mut conflicts: Vec<Conflict> = plan.conflicts.clone();
            for c in &overwritten {
                if !conflicts
                    .iter()
                    .any(|x| x.legacy == c.legacy && x.kind == c.kind)
                {
                    conflicts.push(c.clone());
                }
            }
            sh.with_db(|c| {
                journal::record_conflicts(c, sh.run_id, bu, week, sid.as_deref(), &conflicts)
            })?;
            let parked = conflicts.iter().filter(|c| !c.overwritten).count();
            row.state = if parked > 0 {
                State::Conflict
            } else {
                State::Done
            };
            row.schedule_id = sid;
            row.step = None;
            row.upload_key = None;
            row.operation_id = None;
            row.conflicts = conflicts.len() as i64;
            row.shifts_done =
                (input.desired.len() as u64).saturating_sub(plan.counts.conflicts) as i64;
            row.reason = None;
            row.context_id = None;
            sh.save(&row, row.state.as_str(), &format!("{:?}", plan.counts))?;
            sh.progress
                .shifts_done
                .fetch_add(row.shifts_done as u64, Ordering::Relaxed);
            sh.progress
                .conflicts
                .fetch_add(parked as u64, Ordering::Relaxed);
            return Ok(if parked > 0 {
                Outcome::Conflict(parked)
            } else {
                Outcome::Done
            });
        }
        if refusals > sh.opts.max_refusals {
            return Err(Failed::Week(
                format!(
                    "gave up after {refusals} refused writes (the week keeps changing under the load)"
                ),
                None,
            ));
        }
        counters
            .weeks_written
            .insert((bu.to_string(), week.to_string()));
        let Some(view) = view else {
            // No schedule for this week: create ours blank, synchronously, with the marker; the
            // shifts follow as an update in the next round. Never an import: an import's key
            // processed twice imports twice, and a resumed load could not tell an import still
            // processing from one never sent.
            next_view = create(sh, bu, week, &mark, &mut row, counters).await?;
            if next_view.is_none() {
                // Its answer was lost and it is not in the week's list: nothing was created.
                failures.push("a blank create got no answer and was not found".into());
                if failures.len() as u32 >= sh.opts.max_failed_writes {
                    return Err(gave_up(&failures, &row));
                }
            }
            continue;
        };
        let view = Some(view);
        // One write at a time per schedule.
        let lock_key = sid.clone().unwrap_or_else(|| format!("{bu}/{week}"));
        let guard = sh.schedule_lock(&lock_key);
        let _held = guard.lock().await;
        for (legacy, _) in plan_adds(&plan) {
            written.insert(legacy);
        }
        let sent = describe(view.as_ref(), &plan);
        let step = write(
            sh,
            bu,
            view.as_ref(),
            &plan,
            &mut row,
            &mut lock_waits,
            counters,
        )
        .await?;
        match step {
            Step::Sent(meta, processing) => {
                row.state = State::Verifying;
                sh.save(&row, "verifying", "")?;
                let (meta, landed) = if processing {
                    follow(sh, bu, view.as_ref(), counters).await?
                } else {
                    (meta, true)
                };
                if !landed {
                    // Nothing changed through the settle timeout: an `Error` (which tells no
                    // reason) or a write still processing. Sending it again is harmless (its
                    // versions refuse a second landing) but bounded.
                    let what = format!(
                        "stayed invisible for {} s ({})",
                        sh.opts.settle_timeout.as_secs(),
                        attempt(&row, &sent)
                    );
                    sh.save(&row, "write-invisible", &what)?;
                    failures.push(what);
                    if failures.len() as u32 >= sh.opts.max_failed_writes {
                        return Err(gave_up(&failures, &row));
                    }
                }
                known = meta;
            }
            Step::Error(status) => {
                let what = format!("ended in {status} ({})", attempt(&row, &sent));
                sh.save(&row, "write-error", &what)?;
                failures.push(what);
                if failures.len() as u32 >= sh.opts.max_failed_writes {
                    return Err(gave_up(&failures, &row));
                }
                row.state = State::Planned;
                row.step = None;
            }
            Step::Stale(why) => {
                refusals += 1;
                row.refusals += 1;
                row.state = State::Planned;
                row.step = None;
                sh.save(&row, "refused", &why)?;
            }
            Step::Unknown => {
                // An update carried its versions: read at once (sending it again cannot apply
                // it twice).
                row.state = State::Verifying;
                sh.save(&row, "outcome-unknown", "")?;
            }
        }
    }
    Err(Failed::Week(
        format!(
            "did not converge in {max_rounds} rounds (every write landed, yet the week still differed: it keeps changing under the load); {}",
            if failures.is_empty() {
                "no write failed".to_string()
            } else {
                failures.join("; ")
            }
        ),
        row.context_id.clone(),
    ))
}

/// One attempt's identity: operation id, correlation id, what was sent.
fn attempt(row: &WeekRow, sent: &str) -> String {
    format!(
        "operation {}, correlation id {}, upload key {}; sent {sent}",
        row.operation_id.as_deref().unwrap_or("-"),
        row.context_id.as_deref().unwrap_or("-"),
        row.upload_key.as_deref().unwrap_or("-"),
    )
}

/// The week gives up after `max_failed_writes` writes that ended `Error` or stayed invisible.
fn gave_up(failures: &[String], row: &WeekRow) -> Failed {
    Failed::Week(
        format!(
            "{} write(s) ended in Error or stayed invisible (Genesys gives no reason; if the org is only slow, raise --settle-timeout): {}",
            failures.len(),
            failures
                .iter()
                .enumerate()
                .map(|(i, f)| format!("{}. {f}", i + 1))
                .collect::<Vec<_>>()
                .join("; ")
        ),
        row.context_id.clone(),
    )
}

/// Create this week's schedule blank with the marker, journalled before it is sent. Synchronous:
/// the answer is the schedule. When the answer is lost (`502`/`503`/`504`, a dropped connection),
/// the week's list is read for the marker ([`settle_create`]) before anything else.
async fn create(
    sh: &Shared,
    bu: &str,
    week: &str,
    mark: &str,
    row: &mut WeekRow,
    counters: &mut Counters,
) -> Result<Option<WeekView>, Failed> {
    row.state = State::Processing;
    row.step = Some("create".into());
    row.schedule_id = None;
    row.sent_version = None;
    row.upload_key = None;
    row.operation_id = None;
    row.sent_at = Some(now_ms());
    row.writes += 1;
    sh.save(row, "create-sent", mark)?;
    counters.writes += 1;
    counters
        .weeks_created
        .insert((bu.to_string(), week.to_string()));
    let r: Result<(m::BuScheduleMetadata, String), ApiError> = sh
        .client
        .call_cid(
            reqwest::Method::POST,
            &week_path(bu, week),
            Some(&m::BuCreateBlankScheduleRequest {
                description: format!("Migrated from Zendesk WFM {mark}"),
                week_count: 1,
            }),
            CallKind::Write,
            &[],
        )
        .await;
    let meta = match r {
        Ok((meta, cid)) => {
            row.context_id = Some(cid);
            Some(meta)
        }
        Err(e) if e.outcome_unknown => {
            sh.save(row, "create-unknown", &e.to_string())?;
            let since = row.sent_at.unwrap_or_else(now_ms);
            settle_create(sh, bu, week, mark, since, counters).await?
        }
        Err(e) => return Err(e.into()),
    };
    let Some(meta) = meta else {
        row.state = State::Planned;
        row.step = None;
        sh.save(row, "create-not-found", "")?;
        return Ok(None);
    };
    row.state = State::Planned;
    row.step = None;
    row.schedule_id = Some(meta.id.clone());
    sh.save(row, "created", &meta.id)?;
    Ok(Some(WeekView {
        schedule_id: meta.id,
        week_date: meta.week_date,
        version: meta.metadata.version,
        ours: true,
        ours_in_week: 1,
        agents: BTreeMap::new(),
    }))
}

/// Find a blank create in doubt by its marker: the week's list at once, then with a backoff
/// until a grace period after it was sent (`settle_timeout`, at most 5 s: a synchronous create
/// that a gateway timed out may still commit a moment later).
async fn settle_create(
    sh: &Shared,
    bu: &str,
    week: &str,
    mark: &str,
    since_ms: i64,
    counters: &mut Counters,
) -> Result<Option<m::BuScheduleMetadata>, Failed> {
    let grace = sh.opts.settle_timeout.min(Duration::from_secs(5));
    settle_import(sh, bu, week, mark, since_ms, grace, counters).await
}

fn plan_adds(plan: &WeekPlan) -> Vec<(String, ())> {
    let mut v = Vec::new();
    if let Some(i) = &plan.import {
        for shifts in i.values() {
            v.extend(shifts.iter().map(|(l, _)| (l.clone(), ())));
        }
    }
    for p in plan.update.values() {
        for op in &p.ops {
            match op {
                Op::Add {
                    legacy: Some(l), ..
                }
                | Op::Replace { legacy: l, .. } => v.push((l.clone(), ())),
                _ => {}
            }
        }
    }
    v
}

/// Build the upload of a plan: the JSON body, the upload-URL path, the process path, the version
/// for `If-Match`.
fn upload_of(
    bu: &str,
    view: Option<&WeekView>,
    plan: &WeekPlan,
) -> (Vec<u8>, String, String, Option<i64>, &'static str) {
    match view {
        Some(v) => {
            let body = m::UpdateScheduleUploadSchema {
                metadata: m::WfmVersionedEntityMetadata::version(v.version),
                description: None,
                // Our own schedule starts blank (unpublished): the update publishes it.
                published: v.ours.then_some(true),
                agent_schedules: plan
                    .update
                    .iter()
                    .map(|(user, p)| m::BuUpdateAgentScheduleUploadSchema {
                        user_id: user.clone(),
                        shifts: p
                            .ops
                            .iter()
                            .map(|op| match op {
                                Op::Add { content, .. } => content.to_update(None),
                                Op::Replace { gid, content, .. } => content.to_update(Some(gid)),
                                Op::Delete { gid } => m::BuUpdateAgentScheduleShift {
                                    id: Some(gid.clone()),
                                    delete: Some(true),
                                    ..Default::default()
                                },
                            })
                            .collect(),
                        metadata: p.version.map(m::WfmVersionedEntityMetadata::version),
                        delete: None,
                    })
                    .collect(),
            };
            let base = format!("{}/{}", week_path(bu, &v.week_date), enc(&v.schedule_id));
            (
                serde_json::to_vec(&body).expect("upload serializes"),
                format!("{base}/update/uploadurl"),
                format!("{base}/update"),
                Some(v.version),
                "update",
            )
        }
        None => unreachable!("a week is written only once it has a schedule"),
    }
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(bytes).expect("gzip to memory");
    e.finish().expect("gzip to memory")
}

#[allow(clippy::too_many_arguments)]
async fn write(
    sh: &Shared,
    bu: &str,
    view: Option<&WeekView>,
    plan: &WeekPlan,
    row: &mut WeekRow,
    lock_waits: &mut u32,
    counters: &mut Counters,
) -> Result<Step, Failed> {
    let (json, url_path, process_path, version, kind) = upload_of(bu, view, plan);
    let body = gzip(&json);
    let if_match: Vec<(&str, String)> = version
        .map(|v| vec![("If-Match", format!("\"{v}\""))])
        .unwrap_or_default();
    row.state = State::Uploading;
    row.step = Some(kind.into());
    row.schedule_id = view.map(|v| v.schedule_id.clone());
    row.sent_version = version;
    row.upload_key = None;
    row.operation_id = None;
    sh.save(row, "uploading", kind)?;
    // Upload URL (harmless to repeat: a key is only used when processed).
    let up: m::UploadUrlResponse = loop {
        counters.writes += 1;
        match sh
            .client
            .call_with(
                reqwest::Method::POST,
                &url_path,
                Some(&m::UploadUrlRequestBody {
                    content_length_bytes: body.len() as u64,
                }),
                CallKind::Read,
                &if_match,
            )
            .await
        {
            Ok(u) => break u,
            Err(e) => match e.refusal() {
                Refusal::Lock => lock_wait(sh, row, lock_waits).await?,
                Refusal::Stale => return Ok(Step::Stale(e.to_string())),
                Refusal::Other => return Err(e.into()),
            },
        }
    };
    counters.writes += 1;
    sh.client.put_upload(&up.url, &up.headers, body).await?;
    // Intent before the process call: a crash from here on leaves this step in doubt.
    row.state = State::Processing;
    row.upload_key = Some(up.upload_key.clone());
    row.sent_at = Some(now_ms());
    row.writes += 1;
    sh.save(
        row,
        "process-sent",
        &format!("{kind} key={}", up.upload_key),
    )?;
    loop {
        counters.writes += 1;
        let r: Result<(m::AsyncScheduleResponse, String), ApiError> = sh
            .client
            .call_cid(
                reqwest::Method::POST,
                &process_path,
                Some(&m::ProcessUploadRequest {
                    upload_key: up.upload_key.clone(),
                }),
                CallKind::Write,
                &if_match,
            )
            .await;
        match r {
            Ok((a, cid)) => {
                row.operation_id = a.operation_id.clone();
                row.context_id = Some(cid);
                match a.status.as_str() {
                    "Complete" => {
                        sh.save(
                            row,
                            "process-complete",
                            a.operation_id.as_deref().unwrap_or(""),
                        )?;
                        return Ok(Step::Sent(a.result, false));
                    }
                    "Processing" => {
                        sh.save(
                            row,
                            "process-accepted",
                            a.operation_id.as_deref().unwrap_or(""),
                        )?;
                        return Ok(Step::Sent(None, true));
                    }
                    other => {
                        sh.save(row, "process-error", other)?;
                        return Ok(Step::Error(other.to_string()));
                    }
                }
            }
            Err(e) if e.outcome_unknown => {
                row.context_id = (!e.context_id.is_empty()).then(|| e.context_id.clone());
                sh.save(row, "process-unknown", &e.to_string())?;
                return Ok(Step::Unknown);
            }
            Err(e) => match e.refusal() {
                Refusal::Lock => lock_wait(sh, row, lock_waits).await?,
                Refusal::Stale => return Ok(Step::Stale(e.to_string())),
                Refusal::Other => return Err(e.into()),
            },
        }
    }
}

async fn lock_wait(sh: &Shared, row: &mut WeekRow, lock_waits: &mut u32) -> Result<(), Failed> {
    *lock_waits += 1;
    row.lock_waits += 1;
    sh.progress.locks.fetch_add(1, Ordering::Relaxed);
    if *lock_waits > sh.opts.max_lock_waits {
        return Err(Failed::Week(
            format!(
                "the schedule stayed locked by another process through {} waits",
                *lock_waits - 1
            ),
            None,
        ));
    }
    let ms = (sh.opts.lock_wait_ms * (*lock_waits as u64).min(8)).min(10_000);
    tokio::time::sleep(Duration::from_millis(ms)).await;
    Ok(())
}

/// After an update that is processing: poll the schedule's version until it moves (the update,
/// or someone else's edit, landed) or the settle timeout passes. Returns the latest metadata
/// (`None` if the schedule is gone) and whether the version moved.
async fn follow(
    sh: &Shared,
    bu: &str,
    view: Option<&WeekView>,
    counters: &mut Counters,
) -> Result<(Option<m::BuScheduleMetadata>, bool), Failed> {
    let Some(v) = view else {
        return Ok((None, true));
    };
    let deadline = Instant::now() + sh.opts.settle_timeout;
    let mut wait = sh.opts.poll_ms;
    let path = format!("{}/{}", week_path(bu, &v.week_date), enc(&v.schedule_id));
    loop {
        tokio::time::sleep(Duration::from_millis(wait)).await;
        counters.polls += 1;
        let meta: m::BuScheduleMetadata = match sh.client.get(&path).await {
            Ok(mm) => mm,
            Err(e) if e.status == Some(404) => return Ok((None, true)),
            Err(e) => return Err(e.into()),
        };
        if meta.metadata.version != v.version {
            return Ok((Some(meta), true));
        }
        if Instant::now() >= deadline {
            return Ok((Some(meta), false));
        }
        wait = (wait * 3 / 2).min(2_000);
    }
}

/// What an update sends, in words (for the journal and a failed week's report).
fn describe(view: Option<&WeekView>, plan: &WeekPlan) -> String {
    let (mut add, mut rep, mut del) = (0, 0, 0);
    for p in plan.update.values() {
        for op in &p.ops {
            match op {
                Op::Add { .. } => add += 1,
                Op::Replace { .. } => rep += 1,
                Op::Delete { .. } => del += 1,
            }
        }
    }
    format!(
        "an update of schedule {} at version {}: {} agent schedule(s), {add} shift(s) added, {rep} replaced, {del} deleted",
        view.map_or("-", |v| v.schedule_id.as_str()),
        view.map_or(0, |v| v.version),
        plan.update.len()
    )
}

/// Poll the week's schedule list for our marker until `window` after `since_ms`: at once, then
/// with a backoff from `poll_ms` growing by half, capped at a quarter of the window (and 2 s).
async fn settle_import(
    sh: &Shared,
    bu: &str,
    week: &str,
    mark: &str,
    since_ms: i64,
    window: Duration,
    counters: &mut Counters,
) -> Result<Option<m::BuScheduleMetadata>, Failed> {
    let deadline_ms = since_ms + window.as_millis() as i64;
    let cap = (window.as_millis() as u64 / 4).clamp(sh.opts.poll_ms, 2_000);
    let mut wait = sh.opts.poll_ms;
    loop {
        counters.polls += 1;
        let list: m::Listing<m::BuScheduleMetadata> = sh.client.get(&week_path(bu, week)).await?;
        if let Some(s) = list
            .entities
            .into_iter()
            .find(|s| s.description.contains(mark))
        {
            return Ok(Some(s));
        }
        if now_ms() >= deadline_ms {
            return Ok(None);
        }
        let left = (deadline_ms - now_ms()).max(1) as u64;
        tokio::time::sleep(Duration::from_millis(wait.min(left))).await;
        wait = (wait * 3 / 2).min(cap);
    }
}
