//! `map` and `crosswalk` end to end: the paris-cutover sample offline and online (against the
//! in-process emulator), the pending-trade policies, and crosswalk lookups.

use crate::common::zd2gc as cli;
use crate::common::{root, write_files};
use rusqlite::Connection;
use std::path::Path;
use std::sync::Arc;
use zd2gc::config::{Config, PendingTradePolicy};
use zd2gc::map::{MapOptions, MapOutcome, OnlineMode, map_dir};

const PARIS_BU: &str = "5eac3200-a43b-4440-a8a1-a35668257610";
const AMERICAS_BU: &str = "68e02e6a-099a-4b77-bcba-8c5ab5e60698";

fn template() -> Config {
    Config::parse(zd2gc::config::TEMPLATE, "zd2gc.toml").unwrap()
}

/// A migration directory with the export extracted; `mappings` written as given.
fn prepared(export: &Path, cfg: &Config, mappings: &[(&str, &[u8])]) -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    let files: Vec<(String, &[u8])> = mappings
        .iter()
        .map(|(n, b)| (format!("mappings/{n}"), *b))
        .collect();
    let files: Vec<(&str, &[u8])> = files.iter().map(|(n, b)| (n.as_str(), *b)).collect();
    write_files(d.path(), &files);
    zd2gc::extract::extract(d.path(), export, cfg, |_| {}).unwrap();
    d
}

fn read(name: &str) -> Vec<u8> {
    std::fs::read(root().join("mappings").join(name)).unwrap()
}

/// The sample tables, with the default activity mapped by name (offline needs a row whose
/// `zendesk_task_name` is the configured `default_activity`).
fn offline_tables() -> Vec<(&'static str, Vec<u8>)> {
    // The shipped tables map the default activity (`On Queue Work`) by name per business unit.
    let acts = read("activities.csv");
    for (code, bu) in [
        ("df75a749-0526-4be9-9416-3f1dab473c4e", PARIS_BU),
        ("5d344c30-b375-4553-861b-16cf7852c805", AMERICAS_BU),
    ] {
        assert!(
            String::from_utf8_lossy(&acts).contains(&format!("On Queue Work,{code},{bu}")),
            "mappings/activities.csv maps the default activity in {bu}"
        );
    }
    vec![
        ("agents.csv", read("agents.csv")),
        ("business_units.csv", read("business_units.csv")),
        ("locations.csv", read("locations.csv")),
        ("activities.csv", acts),
        ("time_off.csv", read("time_off.csv")),
    ]
}

fn as_refs<'a>(v: &'a [(&'static str, Vec<u8>)]) -> Vec<(&'static str, &'a [u8])> {
    v.iter().map(|(n, b)| (*n, b.as_slice())).collect()
}

/// The desired state without run bookkeeping, in id order, activities decoded (code, start,
/// length, description, task) through the view `desired_activities`.
fn desired(dir: &Path) -> Vec<Vec<String>> {
    let c = Connection::open(dir.join("zd2gc.db")).unwrap();
    let mut st = c
        .prepare(
            "SELECT legacy_shift_id, agent_id, user_id, business_unit_id, management_unit_id, week_id,
                    start_utc, length_minutes,
                    (SELECT group_concat(a.activity_code_id || '@' || a.start_utc || '+' || a.length_minutes
                                         || ' ' || a.description || ' ' || IFNULL(a.legacy_task_id, '-'), '; '
                                         ORDER BY a.seq)
                     FROM desired_activities a WHERE a.legacy_shift_id = d.legacy_shift_id),
                    held_back_reason
             FROM desired_shifts d ORDER BY legacy_shift_id",
        )
        .unwrap();
    st.query_map([], |r| {
        (0..10)
            .map(|i| {
                Ok(match r.get_ref(i)? {
                    rusqlite::types::ValueRef::Null => "∅".to_string(),
                    rusqlite::types::ValueRef::Integer(x) => x.to_string(),
                    rusqlite::types::ValueRef::Text(t) => String::from_utf8_lossy(t).into_owned(),
                    _ => "?".into(),
                })
            })
            .collect()
    })
    .unwrap()
    .collect::<rusqlite::Result<_>>()
    .unwrap()
}

fn findings(dir: &Path) -> Vec<(String, String, i64, String)> {
    let c = Connection::open(dir.join("zd2gc.db")).unwrap();
    let mut st = c
        .prepare("SELECT rule, file, line, record_id FROM map_findings ORDER BY file, line")
        .unwrap();
    st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap()
}

/// samples/paris-cutover extracted, with the offline mapping tables.
fn paris_offline(cfg: &Config) -> tempfile::TempDir {
    let tables = offline_tables();
    prepared(
        &root().join("samples/paris-cutover"),
        cfg,
        &as_refs(&tables),
    )
}

fn offline(dir: &Path, cfg: &Config) -> MapOutcome {
    map_dir(dir, cfg, &MapOptions::default()).unwrap()
}

/// Map offline again: nothing inserted, updated or removed, `unchanged` shifts unchanged, and the
/// desired state as `before` (what an upgraded state database must give).
fn remap_sees_every_shift_unchanged(
    dir: &Path,
    cfg: &Config,
    before: &[Vec<String>],
    unchanged: u64,
) {
    let o = offline(dir, cfg);
    assert_eq!(
        (
            o.shifts.inserted,
            o.shifts.updated,
            o.shifts.removed,
            o.shifts.unchanged
        ),
        (0, 0, 0, unchanged)
    );
    assert_eq!(desired(dir), before);
}

/// Run `status` on a state database of an older schema: it says it upgraded it from `schema`.
fn status_upgrades_from(dir: &Path, schema: u32) {
    let out = cli()
        .args(["--dir", dir.to_str().unwrap(), "status"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("from schema {schema} to")),
        "{stderr}"
    );
}

/// Tasks of shift ids that have no shift are counted, not mapped (validate reports them): map
/// counts a run's tasks from its text alone. With canonical UUID task ids packed after the text
/// (snapshot schema 7) the packed bytes hold `;` (0x3b) and NUL: they must not count as tasks.
/// Oracle: the sample's 1,308 tasks plus the rows this test appends.
#[test]
fn tasks_without_a_shift_are_counted_once_whatever_their_packed_ids_hold() {
    let cfg = template();
    let ex = tempfile::tempdir().unwrap();
    let sample = root().join("samples/paris-cutover");
    for f in std::fs::read_dir(&sample).unwrap() {
        let f = f.unwrap();
        std::fs::copy(f.path(), ex.path().join(f.file_name())).unwrap();
    }
    let mut csv = std::fs::read_to_string(ex.path().join("shift_tasks.csv")).unwrap();
    let ids = [
        "3b3b3b3b-3b3b-4b3b-bb3b-3b3b3b3b3b3b",
        "00000000-0000-4000-8000-000000000000",
        "3b003b00-3b00-4b00-b03b-003b003b003b",
        "ffffffff-3b3b-4fff-bfff-3b3b3b3b3b3b",
    ];
    let mut added = 0;
    for (k, sid) in ["S-NONE-1", "S-NONE-2"].iter().enumerate() {
        for (j, id) in ids.iter().enumerate() {
            csv.push_str(&format!(
                "{id},{sid},Phone,2026-03-27 0{k}:{j}0,2026-03-27 0{k}:{j}5,true\n"
            ));
            added += 1;
        }
    }
    std::fs::write(ex.path().join("shift_tasks.csv"), csv).unwrap();
    let tables = offline_tables();
    let d = prepared(ex.path(), &cfg, &as_refs(&tables));
    let o = offline(d.path(), &cfg);
    assert_eq!((o.shifts_read, o.tasks_read), (470, 1308 + added));
}

#[test]
fn paris_cutover_offline_maps_with_the_planted_findings_and_rerun_changes_nothing() {
    let cfg = template();
    let d = paris_offline(&cfg);
    let o = offline(d.path(), &cfg);
    assert_eq!(
        (o.shifts_read, o.tasks_read, o.drafts_skipped),
        (470, 1308, 4)
    );
    assert_eq!(o.shifts_mapped + o.shifts_held_back, 466);
    assert_eq!(o.shifts.inserted, 466);
    let f = findings(d.path());
    let expected: Vec<(String, String, i64, String)> = [
        ("unmapped-agent", "agents.csv", 46, "381447042"),
        ("task-outside-shift", "shift_tasks.csv", 808, "T-20807"),
        ("unmapped-activity", "shift_tasks.csv", 260, "T-20259"),
        ("unmapped-activity", "shift_tasks.csv", 269, "T-20268"),
        ("dst-nonexistent", "shifts.csv", 7, "S-10006"),
        ("dst-ambiguous", "shifts.csv", 222, "S-10221"),
        ("time-off-not-loaded", "time_off.csv", 5, "TO-304"),
        ("time-off-not-loaded", "time_off.csv", 6, "TO-305"),
        ("unmapped-time-off-reason", "time_off.csv", 12, "TO-311"),
    ]
    .iter()
    .map(|(a, b, c, e)| (a.to_string(), b.to_string(), *c, e.to_string()))
    .collect();
    let mut got = f.clone();
    got.sort_by(|a, b| (&a.1, a.2).cmp(&(&b.1, b.2)));
    let mut exp = expected.clone();
    exp.sort_by(|a, b| (&a.1, a.2).cmp(&(&b.1, b.2)));
    assert_eq!(got, exp);

    // DST nights: lengths from instants; overnight shifts in the week of their start.
    let rows = desired(d.path());
    let row = |id: &str| rows.iter().find(|r| r[0] == id).unwrap().clone();
    assert_eq!(
        (row("S-10004")[5].as_str(), row("S-10004")[7].as_str()),
        ("2026-03-23", "420")
    );
    assert_eq!(row("S-10218")[7], "540");
    // Chicago's fall-back night, in the Sunday-start Americas unit.
    assert_eq!(
        (row("S-10456")[5].as_str(), row("S-10456")[7].as_str()),
        ("2026-10-25", "540")
    );
    assert_eq!(row("S-10006")[9], "dst-nonexistent");
    assert_eq!(row("S-10221")[9], "dst-ambiguous");

    // Same inputs again: nothing written.
    let before = desired(d.path());
    let o2 = offline(d.path(), &cfg);
    assert_eq!(
        (
            o2.shifts.inserted,
            o2.shifts.updated,
            o2.shifts.removed,
            o2.agents_changed,
            o2.trades_changed
        ),
        (0, 0, 0, 0, 0)
    );
    assert_eq!(o2.shifts.unchanged, 466);
    assert_eq!(desired(d.path()), before);
    let runs: i64 = Connection::open(d.path().join("zd2gc.db"))
        .unwrap()
        .query_row(
            "SELECT COUNT(DISTINCT run_id) FROM desired_shifts",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(runs, 1, "unchanged rows keep the run that wrote them");

    // An explicit policy maps the ambiguous start and keeps a warning.
    let later = Config {
        dst_ambiguous: zd2gc::config::DstPolicy::Later,
        ..cfg.clone()
    };
    let o3 = offline(d.path(), &later);
    assert_eq!(o3.shifts.updated, 1);
    assert_eq!(o3.shifts.examples["updated"], vec!["S-10221".to_string()]);
    let r = desired(d.path())
        .into_iter()
        .find(|r| r[0] == "S-10221")
        .unwrap();
    assert_eq!(r[9], "∅");
    assert_eq!(r[6], (1_792_888_200i64 + 3600).to_string()); // 2026-10-25T01:30:00Z
}

#[test]
fn offline_and_online_mapping_of_paris_cutover_agree() {
    use zd2gc::emulator::{Emulator, EmulatorConfig, Fixture};
    let cfg = template();
    let export = root().join("samples/paris-cutover");
    let off = paris_offline(&cfg);
    let o_off = offline(off.path(), &cfg);

    // Online: agents by id and e-mail only, no business-unit table, the activities as shipped
    // (the default activity is found by name among the unit's activity codes).
    let agents: String = String::from_utf8(read("agents.csv"))
        .unwrap()
        .lines()
        .map(|l| l.split(',').take(2).collect::<Vec<_>>().join(","))
        .map(|l| l + "\n")
        .collect();
    let on_tables = vec![
        ("agents.csv", agents.into_bytes()),
        ("locations.csv", read("locations.csv")),
        ("activities.csv", read("activities.csv")),
    ];
    let on = prepared(&export, &cfg, &as_refs(&on_tables));
    let fixture: Fixture =
        serde_json::from_slice(&std::fs::read(root().join("samples/org.json")).unwrap()).unwrap();
    let mut ec = EmulatorConfig::with_fixture(fixture);
    ec.client_id = Some("map-test".into());
    ec.client_secret = Some("map-secret".into());
    // A tight rate limit and short tokens: the client must wait and refresh, not fail.
    ec.faults.rate_limit_rpm = 600;
    let emu = Emulator::start(ec).unwrap();
    let client = zd2gc::client::Client::new(
        emu.endpoints(),
        zd2gc::client::Credentials {
            client_id: "map-test".into(),
            secret: zd2gc::client::Secret::new("map-secret"),
        },
    )
    .unwrap();
    let client = Arc::new(client);
    let opts = MapOptions {
        online: OnlineMode::With(client.clone()),
        ..Default::default()
    };
    let o_on = map_dir(on.path(), &cfg, &opts).unwrap();
    assert!(o_on.online_calls > 0);
    assert_eq!(desired(on.path()), desired(off.path()));
    assert_eq!(findings(on.path()), findings(off.path()));
    assert_eq!(
        (
            o_on.shifts_mapped,
            o_on.shifts_held_back,
            o_on.agents_unmapped
        ),
        (
            o_off.shifts_mapped,
            o_off.shifts_held_back,
            o_off.agents_unmapped
        )
    );
    // The approved swap TR-5001 is linked to the trade the org already holds.
    let linked: String = Connection::open(on.path().join("zd2gc.db"))
        .unwrap()
        .query_row(
            "SELECT genesys_trade_id FROM xw_trades WHERE trade_id = 'TR-5001'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(linked, "b3b5c9bc-3f56-48b0-aaa4-cfa284f6c539");
    // Online answers are cached: a re-run asks Genesys nothing.
    let calls = client.calls();
    let o_again = map_dir(on.path(), &cfg, &opts).unwrap();
    assert_eq!(o_again.online_calls, 0);
    assert_eq!(client.calls(), calls);
    assert_eq!(o_again.shifts.unchanged, 466);
}

/// A state database of schema 8 (`desired_shifts` a table of texts) is converted by migration 9
/// to the compact rows: the next command upgrades it, `desired_shifts` reads the same, and the
/// next `map` finds every shift unchanged (content hashes kept).
#[test]
fn schema_8_desired_state_is_made_compact_and_map_sees_it_unchanged() {
    let cfg = template();
    let d = paris_offline(&cfg);
    offline(d.path(), &cfg);
    let before = desired(d.path());
    let db = d.path().join("zd2gc.db");
    crate::common::desired_back_to_schema_8(&Connection::open(&db).unwrap());
    status_upgrades_from(d.path(), 8);
    assert_eq!(desired(d.path()), before);
    remap_sees_every_shift_unchanged(d.path(), &cfg, &before, 466);
}

/// The next command upgrades a state database of schema `from`: the stored activities are
/// exactly what `map` wrote (`written`), the desired state reads as `before`, and the next `map`
/// finds all 466 sample shifts unchanged.
fn upgrade_stores_what_map_wrote(
    dir: &Path,
    cfg: &Config,
    from: u32,
    written: &[(String, String)],
    before: &[Vec<String>],
) {
    status_upgrades_from(dir, from);
    assert_eq!(stored_activities(&dir.join("zd2gc.db")), written);
    assert_eq!(desired(dir), before);
    remap_sees_every_shift_unchanged(dir, cfg, before, 466);
}

/// Python's reading of `desired_shift_rows.activities` and `task_uuids`, from the stored form's
/// description (`store::desired::activities_compact`; Python's `uuid` module for the packed
/// ids), compared with the JSON that the view `desired_shifts` spells out (SQLite's reading of
/// the same row): the shifts whose activities the two read differently (at most 5), the shifts
/// and activities read, and the task ids read from packed bytes. `None` when python3 is missing.
fn python_reads_the_stored_activities(db: &Path) -> Option<String> {
    const DECODE: &str = r#"
import json, re, sqlite3, sys, uuid
packed = 0
def follow(p):
    d = re.search('[0-9]*\\Z', p).group()
    if not d or len(d) > 18 or '\0' in p: raise ValueError(p)
    return p[:len(p) - len(d)] + str(int(d) + 1).zfill(len(d))
def decode(t, b):
    global packed
    out, nxt, prev, n = [], 0, None, 0
    b = b or b''
    for item in (t.split(';') if t else []):
        head, tail = item.split(',', 1)
        k, _, off = head.partition('@')
        ln, comma, task = tail.partition(',')
        if '@' in head: off = int(off)
        elif nxt is None: raise ValueError(item)
        else: off = nxt
        if comma: task = task.replace('%3B', ';').replace('%00', '\0').replace('%25', '%')
        elif ln.endswith('+'): ln, task = ln[:-1], follow(prev)
        elif ln.endswith('#'):
            ln, task = ln[:-1], str(uuid.UUID(bytes=b[16 * n:16 * n + 16]))
            n += 1
        else: task = None
        if task is not None: prev = task
        ln = int(ln)
        out.append([int(k), off, ln, task])
        nxt = off + 60 * ln if abs(off) <= 2**50 and 0 <= ln < 2**32 else None
    if 16 * n != len(b): raise ValueError(t)
    packed += n
    return out
c = sqlite3.connect(sys.argv[1])
cols = [r[1] for r in c.execute("PRAGMA table_info(desired_shift_rows)")]
blob = "r.task_uuids" if "task_uuids" in cols else "NULL"
rows = c.execute("SELECT r.legacy_shift_id, r.activities, d.activities, " + blob +
                 " FROM desired_shift_rows r JOIN desired_shifts d USING (legacy_shift_id)").fetchall()
dec = [(r[0], decode(r[1], r[3]), json.loads(r[2])) for r in rows]
bad = [i for i, mine, view in dec if mine != view]
print(json.dumps([bad[:5], len(rows), sum(len(mine) for _, mine, _ in dec), packed]))
"#;
    let out = std::process::Command::new("python3")
        .args(["-c", DECODE, db.to_str().unwrap()])
        .output()
        .ok()?;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(String::from_utf8(out.stdout).unwrap().trim().to_string())
}

/// The stored activities of every shift, in id order.
fn stored_activities(db: &Path) -> Vec<(String, String)> {
    let c = Connection::open(db).unwrap();
    let mut st = c
        .prepare("SELECT legacy_shift_id, activities FROM desired_shift_rows ORDER BY 1")
        .unwrap();
    st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap()
}

/// A state database of schema 9 (activities stored as JSON) is converted by migration 10 to the
/// terse stored form: the next command upgrades it; the migration's SQL writes what `map` writes;
/// `desired_shifts` and `desired_activities` read the same; Python reads the stored text as the
/// view does; and the next `map` finds every shift unchanged (the content hash still covers the
/// JSON, so the hashes are kept).
#[test]
fn schema_9_desired_state_gets_terse_activities_and_map_sees_it_unchanged() {
    let cfg = template();
    let d = paris_offline(&cfg);
    offline(d.path(), &cfg);
    let before = desired(d.path());
    let db = d.path().join("zd2gc.db");
    let written = stored_activities(&db);
    assert!(
        written.iter().any(|(_, a)| a.contains(';'))
            && written.iter().all(|(_, a)| !a.starts_with('[')),
        "{:?}",
        &written[..3]
    );
    if let Some(py) = python_reads_the_stored_activities(&db) {
        assert!(py.starts_with("[[], 466, "), "{py}");
    } else {
        eprintln!("python3 is missing: the Python reading is skipped");
    }
    crate::common::desired_back_to_schema_9(&Connection::open(&db).unwrap());
    let json = stored_activities(&db);
    assert!(
        json.iter().all(|(_, a)| a.starts_with('[')),
        "{:?}",
        &json[..3]
    );
    assert_eq!(desired(d.path()), before);
    upgrade_stores_what_map_wrote(d.path(), &cfg, 9, &written, &before);
}

/// A state database of schema 10 (every task id written out) gets the task-id marks of migration
/// 11: `map` writes `+` for the sample's consecutive task ids (`T-20002` after `T-20001`); back
/// at schema 10 no `+` is left and the views read the same; the next command upgrades it and
/// stores exactly what `map` wrote; Python reads the stored text as the view does; and the next
/// `map` finds every shift unchanged.
#[test]
fn schema_10_desired_state_gets_task_marks_and_map_sees_it_unchanged() {
    let cfg = template();
    let d = paris_offline(&cfg);
    offline(d.path(), &cfg);
    let before = desired(d.path());
    let db = d.path().join("zd2gc.db");
    let written = stored_activities(&db);
    let marks = written.iter().filter(|(_, a)| a.contains('+')).count();
    assert!(marks > 100, "{marks}: {:?}", &written[..3]);
    if let Some(py) = python_reads_the_stored_activities(&db) {
        assert!(py.starts_with("[[], 466, "), "{py}");
    }
    crate::common::desired_back_to_schema_10(&Connection::open(&db).unwrap());
    let spelled = stored_activities(&db);
    assert!(spelled.iter().all(|(_, a)| !a.contains('+')));
    assert_ne!(spelled, written);
    assert_eq!(desired(d.path()), before);
    upgrade_stores_what_map_wrote(d.path(), &cfg, 10, &written, &before);
}

/// Every table and view of a state database but `runs` (the record of the commands run, which
/// the upgrading command adds to), each read whole and sorted: what a reader of any of them sees.
fn every_table_and_view(db: &Path) -> Vec<(String, Vec<String>)> {
    let c = Connection::open(db).unwrap();
    let names: Vec<String> = c
        .prepare(
            "SELECT name FROM sqlite_master WHERE type IN ('table', 'view')
             AND name NOT LIKE 'sqlite_%' AND name != 'runs' ORDER BY name",
        )
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    names
        .into_iter()
        .map(|n| {
            let mut st = c.prepare(&format!("SELECT * FROM \"{n}\"")).unwrap();
            let k = st.column_count();
            let mut rows: Vec<String> = st
                .query_map([], |r| {
                    Ok((0..k)
                        .map(|i| format!("{:?}", r.get_ref(i).unwrap()))
                        .collect::<Vec<_>>()
                        .join("|"))
                })
                .unwrap()
                .collect::<rusqlite::Result<_>>()
                .unwrap();
            rows.sort();
            (n, rows)
        })
        .collect()
}

fn indexes_of_the_desired_shifts(db: &Path) -> Vec<String> {
    Connection::open(db)
        .unwrap()
        .prepare(
            "SELECT name FROM sqlite_master WHERE type = 'index'
             AND tbl_name = 'desired_shift_rows' AND sql IS NOT NULL ORDER BY 1",
        )
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap()
}

/// A state database of schema 11 (with the index by agent) is upgraded by migration 12: the
/// index is gone, every table and view reads the same, and the next `map` finds every shift
/// unchanged and the same findings, the time-off ones included (the sample's requests overlap
/// shifts: map's time-off pass reads the agents' shifts without the index).
#[test]
fn schema_11_desired_state_loses_the_index_by_agent_and_reads_the_same() {
    let cfg = template();
    // The sample and three requests over shifts of three agents (one of them over two shifts).
    let export = tempfile::tempdir().unwrap();
    for f in std::fs::read_dir(root().join("samples/paris-cutover")).unwrap() {
        let f = f.unwrap().path();
        std::fs::copy(&f, export.path().join(f.file_name().unwrap())).unwrap();
    }
    let mut off = std::fs::read_to_string(export.path().join("time_off.csv")).unwrap();
    off.push_str(
        "TO-397,381447003,2026-10-29 12:00,2026-10-29 13:00,,,approved,Rendez-vous médical,false,\n\
         TO-398,381447001,,,2026-10-30,2026-10-31,approved,Congés payés,true,\n\
         TO-399,381447002,2026-10-31 11:00,2026-10-31 12:00,,,pending,RTT,false,\n",
    );
    std::fs::write(export.path().join("time_off.csv"), off).unwrap();
    let tables = offline_tables();
    let d = prepared(export.path(), &cfg, &as_refs(&tables));
    offline(d.path(), &cfg);
    let db = d.path().join("zd2gc.db");
    let before = desired(d.path());
    let found = findings(d.path());
    let over: Vec<_> = found
        .iter()
        .filter(|f| f.0 == "time-off-overlaps-shift")
        .collect();
    assert_eq!(over.len(), 3, "{found:?}");
    let messages = |db: &Path| -> Vec<String> {
        Connection::open(db)
            .unwrap()
            .prepare(
                "SELECT message FROM map_findings WHERE rule = 'time-off-overlaps-shift' ORDER BY 1",
            )
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap()
    };
    let said = messages(&db);
    assert!(
        said.iter().all(|m| m.contains("overlaps shift `S-")),
        "{said:?}"
    );
    // The first of the agent's shifts by start.
    assert!(
        said.iter()
            .any(|m| m.contains("`TO-398` overlaps shift `S-10393`")),
        "{said:?}"
    );
    assert_eq!(
        indexes_of_the_desired_shifts(&db),
        ["desired_shift_rows_by_week"]
    );
    crate::common::desired_back_to_schema_11(&Connection::open(&db).unwrap());
    assert_eq!(
        indexes_of_the_desired_shifts(&db),
        ["desired_shift_rows_by_agent", "desired_shift_rows_by_week"]
    );
    let mut all = every_table_and_view(&db);
    assert!(all.len() > 15, "{}", all.len());
    status_upgrades_from(d.path(), 11);
    // Migration 13 then adds `task_uuids`, NULL on the rows written before.
    for (name, rows) in &mut all {
        if name == "desired_shift_rows" {
            rows.iter_mut().for_each(|r| r.push_str("|Null"));
        }
    }
    assert_eq!(
        indexes_of_the_desired_shifts(&db),
        ["desired_shift_rows_by_week"]
    );
    let after = every_table_and_view(&db);
    let differ: Vec<&str> = all
        .iter()
        .zip(&after)
        .filter(|(a, b)| a != b)
        .map(|(a, _)| a.0.as_str())
        .collect();
    assert_eq!(
        (differ, all.len()),
        (Vec::<&str>::new(), after.len()),
        "tables and views that read differently after the upgrade"
    );
    remap_sees_every_shift_unchanged(d.path(), &cfg, &before, 466);
    assert_eq!(findings(d.path()), found);
    assert_eq!(messages(&db), said);
}

/// The stored activities and packed task ids of every shift, in id order (no packed ids before
/// schema 13).
fn stored_rows(db: &Path) -> Vec<(String, String, Option<Vec<u8>>)> {
    let c = Connection::open(db).unwrap();
    let packed: bool = c
        .query_row(
            "SELECT count(*) FROM pragma_table_info('desired_shift_rows') WHERE name = 'task_uuids'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let blob = if packed { "task_uuids" } else { "NULL" };
    let mut st = c
        .prepare(&format!(
            "SELECT legacy_shift_id, activities, {blob} FROM desired_shift_rows ORDER BY 1"
        ))
        .unwrap();
    st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap()
}

/// UUID task ids as 16 bytes (migration 13), on a generated export with UUID ids (12 agents × 3
/// weeks): `map` writes every task id `#` with its bytes in `task_uuids`, which Python (its
/// `uuid` module) reads as the view `desired_shifts` spells them; the row is smaller. Back at
/// schema 12 (every id written out, no `task_uuids`: what zd2gc wrote before) every table and
/// view reads the same; the next command upgrades it and leaves those rows as they are (only
/// an empty `task_uuids` added); the next `map` finds every shift unchanged and rewrites none;
/// a shift it writes again gets the packed form beside the old ones, and every view still reads
/// the same.
#[test]
fn schema_12_desired_state_keeps_its_task_ids_as_text_and_reads_the_same() {
    use zd2gc::testdata::{IdStyle, generate_export_with, generate_mappings_with};
    let cfg = template();
    let d = tempfile::tempdir().unwrap();
    let export = d.path().join("export");
    let g = generate_export_with(&export, 12, 3, 5, IdStyle::Uuid).unwrap();
    generate_mappings_with(&d.path().join("mappings"), 12, IdStyle::Uuid).unwrap();
    zd2gc::extract::extract(d.path(), &export, &cfg, |_| {}).unwrap();
    let o = offline(d.path(), &cfg);
    let n = o.shifts_mapped + o.shifts_held_back;
    assert!(n > 100 && g.tasks > 300, "{g:?} {n}");
    let db = d.path().join("zd2gc.db");
    let packed = stored_rows(&db);
    let ids_packed: usize = packed
        .iter()
        .map(|(_, _, b)| b.as_ref().map_or(0, Vec::len) / 16)
        .sum();
    assert_eq!(ids_packed as u64, g.tasks, "every task id packed");
    assert!(
        packed
            .iter()
            .all(|(_, a, _)| a.split(';').all(|item| item.matches(',').count() <= 1)),
        "no task id written out: {:?}",
        &packed[..2]
    );
    if let Some(py) = python_reads_the_stored_activities(&db) {
        assert!(py.starts_with(&format!("[[], {n}, ")), "{py}");
        assert!(py.ends_with(&format!(", {}]", g.tasks)), "{py}");
    } else {
        eprintln!("python3 is missing: the Python reading is skipped");
    }
    let before = desired(d.path());
    assert!(
        before.iter().any(|r| r[8].matches('-').count() > 8),
        "{:?}",
        before[0]
    );
    let all = every_table_and_view(&db);
    assert!(all.len() > 15, "{}", all.len());
    let but_rows = |v: &[(String, Vec<String>)]| -> Vec<(String, Vec<String>)> {
        v.iter()
            .filter(|t| t.0 != "desired_shift_rows")
            .cloned()
            .collect()
    };

    crate::common::desired_back_to_schema_12(&Connection::open(&db).unwrap());
    let spelled = stored_rows(&db);
    assert!(
        spelled
            .iter()
            .all(|(_, a, b)| b.is_none() && !a.contains('#'))
    );
    let text_bytes = |v: &[(String, String, Option<Vec<u8>>)]| -> usize {
        v.iter()
            .map(|(_, a, b)| a.len() + b.as_ref().map_or(0, Vec::len))
            .sum()
    };
    // Each id: 37 bytes of text against `#` and 16 bytes.
    assert_eq!(
        text_bytes(&spelled) - text_bytes(&packed),
        20 * g.tasks as usize
    );
    if let Some(py) = python_reads_the_stored_activities(&db) {
        assert!(py.starts_with(&format!("[[], {n}, ")), "{py}");
        assert!(py.ends_with(", 0]"), "{py}");
    }
    let at_12 = every_table_and_view(&db);
    assert_eq!(but_rows(&at_12), but_rows(&all));
    assert_eq!(desired(d.path()), before);

    status_upgrades_from(d.path(), 12);
    // The rows as schema 12 wrote them, with an empty `task_uuids`.
    assert_eq!(stored_rows(&db), spelled);
    let upgraded = every_table_and_view(&db);
    assert_eq!(but_rows(&upgraded), but_rows(&at_12));
    let with_null = |v: &[(String, Vec<String>)]| -> Vec<String> {
        let rows = &v.iter().find(|t| t.0 == "desired_shift_rows").unwrap().1;
        rows.iter().map(|r| format!("{r}|Null")).collect()
    };
    let rows_after = &upgraded
        .iter()
        .find(|t| t.0 == "desired_shift_rows")
        .unwrap()
        .1;
    assert_eq!(*rows_after, with_null(&at_12));

    remap_sees_every_shift_unchanged(d.path(), &cfg, &before, n);
    assert_eq!(
        stored_rows(&db),
        spelled,
        "an unchanged shift is not rewritten"
    );
    // A shift map writes again (its row gone) is packed, beside rows of the old form.
    let gone = &packed[packed.len() / 2];
    Connection::open(&db)
        .unwrap()
        .execute(
            "DELETE FROM desired_shift_rows WHERE legacy_shift_id = ?1",
            [&gone.0],
        )
        .unwrap();
    let o = offline(d.path(), &cfg);
    assert_eq!((o.shifts.inserted, o.shifts.updated), (1, 0));
    let mixed = stored_rows(&db);
    let again = mixed.iter().find(|r| r.0 == gone.0).unwrap();
    assert_eq!(again, gone);
    assert!(gone.2.is_some(), "{gone:?}");
    assert_eq!(
        mixed.iter().filter(|r| r.2.is_some()).count(),
        1,
        "only the shift written again is packed"
    );
    assert_eq!(desired(d.path()), before);
    if let Some(py) = python_reads_the_stored_activities(&db) {
        assert!(py.starts_with(&format!("[[], {n}, ")), "{py}");
    }
    let mut mixed_views = but_rows(&every_table_and_view(&db));
    let mut want = but_rows(&at_12);
    // `map_findings` and the run ids of the rows differ only by the runs since.
    for v in [&mut mixed_views, &mut want] {
        v.retain(|t| {
            !["map_findings", "desired_shifts", "crosswalk_shifts", "meta"].contains(&t.0.as_str())
        });
    }
    assert_eq!(mixed_views, want);
}

/// A state database of schema 4 (activities spelled out as objects, the snapshot id on every row)
/// is converted by migration 5 (and then 9, the compact rows): the same activities, decoded, and
/// content hashes such that the next `map` finds every shift unchanged.
#[test]
fn schema_4_desired_state_is_converted_and_map_sees_it_unchanged() {
    let cfg = template();
    let d = paris_offline(&cfg);
    offline(d.path(), &cfg);
    let before = desired(d.path());
    assert!(
        before.iter().any(|r| r[8].contains("@")),
        "activities decoded"
    );
    let db = d.path().join("zd2gc.db");
    let snapshot: String = {
        let c = Connection::open(&db).unwrap();
        let snapshot = c
            .query_row(
                "SELECT value FROM meta WHERE key = 'mapped_snapshot_id'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        // Back to schema 4, as zd2gc 0.1 wrote it (first to schema 8: the table that the view
        // `desired_shifts` of schema 9 replaced).
        crate::common::desired_back_to_schema_8(&c);
        c.execute_batch(
            "CREATE TEMP TABLE old_acts AS
                SELECT legacy_shift_id AS id,
                       json_group_array(json_object('code', activity_code_id, 'start', start_utc,
                           'len', length_minutes, 'desc', description, 'task', legacy_task_id) ORDER BY seq) AS acts
                FROM desired_activities GROUP BY legacy_shift_id;
             DROP VIEW desired_activities;
             UPDATE desired_shifts SET activities = (SELECT acts FROM old_acts WHERE id = legacy_shift_id)
                WHERE activities != '[]';
             ALTER TABLE desired_shifts ADD COLUMN snapshot_id TEXT NOT NULL DEFAULT '';
             UPDATE desired_shifts SET content_hash = 0,
                snapshot_id = (SELECT value FROM meta WHERE key = 'mapped_snapshot_id');
             DELETE FROM meta WHERE key = 'mapped_snapshot_id';
             DROP TABLE activity_kinds;
             DROP TABLE desired_time_off;
             DROP TABLE xw_time_off;
             DROP TABLE load_time_off;
             ALTER TABLE runs DROP COLUMN snapshot_id;
             CREATE VIEW desired_activities AS
                SELECT s.legacy_shift_id AS legacy_shift_id, CAST(j.key AS INTEGER) AS seq,
                       json_extract(j.value, '$.code') AS activity_code_id,
                       json_extract(j.value, '$.start') AS start_utc,
                       json_extract(j.value, '$.len') AS length_minutes,
                       json_extract(j.value, '$.desc') AS description,
                       json_extract(j.value, '$.task') AS legacy_task_id
                FROM desired_shifts s, json_each(s.activities) j;
             PRAGMA user_version = 4;",
        )
        .unwrap();
        let old: String = c
            .query_row(
                "SELECT activities FROM desired_shifts WHERE activities != '[]' LIMIT 1",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert!(old.starts_with("[{\"code\":"), "{old}");
        snapshot
    };
    // The next command announces the upgrade and migrates; map then finds nothing to change.
    let out = cli()
        .args([
            "--dir",
            d.path().to_str().unwrap(),
            "crosswalk",
            "lookup",
            "S-10006",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("upgrading the state database") && stderr.contains("from schema 4 to"),
        "{stderr}"
    );
    remap_sees_every_shift_unchanged(d.path(), &cfg, &before, 466);
    let c = Connection::open(&db).unwrap();
    let (version, mapped): (i64, String) = c
        .query_row(
            "SELECT user_version, (SELECT value FROM meta WHERE key = 'mapped_snapshot_id') FROM pragma_user_version",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(version as usize, zd2gc::store::schema_version());
    assert_eq!(mapped, snapshot);
}

/// A tiny export: agents A (1) and B (2), their shifts, and one trade with the given status.
fn trade_export(dir: &Path, status: &str, recipient_shift: &str) {
    write_files(
        dir,
        &[
            (
                "agents.csv",
                b"agent_id,name,email,location\n1,Ann,ann@x.test,Paris\n2,Bob,bob@x.test,Paris\n3,Cy,cy@x.test,Paris\n",
            ),
            (
                "shifts.csv",
                b"shift_id,agent_id,start_local,end_local\nS1,1,2026-10-20 09:00,2026-10-20 17:00\nS2,2,2026-10-21 09:00,2026-10-21 17:00\nS3,3,2026-10-22 09:00,2026-10-22 17:00\n",
            ),
            (
                "shift_trades.csv",
                format!(
                    "trade_id,swap_request_id,status,requester_agent_id,requester_shift_id,recipient_agent_id,recipient_shift_id\nT1,R1,{status},1,S1,2,{recipient_shift}\nT9,R9,approved,3,S3,1,\n"
                )
                .as_bytes(),
            ),
        ],
    );
}

const BU_PAR: &str = "00000000-0000-4000-8000-0000000000b1";
const BU_CHI: &str = "00000000-0000-4000-8000-0000000000b2";

fn trade_tables() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        (
            "agents.csv",
            b"zendesk_agent_id,genesys_user_id,management_unit_id,business_unit_id\n1,00000000-0000-4000-8000-00000000a001,00000000-0000-4000-8000-0000000000c1,00000000-0000-4000-8000-0000000000bb\n2,00000000-0000-4000-8000-00000000b001,00000000-0000-4000-8000-0000000000c1,00000000-0000-4000-8000-0000000000bb\n3,00000000-0000-4000-8000-00000000c001,00000000-0000-4000-8000-0000000000c1,00000000-0000-4000-8000-0000000000bb\n".to_vec(),
        ),
        (
            "business_units.csv",
            b"business_unit_id,name,time_zone,start_day_of_week\n00000000-0000-4000-8000-0000000000bb,Paris,Europe/Paris,Monday\n".to_vec(),
        ),
        (
            "activities.csv",
            b"zendesk_task_name,genesys_activity_code_id,business_unit_id\nOn Queue Work,00000000-0000-4000-8000-0000000000aa,\n".to_vec(),
        ),
    ]
}

fn owners(dir: &Path) -> Vec<(String, String, String)> {
    desired(dir)
        .into_iter()
        .map(|r| (r[0].clone(), r[1].clone(), r[2].clone()))
        .collect()
}

fn trade_row(dir: &Path, id: &str) -> (String, String, Option<String>, Option<String>) {
    Connection::open(dir.join("zd2gc.db"))
        .unwrap()
        .query_row(
            "SELECT action, legacy_status, requester_user_id, recipient_user_id FROM xw_trades WHERE trade_id = ?1",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .unwrap()
}

#[test]
fn pending_trade_policies() {
    let as_exported = vec![
        (
            "S1".to_string(),
            "1".to_string(),
            "00000000-0000-4000-8000-00000000a001".to_string(),
        ),
        (
            "S2".into(),
            "2".into(),
            "00000000-0000-4000-8000-00000000b001".into(),
        ),
        (
            "S3".into(),
            "3".into(),
            "00000000-0000-4000-8000-00000000c001".into(),
        ),
    ];
    for (policy, action, swapped) in [
        (PendingTradePolicy::Report, "reported", false),
        (PendingTradePolicy::Apply, "applied", true),
        (PendingTradePolicy::Drop, "dropped", false),
    ] {
        let cfg = Config {
            pending_trades: policy,
            ..template()
        };
        let export = tempfile::tempdir().unwrap();
        trade_export(export.path(), "accepted", "S2");
        let d = prepared(export.path(), &cfg, &as_refs(&trade_tables()));
        let o = offline(d.path(), &cfg);
        assert_eq!(o.errors, 0, "{o:?}");
        let got = owners(d.path());
        if swapped {
            assert_eq!(
                got,
                vec![
                    (
                        "S1".to_string(),
                        "2".to_string(),
                        "00000000-0000-4000-8000-00000000b001".to_string()
                    ),
                    (
                        "S2".into(),
                        "1".into(),
                        "00000000-0000-4000-8000-00000000a001".into()
                    ),
                    (
                        "S3".into(),
                        "3".into(),
                        "00000000-0000-4000-8000-00000000c001".into()
                    ),
                ],
                "{policy:?}"
            );
        } else {
            assert_eq!(got, as_exported, "{policy:?}");
        }
        let t = trade_row(d.path(), "T1");
        assert_eq!(t.0, action, "{policy:?}");
        assert_eq!(
            (t.2.as_deref(), t.3.as_deref()),
            (
                Some("00000000-0000-4000-8000-00000000a001"),
                Some("00000000-0000-4000-8000-00000000b001")
            )
        );
        // Approved: history, the shifts already reflect it.
        assert_eq!(trade_row(d.path(), "T9").0, "history");
    }
    // A give-away under `apply`: the requester's shift goes to the recipient.
    let cfg = Config {
        pending_trades: PendingTradePolicy::Apply,
        ..template()
    };
    let export = tempfile::tempdir().unwrap();
    trade_export(export.path(), "offered", "");
    let d = prepared(export.path(), &cfg, &as_refs(&trade_tables()));
    offline(d.path(), &cfg);
    assert_eq!(
        owners(d.path())[0],
        (
            "S1".to_string(),
            "2".to_string(),
            "00000000-0000-4000-8000-00000000b001".to_string()
        )
    );
    assert_eq!(owners(d.path())[1].1, "2");
}

/// The trades' crosswalk against a model of the trades file: the first row of a repeated trade
/// id is its row (in file order, whatever the later rows say); a trade gone from a newer export
/// stays, marked `not-in-export`, and only that row changes; an unchanged re-run changes none.
#[test]
fn trades_crosswalk_keeps_first_rows_and_marks_gone_trades() {
    let trades = "trade_id,swap_request_id,status,requester_agent_id,requester_shift_id,recipient_agent_id,recipient_shift_id
T5,R5,Requested,1,S1,2,S2
T2,R2,denied,2,S2,3,
T5,R6,approved,3,S3,1,
T7,R7,offered,3,S3,1,S1
T2,R2,accepted,2,S2,3,S3
";
    // The model: each trade id's first row in file order, in that order.
    let model = |csv: &str| -> Vec<(String, String, String, String)> {
        let mut seen = std::collections::HashSet::new();
        csv.lines()
            .skip(1)
            .map(|l| l.split(',').collect::<Vec<_>>())
            .filter(|c| seen.insert(c[0].to_string()))
            .map(|c| {
                let status = c[2].to_ascii_lowercase();
                let action = match status.as_str() {
                    "requested" | "offered" | "accepted" => "reported",
                    _ => "history",
                };
                (c[0].into(), status, c[3].into(), action.into())
            })
            .collect()
    };
    let xw = |dir: &Path| -> Vec<(String, String, String, String)> {
        let c = Connection::open(dir.join("zd2gc.db")).unwrap();
        let mut st = c
            .prepare("SELECT trade_id, legacy_status, requester_agent_id, action FROM xw_trades ORDER BY rowid")
            .unwrap();
        st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap()
    };
    let cfg = template();
    let export = tempfile::tempdir().unwrap();
    trade_export(export.path(), "accepted", "S2");
    write_files(export.path(), &[("shift_trades.csv", trades.as_bytes())]);
    let d = prepared(export.path(), &cfg, &as_refs(&trade_tables()));
    let o = offline(d.path(), &cfg);
    let want = model(trades);
    assert_eq!(xw(d.path()), want);
    assert_eq!(o.trades_changed, 3, "{o:?}");
    assert_eq!(
        o.trades_by_action.get("reported").copied(),
        Some(2),
        "{o:?}"
    );
    assert_eq!(o.trades_by_action.get("history").copied(), Some(1), "{o:?}");
    // T2 gone from the export (both rows).
    let newer: String = trades
        .lines()
        .filter(|l| !l.starts_with("T2,"))
        .map(|l| format!("{l}\n"))
        .collect();
    write_files(export.path(), &[("shift_trades.csv", newer.as_bytes())]);
    zd2gc::extract::extract(d.path(), export.path(), &cfg, |_| {}).unwrap();
    let o = offline(d.path(), &cfg);
    assert_eq!(o.trades_changed, 1, "{o:?}");
    let got = xw(d.path());
    let mut want: Vec<_> = want;
    want[1].3 = "not-in-export".into();
    assert_eq!(got, want);
    assert_eq!(offline(d.path(), &cfg).trades_changed, 0);
}

#[test]
fn crosswalk_lookup_finds_a_swap_request_from_either_side() {
    let cfg = template();
    let export = tempfile::tempdir().unwrap();
    trade_export(export.path(), "offered", "S2");
    let d = prepared(export.path(), &cfg, &as_refs(&trade_tables()));
    offline(d.path(), &cfg);
    let conn = zd2gc::store::open_state(d.path()).unwrap();
    for id in [
        "R1",
        "T1",
        "1",
        "2",
        "00000000-0000-4000-8000-00000000a001",
        "00000000-0000-4000-8000-00000000b001",
        "S1",
        "S2",
        "ann@x.test",
    ] {
        let v = zd2gc::crosswalk::lookup(&conn, id)
            .unwrap()
            .unwrap_or_else(|| panic!("{id}"));
        let trades: Vec<&str> = v["trades"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["swap_request_id"].as_str().unwrap())
            .collect();
        assert!(trades.contains(&"R1"), "{id}: {v}");
    }
    assert!(zd2gc::crosswalk::lookup(&conn, "nope").unwrap().is_none());

    // Through the command line, and the export.
    let out = cli()
        .args([
            "--dir",
            d.path().to_str().unwrap(),
            "crosswalk",
            "lookup",
            "R1",
        ])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v["matched"][0], "swap_request");
    assert_eq!(v["agents"].as_array().unwrap().len(), 2);
    let csv = cli()
        .args([
            "--dir",
            d.path().to_str().unwrap(),
            "crosswalk",
            "export",
            "--format",
            "csv",
            "--table",
            "trades",
        ])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(csv).unwrap();
    assert!(text.starts_with("trade_id,swap_request_id,"), "{text}");
    assert_eq!(text.lines().count(), 3);
    let json = cli()
        .args(["--dir", d.path().to_str().unwrap(), "crosswalk", "export"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&json).unwrap();
    assert_eq!(v["shifts"].as_array().unwrap().len(), 3);
    assert_eq!(v["agents"].as_array().unwrap().len(), 3);
}

#[test]
fn newer_export_updates_what_changed_and_says_what() {
    let cfg = template();
    let export = tempfile::tempdir().unwrap();
    trade_export(export.path(), "offered", "S2");
    let d = prepared(export.path(), &cfg, &as_refs(&trade_tables()));
    offline(d.path(), &cfg);
    // S2 moves an hour, S3 disappears, S4 is new.
    write_files(
        export.path(),
        &[(
            "shifts.csv",
            b"shift_id,agent_id,start_local,end_local\nS1,1,2026-10-20 09:00,2026-10-20 17:00\nS2,2,2026-10-21 10:00,2026-10-21 18:00\nS4,3,2026-10-23 09:00,2026-10-23 17:00\n",
        )],
    );
    zd2gc::extract::extract(d.path(), export.path(), &cfg, |_| {}).unwrap();
    let o = offline(d.path(), &cfg);
    assert_eq!(
        (
            o.shifts.inserted,
            o.shifts.updated,
            o.shifts.removed,
            o.shifts.unchanged
        ),
        (1, 1, 1, 1)
    );
    assert_eq!(o.shifts.examples["updated"], vec!["S2".to_string()]);
    assert_eq!(o.shifts.examples["removed"], vec!["S3".to_string()]);
    assert_eq!(o.shifts.examples["inserted"], vec!["S4".to_string()]);
}

#[test]
fn mapping_table_errors_point_at_file_and_line() {
    let cfg = template();
    let export = tempfile::tempdir().unwrap();
    trade_export(export.path(), "offered", "S2");
    let mut tables = trade_tables();
    tables[0].1 = b"zendesk_agent_id,genesys_user,business_unit_id\n1,00000000-0000-4000-8000-00000000a001,bu\n".to_vec();
    let d = prepared(export.path(), &cfg, &as_refs(&tables));
    cli()
        .args(["--dir", d.path().to_str().unwrap(), "map"])
        .assert()
        .code(1)
        .stderr(predicates::str::contains("mappings/agents.csv:1"))
        .stderr(predicates::str::contains("unknown column `genesys_user`"));
}

/// Throughput on the generated export (`--agents`/`--weeks` via ZD2GC_BENCH_AGENTS/_WEEKS; default
/// the 10,000 × 26 export of `benches/pipeline.rs`). Run in release:
/// `cargo test --release --test integration map::map_throughput -- --ignored --nocapture`.
#[test]
#[ignore = "a measurement, minutes long; run in release"]
fn map_throughput() {
    let n = |k: &str, d: u64| {
        std::env::var(k)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(d)
    };
    let (agents, weeks) = (n("ZD2GC_BENCH_AGENTS", 10_000), n("ZD2GC_BENCH_WEEKS", 26));
    let export = root().join(format!("target/bench-data/export-{agents}x{weeks}"));
    // The marker lies beside the export (as benches/pipeline.rs keeps it): extract stops at a
    // file it does not know.
    let marker = export.with_extension("generated.json");
    let _ = std::fs::rename(export.join("generated.json"), &marker);
    if !marker.exists() {
        let g = zd2gc::testdata::generate_export(&export, agents, weeks, 42).unwrap();
        std::fs::write(&marker, serde_json::to_string(&g).unwrap()).unwrap();
    }
    let cfg = template();
    let tables: Vec<(&str, Vec<u8>)> = vec![
        ("agents.csv", {
            let mut s = String::from("zendesk_agent_id,genesys_user_id,management_unit_id,business_unit_id\n");
            for i in 0..agents {
                s.push_str(&format!("{},00000000-0000-4000-8000-{i:012},00000000-0000-4000-9000-000000000000,{}\n", 100_000 + i, if i % 10 == 9 { BU_CHI } else { BU_PAR }));
            }
            s.into_bytes()
        }),
        (
            "business_units.csv",
            format!("business_unit_id,time_zone,start_day_of_week\n{BU_PAR},Europe/Paris,Monday\n{BU_CHI},America/Chicago,Sunday\n").into_bytes(),
        ),
        ("locations.csv", b"location,time_zone\nParis,Europe/Paris\nChicago,America/Chicago\n".to_vec()),
        (
            "activities.csv",
            b"zendesk_task_name,genesys_activity_code_id\nPhone,00000000-0000-4000-8000-0000000000a1\nEmail,00000000-0000-4000-8000-0000000000a2\nChat,00000000-0000-4000-8000-0000000000a3\nTraining,00000000-0000-4000-8000-0000000000a4\nTeam Meeting,00000000-0000-4000-8000-0000000000a5\nOn Queue Work,00000000-0000-4000-8000-0000000000aa\n".to_vec(),
        ),
    ];
    let t = std::time::Instant::now();
    let d = prepared(&export, &cfg, &as_refs(&tables));
    eprintln!("extract: {:.1}s", t.elapsed().as_secs_f64());
    let o = offline(d.path(), &cfg);
    eprintln!(
        "map (first run): {} shifts + {} tasks in {:.2}s = {:.0} records/s; {} mapped, {} held back {:?}; peak RSS {:?} MB",
        o.shifts_read,
        o.tasks_read,
        o.seconds,
        o.throughput(),
        o.shifts_mapped,
        o.shifts_held_back,
        o.held_back_by_reason,
        zd2gc::testdata::peak_rss_bytes().map(|b| b / 1_000_000)
    );
    let o = offline(d.path(), &cfg);
    eprintln!(
        "map (re-run, unchanged): {:.2}s = {:.0} records/s; unchanged {}",
        o.seconds,
        o.throughput(),
        o.shifts.unchanged
    );
}

/// Time off of paris-cutover: the Genesys form of each request in `desired_time_off` (expected
/// values worked out by hand from time_off.csv; the UTC starts with Python's zoneinfo), history in
/// `xw_time_off`, a re-run that writes nothing, a Genesys id that survives a re-map, and
/// `crosswalk lookup` either way.
#[test]
fn paris_cutover_time_off_desired_state_and_crosswalk() {
    let cfg = template();
    let d = paris_offline(&cfg);
    let o = offline(d.path(), &cfg);
    assert_eq!(
        (
            o.time_off.mapped,
            o.time_off.held_back,
            o.time_off.not_loaded
        ),
        (8, 1, 2)
    );
    let c = Connection::open(d.path().join("zd2gc.db")).unwrap();
    type Row = (
        String,
        String,
        Option<String>,
        Option<String>,
        i64,
        String,
        String,
        Option<String>,
        String,
    );
    let row = |id: &str| -> Row {
        c.query_row(
            "SELECT status, activity_code_id, full_day_dates, partial_starts, daily_minutes, notes,
                    business_unit_id, held_back, line
             FROM desired_time_off WHERE time_off_request_id = ?1",
            [id],
            |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                    r.get(7)?,
                    r.get::<_, i64>(8)?.to_string(),
                ))
            },
        )
        .unwrap()
    };
    let n: i64 = c
        .query_row("SELECT COUNT(*) FROM desired_time_off", [], |r| r.get(0))
        .unwrap();
    assert_eq!(
        n, 9,
        "TO-304 (cancelled) and TO-305 (denied) are history only"
    );
    // Full days over the October DST weekend: two plain dates, 480 minutes each.
    let r = row("TO-309");
    assert_eq!(r.0, "APPROVED");
    assert_eq!(
        r.1, "0a81b33e-fb06-4b83-ad6c-907e34c733a0",
        "Congés payés, Paris"
    );
    assert_eq!(r.2.as_deref(), Some(r#"["2026-10-24","2026-10-25"]"#));
    assert_eq!((r.3.as_deref(), r.4), (None, 480));
    assert!(r.5.starts_with("zd2gc:"), "{}", r.5);
    assert!(r.5.ends_with(":TO-309\nPont de la Toussaint"), "{}", r.5);
    assert_eq!(
        (r.6.as_str(), r.7.as_deref(), r.8.as_str()),
        (PARIS_BU, None, "10")
    );
    // Local midnights to midnight: one date.
    assert_eq!(row("TO-306").2.as_deref(), Some(r#"["2026-10-26"]"#));
    // Partial days: UTC starts (CEST before the change, CET after), minutes from the instants.
    let r = row("TO-303");
    assert_eq!(r.0, "PENDING");
    assert_eq!(
        (r.2.as_deref(), r.3.as_deref(), r.4),
        (None, Some(r#"["2026-10-19T12:00:00Z"]"#), 120)
    );
    let r = row("TO-310");
    assert_eq!(
        (r.3.as_deref(), r.4),
        (Some(r#"["2026-10-28T08:00:00Z"]"#), 150)
    );
    assert!(
        r.5.ends_with(":TO-310\nDentiste, retour vers 11h30"),
        "{}",
        r.5
    );
    // The Americas unit's own code.
    let r = row("TO-308");
    assert_eq!(
        (r.1.as_str(), r.6.as_str()),
        ("ff1a18fa-75fd-4982-9ada-0dbd18a5c94c", AMERICAS_BU)
    );
    // The planted unknown reason: held back, no code.
    let r = row("TO-311");
    assert_eq!(
        (r.1.as_str(), r.7.as_deref()),
        ("", Some("unmapped-time-off-reason"))
    );
    // The marker names this migration: the same id load marks schedules with.
    let mig: String = c
        .query_row(
            "SELECT value FROM meta WHERE key = 'migration_id'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(row("TO-301").5, format!("zd2gc:{mig}:TO-301"));

    // The crosswalk keeps every request, history included.
    let xw: Vec<(String, String, String)> = {
        let mut st = c
            .prepare("SELECT time_off_request_id, status, action FROM xw_time_off ORDER BY 1")
            .unwrap();
        st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .map(|r| r.unwrap())
            .collect()
    };
    assert_eq!(xw.len(), 11);
    assert_eq!(
        xw[3],
        ("TO-304".into(), "cancelled".into(), "not-loaded".into())
    );
    assert_eq!(
        xw[4],
        ("TO-305".into(), "denied".into(), "not-loaded".into())
    );
    assert_eq!(xw[2], ("TO-303".into(), "requested".into(), "load".into()));
    assert_eq!(xw[10].2, "held-back");

    // What load fills in survives a re-map, and a re-map writes nothing.
    c.execute(
        "UPDATE xw_time_off SET genesys_time_off_request_id = 'g-to-301' WHERE time_off_request_id = 'TO-301'",
        [],
    )
    .unwrap();
    let o = offline(d.path(), &cfg);
    assert_eq!(o.time_off.changed, 0);
    let g: Option<String> = c
        .query_row(
            "SELECT genesys_time_off_request_id FROM xw_time_off WHERE time_off_request_id = 'TO-301'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(g.as_deref(), Some("g-to-301"));

    // crosswalk lookup, either way.
    let conn = zd2gc::store::open_state(d.path()).unwrap();
    let v = zd2gc::crosswalk::lookup(&conn, "g-to-301")
        .unwrap()
        .unwrap();
    assert_eq!(v["matched"], serde_json::json!(["genesys_time_off"]));
    assert_eq!(v["time_off"][0]["time_off_request_id"], "TO-301");
    let v = zd2gc::crosswalk::lookup(&conn, "TO-305").unwrap().unwrap();
    assert_eq!(v["time_off"][0]["action"], "not-loaded");
    assert_eq!(v["agents"][0]["agent_id"], "381447037");
    let out = cli()
        .args([
            "--dir",
            d.path().to_str().unwrap(),
            "crosswalk",
            "lookup",
            "TO-309",
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["matched"], serde_json::json!(["time_off"]));
    assert_eq!(
        v["time_off"][0]["full_day_dates"],
        r#"["2026-10-24","2026-10-25"]"#
    );
}

/// A partial-day request longer than a day has one start per local day at the start's wall-clock
/// time, each resolved on its own (CEST, then CET after 2026-10-25); and the JSON Lines form with
/// the API's names (`startDate`, `endDate`, `minutesPerDay`) gives full days as dates.
/// Expected instants from Python's zoneinfo.
#[test]
fn time_off_multi_day_partial_and_json_lines() {
    let cfg = template();
    let export = tempfile::tempdir().unwrap();
    write_files(
        export.path(),
        &[
            (
                "agents.csv",
                b"agent_id,name,email,timezone,location,team,deactivated\n381447016,A,a@x.test,,Paris,T1,false\n",
            ),
            (
                "shifts.csv",
                b"shift_id,agent_id,start_local,end_local\nS1,381447016,2026-11-02 09:00,2026-11-02 17:00\n",
            ),
            (
                "time_off.jsonl",
                "{\"id\":\"TO-1\",\"agentId\":\"381447016\",\"startLocal\":\"2026-10-24 09:00\",\"endLocal\":\"2026-10-26 12:00\",\"status\":\"approved\",\"reason\":\"RTT\"}\n{\"id\":\"TO-2\",\"agentId\":\"381447016\",\"startDate\":\"2026-10-28\",\"endDate\":\"2026-10-29\",\"minutesPerDay\":420,\"status\":\"pending\",\"reason\":\"RTT\",\"paid\":true}\n".as_bytes(),
            ),
        ],
    );
    let tables = offline_tables();
    let d = prepared(export.path(), &cfg, &as_refs(&tables));
    let o = offline(d.path(), &cfg);
    assert_eq!((o.time_off.mapped, o.time_off.held_back), (2, 0));
    let c = Connection::open(d.path().join("zd2gc.db")).unwrap();
    let get = |id: &str| -> (String, Option<String>, Option<String>, i64, i64, i64) {
        c.query_row(
            "SELECT status, full_day_dates, partial_starts, daily_minutes, paid, line FROM desired_time_off
             WHERE time_off_request_id = ?1",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?)),
        )
        .unwrap()
    };
    assert_eq!(
        get("TO-1"),
        (
            "APPROVED".into(),
            None,
            Some(
                r#"["2026-10-24T07:00:00Z","2026-10-25T08:00:00Z","2026-10-26T08:00:00Z"]"#.into()
            ),
            180,
            0,
            1
        )
    );
    assert_eq!(
        get("TO-2"),
        (
            "PENDING".into(),
            Some(r#"["2026-10-28","2026-10-29"]"#.into()),
            None,
            420,
            1,
            2
        )
    );
}

/// map counts the shift rows it reads into its progress display, against the total it announces
/// (the shift rows of the snapshot, counted here straight from shifts.csv).
#[test]
fn map_counts_its_shifts_for_the_progress_display() {
    let cfg = template();
    let d = paris_offline(&cfg);
    let ui = zd2gc::ui::Ui::silent();
    let bar = ui.spinner("map", "reading");
    let o = map_dir(
        d.path(),
        &cfg,
        &MapOptions {
            progress: bar.counter(),
            ..Default::default()
        },
    )
    .unwrap();
    let rows = std::fs::read_to_string(root().join("samples/paris-cutover/shifts.csv"))
        .unwrap()
        .lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .count() as u64;
    assert_eq!(o.shifts_read, rows);
    assert_eq!(bar.done(), (rows, Some(rows)));
}

/// A shift's desired row does not depend on the order `map` meets the shifts in, on which shifts
/// share a batch between its threads, or on the buffers a batch reuses from an earlier one: the
/// same generated records with counter ids (mapped nearly in file order) and with UUIDs (in random
/// order) give the same rows, activities, held-back reasons and findings, record by record, once
/// the ids are translated. 40 agents × 26 weeks: 5,200 shifts, 18,000 tasks, several batches.
#[test]
fn desired_rows_do_not_depend_on_the_order_shifts_are_mapped_in() {
    use std::collections::HashMap;
    use zd2gc::testdata::{IdStyle, generate_export_with, generate_mappings_with};
    let cfg = template();
    let agents = 40;
    let run = |ids: IdStyle| {
        let last = ids.agent_id(agents - 1).to_string();
        let d = tempfile::tempdir().unwrap();
        let export = d.path().join("export");
        let g = generate_export_with(&export, agents, 26, 7, ids).unwrap();
        generate_mappings_with(&d.path().join("mappings"), agents, ids).unwrap();
        // The last agent unmapped: its shifts are held back, with no activities.
        let table = d.path().join("mappings/agents.csv");
        let text = std::fs::read_to_string(&table).unwrap();
        let kept: Vec<&str> = text.lines().filter(|l| !l.starts_with(&last)).collect();
        assert_eq!(kept.len() + 1, text.lines().count());
        std::fs::write(&table, kept.join("\n") + "\n").unwrap();
        zd2gc::extract::extract(d.path(), &export, &cfg, |_| {}).unwrap();
        let o = offline(d.path(), &cfg);
        (d, g, o)
    };
    let (short, g, o_short) = run(IdStyle::Short);
    let (uuid, _, o_uuid) = run(IdStyle::Uuid);
    assert!(g.shifts > 5000, "{g:?}");
    // Every id of the UUID export, to its counter form.
    let mut to_short: HashMap<String, String> = HashMap::new();
    for (kind, n) in [("S", g.shifts), ("T", g.tasks)] {
        for i in 1..=n {
            to_short.insert(
                IdStyle::Uuid.record_id(kind, i),
                IdStyle::Short.record_id(kind, i),
            );
        }
    }
    for i in 0..agents {
        to_short.insert(
            IdStyle::Uuid.agent_id(i).to_string(),
            IdStyle::Short.agent_id(i).to_string(),
        );
    }
    let tr = |s: &str| -> String {
        s.split(' ')
            .map(|tok| {
                let (t, end) = match tok.strip_suffix(';') {
                    Some(t) => (t, ";"),
                    None => (tok, ""),
                };
                format!("{}{end}", to_short.get(t).map(String::as_str).unwrap_or(t))
            })
            .collect::<Vec<_>>()
            .join(" ")
    };
    let mut want = desired(short.path());
    let mut got: Vec<Vec<String>> = desired(uuid.path())
        .iter()
        .map(|row| row.iter().map(|c| tr(c)).collect())
        .collect();
    want.sort();
    got.sort();
    assert_eq!(
        want.len() as u64,
        o_short.shifts_mapped + o_short.shifts_held_back
    );
    assert!(
        want.iter().any(|r| r[8].matches(';').count() > 3),
        "activities with tasks"
    );
    assert_eq!(o_short.held_back_by_reason["unmapped-agent"], 26 * 5);
    assert_eq!(got, want);
    let mut want_f = findings(short.path());
    let mut got_f: Vec<_> = findings(uuid.path())
        .into_iter()
        .map(|(rule, file, line, id)| (rule, file, line, tr(&id)))
        .collect();
    want_f.sort();
    got_f.sort();
    assert_eq!(got_f, want_f);
    assert_eq!(
        (
            o_uuid.activities,
            &o_uuid.held_back_by_reason,
            &o_uuid.findings_by_rule
        ),
        (
            o_short.activities,
            &o_short.held_back_by_reason,
            &o_short.findings_by_rule
        )
    );
}
