//! Upgrading an older state database with the `zd2gc` binary: refused while a load holds the
//! directory's lock (as any zd2gc's load holds it), refused before starting on a disk too full
//! for it, and, killed at any point, finished by the next command exactly as an uninterrupted
//! upgrade.

use crate::common::{hold_lock_as_a_load, zd2gc};
use rusqlite::Connection;
use std::io::Write;
use std::path::Path;

/// A migration directory whose state database is at schema `version` (the real migrations up to
/// it) with `links` crosswalk links loaded at schema 14 (their bases as schema 14 wrote them, JSON;
/// the later migrations rewrite them): canonical and other ids, 7 × 3 activity pairs.
fn old_state(dir: &Path, version: usize, links: usize) {
    let c = Connection::open(dir.join("zd2gc.db")).unwrap();
    c.pragma_update(None, "journal_mode", "WAL").unwrap();
    zd2gc::store::migrations::migrate_to(&c, 14, &mut |_| Ok(())).unwrap();
    c.execute(
        "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < ?1)
         INSERT INTO xw_shifts (legacy_shift_id, user_id, business_unit_id, week_id, schedule_id,
                                genesys_shift_id, run_id, base, adopted)
         SELECT printf('S-%05d', i), printf('%08x-0000-4000-8000-%012x', i % 97, i % 97),
                CASE WHEN i % 2 THEN '00000000-0000-4000-8000-0000000000b1' ELSE 'BU-2' END,
                printf('2026-%02d-07', 1 + i % 12),
                printf('%08x-0000-4000-8000-000000000001', i % 5),
                CASE WHEN i % 10 THEN printf('%08x-1111-4000-8000-%012x', i, i)
                     ELSE printf('G-%d', i) END,
                1,
                json_object('user', printf('%08x-0000-4000-8000-%012x', i % 97, i % 97),
                            'start', 1700000000 + i * 60, 'len', 480,
                            'acts', json_array(json_object('start', 1700000000 + i * 60,
                                'len', 60, 'code', printf('c%d', i % 7), 'desc', printf('d%d', i % 3)))),
                i % 2
         FROM n",
        [links as i64],
    )
    .unwrap();
    zd2gc::store::migrations::migrate_to(&c, version, &mut |_| Ok(())).unwrap();
    if version >= 15 {
        // The fixture exercises the rewrites: every base became a schema-15 BLOB.
        let blobs: i64 = c
            .query_row(
                "SELECT count(*) FROM xw_shifts WHERE typeof(base) = 'blob'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(blobs as usize, links);
    }
    assert_eq!(user_version(dir), version);
}

fn user_version(dir: &Path) -> usize {
    let c = Connection::open(dir.join("zd2gc.db")).unwrap();
    c.query_row("PRAGMA user_version", [], |r| r.get::<_, i64>(0))
        .unwrap() as usize
}

/// Everything an upgrade writes, as text: the schema, every row of the crosswalk's tables and
/// view (typed) that the schema has, the version and SQLite's integrity check.
fn dump(dir: &Path) -> String {
    let c = Connection::open(dir.join("zd2gc.db")).unwrap();
    let mut out = String::new();
    for sql in [
        "PRAGMA user_version",
        "PRAGMA integrity_check",
        "SELECT type, name, tbl_name, sql FROM sqlite_schema ORDER BY name",
        "SELECT * FROM xw_shift_rows ORDER BY legacy_shift_id",
        "SELECT * FROM xw_shift_pairs ORDER BY id",
        "SELECT * FROM xw_shift_weeks ORDER BY id",
        "SELECT * FROM xw_shifts ORDER BY legacy_shift_id",
        "SELECT * FROM crosswalk_shifts ORDER BY legacy_shift_id",
    ] {
        // A table of a later schema is left out at an earlier one.
        let Ok(mut st) = c.prepare(sql) else {
            out.push_str(&format!("no {sql}\n"));
            continue;
        };
        let n = st.column_count();
        let mut rows = st.query([]).unwrap();
        while let Some(r) = rows.next().unwrap() {
            for i in 0..n {
                let v: rusqlite::types::Value = r.get(i).unwrap();
                out.push_str(&format!("{v:?}|"));
            }
            out.push('\n');
        }
    }
    out
}

fn status(dir: &Path, env: &[(&str, &str)]) -> std::process::Output {
    let mut cmd = zd2gc();
    cmd.args(["--dir", dir.to_str().unwrap(), "status"]);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

fn copy_state(from: &Path, to: &Path) {
    for f in ["zd2gc.db", "zd2gc.db-wal"] {
        if from.join(f).exists() {
            std::fs::copy(from.join(f), to.join(f)).unwrap();
        }
    }
}

/// An upgrade from schema 14 killed (the process aborted: no rollback, no close) at every point
/// of migrations 15, 16 (after each of its 3 chunks), 17 and 18 (after each of its 3 chunks)
/// leaves the database at the last committed schema, and the next command finishes it: the
/// schema, every crosswalk row, the pair and week dictionaries equal an uninterrupted upgrade's,
/// and the integrity check is ok.
#[test]
fn an_upgrade_killed_anywhere_is_finished_by_the_next_command_as_if_never_killed() {
    let base = tempfile::tempdir().unwrap();
    let fixture = base.path().join("fixture");
    std::fs::create_dir(&fixture).unwrap();
    old_state(&fixture, 14, 10_000);
    let whole = base.path().join("whole");
    std::fs::create_dir(&whole).unwrap();
    copy_state(&fixture, &whole);
    let out = status(&whole, &[]);
    assert!(out.status.success(), "{out:?}");
    let expected = dump(&whole);
    assert!(expected.contains("Text(\"ok\")"), "integrity");
    assert!(expected.contains("S-09999"), "every link");
    for (point, left_at) in [
        ("15:0", 14),
        ("15:1", 14),
        ("16:0", 15),
        ("16:1", 15),
        ("16:2", 15),
        ("16:3", 15),
        ("16:4", 15),
        ("17:0", 16),
        ("17:1", 16),
        ("18:0", 17),
        ("18:1", 17),
        ("18:2", 17),
        ("18:3", 17),
        ("18:4", 17),
    ] {
        let d = base.path().join(point.replace(':', "-"));
        std::fs::create_dir(&d).unwrap();
        copy_state(&fixture, &d);
        let out = status(&d, &[("ZD2GC_TEST_ABORT_MIGRATION", point)]);
        assert_eq!(out.status.code(), None, "{point}: killed, {out:?}");
        assert_eq!(user_version(&d), left_at, "{point}");
        let out = status(&d, &[]);
        assert!(out.status.success(), "{point}: {out:?}");
        assert!(
            dump(&d) == expected,
            "{point}: differs from the uninterrupted upgrade"
        );
    }
}

/// While a load holds the directory's lock, a newer zd2gc's command on its older state database
/// is refused before it changes anything, naming the load's pid and start; once the load is
/// gone, the same command upgrades. On an up-to-date database the lock is not taken: `status`
/// runs during a load.
#[test]
fn an_upgrade_waits_for_a_running_load_and_status_runs_during_one() {
    let d = tempfile::tempdir().unwrap();
    old_state(d.path(), 16, 50);
    let before = dump(d.path());
    let lock = hold_lock_as_a_load(d.path());
    let out = status(d.path(), &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("a load is running on")
            && stderr.contains("pid 4242 started 2026-12-07T16:00:00Z")
            && stderr.contains("cannot be upgraded from schema 16 to")
            && stderr.contains("upgrade after it ends")
            && stderr.contains("zd2gc::usage"),
        "{stderr}"
    );
    assert!(!stderr.contains("upgrading the state database"), "{stderr}");
    assert_eq!(dump(d.path()), before, "nothing changed");
    drop(lock);
    let out = status(d.path(), &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("from schema 16 to"), "{stderr}");
    assert_eq!(user_version(d.path()), zd2gc::store::schema_version());
    // Up to date: a load's lock does not stop status.
    let _lock = hold_lock_as_a_load(d.path());
    let out = status(d.path(), &[]);
    assert!(out.status.success(), "{out:?}");
}

/// An upgrade that rewrites the crosswalk says how much free disk it needs (twice the tables it
/// rewrites), refuses before starting when the disk has less, and after it names the space a
/// VACUUM gives back.
#[test]
fn an_upgrade_says_the_disk_it_needs_and_refuses_before_starting_without_it() {
    let d = tempfile::tempdir().unwrap();
    old_state(d.path(), 15, 10_000);
    let before = dump(d.path());
    let out = status(d.path(), &[("ZD2GC_TEST_FREE_SPACE", "1000000")]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("it rewrites xw_shifts (")
            && stderr.contains("needs up to")
            && stderr.contains("not enough free disk to upgrade")
            && stderr.contains("has 1.0 MB free")
            && stderr.contains("still at schema 15"),
        "{stderr}"
    );
    assert_eq!(dump(d.path()), before, "nothing changed");
    let out = status(d.path(), &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("are free pages now, which a VACUUM gives back")
            && stderr.contains(" compact` (it needs about"),
        "{stderr}"
    );
    assert_eq!(user_version(d.path()), zd2gc::store::schema_version());
    // From schema 17, migration 18 rewrites the links' table (`xw_shift_rows`) and counts it.
    let d = tempfile::tempdir().unwrap();
    old_state(d.path(), 17, 10_000);
    let before = dump(d.path());
    let out = status(d.path(), &[("ZD2GC_TEST_FREE_SPACE", "1000000")]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("from schema 17 to 18 (once): it rewrites xw_shift_rows (")
            && stderr.contains("not enough free disk to upgrade")
            && stderr.contains("still at schema 17"),
        "{stderr}"
    );
    assert_eq!(dump(d.path()), before, "nothing changed");
}

/// While another zd2gc upgrades the directory (its lock says so), a second upgrade is refused as
/// such, not as a load, and changes nothing.
#[test]
fn a_second_upgrade_at_once_is_refused_naming_the_first() {
    let d = tempfile::tempdir().unwrap();
    old_state(d.path(), 16, 50);
    let before = dump(d.path());
    let mut f = hold_lock_as_a_load(d.path());
    f.set_len(0).unwrap();
    std::io::Seek::rewind(&mut f).unwrap();
    f.write_all(
        b"pid 4243 started 2026-12-07T16:00:00Z (upgrading the state database from schema 16 to 17)",
    )
    .unwrap();
    let out = status(d.path(), &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("another zd2gc is upgrading the state database of")
            && stderr.contains("pid 4243")
            && !stderr.contains("a load is running"),
        "{stderr}"
    );
    assert_eq!(dump(d.path()), before, "nothing changed");
}

/// A command that rewrites the state holds the lock (here a compact): an upgrade it would need, and
/// a load, are refused naming it as such, not as "a load is running" (which sent the user looking
/// for a load that did not exist), and nothing changes.
#[test]
fn an_upgrade_or_a_load_under_a_compact_is_refused_naming_it() {
    let compacting = b"pid 4244 started 2026-12-07T16:00:00Z (compacting the state database)";
    let hold = |dir: &Path| {
        let mut f = hold_lock_as_a_load(dir);
        f.set_len(0).unwrap();
        std::io::Seek::rewind(&mut f).unwrap();
        f.write_all(compacting).unwrap();
        f
    };
    // An upgrade (status on a schema-16 state).
    let d = tempfile::tempdir().unwrap();
    old_state(d.path(), 16, 50);
    let before = dump(d.path());
    let f = hold(d.path());
    let out = status(d.path(), &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("another zd2gc is working on the state database of")
            && stderr.contains("pid 4244")
            && !stderr.contains("a load is running"),
        "{stderr}"
    );
    assert_eq!(dump(d.path()), before, "nothing changed");
    drop(f);
    // A load on an up-to-date state.
    let d = tempfile::tempdir().unwrap();
    let dir = d.path().join("m");
    assert!(
        zd2gc()
            .arg("init")
            .arg(&dir)
            .output()
            .unwrap()
            .status
            .success()
    );
    let f = hold(&dir);
    let out = zd2gc()
        .arg("--dir")
        .arg(&dir)
        .args(["--no-progress", "load"])
        .env("ZD2GC_API_URL", "http://127.0.0.1:9")
        .env("ZD2GC_LOGIN_URL", "http://127.0.0.1:9")
        .env("GENESYSCLOUD_OAUTHCLIENT_ID", "x")
        .env("GENESYSCLOUD_OAUTHCLIENT_SECRET", "y")
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("another zd2gc is working on the state database of")
            && stderr.contains("pid 4244")
            && !stderr.contains("another load is running"),
        "{stderr}"
    );
    drop(f);
}
