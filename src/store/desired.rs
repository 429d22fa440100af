//! The desired state (`map` writes it, `load`, `verify`, the reports and the crosswalk read it):
//! `desired_shift_rows`, one row per legacy shift, which refers to its texts (owner, exported
//! agent, user, business unit, management unit, week, file) by number in the dictionary
//! `desired_names` ([`ShiftWriter`] gives the numbers), its activities in a terse text over the
//! dictionary `activity_kinds` ([`activities_compact`], decoded once, by [`decode_activities`]),
//! and `meta.mapped_snapshot_id`, the snapshot mapped. The view `desired_shifts` spells the rows
//! out with the texts and the activities' JSON (for the other views and for people with
//! `sqlite3`; migrations 9 and 10). The only module that runs SQL on these; the form of a row is
//! private to it.

use crate::error::{Error, Result};
use crate::store::uuid16;
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
    /// The 16 bytes of `task_id` when the caller has them (its text is their canonical spelling,
    /// [`uuid16::push_unpacked`]: map's task ids kept packed in the snapshot), so that
    /// [`activities_compact`] need not pack the text again; `None`: packed there if canonical.
    pub task_uuid: Option<&'a [u8; 16]>,
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
    /// The first [`RECENT_KINDS`] pairs asked for, compared before the maps are hashed: a
    /// business unit has a handful of activities, and each shift asks for several.
    recent: Vec<(String, String, i64)>,
}

/// How many (code, description) pairs [`Kinds`] keeps beside its maps for a quick look-up.
const RECENT_KINDS: usize = 16;

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
        if let Some((_, _, k)) = self.recent.iter().find(|(c, d, _)| c == code && d == desc) {
            return *k;
        }
        let k = self.kind_of_maps(code, desc);
        if self.recent.len() < RECENT_KINDS {
            self.recent.push((code.to_string(), desc.to_string(), k));
        }
        k
    }

    /// [`Kinds::kind`] through the maps.
    fn kind_of_maps(&mut self, code: &str, desc: &str) -> i64 {
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

/// A shift's activities in the two forms [`activities_compact`] writes in one pass.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ActivityTexts {
    /// The canonical JSON array of `[kind, start offset in seconds from the shift's start, length
    /// in minutes, legacy task id or null]`, byte for byte what `serde_json` writes for such
    /// tuples: what the content hash covers (schemas 5 to 9 stored it; hashing the same bytes
    /// keeps every stored hash, and so `map`'s "unchanged", valid across migration 10). Never
    /// stored; the view `desired_shifts` spells it out again for `sqlite3` users.
    pub json: String,
    /// The terse text stored in `desired_shift_rows.activities` (schema 10; see
    /// [`activities_compact`]).
    pub stored: String,
    /// The task ids that `stored` writes `#`, 16 bytes each in order (schema 13):
    /// `desired_shift_rows.task_uuids`, NULL when empty.
    pub task_uuids: Vec<u8>,
}

/// Offsets and lengths between which an activity's offset may be left out of the stored text
/// (see [`activities_compact`]): the sum `offset + 60 × length` then never overflows, in Rust
/// or in SQLite.
const IMPLIED_OFFSET_MAX: i64 = 1 << 50;
const IMPLIED_LENGTH_END: i64 = 1 << 32;

/// Where the activity after one at `offset` lasting `length` minutes starts when its offset is
/// left out of the stored text; `None` when the offset must be written.
fn implied_next(offset: i64, length: i64) -> Option<i64> {
    ((-IMPLIED_OFFSET_MAX..=IMPLIED_OFFSET_MAX).contains(&offset)
        && (0..IMPLIED_LENGTH_END).contains(&length))
    .then(|| offset + 60 * length)
}

/// A shift's activities, in the two forms of [`ActivityTexts`], with their (activity code,
/// description) pairs numbered in `kinds`.
///
/// The stored form (schema 10, migration 10) is about 40 % of the JSON: the activities joined by
/// `;`, each `KIND[@OFFSET],LENGTH[,TASK]`:
/// - `KIND`, `OFFSET` and `LENGTH` are integers in decimal: the kind in `activity_kinds`, the
///   start in seconds from the shift's start, the length in minutes;
/// - `@OFFSET` is left out when the activity starts where the one before it ends (offset + 60 ×
///   length; 0 for the first), which is nearly always: activities tile their shift. It is
///   written when that offset is outside ±2^50 or that length outside 0..2^32;
/// - `,TASK` is the legacy task id, present only when there is one (`,` alone is an empty id),
///   with `%`, `;` and NUL written `%25`, `%3B` and `%00` (so `;` only separates activities);
/// - `+` instead of `,TASK` (schema 11, migration 11) stands for the task id that follows the
///   previous activity's with a task in the same shift ([`next_task_id`]: `T41` after `T40`,
///   `T010` after `T009`, `T100` after `T99`);
/// - `#` instead of `,TASK` (schema 13, migration 13) stands for a canonical lowercase UUID
///   ([`uuid16::pack`]) kept as 16 bytes in the row's `task_uuids`: the n-th `#` of the text is
///   bytes 16(n-1) to 16n of that BLOB ([`ActivityTexts::task_uuids`]). `+` is preferred when
///   both apply; any other id is written out.
///
/// For example `1,90;2,30,T1;1,90;3,45+` is kind 1 from 0 for 90 minutes, kind 2 from 5400 s for
/// 30 minutes (task T1), kind 1 from 7200 s, kind 3 from 12600 s (task T2). No activities: an
/// empty text. The view
/// `desired_shifts` rebuilds the JSON with a recursive CTE, and `desired_activities` unfolds it.
pub fn activities_compact(
    acts: &[Activity<'_>],
    shift_start: i64,
    kinds: &mut Kinds,
) -> ActivityTexts {
    let mut t = ActivityTexts {
        json: String::with_capacity(acts.len() * 24 + 2),
        stored: String::with_capacity(acts.len() * 10),
        task_uuids: Vec::new(),
    };
    activities_compact_into(
        acts,
        shift_start,
        kinds,
        &mut t.json,
        (&mut t.stored, &mut t.task_uuids),
    );
    t
}

/// [`activities_compact`] into the caller's buffers (emptied first), which `map` reuses from
/// shift to shift.
pub fn activities_compact_into(
    acts: &[Activity<'_>],
    shift_start: i64,
    kinds: &mut Kinds,
    json: &mut String,
    (stored, task_uuids): (&mut String, &mut Vec<u8>),
) {
    json.clear();
    stored.clear();
    task_uuids.clear();
    json.push('[');
    let mut next = Some(0);
    let mut prev_task: Option<&str> = None;
    for (i, a) in acts.iter().enumerate() {
        let kind = kinds.kind(a.code, a.description);
        let offset = a.start - shift_start;
        if i > 0 {
            json.push(',');
            stored.push(';');
        }
        // The kind and the length go in both texts: formatted once.
        let (mut kind_buf, mut length_buf) = (itoa::Buffer::new(), itoa::Buffer::new());
        let (kind, length) = (kind_buf.format(kind), length_buf.format(a.length_minutes));
        json.push('[');
        json.push_str(kind);
        json.push(',');
        push_int(json, offset);
        json.push(',');
        json.push_str(length);
        json.push(',');
        stored.push_str(kind);
        if next != Some(offset) {
            stored.push('@');
            push_int(stored, offset);
        }
        stored.push(',');
        stored.push_str(length);
        match a.task_id {
            Some(t) => {
                let canonical = if prev_task.is_some_and(|p| task_follows(p, t)) {
                    stored.push('+');
                    false
                } else if let Some(p) = a.task_uuid.copied().or_else(|| uuid16::pack(t)) {
                    debug_assert_eq!(uuid16::pack(t), Some(p), "a task's bytes are its id");
                    stored.push('#');
                    task_uuids.extend_from_slice(&p);
                    true
                } else {
                    stored.push(',');
                    push_task(stored, t);
                    false
                };
                if canonical {
                    // Hex digits and hyphens: nothing to escape.
                    json.push('"');
                    json.push_str(t);
                    json.push('"');
                } else {
                    json_str(json, t);
                }
                prev_task = Some(t);
            }
            None => json.push_str("null"),
        }
        json.push(']');
        next = implied_next(offset, a.length_minutes);
    }
    json.push(']');
}

/// The longest decimal number (at most [`TASK_DIGITS_MAX`] digits) a task id may end with for
/// the next task id to be written `+` (see [`activities_compact`]): one more still fits an i64,
/// in Rust and in SQLite.
const TASK_DIGITS_MAX: usize = 18;

/// The task id that `+` stands for after task id `prev` (see [`activities_compact`]): `prev`
/// without its trailing ASCII digits, then those digits as a number plus one, written with at
/// least as many digits (zeros in front). `None` when `prev` ends with no digit or more than
/// [`TASK_DIGITS_MAX`], or holds a NUL (the view's SQL cannot measure such a text).
pub fn next_task_id(prev: &str) -> Option<String> {
    let prefix = prev.trim_end_matches(|c: char| c.is_ascii_digit());
    let digits = &prev[prefix.len()..];
    if digits.is_empty() || digits.len() > TASK_DIGITS_MAX || prev.contains('\0') {
        return None;
    }
    let n: u64 = digits.parse().ok()?;
    Some(format!("{prefix}{:0width$}", n + 1, width = digits.len()))
}

/// Whether task id `t` is what `+` stands for after `prev` ([`next_task_id`]), without building it.
fn task_follows(prev: &str, t: &str) -> bool {
    let prefix = prev.trim_end_matches(|c: char| c.is_ascii_digit());
    let digits = &prev[prefix.len()..];
    if digits.is_empty()
        || digits.len() > TASK_DIGITS_MAX
        || !t.starts_with(prefix)
        || prev.contains('\0')
    {
        return false;
    }
    let rest = &t[prefix.len()..];
    if rest.len() < digits.len() || !rest.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    let n: u64 = digits.parse().expect("at most 18 ASCII digits");
    let m = n + 1;
    // `rest` must be m with zeros in front up to the width of `digits`: same value, and no
    // more zeros in front than that width asks for.
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    let mut v = m;
    loop {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    let m_digits = &buf[i..];
    let width = digits.len().max(m_digits.len());
    rest.len() == width
        && rest.as_bytes()[width - m_digits.len()..] == *m_digits
        && rest.as_bytes()[..width - m_digits.len()]
            .iter()
            .all(|&b| b == b'0')
}

/// A legacy task id in the stored form: `%`, `;` and NUL escaped (see [`activities_compact`]).
fn push_task(s: &mut String, t: &str) {
    let mut from = 0;
    for (i, c) in t.bytes().enumerate() {
        let esc = match c {
            b'%' => "%25",
            b';' => "%3B",
            0 => "%00",
            _ => continue,
        };
        s.push_str(&t[from..i]);
        s.push_str(esc);
        from = i + 1;
    }
    s.push_str(&t[from..]);
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

/// One activity of the stored form, as (kind, offset in seconds, length in minutes, task id).
pub type StoredActivity = (i64, i64, i64, Option<String>);

/// Parse the stored form of [`activities_compact`] (the text and the row's `task_uuids`, empty
/// when NULL) into (kind, offset, length, task id). Anything else — a JSON text, an empty
/// activity, a number that is not one, an unknown escape, a `#` past the end of `task_uuids` or
/// bytes of it that no `#` reads — is an error naming the activity.
pub fn parse_stored_activities(
    text: &str,
    task_uuids: &[u8],
) -> std::result::Result<Vec<StoredActivity>, String> {
    if text.is_empty() {
        return match task_uuids.len() {
            0 => Ok(Vec::new()),
            n => Err(format!("no activity reads the {n} bytes of task ids")),
        };
    }
    let mut next = Some(0);
    let mut prev_task: Option<String> = None;
    let mut packed = 0;
    let acts = text
        .split(';')
        .enumerate()
        .map(|(i, item)| {
            let bad = |what: &str| format!("activity {} (`{item}`) {what}", i + 1);
            let (head, tail) = item.split_once(',').ok_or_else(|| bad("has no length"))?;
            let (len, task) = match tail.split_once(',') {
                Some((l, t)) => (
                    l,
                    Some(unescape_task(t).ok_or_else(|| bad("has a bad escape"))?),
                ),
                None => match (tail.strip_suffix('+'), tail.strip_suffix('#')) {
                    (Some(l), _) => (
                        l,
                        Some(
                            prev_task
                                .as_deref()
                                .and_then(next_task_id)
                                .ok_or_else(|| bad("continues no task id"))?,
                        ),
                    ),
                    (None, Some(l)) => {
                        let p = uuid16::at(task_uuids, packed).ok_or_else(|| {
                            bad(&format!(
                                "reads task id {} of the {} bytes of task ids",
                                packed / 16 + 1,
                                task_uuids.len()
                            ))
                        })?;
                        packed += 16;
                        (l, Some(uuid16::unpack(p)))
                    }
                    (None, None) => (tail, None),
                },
            };
            if task.is_some() {
                prev_task.clone_from(&task);
            }
            let (kind, offset, len) = item_times(head, len, next, &bad)?;
            next = implied_next(offset, len);
            Ok((kind, offset, len, task))
        })
        .collect::<std::result::Result<Vec<_>, String>>()?;
    if packed != task_uuids.len() {
        return Err(format!(
            "the activities read {packed} of the {} bytes of task ids",
            task_uuids.len()
        ));
    }
    Ok(acts)
}

/// An item's kind, offset and length in the stored form: `kind@offset` or `kind` (the offset
/// implied by the item before, `next`) and the length's digits. `bad` words an error about the item.
fn item_times(
    head: &str,
    len: &str,
    next: Option<i64>,
    bad: &dyn Fn(&str) -> String,
) -> std::result::Result<(i64, i64, i64), String> {
    let int = |s: &str, what: &str| {
        s.parse::<i64>()
            .map_err(|_| bad(&format!("has no integer {what}")))
    };
    let (kind, offset) = match head.split_once('@') {
        Some((k, o)) => (int(k, "kind")?, int(o, "offset")?),
        None => (
            int(head, "kind")?,
            next.ok_or_else(|| bad("leaves out an offset that cannot be implied"))?,
        ),
    };
    Ok((kind, offset, int(len, "length")?))
}

/// The activities of the stored form of [`activities_compact`] as (kind, offset in seconds,
/// length in minutes), in stored order, without their task ids: what [`parse_stored_activities`]
/// reads of them, for `load`, which reads a shift's activities again (by component, per round)
/// after reading its row whole once. A text that form does not read is an error (its task ids
/// are not checked: the first read did).
pub fn stored_activity_times(
    text: &str,
    mut f: impl FnMut(i64, i64, i64),
) -> std::result::Result<(), String> {
    if text.is_empty() {
        return Ok(());
    }
    let mut next = Some(0);
    for (i, item) in text.split(';').enumerate() {
        let bad = |what: &str| format!("activity {} (`{item}`) {what}", i + 1);
        let (head, tail) = item.split_once(',').ok_or_else(|| bad("has no length"))?;
        let len = match tail.split_once(',') {
            Some((l, _)) => l,
            None => tail
                .strip_suffix('+')
                .or_else(|| tail.strip_suffix('#'))
                .unwrap_or(tail),
        };
        let (kind, offset, len) = item_times(head, len, next, &bad)?;
        next = implied_next(offset, len);
        f(kind, offset, len);
    }
    Ok(())
}

fn unescape_task(t: &str) -> Option<String> {
    if !t.contains('%') {
        return Some(t.to_string());
    }
    let mut out = String::with_capacity(t.len());
    let mut rest = t;
    while let Some(p) = rest.find('%') {
        out.push_str(&rest[..p]);
        let c = match rest.get(p + 1..p + 3)? {
            "25" => '%',
            "3B" => ';',
            "00" => '\0',
            _ => return None,
        };
        out.push(c);
        rest = &rest[p + 3..];
    }
    out.push_str(rest);
    Some(out)
}

/// Decode `desired_shift_rows.activities` and `task_uuids` (the stored form of
/// [`activities_compact`]; `task_uuids` empty when NULL) of a shift starting at `shift_start`. An
/// unreadable text or an unknown kind is an error: a shift must never be loaded without the
/// activities it was mapped with.
pub fn decode_activities(
    text: &str,
    task_uuids: &[u8],
    shift_start: i64,
    kinds: &HashMap<i64, (String, String)>,
) -> std::result::Result<Vec<DesiredActivity>, String> {
    parse_stored_activities(text, task_uuids)
        .map_err(|e| format!("activities are not in the expected form ({e})"))?
        .into_iter()
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
    s.push_str(itoa::Buffer::new().format(v));
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
    /// [`activities_compact`]'s stored text ([`ActivityTexts::stored`]).
    pub activities: &'a str,
    /// The task ids it writes `#` ([`ActivityTexts::task_uuids`]; stored NULL when empty).
    pub task_uuids: &'a [u8],
    pub file: &'a str,
    pub line: i64,
    pub run_id: i64,
    pub content_hash: i64,
    pub held_back_reason: Option<&'a str>,
}

#[cfg(test)]
impl<'a> ShiftRow<'a> {
    /// A loadable row for tests: agent A1 (user u1, unit mu1 of business unit `bu`), the week of
    /// 2026-10-19, 8 hours from 1,792,393,200, no activities, shifts.csv line 2, run 1, hash 0.
    pub fn sample(legacy_shift_id: &'a str) -> Self {
        ShiftRow {
            legacy_shift_id,
            agent_id: "A1",
            exported_agent_id: "A1",
            user_id: Some("u1"),
            business_unit_id: Some("bu"),
            management_unit_id: Some("mu1"),
            week_id: Some("2026-10-19"),
            start_utc: Some(1_792_393_200),
            length_minutes: Some(480),
            activities: "",
            task_uuids: &[],
            file: "shifts.csv",
            line: 2,
            run_id: 1,
            content_hash: 0,
            held_back_reason: None,
        }
    }
}

/// The dictionary `desired_names` as a writer sees it: the names it used (held in memory: the
/// names most rows carry, weeks and files) or looks up in the table (an owner's names, once per
/// owner: see [`ShiftWriter::upsert_with`]), and the statement that adds a new one (append-only: a
/// name keeps its number for good, so the rows that use it never change). Every name of the
/// table was held before: 2 MB at 10,000 agents (agent and user ids), a part of map's memory
/// that grew with the export.
struct Names<'c> {
    ids: FxHashMap<String, i64>,
    next: i64,
    find: Statement<'c>,
    insert: Statement<'c>,
}

impl<'c> Names<'c> {
    fn load(tx: &'c Connection) -> Result<Names<'c>> {
        let next: i64 = tx.query_row(
            "SELECT coalesce(max(id), 0) + 1 FROM desired_names",
            [],
            |r| r.get(0),
        )?;
        Ok(Names {
            ids: FxHashMap::default(),
            next,
            find: tx.prepare("SELECT id FROM desired_names WHERE name = ?1")?,
            insert: tx.prepare("INSERT INTO desired_names(id, name) VALUES (?1, ?2)")?,
        })
    }

    /// The number of `name`, given (and stored) on first use; kept in memory.
    fn id(&mut self, name: &str) -> Result<i64> {
        if let Some(&id) = self.ids.get(name) {
            return Ok(id);
        }
        let id = self.stored(name)?;
        self.ids.insert(name.to_string(), id);
        Ok(id)
    }

    /// [`Names::id`], not kept in memory (looked up in the table each time).
    fn stored(&mut self, name: &str) -> Result<i64> {
        if let Some(id) = self.find.query_row([name], |r| r.get(0)).optional()? {
            return Ok(id);
        }
        let id = self.next;
        self.insert.execute(params![id, name])?;
        self.next += 1;
        Ok(id)
    }

    fn opt(&mut self, name: Option<&str>) -> Result<Option<i64>> {
        name.map(|n| self.id(n)).transpose()
    }
}

/// A file name's number in `desired_names`, as [`Stored`] carries it (from [`ShiftWriter::file_ref`]).
pub type FileRef = i64;

/// The numbers in `desired_names` of a row's agent, and of its user, business unit and
/// management unit (`None` for no name), kept by [`ShiftWriter::upsert_with`]'s caller.
pub type OwnerRefs = (i64, [Option<i64>; 3]);

/// Shifts written by one INSERT (see [`ShiftWriter::upsert`]), and the values of one: 32 × 16 = 512
/// variables, under SQLite's limit (999 before 3.32, 32766 since).
const SHIFTS_PER_INSERT: usize = 32;
const SHIFT_COLUMNS: usize = 16;

fn shift_insert(rows: usize) -> String {
    shift_insert_or(rows, "REPLACE")
}

/// [`shift_insert`] with another conflict clause: `FAIL` for rows that cannot conflict (see
/// [`ShiftWriter`]).
fn shift_insert_or(rows: usize, conflict: &str) -> String {
    let one = format!("({})", ["?"; SHIFT_COLUMNS].join(","));
    format!(
        "INSERT OR {conflict} INTO desired_shift_rows(legacy_shift_id, agent_ref, exported_agent_ref, user_ref,
            business_unit_ref, management_unit_ref, week_ref, start_utc, length_minutes, activities, file_ref,
            line, run_id, content_hash, held_back_reason, task_uuids)
         VALUES {}",
        vec![one; rows].join(",")
    )
}

/// One shift waiting in [`ShiftWriter`] for its INSERT: its names already numbered (in the order
/// a row at a time numbered them), its texts in buffers reused from row to row.
#[derive(Default)]
struct PendingShift {
    legacy_shift_id: String,
    /// agent, exported agent, user, business unit, management unit, week, start, length.
    refs: [Option<i64>; 8],
    activities: String,
    task_uuids: Vec<u8>,
    file_ref: i64,
    line: i64,
    run_id: i64,
    content_hash: i64,
    held_back_reason: Option<String>,
}

impl PendingShift {
    /// Bind this row's 16 values from parameter `at + 1` on.
    fn bind(&self, st: &mut Statement<'_>, at: usize) -> Result<()> {
        st.raw_bind_parameter(at + 1, self.legacy_shift_id.as_str())?;
        for (i, v) in self.refs.iter().enumerate() {
            st.raw_bind_parameter(at + 2 + i, *v)?;
        }
        st.raw_bind_parameter(at + 10, self.activities.as_str())?;
        st.raw_bind_parameter(at + 11, self.file_ref)?;
        st.raw_bind_parameter(at + 12, self.line)?;
        st.raw_bind_parameter(at + 13, self.run_id)?;
        st.raw_bind_parameter(at + 14, self.content_hash)?;
        st.raw_bind_parameter(at + 15, self.held_back_reason.as_deref())?;
        let uuids = &self.task_uuids;
        st.raw_bind_parameter(at + 16, (!uuids.is_empty()).then_some(uuids.as_slice()))?;
        Ok(())
    }
}

/// `map`'s writer of the desired state, its statements prepared once in the writing transaction.
///
/// Upserts are written [`SHIFTS_PER_INSERT`] to a statement (one step, reset and halt for them
/// all). Rows still waiting are written before a relocation or a deletion of their id, and at
/// the end of [`ShiftWriter::write`].
///
/// Into a table that was empty when the writer started, rows whose ids come in strictly ascending
/// order cannot conflict with any row (none was stored before, and each id comes once): such
/// batches are written `INSERT OR FAIL` instead of `INSERT OR REPLACE`, the same rows. A
/// multi-row `INSERT` whose conflict clause may abort (`REPLACE` aborts on a NULL in a `NOT NULL`
/// column) runs in a statement transaction, which copies every page it changes that was there
/// before it to a statement journal (on map's first run, shifts in id order, the rightmost leaf
/// and its parents are changed by every statement: at a tenth of the benchmark export, 130,000
/// shifts, the writer's `upsert_with` took 1,024 M instructions with it and 986 M without,
/// `sqlite3BtreeInsert` 389 M and 275 M, under callgrind). `FAIL` never rolls a statement back,
/// so SQLite opens none. The first id out of order (or a repeat) switches the
/// writer back to `REPLACE` for good. (An error still rolls back: every caller drops its
/// transaction uncommitted.)
///
/// A writer exists only inside [`ShiftWriter::write`], which ends it: when the caller's closure
/// returns `Ok`, the rows still waiting (up to 31) are written before `write` returns, so a
/// caller cannot forget them. (Before, the writer was created with `new` and every caller had to
/// end with `finish()`; a writer dropped without it lost its waiting rows without a word.) When
/// the closure returns `Err`, the waiting rows are dropped with the error: the caller's
/// transaction is then rolled back (every caller propagates the error with `?` and drops the
/// transaction uncommitted), so rows written or not make no difference. A `Drop` check could not
/// tell that legitimate path (any `?` between an upsert and the end) from a forgotten `finish`.
pub struct ShiftWriter<'c> {
    names: Names<'c>,
    upsert: Statement<'c>,
    upsert_many: Statement<'c>,
    /// `upsert_many` as `INSERT OR FAIL`, prepared when first used (see [`ShiftWriter`]).
    append_many: Option<Statement<'c>>,
    /// Whether every row upserted so far went into a table empty at the start, in strictly
    /// ascending id order (the last one's id in `last_id`, once `any_row`): rows that cannot
    /// conflict.
    appending: bool,
    last_id: String,
    any_row: bool,
    /// Batches written `INSERT OR FAIL` (for the tests).
    appended_batches: u64,
    tx: &'c Connection,
    pending: Vec<PendingShift>,
    /// Rows of `pending` in use (its slots past that are kept for their buffers).
    waiting: usize,
    relocate: Statement<'c>,
    delete: Statement<'c>,
    new_kind: Statement<'c>,
}

impl<'c> ShiftWriter<'c> {
    /// Run `f` with a writer in the transaction `tx`; when it returns `Ok`, write the rows still
    /// waiting and return its value. When it returns `Err`, return that error: rows still
    /// waiting are not written, and the caller must not commit `tx` (see [`ShiftWriter`]).
    pub fn write<T>(
        tx: &'c Connection,
        f: impl FnOnce(&mut ShiftWriter<'c>) -> Result<T>,
    ) -> Result<T> {
        let mut w = ShiftWriter::new(tx)?;
        let v = f(&mut w)?;
        w.flush()?;
        Ok(v)
    }

    fn new(tx: &'c Connection) -> Result<ShiftWriter<'c>> {
        Ok(ShiftWriter {
            names: Names::load(tx)?,
            upsert: tx.prepare(&shift_insert(1))?,
            upsert_many: tx.prepare(&shift_insert(SHIFTS_PER_INSERT))?,
            append_many: None,
            appending: is_empty(tx)?,
            last_id: String::new(),
            any_row: false,
            appended_batches: 0,
            tx,
            pending: (0..SHIFTS_PER_INSERT)
                .map(|_| PendingShift::default())
                .collect(),
            waiting: 0,
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

    /// Insert or replace a shift (written with the next [`SHIFTS_PER_INSERT`] - 1, or at the end
    /// of [`ShiftWriter::write`]).
    pub fn upsert(&mut self, r: &ShiftRow<'_>) -> Result<()> {
        self.upsert_memo(r, None)
    }

    /// [`ShiftWriter::upsert`], the numbers of the row's owner, user and units taken from `memo`
    /// when it holds them (else numbered and kept there): a caller keeps one memo per owner whose
    /// rows all name the same (agent_id, user_id, business_unit_id, management_unit_id), and
    /// saves four look-ups of a row (map, where they are cache misses on shifts in random agent
    /// order). The names are numbered in the same order as by `upsert`: a memo is filled by the
    /// owner's first row, and its later rows number no new owner, user or unit. Those four names
    /// are looked up in `desired_names` when the memo is filled, not kept by the writer (with a
    /// memo per owner, once an owner).
    pub fn upsert_with(&mut self, r: &ShiftRow<'_>, memo: &mut Option<OwnerRefs>) -> Result<()> {
        self.upsert_memo(r, Some(memo))
    }

    fn upsert_memo(
        &mut self,
        r: &ShiftRow<'_>,
        memo: Option<&mut Option<OwnerRefs>>,
    ) -> Result<()> {
        let n = &mut self.names;
        let keep = memo.is_none();
        let mut none = None;
        let memo = memo.unwrap_or(&mut none);
        // The names are numbered now, in this order, as when each row had its own INSERT.
        let exported = |n: &mut Names<'_>| -> Result<Option<i64>> {
            if r.exported_agent_id == r.agent_id {
                Ok(None)
            } else {
                Ok(Some(n.id(r.exported_agent_id)?))
            }
        };
        let (agent, exported, [user, bu, mu]) = match *memo {
            Some((agent, units)) => {
                #[cfg(debug_assertions)]
                {
                    let mut find = |x: Option<&str>| -> Option<i64> {
                        n.find.query_row([x?], |r| r.get(0)).ok()
                    };
                    assert_eq!(
                        [Some(agent), units[0], units[1], units[2]],
                        [
                            find(Some(r.agent_id)),
                            find(r.user_id),
                            find(r.business_unit_id),
                            find(r.management_unit_id),
                        ],
                        "a memo of other names"
                    );
                }
                (agent, exported(n)?, units)
            }
            None => {
                // Held in memory by `upsert`; looked up once an owner with a memo.
                let num = |n: &mut Names<'_>, x: &str| if keep { n.id(x) } else { n.stored(x) };
                let agent = num(n, r.agent_id)?;
                let exported = exported(n)?;
                let mut opt = |x: Option<&str>| x.map(|x| num(n, x)).transpose();
                let units = [
                    opt(r.user_id)?,
                    opt(r.business_unit_id)?,
                    opt(r.management_unit_id)?,
                ];
                *memo = Some((agent, units));
                (agent, exported, units)
            }
        };
        let refs = [
            Some(agent),
            exported,
            user,
            bu,
            mu,
            n.opt(r.week_id)?,
            r.start_utc,
            r.length_minutes,
        ];
        let file_ref = n.id(r.file)?;
        if self.appending {
            // The first row may have any id (the empty text too).
            if self.any_row && self.last_id.as_str() >= r.legacy_shift_id {
                self.appending = false;
            } else {
                self.last_id.clear();
                self.last_id.push_str(r.legacy_shift_id);
                self.any_row = true;
            }
        }
        let p = &mut self.pending[self.waiting];
        p.legacy_shift_id.clear();
        p.legacy_shift_id.push_str(r.legacy_shift_id);
        p.refs = refs;
        p.activities.clear();
        p.activities.push_str(r.activities);
        p.task_uuids.clear();
        p.task_uuids.extend_from_slice(r.task_uuids);
        p.file_ref = file_ref;
        p.line = r.line;
        p.run_id = r.run_id;
        p.content_hash = r.content_hash;
        match (r.held_back_reason, &mut p.held_back_reason) {
            (None, h) => *h = None,
            (Some(r), Some(h)) => {
                h.clear();
                h.push_str(r);
            }
            (Some(r), h) => *h = Some(r.to_string()),
        }
        self.waiting += 1;
        if self.waiting == SHIFTS_PER_INSERT {
            let st = if self.appending {
                if self.append_many.is_none() {
                    self.append_many = Some(
                        self.tx
                            .prepare(&shift_insert_or(SHIFTS_PER_INSERT, "FAIL"))?,
                    );
                }
                self.appended_batches += 1;
                self.append_many.as_mut().expect("prepared")
            } else {
                &mut self.upsert_many
            };
            for (k, p) in self.pending.iter().enumerate() {
                p.bind(st, k * SHIFT_COLUMNS)?;
            }
            self.waiting = 0;
            st.raw_execute()?;
        }
        Ok(())
    }

    /// Write the rows still waiting, one INSERT each, in the order they came.
    fn flush(&mut self) -> Result<()> {
        let waiting = std::mem::take(&mut self.waiting);
        for p in &self.pending[..waiting] {
            p.bind(&mut self.upsert, 0)?;
            self.upsert.raw_execute()?;
        }
        Ok(())
    }

    /// Write the id's waiting row, if there is one, before another statement touches it.
    fn flush_if_waiting(&mut self, legacy_shift_id: &str) -> Result<()> {
        if self.pending[..self.waiting]
            .iter()
            .any(|p| p.legacy_shift_id == legacy_shift_id)
        {
            self.flush()?;
        }
        Ok(())
    }

    /// An unchanged shift found at another place of the export.
    pub fn relocate(&mut self, legacy_shift_id: &str, file: FileRef, line: i64) -> Result<()> {
        self.flush_if_waiting(legacy_shift_id)?;
        self.relocate
            .execute(params![legacy_shift_id, file, line])?;
        Ok(())
    }

    pub fn delete(&mut self, legacy_shift_id: &str) -> Result<()> {
        self.flush_if_waiting(legacy_shift_id)?;
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

/// The loadable shifts of some agents as (start, end, legacy shift id), for the time-off rules,
/// which compare requests with them: one query for every agent asked for (no index by agent:
/// schema 12), its rows by agent id, then start, then shift id; [`AgentCursor::of`] hands out one
/// agent's at a time, agents asked for in ascending order.
pub struct AgentShifts<'c>(Statement<'c>);

impl<'c> AgentShifts<'c> {
    pub fn prepare(conn: &'c Connection) -> Result<AgentShifts<'c>> {
        Ok(AgentShifts(conn.prepare(
            "SELECT a.name, s.start_utc, s.start_utc + 60 * s.length_minutes, s.legacy_shift_id
             FROM desired_shift_rows s JOIN desired_names a ON a.id = s.agent_ref
             WHERE s.agent_ref IN (SELECT id FROM desired_names
                                   WHERE name IN (SELECT value FROM json_each(?1)))
               AND s.held_back_reason IS NULL AND s.start_utc IS NOT NULL
             ORDER BY a.name, s.start_utc, s.legacy_shift_id",
        )?))
    }

    /// The shifts of `agents` (the query runs when the first agent is asked for; none when
    /// `agents` is empty).
    pub fn of_agents(&mut self, agents: &[&str]) -> Result<AgentCursor<'_>> {
        let rows = if agents.is_empty() {
            None
        } else {
            let json = serde_json::to_string(agents).map_err(|e| {
                Error::failure(format!("cannot list the agents with time off: {e}"), None)
            })?;
            Some(self.0.query([json])?)
        };
        Ok(AgentCursor {
            rows,
            next: None,
            last: None,
        })
    }
}

/// One agent's shifts at a time from [`AgentShifts::of_agents`].
pub struct AgentCursor<'s> {
    rows: Option<rusqlite::Rows<'s>>,
    /// A row read ahead: the first of an agent after the one asked for last.
    next: Option<(String, (i64, i64, String))>,
    last: Option<String>,
}

impl AgentCursor<'_> {
    /// The loadable shifts of `agent`, by start (then shift id). Agents must be asked for in
    /// ascending (byte) order, each once; an agent that was not in the list gets none.
    pub fn of(&mut self, agent: &str) -> Result<Vec<(i64, i64, String)>> {
        if let Some(l) = &self.last {
            assert!(
                l.as_str() < agent,
                "AgentCursor::of: `{agent}` asked for after `{l}`"
            );
        }
        self.last = Some(agent.to_string());
        let mut out = Vec::new();
        loop {
            if self.next.is_none() {
                let Some(rows) = self.rows.as_mut() else {
                    break;
                };
                match rows.next()? {
                    Some(r) => self.next = Some((r.get(0)?, (r.get(1)?, r.get(2)?, r.get(3)?))),
                    None => {
                        self.rows = None;
                        break;
                    }
                }
            }
            let Some((a, _)) = &self.next else { break };
            match a.as_str().cmp(agent) {
                std::cmp::Ordering::Less => self.next = None,
                std::cmp::Ordering::Equal => out.push(self.next.take().expect("read ahead").1),
                std::cmp::Ordering::Greater => break,
            }
        }
        Ok(out)
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
                start_utc, length_minutes, activities, held_back_reason, task_uuids
         FROM desired_shift_rows",
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
                s.start_utc, s.length_minutes, s.activities, s.held_back_reason, s.task_uuids
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
                let acts = r.get_ref(8)?.as_str().map_err(rusqlite::Error::from)?;
                let uuids = r
                    .get_ref(10)?
                    .as_blob_or_null()
                    .map_err(rusqlite::Error::from)?;
                let uuids = uuids.unwrap_or_default();
                decode_activities(acts, uuids, start.unwrap_or_default(), kinds).map_err(|e| {
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

/// The desired shifts, and how many of them are held back.
pub fn shift_counts(conn: &Connection) -> Result<(u64, u64)> {
    Ok(conn.query_row(
        "SELECT COUNT(*), COUNT(held_back_reason) FROM desired_shift_rows",
        [],
        |r| Ok((r.get::<_, i64>(0)? as u64, r.get::<_, i64>(1)? as u64)),
    )?)
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

/// How many shifts an agent owns (a scan of the rows: no index by agent since schema 12).
pub fn shift_count_of_agent(conn: &Connection, agent_id: &str) -> Result<i64> {
    Ok(conn.query_row(
        "SELECT COUNT(*) FROM desired_shift_rows
         WHERE agent_ref = (SELECT id FROM desired_names WHERE name = ?1)",
        [agent_id],
        |r| r.get(0),
    )?)
}

/// The start, length and stored activities text ([`activities_compact`]'s stored form, read by
/// [`stored_activity_times`]) of shifts by legacy id (the table's key), in the order given: `f`
/// gets `None` for an id with no row, or a row with no start or length.
pub fn for_each_stored_by_id<'i>(
    conn: &Connection,
    ids: impl Iterator<Item = &'i str>,
    mut f: impl FnMut(&'i str, Option<(i64, i64, &str)>) -> Result<()>,
) -> Result<()> {
    let mut st = conn.prepare_cached(
        "SELECT start_utc, length_minutes, activities FROM desired_shift_rows
         WHERE legacy_shift_id = ?1",
    )?;
    for id in ids {
        let mut rows = st.query([id])?;
        let Some(r) = rows.next()? else {
            f(id, None)?;
            continue;
        };
        match (r.get::<_, Option<i64>>(0)?, r.get::<_, Option<i64>>(1)?) {
            (Some(start), Some(len)) => {
                let text = r.get_ref(2)?.as_str().map_err(rusqlite::Error::from)?;
                f(id, Some((start, len, text)))?;
            }
            _ => f(id, None)?,
        }
    }
    Ok(())
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

    /// The time-off pass's read of the agents' shifts against a model computed here from the rows
    /// written: every loadable shift (not held back, with a start) of each agent asked for, by
    /// start then shift id, whatever order the rows were written in; agents with no shift, asked
    /// for but owning only held-back shifts, or not in the list get none; an agent's rows that
    /// another agent's name sorts between are not lost.
    #[test]
    fn agent_shifts_gives_each_agent_its_loadable_shifts_by_start() {
        use std::collections::BTreeMap;
        let dir = tempfile::tempdir().unwrap();
        let mut conn = crate::store::open_state(dir.path()).unwrap();
        let tx = conn.transaction().unwrap();
        let agents = ["A1", "A10", "A2", "B", "a", "\u{e9}", "held", "A 1"];
        let mut model: BTreeMap<&str, Vec<(i64, i64, String)>> = BTreeMap::new();
        ShiftWriter::write(&tx, |w| {
            for i in 0..400i64 {
                let agent = agents[(i * 7 % agents.len() as i64) as usize];
                let id = format!("S{}", (i * 53) % 1000);
                let held = (agent == "held" || i % 11 == 0).then_some("unmapped-agent");
                let start = (i % 13 != 0).then_some(1_800_000_000 + (i * 7919) % 50 * 3600);
                let length = 30 + i % 5 * 60;
                if held.is_none()
                    && let Some(s) = start
                {
                    model
                        .entry(agent)
                        .or_default()
                        .push((s, s + 60 * length, id.clone()));
                }
                w.upsert(&ShiftRow {
                    legacy_shift_id: &id,
                    agent_id: agent,
                    exported_agent_id: agent,
                    user_id: Some("u"),
                    business_unit_id: Some("bu"),
                    management_unit_id: Some("mu"),
                    week_id: Some("2026-10-05"),
                    start_utc: start,
                    length_minutes: Some(length),
                    activities: "",
                    task_uuids: &[],
                    file: "shifts.csv",
                    line: i + 2,
                    run_id: 1,
                    content_hash: i,
                    held_back_reason: held,
                })?;
            }
            Ok(())
        })
        .unwrap();
        for v in model.values_mut() {
            v.sort_by(|x, y| (x.0, &x.2).cmp(&(y.0, &y.2)));
        }
        // Equal starts within an agent, so the order by shift id is exercised.
        assert!(
            model["A1"].windows(2).any(|w| w[0].0 == w[1].0),
            "{model:?}"
        );
        let mut st = AgentShifts::prepare(&tx).unwrap();
        for asked in [
            vec!["A1", "A10", "A2", "a", "held", "\u{e9}"],
            vec!["A 1", "B", "nobody"],
            vec!["A10", "\u{e9}"],
            vec![],
        ] {
            let mut sorted = asked.clone();
            sorted.sort_unstable();
            let mut cursor = st.of_agents(&sorted).unwrap();
            // Asked for in order, some of the list skipped.
            for (k, a) in sorted.iter().enumerate() {
                if k % 3 == 1 {
                    continue;
                }
                let want = model.get(a).cloned().unwrap_or_default();
                assert_eq!(cursor.of(a).unwrap(), want, "{a} of {asked:?}");
            }
        }
        assert!(
            model.contains_key("\u{e9}") && model.contains_key("A 1"),
            "{model:?}"
        );
        assert!(!model.contains_key("held"));
    }

    /// The writer's batches against a model of the table written a row at a time: upserts in
    /// full and partial batches, an id upserted twice in one batch, relocations and deletions of
    /// rows still waiting and of rows already written, every nullable column both ways.
    #[test]
    fn batched_writer_writes_what_a_row_at_a_time_writer_would() {
        use std::collections::BTreeMap;
        type Row = (Vec<Option<String>>, Vec<Option<i64>>, String);
        let dir = tempfile::tempdir().unwrap();
        let mut conn = crate::store::open_state(dir.path()).unwrap();
        let tx = conn.transaction().unwrap();
        let mut model: BTreeMap<String, Row> = BTreeMap::new();
        let mut first_use: Vec<String> = Vec::new();
        let mut use_name = |n: &Option<String>| {
            if let Some(n) = n.as_ref().filter(|n| !first_use.contains(n)) {
                first_use.push(n.clone());
            }
        };
        let texts = |i: usize| -> Vec<Option<String>> {
            let opt = |k: usize, v: String| if i.is_multiple_of(k) { None } else { Some(v) };
            vec![
                Some(format!("A{}", i % 7)),
                Some(format!("E{}", i % 5)),
                opt(3, format!("U{}", i % 11)),
                opt(4, format!("bu{}", i % 2)),
                opt(5, format!("mu{}", i % 3)),
                opt(6, format!("2026-10-{:02}", 1 + i % 28)),
                opt(9, format!("reason {i}")),
                Some(format!("file-{}.csv", i % 4)),
            ]
        };
        let id_of = |step: usize| format!("S{:03}", (step * 37) % 150);
        ShiftWriter::write(&tx, |w| {
            for step in 0..300usize {
                let id = id_of(step);
                // Relocations and deletions of the row upserted two steps before (waiting, unless a
                // batch was just written) and of one upserted long before (written).
                // Steps 12 and 13 upsert one id twice.
                let id = match step % 50 {
                    5 | 9 => id_of(step - 2),
                    13 => id_of(step - 1),
                    _ => id,
                };
                match step % 50 {
                    // A row maybe still waiting, maybe written.
                    5 | 16 => {
                        if let Some(row) = model.get_mut(&id) {
                            let file = Some(format!("moved-{step}.csv"));
                            let f = w.file_ref(file.as_deref().unwrap()).unwrap();
                            use_name(&file);
                            row.0[7] = file;
                            row.1[2] = Some(step as i64);
                            w.relocate(&id, f, step as i64).unwrap();
                        }
                    }
                    9 | 20 => {
                        model.remove(&id);
                        w.delete(&id).unwrap();
                    }
                    _ => {
                        let t = texts(step);
                        // The owner is the exported agent on most rows (no exported_agent_ref).
                        let exported = if step % 2 == 0 {
                            t[0].clone()
                        } else {
                            t[1].clone()
                        };
                        for n in [&t[0], &exported, &t[2], &t[3], &t[4], &t[5], &t[7]] {
                            use_name(n);
                        }
                        let start = (step % 8 != 0).then_some(step as i64 * 1000);
                        let length = (step % 10 != 0).then_some(step as i64);
                        // Every third row's task id is packed (`#`), so rows with and
                        // without bytes alternate within a batch.
                        let uuid = format!("{step:08x}-0000-4000-8000-{:012x}", step * 7919);
                        let packed = step.is_multiple_of(3).then(|| uuid16::pack(&uuid).unwrap());
                        let acts = format!("{step},1{}", if packed.is_some() { "#" } else { "" });
                        w.upsert(&ShiftRow {
                            legacy_shift_id: &id,
                            agent_id: t[0].as_deref().unwrap(),
                            exported_agent_id: exported.as_deref().unwrap(),
                            user_id: t[2].as_deref(),
                            business_unit_id: t[3].as_deref(),
                            management_unit_id: t[4].as_deref(),
                            week_id: t[5].as_deref(),
                            start_utc: start,
                            length_minutes: length,
                            activities: &acts,
                            task_uuids: packed.as_ref().map_or(&[], |p| p.as_slice()),
                            file: t[7].as_deref().unwrap(),
                            line: step as i64,
                            run_id: 3,
                            content_hash: -(step as i64),
                            held_back_reason: t[6].as_deref(),
                        })
                        .unwrap();
                        let texts = vec![
                            t[0].clone(),
                            exported,
                            t[2].clone(),
                            t[3].clone(),
                            t[4].clone(),
                            t[5].clone(),
                            t[6].clone(),
                            t[7].clone(),
                        ];
                        let ints = vec![
                            start,
                            length,
                            Some(step as i64),
                            Some(3),
                            Some(-(step as i64)),
                        ];
                        // The view spells out the JSON of the stored text.
                        let task = match packed {
                            Some(_) => format!("\"{uuid}\""),
                            None => "null".to_string(),
                        };
                        model.insert(id, (texts, ints, format!("[[{step},0,1,{task}]]")));
                    }
                }
            }
            Ok(())
        })
        .unwrap();
        let mut st = tx
            .prepare(
                "SELECT legacy_shift_id, agent_id, exported_agent_id, user_id, business_unit_id,
                    management_unit_id, week_id, held_back_reason, file, start_utc, length_minutes,
                    line, run_id, content_hash, activities
                 FROM desired_shifts ORDER BY legacy_shift_id",
            )
            .unwrap();
        let got: BTreeMap<String, Row> = st
            .query_map([], |r| {
                let texts = (1..9).map(|i| r.get(i)).collect::<rusqlite::Result<_>>()?;
                let ints = (9..14).map(|i| r.get(i)).collect::<rusqlite::Result<_>>()?;
                Ok((r.get(0)?, (texts, ints, r.get(14)?)))
            })
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert!(model.len() > 40, "{}", model.len());
        assert_eq!(got, model);
        // The names are numbered in the order a row at a time first used them.
        let names: Vec<String> = tx
            .prepare("SELECT name FROM desired_names ORDER BY id")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert_eq!(names, first_use);
    }

    /// Rows written with one memo per owner ([`ShiftWriter::upsert_with`]) number every name
    /// as a row-at-a-time model does (first use, in the order agent, exported agent, user,
    /// business unit, management unit, week, file) and carry the same numbers: owners in
    /// scrambled order, some rows with another exported agent, an owner with no user or units,
    /// weeks and a file first used mid-stream.
    #[test]
    fn owner_memos_number_names_as_a_row_at_a_time_model() {
        let dir = tempfile::tempdir().unwrap();
        let mut conn = crate::store::open_state(dir.path()).unwrap();
        let tx = conn.transaction().unwrap();
        let owners = ["A1", "A2", "A3", "B"];
        let names = |o: &str| -> [Option<String>; 3] {
            if o == "A3" {
                [None, None, None]
            } else {
                [
                    Some(format!("user-{o}")),
                    Some(format!("bu-{}", &o[..1])),
                    Some(format!("mu-{o}")),
                ]
            }
        };
        let rows: Vec<[Option<String>; 7]> = (0..200usize)
            .map(|i| {
                let o = owners[(i * 7 + i / 13) % 4];
                let exported = if i % 5 == 0 {
                    format!("X{}", i % 3)
                } else {
                    o.to_string()
                };
                let [u, b, m] = names(o);
                [
                    Some(o.to_string()),
                    Some(exported),
                    u,
                    b,
                    m,
                    Some(format!("2026-10-{:02}", 1 + (i / 20) % 9 + i % 2)),
                    Some(if i < 150 { "a.csv" } else { "b.csv" }.to_string()),
                ]
            })
            .collect();
        let mut memos: HashMap<String, Option<OwnerRefs>> = HashMap::new();
        ShiftWriter::write(&tx, |w| {
            for (i, r) in rows.iter().enumerate() {
                let id = format!("S{i:03}");
                let owner = r[0].as_deref().unwrap();
                w.upsert_with(
                    &ShiftRow {
                        legacy_shift_id: &id,
                        agent_id: owner,
                        exported_agent_id: r[1].as_deref().unwrap(),
                        user_id: r[2].as_deref(),
                        business_unit_id: r[3].as_deref(),
                        management_unit_id: r[4].as_deref(),
                        week_id: r[5].as_deref(),
                        file: r[6].as_deref().unwrap(),
                        ..ShiftRow::sample("")
                    },
                    memos.entry(owner.to_string()).or_default(),
                )?;
            }
            Ok(())
        })
        .unwrap();
        // The model: each name numbered on first use, a row's names in column order.
        let mut model: HashMap<String, i64> = HashMap::new();
        let mut want = Vec::new();
        for r in &rows {
            let mut refs = Vec::new();
            for (k, n) in r.iter().enumerate() {
                let n = n.as_ref().filter(|n| k != 1 || Some(*n) != r[0].as_ref());
                refs.push(n.map(|n| {
                    let next = model.len() as i64 + 1;
                    *model.entry(n.clone()).or_insert(next)
                }));
            }
            want.push(refs);
        }
        assert_eq!(stored_names(&tx), model);
        let got: Vec<Vec<Option<i64>>> = tx
            .prepare(
                "SELECT agent_ref, exported_agent_ref, user_ref, business_unit_ref,
                        management_unit_ref, week_ref, file_ref
                 FROM desired_shift_rows ORDER BY legacy_shift_id",
            )
            .unwrap()
            .query_map([], |r| (0..7).map(|k| r.get(k)).collect())
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert_eq!(got, want);
        assert_eq!(memos.len(), 4);
    }

    /// Every name of `desired_names` with its number.
    fn stored_names(tx: &Connection) -> HashMap<String, i64> {
        tx.prepare("SELECT name, id FROM desired_names")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap()
    }

    /// The writer looks an owner's names up in `desired_names` instead of holding every name:
    /// a second writer (a re-run) numbers the names already stored as they are and new ones
    /// after them, and a name used both as an owner's (looked up) and as another row's exported
    /// agent (held) is one name, whichever way it comes first.
    #[test]
    fn names_stored_before_or_by_the_other_path_keep_their_number() {
        let dir = tempfile::tempdir().unwrap();
        let mut conn = crate::store::open_state(dir.path()).unwrap();
        let tx = conn.transaction().unwrap();
        // (shift, owner, exported agent, user, week) per writer session.
        type Row<'a> = (&'a str, &'a str, &'a str, &'a str, &'a str);
        let sessions: [&[Row<'_>]; 2] = [
            &[
                ("S1", "A1", "A2", "u1", "w1"),
                ("S2", "A2", "A2", "u2", "w1"),
                ("S3", "A1", "A1", "u1", "w2"),
            ],
            &[
                ("S4", "A3", "A3", "u3", "w2"),
                ("S5", "A1", "A3", "u1", "w3"),
                ("S6", "A4", "A1", "A2", "w1"),
                ("S7", "A2", "A2", "u2", "w3"),
            ],
        ];
        let mut model: HashMap<String, i64> = HashMap::new();
        let mut want: Vec<[i64; 4]> = Vec::new();
        for rows in sessions {
            let mut memos: HashMap<&str, Option<OwnerRefs>> = HashMap::new();
            ShiftWriter::write(&tx, |w| {
                for &(id, owner, exported, user, week) in rows {
                    w.upsert_with(
                        &ShiftRow {
                            legacy_shift_id: id,
                            agent_id: owner,
                            exported_agent_id: exported,
                            user_id: Some(user),
                            business_unit_id: None,
                            management_unit_id: None,
                            week_id: Some(week),
                            file: "f.csv",
                            ..ShiftRow::sample("")
                        },
                        memos.entry(owner).or_default(),
                    )?;
                }
                Ok(())
            })
            .unwrap();
            for &(_, owner, exported, user, week) in rows {
                let mut num = |n: &str| {
                    let next = model.len() as i64 + 1;
                    *model.entry(n.to_string()).or_insert(next)
                };
                let (o, e, u, w) = (num(owner), num(exported), num(user), num(week));
                num("f.csv");
                want.push([o, if exported == owner { 0 } else { e }, u, w]);
            }
        }
        assert_eq!(stored_names(&tx), model);
        let got: Vec<[i64; 4]> = tx
            .prepare(
                "SELECT agent_ref, coalesce(exported_agent_ref, 0), user_ref, week_ref
                 FROM desired_shift_rows ORDER BY legacy_shift_id",
            )
            .unwrap()
            .query_map([], |r| Ok([r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?]))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert_eq!(got, want);
    }

    /// Into a table empty at the start, rows in strictly ascending id order are written `INSERT
    /// OR FAIL` (no statement journal); the first id out of order or repeated, or a table with
    /// rows at the start, writes `INSERT OR REPLACE` as before, and a repeated id still replaces
    /// its row.
    #[test]
    fn only_rows_that_cannot_conflict_are_appended() {
        let dir = tempfile::tempdir().unwrap();
        let mut conn = crate::store::open_state(dir.path()).unwrap();
        let tx = conn.transaction().unwrap();
        fn row(id: &str, line: i64) -> ShiftRow<'_> {
            let mut r = ShiftRow::sample(id);
            r.line = line;
            r.content_hash = line;
            r
        }
        let write = |tx: &Connection, ids: &[(String, i64)]| -> u64 {
            ShiftWriter::write(tx, |w| {
                for (id, line) in ids {
                    w.upsert(&row(id, *line))?;
                }
                Ok(w.appended_batches)
            })
            .unwrap()
        };
        let lines = |tx: &Connection| -> Vec<(String, i64)> {
            tx.prepare("SELECT legacy_shift_id, line FROM desired_shift_rows ORDER BY 1")
                .unwrap()
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
                .unwrap()
                .collect::<rusqlite::Result<_>>()
                .unwrap()
        };
        let ids = |r: std::ops::Range<i64>, plus: i64| -> Vec<(String, i64)> {
            r.map(|i| (format!("S{i:03}"), i + plus)).collect()
        };
        // Ascending into an empty table: three full batches appended, the 4 rows left as usual.
        let n = 3 * SHIFTS_PER_INSERT as i64 + 4;
        assert_eq!(write(&tx, &ids(0..n, 0)), 3);
        assert_eq!(lines(&tx), ids(0..n, 0));

        // A table with rows: nothing appended, every row replaced.
        assert_eq!(write(&tx, &ids(0..n, 1000)), 0);
        assert_eq!(lines(&tx), ids(0..n, 1000));

        // Empty again: ascending up to S039, then S010 again and S040 to S079. The first
        // batch is appended; the second holds the repeat (REPLACE: the new S010 wins) and every
        // later batch is written as before.
        clear_shifts(&tx).unwrap();
        let mut v = ids(0..40, 0);
        v.push(("S010".into(), 999));
        v.extend(ids(40..80, 0));
        assert_eq!(write(&tx, &v), 1);
        let mut want = ids(0..80, 0);
        want[10].1 = 999;
        assert_eq!(lines(&tx), want);

        // An id equal to the one before (and the first row's id empty): not appended either.
        clear_shifts(&tx).unwrap();
        let mut v = vec![(String::new(), 7)];
        v.extend(ids(0..30, 0));
        v.push(("S029".into(), 555));
        v.extend(ids(30..70, 0));
        assert_eq!(v.len(), 72);
        assert_eq!(write(&tx, &v), 0);
        let mut want = vec![(String::new(), 7)];
        want.extend(ids(0..70, 0));
        want[30].1 = 555;
        assert_eq!(lines(&tx), want);
    }

    /// `write` ends the writer: the rows still waiting when the caller's closure returns `Ok`
    /// (here 5 after two full INSERTs) are written without any call of the caller's. Before,
    /// a writer dropped without `finish()` lost them without a word. When the closure fails,
    /// its error comes back as it was.
    #[test]
    fn write_ends_the_writer_with_the_rows_still_waiting() {
        let dir = tempfile::tempdir().unwrap();
        let mut conn = crate::store::open_state(dir.path()).unwrap();
        let tx = conn.transaction().unwrap();
        let upsert = |w: &mut ShiftWriter<'_>, id: &str| w.upsert(&ShiftRow::sample(id));
        let n = 2 * SHIFTS_PER_INSERT + 5;
        let written = ShiftWriter::write(&tx, |w| {
            for i in 0..n {
                upsert(w, &format!("S{i:03}"))?;
            }
            Ok(n)
        })
        .unwrap();
        let count = |tx: &Connection| -> usize {
            tx.query_row("SELECT count(*) FROM desired_shift_rows", [], |r| {
                r.get::<_, i64>(0)
            })
            .unwrap() as usize
        };
        assert_eq!(count(&tx), written);
        assert_eq!(count(&tx), 69);

        let err = ShiftWriter::write(&tx, |w| {
            upsert(w, "T1")?;
            Err::<(), _>(Error::failure("the export ended early".to_string(), None))
        })
        .unwrap_err();
        assert!(err.to_string().contains("the export ended early"), "{err}");
    }

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
            task_uuid: None,
        }
    }

    /// The stored form, written out by hand from its description (`activities_compact`): an
    /// independent encoder to compare with (the text, then the bytes of the ids written `#`).
    fn stored_by_hand(acts: &[Activity<'_>], start: i64, kinds: &mut Kinds) -> (String, Vec<u8>) {
        let mut prev: Option<(i64, i64)> = None;
        let mut prev_task: Option<&str> = None;
        let mut packed: Vec<u8> = Vec::new();
        let items: Vec<String> = acts
            .iter()
            .map(|a| {
                let off = a.start - start;
                let implied = match prev {
                    None => Some(0),
                    Some((o, l)) if o.abs() <= 1 << 50 && (0..1 << 32).contains(&l) => {
                        Some(o + 60 * l)
                    }
                    Some(_) => None,
                };
                prev = Some((off, a.length_minutes));
                let mut s = kinds.kind(a.code, a.description).to_string();
                if implied != Some(off) {
                    s += &format!("@{off}");
                }
                s += &format!(",{}", a.length_minutes);
                let follows = prev_task.is_some_and(|p| by_hand_follows(p, a.task_id));
                if a.task_id.is_some() {
                    prev_task = a.task_id;
                }
                if follows {
                    s += "+";
                } else if let Some(t) = a.task_id.filter(|t| by_hand_canonical(t)) {
                    s += "#";
                    let hex = t.replace('-', "");
                    packed.extend(u128::from_str_radix(&hex, 16).unwrap().to_be_bytes());
                } else if let Some(t) = a.task_id {
                    s += ",";
                    s += &t
                        .replace('%', "%25")
                        .replace(';', "%3B")
                        .replace('\0', "%00");
                }
                s
            })
            .collect();
        (items.join(";"), packed)
    }

    /// A canonical lowercase UUID, from the description: 36 characters, `-` at 8, 13, 18 and 23,
    /// the others among `0123456789abcdef`.
    fn by_hand_canonical(t: &str) -> bool {
        t.chars().count() == 36
            && t.chars().enumerate().all(|(i, c)| match i {
                8 | 13 | 18 | 23 => c == '-',
                _ => "0123456789abcdef".contains(c),
            })
    }

    /// Whether `t` is written `+` after task id `p`, from the description: `p`'s trailing ASCII
    /// digits (1 to 18 of them, and no NUL in `p`) read as a number, plus one, printed with zeros
    /// in front to at least that many digits, after the rest of `p`.
    fn by_hand_follows(p: &str, t: Option<&str>) -> bool {
        t.is_some() && by_hand_next(p).as_deref() == t
    }

    fn by_hand_next(p: &str) -> Option<String> {
        let cut = p
            .char_indices()
            .rev()
            .take_while(|(_, c)| c.is_ascii_digit())
            .last()
            .map(|(i, _)| i);
        let (head, num) = (&p[..cut?], &p[cut?..]);
        if num.len() > 18 || p.contains('\0') {
            return None;
        }
        let n = num.parse::<u128>().unwrap() + 1;
        let zeros = "0".repeat(num.len().saturating_sub(n.to_string().len()));
        Some(format!("{head}{zeros}{n}"))
    }

    fn new_kinds() -> Kinds {
        Kinds {
            next: 1,
            ..Default::default()
        }
    }

    /// The kinds [`Kinds::kind`] gives, its quick look-up of the first pairs included, against a
    /// naive numbering in order of first use: more pairs than it keeps, pairs that share their
    /// code or their description, asked for in a scrambled order, and a second `Kinds` loaded
    /// from what the first one stored.
    #[test]
    fn kinds_are_numbered_in_order_of_first_use_past_the_quick_look_up() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(
            "CREATE TABLE activity_kinds(kind INTEGER PRIMARY KEY, activity_code_id TEXT, description TEXT)",
        )
        .unwrap();
        let pairs: Vec<(String, String)> = (0..3 * RECENT_KINDS)
            .map(|i| (format!("c{}", i % 5), format!("d{}", i % 7)))
            .collect();
        let mut k = Kinds::load(&conn).unwrap();
        let mut naive: HashMap<(String, String), i64> = HashMap::new();
        for round in 0..4 {
            for step in 0..pairs.len() {
                let (c, d) = &pairs[(step * 17 + round * 5) % pairs.len()];
                let n = naive.len() as i64 + 1;
                let want = *naive.entry((c.clone(), d.clone())).or_insert(n);
                assert_eq!(k.kind(c, d), want, "round {round}: ({c}, {d})");
            }
            for (kind, c, d) in k.take_new() {
                conn.execute(
                    "INSERT INTO activity_kinds VALUES (?1, ?2, ?3)",
                    params![kind, c, d],
                )
                .unwrap();
            }
        }
        assert_eq!(naive.len(), 5 * 7, "every pair came up");
        let mut again = Kinds::load(&conn).unwrap();
        for ((c, d), want) in &naive {
            assert_eq!(again.kind(c, d), *want);
        }
        assert!(again.take_new().is_empty());
        assert_eq!(again.kind("new", "pair"), 5 * 7 + 1);
    }

    const U1: &str = "372d746d-f008-4564-952e-c73ae3dc5f93";
    const U2: &str = "00000000-0000-0000-0000-000000000009";
    /// The id that follows `U2` (`+`).
    const U3: &str = "00000000-0000-0000-0000-000000000010";
    const U4: &str = "ffffffff-ffff-ffff-ffff-ffffffffffff";
    const U_UPPER: &str = "372D746D-F008-4564-952E-C73AE3DC5F93";

    #[test]
    fn compact_activities_are_serde_json_byte_for_byte_and_decode_back() {
        let acts = [
            act("ac-q", 1_788_155_100, 90, "On Queue Work", None),
            act(
                "a\"b\\c",
                1_788_160_500,
                0,
                "tab\there\nnl\r\u{1}\u{8}\u{c}\u{1f}\u{7f}é✓",
                Some("T1\"\n;%;,@%3B\0"),
            ),
            // Overlapping the one before: its offset is written.
            act("ac-q", 1_788_160_400, 30, "On Queue Work", Some("")),
            act("ac-q", 1_788_162_200, 1500, "On Queue Work", None),
            act("ac-q", 1_788_252_200, 15, "On Queue Work", None),
            // Task ids that follow the one with a task before: `+` (none follows "").
            act("ac-q", 1_788_253_100, 5, "On Queue Work", Some("T;%099")),
            act("ac-q", 1_788_253_400, 5, "On Queue Work", None),
            act("ac-q", 1_788_253_700, 5, "On Queue Work", Some("T;%100")),
            act("ac-q", 1_788_254_000, 5, "On Queue Work", Some("T;%101")),
            act("ac-q", 1_788_254_300, 5, "On Queue Work", Some("T;%0102")),
            act("ac-q", 1_788_254_600, 5, "On Queue Work", Some("9")),
            act("ac-q", 1_788_254_900, 5, "On Queue Work", Some("10")),
            act(
                "ac-q",
                1_788_255_200,
                5,
                "On Queue Work",
                Some("x999999999999999999"),
            ),
            act(
                "ac-q",
                1_788_255_500,
                5,
                "On Queue Work",
                Some("x1000000000000000000"),
            ),
            act(
                "ac-q",
                1_788_255_800,
                5,
                "On Queue Work",
                Some("x1000000000000000001"),
            ),
            act("ac-q", 1_788_256_100, 5, "On Queue Work", Some("n\u{0}1")),
            act("ac-q", 1_788_256_400, 5, "On Queue Work", Some("n\u{0}2")),
            act("ac-q", 1_788_256_700, 5, "On Queue Work", Some("a٣")),
            act("ac-q", 1_788_257_000, 5, "On Queue Work", Some("a٤")),
            act("ac-q", 1_788_257_300, 5, "On Queue Work", Some("00")),
            act("ac-q", 1_788_257_600, 5, "On Queue Work", Some("01")),
            // Canonical UUIDs: `#` and 16 bytes, unless `+` applies; any other spelling written out.
            act("ac-q", 1_788_257_900, 5, "On Queue Work", Some(U1)),
            act("ac-q", 1_788_258_200, 5, "On Queue Work", Some(U1)),
            act("ac-q", 1_788_258_500, 5, "On Queue Work", Some(U2)),
            act("ac-q", 1_788_258_800, 5, "On Queue Work", Some(U3)),
            act("ac-q", 1_788_259_100, 5, "On Queue Work", None),
            act("ac-q", 1_788_259_400, 5, "On Queue Work", Some(U_UPPER)),
            act("ac-q", 1_788_259_700, 5, "On Queue Work", Some(U4)),
        ];
        let mut k = new_kinds();
        let t = activities_compact(&acts, 1_788_155_100, &mut k);
        assert_eq!(t.json, serde_form(&acts, 1_788_155_100, &mut new_kinds()));
        assert_eq!(k.take_new().len(), 2, "one kind per (code, description)");
        assert!(
            t.json.starts_with("[[1,0,90,null],[2,5400,0,"),
            "{}",
            t.json
        );
        assert_eq!(
            t.stored,
            "1,90;2,0,T1\"\n%3B%25%3B,@%253B%00;1@5300,30,;1,1500;1,15;\
             1,5,T%3B%25099;1,5;1,5+;1,5+;1,5,T%3B%250102;1,5,9;1,5+;\
             1,5,x999999999999999999;1,5+;1,5,x1000000000000000001;\
             1,5,n%001;1,5,n%002;1,5,a٣;1,5,a٤;1,5,00;1,5+;\
             1,5#;1,5#;1,5#;1,5+;1,5;1,5,372D746D-F008-4564-952E-C73AE3DC5F93;1,5#"
        );
        let mut bytes = Vec::new();
        for u in [U1, U1, U2, U4] {
            bytes.extend(
                u128::from_str_radix(&u.replace('-', ""), 16)
                    .unwrap()
                    .to_be_bytes(),
            );
        }
        assert_eq!(t.task_uuids, bytes);
        assert_eq!(
            (t.stored.clone(), t.task_uuids.clone()),
            stored_by_hand(&acts, 1_788_155_100, &mut new_kinds())
        );
        assert_eq!(
            decode_activities(&t.stored, &t.task_uuids, 1_788_155_100, &kind_table(&k)).unwrap(),
            decoded(&acts)
        );
        let none = activities_compact(&[], 0, &mut k);
        assert_eq!((none.json.as_str(), none.stored.as_str()), ("[]", ""));
        assert_eq!(
            decode_activities("", &[], 0, &kind_table(&k)).unwrap(),
            vec![]
        );
        // Not the stored form, or a kind not in the dictionary: an error, never fewer activities.
        for bad in [
            "9,1",
            "[[1,0,90,null]]",
            "1,90;",
            ";1,90",
            "1",
            "1@,5",
            "x,5",
            "1,5x",
            "1,5,T%2",
            "1,5,T%41",
            "1,1;1,9223372036854775807;1,5",
            "1,5+",
            "1,5;1,5+",
            "1,5,T;1,5+",
            "1,5,T1234567890123456789;1,5+",
            "1,5,n%001;1,5+",
            "1,5,T1;1,5++",
            "1,5,T1;1,+",
            "1,5#",
            "1,5#;1,5,x",
        ] {
            let e = decode_activities(bad, &[], 0, &kind_table(&k));
            assert!(e.is_err(), "{bad}: {e:?}");
        }
        // Bytes of task ids that the text does not read, or not whole: an error too.
        let two = [[7u8; 16], [9u8; 16]].concat();
        for (bad, bytes) in [
            ("", &two[..16]),
            ("1,5", &two[..16]),
            ("1,5#", &two[..]),
            ("1,5#;1,5#", &two[..31]),
            ("1,5#;1,5#", &two[..17]),
            ("1,5,x#", &two[..16]),
        ] {
            let e = decode_activities(bad, bytes, 0, &kind_table(&k));
            assert!(e.is_err(), "{bad} with {} bytes: {e:?}", bytes.len());
        }
        let ok = decode_activities("1,5#;1,5#", &two, 0, &kind_table(&k)).unwrap();
        assert_eq!(
            ok.iter()
                .map(|a| a.task_id.clone().unwrap())
                .collect::<Vec<_>>(),
            [
                "07070707-0707-0707-0707-070707070707",
                "09090909-0909-0909-0909-090909090909"
            ]
        );
    }

    /// (kind, offset, length) of each activity, as `load` reads them again.
    fn times(text: &str) -> std::result::Result<Vec<(i64, i64, i64)>, String> {
        let mut v = Vec::new();
        stored_activity_times(text, |k, o, l| v.push((k, o, l))).map(|()| v)
    }

    /// The same, as the whole read ([`parse_stored_activities`]) gives them.
    fn times_of_parse(
        text: &str,
        task_uuids: &[u8],
    ) -> std::result::Result<Vec<(i64, i64, i64)>, String> {
        parse_stored_activities(text, task_uuids)
            .map(|v| v.into_iter().map(|(k, o, l, _)| (k, o, l)).collect())
    }

    /// The activity times `load` reads again are those of the whole read, on stored texts that
    /// imply offsets, write them, carry tasks (`+`, `#`, escaped), and on texts the form does
    /// not read (the same error).
    #[test]
    fn activity_times_read_again_are_those_of_the_whole_read() {
        for text in [
            "",
            "1,90;2,30,T1;1,90;3,45+;1,75;4,45+;1,105",
            "1@3600,60,T2;2@0,60",
            "1,30;2,30;1,60,T%3Bx",
            "1@-7200,0;2,100000000;3,5",
            "7,60#;7,60#",
            "1,60;x,5",
            "1;2,5",
            "1@,5",
            "1,5;;2,5",
            "1,-5;2,5",
        ] {
            let uuids: &[u8] = if text.contains('#') { &[7; 32] } else { &[] };
            assert_eq!(times(text), times_of_parse(text, uuids), "{text:?}");
        }
        assert_eq!(
            times("1,60;x,5").unwrap_err(),
            "activity 2 (`x,5`) has no integer kind"
        );
    }

    proptest! {
        /// Random task ids (separators, escapes, digits alone, zeros in front, 17 to 21 digits,
        /// non-ASCII digits, NUL), each one half the time made to follow the task before by
        /// [`by_hand_next`]: `+` exactly where the description says, read back as written.
        #[test]
        fn task_ids_that_follow_are_written_plus_and_read_back(
                ids in proptest::collection::vec(prop_oneof![
                    any::<String>(),
                    "[T;%,@+#\\x{0}\\x{663}a-]{0,3}[0-9]{0,21}#?",
                    "T(0|9|09|99|999999999999999999|[0-9]{16,20})",
                    "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{8}(9|[0-9]{4})",
                    "[0-9a-fA-F]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}[-_][0-9a-fA-G]{12,13}",
                ], 1..9),
                follow in proptest::collection::vec(any::<bool>(), 9),
                without in proptest::collection::vec(0u8..4, 9)) {
            let mut tasks: Vec<Option<String>> = Vec::new();
            let mut prev: Option<String> = None;
            for (i, id) in ids.iter().enumerate() {
                if without[i] == 0 {
                    tasks.push(None);
                    continue;
                }
                let t = match prev.as_deref().and_then(by_hand_next) {
                    Some(n) if follow[i] => n,
                    _ => id.clone(),
                };
                if let Some(p) = &prev {
                    prop_assert_eq!(next_task_id(p), by_hand_next(p));
                    prop_assert_eq!(task_follows(p, &t), by_hand_next(p).as_deref() == Some(&*t));
                    prop_assert_eq!(task_follows(p, id), by_hand_next(p).as_deref() == Some(&**id));
                }
                prev = Some(t.clone());
                tasks.push(Some(t));
            }
            let acts: Vec<Activity<'_>> = tasks
                .iter()
                .enumerate()
                .map(|(i, t)| act("c", 60 * i as i64, 1, "d", t.as_deref()))
                .collect();
            let mut k = new_kinds();
            let t = activities_compact(&acts, 0, &mut k);
            prop_assert_eq!(&t.json, &serde_form(&acts, 0, &mut new_kinds()));
            prop_assert_eq!((t.stored.clone(), t.task_uuids.clone()), stored_by_hand(&acts, 0, &mut new_kinds()));
            prop_assert_eq!(decode_activities(&t.stored, &t.task_uuids, 0, &kind_table(&k)).unwrap(), decoded(&acts));
            prop_assert_eq!(times(&t.stored), times_of_parse(&t.stored, &t.task_uuids));
        }

        #[test]
        fn compact_activities_match_serde_json_and_decode_back(
                code in any::<String>(), desc in "(?s).{0,40}",
                task in proptest::option::of(any::<String>()),
                start in -(1i64 << 40)..(1i64 << 40), len in any::<i64>(),
                gap in prop_oneof![Just(0i64), -7200i64..7200, any::<i64>()],
                len2 in prop_oneof![0i64..600, any::<i64>()]) {
            // Instants as far apart as an i64 offset from the shift's start allows.
            let bound = |t: i64| t.clamp(-(1 << 62), 1 << 62);
            let next = bound(start.saturating_add(len.saturating_mul(60)).saturating_add(gap));
            let acts = [
                act(&code, start, len, &desc, task.as_deref()),
                act("x", next, len2, "", None),
                act("x", bound(next.saturating_add(len2.saturating_mul(60))), 1, "", Some("T9")),
            ];
            let mut k = new_kinds();
            let t = activities_compact(&acts, 7, &mut k);
            prop_assert_eq!(&t.json, &serde_form(&acts, 7, &mut new_kinds()));
            prop_assert_eq!((t.stored.clone(), t.task_uuids.clone()), stored_by_hand(&acts, 7, &mut new_kinds()));
            prop_assert!(!t.stored.contains('\0'));
            prop_assert_eq!(decode_activities(&t.stored, &t.task_uuids, 7, &kind_table(&k)).unwrap(), decoded(&acts));
            prop_assert_eq!(times(&t.stored), times_of_parse(&t.stored, &t.task_uuids));
        }
    }
}
