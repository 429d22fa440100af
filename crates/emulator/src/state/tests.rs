//! The rules of the state as plain functions of it: patch semantics, versions, asynchronous
//! operations, late failures and locks, with time given as arguments (no server, no sleeping).

use super::{ApiError, State, Upload, UploadTarget};
use crate::clock::Clock;
use crate::faults::Faults;
use crate::fixture::{Dump, Fixture};
use chrono::NaiveDate;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

const BU: &str = "bu-paris";
const WEEK: &str = "2026-10-19";
const SCHED: &str = "sc-1";

/// Paris (Monday weeks), one schedule: u1 with sh-1 and sh-2, u2 with sh-3; u3 has none.
fn fixture() -> Fixture {
    let shift = |id: &str, start: &str| json!({"id": id, "startDate": start, "lengthMinutes": 480, "activities": [{"activityCodeId": "ac-work", "startDate": start, "lengthMinutes": 480, "description": "Work"}]});
    serde_json::from_value(json!({
        "org": {"id": "org-1", "name": "Test org"},
        "users": [
            {"id": "u1", "name": "One", "email": "one@acme.example"},
            {"id": "u2", "name": "Two", "email": "two@acme.example"},
            {"id": "u3", "name": "Three", "email": "three@acme.example"}
        ],
        "businessUnits": [{"id": BU, "name": "Paris", "timeZone": "Europe/Paris", "startDayOfWeek": "Monday",
            "activityCodes": [{"id": "ac-work", "name": "Work", "category": "OnQueueWork", "active": true}],
            "managementUnits": [{"id": "mu-1", "name": "Tier 1", "userIds": ["u1", "u2", "u3"]}]}],
        "schedules": [{"id": SCHED, "businessUnitId": BU, "weekId": WEEK, "description": "Planner's week", "published": true,
            "agentSchedules": [
                {"userId": "u1", "shifts": [shift("sh-1", "2026-10-19T07:00:00Z"), shift("sh-2", "2026-10-20T07:00:00Z")]},
                {"userId": "u2", "shifts": [shift("sh-3", "2026-10-19T08:00:00Z")]}
            ]}]
    }))
    .expect("fixture parses")
}

fn state(faults: Faults) -> State {
    let mut st = State::new("id".into(), "secret".into(), faults, Clock::system());
    st.load(&Dump {
        org: fixture(),
        ..Dump::default()
    })
    .expect("fixture loads");
    st
}

/// What a client `PUT`s: the body gzipped (an upload is kept as it came).
fn gzip(json: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(json).unwrap();
    enc.finish().unwrap()
}

/// An update body, uploaded for the schedule (the upload URL's own checks are http.rs's tests).
fn upload(st: &mut State, body: Value) -> String {
    let key = format!("key-{}", st.uploads.len());
    st.uploads.insert(
        key.clone(),
        Upload {
            target: UploadTarget::Update {
                bu: BU.into(),
                week: NaiveDate::from_ymd_opt(2026, 10, 19).unwrap(),
                schedule: SCHED.into(),
            },
            content_length: 0,
            headers: Default::default(),
            body: Some(gzip(&serde_json::to_vec(&body).unwrap())),
        },
    );
    key
}

fn update(st: &mut State, body: Value, now: Instant) -> Result<(u16, String), ApiError> {
    let key = upload(st, body);
    st.process_update(BU, WEEK, SCHED, None, &key, now)
        .map(|a| (a.status, a.body.status))
}

/// Move u1's sh-1 to 10:00 for an hour.
fn move_sh1(schedule_version: i64, agent_version: i64) -> Value {
    json!({"metadata": {"version": schedule_version}, "agentSchedules": [{"userId": "u1",
        "metadata": {"version": agent_version},
        "shifts": [{"id": "sh-1", "startDate": "2026-10-19T10:00:00Z", "lengthMinutes": 60}]}]})
}

fn versions(st: &State) -> (i64, i64, i64) {
    let s = &st.schedules[SCHED];
    (s.version, s.agents["u1"].version, s.agents["u2"].version)
}

fn shifts(st: &State, user: &str) -> Vec<(String, String, i64)> {
    st.schedules[SCHED].agents[user]
        .shifts
        .iter()
        .map(|s| {
            (
                s.id.clone(),
                genesys::model::format_instant(s.start),
                s.length,
            )
        })
        .collect()
}

fn statuses(st: &State) -> Vec<&str> {
    st.operations
        .iter()
        .map(|o| o.record.status.as_str())
        .collect()
}

#[test]
fn an_update_patches_shifts_by_id_and_bumps_only_the_versions_it_touches() {
    let mut st = state(Faults::default());
    let body = json!({"metadata": {"version": 1}, "agentSchedules": [
        {"userId": "u1", "metadata": {"version": 1}, "shifts": [
            {"id": "sh-1", "startDate": "2026-10-19T10:00:00Z", "lengthMinutes": 60},
            {"id": "sh-2", "delete": true},
            {"startDate": "2026-10-21T07:00:00Z", "lengthMinutes": 120}]},
        {"userId": "u3", "shifts": [{"startDate": "2026-10-22T07:00:00Z", "lengthMinutes": 30}]}]});
    assert_eq!(
        update(&mut st, body, Instant::now()).unwrap(),
        (200, "Complete".into())
    );
    // Replaced by id, deleted by id, added without an id; u2, not in the body, is untouched.
    let u1 = shifts(&st, "u1");
    assert_eq!(u1.len(), 2, "{u1:?}");
    assert_eq!(
        u1[0],
        ("sh-1".into(), "2026-10-19T10:00:00.000Z".into(), 60)
    );
    assert_eq!(
        (u1[1].1.as_str(), u1[1].2),
        ("2026-10-21T07:00:00.000Z", 120)
    );
    assert_ne!(u1[1].0, "sh-2");
    assert_eq!(
        shifts(&st, "u2"),
        [("sh-3".into(), "2026-10-19T08:00:00.000Z".into(), 480)]
    );
    // The schedule and each agent schedule it changed go up by one; a new agent schedule starts at 1.
    assert_eq!(versions(&st), (2, 2, 1));
    assert_eq!(st.schedules[SCHED].agents["u3"].version, 1);
}

#[test]
fn a_stale_or_missing_version_is_refused_at_submit_and_changes_nothing() {
    let mut st = state(Faults::default());
    let now = Instant::now();
    for (body, says) in [
        (move_sh1(7, 1), "metadata.version 7 of schedule sc-1"),
        (
            move_sh1(1, 5),
            "metadata.version 5 of the agent schedule of user u1",
        ),
        (
            json!({"metadata": {"version": 1}, "agentSchedules": [{"userId": "u1",
                "shifts": [{"id": "sh-1", "startDate": "2026-10-19T10:00:00Z", "lengthMinutes": 60}]}]}),
            "its metadata.version is required",
        ),
    ] {
        let e = update(&mut st, body, now).unwrap_err();
        assert_eq!((e.status, e.code), (409, "general.conflict"));
        assert!(e.message.contains(says), "{}", e.message);
    }
    assert_eq!(versions(&st), (1, 1, 1));
    assert_eq!(shifts(&st, "u1")[0].1, "2026-10-19T07:00:00.000Z");
    assert!(st.operations.is_empty(), "a refused write is no operation");
}

#[test]
fn an_update_stays_processing_until_its_due_time_and_the_second_of_two_overlapping_fails() {
    let mut st = state(Faults {
        processing_ms: 300,
        ..Faults::default()
    });
    let t0 = Instant::now();
    let second = json!({"metadata": {"version": 1}, "agentSchedules": [{"userId": "u1",
        "metadata": {"version": 1},
        "shifts": [{"id": "sh-1", "startDate": "2026-10-19T11:00:00Z", "lengthMinutes": 60}]}]});
    assert_eq!(
        update(&mut st, move_sh1(1, 1), t0).unwrap(),
        (202, "Processing".into())
    );
    assert_eq!(
        update(&mut st, second, t0).unwrap(),
        (202, "Processing".into())
    );
    st.settle(t0 + Duration::from_millis(299));
    assert_eq!(versions(&st), (1, 1, 1), "nothing visible while processing");
    assert_eq!(statuses(&st), ["Processing", "Processing"]);
    st.settle(t0 + Duration::from_millis(300));
    // In submission order: the first applies, the second's versions are no longer current.
    assert_eq!(statuses(&st), ["Complete", "Error"]);
    assert!(
        st.operations[1]
            .record
            .error
            .as_deref()
            .unwrap()
            .contains("does not match the current version 2")
    );
    assert_eq!(versions(&st), (2, 2, 1));
    assert_eq!(shifts(&st, "u1")[0].1, "2026-10-19T10:00:00.000Z");
    // Settling again changes nothing.
    st.settle(t0 + Duration::from_secs(60));
    assert_eq!(versions(&st), (2, 2, 1));
}

#[test]
fn a_late_error_is_accepted_then_applies_nothing() {
    let mut st = state(Faults {
        late_error_rate: 1.0,
        ..Faults::default()
    });
    assert_eq!(
        update(&mut st, move_sh1(1, 1), Instant::now()).unwrap(),
        (200, "Error".into())
    );
    assert_eq!(versions(&st), (1, 1, 1));
    assert_eq!(shifts(&st, "u1")[0].1, "2026-10-19T07:00:00.000Z");
    let mut st = state(Faults {
        late_error_rate: 1.0,
        processing_ms: 100,
        ..Faults::default()
    });
    let t0 = Instant::now();
    assert_eq!(update(&mut st, move_sh1(1, 1), t0).unwrap().0, 202);
    st.settle(t0 + Duration::from_millis(100));
    assert_eq!(statuses(&st), ["Error"]);
    assert_eq!(versions(&st), (1, 1, 1));
}

#[test]
fn a_lock_refuses_writes_until_it_expires() {
    let mut st = state(Faults::default());
    let t0 = Instant::now();
    st.lock(SCHED, 200, t0).unwrap();
    let e = update(&mut st, move_sh1(1, 1), t0 + Duration::from_millis(199)).unwrap_err();
    assert_eq!(e, ApiError::locked());
    assert_eq!(versions(&st), (1, 1, 1));
    assert_eq!(
        update(&mut st, move_sh1(1, 1), t0 + Duration::from_millis(200))
            .unwrap()
            .0,
        200
    );
    assert_eq!(versions(&st), (2, 2, 1));
    assert_eq!(
        st.lock("sc-none", 200, t0).unwrap_err().status,
        404,
        "only a schedule that exists"
    );
}
