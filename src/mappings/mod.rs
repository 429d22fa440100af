//! `zd2gc mappings pull`: draft the mapping tables from Genesys Cloud for the engineer to review
//! (docs/mappings.md, "Drafting the tables from Genesys").
//!
//! Writes `business_units.csv` (every business unit with its zone and first day of week),
//! `agents.csv` (each exported agent's user found by e-mail, its management unit and that unit's
//! business unit), `activities.csv` (the export's task names and the default activity → an active,
//! non-TimeOff activity code of that name, per business unit in use) and `time_off.csv` (the
//! export's time-off reasons → an active TimeOff code of that name). There is no management-unit
//! table: the contract has none; a management unit is a column of `agents.csv`.
//!
//! Invariants: a cell already filled is never overwritten (a difference with Genesys is reported
//! at its file and line); what cannot be resolved stays blank and is listed, with the reason;
//! nothing is guessed (two users with one e-mail, two codes with one name: listed, not picked);
//! every answer goes through the Genesys cache, so a re-run asks nothing it asked before
//! (`--refresh` asks again); `--dry-run` writes no table.

pub mod raw;

use crate::config::Config;
use crate::error::{Error, Result};
use crate::map::OnlineMode;
use crate::map::online::Online;
use crate::map::tables::{norm_email, parse_weekday};
use raw::Table;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

/// Options of [`pull_dir`].
#[derive(Debug, Clone, Default)]
pub struct PullOptions {
    pub mappings: Option<PathBuf>,
    pub online: OnlineMode,
    pub refresh: bool,
    pub dry_run: bool,
    pub argv: String,
    /// Where the pull says what it reads and counts (a progress display; none by default).
    pub progress: crate::ui::Counter,
}

/// Something Genesys and a filled cell disagree on, or something left blank.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Note {
    /// `mappings/agents.csv` …
    pub file: String,
    /// The row's line when the table has one.
    pub line: Option<u64>,
    /// What it is about (an agent id, a task name and business unit, …).
    pub subject: String,
    pub message: String,
}

impl std::fmt::Display for Note {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.line {
            Some(l) => write!(f, "{}:{l}: {}: {}", self.file, self.subject, self.message),
            None => write!(f, "{}: {}: {}", self.file, self.subject, self.message),
        }
    }
}

/// What one table got.
#[derive(Debug, Clone, Default, Serialize)]
pub struct TableChange {
    pub file: String,
    pub rows_filled: usize,
    pub rows_added: usize,
    pub written: bool,
}

/// What a pull did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PullOutcome {
    pub dry_run: bool,
    pub tables: Vec<TableChange>,
    pub agents: usize,
    pub agents_resolved: usize,
    pub business_units: usize,
    pub management_units: usize,
    /// Filled cells that differ from what Genesys says (kept as written).
    pub disagreements: Vec<Note>,
    /// What could not be resolved (left blank).
    pub unresolved: Vec<Note>,
    /// Other things worth a look (inactive users, case-only name matches).
    pub notes: Vec<Note>,
    /// Genesys calls made and answers taken from the cache.
    pub online_calls: u64,
    pub cache_hits: u64,
    /// HTTP requests the client sent (token and retries included).
    pub requests: u64,
    /// The `--dry-run` diff.
    #[serde(skip)]
    pub diff: Vec<String>,
    pub seconds: f64,
}

const AGENT_COLS: &[&str] = &[
    "zendesk_agent_id",
    "email",
    "genesys_user_id",
    "management_unit_id",
    "business_unit_id",
];
const BU_COLS: &[&str] = &["business_unit_id", "name", "time_zone", "start_day_of_week"];
const ACT_COLS: &[&str] = &[
    "zendesk_task_name",
    "genesys_activity_code_id",
    "business_unit_id",
];
const TOFF_COLS: &[&str] = &[
    "zendesk_reason",
    "genesys_activity_code_id",
    "business_unit_id",
];

/// An agent of the export.
struct ExportAgent {
    id: String,
    email: Option<String>,
}

/// An agent's answer from Genesys.
#[derive(Default, Clone)]
struct Found {
    user: Option<String>,
    mu: Option<String>,
    bu: Option<String>,
}

/// Draft the mapping tables of a migration directory from Genesys. The library entry point of
/// `zd2gc mappings pull`: no terminal output.
pub fn pull_dir(dir: &Path, cfg: &Config, opts: &PullOptions) -> Result<PullOutcome> {
    let started = std::time::Instant::now();
    let mdir = opts
        .mappings
        .clone()
        .unwrap_or_else(|| dir.join("mappings"));
    let client = match &opts.online {
        OnlineMode::Off => {
            return Err(Error::usage(
                "mappings pull asks Genesys Cloud and needs its credentials",
                Some("set GENESYSCLOUD_OAUTHCLIENT_ID and GENESYSCLOUD_OAUTHCLIENT_SECRET (and GENESYSCLOUD_REGION)".into()),
            ));
        }
        OnlineMode::FromConfig => {
            std::sync::Arc::new(crate::client::Client::from_config(&(&cfg.genesys).into())?)
        }
        OnlineMode::With(c) => c.clone(),
    };
    let requests_before = client.calls();

    // ---- the export -----------------------------------------------------------------------------
    let snap = crate::extract::stage::open_snapshot(dir)?;
    let mut agents: Vec<ExportAgent> = Vec::new();
    let mut seen: BTreeSet<String> = BTreeSet::new();
    {
        let mut st = snap.prepare("SELECT agent_id, email FROM agents ORDER BY file_id, line")?;
        let mut rows = st.query([])?;
        while let Some(r) = rows.next()? {
            let id: String = r.get(0)?;
            let email: Option<String> = r.get(1)?;
            if seen.insert(id.clone()) {
                agents.push(ExportAgent {
                    id,
                    email: email.as_deref().and_then(norm_email),
                });
            }
        }
        let mut st = snap.prepare(
            "SELECT agent_id FROM shift_rows UNION SELECT requester_agent_id FROM trades
             UNION SELECT recipient_agent_id FROM trades ORDER BY 1",
        )?;
        let ids: Vec<String> = st
            .query_map([], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        for id in ids {
            if seen.insert(id.clone()) {
                agents.push(ExportAgent { id, email: None });
            }
        }
    }
    let mut task_names: BTreeSet<String> = {
        let mut st = snap.prepare("SELECT name FROM snapshot_tasks.task_names")?;
        st.query_map([], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?
    };
    if let Some(d) = &cfg.default_activity {
        task_names.insert(d.clone());
    }
    let reasons: BTreeSet<String> = {
        let mut st = snap.prepare(
            "SELECT DISTINCT trim(reason) FROM time_off WHERE reason IS NOT NULL AND trim(reason) != ''",
        )?;
        st.query_map([], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?
    };
    drop(snap);

    // ---- the tables as written ------------------------------------------------------------------
    if !opts.dry_run {
        std::fs::create_dir_all(&mdir).map_err(|e| Error::io(&mdir, e))?;
    }
    let mut t_agents = Table::read(&mdir.join("agents.csv"), "mappings/agents.csv", AGENT_COLS)?;
    let mut t_bus = Table::read(
        &mdir.join("business_units.csv"),
        "mappings/business_units.csv",
        BU_COLS,
    )?;
    let mut t_acts = Table::read(
        &mdir.join("activities.csv"),
        "mappings/activities.csv",
        ACT_COLS,
    )?;
    let mut t_toff = Table::read(
        &mdir.join("time_off.csv"),
        "mappings/time_off.csv",
        TOFF_COLS,
    )?;

    let state = crate::store::open_state(dir)?;
    let run = crate::store::run_start(&state, "mappings", &opts.argv)?;
    let mut out = PullOutcome {
        dry_run: opts.dry_run,
        ..Default::default()
    };
    let mut on = Online::new(&client, &state, run.id, opts.refresh)?;
    let res = pull_inner(
        &mut on,
        &agents,
        &task_names,
        &reasons,
        (&mut t_agents, &mut t_bus, &mut t_acts, &mut t_toff),
        &mut out,
        &opts.progress,
    );
    out.online_calls = on.fetched;
    out.cache_hits = on.hits;
    drop(on);
    let res = res.and_then(|()| {
        for t in [&t_bus, &t_agents, &t_acts, &t_toff] {
            let (filled, added) = t.counts();
            out.diff.extend(t.diff());
            let written = if opts.dry_run { false } else { t.write()? };
            out.tables.push(TableChange {
                file: t.name.clone(),
                rows_filled: filled,
                rows_added: added,
                written,
            });
        }
        Ok(())
    });
    out.requests = client.calls() - requests_before;
    out.seconds = started.elapsed().as_secs_f64();
    let (outcome, code, counts) = match &res {
        Ok(()) => {
            let clean = out.unresolved.is_empty() && out.disagreements.is_empty();
            (
                if clean {
                    crate::store::Outcome::Ok
                } else {
                    crate::store::Outcome::Findings
                },
                if clean { 0 } else { 1 },
                serde_json::json!({
                    "agents": out.agents, "agents_resolved": out.agents_resolved,
                    "unresolved": out.unresolved.len(), "disagreements": out.disagreements.len(),
                    "online_calls": out.online_calls, "cache_hits": out.cache_hits,
                    "dry_run": out.dry_run,
                }),
            )
        }
        Err(e) => (
            crate::store::Outcome::Error,
            e.exit().code(),
            serde_json::json!({"error": e.to_string()}),
        ),
    };
    crate::store::run_end(&state, &run, outcome, code, None, &counts)?;
    res?;
    Ok(out)
}

type Tables<'t> = (&'t mut Table, &'t mut Table, &'t mut Table, &'t mut Table);

fn pull_inner(
    on: &mut Online<'_>,
    agents: &[ExportAgent],
    task_names: &BTreeSet<String>,
    reasons: &BTreeSet<String>,
    (t_agents, t_bus, t_acts, t_toff): Tables<'_>,
    out: &mut PullOutcome,
    progress: &crate::ui::Counter,
) -> Result<()> {
    // ---- business units -------------------------------------------------------------------------
    progress.phase("listing the business units", "", None);
    let org_bus = on.business_units()?;
    let mut bu_names: BTreeMap<String, String> = BTreeMap::new();
    progress.phase(
        "reading each business unit and its activity codes",
        "business units",
        Some(org_bus.len() as u64),
    );
    for (i, b) in org_bus.iter().enumerate() {
        // The units before this one are done.
        progress.set(i as u64);
        let full = on.business_unit(&b.id)?;
        let Some(s) = full.settings else {
            out.unresolved.push(Note {
                file: t_bus.name.clone(),
                line: None,
                subject: format!("business unit `{}`", b.id),
                message: "Genesys returned no settings (zone, first day of week)".into(),
            });
            continue;
        };
        bu_names.insert(b.id.clone(), full.name.clone());
        let day = parse_weekday(&s.start_day_of_week).map(|_| s.start_day_of_week.clone());
        let idx = t_bus
            .rows
            .iter()
            .position(|r| r.get("business_unit_id") == Some(b.id.as_str()));
        match idx {
            Some(i) => {
                let r = &t_bus.rows[i];
                let line = r.line;
                if let Some(z) = r.get("time_zone")
                    && z != s.time_zone
                {
                    out.disagreements.push(Note {
                        file: t_bus.name.clone(),
                        line: Some(line),
                        subject: format!("business unit `{}`", b.id),
                        message: format!("time_zone is `{z}`, Genesys has `{}`", s.time_zone),
                    });
                }
                if let Some(d) = r.get("start_day_of_week")
                    && !d.eq_ignore_ascii_case(&s.start_day_of_week)
                {
                    out.disagreements.push(Note {
                        file: t_bus.name.clone(),
                        line: Some(line),
                        subject: format!("business unit `{}`", b.id),
                        message: format!(
                            "start_day_of_week is `{d}`, Genesys has `{}` (week ids start on that day)",
                            s.start_day_of_week
                        ),
                    });
                }
                t_bus.fill(
                    i,
                    &[
                        ("name", full.name.as_str()),
                        ("time_zone", s.time_zone.as_str()),
                        ("start_day_of_week", day.as_deref().unwrap_or("")),
                    ],
                );
            }
            None => t_bus.append(&[
                ("business_unit_id", b.id.as_str()),
                ("name", full.name.as_str()),
                ("time_zone", s.time_zone.as_str()),
                ("start_day_of_week", day.as_deref().unwrap_or("")),
            ]),
        }
    }
    for r in &t_bus.rows {
        if let Some(id) = r.get("business_unit_id")
            && !org_bus.iter().any(|b| b.id == id)
        {
            out.disagreements.push(Note {
                file: t_bus.name.clone(),
                line: Some(r.line),
                subject: format!("business unit `{id}`"),
                message: "Genesys has no business unit with this id".into(),
            });
        }
    }
    out.business_units = org_bus.len();

    // ---- agents ---------------------------------------------------------------------------------
    // Which management unit each user is in, from each unit's user list: one call per unit
    // instead of one per agent (10,000 agents are about 100 units). A user none of the lists
    // names is asked by user (`GET /agents/{userId}/managementunit`).
    let mut unit_of: HashMap<String, (String, String)> = HashMap::new();
    progress.phase(
        "listing each business unit's management units and their users",
        "business units",
        Some(org_bus.len() as u64),
    );
    for (i, b) in org_bus.iter().enumerate() {
        progress.set(i as u64);
        for mu in on.management_units(&b.id)? {
            for u in on.management_unit_users(&mu.id)? {
                unit_of.insert(u.id, (mu.id.clone(), b.id.clone()));
            }
        }
    }
    let mut by_id: HashMap<String, Vec<usize>> = HashMap::new();
    let mut by_email: HashMap<String, Vec<usize>> = HashMap::new();
    for (i, r) in t_agents.rows.iter().enumerate() {
        if let Some(id) = r.get("zendesk_agent_id") {
            by_id.entry(id.to_string()).or_default().push(i);
        }
        if let Some(e) = r.get("email").and_then(norm_email) {
            by_email.entry(e).or_default().push(i);
        }
    }
    let mut user_agents: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut mus: BTreeSet<String> = BTreeSet::new();
    let mut bus_in_use: BTreeSet<String> = BTreeSet::new();
    progress.phase(
        "matching the export's agents",
        "agents",
        Some(agents.len() as u64),
    );
    for (i, a) in agents.iter().enumerate() {
        progress.set(i as u64);
        out.agents += 1;
        let mut rows: BTreeSet<usize> = BTreeSet::new();
        rows.extend(by_id.get(&a.id).into_iter().flatten());
        if let Some(e) = &a.email {
            rows.extend(by_email.get(e).into_iter().flatten());
        }
        let subject = match &a.email {
            Some(e) => format!("agent `{}` <{e}>", a.id),
            None => format!("agent `{}`", a.id),
        };
        let agents_file = t_agents.name.clone();
        let note = |line: Option<u64>, message: String| Note {
            file: agents_file.clone(),
            line,
            subject: subject.clone(),
            message,
        };
        if rows.len() > 1 {
            let lines: Vec<String> = rows
                .iter()
                .map(|&i| t_agents.rows[i].line.to_string())
                .collect();
            out.unresolved.push(note(
                None,
                format!(
                    "matches rows {} of the table: keep one row per agent",
                    lines.join(", ")
                ),
            ));
            continue;
        }
        let row = rows.iter().next().copied();
        let cell = |c: &str| row.and_then(|i| t_agents.rows[i].get(c).map(str::to_string));
        let line = row.map(|i| t_agents.rows[i].line);
        // The user: by e-mail; a user the table names wins (the engineer decided).
        let mut found = Found::default();
        let mut why_not: Option<String> = None;
        if let Some(e) = &a.email {
            let users = on.users_by_email(e)?;
            match users.as_slice() {
                [] => why_not = Some(format!("no Genesys Cloud user has the e-mail <{e}>")),
                [u] => {
                    found.user = Some(u.id.clone());
                    if u.state.as_deref().is_some_and(|s| s != "active") {
                        out.notes.push(note(
                            line,
                            format!(
                                "Genesys user `{}` is {}",
                                u.id,
                                u.state.as_deref().unwrap_or("")
                            ),
                        ));
                    }
                }
                many => {
                    let mut ids: Vec<&str> = many.iter().map(|u| u.id.as_str()).collect();
                    ids.sort();
                    why_not = Some(format!(
                        "{} Genesys Cloud users have the e-mail <{e}>: {} (not picked; fill genesys_user_id)",
                        many.len(),
                        ids.join(", ")
                    ));
                }
            }
        } else if cell("genesys_user_id").is_none() {
            why_not = Some("no e-mail in the export: fill genesys_user_id".into());
        }
        let table_user = cell("genesys_user_id");
        if let (Some(t), Some(g)) = (&table_user, &found.user)
            && t != g
        {
            out.disagreements.push(note(
                line,
                format!("genesys_user_id is `{t}`, the e-mail finds `{g}`"),
            ));
        }
        let user = table_user.clone().or(found.user.clone());
        if let Some(u) = &user {
            let units = match unit_of.get(u) {
                Some((mu, bu)) => Some((mu.clone(), Some(bu.clone()))),
                None => on.agent_units(u)?,
            };
            match units {
                Some((mu, bu)) => {
                    found.mu = Some(mu);
                    found.bu = bu;
                }
                None => {
                    why_not = Some(format!(
                        "Genesys user `{u}` is in no management unit (add the agent to one in WFM)"
                    ))
                }
            }
        }
        // The table's management unit without a business unit: that unit's.
        let table_mu = cell("management_unit_id");
        if cell("business_unit_id").is_none()
            && let Some(mu) = &table_mu
            && found.mu.as_ref() != Some(mu)
        {
            found.bu = on
                .management_unit(mu)?
                .and_then(|m| m.business_unit)
                .map(|b| b.id);
        }
        for (col, g) in [
            ("management_unit_id", &found.mu),
            ("business_unit_id", &found.bu),
        ] {
            if let (Some(t), Some(g)) = (cell(col), g)
                && &t != g
                && !(col == "business_unit_id" && table_mu.is_some() && found.mu != table_mu)
            {
                out.disagreements
                    .push(note(line, format!("{col} is `{t}`, Genesys has `{g}`")));
            }
        }
        if let Some(u) = &user {
            user_agents.entry(u.clone()).or_default().push(a.id.clone());
        }
        let mu_final = table_mu.clone().or(found.mu.clone());
        let bu_final = cell("business_unit_id").or(found.bu.clone());
        if let Some(m) = &mu_final {
            mus.insert(m.clone());
        }
        if let Some(b) = &bu_final {
            bus_in_use.insert(b.clone());
        }
        if user.is_some() && mu_final.is_some() && bu_final.is_some() {
            out.agents_resolved += 1;
        } else if let Some(w) = why_not {
            out.unresolved.push(note(line, w));
        } else if user.is_some() && bu_final.is_none() {
            out.unresolved.push(note(
                line,
                "no business unit found for its management unit".into(),
            ));
        }
        let values = [
            ("genesys_user_id", found.user.as_deref().unwrap_or("")),
            ("management_unit_id", found.mu.as_deref().unwrap_or("")),
            ("business_unit_id", found.bu.as_deref().unwrap_or("")),
        ];
        match row {
            // Only the Genesys cells: how the row identifies the agent stays as written.
            Some(i) => {
                t_agents.fill(i, &values);
            }
            None => {
                let mut v = vec![
                    ("zendesk_agent_id", a.id.as_str()),
                    ("email", a.email.as_deref().unwrap_or("")),
                ];
                v.extend(values);
                t_agents.append(&v);
            }
        }
    }
    for (u, ids) in &user_agents {
        if ids.len() > 1 {
            out.unresolved.push(Note {
                file: t_agents.name.clone(),
                line: None,
                subject: format!("Genesys user `{u}`"),
                message: format!(
                    "is the user of {} agents ({}): map reports them ambiguous until one row is fixed",
                    ids.len(),
                    ids.iter()
                        .map(|s| format!("`{s}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            });
        }
    }
    out.management_units = mus.len();

    // ---- activity and time-off codes, per business unit in use ----------------------------------
    let bus: Vec<String> = if bus_in_use.is_empty() {
        org_bus.iter().map(|b| b.id.clone()).collect()
    } else {
        bus_in_use.into_iter().collect()
    };
    for bu in &bus {
        let codes = match bu_names.contains_key(bu) {
            true => on.activity_codes(bu)?,
            false => {
                out.unresolved.push(Note {
                    file: t_acts.name.clone(),
                    line: None,
                    subject: format!("business unit `{bu}`"),
                    message: "not a business unit of this org: its activity codes are unknown"
                        .into(),
                });
                continue;
            }
        };
        codes_by_name(
            t_acts,
            "zendesk_task_name",
            task_names,
            bu,
            &codes,
            false,
            out,
        );
        codes_by_name(t_toff, "zendesk_reason", reasons, bu, &codes, true, out);
    }
    Ok(())
}

/// Rows name → code of business unit `bu` (TimeOff codes when `time_off`, the others otherwise).
fn codes_by_name(
    t: &mut Table,
    key_col: &str,
    names: &BTreeSet<String>,
    bu: &str,
    codes: &[crate::genesys::model::BusinessUnitActivityCode],
    time_off: bool,
    out: &mut PullOutcome,
) {
    let of_kind: Vec<_> = codes
        .iter()
        .filter(|c| (c.category == "TimeOff") == time_off)
        .collect();
    let code_ids: BTreeSet<&str> = codes.iter().map(|c| c.id.as_str()).collect();
    let what = if time_off {
        "TimeOff activity code"
    } else {
        "activity code"
    };
    for name in names {
        let subject = format!("`{name}` in business unit `{bu}`");
        let note = |line: Option<u64>, message: String| Note {
            file: t.name.clone(),
            line,
            subject: subject.clone(),
            message,
        };
        let exact: Vec<_> = of_kind.iter().filter(|c| &c.name == name).collect();
        let active: Vec<_> = exact.iter().filter(|c| c.active).collect();
        let found: Option<&str> = match active.as_slice() {
            [c] => Some(c.id.as_str()),
            _ => None,
        };
        let row_bu = t
            .rows
            .iter()
            .position(|r| r.get(key_col) == Some(name) && r.get("business_unit_id") == Some(bu));
        let row_all = t
            .rows
            .iter()
            .position(|r| r.get(key_col) == Some(name) && r.get("business_unit_id").is_none());
        if let Some(i) = row_bu.or(row_all) {
            let r = &t.rows[i];
            let line = Some(r.line);
            match (r.get("genesys_activity_code_id"), found) {
                (Some(code), _) if row_bu.is_none() && !code_ids.contains(code) => {
                    out.disagreements.push(note(
                        line,
                        format!(
                            "the row for every business unit names `{code}`, which is not an activity code of this unit{}",
                            found.map_or(String::new(), |f| format!(" (Genesys has `{f}`)"))
                        ),
                    ))
                }
                (Some(code), Some(f)) if code != f && row_bu.is_some() => out
                    .disagreements
                    .push(note(line, format!("the code is `{code}`, Genesys has `{f}`"))),
                (None, Some(f)) => {
                    t.fill(
                        i,
                        &[("genesys_activity_code_id", f), ("business_unit_id", bu)],
                    );
                }
                _ => {}
            }
            continue;
        }
        match (found, active.len(), exact.len()) {
            (Some(f), _, _) => t.append(&[
                (key_col, name.as_str()),
                ("genesys_activity_code_id", f),
                ("business_unit_id", bu),
            ]),
            (None, n, _) if n > 1 => {
                let mut ids: Vec<&str> = active.iter().map(|c| c.id.as_str()).collect();
                ids.sort();
                out.unresolved.push(note(
                    None,
                    format!(
                        "{n} active {what}s have this name: {} (not picked; add a row)",
                        ids.join(", ")
                    ),
                ))
            }
            (None, _, e) if e > 0 => out.unresolved.push(note(
                None,
                format!("the {what} of this name is inactive: add a row with an active one"),
            )),
            _ => {
                let hint = of_kind
                    .iter()
                    .filter(|c| c.active && c.name.trim().eq_ignore_ascii_case(name.trim()))
                    .map(|c| format!("`{}`", c.name))
                    .collect::<Vec<_>>();
                let other_kind = codes
                    .iter()
                    .any(|c| c.active && &c.name == name && (c.category == "TimeOff") != time_off);
                out.unresolved.push(note(
                    None,
                    format!(
                        "no active {what} of this name{}{}: add a row",
                        if hint.is_empty() {
                            String::new()
                        } else {
                            format!(" (differs only in case or blanks: {})", hint.join(", "))
                        },
                        if other_kind {
                            if time_off {
                                " (there is one of another category; time off needs a TimeOff code)"
                            } else {
                                " (there is a TimeOff code of this name; shifts need another category)"
                            }
                        } else {
                            ""
                        }
                    ),
                ))
            }
        }
    }
}
