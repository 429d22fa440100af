//! The desired state (`map` writes it, `load`, `verify`, the reports and the crosswalk read it):
//! `desired_shift_rows`, one row per legacy shift, which refers to its texts (owner, exported
//! agent, user, business unit, management unit, week, file) by number in the dictionary
//! `desired_names` ([`ShiftWriter`] gives the numbers), its activities in the compact form over the
//! dictionary `activity_kinds` ([`activities_compact`], decoded once, by [`decode_activities`]),
//! and `meta.mapped_snapshot_id`, the snapshot mapped. The view `desired_shifts` spells the rows
//! out with the texts (for the other views and for people with `sqlite3`; migration 9). The only
//! module that runs SQL on these; the form of a row is private to it.

use crate::error::{Error, Result};
use rusqlite::{Connection, OptionalExtension, Statement, params};
use rustc_hash::FxHashMap;
use std::collections::HashMap;

/// One activity of a shift as `map` builds it (borrowed; instants in UTC seconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Activity<'a> {
    pub code: &'a str,
    pub start: i64,
    pub length_minutes: i64,
    pub description: &'a str,
    pub task_id: Option<&'a str>,
}

/// The (activity code, description) pairs that compact activities refer to: the table
/// `activity_kinds`, append-only (a kind keeps its number for good, so unchanged rows keep their
/// text and hash). Numbers are given in order of first use.
#[derive(Default)]
pub struct Kinds {
    by_code: FxHashMap<String, FxHashMap<String, i64>>,
    next: i64,
    /// Given since the last [`Kinds::take_new`]: to be inserted before the rows that use them.
    new: Vec<(i64, String, String)>,
}

impl Kinds {
    pub fn load(conn: &Connection) -> Result<Kinds> {
        let mut k = Kinds {
            next: 1,
            ..Default::default()
        };
        let mut st =
            conn.prepare("SELECT kind, activity_code_id, description FROM activity_kinds")?;
        let mut rows = st.query([])?;
        while let Some(r) = rows.next()? {
            let (kind, code, desc): (i64, String, String) = (r.get(0)?, r.get(1)?, r.get(2)?);
            k.next = k.next.max(kind + 1);
            k.by_code.entry(code).or_default().insert(desc, kind);
        }
        Ok(k)
    }

    pub fn kind(&mut self, code: &str, desc: &str) -> i64 {
        if let Some(k) = self.by_code.get(code).and_then(|m| m.get(desc)) {
            return *k;
        }
        let k = self.next;
        self.next += 1;
        self.by_code
            .entry(code.to_string())
            .or_default()
            .insert(desc.to_string(), k);
        self.new.push((k, code.to_string(), desc.to_string()));
        k
    }

    pub fn take_new(&mut self) -> Vec<(i64, String, String)> {
        std::mem::take(&mut self.new)
    }
}

/// A shift's activities as stored in `desired_shifts.activities`: a JSON array of
/// `[kind, start offset in seconds from the shift's start, length in minutes, legacy task id or
/// null]`, byte for byte what `serde_json` writes for such tuples (the content hash covers this
/// text, so it must not change; migration 5 writes the same form). The view `desired_activities`
/// unfolds it with the kinds' codes and descriptions. About a fifth of the size of objects with
/// the code and description spelled out on every activity.
pub fn activities_compact(acts: &[Activity<'_>], shift_start: i64, kinds: &mut Kinds) -> String {
    let mut s = String::with_capacity(acts.len() * 24 + 2);
    s.push('[');
    for (i, a) in acts.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        s.push('[');
        push_int(&mut s, kinds.kind(a.code, a.description));
        s.push(',');
        push_int(&mut s, a.start - shift_start);
        s.push(',');
        push_int(&mut s, a.length_minutes);
        s.push(',');
        match a.task_id {
            Some(t) => json_str(&mut s, t),
            None => s.push_str("null"),
        }
        s.push(']');
    }
    s.push(']');
    s
}

/// The activity kinds of `activity_kinds`: kind → (activity code id, description).
pub fn activity_kinds(conn: &Connection) -> Result<HashMap<i64, (String, String)>> {
    let mut st = conn.prepare("SELECT kind, activity_code_id, description FROM activity_kinds")?;
    let v = st
        .query_map([], |r| Ok((r.get(0)?, (r.get(1)?, r.get(2)?))))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(v)
}

/// One activity of the desired state, decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DesiredActivity {
    pub code: String,
    /// UTC seconds.
    pub start: i64,
    pub length_minutes: i64,
    pub description: String,
    pub task_id: Option<String>,
}

/// Decode `desired_shifts.activities` (see [`activities_compact`]) of a shift starting at
/// `shift_start`. An unreadable text or an unknown kind is an error: a shift must never be loaded
/// without the activities it was mapped with.
pub fn decode_activities(
    text: &str,
    shift_start: i64,
    kinds: &HashMap<i64, (String, String)>,
) -> std::result::Result<Vec<DesiredActivity>, String> {
    let raw: Vec<(i64, i64, i64, Option<String>)> = serde_json::from_str(text)
        .map_err(|e| format!("activities are not in the expected form ({e})"))?;
    raw.into_iter()
        .map(|(kind, offset, len, task)| {
            let (code, desc) = kinds
                .get(&kind)
                .ok_or_else(|| format!("activity kind {kind} is not in activity_kinds"))?;
            Ok(DesiredActivity {
                code: code.clone(),
                start: shift_start + offset,
                length_minutes: len,
                description: desc.clone(),
                task_id: task,
            })
        })
        .collect()
}

/// An integer in decimal, as `Display` writes it.
fn push_int(s: &mut String, v: i64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    let mut n = v.unsigned_abs();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    if v < 0 {
        s.push('-');
    }
    s.push_str(std::str::from_utf8(&buf[i..]).expect("digits"));
}

/// A JSON string literal, escaped as `serde_json` does: `"`, `\\`, and control characters
/// (`\b \t \n \f \r` short, the others `\u00xx`); everything else as is.
fn json_str(s: &mut String, v: &str) {
    s.push('"');
    let b = v.as_bytes();
    if !b.iter().any(|&c| c < 0x20 || c == b'"' || c == b'\\') {
        s.push_str(v);
        s.push('"');
        return;
    }
    let mut from = 0;
    for (i, &c) in b.iter().enumerate() {
        let esc: &str = match c {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x08 => "\\b",
            0x0c => "\\f",
            0..=0x1f => "",
            _ => continue,
        };
        s.push_str(&v[from..i]);
        if esc.is_empty() {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            s.push_str("\\u00");
            s.push(HEX[(c >> 4) as usize] as char);
            s.push(HEX[(c & 0xf) as usize] as char);
        } else {
            s.push_str(esc);
        }
        from = i + 1;
    }
    s.push_str(&v[from..]);
    s.push('"');
}

/// Whether no shift was ever mapped (a first `map` loads in bulk).
pub fn is_empty(conn: &Connection) -> Result<bool> {
    Ok(conn.query_row(
        "SELECT NOT EXISTS (SELECT 1 FROM desired_shift_rows)",
        [],
        |r| r.get(0),
    )?)
}

/// The snapshot `map` last mapped.
pub fn mapped_snapshot(conn: &Connection) -> Result<Option<String>> {
    Ok(conn
        .query_row(
            "SELECT value FROM meta WHERE key = 'mapped_snapshot_id'",
            [],
            |r| r.get(0),
        )
        .optional()?)
}

/// Remove every shift (the synthetic desired state of tests and benchmarks starts afresh).
pub fn clear_shifts(conn: &Connection) -> Result<()> {
    conn.execute("DELETE FROM desired_shift_rows", [])?;
    Ok(())
}

/// Name the snapshot the desired state is of.
pub fn set_mapped_snapshot(conn: &Connection, snapshot_id: &str) -> Result<()> {
    conn.execute(
        "INSERT INTO meta(key, value) VALUES ('mapped_snapshot_id', ?1)
         ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        [snapshot_id],
    )?;
    Ok(())
}

/// One shift of the desired state as `map` writes it (the columns of the view `desired_shifts`).
pub struct ShiftRow<'a> {
    pub legacy_shift_id: &'a str,
    /// The owner (an override's, else the exported agent).
    pub agent_id: &'a str,
    pub exported_agent_id: &'a str,
    pub user_id: Option<&'a str>,
    pub business_unit_id: Option<&'a str>,
    pub management_unit_id: Option<&'a str>,
    pub week_id: Option<&'a str>,
    pub start_utc: Option<i64>,
    pub length_minutes: Option<i64>,
    /// [`activities_compact`]'s text.
    pub activities: &'a str,
    pub file: &'a str,
    pub line: i64,
    pub run_id: i64,
    pub content_hash: i64,
    pub held_back_reason: Option<&'a str>,
}

/// The dictionary `desired_names` as a writer sees it: every name's number, and the statement
/// that adds a new one (append-only: a name keeps its number for good, so the rows that use it
/// never change).
struct Names<'c> {
    ids: FxHashMap<String, i64>,
    next: i64,
    insert: Statement<'c>,
}

impl<'c> Names<'c> {
    fn load(tx: &'c Connection) -> Result<Names<'c>> {
        let mut ids = FxHashMap::default();
        let mut next = 1;
        {
            let mut st = tx.prepare("SELECT id, name FROM desired_names")?;
            let mut rows = st.query([])?;
            while let Some(r) = rows.next()? {
                let id: i64 = r.get(0)?;
                next = i64::max(next, id + 1);
                ids.insert(r.get(1)?, id);
            }
        }
        Ok(Names {
            ids,
            next,
            insert: tx.prepare("INSERT INTO desired_names(id, name) VALUES (?1, ?2)")?,
        })
    }

    /// The number of `name`, given (and stored) on first use.
    fn id(&mut self, name: &str) -> Result<i64> {
        if let Some(&id) = self.ids.get(name) {
            return Ok(id);
        }
        let id = self.next;
        self.insert.execute(params![id, name])?;
        self.next += 1;
        self.ids.insert(name.to_string(), id);
        Ok(id)
    }

    fn opt(&mut self, name: Option<&str>) -> Result<Option<i64>> {
        name.map(|n| self.id(n)).transpose()
    }
}

/// A file name's number in `desired_names`, as [`Stored`] carries it (from [`ShiftWriter::file_ref`]).
pub type FileRef = i64;

/// `map`'s writer of the desired state, its statements prepared once in the writing transaction.
pub struct ShiftWriter<'c> {
    names: Names<'c>,
    upsert: Statement<'c>,
    relocate: Statement<'c>,
    delete: Statement<'c>,
    new_kind: Statement<'c>,
}

impl<'c> ShiftWriter<'c> {
    pub fn new(tx: &'c Connection) -> Result<ShiftWriter<'c>> {
        Ok(ShiftWriter {
            names: Names::load(tx)?,
            upsert: tx.prepare(
                "INSERT OR REPLACE INTO desired_shift_rows(legacy_shift_id, agent_ref, exported_agent_ref, user_ref,
                    business_unit_ref, management_unit_ref, week_ref, start_utc, length_minutes, activities, file_ref,
                    line, run_id, content_hash, held_back_reason)
                 VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15)",
            )?,
            relocate: tx.prepare(
                "UPDATE desired_shift_rows SET file_ref = ?2, line = ?3 WHERE legacy_shift_id = ?1",
            )?,
            delete: tx.prepare("DELETE FROM desired_shift_rows WHERE legacy_shift_id = ?1")?,
            new_kind: tx.prepare(
                "INSERT INTO activity_kinds(kind, activity_code_id, description) VALUES (?1, ?2, ?3)",
            )?,
        })
    }

    /// The number of a file name (what [`Stored`] holds), given on first use.
    pub fn file_ref(&mut self, file: &str) -> Result<FileRef> {
        self.names.id(file)
    }

    /// Insert or replace a shift.
    pub fn upsert(&mut self, r: &ShiftRow<'_>) -> Result<()> {
        let n = &mut self.names;
        let agent = n.id(r.agent_id)?;
        let exported = if r.exported_agent_id == r.agent_id {
            None
        } else {
            Some(n.id(r.exported_agent_id)?)
        };
        self.upsert.execute(params![
            r.legacy_shift_id,
            agent,
            exported,
            n.opt(r.user_id)?,
            n.opt(r.business_unit_id)?,
            n.opt(r.management_unit_id)?,
            n.opt(r.week_id)?,
            r.start_utc,
            r.length_minutes,
            r.activities,
            n.id(r.file)?,
            r.line,
            r.run_id,
            r.content_hash,
            r.held_back_reason
        ])?;
        Ok(())
    }

    /// An unchanged shift found at another place of the export.
    pub fn relocate(&mut self, legacy_shift_id: &str, file: FileRef, line: i64) -> Result<()> {
        self.relocate
            .execute(params![legacy_shift_id, file, line])?;
        Ok(())
    }

    pub fn delete(&mut self, legacy_shift_id: &str) -> Result<()> {
        self.delete.execute([legacy_shift_id])?;
        Ok(())
    }

    /// A kind given by [`Kinds::kind`], before the first row that uses it.
    pub fn add_kind(&mut self, kind: i64, code: &str, description: &str) -> Result<()> {
        self.new_kind.execute(params![kind, code, description])?;
        Ok(())
    }
}

/// What a re-run of `map` compares with: (legacy shift id, content hash, file, line) of every
/// stored shift, in id order.
pub type Stored = (String, i64, FileRef, i64);

/// The stored shifts in id order ([`Stored`]), read through their own (read-only) connection.
pub struct StoredShifts<'c>(Statement<'c>);

impl<'c> StoredShifts<'c> {
    pub fn prepare(conn: &'c Connection) -> Result<StoredShifts<'c>> {
        Ok(StoredShifts(conn.prepare(
            "SELECT legacy_shift_id, content_hash, file_ref, line FROM desired_shift_rows ORDER BY legacy_shift_id",
        )?))
    }

    pub fn rows(&mut self) -> Result<impl Iterator<Item = rusqlite::Result<Stored>> + '_> {
        Ok(self
            .0
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?)
    }
}

/// The secondary indexes of `desired_shift_rows`, dropped before a bulk load into an empty table (one
/// sorted build afterwards instead of a million random inserts): their definitions, for
/// [`rebuild_indexes`].
pub fn drop_indexes(tx: &Connection) -> Result<Vec<(String, String)>> {
    let mut st = tx.prepare(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'desired_shift_rows' AND sql IS NOT NULL",
    )?;
    let v = st
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<Vec<(String, String)>>>()?;
    for (name, _) in &v {
        tx.execute_batch(&format!("DROP INDEX \"{}\"", name.replace('"', "\"\"")))?;
    }
    Ok(v)
}

/// Build again the indexes [`drop_indexes`] dropped.
pub fn rebuild_indexes(tx: &Connection, dropped: &[(String, String)]) -> Result<()> {
    for (_, sql) in dropped {
        tx.execute_batch(sql)?;
    }
    Ok(())
}

/// The loadable shifts of an agent as (start, end, legacy shift id), in start order (the time-off
/// rules compare requests with them).
pub struct AgentShifts<'c>(Statement<'c>);

impl<'c> AgentShifts<'c> {
    pub fn prepare(conn: &'c Connection) -> Result<AgentShifts<'c>> {
        Ok(AgentShifts(conn.prepare(
            "SELECT start_utc, start_utc + 60 * length_minutes, legacy_shift_id FROM desired_shift_rows
             WHERE agent_ref = (SELECT id FROM desired_names WHERE name = ?1)
               AND held_back_reason IS NULL AND start_utc IS NOT NULL
             ORDER BY start_utc",
        )?))
    }

    pub fn of(&mut self, agent_id: &str) -> Result<Vec<(i64, i64, String)>> {
        Ok(self
            .0
            .query_map([agent_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .collect::<rusqlite::Result<Vec<_>>>()?)
    }
}

/// `desired_names` read whole, for the readers that walk every row (a name per user, agent, unit,
/// week and file: a few thousand, against a row per shift).
struct NameTable(FxHashMap<i64, String>);

impl NameTable {
    fn load(conn: &Connection) -> Result<NameTable> {
        let mut st = conn.prepare("SELECT id, name FROM desired_names")?;
        let v = st
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        Ok(NameTable(v))
    }

    /// The name numbered `id`; a number the dictionary lacks is an error, never an empty text.
    fn get(&self, id: Option<i64>) -> Result<Option<String>> {
        id.map(|id| {
            self.0.get(&id).cloned().ok_or_else(|| {
                Error::failure(
                    format!("the desired state refers to name {id}, which is not in desired_names"),
                    Some("run `zd2gc map` again to rebuild the desired state".into()),
                )
            })
        })
        .transpose()
    }
}

/// How a query gives a row's texts: spelled out (joined with `desired_names`), or as numbers to
/// look up in a [`NameTable`].
#[derive(Clone, Copy)]
enum Texts<'a> {
    Joined,
    Numbers(&'a NameTable),
}

impl Texts<'_> {
    fn get(self, r: &rusqlite::Row<'_>, i: usize) -> Result<Option<String>> {
        match self {
            Texts::Joined => Ok(r.get(i)?),
            Texts::Numbers(t) => t.get(r.get(i)?),
        }
    }

    fn req(self, r: &rusqlite::Row<'_>, i: usize) -> Result<String> {
        self.get(r, i)?.ok_or_else(|| {
            Error::failure(
                "a shift of the desired state has no owner".to_string(),
                Some("run `zd2gc map` again to rebuild the desired state".into()),
            )
        })
    }
}

/// A stored shift, its activities decoded, for `load`.
pub struct StoredShift {
    pub legacy_shift_id: String,
    pub agent_id: String,
    pub user_id: Option<String>,
    pub business_unit_id: Option<String>,
    pub management_unit_id: Option<String>,
    pub week_id: Option<String>,
    pub start_utc: Option<i64>,
    pub length_minutes: Option<i64>,
    pub activities: Vec<DesiredActivity>,
    pub held_back_reason: Option<String>,
}

/// Every stored shift, in no particular order; with `decode` false the activities are left
/// empty (for a caller that needs only each shift's week and whether it is held back).
pub fn for_each_shift_unordered(
    conn: &Connection,
    decode: bool,
    f: impl FnMut(StoredShift) -> Result<()>,
) -> Result<()> {
    let kinds = activity_kinds(conn)?;
    let names = NameTable::load(conn)?;
    let mut st = conn.prepare(
        "SELECT legacy_shift_id, agent_ref, user_ref, business_unit_ref, management_unit_ref, week_ref,
                start_utc, length_minutes, activities, held_back_reason FROM desired_shift_rows",
    )?;
    stored_shifts(
        st.query([])?,
        Texts::Numbers(&names),
        decode.then_some(&kinds),
        f,
    )
}

/// The stored shifts of one business-unit week, in legacy shift id order, with their activities
/// (`kinds` from [`activity_kinds`]). A row whose activities cannot be decoded is an error: a
/// shift is never loaded without the activities it was mapped with.
pub fn for_each_shift_of_week(
    conn: &Connection,
    kinds: &HashMap<i64, (String, String)>,
    business_unit_id: &str,
    week_id: &str,
    f: impl FnMut(StoredShift) -> Result<()>,
) -> Result<()> {
    // Through the index on (business unit, week), whose entries end with the shift id: in id
    // order without sorting.
    let mut st = conn.prepare_cached(
        "SELECT s.legacy_shift_id, a.name, u.name, ?1, m.name, ?2,
                s.start_utc, s.length_minutes, s.activities, s.held_back_reason
         FROM desired_shift_rows s
         LEFT JOIN desired_names a ON a.id = s.agent_ref
         LEFT JOIN desired_names u ON u.id = s.user_ref
         LEFT JOIN desired_names m ON m.id = s.management_unit_ref
         WHERE s.business_unit_ref = (SELECT id FROM desired_names WHERE name = ?1)
           AND s.week_ref = (SELECT id FROM desired_names WHERE name = ?2)
         ORDER BY s.legacy_shift_id",
    )?;
    stored_shifts(
        st.query([business_unit_id, week_id])?,
        Texts::Joined,
        Some(kinds),
        f,
    )
}

fn stored_shifts(
    mut rows: rusqlite::Rows<'_>,
    texts: Texts<'_>,
    kinds: Option<&HashMap<i64, (String, String)>>,
    mut f: impl FnMut(StoredShift) -> Result<()>,
) -> Result<()> {
    while let Some(r) = rows.next()? {
        let legacy: String = r.get(0)?;
        let start: Option<i64> = r.get(6)?;
        let activities = match kinds {
            Some(kinds) => {
                let acts: String = r.get(8)?;
                decode_activities(&acts, start.unwrap_or_default(), kinds).map_err(|e| {
                    Error::failure(
                        format!("the desired state of shift `{legacy}` cannot be read: {e}"),
                        Some("run `zd2gc map` again to rebuild the desired state".into()),
                    )
                })?
            }
            None => Vec::new(),
        };
        f(StoredShift {
            legacy_shift_id: legacy,
            agent_id: texts.req(r, 1)?,
            user_id: texts.get(r, 2)?,
            business_unit_id: texts.get(r, 3)?,
            management_unit_id: texts.get(r, 4)?,
            week_id: texts.get(r, 5)?,
            start_utc: start,
            length_minutes: r.get(7)?,
            activities,
            held_back_reason: r.get(9)?,
        })?;
    }
    Ok(())
}

/// Held-back shifts by reason.
pub fn held_back_counts(conn: &Connection) -> Result<std::collections::BTreeMap<String, i64>> {
    let mut st = conn.prepare(
        "SELECT held_back_reason, COUNT(*) FROM desired_shift_rows WHERE held_back_reason IS NOT NULL GROUP BY 1",
    )?;
    Ok(st
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?)
}

/// How many shifts an agent owns.
pub fn shift_count_of_agent(conn: &Connection, agent_id: &str) -> Result<i64> {
    Ok(conn.query_row(
        "SELECT COUNT(*) FROM desired_shift_rows
         WHERE agent_ref = (SELECT id FROM desired_names WHERE name = ?1)",
        [agent_id],
        |r| r.get(0),
    )?)
}

/// The business unit (if mapped) and owner of a shift.
pub fn shift_owner(
    conn: &Connection,
    legacy_shift_id: &str,
) -> Result<Option<(Option<String>, String)>> {
    Ok(conn
        .query_row(
            "SELECT b.name, a.name FROM desired_shift_rows s
             JOIN desired_names a ON a.id = s.agent_ref
             LEFT JOIN desired_names b ON b.id = s.business_unit_ref
             WHERE s.legacy_shift_id = ?1",
            [legacy_shift_id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?)
}

/// A stored shift without its activities (the reports).
pub struct ShiftSummary {
    pub legacy_shift_id: String,
    pub agent_id: String,
    pub business_unit_id: Option<String>,
    pub week_id: Option<String>,
    pub start_utc: Option<i64>,
    pub length_minutes: Option<i64>,
    pub held_back_reason: Option<String>,
}

/// Every stored shift without its activities, in storage order.
pub fn for_each_summary(
    conn: &Connection,
    mut f: impl FnMut(ShiftSummary) -> Result<()>,
) -> Result<()> {
    let names = NameTable::load(conn)?;
    let texts = Texts::Numbers(&names);
    let mut st = conn.prepare(
        "SELECT legacy_shift_id, agent_ref, business_unit_ref, week_ref, start_utc, length_minutes,
                held_back_reason FROM desired_shift_rows",
    )?;
    let mut rows = st.query([])?;
    while let Some(r) = rows.next()? {
        f(ShiftSummary {
            legacy_shift_id: r.get(0)?,
            agent_id: texts.req(r, 1)?,
            business_unit_id: texts.get(r, 2)?,
            week_id: texts.get(r, 3)?,
            start_utc: r.get(4)?,
            length_minutes: r.get(5)?,
            held_back_reason: r.get(6)?,
        })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// What `serde_json` writes for the activities (the format `activities_compact` must keep).
    fn serde_form(acts: &[Activity<'_>], start: i64, kinds: &mut Kinds) -> String {
        let j: Vec<(i64, i64, i64, Option<&str>)> = acts
            .iter()
            .map(|x| {
                (
                    kinds.kind(x.code, x.description),
                    x.start - start,
                    x.length_minutes,
                    x.task_id,
                )
            })
            .collect();
        serde_json::to_string(&j).unwrap()
    }

    fn decoded(acts: &[Activity<'_>]) -> Vec<DesiredActivity> {
        acts.iter()
            .map(|a| DesiredActivity {
                code: a.code.to_string(),
                start: a.start,
                length_minutes: a.length_minutes,
                description: a.description.to_string(),
                task_id: a.task_id.map(str::to_string),
            })
            .collect()
    }

    fn kind_table(k: &Kinds) -> HashMap<i64, (String, String)> {
        k.by_code
            .iter()
            .flat_map(|(c, m)| m.iter().map(move |(d, k)| (*k, (c.clone(), d.clone()))))
            .collect()
    }

    fn act<'a>(
        code: &'a str,
        start: i64,
        len: i64,
        desc: &'a str,
        task: Option<&'a str>,
    ) -> Activity<'a> {
        Activity {
            code,
            start,
            length_minutes: len,
            description: desc,
            task_id: task,
        }
    }

    #[test]
    fn compact_activities_are_serde_json_byte_for_byte_and_decode_back() {
        let acts = [
            act("ac-q", 1_788_155_100, 90, "On Queue Work", None),
            act(
                "a\"b\\c",
                1_788_160_500,
                0,
                "tab\there\nnl\r\u{1}\u{8}\u{c}\u{1f}\u{7f}é✓",
                Some("T1\"\n"),
            ),
            act("ac-q", 1_788_162_300, 30, "On Queue Work", None),
        ];
        let mut k = Kinds {
            next: 1,
            ..Default::default()
        };
        let text = activities_compact(&acts, 1_788_155_100, &mut k);
        assert_eq!(
            text,
            serde_form(
                &acts,
                1_788_155_100,
                &mut Kinds {
                    next: 1,
                    ..Default::default()
                }
            )
        );
        assert_eq!(k.take_new().len(), 2, "one kind per (code, description)");
        assert!(text.starts_with("[[1,0,90,null],[2,5400,0,"), "{text}");
        assert_eq!(
            decode_activities(&text, 1_788_155_100, &kind_table(&k)).unwrap(),
            decoded(&acts)
        );
        assert_eq!(activities_compact(&[], 0, &mut k), "[]");
        assert!(decode_activities("[[9,0,1,null]]", 0, &kind_table(&k)).is_err());
        assert!(decode_activities("[{\"code\":\"x\"}]", 0, &kind_table(&k)).is_err());
    }

    proptest! {
        #[test]
        fn compact_activities_match_serde_json(code in any::<String>(), desc in "(?s).{0,40}",
                                               task in proptest::option::of(any::<String>()),
                                               start in -(1i64 << 40)..(1i64 << 40), len in any::<i64>()) {
            let acts = [act(&code, start, len, &desc, task.as_deref()), act("x", 0, 1, "", None)];
            let mut k = Kinds { next: 1, ..Default::default() };
            let text = activities_compact(&acts, 7, &mut k);
            prop_assert_eq!(&text, &serde_form(&acts, 7, &mut Kinds { next: 1, ..Default::default() }));
            prop_assert_eq!(decode_activities(&text, 7, &kind_table(&k)).unwrap(), decoded(&acts));
        }
    }
}
