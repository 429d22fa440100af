//! The whole pipeline as a user runs it: `zd2gc rehearse`, from another working directory.

use crate::common::{root, zd2gc};

#[test]
fn rehearse_runs_every_stage_and_holds_back_every_record_with_an_error() {
    let tmp = tempfile::tempdir().unwrap();
    let work = tmp.path().join("rehearsal");
    // Run from a directory other than the project, naming everything explicitly, as a user would.
    let out = zd2gc()
        .current_dir(tmp.path())
        .arg("rehearse")
        .arg(root().join("samples/paris-cutover"))
        .arg("--workdir")
        .arg("rehearsal")
        .arg("--mappings")
        .arg(root().join("mappings"))
        .arg("--org")
        .arg(root().join("samples/org.json"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    for stage in [
        "init", "extract", "map", "validate", "plan", "load", "verify",
    ] {
        assert!(
            stderr.contains(&format!("  {stage}")),
            "{stage} missing:\n{stderr}"
        );
    }
    assert!(stderr.contains("verify    matches"), "{stderr}");
    // The overlap's later shift has only a validation finding (map maps it): it must be held back
    // as the validation spec says, which needs the validation report wherever zd2gc runs from.
    assert!(stderr.contains("\"validation-error\": 1"), "{stderr}");
    let c = rusqlite::Connection::open(work.join("zd2gc.db")).unwrap();
    let path: String = c
        .query_row(
            "SELECT report_path FROM validations ORDER BY id DESC LIMIT 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(
        path.starts_with("reports/"),
        "stored relative to the migration directory: {path}"
    );
}

/// The benchmarks' long-id export (`testdata::IdStyle::Uuid`) goes through extract, map and
/// validate with the same counts as the short-id one of the same seed (the two differ only in
/// their ids), and the UUIDs are what the snapshot and the desired state hold.
#[test]
fn long_id_export_extracts_maps_and_validates_like_the_short_one() {
    use zd2gc::testdata::{IdStyle, generate_export_with, generate_mappings_with};
    let tmp = tempfile::tempdir().unwrap();
    let run = |ids: IdStyle| {
        let export = tmp.path().join(format!("export-{}", ids.name()));
        let work = tmp.path().join(format!("m-{}", ids.name()));
        // 60 agents × 2 weeks: 600 shifts, ~2,100 tasks, a dozen trades; Paris and Chicago.
        let g = generate_export_with(&export, 60, 2, 42, ids).unwrap();
        zd2gc().arg("-q").arg("init").arg(&work).assert().success();
        generate_mappings_with(&work.join("mappings"), 60, ids).unwrap();
        let stage = |args: &[&str]| -> serde_json::Value {
            let out = zd2gc()
                .arg("--dir")
                .arg(&work)
                .args(["-q", "--json"])
                .args(args)
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            serde_json::from_slice(&out.stdout).unwrap()
        };
        let e = stage(&["extract", export.to_str().unwrap()]);
        let m = stage(&["map"]);
        let v = stage(&["validate"]);
        let files: Vec<_> = e["files"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                (
                    f["file"].clone(),
                    f["rows_read"].clone(),
                    f["staged"].clone(),
                    f["rejected"].clone(),
                )
            })
            .collect();
        let keys = [
            "agents_mapped",
            "agents_unmapped",
            "shifts_read",
            "tasks_read",
            "shifts_mapped",
            "shifts_held_back",
            "activities",
            "findings_by_rule",
            "held_back_by_reason",
            "trades_by_action",
        ];
        let map: Vec<_> = keys.iter().map(|k| m[k].clone()).collect();
        let ex = m["shifts"]["examples"]["inserted"][0]
            .as_str()
            .unwrap()
            .to_string();
        // What the state holds: every staged task id and every desired shift's id, by length.
        let snap = zd2gc::extract::stage::open_snapshot(&work).unwrap();
        let task_ids: Vec<String> = snap
            .prepare("SELECT task_id FROM tasks")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        let db = rusqlite::Connection::open(work.join("zd2gc.db")).unwrap();
        let shift_ids: Vec<String> = db
            .prepare("SELECT legacy_shift_id FROM desired_shifts")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        (g, files, map, v["summary"].clone(), ex, task_ids, shift_ids)
    };
    let short = run(IdStyle::Short);
    let long = run(IdStyle::Uuid);
    let g = short.0;
    assert_eq!((g.agents, g.shifts), (60, 600));
    assert!(g.tasks >= 1800 && g.trades > 0, "{g:?}");
    assert!(long.0.bytes > g.bytes * 3 / 2, "{:?} vs {g:?}", long.0);
    // Every record staged, the same counts in every stage.
    assert_eq!(short.1.len(), 4);
    for f in &short.1 {
        assert_eq!(f.1, f.2, "{f:?}");
        assert_eq!(f.3, 0, "{f:?}");
    }
    assert_eq!(short.1, long.1, "extract");
    assert_eq!(short.2, long.2, "map");
    assert_eq!(short.3, long.3, "validate");
    assert_eq!(short.2[4], serde_json::json!(600), "every shift mapped");
    // The ids in the state are the export's, in their own form.
    assert!(
        short.4.starts_with('S') && short.4.len() < 10,
        "{}",
        short.4
    );
    assert_eq!(long.4.len(), 36, "{}", long.4);
    assert_eq!(short.5.len() as u64, g.tasks);
    assert_eq!(long.5.len() as u64, g.tasks);
    assert!(short.5.iter().all(|t| t.starts_with('T') && t.len() < 10));
    assert!(
        long.5
            .iter()
            .all(|t| t.len() == 36 && t.as_bytes()[14] == b'4')
    );
    assert_eq!(short.6.len(), 600);
    assert_eq!(long.6.len(), 600);
    assert!(
        long.6
            .iter()
            .all(|s| s.len() == 36 && s.as_bytes()[14] == b'4')
    );
}

/// Map and validate read the shifts in shift-id order one of three ways (`extract::by_id`): a
/// merge of the file's ascending runs of ids (short ids), SQLite's sort (ids in no order), or the
/// `shifts_by_id` index (a snapshot that records no runs: written by an older zd2gc). All three
/// give the same desired state, map answer and validate report, on both id styles, with shift ids
/// repeated across runs (a conflicting copy and an exact one at the end of the file: which one is
/// "first" shows in the findings' lines).
#[test]
fn merged_sorted_and_index_walked_shift_reads_give_the_same_state_and_report() {
    use zd2gc::extract::by_id::{RUN_ROWS_META, RUNS_META, Way, way};
    use zd2gc::testdata::{IdStyle, generate_export_with, generate_mappings_with};
    let tmp = tempfile::tempdir().unwrap();
    for ids in [IdStyle::Short, IdStyle::Uuid] {
        let export = tmp.path().join(format!("export-{}", ids.name()));
        // 40 agents × 2 weeks: 400 shifts.
        generate_export_with(&export, 40, 2, 7, ids).unwrap();
        let shifts = export.join("shifts.csv");
        let text = std::fs::read_to_string(&shifts).unwrap();
        let lines: Vec<String> = text.lines().map(str::to_string).collect();
        // Shift 5 again with another end (conflicting), shift 2 again as it is (duplicate), shift
        // 5 once more: in short ids the last two start a run of their own, each repeating an id of
        // the first runs.
        let conflicting = {
            let mut f: Vec<&str> = lines[5].split(',').collect();
            f[3] = f[2];
            f.join(",")
        };
        let more = format!("{conflicting}\n{}\n{}\n", lines[2], lines[5]);
        std::fs::write(&shifts, text + &more).unwrap();
        let n = lines.len() as i64;
        let base = tmp.path().join(format!("base-{}", ids.name()));
        zd2gc().arg("-q").arg("init").arg(&base).assert().success();
        generate_mappings_with(&base.join("mappings"), 40, ids).unwrap();
        zd2gc()
            .arg("--dir")
            .arg(&base)
            .args(["-q", "extract"])
            .arg(&export)
            .assert()
            .success();
        let chosen = way(&zd2gc::extract::stage::open_snapshot(&base).unwrap()).unwrap();
        match ids {
            IdStyle::Short => {
                // S1-S9, S10-S99, S100-S400 and S5 (`S5` > `S400` byte by byte), then S2 and
                // S5 again.
                assert_eq!(
                    chosen,
                    Way::Merge(vec![(1, 9), (10, 99), (100, 401), (402, 403)])
                );
            }
            IdStyle::Uuid => assert_eq!(chosen, Way::Sort),
        }
        // The same snapshot read each way: recorded (as chosen), as an older zd2gc's snapshot
        // (no runs: the index), and with too many runs claimed (the sort).
        let ways: [(&str, &str); 3] = [
            ("chosen", ""),
            (
                "walk",
                "DELETE FROM snapshot_meta WHERE key IN ('shift_id_runs', 'shift_id_run_rows')",
            ),
            (
                "sort",
                "UPDATE snapshot_meta SET value = '100000' WHERE key = 'shift_id_runs'",
            ),
        ];
        assert_eq!(
            (RUNS_META, RUN_ROWS_META),
            ("shift_id_runs", "shift_id_run_rows")
        );
        let mut results = Vec::new();
        for (name, sql) in ways {
            let dir = tmp.path().join(format!("{name}-{}", ids.name()));
            copy_dir(&base, &dir);
            let c = rusqlite::Connection::open(dir.join("snapshot.db")).unwrap();
            c.execute_batch(sql).unwrap();
            drop(c);
            let got = way(&zd2gc::extract::stage::open_snapshot(&dir).unwrap()).unwrap();
            match name {
                "walk" => assert_eq!(got, Way::Walk),
                "sort" => assert_eq!(got, Way::Sort),
                _ => assert_eq!(got, chosen),
            }
            results.push((name, map_and_validate(&dir)));
        }
        let (_, first) = &results[0];
        // The repeated ids are reported, at the lines of the copies at the end of the file.
        let report = &first.2;
        let at_end = |rule: &str| {
            report
                .iter()
                .filter(|f| f["rule"] == rule && f["file"] == "shifts.csv")
                .map(|f| f["line"].as_i64().unwrap())
                .collect::<Vec<_>>()
        };
        assert_eq!(at_end("conflicting-shift-id"), [n + 1], "{}", ids.name());
        assert!(
            at_end("duplicate-shift-id").contains(&(n + 2)),
            "{}",
            ids.name()
        );
        for (name, r) in &results[1..] {
            assert_eq!(r.0, first.0, "{} {name}: map's answer", ids.name());
            assert_eq!(r.1, first.1, "{} {name}: the state", ids.name());
            assert_eq!(r.2, first.2, "{} {name}: validate's findings", ids.name());
        }
    }
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &to.join(e.file_name()));
        } else {
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

/// What a map and a validate made: map's answer, the state's tables and views (name, rows), the
/// report's findings.
type Outputs = (
    serde_json::Value,
    Vec<(String, Vec<String>)>,
    Vec<serde_json::Value>,
);

/// Map (its answer without its run's id and time), the state's tables and views in their own
/// order (without the run's records), and validate's findings in order.
fn map_and_validate(dir: &std::path::Path) -> Outputs {
    let run = |stage: &str| -> serde_json::Value {
        let out = zd2gc()
            .arg("--dir")
            .arg(dir)
            .args(["-q", "--json", stage])
            .output()
            .unwrap();
        assert!(
            out.status.code().unwrap_or(9) <= 1,
            "{stage}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let mut map = run("map");
    for k in ["migration_id", "seconds"] {
        map.as_object_mut().unwrap().remove(k);
    }
    let v = run("validate");
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(v["report"].as_str().unwrap()).unwrap()).unwrap();
    let db = rusqlite::Connection::open(dir.join("zd2gc.db")).unwrap();
    let names: Vec<String> = db
        .prepare(
            "SELECT name FROM sqlite_master WHERE type IN ('table', 'view')
             AND name NOT IN ('meta', 'runs', 'validations') ORDER BY name",
        )
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let state = names
        .into_iter()
        .map(|name| {
            let mut st = db.prepare(&format!("SELECT * FROM \"{name}\"")).unwrap();
            let n = st.column_count();
            let rows = st
                .query_map([], |r| {
                    Ok((0..n)
                        .map(|i| format!("{:?}", r.get_ref(i).unwrap()))
                        .collect::<Vec<_>>()
                        .join("|"))
                })
                .unwrap()
                .map(Result::unwrap)
                .collect();
            (name, rows)
        })
        .collect();
    (map, state, report["findings"].as_array().unwrap().clone())
}
