//! `verify` after the command orders of a rehearsal: what load held back stays held back (never
//! "missing" on the server) whatever ran since — an unchanged `map`, a re-extract, an edit of one
//! shift, `validate` again — and a desired state older than the export is said to be.

use crate::common::root;
use std::path::Path;
use zd2gc::emulator::RunningEmulator;

/// `zd2gc --dir D ARGS` against the emulator: exit code and stdout (stderr in the panic message).
fn run(d: &Path, emu: &RunningEmulator, args: &[&str], codes: &[i32]) -> String {
    let (code, out, err) = crate::common::run_at(d, emu, args);
    assert!(codes.contains(&code), "{args:?}: exit {code}\n{err}");
    out
}

/// verify's JSON: (matching, missing, different, unexpected, held back).
fn verify(d: &Path, emu: &RunningEmulator, codes: &[i32]) -> (u64, u64, u64, u64, u64) {
    let v: serde_json::Value =
        serde_json::from_str(&run(d, emu, &["--json", "verify"], codes)).unwrap();
    let n = |k: &str| v[k].as_u64().unwrap_or_else(|| panic!("{k}: {v}"));
    (
        n("matching_shifts"),
        n("missing"),
        n("different"),
        n("unexpected"),
        n("held_back"),
    )
}

/// verify's notes, each also printed as a warning on stderr.
fn notes(d: &Path, emu: &RunningEmulator, want: i32) -> Vec<String> {
    let (code, out, err) = crate::common::run_at(d, emu, &["--json", "verify"]);
    assert_eq!(code, want, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let notes: Vec<String> = v["notes"]
        .as_array()
        .unwrap_or_else(|| panic!("no notes: {v}"))
        .iter()
        .map(|n| n.as_str().unwrap().to_string())
        .collect();
    for n in &notes {
        assert!(err.contains(n.as_str()), "not on stderr: {n}\n{err}");
    }
    notes
}

/// The sample loaded with `--allow-errors`: shift S-10389 has only a validation finding (it
/// overlaps an earlier shift of its agent), so map maps it and load holds it back. Every verify
/// after that, whatever an engineer ran in between, reports it held back, not missing: an
/// unchanged `map` again (the last validation is then older than the map, but its findings are
/// the same), a re-extract of the same export, an edit of one loaded shift (one "different",
/// nothing missing), and `validate` again.
#[test]
fn a_shift_held_back_for_a_validation_error_is_never_missing_after_map_runs_again() {
    let emu = crate::common::sample_emulator();
    let work = tempfile::tempdir().unwrap();
    let d = work.path().join("m");
    let export = work.path().join("export");
    crate::common::copy_sample_export(&export);
    let ex = export.to_str().unwrap();
    let tables = root().join("mappings");
    run(
        &d,
        &emu,
        &[
            "init",
            d.to_str().unwrap(),
            "--mappings",
            tables.to_str().unwrap(),
        ],
        &[0],
    );
    run(&d, &emu, &["extract", ex], &[0, 1]);
    run(&d, &emu, &["map"], &[0, 1]);
    run(&d, &emu, &["validate"], &[0, 1]);
    let load: serde_json::Value = serde_json::from_str(&run(
        &d,
        &emu,
        &["--json", "load", "--allow-errors", "--max-rpm", "20000"],
        &[0],
    ))
    .unwrap();
    assert_eq!(load["held_back_by_reason"]["validation-error"], 1, "{load}");
    let held = load["shifts_held_back"].as_u64().unwrap();
    let loaded = load["shifts_desired"].as_u64().unwrap();
    assert_eq!(verify(&d, &emu, &[0]), (loaded, 0, 0, 0, held));
    // verify says why, as load did.
    let v: serde_json::Value =
        serde_json::from_str(&run(&d, &emu, &["--json", "verify"], &[0])).unwrap();
    assert_eq!(v["held_back_by_reason"], load["held_back_by_reason"], "{v}");
    let (_, _, err) = crate::common::run_at(&d, &emu, &["verify"]);
    assert!(
        err.contains("held back: ") && err.contains("validation-error 1"),
        "{err}"
    );

    // map again, nothing changed: the validation is now older than the desired state.
    run(&d, &emu, &["map"], &[0, 1]);
    assert_eq!(verify(&d, &emu, &[0]), (loaded, 0, 0, 0, held), "map again");
    run(&d, &emu, &["map"], &[0, 1]);
    assert_eq!(verify(&d, &emu, &[0]), (loaded, 0, 0, 0, held), "map twice");
    // The same export extracted again, then mapped.
    run(&d, &emu, &["extract", ex], &[0, 1]);
    assert_eq!(verify(&d, &emu, &[0]), (loaded, 0, 0, 0, held), "extract");
    assert_eq!(
        notes(&d, &emu, 0),
        Vec::<String>::new(),
        "the same snapshot"
    );
    run(&d, &emu, &["map"], &[0, 1]);
    assert_eq!(
        verify(&d, &emu, &[0]),
        (loaded, 0, 0, 0, held),
        "extract, map"
    );

    // One loaded shift ends 30 minutes earlier in a newer export: one shift differs, nothing is
    // missing, before and after validate.
    let shifts = export.join("shifts.csv");
    let text = std::fs::read_to_string(&shifts).unwrap();
    let old = "S-10001,381447001,2026-03-27 09:00,2026-03-27 17:30,";
    assert!(text.contains(old));
    std::fs::write(
        &shifts,
        text.replace(old, "S-10001,381447001,2026-03-27 09:00,2026-03-27 17:00,"),
    )
    .unwrap();
    run(&d, &emu, &["extract", ex], &[0, 1]);
    // Before map, verify compares Genesys with the desired state of the earlier export (which
    // still matches) and says so, as a warning and in its JSON.
    assert_eq!(verify(&d, &emu, &[0]), (loaded, 0, 0, 0, held), "an edit");
    let said = notes(&d, &emu, 0);
    assert!(
        said.len() == 1 && said[0].contains("extracted again") && said[0].contains("zd2gc map"),
        "{said:?}"
    );
    run(&d, &emu, &["map"], &[0, 1]);
    assert_eq!(notes(&d, &emu, 1), Vec::<String>::new(), "an edit, map");
    let edited = (loaded - 1, 0, 1, 0, held);
    assert_eq!(verify(&d, &emu, &[1]), edited, "an edit, map");
    run(&d, &emu, &["validate"], &[0, 1]);
    assert_eq!(verify(&d, &emu, &[1]), edited, "an edit, map, validate");
    run(&d, &emu, &["map"], &[0, 1]);
    assert_eq!(
        verify(&d, &emu, &[1]),
        edited,
        "an edit, map, validate, map"
    );
}
