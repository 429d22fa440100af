//! Trade rules: repeated trade ids (duplicate or conflicting), unknown shifts and agents, trades
//! with oneself, several approved trades for one swap request, pending trades and who owns their
//! shifts, and the DST rules on the trade's local times (zone: the trade's, else the requester's).
//!
//! Trades are streamed by trade id (index `trades_by_id`); a repeated id is judged against its
//! first occurrence and then collapsed. Owners are looked up by shift id (index `shifts_by_id`).

use super::Env;
use super::shifts::{At, check_time};
use crate::config::{PendingTradePolicy, Severity};
use crate::error::Result;
use crate::report::Finding;
use crate::timeval;
use crate::timeval::zone::ZoneSel;
use rusqlite::{Connection, OptionalExtension};

const COLS: [&str; 14] = [
    "file_id",
    "line",
    "trade_id",
    "swap_request_id",
    "status",
    "requester_agent_id",
    "requester_shift_id",
    "recipient_agent_id",
    "recipient_shift_id",
    "requester_shift_start_local",
    "recipient_shift_start_local",
    "created_at_local",
    "resolved_at_local",
    "timezone",
];

/// A trade row: file id, line, and the text columns (index 2.. of [`COLS`]; empty = `None`).
struct Trade {
    file_id: i64,
    line: i64,
    v: Vec<Option<String>>,
}

impl Trade {
    fn get(&self, col: usize) -> Option<&str> {
        self.v[col - 2].as_deref()
    }
    fn s(&self, col: usize) -> &str {
        self.get(col).unwrap_or_default()
    }
    fn status(&self) -> String {
        self.s(4).to_ascii_lowercase()
    }
    fn is_pending(&self) -> bool {
        matches!(self.status().as_str(), "requested" | "offered" | "accepted")
    }
}

fn nz(s: Option<String>) -> Option<String> {
    s.map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
}

/// The owner of a shift id: the agent of its first row in file order among its published rows
/// (or rows with no `published`, first of all), else among its drafts. What
/// `SELECT agent_id FROM shift_rows WHERE shift_id IN (text, packed) ORDER BY published = 0 LIMIT 1`
/// gives (SQLite sorts with the rows' scan order, rowid order, as the last key: a stable sort),
/// without that statement's two temporary b-trees (the `IN` list's and the sort's), about 60,000
/// instructions a look-up: the rows of the id in the form the table keeps ids in (all packed or
/// all text, see `extract::stage::shift_id_str`), compared here.
struct Owners<'c> {
    st: rusqlite::Statement<'c>,
    /// The table keeps ids as 16-byte BLOBs.
    packed: bool,
}

/// The owner look-up as one statement (the oracle of [`Owners`]' test).
#[cfg(test)]
const OWNER_SQL: &str =
    "SELECT agent_id FROM shift_rows WHERE shift_id IN (?1, ?2) ORDER BY published = 0 LIMIT 1";

impl<'c> Owners<'c> {
    fn prepare(snap: &'c Connection) -> Result<Owners<'c>> {
        let packed = snap
            .query_row(
                "SELECT typeof(shift_id) = 'blob' FROM shift_rows LIMIT 1",
                [],
                |r| r.get::<_, bool>(0),
            )
            .optional()?
            .unwrap_or(false);
        let st =
            snap.prepare("SELECT agent_id, published = 0 FROM shift_rows WHERE shift_id = ?1")?;
        Ok(Owners { st, packed })
    }

    /// The owner of shift `id` (`None`: no row, or its agent id is not a text).
    fn of(&mut self, id: &str) -> Option<String> {
        let (text, as_kept) = crate::extract::stage::shift_key(id);
        let key = if self.packed { as_kept } else { text };
        let mut rows = self.st.query([key]).ok()?;
        // The sort key `published = 0`: NULL sorts first, then 0 (published), then 1 (a draft).
        let rank = |v: Option<i64>| v.map_or(0, |d| 1 + i64::from(d != 0));
        let mut best: Option<(i64, rusqlite::Result<String>)> = None;
        while let Some(r) = rows.next().ok()? {
            let k = rank(r.get::<_, Option<i64>>(1).ok()?);
            if best.as_ref().is_none_or(|(b, _)| k < *b) {
                best = Some((k, r.get::<_, String>(0)));
            }
        }
        best.and_then(|(_, agent)| agent.ok())
    }
}

/// Every trade rule.
pub fn check_trades(env: &mut Env<'_>, snap: &Connection) -> Result<()> {
    let sql = format!("SELECT {} FROM trades ORDER BY trade_id", COLS.join(", "));
    let mut st = snap.prepare(&sql)?;
    let mut owners = Owners::prepare(snap)?;
    let mut rows = st.query([])?;
    let mut first: Option<Trade> = None;
    loop {
        let t = match rows.next()? {
            None => None,
            Some(r) => {
                let mut v = Vec::with_capacity(12);
                for i in 2..COLS.len() {
                    v.push(nz(r.get(i)?));
                }
                Some(Trade {
                    file_id: r.get(0)?,
                    line: r.get(1)?,
                    v,
                })
            }
        };
        if let (Some(f), Some(t)) = (&first, &t)
            && f.get(2) == t.get(2)
        {
            env.records += 1;
            repeated(env, f, t);
            continue;
        }
        if let Some(f) = first.take() {
            trade_rules(env, &f, &mut |s| owners.of(s));
        }
        let Some(t) = t else { break };
        env.records += 1;
        first = Some(t);
    }
    multiple_approved(env, snap)
}

fn at(env: &Env<'_>, rule: &str, sev: Severity, t: &Trade, message: String) -> Finding {
    let mut f = Finding::new(rule, sev, message);
    f.file = env.file(t.file_id);
    f.line = Some(t.line as u64);
    f.record_id = t.get(2).map(str::to_string);
    f
}

fn repeated(env: &mut Env<'_>, first: &Trade, t: &Trade) {
    let id = t.s(2);
    let first_at = format!(
        "{}:{}",
        env.file(first.file_id).unwrap_or_default(),
        first.line
    );
    let mut f = if first.v == t.v {
        let mut f = at(
            env,
            "duplicate-trade-id",
            Severity::Warning,
            t,
            format!(
                "trade `{id}` appears again with identical content (first at {first_at}); collapsed to one"
            ),
        );
        f.help = "nothing to do unless the repeat is a mistake in the export".into();
        f
    } else {
        let diff: Vec<&str> = (3..COLS.len())
            .filter(|&c| first.get(c) != t.get(c))
            .map(|c| COLS[c])
            .collect();
        let mut f = at(
            env,
            "conflicting-trade-id",
            Severity::Error,
            t,
            format!(
                "trade `{id}` appears again with different content (first at {first_at}; differs in {})",
                diff.join(", ")
            ),
        );
        if let Some(c) = diff.first() {
            let col = COLS.iter().position(|x| x == c).unwrap_or(2);
            f.field = Some(c.to_string());
            f.value = t.get(col).map(str::to_string);
        }
        f.help = "keep the one true version of the trade in the export".into();
        f
    };
    if f.field.is_none() {
        f.field = Some("trade_id".into());
        f.value = Some(id.to_string());
    }
    env.sink.push(f);
}

fn trade_rules(env: &mut Env<'_>, t: &Trade, owner: &mut dyn FnMut(&str) -> Option<String>) {
    let id = t.s(2).to_string();
    let (req, rec) = (t.s(5).to_string(), t.s(7).to_string());
    if !req.is_empty() && req == rec {
        let mut f = at(
            env,
            "trade-self",
            Severity::Error,
            t,
            format!("trade `{id}`: requester and recipient are the same agent `{req}`"),
        );
        f.field = Some("recipient_agent_id".into());
        f.value = Some(rec.clone());
        f.help = "correct the recipient in the export, or remove the trade".into();
        env.sink.push(f);
    }
    let unknown: Vec<(&str, &str)> = [(5, "requester_agent_id"), (7, "recipient_agent_id")]
        .into_iter()
        .filter(|&(c, _)| t.get(c).is_some_and(|a| !env.agents.contains_key(a)))
        .map(|(c, n)| (n, t.s(c)))
        .collect();
    if let Some(&(field, value)) = unknown.first() {
        let mut f = at(
            env,
            "trade-unknown-agent",
            Severity::Error,
            t,
            format!(
                "trade `{id}` names agent{} {} not in the agents file",
                if unknown.len() > 1 { "s" } else { "" },
                unknown
                    .iter()
                    .map(|(_, v)| format!("`{v}`"))
                    .collect::<Vec<_>>()
                    .join(" and ")
            ),
        );
        f.field = Some(field.into());
        f.value = Some(value.into());
        f.help = "export the agent too, or correct the id".into();
        env.sink.push(f);
    }
    let mut owners: [Option<String>; 2] = [None, None];
    let mut missing: Vec<(&str, String)> = Vec::new();
    for (k, (c, name)) in [(6, "requester_shift_id"), (8, "recipient_shift_id")]
        .into_iter()
        .enumerate()
    {
        if let Some(s) = t.get(c) {
            match owner(s) {
                Some(o) => owners[k] = Some(o),
                None => missing.push((name, s.to_string())),
            }
        }
    }
    if let Some((field, value)) = missing.first() {
        let mut f = at(
            env,
            "trade-unknown-shift",
            Severity::Error,
            t,
            format!(
                "trade `{id}` names shift{} {} not in the export",
                if missing.len() > 1 { "s" } else { "" },
                missing
                    .iter()
                    .map(|(_, v)| format!("`{v}`"))
                    .collect::<Vec<_>>()
                    .join(" and ")
            ),
        );
        f.field = Some(field.to_string());
        f.value = Some(value.clone());
        f.help = "export the shift too (its period may lie outside the export's range), or correct the id".into();
        env.sink.push(f);
    }
    if t.is_pending() {
        for (k, (agent, field)) in [
            (req.as_str(), "requester_shift_id"),
            (rec.as_str(), "recipient_shift_id"),
        ]
        .into_iter()
        .enumerate()
        {
            if let Some(o) = &owners[k]
                && o != agent
            {
                let shift = t.s(if k == 0 { 6 } else { 8 });
                let mut f = at(
                    env,
                    "trade-shift-owner-mismatch",
                    Severity::Warning,
                    t,
                    format!(
                        "pending trade `{id}` says shift `{shift}` belongs to agent `{agent}`, but the export gives it to `{o}`"
                    ),
                );
                f.field = Some(field.into());
                f.value = Some(shift.into());
                f.help = "the trade is stale: resolve it in Zendesk before the final export, or set `pending_trades = \"drop\"`".into();
                env.sink.push(f);
            }
        }
        let what = match env.cfg.pending_trades {
            PendingTradePolicy::Report => {
                "`pending_trades = \"report\"`: the shifts load as exported and the trade is listed"
            }
            PendingTradePolicy::Apply => {
                "`pending_trades = \"apply\"`: the shifts swap owners before load"
            }
            PendingTradePolicy::Drop => "`pending_trades = \"drop\"`: the trade is ignored",
        };
        let mut f = at(
            env,
            "trade-pending",
            Severity::Warning,
            t,
            format!(
                "trade `{id}` (swap request `{}`) is still `{}` at export time; {what}",
                t.s(3),
                t.s(4)
            ),
        );
        f.field = Some("status".into());
        f.value = Some(t.s(4).into());
        f.help = "resolve the trade in Zendesk before the final export, or choose `pending_trades` in zd2gc.toml".into();
        env.sink.push(f);
    }

    // The trade's local times.
    let own = env.zones.sel(t.get(13));
    if own == ZoneSel::Unknown {
        let mut f = at(
            env,
            "unknown-timezone",
            Severity::Error,
            t,
            format!(
                "zone `{}` is not in the tz database; the trade's local times cannot be resolved",
                t.s(13)
            ),
        );
        f.field = Some("timezone".into());
        f.value = t.get(13).map(str::to_string);
        f.help = "use an IANA zone name such as `Europe/Paris`, or leave it empty for the requester's zone".into();
        env.sink.push(f);
    }
    let zone = env.row_zone(t.get(13), &req);
    let mut sub_minute = false;
    for (c, col) in COLS.iter().enumerate().take(13).skip(9) {
        let Some(text) = t.get(c) else { continue };
        let Ok(v) = timeval::parse_any(text, false) else {
            continue;
        };
        // `sub-minute-time` counts every time value of the export, a trade's four local ones
        // too (one finding per row, at its first such value).
        if v.has_sub_minute() && !sub_minute {
            sub_minute = true;
            let mut f = at(
                env,
                "sub-minute-time",
                Severity::Error,
                t,
                format!("`{text}` has seconds: Genesys schedules in whole minutes"),
            );
            f.field = Some(col.to_string());
            f.value = Some(text.into());
            f.help = "round the time to the minute in the export".into();
            env.sink.push(f);
        }
        if v.is_local() && zone == ZoneSel::Missing {
            let mut f = at(
                env,
                "missing-timezone",
                Severity::Error,
                t,
                format!("`{text}` is a local wall-clock time and no zone applies to trade `{id}`"),
            );
            f.field = Some(col.to_string());
            f.value = Some(text.into());
            f.help = "set `default_timezone` in zd2gc.toml or the trade's `timezone`".into();
            env.sink.push(f);
            break;
        }
        check_time(
            env,
            zone,
            v,
            &At {
                file_id: t.file_id,
                line: t.line,
                record: &id,
                field: col,
                week: v.is_local().then(|| crate::report::week_of(v.secs)),
            },
        );
    }
}

/// More than one approved trade (distinct ids) for one swap request: one finding on each after the
/// first.
fn multiple_approved(env: &mut Env<'_>, snap: &Connection) -> Result<()> {
    let mut st = snap.prepare(
        "SELECT swap_request_id FROM trades WHERE lower(status) = 'approved'
         GROUP BY swap_request_id HAVING count(DISTINCT trade_id) > 1 ORDER BY swap_request_id",
    )?;
    let requests: Vec<String> = st
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let mut each = snap.prepare(
        "SELECT file_id, line, trade_id FROM trades WHERE swap_request_id = ?1 AND lower(status) = 'approved'
         ORDER BY file_id, line",
    )?;
    for sr in requests {
        let rows: Vec<(i64, i64, String)> = each
            .query_map([&sr], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .collect::<rusqlite::Result<_>>()?;
        let mut seen: Vec<&str> = Vec::new();
        for (file_id, line, id) in &rows {
            if seen.contains(&id.as_str()) {
                continue;
            }
            seen.push(id);
            if seen.len() == 1 {
                continue;
            }
            let mut f = Finding::new(
                "multiple-approved-trades",
                Severity::Error,
                format!(
                    "swap request `{sr}` has more than one approved trade: `{id}` after `{}`",
                    seen[0]
                ),
            );
            f.file = env.file(*file_id);
            f.line = Some(*line as u64);
            f.record_id = Some(id.clone());
            f.field = Some("swap_request_id".into());
            f.value = Some(sr.clone());
            f.help = "only one offer of a swap request can have been approved: correct the statuses in the export".into();
            env.sink.push(f);
        }
    }
    Ok(())
}

#[cfg(test)]
mod owner_tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// [`Owners::of`] gives what the one statement [`OWNER_SQL`] gives, for snapshots whose
        /// ids are all packed or all text, repeated ids with every mix of `published` (NULL, 0,
        /// 1, 2), and ids asked for that are absent or in another case.
        #[test]
        fn owners_are_what_the_statement_gives(
            packed in any::<bool>(),
            rows in proptest::collection::vec(
                (0usize..5, 0usize..4, proptest::option::of(0i64..3)), 0..30),
            asks in proptest::collection::vec(0usize..7, 1..10),
        ) {
            let ids = [
                "0e1f2a3b-0000-4000-8000-000000000001",
                "0e1f2a3b-0000-4000-8000-000000000002",
                "0e1f2a3b-0000-4000-8000-000000000003",
                "0e1f2a3b-0000-4000-8000-000000000004",
                "0e1f2a3b-0000-4000-8000-000000000005",
            ];
            let text_ids = ["S1", "S2", "S3", "S10", "s1"];
            let c = Connection::open_in_memory().unwrap();
            c.execute_batch(&crate::extract::stage::SCHEMA).unwrap();
            c.execute_batch(crate::extract::stage::SHIFT_INDEXES).unwrap();
            for (line, (id, agent, published)) in rows.iter().enumerate() {
                let v: rusqlite::types::Value = if packed {
                    crate::store::uuid16::pack(ids[*id]).unwrap().to_vec().into()
                } else {
                    text_ids[*id].to_string().into()
                };
                c.execute(
                    "INSERT INTO shift_rows (file_id, line, shift_id, agent_id, start, end, fmt, published)
                     VALUES (1, ?1, ?2, ?3, 0, 0, 0, ?4)",
                    rusqlite::params![line as i64, v, format!("A{agent}"), published],
                ).unwrap();
            }
            let mut owners = Owners::prepare(&c).unwrap();
            let mut oracle = c.prepare(OWNER_SQL).unwrap();
            for a in asks {
                let probe = if packed {
                    ["0e1f2a3b-0000-4000-8000-000000000001", "0E1F2A3B-0000-4000-8000-000000000001",
                     "0e1f2a3b-0000-4000-8000-000000000002", "0e1f2a3b-0000-4000-8000-000000000003",
                     "0e1f2a3b-0000-4000-8000-000000000004", "0e1f2a3b-0000-4000-8000-000000000005",
                     "0e1f2a3b-0000-4000-8000-000000000009"][a]
                } else {
                    ["S1", "S2", "S3", "S10", "s1", "S4", "0e1f2a3b-0000-4000-8000-000000000001"][a]
                };
                let want = oracle
                    .query_row(<[_; 2]>::from(crate::extract::stage::shift_key(probe)), |r| {
                        r.get::<_, String>(0)
                    })
                    .optional()
                    .unwrap();
                prop_assert_eq!(owners.of(probe), want, "{}", probe);
            }
        }
    }
}
