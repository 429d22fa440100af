//! Secrets, file modes, the audit trail and operator mistakes on cutover night, through the real
//! binary against the in-process emulator started with a known canary secret:
//!
//! - the canary secret (and any bearer header) appears in no output: stdout, stderr, reports, the
//!   state database, the snapshot files, their -wal/-shm files, the crosswalk export, the audit;
//! - every file zd2gc writes that holds data (state, snapshot, reports) is owner-only (0600);
//! - no command-line flag accepts a secret; a secret file others may read is refused;
//! - every command is one row of the audit trail, listed by `status --history`;
//! - a full disk and a read-only database end a load with exit 2, the file named and what to do,
//!   the journal intact, and a re-run after the fix completes (test-only hooks of `store::open_state`).

use crate::common::{root, zd2gc};
use std::path::{Path, PathBuf};
use zd2gc::emulator::{Dump, Emulator, EmulatorConfig, RunningEmulator};

const CANARY: &str = "s3cr3t-zd2gc-canary-7f3a9c1e5b";
const CLIENT_ID: &str = "zd2gc-security-client";

struct Rig {
    emu: RunningEmulator,
    tmp: tempfile::TempDir,
    /// Everything the commands printed (stdout and stderr).
    outputs: Vec<(String, Vec<u8>)>,
}

impl Rig {
    fn new() -> Rig {
        let text = std::fs::read_to_string(root().join("samples/org.json")).unwrap();
        let emu = Emulator::start(EmulatorConfig {
            client_id: Some(CLIENT_ID.into()),
            client_secret: Some(CANARY.into()),
            org: Some(Dump {
                org: serde_json::from_str(&text).unwrap(),
                ..Dump::default()
            }),
            ..EmulatorConfig::default()
        })
        .unwrap();
        Rig {
            emu,
            tmp: tempfile::tempdir().unwrap(),
            outputs: Vec::new(),
        }
    }

    fn dir(&self) -> PathBuf {
        self.tmp.path().join("m")
    }

    fn cmd(&self, args: &[&str], env: &[(&str, &str)]) -> assert_cmd::Command {
        let mut c = zd2gc();
        c.current_dir(self.tmp.path())
            .env("GENESYSCLOUD_OAUTHCLIENT_ID", CLIENT_ID)
            .env("GENESYSCLOUD_OAUTHCLIENT_SECRET", CANARY)
            .env("ZD2GC_API_URL", self.emu.base_url())
            .env("ZD2GC_LOGIN_URL", self.emu.base_url())
            .env("RUST_LOG", "trace")
            .env("RUST_BACKTRACE", "1")
            .arg("--dir")
            .arg(self.dir())
            .args(args);
        for (k, v) in env {
            c.env(k, v);
        }
        c
    }

    /// Run a command; record what it printed; return its exit code and stderr.
    fn run(&mut self, args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
        let out = self.cmd(args, env).output().unwrap();
        let code = out.status.code().unwrap_or(-1);
        self.outputs
            .push((format!("stdout of {args:?}"), out.stdout.clone()));
        self.outputs
            .push((format!("stderr of {args:?}"), out.stderr.clone()));
        (
            code,
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    fn ok(&mut self, args: &[&str], want: &[i32]) -> String {
        let (code, out, err) = self.run(args, &[]);
        assert!(want.contains(&code), "{args:?}: exit {code}\n{err}\n{out}");
        out
    }

    /// init (with the project's mapping tables), extract the Paris sample, map online, validate.
    fn validated(&mut self) {
        let dir = self.dir();
        let mappings = root().join("mappings");
        self.ok(
            &[
                "init",
                dir.to_str().unwrap(),
                "--mappings",
                mappings.to_str().unwrap(),
            ],
            &[0],
        );
        let export = root().join("samples/paris-cutover");
        self.ok(&["extract", export.to_str().unwrap()], &[0]);
        self.ok(&["map", "--online"], &[0, 1]);
        self.ok(
            &[
                "validate",
                "--html",
                "report.html",
                "--report-json",
                "report.json",
            ],
            &[1],
        );
    }
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(files_under(&p));
        } else {
            out.push(p);
        }
    }
    out
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

fn mode(p: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

#[test]
fn secrets_reach_no_output_and_data_files_are_owner_only() {
    let mut rig = Rig::new();
    rig.validated();
    // The state database is scanned while the WAL still holds recent pages, and after.
    rig.ok(&["plan", "--allow-errors"], &[0]);
    rig.ok(&["load", "--allow-errors"], &[0, 3]);
    rig.ok(&["verify"], &[0]);
    rig.ok(&["status"], &[0]);
    rig.ok(&["--json", "status"], &[0]);
    rig.ok(&["status", "--history"], &[0]);
    rig.ok(&["crosswalk", "export", "--output", "crosswalk.json"], &[0]);
    rig.ok(&["crosswalk", "lookup", "S-10001"], &[0, 1]);
    // A failing call: a wrong secret is refused, and neither secret is echoed.
    let (code, _, err) = rig.run(
        &["plan"],
        &[(
            "GENESYSCLOUD_OAUTHCLIENT_SECRET",
            "wrong-zd2gc-canary-secret",
        )],
    );
    assert_eq!(code, 1, "{err}");
    assert!(!err.contains("wrong-zd2gc-canary-secret"), "{err}");

    let mut scanned = Vec::new();
    for (name, bytes) in &rig.outputs {
        assert!(
            !contains(bytes, CANARY.as_bytes()),
            "the secret is in {name}"
        );
        let lower = String::from_utf8_lossy(bytes).to_ascii_lowercase();
        assert!(
            !lower.contains("bearer ") && !lower.contains("authorization:"),
            "a bearer header is in {name}"
        );
        scanned.push(name.clone());
    }
    let files = files_under(rig.tmp.path());
    for f in &files {
        let bytes = std::fs::read(f).unwrap();
        assert!(
            !contains(&bytes, CANARY.as_bytes()),
            "the secret is in {}",
            f.display()
        );
        assert!(
            !contains(&bytes.to_ascii_lowercase(), b"bearer "),
            "a bearer token is in {}",
            f.display()
        );
    }
    let names: Vec<String> = files
        .iter()
        .map(|f| f.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    for want in [
        "zd2gc.db",
        "snapshot.db",
        "report.html",
        "report.json",
        "crosswalk.json",
    ] {
        assert!(
            names.iter().any(|n| n == want),
            "{want} not scanned: {names:?}"
        );
    }
    assert!(
        names.iter().any(|n| n.starts_with("snapshot-tasks-")),
        "{names:?}"
    );
    assert!(scanned.len() >= 20, "{scanned:?}");
    // Data files: owner-only. (The configuration, the mapping tables the engineer edits and the
    // empty lock file keep the umask.)
    for f in &files {
        let n = f.file_name().unwrap().to_string_lossy();
        let data = n.ends_with(".db")
            || n.ends_with("-wal")
            || n.ends_with("-shm")
            || n.ends_with(".json")
            || n.ends_with(".html");
        if data {
            assert_eq!(mode(f), 0o600, "{} is {:o}", f.display(), mode(f));
        }
    }
    // The JSON reports in reports/ are among them.
    assert!(
        files
            .iter()
            .any(|f| f.parent().unwrap().ends_with("reports"))
    );
}

#[test]
fn the_state_database_is_owner_only_from_init_and_stays_so() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join("m");
    zd2gc()
        .args(["init", dir.to_str().unwrap()])
        .assert()
        .code(0);
    assert_eq!(mode(&dir.join("zd2gc.db")), 0o600);
    // The configuration and the mapping tables (agents' e-mails) are the owner's only too.
    assert_eq!(mode(&dir.join("zd2gc.toml")), 0o600);
    assert_eq!(mode(&dir.join("mappings/agents.csv")), 0o600);
    // A state database someone loosened is tightened again by the next command.
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir.join("zd2gc.db"), std::fs::Permissions::from_mode(0o644)).unwrap();
    zd2gc()
        .args(["--dir", dir.to_str().unwrap(), "status"])
        .assert()
        .code(0);
    assert_eq!(mode(&dir.join("zd2gc.db")), 0o600);
}

#[test]
fn no_flag_takes_a_secret() {
    use clap::CommandFactory;
    fn walk(c: &clap::Command, path: &str, found: &mut Vec<String>) {
        for a in c.get_arguments() {
            let names =
                format!("{} {}", a.get_id(), a.get_long().unwrap_or("")).to_ascii_lowercase();
            // `emulate --secret-file` names where the emulator writes the secret it generated;
            // `emulate --token-lifetime` is a number of seconds.
            let allowed = path == "zd2gc emulate"
                && matches!(a.get_long(), Some("secret-file" | "token-lifetime"));
            if !allowed
                && ["secret", "token", "password", "passwd", "credential"]
                    .iter()
                    .any(|w| names.contains(w))
            {
                found.push(format!("{path} {names}"));
            }
        }
        for s in c.get_subcommands() {
            walk(s, &format!("{path} {}", s.get_name()), found);
        }
    }
    let mut found = Vec::new();
    walk(&zd2gc::commands::Cli::command(), "zd2gc", &mut found);
    assert!(found.is_empty(), "flags that may take a secret: {found:?}");
    // The audit's argv redaction, for what a tired operator pastes anyway.
    let args = zd2gc::commands::redact_argv(
        [
            "--dir",
            "m",
            "--client-secret",
            "abc",
            "--token=xyz",
            "plain",
        ]
        .into_iter()
        .map(String::from),
    );
    assert_eq!(
        args,
        [
            "--dir",
            "m",
            "--client-secret",
            "***",
            "--token=***",
            "plain"
        ]
    );
}

#[test]
fn a_secret_file_others_can_read_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let mut rig = Rig::new();
    let dir = rig.dir();
    rig.ok(&["init", dir.to_str().unwrap()], &[0]);
    let export = root().join("samples/paris-cutover");
    rig.ok(&["extract", export.to_str().unwrap()], &[0]);
    let secret = rig.tmp.path().join("secret");
    std::fs::write(&secret, format!("{CANARY}\n")).unwrap();
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o644)).unwrap();
    let cfg = dir.join("zd2gc.toml");
    let text = std::fs::read_to_string(&cfg).unwrap().replace(
        "# client_secret_file = \"/home/me/.config/zd2gc/secret\"",
        &format!(
            "client_secret_file = \"{}\"\nclient_id = \"{CLIENT_ID}\"",
            secret.display()
        ),
    );
    std::fs::write(&cfg, text).unwrap();
    let run = || {
        zd2gc()
            .current_dir(rig.tmp.path())
            .env_remove("GENESYSCLOUD_OAUTHCLIENT_ID")
            .env("ZD2GC_API_URL", rig.emu.base_url())
            .env("ZD2GC_LOGIN_URL", rig.emu.base_url())
            .args(["--dir", dir.to_str().unwrap(), "map", "--online"])
            .output()
            .unwrap()
    };
    let out = run();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("readable by others"), "{err}");
    assert!(err.contains("chmod 600"), "{err}");
    assert!(!err.contains(CANARY) && !String::from_utf8_lossy(&out.stdout).contains(CANARY));
    // Owner-only: accepted (map runs online with it).
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o600)).unwrap();
    let out = run();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("readable by others"), "{err}");
    assert!(!err.contains(CANARY), "{err}");
}

#[test]
fn every_command_is_in_the_audit_trail() {
    let mut rig = Rig::new();
    rig.validated();
    // A command that fails (no snapshot of that name: a user error), and one given the secret as an
    // argument by mistake.
    rig.ok(&["crosswalk", "lookup", CANARY], &[0, 1]);
    let (code, _, _) = rig.run(&["plan"], &[("GENESYSCLOUD_OAUTHCLIENT_SECRET", "")]);
    assert_eq!(code, 1);
    let out = rig.ok(&["status", "--history"], &[0]);
    let rows: Vec<Vec<&str>> = out
        .lines()
        .skip(1)
        .map(|l| l.split_whitespace().collect())
        .collect();
    let got: Vec<(&str, &str, &str)> = rows.iter().map(|r| (r[1], r[2], r[3])).collect();
    assert_eq!(
        &got[..5],
        &[
            ("init", "ok", "0"),
            ("extract", "ok", "0"),
            ("map", "findings", "1"),
            ("validate", "findings", "1"),
            ("crosswalk", got[4].1, got[4].2),
        ],
        "{out}"
    );
    assert_eq!(got[5], ("plan", "error", "1"), "{out}");
    assert_eq!(got[6], ("status", "running", "-"), "{out}");
    assert_eq!(got.len(), 7, "{out}");
    assert!(!out.contains(CANARY), "{out}");
    assert!(
        out.contains("lookup ***"),
        "the pasted secret is redacted: {out}"
    );
    // JSON, with the start and end times, the version and the inputs' hash.
    let out = rig.ok(&["--json", "status", "--history"], &[0]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["schema"], "status-history/v1");
    let runs = v["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 8);
    // `inputs_sha256` hashes the configuration and the mapping tables (unchanged since init), for
    // every command alike; extract, map and validate record the snapshot they read apart.
    let inputs = zd2gc::store::inputs_hash(&rig.dir()).unwrap();
    let snapshot: String = rusqlite::Connection::open(rig.dir().join("snapshot.db"))
        .unwrap()
        .query_row(
            "SELECT value FROM snapshot_meta WHERE key = 'snapshot_id'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_ne!(inputs.as_str(), snapshot);
    for r in &runs[..7] {
        assert!(r["ended_at"].is_string(), "{r}");
        assert_eq!(r["inputs_sha256"], inputs.as_str(), "{r}");
        let read_a_snapshot = matches!(r["command"].as_str(), Some("extract" | "map" | "validate"));
        if read_a_snapshot {
            assert_eq!(r["snapshot_id"], snapshot.as_str(), "{r}");
        } else {
            assert!(r["snapshot_id"].is_null(), "{r}");
        }
        assert_eq!(r["tool_version"], env!("CARGO_PKG_VERSION"));
    }
    assert!(
        runs[5]["counts"]["error"]
            .as_str()
            .unwrap()
            .contains("secret")
    );
    // The stage rows carry the central run's id (map's desired state, validate's validation).
    let conn = rusqlite::Connection::open(rig.dir().join("zd2gc.db")).unwrap();
    let map_run: i64 = conn
        .query_row("SELECT MAX(run_id) FROM desired_shifts", [], |r| r.get(0))
        .unwrap();
    assert_eq!(map_run, runs[2]["id"].as_i64().unwrap());
    let n: i64 = conn
        .query_row("SELECT COUNT(*) FROM runs WHERE command = 'map'", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(n, 1, "one row per command, no per-stage duplicate");
}

#[test]
fn a_full_disk_or_a_read_only_database_stops_a_load_cleanly() {
    let mut rig = Rig::new();
    rig.validated();
    let db = rig.dir().join("zd2gc.db");
    let pages: i64 = rusqlite::Connection::open(&db)
        .unwrap()
        .query_row("PRAGMA page_count", [], |r| r.get(0))
        .unwrap();
    // Read-only: refused before anything is sent.
    let (code, _, err) = rig.run(
        &["load", "--allow-errors"],
        &[("ZD2GC_TEST_READ_ONLY", "1")],
    );
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("read-only") && err.contains("zd2gc.db"),
        "{err}"
    );
    assert!(err.contains("writable"), "{err}");
    // Disk full: a couple of pages of room, so the load stops part-way.
    let limit = (pages + 2).to_string();
    let (code, _, err) = rig.run(
        &["load", "--allow-errors"],
        &[("ZD2GC_TEST_MAX_PAGE_COUNT", limit.as_str())],
    );
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("disk full") && err.contains("zd2gc.db"),
        "{err}"
    );
    assert!(err.contains("free space"), "{err}");
    assert!(
        !err.contains("panicked"),
        "an expected failure, not a panic: {err}"
    );
    // The journal is intact and readable.
    let conn = rusqlite::Connection::open(&db).unwrap();
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
    let weeks: i64 = conn
        .query_row("SELECT COUNT(*) FROM load_weeks", [], |r| r.get(0))
        .unwrap();
    drop(conn);
    rig.ok(&["status"], &[0]);
    // Room again: the re-run completes and verify agrees.
    rig.ok(&["load", "--allow-errors"], &[0, 3]);
    rig.ok(&["verify"], &[0]);
    let conn = rusqlite::Connection::open(&db).unwrap();
    let after: i64 = conn
        .query_row("SELECT COUNT(*) FROM load_weeks", [], |r| r.get(0))
        .unwrap();
    assert!(after >= weeks && after > 0);
    // The failed runs are in the audit with their exit code.
    let failed: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM runs WHERE command = 'load' AND exit_code = 2",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(failed >= 1);
}
