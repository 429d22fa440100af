//! Hostile input: random and mutated bytes fed to every reader of user files (export CSV and JSON
//! Lines, mapping tables, the configuration). No panic, no hang; every failure is a diagnostic.
//!
//! Cases per property: `PROPTEST_CASES` (default 48 here, so CI stays quick). The longer run:
//! `PROPTEST_CASES=5000 cargo test --release --test integration hostile`.

use crate::common::root;
use proptest::prelude::*;
use std::path::Path;
use zd2gc::config::Config;

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(48)
}

/// The first lines of a sample file, as the seed that mutations start from.
fn seed(rel: &str, lines: usize) -> Vec<u8> {
    let text = std::fs::read(root().join(rel)).unwrap();
    let mut out = Vec::new();
    for l in text.split_inclusive(|&b| b == b'\n').take(lines) {
        out.extend_from_slice(l);
    }
    out
}

#[derive(Debug, Clone)]
enum Edit {
    Flip(usize, u8),
    Insert(usize, Vec<u8>),
    Delete(usize, usize),
}

fn edit() -> impl Strategy<Value = Edit> {
    let special = prop::sample::select(vec![
        b"\"".to_vec(),
        b",".to_vec(),
        b"\n".to_vec(),
        b"\r\n".to_vec(),
        b"\xFF\xFE".to_vec(),
        b"\xEF\xBB\xBF".to_vec(),
        b"0000-00-00 00:00".to_vec(),
        b"9999-12-31 23:59".to_vec(),
        b"{\"a\":".to_vec(),
        b"[[[[[[[[[[[[[[[[".to_vec(),
        b"\0".to_vec(),
        vec![b'x'; 70_000],
    ]);
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Edit::Flip(i, b)),
        (any::<usize>(), special).prop_map(|(i, s)| Edit::Insert(i, s)),
        (any::<usize>(), 1usize..40).prop_map(|(i, n)| Edit::Delete(i, n)),
    ]
}

fn apply(mut data: Vec<u8>, edits: &[Edit]) -> Vec<u8> {
    for e in edits {
        let len = data.len().max(1);
        match e {
            Edit::Flip(i, b) => {
                if !data.is_empty() {
                    let i = i % data.len();
                    data[i] = *b;
                }
            }
            Edit::Insert(i, s) => {
                let i = i % len;
                let i = i.min(data.len());
                data.splice(i..i, s.iter().copied());
            }
            Edit::Delete(i, n) => {
                if !data.is_empty() {
                    let i = i % data.len();
                    let end = (i + n).min(data.len());
                    data.drain(i..end);
                }
            }
        }
    }
    data
}

/// Extract an export made of these files; whatever happens must be an outcome or a diagnostic, and
/// the counts must add up.
fn extract_files(files: &[(&str, Vec<u8>)]) {
    let ex = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    for (name, body) in files {
        std::fs::write(ex.path().join(name), body).unwrap();
    }
    let cfg = Config::default();
    match zd2gc::extract::extract(dir.path(), ex.path(), &cfg, |_| {}) {
        Ok(o) => {
            for f in &o.files {
                // Every record read is staged or rejected (a JSON Lines shift's nested tasks are
                // records of their own: they may be rejected while their shift is staged).
                assert!(f.staged <= f.rows_read, "{f:?}");
                assert!(f.staged + f.rejected >= f.rows_read, "{f:?}");
                if f.nested_tasks == 0 && f.format == "csv" {
                    assert_eq!(f.staged + f.rejected, f.rows_read, "{f:?}");
                }
            }
            let snap = zd2gc::extract::stage::open_snapshot(dir.path()).unwrap();
            let rejects: i64 = snap
                .query_row("SELECT count(*) FROM rejects", [], |r| r.get(0))
                .unwrap();
            assert_eq!(rejects as u64, o.rejected);
        }
        Err(e) => {
            // A whole-file problem: it must say something specific, and leave no snapshot behind.
            let msg = e.to_string();
            assert!(!msg.is_empty());
            assert!(!dir.path().join("snapshot.db").exists());
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn mutated_csv_exports(edits in prop::collection::vec(edit(), 1..8), which in 0usize..3) {
        let mut agents = seed("samples/paris-cutover/agents.csv", 12);
        let mut shifts = seed("samples/paris-cutover/shifts.csv", 30);
        let mut tasks = seed("samples/paris-cutover/shift_tasks.csv", 30);
        match which {
            0 => agents = apply(agents, &edits),
            1 => shifts = apply(shifts, &edits),
            _ => tasks = apply(tasks, &edits),
        }
        extract_files(&[("agents.csv", agents), ("shifts.csv", shifts), ("shift_tasks.csv", tasks)]);
    }

    #[test]
    fn mutated_jsonl_exports(edits in prop::collection::vec(edit(), 1..8)) {
        let agents = seed("samples/clean/agents.jsonl", 5);
        let shifts = apply(seed("samples/clean/shifts.jsonl", 8), &edits);
        extract_files(&[("agents.jsonl", agents), ("shifts.jsonl", shifts)]);
    }

    #[test]
    fn random_bytes_as_exports(a in prop::collection::vec(any::<u8>(), 0..400), s in prop::collection::vec(any::<u8>(), 0..400)) {
        extract_files(&[("agents.csv", a.clone()), ("shifts.jsonl", s.clone())]);
        extract_files(&[("agents.jsonl", a), ("shifts.csv", s)]);
    }

    #[test]
    fn mutated_configuration(edits in prop::collection::vec(edit(), 1..6)) {
        let text = apply(zd2gc::config::TEMPLATE.as_bytes().to_vec(), &edits);
        let text = String::from_utf8_lossy(&text);
        // Either a configuration or a diagnostic; never a panic.
        if let Err(e) = Config::parse(&text, "zd2gc.toml") {
            prop_assert!(!e.to_string().is_empty());
        }
    }

    #[test]
    fn mutated_mapping_tables(edits in prop::collection::vec(edit(), 1..6), which in 0usize..4) {
        let dir = tempfile::tempdir().unwrap();
        let names = ["agents.csv", "business_units.csv", "locations.csv", "activities.csv"];
        for (i, n) in names.iter().enumerate() {
            let body = std::fs::read(root().join("mappings").join(n)).unwrap();
            let body = if i == which { apply(body, &edits) } else { body };
            std::fs::write(dir.path().join(n), body).unwrap();
        }
        let mut diags = Vec::new();
        let res = zd2gc::map::tables::load(dir.path(), &mut diags);
        for d in &diags {
            prop_assert!(d.line >= 1, "{d:?}");
            prop_assert!(names.contains(&d.file.rsplit('/').next().unwrap_or("")) || d.file.ends_with(".csv"), "{d:?}");
        }
        if let Err(e) = &res {
            // A refusal always says where: at least one diagnostic with its file and line.
            prop_assert!(!diags.is_empty(), "refused without a diagnostic: {e}");
        }
    }
}

/// Pathological shapes, each on its own: deep nesting, huge values, absurd dates, an unterminated quote.
#[test]
fn pathological_inputs_are_rejected_with_clear_messages() {
    let dir = tempfile::tempdir().unwrap();
    let ex = tempfile::tempdir().unwrap();
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let huge = "x".repeat(2 << 20);
    let shifts = format!(
        "{{\"id\":\"S1\",\"agentId\":1,\"startTime\":1792915200,\"endTime\":1792944000}}\n\
         {{\"id\":\"S2\",\"agentId\":{deep},\"startTime\":1,\"endTime\":2}}\n\
         {{\"id\":\"S3\",\"agentId\":\"{huge}\",\"startTime\":1,\"endTime\":2}}\n\
         {{\"id\":\"S4\",\"agentId\":1,\"startTime\":253402300800,\"endTime\":253402300900}}\n\
         {{\"id\":\"S5\",\"agentId\":1,\"startTime\":1792915200,\"endTime\":1792944000}}\n"
    );
    std::fs::write(
        ex.path().join("agents.csv"),
        "agent_id,name\n1,\"Ann\n2,Bob\n",
    )
    .unwrap();
    std::fs::write(ex.path().join("shifts.jsonl"), shifts).unwrap();
    let o = zd2gc::extract::extract(dir.path(), ex.path(), &Config::default(), |_| {}).unwrap();
    let shifts = o.files.iter().find(|f| f.file == "shifts.jsonl").unwrap();
    assert_eq!(shifts.staged, 2, "S1 and S5 staged around the bad rows");
    let msgs: Vec<(u64, &str)> = shifts
        .sample
        .iter()
        .map(|r| (r.line, r.message.as_str()))
        .collect();
    assert_eq!(msgs.len(), 3, "{msgs:?}");
    assert_eq!(msgs[0].0, 2);
    assert!(msgs[0].1.contains("recursion limit"), "{msgs:?}");
    assert_eq!(msgs[1].0, 3);
    assert!(msgs[1].1.contains("longer than"), "{msgs:?}");
    assert_eq!(msgs[2].0, 4);
    assert!(msgs[2].1.contains("year 10000"), "{msgs:?}");
    // The unterminated quote swallows the rest of agents.csv into one record: reported, not a panic.
    let agents = o.files.iter().find(|f| f.file == "agents.csv").unwrap();
    assert_eq!(agents.rows_read, agents.staged + agents.rejected);
}

#[test]
fn an_unreadable_export_file_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let ex = tempfile::tempdir().unwrap();
    std::fs::write(ex.path().join("agents.csv"), "agent_id\n1\n").unwrap();
    std::fs::create_dir(ex.path().join("shifts.csv")).unwrap_or(());
    // shifts.csv is a directory: discover() requires a file, so this is the missing-file error.
    let err =
        zd2gc::extract::extract(dir.path(), ex.path(), &Config::default(), |_| {}).unwrap_err();
    assert!(err.to_string().contains("shifts"), "{err}");
    let _ = Path::new("");
}
