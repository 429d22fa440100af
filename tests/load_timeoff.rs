//! Time off through `load` and `verify` against the in-process emulator: each loadable request
//! created exactly once (its marker in `notes`), a re-run sends nothing, a changed request is
//! reported and not re-created, an overlap refusal is a recorded failure and not retried, and the
//! same holds under dropped answers after applied creates, 5xx, and seeded SIGKILLs of the loader.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;
use zd2gc::emulator::{Dump, Emulator, EmulatorConfig, Faults, RunningEmulator};
use zd2gc::load::{LoadOptions, load_dir, synth, verify_dir};
use zd2gc::ui::Ui;

use crate::common::emulator_client as client;

fn org() -> zd2gc::emulator::Fixture {
    crate::common::synthetic_org(40, 2)
}

fn fast() -> LoadOptions {
    LoadOptions {
        max_rpm: 20_000,
        concurrency: 3,
        settle_timeout: Duration::from_secs(3),
        poll_ms: 20,
        lock_wait_ms: 50,
        ..LoadOptions::default()
    }
}

/// A migration directory with a small shift load (one week, `shift_agents` agents per unit; 0: no
/// shifts, the time off alone) and `per_agent` time-off requests for 10 agents of each of the two
/// business units.
fn prepared(shift_agents: usize, per_agent: usize) -> (tempfile::TempDir, u64) {
    let d = tempfile::tempdir().unwrap();
    zd2gc::init::init_dir(d.path(), None).unwrap();
    synth::write_desired(d.path(), &org(), shift_agents, 1, 0).unwrap();
    let n = synth::write_desired_time_off(d.path(), &org(), 10, per_agent, 0).unwrap();
    (d, n)
}

/// Requests in the emulator per marker (the first line of notes).
fn by_marker(d: &Dump) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for t in &d.org.time_off_requests {
        let mk = t.request.notes.lines().next().unwrap_or("").to_string();
        *m.entry(mk).or_default() += 1;
    }
    m
}

/// The markers of the loadable desired rows, read with plain SQL (not the loader's reader).
fn desired_markers(dir: &Path) -> Vec<String> {
    let c = rusqlite::Connection::open(dir.join("zd2gc.db")).unwrap();
    let mut st = c
        .prepare("SELECT notes FROM desired_time_off WHERE held_back IS NULL")
        .unwrap();
    st.query_map([], |r| r.get::<_, String>(0))
        .unwrap()
        .map(|n| n.unwrap().lines().next().unwrap().to_string())
        .collect()
}

/// Every loadable request exists exactly once, and nothing else was created.
fn assert_exactly_once(dir: &Path, d: &Dump) {
    let want = desired_markers(dir);
    let got = by_marker(d);
    for mk in &want {
        assert_eq!(got.get(mk), Some(&1), "{mk}: {got:?}");
    }
    assert_eq!(
        d.org.time_off_requests.len(),
        want.len(),
        "another request was created"
    );
}

#[test]
fn time_off_loads_once_reruns_send_nothing_changes_are_reported_overlaps_recorded() {
    let emu = Emulator::start(EmulatorConfig::with_fixture(org())).unwrap();
    let (dir, n) = prepared(2, 2);
    assert_eq!(n, 40);
    let c = client(&emu);
    let r = load_dir(dir.path(), c.clone(), &fast(), &Ui::silent(), "load").unwrap();
    let t = &r.time_off;
    assert_eq!(
        (t.desired, t.created, t.creates_sent),
        (40, 40, 40),
        "{t:?}"
    );
    assert!(t.failures.is_empty(), "{t:?}");
    assert_exactly_once(dir.path(), &emu.dump());
    // Every Genesys id is in the crosswalk.
    let conn = rusqlite::Connection::open(dir.path().join("zd2gc.db")).unwrap();
    let linked: i64 = conn
        .query_row(
            "SELECT COUNT(DISTINCT genesys_time_off_request_id) FROM xw_time_off",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(linked, 40);
    let v = verify_dir(dir.path(), c.clone(), &fast(), "verify").unwrap();
    assert!(v.matches(), "{:?}", v.time_off);
    assert_eq!(v.time_off.matching, 40);

    // A re-run: nothing sent for time off.
    let again = load_dir(dir.path(), c.clone(), &fast(), &Ui::silent(), "load").unwrap();
    assert_eq!(
        (again.time_off.already, again.time_off.creates_sent),
        (40, 0)
    );

    // A newer export changes 8 requests: reported, not re-created; verify sees them differ.
    synth::write_desired_time_off(dir.path(), &org(), 10, 2, 1).unwrap();
    let changed = load_dir(dir.path(), c.clone(), &fast(), &Ui::silent(), "load").unwrap();
    assert_eq!(changed.time_off.changed.len(), 8, "{:?}", changed.time_off);
    assert_eq!(changed.time_off.creates_sent, 0);
    assert_eq!(emu.dump().org.time_off_requests.len(), 40);
    let v = verify_dir(dir.path(), c.clone(), &fast(), "verify").unwrap();
    assert_eq!(v.time_off.different.len(), 8);
    assert!(!v.matches());

    // A request overlapping another of the same agent: refused (400), recorded, not retried.
    let first_user: (String, String, String, String) = conn
        .query_row(
            "SELECT user_id, management_unit_id, business_unit_id, full_day_dates FROM desired_time_off
             WHERE full_day_dates IS NOT NULL ORDER BY time_off_request_id LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .unwrap();
    let mig: String = conn
        .query_row(
            "SELECT value FROM meta WHERE key = 'migration_id'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    conn.execute(
        "INSERT INTO desired_time_off (time_off_request_id, user_id, management_unit_id, business_unit_id,
             activity_code_id, status, full_day_dates, daily_minutes, paid, notes, content_hash)
         VALUES ('TO-overlap', ?1, ?2, ?3, 'ac-0-3', 'APPROVED', ?4, 480, 1, ?5, 'h')",
        rusqlite::params![first_user.0, first_user.1, first_user.2, first_user.3, format!("zd2gc:{mig}:TO-overlap")],
    )
    .unwrap();
    let r = load_dir(dir.path(), c.clone(), &fast(), &Ui::silent(), "load").unwrap();
    assert_eq!(r.time_off.failures.len(), 1, "{:?}", r.time_off);
    assert!(
        r.time_off.failures[0].1.contains("overlap"),
        "{:?}",
        r.time_off.failures
    );
    assert_eq!(r.time_off.creates_sent, 1);
    assert_eq!(r.exit(), zd2gc::exit::Exit::Partial);
    let r = load_dir(dir.path(), c.clone(), &fast(), &Ui::silent(), "load").unwrap();
    assert_eq!(r.time_off.failures.len(), 1);
    assert_eq!(r.time_off.creates_sent, 0, "a refusal is not retried");
    let s = zd2gc::load::status_dir(dir.path()).unwrap();
    assert_eq!(s.time_off_failures.len(), 1, "{:?}", s.time_off_failures);
}

#[test]
fn time_off_exactly_once_under_dropped_answers_and_server_errors() {
    let emu = Emulator::start(EmulatorConfig {
        faults: Faults {
            drop_rate: 0.3,
            error_rate: 0.2,
            seed: 14,
            ..Faults::default()
        },
        ..EmulatorConfig::with_fixture(org())
    })
    .unwrap();
    let (dir, n) = prepared(0, 3);
    assert_eq!(n, 60);
    let c = client(&emu);
    // Creates sent and never found are bounded; high enough here that a 502/503 (not applied)
    // three times in a row does not end a request `failed` in this one run.
    let opts = LoadOptions {
        max_failed_writes: 20,
        ..fast()
    };
    let r = load_dir(dir.path(), c.clone(), &opts, &Ui::silent(), "load").unwrap();
    assert!(r.time_off.failures.is_empty(), "{:?}", r.time_off);
    assert_eq!(
        r.time_off.created + r.time_off.found,
        60,
        "{:?}",
        r.time_off
    );
    let found = r.time_off.found;
    assert!(
        found > 0,
        "no dropped answer was settled by the query: the test shows nothing"
    );
    emu.set_faults(Faults::default()).unwrap();
    assert_exactly_once(dir.path(), &emu.dump());
    let v = verify_dir(dir.path(), c, &fast(), "verify").unwrap();
    assert!(v.time_off.matches(), "{:?}", v.time_off);
    assert_eq!(v.time_off.matching, 60);
}

fn run_load_child(dir: &Path, emu: &RunningEmulator) -> std::process::Child {
    std::process::Command::new(env!("CARGO_BIN_EXE_zd2gc"))
        .args([
            "--dir",
            dir.to_str().unwrap(),
            "-q",
            "--no-progress",
            "load",
            "--max-rpm",
            "20000",
            "--concurrency",
            "3",
            "--max-failed-writes",
            "50",
        ])
        .env("ZD2GC_API_URL", emu.base_url())
        .env("ZD2GC_LOGIN_URL", emu.base_url())
        .env("GENESYSCLOUD_OAUTHCLIENT_ID", emu.client_id())
        .env("GENESYSCLOUD_OAUTHCLIENT_SECRET", emu.client_secret())
        .env("NO_COLOR", "1")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap()
}

/// 20 SIGKILLs at seeded instants of loads that meet dropped answers and 5xx, each followed at once
/// by a new load; then one load to the end: every request exactly once, nothing else, verify agrees.
#[test]
fn time_off_survives_twenty_sigkills_with_faults() {
    let emu = Emulator::start(EmulatorConfig {
        faults: Faults {
            drop_rate: 0.2,
            error_rate: 0.1,
            latency_ms: 15,
            seed: 1414,
            ..Faults::default()
        },
        ..EmulatorConfig::with_fixture(org())
    })
    .unwrap();
    let (dir, n) = prepared(0, 3);
    assert_eq!(n, 60);
    let mut rng = zd2gc::emulator::Rng::new(1414);
    let mut created_before_end = 0;
    for _ in 0..20 {
        let mut child = run_load_child(dir.path(), &emu);
        std::thread::sleep(Duration::from_millis(100 + rng.below(900) as u64));
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
        created_before_end = emu.dump().org.time_off_requests.len();
    }
    assert!(
        created_before_end > 0,
        "no load got as far as time off before its kill"
    );
    let code = run_load_child(dir.path(), &emu).wait().unwrap().code();
    assert_eq!(code, Some(0), "the final load ends by itself");
    emu.set_faults(Faults::default()).unwrap();
    assert_exactly_once(dir.path(), &emu.dump());
    let c = client(&emu);
    let v = verify_dir(dir.path(), c, &fast(), "verify").unwrap();
    assert!(v.matches(), "{:?}", v.time_off);
    assert_eq!(v.time_off.matching, 60);
}
