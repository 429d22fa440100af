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

/// When a table changes after `map --online`, validate says what changed and maps again online
/// (through the cache); without credentials it maps offline and says so; load refuses a desired
/// state that is out of date, or a validation older than the last map. The agent's
/// management-unit answer leaves `businessUnit` out here (as Genesys does without expand): the
/// business unit comes from `GET /managementunits/{muId}`.
#[test]
fn validate_maps_again_the_same_way_and_load_says_what_changed() {
    let cli = Cli::new(sample_org());
    cli.emu
        .set_faults(zd2gc::emulator::Faults {
            omit_agent_business_unit: true,
            ..Default::default()
        })
        .unwrap();
    let dir = cli.dir();
    cli.ok(&["init", dir.to_str().unwrap()], &[0]);
    let export = root().join("samples/paris-cutover");
    cli.ok(&["extract", export.to_str().unwrap()], &[0]);
    let header = "zendesk_agent_id,email,genesys_user_id,management_unit_id,business_unit_id";
    blank(&dir, "agents.csv", header);
    blank(
        &dir,
        "business_units.csv",
        "business_unit_id,name,time_zone,start_day_of_week",
    );
    cli.ok(&["map", "--online"], &[0, 1]);
    assert_eq!(cli.findings("unmapped-agent"), 1);
    // Three management units in the org: each asked once for its business unit.
    let mus: i64 = cli
        .db()
        .query_row(
            "SELECT count(*) FROM genesys_cache WHERE kind = 'management-unit'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(mus, 3);

    // A table changes: validate says which, and maps again online, asking Genesys nothing.
    let agents = dir.join("mappings/agents.csv");
    std::fs::write(&agents, format!("{header}\n381447001,,,,\n")).unwrap();
    let err = cli.ok(&["validate"], &[1]);
    assert!(err.contains("mappings/agents.csv changed"), "{err}");
    assert!(err.contains("mapped again online"), "{err}");
    assert!(err.contains("0 new call(s)"), "{err}");
    assert_eq!(cli.findings("unmapped-agent"), 1, "{err}");

    // Load after a change it has not seen validated: refused, saying what changed.
    std::fs::write(&agents, format!("{header}\n")).unwrap();
    let (code, _, err) = cli.run_with(&["load", "--allow-errors"], true);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("out of date") && err.contains("mappings/agents.csv changed"),
        "{err}"
    );

    // Without credentials validate cannot stay online: it maps offline and says so.
    let (code, _, err) = cli.run_with(&["validate"], false);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("mapped offline"), "{err}");
    assert!(err.contains("the last map ran online"), "{err}");
    assert!(cli.findings("unmapped-agent") > 1);

    // map --online again, then validate: current, nothing mapped again; a second map makes the
    // validation older than the map, which load refuses.
    cli.ok(&["map", "--online"], &[0, 1]);
    let err = cli.ok(&["validate"], &[1]);
    assert!(!err.contains("map:"), "{err}");
    cli.ok(&["map", "--online"], &[0, 1]);
    let (code, _, err) = cli.run_with(&["load", "--allow-errors"], true);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("after the last validation"), "{err}");
}
