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
        self.run_in(&self.dir(), args, creds)
    }

    /// [`Cli::run_with`] on the migration directory `dir`.
    pub fn run_in(&self, dir: &Path, args: &[&str], creds: bool) -> (i32, String, String) {
        let mut c = zd2gc();
        c.current_dir(self.tmp.path())
            .env("ZD2GC_API_URL", self.emu.base_url())
            .env("ZD2GC_LOGIN_URL", self.emu.base_url())
            .env_remove("GENESYSCLOUD_OAUTHCLIENT_ID")
            .arg("--dir")
            .arg(dir)
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
        assert!(want.contains(&code), "{args:?}: exit {code}\n{err}\n{out}");
        err
    }

    pub fn db(&self) -> Connection {
        Connection::open(self.dir().join("zd2gc.db")).unwrap()
    }

    /// What the last map recorded (`meta.map_inputs`, see `map::current`).
    pub fn map_inputs(&self) -> serde_json::Value {
        let v: String = self
            .db()
            .query_row("SELECT value FROM meta WHERE key = 'map_inputs'", [], |r| {
                r.get(0)
            })
            .unwrap();
        serde_json::from_str(&v).unwrap()
    }

    /// The shifts in the emulated org's schedules.
    pub fn shifts_in_genesys(&self) -> usize {
        self.emu
            .dump()
            .org
            .schedules
            .iter()
            .flat_map(|s| s.agent_schedules.iter())
            .map(|a| a.shifts.len())
            .sum()
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
    // The audit says so too.
    let remapped: String = cli
        .db()
        .query_row(
            "SELECT json_extract(counts, '$.remapped') FROM runs WHERE command = 'validate'
             ORDER BY id DESC LIMIT 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(
        remapped.contains("mappings/agents.csv changed") && remapped.contains("\"online\":true"),
        "{remapped}"
    );

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

/// The org of the samples, with activity codes named as the clean sample's tasks (a real org's
/// planners often name them after the legacy tasks), and an inactive duplicate of one of them.
pub fn clean_org() -> Fixture {
    let mut org = sample_org();
    for (b, bu) in org.business_units.iter_mut().enumerate() {
        for (k, (name, cat, active)) in [
            ("Phone", "OnQueueWork", true),
            ("Back Office", "OffQueueWork", true),
            ("Lunch", "Meal", true),
            ("Lunch", "Meal", false),
            ("Team Meeting", "Meeting", true),
        ]
        .into_iter()
        .enumerate()
        {
            bu.activity_codes
                .push(zd2gc::genesys::model::BusinessUnitActivityCode {
                    id: format!("00000000-0000-4000-8000-0000000{b}{k:04}"),
                    name: name.into(),
                    active,
                    default_code: false,
                    category: cat.into(),
                    metadata: None,
                });
        }
    }
    org
}

/// The clean sample, with one agent's e-mail in another case and padded with blanks (as a real
/// export has them).
fn clean_export(tmp: &Path) -> PathBuf {
    let dir = tmp.join("export");
    std::fs::create_dir_all(&dir).unwrap();
    for f in ["agents.jsonl", "shifts.jsonl", "shift_trades.jsonl"] {
        let text = std::fs::read_to_string(root().join("samples/clean").join(f)).unwrap();
        let text = text.replace(
            "\"lucas.bernard@acme-support.example\"",
            "\" Lucas.Bernard@ACME-support.example \"",
        );
        std::fs::write(dir.join(f), text).unwrap();
    }
    dir
}

const TABLES: &[(&str, &str)] = &[
    (
        "agents.csv",
        "zendesk_agent_id,email,genesys_user_id,management_unit_id,business_unit_id",
    ),
    (
        "business_units.csv",
        "business_unit_id,name,time_zone,start_day_of_week",
    ),
    ("locations.csv", "location,time_zone,business_unit_id"),
    (
        "activities.csv",
        "zendesk_task_name,genesys_activity_code_id,business_unit_id",
    ),
];

/// init, every table blank, extract the clean sample (e-mail case and blanks varied), with the
/// emulator failing as a real org does: 5xx, dropped answers, a rate limit, short tokens, and the
/// agent's management-unit answer without its business unit.
fn blank_clean() -> Cli {
    let cli = Cli::new(clean_org());
    cli.emu
        .set_faults(zd2gc::emulator::Faults {
            seed: 12,
            error_rate: 0.05,
            drop_rate: 0.02,
            rate_limit_rpm: 1200,
            token_lifetime_secs: 2,
            omit_agent_business_unit: true,
            ..Default::default()
        })
        .unwrap();
    init_blank_extract(&cli);
    cli
}

/// `init`, every table blank, extract the clean sample (e-mail case and blanks varied).
fn init_blank_extract(cli: &Cli) {
    let dir = cli.dir();
    cli.ok(&["init", dir.to_str().unwrap()], &[0]);
    for (name, header) in TABLES {
        blank(&dir, name, header);
    }
    let export = clean_export(cli.tmp.path());
    cli.ok(&["extract", export.to_str().unwrap()], &[0]);
}

/// After `map --online`: validate is ready, a second validate maps nothing again, load and verify
/// succeed, and no command after map ran map again (the state's map record is map's own).
fn validate_load_verify(cli: &Cli) {
    let map_run = || -> i64 { cli.map_inputs()["run_id"].as_i64().unwrap() };
    let mapped_by = map_run();
    let err = cli.ok(&["validate"], &[0]);
    assert!(
        err.contains("READY TO LOAD") || err.contains("ready to load"),
        "{err}"
    );
    assert!(!err.contains("map:"), "validate mapped again:\n{err}");
    let err = cli.ok(&["validate"], &[0]);
    assert!(!err.contains("map:"), "validate mapped again:\n{err}");
    let err = cli.ok(&["load", "--max-rpm", "3000"], &[0]);
    assert!(!err.contains("map:"), "{err}");
    cli.emu
        .set_faults(zd2gc::emulator::Faults::default())
        .unwrap();
    let err = cli.ok(&["verify"], &[0]);
    assert_eq!(map_run(), mapped_by, "{err}");
    // The audit: one map run, and it was online.
    let maps: Vec<(String, String)> = cli
        .db()
        .prepare(
            "SELECT command, args FROM runs WHERE command = 'map' OR args LIKE '%run by validate%'",
        )
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    assert_eq!(maps.len(), 1, "{maps:?}");
    assert!(maps[0].1.contains("--online"), "{maps:?}");
    // Every validate run recorded that it did not map again.
    let remapped: Vec<(i64, Option<String>)> = cli
        .db()
        .prepare(
            "SELECT id, json_extract(counts, '$.remapped') FROM runs WHERE command = 'validate'",
        )
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    assert_eq!(remapped.len(), 2, "{remapped:?}");
    assert!(remapped.iter().all(|(_, m)| m.is_none()), "{remapped:?}");
    let shifts = cli.shifts_in_genesys();
    assert!(shifts >= 100, "{shifts} shifts in Genesys");
}

/// From `init` with blank tables: extract → `mappings pull` → map --online → validate (ready) →
/// load → verify, against an emulator with faults.
#[test]
fn e2e_blank_tables_pull_then_map_online() {
    let cli = blank_clean();
    let dir = cli.dir();
    let dry = cli.run_with(&["mappings", "pull", "--dry-run"], true);
    assert_eq!(dry.0, 0, "{}\n{}", dry.2, dry.1);
    assert!(
        dry.1.contains("mappings/agents.csv: 10 row(s) added"),
        "{}",
        dry.1
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("mappings/agents.csv")).unwrap(),
        format!("{}\n", TABLES[0].1),
        "--dry-run writes nothing"
    );
    let err = cli.ok(&["mappings", "pull"], &[0]);
    assert!(err.contains("agents: 10 of 10 resolved"), "{err}");
    // Units come from each management unit's user list (3 units), not one call per agent.
    let kinds = |k: &str| -> i64 {
        cli.db()
            .query_row(
                "SELECT count(*) FROM genesys_cache WHERE kind = ?1",
                [k],
                |r| r.get(0),
            )
            .unwrap()
    };
    assert_eq!(kinds("management-unit-users"), 3);
    assert_eq!(kinds("agent-management-unit"), 0);
    assert_eq!(kinds("users-by-email"), 10);
    // What the dry run asked is cached: the pull asked nothing again.
    assert!(err.contains("Genesys: 0 call(s)"), "{err}");
    let agents = std::fs::read_to_string(dir.join("mappings/agents.csv")).unwrap();
    // Lucas's e-mail was found whatever its case and blanks in the export.
    let lucas = agents
        .lines()
        .find(|l| l.starts_with("381447002,"))
        .unwrap();
    assert_eq!(
        lucas,
        "381447002,lucas.bernard@acme-support.example,4df20cb9-5a9b-4857-bce8-fbdd80afc460,fe171370-ee75-45f2-b8f9-e52c2b9d59e9,5eac3200-a43b-4440-a8a1-a35668257610"
    );
    let bus = std::fs::read_to_string(dir.join("mappings/business_units.csv")).unwrap();
    assert!(bus.contains(",America/Chicago,Sunday"), "{bus}");
    let acts = std::fs::read_to_string(dir.join("mappings/activities.csv")).unwrap();
    // The active Lunch code, not the inactive one, in each unit in use.
    assert_eq!(acts.matches("\nLunch,").count(), 2, "{acts}");
    assert!(
        !acts.contains("00000000-0000-4000-8000-000000000003"),
        "{acts}"
    );
    // A second pull: nothing asked, nothing changed.
    let before: Vec<String> = TABLES
        .iter()
        .map(|(n, _)| std::fs::read_to_string(dir.join("mappings").join(n)).unwrap())
        .collect();
    let err = cli.ok(&["mappings", "pull"], &[0]);
    assert!(err.contains("Genesys: 0 call(s)"), "{err}");
    let after: Vec<String> = TABLES
        .iter()
        .map(|(n, _)| std::fs::read_to_string(dir.join("mappings").join(n)).unwrap())
        .collect();
    assert_eq!(before, after);
    cli.ok(&["map", "--online"], &[0]);
    validate_load_verify(&cli);
}

/// The same with `map --online` and no pull: map resolves from Genesys, validate keeps it.
#[test]
fn e2e_blank_tables_map_online_without_pull() {
    let cli = blank_clean();
    cli.ok(&["map", "--online"], &[0]);
    validate_load_verify(&cli);
}

/// What a real org brings that the sample does not: two users with one e-mail, a filled row that
/// Genesys contradicts, a row half filled, a comment line, a business unit whose week the table
/// starts on another day, a TimeOff code, one task name in two business units.
#[test]
fn pull_keeps_filled_rows_reports_differences_and_lists_what_it_cannot_resolve() {
    use zd2gc::mappings::{PullOptions, pull_dir};
    let mut org = sample_org();
    // Léa's e-mail on a second (active) user.
    org.users.push(zd2gc::emulator::fixture::FixtureUser {
        id: "11111111-1111-4111-8111-111111111111".into(),
        name: "Léa Dubois (2)".into(),
        email: "lea.dubois@acme-support.example".into(),
        state: "active".into(),
    });
    // The sample org's TimeOff code named as the export's reason `RTT`.
    let rtt = org.business_units[0]
        .activity_codes
        .iter()
        .find(|c| c.name == "RTT" && c.category == "TimeOff")
        .expect("samples/org.json has a TimeOff code RTT")
        .id
        .clone();
    let paris = org.business_units[0].id.clone();
    let cli = Cli::new(org);
    let dir = cli.dir();
    zd2gc::init::init_dir(&dir, None).unwrap();
    let header = "zendesk_agent_id,email,genesys_user_id,management_unit_id,business_unit_id";
    let agents = format!(
        "{header}\r\n# filled by hand, reviewed\r\n381447001,,aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa,,\r\n,LUCAS.bernard@acme-support.example,,,\r\n"
    );
    std::fs::write(dir.join("mappings/agents.csv"), &agents).unwrap();
    std::fs::write(
        dir.join("mappings/business_units.csv"),
        format!(
            "business_unit_id,name,time_zone,start_day_of_week\n{paris},Paris,Europe/Paris,Sunday\n"
        ),
    )
    .unwrap();
    blank(
        &dir,
        "activities.csv",
        "zendesk_task_name,genesys_activity_code_id,business_unit_id",
    );
    let cfg = zd2gc::config::Config::load(&dir).unwrap();
    zd2gc::extract::extract(&dir, &root().join("samples/paris-cutover"), &cfg, |_| {}).unwrap();
    let client = std::sync::Arc::new(
        zd2gc::client::Client::new(
            cli.emu.endpoints(),
            zd2gc::client::Credentials {
                client_id: CLIENT_ID.into(),
                secret: zd2gc::client::Secret::new(SECRET),
            },
        )
        .unwrap(),
    );
    let opts = PullOptions {
        online: zd2gc::map::OnlineMode::With(client.clone()),
        ..Default::default()
    };
    let o = pull_dir(&dir, &cfg, &opts).unwrap();
    let text = std::fs::read_to_string(dir.join("mappings/agents.csv")).unwrap();
    let lines: Vec<&str> = text.split("\r\n").collect();
    // The comment and the contradicted row stay as written; Lucas's row is completed.
    assert_eq!(lines[1], "# filled by hand, reviewed");
    assert_eq!(
        lines[2], "381447001,,aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa,,",
        "a filled row is kept"
    );
    assert_eq!(
        lines[3],
        ",LUCAS.bernard@acme-support.example,4df20cb9-5a9b-4857-bce8-fbdd80afc460,fe171370-ee75-45f2-b8f9-e52c2b9d59e9,5eac3200-a43b-4440-a8a1-a35668257610"
    );
    let said = |list: &[zd2gc::mappings::Note], what: &str| {
        list.iter().any(|n| n.to_string().contains(what))
    };
    let all = |list: &[zd2gc::mappings::Note]| {
        list.iter()
            .map(|n| n.to_string())
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert!(
        said(
            &o.disagreements,
            "mappings/agents.csv:3: agent `381447001` <camille.martin@acme-support.example>: genesys_user_id is `aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa`, the e-mail finds `6ba5a1b6"
        ),
        "{}",
        all(&o.disagreements)
    );
    assert!(
        said(&o.disagreements, "mappings/business_units.csv:2")
            && said(
                &o.disagreements,
                "start_day_of_week is `Sunday`, Genesys has `Monday`"
            ),
        "{}",
        all(&o.disagreements)
    );
    // Two users, one e-mail: listed, left blank.
    assert!(
        said(
            &o.unresolved,
            "2 Genesys Cloud users have the e-mail <lea.dubois@acme-support.example>"
        ),
        "{}",
        all(&o.unresolved)
    );
    let lea = lines.iter().find(|l| l.starts_with("381447003,")).unwrap();
    assert_eq!(*lea, "381447003,lea.dubois@acme-support.example,,,");
    // The planted new hire has no user.
    assert!(said(&o.unresolved, "no Genesys Cloud user has the e-mail"));
    // One task name, two business units: one row each, with each unit's code.
    let acts = std::fs::read_to_string(dir.join("mappings/activities.csv")).unwrap();
    let breaks: Vec<&str> = acts.lines().filter(|l| l.starts_with("Break,")).collect();
    assert_eq!(breaks.len(), 2, "{acts}");
    assert_ne!(breaks[0].split(',').nth(1), breaks[1].split(',').nth(1));
    // The TimeOff code of that name, in time_off.csv only.
    let toff = std::fs::read_to_string(dir.join("mappings/time_off.csv")).unwrap();
    assert!(toff.contains(&format!("RTT,{rtt},{paris}")), "{toff}");
    assert!(!acts.contains(&rtt));
    // The pulled tables are what map reads: offline map resolves what pull resolved.
    let m = zd2gc::map::map_dir(&dir, &cfg, &Default::default()).unwrap();
    assert!(m.agents_mapped >= 40, "{m:?}");
}

/// A refreshed Genesys answer that differs from the one map used makes map stale: a business unit
/// whose week moved from Sunday to Monday, seen by `mappings pull --refresh`. Validate says so and
/// maps again online, and the unit's week ids follow.
#[test]
fn a_refreshed_answer_that_changed_makes_validate_map_again_online() {
    let mut org = sample_org();
    let cli = Cli::new(org.clone());
    let dir = cli.dir();
    cli.ok(&["init", dir.to_str().unwrap()], &[0]);
    for (name, header) in TABLES {
        blank(&dir, name, header);
    }
    let export = root().join("samples/paris-cutover");
    cli.ok(&["extract", export.to_str().unwrap()], &[0]);
    cli.ok(&["map", "--online"], &[0, 1]);
    let americas = org.business_units[1].id.clone();
    let weeks = || -> Vec<String> {
        let c = cli.db();
        let mut st = c
            .prepare(
                "SELECT DISTINCT week_id FROM desired_shifts WHERE business_unit_id = ?1
                 AND week_id IS NOT NULL ORDER BY 1",
            )
            .unwrap();
        st.query_map([&americas], |r| r.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap()
    };
    let before = weeks();
    assert!(!before.is_empty());
    let weekday = |w: &str| {
        chrono::NaiveDate::parse_from_str(w, "%Y-%m-%d")
            .unwrap()
            .format("%A")
            .to_string()
    };
    assert!(before.iter().all(|w| weekday(w) == "Sunday"), "{before:?}");
    // Nothing changed: validate maps nothing again.
    let err = cli.ok(&["validate"], &[1]);
    assert!(!err.contains("map:"), "{err}");
    // The planners move the unit's week start; a refreshed pull sees it.
    assert_eq!(org.business_units[1].start_day_of_week, "Sunday");
    org.business_units[1].start_day_of_week = "Monday".into();
    cli.emu.load_fixture(&org).unwrap();
    cli.ok(&["mappings", "pull", "--refresh", "--dry-run"], &[1]);
    let err = cli.ok(&["validate"], &[1]);
    assert!(
        err.contains("cached Genesys answers were refreshed")
            && err.contains("mapped again online"),
        "{err}"
    );
    let after = weeks();
    assert!(after.iter().all(|w| weekday(w) == "Monday"), "{after:?}");
}

/// `cp -r SRC DST` of a migration directory (files and subdirectories).
fn copy_dir(src: &Path, dst: &Path) {
    std::fs::create_dir_all(dst).unwrap();
    for e in std::fs::read_dir(src).unwrap() {
        let e = e.unwrap();
        let to = dst.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &to);
        } else {
            std::fs::copy(e.path(), &to).unwrap();
        }
    }
}

/// A migration directory moved (here: copied, the original then removed, as a rehearsal
/// directory is carried to the cutover machine) keeps its own mapping tables: validate and load
/// agree that the desired state is current, and load loads. Before, map recorded the tables'
/// absolute path: validate checked the moved tables (ready to load) while load checked the old
/// path ("out of date: mappings/agents.csv was removed; … run `zd2gc validate`"), a loop only a
/// new `map` broke. A record that names another directory (an older zd2gc's absolute record, or
/// `map --mappings` elsewhere) is re-pointed by a validate that found the tables it was given
/// identical, so load then checks what that validation checked.
#[test]
fn a_moved_migration_directory_is_current_for_validate_and_load_alike() {
    let cli = Cli::new(clean_org());
    let dir = cli.dir();
    init_blank_extract(&cli);
    cli.ok(&["map", "--online"], &[0]);
    cli.ok(&["validate"], &[0]);
    let recorded = |cli: &Cli| -> String {
        cli.map_inputs()["mappings_dir"]
            .as_str()
            .unwrap()
            .to_string()
    };

    // Validated, then moved, then loaded: the cutover machine's first command is load.
    let moved = cli.tmp.path().join("cutover");
    copy_dir(&dir, &moved);
    std::fs::remove_dir_all(&dir).unwrap();
    let (code, _, err) = cli.run_in(&moved, &["load", "--max-rpm", "3000"], true);
    assert!(!err.contains("out of date"), "{err}");
    assert_eq!(code, 0, "{err}");
    let loaded = cli.shifts_in_genesys();
    assert!(loaded >= 100, "{loaded} shifts in Genesys");
    // Back where the helpers look for it.
    copy_dir(&moved, &dir);
    std::fs::remove_dir_all(&moved).unwrap();
    assert_eq!(recorded(&cli), "mappings");

    // A record naming tables elsewhere (as every record of an older zd2gc did), gone since.
    let elsewhere = cli.tmp.path().join("tables");
    copy_dir(&dir.join("mappings"), &elsewhere);
    cli.ok(
        &["map", "--online", "--mappings", elsewhere.to_str().unwrap()],
        &[0],
    );
    assert!(
        Path::new(&recorded(&cli)).is_absolute(),
        "{}",
        recorded(&cli)
    );
    std::fs::remove_dir_all(&elsewhere).unwrap();
    let err = cli.ok(&["validate"], &[0]);
    assert!(!err.contains("map:"), "validate mapped again:\n{err}");
    let (code, _, err) = cli.run_with(&["load", "--max-rpm", "3000"], true);
    assert!(!err.contains("out of date"), "{err}");
    assert_eq!(code, 0, "{err}");
    assert_eq!(cli.shifts_in_genesys(), loaded, "nothing written twice");
    assert_eq!(recorded(&cli), "mappings");
}

/// Before any load `status` said "shifts 0 of 0 loaded" beside every mapped shift: it now says what
/// map left to load, and after the load how many the load put in. The oracles are map's own counts
/// (its audit record) and the shifts in the emulated org.
#[test]
fn status_counts_the_desired_shifts_before_and_after_a_load() {
    let cli = Cli::new(clean_org());
    init_blank_extract(&cli);
    cli.ok(&["map", "--online"], &[0]);
    cli.ok(&["validate"], &[0]);
    let counts: String = cli
        .db()
        .query_row(
            "SELECT counts FROM runs WHERE command = 'map' ORDER BY id DESC LIMIT 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let counts: serde_json::Value = serde_json::from_str(&counts).unwrap();
    let mapped = counts["shifts_mapped"].as_u64().unwrap();
    let held = counts["shifts_held_back"].as_u64().unwrap();
    assert!(mapped >= 100, "{counts}");
    let shifts_line = || {
        let (code, out, err) = cli.run_with(&["status"], false);
        assert_eq!(code, 0, "{err}");
        out.lines()
            .find(|l| l.starts_with("shifts "))
            .unwrap_or_else(|| panic!("no shifts line:\n{out}"))
            .to_string()
    };
    let before_load = match held {
        0 => format!("none loaded yet ({mapped} mapped)"),
        _ => format!("none loaded yet ({mapped} mapped, {held} held back)"),
    };
    let line = shifts_line();
    assert!(
        line.ends_with(&before_load),
        "{line:?}, want {before_load:?}"
    );

    let before = cli.shifts_in_genesys();
    cli.ok(&["load", "--max-rpm", "3000"], &[0]);
    let loaded = (cli.shifts_in_genesys() - before) as u64;
    assert_eq!(loaded, mapped, "the load put every mapped shift in Genesys");
    let line = shifts_line();
    let after = format!("{loaded} of {mapped} loaded");
    assert!(line.ends_with(&after), "{line:?}, want {after:?}");
}
