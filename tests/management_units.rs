//! Agents without a management unit, as an engineer meets them: `map` run offline with an agents
//! table that has no `management_unit_id` (or a half-filled one, or a wrong one), then `validate`
//! and `load` against the emulator of the sample org. Load reads and writes an agent's schedule
//! through its management unit: the earliest stage that can know says so at the table's row, and
//! load never reports it as a week that "keeps changing".

use crate::common::{root, sample_emulator, zd2gc};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use zd2gc::emulator::RunningEmulator;

const FE17: &str = "fe171370-ee75-45f2-b8f9-e52c2b9d59e9";
const A8D9: &str = "a8d920f4-f8fb-444d-b5fc-84782a5a740b";

/// The sample's agents table, each row transformed by `f` (header included: its index is 0).
fn agents_table(f: impl Fn(usize, Vec<String>) -> Vec<String>) -> String {
    let text = std::fs::read_to_string(root().join("mappings/agents.csv")).unwrap();
    let mut out = String::new();
    for (i, line) in text.lines().enumerate() {
        let cells: Vec<String> = line.split(',').map(str::to_string).collect();
        out.push_str(&f(i, cells).join(","));
        out.push('\n');
    }
    out
}

/// A migration directory with the sample's tables (agents.csv replaced), the sample export
/// extracted and mapped offline.
fn mapped(agents_csv: &str) -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    let ds = d.path().to_str().unwrap();
    zd2gc().args(["--quiet", "init", ds]).assert().success();
    for e in std::fs::read_dir(root().join("mappings"))
        .unwrap()
        .flatten()
    {
        std::fs::copy(e.path(), d.path().join("mappings").join(e.file_name())).unwrap();
    }
    std::fs::write(d.path().join("mappings/agents.csv"), agents_csv).unwrap();
    let export = root().join("samples/paris-cutover");
    zd2gc()
        .args(["--dir", ds, "--quiet", "extract", export.to_str().unwrap()])
        .assert()
        .success();
    // map exits 1 when it has error findings (the sample has some of its own).
    let out = zd2gc()
        .args(["--dir", ds, "--quiet", "map"])
        .output()
        .unwrap();
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    d
}

fn validate(d: &Path) -> (i32, Value) {
    let out = zd2gc()
        .args([
            "--dir",
            d.to_str().unwrap(),
            "--quiet",
            "--json",
            "validate",
        ])
        .output()
        .unwrap();
    // stdout is the summary; the findings are in the report it names.
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    let path = Path::new(summary["report"].as_str().unwrap());
    let path = if path.is_absolute() {
        path.to_path_buf()
    } else {
        d.join(path)
    };
    (
        out.status.code().unwrap(),
        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap(),
    )
}

fn load(d: &Path, emu: &RunningEmulator, extra: &[&str]) -> (i32, Value, String) {
    let out = zd2gc()
        .args([
            "--dir",
            d.to_str().unwrap(),
            "--no-progress",
            "--json",
            "load",
        ])
        .args(["--max-rpm", "20000", "--settle-timeout", "2"])
        .args(extra)
        .env("ZD2GC_API_URL", emu.base_url())
        .env("ZD2GC_LOGIN_URL", emu.base_url())
        .env("GENESYSCLOUD_OAUTHCLIENT_ID", emu.client_id())
        .env("GENESYSCLOUD_OAUTHCLIENT_SECRET", emu.client_secret())
        .output()
        .unwrap();
    (
        out.status.code().unwrap(),
        serde_json::from_slice(&out.stdout).unwrap_or(Value::Null),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The org as the emulator holds it (schedules, agent schedules, shifts, time off).
fn org(emu: &RunningEmulator) -> Value {
    serde_json::to_value(&emu.dump().org).unwrap()
}

/// Every shift of the org by user: (week, start, length) sorted.
fn shifts_by_user(emu: &RunningEmulator) -> BTreeMap<String, Vec<(String, String, i64)>> {
    let mut m: BTreeMap<String, Vec<_>> = BTreeMap::new();
    for s in &emu.dump().org.schedules {
        for a in &s.agent_schedules {
            let e = m.entry(a.user_id.clone()).or_default();
            for sh in &a.shifts {
                let v = serde_json::to_value(sh).unwrap();
                e.push((
                    s.week_id.clone(),
                    v["startDate"].as_str().unwrap_or_default().to_string(),
                    v["lengthMinutes"].as_i64().unwrap_or_default(),
                ));
            }
            e.sort();
        }
    }
    m
}

/// The `unmapped-management-unit` findings of a report: record id → (file, line).
fn unit_findings(report: &Value) -> BTreeMap<String, (String, u64)> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == "unmapped-management-unit")
        .map(|f| {
            assert!(
                f["message"].as_str().unwrap().contains("management unit"),
                "{f}"
            );
            assert!(
                f["help"]
                    .as_str()
                    .unwrap()
                    .contains("management_unit_id in mappings/agents.csv"),
                "{f}"
            );
            (
                f["record_id"].as_str().unwrap().to_string(),
                (
                    f["file"].as_str().unwrap().to_string(),
                    f["line"].as_u64().unwrap(),
                ),
            )
        })
        .collect()
}

/// Agent ids that own a shift in the sample export (read from the CSV, not through zd2gc).
fn shift_owners() -> BTreeSet<String> {
    let text = std::fs::read_to_string(root().join("samples/paris-cutover/shifts.csv")).unwrap();
    text.lines()
        .skip(1)
        .filter_map(|l| l.split(',').nth(1).map(str::to_string))
        .collect()
}

#[test]
fn offline_without_management_units_is_reported_at_the_table_rows_and_loads_nothing() {
    // The agents table as `testdata::generate_mappings` writes it: no management_unit_id column.
    let table = agents_table(|_, mut c| {
        c.remove(3);
        c
    });
    assert!(table.starts_with("zendesk_agent_id,email,genesys_user_id,business_unit_id\n"));
    let d = mapped(&table);
    let (code, report) = validate(d.path());
    assert_eq!(code, 1, "{report}");
    let found = unit_findings(&report);
    // Every agent that owns a shift and has a row by its id is reported, at that row.
    let rows: BTreeMap<String, u64> = table
        .lines()
        .enumerate()
        .skip(1)
        .map(|(i, l)| (l.split(',').next().unwrap().to_string(), i as u64 + 1))
        .filter(|(id, _)| !id.is_empty())
        .collect();
    let expected: BTreeMap<String, (String, u64)> = shift_owners()
        .into_iter()
        .filter_map(|a| {
            Some((
                a.clone(),
                ("mappings/agents.csv".to_string(), *rows.get(&a)?),
            ))
        })
        .collect();
    assert!(expected.len() > 40, "{expected:?}");
    for (agent, at) in &expected {
        assert_eq!(found.get(agent), Some(at), "{agent}: {found:?}");
    }
    // The one row found by e-mail (no zendesk_agent_id) is reported at its own line too.
    let by_email = table
        .lines()
        .position(|l| l.starts_with(",elodie"))
        .unwrap() as u64
        + 1;
    assert!(
        found.values().any(|(_, l)| *l == by_email),
        "{by_email}: {found:?}"
    );

    let emu = sample_emulator();
    let before = org(&emu);
    // Load refuses while the validation has errors, and says how many.
    let (code, _, stderr) = load(d.path(), &emu, &[]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("error(s)"), "{stderr}");
    // With --allow-errors every agent without a unit is held back: nothing is written, no week
    // fails, and no refused write is reported.
    let (code, json, stderr) = load(d.path(), &emu, &["--allow-errors"]);
    assert_eq!(org(&emu), before, "nothing written: {stderr}");
    assert!(!stderr.contains("refused"), "{stderr}");
    assert_eq!(json["weeks_failed"], 0, "{json}");
    assert!(
        json["held_back_by_reason"]["unmapped-management-unit"]
            .as_u64()
            .is_some_and(|n| n > 400),
        "{json}"
    );
    assert_eq!(
        (
            &json["time_off"]["creates_sent"],
            &json["time_off"]["failures"]
        ),
        (&Value::from(0), &Value::Array(vec![])),
        "time off of agents without a unit is held back, not sent: {json}"
    );
    assert_eq!(code, 0, "{stderr}");
}

#[test]
fn a_half_filled_agents_table_loads_the_agents_with_a_unit_and_holds_back_the_rest() {
    // Three rows with a blank unit: two Paris agents and one Chicago agent.
    let blank = ["381447001", "381447002", "381447101"];
    let table = agents_table(|_, mut c| {
        if blank.contains(&c[0].as_str()) {
            c[3].clear();
        }
        c
    });
    let d = mapped(&table);
    let (_, report) = validate(d.path());
    let found = unit_findings(&report);
    let line_of = |id: &str| {
        table
            .lines()
            .position(|l| l.starts_with(&format!("{id},")))
            .unwrap() as u64
            + 1
    };
    let expected: BTreeMap<String, (String, u64)> = blank
        .iter()
        .map(|a| {
            (
                a.to_string(),
                ("mappings/agents.csv".to_string(), line_of(a)),
            )
        })
        .collect();
    assert_eq!(found, expected);

    let emu = sample_emulator();
    let before = shifts_by_user(&emu);
    let (_, json, stderr) = load(d.path(), &emu, &["--allow-errors"]);
    assert_eq!(json["weeks_failed"], 0, "{json}\n{stderr}");
    assert!(json["weeks_done"].as_u64().unwrap() > 0, "{json}");
    assert!(!stderr.contains("refused"), "{stderr}");
    let after = shifts_by_user(&emu);
    let user_of = |id: &str| {
        table
            .lines()
            .find(|l| l.starts_with(&format!("{id},")))
            .unwrap()
            .split(',')
            .nth(2)
            .unwrap()
            .to_string()
    };
    for a in blank {
        let u = user_of(a);
        assert_eq!(after.get(&u), before.get(&u), "{a}'s schedule is untouched");
    }
    let u = user_of("381447003");
    assert!(
        after.get(&u).map_or(0, Vec::len) > before.get(&u).map_or(0, Vec::len),
        "an agent with a unit is loaded"
    );
}

#[test]
fn a_write_refused_for_a_wrong_management_unit_fails_its_week_with_why_not_as_keeps_changing() {
    // Offline, a unit id of the right shape cannot be checked: every Paris agent of unit FE17 is
    // given the other Paris unit. Load reads only that unit, so these users' agent schedules are
    // never read and every update carries no version for them: Genesys refuses it each time.
    let table = agents_table(|_, c| c.into_iter().map(|x| x.replace(FE17, A8D9)).collect());
    let d = mapped(&table);
    let emu = sample_emulator();
    let (code, json, stderr) = load(d.path(), &emu, &["--allow-errors"]);
    assert_eq!(code, 3, "{json}\n{stderr}");
    let failed = json["weeks_failed"].as_u64().unwrap();
    assert!(failed > 0, "{json}");
    assert!(!stderr.contains("keeps changing"), "{stderr}");
    assert!(
        stderr.contains("nothing had changed since") && stderr.contains("management_unit_id"),
        "{stderr}"
    );
    // Each failed week stopped at the first refusal that re-reading did not explain: at most
    // two refused writes (one on a blank schedule just created, one after it was read).
    let c = rusqlite::Connection::open(d.path().join("zd2gc.db")).unwrap();
    let mut st = c
        .prepare("SELECT business_unit_id, week_id, count(*) FROM load_events WHERE event = 'refused' GROUP BY 1, 2")
        .unwrap();
    let refused: Vec<(String, String, i64)> = st
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(refused.len() as u64, failed, "{refused:?}");
    assert!(refused.iter().all(|r| r.2 <= 2), "{refused:?}");
}

/// A shift moved by the export from an agent of one management unit to an agent of another of the
/// same business unit (a trade across units): loaded for the first agent, then, after the export
/// moved it, loaded again. The week is merged unit by unit, and the move joins the two units: the
/// shift is deleted under the first agent and added under the second, never left under both and
/// never added twice (issue #17).
#[test]
fn a_shift_moved_to_an_agent_of_another_unit_is_in_genesys_once_under_the_new_agent() {
    // 381447001 is in unit fe17…, 381447026 in unit a8d9…, both Paris.
    let from = "381447001";
    let to = "381447026";
    let table = agents_table(|_, c| c);
    let unit = |a: &str| {
        table
            .lines()
            .find(|l| l.starts_with(&format!("{a},")))
            .unwrap()
            .split(',')
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    let (a, b) = (unit(from), unit(to));
    assert_eq!((a[3].as_str(), b[3].as_str()), (FE17, A8D9));
    assert_eq!(a[4], b[4], "one business unit");
    let (user_a, user_b) = (a[2].clone(), b[2].clone());
    let d = mapped(&table);
    let ds = d.path().to_str().unwrap();
    validate(d.path());
    let emu = sample_emulator();
    let (_, json, stderr) = load(d.path(), &emu, &["--allow-errors"]);
    assert_eq!(json["weeks_failed"], 0, "{json}\n{stderr}");
    // S-10106: 381447001's shift of 2026-10-21 13:00-21:00 (381447026 has none that day).
    let at = |m: &BTreeMap<String, Vec<(String, String, i64)>>, u: &str| {
        m.get(u)
            .into_iter()
            .flatten()
            .filter(|(_, start, _)| start.starts_with("2026-10-21"))
            .count()
    };
    let before = shifts_by_user(&emu);
    assert_eq!((at(&before, &user_a), at(&before, &user_b)), (1, 0));

    // The export moves it; extract, map, validate, load again.
    let export = tempfile::tempdir().unwrap();
    for e in std::fs::read_dir(root().join("samples/paris-cutover"))
        .unwrap()
        .flatten()
    {
        std::fs::copy(e.path(), export.path().join(e.file_name())).unwrap();
    }
    let shifts = export.path().join("shifts.csv");
    let text = std::fs::read_to_string(&shifts).unwrap();
    let old = format!("S-10106,{from},2026-10-21 13:00,");
    assert!(text.contains(&old));
    std::fs::write(
        &shifts,
        text.replace(&old, &format!("S-10106,{to},2026-10-21 13:00,")),
    )
    .unwrap();
    zd2gc()
        .args(["--dir", ds, "--quiet", "extract"])
        .arg(export.path())
        .assert()
        .success();
    let out = zd2gc()
        .args(["--dir", ds, "--quiet", "map"])
        .output()
        .unwrap();
    assert!(matches!(out.status.code(), Some(0 | 1)));
    validate(d.path());
    let (_, json, stderr) = load(d.path(), &emu, &["--allow-errors"]);
    assert_eq!(json["weeks_failed"], 0, "{json}\n{stderr}");
    let after = shifts_by_user(&emu);
    assert_eq!(
        (at(&after, &user_a), at(&after, &user_b)),
        (0, 1),
        "exactly one copy, under the new agent"
    );
    // Nothing else changed.
    let mut rest = after.clone();
    let mut was = before.clone();
    for m in [&mut rest, &mut was] {
        for u in [&user_a, &user_b] {
            if let Some(v) = m.get_mut(u.as_str()) {
                v.retain(|(_, s, _)| !s.starts_with("2026-10-21"));
            }
        }
    }
    assert_eq!(rest, was);
    // A third load finds nothing to write.
    let (_, json, _) = load(d.path(), &emu, &["--allow-errors"]);
    assert_eq!(json["requests"]["by_kind"]["update"], Value::Null, "{json}");
    assert_eq!(shifts_by_user(&emu), after);
}
