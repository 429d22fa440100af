//! `zd2gc compact` on a loaded migration directory with free pages: it gives them back and keeps
//! every row, is refused while a load holds the directory's lock and on a disk too small for it
//! (changing nothing), and killed at any point leaves a database that reads the same and that
//! the next `compact` finishes.

use crate::common::{hold_lock_as_a_load, zd2gc};
use rusqlite::Connection;
use std::path::{Path, PathBuf};

/// A directory loaded by the rehearsal of the sample (crosswalk, journal, desired shifts), then
/// given ~4 MB of free pages: a table filled and dropped, as a rewrite by an upgrade or re-runs
/// of `map` leave them.
fn with_free_pages(work: &Path) -> PathBuf {
    zd2gc()
        .args(["--quiet", "rehearse", "--no-faults", "--workdir"])
        .arg(work.join("r"))
        .assert()
        .success();
    let d = work.join("r");
    let c = Connection::open(d.join("zd2gc.db")).unwrap();
    c.execute_batch(
        "CREATE TABLE filler (x BLOB);
         WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 4000)
         INSERT INTO filler SELECT randomblob(1000) FROM n;
         DROP TABLE filler;",
    )
    .unwrap();
    d
}

/// (page_count, freelist_count, page_size), read here with SQLite, not by zd2gc.
fn pages(d: &Path) -> (u64, u64, u64) {
    let c = Connection::open(d.join("zd2gc.db")).unwrap();
    c.query_row(
        "SELECT page_count, freelist_count, page_size
         FROM pragma_page_count, pragma_freelist_count, pragma_page_size",
        [],
        |r| {
            let n = |i| r.get::<_, i64>(i).map(|v| v as u64);
            Ok((n(0)?, n(1)?, n(2)?))
        },
    )
    .unwrap()
}

/// Every row of every table but the audit trail (`runs`, which each command adds to), the schema
/// and SQLite's integrity check, as sorted text.
fn dump(d: &Path) -> String {
    let c = Connection::open(d.join("zd2gc.db")).unwrap();
    let mut lines = vec![
        c.query_row("PRAGMA integrity_check", [], |r| r.get::<_, String>(0))
            .unwrap(),
    ];
    let tables: Vec<String> = c
        .prepare(
            "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%'
             AND name != 'runs' ORDER BY name",
        )
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let mut st = c
        .prepare("SELECT type, name, tbl_name, sql FROM sqlite_schema ORDER BY name")
        .unwrap();
    let mut rows = st.query([]).unwrap();
    while let Some(r) = rows.next().unwrap() {
        let v: Vec<rusqlite::types::Value> = (0..4).map(|i| r.get(i).unwrap()).collect();
        lines.push(format!("schema {v:?}"));
    }
    for t in &tables {
        let mut st = c.prepare(&format!("SELECT * FROM \"{t}\"")).unwrap();
        let n = st.column_count();
        let mut rows = st.query([]).unwrap();
        let mut n_rows = 0;
        while let Some(r) = rows.next().unwrap() {
            let v: Vec<rusqlite::types::Value> = (0..n).map(|i| r.get(i).unwrap()).collect();
            lines.push(format!("{t} {v:?}"));
            n_rows += 1;
        }
        lines.push(format!("{t}: {n_rows} rows"));
    }
    lines.sort();
    lines.join("\n")
}

/// `crosswalk export` (JSON, every table) as bytes, written to a file.
fn export(d: &Path) -> Vec<u8> {
    let out = d.join("xw.json");
    zd2gc()
        .args([
            "--quiet",
            "--dir",
            d.to_str().unwrap(),
            "crosswalk",
            "export",
            "-o",
        ])
        .arg(&out)
        .assert()
        .success();
    let bytes = std::fs::read(&out).unwrap();
    std::fs::remove_file(&out).unwrap();
    bytes
}

fn compact(d: &Path, args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    let mut cmd = zd2gc();
    cmd.args(["--dir", d.to_str().unwrap()])
        .args(args)
        .arg("compact");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for f in std::fs::read_dir(from).unwrap() {
        let f = f.unwrap();
        if f.file_type().unwrap().is_file() {
            std::fs::copy(f.path(), to.join(f.file_name())).unwrap();
        }
    }
}

/// The free pages go back to the disk: no free page is left, the file is its pages and no more
/// (the log checkpointed and truncated), it is smaller by at least the free pages; every row,
/// the schema and the crosswalk export are the same; `--json` is one `compact/v1` object whose
/// figures are those SQLite and the file system give; stderr says it in one line without colour
/// (`NO_COLOR`), and nothing with `--quiet`.
#[test]
fn compact_gives_back_the_free_pages_and_keeps_every_row() {
    let work = tempfile::tempdir().unwrap();
    let d = with_free_pages(work.path());
    let (pages_before, free_before, page_size) = pages(&d);
    assert!(
        free_before >= 200,
        "the fixture has free pages: {free_before}"
    );
    let file_before = std::fs::metadata(d.join("zd2gc.db")).unwrap().len();
    let (rows, xw) = (dump(&d), export(&d));
    assert!(
        rows.starts_with("ok\n") || rows.contains("\nok\n"),
        "integrity"
    );
    assert!(rows.contains("xw_shift_rows: ") && !rows.contains("xw_shift_rows: 0 rows"));

    let out = compact(&d, &["--json"], &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("compacting ")
            && stderr.contains("of it free pages): it needs up to")
            && stderr.contains("given back)")
            && !stderr.contains('\x1b'),
        "{stderr}"
    );
    // The command's own audit row (`runs`), begun before the VACUUM and ended after it, may take
    // a page either side: one page of slack where it can.
    let (pages_after, free_after, _) = pages(&d);
    assert_eq!(free_after, 0);
    assert!(
        pages_after <= pages_before - free_before + 1,
        "{pages_after} pages after, {pages_before} - {free_before} before"
    );
    let file_after = std::fs::metadata(d.join("zd2gc.db")).unwrap().len();
    assert_eq!(file_after, pages_after * page_size);
    assert!(file_before - file_after >= (free_before - 1) * page_size);
    assert_eq!(dump(&d), rows, "every row kept");
    assert_eq!(export(&d), xw, "the crosswalk export is the same bytes");

    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "after",
            "before",
            "checkpointed",
            "command",
            "given_back_bytes",
            "schema",
            "seconds",
            "state"
        ]
    );
    assert_eq!(v["schema"], "compact/v1");
    assert_eq!(v["checkpointed"], true);
    assert_eq!(v["before"]["pages"], pages_before);
    assert_eq!(v["before"]["free_pages"], free_before);
    assert_eq!(v["before"]["page_size"], page_size);
    assert_eq!(v["before"]["file_bytes"], file_before);
    assert_eq!(v["after"]["free_pages"], 0);
    let json_pages = v["after"]["pages"].as_u64().unwrap();
    assert!(
        json_pages == pages_after || json_pages + 1 == pages_after,
        "{v}"
    );
    assert_eq!(v["after"]["file_bytes"], json_pages * page_size);
    assert_eq!(v["after"]["wal_bytes"], 0);
    assert_eq!(
        v["given_back_bytes"].as_u64().unwrap(),
        v["before"]["bytes"].as_u64().unwrap() - v["after"]["bytes"].as_u64().unwrap()
    );

    let out = compact(&d, &["--quiet"], &[]);
    assert!(out.status.success(), "{out:?}");
    assert!(out.stderr.is_empty() && out.stdout.is_empty(), "{out:?}");
    assert_eq!(dump(&d), rows);
}

/// While a load holds the directory's lock, `compact` is refused before it changes anything,
/// naming the load's pid and start; on a disk with too little free (the test hook) too, saying
/// what it needs; both as diagnostics (code, message, help; `--json`: `error/v1`).
#[test]
fn compact_is_refused_under_a_load_and_on_a_full_disk_and_changes_nothing() {
    let work = tempfile::tempdir().unwrap();
    let d = with_free_pages(work.path());
    let before = (dump(&d), pages(&d));

    let lock = hold_lock_as_a_load(&d);
    let out = compact(&d, &[], &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("zd2gc::usage")
            && stderr.contains("a load is running on")
            && stderr.contains("pid 4242 started 2026-12-07T16:00:00Z")
            && stderr.contains("cannot be compacted under it")
            && stderr.contains("compact after it ends")
            && !stderr.contains("compacting "),
        "{stderr}"
    );
    assert_eq!((dump(&d), pages(&d)), before, "nothing changed");
    drop(lock);

    let out = compact(&d, &["--json"], &[("ZD2GC_TEST_FREE_SPACE", "1000000")]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("not enough free disk to compact")
            && stderr.contains("which has 1.0 MB free")
            && stderr.contains("Nothing was changed"),
        "{stderr}"
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["schema"], "error/v1");
    assert_eq!(v["exit_code"], 2);
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("not enough free disk to compact")
            && v["error"]["help"]
                .as_str()
                .unwrap()
                .contains("SQLITE_TMPDIR"),
        "{v}"
    );
    assert_eq!((dump(&d), pages(&d)), before, "nothing changed");
}

/// `compact` killed (the process aborted: no rollback, no close) inside the VACUUM's copy, at
/// several points (of ~110 on this fixture), or just after the VACUUM committed (before the checkpoint), leaves a database
/// whose integrity check is ok and whose rows and crosswalk export are the ones before; the next
/// `compact` then gives the free pages back.
#[test]
fn compact_killed_anywhere_leaves_the_same_rows_and_the_next_one_finishes() {
    let work = tempfile::tempdir().unwrap();
    let fixture = with_free_pages(work.path());
    let (rows, xw) = (dump(&fixture), export(&fixture));
    let (pages_before, free_before, _) = pages(&fixture);
    for point in [
        "vacuum:0",
        "vacuum:30",
        "vacuum:60",
        "vacuum:90",
        "after-vacuum",
    ] {
        let d = work.path().join(point.replace(':', "-"));
        copy_dir(&fixture, &d);
        let out = compact(&d, &[], &[("ZD2GC_TEST_ABORT_COMPACT", point)]);
        assert_eq!(out.status.code(), None, "{point}: killed, {out:?}");
        assert_eq!(dump(&d), rows, "{point}: the rows after the kill");
        assert_eq!(export(&d), xw, "{point}: the export after the kill");
        let out = compact(&d, &[], &[]);
        assert!(out.status.success(), "{point}: {out:?}");
        assert_eq!(dump(&d), rows, "{point}");
        let (pages_after, free_after, _) = pages(&d);
        assert_eq!(free_after, 0, "{point}: no free page");
        assert!(
            pages_after <= pages_before - free_before + 1,
            "{point}: {pages_after} pages after, {pages_before} - {free_before} before"
        );
    }
}
