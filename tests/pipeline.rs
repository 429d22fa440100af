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
