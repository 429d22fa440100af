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
