//! `load`, `plan`, `verify` and `status` against the in-process emulator: convergence, faults,
//! concurrent edits and conflicts, the directory lock and the org binding, and a crash test that
//! SIGKILLs the loader binary at seeded random instants and resumes.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;
use std::time::Duration;
use zd2gc::emulator::{Dump, Emulator, EmulatorConfig, Faults, RunningEmulator};
use zd2gc::load::{LoadOptions, load_dir, synth, verify_dir};
use zd2gc::ui::Ui;

use crate::common::{
    emulator_client as client, fast_load as fast, migration_dir, synthetic_org as org,
};

/// Every shift in the emulator: (business unit, week, user) → sorted (start, length, activities).
fn shifts_of(d: &Dump) -> BTreeMap<(String, String, String), Vec<String>> {
    let mut m: BTreeMap<_, Vec<String>> = BTreeMap::new();
    for s in &d.org.schedules {
        for a in &s.agent_schedules {
            let e = m
                .entry((
                    s.business_unit_id.clone(),
                    s.week_id.clone(),
                    a.user_id.clone(),
                ))
                .or_default();
            for sh in &a.shifts {
                let mut x = sh.clone();
                x.id = None;
                let c = zd2gc::load::model::Content::from_api(&a.user_id, &x).unwrap();
                e.push(c.to_json());
            }
            e.sort();
        }
    }
    m
}

fn schedules_per_week(d: &Dump) -> HashMap<(String, String), usize> {
    let mut m = HashMap::new();
    for s in &d.org.schedules {
        *m.entry((s.business_unit_id.clone(), s.week_id.clone()))
            .or_default() += 1;
    }
    m
}

/// Each loaded week's (unit, week, digest of the desired state it was written from), in order.
fn week_digests(conn: &rusqlite::Connection) -> Vec<(String, String, i64)> {
    let mut st = conn
        .prepare("SELECT business_unit_id, week_id, desired_hash FROM load_weeks ORDER BY 1, 2")
        .unwrap();
    st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(|r| r.unwrap())
        .collect()
}

#[test]
fn converges_without_faults_then_rerun_sends_no_writes() {
    let emu = Emulator::start(EmulatorConfig::with_fixture(org(40, 2))).unwrap();
    let dir = migration_dir();
    let n = synth::write_desired(dir.path(), &org(40, 2), 20, 3, 0).unwrap();
    assert_eq!(n, 2 * 20 * 3 * 5);
    let c = client(&emu);
    let r = load_dir(dir.path(), c.clone(), &fast(), &Ui::silent(), "load").unwrap();
    assert_eq!(r.weeks, 6);
    assert_eq!(r.weeks_done, 6, "{r:?}");
    assert_eq!(r.weeks_written, 6);
    // One token, one identifying read, one list per week, one blank create and one triple per
    // week: the minimum; the read-backs apart.
    assert_eq!(r.weeks_created, 6);
    assert_eq!(r.minimum_requests, 1 + 1 + 6 + 6 + 18);
    assert_eq!(
        r.requests.total,
        r.minimum_requests + r.confirm_reads + r.polls
    );
    let v = verify_dir(dir.path(), c.clone(), &fast(), "verify").unwrap();
    assert!(v.matches(), "{v:?}");
    assert_eq!(v.matching_shifts, n);
    // Every legacy shift has its Genesys shift id in the crosswalk.
    let conn = rusqlite::Connection::open(dir.path().join("zd2gc.db")).unwrap();
    let linked: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM xw_shifts WHERE genesys_shift_id IS NOT NULL AND adopted = 0",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(linked as u64, n);
    // Re-running a finished load: no write, and with --recheck only reads.
    let again = load_dir(dir.path(), c.clone(), &fast(), &Ui::silent(), "load").unwrap();
    assert_eq!(again.weeks_skipped, 6);
    assert_eq!(again.write_requests, 0);
    let recheck = LoadOptions {
        recheck: true,
        ..fast()
    };
    let again = load_dir(dir.path(), c.clone(), &recheck, &Ui::silent(), "load").unwrap();
    assert_eq!(again.write_requests, 0, "{again:?}");
    assert_eq!(again.weeks_done, 6);
    // A fresh migration directory against the same org adopts everything, duplicates nothing.
    let other = migration_dir();
    synth::write_desired(other.path(), &org(40, 2), 20, 3, 0).unwrap();
    let before = emu.dump();
    let r = load_dir(other.path(), c.clone(), &fast(), &Ui::silent(), "load").unwrap();
    assert_eq!(r.write_requests, 0, "{r:?}");
    assert_eq!(shifts_of(&emu.dump()), shifts_of(&before));
}

/// A load finished on a state database of schema 8 is not written again after migration 9 made
/// the desired state compact: every week's digest (of what the week reader reads) is unchanged.
#[test]
fn weeks_loaded_before_the_compact_desired_state_are_not_written_again() {
    let emu = Emulator::start(EmulatorConfig::with_fixture(org(20, 2))).unwrap();
    let dir = migration_dir();
    synth::write_desired(dir.path(), &org(20, 2), 10, 2, 0).unwrap();
    let c = client(&emu);
    let r = load_dir(dir.path(), c.clone(), &fast(), &Ui::silent(), "load").unwrap();
    assert_eq!((r.weeks, r.weeks_written), (4, 4), "{r:?}");
    let before = week_digests(&rusqlite::Connection::open(dir.path().join("zd2gc.db")).unwrap());
    crate::common::desired_back_to_schema_8(
        &rusqlite::Connection::open(dir.path().join("zd2gc.db")).unwrap(),
    );
    let again = load_dir(dir.path(), c.clone(), &fast(), &Ui::silent(), "load").unwrap();
    assert_eq!(again.weeks_skipped, 4, "{again:?}");
    assert_eq!(again.write_requests, 0, "{again:?}");
    let conn = rusqlite::Connection::open(dir.path().join("zd2gc.db")).unwrap();
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version as usize, zd2gc::store::schema_version());
    assert_eq!(week_digests(&conn), before);
}

/// A load finished before migration 10 (activities stored as JSON) writes nothing after it: the
/// terse activities that migration 10's SQL makes of the JSON decode to the same shifts as those
/// `map` writes, so every week's digest is the one journaled.
#[test]
fn weeks_loaded_before_the_terse_activities_are_not_written_again() {
    let emu = Emulator::start(EmulatorConfig::with_fixture(org(20, 2))).unwrap();
    let dir = migration_dir();
    synth::write_desired(dir.path(), &org(20, 2), 10, 2, 0).unwrap();
    let db = dir.path().join("zd2gc.db");
    let c = client(&emu);
    let r = load_dir(dir.path(), c.clone(), &fast(), &Ui::silent(), "load").unwrap();
    assert_eq!((r.weeks, r.weeks_written), (4, 4), "{r:?}");
    let before = week_digests(&rusqlite::Connection::open(&db).unwrap());
    crate::common::desired_back_to_schema_9(&rusqlite::Connection::open(&db).unwrap());
    let stored: String = rusqlite::Connection::open(&db)
        .unwrap()
        .query_row(
            "SELECT activities FROM desired_shift_rows LIMIT 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(stored.starts_with("[["), "{stored}");
    let again = load_dir(dir.path(), c.clone(), &fast(), &Ui::silent(), "load").unwrap();
    assert_eq!(again.weeks_skipped, 4, "{again:?}");
    assert_eq!(again.write_requests, 0, "{again:?}");
    let conn = rusqlite::Connection::open(&db).unwrap();
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version as usize, zd2gc::store::schema_version());
    let stored: String = conn
        .query_row(
            "SELECT activities FROM desired_shift_rows LIMIT 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(!stored.starts_with('['), "{stored}");
    assert_eq!(week_digests(&conn), before);
}

/// A load finished before migration 11 (every task id written out) writes nothing after it: the
/// `+` marks that migration 11 writes decode to the same task ids, so every week's digest is the
/// one journaled.
#[test]
fn weeks_loaded_before_the_task_marks_are_not_written_again() {
    let emu = Emulator::start(EmulatorConfig::with_fixture(org(20, 2))).unwrap();
    let dir = migration_dir();
    synth::write_desired(dir.path(), &org(20, 2), 10, 2, 0).unwrap();
    let db = dir.path().join("zd2gc.db");
    let c = client(&emu);
    let r = load_dir(dir.path(), c.clone(), &fast(), &Ui::silent(), "load").unwrap();
    assert_eq!((r.weeks, r.weeks_written), (4, 4), "{r:?}");
    let first = |conn: &rusqlite::Connection| -> String {
        conn.query_row(
            "SELECT activities FROM desired_shift_rows ORDER BY 1 LIMIT 1",
            [],
            |r| r.get(0),
        )
        .unwrap()
    };
    let before = week_digests(&rusqlite::Connection::open(&db).unwrap());
    let marked = first(&rusqlite::Connection::open(&db).unwrap());
    assert!(marked.ends_with('+'), "{marked}");
    crate::common::desired_back_to_schema_10(&rusqlite::Connection::open(&db).unwrap());
    assert!(!first(&rusqlite::Connection::open(&db).unwrap()).contains('+'));
    let again = load_dir(dir.path(), c.clone(), &fast(), &Ui::silent(), "load").unwrap();
    assert_eq!(again.weeks_skipped, 4, "{again:?}");
    assert_eq!(again.write_requests, 0, "{again:?}");
    let conn = rusqlite::Connection::open(&db).unwrap();
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version as usize, zd2gc::store::schema_version());
    assert_eq!(first(&conn), marked);
    assert_eq!(week_digests(&conn), before);
}

/// The synthetic desired state with every task id a UUID (as an export with long ids maps):
/// each row decoded and written again as `map` writes it (`#`, the ids packed in `task_uuids`).
fn task_ids_to_uuids(db: &Path) -> usize {
    use zd2gc::store::desired::{Activity, Kinds, activities_compact, activity_kinds};
    let c = rusqlite::Connection::open(db).unwrap();
    let names = activity_kinds(&c).unwrap();
    let mut kinds = Kinds::load(&c).unwrap();
    let rows: Vec<(String, i64, String)> = c
        .prepare("SELECT legacy_shift_id, start_utc, activities FROM desired_shift_rows")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    let mut n = 0;
    for (id, start, text) in &rows {
        let acts = zd2gc::store::desired::decode_activities(text, &[], *start, &names).unwrap();
        let ids: Vec<String> = acts
            .iter()
            .map(|_| {
                n += 1;
                format!("{n:08x}-7e57-4000-8000-{:012x}", n * 7919)
            })
            .collect();
        let acts: Vec<Activity<'_>> = acts
            .iter()
            .zip(&ids)
            .map(|(a, t)| Activity {
                code: &a.code,
                start: a.start,
                length_minutes: a.length_minutes,
                description: &a.description,
                task_id: Some(t),
                task_uuid: None,
            })
            .collect();
        let t = activities_compact(&acts, *start, &mut kinds);
        assert!(kinds.take_new().is_empty());
        c.execute(
            "UPDATE desired_shift_rows SET activities = ?2, task_uuids = ?3 WHERE legacy_shift_id = ?1",
            rusqlite::params![id, t.stored, t.task_uuids],
        )
        .unwrap();
    }
    n
}

/// A load of UUID task ids finished before migration 13 (every id written out) writes nothing
/// after it, and one finished with the ids packed writes nothing once they are written out: both
/// forms decode to the same shifts, so every week's digest is the one journaled, and the
/// upgrade rewrites no row.
#[test]
fn weeks_loaded_before_task_ids_were_packed_are_not_written_again() {
    let emu = Emulator::start(EmulatorConfig::with_fixture(org(20, 2))).unwrap();
    let dir = migration_dir();
    synth::write_desired(dir.path(), &org(20, 2), 10, 2, 0).unwrap();
    let db = dir.path().join("zd2gc.db");
    let tasks = task_ids_to_uuids(&db);
    assert!(tasks > 100, "{tasks}");
    let rows = |conn: &rusqlite::Connection| -> Vec<(String, String)> {
        conn.prepare("SELECT legacy_shift_id, activities FROM desired_shift_rows ORDER BY 1")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .map(|r| r.unwrap())
            .collect()
    };
    let packed = rows(&rusqlite::Connection::open(&db).unwrap());
    assert!(
        packed.iter().all(|(_, a)| a.ends_with('#')),
        "{:?}",
        packed[0]
    );
    let c = client(&emu);
    let r = load_dir(dir.path(), c.clone(), &fast(), &Ui::silent(), "load").unwrap();
    assert_eq!((r.weeks, r.weeks_written), (4, 4), "{r:?}");
    let before = week_digests(&rusqlite::Connection::open(&db).unwrap());
    crate::common::desired_back_to_schema_12(&rusqlite::Connection::open(&db).unwrap());
    let spelled = rows(&rusqlite::Connection::open(&db).unwrap());
    assert!(
        spelled.iter().all(|(_, a)| a.contains(",00")),
        "{:?}",
        spelled[0]
    );
    let again = load_dir(dir.path(), c.clone(), &fast(), &Ui::silent(), "load").unwrap();
    assert_eq!(again.weeks_skipped, 4, "{again:?}");
    assert_eq!(again.write_requests, 0, "{again:?}");
    let conn = rusqlite::Connection::open(&db).unwrap();
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version as usize, zd2gc::store::schema_version());
    assert_eq!(rows(&conn), spelled, "the upgrade rewrites no row");
    assert_eq!(week_digests(&conn), before);
    let v = verify_dir(dir.path(), c.clone(), &fast(), "verify").unwrap();
    assert!(v.matches(), "{v:?}");
}

#[test]
fn faults_concurrent_edits_and_conflicts() {
    let fixture = org(40, 2);
    let emu = Emulator::start(EmulatorConfig::with_fixture(fixture.clone())).unwrap();
    let faults = Faults {
        seed: 11,
        error_rate: 0.05,
        drop_rate: 0.03,
        lock_rate: 0.2,
        lock_ms: 80,
        rate_limit_rpm: 900,
        processing_ms: 30,
        token_lifetime_secs: 2,
        ..Faults::default()
    };
    emu.set_faults(faults.clone()).unwrap();
    let dir = migration_dir();
    synth::write_desired(dir.path(), &fixture, 20, 3, 0).unwrap();
    let c = client(&emu);
    let opts = LoadOptions {
        max_rpm: 1800,
        ..fast()
    };
    let r = load_dir(dir.path(), c.clone(), &opts, &Ui::silent(), "load").unwrap();
    assert_eq!(r.weeks_done, 6, "{r:?}");
    assert_eq!(schedules_per_week(&emu.dump()).values().max(), Some(&1));
    // The newer export (cutover night) moves every fifth shift; planners and agents edit 15% of
    // the time between our read and our write.
    synth::write_desired(dir.path(), &fixture, 20, 3, 1).unwrap();
    // Two planner edits after the first load, then 15% of the writes meet one.
    for s in emu.dump().org.schedules.iter().take(2) {
        emu.concurrent_edit(&s.id, None, Some(zd2gc::emulator::Actor::Planner))
            .unwrap();
    }
    emu.set_faults(Faults {
        concurrent_edit_rate: 0.15,
        seed: 12,
        ..faults
    })
    .unwrap();
    let r = load_dir(dir.path(), c.clone(), &opts, &Ui::silent(), "load").unwrap();
    assert_eq!(r.weeks_failed, 0, "{r:?}");
    let dump = emu.dump();
    assert_eq!(schedules_per_week(&dump).values().max(), Some(&1));
    // What both sides changed: an edited shift whose legacy shift the newer export moved.
    let conn = rusqlite::Connection::open(dir.path().join("zd2gc.db")).unwrap();
    let legacy_of: HashMap<String, String> = {
        let mut st = conn
            .prepare("SELECT genesys_shift_id, legacy_shift_id FROM xw_shifts")
            .unwrap();
        st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .map(|x| x.unwrap())
            .collect()
    };
    let moved = |legacy: &str| {
        let p: Vec<usize> = legacy[2..].split('-').map(|x| x.parse().unwrap()).collect();
        (p[2] + p[3]).is_multiple_of(5)
    };
    let edits: Vec<_> = dump.concurrent_edits.iter().collect();
    assert!(!edits.is_empty(), "the faults made no concurrent edit");
    let mut expected = HashSet::new();
    let mut last_after: HashMap<String, &zd2gc::genesys::model::BuAgentScheduleShift> =
        HashMap::new();
    for e in &edits {
        last_after.insert(e.shift_id.clone(), &e.after);
        if let Some(l) = legacy_of.get(&e.shift_id)
            && moved(l)
        {
            expected.insert(l.clone());
        }
    }
    let reported: HashSet<String> = zd2gc::load::journal::conflicts(&conn)
        .unwrap()
        .into_iter()
        .filter(|c| c.kind == "both-changed")
        .filter_map(|c| c.legacy_shift_id)
        .collect();
    assert_eq!(
        reported, expected,
        "conflicts reported are exactly the shifts both sides changed"
    );
    // Every concurrent edit is still there.
    for (sid, after) in last_after {
        let found = dump
            .org
            .schedules
            .iter()
            .flat_map(|s| s.agent_schedules.iter())
            .flat_map(|a| a.shifts.iter())
            .find(|s| s.id.as_deref() == Some(sid.as_str()))
            .unwrap_or_else(|| panic!("edited shift {sid} was lost"));
        assert_eq!(found.start_date, after.start_date);
        assert_eq!(found.length_minutes, after.length_minutes);
    }
    emu.set_faults(Faults::default()).unwrap();
    let v = verify_dir(dir.path(), c, &fast(), "verify").unwrap();
    assert!(v.matches(), "{v:?}");
    assert_eq!(v.conflicts as usize, expected.len());
}

#[test]
fn one_load_per_directory_and_one_org_per_migration() {
    let dir = migration_dir();
    let first = zd2gc::load::guard::DirLock::acquire(dir.path(), &Ui::silent()).unwrap();
    let e = zd2gc::load::guard::DirLock::acquire(dir.path(), &Ui::silent()).unwrap_err();
    assert!(
        e.to_string()
            .contains(&format!("pid {}", std::process::id())),
        "{e}"
    );
    drop(first);
    zd2gc::load::guard::DirLock::acquire(dir.path(), &Ui::silent()).unwrap();

    let fixture = org(20, 1);
    let a = Emulator::start(EmulatorConfig::with_fixture(fixture.clone())).unwrap();
    let b = Emulator::start(EmulatorConfig::with_fixture(fixture.clone())).unwrap();
    synth::write_desired(dir.path(), &fixture, 5, 1, 0).unwrap();
    load_dir(dir.path(), client(&a), &fast(), &Ui::silent(), "load").unwrap();
    let e = load_dir(dir.path(), client(&b), &fast(), &Ui::silent(), "load").unwrap_err();
    assert!(e.to_string().contains("another Genesys org"), "{e}");
    let rebind = LoadOptions {
        rebind: true,
        ..fast()
    };
    let r = load_dir(dir.path(), client(&b), &rebind, &Ui::silent(), "load").unwrap();
    assert!(r.notes.iter().any(|n| n.contains("--rebind")));
}

fn run_load_child(dir: &Path, emu: &RunningEmulator, settle_secs: u32) -> std::process::Child {
    std::process::Command::new(env!("CARGO_BIN_EXE_zd2gc"))
        .args([
            "--dir",
            dir.to_str().unwrap(),
            "-q",
            "--no-progress",
            "load",
            "--max-rpm",
            "20000",
            "--settle-timeout",
            &settle_secs.to_string(),
            "--concurrency",
            "3",
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

/// Shifts as content (sorted JSON) per (business unit, week, user).
type ShiftsByAgentWeek = BTreeMap<(String, String, String), Vec<String>>;

/// Shifts per (business unit, week, user) as content, with every concurrent edit of the emulator
/// undone (an edited shift back to its content before the first edit, an added one removed) and
/// the shifts in `aside` (business unit, week, user, content) left out; and the shift ids of the
/// edits that are not in the state as they were left.
fn undo_edits(
    d: &Dump,
    aside: &HashSet<(String, String, String, String)>,
) -> (ShiftsByAgentWeek, Vec<String>) {
    use zd2gc::genesys::model::BuAgentScheduleShift;
    let mut first_before: HashMap<&str, Option<&BuAgentScheduleShift>> = HashMap::new();
    let mut last_after: HashMap<&str, &BuAgentScheduleShift> = HashMap::new();
    for e in &d.concurrent_edits {
        first_before
            .entry(e.shift_id.as_str())
            .or_insert(e.before.as_ref());
        last_after.insert(e.shift_id.as_str(), &e.after);
    }
    let content = |user: &str, sh: &BuAgentScheduleShift| {
        let mut x = sh.clone();
        x.id = None;
        zd2gc::load::model::Content::from_api(user, &x)
            .unwrap()
            .to_json()
    };
    let mut m: BTreeMap<_, Vec<String>> = BTreeMap::new();
    let mut seen = HashSet::new();
    let mut lost = Vec::new();
    for s in &d.org.schedules {
        for a in &s.agent_schedules {
            let e = m
                .entry((
                    s.business_unit_id.clone(),
                    s.week_id.clone(),
                    a.user_id.clone(),
                ))
                .or_default();
            for sh in &a.shifts {
                let id = sh.id.as_deref().unwrap_or("");
                let cur = content(&a.user_id, sh);
                let edit = first_before.get(id).zip(last_after.get(id));
                if let Some((_, after)) = edit {
                    seen.insert(id.to_string());
                    if cur != content(&a.user_id, after) {
                        lost.push(id.to_string());
                    }
                }
                let key = (
                    s.business_unit_id.clone(),
                    s.week_id.clone(),
                    a.user_id.clone(),
                    cur.clone(),
                );
                if aside.contains(&key) {
                    continue;
                }
                match edit {
                    Some((Some(before), _)) => e.push(content(&a.user_id, before)),
                    Some((None, _)) => {}
                    None => e.push(cur),
                }
            }
            e.sort();
        }
    }
    lost.extend(
        last_after
            .keys()
            .filter(|id| !seen.contains(**id))
            .map(|id| id.to_string()),
    );
    m.retain(|_, v| !v.is_empty());
    (m, lost)
}

/// Wait until `child` catches SIGHUP (its `SigCgt` mask in `/proc`), so that a SIGHUP sent now
/// reaches the loader's checkpoint handler. Before the handler is installed (the first tenths of a
/// second, longer on a loaded machine) SIGHUP's default action ends the process with no exit code,
/// which is neither the behaviour under test nor a fault of the loader.
fn wait_until_catching_sighup(child: &mut std::process::Child) {
    let status = format!("/proc/{}/status", child.id());
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    loop {
        let caught = std::fs::read_to_string(&status)
            .ok()
            .and_then(|s| {
                let line = s.lines().find(|l| l.starts_with("SigCgt:"))?;
                u64::from_str_radix(line.trim_start_matches("SigCgt:").trim(), 16).ok()
            })
            // Bit n - 1 is signal n; SIGHUP is 1.
            .is_some_and(|mask| mask & 1 != 0);
        if caught {
            return;
        }
        if let Some(code) = child.try_wait().unwrap() {
            panic!("the load ended ({code}) before it listened for SIGHUP");
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the load never listened for SIGHUP"
        );
        // Polling a condition, not sleeping as synchronisation.
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// The issue-13 crash test: processing times of 2–5 s (a resumed load meets its own unfinished
/// writes), planners and agents editing 25% of the time between the loader's read and its write
/// (and now and then between two loads), 20 SIGKILLs at seeded instants spread over the run plus one SIGHUP, each followed at once by a
/// new load. Then: one schedule per week, no shift twice, every concurrent edit still there unless
/// reported as a conflict, and, with the edits undone and the parked conflicts' shifts set aside,
/// exactly the state of an uninterrupted run.
fn crash_test(enforce_if_match: bool, seed: u64) {
    let fixture = org(40, 2);
    let faults = Faults {
        processing_ms: 2_000,
        processing_max_ms: 5_000,
        enforce_if_match,
        seed,
        ..Faults::default()
    };
    // The uninterrupted run (no concurrent edits: the oracle).
    let clean = Emulator::start(EmulatorConfig {
        faults: faults.clone(),
        ..EmulatorConfig::with_fixture(fixture.clone())
    })
    .unwrap();
    let d1 = migration_dir();
    synth::write_desired(d1.path(), &fixture, 10, 3, 0).unwrap();
    let t0 = std::time::Instant::now();
    assert!(
        run_load_child(d1.path(), &clean, 10)
            .wait()
            .unwrap()
            .success()
    );
    let full = t0.elapsed();
    let want = shifts_of(&clean.dump());
    assert_eq!(schedules_per_week(&clean.dump()).len(), 6);

    // The same load against an org whose planners edit, killed 20 times and hung up once.
    let emu = Emulator::start(EmulatorConfig {
        faults: Faults {
            concurrent_edit_rate: 0.25,
            ..faults
        },
        ..EmulatorConfig::with_fixture(fixture.clone())
    })
    .unwrap();
    let d2 = migration_dir();
    synth::write_desired(d2.path(), &fixture, 10, 3, 0).unwrap();
    let mut rng = zd2gc::emulator::Rng::new(seed ^ 2026);
    let span = (full.as_millis() as u64 * 6 / 10).max(100);
    for i in 0..21 {
        let mut child = run_load_child(d2.path(), &emu, 10);
        if i == 10 {
            // The SIGHUP's seeded instant counts from when the loader listens for it.
            wait_until_catching_sighup(&mut child);
        }
        std::thread::sleep(Duration::from_millis(50 + rng.below(span as usize) as u64));
        if i == 10 {
            // An SSH drop: the weeks in flight finish, the journal is checkpointed, exit 130.
            let ok = std::process::Command::new("kill")
                .args(["-HUP", &child.id().to_string()])
                .status()
                .unwrap();
            assert!(ok.success());
            let code = child.wait().unwrap().code();
            assert!(matches!(code, Some(130 | 0 | 4)), "after SIGHUP: {code:?}");
        } else {
            let _ = child.kill(); // SIGKILL
            let _ = child.wait();
        }
        // Meanwhile a planner edits one of the schedules already there, now and then.
        let schedules = emu.dump().org.schedules;
        if !schedules.is_empty() && rng.below(3) == 0 {
            let s = &schedules[rng.below(schedules.len())];
            let _ = emu.concurrent_edit(&s.id, None, Some(zd2gc::emulator::Actor::Planner));
        }
    }
    // The last load, at once: it ends by itself (parked conflicts alone exit 4).
    let code = run_load_child(d2.path(), &emu, 10).wait().unwrap().code();
    assert!(matches!(code, Some(0 | 4)), "final load: {code:?}");
    let dump = emu.dump();
    assert!(
        schedules_per_week(&dump).values().all(|n| *n == 1),
        "a week has two schedules: {:?}",
        schedules_per_week(&dump)
    );
    let got = shifts_of(&dump);
    for (k, v) in &got {
        let set: HashSet<_> = v.iter().collect();
        assert_eq!(set.len(), v.len(), "a duplicated shift in {k:?}");
    }
    let conn = rusqlite::Connection::open(d2.path().join("zd2gc.db")).unwrap();
    let open: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM load_weeks WHERE state NOT IN ('done', 'conflict')",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(open, 0, "every week ended done or with parked conflicts");
    let conflicts = zd2gc::load::journal::conflicts(&conn).unwrap();
    let conflicted: HashSet<String> = conflicts
        .iter()
        .filter_map(|c| c.genesys_shift_id.clone())
        .collect();
    assert!(
        !dump.concurrent_edits.is_empty(),
        "the org made no concurrent edit: the test shows nothing"
    );
    // A parked conflict sets aside both sides: ours (never written) from the uninterrupted run,
    // theirs (the planner's shift, e.g. an edit of a shift of ours whose link a kill lost before
    // it was recorded, so it can no longer be told ours) from the resumed state.
    let content_of = |v: &serde_json::Value| {
        serde_json::from_value::<zd2gc::load::model::Content>(v.clone())
            .unwrap()
            .to_json()
    };
    let aside: HashSet<(String, String, String, String)> = conflicts
        .iter()
        .filter_map(|c| {
            Some((
                c.business_unit_id.clone(),
                c.week_id.clone(),
                c.user_id.clone(),
                content_of(c.theirs.as_ref()?),
            ))
        })
        .collect();
    let (undone, lost) = undo_edits(&dump, &aside);
    let lost: Vec<_> = lost
        .into_iter()
        .filter(|id| !conflicted.contains(id))
        .collect();
    assert!(lost.is_empty(), "concurrent edits lost: {lost:?}");
    // A parked conflict leaves our shift unwritten: set it aside from the uninterrupted run.
    let mut want = want;
    for c in &conflicts {
        let Some(ours) = &c.ours else { continue };
        let ours = content_of(ours);
        let key = (
            c.business_unit_id.clone(),
            c.week_id.clone(),
            c.user_id.clone(),
        );
        if let Some(v) = want.get_mut(&key)
            && let Some(i) = v.iter().position(|x| *x == ours)
        {
            v.remove(i);
        }
    }
    want.retain(|_, v| !v.is_empty());
    let differing: Vec<_> = want
        .keys()
        .chain(undone.keys())
        .filter(|k| want.get(*k) != undone.get(*k))
        .map(|k| (k, want.get(k), undone.get(k)))
        .collect();
    if !differing.is_empty() {
        // Everything needed to tell the loader, the emulator and this oracle apart: the journal
        // events of each affected week, and the emulator's operations and concurrent edits on it.
        let weeks: HashSet<(&String, &String)> =
            differing.iter().map(|((b, w, _), _, _)| (b, w)).collect();
        let mut detail = String::new();
        for (bu, week) in &weeks {
            let mut q = conn
                .prepare(
                    "SELECT run_id, at, event, detail FROM load_events \
                     WHERE business_unit_id = ?1 AND week_id = ?2 ORDER BY id",
                )
                .unwrap();
            let events: Vec<String> = q
                .query_map([bu, week], |r| {
                    Ok(format!(
                        "run {} {} {} {}",
                        r.get::<_, i64>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, Option<String>>(3)?.unwrap_or_default()
                    ))
                })
                .unwrap()
                .map(Result::unwrap)
                .collect();
            let ops: Vec<_> = dump
                .operations
                .iter()
                .filter(|o| &o.business_unit_id == *bu && &o.week_id == *week)
                .collect();
            let edits: Vec<_> = dump
                .concurrent_edits
                .iter()
                .filter(|e| &e.business_unit_id == *bu && &e.week_id == *week)
                .collect();
            detail += &format!(
                "\n== week {bu} {week}\njournal:\n  {}\noperations: {ops:#?}\nedits: {edits:#?}",
                events.join("\n  ")
            );
        }
        let keep = std::env::temp_dir().join(format!("zd2gc-crash-{seed}"));
        let _ = std::fs::create_dir_all(&keep);
        let _ = std::fs::copy(d2.path().join("zd2gc.db"), keep.join("zd2gc.db"));
        let _ = std::fs::write(
            keep.join("dump.json"),
            serde_json::to_string_pretty(&dump).unwrap(),
        );
        panic!(
            "the resumed state differs from the uninterrupted run (kept in {}): {differing:#?}\nconflicts: {conflicts:#?}{detail}",
            keep.display()
        );
    }
    let v = verify_dir(d2.path(), client(&emu), &fast(), "verify").unwrap();
    assert!(v.matches(), "{v:?}");
    eprintln!(
        "crash test (If-Match {}): uninterrupted run {:.1}s; {} concurrent edits, {} conflicts parked",
        if enforce_if_match { "on" } else { "off" },
        full.as_secs_f64(),
        dump.concurrent_edits.len(),
        conflicts.len()
    );
}

#[test]
fn sigkill_twenty_times_and_sighup_once_with_processing_of_seconds() {
    crash_test(true, 5);
}

#[test]
fn sigkill_twenty_times_and_sighup_once_with_if_match_not_enforced() {
    crash_test(false, 6);
}

/// Use up the client's rate-limit bucket, as another tool sharing the OAuth client would: raw
/// requests until the emulator answers `429`.
fn drain_rate_limit(emu: &RunningEmulator, bu: &str) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let http = reqwest::Client::new();
        let tok: serde_json::Value = http
            .post(format!("{}/oauth/token", emu.base_url()))
            .basic_auth(emu.client_id(), Some(emu.client_secret()))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let token = tok["access_token"].as_str().unwrap().to_string();
        let url = format!(
            "{}/api/v2/workforcemanagement/businessunits/{bu}/weeks/2026-01-05/schedules",
            emu.base_url()
        );
        for _ in 0..100_000 {
            let s = http
                .get(&url)
                .bearer_auth(&token)
                .send()
                .await
                .unwrap()
                .status();
            if s.as_u16() == 429 {
                return;
            }
        }
        panic!("the rate limit never answered 429");
    });
}

/// The pace: a load whose `--max-rpm` (2,400) is twice the org's limit (1,200 per minute, its
/// bucket already used up by another tool sharing the OAuth client) meets `429`s, slows, honours
/// `Retry-After`, and still converges, with `429`s under 2% of its requests.
///
/// Why the bound holds: every request waits for a slot of the one global pace. A `429` pauses
/// every request until its `Retry-After` has passed (those already waiting for a slot too) and
/// cuts the rate by 30%, once per pause however many requests were in flight. Starting at twice
/// the limit, two cuts (600 → 420 → 294) bring the pace under it: a fixed cost of about
/// two `429`s. From there the pace climbs back by 0.2% of the ceiling per answer and only meets
/// the limit again once the bucket's refill during the climb is spent, so in steady state a
/// refusal comes once every hundred-odd requests (under 1%); a run of ~190 requests, as here,
/// stays under 2% with the start-up cost included (and a longer one further under).
#[test]
fn the_pace_adapts_to_a_rate_limit_below_max_rpm() {
    let fixture = org(60, 3);
    let emu = Emulator::start(EmulatorConfig {
        // A limit low enough (5 requests a second) that even a debug build on a loaded 2-core CI
        // machine goes faster than it, so the 429s this test is about always happen.
        faults: Faults {
            rate_limit_rpm: 300,
            ..Faults::default()
        },
        ..EmulatorConfig::with_fixture(fixture.clone())
    })
    .unwrap();
    let dir = migration_dir();
    synth::write_desired(dir.path(), &fixture, 20, 10, 0).unwrap();
    drain_rate_limit(&emu, &fixture.business_units[0].id);
    let opts = LoadOptions {
        max_rpm: 600,
        ..fast()
    };
    let t0 = std::time::Instant::now();
    let r = load_dir(dir.path(), client(&emu), &opts, &Ui::silent(), "load").unwrap();
    let took = t0.elapsed();
    assert_eq!(r.weeks_done, 30, "{r:?}");
    let rq = &r.requests;
    assert!(
        rq.status_429 > 0,
        "no 429 was met: the test shows nothing ({rq:?})"
    );
    // The pacer's bound: a start-up cost of about two refusals, then under 1% (see above). Over a
    // real cutover's thousands of requests that is well under the 2% target.
    assert!(
        rq.status_429 <= 2 + rq.total / 100,
        "429s are {} of {} requests: more than the start-up cost plus 1%, in {took:?}",
        rq.status_429,
        rq.total
    );
    emu.set_faults(Faults::default()).unwrap();
    let v = verify_dir(dir.path(), client(&emu), &fast(), "verify").unwrap();
    assert!(v.matches(), "{v:?}");
    eprintln!(
        "pace: {} requests, {} × 429 ({:.2}%), {:.1}s",
        rq.total,
        rq.status_429,
        rq.status_429 as f64 * 100.0 / rq.total as f64,
        took.as_secs_f64()
    );
}

/// Ctrl-C: no new week starts, the weeks in flight finish, the load exits 130 with its summary
/// and the command to resume; a second load completes and verify matches.
#[test]
fn ctrl_c_stops_starting_weeks_exits_130_and_resumes() {
    interrupt_checkpoints("-INT");
}

/// SIGTERM (a service manager, `kill`) checkpoints exactly like Ctrl-C (SIGHUP: the crash test).
#[test]
fn sigterm_checkpoints_like_ctrl_c() {
    interrupt_checkpoints("-TERM");
}

fn interrupt_checkpoints(signal: &str) {
    let fixture = org(40, 2);
    let emu = Emulator::start(EmulatorConfig {
        faults: Faults {
            processing_ms: 150,
            ..Faults::default()
        },
        ..EmulatorConfig::with_fixture(fixture.clone())
    })
    .unwrap();
    let dir = migration_dir();
    synth::write_desired(dir.path(), &fixture, 20, 8, 0).unwrap();
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_zd2gc"))
        .args([
            "--dir",
            dir.path().to_str().unwrap(),
            "--no-progress",
            "load",
            "--concurrency",
            "2",
            "--max-rpm",
            "20000",
        ])
        .env("ZD2GC_API_URL", emu.base_url())
        .env("ZD2GC_LOGIN_URL", emu.base_url())
        .env("GENESYSCLOUD_OAUTHCLIENT_ID", emu.client_id())
        .env("GENESYSCLOUD_OAUTHCLIENT_SECRET", emu.client_secret())
        .env("NO_COLOR", "1")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Interrupt once the first week was journalled (the handler is in place by then).
    let db = dir.path().join("zd2gc.db");
    let t0 = std::time::Instant::now();
    loop {
        let n: i64 = rusqlite::Connection::open(&db)
            .and_then(|c| c.query_row("SELECT COUNT(*) FROM load_weeks", [], |r| r.get(0)))
            .unwrap_or(0);
        if n > 0 {
            break;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(20),
            "the load never started"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    let ok = std::process::Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(ok.success());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("interrupted"), "{stderr}");
    assert!(stderr.contains("not started"), "{stderr}");
    let resume = format!("resume with: zd2gc --dir {} load", dir.path().display());
    assert!(stderr.contains(&resume), "{stderr}");
    // Nothing is left half-way: every week journalled ended (done) — none processing or uploading.
    let conn = rusqlite::Connection::open(&db).unwrap();
    let open: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM load_weeks WHERE state NOT IN ('done', 'conflict')",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(open, 0, "a week in flight was left unfinished");
    drop(conn);
    let r = load_dir(dir.path(), client(&emu), &fast(), &Ui::silent(), "load").unwrap();
    assert!(r.weeks_skipped > 0 && r.weeks_done > 0, "{r:?}");
    assert_eq!(r.weeks_done + r.weeks_skipped, 16, "{r:?}");
    let v = verify_dir(dir.path(), client(&emu), &fast(), "verify").unwrap();
    assert!(v.matches(), "{v:?}");
    assert_eq!(schedules_per_week(&emu.dump()).values().max(), Some(&1));
}

/// Every import and update ends `Error` (no reason given), whether at once or after processing:
/// the load ends by itself (a deadline), every week `failed` with its operation and correlation
/// ids and what was sent, exit 3, and nothing is duplicated. A later load with the fault gone
/// converges into the same schedules.
#[test]
fn writes_that_always_end_in_error_fail_their_weeks_and_the_load_ends() {
    let fixture = org(20, 2);
    let emu = Emulator::start(EmulatorConfig {
        faults: Faults {
            processing_ms: 200,
            late_error_rate: 1.0,
            ..Faults::default()
        },
        ..EmulatorConfig::with_fixture(fixture.clone())
    })
    .unwrap();
    let dir = migration_dir();
    synth::write_desired(dir.path(), &fixture, 5, 2, 0).unwrap();
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_zd2gc"))
        .args([
            "--dir",
            dir.path().to_str().unwrap(),
            "--no-progress",
            "load",
            "--max-rpm",
            "20000",
            "--settle-timeout",
            "1",
            "--concurrency",
            "2",
        ])
        .env("ZD2GC_API_URL", emu.base_url())
        .env("ZD2GC_LOGIN_URL", emu.base_url())
        .env("GENESYSCLOUD_OAUTHCLIENT_ID", emu.client_id())
        .env("GENESYSCLOUD_OAUTHCLIENT_SECRET", emu.client_secret())
        .env("NO_COLOR", "1")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || tx.send(child.wait_with_output().unwrap()));
    let out = match rx.recv_timeout(Duration::from_secs(90)) {
        Ok(o) => o,
        Err(_) => {
            let _ = std::process::Command::new("kill")
                .args(["-9", &pid.to_string()])
                .status();
            panic!("the load did not end by itself within 90 s");
        }
    };
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains("4 week(s): 0 done, 0 unchanged, 0 with parked conflicts, 4 failed"),
        "{stderr}"
    );
    assert_eq!(
        stderr.matches("failed: 3 write(s) ended in Error").count(),
        4,
        "{stderr}"
    );
    assert!(stderr.contains("correlation id "), "{stderr}");
    assert!(stderr.contains("sent an update of schedule"), "{stderr}");
    assert!(stderr.contains("status` lists them"), "{stderr}");
    // Nothing duplicated: one (blank) schedule per week, no shift anywhere; three updates a week.
    let dump = emu.dump();
    assert_eq!(schedules_per_week(&dump).len(), 4);
    assert!(schedules_per_week(&dump).values().all(|n| *n == 1));
    assert!(shifts_of(&dump).values().all(|v| v.is_empty()));
    let updates: Vec<_> = dump
        .operations
        .iter()
        .filter(|o| o.kind == "update")
        .collect();
    assert_eq!(updates.len(), 12);
    assert!(updates.iter().all(|o| o.status == "Error"));
    // `status` lists each failed week with the ids of its attempts.
    let st = zd2gc::load::status_dir(dir.path()).unwrap();
    assert_eq!(st.failures.len(), 4);
    for f in &st.failures {
        let why = f["reason"].as_str().unwrap();
        for op in updates
            .iter()
            .filter(|o| Some(o.week_id.as_str()) == f["week_id"].as_str())
            .filter(|o| Some(o.business_unit_id.as_str()) == f["business_unit_id"].as_str())
        {
            assert!(why.contains(&op.operation_id), "{why}");
        }
        assert!(
            f["context_id"].as_str().is_some_and(|c| !c.is_empty()),
            "{f}"
        );
    }

    // At once (no processing time): `200` with `status: Error`, the same bound.
    let mut f = emu.faults();
    f.processing_ms = 0;
    emu.set_faults(f.clone()).unwrap();
    let r = load_dir(dir.path(), client(&emu), &fast(), &Ui::silent(), "load").unwrap();
    assert_eq!(r.weeks_failed, 4, "{r:?}");
    assert_eq!(r.exit(), zd2gc::exit::Exit::Partial);
    assert_eq!(schedules_per_week(&emu.dump()).len(), 4);

    // The fault gone, the next load fills the same schedules.
    f.late_error_rate = 0.0;
    emu.set_faults(f).unwrap();
    let r = load_dir(dir.path(), client(&emu), &fast(), &Ui::silent(), "load").unwrap();
    assert_eq!(r.weeks_done, 4, "{r:?}");
    assert_eq!(r.weeks_created, 0);
    let dump = emu.dump();
    assert!(schedules_per_week(&dump).values().all(|n| *n == 1));
    assert!(dump.org.schedules.iter().all(|s| s.published));
    let v = verify_dir(dir.path(), client(&emu), &fast(), "verify").unwrap();
    assert!(v.matches(), "{v:?}");
}

/// `verify` fails on what a load must never leave: a second schedule of ours in a week, and a
/// shift twice.
#[test]
fn verify_reports_a_second_schedule_of_ours_and_duplicated_shifts() {
    let fixture = org(20, 1);
    let emu = Emulator::start(EmulatorConfig::with_fixture(fixture.clone())).unwrap();
    let dir = migration_dir();
    synth::write_desired(dir.path(), &fixture, 5, 2, 0).unwrap();
    load_dir(dir.path(), client(&emu), &fast(), &Ui::silent(), "load").unwrap();
    let v = verify_dir(dir.path(), client(&emu), &fast(), "verify").unwrap();
    assert!(v.matches(), "{v:?}");
    // A shift twice in the first week.
    let mut d = emu.dump();
    let a = &mut d.org.schedules[0].agent_schedules[0];
    let mut copy = a.shifts[0].clone();
    copy.id = Some("copy-of-a-shift".into());
    a.shifts.push(copy);
    emu.load_dump(&d).unwrap();
    let v = verify_dir(dir.path(), client(&emu), &fast(), "verify").unwrap();
    assert!(!v.matches());
    assert_eq!((v.duplicates, v.extra_schedules), (1, 0), "{v:?}");
    // A second schedule of ours in the second week (as a doubled import would leave).
    let mut d = emu.dump();
    let mut second = d.org.schedules[1].clone();
    second.id = "second-schedule".into();
    for a in &mut second.agent_schedules {
        for (i, s) in a.shifts.iter_mut().enumerate() {
            s.id = Some(format!("second-{}-{i}", a.user_id));
        }
    }
    d.org.schedules.push(second);
    emu.load_dump(&d).unwrap();
    let v = verify_dir(dir.path(), client(&emu), &fast(), "verify").unwrap();
    assert_eq!((v.duplicates, v.extra_schedules), (1, 1), "{v:?}");
    // As the user runs it: exit 1, and the summary says so.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_zd2gc"))
        .args(["--dir", dir.path().to_str().unwrap(), "verify"])
        .env("ZD2GC_API_URL", emu.base_url())
        .env("ZD2GC_LOGIN_URL", emu.base_url())
        .env("GENESYSCLOUD_OAUTHCLIENT_ID", emu.client_id())
        .env("GENESYSCLOUD_OAUTHCLIENT_SECRET", emu.client_secret())
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("duplicated 1, second schedules of ours 1"),
        "{stderr}"
    );
}

/// The audit trail of a library load, plan and verify: each run's outcome is how it ended (the
/// exit's name), never the command's name.
#[test]
fn the_audit_records_each_runs_outcome_not_its_command() {
    let emu = Emulator::start(EmulatorConfig::with_fixture(org(4, 1))).unwrap();
    let dir = migration_dir();
    synth::write_desired(dir.path(), &org(4, 1), 2, 1, 0).unwrap();
    let c = client(&emu);
    zd2gc::load::plan_dir(dir.path(), c.clone(), &fast(), "plan").unwrap();
    let r = load_dir(dir.path(), c.clone(), &fast(), &Ui::silent(), "load").unwrap();
    assert_eq!(r.weeks_done, r.weeks, "{r:?}");
    let v = verify_dir(dir.path(), c.clone(), &fast(), "verify").unwrap();
    assert!(v.matches(), "{v:?}");
    let conn = rusqlite::Connection::open(dir.path().join("zd2gc.db")).unwrap();
    let mut st = conn
        .prepare("SELECT command, outcome, exit_code FROM runs ORDER BY id")
        .unwrap();
    let runs: Vec<(String, Option<String>, Option<i64>)> = st
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    let want = |c: &str| (c.to_string(), Some("ok".to_string()), Some(0));
    let got: Vec<_> = runs
        .into_iter()
        .filter(|(c, _, _)| matches!(c.as_str(), "plan" | "load" | "verify"))
        .collect();
    assert_eq!(got, vec![want("plan"), want("load"), want("verify")]);
}

/// A loader child with `env` set, to the end: (exit code, stderr).
fn load_child_with(dir: &Path, emu: &RunningEmulator, env: &[(&str, &str)]) -> (i32, String) {
    let out = load_command(dir, emu, &["--max-rpm", "20000", "--concurrency", "3"], env)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `zd2gc load ARGS` against `emu`, with `env` (test hooks) and no colour.
fn load_command(
    dir: &Path,
    emu: &RunningEmulator,
    args: &[&str],
    env: &[(&str, &str)],
) -> std::process::Command {
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_zd2gc"));
    c.args(["--dir", dir.to_str().unwrap(), "--no-progress", "load"])
        .args(args)
        .env("ZD2GC_API_URL", emu.base_url())
        .env("ZD2GC_LOGIN_URL", emu.base_url())
        .env("GENESYSCLOUD_OAUTHCLIENT_ID", emu.client_id())
        .env("GENESYSCLOUD_OAUTHCLIENT_SECRET", emu.client_secret())
        .env("NO_COLOR", "1")
        .envs(env.iter().copied());
    c
}

/// The disk fills while weeks are being written and journalled (shift weeks first, then time off):
/// an explained failure with exit 2 — not a panic —, no week started after it, the journal
/// consistent; once there is room, the same command finishes the load and verify agrees.
#[test]
fn a_disk_that_fills_mid_load_stops_it_explained_and_a_rerun_finishes() {
    let emu = Emulator::start(EmulatorConfig::with_fixture(org(40, 2))).unwrap();
    let dir = migration_dir();
    synth::write_desired(dir.path(), &org(40, 2), 20, 3, 0).unwrap();
    synth::write_desired_time_off(dir.path(), &org(40, 2), 10, 2, 0).unwrap();
    let db = dir.path().join("zd2gc.db");
    let pages: i64 = rusqlite::Connection::open(&db)
        .unwrap()
        .query_row("PRAGMA page_count", [], |r| r.get(0))
        .unwrap();
    // Room for the run's record and the first journal rows, not for six weeks of links.
    let limit = (pages + 3).to_string();
    let (code, err) = load_child_with(
        dir.path(),
        &emu,
        &[("ZD2GC_TEST_MAX_PAGE_COUNT", limit.as_str())],
    );
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("disk full") && err.contains("free space"),
        "{err}"
    );
    assert!(
        !err.contains("panicked"),
        "an expected failure, not a panic: {err}"
    );
    let conn = rusqlite::Connection::open(&db).unwrap();
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
    let started: i64 = conn
        .query_row("SELECT COUNT(*) FROM load_weeks", [], |r| r.get(0))
        .unwrap();
    assert!(
        started > 0,
        "the disk filled before any week started: {err}"
    );
    drop(conn);
    let (code, err) = load_child_with(dir.path(), &emu, &[]);
    assert_eq!(code, 0, "{err}");
    let v = verify_dir(dir.path(), client(&emu), &fast(), "verify").unwrap();
    assert!(v.matches(), "{v:?}");
    assert_eq!(v.time_off.matching, 40);
}

/// `zd2gc load` at concurrency 1 against `emu` with `env` (test hooks); its exit status.
fn load_child_env(
    dir: &Path,
    emu: &RunningEmulator,
    env: &[(&str, &str)],
) -> std::process::ExitStatus {
    let args = [
        "-q",
        "--max-rpm",
        "20000",
        "--settle-timeout",
        "10",
        "--concurrency",
        "1",
    ];
    load_command(dir, emu, &args, env)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap()
}

/// The crosswalk of shifts without the ids the emulator handed out: per legacy shift (read by
/// the loader's own link reader), its unit and week, whether it was adopted, its base, and the
/// content of the Genesys shift it links to in `dump` (none: a dangling link); sorted.
fn links_by_content(dir: &Path, dump: &Dump) -> Vec<String> {
    let mut content_of = HashMap::new();
    for s in &dump.org.schedules {
        for a in &s.agent_schedules {
            for sh in &a.shifts {
                let mut x = sh.clone();
                let id = x.id.take().unwrap();
                let c = zd2gc::load::model::Content::from_api(&a.user_id, &x).unwrap();
                content_of.insert(id, c.to_json());
            }
        }
    }
    let conn = rusqlite::Connection::open(dir.join("zd2gc.db")).unwrap();
    let adopted: HashMap<String, i64> = conn
        .prepare("SELECT legacy_shift_id, adopted FROM xw_shifts")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let mut out = Vec::new();
    for (bu, week, _) in week_digests(&conn) {
        let links = zd2gc::load::journal::link_store(&conn, &bu, &week).unwrap();
        for l in links.to_vec() {
            out.push(format!(
                "{bu} {week} {} adopted={} base={:?} linked={:?}",
                l.legacy,
                adopted[&l.legacy],
                l.base.map(|b| b.to_json()),
                content_of.get(&l.gid)
            ));
        }
    }
    out.sort();
    out
}

/// A load killed (the process aborted: no unwinding, no close) while a round's link changes
/// spill to their temporary file (`ZD2GC_TEST_LINK_SPILL` fills each chunk to 64 bytes, so the
/// rounds of these 100-shift weeks spill past their 4 chunks in memory), at the K-th chunk
/// written to the file or read back from it, in the rounds that confirm its writes and in the
/// adoption rounds of a second directory against the same org, then resumed with the spill
/// still on: the crosswalk (every link's unit, week, adoption, base and the content it points
/// to) and the org's shifts are those of the uninterrupted loads that never spilled.
#[test]
fn a_load_killed_in_its_link_spill_resumes_to_the_uninterrupted_state() {
    let fixture = org(20, 2);
    let spill = ("ZD2GC_TEST_LINK_SPILL", "64");
    // The oracle: uninterrupted loads whose rounds stay in memory (under 4 chunks of 64 KiB).
    let emu = Emulator::start(EmulatorConfig::with_fixture(fixture.clone())).unwrap();
    let d = migration_dir();
    let n = synth::write_desired(d.path(), &fixture, 20, 3, 0).unwrap();
    assert!(load_child_env(d.path(), &emu, &[]).success());
    let written = links_by_content(d.path(), &emu.dump());
    let d = migration_dir();
    synth::write_desired(d.path(), &fixture, 20, 3, 0).unwrap();
    assert!(load_child_env(d.path(), &emu, &[]).success());
    let adopted = links_by_content(d.path(), &emu.dump());
    let shifts = shifts_of(&emu.dump());
    assert_eq!(written.len() as u64, n);
    assert_eq!(adopted.len() as u64, n);
    assert!(
        written
            .iter()
            .all(|l| l.contains(" adopted=0 ") && l.contains("linked=Some"))
    );
    assert!(
        adopted
            .iter()
            .all(|l| l.contains(" adopted=1 ") && l.contains("linked=Some"))
    );
    for point in [
        "write:0", "write:9", "write:60", "read:0", "read:9", "read:60",
    ] {
        let emu = Emulator::start(EmulatorConfig::with_fixture(fixture.clone())).unwrap();
        for (flow, want) in [("written", &written), ("adopted", &adopted)] {
            let d = migration_dir();
            synth::write_desired(d.path(), &fixture, 20, 3, 0).unwrap();
            let abort = ("ZD2GC_TEST_ABORT_LINK_SPILL", point);
            let killed = load_child_env(d.path(), &emu, &[spill, abort]);
            assert_eq!(killed.code(), None, "{point} {flow}: killed, {killed:?}");
            assert!(
                load_child_env(d.path(), &emu, &[spill]).success(),
                "{point} {flow}"
            );
            let got = links_by_content(d.path(), &emu.dump());
            let diff: Vec<_> = got.iter().filter(|l| !want.contains(l)).collect();
            assert!(
                &got == want,
                "{point} {flow}: the crosswalk differs ({} links, {} expected): {diff:#?}",
                got.len(),
                want.len()
            );
            assert!(
                shifts_of(&emu.dump()) == shifts,
                "{point} {flow}: the org's shifts differ"
            );
        }
    }
}
