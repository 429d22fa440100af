//! Fault injection: concurrent edits, locks, rate limit, server errors, dropped connections,
//! latency; all seeded.

use super::support::*;
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use zd2gc::emulator::{Actor, Faults};

fn move_u1(version: i64, agent_version: i64) -> Value {
    json!({"metadata": {"version": version}, "agentSchedules": [{"userId": "u1", "metadata": {"version": agent_version}, "shifts": [shift(Some("sh-1"), "2026-10-19T06:00:00Z", 480)]}]})
}

#[tokio::test]
async fn a_concurrent_edit_makes_the_pending_update_stale_and_is_recorded() {
    let e = env(Faults {
        concurrent_edit_rate: 1.0,
        seed: 3,
        ..Faults::default()
    })
    .await;
    let err = assert_error(
        e.update(SCHED, &move_u1(1, 1), None).await,
        409,
        "general.conflict",
    )
    .await;
    assert!(
        err["message"]
            .as_str()
            .unwrap()
            .contains("does not match the current version")
    );
    let dump = e.emu.dump();
    assert_eq!(dump.concurrent_edits.len(), 1);
    let edit = &dump.concurrent_edits[0];
    assert_eq!(edit.schedule_id, SCHED);
    assert_eq!(
        edit.user_id, "u1",
        "the edit lands on an agent schedule the upload touches"
    );
    assert_eq!(edit.trigger, "rate");
    assert_eq!(edit.schedule_version, 2);
    assert_eq!(edit.agent_schedule_version, 2);
    // The edit is in the state, as recorded.
    let u1 = dump.agent_schedule(SCHED, "u1").unwrap();
    assert_eq!(u1.metadata.as_ref().unwrap().version, 2);
    let kept = u1
        .shifts
        .iter()
        .find(|s| s.id.as_deref() == Some(edit.shift_id.as_str()))
        .unwrap();
    assert_eq!(kept, &edit.after);
    assert_ne!(Some(&edit.after), edit.before.as_ref());

    // With If-Match, the same situation is a 412; the loader re-reads, merges and wins once edits stop.
    e.emu
        .set_faults(Faults {
            concurrent_edit_rate: 1.0,
            seed: 3,
            ..Faults::default()
        })
        .unwrap();
    assert_error(
        e.update(SCHED, &move_u1(2, 2), Some(2)).await,
        412,
        "precondition.failed",
    )
    .await;
    e.emu.set_faults(Faults::default()).unwrap();
    let v = e.schedule_version(SCHED).await;
    let av = e.agents(SCHED).await["u1"]["metadata"]["version"]
        .as_i64()
        .unwrap();
    assert_eq!(
        e.update(SCHED, &move_u1(v, av), Some(v)).await.status(),
        200
    );
}

#[tokio::test]
async fn edits_on_demand_through_the_admin_surface() {
    let e = quiet_env().await;
    let r = e
        .http
        .post(e.url("/emulator/edits"))
        .json(&json!({"scheduleId": SCHED, "userId": "u3", "actor": "planner"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let edit: Value = r.json().await.unwrap();
    assert_eq!(
        edit["change"], "added",
        "u3 had no shift, so the planner adds one"
    );
    assert_eq!(edit["actor"], "planner");
    assert_eq!(edit["agentScheduleVersion"], 1);
    assert_eq!(edit["scheduleVersion"], 2);
    let agents = e.agents(SCHED).await;
    assert_eq!(agents["u3"]["shifts"][0]["id"], edit["shiftId"]);

    let edit = e
        .emu
        .concurrent_edit(SCHED, Some("u2"), Some(Actor::AgentSelfService))
        .unwrap();
    assert_eq!(edit.change, "extended");
    assert_eq!(
        edit.after.length_minutes,
        edit.before.as_ref().unwrap().length_minutes + 15
    );
    assert_eq!(e.schedule_version(SCHED).await, 3);
    let r = e
        .http
        .post(e.url("/emulator/edits"))
        .json(&json!({"scheduleId": "nope"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
}

#[tokio::test]
async fn concurrent_edits_repeat_exactly_with_the_same_seed() {
    async fn run(seed: u64) -> Vec<(String, String, String)> {
        let e = env(Faults {
            concurrent_edit_rate: 0.5,
            seed,
            ..Faults::default()
        })
        .await;
        for _ in 0..8 {
            let v = e.schedule_version(SCHED).await;
            let av = e.agents(SCHED).await["u1"]["metadata"]["version"]
                .as_i64()
                .unwrap();
            let _ = e.update(SCHED, &move_u1(v, av), None).await;
        }
        e.emu
            .dump()
            .concurrent_edits
            .into_iter()
            .map(|x| (x.user_id, x.change, x.after.start_date))
            .collect()
    }
    let a = run(42).await;
    assert!(!a.is_empty() && a.len() < 8, "{a:?}");
    assert_eq!(a, run(42).await);
}

#[tokio::test]
async fn locks_refuse_writes_for_a_short_while() {
    let e = manual_env(Faults::default()).await;
    let r = e
        .http
        .post(e.url("/emulator/locks"))
        .json(&json!({"scheduleId": SCHED, "ms": 200}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let base = format!("{WFM}/businessunits/{BU}/weeks/{WEEK}/schedules/{SCHED}/update/uploadurl");
    let err = assert_error(
        e.post(&base, &json!({"contentLengthBytes": 10})).await,
        409,
        "general.conflict",
    )
    .await;
    assert_eq!(
        err["message"],
        "The requested resource is currently being modified by another process"
    );
    // The clock moved through the admin surface, as a test of `zd2gc emulate --manual-clock` does.
    let advance = |ms: u64| {
        e.http
            .post(e.url("/emulator/clock"))
            .json(&json!({ "advanceMs": ms }))
            .send()
    };
    let clock: Value = advance(199).await.unwrap().json().await.unwrap();
    assert_eq!(
        (&clock["manual"], &clock["elapsedMs"]),
        (&json!(true), &json!(199))
    );
    assert_error(
        e.post(&base, &json!({"contentLengthBytes": 10})).await,
        409,
        "general.conflict",
    )
    .await;
    assert_eq!(advance(1).await.unwrap().status(), 200);
    assert_eq!(
        e.post(&base, &json!({"contentLengthBytes": 10}))
            .await
            .status(),
        200,
        "the lock expired"
    );

    // lockRate: an accepted write locks its schedule.
    e.emu
        .set_faults(Faults {
            lock_rate: 1.0,
            lock_ms: 10_000,
            ..Faults::default()
        })
        .unwrap();
    assert_eq!(e.update(SCHED, &move_u1(1, 1), None).await.status(), 200);
    let err = assert_error(
        e.post(&base, &json!({"contentLengthBytes": 10})).await,
        409,
        "general.conflict",
    )
    .await;
    assert!(
        err["message"]
            .as_str()
            .unwrap()
            .contains("being modified by another process")
    );
    assert_eq!(
        e.get(&format!(
            "{WFM}/businessunits/{BU}/weeks/{WEEK}/schedules/{SCHED}"
        ))
        .await
        .status(),
        200,
        "reads still work"
    );
}

#[tokio::test]
async fn only_a_manual_clock_can_be_advanced() {
    let e = quiet_env().await;
    let clock: Value = e
        .http
        .get(e.url("/emulator/clock"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(clock["manual"], false);
    assert!(clock["elapsedMs"].is_null());
    let r = e
        .http
        .post(e.url("/emulator/clock"))
        .json(&json!({"advanceMs": 1000}))
        .send()
        .await
        .unwrap();
    assert_error(r, 409, "clock.not.manual").await;
    assert!(e.emu.advance_clock(Duration::from_secs(1)).is_err());
}

#[tokio::test]
async fn the_rate_limit_is_per_client_and_says_when_to_retry() {
    let e = env(Faults {
        rate_limit_rpm: 3,
        ..Faults::default()
    })
    .await;
    let path = format!("{WFM}/businessunits/{BU}");
    for _ in 0..2 {
        assert_eq!(e.get(&path).await.status(), 200);
    }
    // A second token of the same client shares the bucket.
    let other = e.new_token().await;
    assert_eq!(
        e.http
            .get(e.url(&path))
            .bearer_auth(&other)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let r = e
        .http
        .get(e.url(&path))
        .bearer_auth(&other)
        .send()
        .await
        .unwrap();
    let retry: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=20).contains(&retry), "{retry}");
    let body = assert_error(r, 429, "too.many.requests.retry.after").await;
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains(&format!("[{retry}] seconds"))
    );
}

#[tokio::test]
async fn server_errors_are_seeded_and_a_504_comes_after_the_write() {
    async fn statuses(seed: u64) -> Vec<u16> {
        let e = env(Faults {
            error_rate: 0.5,
            seed,
            ..Faults::default()
        })
        .await;
        let mut out = vec![];
        for _ in 0..12 {
            out.push(
                e.get(&format!("{WFM}/businessunits/{BU}"))
                    .await
                    .status()
                    .as_u16(),
            );
        }
        out
    }
    let a = statuses(9).await;
    assert_eq!(a, statuses(9).await, "same seed, same run");
    assert!(
        a.contains(&200) && a.iter().any(|s| [502, 503, 504].contains(s)),
        "{a:?}"
    );
    assert!(a.iter().all(|s| [200, 502, 503, 504].contains(s)));

    // With every call failing, a write either did nothing (502/503) or was applied (504).
    let e = env(Faults {
        seed: 1,
        ..Faults::default()
    })
    .await;
    let mut applied_by_504 = false;
    for i in 0..12 {
        let v = e.schedule_version(SCHED).await;
        let av = e.agents(SCHED).await["u1"]["metadata"]["version"]
            .as_i64()
            .unwrap();
        let base = format!("{WFM}/businessunits/{BU}/weeks/{WEEK}/schedules/{SCHED}/update");
        let key = e
            .upload(&format!("{base}/uploadurl"), &move_u1(v, av), None)
            .await;
        e.emu
            .set_faults(Faults {
                error_rate: 1.0,
                seed: i,
                ..Faults::default()
            })
            .unwrap();
        let r = e.post(&base, &json!({"uploadKey": key})).await;
        let status = r.status().as_u16();
        let code = match status {
            502 => "bad.gateway",
            503 => "service.unavailable",
            _ => "request.timeout",
        };
        assert_error(r, status, code).await;
        e.emu.set_faults(Faults::default()).unwrap();
        let after = e.schedule_version(SCHED).await;
        assert_eq!(after == v + 1, status == 504, "status {status}");
        applied_by_504 |= status == 504;
    }
    assert!(applied_by_504);
}

#[tokio::test]
async fn a_dropped_connection_comes_after_the_write_was_applied() {
    let e = quiet_env().await;
    let base = format!("{WFM}/businessunits/{BU}/weeks/{WEEK}/schedules/{SCHED}/update");
    let key = e
        .upload(&format!("{base}/uploadurl"), &move_u1(1, 1), None)
        .await;
    e.emu
        .set_faults(Faults {
            drop_rate: 1.0,
            ..Faults::default()
        })
        .unwrap();
    let r = e
        .http
        .post(e.url(&base))
        .bearer_auth(&e.token)
        .json(&json!({"uploadKey": key}))
        .send()
        .await;
    let err = r.expect_err("the connection is dropped without an answer");
    assert!(!err.is_status() && !err.is_timeout(), "{err:?}");
    e.emu.set_faults(Faults::default()).unwrap();
    assert_eq!(e.schedule_version(SCHED).await, 2, "the write landed");
    assert_eq!(
        e.agents(SCHED).await["u1"]["shifts"][0]["startDate"],
        "2026-10-19T06:00:00.000Z"
    );
}

#[tokio::test]
async fn latency_is_added_to_api_calls() {
    let e = env(Faults {
        latency_ms: 120,
        ..Faults::default()
    })
    .await;
    let t = Instant::now();
    assert_eq!(
        e.get(&format!("{WFM}/businessunits/{BU}")).await.status(),
        200
    );
    assert!(t.elapsed() >= Duration::from_millis(120));
}

#[tokio::test]
async fn the_admin_surface_sets_faults_loads_orgs_and_dumps() {
    let e = quiet_env().await;
    let r = e
        .http
        .put(e.url("/emulator/faults"))
        .json(&json!({"processingMs": 50, "seed": 5}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let f: Value = r.json().await.unwrap();
    assert_eq!(f["processingMs"], 50);
    assert_eq!(
        f["tokenLifetimeSecs"], 86_400,
        "fields left out keep their value"
    );
    assert_eq!(e.emu.faults().seed, 5);
    let r = e
        .http
        .put(e.url("/emulator/faults"))
        .json(&json!({"errorRate": 2.0}))
        .send()
        .await
        .unwrap();
    assert_error(r, 400, "bad.request").await;
    let r = e
        .http
        .put(e.url("/emulator/faults"))
        .json(&json!({"noSuchKnob": 1}))
        .send()
        .await
        .unwrap();
    assert_error(r, 400, "wfm.validation.failure").await;

    let bad = json!({"users": [], "businessUnits": [{"id": "b", "timeZone": "Mars/Olympus", "startDayOfWeek": "Funday"}]});
    let r = e
        .http
        .post(e.url("/emulator/org"))
        .json(&bad)
        .send()
        .await
        .unwrap();
    let err = assert_error(r, 400, "bad.request").await;
    assert!(err["message"].as_str().unwrap().contains("Mars/Olympus"));

    let state: Value = e
        .http
        .get(e.url("/emulator/state"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(state["schedules"][0]["metadata"]["version"], 1);
    assert_eq!(state["faults"]["processingMs"], 50);
    // A dump is a fixture: loading it back gives the same org.
    let r = e
        .http
        .post(e.url("/emulator/org"))
        .json(&state)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.unwrap()["schedules"], 1);
    let reloaded = serde_json::to_value(e.emu.dump().org).unwrap();
    let mut expected = state.clone();
    for k in ["concurrentEdits", "operations", "faults"] {
        expected.as_object_mut().unwrap().remove(k);
    }
    assert_eq!(reloaded, expected);
}
