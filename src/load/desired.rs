//! The desired state `map` produced (`desired_shifts`), grouped by business-unit week, with the
//! records held back: by `map` itself (`held_back_reason`), and under `--allow-errors` by the
//! validation's error findings (`validation-report.md`, "What load does with error findings": a
//! shift is held back when it, one of its tasks, or its agent has an error finding; a finding names
//! the later shift of an overlapping pair and every occurrence of a conflicting id).
//!
//! Also the validation gate: `load` refuses while the snapshot changed since the last validation,
//! or the last validation of the current snapshot has errors (unless `--allow-errors`).

use super::model::{Act, Content, Desired, KindId, Label, kind_id, label};
use crate::error::{Error, Result};
use crate::store::desired::StoredShift;
use rusqlite::Connection;
use sha2::Digest;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::Path;

/// One business-unit week of the desired state.
#[derive(Debug, Clone, Default)]
pub struct WeekInput {
    pub desired: Vec<Desired>,
    /// Management units whose agent schedules tell the week's state (of desired and linked users).
    pub mus: BTreeSet<String>,
    /// A digest of the desired shifts and held-back ids of the week (a done week whose digest is
    /// unchanged needs no request).
    pub hash: i64,
}

/// What a load needs to know of the whole desired state before it starts: the business-unit weeks
/// (in order), how many shifts they hold, and the records held back. The shifts themselves are
/// read one week at a time ([`Reader::week`]), so a load's memory does not grow with the export.
#[derive(Debug, Clone, Default)]
pub struct DesiredIndex {
    /// Every business-unit week with desired shifts or links, with its number of desired shifts.
    pub weeks: BTreeMap<(String, String), u64>,
    pub held: HashSet<String>,
    pub held_by_reason: BTreeMap<String, u64>,
    pub snapshot_id: String,
    /// Management units of the users linked in each week (the week's shifts add their own).
    linked_mus: HashMap<(String, String), BTreeSet<String>>,
    /// Agents (→ their user) with shifts to load but no management unit, neither on the shift
    /// nor in the crosswalk: load could not read their agent schedules, and every write to their
    /// weeks would be refused. Map holds such agents back (`unmapped-management-unit`); a desired
    /// state without that (written by an older zd2gc) is refused before anything is written.
    pub without_unit: BTreeMap<String, String>,
}

impl DesiredIndex {
    pub fn shifts(&self) -> u64 {
        self.weeks.values().sum()
    }
}

/// The gate before a load: the desired state must be of the current snapshot, and the last
/// validation must be of it and clean (or `allow_errors`). Returns what to tell the operator and
/// the record ids with error findings (to hold back).
pub fn gate(
    conn: &Connection,
    dir: &Path,
    allow_errors: bool,
) -> Result<(Vec<String>, HashSet<String>)> {
    let mut notes = Vec::new();
    let mapped = crate::map::current::mapped_snapshot(conn)?.ok_or_else(|| {
        Error::usage(
            "there is no desired state to load",
            Some("run `zd2gc extract` and `zd2gc map` first".to_string()),
        )
    })?;
    // Is the desired state current (docs/mappings.md, "Is map current?")? The same answer
    // validate acts on: load does not map again itself (what it would load must be validated
    // first), it says what changed.
    let rec = match standing(conn, dir, &mapped)? {
        Standing::Reextracted(cur) => {
            return Err(Error::usage(
                format!(
                    "the export was extracted again (snapshot {}) since `map` ran (snapshot {})",
                    short(&cur),
                    short(&mapped)
                ),
                Some("run `zd2gc map` and `zd2gc validate` again, then load".to_string()),
            ));
        }
        Standing::Stale(changes) => {
            return Err(Error::usage(
                format!("the desired state is out of date: {}", changes.join("; ")),
                Some("run `zd2gc validate`: it maps again the way the last map ran (online stays online), then load".to_string()),
            ));
        }
        Standing::Current(rec) => rec,
    };
    let last = crate::store::validations::last(conn)?;
    if let (Some(rec), Some(v)) = (&rec, &last)
        && v.run_id < rec.run_id
        && v.snapshot_id == mapped
    {
        return Err(Error::usage(
            format!(
                "map ran again (run {}) after the last validation (run {})",
                rec.run_id, v.run_id
            ),
            Some("run `zd2gc validate` again before loading".to_string()),
        ));
    }
    let mut error_ids = HashSet::new();
    match last {
        Some(v) if v.snapshot_id != mapped => {
            return Err(Error::usage(
                format!(
                    "the snapshot changed since the last validation (validated {}, now {})",
                    short(&v.snapshot_id),
                    short(&mapped)
                ),
                Some("run `zd2gc validate` again before loading".to_string()),
            ));
        }
        Some(v) if v.errors > 0 => {
            if !allow_errors {
                return Err(Error::usage(
                    format!("the last validation of this snapshot found {} error(s)", v.errors),
                    Some("fix them and run `zd2gc validate` again, or load the rest with `--allow-errors` (the records with errors are held back and listed)".to_string()),
                ));
            }
            notes.push(format!(
                "--allow-errors: {} validation error(s); the records concerned are held back",
                v.errors
            ));
            error_ids.extend(report_error_ids(dir, &v.report_path)?);
        }
        Some(_) => {}
        None => {
            if !allow_errors {
                return Err(Error::usage(
                    "this snapshot has not been validated",
                    Some("run `zd2gc validate` first (or `--allow-errors` to load what map accepted)".to_string()),
                ));
            }
            notes.push(
                "--allow-errors: no validation recorded; loading what map accepted".to_string(),
            );
        }
    }
    error_ids.extend(map_error_ids(conn)?);
    Ok((notes, error_ids))
}

/// The record ids of map's own error findings: they hold their records back too.
fn map_error_ids(conn: &Connection) -> Result<HashSet<String>> {
    let mut st = conn.prepare(
        "SELECT record_id FROM map_findings WHERE severity = 'error' AND record_id IS NOT NULL",
    )?;
    let ids = st
        .query_map([], |r| r.get::<_, String>(0))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(ids)
}

/// What makes the desired state older than the export or the tables, as notes: verify compares
/// Genesys with the desired state whatever it is (it refuses nothing), but says when that is not
/// what a `map` would make now (the checks of [`gate`], which refuses them).
pub fn staleness_notes(conn: &Connection, dir: &Path) -> Result<Vec<String>> {
    let Some(mapped) = crate::map::current::mapped_snapshot(conn)? else {
        return Ok(vec![]);
    };
    Ok(match standing(conn, dir, &mapped)? {
        Standing::Reextracted(cur) => vec![format!(
            "the export was extracted again (snapshot {}) since `map` ran (snapshot {}): this compares Genesys with the desired state of the earlier export; run `zd2gc map` (or `zd2gc validate`) to compare with the new one",
            short(&cur),
            short(&mapped)
        )],
        Standing::Stale(changes) => vec![format!(
            "the desired state is out of date ({}): this compares Genesys with what the last `map` made; run `zd2gc validate` to map again",
            changes.join("; ")
        )],
        Standing::Current(_) => vec![],
    })
}

/// The desired state (of snapshot `mapped`) against the export and the tables now.
enum Standing {
    /// The export was extracted again since map: the current snapshot.
    Reextracted(String),
    /// Inputs of map changed since it ran: which.
    Stale(Vec<String>),
    /// Current; map's record when there is one (an older zd2gc recorded none).
    Current(Option<crate::map::current::MapInputs>),
}

/// Where [`gate`] (which refuses) and [`staleness_notes`] (which tells) get their answer.
fn standing(conn: &Connection, dir: &Path, mapped: &str) -> Result<Standing> {
    if let Some(cur) = crate::map::current::current_snapshot(dir)
        && cur != mapped
    {
        return Ok(Standing::Reextracted(cur));
    }
    Ok(match crate::map::current::check(conn, dir, None)? {
        crate::map::current::Currency::Stale(_, changes) => Standing::Stale(changes),
        crate::map::current::Currency::Current(rec) => Standing::Current(Some(rec)),
        crate::map::current::Currency::Missing(_) => Standing::Current(None),
    })
}

/// The record ids `verify` holds back: those of the last validation's error findings and of
/// map's. Unlike [`gate`] nothing is refused: the last validation decides even when `map` ran
/// again since it (unchanged, or after an edit), or the export was extracted again. That
/// validation is what the load held back by; were its ids dropped, every shift it held back
/// would read as missing from Genesys. A report that cannot be read holds nothing back.
pub fn verify_error_ids(conn: &Connection, dir: &Path) -> Result<HashSet<String>> {
    let mut ids = match crate::store::validations::last(conn)? {
        Some(v) if v.errors > 0 => report_error_ids(dir, &v.report_path).unwrap_or_default(),
        _ => HashSet::new(),
    };
    ids.extend(map_error_ids(conn)?);
    Ok(ids)
}

fn short(s: &str) -> &str {
    &s[..s.len().min(12)]
}

/// The record ids of the error findings of a validation report (JSON form). The report is what
/// decides which records are held back, so a report that cannot be read stops the load: loading
/// without it would load records that have errors.
fn report_error_ids(dir: &Path, report: &str) -> Result<HashSet<String>> {
    let candidates = [dir.join(report), Path::new(report).to_path_buf()];
    let Some(p) = candidates.iter().find(|p| p.is_file()) else {
        return Err(Error::usage(
            format!("the report of the last validation ({report}) is missing"),
            Some("run `zd2gc validate` again, then load".to_string()),
        ));
    };
    let text = std::fs::read_to_string(p).map_err(|e| Error::io(p, e))?;
    let v: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
        Error::usage(
            format!(
                "the report of the last validation ({}) is not valid JSON: {e}",
                p.display()
            ),
            Some("run `zd2gc validate` again, then load".to_string()),
        )
    })?;
    Ok(v.get("findings")
        .and_then(|f| f.as_array())
        .into_iter()
        .flatten()
        .filter(|f| f.get("severity").and_then(|s| s.as_str()) == Some("error"))
        .filter_map(|f| {
            f.get("record_id")
                .and_then(|r| r.as_str())
                .map(str::to_string)
        })
        .collect())
}

/// Whether a stored shift is held back: by map (`held_back_reason`), or for a validation error
/// of the shift, its agent or one of its tasks (`error_ids`).
fn held_reason(s: &StoredShift, error_ids: &HashSet<String>) -> Option<String> {
    if let Some(reason) = &s.held_back_reason {
        Some(reason.clone())
    } else if error_ids.contains(&s.legacy_shift_id)
        || error_ids.contains(&s.agent_id)
        || s.activities
            .iter()
            .any(|a| a.task_id.as_ref().is_some_and(|t| error_ids.contains(t)))
    {
        Some("validation-error".to_string())
    } else {
        None
    }
}

/// The business-unit week a stored shift loads in, or why it is held back.
fn week_of(s: &StoredShift, error_ids: &HashSet<String>) -> std::result::Result<(), String> {
    let held = held_reason(s, error_ids);
    match (
        &s.user_id,
        &s.business_unit_id,
        &s.week_id,
        s.start_utc,
        s.length_minutes,
    ) {
        (Some(_), Some(_), Some(_), Some(_), Some(_)) => match held {
            None => Ok(()),
            Some(r) => Err(r),
        },
        _ => Err(held.unwrap_or_else(|| "unmapped".into())),
    }
}

/// The index of the desired state (see [`DesiredIndex`]); `error_ids` are record ids (shift, task
/// or agent) to hold back. One pass over the rows, none of them kept.
pub fn index(conn: &Connection, error_ids: &HashSet<String>) -> Result<DesiredIndex> {
    let mut out = DesiredIndex {
        snapshot_id: crate::map::current::mapped_snapshot(conn)?.unwrap_or_default(),
        ..Default::default()
    };
    let user_mu = user_mus(conn)?;
    // The activities are needed only to find an error among their task ids.
    crate::store::desired::for_each_shift_unordered(conn, !error_ids.is_empty(), |s| {
        match week_of(&s, error_ids) {
            Ok(()) => {
                if s.management_unit_id
                    .as_deref()
                    .unwrap_or_default()
                    .is_empty()
                    && let Some(user) = &s.user_id
                    && !user_mu.contains_key(user)
                {
                    out.without_unit
                        .entry(s.agent_id.clone())
                        .or_insert_with(|| user.clone());
                }
                let key = (
                    s.business_unit_id.unwrap_or_default(),
                    s.week_id.unwrap_or_default(),
                );
                *out.weeks.entry(key).or_default() += 1;
            }
            Err(reason) => {
                *out.held_by_reason.entry(reason).or_default() += 1;
                out.held.insert(s.legacy_shift_id);
            }
        }
        Ok(())
    })?;
    // Weeks where only links remain (every shift left the export): they may need deletes.
    let mut st = conn.prepare(
        "SELECT DISTINCT w.business_unit_id, w.week_id, x.user_id
         FROM xw_shift_rows x JOIN xw_shift_weeks w ON w.id = x.week_ref
         WHERE x.genesys_shift_id IS NOT NULL AND w.business_unit_id IS NOT NULL AND w.week_id IS NOT NULL",
    )?;
    // The table, not the view `xw_shifts`: its ids packed (schema 17) and spelled out here; its
    // business unit and week in `xw_shift_weeks` (schema 18).
    let mut rows = st.query([])?;
    while let Some(r) = rows.next()? {
        use super::journal::id_text;
        let bu = id_text(r, 0)?.unwrap_or_default().into_owned();
        let key: (String, String) = (bu, r.get(1)?);
        let user = id_text(r, 2)?;
        out.weeks.entry(key.clone()).or_default();
        let mus = out.linked_mus.entry(key).or_default();
        if let Some(mu) = user.as_ref().and_then(|u| user_mu.get(u)) {
            mus.insert(mu.to_string());
        }
    }
    Ok(out)
}

/// Refuse, before any request, a load of shifts or time off whose agents have no management
/// unit (`without`: agent → user, from [`DesiredIndex::without_unit`] and the time off): their
/// agent schedules cannot be read, so every write to their weeks would be refused. The
/// diagnostic points at the agents' rows of `mappings/agents.csv` (by agent id or user id).
pub fn refuse_without_unit(
    conn: &Connection,
    dir: &Path,
    without: &BTreeMap<String, String>,
) -> Result<()> {
    if without.is_empty() {
        return Ok(());
    }
    let mappings = crate::map::current::recorded(conn)?
        .map(|r| r.tables_dir(dir))
        .unwrap_or_else(|| dir.join("mappings"));
    let rows = crate::map::tables::agent_rows(&mappings);
    let lines: Vec<u64> = rows
        .iter()
        .filter(|r| {
            without.iter().any(|(agent, user)| {
                r.zendesk_agent_id.as_deref() == Some(agent.as_str())
                    || r.genesys_user_id.as_deref() == Some(user.as_str())
            })
        })
        .map(|r| r.line)
        .collect();
    let named: Vec<String> = without
        .iter()
        .take(3)
        .map(|(a, u)| format!("`{a}` (user `{u}`)"))
        .collect();
    let more = without.len().saturating_sub(named.len());
    let message = format!(
        "{} agent(s) with shifts or time off to load have no management unit: {}{}; load reads and writes an agent's schedule through its management unit, so every write to their weeks would be refused. Nothing was written",
        without.len(),
        named.join(", "),
        if more > 0 {
            format!(" and {more} more")
        } else {
            String::new()
        },
    );
    let help = "fill management_unit_id in mappings/agents.csv (`zd2gc mappings pull` writes it from Genesys) or map online (`zd2gc map --online`), then `zd2gc validate` and load again";
    let Some(&first) = lines.first() else {
        return Err(Error::usage(message, Some(help.to_string())));
    };
    let rows_text = if lines.len() > 1 {
        let shown: Vec<String> = lines.iter().take(10).map(u64::to_string).collect();
        format!(
            " (rows {}{} of mappings/agents.csv)",
            shown.join(", "),
            if lines.len() > 10 { ", …" } else { "" }
        )
    } else {
        String::new()
    };
    Err(crate::diag::SourceDiag::new(
        "unmapped-management-unit",
        "mappings/agents.csv",
        first,
        format!("{message}{rows_text}"),
    )
    .help(help)
    .text(crate::map::tables::table_line(
        &mappings,
        "agents.csv",
        first,
    ))
    .label_text("", "no management_unit_id")
    .into())
}

fn user_mus(conn: &Connection) -> Result<UserUnits> {
    Ok(UserUnits::from(
        crate::store::crosswalk::user_management_units(conn)?,
    ))
}

/// Each user's management unit (the crosswalk's, `xw_agents`), compact (issue #17: 10,000 agents
/// made the map of `String`s 1.7 MB, held twice through a load): the user ids sorted, end to end
/// in one text, and each one's unit as an index into the units.
#[derive(Debug, Default)]
pub struct UserUnits {
    ids: String,
    /// Where each user's id ends in `ids`.
    ends: Vec<u32>,
    mu: Vec<u32>,
    mus: Vec<String>,
}

impl From<HashMap<String, String>> for UserUnits {
    fn from(map: HashMap<String, String>) -> UserUnits {
        let mut pairs: Vec<(String, String)> = map.into_iter().collect();
        pairs.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        let mut out = UserUnits {
            ids: String::with_capacity(pairs.iter().map(|(u, _)| u.len()).sum()),
            ends: Vec::with_capacity(pairs.len()),
            mu: Vec::with_capacity(pairs.len()),
            mus: Vec::new(),
        };
        let mut mu_of: HashMap<String, u32> = HashMap::new();
        for (user, mu) in pairs {
            out.ids.push_str(&user);
            out.ends
                .push(u32::try_from(out.ids.len()).expect("user ids under 4 GiB"));
            let n = out.mus.len() as u32;
            let m = *mu_of.entry(mu).or_insert_with_key(|mu| {
                out.mus.push(mu.clone());
                n
            });
            out.mu.push(m);
        }
        out
    }
}

impl UserUnits {
    fn id(&self, i: usize) -> &str {
        let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
        &self.ids[start..self.ends[i] as usize]
    }

    /// The unit of `user`, if the crosswalk has one.
    pub fn get(&self, user: &str) -> Option<&str> {
        let (mut lo, mut hi) = (0, self.ends.len());
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            match self.id(mid).cmp(user) {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => return Some(&self.mus[self.mu[mid] as usize]),
            }
        }
        None
    }

    pub fn contains_key(&self, user: &str) -> bool {
        self.get(user).is_some()
    }
}

/// Which `map` wrote the desired state: the run it recorded and the snapshot it mapped. Every map
/// (validate's too) changes it in the commit that writes the desired rows.
type Generation = (Option<i64>, Option<String>);

fn generation(conn: &Connection) -> Result<Generation> {
    Ok((
        crate::map::current::recorded(conn)?.map(|r| r.run_id),
        crate::map::current::mapped_snapshot(conn)?,
    ))
}

/// Reads the desired state one business-unit week at a time, each week in a short read
/// transaction of its own (a transaction held for the whole load would keep SQLite from
/// checkpointing, and the WAL would grow by every journal write of the load). All weeks come from
/// the desired state the gate and the index read: a week whose read finds that `map` ran since is
/// an error, never a mix of two maps.
pub struct Reader {
    conn: std::sync::Mutex<Connection>,
    error_ids: HashSet<String>,
    /// Shared with the load ([`Reader::user_units`]): one copy a process (issue #17).
    user_mu: std::sync::Arc<UserUnits>,
    kinds: HashMap<i64, (String, String)>,
    /// Each activity kind's entry in the process's kinds table ([`Act::of_kind`]), code and
    /// description: one lookup an activity read.
    kind_ids: rustc_hash::FxHashMap<i64, (KindId, String, String)>,
    generation: Generation,
}

impl Reader {
    /// Begin a read transaction on `conn` (a connection of its own: the load writes its journal
    /// through another one) for the gate and the index, until [`Reader::release`].
    pub fn open(conn: Connection, error_ids: HashSet<String>) -> Result<Reader> {
        conn.execute_batch("BEGIN")?;
        let user_mu = std::sync::Arc::new(user_mus(&conn)?);
        let kinds = crate::store::desired::activity_kinds(&conn)?;
        let generation = generation(&conn)?;
        let kind_ids = kinds
            .iter()
            .map(|(&k, (code, desc))| (k, (kind_id(code, desc), code.clone(), desc.clone())))
            .collect();
        Ok(Reader {
            conn: std::sync::Mutex::new(conn),
            error_ids,
            user_mu,
            kinds,
            kind_ids,
            generation,
        })
    }

    /// End the read transaction of [`Reader::open`]: each week is read in its own from now on.
    pub fn release(&self) -> Result<()> {
        self.conn
            .lock()
            .expect("desired-state reader")
            .execute_batch("COMMIT")?;
        Ok(())
    }

    /// The same reader, holding back the records with these ids (the gate's answer).
    pub fn with_error_ids(mut self, error_ids: HashSet<String>) -> Reader {
        self.error_ids = error_ids;
        self
    }

    /// Run `f` on the connection, inside the read transaction.
    pub fn with<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        f(&self.conn.lock().expect("desired-state reader"))
    }

    /// Each user's management unit, as the crosswalk had it when the reader was opened (read in
    /// its transaction).
    pub fn user_units(&self) -> std::sync::Arc<UserUnits> {
        self.user_mu.clone()
    }

    /// The record ids held back for a validation error.
    pub fn error_ids(&self) -> &HashSet<String> {
        &self.error_ids
    }

    /// The read transaction of one week (or part of one), refused when `map` ran since the
    /// reader was opened: a load never mixes two maps.
    fn fresh<'c>(&self, conn: &'c Connection) -> Result<rusqlite::Transaction<'c>> {
        let tx = conn.unchecked_transaction()?;
        let now = generation(&tx)?;
        if now != self.generation {
            return Err(Error::usage(
                format!(
                    "the desired state changed during the load: map ran again (run {}) after this load read it (run {})",
                    now.0.map_or("?".into(), |r| r.to_string()),
                    self.generation.0.map_or("?".into(), |r| r.to_string()),
                ),
                Some("the weeks written so far are in the journal: run `zd2gc validate`, then `zd2gc load` again (it resumes)".into()),
            ));
        }
        Ok(tx)
    }

    /// Each loadable shift of one business-unit week in legacy-id order, as (legacy id, user,
    /// management unit, start, length, activities unsorted), and the week's management units.
    fn each_loadable(
        &self,
        tx: &Connection,
        index: &DesiredIndex,
        bu: &str,
        week: &str,
        mut f: impl FnMut(String, Label, Label, i64, i64, Vec<Act>),
    ) -> Result<BTreeSet<String>> {
        let mut mus = BTreeSet::new();
        crate::store::desired::for_each_shift_of_week(tx, &self.kinds, bu, week, |s| {
            if week_of(&s, &self.error_ids).is_err() {
                return Ok(());
            }
            let (Some(user), Some(start), Some(len)) = (s.user_id, s.start_utc, s.length_minutes)
            else {
                return Ok(());
            };
            let acts = s
                .activities
                .iter()
                .map(|a| Act::new(a.start, a.length_minutes, &a.code, &a.description))
                .collect();
            let mu = label(
                s.management_unit_id
                    .as_deref()
                    .or_else(|| self.user_mu.get(&user))
                    .unwrap_or_default(),
            );
            if !mu.is_empty() && !mus.contains(&*mu) {
                mus.insert(mu.to_string());
            }
            f(s.legacy_shift_id, label(&user), mu, start, len, acts);
            Ok(())
        })?;
        if let Some(linked) = index.linked_mus.get(&(bu.to_string(), week.to_string())) {
            mus.extend(linked.iter().cloned());
        }
        Ok(mus)
    }

    /// One business-unit week of the desired state, as the index listed it: its loadable shifts
    /// in legacy-id order, the management units of its users (and of the users `index` found
    /// linked in it), and its digest.
    pub fn week(&self, index: &DesiredIndex, bu: &str, week: &str) -> Result<WeekInput> {
        let conn = self.conn.lock().expect("desired-state reader");
        let tx = self.fresh(&conn)?;
        let mut w = WeekInput::default();
        // The index counted the week's shifts: one allocation of the right size.
        let n = index.weeks.get(&(bu.to_string(), week.to_string()));
        w.desired.reserve_exact(n.copied().unwrap_or(0) as usize);
        w.mus = self.each_loadable(
            &tx,
            index,
            bu,
            week,
            |legacy, user, mu, start, len, acts| {
                w.desired.push(Desired {
                    legacy,
                    mu,
                    content: Content::new(user, start, len, acts),
                });
            },
        )?;
        w.hash = week_digest(bu, week, &w.desired);
        Ok(w)
    }

    /// One business-unit week of the desired state for `load`: what [`Reader::week`] reads,
    /// but of each shift only its legacy id, user and management unit (the week's digest is
    /// taken as the shifts go by). A round reads the contents of a component's shifts when it
    /// merges it ([`WeekOutline::read`]), so no week of activity lists is held (issue #17).
    pub fn outline(
        self: &std::sync::Arc<Self>,
        index: &DesiredIndex,
        bu: &str,
        week: &str,
    ) -> Result<WeekOutline> {
        let conn = self.conn.lock().expect("desired-state reader");
        let tx = self.fresh(&conn)?;
        let n = index.weeks.get(&(bu.to_string(), week.to_string()));
        let mut slots = Slots::with_capacity(n.copied().unwrap_or(0) as usize);
        let mut digest = WeekDigest::new(bu, week);
        let mus = self.each_loadable(
            &tx,
            index,
            bu,
            week,
            |legacy, user, mu, start, len, acts| {
                // Only its JSON is needed: its activities sorted, not shared.
                digest.push(&legacy, &Content::unshared(user.clone(), start, len, acts));
                slots.push(&legacy, user, mu);
            },
        )?;
        slots.shrink_to_fit();
        drop(tx);
        drop(conn);
        Ok(WeekOutline {
            slots,
            mus,
            hash: digest.finish(),
            bu: bu.to_string(),
            week: week.to_string(),
            source: self.clone(),
        })
    }

    /// The contents of `slots` of week (`bu`, `week`), as [`Reader::week`] reads them (each
    /// row's activities read again by [`crate::store::desired::stored_activity_times`]: the
    /// outline read the same rows whole, in a transaction of the same `map`).
    fn contents(&self, bu: &str, week: &str, slots: &Slots, which: &[u32]) -> Result<Vec<Desired>> {
        let conn = self.conn.lock().expect("desired-state reader");
        let tx = self.fresh(&conn)?;
        let mut out = Vec::with_capacity(which.len());
        let mut times: Vec<(i64, i64, i64)> = Vec::new();
        let ids = which.iter().map(|&i| slots.legacy(i as usize));
        crate::store::desired::for_each_stored_by_id(&tx, ids, |legacy, row| {
            let slot = which[out.len()] as usize;
            let Some((start, len, text)) = row else {
                return Err(Error::failure(
                    format!(
                        "shift `{legacy}` of week {bu} {week} left the desired state during the load"
                    ),
                    Some("run `zd2gc validate`, then `zd2gc load` again (it resumes)".into()),
                ));
            };
            let unreadable = |e: String| {
                Error::failure(
                    format!("the desired state of shift `{legacy}` cannot be read: {e}"),
                    Some("run `zd2gc map` again to rebuild the desired state".into()),
                )
            };
            times.clear();
            crate::store::desired::stored_activity_times(text, |k, o, l| times.push((k, o, l)))
                .map_err(|e| {
                    unreadable(format!("activities are not in the expected form ({e})"))
                })?;
            let mut acts = Vec::with_capacity(times.len());
            for &(k, offset, minutes) in &times {
                let Some((id, code, desc)) = self.kind_ids.get(&k) else {
                    return Err(unreadable(format!(
                        "activity kind {k} is not in activity_kinds"
                    )));
                };
                acts.push(Act::of_kind(start + offset, minutes, *id, code, desc));
            }
            out.push(Desired {
                legacy: slots.legacy(slot).to_string(),
                mu: slots.mu(slot).clone(),
                content: Content::new(slots.user(slot).clone(), start, len, acts),
            });
            Ok(())
        })?;
        Ok(out)
    }
}

/// One desired shift of a week as a round's partition needs it: its legacy id, user and
/// management unit (its contents are read when its component is merged).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slot {
    pub legacy: String,
    pub user: Label,
    pub mu: Label,
}

/// A week's [`Slot`]s, compact (issue #17: a week of the whole export holds 45,000): the legacy
/// ids end to end in one text, and each slot's user and unit as an index into a table of the
/// labels pushed (by address: each comes back as the very label pushed). About 12 bytes a slot
/// besides its id's, where a `Slot` takes 56 and its id's allocation.
#[derive(Debug, Default)]
pub struct Slots {
    ids: String,
    /// Where each slot's id ends in `ids`.
    ends: Vec<u32>,
    user: Vec<u32>,
    mu: Vec<u32>,
    labels: Vec<Label>,
    label_of: rustc_hash::FxHashMap<usize, u32>,
}

impl Slots {
    /// Room for `n` slots.
    pub fn with_capacity(n: usize) -> Slots {
        Slots {
            ends: Vec::with_capacity(n),
            user: Vec::with_capacity(n),
            mu: Vec::with_capacity(n),
            ..Slots::default()
        }
    }

    fn label_index(&mut self, l: Label) -> u32 {
        let key = std::sync::Arc::as_ptr(&l) as *const u8 as usize;
        *self.label_of.entry(key).or_insert_with(|| {
            self.labels.push(l);
            (self.labels.len() - 1) as u32
        })
    }

    pub fn push(&mut self, legacy: &str, user: Label, mu: Label) {
        self.ids.push_str(legacy);
        let end = u32::try_from(self.ids.len()).expect("a week's legacy ids under 4 GiB");
        self.ends.push(end);
        let u = self.label_index(user);
        self.user.push(u);
        let m = self.label_index(mu);
        self.mu.push(m);
    }

    /// The ids' text at its length (once every slot is pushed).
    pub fn shrink_to_fit(&mut self) {
        self.ids.shrink_to_fit();
        self.label_of = Default::default();
    }

    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// Slot `i`'s legacy id.
    pub fn legacy(&self, i: usize) -> &str {
        let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
        &self.ids[start..self.ends[i] as usize]
    }

    pub fn user(&self, i: usize) -> &Label {
        &self.labels[self.user[i] as usize]
    }

    pub fn mu(&self, i: usize) -> &Label {
        &self.labels[self.mu[i] as usize]
    }

    /// Slot `i`.
    pub fn get(&self, i: usize) -> Slot {
        Slot {
            legacy: self.legacy(i).to_string(),
            user: self.user(i).clone(),
            mu: self.mu(i).clone(),
        }
    }

    /// Every slot, in order.
    pub fn to_vec(&self) -> Vec<Slot> {
        (0..self.len()).map(|i| self.get(i)).collect()
    }
}

impl<'a> FromIterator<&'a Slot> for Slots {
    fn from_iter<I: IntoIterator<Item = &'a Slot>>(it: I) -> Slots {
        let mut v = Slots::default();
        for s in it {
            v.push(&s.legacy, s.user.clone(), s.mu.clone());
        }
        v
    }
}

/// One business-unit week of the desired state for `load` ([`Reader::outline`]): its loadable
/// shifts in legacy-id order without their contents, its management units and its digest.
pub struct WeekOutline {
    pub slots: Slots,
    /// Management units whose agent schedules tell the week's state (of desired and linked users).
    pub mus: BTreeSet<String>,
    /// The week's digest ([`week_digest`]).
    pub hash: i64,
    bu: String,
    week: String,
    source: std::sync::Arc<Reader>,
}

impl WeekOutline {
    /// How many desired shifts.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// The desired shifts of these slots (indices into `slots`), in the order given, with their
    /// contents read now: each equal to the shift [`Reader::week`] reads.
    pub fn read(&self, which: &[u32]) -> Result<Vec<Desired>> {
        self.source
            .contents(&self.bu, &self.week, &self.slots, which)
    }

    /// Every desired shift of the week, as [`Reader::week`] reads them.
    pub fn read_all(&self) -> Result<Vec<Desired>> {
        let all: Vec<u32> = (0..self.slots.len() as u32).collect();
        self.source
            .contents(&self.bu, &self.week, &self.slots, &all)
    }
}

/// The digest of a week's desired shifts (in legacy-id order) that the journal keeps
/// (`load_weeks.desired_hash`): a done week whose digest is unchanged needs no request. Its
/// input is frozen: a change here makes every journaled week look changed to a resumed load.
pub fn week_digest(bu: &str, week: &str, desired: &[Desired]) -> i64 {
    let mut h = WeekDigest::new(bu, week);
    for d in desired {
        h.push(&d.legacy, &d.content);
    }
    h.finish()
}

/// [`week_digest`] taken one shift at a time (in legacy-id order), so a week's digest needs no
/// week of shifts in memory.
pub struct WeekDigest(sha2::Sha256);

impl WeekDigest {
    pub fn new(bu: &str, week: &str) -> WeekDigest {
        let mut h = sha2::Sha256::new();
        h.update(bu.as_bytes());
        h.update(week.as_bytes());
        WeekDigest(h)
    }

    /// The next shift of the week.
    pub fn push(&mut self, legacy: &str, content: &Content) {
        self.0.update(legacy.as_bytes());
        self.0.update(content.to_json().as_bytes());
    }

    pub fn finish(self) -> i64 {
        let digest = self.0.finalize();
        i64::from_le_bytes(digest[..8].try_into().expect("8 bytes"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// The compact units answer as the crosswalk's map (the oracle: the `HashMap` itself),
        /// for its users and for others (prefixes, empty, extensions of its ids).
        #[test]
        fn user_units_answer_as_the_map(
                map in proptest::collection::hash_map("[a-c]{0,4}", "[m-n]{0,2}", 0..20),
                probe in proptest::collection::vec("[a-d]{0,5}", 0..20)) {
            let units = UserUnits::from(map.clone());
            for u in map.keys().chain(&probe) {
                proptest::prop_assert_eq!(units.get(u), map.get(u).map(String::as_str), "{:?}", u);
                proptest::prop_assert_eq!(units.contains_key(u), map.contains_key(u));
            }
        }
    }

    /// A loadable shift whose agent has no management unit (on the shift or in the crosswalk) is
    /// found by the index, and refused with a diagnostic at the agent's row of agents.csv.
    #[test]
    fn shifts_without_a_management_unit_are_refused_at_the_agents_row() {
        const U1: &str = "00000000-0000-4000-8000-000000000001";
        const U2: &str = "00000000-0000-4000-8000-000000000002";
        const BU: &str = "00000000-0000-4000-8000-0000000000b1";
        let dir = tempfile::tempdir().unwrap();
        let mut conn = crate::store::open_state(dir.path()).unwrap();
        let tx = conn.transaction().unwrap();
        crate::store::desired::set_mapped_snapshot(&tx, "s1").unwrap();
        crate::store::desired::ShiftWriter::write(&tx, |w| {
            for (id, agent, user, mu) in [("S1", "A1", U1, Some("mu1")), ("S2", "A2", U2, None)] {
                w.upsert(&crate::store::desired::ShiftRow {
                    agent_id: agent,
                    exported_agent_id: agent,
                    user_id: Some(user),
                    management_unit_id: mu,
                    ..crate::store::desired::ShiftRow::sample(id)
                })?;
            }
            Ok(())
        })
        .unwrap();
        tx.commit().unwrap();
        let idx = index(&conn, &HashSet::new()).unwrap();
        assert_eq!(
            idx.without_unit,
            BTreeMap::from([("A2".to_string(), U2.to_string())])
        );
        // Held back for an error of the agent: nothing to refuse.
        let held = index(&conn, &HashSet::from(["A2".to_string()])).unwrap();
        assert!(held.without_unit.is_empty());
        let m = dir.path().join("mappings");
        std::fs::create_dir_all(&m).unwrap();
        std::fs::write(
            m.join("agents.csv"),
            format!("zendesk_agent_id,email,genesys_user_id,business_unit_id\n# a comment\nA1,,{U1},{BU}\n,a2@x.example,{U2},{BU}\n"),
        )
        .unwrap();
        assert!(refuse_without_unit(&conn, dir.path(), &BTreeMap::new()).is_ok());
        match refuse_without_unit(&conn, dir.path(), &idx.without_unit) {
            Err(Error::Source(d)) => {
                assert_eq!(
                    (d.code.as_str(), d.file.as_str(), d.line),
                    ("unmapped-management-unit", "mappings/agents.csv", 4)
                );
                assert_eq!(d.text, Some(format!(",a2@x.example,{U2},{BU}")));
                assert!(
                    d.message.contains(&format!("`A2` (user `{U2}`)")),
                    "{}",
                    d.message
                );
                assert!(d.message.contains("Nothing was written"), "{}", d.message);
                assert!(d.help.as_deref().unwrap().contains("management_unit_id"));
            }
            other => panic!("{other:?}"),
        }
    }

    /// The week digest journaled by earlier versions of zd2gc is recognised: the JSON of each
    /// shift is the journal's form, and the digest is a SHA-256 over the business unit, the week
    /// and each shift's legacy id and JSON (the expected value computed independently, with
    /// Python's hashlib over the same bytes).
    #[test]
    fn the_week_digest_is_the_one_journaled_before() {
        let c1 = Content::new(
            label("user-1"),
            1_792_393_200,
            480,
            vec![
                Act::new(1_792_396_800, 30, "ac-2", "Lunch \"x\" é"),
                Act::new(1_792_393_200, 60, "ac-1", "On Queue Work"),
            ],
        );
        assert_eq!(
            c1.to_json(),
            r#"{"user":"user-1","start":1792393200,"len":480,"acts":[{"start":1792393200,"len":60,"code":"ac-1","desc":"On Queue Work"},{"start":1792396800,"len":30,"code":"ac-2","desc":"Lunch \"x\" é"}]}"#
        );
        assert_eq!(Content::from_json(&c1.to_json()), Some(c1.clone()));
        let c2 = Content::new(label("user-2"), 1_792_479_600, 300, vec![]);
        let desired = [
            Desired {
                legacy: "S1".into(),
                mu: label("mu-1"),
                content: c1,
            },
            Desired {
                legacy: "S2".into(),
                mu: label(""),
                content: c2,
            },
        ];
        assert_eq!(
            week_digest("bu-1", "2026-10-19", &desired),
            -3_075_112_860_646_201_238
        );
    }

    /// A week's shifts as read: their activities decoded, sorted, with their labels, and each
    /// shift's activities the one shared copy of that list (a journaled base or a Genesys shift
    /// with the same activities is the same allocation).
    #[test]
    fn a_week_holds_each_shift_with_its_shared_activities() {
        let dir = tempfile::tempdir().unwrap();
        let mut conn = crate::store::open_state(dir.path()).unwrap();
        let tx = conn.transaction().unwrap();
        crate::store::desired::set_mapped_snapshot(&tx, "s1").unwrap();
        crate::store::desired::ShiftWriter::write(&tx, |w| {
            w.add_kind(1, "ac-q", "On Queue Work")?;
            w.add_kind(2, "ac-l", "Lunch")?;
            // The stored form (`activities_compact`) of [[1,3600,60,"T2"],[2,0,60,null]] and
            // [[1,0,30,null],[2,1800,30,null],[1,3600,60,"T3"]].
            for (id, acts) in [("S1", "1@3600,60,T2;2@0,60"), ("S2", "1,30;2,30;1,60,T3")] {
                w.upsert(&crate::store::desired::ShiftRow {
                    activities: acts,
                    ..crate::store::desired::ShiftRow::sample(id)
                })?;
            }
            Ok(())
        })
        .unwrap();
        tx.commit().unwrap();
        let read = Connection::open(crate::store::state_path(dir.path())).unwrap();
        let reader = Reader::open(read, HashSet::new()).unwrap();
        let index = reader.with(|c| index(c, &HashSet::new())).unwrap();
        reader.release().unwrap();
        let week = reader.week(&index, "bu", "2026-10-19").unwrap();
        assert_eq!(week.desired.len(), 2);
        assert_eq!(week.desired.capacity(), 2);
        let s1 = &week.desired[0].content;
        assert_eq!(
            s1.acts
                .iter()
                .map(|a| (a.start - s1.start, a.minutes(), &**a.code(), &**a.desc()))
                .collect::<Vec<_>>(),
            [
                (0, 60, "ac-l", "Lunch"),
                (3600, 60, "ac-q", "On Queue Work")
            ]
        );
        for d in &week.desired {
            let again = Content::from_json(&d.content.to_json()).unwrap();
            assert!(
                std::sync::Arc::ptr_eq(&d.content.acts, &again.acts),
                "{d:?}"
            );
        }
        assert_eq!(week.mus, BTreeSet::from(["mu1".to_string()]));
    }

    /// Under `--allow-errors`, a shift with an error finding on one of its task ids is held back
    /// whether the id is packed (`#` and 16 bytes of `task_uuids`, schema 13) or written out (a
    /// row of schema 12): the index reads the packed ids back to their text. Shifts whose ids
    /// have no finding load, and packed bytes that the text does not account for are an error,
    /// never a shift loaded with other task ids.
    #[test]
    fn an_error_on_a_packed_task_id_holds_its_shift_back() {
        use crate::store::uuid16;
        const U1: &str = "00000000-0000-4000-8000-0000000000a1";
        const U2: &str = "ffffffff-0000-4000-8000-0000000000a2";
        const U3: &str = "12345678-9abc-4def-8000-0000000000a3";
        const U4: &str = "00000000-0000-4000-8000-0000000000a4";
        let dir = tempfile::tempdir().unwrap();
        let mut conn = crate::store::open_state(dir.path()).unwrap();
        let tx = conn.transaction().unwrap();
        crate::store::desired::set_mapped_snapshot(&tx, "s1").unwrap();
        let packed = |ids: &[&str]| -> Vec<u8> {
            ids.iter().flat_map(|u| uuid16::pack(u).unwrap()).collect()
        };
        let (p12, p4) = (packed(&[U1, U2]), packed(&[U4]));
        let s2 = format!("1,60,{U3}");
        crate::store::desired::ShiftWriter::write(&tx, |w| {
            w.add_kind(1, "ac-q", "On Queue Work")?;
            for (id, acts, uuids) in [
                ("S1", "1,60#;1,60#", &p12[..]),
                ("S2", &s2[..], &[][..]),
                ("S3", "1,60#", &p4[..]),
                ("S4", "1,60", &[][..]),
            ] {
                w.upsert(&crate::store::desired::ShiftRow {
                    activities: acts,
                    task_uuids: uuids,
                    ..crate::store::desired::ShiftRow::sample(id)
                })?;
            }
            Ok(())
        })
        .unwrap();
        tx.commit().unwrap();
        let errors: HashSet<String> = [U2, U3].map(str::to_string).into();
        let idx = index(&conn, &errors).unwrap();
        let held: BTreeSet<&str> = idx.held.iter().map(String::as_str).collect();
        assert_eq!(held, BTreeSet::from(["S1", "S2"]));
        assert_eq!(idx.shifts(), 2);
        assert_eq!(idx.held_by_reason["validation-error"], 2);
        // Without findings the activities are not even decoded: every shift loads.
        assert_eq!(index(&conn, &HashSet::new()).unwrap().shifts(), 4);
        conn.execute(
            "UPDATE desired_shift_rows SET task_uuids = ?1 WHERE legacy_shift_id = 'S3'",
            [&p12[..]],
        )
        .unwrap();
        let err = index(&conn, &errors).unwrap_err().to_string();
        assert!(
            err.contains("`S3` cannot be read") && err.contains("bytes of task ids"),
            "{err}"
        );
    }

    /// The inputs `map::current::record` keeps for a map run `run_id` of snapshot `s1`.
    fn map_inputs(run_id: i64) -> crate::map::current::MapInputs {
        crate::map::current::MapInputs {
            run_id,
            snapshot_id: "s1".into(),
            config_sha256: None,
            mappings_dir: String::new(),
            tables: Default::default(),
            online: false,
            cache_generation: 0,
        }
    }

    /// A week's outline and the contents its rounds read by component are the week as
    /// [`Reader::week`] reads it (the oracle: the whole week read at once): the same loadable
    /// shifts in the same order (held-back, unmapped and erroneous ones left out), the same
    /// contents and shared activity lists for any slots read in any order, the same management
    /// units and digest. Reading after `map` ran again is refused.
    #[test]
    fn an_outline_and_its_components_read_the_week() {
        use crate::store::desired::ShiftRow;
        let dir = tempfile::tempdir().unwrap();
        let mut conn = crate::store::open_state(dir.path()).unwrap();
        crate::map::current::record(&conn, &map_inputs(1)).unwrap();
        let tx = conn.transaction().unwrap();
        crate::store::desired::set_mapped_snapshot(&tx, "s1").unwrap();
        crate::store::desired::ShiftWriter::write(&tx, |w| {
            w.add_kind(1, "ac-q", "On Queue Work")?;
            w.add_kind(2, "ac-l", "Lunch")?;
            let rows = [
                // Activities stored out of order: sorted when read.
                (
                    "S1",
                    "u1",
                    Some("mu1"),
                    1_792_393_200,
                    "1@3600,60,T2;2@0,60",
                    None,
                    None,
                ),
                (
                    "S2",
                    "u2",
                    Some("mu2"),
                    1_792_400_000,
                    "1,30;2,30;1,60,T3",
                    None,
                    None,
                ),
                (
                    "S3",
                    "u1",
                    Some("mu1"),
                    1_792_410_000,
                    "1,60",
                    Some("overlap"),
                    None,
                ),
                ("S4", "u3", None, 1_792_420_000, "2,45;1,60", None, None),
                (
                    "S5",
                    "u1",
                    Some("mu1"),
                    1_792_990_000,
                    "1,60",
                    None,
                    Some("2026-10-26"),
                ),
                ("S6", "", Some("mu1"), 1_792_430_000, "1,60", None, None),
                (
                    "S7",
                    "u2",
                    Some("mu2"),
                    1_792_440_000,
                    "1,60,T9",
                    None,
                    None,
                ),
                (
                    "S8",
                    "u2",
                    Some("mu3"),
                    1_792_450_000,
                    "2@600,3000000000;1@0,10",
                    None,
                    None,
                ),
            ];
            for (id, user, mu, start, acts, held, week) in rows {
                w.upsert(&ShiftRow {
                    user_id: (!user.is_empty()).then_some(user),
                    management_unit_id: mu,
                    start_utc: Some(start),
                    activities: acts,
                    held_back_reason: held,
                    week_id: Some(week.unwrap_or("2026-10-19")),
                    ..ShiftRow::sample(id)
                })?;
            }
            Ok(())
        })
        .unwrap();
        tx.commit().unwrap();
        let errors: HashSet<String> = ["T9".to_string()].into();
        let read = Connection::open(crate::store::state_path(dir.path())).unwrap();
        let reader = Reader::open(read, HashSet::new())
            .unwrap()
            .with_error_ids(errors);
        let index = reader.with(|c| index(c, reader.error_ids())).unwrap();
        reader.release().unwrap();
        let reader = std::sync::Arc::new(reader);
        let week = reader.week(&index, "bu", "2026-10-19").unwrap();
        let legacy: Vec<&str> = week.desired.iter().map(|d| d.legacy.as_str()).collect();
        assert_eq!(legacy, ["S1", "S2", "S4", "S8"]);
        let outline = reader.outline(&index, "bu", "2026-10-19").unwrap();
        assert_eq!(outline.len(), 4);
        assert_eq!(outline.hash, week.hash);
        assert_eq!(outline.mus, week.mus);
        let slots: Vec<Slot> = week
            .desired
            .iter()
            .map(|d| Slot {
                legacy: d.legacy.clone(),
                user: d.content.user.clone(),
                mu: d.mu.clone(),
            })
            .collect();
        assert_eq!(outline.slots.to_vec(), slots);
        assert_eq!(outline.read_all().unwrap(), week.desired);
        let some = outline.read(&[3, 0, 2]).unwrap();
        assert_eq!(
            some,
            [3, 0, 2].map(|k: usize| week.desired[k].clone()).to_vec()
        );
        for (a, b) in some.iter().zip([3, 0, 2]) {
            assert!(std::sync::Arc::ptr_eq(
                &a.content.acts,
                &week.desired[b].content.acts
            ));
        }
        assert!(outline.read(&[]).unwrap().is_empty());
        let next = reader.outline(&index, "bu", "2026-10-26").unwrap();
        assert_eq!(
            next.hash,
            reader.week(&index, "bu", "2026-10-26").unwrap().hash
        );
        assert_eq!(next.read_all().unwrap().len(), 1);
        crate::map::current::record(&conn, &map_inputs(2)).unwrap();
        let err = outline.read(&[0]).unwrap_err();
        assert!(err.to_string().contains("map ran again (run 2)"), "{err}");
    }

    /// A week read after another map recorded its run is refused: a load never mixes two maps.
    #[test]
    fn a_week_read_after_map_ran_again_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let conn = crate::store::open_state(dir.path()).unwrap();
        crate::map::current::record(&conn, &map_inputs(1)).unwrap();
        let read = Connection::open(crate::store::state_path(dir.path())).unwrap();
        let reader = Reader::open(read, HashSet::new()).unwrap();
        let index = reader.with(|c| index(c, &HashSet::new())).unwrap();
        reader.release().unwrap();
        let week = reader.week(&index, "bu", "2026-10-19").unwrap();
        assert!(week.desired.is_empty());
        crate::map::current::record(&conn, &map_inputs(2)).unwrap();
        let err = reader.week(&index, "bu", "2026-10-19").unwrap_err();
        assert!(err.to_string().contains("map ran again (run 2)"), "{err}");
    }
}
