//! `status` and `plan` as a person reads them: names not ids, a summary first, each parked
//! conflict as a short aligned diff in the unit's local time with the commands that resolve it —
//! on conflicts inserted as a load records them (several at once, a length row) and on one parked
//! by a real load after a planner's edit in Genesys.

use crate::common::{root, run_at, zd2gc};
use std::path::Path;
use zd2gc::emulator::RunningEmulator;

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

/// What a planner does in Genesys: read the agent's schedule of the week, move the start of one
/// shift 30 minutes later (its end stays: the first activity starts later and is 30 minutes
/// shorter), and save it — upload URL, upload, update with the versions read. Returns once a read
/// shows the edit.
fn planner_moves_the_start(
    emu: &RunningEmulator,
    (bu, week, schedule, mu, user, gid): (&str, &str, &str, &str, &str, &str),
) {
    use zd2gc::client::enc;
    use zd2gc::client::retry::CallKind;
    use zd2gc::genesys::model as m;
    let client = crate::common::emulator_client(emu);
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let base = format!(
            "/api/v2/workforcemanagement/businessunits/{}/weeks/{}/schedules/{}",
            enc(bu),
            enc(week),
            enc(schedule)
        );
        let read = || async {
            let q: m::BuAsyncAgentSchedulesQueryResponse = client
                .call(
                    reqwest::Method::POST,
                    &format!("{base}/agentschedules/query"),
                    Some(&m::BuQueryAgentSchedulesRequest {
                        management_unit_id: mu.to_string(),
                        user_ids: Some(vec![user.to_string()]),
                    }),
                    CallKind::Read,
                )
                .await
                .unwrap();
            let res = match (q.result, q.download_url) {
                (Some(r), _) => r,
                (None, Some(url)) => client.download(&url).await.unwrap(),
                (None, None) => panic!("the query answered {}", q.status),
            };
            res.agent_schedules
                .into_iter()
                .find(|a| a.user.id == user)
                .expect("the agent's schedule")
        };
        let agent = read().await;
        let shift = agent
            .shifts
            .iter()
            .find(|s| s.id.as_deref() == Some(gid))
            .expect("the loaded shift")
            .clone();
        let later = |iso: &str| {
            (chrono::DateTime::parse_from_rfc3339(iso).unwrap() + chrono::Duration::minutes(30))
                .to_utc()
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        };
        let mut acts = shift.activities.clone();
        acts.sort_by(|a, b| a.start_date.cmp(&b.start_date));
        assert!(acts[0].length_minutes > 30, "{acts:?}");
        acts[0].start_date = later(&acts[0].start_date);
        acts[0].length_minutes -= 30;
        let moved_start = later(&shift.start_date);
        let listing: m::Listing<m::BuScheduleMetadata> = client
            .get(&format!(
                "/api/v2/workforcemanagement/businessunits/{}/weeks/{}/schedules",
                enc(bu),
                enc(week)
            ))
            .await
            .unwrap();
        let version = listing
            .entities
            .iter()
            .find(|s| s.id == schedule)
            .unwrap()
            .metadata
            .version;
        let body = m::UpdateScheduleUploadSchema {
            metadata: m::WfmVersionedEntityMetadata::version(version),
            description: None,
            published: None,
            agent_schedules: vec![m::BuUpdateAgentScheduleUploadSchema {
                user_id: user.to_string(),
                shifts: vec![m::BuUpdateAgentScheduleShift {
                    id: Some(gid.to_string()),
                    start_date: Some(moved_start.clone()),
                    length_minutes: Some(shift.length_minutes - 30),
                    activities: Some(acts),
                    delete: None,
                }],
                metadata: Some(agent.metadata.clone()),
                delete: None,
            }],
        };
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut gz, &serde_json::to_vec(&body).unwrap()).unwrap();
        let bytes = gz.finish().unwrap();
        let up: m::UploadUrlResponse = client
            .call(
                reqwest::Method::POST,
                &format!("{base}/update/uploadurl"),
                Some(&m::UploadUrlRequestBody {
                    content_length_bytes: bytes.len() as u64,
                }),
                CallKind::Read,
            )
            .await
            .unwrap();
        client
            .put_upload(&up.url, &up.headers, bytes)
            .await
            .unwrap();
        let done: m::AsyncScheduleResponse = client
            .call(
                reqwest::Method::POST,
                &format!("{base}/update"),
                Some(&m::ProcessUploadRequest {
                    upload_key: up.upload_key,
                }),
                CallKind::Write,
            )
            .await
            .unwrap();
        assert_ne!(done.status, "Error", "{done:?}");
        // The update may be processed asynchronously: read until it shows (bounded).
        let instant = |iso: &str| chrono::DateTime::parse_from_rfc3339(iso).unwrap();
        for _ in 0..100 {
            let a = read().await;
            if a.shifts.iter().any(|s| {
                s.id.as_deref() == Some(gid) && instant(&s.start_date) == instant(&moved_start)
            }) {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!(
            "the planner's edit never showed: {done:?}\n{:?}",
            read().await
        );
    });
}

/// A conflict parked the way it happens on cutover night, nothing inserted into the database: the
/// sample is loaded into the emulator; a planner moves the start of shift S-10011 (Mon 19 October,
/// 08:00–16:00 in Paris) to 08:30 in Genesys; the newer export ends the same shift at 15:30;
/// extract, map and load again park the conflict; `status` shows it as a short diff.
#[test]
fn status_shows_a_conflict_parked_by_a_real_load_as_a_readable_diff() {
    let emu = crate::common::sample_emulator();
    let work = tempfile::tempdir().unwrap();
    let d = work.path().join("m");
    let export = work.path().join("export");
    crate::common::copy_sample_export(&export);
    let ex = export.to_str().unwrap();
    let ok = |args: &[&str], codes: &[i32]| {
        let (code, out, err) = run_at(&d, &emu, args);
        assert!(codes.contains(&code), "{args:?}: exit {code}\n{err}");
        out
    };
    let tables = root().join("mappings");
    ok(
        &[
            "init",
            d.to_str().unwrap(),
            "--mappings",
            tables.to_str().unwrap(),
        ],
        &[0],
    );
    let pipeline = |codes: &[i32]| {
        ok(&["extract", ex], &[0, 1]);
        ok(&["map", "--online"], &[0, 1]);
        ok(&["validate"], &[0, 1]);
        ok(&["load", "--allow-errors", "--max-rpm", "20000"], codes);
    };
    pipeline(&[0, 1]);
    // S-10011 as loaded.
    let conn = rusqlite::Connection::open(d.join("zd2gc.db")).unwrap();
    let (user, bu, week, schedule, gid): (String, String, String, String, String) = conn
        .query_row(
            "SELECT user_id, business_unit_id, week_id, schedule_id, genesys_shift_id
             FROM xw_shifts WHERE legacy_shift_id = 'S-10011'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
        )
        .unwrap();
    let mu: String = conn
        .query_row(
            "SELECT management_unit_id FROM desired_shifts WHERE legacy_shift_id = 'S-10011'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    drop(conn);
    planner_moves_the_start(&emu, (&bu, &week, &schedule, &mu, &user, &gid));
    // The newer export: S-10011 ends at 15:30 instead of 16:00.
    let shifts = export.join("shifts.csv");
    let text = std::fs::read_to_string(&shifts).unwrap();
    let old = "S-10011,381447003,2026-10-19 08:00,2026-10-19 16:00,";
    assert!(text.contains(old));
    std::fs::write(
        &shifts,
        text.replace(old, "S-10011,381447003,2026-10-19 08:00,2026-10-19 15:30,"),
    )
    .unwrap();
    pipeline(&[0, 1, 4]);

    let out = status(&d, false);
    assert!(out.len() < 4096, "{} bytes:\n{out}", out.len());
    assert!(out.starts_with("weeks "), "{out}");
    assert!(out.contains("conflicts  1 parked"), "{out}");
    assert!(out.contains("Paris Contact Centre"), "{out}");
    assert!(!out.contains(&bu), "a business unit id: {out}");
    assert!(!out.contains(&user), "a user id: {out}");
    let block = &out[out.find("shift S-10011").expect("the conflict of S-10011")..];
    let block = &block[..block.find("\n\n").unwrap_or(block.len())];
    // Wanted: the export's own start (08:00 local, a Monday); Genesys: the planner's 08:30
    // (Python's zoneinfo: 2026-10-19 06:00 UTC + 30 min is 08:30 in Europe/Paris, CEST).
    let start = block
        .lines()
        .find(|l| l.trim_start().starts_with("start"))
        .unwrap_or_else(|| panic!("a start row: {block}"));
    assert!(
        start.contains("Mon 2026-10-19 08:00") && start.contains("Mon 2026-10-19 08:30"),
        "{block}"
    );
    assert!(
        start.find("08:00").unwrap() < start.find("08:30").unwrap(),
        "wanted first, then Genesys: {block}"
    );
    // Both last 7h30 (08:00–15:30 and 08:30–16:00): no length row, only what differs.
    assert!(
        !block.lines().any(|l| l.trim_start().starts_with("length")),
        "{block}"
    );
    // Only the activities that differ, one a row, wanted then Genesys: the first task (Chat,
    // 08:00–09:30 in the export) starts 30 minutes later in Genesys, and the last stretch (after
    // the 14:00–14:15 break, to the shift's end) runs to 15:30 in the export, 16:00 in Genesys.
    let acts: Vec<Vec<&str>> = block
        .lines()
        .skip_while(|l| !l.trim_start().starts_with("activities"))
        .map(|l| {
            l.trim_start()
                .trim_start_matches("activities")
                .split("  ")
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .collect()
        })
        .collect();
    assert_eq!(
        acts,
        [
            ["Chat 08:00+90m", "Chat 08:30+60m"],
            ["On Queue Work 14:15+75m", "On Queue Work 14:15+105m"]
        ],
        "{block}"
    );
    assert!(!block.contains("Break"), "the same on both sides: {block}");
    // The way forward.
    assert!(out.contains("--on-conflict ours"), "{out}");
    // --json keeps the ids and both sides.
    let v: serde_json::Value = serde_json::from_str(&status(&d, true)).unwrap();
    let c = &v["conflicts"].as_array().unwrap();
    assert_eq!(c.len(), 1, "{v}");
    assert_eq!(c[0]["legacy_shift_id"], "S-10011");
    assert_eq!(c[0]["business_unit_id"], bu.as_str());
    assert_eq!(
        c[0]["theirs"]["start"].as_i64().unwrap() - c[0]["ours"]["start"].as_i64().unwrap(),
        1800
    );
}
