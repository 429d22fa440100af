//! `zd2gc extract` run as a user runs it: samples, every bad-input case, aliases, atomic replacement.

use crate::common::{root, write_files, zd2gc};
use rusqlite::Connection;
use serde_json::Value;
use std::path::Path;

fn extract_json(dir: &Path, export: &Path) -> (i32, Value, String) {
    let out = zd2gc()
        .arg("--dir")
        .arg(dir)
        .arg("--json")
        .arg("extract")
        .arg(export)
        .output()
        .expect("runs");
    let stdout = String::from_utf8(out.stdout).unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    let v = serde_json::from_str(&stdout).unwrap_or(Value::Null);
    (out.status.code().unwrap(), v, stderr)
}

fn file<'a>(v: &'a Value, name: &str) -> &'a Value {
    v["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["file"] == name)
        .unwrap_or_else(|| panic!("{name} in {v}"))
}

fn snapshot(dir: &Path) -> Connection {
    zd2gc::extract::stage::open_snapshot(dir).expect("snapshot opens")
}

fn count(c: &Connection, sql: &str) -> i64 {
    c.query_row(sql, [], |r| r.get(0)).unwrap()
}

#[test]
fn paris_sample_reports_every_file() {
    let dir = tempfile::tempdir().unwrap();
    let (code, v, _) = extract_json(dir.path(), &root().join("samples/paris-cutover"));
    assert_eq!(code, 0);
    for (name, rows) in [
        ("agents.csv", 47),
        ("shifts.csv", 470),
        ("shift_tasks.csv", 1308),
        ("shift_trades.csv", 24),
    ] {
        let f = file(&v, name);
        assert_eq!(f["rows_read"], rows, "{name}");
        assert_eq!(f["staged"], rows, "{name}");
        assert_eq!(f["rejected"], 0, "{name}");
    }
    let c = snapshot(dir.path());
    assert_eq!(count(&c, "SELECT count(*) FROM shifts"), 470);
    assert_eq!(count(&c, "SELECT count(*) FROM tasks"), 1308);
    // The ambiguous Paris time is kept exactly as written, next to its zone; nothing resolved it.
    let (start, fmt): (i64, i64) = c
        .query_row(
            "SELECT start, fmt FROM shifts WHERE shift_id = 'S-10221'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    let tv = zd2gc::timeval::TimeVal {
        secs: start,
        fmt: (fmt & 0xff) as u8,
    };
    assert!(tv.is_local());
    assert_eq!(zd2gc::timeval::render(tv), "2026-10-25 02:30");
}

#[test]
fn quoted_newlines_do_not_shift_line_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let ex = tempfile::tempdir().unwrap();
    write_files(
        ex.path(),
        &[
            ("agents.csv", b"agent_id,name,team\n1,Ann,\"Tier 1\nBilingual\"\n2,Bob,\"a\nb\nc\"\n3,Cy,T\n"),
            ("shifts.csv", b"shift_id,agent_id,start_local,end_local\nS1,1,2026-10-26 08:00,2026-10-26 16:00\n"),
        ],
    );
    let (code, _, _) = extract_json(dir.path(), ex.path());
    assert_eq!(code, 0);
    let c = snapshot(dir.path());
    let lines: Vec<(String, i64)> = c
        .prepare("SELECT agent_id, line FROM agents ORDER BY line")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(
        lines,
        vec![("1".into(), 2), ("2".into(), 4), ("3".into(), 7)]
    );
}

/// Every bad-input case: the diagnostic's code, file and line, and the good rows beside it staged.
#[test]
fn bad_rows_are_rejected_with_file_and_line_and_good_rows_staged() {
    let dir = tempfile::tempdir().unwrap();
    let ex = tempfile::tempdir().unwrap();
    write_files(
        ex.path(),
        &[
            ("agents.csv", b"\xEF\xBB\xBFagent_id,name,email,deactivated\n1,Ann,a@x.example,false\n2,Caf\xE9,b@x.example,0\n3,Cy,c@x.example,maybe\n4,Di,d@x.example,1\n"),
            (
                "shifts.csv",
                b"shift_id,agent_id,start_local,end_local\n\
S1,1,2026-10-26 08:00,2026-10-26 16:00\n\
S2,1,2026-10-27 08:00\n\
S3,1,2026-13-01 08:00,2026-10-26 09:00\n\
S4,,2026-10-28 08:00,2026-10-28 16:00\n\
S5,4,2026-10-29T08:00:00,2026-10-29T16:00:00\n\
S6,4,0001-01-01 08:00,2026-10-29 16:00\n",
            ),
            (
                "shift_trades.jsonl",
                b"{\"trade_id\":\"TR1\",\"swap_request_id\":\"SR1\",\"status\":\"approved\",\"requester_agent_id\":1,\"requester_shift_id\":\"S1\",\"recipient_agent_id\":4}\n\
{\"trade_id\":\"TR2\",\"swap_request_id\":\"SR1\",\"status\":\"maybe\",\"requester_agent_id\":1,\"requester_shift_id\":\"S1\",\"recipient_agent_id\":4}\n\
not json\n\
\n\
{\"trade_id\":\"TR3\",\"swap_request_id\":\"SR2\",\"status\":\"denied\",\"requester_agent_id\":1,\"requester_shift_id\":\"S1\",\"recipient_agent_id\":4}\n",
            ),
        ],
    );
    let (code, v, stderr) = extract_json(dir.path(), ex.path());
    assert_eq!(code, 1, "rejects are findings: {stderr}");
    let rejects = |name: &str| -> Vec<(String, u64, String)> {
        file(&v, name)["rejects"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r["code"].as_str().unwrap().to_string(),
                    r["line"].as_u64().unwrap(),
                    r["field"].as_str().unwrap_or("").to_string(),
                )
            })
            .collect()
    };
    assert_eq!(
        rejects("agents.csv"),
        vec![
            ("malformed-row".into(), 3, "name".into()),
            ("malformed-row".into(), 4, "deactivated".into())
        ]
    );
    assert_eq!(
        rejects("shifts.csv"),
        vec![
            ("malformed-row".into(), 3, "".into()),
            ("malformed-row".into(), 4, "start_local".into()),
            ("missing-field".into(), 5, "agent_id".into()),
            ("malformed-row".into(), 7, "start_local".into()),
        ]
    );
    assert_eq!(
        rejects("shift_trades.jsonl"),
        vec![
            ("malformed-row".into(), 2, "status".into()),
            ("malformed-row".into(), 3, "".into())
        ]
    );
    // The terminal shows them as diagnostics with file:line and the offending text.
    assert!(
        stderr.contains("agents.csv:3: bad UTF-8 in column `name`"),
        "{stderr}"
    );
    assert!(
        stderr.contains("shifts.csv:3: wrong column count: 3 fields where the header has 4"),
        "{stderr}"
    );
    assert!(stderr.contains("2026-13-01 08:00"), "{stderr}");
    assert!(stderr.contains("year 1 is outside"), "{stderr}");
    // The good rows beside them were staged, and the rejects are kept in the snapshot.
    let c = snapshot(dir.path());
    assert_eq!(count(&c, "SELECT count(*) FROM agents"), 2);
    assert_eq!(count(&c, "SELECT count(*) FROM shifts"), 2);
    assert_eq!(count(&c, "SELECT count(*) FROM trades"), 2);
    assert_eq!(count(&c, "SELECT count(*) FROM rejects"), 8);
    assert_eq!(
        count(
            &c,
            "SELECT count(*) FROM shifts WHERE shift_id IN ('S1','S5')"
        ),
        2
    );
}

/// A character whose bytes a delimiter splits (`Caf\xC3,\xA9...`: the record's bytes back to back
/// are valid UTF-8, its fields are not) is a reject at its line naming the column, and the rows
/// beside it are staged; it was a panic (exit 101) in the reader thread.
#[test]
fn a_character_split_by_a_delimiter_is_a_reject_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let ex = tempfile::tempdir().unwrap();
    write_files(
        ex.path(),
        &[
            ("agents.csv", b"agent_id,name,email,deactivated\r\n1,Ann,a@x.example,false\r\n2,Caf\xC3,\xA9b@x.example,0\r\n3,Cy,c@x.example,true\r\n4,Di,d@x.example\xC3,\xA9\r\n5,Ed,e@x.example,1\r\n"),
            (
                "shifts.csv",
                b"shift_id,agent_id,start_local,end_local\nS1,1,2026-10-26 08:00,2026-10-26 16:00\nS\xC3,\xA92,1,2026-10-27 08:00,2026-10-27 16:00\nS3,3,2026-10-28 08:00,2026-10-28 16:00\n",
            ),
        ],
    );
    let (code, v, stderr) = extract_json(dir.path(), ex.path());
    assert_eq!(code, 1, "rejects are findings: {stderr}");
    let rejects = |name: &str| -> Vec<(String, u64, String, String)> {
        file(&v, name)["rejects"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r["code"].as_str().unwrap().to_string(),
                    r["line"].as_u64().unwrap(),
                    r["field"].as_str().unwrap_or("").to_string(),
                    r["message"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    };
    let bad = |line, col: &str| {
        (
            "malformed-row".to_string(),
            line,
            col.to_string(),
            format!("bad UTF-8 in column `{col}`"),
        )
    };
    assert_eq!(rejects("agents.csv"), vec![bad(3, "name"), bad(5, "email")]);
    // A record with more fields than the header is a wrong column count before anything else.
    assert_eq!(rejects("shifts.csv").len(), 1);
    assert!(
        stderr.contains("agents.csv:3: bad UTF-8 in column `name`"),
        "{stderr}"
    );
    let c = snapshot(dir.path());
    assert_eq!(
        c.prepare("SELECT agent_id FROM agents ORDER BY line")
            .unwrap()
            .query_map([], |r| r.get::<_, String>(0))
            .unwrap()
            .map(Result::unwrap)
            .collect::<Vec<_>>(),
        vec!["1", "3", "5"]
    );
    assert_eq!(count(&c, "SELECT count(*) FROM shifts"), 2);
}

#[test]
fn unix_seconds_must_be_numbers_and_nested_tasks_are_staged() {
    let dir = tempfile::tempdir().unwrap();
    let ex = tempfile::tempdir().unwrap();
    write_files(
        ex.path(),
        &[
            ("agents.jsonl", b"{\"id\": 7, \"name\": \"Ann\", \"email\": \"a@x.example\"}\n"),
            (
                "shifts.jsonl",
                b"{\"id\":\"S1\",\"agentId\":7,\"startTime\":1792915200,\"endTime\":1792944000,\"tasks\":[{\"id\":\"T1\",\"name\":\"Phone\",\"startTime\":1792915200,\"endTime\":1792918800},{\"id\":\"T2\",\"name\":\"Break\",\"startTime\":1792918800,\"endTime\":1792919700}]}\n\
{\"id\":\"S2\",\"agentId\":7,\"startTime\":\"soon\",\"endTime\":1792944000}\n",
            ),
        ],
    );
    let (code, v, _) = extract_json(dir.path(), ex.path());
    assert_eq!(code, 1);
    let f = file(&v, "shifts.jsonl");
    assert_eq!(f["staged"], 1);
    assert_eq!(f["nested_tasks"], 2);
    assert_eq!(f["rejects"][0]["line"], 2);
    assert_eq!(f["rejects"][0]["field"], "startTime");
    let c = snapshot(dir.path());
    assert_eq!(
        count(
            &c,
            "SELECT count(*) FROM tasks WHERE shift_id = 'S1' AND line = 1"
        ),
        2
    );
}

#[test]
fn missing_required_column_names_it_and_the_aliases_tried_and_keeps_the_old_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let (code, v, _) = extract_json(dir.path(), &root().join("samples/paris-cutover"));
    assert_eq!(code, 0);
    let old_id = v["snapshot_id"].as_str().unwrap().to_string();

    std::fs::write(
        dir.path().join("zd2gc.toml"),
        "[columns.shifts]\nagent_id = [\"Agent\", \"Owner\"]\n",
    )
    .unwrap();
    let ex = tempfile::tempdir().unwrap();
    write_files(
        ex.path(),
        &[
            ("agents.csv", b"agent_id\n1\n"),
            ("shifts.csv", b"shift_id,Employee,start_local,end_local\nS1,1,2026-10-26 08:00,2026-10-26 16:00\n"),
        ],
    );
    let (code, _, stderr) = extract_json(dir.path(), ex.path());
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("missing-column"), "{stderr}");
    assert!(
        stderr.contains(
            "shifts.csv has no required column `agent_id` (tried: Agent, Owner, agent_id, agentId)"
        ),
        "{stderr}"
    );
    // The previous snapshot is intact.
    let c = snapshot(dir.path());
    let id: String = c
        .query_row(
            "SELECT value FROM snapshot_meta WHERE key='snapshot_id'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(id, old_id);
    assert_eq!(count(&c, "SELECT count(*) FROM shifts"), 470);
    // Nothing of the failed extract is left: its tasks file is written to its end on its own
    // thread (sealed, not only started) before the error is known, and removed then.
    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("snapshot"))
        .collect();
    names.sort();
    let tasks_file: String = c
        .query_row(
            "SELECT value FROM snapshot_meta WHERE key='tasks_file'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(names, [tasks_file, "snapshot.db".to_string()]);
}

#[test]
fn header_aliases_from_the_configuration_are_used() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("zd2gc.toml"),
        "[columns.shifts]\nstart_local = [\"Shift start\"]\nend_local = [\"Shift end\"]\n",
    )
    .unwrap();
    let ex = tempfile::tempdir().unwrap();
    write_files(
        ex.path(),
        &[
            ("agents.csv", b"id,email\n1,a@x.example\n"),
            (
                "shifts.csv",
                b"ID,Agent_Id,Shift start,Shift end\nS1,1,2026-10-26 08:00,2026-10-26 16:00\n",
            ),
        ],
    );
    let (code, v, stderr) = extract_json(dir.path(), ex.path());
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(file(&v, "shifts.csv")["staged"], 1);
}

#[test]
fn re_extract_replaces_the_snapshot_and_cleans_leftovers() {
    let dir = tempfile::tempdir().unwrap();
    // A leftover of a killed extract (a pid that cannot exist) must not survive or be used.
    std::fs::write(dir.path().join("snapshot.db.tmp-4294967"), b"junk").unwrap();
    // And the spill file of its tasks writer's sort (src/extract/runsort.rs).
    std::fs::write(dir.path().join("snapshot-runs.tmp-4294967"), b"junk").unwrap();
    // And SQLite's side files of a staging file killed while being written or packed: the text
    // after `.tmp-` is then `<pid>-journal` (or `-wal`, `-shm`), not a pid.
    for leftover in [
        "snapshot-tasks-4294967-1.db.packed.tmp-4294967",
        "snapshot-tasks-4294967-1.db.packed.tmp-4294967-journal",
        "snapshot-tasks-4294967-1.db.tmp-4294967-wal",
        "snapshot-tasks-4294967-1.db.tmp-4294967-shm",
        "snapshot.db.tmp-4294967-journal",
        "snapshot-tasks-4294967-2.db-journal",
    ] {
        std::fs::write(dir.path().join(leftover), b"junk").unwrap();
    }
    let (code, a, _) = extract_json(dir.path(), &root().join("samples/paris-cutover"));
    assert_eq!(code, 0);
    let (code, b, _) = extract_json(dir.path(), &root().join("samples/clean"));
    assert_eq!(code, 0);
    assert_ne!(a["snapshot_id"], b["snapshot_id"]);
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("snapshot"))
        .collect();
    assert_eq!(
        names.len(),
        2,
        "snapshot.db and its one tasks file: {names:?}"
    );
    let c = snapshot(dir.path());
    assert_eq!(count(&c, "SELECT count(*) FROM shifts"), 101);
    assert_eq!(count(&c, "SELECT count(*) FROM tasks"), 312);
}

#[test]
fn both_csv_and_jsonl_for_one_kind_is_a_user_error() {
    let dir = tempfile::tempdir().unwrap();
    let ex = tempfile::tempdir().unwrap();
    write_files(
        ex.path(),
        &[
            ("agents.csv", b"agent_id\n1\n"),
            ("agents.jsonl", b"{\"id\":1}\n"),
            ("shifts.csv", b"shift_id,agent_id,start,end\n"),
        ],
    );
    let (code, _, stderr) = extract_json(dir.path(), ex.path());
    assert_eq!(code, 1);
    assert!(stderr.contains("2 files for agents"), "{stderr}");
}

fn export_with(files: &[(&str, &str)]) -> tempfile::TempDir {
    let ex = tempfile::tempdir().unwrap();
    for (n, body) in files {
        std::fs::write(ex.path().join(n), body).unwrap();
    }
    ex
}

const AGENTS_CSV: &str = "agent_id,name,email\n1,Anne,a@x.example\n";
const SHIFTS_CSV: &str =
    "shift_id,agent_id,start_local,end_local\nS1,1,2026-05-04 09:00,2026-05-04 17:00\n";

/// A misnamed optional file is never skipped silently: each unknown file is named with the known
/// name closest to it, and extract stops unless told `--ignore-unknown-files`.
#[test]
fn unknown_files_are_named_with_the_closest_known_name() {
    let ex = export_with(&[
        ("agents.csv", AGENTS_CSV),
        ("shifts.csv", SHIFTS_CSV),
        (
            "shift-tasks.csv",
            "task_id,shift_id,name,start_local,end_local\n",
        ),
        ("Shifts (1).csv", SHIFTS_CSV),
        ("timeoff.csv", ""),
        ("notes.txt", "hello"),
        (".DS_Store", ""),
    ]);
    let dir = tempfile::tempdir().unwrap();
    let err = zd2gc::extract::extract(
        dir.path(),
        ex.path(),
        &zd2gc::config::Config::default(),
        |_| {},
    )
    .unwrap_err();
    let zd2gc::error::Error::Source(d) = err else {
        panic!("{err:?}")
    };
    assert_eq!(d.code, "unknown-file");
    assert_eq!(d.file, "Shifts (1).csv");
    assert_eq!(d.line, 1);
    for part in [
        "`Shifts (1).csv` (did you mean `shifts.csv`?)",
        "`notes.txt`,",
        "`shift-tasks.csv` (did you mean `shift_tasks.csv`?)",
        "`timeoff.csv` (did you mean `time_off.csv`?)",
        "agents.csv, shifts.csv, shift_tasks.csv, shift_trades.csv, time_off.csv",
    ] {
        assert!(d.message.contains(part), "{part}: {}", d.message);
    }
    assert!(!d.message.contains("DS_Store"));
    assert_eq!(
        d.help.as_deref(),
        Some(
            "rename `Shifts (1).csv` to `shifts.csv`, `shift-tasks.csv` to `shift_tasks.csv`, `timeoff.csv` to `time_off.csv`, or run `zd2gc extract --ignore-unknown-files` to go on without them (docs/export-format.md)"
        )
    );
    assert!(!dir.path().join("snapshot.db").exists(), "nothing staged");
    // The command: exit 1, the diagnostic on stderr; with the flag it goes on and names them.
    let (code, _, stderr) = extract_json(dir.path(), ex.path());
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("unknown-file"), "{stderr}");
    let out = zd2gc()
        .arg("--dir")
        .arg(dir.path())
        .arg("--json")
        .arg("extract")
        .arg("--ignore-unknown-files")
        .arg(ex.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        v["ignored_files"],
        serde_json::json!([
            "Shifts (1).csv",
            "notes.txt",
            "shift-tasks.csv",
            "timeoff.csv"
        ])
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("not read: shift-tasks.csv"));
}

/// Empty and header-only files are staged as nothing and said so; never a missing-column error.
#[test]
fn empty_and_header_only_files_are_reported_not_missing_columns() {
    for shifts in [
        "",
        "\u{feff}",
        "shift_id,agent_id,start_local,end_local\r\n",
        "\n\n",
    ] {
        let ex = export_with(&[("agents.csv", AGENTS_CSV), ("shifts.csv", shifts)]);
        let dir = tempfile::tempdir().unwrap();
        let (code, v, stderr) = extract_json(dir.path(), ex.path());
        assert_eq!(code, 0, "{shifts:?}: {stderr}");
        assert_eq!(file(&v, "shifts.csv")["rows_read"], 0);
        assert!(stderr.contains("shifts.csv "), "{stderr}");
        assert!(stderr.contains("nothing staged from it"), "{stderr}");
    }
}

/// The tasks as the test wrote them: (physical line, task id, shift id, name, start, end), for
/// the rows that are staged.
type WrittenTask = (i64, Option<String>, String, String, String, String);

/// A tasks file written row by row, each row's physical line counted as it is written (the oracle
/// the snapshot is compared with): CRLF line ends, a quoted name over two lines, the tasks of a
/// shift split into several runs, a shift that is not in the export, a rejected row between two
/// tasks of the same shift, more distinct names than the writer keeps in memory, and task ids that
/// are stored as numbers (`T` and a number, the file's first id's shape) beside ids that must stay
/// text (a leading zero, another prefix, digits alone, too many digits, none at all).
fn tricky_tasks() -> (String, Vec<WrittenTask>) {
    let mut csv = String::from("task_id,shift_id,name,start_local,end_local,paid\r\n");
    let mut line = 2i64;
    let mut staged = Vec::new();
    let mut push =
        |csv: &mut String, line: &mut i64, id: Option<&str>, sid: &str, name: &str, minute: u32| {
            let start = format!("2026-05-04 {:02}:{:02}", 9 + minute / 60, minute % 60);
            let end = format!(
                "2026-05-04 {:02}:{:02}",
                9 + (minute + 1) / 60,
                (minute + 1) % 60
            );
            let quoted = if name.contains('\n') || name.contains(',') {
                format!("\"{name}\"")
            } else {
                name.to_string()
            };
            csv.push_str(&format!(
                "{},{sid},{quoted},{start},{end},true\r\n",
                id.unwrap_or("")
            ));
            staged.push((
                *line,
                id.map(str::to_string),
                sid.to_string(),
                name.to_string(),
                start,
                end,
            ));
            *line += 1 + name.matches('\n').count() as i64;
        };
    push(&mut csv, &mut line, Some("T1"), "S2", "Phone", 0);
    push(&mut csv, &mut line, Some("T2"), "S2", "Wrap\nup", 1);
    push(&mut csv, &mut line, None, "S1", "Phone", 2);
    // A rejected row (bad date) between two tasks of S1: not staged, the run goes on.
    csv.push_str("T4,S1,Phone,2026-13-01 08:00,2026-05-04 10:00,true\r\n");
    line += 1;
    push(
        &mut csv,
        &mut line,
        Some("T5"),
        "S1",
        "Chat, with a comma",
        3,
    );
    push(&mut csv, &mut line, Some("T6"), "S404", "Phone", 4);
    push(&mut csv, &mut line, Some("T7"), "S2", "Phone", 5);
    for (id, minute) in [
        ("T007", 6),
        ("T0", 7),
        ("12", 8),
        ("T", 9),
        ("T12345678901234567890", 10),
        ("T999999999999999999", 11),
        ("T8", 12),
    ] {
        push(&mut csv, &mut line, Some(id), "S2", "Phone", minute);
    }
    for i in 0..4300u32 {
        // More names than the writer keeps in memory; the last 100 of them (past it) seen again.
        let name = format!("Activity {}", if i < 4200 { i } else { i - 100 });
        push(
            &mut csv,
            &mut line,
            Some(&format!("U{i}")),
            if i % 3 == 0 { "S1" } else { "S2" },
            &name,
            6 + i % 300,
        );
    }
    (csv, staged)
}

#[test]
fn tasks_keep_their_line_shift_id_and_name_as_written_in_compact_form() {
    let (tasks, staged) = tricky_tasks();
    let ex = tempfile::tempdir().unwrap();
    write_files(
        ex.path(),
        &[
            ("agents.csv", b"agent_id,name,timezone\r\n1001,Anne,Europe/Paris\r\n"),
            (
                "shifts.csv",
                b"shift_id,agent_id,start_local,end_local\r\nS1,1001,2026-05-04 08:00,2026-05-04 18:00\r\nS2,1001,2026-05-05 08:00,2026-05-05 18:00\r\n",
            ),
            ("shift_tasks.csv", tasks.as_bytes()),
        ],
    );
    let dir = tempfile::tempdir().unwrap();
    let (code, v, _) = extract_json(dir.path(), ex.path());
    assert_eq!(code, 1, "one rejected task");
    assert_eq!(file(&v, "shift_tasks.csv")["rejects"][0]["line"], 6);
    let c = snapshot(dir.path());
    // Every staged task, in file order, as written (the view of schema 2's columns).
    let mut st = c
        .prepare(
            "SELECT f.name, t.line, t.task_id, t.shift_id, t.name, t.start, t.\"end\", t.fmt
             FROM tasks t JOIN files f USING (file_id) ORDER BY t.task_row",
        )
        .unwrap();
    let got: Vec<(String, WrittenTask)> = st
        .query_map([], |r| {
            let fmt: i64 = r.get(7)?;
            let text = |secs: i64, f: i64| {
                zd2gc::timeval::render(zd2gc::timeval::TimeVal { secs, fmt: f as u8 })
            };
            Ok((
                r.get(0)?,
                (
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    text(r.get(5)?, fmt & 0xff),
                    text(r.get(6)?, fmt >> 8),
                ),
            ))
        })
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    assert_eq!(got.len(), staged.len());
    for ((file, g), want) in got.iter().zip(&staged) {
        assert_eq!(file, "shift_tasks.csv");
        assert_eq!(g, want);
    }
    // One run per change of shift id among the staged rows (the rejected row does not break one).
    let runs = 1 + staged.windows(2).filter(|w| w[0].2 != w[1].2).count() as i64;
    assert_eq!(count(&c, "SELECT count(*) FROM task_runs"), runs);
    assert_eq!(
        count(&c, "SELECT count(*) FROM task_names"),
        3 + 4200,
        "each distinct name once"
    );
    // The ids of the first id's shape (`T`, a number without leading zeros, at most 18 digits)
    // are stored as numbers; the others as written.
    let numbered = staged
        .iter()
        .filter_map(|t| t.1.as_deref()?.strip_prefix('T'))
        .filter(|n| {
            !n.is_empty()
                && n.len() <= 18
                && n.bytes().all(|b| b.is_ascii_digit())
                && (n == &"0" || !n.starts_with('0'))
        })
        .count() as i64;
    assert_eq!(numbered, 8);
    // A task's id field (its fourth, see extract::stage::TASKS_SCHEMA) is `=TEXT` or `!` (none)
    // unless the id is numbered.
    let texts: Vec<String> = c
        .prepare("SELECT tasks FROM task_runs")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    let items: Vec<&str> = texts.iter().flat_map(|t| t.split(';')).collect();
    assert_eq!(items.len(), staged.len());
    let stored_as_number = items
        .iter()
        .filter(|i| {
            let id = i.split(',').nth(3).unwrap_or("");
            !id.starts_with('=') && id != "!"
        })
        .count() as i64;
    assert_eq!(stored_as_number, numbered);
    // In shift-id order (map's read, its ids rebuilt in Rust), each id's tasks in file order.
    let mut want: Vec<(String, i64, Option<String>)> = staged
        .iter()
        .map(|t| (t.2.clone(), t.0, t.1.clone()))
        .collect();
    want.sort_by(|a, b| (&a.0, a.1).cmp(&(&b.0, b.1)));
    let ids = zd2gc::extract::stage::TaskIds::load(&c).unwrap();
    let mut st = c.prepare(zd2gc::extract::stage::TASKS_BY_SHIFT_ID).unwrap();
    let mut rows = st.query([]).unwrap();
    let mut by_id = Vec::new();
    let mut sid = String::new();
    while let Some(r) = rows.next().unwrap() {
        sid.clear();
        zd2gc::extract::stage::push_shift_id(r.get_ref(0).unwrap(), &mut sid).unwrap();
        let mut run = zd2gc::extract::stage::RunTasks::read(r, 0, &sid).unwrap();
        while let Some(t) = run.next_task().unwrap() {
            let mut id = String::new();
            let has = run.write_id(&ids, &t, &mut id).unwrap();
            by_id.push((run.shift_id.to_string(), t.line, has.then_some(id)));
        }
    }
    assert_eq!(by_id, want);
}

#[test]
fn task_times_in_rfc_3339_keep_their_text_and_only_those_tasks_store_one() {
    let ex = tempfile::tempdir().unwrap();
    write_files(
        ex.path(),
        &[
            ("agents.csv", b"agent_id,name,timezone\n1001,Anne,Europe/Paris\n"),
            (
                "shifts.csv",
                b"shift_id,agent_id,start_local,end_local\nS1,1001,2026-05-04 08:00,2026-05-04 18:00\n",
            ),
            (
                "shift_tasks.csv",
                b"task_id,shift_id,name,start_local,end_local,start,end\n\
T1,S1,Phone,2026-05-04 09:00,2026-05-04 09:30,,\n\
T2,S1,Phone,,,2026-05-04T09:30:00+02:00,2026-05-04T08:00:00Z\n\
T3,S1,Phone,2026-05-04 10:00,2026-05-04 10:30,,\n",
            ),
        ],
    );
    let dir = tempfile::tempdir().unwrap();
    let (code, _, _) = extract_json(dir.path(), ex.path());
    assert_eq!(code, 0);
    let c = snapshot(dir.path());
    let got: Vec<(String, i64, Option<String>, Option<String>)> = c
        .prepare("SELECT task_id, line, start_text, end_text FROM tasks ORDER BY task_row")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    let text = |s: &str| Some(s.to_string());
    assert_eq!(
        got,
        [
            ("T1".to_string(), 2, None, None),
            (
                "T2".to_string(),
                3,
                text("2026-05-04T09:30:00+02:00"),
                text("2026-05-04T08:00:00Z")
            ),
            ("T3".to_string(), 4, None, None),
        ]
    );
    assert_eq!(count(&c, "SELECT count(*) FROM task_texts"), 1);
}

#[test]
fn a_snapshot_of_another_schema_asks_for_extract_again() {
    let dir = tempfile::tempdir().unwrap();
    let (code, _, _) = extract_json(dir.path(), &root().join("samples/paris-cutover"));
    assert_eq!(code, 0);
    let snap = dir.path().join("snapshot.db");
    let older = zd2gc::extract::stage::SNAPSHOT_SCHEMA - 1;
    Connection::open(&snap)
        .unwrap()
        .pragma_update(None, "user_version", older)
        .unwrap();
    // Exit codes as documented: map's user error 1, validate's "could not run" 2; the cutover
    // report is refused like map (it would lack each finding's business unit and the impact of
    // task findings, silently).
    // `mappings pull` reads the snapshot before its first request (the API URL is a closed port).
    for (cmd, exit) in [
        ("map", 1),
        ("validate", 2),
        ("report", 1),
        ("mappings pull --dry-run", 1),
    ] {
        let out = zd2gc()
            .arg("--dir")
            .arg(dir.path())
            .args(cmd.split(' '))
            .env("GENESYSCLOUD_OAUTHCLIENT_ID", "id")
            .env("GENESYSCLOUD_OAUTHCLIENT_SECRET", "secret")
            .env("ZD2GC_API_URL", "http://127.0.0.1:9")
            .env("ZD2GC_LOGIN_URL", "http://127.0.0.1:9")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(exit), "{cmd}: {stderr}");
        assert!(
            stderr.contains(&format!(
                "written by an older zd2gc (snapshot schema {older};"
            )),
            "{cmd}: {stderr}"
        );
        assert!(
            stderr.contains("run `zd2gc extract EXPORT_DIR` again"),
            "{cmd}: {stderr}"
        );
    }
}

/// What a run's text packs (snapshot schema 5) beyond the usual task, each against the values the
/// test wrote: lengths and gaps in seconds (not whole minutes), negative ones (a task ending before
/// it starts, overlapping tasks), numbered ids that jump back and forward, text ids holding the
/// text's own separators and escapes, one name paid, unpaid and unknown, a task in RFC 3339 in a
/// run of local times, several tasks on one JSON line, a run of one shift id cut by a change of
/// file. The view (SQL) and `RunTasks` (Rust) must both give them back.
#[test]
fn packed_runs_give_back_every_task_as_written() {
    // 2026-05-04 00:00 as naive seconds.
    const DAY: i64 = 1_777_852_800;
    let hms = |s: i64| {
        format!(
            "2026-05-04 {:02}:{:02}:{:02}",
            s / 3600,
            s % 3600 / 60,
            s % 60
        )
    };
    // (task id, name, start, end, paid) of S1, in file order, in seconds of the day.
    let rows: [(&str, &str, i64, i64, &str); 12] = [
        ("T5", "Phone", 9 * 3600, 9 * 3600 + 1800, "true"),
        ("T6", "Phone", 9 * 3600 + 1800, 9 * 3600 + 1830, "false"),
        ("T3", "Phone", 9 * 3600 + 1837, 9 * 3600 + 1200, ""),
        ("T4", "Break", 9 * 3600, 10 * 3600, "true"),
        ("T40", "Break", 10 * 3600 - 61, 10 * 3600 + 59, "true"),
        ("a;b,c", "Phone", 11 * 3600, 11 * 3600 + 60, "true"),
        ("%3B%25%", "Phone", 11 * 3600 + 60, 11 * 3600 + 120, "true"),
        ("=#!", "Phone", 11 * 3600 + 120, 11 * 3600 + 180, "true"),
        ("T41", "Phone", 11 * 3600 + 180, 11 * 3600 + 240, "true"),
        ("T44", "Phone", 11 * 3600 + 240, 11 * 3600 + 300, "true"),
        ("T43", "Phone", 11 * 3600 + 300, 11 * 3600 + 360, "true"),
        ("T45", "Phone", 11 * 3600 + 360, 11 * 3600 + 420, "true"),
    ];
    let mut csv = String::from("task_id,shift_id,name,start_local,end_local,paid,start,end\n");
    for (id, name, s, e, paid) in rows {
        let q = if id.contains(',') {
            format!("\"{id}\"")
        } else {
            id.to_string()
        };
        csv.push_str(&format!("{q},S1,{name},{},{},{paid},,\n", hms(s), hms(e)));
    }
    // Line 14: RFC 3339 (so another time format) inside the run.
    csv.push_str("T46,S1,Phone,,,true,2026-05-04T12:00:00Z,2026-05-04T12:30:00Z\n");
    let ex = tempfile::tempdir().unwrap();
    // shifts.jsonl first (file 2), its S1 line with three tasks; then shift_tasks.csv (file 3),
    // whose first tasks name S1 too: another run.
    let jsonl = "{\"id\":\"S1\",\"agentId\":7,\"startTime\":1777881600,\"endTime\":1777910400,\"tasks\":[\
{\"id\":\"J1\",\"name\":\"Phone\",\"startTime\":1777881600,\"endTime\":1777881900},\
{\"id\":\"J2\",\"name\":\"Phone\",\"startTime\":1777881900,\"endTime\":1777882207},\
{\"name\":\"Phone\",\"startTime\":1777882207,\"endTime\":1777882000}]}\n";
    write_files(
        ex.path(),
        &[
            (
                "agents.jsonl",
                b"{\"id\": 7, \"name\": \"Ann\", \"timezone\": \"Europe/Paris\"}\n",
            ),
            ("shifts.jsonl", jsonl.as_bytes()),
            ("shift_tasks.csv", csv.as_bytes()),
        ],
    );
    let dir = tempfile::tempdir().unwrap();
    let (code, _, stderr) = extract_json(dir.path(), ex.path());
    assert_eq!(code, 0, "{stderr}");
    // (file, line, id, name, start, end, paid) as written.
    type Want = (String, i64, Option<String>, String, i64, i64, Option<i64>);
    let mut want: Vec<Want> = vec![
        (
            "shifts.jsonl".into(),
            1,
            Some("J1".into()),
            "Phone".into(),
            1777881600,
            1777881900,
            None,
        ),
        (
            "shifts.jsonl".into(),
            1,
            Some("J2".into()),
            "Phone".into(),
            1777881900,
            1777882207,
            None,
        ),
        (
            "shifts.jsonl".into(),
            1,
            None,
            "Phone".into(),
            1777882207,
            1777882000,
            None,
        ),
    ];
    for (i, (id, name, s, e, paid)) in rows.iter().enumerate() {
        let paid = match *paid {
            "true" => Some(1),
            "false" => Some(0),
            _ => None,
        };
        want.push((
            "shift_tasks.csv".into(),
            i as i64 + 2,
            Some(id.to_string()),
            name.to_string(),
            DAY + s,
            DAY + e,
            paid,
        ));
    }
    want.push((
        "shift_tasks.csv".into(),
        14,
        Some("T46".into()),
        "Phone".into(),
        DAY + 12 * 3600,
        DAY + 12 * 3600 + 1800,
        Some(1),
    ));
    let c = snapshot(dir.path());
    let got = c
        .prepare(
            "SELECT f.name, t.line, t.task_id, t.name, t.start, t.\"end\", t.paid
             FROM tasks t JOIN files f USING (file_id) WHERE t.shift_id = 'S1' ORDER BY t.task_row",
        )
        .unwrap()
        .query_map([], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
                r.get(6)?,
            ))
        })
        .unwrap()
        .collect::<rusqlite::Result<Vec<Want>>>()
        .unwrap();
    // The two files are read by threads of their own: the order of their tasks between them is
    // the order their batches arrived in; within a file it is the file's.
    let mut got = got;
    got.sort_by(|a, b| b.0.cmp(&a.0));
    assert_eq!(got, want);
    // Two runs: the JSON line's and the CSV's.
    assert_eq!(count(&c, "SELECT count(*) FROM task_runs"), 2);
    // Phone paid, unpaid and unknown are three entries of the dictionary.
    assert_eq!(
        count(&c, "SELECT count(*) FROM task_names WHERE name = 'Phone'"),
        3
    );
    // The same in Rust, as map and validate read them.
    let ids = zd2gc::extract::stage::TaskIds::load(&c).unwrap();
    let mut st = c.prepare(zd2gc::extract::stage::RUNS_OF_SHIFT).unwrap();
    let mut rows = st
        .query(<[_; 2]>::from(zd2gc::extract::stage::shift_key("S1")))
        .unwrap();
    let mut sid = String::new();
    let mut decoded = Vec::new();
    while let Some(r) = rows.next().unwrap() {
        sid.clear();
        zd2gc::extract::stage::push_shift_id(r.get_ref(0).unwrap(), &mut sid).unwrap();
        let mut run = zd2gc::extract::stage::RunTasks::read(r, 0, &sid).unwrap();
        let file: String = c
            .query_row(
                "SELECT name FROM files WHERE file_id = ?1",
                [run.file_id],
                |r| r.get(0),
            )
            .unwrap();
        let mut row = run.first;
        while let Some(t) = run.next_task().unwrap() {
            assert_eq!(t.row, row, "a run's tasks are numbered one after the other");
            row += 1;
            let mut id = String::new();
            let has = run.write_id(&ids, &t, &mut id).unwrap();
            decoded.push((file.clone(), t.line, has.then_some(id), t.start, t.end));
        }
    }
    decoded.sort_by(|a, b| b.0.cmp(&a.0));
    let want_rust: Vec<_> = want
        .iter()
        .map(|w| (w.0.clone(), w.1, w.2.clone(), w.4, w.5))
        .collect();
    assert_eq!(decoded, want_rust);
}

/// Canonical lowercase UUID task ids are kept as 16 bytes (snapshot schema 7); every other spelling
/// of an id stays text. Two task files (nested tasks of a JSONL shifts file and a CRLF CSV), ids of
/// every shape side by side in one run: canonical, upper and mixed case, in braces, without
/// hyphens, one character short or long, numbered, empty, absent, holding `;`, `,`, `%`, `*` or a
/// NUL; UUID and non-UUID shift ids. The oracle is what the test wrote: the view (SQL) and
/// `RunTasks` (Rust, in shift-id order) must both give every id back as written, and the stored
/// runs must hold exactly the canonical ids packed (a naive check of the shape) and none as text.
#[test]
fn uuid_task_ids_are_packed_and_given_back_as_written() {
    const T0: i64 = 1_777_881_600; // 2026-05-04 08:00 UTC
    let canon = |i: u64| {
        let x = i.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ 0x0123_4567_89ab_cdef;
        format!(
            "{:08x}-{:04x}-4{:03x}-a{:03x}-{:012x}",
            x >> 32,
            (x >> 16) & 0xffff,
            x & 0xfff,
            (x >> 20) & 0xfff,
            x.rotate_left(17) & 0xffff_ffff_ffff
        )
    };
    let shape = |i: u64| -> Option<String> {
        let c = canon(i);
        match i % 16 {
            0..=5 => Some(c),
            6 => Some(c.to_uppercase()),
            7 => Some(format!("{}{}", c[..18].to_uppercase(), &c[18..])),
            8 => Some(format!("{{{c}}}")),
            9 => Some(c.replace('-', "")),
            10 => Some(c[..35].to_string()),
            11 => Some(format!("{c}0")),
            12 => Some(format!("T{i}")),
            13 => None,
            14 => Some(format!("{};%3B,*%{}", &c[..8], &c[9..])),
            _ => Some("*".to_string()),
        }
    };
    let shifts = [
        "0f0e0d0c-0b0a-4908-8706-050403020100".to_string(),
        "S1".to_string(),
        "0F0E0D0C-0B0A-4908-8706-050403020101".to_string(),
    ];
    // (file, line, id, shift id, start) as written.
    type Want = (String, i64, Option<String>, String, i64);
    let mut want: Vec<Want> = Vec::new();
    // shifts.jsonl (file 2): one line a shift, its tasks nested, one id with a NUL, one empty.
    let mut jsonl = String::new();
    for (k, sid) in shifts.iter().enumerate() {
        let line = k as i64 + 1;
        let ids = [
            Some(canon(1000 + k as u64)),
            Some(format!("a\u{0}{}", canon(2000))),
            Some(String::new()),
            None,
            Some(canon(3000 + k as u64)),
        ];
        let mut tasks = Vec::new();
        for (j, id) in ids.iter().enumerate() {
            let s = T0 + 600 * j as i64;
            let idf = id
                .as_ref()
                .map(|i| format!("\"id\":{},", serde_json::to_string(i).unwrap()))
                .unwrap_or_default();
            tasks.push(format!(
                "{{{idf}\"name\":\"Phone\",\"startTime\":{s},\"endTime\":{}}}",
                s + 600
            ));
            let id = id.clone().filter(|i| !i.is_empty());
            want.push(("shifts.jsonl".into(), line, id, sid.clone(), s));
        }
        jsonl.push_str(&format!(
            "{{\"id\":{},\"agentId\":7,\"startTime\":{T0},\"endTime\":{},\"tasks\":[{}]}}\n",
            serde_json::to_string(sid).unwrap(),
            T0 + 8 * 3600,
            tasks.join(",")
        ));
    }
    // shift_tasks.csv (file 3), CRLF: runs of 1 to 7 tasks of one shift id, ids cycling through
    // the shapes.
    let mut csv = String::from("task_id,shift_id,name,start_local,end_local\r\n");
    // 2026-05-04 00:00 as naive seconds (the view's `start` of a local time).
    const DAY: i64 = 1_777_852_800;
    let local = |m: i64| format!("2026-05-04 {:02}:{:02}", m / 60, m % 60);
    let mut line = 2;
    let mut i = 0u64;
    for run in 0..60u64 {
        let sid = &shifts[(run % 3) as usize];
        for _ in 0..1 + run % 7 {
            let id = shape(i);
            let m = 8 * 60 + i as i64 % 400;
            let s = DAY + 60 * m;
            let field = match &id {
                Some(v) if v.contains(',') => format!("\"{v}\""),
                Some(v) => v.clone(),
                None => String::new(),
            };
            csv.push_str(&format!(
                "{field},{sid},Phone,{},{}\r\n",
                local(m),
                local(m + 1)
            ));
            want.push(("shift_tasks.csv".into(), line, id, sid.clone(), s));
            line += 1;
            i += 1;
        }
    }
    let ex = tempfile::tempdir().unwrap();
    write_files(
        ex.path(),
        &[
            (
                "agents.jsonl",
                b"{\"id\": 7, \"name\": \"Ann\", \"timezone\": \"Europe/Paris\"}\n",
            ),
            ("shifts.jsonl", jsonl.as_bytes()),
            ("shift_tasks.csv", csv.as_bytes()),
        ],
    );
    let dir = tempfile::tempdir().unwrap();
    let (code, _, stderr) = extract_json(dir.path(), ex.path());
    assert_eq!(code, 0, "{stderr}");
    let c = snapshot(dir.path());
    // The view, in task order within each file.
    let mut got: Vec<Want> = c
        .prepare(
            "SELECT f.name, t.line, t.task_id, t.shift_id, t.start
             FROM tasks t JOIN files f USING (file_id) ORDER BY t.task_row",
        )
        .unwrap()
        .query_map([], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    got.sort_by(|a, b| (&a.0, a.1).cmp(&(&b.0, b.1)));
    let mut sorted = want.clone();
    sorted.sort_by(|a, b| (&a.0, a.1).cmp(&(&b.0, b.1)));
    assert_eq!(got.len(), sorted.len());
    for (g, w) in got.iter().zip(&sorted) {
        assert_eq!(g, w);
    }
    // Rust, as map and validate read them: in shift-id byte order, each id's tasks in file order.
    let ids = zd2gc::extract::stage::TaskIds::load(&c).unwrap();
    let mut st = c.prepare(zd2gc::extract::stage::TASKS_BY_SHIFT_ID).unwrap();
    let mut rows = st.query([]).unwrap();
    let mut sid = String::new();
    let mut by_id: Vec<(String, Option<String>, i64)> = Vec::new();
    while let Some(r) = rows.next().unwrap() {
        sid.clear();
        zd2gc::extract::stage::push_shift_id(r.get_ref(0).unwrap(), &mut sid).unwrap();
        let mut run = zd2gc::extract::stage::RunTasks::read(r, 0, &sid).unwrap();
        while let Some(t) = run.next_task().unwrap() {
            let mut id = String::new();
            let has = run.write_id(&ids, &t, &mut id).unwrap();
            by_id.push((run.shift_id.to_string(), has.then_some(id), t.start));
        }
    }
    let mut want_rust: Vec<_> = want
        .iter()
        .map(|w| (w.3.clone(), w.2.clone(), w.4))
        .collect();
    // The JSONL file's tasks come first in each shift id (its file was read first: one file a
    // thread, but each run belongs to one file and runs of one id are in task-number order).
    want_rust.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    let mut by_id_files = by_id.clone();
    by_id_files.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    assert_eq!(by_id, by_id_files, "runs in shift-id byte order");
    let key = |v: &mut Vec<(String, Option<String>, i64)>| {
        v.sort();
    };
    let (mut a, mut b) = (by_id.clone(), want_rust.clone());
    key(&mut a);
    key(&mut b);
    assert_eq!(a, b);
    // What is stored: the canonical ids packed, 16 bytes each, and none of them as text.
    let is_canonical = |s: &str| {
        s.len() == 36
            && s.char_indices().all(|(i, ch)| match i {
                8 | 13 | 18 | 23 => ch == '-',
                _ => matches!(ch, '0'..='9' | 'a'..='f'),
            })
    };
    let canonical: Vec<&str> = want
        .iter()
        .filter_map(|w| w.2.as_deref())
        .filter(|s| is_canonical(s))
        .collect();
    assert!(canonical.len() > 60, "{}", canonical.len());
    // A file's first id ending in a decimal number fixes its id prefix (the older scheme): ids of
    // that prefix are numbers, whatever their shape.
    let prefixes: Vec<(String, String)> = c
        .prepare("SELECT f.name, p.prefix FROM task_id_prefixes p JOIN files f USING (file_id)")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    let numbered = want
        .iter()
        .filter(|w| {
            w.2.as_deref().is_some_and(|id| {
                is_canonical(id)
                    && prefixes.iter().any(|(f, p)| {
                        *f == w.0
                            && id.strip_prefix(p.as_str()).is_some_and(|n| {
                                n.bytes().all(|b| b.is_ascii_digit()) && !n.starts_with('0')
                            })
                    })
            })
        })
        .count();
    let stored: Vec<Vec<u8>> = c
        .prepare("SELECT CAST(tasks AS BLOB) FROM task_runs")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    let packed: usize = stored
        .iter()
        .map(|t| {
            t.iter()
                .position(|&b| b == 0)
                .map_or(0, |i| t.len() - i - 1)
        })
        .sum();
    assert_eq!(packed, 16 * (canonical.len() - numbered));
    for id in &canonical {
        assert!(
            !stored
                .iter()
                .any(|t| t.windows(36).any(|w| w == id.as_bytes())),
            "{id} stored as text"
        );
    }
}

/// Shift ids are kept as 16 bytes when every one of a table is a canonical lowercase UUID, each
/// table on its own, else all as written (snapshot schema 8). Three exports of 5,000 shifts (two
/// batches of the reader, so a late non-canonical id turns ids already staged packed back into
/// text) with repeated ids and their tasks: every id canonical; one shift id in upper case at the
/// end; one task of a shift id `S1` (no such shift). The oracle is what the test wrote, checked
/// naively: the view `shifts` gives every id back as written, each table keeps the form the naive
/// shape check says, map and validate's readers give the ids in byte order (then file order), and
/// a look-up finds exactly the rows of an id.
#[test]
fn uuid_shift_ids_are_packed_all_or_nothing_and_read_in_text_order() {
    use zd2gc::extract::stage::{SHIFT_ID_MATCHES, shift_id_str, shift_key};
    let canon = |i: u64| {
        let x = i.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ 0x0123_4567_89ab_cdef;
        format!(
            "{:08x}-{:04x}-4{:03x}-a{:03x}-{:012x}",
            x >> 32,
            (x >> 16) & 0xffff,
            x & 0xfff,
            (x >> 20) & 0xfff,
            x.rotate_left(17) & 0xffff_ffff_ffff
        )
    };
    let is_canonical = |s: &str| {
        s.len() == 36
            && s.char_indices().all(|(i, ch)| match i {
                8 | 13 | 18 | 23 => ch == '-',
                _ => matches!(ch, '0'..='9' | 'a'..='f'),
            })
    };
    const N: u64 = 5000;
    for case in [
        "all canonical",
        "a late upper-case shift id",
        "a task of shift S1",
    ] {
        // Every 7th shift repeats the id of the one before (duplicates, file order kept).
        let mut shifts: Vec<String> = (0..N)
            .map(|i| canon(if i % 7 == 6 { i - 1 } else { i }))
            .collect();
        if case == "a late upper-case shift id" {
            let last = shifts.last_mut().unwrap();
            *last = last.to_uppercase();
        }
        let mut task_shifts: Vec<String> = shifts.iter().step_by(3).cloned().collect();
        if case == "a task of shift S1" {
            task_shifts.insert(10, "S1".into());
        }
        let mut csv = String::from("shift_id,agent_id,start_local,end_local\n");
        for (i, id) in shifts.iter().enumerate() {
            let d = 1 + i % 28;
            csv.push_str(&format!(
                "{id},{},2026-02-{d:02} 08:00,2026-02-{d:02} 16:00\n",
                i % 97
            ));
        }
        let mut tasks = String::from("task_id,shift_id,name,start_local,end_local\n");
        for (i, id) in task_shifts.iter().enumerate() {
            tasks.push_str(&format!(
                "T{i},{id},Phone,2026-02-01 09:00,2026-02-01 09:30\n"
            ));
        }
        let ex = tempfile::tempdir().unwrap();
        write_files(
            ex.path(),
            &[
                (
                    "agents.csv",
                    b"agent_id,name,timezone\n1,Ann,Europe/Paris\n",
                ),
                ("shifts.csv", csv.as_bytes()),
                ("shift_tasks.csv", tasks.as_bytes()),
            ],
        );
        let dir = tempfile::tempdir().unwrap();
        let (code, _, stderr) = extract_json(dir.path(), ex.path());
        assert_eq!(code, 0, "{case}: {stderr}");
        let c = snapshot(dir.path());
        // The view gives every id back as written, in file order.
        let view: Vec<String> = c
            .prepare("SELECT shift_id FROM shifts ORDER BY line")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert_eq!(view, shifts, "{case}");
        // Each table keeps the form the naive check says, for every row.
        for (table, ids) in [("shift_rows", &shifts), ("task_runs", &task_shifts)] {
            let want = if ids.iter().all(|s| is_canonical(s)) {
                "blob16"
            } else {
                "text"
            };
            let forms: Vec<String> = c
                .prepare(&format!(
                    "SELECT DISTINCT typeof(shift_id) || CASE typeof(shift_id)
                     WHEN 'blob' THEN length(shift_id) ELSE '' END FROM {table}"
                ))
                .unwrap()
                .query_map([], |r| r.get(0))
                .unwrap()
                .collect::<rusqlite::Result<_>>()
                .unwrap();
            assert_eq!(forms, [want], "{case}: {table}");
        }
        // Map and validate's read of the shifts: ids as text, in byte order then file order.
        let mut oracle: Vec<(String, i64)> = shifts
            .iter()
            .enumerate()
            .map(|(k, s)| (s.clone(), k as i64 + 2))
            .collect();
        oracle.sort_by(|a, b| (a.0.as_bytes(), a.1).cmp(&(b.0.as_bytes(), b.1)));
        for way in [
            zd2gc::extract::by_id::way(&c).unwrap(),
            zd2gc::extract::by_id::Way::Sort,
            zd2gc::extract::by_id::Way::Walk,
        ] {
            let mut st =
                zd2gc::extract::by_id::ShiftsById::prepare_way(&c, "shift_id, line", 0, way)
                    .unwrap();
            let mut rows = st.query().unwrap();
            let mut got = Vec::new();
            let mut buf = String::new();
            while let Some(r) = rows.next().unwrap() {
                let id = shift_id_str(r.get_ref(0).unwrap(), &mut buf).unwrap();
                got.push((id.to_string(), r.get::<_, i64>(1).unwrap()));
            }
            assert_eq!(got, oracle, "{case}");
        }
        // The tasks' runs: ids as text, in byte order.
        let mut st = c.prepare(zd2gc::extract::stage::TASKS_BY_SHIFT_ID).unwrap();
        let mut rows = st.query([]).unwrap();
        let mut sid = String::new();
        let mut got = Vec::new();
        while let Some(r) = rows.next().unwrap() {
            sid.clear();
            zd2gc::extract::stage::push_shift_id(r.get_ref(0).unwrap(), &mut sid).unwrap();
            let mut run = zd2gc::extract::stage::RunTasks::read(r, 0, &sid).unwrap();
            while run.next_task().unwrap().is_some() {
                got.push(run.shift_id.to_string());
            }
        }
        let mut want = task_shifts.clone();
        want.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
        assert_eq!(got, want, "{case}");
        // A look-up finds exactly the rows of an id (and none of another spelling of it).
        let mut probe: Vec<String> = shifts.iter().step_by(50).cloned().collect();
        probe.extend([
            shifts[5].to_uppercase(),
            "S1".into(),
            canon(N + 1),
            shifts[N as usize - 1].clone(),
        ]);
        let mut st = c
            .prepare(&format!(
                "SELECT count(*) FROM shift_rows WHERE {SHIFT_ID_MATCHES}"
            ))
            .unwrap();
        let mut runs = c.prepare(zd2gc::extract::stage::RUNS_OF_SHIFT).unwrap();
        for id in &probe {
            let n: i64 = st
                .query_row(<[_; 2]>::from(shift_key(id)), |r| r.get(0))
                .unwrap();
            assert_eq!(
                n,
                shifts.iter().filter(|s| *s == id).count() as i64,
                "{case}: {id}"
            );
            let mut rows = runs.query(<[_; 2]>::from(shift_key(id))).unwrap();
            let mut n = 0;
            while let Some(r) = rows.next().unwrap() {
                sid.clear();
                zd2gc::extract::stage::push_shift_id(r.get_ref(0).unwrap(), &mut sid).unwrap();
                let mut run = zd2gc::extract::stage::RunTasks::read(r, 0, &sid).unwrap();
                assert_eq!(run.shift_id, id);
                while run.next_task().unwrap().is_some() {
                    n += 1;
                }
            }
            assert_eq!(
                n,
                task_shifts.iter().filter(|s| *s == id).count(),
                "{case}: {id}"
            );
        }
    }
}
