//! Shared helpers for integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// The project root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A `zd2gc` command ready to run, with colour off.
pub fn zd2gc() -> assert_cmd::Command {
    // The binary cargo built for this test run (not whatever target/debug holds).
    let mut c = assert_cmd::Command::new(env!("CARGO_BIN_EXE_zd2gc"));
    c.env("NO_COLOR", "1")
        .env_remove("GENESYSCLOUD_OAUTHCLIENT_SECRET");
    c
}

/// `zd2gc --dir D ARGS` against a running emulator (its URLs and client credentials in the
/// environment); exit code, stdout, stderr.
pub fn run_at(
    d: &Path,
    emu: &zd2gc::emulator::RunningEmulator,
    args: &[&str],
) -> (i32, String, String) {
    let out = zd2gc()
        .args(["--dir", d.to_str().unwrap(), "--no-progress"])
        .args(args)
        .env("ZD2GC_API_URL", emu.base_url())
        .env("ZD2GC_LOGIN_URL", emu.base_url())
        .env("GENESYSCLOUD_OAUTHCLIENT_ID", emu.client_id())
        .env("GENESYSCLOUD_OAUTHCLIENT_SECRET", emu.client_secret())
        .output()
        .unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

/// A copy of samples/paris-cutover in `dir` (created), for tests that edit the export.
pub fn copy_sample_export(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    for f in std::fs::read_dir(root().join("samples/paris-cutover")).unwrap() {
        let f = f.unwrap();
        std::fs::copy(f.path(), dir.join(f.file_name())).unwrap();
    }
}

/// Write files into a directory (path → contents).
pub fn write_files(dir: &Path, files: &[(&str, &[u8])]) {
    for (name, body) in files {
        let p = dir.join(name);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(p, body).unwrap();
    }
}

/// A synthetic emulator org: `users` agents in `bus` business units, 10 per management unit, no
/// schedules yet.
pub fn synthetic_org(users: usize, bus: usize) -> zd2gc::emulator::Fixture {
    zd2gc::emulator::synthetic(zd2gc::emulator::SyntheticOrg {
        users,
        business_units: bus,
        users_per_management_unit: 10,
        schedules: 0,
        agents_per_schedule: 0,
        shifts_per_agent: 0,
    })
}

/// A client of the running emulator with its generated credentials.
pub fn emulator_client(
    emu: &zd2gc::emulator::RunningEmulator,
) -> std::sync::Arc<zd2gc::client::Client> {
    std::sync::Arc::new(
        zd2gc::client::Client::new(
            emu.endpoints(),
            zd2gc::client::Credentials {
                client_id: emu.client_id().to_string(),
                secret: zd2gc::client::Secret::new(emu.client_secret()),
            },
        )
        .unwrap(),
    )
}

/// A new migration directory (`zd2gc init`).
pub fn migration_dir() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    zd2gc::init::init_dir(d.path(), None).unwrap();
    d
}

/// Load options for tests: a high rate, short settle and poll times.
pub fn fast_load() -> zd2gc::load::LoadOptions {
    zd2gc::load::LoadOptions {
        max_rpm: 20_000,
        concurrency: 3,
        settle_timeout: std::time::Duration::from_secs(3),
        poll_ms: 20,
        lock_wait_ms: 50,
        ..zd2gc::load::LoadOptions::default()
    }
}

/// An emulator holding the sample org (samples/org.json).
pub fn sample_emulator() -> zd2gc::emulator::RunningEmulator {
    use zd2gc::emulator::{Dump, Emulator, EmulatorConfig, Fixture};
    let org: Fixture =
        serde_json::from_str(&std::fs::read_to_string(root().join("samples/org.json")).unwrap())
            .unwrap();
    Emulator::start(EmulatorConfig {
        org: Some(Dump {
            org,
            ..Dump::default()
        }),
        ..EmulatorConfig::default()
    })
    .unwrap()
}

/// Undo migration 13 on a state database: every `#` of `desired_shift_rows.activities` spelled
/// out again as `,TASK` (the canonical text of the next 16 bytes of the row's `task_uuids`, worked
/// out here with `{:02x}`, not by zd2gc's reader), the column `task_uuids` and the view
/// `desired_shifts` of schema 13 gone (the view back to its schema-11 form, which schema 12
/// kept), and `user_version` 12 — what zd2gc wrote before UUID task ids were packed.
pub fn desired_back_to_schema_12(c: &rusqlite::Connection) {
    let rows: Vec<(String, String, Option<Vec<u8>>)> = c
        .prepare("SELECT legacy_shift_id, activities, task_uuids FROM desired_shift_rows")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    let mut up = c
        .prepare("UPDATE desired_shift_rows SET activities = ?2 WHERE legacy_shift_id = ?1")
        .unwrap();
    for (id, text, blob) in rows {
        let blob = blob.unwrap_or_default();
        let mut chunks = blob.chunks(16);
        let items: Vec<String> = text
            .split(';')
            .map(|item| {
                let tail = item.split_once(',').map_or("", |x| x.1);
                match item.strip_suffix('#') {
                    Some(head) if !tail.contains(',') => {
                        let b = chunks.next().expect("a # past the packed ids");
                        assert_eq!(b.len(), 16);
                        let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
                        format!(
                            "{head},{}-{}-{}-{}-{}",
                            &hex[..8],
                            &hex[8..12],
                            &hex[12..16],
                            &hex[16..20],
                            &hex[20..]
                        )
                    }
                    _ => item.to_string(),
                }
            })
            .collect();
        assert!(chunks.next().is_none(), "{id}: packed ids no `#` reads");
        up.execute(rusqlite::params![id, items.join(";")]).unwrap();
    }
    let view: String = c
        .query_row(
            "SELECT sql FROM sqlite_master WHERE name = 'desired_shifts'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(view.contains("task_uuids"), "{view}");
    c.execute_batch(&format!(
        "DROP VIEW desired_shifts;
         {};
         ALTER TABLE desired_shift_rows DROP COLUMN task_uuids;
         PRAGMA user_version = 12;",
        schema_11_view()
    ))
    .unwrap();
}

/// The view `desired_shifts` as migration 11 created it (schemas 11 and 12).
fn schema_11_view() -> &'static str {
    "CREATE VIEW desired_shifts AS
        SELECT s.legacy_shift_id AS legacy_shift_id, a.name AS agent_id,
               COALESCE(e.name, a.name) AS exported_agent_id, u.name AS user_id,
               b.name AS business_unit_id, m.name AS management_unit_id, w.name AS week_id,
               s.start_utc AS start_utc, s.length_minutes AS length_minutes,
               CASE WHEN s.activities = '' THEN '[]' ELSE (
                   WITH RECURSIVE r(seq, rest, item, off, len, task) AS (
                       SELECT -1, s.activities || ';', NULL, 0, 0, NULL
                       UNION ALL
                       SELECT seq + 1, substr(rest, instr(rest, ';') + 1),
                              substr(rest, 1, instr(rest, ';') - 1),
                              CASE WHEN instr(substr(rest, 1, instr(rest, ',')), '@')
                                   THEN CAST(substr(rest, instr(rest, '@') + 1) AS INTEGER)
                                   ELSE off + 60 * len END,
                              CAST(substr(rest, instr(rest, ',') + 1) AS INTEGER),
                              CASE WHEN instr(substr(substr(rest, 1, instr(rest, ';') - 1), instr(rest, ',') + 1), ',')
                                   THEN replace(replace(replace(
                                            substr(substr(substr(rest, 1, instr(rest, ';') - 1), instr(rest, ',') + 1), instr(substr(substr(rest, 1, instr(rest, ';') - 1), instr(rest, ',') + 1), ',') + 1),
                                            '%3B', ';'), '%00', char(0)), '%25', '%')
                                   WHEN substr(substr(rest, 1, instr(rest, ';') - 1), -1) = '+'
                                   THEN rtrim(task, '0123456789') || printf('%0'
                                        || (length(task) - length(rtrim(task, '0123456789')))
                                        || 'd', CAST(substr(task,
                                            length(rtrim(task, '0123456789')) + 1) AS INTEGER) + 1)
                                   ELSE task END
                       FROM r WHERE rest != '')
                   SELECT json_group_array(json_array(CAST(item AS INTEGER), off, len,
                       CASE WHEN instr(substr(item, instr(item, ',') + 1), ',')
                                 OR substr(item, -1) = '+'
                            THEN task END))
                   FROM r WHERE seq >= 0) END AS activities,
               f.name AS file, s.line AS line, s.run_id AS run_id,
               s.content_hash AS content_hash, s.held_back_reason AS held_back_reason
        FROM desired_shift_rows s
        LEFT JOIN desired_names a ON a.id = s.agent_ref
        LEFT JOIN desired_names e ON e.id = s.exported_agent_ref
        LEFT JOIN desired_names u ON u.id = s.user_ref
        LEFT JOIN desired_names b ON b.id = s.business_unit_ref
        LEFT JOIN desired_names m ON m.id = s.management_unit_ref
        LEFT JOIN desired_names w ON w.id = s.week_ref
        LEFT JOIN desired_names f ON f.id = s.file_ref"
}

/// Undo migration 12 on a state database: the index by agent that schema 11 had, and
/// `user_version` 11.
pub fn desired_back_to_schema_11(c: &rusqlite::Connection) {
    desired_back_to_schema_12(c);
    c.execute_batch(
        "CREATE INDEX desired_shift_rows_by_agent ON desired_shift_rows (agent_ref);
         PRAGMA user_version = 11;",
    )
    .unwrap();
}

/// Undo migration 11 on a state database: every `+` of `desired_shift_rows.activities` spelled
/// out again as `,TASK` (the task id it stands for, escaped as migration 10 escapes it; worked out
/// here from the description, not by zd2gc's reader), the view `desired_shifts` back to its
/// schema-10 form, and `user_version` 10 — what zd2gc wrote before the task-id marks.
pub fn desired_back_to_schema_10(c: &rusqlite::Connection) {
    desired_back_to_schema_11(c);
    fn follow(p: &str) -> String {
        let digits: String = p.chars().rev().take_while(|c| c.is_ascii_digit()).collect();
        let digits: String = digits.chars().rev().collect();
        assert!(
            !digits.is_empty() && digits.len() <= 18 && !p.contains('\0'),
            "{p:?}"
        );
        let n: u64 = digits.parse::<u64>().unwrap() + 1;
        format!(
            "{}{:0w$}",
            &p[..p.len() - digits.len()],
            n,
            w = digits.len()
        )
    }
    let rows: Vec<(String, String)> = c
        .prepare("SELECT legacy_shift_id, activities FROM desired_shift_rows")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    let mut up = c
        .prepare("UPDATE desired_shift_rows SET activities = ?2 WHERE legacy_shift_id = ?1")
        .unwrap();
    for (id, text) in rows {
        if text.is_empty() {
            continue;
        }
        let mut prev: Option<String> = None;
        let items: Vec<String> = text
            .split(';')
            .map(|item| {
                let tail = item.split_once(',').unwrap().1;
                if let Some((_, t)) = tail.split_once(',') {
                    let t = t
                        .replace("%3B", ";")
                        .replace("%00", "\0")
                        .replace("%25", "%");
                    prev = Some(t);
                    item.to_string()
                } else if let Some(head) = item.strip_suffix('+') {
                    let t = follow(prev.as_deref().unwrap());
                    let esc = t
                        .replace('%', "%25")
                        .replace(';', "%3B")
                        .replace('\0', "%00");
                    prev = Some(t);
                    format!("{head},{esc}")
                } else {
                    item.to_string()
                }
            })
            .collect();
        up.execute(rusqlite::params![id, items.join(";")]).unwrap();
    }
    c.execute_batch(
        "DROP VIEW desired_shifts;
         CREATE VIEW desired_shifts AS
        SELECT s.legacy_shift_id AS legacy_shift_id, a.name AS agent_id,
               COALESCE(e.name, a.name) AS exported_agent_id, u.name AS user_id,
               b.name AS business_unit_id, m.name AS management_unit_id, w.name AS week_id,
               s.start_utc AS start_utc, s.length_minutes AS length_minutes,
               CASE WHEN s.activities = '' THEN '[]' ELSE (
                   WITH RECURSIVE r(seq, rest, item, off, len) AS (
                       SELECT -1, s.activities || ';', NULL, 0, 0
                       UNION ALL
                       SELECT seq + 1, substr(rest, instr(rest, ';') + 1),
                              substr(rest, 1, instr(rest, ';') - 1),
                              CASE WHEN instr(substr(rest, 1, instr(rest, ',')), '@')
                                   THEN CAST(substr(rest, instr(rest, '@') + 1) AS INTEGER)
                                   ELSE off + 60 * len END,
                              CAST(substr(rest, instr(rest, ',') + 1) AS INTEGER)
                       FROM r WHERE rest != '')
                   SELECT json_group_array(json_array(CAST(item AS INTEGER), off, len,
                       CASE WHEN instr(substr(item, instr(item, ',') + 1), ',')
                            THEN replace(replace(replace(
                                     substr(item, instr(item, ',') + 1
                                                  + instr(substr(item, instr(item, ',') + 1), ',')),
                                     '%3B', ';'), '%00', char(0)), '%25', '%') END))
                   FROM r WHERE seq >= 0) END AS activities,
               f.name AS file, s.line AS line, s.run_id AS run_id,
               s.content_hash AS content_hash, s.held_back_reason AS held_back_reason
        FROM desired_shift_rows s
        LEFT JOIN desired_names a ON a.id = s.agent_ref
        LEFT JOIN desired_names e ON e.id = s.exported_agent_ref
        LEFT JOIN desired_names u ON u.id = s.user_ref
        LEFT JOIN desired_names b ON b.id = s.business_unit_ref
        LEFT JOIN desired_names m ON m.id = s.management_unit_ref
        LEFT JOIN desired_names w ON w.id = s.week_ref
        LEFT JOIN desired_names f ON f.id = s.file_ref;
         PRAGMA user_version = 10;",
    )
    .unwrap();
}

/// Undo migration 10 on a state database: `desired_shift_rows.activities` back to the JSON the
/// view `desired_shifts` spells out (what schema 9 stored), that view back to its schema-9 form,
/// and `user_version` 9 — what zd2gc wrote before the terse activities.
pub fn desired_back_to_schema_9(c: &rusqlite::Connection) {
    desired_back_to_schema_12(c);
    c.execute_batch(
        "CREATE TEMP TABLE json_acts (legacy_shift_id TEXT PRIMARY KEY, activities TEXT NOT NULL)
             WITHOUT ROWID;
         INSERT INTO json_acts SELECT legacy_shift_id, activities FROM desired_shifts;
         UPDATE desired_shift_rows SET activities = (SELECT j.activities FROM temp.json_acts j
             WHERE j.legacy_shift_id = desired_shift_rows.legacy_shift_id);
         DROP TABLE temp.json_acts;
         DROP VIEW desired_shifts;
         CREATE VIEW desired_shifts AS
            SELECT s.legacy_shift_id AS legacy_shift_id, a.name AS agent_id,
                   COALESCE(e.name, a.name) AS exported_agent_id, u.name AS user_id,
                   b.name AS business_unit_id, m.name AS management_unit_id, w.name AS week_id,
                   s.start_utc AS start_utc, s.length_minutes AS length_minutes,
                   s.activities AS activities, f.name AS file, s.line AS line, s.run_id AS run_id,
                   s.content_hash AS content_hash, s.held_back_reason AS held_back_reason
            FROM desired_shift_rows s
            LEFT JOIN desired_names a ON a.id = s.agent_ref
            LEFT JOIN desired_names e ON e.id = s.exported_agent_ref
            LEFT JOIN desired_names u ON u.id = s.user_ref
            LEFT JOIN desired_names b ON b.id = s.business_unit_ref
            LEFT JOIN desired_names m ON m.id = s.management_unit_ref
            LEFT JOIN desired_names w ON w.id = s.week_ref
            LEFT JOIN desired_names f ON f.id = s.file_ref;
         PRAGMA user_version = 9;",
    )
    .unwrap();
}

/// Undo migration 9 on a state database: `desired_shifts` back to the table of schema 2 (as
/// migration 5 left it) with its two indexes, the compact rows and their dictionary gone, and
/// `user_version` 8 — what zd2gc wrote before the compact desired state.
pub fn desired_back_to_schema_8(c: &rusqlite::Connection) {
    c.execute_batch(
        "CREATE TEMP TABLE old_shifts AS SELECT * FROM desired_shifts;
         DROP VIEW desired_shifts;
         DROP TABLE desired_shift_rows;
         DROP TABLE desired_names;
         CREATE TABLE desired_shifts (
            legacy_shift_id TEXT PRIMARY KEY, agent_id TEXT NOT NULL,
            exported_agent_id TEXT NOT NULL, user_id TEXT, business_unit_id TEXT,
            management_unit_id TEXT, week_id TEXT, start_utc INTEGER, length_minutes INTEGER,
            activities TEXT NOT NULL, file TEXT NOT NULL, line INTEGER NOT NULL,
            run_id INTEGER NOT NULL, content_hash INTEGER NOT NULL, held_back_reason TEXT
         ) WITHOUT ROWID;
         INSERT INTO desired_shifts SELECT * FROM old_shifts;
         DROP TABLE temp.old_shifts;
         CREATE INDEX desired_shifts_by_week ON desired_shifts(business_unit_id, week_id, user_id);
         CREATE INDEX desired_shifts_by_agent ON desired_shifts(agent_id);
         PRAGMA user_version = 8;",
    )
    .unwrap();
}

/// Hold `dir`'s lock as a running load does (any zd2gc version: `flock` on `zd2gc.lock`, the
/// holder's pid and start in it).
pub fn hold_lock_as_a_load(dir: &Path) -> std::fs::File {
    let mut f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(dir.join("zd2gc.lock"))
        .unwrap();
    f.try_lock().unwrap();
    std::io::Write::write_all(&mut f, b"pid 4242 started 2026-12-07T16:00:00Z").unwrap();
    f
}
