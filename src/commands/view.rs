//! What a person reads of `status` and `plan`: names instead of ids (business units, activity
//! codes, users), times in each business unit's own zone, aligned tables with totals, and each
//! parked conflict as a short diff with the commands that resolve it. The ids stay in `--json`.

use crate::load::journal::ConflictRow;
use crate::load::model::{Act, Content};
use crate::load::{StatusReport, WeekFinding};
use rusqlite::Connection;
use std::collections::{BTreeMap, HashMap};
use std::fmt::Write;
use std::path::Path;

/// Names and zones of a migration, for display.
#[derive(Debug, Default)]
pub struct Names {
    bus: HashMap<String, (String, Option<chrono_tz::Tz>)>,
    codes: HashMap<String, String>,
    users: HashMap<String, String>,
}

impl Names {
    /// Read them from the mapping tables and the state database (best effort: an id without a
    /// name shows as the id).
    pub fn load(dir: &Path, conn: &Connection) -> Names {
        let mut n = Names::default();
        let mut diags = Vec::new();
        if let Ok(t) = crate::map::tables::load(&dir.join("mappings"), &mut diags) {
            for b in t.business_units {
                n.bus
                    .insert(b.business_unit_id, (b.name, Some(b.time_zone)));
            }
        }
        if let Ok(rows) = crate::store::genesys_cache::entries(conn, &["activity-codes"]) {
            for (_, _, v) in rows {
                if let Ok(serde_json::Value::Array(a)) = serde_json::from_str(&v) {
                    for c in a {
                        if let (Some(id), Some(name)) = (c["id"].as_str(), c["name"].as_str()) {
                            n.codes.insert(id.to_string(), name.to_string());
                        }
                    }
                }
            }
        }
        if let Ok(rows) = crate::store::crosswalk::user_names(conn) {
            n.users.extend(rows);
        }
        n
    }

    pub fn bu(&self, id: &str) -> String {
        self.bus
            .get(id)
            .map_or_else(|| id.to_string(), |b| b.0.clone())
    }

    fn zone(&self, bu: &str) -> Option<chrono_tz::Tz> {
        self.bus.get(bu).and_then(|b| b.1)
    }

    fn user(&self, id: &str) -> String {
        self.users
            .get(id)
            .cloned()
            .unwrap_or_else(|| id.to_string())
    }

    fn act(&self, a: &Act) -> String {
        self.codes.get(&**a.code()).cloned().unwrap_or_else(|| {
            if a.desc().is_empty() {
                a.code().to_string()
            } else {
                a.desc().to_string()
            }
        })
    }
}

/// An aligned text table: the first row is the header; numeric columns right-aligned.
pub fn table(rows: &[Vec<String>]) -> String {
    let n = rows.iter().map(Vec::len).max().unwrap_or(0);
    let w: Vec<usize> = (0..n)
        .map(|i| {
            rows.iter()
                .filter_map(|r| r.get(i))
                .map(|c| c.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let numeric = |i: usize| {
        rows.iter().skip(1).filter_map(|r| r.get(i)).all(|c| {
            c.is_empty()
                || c.chars()
                    .all(|ch| ch.is_ascii_digit() || ch == '/' || ch == '-')
        })
    };
    let mut o = String::new();
    for r in rows {
        let mut line = String::new();
        for (i, c) in r.iter().enumerate() {
            let pad = w[i] - c.chars().count();
            if i > 0 {
                line.push_str("  ");
            }
            if numeric(i) && i > 0 {
                line.push_str(&" ".repeat(pad));
                line.push_str(c);
            } else {
                line.push_str(c);
                if i + 1 < r.len() {
                    line.push_str(&" ".repeat(pad));
                }
            }
        }
        o.push_str(line.trim_end());
        o.push('\n');
    }
    o
}

/// How many parked conflicts are shown in full; the rest are counted (all are in `--json`).
pub const CONFLICTS_SHOWN: usize = 10;

/// `status` for a person: a summary table, then each parked conflict as a diff, then what to do.
/// `shifts` is the desired state's shifts and how many of them map held back, shown before any
/// load (the journal knows only the weeks a load has started).
pub fn status(
    r: &StatusReport,
    names: &Names,
    shifts: Option<(u64, u64)>,
    time_off: Option<(u64, u64)>,
    dir: &Path,
) -> String {
    let mut o = String::new();
    let num = |v: &serde_json::Value, k: &str| v[k].as_u64().unwrap_or(0);
    let (wanted, done): (u64, u64) = r.weeks.iter().fold((0, 0), |a, w| {
        (a.0 + num(w, "shifts_desired"), a.1 + num(w, "shifts_done"))
    });
    let states: Vec<String> = r.by_state.iter().map(|(k, v)| format!("{v} {k}")).collect();
    let mut rows = vec![vec!["".to_string(), "".to_string()]];
    rows.clear();
    rows.push(vec![
        "weeks".into(),
        if states.is_empty() {
            "none loaded yet".into()
        } else {
            states.join(", ")
        },
    ]);
    rows.push(vec![
        "shifts".into(),
        match shifts {
            // Before any load the journal has no week to count: say what map left to load. (A
            // validation error holds back more at load time; the load and `plan` count those.)
            Some((n, held)) if r.weeks.is_empty() && held > 0 => {
                format!("none loaded yet ({} mapped, {held} held back)", n - held)
            }
            Some((n, _)) if r.weeks.is_empty() => format!("none loaded yet ({n} mapped)"),
            _ => format!("{done} of {wanted} loaded"),
        },
    ]);
    rows.push(vec![
        "time off".into(),
        match time_off {
            Some((n, held)) => format!("{n} request(s) mapped, {held} held back"),
            None => "none mapped".into(),
        },
    ]);
    rows.push(vec![
        "failures".into(),
        format!("{} week(s)", r.failures.len()),
    ]);
    rows.push(vec![
        "in doubt".into(),
        format!("{} week(s)", r.in_doubt.len()),
    ]);
    rows.push(vec![
        "conflicts".into(),
        format!("{} parked", r.conflicts.len()),
    ]);
    if let Some(org) = &r.org {
        rows.push(vec!["org".into(), org.clone()]);
    }
    // Two columns, left-aligned.
    let w = rows.iter().map(|r| r[0].len()).max().unwrap_or(0);
    for row in &rows {
        let _ = writeln!(o, "{:w$}  {}", row[0], row[1]);
    }
    // Per business unit.
    let mut per: BTreeMap<String, [u64; 5]> = BTreeMap::new();
    for wk in &r.weeks {
        let e = per
            .entry(names.bu(wk["business_unit_id"].as_str().unwrap_or("")))
            .or_default();
        e[0] += 1;
        match wk["state"].as_str() {
            Some("done") => e[1] += 1,
            Some("conflict") => e[2] += 1,
            Some("failed") => e[3] += 1,
            _ => {}
        }
        e[4] += num(wk, "shifts_done");
    }
    if !per.is_empty() {
        o.push('\n');
        let mut t = vec![
            [
                "business unit",
                "weeks",
                "done",
                "conflict",
                "failed",
                "shifts loaded",
            ]
            .map(String::from)
            .to_vec(),
        ];
        for (bu, e) in &per {
            t.push(vec![
                bu.clone(),
                e[0].to_string(),
                e[1].to_string(),
                e[2].to_string(),
                e[3].to_string(),
                e[4].to_string(),
            ]);
        }
        o.push_str(&table(&t));
    }
    if !r.conflicts.is_empty() {
        let _ = writeln!(
            o,
            "\nparked conflicts (both sides kept; nothing was overwritten):"
        );
        for c in r.conflicts.iter().take(CONFLICTS_SHOWN) {
            o.push_str(&conflict(c, names));
        }
        if r.conflicts.len() > CONFLICTS_SHOWN {
            let _ = writeln!(
                o,
                "… and {} more (`zd2gc status --json` lists every one with both sides)",
                r.conflicts.len() - CONFLICTS_SHOWN
            );
        }
        let d = dir.display();
        let _ = writeln!(
            o,
            "\nto resolve: leave them (Genesys keeps what the planner did; `zd2gc load` keeps them parked),\n  or change the export and run `zd2gc --dir {d} extract … && zd2gc --dir {d} load`,\n  or `zd2gc --dir {d} load --on-conflict ours` to write what zd2gc wants over the planner's change (recorded)"
        );
    }
    for f in &r.failures {
        let _ = writeln!(
            o,
            "failed: {} week of {}: {} (contextId {})",
            names.bu(f["business_unit_id"].as_str().unwrap_or("")),
            f["week_id"].as_str().unwrap_or(""),
            f["reason"].as_str().unwrap_or(""),
            f["context_id"].as_str().unwrap_or("-")
        );
    }
    for f in &r.in_doubt {
        let _ = writeln!(
            o,
            "in doubt: {} week of {}: a write was sent and its outcome is not known yet; the next load settles it by reading Genesys",
            names.bu(f["business_unit_id"].as_str().unwrap_or("")),
            f["week_id"].as_str().unwrap_or(""),
        );
    }
    if !r.failures.is_empty() {
        let _ = writeln!(
            o,
            "next: `zd2gc --dir {} load` tries the failed weeks again",
            dir.display()
        );
    }
    o
}

/// One conflict: a header line, then only the fields that differ, wanted vs Genesys, aligned.
pub fn conflict(c: &ConflictRow, names: &Names) -> String {
    let parse = |v: &Option<serde_json::Value>| -> Option<Content> {
        v.as_ref()
            .and_then(|v| serde_json::from_value(v.clone()).ok())
    };
    let (ours, theirs) = (parse(&c.ours), parse(&c.theirs));
    let tz = names.zone(&c.business_unit_id);
    let mut o = format!(
        "\n{} · week of {} · {} · shift {} · {}\n",
        names.bu(&c.business_unit_id),
        c.week_id,
        names.user(&c.user_id),
        c.legacy_shift_id.as_deref().unwrap_or("-"),
        c.kind
    );
    let time = |s: i64| -> String {
        let Some(t) = chrono::DateTime::from_timestamp(s, 0) else {
            return s.to_string();
        };
        match tz {
            Some(z) => t.with_timezone(&z).format("%a %Y-%m-%d %H:%M").to_string(),
            None => t.format("%a %Y-%m-%d %H:%M UTC").to_string(),
        }
    };
    let hm = |m: i64| format!("{}h{:02}", m / 60, m % 60);
    let act_list = |c: &Content| -> Vec<String> {
        c.acts
            .iter()
            .map(|a| {
                let at = chrono::DateTime::from_timestamp(a.start, 0)
                    .map(|t| match tz {
                        Some(z) => t.with_timezone(&z).format("%H:%M").to_string(),
                        None => t.format("%H:%M").to_string(),
                    })
                    .unwrap_or_default();
                format!("{} {at}+{}m", names.act(a), a.minutes())
            })
            .collect()
    };
    let mut rows: Vec<Vec<String>> =
        vec![vec!["".into(), "wanted (zd2gc)".into(), "Genesys".into()]];
    match (&ours, &theirs) {
        (Some(a), Some(b)) => {
            if a.user != b.user {
                rows.push(vec![
                    "agent".into(),
                    names.user(&a.user),
                    names.user(&b.user),
                ]);
            }
            if a.start != b.start {
                rows.push(vec!["start".into(), time(a.start), time(b.start)]);
            }
            if a.len != b.len {
                rows.push(vec!["length".into(), hm(a.len), hm(b.len)]);
            }
            if a.acts != b.acts {
                // Only the activities that differ, one a row: the ones both sides have are left
                // out (a whole shift's activities side by side is too long to read).
                let mut only_b = act_list(b);
                let only_a: Vec<String> = act_list(a)
                    .into_iter()
                    .filter(|x| match only_b.iter().position(|y| y == x) {
                        Some(i) => {
                            only_b.remove(i);
                            false
                        }
                        None => true,
                    })
                    .collect();
                if only_a.is_empty() && only_b.is_empty() {
                    // They differ in what the display does not show (e.g. the code behind a name).
                    rows.push(vec![
                        "activities".into(),
                        act_list(a).join(", "),
                        act_list(b).join(", "),
                    ]);
                } else {
                    for i in 0..only_a.len().max(only_b.len()) {
                        rows.push(vec![
                            if i == 0 { "activities" } else { "" }.into(),
                            only_a.get(i).cloned().unwrap_or_default(),
                            only_b.get(i).cloned().unwrap_or_default(),
                        ]);
                    }
                }
            }
            if rows.len() == 1 {
                rows.push(vec!["content".into(), "the same".into(), "the same".into()]);
            }
            if a.start == b.start {
                // Say when it is, even when the start does not differ.
                rows.push(vec!["at".into(), time(a.start), String::new()]);
            }
        }
        (a, b) => {
            let side = |x: &Option<Content>| {
                x.as_ref().map_or("(none)".to_string(), |c| {
                    format!("{} for {}", time(c.start), hm(c.len))
                })
            };
            rows.push(vec!["shift".into(), side(a), side(b)]);
        }
    }
    for l in table(&rows).lines() {
        let _ = writeln!(o, "  {l}");
    }
    o
}

/// `plan` for a person: an aligned table per week with business-unit names, and a total per unit.
pub fn plan(found: &[WeekFinding], names: &Names) -> String {
    let head = [
        "business unit",
        "week",
        "action",
        "create",
        "update",
        "delete",
        "adopt",
        "same",
        "kept theirs",
        "conflicts",
    ];
    let mut t = vec![head.map(String::from).to_vec()];
    let mut totals: BTreeMap<String, [u64; 7]> = BTreeMap::new();
    for w in found {
        let c = &w.counts;
        let n = [
            c.create,
            c.update,
            c.delete,
            c.adopt,
            c.noop,
            c.kept_theirs,
            c.conflicts,
        ];
        let bu = names.bu(&w.business_unit_id);
        let e = totals.entry(bu.clone()).or_default();
        for (x, y) in e.iter_mut().zip(n) {
            *x += y;
        }
        let mut row = vec![bu, w.week_id.clone(), w.action.clone()];
        row.extend(n.iter().map(|x| x.to_string()));
        t.push(row);
    }
    for (bu, n) in &totals {
        let mut row = vec![bu.clone(), "total".into(), String::new()];
        row.extend(n.iter().map(|x| x.to_string()));
        t.push(row);
    }
    let mut o = table(&t);
    for w in found {
        if let Some(e) = &w.error {
            let _ = writeln!(
                o,
                "error: {} week of {}: {e}",
                names.bu(&w.business_unit_id),
                w.week_id
            );
        }
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    fn week(bu: &str, week: &str, create: u64, noop: u64) -> WeekFinding {
        WeekFinding {
            business_unit_id: bu.into(),
            week_id: week.into(),
            schedule_id: None,
            action: if create > 0 { "create" } else { "nothing" }.into(),
            counts: crate::load::merge::PlanCounts {
                create,
                noop,
                ..Default::default()
            },
            conflicts: vec![],
            duplicates: 0,
            extra_schedules: 0,
            error: None,
        }
    }

    /// Before any load the shifts line says what map left to load, held-back shifts apart; once a
    /// load has started a week, it counts the journal's weeks.
    #[test]
    fn status_before_a_load_counts_the_mapped_shifts() {
        let dir = Path::new("m");
        let names = Names::default();
        let shifts_line = |r: &StatusReport, shifts| {
            status(r, &names, shifts, None, dir)
                .lines()
                .find(|l| l.starts_with("shifts "))
                .unwrap()
                .to_string()
        };
        let mut r = StatusReport::default();
        assert!(
            shifts_line(&r, Some((466, 11)))
                .ends_with("none loaded yet (455 mapped, 11 held back)")
        );
        assert!(shifts_line(&r, Some((455, 0))).ends_with("none loaded yet (455 mapped)"));
        assert!(shifts_line(&r, None).ends_with("0 of 0 loaded"));
        r.weeks
            .push(serde_json::json!({"shifts_desired": 200, "shifts_done": 150}));
        r.by_state.insert("done".into(), 1);
        assert!(shifts_line(&r, Some((466, 11))).ends_with("150 of 200 loaded"));
    }

    #[test]
    fn plan_is_aligned_with_names_and_a_total_per_unit() {
        let mut names = Names::default();
        names
            .bus
            .insert("bu-1".into(), ("Paris Contact Centre".into(), None));
        let out = plan(
            &[
                week("bu-1", "2026-10-19", 200, 0),
                week("bu-1", "2026-10-26", 5, 194),
                week("bu-2", "2026-10-18", 24, 0),
            ],
            &names,
        );
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 1 + 3 + 2, "{out}");
        assert!(lines[1].starts_with("Paris Contact Centre"), "{out}");
        // Totals per unit: 205 creates and 194 unchanged for Paris; the id where no name is known.
        let total = lines
            .iter()
            .find(|l| l.starts_with("Paris Contact Centre") && l.contains("total"))
            .unwrap();
        assert!(total.contains(" 205 ") && total.contains(" 194 "), "{out}");
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with("bu-2") && l.contains("total")),
            "{out}"
        );
        // Right-aligned numbers: every row ends at the same column.
        let ends: Vec<usize> = lines.iter().map(|l| l.len()).collect();
        assert!(ends.iter().all(|e| *e == ends[0]), "{out}");
    }
}
