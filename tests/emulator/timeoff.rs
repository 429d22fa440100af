//! Time-off requests: admin creates with no idempotency key, TimeOff-category codes only, full and
//! partial days, overlaps refused with 400, the query's 33-day / Pending rule, versioned status
//! changes an admin may make, the dump and fixture, and a create whose answer is dropped after it
//! was applied.

use super::support::*;
use serde_json::{Value, json};
use zd2gc::emulator::{Emulator, EmulatorConfig, Faults};

const TO: &str = "/api/v2/workforcemanagement/managementunits/mu-paris-1/timeoffrequests";

/// The test org with a TimeOff code (and a retired one) in Paris.
async fn to_env(faults: Faults) -> Env {
    let mut fx = fixture();
    let codes = &mut fx.business_units[0].activity_codes;
    codes.push(
        serde_json::from_value(
            json!({"id": "ac-leave", "name": "Holiday", "category": "TimeOff", "active": true}),
        )
        .unwrap(),
    );
    codes.push(
        serde_json::from_value(
            json!({"id": "ac-leave-old", "name": "Old leave", "category": "TimeOff", "active": false}),
        )
        .unwrap(),
    );
    let mut config = EmulatorConfig::with_fixture(fx);
    config.faults = faults;
    config.client_id = Some("test-client".into());
    config.client_secret = Some("test-secret".into());
    let emu = Emulator::start(config).expect("emulator starts");
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let mut e = Env {
        emu,
        http,
        token: String::new(),
    };
    e.token = e.new_token().await;
    e
}

fn full(user: &str, dates: &[&str], notes: &str) -> Value {
    json!({"status": "APPROVED", "users": [{"id": user}], "activityCodeId": "ac-leave",
           "notes": notes, "fullDayManagementUnitDates": dates, "dailyDurationMinutes": 480, "paid": true})
}

fn partial(user: &str, starts: &[&str], minutes: i64) -> Value {
    json!({"status": "PENDING", "users": [{"id": user}], "activityCodeId": "ac-leave",
           "notes": "zd2gc:m TO-2", "partialDayStartDateTimes": starts, "dailyDurationMinutes": minutes})
}

async fn code_of(r: reqwest::Response) -> (u16, Value) {
    let s = r.status().as_u16();
    (s, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn creates_full_and_partial_days_lists_and_dumps_them() {
    let e = to_env(Faults::default()).await;
    // Two full days over the October DST weekend in Paris (25 October 2026 has 25 hours).
    let (s, v) = code_of(
        e.post(
            TO,
            &full("u1", &["2026-10-24", "2026-10-25"], "zd2gc:m TO-1"),
        )
        .await,
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let r = &v["timeOffRequests"][0];
    assert_eq!(r["status"], "APPROVED");
    assert_eq!(r["isFullDayRequest"], true);
    assert_eq!(r["metadata"]["version"], 1);
    assert_eq!(r["notes"], "zd2gc:m TO-1");
    // A partial day the Monday after, after the 25-hour Sunday: no overlap.
    let (s, v) = code_of(
        e.post(TO, &partial("u1", &["2026-10-25T23:00:00Z"], 240))
            .await,
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["timeOffRequests"][0]["status"], "PENDING");
    let list: Value = e
        .get(&format!(
            "{WFM}/managementunits/mu-paris-1/users/u1/timeoffrequests"
        ))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["timeOffRequests"].as_array().unwrap().len(), 2);
    let d = e.emu.dump();
    assert_eq!(d.org.time_off_requests.len(), 2);
    assert_eq!(d.org.time_off_requests[0].management_unit_id, "mu-paris-1");
    // A dump is a fixture: reloading it keeps the requests, their ids and versions.
    e.emu.load_dump(&d).unwrap();
    assert_eq!(e.emu.dump().org.time_off_requests, d.org.time_off_requests);
}

#[tokio::test]
async fn refusals_create_nothing() {
    let e = to_env(Faults::default()).await;
    let (s, _) = code_of(e.post(TO, &full("u1", &["2026-10-24"], "a")).await).await;
    assert_eq!(s, 200);
    let mut denied = full("u2", &["2026-10-24"], "b");
    denied["status"] = json!("DENIED");
    let mut work_code = full("u2", &["2026-10-24"], "c");
    work_code["activityCodeId"] = json!("ac-work");
    let mut retired = full("u2", &["2026-10-24"], "c");
    retired["activityCodeId"] = json!("ac-leave-old");
    let mut unknown = full("u2", &["2026-10-24"], "c");
    unknown["activityCodeId"] = json!("ac-ny");
    let mut both = full("u2", &["2026-10-24"], "d");
    both["partialDayStartDateTimes"] = json!(["2026-10-24T08:00:00Z"]);
    let mut no_minutes = full("u2", &["2026-10-24"], "e");
    no_minutes
        .as_object_mut()
        .unwrap()
        .remove("dailyDurationMinutes");
    let cases = [
        (denied, "status"),
        (work_code, "OnQueueWork"),
        (retired, "inactive"),
        (unknown, "not an activity code"),
        (both, "exactly one"),
        (no_minutes, "dailyDurationMinutes"),
        (partial("u2", &["2026-10-24T08:00:30Z"], 60), "whole minute"),
        (full("u4", &["2026-10-24"], "f"), "not in management unit"),
        // Overlaps u1's full day (local midnight to midnight): refused, naming the other request.
        (partial("u1", &["2026-10-24T21:30:00Z"], 60), "overlaps"),
        (full("u1", &["2026-10-23", "2026-10-24"], "g"), "overlaps"),
        (
            partial("u2", &["2026-10-24T08:00:00Z", "2026-10-24T09:00:00Z"], 120),
            "overlap each other",
        ),
    ];
    for (body, why) in cases {
        let (s, v) = code_of(e.post(TO, &body).await).await;
        assert_eq!(s, 400, "{body} → {v}");
        assert!(v["message"].as_str().unwrap().contains(why), "{why}: {v}");
    }
    // Just outside the Paris day (22:00 UTC is local midnight in summer time): accepted.
    let (s, v) = code_of(
        e.post(TO, &partial("u1", &["2026-10-24T22:00:00Z"], 60))
            .await,
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(e.emu.dump().org.time_off_requests.len(), 2);
}

#[tokio::test]
async fn the_query_needs_pending_or_at_most_33_days() {
    let e = to_env(Faults::default()).await;
    e.post(TO, &full("u1", &["2026-10-24"], "a")).await;
    e.post(TO, &partial("u2", &["2026-11-30T09:00:00Z"], 60))
        .await;
    let q = format!("{TO}/query");
    let range = |a: &str, b: &str| json!({"startDate": a, "endDate": b});
    // 33 days inclusive: accepted; 34: refused; none and not Pending-only: refused.
    let (s, v) = code_of(
        e.post(&q, &json!({"dateRange": range("2026-10-01", "2026-11-02")}))
            .await,
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["entities"].as_array().unwrap().len(), 1);
    assert_eq!(v["entities"][0]["user"]["id"], "u1");
    let (s, v) = code_of(
        e.post(&q, &json!({"dateRange": range("2026-10-01", "2026-11-03")}))
            .await,
    )
    .await;
    assert_eq!(s, 400, "{v}");
    let (s, _) = code_of(e.post(&q, &json!({"statuses": ["Approved"]})).await).await;
    assert_eq!(s, 400);
    let (s, _) = code_of(
        e.post(&q, &json!({"statuses": ["Pending", "Approved"]}))
            .await,
    )
    .await;
    assert_eq!(s, 400);
    let (s, v) = code_of(e.post(&q, &json!({"statuses": ["Pending"]})).await).await;
    assert_eq!(s, 200);
    let ents = v["entities"].as_array().unwrap();
    assert_eq!(ents.len(), 1);
    assert_eq!(ents[0]["user"]["id"], "u2");
    // userIds filter, and a window that holds neither.
    let (s, v) = code_of(
        e.post(
            &q,
            &json!({"userIds": ["u2"], "dateRange": range("2026-10-01", "2026-11-02")}),
        )
        .await,
    )
    .await;
    assert_eq!(s, 200);
    assert!(v["entities"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn status_changes_are_versioned_and_there_is_no_idempotency() {
    let e = to_env(Faults::default()).await;
    let body = full("u1", &["2026-10-24"], "zd2gc:m TO-1");
    let v: Value = e.post(TO, &body).await.json().await.unwrap();
    let id = v["timeOffRequests"][0]["id"].as_str().unwrap().to_string();
    // The same body again is not recognised as a repeat: it is refused only because it overlaps.
    let (s, v) = code_of(e.post(TO, &body).await).await;
    assert_eq!(s, 400);
    assert_eq!(v["entityId"], id.as_str());
    let path = format!("{WFM}/managementunits/mu-paris-1/users/u1/timeoffrequests/{id}");
    let patch =
        |status: &str, version: i64| json!({"status": status, "metadata": {"version": version}});
    let send = |b: Value| {
        e.http
            .patch(e.url(&path))
            .bearer_auth(&e.token)
            .json(&b)
            .send()
    };
    assert_eq!(send(patch("DENIED", 7)).await.unwrap().status(), 409);
    assert_eq!(send(patch("CANCELED", 1)).await.unwrap().status(), 400);
    let r = send(patch("DENIED", 1)).await.unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(
        (v["status"].as_str(), v["metadata"]["version"].as_i64()),
        (Some("DENIED"), Some(2))
    );
    // Denied, it holds no days: the same body now creates a second request with a new id.
    let (s, v) = code_of(e.post(TO, &body).await).await;
    assert_eq!(s, 200);
    assert_ne!(v["timeOffRequests"][0]["id"], id.as_str());
    // Reviving the denied one would overlap the new one.
    assert_eq!(send(patch("APPROVED", 2)).await.unwrap().status(), 400);
    let got: Value = e.get(&path).await.json().await.unwrap();
    assert_eq!(got["metadata"]["version"], 2);
}

#[tokio::test]
async fn a_create_whose_answer_is_dropped_was_applied() {
    let e = to_env(Faults::default()).await;
    e.emu
        .set_faults(Faults {
            drop_rate: 1.0,
            ..Faults::default()
        })
        .unwrap();
    let r = e
        .http
        .post(e.url(TO))
        .bearer_auth(&e.token)
        .json(&full("u3", &["2026-10-26"], "zd2gc:m TO-9"))
        .send()
        .await;
    assert!(r.is_err(), "the answer is dropped");
    e.emu.set_faults(Faults::default()).unwrap();
    let d = e.emu.dump();
    assert_eq!(d.org.time_off_requests.len(), 1);
    assert_eq!(d.org.time_off_requests[0].request.notes, "zd2gc:m TO-9");
}
