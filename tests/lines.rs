//! Physical line numbers on every line-end style (docs/export-format.md): CRLF, LF, a lone CR,
//! mixed, a BOM, quoted fields holding line ends, blank lines, a last line without a line end.
//! The oracle is a deliberately naive count of line ends over the raw bytes, never the CSV
//! reader's position.

use crate::common::root;
use proptest::prelude::*;
use std::path::Path;

/// The naive oracle: 1 + the line ends (CRLF, LF or a lone CR, each one) before byte `at`.
fn naive_line(bytes: &[u8], at: usize) -> u64 {
    let mut n = 1;
    let mut i = 0;
    while i < at {
        if bytes[i] == b'\r' {
            n += 1;
            if i + 1 < at && bytes[i + 1] == b'\n' {
                i += 1;
            }
        } else if bytes[i] == b'\n' {
            n += 1;
        }
        i += 1;
    }
    n
}

fn extract_lines(files: &[(&str, &[u8])], table: &str, id_col: &str) -> Vec<(String, u64)> {
    let work = tempfile::tempdir().unwrap();
    let export = work.path().join("export");
    std::fs::create_dir_all(&export).unwrap();
    for (name, body) in files {
        std::fs::write(export.join(name), body).unwrap();
    }
    let cfg = zd2gc::config::Config::default();
    zd2gc::extract::extract(work.path(), &export, &cfg, |_| {}).expect("extract");
    let c = zd2gc::extract::stage::open_snapshot(work.path()).unwrap();
    let mut st = c
        .prepare(&format!("SELECT {id_col}, line FROM {table} ORDER BY line"))
        .unwrap();
    st.query_map([], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as u64))
    })
    .unwrap()
    .map(Result::unwrap)
    .collect()
}

const EOLS: [&[u8]; 3] = [b"\r\n", b"\n", b"\r"];

/// An agents file: each record's id, the byte where the record starts, and the bytes.
fn agents_file(
    bom: bool,
    rows: &[(u8, u8, bool, u8)],
    last_eol: bool,
) -> (Vec<u8>, Vec<(String, usize)>) {
    let mut b = Vec::new();
    if bom {
        b.extend_from_slice(b"\xEF\xBB\xBF");
    }
    b.extend_from_slice(b"agent_id,name,email");
    let mut starts = Vec::new();
    for (i, &(eol, name_eol, blank, extra)) in rows.iter().enumerate() {
        b.extend_from_slice(EOLS[eol as usize % 3]);
        if blank {
            // A blank line (Excel leaves them) before the record.
            b.extend_from_slice(EOLS[extra as usize % 3]);
        }
        let id = format!("A{i}");
        starts.push((id.clone(), b.len()));
        b.extend_from_slice(id.as_bytes());
        b.extend_from_slice(b",\"Name");
        if name_eol > 0 {
            // A quoted value holding a line end of any style.
            b.extend_from_slice(EOLS[name_eol as usize % 3]);
            b.extend_from_slice(b"second line");
        }
        b.extend_from_slice(format!("\",a{i}@x.example").as_bytes());
    }
    if last_eol {
        b.extend_from_slice(EOLS[rows.len() % 3]);
    }
    (b, starts)
}

const SHIFTS: &[u8] = b"shift_id,agent_id,start_local,end_local\n";

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]
    #[test]
    fn extract_lines_match_a_naive_count_of_line_ends(
        bom in any::<bool>(),
        rows in prop::collection::vec((0u8..3, 0u8..4, prop::bool::weighted(0.2), 0u8..3), 1..25),
        last_eol in any::<bool>(),
    ) {
        let (bytes, starts) = agents_file(bom, &rows, last_eol);
        let got = extract_lines(&[("agents.csv", &bytes), ("shifts.csv", SHIFTS)], "agents", "agent_id");
        let want: Vec<(String, u64)> =
            starts.iter().map(|(id, at)| (id.clone(), naive_line(&bytes, *at))).collect();
        prop_assert_eq!(got, want);
    }
}

fn with_eol(text: &str, eol: &str) -> String {
    text.replace('\n', eol)
}

/// Every line-end style of the samples' own data gives the same lines: a CRLF, CR and mixed copy.
#[test]
fn every_line_end_style_gives_the_lf_lines() {
    let shifts = "shift_id,agent_id,start_local,end_local\nS1,1,2026-05-04 09:00,2026-05-04 17:00\n\nS2,1,2026-05-05 09:00,2026-05-05 17:00\nS3,1,2026-05-06 09:00,2026-05-06 17:00";
    let agents = "agent_id,name\n1,\"Anne\nParis\"\n";
    let lf = extract_lines(
        &[
            ("agents.csv", agents.as_bytes()),
            ("shifts.csv", shifts.as_bytes()),
        ],
        "shifts",
        "shift_id",
    );
    assert_eq!(
        lf,
        [("S1".into(), 2), ("S2".into(), 4), ("S3".into(), 5)],
        "LF"
    );
    for eol in ["\r\n", "\r"] {
        let s = format!("\u{feff}{}", with_eol(shifts, eol));
        let got = extract_lines(
            &[
                ("agents.csv", with_eol(agents, eol).as_bytes()),
                ("shifts.csv", s.as_bytes()),
            ],
            "shifts",
            "shift_id",
        );
        assert_eq!(got, lf, "{eol:?}");
    }
}

/// JSON Lines: CRLF and lone-CR line ends count like LF.
#[test]
fn jsonl_lines_on_every_line_end() {
    let body = "{\"id\":\"S1\",\"agentId\":1,\"startTime\":1777885200,\"endTime\":1777914000}\r\n\r{\"id\":\"S2\",\"agentId\":1,\"startTime\":1777971600,\"endTime\":1778000400}\n";
    let got = extract_lines(
        &[
            ("agents.csv", b"agent_id\n1\n"),
            ("shifts.jsonl", body.as_bytes()),
        ],
        "shifts",
        "shift_id",
    );
    assert_eq!(got, [("S1".into(), 1), ("S2".into(), 3)]);
}

/// Copy a directory's CSV files with their LF line ends turned into CRLF.
fn crlf_copy(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for f in std::fs::read_dir(from).unwrap().flatten() {
        let b = std::fs::read(f.path()).unwrap();
        assert!(!b.contains(&b'\r'), "the sample is LF");
        let t = String::from_utf8(b).unwrap().replace('\n', "\r\n");
        std::fs::write(to.join(f.file_name()), t).unwrap();
    }
}

fn validate_sample(export: &Path) -> (Vec<String>, Vec<String>) {
    let work = tempfile::tempdir().unwrap();
    let d = work.path();
    zd2gc::init::init_dir(d, None).unwrap();
    for f in std::fs::read_dir(root().join("mappings"))
        .unwrap()
        .flatten()
    {
        std::fs::copy(f.path(), d.join("mappings").join(f.file_name())).unwrap();
    }
    let cfg = zd2gc::config::Config::load(d).unwrap();
    zd2gc::extract::extract(d, export, &cfg, |_| {}).expect("extract");
    let o = zd2gc::validate::validate_dir(
        d,
        &cfg,
        &zd2gc::validate::ValidateOptions {
            remap: zd2gc::validate::Remap::Always,
            ..Default::default()
        },
    )
    .expect("validate");
    let keys = o
        .report
        .findings
        .iter()
        .map(|f| {
            format!(
                "{} {}:{} {} {}",
                f.rule,
                f.file.as_deref().unwrap_or("-"),
                f.line.unwrap_or(0),
                f.record_id.as_deref().unwrap_or("-"),
                f.field.as_deref().unwrap_or("-")
            )
        })
        .collect();
    let terminal = zd2gc::report::terminal::render(&o.report, false);
    // The snippets' source lines, as the terminal shows them.
    let shown = terminal
        .lines()
        .filter(|l| l.contains("S-") || l.contains("T-"))
        .map(str::to_string)
        .collect();
    (keys, shown)
}

/// A CRLF copy of samples/paris-cutover gives the same findings at the same lines as the LF
/// original, and the terminal shows the same rows.
#[test]
fn crlf_copy_of_the_paris_sample_has_the_same_findings_and_lines() {
    let sample = root().join("samples/paris-cutover");
    let tmp = tempfile::tempdir().unwrap();
    let crlf = tmp.path().join("paris-crlf");
    crlf_copy(&sample, &crlf);
    let (lf_keys, lf_shown) = validate_sample(&sample);
    let (crlf_keys, crlf_shown) = validate_sample(&crlf);
    assert!(lf_keys.len() > 10, "{lf_keys:?}");
    assert_eq!(crlf_keys, lf_keys);
    assert!(!lf_shown.is_empty());
    assert_eq!(crlf_shown, lf_shown);
}

/// The terminal shows the offending row itself (not its neighbour) on every line-end style.
#[test]
fn terminal_snippet_shows_the_right_row_on_every_line_end() {
    let fx = root().join("tests/fixtures/validate");
    for style in ["lf", "crlf", "cr", "mixed-bom"] {
        let work = tempfile::tempdir().unwrap();
        let d = work.path();
        std::fs::create_dir_all(d.join("mappings")).unwrap();
        for f in std::fs::read_dir(fx.join("mappings")).unwrap().flatten() {
            std::fs::copy(f.path(), d.join("mappings").join(f.file_name())).unwrap();
        }
        let cfg = zd2gc::config::Config::parse(
            "default_timezone = \"Europe/Paris\"\ndefault_activity = \"On Queue Work\"\n",
            "zd2gc.toml",
        )
        .unwrap();
        let export = fx.join("line-ends").join(style);
        let tmp_export = d.join("export");
        std::fs::create_dir_all(&tmp_export).unwrap();
        for n in ["agents.csv", "shifts.csv"] {
            std::fs::copy(export.join(n), tmp_export.join(n)).unwrap();
        }
        zd2gc::extract::extract(d, &tmp_export, &cfg, |_| {}).unwrap();
        let o = zd2gc::validate::validate_dir(d, &cfg, &Default::default()).unwrap();
        let json = serde_json::to_value(&o.report).unwrap();
        let f = json["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["record_id"] == "S3")
            .unwrap();
        assert_eq!(f["line"], 5, "{style}");
        let t = zd2gc::report::terminal::render(&o.report, false);
        assert!(t.contains("shifts.csv:5"), "{style}: {t}");
        assert!(
            t.contains("S3,4001,2026-05-04 22:00,2026-05-04 06:00"),
            "{style}: {t}"
        );
        let html = zd2gc::report::html::render(&o.report);
        assert!(html.contains("shifts.csv:5"), "{style}");
    }
}
