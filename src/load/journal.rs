//! The load journal in the state database: one row per business-unit week (`load_weeks`) with its
//! state and the step in flight (operation, upload key, version sent, when), an append-only event
//! log (`load_events`), the parked conflicts with both sides (`load_conflicts`), and the crosswalk
//! links of each shift (`xw_shifts`, with the base the merge needs; load reads and writes its
//! table `xw_shift_rows`, schema 17, whose Genesys ids are packed: [`PackedId`], [`id_text`];
//! since schema 18 a link names its business unit, week and schedule by their id in
//! `xw_shift_weeks`).
//!
//! Invariant: every state change is one transaction, committed with `synchronous=FULL` before the
//! external step it announces is taken ("process-sent" is on disk before the process call goes
//! out), so a SIGKILL at any instant leaves a journal that says what may be in doubt.

use super::merge::{Conflict, LinkChange};
use super::model::{Content, Link};
use crate::error::Result;
use crate::store::uuid16;
use rusqlite::types::{ToSqlOutput, Value, ValueRef};
use rusqlite::{Connection, OptionalExtension, ToSql, params};
use std::borrow::Cow;

/// A Genesys id as `xw_shift_rows` keeps it (schema 17): its 16 bytes when it is a canonical
/// lowercase UUID ([`uuid16::pack`]), else its text. Packing is one-to-one, so two packed ids are
/// equal exactly when their texts are; their order is not the texts' (SQLite sorts any text before
/// any blob), so nothing may order by a packed column and expect the texts' order.
pub struct PackedId<'a>(pub &'a str);

impl ToSql for PackedId<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match uuid16::pack(self.0) {
            Some(b) => ToSqlOutput::Owned(Value::Blob(b.to_vec())),
            None => ToSqlOutput::Borrowed(ValueRef::Text(self.0.as_bytes())),
        })
    }
}

/// The text of id column `i` of an `xw_shift_rows` row (what the view `xw_shifts` shows): a
/// 16-byte BLOB is a packed UUID, a text is itself; NULL is `None`. Any other value is an error,
/// as reading it as text was before schema 17.
pub fn id_text<'r>(r: &'r rusqlite::Row<'_>, i: usize) -> rusqlite::Result<Option<Cow<'r, str>>> {
    let v = r.get_ref(i)?;
    match v {
        ValueRef::Null => Ok(None),
        ValueRef::Blob(b) if b.len() == 16 => {
            Ok(uuid16::at(b, 0).map(|b| uuid16::unpack(b).into()))
        }
        _ => v
            .as_str()
            .map(|s| Some(s.into()))
            .map_err(|e| rusqlite::Error::FromSqlConversionFailure(i, v.data_type(), Box::new(e))),
    }
}

/// The states of a week.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Planned,
    Reading,
    Uploading,
    Processing,
    Verifying,
    Done,
    Conflict,
    Failed,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Planned => "planned",
            State::Reading => "reading",
            State::Uploading => "uploading",
            State::Processing => "processing",
            State::Verifying => "verifying",
            State::Done => "done",
            State::Conflict => "conflict",
            State::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> State {
        match s {
            "reading" => State::Reading,
            "uploading" => State::Uploading,
            "processing" => State::Processing,
            "verifying" => State::Verifying,
            "done" => State::Done,
            "conflict" => State::Conflict,
            "failed" => State::Failed,
            _ => State::Planned,
        }
    }
}

/// The journal row of one week.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WeekRow {
    pub bu: String,
    pub week: String,
    pub state: State,
    pub schedule_id: Option<String>,
    /// `import` or `update` while a write is in flight.
    pub step: Option<String>,
    pub upload_key: Option<String>,
    pub operation_id: Option<String>,
    pub sent_version: Option<i64>,
    /// Unix milliseconds when the process call was (about to be) sent.
    pub sent_at: Option<i64>,
    pub refusals: i64,
    pub lock_waits: i64,
    pub writes: i64,
    pub desired_hash: Option<i64>,
    pub shifts_desired: i64,
    pub shifts_done: i64,
    pub conflicts: i64,
    pub reason: Option<String>,
    pub context_id: Option<String>,
}

impl WeekRow {
    pub fn new(bu: &str, week: &str) -> WeekRow {
        WeekRow {
            bu: bu.into(),
            week: week.into(),
            state: State::Planned,
            schedule_id: None,
            step: None,
            upload_key: None,
            operation_id: None,
            sent_version: None,
            sent_at: None,
            refusals: 0,
            lock_waits: 0,
            writes: 0,
            desired_hash: None,
            shifts_desired: 0,
            shifts_done: 0,
            conflicts: 0,
            reason: None,
            context_id: None,
        }
    }
}

const COLS: &str = "business_unit_id, week_id, state, schedule_id, step, upload_key, operation_id, sent_version, sent_at, refusals, lock_waits, writes, desired_hash, shifts_desired, shifts_done, conflicts, reason, context_id";

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<WeekRow> {
    Ok(WeekRow {
        bu: r.get(0)?,
        week: r.get(1)?,
        state: State::parse(&r.get::<_, String>(2)?),
        schedule_id: r.get(3)?,
        step: r.get(4)?,
        upload_key: r.get(5)?,
        operation_id: r.get(6)?,
        sent_version: r.get(7)?,
        sent_at: r.get(8)?,
        refusals: r.get(9)?,
        lock_waits: r.get(10)?,
        writes: r.get(11)?,
        desired_hash: r.get(12)?,
        shifts_desired: r.get(13)?,
        shifts_done: r.get(14)?,
        conflicts: r.get(15)?,
        reason: r.get(16)?,
        context_id: r.get(17)?,
    })
}

pub fn get(conn: &Connection, bu: &str, week: &str) -> Result<Option<WeekRow>> {
    Ok(conn
        .query_row(
            &format!("SELECT {COLS} FROM load_weeks WHERE business_unit_id = ?1 AND week_id = ?2"),
            [bu, week],
            row,
        )
        .optional()?)
}

pub fn all(conn: &Connection) -> Result<Vec<WeekRow>> {
    let mut st = conn.prepare(&format!(
        "SELECT {COLS} FROM load_weeks ORDER BY business_unit_id, week_id"
    ))?;
    let v = st.query_map([], row)?.collect::<rusqlite::Result<_>>()?;
    Ok(v)
}

/// Save a week's row and log `event` with `detail`, in one durable transaction.
pub fn save(conn: &Connection, run_id: i64, w: &WeekRow, event: &str, detail: &str) -> Result<()> {
    let tx = conn.unchecked_transaction()?;
    tx.execute(
        &format!(
            "INSERT OR REPLACE INTO load_weeks ({COLS}, run_id, updated_at)
             VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17,?18,?19,?20)"
        ),
        params![
            w.bu,
            w.week,
            w.state.as_str(),
            w.schedule_id,
            w.step,
            w.upload_key,
            w.operation_id,
            w.sent_version,
            w.sent_at,
            w.refusals,
            w.lock_waits,
            w.writes,
            w.desired_hash,
            w.shifts_desired,
            w.shifts_done,
            w.conflicts,
            w.reason,
            w.context_id,
            run_id,
            crate::store::now_rfc3339()
        ],
    )?;
    tx.execute(
        "INSERT INTO load_events (run_id, business_unit_id, week_id, at, event, detail) VALUES (?1,?2,?3,?4,?5,?6)",
        params![run_id, w.bu, w.week, crate::store::now_rfc3339(), event, detail],
    )?;
    tx.commit()?;
    Ok(())
}

/// The links of a business unit's week (`?1` packed, [`PackedId`]; `?2`), read through
/// `xw_shifts_by_week` (schema 14; on `xw_shift_rows` since schema 17; by the week's triples of
/// `xw_shift_weeks` since schema 18, one for each schedule the links were written with), in
/// legacy id order as the index by business unit and week gave them before 18 (sorted: the
/// index gives each triple's links in that order, not the week's).
pub(crate) const LINKS: &str =
    "SELECT legacy_shift_id, genesys_shift_id, base, user_id FROM xw_shift_rows
     WHERE week_ref IN (SELECT id FROM xw_shift_weeks WHERE business_unit_id = ?1 AND week_id = ?2)
       AND genesys_shift_id IS NOT NULL
     ORDER BY legacy_shift_id";

/// [`LINKS`] of a week whose links all have the triple `?1` (as nearly every week's have: its
/// schedule is the same for all): the index gives them in legacy id order, with no sort.
const LINKS_OF_TRIPLE: &str = "SELECT legacy_shift_id, genesys_shift_id, base, user_id
     FROM xw_shift_rows WHERE week_ref = ?1 AND genesys_shift_id IS NOT NULL
     ORDER BY legacy_shift_id";

/// The triples of a business unit's week in `xw_shift_weeks` (two at most: one is all
/// [`links_statement`] needs to know).
const TRIPLES: &str =
    "SELECT id FROM xw_shift_weeks WHERE business_unit_id = ?1 AND week_id = ?2 LIMIT 2";

/// The statement reading the links of a business unit's week and its parameters: [`LINKS`], or
/// [`LINKS_OF_TRIPLE`] when the week has one triple.
fn links_statement<'c>(
    conn: &'c Connection,
    bu: &str,
    week: &str,
) -> rusqlite::Result<(rusqlite::CachedStatement<'c>, Vec<Value>)> {
    let triples: Vec<i64> = conn
        .prepare_cached(TRIPLES)?
        .query_map(params![PackedId(bu), week], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(match triples[..] {
        [one] => (
            conn.prepare_cached(LINKS_OF_TRIPLE)?,
            vec![Value::Integer(one)],
        ),
        _ => (
            conn.prepare_cached(LINKS)?,
            vec![
                match uuid16::pack(bu) {
                    Some(b) => Value::Blob(b.to_vec()),
                    None => Value::Text(bu.to_owned()),
                },
                Value::Text(week.to_owned()),
            ],
        ),
    })
}

/// The id in `xw_shift_weeks` (schema 18) of a link's business unit (packed), week and schedule
/// (packed, or NULL), added when new. The dictionary is only added to, and a triple's NULLs are
/// kept as they are, so it is looked up with `IS`.
fn week_ref(
    conn: &Connection,
    bu: &str,
    week: &str,
    schedule_id: Option<&str>,
) -> rusqlite::Result<i64> {
    let (bu, schedule) = (PackedId(bu), schedule_id.map(PackedId));
    let have: Option<i64> = conn
        .prepare_cached(
            "SELECT id FROM xw_shift_weeks
             WHERE business_unit_id = ?1 AND week_id = ?2 AND schedule_id IS ?3",
        )?
        .query_row(params![bu, week, schedule], |r| r.get(0))
        .optional()?;
    match have {
        Some(id) => Ok(id),
        None => {
            conn.execute(
                "INSERT INTO xw_shift_weeks (business_unit_id, week_id, schedule_id)
                 VALUES (?1, ?2, ?3)",
                params![bu, week, schedule],
            )?;
            Ok(conn.last_insert_rowid())
        }
    }
}

/// A link's base as stored in `xw_shifts.base` of a row whose `user_id` is `row_user`: the
/// compact BLOB of schema 15 ([`Content::from_stored`]), or JSON text as schemas 4 to 14 wrote it
/// (migration 15 rewrites every base it can read; one it could not stays text and reads as
/// before, `None`). `None` for NULL or unreadable bytes.
pub fn stored_base(v: rusqlite::types::ValueRef<'_>, row_user: Option<&str>) -> Option<Content> {
    stored_base_pairs(v, row_user, &mut |_| None)
}

/// [`stored_base`] of a db whose pair dictionary (`xw_shift_pairs`, schema 16) `pair` reads.
pub fn stored_base_pairs(
    v: rusqlite::types::ValueRef<'_>,
    row_user: Option<&str>,
    pair: &mut dyn FnMut(u64) -> Option<(String, String)>,
) -> Option<Content> {
    use rusqlite::types::ValueRef;
    match v {
        ValueRef::Blob(b) => Content::from_stored_pairs(b, row_user, pair),
        ValueRef::Text(t) => std::str::from_utf8(t).ok().and_then(Content::from_json),
        _ => None,
    }
}

/// The (code, description) of pair `id` in `xw_shift_pairs` (schema 16), read once per `cache`.
/// Pairs are only ever added, so an id a base names that the table lacks means the state database
/// was damaged (a row deleted by hand): an error, not "no base" (which would park a conflict for
/// every link naming it and say nothing of the damage).
fn pair_of(
    conn: &Connection,
    cache: &mut Vec<(u64, String, String)>,
    id: u64,
) -> Result<Option<(String, String)>> {
    if let Some((_, c, d)) = cache.iter().find(|p| p.0 == id) {
        return Ok(Some((c.clone(), d.clone())));
    }
    let mut st =
        conn.prepare_cached("SELECT code, description FROM xw_shift_pairs WHERE id = ?1")?;
    let p: Option<(String, String)> = match i64::try_from(id) {
        Ok(key) => st
            .query_row([key], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?,
        Err(_) => None,
    };
    let Some((c, d)) = p else {
        return Err(crate::error::Error::failure(
            format!(
                "state database damaged: pair id {id} missing from xw_shift_pairs (a crosswalk base of {} names it)",
                conn.path().filter(|p| !p.is_empty()).unwrap_or("zd2gc.db")
            ),
            Some("zd2gc only ever adds to xw_shift_pairs, so a row was deleted or the file damaged: restore the migration directory from a backup (its bases cannot be read without it), or keep it as it is and report this message".to_string()),
        ));
    };
    cache.push((id, c.clone(), d.clone()));
    Ok(Some((c, d)))
}

/// The id of `(code, desc)` in `xw_shift_pairs` (schema 16), added when new; `cache` holds the
/// pairs already looked up by this caller.
fn pair_id(
    conn: &Connection,
    cache: &mut Vec<(String, String, u64)>,
    code: &str,
    desc: &str,
) -> rusqlite::Result<u64> {
    if let Some((_, _, k)) = cache.iter().find(|p| p.0 == code && p.1 == desc) {
        return Ok(*k);
    }
    let mut st =
        conn.prepare_cached("SELECT id FROM xw_shift_pairs WHERE code = ?1 AND description = ?2")?;
    let id: i64 = match st.query_row([code, desc], |r| r.get(0)).optional()? {
        Some(id) => id,
        None => {
            conn.execute(
                "INSERT INTO xw_shift_pairs (code, description) VALUES (?1, ?2)",
                [code, desc],
            )?;
            conn.last_insert_rowid()
        }
    };
    let id = id as u64;
    cache.push((code.to_owned(), desc.to_owned(), id));
    Ok(id)
}

/// The crosswalk links of a week: every legacy shift linked to a Genesys shift there.
pub fn links(conn: &Connection, bu: &str, week: &str) -> Result<Vec<Link>> {
    let (mut st, p) = links_statement(conn, bu, week)?;
    let mut cache = Vec::new();
    let mut failed = None;
    let v = st
        .query_map(rusqlite::params_from_iter(p), |r| {
            let user = id_text(r, 3)?;
            let base = stored_base_pairs(r.get_ref(2)?, user.as_deref(), &mut |id| {
                pair_of(conn, &mut cache, id).unwrap_or_else(|e| {
                    failed.get_or_insert(e);
                    None
                })
            });
            Ok(Link {
                legacy: r.get(0)?,
                gid: id_text(r, 1)?.map(Cow::into_owned).unwrap_or_default(),
                base,
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    if let Some(e) = failed {
        return Err(e);
    }
    Ok(v)
}

/// The crosswalk links of a week, as [`links`] reads them (a schema-16 base's pairs looked up in
/// `xw_shift_pairs`), handed one at a time to `f`: its legacy id, Genesys id and base (for a
/// compact store, [`super::links::LinkStore`]).
pub fn links_each(
    conn: &Connection,
    bu: &str,
    week: &str,
    mut f: impl FnMut(&str, &str, Option<Content>),
) -> Result<()> {
    let (mut st, p) = links_statement(conn, bu, week)?;
    let mut rows = st.query(rusqlite::params_from_iter(p))?;
    let mut cache = Vec::new();
    while let Some(r) = rows.next()? {
        let mut failed = None;
        let row = || -> rusqlite::Result<_> {
            Ok((
                r.get_ref(0)?.as_str()?,
                id_text(r, 1)?.unwrap_or_default(),
                r.get_ref(2)?,
                id_text(r, 3)?,
            ))
        };
        let (legacy, gid, stored, user) = row()?;
        let base = stored_base_pairs(stored, user.as_deref(), &mut |id| {
            pair_of(conn, &mut cache, id).unwrap_or_else(|e| {
                failed.get_or_insert(e);
                None
            })
        });
        if let Some(e) = failed {
            return Err(e);
        }
        f(legacy, &gid, base);
    }
    Ok(())
}

/// The crosswalk links of a week in compact form ([`links`]' links, in its order).
pub fn link_store(conn: &Connection, bu: &str, week: &str) -> Result<super::links::LinkStore> {
    let mut s = super::links::LinkStore::new();
    links_each(conn, bu, week, |l, g, b| s.push_link(l, g, b.as_ref()))?;
    Ok(s)
}

/// Apply a plan's local crosswalk changes (adoptions, bases, forgotten links), in one transaction
/// (none when there is no change). `written` says which legacy ids zd2gc itself wrote in this run
/// (so they are not marked adopted). A change that cannot be had (`Err`: read back from a spill
/// file) rolls the transaction back: none of the changes is applied.
pub fn apply_links(
    conn: &Connection,
    run_id: i64,
    bu: &str,
    week: &str,
    schedule_id: Option<&str>,
    changes: impl IntoIterator<Item = Result<LinkChange>>,
    written: &super::changes::Written<'_>,
) -> Result<()> {
    let mut changes = changes.into_iter().peekable();
    if changes.peek().is_none() {
        return Ok(());
    }
    let tx = conn.unchecked_transaction()?;
    let mut pairs = Vec::new();
    let mut week_id = None;
    for c in changes {
        let c = c?;
        match &c {
            LinkChange::Set {
                legacy,
                gid,
                base,
                adopted,
            } => {
                let wref = match week_id {
                    Some(id) => id,
                    None => *week_id.insert(week_ref(&tx, bu, week, schedule_id)?),
                };
                tx.execute(
                    "INSERT INTO xw_shift_rows (legacy_shift_id, user_id, week_ref, genesys_shift_id, run_id, base, adopted)
                     VALUES (?1,?2,?3,?4,?5,?6,?7)
                     ON CONFLICT(legacy_shift_id) DO UPDATE SET user_id = excluded.user_id,
                       week_ref = excluded.week_ref, genesys_shift_id = excluded.genesys_shift_id,
                       run_id = excluded.run_id, base = excluded.base,
                       adopted = CASE WHEN xw_shift_rows.genesys_shift_id = excluded.genesys_shift_id
                                      THEN xw_shift_rows.adopted ELSE excluded.adopted END",
                    params![
                        legacy,
                        PackedId(&base.user),
                        wref,
                        PackedId(gid),
                        run_id,
                        base.to_stored_pairs(Some(&base.user), &mut |c, d| {
                            pair_id(&tx, &mut pairs, c, d)
                        })?,
                        (*adopted && !written.contains(legacy)) as i64
                    ],
                )?;
            }
            LinkChange::Forget { legacy } => {
                tx.execute(
                    "DELETE FROM xw_shift_rows WHERE legacy_shift_id = ?1",
                    [legacy],
                )?;
            }
        }
    }
    tx.commit()?;
    Ok(())
}

/// Record the shifts adopted now whose Genesys activity descriptions differ from the export's:
/// `xw_shifts.adopted = 2` (0: written by zd2gc, 1: adopted identical), and one
/// `adopted-relabelled` event listing them.
pub fn record_relabelled(
    conn: &Connection,
    run_id: i64,
    bu: &str,
    week: &str,
    legacy: &[String],
) -> Result<()> {
    if legacy.is_empty() {
        return Ok(());
    }
    let tx = conn.unchecked_transaction()?;
    for l in legacy {
        tx.execute(
            "UPDATE xw_shift_rows SET adopted = 2 WHERE legacy_shift_id = ?1 AND adopted = 1",
            [l],
        )?;
    }
    let shown: Vec<&str> = legacy.iter().take(50).map(String::as_str).collect();
    tx.execute(
        "INSERT INTO load_events (run_id, business_unit_id, week_id, at, event, detail) VALUES (?1,?2,?3,?4,?5,?6)",
        params![
            run_id,
            bu,
            week,
            crate::store::now_rfc3339(),
            "adopted-relabelled",
            format!(
                "{} planner shift(s) adopted whose activity descriptions differ from the export's (Genesys' kept): {}{}",
                legacy.len(),
                shown.join(", "),
                if legacy.len() > shown.len() { ", …" } else { "" }
            )
        ],
    )?;
    tx.commit()?;
    Ok(())
}

/// Replace the week's active conflicts with `conflicts`.
pub fn record_conflicts(
    conn: &Connection,
    run_id: i64,
    bu: &str,
    week: &str,
    schedule_id: Option<&str>,
    conflicts: &[Conflict],
) -> Result<()> {
    let tx = conn.unchecked_transaction()?;
    tx.execute(
        "UPDATE load_conflicts SET active = 0 WHERE business_unit_id = ?1 AND week_id = ?2 AND active = 1",
        [bu, week],
    )?;
    let js = |c: &Option<Content>| c.as_ref().map(Content::to_json);
    for c in conflicts {
        tx.execute(
            "INSERT INTO load_conflicts (run_id, business_unit_id, week_id, schedule_id, user_id, legacy_shift_id, genesys_shift_id, kind, resolution, base, ours, theirs, at, active)
             VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,1)",
            params![
                run_id,
                bu,
                week,
                schedule_id,
                c.user,
                c.legacy,
                c.gid,
                c.kind.as_str(),
                if c.overwritten { "ours" } else { "parked" },
                js(&c.base),
                js(&c.ours),
                js(&c.theirs),
                crate::store::now_rfc3339()
            ],
        )?;
    }
    tx.commit()?;
    Ok(())
}

/// A recorded conflict (for `status` and the tests).
#[derive(Debug, Clone, serde::Serialize)]
pub struct ConflictRow {
    pub business_unit_id: String,
    pub week_id: String,
    pub schedule_id: Option<String>,
    pub user_id: String,
    pub legacy_shift_id: Option<String>,
    pub genesys_shift_id: Option<String>,
    pub kind: String,
    pub resolution: String,
    pub base: Option<serde_json::Value>,
    pub ours: Option<serde_json::Value>,
    pub theirs: Option<serde_json::Value>,
}

/// The active conflicts of every week.
pub fn conflicts(conn: &Connection) -> Result<Vec<ConflictRow>> {
    let mut st = conn.prepare(
        "SELECT business_unit_id, week_id, schedule_id, user_id, legacy_shift_id, genesys_shift_id, kind, resolution, base, ours, theirs
         FROM load_conflicts WHERE active = 1 ORDER BY business_unit_id, week_id, user_id, id",
    )?;
    let j = |s: Option<String>| s.and_then(|s| serde_json::from_str(&s).ok());
    let v = st
        .query_map([], |r| {
            Ok(ConflictRow {
                business_unit_id: r.get(0)?,
                week_id: r.get(1)?,
                schedule_id: r.get(2)?,
                user_id: r.get(3)?,
                legacy_shift_id: r.get(4)?,
                genesys_shift_id: r.get(5)?,
                kind: r.get(6)?,
                resolution: r.get(7)?,
                base: j(r.get(8)?),
                ours: j(r.get(9)?),
                theirs: j(r.get(10)?),
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Ids as Genesys or a hand-made org may spell them: canonical UUIDs, and ids that are
    /// almost UUIDs (upper case, braces, 35 characters, a `g`, a hyphen moved, no hyphens), and
    /// any text.
    fn odd_id() -> impl Strategy<Value = String> {
        prop_oneof![
            "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
            "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
            "[0-9A-F]{8}-[0-9a-fA-F]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
            "\\{[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\\}",
            "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{11}",
            "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-g]{12}",
            "[0-9a-f]{12}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}-",
            "[0-9a-f]{32}",
            ".{0,40}",
        ]
    }

    /// A canonical lowercase UUID, checked a character at a time (apart from `uuid16::pack`).
    fn canonical(s: &str) -> bool {
        s.len() == 36
            && s.chars().enumerate().all(|(i, c)| {
                if [8, 13, 18, 23].contains(&i) {
                    c == '-'
                } else {
                    c.is_ascii_digit() || ('a'..='f').contains(&c)
                }
            })
    }

    type ViewRow = (
        String,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
        i64,
    );

    /// The rows of the view `xw_shifts`, by legacy id.
    fn view(c: &Connection) -> Vec<ViewRow> {
        c.prepare(
            "SELECT legacy_shift_id, user_id, business_unit_id, week_id, schedule_id,
                    genesys_shift_id, adopted FROM xw_shifts ORDER BY 1",
        )
        .unwrap()
        .query_map([], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
                r.get(6)?,
            ))
        })
        .unwrap()
        .map(|r| r.unwrap())
        .collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]
        /// Links written with odd ids (schema 17 packs the canonical UUIDs among them) read back
        /// as written: the view `xw_shifts` shows the very texts, `links` gives the Genesys ids
        /// and bases' users, a near spelling of the business unit finds no link, an id is a
        /// BLOB exactly when it is a canonical UUID, a link set again to the same Genesys id
        /// keeps its adoption (the ids compare packed), to another one takes the new one, and a
        /// forgotten link is gone.
        #[test]
        fn links_with_odd_ids_read_back_as_written(
            bu in odd_id(),
            schedule in prop::option::of(odd_id()),
            rows in prop::collection::vec(
                (odd_id(), odd_id(), crate::load::model::tests::any_content()), 1..6),
        ) {
            let c = Connection::open_in_memory().unwrap();
            crate::store::migrations::migrate(&c).unwrap();
            let slots = super::super::desired::Slots::default();
            let index = super::super::changes::SlotIndex::new(&slots);
            let written = super::super::changes::Written::new(&index);
            let week = "2026-09-07";
            let mut want = Vec::new();
            for (i, (user, gid, content)) in rows.iter().enumerate() {
                let mut base = content.clone();
                base.user = crate::load::model::label(user);
                want.push(Link { legacy: format!("s{i}"), gid: gid.clone(), base: Some(base) });
            }
            let set = |links: &[Link], adopted: bool| {
                let changes = links.iter().map(|l| LinkChange::Set {
                    legacy: l.legacy.clone(),
                    gid: l.gid.clone(),
                    base: l.base.clone().unwrap(),
                    adopted,
                }).map(Ok);
                apply_links(&c, 7, &bu, week, schedule.as_deref(), changes, &written).unwrap();
            };
            set(&want, true);
            let rows_of = |links: &[Link], adopted: &dyn Fn(usize) -> i64| -> Vec<ViewRow> {
                let mut v: Vec<ViewRow> = links.iter().enumerate().map(|(i, l)| (
                    l.legacy.clone(),
                    Some(l.base.as_ref().unwrap().user.to_string()),
                    Some(bu.clone()),
                    Some(week.to_string()),
                    schedule.clone(),
                    Some(l.gid.clone()),
                    adopted(i),
                )).collect();
                v.sort();
                v
            };
            prop_assert_eq!(view(&c), rows_of(&want, &|_| 1));
            let mut got = links(&c, &bu, week).unwrap();
            got.sort_by(|a, b| a.legacy.cmp(&b.legacy));
            prop_assert_eq!(&got, &want);
            let near = bu.to_uppercase();
            if near != bu {
                prop_assert_eq!(links(&c, &near, week).unwrap(), vec![]);
            }
            let types: Vec<(String, String, String, String, String)> = c
                .prepare("SELECT r.legacy_shift_id, typeof(r.user_id), typeof(w.business_unit_id),
                              typeof(w.schedule_id), typeof(r.genesys_shift_id)
                          FROM xw_shift_rows r JOIN xw_shift_weeks w ON w.id = r.week_ref ORDER BY 1")
                .unwrap()
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)))
                .unwrap().map(|r| r.unwrap()).collect();
            let kind = |s: Option<&str>| match s {
                None => "null",
                Some(s) if canonical(s) => "blob",
                Some(_) => "text",
            };
            for (l, (legacy, u, b, sch, g)) in want.iter().zip(&types) {
                prop_assert_eq!(&l.legacy, legacy);
                prop_assert_eq!(kind(Some(&l.base.as_ref().unwrap().user)), u);
                prop_assert_eq!(kind(Some(&bu)), b);
                prop_assert_eq!(kind(schedule.as_deref()), sch);
                prop_assert_eq!(kind(Some(&l.gid)), g);
            }
            // Again, not adopted: an even link keeps its Genesys id (and its adoption), an odd
            // one gets another id.
            let again: Vec<Link> = want.iter().enumerate().map(|(i, l)| Link {
                gid: if i % 2 == 0 { l.gid.clone() } else { format!("{}x", l.gid) },
                ..l.clone()
            }).collect();
            set(&again, false);
            prop_assert_eq!(view(&c), rows_of(&again, &|i| i64::from(i % 2 == 0)));
            apply_links(&c, 8, &bu, week, schedule.as_deref(),
                [Ok(LinkChange::Forget { legacy: "s0".into() })], &written).unwrap();
            prop_assert_eq!(view(&c), rows_of(&again[1..], &|i| i64::from(i % 2 == 1)));
        }
    }

    /// A pair id a base names that `xw_shift_pairs` lacks (a row deleted by hand: zd2gc only
    /// adds pairs) fails the week's read as a damaged state, naming the id, in both readers;
    /// with the row there the base reads back whole.
    #[test]
    fn a_base_naming_a_missing_pair_is_a_damaged_state_not_no_base() {
        let dir = tempfile::tempdir().unwrap();
        let c = crate::store::open_state(dir.path()).unwrap();
        let json = "{\"user\":\"u-1\",\"start\":600,\"len\":5,\"acts\":[{\"start\":600,\"len\":1,\"code\":\"a\",\"desc\":\"d\"},{\"start\":660,\"len\":1,\"code\":\"b\",\"desc\":\"\"}]}";
        let content = Content::from_json(json).unwrap();
        let base = content
            .to_stored_pairs(Some("u-1"), &mut |code, desc| {
                pair_id(&c, &mut Vec::new(), code, desc)
            })
            .unwrap();
        c.execute_batch(
            "INSERT INTO xw_shift_weeks (id, business_unit_id, week_id, schedule_id)
             VALUES (5, 'bu-1', 'w-1', 'sch-1')",
        )
        .unwrap();
        c.execute(
            "INSERT INTO xw_shift_rows (legacy_shift_id, user_id, week_ref, genesys_shift_id,
                 run_id, base, adopted)
             VALUES ('S-1', 'u-1', 5, 'g-1', 1, ?1, 0)",
            [&base],
        )
        .unwrap();
        let read = links(&c, "bu-1", "w-1").unwrap();
        assert_eq!(read.len(), 1);
        assert_eq!(read[0].base.as_ref(), Some(&content));
        let b: i64 = c
            .query_row("SELECT id FROM xw_shift_pairs WHERE code = 'b'", [], |r| {
                r.get(0)
            })
            .unwrap();
        // Damage by hand: zd2gc's own triggers refuse the removal (schema 18) until dropped.
        assert!(
            c.execute("DELETE FROM xw_shift_pairs WHERE id = ?1", [b])
                .is_err()
        );
        c.execute_batch("DROP TRIGGER xw_shift_pairs_no_delete")
            .unwrap();
        c.execute("DELETE FROM xw_shift_pairs WHERE id = ?1", [b])
            .unwrap();
        let want = format!("state database damaged: pair id {b} missing from xw_shift_pairs");
        let e = links(&c, "bu-1", "w-1").unwrap_err();
        assert!(e.to_string().contains(&want), "{e}");
        let e = link_store(&c, "bu-1", "w-1").unwrap_err();
        assert!(e.to_string().contains(&want), "{e}");
    }

    /// A week whose links were written with different schedules (schema 18: one triple of
    /// `xw_shift_weeks` each) reads them all, in legacy id order as the index by business unit
    /// and week gave them before; each link shows its own schedule, a link written again with
    /// another schedule moves to its triple, and each triple is in the dictionary once.
    #[test]
    fn a_week_of_several_schedules_reads_its_links_in_legacy_order() {
        let c = Connection::open_in_memory().unwrap();
        crate::store::migrations::migrate(&c).unwrap();
        let slots = super::super::desired::Slots::default();
        let index = super::super::changes::SlotIndex::new(&slots);
        let written = super::super::changes::Written::new(&index);
        let set = |schedule: Option<&str>, legacy: &[&str]| {
            let changes = legacy.iter().map(|l| {
                Ok(LinkChange::Set {
                    legacy: l.to_string(),
                    gid: format!("g-{l}"),
                    base: Content::new(crate::load::model::label("u1"), 0, 30, vec![]),
                    adopted: false,
                })
            });
            apply_links(&c, 7, "bu", "2026-09-07", schedule, changes, &written).unwrap();
        };
        set(Some("sch-a"), &["s3", "s1"]);
        set(Some("sch-b"), &["s2", "s0"]);
        set(None, &["s4"]);
        set(Some("sch-a"), &["s5"]);
        apply_links(
            &c,
            7,
            "bu",
            "2026-09-14",
            Some("sch-a"),
            [Ok(LinkChange::Set {
                legacy: "t0".into(),
                gid: "g-t0".into(),
                base: Content::new(crate::load::model::label("u1"), 0, 30, vec![]),
                adopted: false,
            })],
            &written,
        )
        .unwrap();
        let order = |c: &Connection| -> Vec<String> {
            links(c, "bu", "2026-09-07")
                .unwrap()
                .into_iter()
                .map(|l| l.legacy)
                .collect()
        };
        let want = ["s0", "s1", "s2", "s3", "s4", "s5"];
        assert_eq!(order(&c), want);
        let store = link_store(&c, "bu", "2026-09-07").unwrap();
        let got: Vec<String> = (0..store.len()).map(|j| store.get(j).legacy).collect();
        assert_eq!(got, want);
        let schedules: Vec<(String, Option<String>)> =
            view(&c).into_iter().map(|r| (r.0, r.4)).collect();
        let own = |l: &str, s: Option<&str>| (l.to_string(), s.map(str::to_string));
        assert_eq!(
            schedules,
            [
                own("s0", Some("sch-b")),
                own("s1", Some("sch-a")),
                own("s2", Some("sch-b")),
                own("s3", Some("sch-a")),
                own("s4", None),
                own("s5", Some("sch-a")),
                own("t0", Some("sch-a")),
            ]
        );
        set(Some("sch-b"), &["s1"]);
        assert_eq!(view(&c)[1].4.as_deref(), Some("sch-b"));
        assert_eq!(order(&c), want);
        let triples: i64 = c
            .query_row("SELECT count(*) FROM xw_shift_weeks", [], |r| r.get(0))
            .unwrap();
        assert_eq!(triples, 4);
        // A week of one triple reads its links as the one-triple statement does.
        assert_eq!(links(&c, "bu", "2026-09-14").unwrap().len(), 1);
    }

    /// A change that cannot be had (a spill file that could not be read back) fails the whole
    /// application: the changes before it are rolled back, the ones after never applied.
    #[test]
    fn a_change_not_had_applies_none() {
        let c = Connection::open_in_memory().unwrap();
        crate::store::migrations::migrate(&c).unwrap();
        let slots = super::super::desired::Slots::default();
        let index = super::super::changes::SlotIndex::new(&slots);
        let written = super::super::changes::Written::new(&index);
        let set = |l: &str| {
            Ok(LinkChange::Set {
                legacy: l.into(),
                gid: format!("g-{l}"),
                base: Content::new(crate::load::model::label("u1"), 0, 30, vec![]),
                adopted: true,
            })
        };
        let lost = || {
            Err(crate::error::Error::io(
                "spill",
                std::io::ErrorKind::UnexpectedEof.into(),
            ))
        };
        let r = apply_links(
            &c,
            7,
            "bu",
            "2026-09-07",
            None,
            [set("a"), lost(), set("b")],
            &written,
        );
        assert!(r.is_err());
        assert_eq!(view(&c), vec![]);
        apply_links(
            &c,
            7,
            "bu",
            "2026-09-07",
            None,
            [set("a"), set("b")],
            &written,
        )
        .unwrap();
        assert_eq!(view(&c).len(), 2);
    }

    /// A week's links are read through the index by week (on its triples of `xw_shift_weeks`
    /// since schema 18), not by a scan of every link of the migration; a week of one triple
    /// (nearly all) with no sort, its links in the index's order.
    #[test]
    fn links_of_a_week_are_read_through_the_index_by_week() {
        let dir = tempfile::tempdir().unwrap();
        let c = crate::store::open_state(dir.path()).unwrap();
        let plan = |sql: &str, p: &[&dyn ToSql]| -> Vec<String> {
            c.prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
                .unwrap()
                .query_map(p, |r| r.get(3))
                .unwrap()
                .collect::<rusqlite::Result<_>>()
                .unwrap()
        };
        let one = plan(super::LINKS_OF_TRIPLE, &[&1]);
        assert_eq!(
            one,
            ["SEARCH xw_shift_rows USING INDEX xw_shifts_by_week (week_ref=?)"],
            "{one:?}"
        );
        let many = plan(super::LINKS, &[&"bu-1", &"2026-09-07"]);
        assert!(
            many[0] == "SEARCH xw_shift_rows USING INDEX xw_shifts_by_week (week_ref=?)"
                && many.iter().any(|s| s.contains(
                    "SEARCH xw_shift_weeks USING COVERING INDEX sqlite_autoindex_xw_shift_weeks_1 (business_unit_id=? AND week_id=?)"
                ))
                && !many.iter().any(|s| s.starts_with("SCAN")),
            "{many:?}"
        );
        let triples = plan(super::TRIPLES, &[&"bu-1", &"2026-09-07"]);
        assert!(
            triples.len() == 1
                && triples[0].starts_with("SEARCH xw_shift_weeks USING COVERING INDEX"),
            "{triples:?}"
        );
    }
}
