//! Writes: imports and updates through upload URLs, validation, patch semantics, optimistic locking,
//! asynchronous processing and racing writers.

use super::support::*;
use serde_json::{Value, json};
use zd2gc::emulator::Faults;

fn import_body(marker: &str) -> Value {
    json!({"description": marker, "weekCount": 1, "published": true,
           "agentSchedules": [{"userId": "u3", "shifts": [shift(None, "2026-10-21T06:00:00Z", 300)]}]})
}

#[tokio::test]
async fn import_creates_a_schedule_and_a_reused_key_imports_twice() {
    let e = quiet_env().await;
    let base = format!("{WFM}/businessunits/{BU}/weeks/{WEEK}/schedules/import");
    let key = e
        .upload(
            &format!("{base}/uploadurl"),
            &import_body("zd2gc:run-1"),
            None,
        )
        .await;
    let r = e.post(&base, &json!({"uploadKey": key})).await;
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["status"], "Complete");
    assert!(v["operationId"].is_string());
    assert_eq!(v["result"]["metadata"]["version"], 1);
    assert_eq!(v["result"]["description"], "zd2gc:run-1");
    let again = e.post(&base, &json!({"uploadKey": key})).await;
    assert_eq!(again.status(), 200);
    let list: Value = e
        .get(&format!("{WFM}/businessunits/{BU}/weeks/{WEEK}/schedules"))
        .await
        .json()
        .await
        .unwrap();
    let imported = list["entities"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["description"] == "zd2gc:run-1")
        .count();
    assert_eq!(imported, 2, "an upload key is not single use");
    let sid = v["result"]["id"].as_str().unwrap();
    let agents = e.agents(sid).await;
    assert_eq!(agents["u3"]["shifts"][0]["lengthMinutes"], 300);
    assert!(
        agents["u3"]["shifts"][0]["id"].is_string(),
        "shifts get ids"
    );
}

#[tokio::test]
async fn the_upload_put_is_checked_like_a_signed_url() {
    let e = quiet_env().await;
    let gz = gzip(&import_body("x"));
    let r = e
        .post(
            &format!("{WFM}/businessunits/{BU}/weeks/{WEEK}/schedules/import/uploadurl"),
            &json!({"contentLengthBytes": gz.len()}),
        )
        .await;
    let up: Value = r.json().await.unwrap();
    let url = up["url"].as_str().unwrap();
    let headers: Vec<(String, String)> = up["headers"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
        .collect();
    assert!(
        headers
            .iter()
            .any(|(k, v)| k == "Content-Encoding" && v == "gzip")
    );
    let put = |body: Vec<u8>, skip: Option<&str>, bearer: bool| {
        let mut rb = e.http.put(url).body(body);
        for (k, v) in &headers {
            if Some(k.as_str()) != skip {
                rb = rb.header(k, v);
            }
        }
        if bearer {
            rb = rb.bearer_auth(&e.token);
        }
        rb.send()
    };
    let body = assert_error(
        put(gz.clone(), None, true).await.unwrap(),
        400,
        "bad.request",
    )
    .await;
    assert!(body["message"].as_str().unwrap().contains("Authorization"));
    assert_error(
        put(gz.clone(), Some("x-emulator-signature"), false)
            .await
            .unwrap(),
        400,
        "bad.request",
    )
    .await;
    let mut longer = gz.clone();
    longer.push(0);
    assert_error(put(longer, None, false).await.unwrap(), 400, "bad.request").await;
    let plain = vec![b'{'; gz.len()];
    assert_error(put(plain, None, false).await.unwrap(), 400, "bad.request").await;
    assert_eq!(put(gz, None, false).await.unwrap().status(), 200);
    // Processing a key with nothing valid behind it, or an unknown key, is refused.
    let r = e
        .post(
            &format!("{WFM}/businessunits/{BU}/weeks/{WEEK}/schedules/import"),
            &json!({"uploadKey": "nope"}),
        )
        .await;
    assert_error(r, 400, "wfm.validation.failure").await;
}

#[tokio::test]
async fn invalid_uploads_are_refused_with_400() {
    let e = quiet_env().await;
    let with_shift = |s: Value| json!({"description": "d", "weekCount": 1, "agentSchedules": [{"userId": "u3", "shifts": [s]}]});
    let mut bad_code = shift(None, "2026-10-21T06:00:00Z", 60);
    bad_code["activities"][0]["activityCodeId"] = json!("ac-old");
    let mut outside = shift(None, "2026-10-21T06:00:00Z", 60);
    outside["activities"][0]["lengthMinutes"] = json!(120);
    let cases: Vec<(Value, &str, &str)> = vec![
        (
            json!({"weekCount": 1, "agentSchedules": []}),
            "wfm.validation.failure",
            "description",
        ),
        (
            with_shift(shift(None, "2026-10-21T08:00:00+02:00", 60)),
            "invalid.date",
            "not in UTC",
        ),
        (
            with_shift(shift(None, "2026-10-21 06:00", 60)),
            "invalid.date",
            "ISO-8601",
        ),
        (
            with_shift(shift(None, "2026-10-21T06:00:30Z", 60)),
            "invalid.date",
            "whole minute",
        ),
        (
            with_shift(shift(None, "2026-10-21T06:00:00Z", -30)),
            "wfm.validation.failure",
            "lengthMinutes",
        ),
        (
            with_shift(shift(None, "2026-10-28T06:00:00Z", 60)),
            "wfm.validation.failure",
            "inside the schedule's week",
        ),
        (with_shift(bad_code), "wfm.validation.failure", "ac-old"),
        (
            with_shift(outside),
            "wfm.validation.failure",
            "inside its shift",
        ),
        (
            json!({"description": "d", "weekCount": 1, "agentSchedules": [{"userId": "ghost"}]}),
            "wfm.validation.failure",
            "unknown user",
        ),
        (
            json!({"description": "d", "weekCount": 1, "agentSchedules": [{"userId": "u4"}]}),
            "wfm.validation.failure",
            "management unit",
        ),
        (
            json!({"description": "d", "weekCount": 1, "agentSchedules": [{"userId": "u3"}, {"userId": "u3"}]}),
            "wfm.validation.failure",
            "more than once",
        ),
    ];
    for (body, code, words) in cases {
        let r = e.import(WEEK, &body).await;
        let err = assert_error(r, 400, code).await;
        assert!(
            err["message"].as_str().unwrap().contains(words),
            "{words}: {err}"
        );
    }
    let list: Value = e
        .get(&format!("{WFM}/businessunits/{BU}/weeks/{WEEK}/schedules"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        list["entities"].as_array().unwrap().len(),
        1,
        "nothing was imported"
    );
}

#[tokio::test]
async fn an_update_patches_only_what_it_lists() {
    let e = quiet_env().await;
    let before = e.agents(SCHED).await;
    let body = json!({
    "metadata": {"version": 1},
    "agentSchedules": [
        {"userId": "u1", "metadata": {"version": 1}, "shifts": [
            shift(Some("sh-1"), "2026-10-19T09:00:00Z", 240),
            {"id": "sh-2", "delete": true},
            shift(None, "2026-10-22T07:00:00Z", 120)]},
        {"userId": "u3", "shifts": [shift(None, "2026-10-23T07:00:00Z", 60)]}
    ]});
    let r = e.update(SCHED, &body, Some(1)).await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    assert_eq!(e.schedule_version(SCHED).await, 2);
    let after = e.agents(SCHED).await;
    assert_eq!(
        after["u2"], before["u2"],
        "an unlisted agent schedule is untouched"
    );
    let u1 = &after["u1"];
    assert_eq!(u1["metadata"]["version"], 2);
    let shifts: Vec<(String, i64)> = u1["shifts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["startDate"].as_str().unwrap().to_string(),
                s["lengthMinutes"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        shifts,
        [
            ("2026-10-19T09:00:00.000Z".to_string(), 240),
            ("2026-10-22T07:00:00.000Z".to_string(), 120)
        ]
    );
    assert_eq!(u1["shifts"][0]["id"], "sh-1");
    assert_eq!(
        after["u3"]["metadata"]["version"], 1,
        "a new agent schedule starts at version 1"
    );

    // A second update that keeps unlisted shifts: only u2's new shift is added.
    let body = json!({"metadata": {"version": 2}, "agentSchedules": [{"userId": "u2", "metadata": {"version": 1}, "shifts": [shift(None, "2026-10-24T07:00:00Z", 60)]}]});
    assert_eq!(e.update(SCHED, &body, Some(2)).await.status(), 200);
    let u2 = &e.agents(SCHED).await["u2"];
    assert_eq!(u2["shifts"].as_array().unwrap().len(), 2);
    assert_eq!(u2["shifts"][0]["id"], "sh-3");

    let unknown = json!({"metadata": {"version": 3}, "agentSchedules": [{"userId": "u2", "metadata": {"version": 2}, "shifts": [{"id": "nope", "delete": true}]}]});
    assert_error(
        e.update(SCHED, &unknown, None).await,
        400,
        "wfm.validation.failure",
    )
    .await;
    assert_eq!(e.schedule_version(SCHED).await, 3);
}

#[tokio::test]
async fn stale_missing_or_unexpected_versions_are_refused() {
    let e = quiet_env().await;
    let cases = [
        (
            json!({"metadata": {"version": 0}, "agentSchedules": []}),
            "schedule",
        ),
        (
            json!({"metadata": {"version": 1}, "agentSchedules": [{"userId": "u1", "metadata": {"version": 7}, "shifts": []}]}),
            "u1",
        ),
        (
            json!({"metadata": {"version": 1}, "agentSchedules": [{"userId": "u1", "shifts": []}]}),
            "u1",
        ),
        (
            json!({"metadata": {"version": 1}, "agentSchedules": [{"userId": "u3", "metadata": {"version": 1}, "shifts": []}]}),
            "u3",
        ),
    ];
    for (body, who) in cases {
        let err = assert_error(e.update(SCHED, &body, None).await, 409, "general.conflict").await;
        let msg = err["message"].as_str().unwrap();
        assert!(
            msg.contains("does not match the current version") && msg.contains(who),
            "{msg}"
        );
    }
    // Missing metadata on the schedule is a missing required field.
    assert_error(
        e.update(SCHED, &json!({"agentSchedules": []}), None).await,
        400,
        "wfm.validation.failure",
    )
    .await;
    assert_eq!(e.schedule_version(SCHED).await, 1, "nothing changed");
}

#[tokio::test]
async fn if_match_must_be_the_current_schedule_version() {
    let e = quiet_env().await;
    let base = format!("{WFM}/businessunits/{BU}/weeks/{WEEK}/schedules/{SCHED}/update");
    let r = e
        .post_if_match(
            &format!("{base}/uploadurl"),
            &json!({"contentLengthBytes": 20}),
            Some(5),
        )
        .await;
    let err = assert_error(r, 412, "precondition.failed").await;
    assert!(
        err["message"]
            .as_str()
            .unwrap()
            .contains("does not match the current version")
    );
    let body = json!({"metadata": {"version": 1}, "agentSchedules": []});
    let key = e.upload(&format!("{base}/uploadurl"), &body, Some(1)).await;
    assert_error(
        e.post_if_match(&base, &json!({"uploadKey": key}), Some(2))
            .await,
        412,
        "precondition.failed",
    )
    .await;
    assert_eq!(
        e.post_if_match(&base, &json!({"uploadKey": key}), Some(1))
            .await
            .status(),
        200
    );
    // Delete is conditional too.
    let del = |v: i64| {
        e.http
            .delete(e.url(&format!(
                "{WFM}/businessunits/{BU}/weeks/{WEEK}/schedules/{SCHED}"
            )))
            .bearer_auth(&e.token)
            .header("If-Match", format!("\"{v}\""))
            .send()
    };
    assert_error(del(1).await.unwrap(), 412, "precondition.failed").await;
    assert_eq!(del(2).await.unwrap().status(), 200);
    assert_error(
        e.get(&format!(
            "{WFM}/businessunits/{BU}/weeks/{WEEK}/schedules/{SCHED}"
        ))
        .await,
        404,
        "wfm.entity.not.found",
    )
    .await;
}

#[tokio::test]
async fn processing_is_asynchronous_and_the_second_of_two_overlapping_updates_fails() {
    let e = manual_env(Faults {
        processing_ms: 300,
        ..Faults::default()
    })
    .await;
    let one = json!({"metadata": {"version": 1}, "agentSchedules": [{"userId": "u1", "metadata": {"version": 1}, "shifts": [shift(Some("sh-1"), "2026-10-19T10:00:00Z", 60)]}]});
    let two = json!({"metadata": {"version": 1}, "agentSchedules": [{"userId": "u1", "metadata": {"version": 1}, "shifts": [shift(Some("sh-1"), "2026-10-19T11:00:00Z", 60)]}]});
    let r1 = e.update(SCHED, &one, Some(1)).await;
    let r2 = e.update(SCHED, &two, Some(1)).await;
    for r in [r1, r2] {
        assert_eq!(r.status(), 202);
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["status"], "Processing");
        assert!(v["operationId"].is_string());
        assert!(v.get("result").is_none());
    }
    assert_eq!(
        e.schedule_version(SCHED).await,
        1,
        "not visible while processing"
    );
    e.advance(299);
    assert_eq!(e.schedule_version(SCHED).await, 1, "still processing");
    e.advance(1);
    assert_eq!(
        e.schedule_version(SCHED).await,
        2,
        "exactly one update applied"
    );
    assert_eq!(
        e.agents(SCHED).await["u1"]["shifts"][0]["startDate"],
        "2026-10-19T10:00:00.000Z"
    );
    let ops = e.emu.dump().operations;
    let statuses: Vec<&str> = ops.iter().map(|o| o.status.as_str()).collect();
    assert_eq!(statuses, ["Complete", "Error"]);
    assert!(
        ops[1]
            .error
            .as_deref()
            .unwrap()
            .contains("does not match the current version")
    );

    // An import in processing appears in the week's list only when done.
    let r = e.import(WEEK, &import_body("zd2gc:late")).await;
    assert_eq!(r.status(), 202);
    let count = |v: Value| {
        v["entities"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|s| s["description"] == "zd2gc:late")
            .count()
    };
    assert_eq!(
        count(
            e.get(&format!("{WFM}/businessunits/{BU}/weeks/{WEEK}/schedules"))
                .await
                .json()
                .await
                .unwrap()
        ),
        0
    );
    e.advance(300);
    assert_eq!(
        count(
            e.get(&format!("{WFM}/businessunits/{BU}/weeks/{WEEK}/schedules"))
                .await
                .json()
                .await
                .unwrap()
        ),
        1
    );
}

#[tokio::test]
async fn two_racing_clients_one_wins_and_the_dump_shows_only_the_winner() {
    let e = quiet_env().await;
    let body = |start: &str| json!({"metadata": {"version": 1}, "agentSchedules": [{"userId": "u2", "metadata": {"version": 1}, "shifts": [shift(Some("sh-3"), start, 60)]}]});
    let (a, b) = (body("2026-10-19T12:00:00Z"), body("2026-10-19T13:00:00Z"));
    // Both read version 1 and upload; then both process at the same time.
    let base = format!("{WFM}/businessunits/{BU}/weeks/{WEEK}/schedules/{SCHED}/update");
    let ka = e.upload(&format!("{base}/uploadurl"), &a, Some(1)).await;
    let kb = e.upload(&format!("{base}/uploadurl"), &b, Some(1)).await;
    let other = reqwest::Client::builder().no_proxy().build().unwrap();
    let token_b = e.new_token().await;
    let body_a = json!({"uploadKey": ka});
    let (ra, rb) = tokio::join!(
        e.post_if_match(&base, &body_a, Some(1)),
        other
            .post(e.url(&base))
            .bearer_auth(token_b)
            .header("If-Match", "\"1\"")
            .json(&json!({"uploadKey": kb}))
            .send()
    );
    let rb = rb.unwrap();
    let (sa, sb) = (ra.status().as_u16(), rb.status().as_u16());
    let mut statuses = [sa, sb];
    statuses.sort();
    assert!(
        statuses == [200, 409] || statuses == [200, 412],
        "{statuses:?}"
    );
    let winner = if sa == 200 {
        "2026-10-19T12:00:00.000Z"
    } else {
        "2026-10-19T13:00:00.000Z"
    };
    let dump = e.emu.dump();
    let u2 = dump.agent_schedule(SCHED, "u2").unwrap();
    assert_eq!(u2.shifts.len(), 1);
    assert_eq!(u2.shifts[0].start_date, winner);
    assert_eq!(u2.metadata.as_ref().unwrap().version, 2);
    assert_eq!(
        dump.schedule(SCHED)
            .unwrap()
            .metadata
            .as_ref()
            .unwrap()
            .version,
        2
    );
    assert_eq!(dump.operations.len(), 1, "only the winner was accepted");
}
