//! The online path as a new user runs it, from the command line: tables left blank, `map --online`,
//! then `validate` and `load` — which must keep what map resolved online (issue 12).

use crate::common::{root, zd2gc};
use rusqlite::Connection;
use std::path::{Path, PathBuf};
use zd2gc::emulator::{Dump, Emulator, EmulatorConfig, Fixture, RunningEmulator};

const CLIENT_ID: &str = "online-path";
const SECRET: &str = "online-path-secret";

/// A migration directory driven through the binary, against an in-process emulator.
pub struct Cli {
    pub emu: RunningEmulator,
    pub tmp: tempfile::TempDir,
}

impl Cli {
    pub fn new(fixture: Fixture) -> Cli {
        let emu = Emulator::start(EmulatorConfig {
            client_id: Some(CLIENT_ID.into()),
            client_secret: Some(SECRET.into()),
            org: Some(Dump {
                org: fixture,
                ..Dump::default()
            }),
            ..EmulatorConfig::default()
        })
        .unwrap();
        Cli {
            emu,
            tmp: tempfile::tempdir().unwrap(),
        }
    }

    pub fn dir(&self) -> PathBuf {
        self.tmp.path().join("m")
    }

    /// Run `zd2gc --dir DIR ARGS`, with credentials unless `creds` is false; (exit, stdout, stderr).
    pub fn run_with(&self, args: &[&str], creds: bool) -> (i32, String, String) {
        let mut c = zd2gc();
        c.current_dir(self.tmp.path())
            .env("ZD2GC_API_URL", self.emu.base_url())
            .env("ZD2GC_LOGIN_URL", self.emu.base_url())
            .env_remove("GENESYSCLOUD_OAUTHCLIENT_ID")
            .arg("--dir")
            .arg(self.dir())
            .args(args);
        if creds {
            c.env("GENESYSCLOUD_OAUTHCLIENT_ID", CLIENT_ID)
                .env("GENESYSCLOUD_OAUTHCLIENT_SECRET", SECRET);
        }
        let out = c.output().unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// Run and check the exit code; returns stderr.
    pub fn ok(&self, args: &[&str], want: &[i32]) -> String {
        let (code, out, err) = self.run_with(args, true);
        assert!(
            want.contains(&code),
            "{args:?}: exit {code}\n{err}\n{out}"
        );
        err
    }

    pub fn db(&self) -> Connection {
        Connection::open(self.dir().join("zd2gc.db")).unwrap()
    }

    /// The map findings of a rule.
    pub fn findings(&self, rule: &str) -> i64 {
        self.db()
            .query_row(
                "SELECT count(*) FROM map_findings WHERE rule = ?1",
                [rule],
                |r| r.get(0),
            )
            .unwrap()
    }
}

pub fn sample_org() -> Fixture {
    serde_json::from_slice(&std::fs::read(root().join("samples/org.json")).unwrap()).unwrap()
}

/// Write a table with its header only.
pub fn blank(dir: &Path, name: &str, header: &str) {
    std::fs::write(dir.join("mappings").join(name), format!("{header}\n")).unwrap();
}

/// The bug of issue 12 as a new user met it: agents table blank, `map --online` resolves every
/// agent, then `validate` mapped again offline and reported every agent unmapped.
#[test]
fn validate_keeps_what_map_online_resolved() {
    let cli = Cli::new(sample_org());
    let dir = cli.dir();
    cli.ok(&["init", dir.to_str().unwrap()], &[0]);
    let export = root().join("samples/paris-cutover");
    cli.ok(&["extract", export.to_str().unwrap()], &[0]);
    blank(
        &dir,
        "agents.csv",
        "zendesk_agent_id,email,genesys_user_id,management_unit_id,business_unit_id",
    );
    cli.ok(&["map", "--online"], &[0, 1]);
    // The planted new hire (no user in the org) is the only unmapped agent.
    assert_eq!(cli.findings("unmapped-agent"), 1);
    let err = cli.ok(&["validate"], &[1]);
    assert!(!err.contains("mapped offline"), "{err}");
    assert_eq!(cli.findings("unmapped-agent"), 1, "{err}");
    // And again: nothing changed, nothing is mapped again.
    let err = cli.ok(&["validate"], &[1]);
    assert!(!err.contains("map:"), "{err}");
    assert_eq!(cli.findings("unmapped-agent"), 1, "{err}");
}
