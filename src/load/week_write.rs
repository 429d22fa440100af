//! The write steps of the week worker ([`super::worker`]): a blank create and its settling, the one
//! upload of a round (upload URL → gzip PUT → import or update), a lock's wait, following a write
//! to its end by re-reading, and settling an import whose answer was lost (by its marker).

use super::journal::{State, WeekRow};
use super::merge::{Op, WeekPlan};
use super::model::WeekView;
use super::week_read::{now_ms, week_path};
use super::worker::{Failed, Step};
use super::{Counters, Shared};
use crate::client::retry::CallKind;
use crate::client::{ApiError, Refusal, enc};
use crate::error::Result;
use crate::genesys::model as m;
use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// Create this week's schedule blank with the marker, journalled before it is sent. Synchronous:
/// the answer is the schedule. When the answer is lost (`502`/`503`/`504`, a dropped connection),
/// the week's list is read for the marker ([`settle_create`]) before anything else.
pub(super) async fn create(
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
pub(super) async fn settle_create(
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

pub(super) fn plan_adds(plan: &WeekPlan) -> Vec<(String, ())> {
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
pub(super) async fn write(
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
pub(super) async fn follow(
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
pub(super) fn describe(view: Option<&WeekView>, plan: &WeekPlan) -> String {
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
pub(super) async fn settle_import(
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
