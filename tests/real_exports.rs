//! The bad-input cases of real exports (issue 11's list), each asserting the exact code, file,
//! line and help a user sees: header-only files, other delimiters and encodings, agent-less
//! shifts, a trade's sub-minute local times, half-filled and wrong mapping tables.

use crate::common::root;
use zd2gc::report::Finding;

pub const TOML: &str =
    "default_timezone = \"Europe/Paris\"\ndefault_activity = \"On Queue Work\"\n";

pub const AGENTS: &str = "agent_id,name,email,timezone,location,team,deactivated\n1001,Anne Paris,a1001@fx.example,,Paris,T1,false\n1002,Bruno Paris,a1002@fx.example,,Paris,T1,false\n";

/// Extract and validate an export (files as given) with the fixture suite's mapping tables,
/// replaced or added to by `maps`.
pub fn validate(
    files: &[(&str, &[u8])],
    maps: &[(&str, &str)],
    toml: &str,
) -> zd2gc::error::Result<Vec<Finding>> {
    validate_with(files, maps, toml, |_| {})
}

/// [`validate`], with `before` run on the migration directory after extract.
pub fn validate_with(
    files: &[(&str, &[u8])],
    maps: &[(&str, &str)],
    toml: &str,
    before: impl FnOnce(&std::path::Path),
) -> zd2gc::error::Result<Vec<Finding>> {
    let work = tempfile::tempdir().unwrap();
    let d = work.path();
    std::fs::write(d.join("zd2gc.toml"), toml).unwrap();
    let m = d.join("mappings");
    std::fs::create_dir_all(&m).unwrap();
    for f in std::fs::read_dir(root().join("tests/fixtures/validate/mappings"))
        .unwrap()
        .flatten()
    {
        std::fs::copy(f.path(), m.join(f.file_name())).unwrap();
    }
    for (n, body) in maps {
        std::fs::write(m.join(n), body).unwrap();
    }
    let export = d.join("export");
    std::fs::create_dir_all(&export).unwrap();
    for (n, body) in files {
        std::fs::write(export.join(n), body).unwrap();
    }
    let cfg = zd2gc::config::Config::parse(toml, "zd2gc.toml")?;
    zd2gc::extract::extract(d, &export, &cfg, |_| {})?;
    before(d);
    let o = zd2gc::validate::validate_dir(
        d,
        &cfg,
        &zd2gc::validate::ValidateOptions {
            remap: zd2gc::validate::Remap::Always,
            ..Default::default()
        },
    )?;
    assert_eq!(
        o.report.ready_to_load,
        !o.report
            .findings
            .iter()
            .any(|f| f.severity == zd2gc::config::Severity::Error)
    );
    Ok(o.report.findings.to_vec())
}

/// (rule, file, line, help) of each finding.
pub fn summary(f: &[Finding]) -> Vec<(String, String, u64, String)> {
    f.iter()
        .map(|f| {
            (
                f.rule.clone(),
                f.file.clone().unwrap_or_default(),
                f.line.unwrap_or(0),
                f.help.clone(),
            )
        })
        .collect()
}

#[test]
fn header_only_shifts_is_empty_export_never_ready() {
    let f = validate(
        &[
            ("agents.csv", AGENTS.as_bytes()),
            ("shifts.csv", b"shift_id,agent_id,start_local,end_local\r\n"),
        ],
        &[],
        TOML,
    )
    .unwrap();
    assert_eq!(
        summary(&f),
        [(
            "empty-export".into(),
            "shifts.csv".into(),
            1,
            "export the shifts again: the file holds one shift per row under its header (docs/export-format.md)".into()
        )]
    );
}

const SHIFTS: &str = "shift_id,agent_id,start_local,end_local,timezone,published,parent_id\nS1,1001,2026-05-04 09:00,2026-05-04 17:00,,true,\nS2,1002,2026-05-04 22:00,2026-05-04 06:00,,true,\n";

fn source_err(r: zd2gc::error::Result<Vec<Finding>>) -> zd2gc::diag::SourceDiag {
    match r {
        Err(zd2gc::error::Error::Source(d)) => *d,
        other => panic!("expected a file diagnostic, got {other:?}"),
    }
}

fn utf16le_bom(s: &str) -> Vec<u8> {
    let mut b = vec![0xFF, 0xFE];
    for u in s.encode_utf16() {
        b.extend_from_slice(&u.to_le_bytes());
    }
    b
}

/// A `;`-separated export (European-locale Excel) is named as such with the `[csv]` fix, not
/// "no column shift_id" with a header alias; with `[csv] delimiter` it reads, at the same lines.
#[test]
fn semicolon_separated_export_is_named_and_read_when_configured() {
    let semi = SHIFTS.replace(',', ";").replace("\n", "\r\n");
    let agents = AGENTS.replace(',', ";");
    let d = source_err(validate(
        &[
            ("agents.csv", agents.as_bytes()),
            ("shifts.csv", semi.as_bytes()),
        ],
        &[],
        TOML,
    ));
    assert_eq!(d.code, "wrong-delimiter");
    assert_eq!(d.file, "agents.csv");
    assert_eq!(d.line, 1);
    assert_eq!(
        d.message,
        "agents.csv is `;`-separated (its header has 6 `;` and 0 `,`); zd2gc reads it as comma-separated"
    );
    assert_eq!(
        d.help.as_deref(),
        Some(
            "read it as it is with this in zd2gc.toml:\n[csv]\ndelimiter = \";\"\nor save it from the spreadsheet as \"CSV UTF-8 (comma delimited)\" (docs/export-format.md)"
        )
    );
    let toml = format!("{TOML}[csv]\ndelimiter = \";\"\n");
    let f = validate(
        &[
            ("agents.csv", agents.as_bytes()),
            ("shifts.csv", semi.as_bytes()),
        ],
        &[],
        &toml,
    )
    .unwrap();
    let s = summary(&f);
    assert_eq!(s.len(), 1, "{s:?}");
    assert_eq!(
        (s[0].0.as_str(), s[0].1.as_str(), s[0].2),
        ("shift-end-before-start", "shifts.csv", 3)
    );
}

/// Excel's "Unicode text": UTF-16 with a BOM, tab-separated. Named with both settings; read with
/// them, with the right lines and the decoded text in the terminal's snippet.
#[test]
fn utf16_tab_export_is_named_and_read_when_configured() {
    let agents = utf16le_bom(&AGENTS.replace(',', "\t").replace('\n', "\r\n"));
    let shifts = utf16le_bom(&SHIFTS.replace(',', "\t").replace('\n', "\r\n"));
    let files: &[(&str, &[u8])] = &[("agents.csv", &agents), ("shifts.csv", &shifts)];
    let d = source_err(validate(files, &[], TOML));
    assert_eq!(d.code, "wrong-encoding");
    assert_eq!((d.file.as_str(), d.line), ("agents.csv", 1));
    assert_eq!(
        d.message,
        "agents.csv is UTF-16 (with a byte-order mark, as Excel's \"Unicode text\" saves it) and tab-separated; zd2gc reads it as UTF-8"
    );
    assert_eq!(
        d.help.as_deref(),
        Some(
            "read it as it is with this in zd2gc.toml:\n[csv]\nencoding = \"utf-16\"\ndelimiter = \"\\t\"\nor save it from the spreadsheet as \"CSV UTF-8 (comma delimited)\" (docs/export-format.md)"
        )
    );
    let toml = format!("{TOML}[csv]\nencoding = \"utf-16\"\ndelimiter = \"\\t\"\n");
    let f = validate(files, &[], &toml).unwrap();
    let s = summary(&f);
    assert_eq!(s.len(), 1, "{s:?}");
    assert_eq!((s[0].0.as_str(), s[0].2), ("shift-end-before-start", 3));
}

/// Windows-1252 (Latin-1): a header with a byte UTF-8 does not allow is named; a data row with one
/// is a reject whose help gives the setting; with `[csv] encoding` the text is decoded.
#[test]
fn windows_1252_export_is_named_and_read_when_configured() {
    let mut agents = b"agent_id,name,email,timezone,location,team,deactivated\n".to_vec();
    agents.extend_from_slice(b"1001,Zo\xEB Paris,a1001@fx.example,,Paris,T1,false\n");
    let shifts = SHIFTS.as_bytes();
    let f = validate(
        &[("agents.csv", &agents), ("shifts.csv", shifts)],
        &[],
        TOML,
    )
    .unwrap();
    let reject = f.iter().find(|f| f.rule == "malformed-row").unwrap();
    assert_eq!(
        (reject.file.as_deref(), reject.line),
        (Some("agents.csv"), Some(2))
    );
    assert_eq!(
        reject.help,
        "re-export the file as CSV UTF-8, or read it as it is with `[csv] encoding = \"windows-1252\"` in zd2gc.toml (docs/export-format.md)"
    );
    // A header in Latin-1 (an accented column name) stops extract with the setting to use.
    let mut latin_header =
        b"agent_id,name,email,timezone,location,team,deactivated,pr\xE9nom\n".to_vec();
    latin_header.extend_from_slice(b"1001,Anne,a1001@fx.example,,Paris,T1,false,Zo\xEB\n");
    let latin_shifts = b"shift_id,agent\xA0id,start_local,end_local\n";
    let d = source_err(validate(
        &[("agents.csv", &latin_header), ("shifts.csv", latin_shifts)],
        &[],
        TOML,
    ));
    assert_eq!(d.code, "wrong-encoding");
    assert_eq!((d.file.as_str(), d.line), ("shifts.csv", 1));
    assert!(
        d.help
            .unwrap()
            .contains("[csv]\nencoding = \"windows-1252\"\n")
    );
    let toml = format!("{TOML}[csv]\nencoding = \"windows-1252\"\n");
    let f = validate(
        &[("agents.csv", &agents), ("shifts.csv", shifts)],
        &[],
        &toml,
    )
    .unwrap();
    assert!(
        f.iter().all(|f| f.rule != "malformed-row"),
        "{:?}",
        summary(&f)
    );
}

/// An agent that shifts name but the agents file lacks: at the shift's own line, with the fix that
/// is one (not agents.csv:0 and "add the agent to mappings/agents.csv").
#[test]
fn agent_less_shift_is_reported_at_the_shift_line() {
    let shifts = "shift_id,agent_id,start_local,end_local\r\nS1,1001,2026-05-04 09:00,2026-05-04 17:00\r\nS2,4242,2026-05-04 09:00,2026-05-04 17:00\r\n";
    let f = validate(
        &[
            ("agents.csv", AGENTS.as_bytes()),
            ("shifts.csv", shifts.as_bytes()),
        ],
        &[],
        TOML,
    )
    .unwrap();
    assert_eq!(
        summary(&f),
        [(
            "shift-unknown-agent".into(),
            "shifts.csv".into(),
            3,
            "add the agent to the export's agents file (with its e-mail and zone), or correct the shift's agent_id".into()
        )]
    );
}

/// A trade's local values count for `sub-minute-time` (`…08:00:20`).
#[test]
fn trade_local_time_with_seconds_is_sub_minute_time() {
    let shifts = "shift_id,agent_id,start_local,end_local\nS1,1001,2026-05-04 08:00,2026-05-04 16:00\nS2,1002,2026-05-05 08:00,2026-05-05 16:00\n";
    let trades = "trade_id,swap_request_id,status,requester_agent_id,requester_shift_id,recipient_agent_id,recipient_shift_id,requester_shift_start_local,recipient_shift_start_local\nTR1,SR1,denied,1001,S1,1002,S2,2026-05-04 08:00:20,2026-05-05 08:00\n";
    let f = validate(
        &[
            ("agents.csv", AGENTS.as_bytes()),
            ("shifts.csv", shifts.as_bytes()),
            ("shift_trades.csv", trades.as_bytes()),
        ],
        &[],
        TOML,
    )
    .unwrap();
    assert_eq!(
        summary(&f),
        [(
            "sub-minute-time".into(),
            "shift_trades.csv".into(),
            2,
            "round the time to the minute in the export".into()
        )]
    );
    assert_eq!(f[0].field.as_deref(), Some("requester_shift_start_local"));
}

const MAP_AGENTS_HEADER: &str =
    "zendesk_agent_id,email,genesys_user_id,management_unit_id,business_unit_id\r\n";
const PARIS_BU: &str = "11111111-1111-4111-8111-111111111111";

/// A user id that is not a UUID, and a bad e-mail, are findings at the table's file and line
/// (the agent is then unmapped and held back), never a failure at load.
#[test]
fn invalid_mapping_cells_are_findings_at_the_table_line() {
    let maps = format!(
        "{MAP_AGENTS_HEADER}# one row per agent\r\n1001,a1001@fx.example,not-a-uuid,,{PARIS_BU}\r\n1002,a1002@fx,00001002-0000-4000-8000-000000000000,,{PARIS_BU}\r\n"
    );
    let shifts = "shift_id,agent_id,start_local,end_local\nS1,1001,2026-05-04 09:00,2026-05-04 17:00\nS2,1002,2026-05-04 09:00,2026-05-04 17:00\n";
    let f = validate(
        &[
            ("agents.csv", AGENTS.as_bytes()),
            ("shifts.csv", shifts.as_bytes()),
        ],
        &[("agents.csv", &maps)],
        TOML,
    )
    .unwrap();
    let s = summary(&f);
    let uuid_help = "Genesys ids are UUIDs such as `8a5f5c0e-1d2b-4c3a-9e8f-0123456789ab`: copy it from Genesys Cloud (or run `zd2gc mappings pull`), or leave the cell blank (docs/mappings.md)";
    assert!(
        s.contains(&(
            "mapping-invalid-value".into(),
            "mappings/agents.csv".into(),
            3,
            uuid_help.into()
        )),
        "{s:#?}"
    );
    assert!(
        s.contains(&(
            "mapping-invalid-value".into(),
            "mappings/agents.csv".into(),
            4,
            "write the agent's address as Zendesk has it, e.g. `anne.martin@example.com`, or leave it blank and give `zendesk_agent_id` (docs/mappings.md)".into()
        )),
        "{s:#?}"
    );
    // Both agents are unmapped (their shifts held back), at the export's agents.csv lines.
    let unmapped: Vec<u64> = f
        .iter()
        .filter(|f| f.rule == "unmapped-agent")
        .map(|f| f.line.unwrap())
        .collect();
    assert_eq!(unmapped, [2, 3]);
    let u = f.iter().find(|f| f.rule == "unmapped-agent").unwrap();
    assert_eq!(
        u.message,
        "agent `1001` has no usable row: its row at mappings/agents.csv:3 has an invalid value"
    );
    assert_eq!(
        u.help,
        "correct that row of mappings/agents.csv (its mapping-invalid-value finding says which cell), or run `zd2gc map --online` to look the user up by e-mail"
    );
    let bad = f
        .iter()
        .find(|f| f.line == Some(3) && f.rule == "mapping-invalid-value")
        .unwrap();
    assert_eq!(bad.field.as_deref(), Some("genesys_user_id"));
    assert_eq!(bad.value.as_deref(), Some("not-a-uuid"));
}

/// A business unit the tables do not have is reported at the table row naming it
/// (`mapping-unknown-reference`), not only as `unmapped-agent` at the export's line.
#[test]
fn unknown_business_unit_is_reported_at_the_table_line() {
    let maps = format!(
        "{MAP_AGENTS_HEADER}1001,a1001@fx.example,00001001-0000-4000-8000-000000000000,,{PARIS_BU}\r\n1002,a1002@fx.example,00001002-0000-4000-8000-000000000000,,99999999-9999-4999-8999-999999999999\r\n"
    );
    let shifts = "shift_id,agent_id,start_local,end_local\nS1,1001,2026-05-04 09:00,2026-05-04 17:00\nS2,1002,2026-05-04 09:00,2026-05-04 17:00\n";
    let f = validate(
        &[
            ("agents.csv", AGENTS.as_bytes()),
            ("shifts.csv", shifts.as_bytes()),
        ],
        &[("agents.csv", &maps)],
        TOML,
    )
    .unwrap();
    let s = summary(&f);
    assert!(
        s.contains(&(
            "mapping-unknown-reference".into(),
            "mappings/agents.csv".into(),
            3,
            "add the business unit to mappings/business_units.csv (id, name, time_zone, start_day_of_week), or correct the id (`zd2gc mappings pull` lists the org's units; docs/mappings.md)".into()
        )),
        "{s:#?}"
    );
}

/// `init` starts empty: each table is its header and one comment line (read as no row, no
/// finding), never the samples' ids; zd2gc.toml's comments point inside the project.
#[test]
fn init_writes_empty_tables_and_a_config_citing_the_project_docs() {
    let work = tempfile::tempdir().unwrap();
    let d = work.path();
    zd2gc::init::init_dir(d, None).unwrap();
    let m = d.join("mappings");
    for name in [
        "agents.csv",
        "business_units.csv",
        "locations.csv",
        "activities.csv",
    ] {
        let t = std::fs::read_to_string(m.join(name)).unwrap();
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines.len(), 2, "{name}: {t}");
        assert!(lines[1].starts_with("# "), "{name}");
        assert!(lines[1].contains("docs/mappings.md"), "{name}");
        let samples = std::fs::read_to_string(root().join("mappings").join(name)).unwrap();
        for row in samples.lines().skip(1) {
            assert!(!t.contains(row), "{name} holds a sample row");
        }
    }
    let mut diags = Vec::new();
    let t = zd2gc::map::tables::load(&m, &mut diags).unwrap();
    assert!(diags.is_empty() && t.findings.is_empty());
    assert!(t.agents.is_empty() && t.business_units.is_empty() && t.activities.is_empty());
    let toml = std::fs::read_to_string(d.join("zd2gc.toml")).unwrap();
    assert!(!toml.contains("shared/"), "{toml}");
    assert!(toml.contains("docs/mappings.md"));
    assert!(toml.contains("[csv]"));
    for doc in toml
        .split(|c: char| c.is_whitespace() || c == '(' || c == ')' || c == ',')
        .filter(|w| w.starts_with("docs/"))
    {
        let doc = doc.trim_end_matches(['.', ':', ';']);
        assert!(root().join(doc).exists(), "{doc} is cited and missing");
    }
    zd2gc::config::Config::parse(&toml, "zd2gc.toml").unwrap();
}

/// Online, what Genesys answered (the online cache) decides too: a business unit Genesys has is
/// known though the table lacks it; an activity code not among the unit's codes is unknown.
#[test]
fn online_cache_answers_for_business_units_and_activity_codes() {
    let other_bu = "99999999-9999-4999-8999-999999999999";
    let maps_agents = format!(
        "{MAP_AGENTS_HEADER}1001,a1001@fx.example,00001001-0000-4000-8000-000000000000,,{other_bu}\n"
    );
    let acts = format!(
        "zendesk_task_name,genesys_activity_code_id,business_unit_id\nOn Queue Work,aaaaaaaa-0000-4000-8000-000000000001,\nPhone,aaaaaaaa-0000-4000-8000-000000000001,{PARIS_BU}\nBreak,aaaaaaaa-0000-4000-8000-00000000dead,{PARIS_BU}\n"
    );
    let shifts =
        "shift_id,agent_id,start_local,end_local\nS1,1002,2026-05-04 09:00,2026-05-04 17:00\n";
    let f = validate_with(
        &[
            ("agents.csv", AGENTS.as_bytes()),
            ("shifts.csv", shifts.as_bytes()),
        ],
        &[("agents.csv", &maps_agents), ("activities.csv", &acts)],
        TOML,
        |d| {
            let c = zd2gc::store::open_state(d).unwrap();
            let put = |kind: &str, key: &str, value: String| {
                c.execute(
                    "INSERT INTO genesys_cache(kind, key, value, fetched_at, run_id) VALUES (?1, ?2, ?3, '2026-12-06T00:00:00Z', 0)",
                    rusqlite::params![kind, key, value],
                )
                .unwrap();
            };
            put(
                "business-units",
                "",
                serde_json::json!([{"id": other_bu, "name": "Lyon"}]).to_string(),
            );
            put(
                "activity-codes",
                PARIS_BU,
                serde_json::json!([{"id": "aaaaaaaa-0000-4000-8000-000000000001", "name": "Phone"}])
                    .to_string(),
            );
        },
    )
    .unwrap();
    let refs: Vec<(String, u64, String)> = f
        .iter()
        .filter(|f| f.rule == "mapping-unknown-reference")
        .map(|f| (f.file.clone().unwrap(), f.line.unwrap(), f.help.clone()))
        .collect();
    assert_eq!(
        refs,
        [(
            "mappings/activities.csv".to_string(),
            4,
            "correct the code id (`zd2gc mappings pull` writes the unit's codes by name; docs/mappings.md)".to_string()
        )]
    );
}

/// Online, a time_off.csv row must name an active TimeOff code of its unit as Genesys listed them:
/// an OnQueueWork code (Genesys would refuse the request) is `mapping-unknown-reference` at its line.
#[test]
fn online_time_off_codes_must_be_time_off_codes_of_the_unit() {
    let toff = format!(
        "zendesk_reason,genesys_activity_code_id,business_unit_id\nVacation,aaaaaaaa-0000-4000-8000-000000000001,{PARIS_BU}\nSick,bbbbbbbb-0000-4000-8000-000000000002,{PARIS_BU}\n"
    );
    let shifts =
        "shift_id,agent_id,start_local,end_local\nS1,1002,2026-05-04 09:00,2026-05-04 17:00\n";
    let f = validate_with(
        &[
            ("agents.csv", AGENTS.as_bytes()),
            ("shifts.csv", shifts.as_bytes()),
        ],
        &[("time_off.csv", &toff)],
        TOML,
        |d| {
            let c = zd2gc::store::open_state(d).unwrap();
            c.execute(
                "INSERT INTO genesys_cache(kind, key, value, fetched_at, run_id) VALUES ('activity-codes', ?1, ?2, '2026-12-06T00:00:00Z', 0)",
                rusqlite::params![
                    PARIS_BU,
                    serde_json::json!([
                        {"id": "aaaaaaaa-0000-4000-8000-000000000001", "name": "Phone", "category": "OnQueueWork"},
                        {"id": "bbbbbbbb-0000-4000-8000-000000000002", "name": "Sick", "category": "TimeOff"}
                    ])
                    .to_string()
                ],
            )
            .unwrap();
        },
    )
    .unwrap();
    let refs: Vec<(String, u64)> = f
        .iter()
        .filter(|f| f.rule == "mapping-unknown-reference")
        .map(|f| (f.file.clone().unwrap(), f.line.unwrap()))
        .collect();
    assert_eq!(refs, [("mappings/time_off.csv".to_string(), 2)]);
}

/// Online, a management unit in agents.csv that Genesys said does not exist (404, cached as null),
/// or that its business unit's unit list (as Genesys listed it) lacks, is `mapping-unknown-reference`
/// at the row's line; a unit in the list is not.
#[test]
fn online_cache_answers_for_management_units() {
    let gone = "22222222-0000-4000-8000-000000000404";
    let elsewhere = "22222222-0000-4000-8000-0000000e15e0";
    let listed = "22222222-0000-4000-8000-000000000001";
    let maps_agents = format!(
        "{MAP_AGENTS_HEADER}1001,a1001@fx.example,00001001-0000-4000-8000-000000000000,{gone},\n1002,a1002@fx.example,00001002-0000-4000-8000-000000000000,{elsewhere},{PARIS_BU}\n1003,a1003@fx.example,00001003-0000-4000-8000-000000000000,{listed},{PARIS_BU}\n"
    );
    let f = validate_with(
        &[
            ("agents.csv", AGENTS.as_bytes()),
            ("shifts.csv", SHIFTS.as_bytes()),
        ],
        &[("agents.csv", &maps_agents)],
        TOML,
        |d| {
            let c = zd2gc::store::open_state(d).unwrap();
            let put = |kind: &str, key: &str, value: String| {
                c.execute(
                    "INSERT INTO genesys_cache(kind, key, value, fetched_at, run_id) VALUES (?1, ?2, ?3, '2026-12-06T00:00:00Z', 0)",
                    rusqlite::params![kind, key, value],
                )
                .unwrap();
            };
            put("management-unit", gone, "null".into());
            put(
                "management-units",
                PARIS_BU,
                serde_json::json!([{"id": listed, "name": "Tier 1"}]).to_string(),
            );
        },
    )
    .unwrap();
    let refs: Vec<(String, u64, String)> = f
        .iter()
        .filter(|f| f.rule == "mapping-unknown-reference")
        .map(|f| (f.file.clone().unwrap(), f.line.unwrap(), f.message.clone()))
        .collect();
    assert_eq!(
        refs,
        [
            (
                "mappings/agents.csv".to_string(),
                2,
                format!("management unit `{gone}` does not exist in Genesys")
            ),
            (
                "mappings/agents.csv".to_string(),
                3,
                format!(
                    "management unit `{elsewhere}` is not a management unit of business unit `{PARIS_BU}` in Genesys"
                )
            ),
        ]
    );
    let help = &f
        .iter()
        .find(|f| f.rule == "mapping-unknown-reference")
        .unwrap()
        .help;
    assert!(help.contains("mappings pull"), "{help}");
}
