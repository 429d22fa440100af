//! `status` and `plan` as a person reads them: names not ids, a summary first, each parked
//! conflict as a short aligned diff in the unit's local time with the commands that resolve it.

use crate::common::zd2gc;
use std::path::Path;

fn rehearsed() -> tempfile::TempDir {
    let work = tempfile::tempdir().unwrap();
    zd2gc()
        .args(["--quiet", "rehearse", "--no-faults", "--workdir"])
        .arg(work.path().join("r"))
        .assert()
        .success();
    work
}

fn status(d: &Path, json: bool) -> String {
    let mut c = zd2gc();
    c.args(["--dir", d.to_str().unwrap()]);
    if json {
        c.arg("--json");
    }
    let out = c.arg("status").output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The rehearsal of the sample, with parked conflicts as a load records them (the sample's own
/// conflicts are adopted since descriptions no longer park): a planner moved one shift by 30
/// minutes and shortened it; two more in the same week.
#[test]
fn status_on_the_sample_is_a_summary_and_readable_diffs_under_4_kb() {
    let work = rehearsed();
    let d = work.path().join("r");
    let conn = rusqlite::Connection::open(d.join("zd2gc.db")).unwrap();
    let shifts: Vec<(String, String, String, String, i64, i64)> = conn
        .prepare(
            "SELECT legacy_shift_id, user_id, business_unit_id, week_id, start_utc, length_minutes
             FROM desired_shifts WHERE week_id = '2026-10-19' AND user_id IS NOT NULL
             AND held_back_reason IS NULL ORDER BY legacy_shift_id LIMIT 3",
        )
        .unwrap()
        .query_map([], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
            ))
        })
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(shifts.len(), 3);
    for (legacy, user, bu, week, start, len) in &shifts {
        let ours = serde_json::json!({"user": user, "start": start, "len": len, "acts": []});
        let theirs =
            serde_json::json!({"user": user, "start": start + 1800, "len": len - 30, "acts": []});
        conn.execute(
            "INSERT INTO load_conflicts (run_id, business_unit_id, week_id, user_id, legacy_shift_id,
                kind, resolution, base, ours, theirs, at, active)
             VALUES (1, ?1, ?2, ?3, ?4, 'both-changed', 'parked', ?5, ?5, ?6, '2026-12-06T00:00:00Z', 1)",
            rusqlite::params![bu, week, user, legacy, ours.to_string(), theirs.to_string()],
        )
        .unwrap();
    }
    drop(conn);
    let out = status(&d, false);
    assert!(out.len() < 4096, "{} bytes:\n{out}", out.len());
    // The summary first.
    assert!(out.starts_with("weeks "), "{out}");
    for k in ["shifts ", "time off ", "failures ", "conflicts  3 parked"] {
        assert!(out.contains(k), "{k}: {out}");
    }
    // Names, not ids.
    assert!(out.contains("Paris Contact Centre"), "{out}");
    assert!(
        !out.contains("5eac3200-a43b-4440-a8a1-a35668257610"),
        "{out}"
    );
    assert!(!out.contains(&shifts[0].1), "a user id: {out}");
    // The first conflict: start and length differ, in Paris time (computed with Python's zoneinfo
    // for start_utc 1792389600: Mon 2026-10-19 08:00 / 08:30), activities do not.
    assert_eq!(
        shifts[0].4, 1792389600,
        "the fixture the expected times were computed for"
    );
    let block = &out[out.find(&format!("shift {}", shifts[0].0)).unwrap()..];
    let block = &block[..block.find("\n\n").unwrap_or(block.len())];
    let start = block
        .lines()
        .find(|l| l.trim_start().starts_with("start"))
        .unwrap();
    assert!(
        start.contains("Mon 2026-10-19 08:00") && start.contains("Mon 2026-10-19 08:30"),
        "{block}"
    );
    assert!(
        block.lines().any(|l| l.trim_start().starts_with("length")
            && l.contains("8h00")
            && l.contains("7h30")),
        "{block}"
    );
    assert!(!block.contains("activities"), "{block}");
    // Aligned: the wanted column starts at the same place in each row of the diff.
    let col = |l: &str| {
        l.find("Mon ")
            .or_else(|| l.find("8h00"))
            .or_else(|| l.find("wanted"))
    };
    let cols: Vec<usize> = block.lines().skip(1).filter_map(col).collect();
    assert!(
        cols.len() >= 3 && cols.iter().all(|c| *c == cols[0]),
        "{block}"
    );
    // The way forward.
    assert!(out.contains("--on-conflict ours"), "{out}");
    // --json keeps the ids and both sides.
    let v: serde_json::Value = serde_json::from_str(&status(&d, true)).unwrap();
    assert_eq!(v["conflicts"].as_array().unwrap().len(), 3);
    assert_eq!(
        v["conflicts"][0]["business_unit_id"],
        "5eac3200-a43b-4440-a8a1-a35668257610"
    );
    assert!(v["conflicts"][0]["theirs"]["start"].is_i64());
}
