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
use crate::client::{ApiError, Refusal, UploadBody, enc};
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

/// An upload: the gzip JSON body, the upload-URL path, the process path, the version for
/// `If-Match`, and what it is (`update`).
pub(super) type Upload<B = UploadBody> = (B, String, String, Option<i64>, &'static str);

/// The upload of a plan: its gzip JSON body (see [`UpdateBody`]), the upload-URL path, the
/// process path, the version for `If-Match`.
pub(super) fn upload_of(bu: &str, view: Option<&WeekView>, plan: &WeekPlan) -> Upload<Vec<u8>> {
    match view {
        Some(v) => {
            let base = format!("{}/{}", week_path(bu, &v.week_date), enc(&v.schedule_id));
            (
                gzip_json(&UpdateBody::of(v, plan)),
                format!("{base}/update/uploadurl"),
                format!("{base}/update"),
                Some(v.version),
                "update",
            )
        }
        None => unreachable!("a week is written only once it has a schedule"),
    }
}

/// The `UpdateScheduleUploadSchema` of a plan, serialized straight from the plan: the same JSON,
/// field for field and byte for byte, as [`m::UpdateScheduleUploadSchema`] built from it (the
/// schedule's version, `published: true` for our own schedule, one agent schedule per user with
/// its ops and version), without building that copy of every shift first: a week's body is
/// written into gzip as it is serialized, so only the compressed bytes are held.
pub(super) struct UpdateBody<'a> {
    version: i64,
    /// Our own schedule starts blank (unpublished): the update publishes it.
    publish: bool,
    plan: &'a WeekPlan,
}

impl<'a> UpdateBody<'a> {
    pub(super) fn of(view: &WeekView, plan: &'a WeekPlan) -> UpdateBody<'a> {
        UpdateBody {
            version: view.version,
            publish: view.ours,
            plan,
        }
    }
}

impl serde::Serialize for UpdateBody<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("UpdateScheduleUploadSchema", 3)?;
        st.serialize_field(
            "metadata",
            &m::WfmVersionedEntityMetadata::version(self.version),
        )?;
        if self.publish {
            st.serialize_field("published", &true)?;
        }
        st.serialize_field("agentSchedules", &AgentSchedules(self.plan))?;
        st.end()
    }
}

struct AgentSchedules<'a>(&'a WeekPlan);

impl serde::Serialize for AgentSchedules<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.update.iter().map(|(user, p)| AgentSchedule(user, p)))
    }
}

struct AgentSchedule<'a>(&'a str, &'a super::merge::AgentPatch);

impl serde::Serialize for AgentSchedule<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("BuUpdateAgentScheduleUploadSchema", 3)?;
        st.serialize_field("userId", self.0)?;
        st.serialize_field("shifts", &Ops(&self.1.ops))?;
        if let Some(v) = self.1.version {
            st.serialize_field("metadata", &m::WfmVersionedEntityMetadata::version(v))?;
        }
        st.end()
    }
}

struct Ops<'a>(&'a [Op]);

impl serde::Serialize for Ops<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter().map(ShiftOp))
    }
}

/// One op as a `BuUpdateAgentScheduleShift`: an add (no id), a replacement (its id), a deletion
/// (its id and `delete: true`).
struct ShiftOp<'a>(&'a Op);

impl serde::Serialize for ShiftOp<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("BuUpdateAgentScheduleShift", 4)?;
        let (id, content) = match self.0 {
            Op::Add { content, .. } => (None, Some(content)),
            Op::Replace { gid, content, .. } => (Some(gid), Some(content)),
            Op::Delete { gid } => (Some(gid), None),
        };
        if let Some(id) = id {
            st.serialize_field("id", id)?;
        }
        match content {
            Some(c) => {
                st.serialize_field("startDate", &ApiInstant(c.start))?;
                st.serialize_field("lengthMinutes", &c.len)?;
                st.serialize_field("activities", &Acts(&c.acts))?;
            }
            None => st.serialize_field("delete", &true)?,
        }
        st.end()
    }
}

struct Acts<'a>(&'a [super::model::Act]);

impl serde::Serialize for Acts<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        struct One<'a>(&'a super::model::Act);
        impl serde::Serialize for One<'_> {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                let mut st = s.serialize_struct("BuAgentScheduleActivity", 4)?;
                st.serialize_field("startDate", &ApiInstant(self.0.start))?;
                st.serialize_field("lengthMinutes", &self.0.minutes())?;
                st.serialize_field("description", &**self.0.desc())?;
                st.serialize_field("activityCodeId", &**self.0.code())?;
                st.end()
            }
        }
        s.collect_seq(self.0.iter().map(One))
    }
}

/// An instant in UTC seconds, as the API writes it (`yyyy-MM-ddTHH:mm:ss.fffZ`).
struct ApiInstant(i64);

impl serde::Serialize for ApiInstant {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&m::format_instant(
            chrono::DateTime::from_timestamp(self.0, 0).unwrap_or_default(),
        ))
    }
}

/// `v` as JSON, gzip-compressed as it is written.
fn gzip_json(v: &impl serde::Serialize) -> Vec<u8> {
    use std::io::Write;
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    {
        let mut w = std::io::BufWriter::with_capacity(64 * 1024, &mut e);
        serde_json::to_writer(&mut w, v).expect("upload serializes");
        w.flush().expect("gzip to memory");
    }
    e.finish().expect("gzip to memory")
}

/// An update's body written component by component ([`super::partition`]): the same JSON as
/// [`UpdateBody`] of one plan holding every component's patches (its agent schedules in the order
/// they are pushed), gzip-compressed as it is written, and what it sends in words.
pub(super) struct BodyWriter {
    out: std::io::BufWriter<flate2::write::GzEncoder<Sink>>,
    schedule: String,
    version: i64,
    agents: usize,
    ops: [u64; 3],
}

/// Where a [`BodyWriter`] puts the compressed body: an unlinked, owner-only temporary file in the
/// migration directory (a week's body is megabytes at 45,000 shifts, issue #17: it is sent from
/// the file, [`UploadBody::File`]), or memory when no directory is given or the file cannot be
/// made. A write the file refuses moves what it holds into memory, and the body goes on there.
enum Sink {
    Mem(Vec<u8>),
    File(std::fs::File, u64),
}

impl Sink {
    fn new(dir: Option<&std::path::Path>) -> Sink {
        match dir.map(tempfile::tempfile_in) {
            Some(Ok(f)) => Sink::File(f, 0),
            Some(Err(e)) => {
                tracing::debug!(error = %e, "the upload body is kept in memory: no spill file");
                Sink::Mem(Vec::new())
            }
            None => Sink::Mem(Vec::new()),
        }
    }

    /// The body: the file's bytes written, or the bytes in memory.
    fn body(self) -> UploadBody {
        match self {
            Sink::Mem(v) => v.into(),
            Sink::File(f, len) => UploadBody::File(std::sync::Arc::new(f), len),
        }
    }
}

impl std::io::Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        use std::io::{Read, Seek, SeekFrom};
        let (f, len) = match self {
            Sink::Mem(v) => return v.write(buf),
            Sink::File(f, len) => (f, len),
        };
        match f.write(buf) {
            Ok(n) => {
                *len += n as u64;
                Ok(n)
            }
            Err(e) => {
                tracing::debug!(error = %e, "the upload body goes on in memory: the spill file refused a write");
                let mut v = vec![0; *len as usize];
                f.seek(SeekFrom::Start(0))?;
                f.read_exact(&mut v)?;
                *self = Sink::Mem(v);
                self.write(buf)
            }
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Sink::Mem(_) => Ok(()),
            Sink::File(f, _) => f.flush(),
        }
    }
}

impl BodyWriter {
    /// A body for `view`'s schedule, in a spill file in `spill` if given (else in memory).
    pub(super) fn new(view: &WeekView, spill: Option<&std::path::Path>) -> BodyWriter {
        use std::io::Write;
        let e = flate2::write::GzEncoder::new(Sink::new(spill), flate2::Compression::fast());
        let mut out = std::io::BufWriter::with_capacity(64 * 1024, e);
        out.write_all(b"{\"metadata\":").expect("gzip to memory");
        serde_json::to_writer(
            &mut out,
            &m::WfmVersionedEntityMetadata::version(view.version),
        )
        .expect("upload serializes");
        if view.ours {
            out.write_all(b",\"published\":true")
                .expect("gzip to memory");
        }
        out.write_all(b",\"agentSchedules\":[")
            .expect("gzip to memory");
        BodyWriter {
            out,
            schedule: view.schedule_id.clone(),
            version: view.version,
            agents: 0,
            ops: [0; 3],
        }
    }

    /// Append a plan's patches.
    pub(super) fn push(&mut self, plan: &WeekPlan) {
        use std::io::Write;
        for (user, p) in &plan.update {
            if self.agents > 0 {
                self.out.write_all(b",").expect("gzip to memory");
            }
            serde_json::to_writer(&mut self.out, &AgentSchedule(user, p))
                .expect("upload serializes");
            self.agents += 1;
            for op in &p.ops {
                self.ops[match op {
                    Op::Add { .. } => 0,
                    Op::Replace { .. } => 1,
                    Op::Delete { .. } => 2,
                }] += 1;
            }
        }
    }

    /// What the body sends, as [`describe`] says it.
    pub(super) fn describe(&self) -> String {
        let [add, rep, del] = self.ops;
        format!(
            "an update of schedule {} at version {}: {} agent schedule(s), {add} shift(s) added, {rep} replaced, {del} deleted",
            self.schedule, self.version, self.agents
        )
    }

    /// The gzip body; an error when neither its spill file nor memory could take it.
    pub(super) fn finish(mut self) -> std::io::Result<UploadBody> {
        use std::io::Write;
        self.out.write_all(b"]}")?;
        Ok(self
            .out
            .into_inner()
            .map_err(|e| e.into_error())?
            .finish()?
            .body())
    }
}

/// The upload of an update body already written ([`BodyWriter`]).
pub(super) fn upload_body(bu: &str, view: &WeekView, body: UploadBody) -> Upload {
    let base = format!(
        "{}/{}",
        week_path(bu, &view.week_date),
        enc(&view.schedule_id)
    );
    (
        body,
        format!("{base}/update/uploadurl"),
        format!("{base}/update"),
        Some(view.version),
        "update",
    )
}

#[allow(clippy::too_many_arguments)]
pub(super) async fn write(
    sh: &Shared,
    view: Option<&WeekView>,
    upload: Upload,
    row: &mut WeekRow,
    lock_waits: &mut u32,
    counters: &mut Counters,
) -> Result<Step, Failed> {
    let (body, url_path, process_path, version, kind) = upload;
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
                    content_length_bytes: body.len(),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::merge::AgentPatch;
    use crate::load::model::{Act, Content};
    use proptest::prelude::*;

    /// The body as it was built before it was streamed: the typed
    /// [`m::UpdateScheduleUploadSchema`] of the plan, serialized whole (the oracle).
    fn typed_body(view: &WeekView, plan: &WeekPlan) -> Vec<u8> {
        let body = m::UpdateScheduleUploadSchema {
            metadata: m::WfmVersionedEntityMetadata::version(view.version),
            description: None,
            published: view.ours.then_some(true),
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
        serde_json::to_vec(&body).unwrap()
    }

    fn gunzip(b: &[u8]) -> Vec<u8> {
        use std::io::Read;
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(b)
            .read_to_end(&mut out)
            .unwrap();
        out
    }

    fn view(version: i64, ours: bool) -> WeekView {
        WeekView {
            schedule_id: "sched-1".into(),
            week_date: "2026-10-19".into(),
            version,
            ours,
            ours_in_week: usize::from(ours),
            agents: Default::default(),
        }
    }

    fn content(user: &str, start: i64, acts: &[(i64, i64, &str, &str)]) -> Content {
        Content::new(
            user.into(),
            start,
            480,
            acts.iter()
                .map(|&(start, len, code, desc)| Act::new(start, len, code, desc))
                .collect(),
        )
    }

    /// A fixture with every kind of op, agent schedules with and without a version, and
    /// descriptions JSON must escape: the streamed body is the typed body byte for byte.
    #[test]
    fn the_streamed_body_is_the_typed_body_byte_for_byte() {
        let mut plan = WeekPlan::default();
        let c1 = content(
            "user-1",
            1_792_393_200,
            &[
                (1_792_393_200, 60, "ac-1", "On Queue Work"),
                (1_792_396_800, 30, "ac-2", "Lunch \"long\" \\ é✓\n\t\u{1}"),
            ],
        );
        let c2 = content("user-2", 1_792_479_600, &[]);
        plan.update.insert(
            "user-1".into(),
            AgentPatch {
                version: Some(7),
                ops: vec![
                    Op::Add {
                        legacy: Some("S1".into()),
                        content: c1.clone(),
                    },
                    Op::Replace {
                        legacy: "S2".into(),
                        gid: "g-2".into(),
                        content: c2.clone(),
                    },
                    Op::Delete { gid: "g-3".into() },
                ],
            },
        );
        plan.update.insert(
            "user-2".into(),
            AgentPatch {
                version: None,
                ops: vec![Op::Add {
                    legacy: None,
                    content: c2,
                }],
            },
        );
        for ours in [true, false] {
            let v = view(42, ours);
            let (gz, url, process, version, kind) = upload_of("bu-1", Some(&v), &plan);
            let json = gunzip(&gz);
            assert_eq!(
                String::from_utf8(json).unwrap(),
                String::from_utf8(typed_body(&v, &plan)).unwrap()
            );
            assert_eq!(version, Some(42));
            assert_eq!(kind, "update");
            assert!(
                url.ends_with("/schedules/sched-1/update/uploadurl"),
                "{url}"
            );
            assert!(process.ends_with("/schedules/sched-1/update"), "{process}");
        }
        // An empty plan too (no agent schedule).
        let v = view(1, false);
        let empty = WeekPlan::default();
        assert_eq!(
            gunzip(&upload_of("bu", Some(&v), &empty).0),
            typed_body(&v, &empty)
        );
    }

    fn any_content() -> impl Strategy<Value = Content> {
        (
            "[a-z0-9-]{1,12}",
            0i64..4_000_000_000,
            prop::collection::vec(
                (0i64..4_000_000_000, 0i64..2000, "\\PC{0,8}", "(?s).{0,12}"),
                0..5,
            ),
        )
            .prop_map(|(user, start, acts)| {
                Content::new(
                    user.as_str().into(),
                    start,
                    480,
                    acts.into_iter()
                        .map(|(start, len, code, desc)| Act::new(start, len, &code, &desc))
                        .collect(),
                )
            })
    }

    fn any_op() -> impl Strategy<Value = Op> {
        prop_oneof![
            (proptest::option::of("[A-Z0-9]{1,6}"), any_content())
                .prop_map(|(legacy, content)| Op::Add { legacy, content }),
            ("[A-Z0-9]{1,6}", "[a-f0-9-]{1,36}", any_content()).prop_map(
                |(legacy, gid, content)| Op::Replace {
                    legacy,
                    gid,
                    content
                }
            ),
            "[a-f0-9-]{1,36}".prop_map(|gid| Op::Delete { gid }),
        ]
    }

    proptest! {
        #[test]
        fn streamed_bodies_equal_typed_bodies(
            patches in prop::collection::btree_map(
                "[a-z0-9-]{1,10}",
                (proptest::option::of(0i64..1000), prop::collection::vec(any_op(), 0..4)),
                0..5,
            ),
            version in 0i64..1_000_000,
            ours in any::<bool>(),
        ) {
            let mut plan = WeekPlan::default();
            for (user, (version, ops)) in patches {
                plan.update.insert(user, AgentPatch { version, ops });
            }
            let v = view(version, ours);
            prop_assert_eq!(gunzip(&upload_of("bu", Some(&v), &plan).0), typed_body(&v, &plan));
        }

        /// A body written plan by plan ([`BodyWriter`], the components of a round) is the typed
        /// body of one plan holding every patch in the order pushed, and says what it sends as
        /// [`describe`] says it of that plan.
        #[test]
        fn bodies_written_in_parts_equal_the_typed_body_of_the_whole(
            patches in prop::collection::btree_map(
                "[a-z0-9-]{1,10}",
                (proptest::option::of(0i64..1000), prop::collection::vec(any_op(), 1..4), 0..3usize),
                0..6,
            ),
            version in 0i64..1_000_000,
            ours in any::<bool>(),
            spill in any::<bool>(),
        ) {
            let mut parts = vec![WeekPlan::default(); 3];
            let mut whole = WeekPlan::default();
            for (user, (version, ops, part)) in patches {
                let p = AgentPatch { version, ops };
                parts[part].update.insert(user.clone(), p.clone());
                whole.update.insert(user, p);
            }
            let v = view(version, ours);
            let dir = tempfile::tempdir().unwrap();
            let mut w = BodyWriter::new(&v, spill.then_some(dir.path()));
            for p in &parts {
                w.push(p);
            }
            let said = w.describe();
            let body = match w.finish().unwrap() {
                UploadBody::Bytes(b) => {
                    prop_assert!(!spill);
                    gunzip(&b)
                }
                UploadBody::File(f, len) => {
                    use std::io::{Read, Seek};
                    prop_assert!(spill);
                    let mut f: &std::fs::File = &f;
                    let mut b = Vec::new();
                    f.rewind().unwrap();
                    f.read_to_end(&mut b).unwrap();
                    prop_assert_eq!(b.len() as u64, len);
                    gunzip(&b)
                }
            };
            // Nothing left in the directory.
            prop_assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
            // The order pushed: part by part, each part's users in order.
            let mut expected = String::from_utf8(typed_body(&v, &WeekPlan::default())).unwrap();
            expected.truncate(expected.len() - 2);
            let mut first = true;
            for p in &parts {
                let t = String::from_utf8(typed_body(&v, p)).unwrap();
                let inner = &t[t.find("\"agentSchedules\":[").unwrap() + 18..t.len() - 2];
                if !inner.is_empty() {
                    if !first {
                        expected.push(',');
                    }
                    expected.push_str(inner);
                    first = false;
                }
            }
            expected.push_str("]}");
            prop_assert_eq!(String::from_utf8(body).unwrap(), expected);
            prop_assert_eq!(said, describe(Some(&v), &whole));
        }
    }

    /// A spill file that refuses a write hands what it held to memory, and the body goes on
    /// there: nothing written is lost or repeated.
    #[test]
    fn a_spill_file_that_refuses_a_write_goes_on_in_memory() {
        use std::io::Write;
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("body");
        std::fs::write(&p, b"abc").unwrap();
        // Read-only: every write is refused.
        let mut s = Sink::File(std::fs::File::open(&p).unwrap(), 3);
        s.write_all(b"def").unwrap();
        s.write_all(b"gh").unwrap();
        match s.body() {
            UploadBody::Bytes(b) => assert_eq!(&b[..], b"abcdefgh"),
            UploadBody::File(..) => panic!("still a file"),
        }
    }
}
