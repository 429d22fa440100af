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
    Ok(o.report.findings)
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
