//! zd2gc's findings against an independent oracle: `benches/reference_pipeline.py`, a standard-library
//! Python pipeline that shares no code with zd2gc. Both read the same exports, written with every
//! line-end style (LF, CRLF, a lone CR, mixed), BOMs and quoted line ends; for the rules both
//! implement (the DST rules, repeated shift, trade and time-off ids, shift and time-off overlaps:
//! `reference_pipeline.py --rules`) they must report the same findings at the same physical lines
//! with the same record ids, and, on a fixture of known cases, the counts written by hand.
//!
//! The test is skipped, saying so, where `python3` (3.9 or newer, for zoneinfo) is missing.

use crate::common::{root, zd2gc};
use predicates::prelude::*;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

const RULES: &[&str] = &[
    "dst-ambiguous",
    "dst-nonexistent",
    "dst-length-change",
    "duplicate-trade-id",
    "conflicting-trade-id",
    "duplicate-shift-id",
    "conflicting-shift-id",
    "duplicate-time-off-id",
    "conflicting-time-off-id",
    "shift-overlap",
    "time-off-overlap",
    "time-off-overlaps-shift",
];

/// (rule, file, line, record id) → how many times.
type Findings = BTreeMap<(String, String, u64, String), usize>;

fn python_ok() -> bool {
    Command::new("python3")
        .args(["-c", "import zoneinfo, sqlite3, csv"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

fn add(found: &mut Findings, f: &serde_json::Value) {
    let rule = f["rule"].as_str().unwrap_or_default();
    if !RULES.contains(&rule) {
        return;
    }
    let key = (
        rule.to_string(),
        f["file"].as_str().unwrap_or_default().to_string(),
        f["line"].as_u64().unwrap_or(0),
        f["record_id"].as_str().unwrap_or_default().to_string(),
    );
    *found.entry(key).or_default() += 1;
}

fn zd2gc_findings(export: &Path, work: &Path) -> Findings {
    let m = work.join("m");
    zd2gc().args(["-q", "init"]).arg(&m).assert().success();
    for t in [
        "agents",
        "business_units",
        "locations",
        "activities",
        "time_off",
    ] {
        std::fs::copy(
            root().join(format!("mappings/{t}.csv")),
            m.join(format!("mappings/{t}.csv")),
        )
        .unwrap();
    }
    zd2gc()
        .arg("--dir")
        .arg(&m)
        .args(["-q", "extract"])
        .arg(export)
        .assert()
        .success();
    // map and validate exit 1 on findings (the random exports have some); 2 would be a tool failure.
    zd2gc()
        .arg("--dir")
        .arg(&m)
        .args(["-q", "map"])
        .assert()
        .code(predicate::in_iter([0, 1]));
    let report = work.join("report.json");
    zd2gc()
        .arg("--dir")
        .arg(&m)
        .args(["-q", "validate", "--report-json"])
        .arg(&report)
        .assert()
        .code(predicate::in_iter([0, 1]));
    let r: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&report).expect("validate wrote its report"))
            .unwrap();
    let mut found = Findings::new();
    for f in r["findings"].as_array().unwrap() {
        add(&mut found, f);
    }
    found
}

fn oracle_findings(export: &Path) -> Findings {
    let out = Command::new("python3")
        .arg(root().join("benches/reference_pipeline.py"))
        .arg(export)
        .arg("--mappings")
        .arg(root().join("mappings"))
        .arg("--findings")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut found = Findings::new();
    for line in String::from_utf8(out.stdout).unwrap().lines() {
        add(&mut found, &serde_json::from_str(line).unwrap());
    }
    found
}

/// Rewrites every line end of `data` (outside and inside quotes alike) in the given style.
fn line_ends(data: &[u8], style: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + data.len() / 20);
    let mut n = 0usize;
    let mut i = 0;
    while i < data.len() {
        let b = data[i];
        if b == b'\r' || b == b'\n' {
            if b == b'\r' && data.get(i + 1) == Some(&b'\n') {
                i += 1;
            }
            let end: &[u8] = match style {
                0 => b"\n",
                1 => b"\r\n",
                2 => b"\r",
                _ => [&b"\n"[..], b"\r\n", b"\r"][n % 3],
            };
            out.extend_from_slice(end);
            n += 1;
        } else {
            out.push(b);
        }
        i += 1;
    }
    out
}

fn compare(export: &Path, work: &Path, what: &str) {
    let ours = zd2gc_findings(export, work);
    let oracle = oracle_findings(export);
    assert!(
        !oracle.is_empty(),
        "{what}: the oracle found nothing to compare"
    );
    assert_eq!(
        ours, oracle,
        "{what}: zd2gc (left) and the reference pipeline (right) disagree"
    );
}

#[test]
fn paris_cutover_in_every_line_end_style_matches_the_reference_pipeline() {
    if !python_ok() {
        eprintln!("skipped: python3 with zoneinfo is not available");
        return;
    }
    let src = root().join("samples/paris-cutover");
    for (style, name) in ["LF", "CRLF", "CR", "mixed"].iter().enumerate() {
        let work = tempfile::tempdir().unwrap();
        let export = work.path().join("export");
        std::fs::create_dir(&export).unwrap();
        for e in std::fs::read_dir(&src).unwrap() {
            let e = e.unwrap();
            let data = std::fs::read(e.path()).unwrap();
            std::fs::write(export.join(e.file_name()), line_ends(&data, style)).unwrap();
        }
        compare(&export, work.path(), name);
    }
}

/// Agents of the sample org (so they map), shifts around the DST nights of Paris and Chicago with
/// overlaps, repeated shift and trade ids, quoted line ends in the agents file, a BOM on some files.
fn random_export(seed: u64, dir: &Path) {
    // A small seeded generator, so the export is not one the samples' author wrote.
    let mut r = zd2gc::emulator::Rng::new(seed);
    let agents = [
        ("381447001", "Paris", ""),
        ("381447002", "Paris", ""),
        ("381447003", "Paris", ""),
        ("381447101", "Chicago", ""),
        ("381447102", "Chicago", "America/Chicago"),
    ];
    let style = r.below(4);
    let mut a = String::from("agent_id,name,email,timezone,location,team,deactivated\n");
    for (i, (id, loc, tz)) in agents.iter().enumerate() {
        let team = if r.below(2) == 0 {
            "\"Tier 1\nBilingual\""
        } else {
            "Tier 2"
        };
        a += &format!("{id},Agent {i},agent{i}@example.com,{tz},{loc},{team},false\n");
    }
    let mut s =
        String::from("shift_id,agent_id,start_local,end_local,timezone,published,parent_id\n");
    let days = [
        "2026-03-07",
        "2026-03-08",
        "2026-03-28",
        "2026-03-29",
        "2026-10-24",
        "2026-10-25",
        "2026-10-31",
        "2026-11-01",
    ];
    let mut n = 0;
    let mut rows: Vec<String> = Vec::new();
    let mut used = std::collections::HashSet::new();
    for (id, _, _) in agents {
        for _ in 0..12 {
            let day = days[r.below(days.len())];
            let half_hours = r.below(48);
            if !used.insert((id, day, half_hours)) {
                continue;
            }
            let (h, m) = (half_hours / 2, (half_hours % 2) * 30);
            let len_h = 2 + r.below(9);
            let (eh, next) = ((h + len_h) % 24, h + len_h >= 24);
            let end_day = if next {
                match day {
                    "2026-03-07" => "2026-03-08",
                    "2026-03-08" => "2026-03-09",
                    "2026-03-28" => "2026-03-29",
                    "2026-03-29" => "2026-03-30",
                    "2026-10-24" => "2026-10-25",
                    "2026-10-25" => "2026-10-26",
                    "2026-10-31" => "2026-11-01",
                    _ => "2026-11-02",
                }
            } else {
                day
            };
            n += 1;
            let row = format!("S-{n},{id},{day} {h:02}:{m:02},{end_day} {eh:02}:{m:02},,true,\n");
            if r.below(10) == 0 {
                rows.push(row.clone()); // an identical repeat, later in the file
            }
            rows.push(row);
        }
    }
    for row in rows {
        s += &row;
    }
    let mut t = String::from(
        "\u{feff}trade_id,swap_request_id,status,requester_agent_id,requester_shift_id,recipient_agent_id,recipient_shift_id\n",
    );
    for i in 0..15 {
        let status = ["approved", "denied", "requested"][r.below(3)];
        let id = format!("TR-{}", r.below(10));
        t += &format!("{id},SR-{i},{status},381447001,S-1,381447002,S-2\n");
    }
    let put = |name: &str, text: &str| {
        std::fs::write(dir.join(name), line_ends(text.as_bytes(), style)).unwrap();
    };
    put("agents.csv", &a);
    put("shifts.csv", &s);
    put("shift_trades.csv", &t);
}

#[test]
fn random_exports_match_the_reference_pipeline() {
    if !python_ok() {
        eprintln!("skipped: python3 with zoneinfo is not available");
        return;
    }
    for seed in 1..=6u64 {
        let work = tempfile::tempdir().unwrap();
        let export = work.path().join("export");
        std::fs::create_dir(&export).unwrap();
        random_export(seed, &export);
        compare(&export, work.path(), &format!("seed {seed}"));
    }
}

/// The reference's rule ids (`--rules`) and its findings per rule (its summary line's `by_rule`).
fn oracle_counts(export: &Path) -> (Vec<String>, BTreeMap<String, u64>) {
    let py = |extra: &[&str]| {
        let out = Command::new("python3")
            .arg(root().join("benches/reference_pipeline.py"))
            .arg(export)
            .arg("--mappings")
            .arg(root().join("mappings"))
            .args(extra)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let rules = py(&["--rules"]).lines().map(str::to_string).collect();
    let v: serde_json::Value = serde_json::from_str(py(&[]).trim()).unwrap();
    let counts = v["by_rule"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, n)| (k.clone(), n.as_u64().unwrap()))
        .collect();
    (rules, counts)
}

/// `zd2gc validate --json`'s findings per rule, after init, extract and map with the project's tables.
fn zd2gc_counts(export: &Path, work: &Path) -> BTreeMap<String, u64> {
    zd2gc_findings(export, work);
    let out = zd2gc()
        .arg("--dir")
        .arg(work.join("m"))
        .args(["-q", "--json", "validate"])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    v["summary"]["by_rule"]
        .as_object()
        .unwrap_or_else(|| panic!("no by_rule: {v}"))
        .iter()
        .map(|(k, n)| (k.clone(), n.as_u64().unwrap()))
        .collect()
}

#[test]
fn known_cases_counted_per_rule_by_the_reference_and_by_validate() {
    if !python_ok() {
        eprintln!("skipped: python3 with zoneinfo is not available");
        return;
    }
    // tests/fixtures/oracle/README.md lists the cases; these counts were written from it by hand.
    let expected: BTreeMap<&str, u64> = [
        ("dst-ambiguous", 5),
        ("dst-nonexistent", 3),
        ("dst-length-change", 3),
        ("duplicate-shift-id", 1),
        ("conflicting-shift-id", 1),
        ("duplicate-trade-id", 1),
        ("conflicting-trade-id", 1),
        ("duplicate-time-off-id", 1),
        ("conflicting-time-off-id", 1),
        ("shift-overlap", 1),
        ("time-off-overlap", 1),
        ("time-off-overlaps-shift", 2),
    ]
    .into();
    let export = root().join("tests/fixtures/oracle/export");
    let (rules, oracle) = oracle_counts(&export);
    // The rules the reference checks are the ones compared here and line by line.
    assert_eq!(
        rules
            .iter()
            .map(String::as_str)
            .collect::<std::collections::BTreeSet<_>>(),
        RULES.iter().copied().collect(),
    );
    assert_eq!(
        expected
            .keys()
            .copied()
            .collect::<std::collections::BTreeSet<_>>(),
        RULES.iter().copied().collect(),
    );
    let work = tempfile::tempdir().unwrap();
    let ours = zd2gc_counts(&export, work.path());
    let mut table = String::new();
    let mut disagree = Vec::new();
    for r in &rules {
        let (e, o, z) = (
            expected.get(r.as_str()).copied().unwrap_or(0),
            oracle.get(r).copied().unwrap_or(0),
            ours.get(r).copied().unwrap_or(0),
        );
        table += &format!("{r:<26} expected {e:>2}  reference {o:>2}  validate {z:>2}\n");
        if e != o || e != z {
            disagree.push(r.clone());
        }
    }
    assert!(disagree.is_empty(), "disagree on {disagree:?}:\n{table}");
    // The same findings, line by line (rule, file, line, record id).
    let work = tempfile::tempdir().unwrap();
    compare(&export, work.path(), "the oracle fixture");
}
