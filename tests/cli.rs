//! The command layer as a script sees it: `--json` on every subcommand (one object with a
//! `schema` on stdout; a failure is `{"error": {code, message, help, file, line}}` with the same
//! exit code as without `--json`), clap's usage errors exit 1 as the README says, a closed stdout
//! ends quietly, and `rehearse` runs from an empty directory.

use crate::common::{root, zd2gc};
use clap::CommandFactory;
use serde_json::Value;
use std::io::{BufRead, Read};
use std::path::Path;
use zd2gc::emulator::RunningEmulator;

fn emulator() -> RunningEmulator {
    crate::common::sample_emulator()
}

/// Run `zd2gc --dir D --json ARGS` (with the emulator's credentials) and without `--json`; both
/// exit codes and the one JSON value stdout held.
fn run_json(d: &Path, emu: &RunningEmulator, args: &[&str]) -> (i32, i32, Value) {
    let cmd = |json: bool| {
        let mut c = zd2gc();
        c.args(["--dir", d.to_str().unwrap(), "--no-progress"]);
        if json {
            c.arg("--json");
        }
        c.args(args)
            .env("ZD2GC_API_URL", emu.base_url())
            .env("ZD2GC_LOGIN_URL", emu.base_url())
            .env("GENESYSCLOUD_OAUTHCLIENT_ID", emu.client_id())
            .env("GENESYSCLOUD_OAUTHCLIENT_SECRET", emu.client_secret());
        c.output().unwrap()
    };
    let out = cmd(true);
    let text = String::from_utf8(out.stdout).unwrap();
    let values: Vec<Value> = serde_json::Deserializer::from_str(&text)
        .into_iter::<Value>()
        .collect::<Result<_, _>>()
        .unwrap_or_else(|e| panic!("{args:?}: stdout is not JSON ({e}): {text}"));
    assert_eq!(
        values.len(),
        1,
        "{args:?}: one JSON value on stdout: {text}"
    );
    let v = values.into_iter().next().unwrap();
    assert!(v.is_object(), "{args:?}: an object");
    assert!(
        v["schema"].as_str().is_some_and(|s| s.ends_with("/v1")),
        "{args:?}: a schema name: {v}"
    );
    let plain = cmd(false).status.code().unwrap();
    (out.status.code().unwrap(), plain, v)
}

fn assert_ok(d: &Path, emu: &RunningEmulator, args: &[&str]) -> Value {
    let (code, plain, v) = run_json(d, emu, args);
    assert!(
        code == 0 || code == 1 || code == 4,
        "{args:?}: exit {code}: {v}"
    );
    assert_eq!(
        code, plain,
        "{args:?}: same exit code with and without --json"
    );
    assert_ne!(v["schema"], "error/v1", "{args:?}: {v}");
    v
}

fn assert_error(d: &Path, emu: &RunningEmulator, args: &[&str]) {
    let (code, plain, v) = run_json(d, emu, args);
    assert_ne!(code, 0, "{args:?}");
    assert_eq!(
        code, plain,
        "{args:?}: same exit code with and without --json"
    );
    assert_eq!(v["schema"], "error/v1", "{args:?}: {v}");
    assert_eq!(v["exit_code"], code, "{args:?}");
    let e = &v["error"];
    assert!(e["code"].as_str().is_some_and(|c| !c.is_empty()), "{v}");
    assert!(e["message"].as_str().is_some_and(|m| !m.is_empty()), "{v}");
    for k in ["help", "file", "line"] {
        assert!(
            e.get(k).is_some(),
            "{args:?}: error.{k} present (null when unknown)"
        );
    }
}

#[test]
fn json_walk_of_every_subcommand() {
    let emu = emulator();
    let work = tempfile::tempdir().unwrap();
    let d = work.path();
    let ds = d.to_str().unwrap();
    let export = root().join("samples/paris-cutover");
    let export = export.to_str().unwrap();
    let mut walked = std::collections::BTreeSet::new();
    let mut walk = |name: &str| {
        walked.insert(name.to_string());
    };
    // Success, in pipeline order.
    walk("init");
    assert_ok(d, &emu, &["init", ds]);
    walk("extract");
    assert_eq!(
        assert_ok(d, &emu, &["extract", export])["schema"],
        "extract/v1"
    );
    walk("mappings");
    assert_ok(d, &emu, &["mappings", "pull", "--dry-run"]);
    walk("map");
    assert_ok(d, &emu, &["map", "--online"]);
    walk("validate");
    assert_ok(d, &emu, &["validate"]);
    walk("plan");
    let plan = assert_ok(d, &emu, &["plan", "--allow-errors"]);
    assert!(plan.is_object(), "plan is an object, not a bare array");
    walk("load");
    assert_ok(d, &emu, &["load", "--allow-errors", "--max-rpm", "20000"]);
    walk("status");
    assert_ok(d, &emu, &["status"]);
    walk("verify");
    assert_ok(d, &emu, &["verify"]);
    walk("crosswalk");
    assert_ok(d, &emu, &["crosswalk", "lookup", "SR-7002"]);
    let out = d.join("x.csv");
    assert_ok(
        d,
        &emu,
        &[
            "crosswalk",
            "export",
            "--format",
            "csv",
            "--table",
            "shifts",
            "-o",
            out.to_str().unwrap(),
        ],
    );
    walk("compact");
    assert_eq!(assert_ok(d, &emu, &["compact"])["schema"], "compact/v1");
    walk("report");
    assert_eq!(
        assert_ok(d, &emu, &["report"])["schema"],
        "cutover-report/v1"
    );
    walk("rehearse");
    let r = tempfile::tempdir().unwrap();
    let rw = r.path().join("w");
    assert_eq!(
        assert_ok(
            r.path(),
            &emu,
            &["rehearse", "--no-faults", "--workdir", rw.to_str().unwrap()]
        )["schema"],
        "rehearse/v1"
    );
    walk("emulate");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_zd2gc"))
        .args(["--json", "emulate", "--secret-file"])
        .arg(d.join("emu-secret"))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut text = String::new();
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let v: Value = loop {
        text.push_str(&lines.next().unwrap().unwrap());
        if let Ok(v) = serde_json::from_str::<Value>(&text) {
            break v;
        }
    };
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(v["schema"], "emulate/v1");
    assert!(
        v["base_url"]
            .as_str()
            .unwrap()
            .starts_with("http://127.0.0.1:")
    );

    // Failures: each command where it cannot work.
    let empty = tempfile::tempdir().unwrap();
    let missing = empty.path().join("no-such-migration");
    let e = missing.as_path();
    assert_error(e, &emu, &["init", "/proc/zd2gc-cannot-create"]);
    assert_error(e, &emu, &["extract", "/nonexistent-export"]);
    assert_error(e, &emu, &["mappings", "pull", "--dry-run"]);
    assert_error(e, &emu, &["map"]);
    assert_error(e, &emu, &["validate"]);
    assert_error(e, &emu, &["plan"]);
    assert_error(e, &emu, &["load"]);
    assert_error(e, &emu, &["status"]);
    assert_error(e, &emu, &["verify"]);
    assert_error(e, &emu, &["crosswalk", "lookup", "nothing-here"]);
    assert_error(
        e,
        &emu,
        &[
            "crosswalk",
            "export",
            "--format",
            "csv",
            "--table",
            "shifts",
        ],
    );
    assert_error(e, &emu, &["compact"]);
    assert_error(e, &emu, &["report"]);
    assert_error(e, &emu, &["rehearse", "/nonexistent-export"]);
    assert_error(e, &emu, &["emulate", "--org", "/nonexistent-org.json"]);
    // A usage error clap refuses.
    assert_error(e, &emu, &["extract", "--no-such-flag"]);

    let all: std::collections::BTreeSet<String> = zd2gc::commands::Cli::command()
        .get_subcommands()
        .map(|c| c.get_name().to_string())
        .filter(|n| n != "help")
        .collect();
    assert_eq!(walked, all, "every subcommand is walked");
}

/// clap's usage errors exit 1 ("a user error: bad arguments"), as the README's table says; help
/// and version exit 0.
#[test]
fn usage_errors_exit_1_help_exits_0() {
    for args in [&["--no-such-flag"][..], &["extract"], &["nonsense"], &[]] {
        let out = zd2gc().args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert!(!out.stderr.is_empty(), "{args:?}: says why");
    }
    for args in [&["--help"][..], &["--version"], &["extract", "--help"]] {
        let out = zd2gc().args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{args:?}");
    }
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    assert!(readme.contains("| 1 | findings (rejected rows, validation errors, conflicts) or a user error (bad arguments"));
}

/// `zd2gc crosswalk export | head`: the reader goes away; zd2gc ends quietly with 0.
#[test]
fn closed_stdout_ends_quietly() {
    let work = tempfile::tempdir().unwrap();
    let w = work.path().join("r");
    zd2gc()
        .args(["--quiet", "rehearse", "--no-faults", "--workdir"])
        .arg(&w)
        .assert()
        .success();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_zd2gc"))
        .args([
            "--dir",
            w.to_str().unwrap(),
            "crosswalk",
            "export",
            "--format",
            "csv",
            "--table",
            "shifts",
        ])
        .env("NO_COLOR", "1")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Read a little, then close the pipe (what `head -c 100` does).
    let mut out = child.stdout.take().unwrap();
    let mut first = [0u8; 100];
    out.read_exact(&mut first).unwrap();
    drop(out);
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    let status = child.wait().unwrap();
    assert!(first.starts_with(b"legacy_shift_id,"));
    assert_eq!(status.code(), Some(0), "{err}");
    assert!(!err.to_lowercase().contains("broken pipe"), "{err}");
}

/// `zd2gc rehearse` from an empty directory: the sample and its org are built in.
#[test]
fn rehearse_from_an_empty_directory() {
    let empty = tempfile::tempdir().unwrap();
    let out = zd2gc()
        .current_dir(empty.path())
        .args(["--quiet", "rehearse", "--no-faults"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(empty.path().join("rehearsal/zd2gc.db").is_file());
}
