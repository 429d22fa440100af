//! Time off: each loadable row of `desired_time_off` created exactly once (docs/genesys-contract.md,
//! "Time off" and "How zd2gc loads time off").
//!
//! Genesys has no idempotency key for `CreateAdminTimeOffRequest`, so:
//! - every request carries its marker (`zd2gc:<migration>:<legacy id>`, the first line of `notes`);
//! - the create is journaled (`sending`, with the content hash and the attempt number) before it is
//!   sent, and its outcome after (`created`, or `failed` when refused);
//! - after any doubt (a lost answer, a `5xx` after the send, a kill while `sending`) the request is
//!   looked for with the windowed query (33-day windows over its dates, its user only) before a
//!   create is sent again; creates sent and never found are bounded (`--max-failed-writes`);
//! - a request once created is never re-created: a newer export that changes it is reported
//!   (`changed`); a refusal (an overlap: `400`) is recorded as a failure and not retried.

use super::Shared;
use crate::client::retry::CallKind;
use crate::client::{ApiError, enc};
use crate::error::Result;
use crate::genesys::model as m;
use chrono::{Duration, NaiveDate};
use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::Ordering;

/// The query's longest date range (docs/genesys-contract.md).
pub const WINDOW_DAYS: i64 = 33;

/// One row of `desired_time_off`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Desired {
    pub id: String,
    pub agent: Option<String>,
    pub user: String,
    pub mu: String,
    pub bu: String,
    pub code: String,
    pub status: String,
    pub full: Vec<String>,
    pub partial: Vec<String>,
    pub minutes: i64,
    pub paid: bool,
    pub notes: String,
    pub hash: String,
    pub held_back: Option<String>,
}

impl Desired {
    /// The marker: the first line of `notes`.
    pub fn marker(&self) -> &str {
        marker(&self.notes)
    }

    fn body(&self) -> m::CreateAdminTimeOffRequest {
        m::CreateAdminTimeOffRequest {
            status: self.status.clone(),
            users: vec![m::UserReference {
                id: self.user.clone(),
                self_uri: None,
            }],
            activity_code_id: self.code.clone(),
            notes: Some(self.notes.clone()),
            full_day_management_unit_dates: self.full.clone(),
            partial_day_start_date_times: self.partial.clone(),
            daily_duration_minutes: Some(self.minutes),
            paid: Some(self.paid),
        }
    }

    /// The management-unit dates the request may fall on: its full days, or each partial start's
    /// UTC date with a day either side (the unit's zone is at most a day away).
    fn span(&self) -> Option<(NaiveDate, NaiveDate)> {
        let mut dates: Vec<NaiveDate> = self
            .full
            .iter()
            .filter_map(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
            .collect();
        for p in &self.partial {
            if let Ok(t) = m::parse_instant(p) {
                let d = t.date_naive();
                dates.push(d - Duration::days(1));
                dates.push(d + Duration::days(1));
            }
        }
        Some((*dates.iter().min()?, *dates.iter().max()?))
    }

    /// Whether a Genesys request is this one as sent (what verify compares).
    pub fn same_as(&self, g: &m::TimeOffRequestResponse) -> bool {
        let instants = |v: &[String]| -> Vec<Option<chrono::DateTime<chrono::Utc>>> {
            let mut v: Vec<_> = v.iter().map(|s| m::parse_instant(s).ok()).collect();
            v.sort();
            v
        };
        let dates = |v: &[String]| -> Vec<String> {
            let mut v = v.to_vec();
            v.sort();
            v
        };
        g.status == self.status
            && g.activity_code_id == self.code
            && g.daily_duration_minutes == self.minutes
            && g.paid == self.paid
            && g.notes == self.notes
            && dates(&g.full_day_management_unit_dates) == dates(&self.full)
            && instants(&g.partial_day_start_date_times) == instants(&self.partial)
    }
}

/// The marker of a request's notes: their first line (docs/genesys-contract.md: the marker ends
/// at the end of the notes or at the newline before the exported notes).
pub fn marker(notes: &str) -> &str {
    notes
        .split('\n')
        .next()
        .unwrap_or("")
        .trim_end_matches('\r')
}

/// 33-day (inclusive) windows covering `[from, to]`.
pub fn windows(from: NaiveDate, to: NaiveDate) -> Vec<(NaiveDate, NaiveDate)> {
    let mut out = Vec::new();
    let mut a = from;
    while a <= to {
        let b = (a + Duration::days(WINDOW_DAYS - 1)).min(to);
        out.push((a, b));
        a = b + Duration::days(1);
    }
    out
}

fn json_list(s: Option<String>) -> Vec<String> {
    s.and_then(|s| serde_json::from_str(&s).ok())
        .unwrap_or_default()
}

/// Every row of `desired_time_off`, in legacy-id order.
pub fn read_desired(conn: &Connection) -> Result<Vec<Desired>> {
    Ok(crate::store::time_off::read_desired(conn)?
        .into_iter()
        .map(|r| Desired {
            id: r.id,
            agent: r.agent_id,
            user: r.user_id,
            mu: r.management_unit_id,
            bu: r.business_unit_id,
            code: r.activity_code_id,
            status: r.status,
            full: json_list(r.full_day_dates),
            partial: json_list(r.partial_starts),
            minutes: r.daily_minutes,
            paid: r.paid,
            notes: r.notes,
            hash: r.content_hash,
            held_back: r.held_back,
        })
        .collect())
}

// ---------------------------------------------------------------------------- the journal

/// One row of `load_time_off`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct JournalRow {
    pub id: String,
    /// `sending`, `created`, `found` or `failed`.
    pub state: String,
    pub hash: String,
    pub genesys_id: Option<String>,
    pub attempts: i64,
    pub reason: Option<String>,
    pub context_id: Option<String>,
}

pub fn journal_get(conn: &Connection, id: &str) -> Result<Option<JournalRow>> {
    Ok(conn
        .query_row(
            "SELECT time_off_request_id, state, content_hash, genesys_id, attempts, reason, context_id
             FROM load_time_off WHERE time_off_request_id = ?1",
            [id],
            journal_row,
        )
        .optional()?)
}

fn journal_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<JournalRow> {
    Ok(JournalRow {
        id: r.get(0)?,
        state: r.get(1)?,
        hash: r.get(2)?,
        genesys_id: r.get(3)?,
        attempts: r.get(4)?,
        reason: r.get(5)?,
        context_id: r.get(6)?,
    })
}

pub fn journal_all(conn: &Connection) -> Result<Vec<JournalRow>> {
    let mut st = conn.prepare(
        "SELECT time_off_request_id, state, content_hash, genesys_id, attempts, reason, context_id
         FROM load_time_off ORDER BY time_off_request_id",
    )?;
    let rows = st.query_map([], journal_row)?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

fn journal_save(conn: &Connection, run_id: i64, j: &JournalRow, d: &Desired) -> Result<()> {
    let tx = conn.unchecked_transaction()?;
    tx.execute(
        "INSERT INTO load_time_off (time_off_request_id, state, content_hash, genesys_id, attempts,
                                    reason, context_id, run_id, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
         ON CONFLICT (time_off_request_id) DO UPDATE SET state = ?2, content_hash = ?3,
             genesys_id = ?4, attempts = ?5, reason = ?6, context_id = ?7, run_id = ?8,
             updated_at = ?9",
        params![
            j.id,
            j.state,
            j.hash,
            j.genesys_id,
            j.attempts,
            j.reason,
            j.context_id,
            run_id,
            crate::store::now_rfc3339()
        ],
    )?;
    if let Some(g) = &j.genesys_id {
        let n = crate::store::time_off::link_genesys(&tx, &j.id, g, run_id)?;
        if n == 0 {
            crate::store::time_off::insert_loaded(
                &tx,
                &j.id,
                d.agent.as_deref().unwrap_or_default(),
                &d.user,
                &d.mu,
                &d.bu,
                &d.status,
                g,
                run_id,
            )?;
        }
    }
    tx.commit()?;
    Ok(())
}

// ---------------------------------------------------------------------------- the load

/// What the time-off part of a load did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct TimeOffReport {
    /// Rows of `desired_time_off` that load (not held back).
    pub desired: u64,
    pub held_back: u64,
    /// Created by this run (the answer seen).
    pub created: u64,
    /// Found by the query after a doubt (created by this run or an earlier one whose answer was lost).
    pub found: u64,
    /// Already created by an earlier run (the journal says so; no request).
    pub already: u64,
    /// Created earlier, but the export now differs: reported, not re-created.
    pub changed: Vec<String>,
    /// `(legacy id, reason)`: refused (an overlap, a bad code) or never found after the bounded
    /// creates; not retried.
    pub failures: Vec<(String, String)>,
    /// Not reached because the load was interrupted.
    pub not_started: u64,
    /// Create requests sent.
    pub creates_sent: u64,
    /// Query requests sent to settle doubts.
    pub queries: u64,
}

enum Outcome {
    Created,
    Found,
    Already,
    Changed,
    Failed(String),
    NotStarted,
}

#[derive(Default)]
struct Calls {
    creates: u64,
    queries: u64,
}

/// Load every loadable request, users in parallel (`--concurrency`), each user's requests in order.
/// `Err` when the journal cannot be read or written (the load stops; a re-run resumes).
pub async fn load_all(sh: &Arc<Shared>, rows: Vec<Desired>) -> Result<TimeOffReport> {
    let mut report = TimeOffReport::default();
    let mut by_user: BTreeMap<(String, String), Vec<Desired>> = BTreeMap::new();
    for d in rows {
        if d.held_back.is_some() {
            report.held_back += 1;
            continue;
        }
        report.desired += 1;
        by_user
            .entry((d.mu.clone(), d.user.clone()))
            .or_default()
            .push(d);
    }
    let sem = Arc::new(tokio::sync::Semaphore::new(sh.opts.concurrency.max(1)));
    let mut set = tokio::task::JoinSet::new();
    for (_, list) in by_user {
        let permit = sem.clone().acquire_owned().await.expect("semaphore open");
        let sh = sh.clone();
        set.spawn(async move {
            let mut out = Vec::with_capacity(list.len());
            let mut calls = Calls::default();
            let mut fatal = None;
            for d in list {
                match load_one(&sh, &d, &mut calls).await {
                    Ok(o) => out.push((d.id, o)),
                    Err(e) => {
                        // The journal cannot be written: nothing more is sent.
                        sh.stop.store(true, Ordering::SeqCst);
                        fatal = Some(e);
                        break;
                    }
                }
            }
            drop(permit);
            (out, calls, fatal)
        });
    }
    let mut fatal = None;
    while let Some(r) = set.join_next().await {
        let (outs, calls, err) = match r {
            Ok(x) => x,
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(_) => continue,
        };
        fatal = fatal.or(err);
        report.creates_sent += calls.creates;
        report.queries += calls.queries;
        for (id, o) in outs {
            match o {
                Outcome::Created => report.created += 1,
                Outcome::Found => report.found += 1,
                Outcome::Already => report.already += 1,
                Outcome::Changed => report.changed.push(id),
                Outcome::Failed(why) => report.failures.push((id, why)),
                Outcome::NotStarted => report.not_started += 1,
            }
        }
    }
    if let Some(e) = fatal {
        return Err(e);
    }
    report.changed.sort();
    report.failures.sort();
    Ok(report)
}

fn save(sh: &Shared, j: &JournalRow, d: &Desired) -> Result<()> {
    sh.with_db(|c| journal_save(c, sh.run_id, j, d))
}

/// Load one request. `Err` when the journal cannot be read or written: the load stops (a
/// database error never passes for a request never sent, which would skip settling a doubt).
async fn load_one(sh: &Shared, d: &Desired, calls: &mut Calls) -> Result<Outcome> {
    let prior = sh.with_db(|c| journal_get(c, &d.id))?;
    let mut j = match prior {
        Some(j) if matches!(j.state.as_str(), "created" | "found") => {
            return Ok(if j.hash == d.hash {
                Outcome::Already
            } else {
                Outcome::Changed
            });
        }
        Some(j) if j.state == "failed" && j.hash == d.hash => {
            return Ok(Outcome::Failed(
                j.reason.unwrap_or_else(|| "refused".into()),
            ));
        }
        Some(j) if j.state == "sending" => {
            // A create was sent and its outcome never learnt (a kill, a lost answer): look first.
            if sh.stop.load(Ordering::SeqCst) {
                return Ok(Outcome::NotStarted);
            }
            match settle(sh, d, &j, calls).await? {
                Ok(Some(o)) => return Ok(o),
                Ok(None) => j,
                Err(why) => return Ok(Outcome::Failed(why)),
            }
        }
        _ => JournalRow {
            id: d.id.clone(),
            state: "new".into(),
            hash: d.hash.clone(),
            ..Default::default()
        },
    };
    let path = format!(
        "/api/v2/workforcemanagement/managementunits/{}/timeoffrequests",
        enc(&d.mu)
    );
    let body = d.body();
    loop {
        if j.attempts >= sh.opts.max_failed_writes.max(1) as i64 {
            let why = format!(
                "{} creates were sent and none was found afterwards by the query; not sent again (raise --max-failed-writes to allow more)",
                j.attempts
            );
            j.state = "failed".into();
            j.reason = Some(why.clone());
            save(sh, &j, d)?;
            return Ok(Outcome::Failed(why));
        }
        if sh.stop.load(Ordering::SeqCst) {
            return Ok(Outcome::NotStarted);
        }
        // Announced before it is sent: a kill from here on is settled by the query on resume.
        j.state = "sending".into();
        j.hash = d.hash.clone();
        j.attempts += 1;
        j.reason = None;
        save(sh, &j, d)?;
        calls.creates += 1;
        let r: std::result::Result<(m::TimeOffRequestList, String), ApiError> = sh
            .client
            .call_cid(
                reqwest::Method::POST,
                &path,
                Some(&body),
                CallKind::Write,
                &[],
            )
            .await;
        match r {
            Ok((list, cid)) => {
                let Some(g) = list
                    .time_off_requests
                    .iter()
                    .find(|t| t.user.as_ref().is_none_or(|u| u.id == d.user))
                else {
                    // An answer without the request: treat as a doubt.
                    match settle(sh, d, &j, calls).await? {
                        Ok(Some(o)) => return Ok(o),
                        Ok(None) => continue,
                        Err(why) => return Ok(Outcome::Failed(why)),
                    }
                };
                j.state = "created".into();
                j.genesys_id = Some(g.id.clone());
                j.context_id = Some(cid);
                save(sh, &j, d)?;
                return Ok(Outcome::Created);
            }
            Err(e) if e.outcome_unknown || e.status.is_none_or(|s| s >= 500 || s == 429) => {
                match settle(sh, d, &j, calls).await? {
                    Ok(Some(o)) => return Ok(o),
                    Ok(None) => continue,
                    Err(why) => return Ok(Outcome::Failed(why)),
                }
            }
            Err(e) => {
                // A refusal. An overlap may be with our own request whose answer was lost before a
                // kill the journal did not see: look once before recording it.
                if e.message.contains("overlap") {
                    match settle(sh, d, &j, calls).await? {
                        Ok(Some(o)) => return Ok(o),
                        Ok(None) => {}
                        Err(why) => return Ok(Outcome::Failed(why)),
                    }
                }
                let why = format!(
                    "refused ({}): {}",
                    e.status.map_or("no status".into(), |s| s.to_string()),
                    e.message
                );
                j.state = "failed".into();
                j.reason = Some(why.clone());
                j.context_id = Some(e.context_id.clone());
                save(sh, &j, d)?;
                return Ok(Outcome::Failed(why));
            }
        }
    }
}

/// Look for the request after a doubt: `Some(Found)` (journaled) when it exists, `None` when it
/// does not (a create may be sent again), `Err` when the query itself failed (the journal stays
/// `sending`; the next run looks again). The outer `Err`: the journal cannot be written.
async fn settle(
    sh: &Shared,
    d: &Desired,
    j: &JournalRow,
    calls: &mut Calls,
) -> Result<std::result::Result<Option<Outcome>, String>> {
    Ok(match find(sh, d, calls).await {
        Ok(found) => match found.first() {
            Some(g) => {
                let mut j = j.clone();
                j.state = "found".into();
                j.genesys_id = Some(g.id.clone());
                j.reason = (found.len() > 1).then(|| {
                    format!(
                        "{} requests carry this marker ({}); verify reports the duplicate",
                        found.len(),
                        found
                            .iter()
                            .map(|g| g.id.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                });
                save(sh, &j, d)?;
                Ok(Some(Outcome::Found))
            }
            None => Ok(None),
        },
        Err(e) => {
            let why = format!(
                "a create was sent and the query that would settle it failed ({e}); the next run looks again before sending anything"
            );
            let mut j = j.clone();
            j.reason = Some(why.clone());
            save(sh, &j, d)?;
            Err(why)
        }
    })
}

/// The Genesys requests of `d`'s user carrying `d`'s marker, by the windowed query.
async fn find(
    sh: &Shared,
    d: &Desired,
    calls: &mut Calls,
) -> std::result::Result<Vec<m::TimeOffRequestResponse>, ApiError> {
    let Some((from, to)) = d.span() else {
        return Ok(vec![]);
    };
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for g in query_user(&sh.client, &d.mu, &d.user, from, to, calls).await? {
        if marker(&g.notes) == d.marker() && seen.insert(g.id.clone()) {
            out.push(g);
        }
    }
    Ok(out)
}

async fn query_user(
    client: &crate::client::Client,
    mu: &str,
    user: &str,
    from: NaiveDate,
    to: NaiveDate,
    calls: &mut Calls,
) -> std::result::Result<Vec<m::TimeOffRequestResponse>, ApiError> {
    let path = format!(
        "/api/v2/workforcemanagement/managementunits/{}/timeoffrequests/query",
        enc(mu)
    );
    let mut out = Vec::new();
    for (a, b) in windows(from, to) {
        let q = m::TimeOffRequestQueryBody {
            user_ids: Some(vec![user.to_string()]),
            date_range: Some(m::DateRange {
                start_date: a.format("%Y-%m-%d").to_string(),
                end_date: b.format("%Y-%m-%d").to_string(),
            }),
            ..Default::default()
        };
        calls.queries += 1;
        let l: m::Listing<m::TimeOffRequestResponse> = client
            .call(reqwest::Method::POST, &path, Some(&q), CallKind::Read)
            .await?;
        out.extend(l.entities);
    }
    Ok(out)
}

// ---------------------------------------------------------------------------- verify and plan

/// What `verify` finds for time off, per legacy request.
#[derive(Debug, Clone, Default, Serialize)]
pub struct TimeOffVerify {
    pub desired: u64,
    pub matching: u64,
    /// Loadable requests with no Genesys request carrying their marker.
    pub missing: Vec<String>,
    /// Requests with this migration's marker whose legacy id is not a loadable desired request.
    pub unexpected: Vec<String>,
    /// Legacy ids with two or more Genesys requests carrying their marker.
    pub duplicated: Vec<String>,
    /// Found, but not as desired (status, code, days, minutes, paid or notes).
    pub different: Vec<String>,
    /// Requests whose query failed (the verification is incomplete for their user).
    pub errors: Vec<String>,
    pub queries: u64,
}

impl TimeOffVerify {
    pub fn matches(&self) -> bool {
        self.missing.is_empty()
            && self.unexpected.is_empty()
            && self.duplicated.is_empty()
            && self.different.is_empty()
            && self.errors.is_empty()
    }
}

/// Compare every user's requests in Genesys (the windowed query over the dates of that user's
/// desired requests) with the desired ones, by marker.
pub async fn verify(
    client: &crate::client::Client,
    migration: &str,
    rows: &[Desired],
) -> TimeOffVerify {
    let mut v = TimeOffVerify::default();
    let mut by_user: BTreeMap<(String, String), Vec<&Desired>> = BTreeMap::new();
    // Every row of this migration, held back too: a held-back request that exists is unexpected.
    for d in rows {
        by_user
            .entry((d.mu.clone(), d.user.clone()))
            .or_default()
            .push(d);
    }
    let prefix = format!("zd2gc:{migration}:");
    let mut calls = Calls::default();
    for ((mu, user), list) in by_user {
        let spans: Vec<_> = list.iter().filter_map(|d| d.span()).collect();
        let (Some(from), Some(to)) = (
            spans.iter().map(|s| s.0).min(),
            spans.iter().map(|s| s.1).max(),
        ) else {
            continue;
        };
        let found = match query_user(client, &mu, &user, from, to, &mut calls).await {
            Ok(f) => f,
            Err(e) => {
                v.errors.push(format!("{user}: {e}"));
                continue;
            }
        };
        let mut by_marker: BTreeMap<String, BTreeMap<String, m::TimeOffRequestResponse>> =
            BTreeMap::new();
        for g in found {
            let mk = marker(&g.notes).to_string();
            if mk.starts_with(&prefix) || list.iter().any(|d| d.marker() == mk) {
                by_marker.entry(mk).or_default().insert(g.id.clone(), g);
            }
        }
        for d in &list {
            let got = by_marker.remove(d.marker());
            if d.held_back.is_some() {
                if got.is_some() {
                    v.unexpected.push(d.id.clone());
                }
                continue;
            }
            v.desired += 1;
            match got {
                None => v.missing.push(d.id.clone()),
                Some(g) if g.len() > 1 => v.duplicated.push(d.id.clone()),
                Some(g) => {
                    if g.values().all(|g| d.same_as(g)) {
                        v.matching += 1;
                    } else {
                        v.different.push(d.id.clone());
                    }
                }
            }
        }
        for (mk, gs) in by_marker {
            for id in gs.keys() {
                v.unexpected.push(format!("{mk} ({id})"));
            }
        }
    }
    v.queries = calls.queries;
    v
}

/// What `plan` says about time off, from the desired rows and the journal (no request).
#[derive(Debug, Clone, Default, Serialize)]
pub struct TimeOffPlan {
    pub to_create: u64,
    pub already_there: u64,
    /// A create was sent and its outcome is not known: the load looks before sending again.
    pub in_doubt: u64,
    pub changed: u64,
    pub failed: u64,
    pub held_back: u64,
}

pub fn plan(conn: &Connection) -> Result<TimeOffPlan> {
    let mut p = TimeOffPlan::default();
    for d in read_desired(conn)? {
        if d.held_back.is_some() {
            p.held_back += 1;
            continue;
        }
        match journal_get(conn, &d.id)? {
            Some(j) if matches!(j.state.as_str(), "created" | "found") => {
                if j.hash == d.hash {
                    p.already_there += 1;
                } else {
                    p.changed += 1;
                }
            }
            Some(j) if j.state == "sending" => p.in_doubt += 1,
            Some(j) if j.state == "failed" && j.hash == d.hash => p.failed += 1,
            _ => p.to_create += 1,
        }
    }
    Ok(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_cover_the_range_in_33_day_pieces() {
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        let w = windows(d("2026-01-01"), d("2026-03-10"));
        assert_eq!(w[0], (d("2026-01-01"), d("2026-02-02")));
        assert_eq!(w[1].0, d("2026-02-03"));
        assert_eq!(w.last().unwrap().1, d("2026-03-10"));
        for (a, b) in &w {
            assert!((*b - *a).num_days() < WINDOW_DAYS);
        }
        // Contiguous, no gap and no overlap.
        for p in w.windows(2) {
            assert_eq!(p[0].1 + Duration::days(1), p[1].0);
        }
        assert_eq!(windows(d("2026-01-01"), d("2026-01-01")).len(), 1);
    }

    #[test]
    fn the_marker_is_the_first_word_and_ids_sharing_a_prefix_differ() {
        assert_eq!(marker("zd2gc:m1:TO-1\nHoliday"), "zd2gc:m1:TO-1");
        assert_eq!(marker("zd2gc:m1:TO-1\r\nHoliday"), "zd2gc:m1:TO-1");
        assert_eq!(marker("zd2gc:m1:TO 7"), "zd2gc:m1:TO 7");
        assert_ne!(marker("zd2gc:m1:TO-10\nx"), marker("zd2gc:m1:TO-1\nx"));
        assert_eq!(marker(""), "");
    }
}
