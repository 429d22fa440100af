//! Real timing and the fidelity switches: the synchronous blank create, processing times drawn from
//! a range, late `Error`s with nothing applied and no reason, and If-Match enforcement switched off.

use super::support::*;
use serde_json::{Value, json};
use std::time::Duration;
use zd2gc::emulator::Faults;

const NEXT_WEEK: &str = "2026-10-26";

fn week_list(week: &str) -> String {
    format!("{WFM}/businessunits/{BU}/weeks/{week}/schedules")
}

/// Advance the emulator's manual clock by the processing time: every operation has finished.
fn settle_after(e: &Env, processing_ms: u64) {
    e.advance(processing_ms);
    let ops = e.emu.dump().operations;
    assert!(
        ops.iter().all(|o| o.status != "Processing"),
        "an operation is still processing: {ops:?}"
    );
}

#[tokio::test]
async fn a_blank_schedule_is_created_at_once_unpublished_then_filled_by_an_update() {
    let e = manual_env(Faults {
        processing_ms: 200,
        ..Faults::default()
    })
    .await;
    let r = e
        .post(
            &week_list(NEXT_WEEK),
            &json!({"description": "Migrated [zd2gc:m:bu:w]", "weekCount": 1}),
        )
        .await;
    assert_eq!(r.status(), 200);
    let meta: Value = r.json().await.unwrap();
    let sid = meta["id"].as_str().unwrap().to_string();
    assert_eq!(meta["weekDate"], NEXT_WEEK);
    assert_eq!(meta["published"], false);
    assert_eq!(meta["metadata"]["version"], 1);
    // Synchronous: in the week's list at once, even with processing time on.
    let list: Value = e.get(&week_list(NEXT_WEEK)).await.json().await.unwrap();
    let found: Vec<&Value> = list["entities"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["id"] == sid.as_str())
        .collect();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0]["description"], "Migrated [zd2gc:m:bu:w]");
    // The shifts follow as an update that publishes it.
    let base = format!("{}/{sid}/update", week_list(NEXT_WEEK));
    let body = json!({"metadata": {"version": 1}, "published": true, "agentSchedules": [
        {"userId": "u1", "shifts": [shift(None, "2026-10-26T07:00:00Z", 480)]}]});
    let key = e.upload(&format!("{base}/uploadurl"), &body, Some(1)).await;
    let r = e
        .post_if_match(&base, &json!({"uploadKey": key}), Some(1))
        .await;
    assert_eq!(r.status(), 202);
    settle_after(&e, 200);
    let s = e
        .emu
        .dump()
        .org
        .schedules
        .into_iter()
        .find(|s| s.id == sid)
        .unwrap();
    assert!(s.published);
    assert_eq!(s.metadata.unwrap().version, 2);
    assert_eq!(s.agent_schedules[0].shifts.len(), 1);
    // Its checks: a week id on the wrong weekday, no week count, no description.
    assert_error(
        e.post(
            &week_list("2026-10-27"),
            &json!({"description": "x", "weekCount": 1}),
        )
        .await,
        400,
        "wfm.validation.failure",
    )
    .await;
    assert_error(
        e.post(
            &week_list(NEXT_WEEK),
            &json!({"description": "x", "weekCount": 0}),
        )
        .await,
        400,
        "wfm.validation.failure",
    )
    .await;
    assert_error(
        e.post(
            &week_list(NEXT_WEEK),
            &json!({"description": " ", "weekCount": 1}),
        )
        .await,
        400,
        "wfm.validation.failure",
    )
    .await;
}

#[tokio::test]
async fn a_late_error_applies_nothing_and_tells_no_reason() {
    let e = manual_env(Faults {
        processing_ms: 150,
        late_error_rate: 1.0,
        ..Faults::default()
    })
    .await;
    let move_u1 = json!({"metadata": {"version": 1}, "agentSchedules": [{"userId": "u1", "metadata": {"version": 1}, "shifts": [shift(Some("sh-1"), "2026-10-19T10:00:00Z", 60)]}]});
    let r = e.update(SCHED, &move_u1, Some(1)).await;
    assert_eq!(r.status(), 202, "accepted like any other");
    let import = json!({"description": "zd2gc:late-error", "weekCount": 1, "agentSchedules": [
        {"userId": "u3", "shifts": [shift(None, "2026-10-26T07:00:00Z", 480)]}]});
    let r = e.import(NEXT_WEEK, &import).await;
    assert_eq!(r.status(), 202);
    settle_after(&e, 150);
    let d = e.emu.dump();
    let ops: Vec<(&str, &str)> = d
        .operations
        .iter()
        .map(|o| (o.kind.as_str(), o.status.as_str()))
        .collect();
    assert_eq!(ops, [("update", "Error"), ("import", "Error")]);
    // Nothing applied: the version, the shift, the list.
    assert_eq!(e.schedule_version(SCHED).await, 1);
    assert_eq!(
        e.agents(SCHED).await["u1"]["shifts"][0]["startDate"],
        "2026-10-19T07:00:00.000Z"
    );
    let list: Value = e.get(&week_list(NEXT_WEEK)).await.json().await.unwrap();
    assert!(list["entities"].as_array().unwrap().is_empty());

    // With no processing time: `200` with `status: Error`, no result, nothing applied.
    let mut f = e.emu.faults();
    f.processing_ms = 0;
    e.emu.set_faults(f).unwrap();
    let r = e.update(SCHED, &move_u1, Some(1)).await;
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["status"], "Error");
    assert!(v.get("result").is_none() && v.get("message").is_none());
    assert_eq!(e.schedule_version(SCHED).await, 1);

    // Off again: the same update lands (the rate, not the update, made it fail).
    let mut f = e.emu.faults();
    f.late_error_rate = 0.0;
    e.emu.set_faults(f).unwrap();
    let r = e.update(SCHED, &move_u1, Some(1)).await;
    assert_eq!(r.status(), 200);
    assert_eq!(e.schedule_version(SCHED).await, 2);
}

#[tokio::test]
async fn processing_times_are_drawn_from_the_range_and_stay_processing_meanwhile() {
    let e = manual_env(Faults {
        processing_ms: 300,
        processing_max_ms: 1200,
        seed: 9,
        ..Faults::default()
    })
    .await;
    // Four imports sent back to back, into four weeks.
    let weeks = ["2026-10-26", "2026-11-02", "2026-11-09", "2026-11-16"];
    for w in weeks {
        let body =
            json!({"description": format!("zd2gc:slow:{w}"), "weekCount": 1, "agentSchedules": []});
        assert_eq!(e.import(w, &body).await.status(), 202);
    }
    // The clock steps 10 ms at a time; each import is looked for in its week's list after each step.
    let mut landed: Vec<Option<Duration>> = vec![None; weeks.len()];
    let mut elapsed = Duration::ZERO;
    while landed.iter().any(Option::is_none) {
        for (i, w) in weeks.iter().enumerate() {
            if landed[i].is_none() {
                let list: Value = e.get(&week_list(w)).await.json().await.unwrap();
                if !list["entities"].as_array().unwrap().is_empty() {
                    landed[i] = Some(elapsed);
                }
            }
        }
        assert!(
            elapsed <= Duration::from_millis(1200),
            "an import outlived the longest processing time: {landed:?}"
        );
        e.advance(10);
        elapsed += Duration::from_millis(10);
    }
    let landed: Vec<Duration> = landed.into_iter().flatten().collect();
    // Each stayed `Processing` at least the shortest time, and they did not all take the same.
    assert!(
        landed.iter().all(|d| *d >= Duration::from_millis(300)),
        "{landed:?}"
    );
    let spread = *landed.iter().max().unwrap() - *landed.iter().min().unwrap();
    assert!(
        spread >= Duration::from_millis(150),
        "processing times do not vary: {landed:?}"
    );
    // The knobs are checked.
    let bad = Faults {
        late_error_rate: 1.5,
        ..Faults::default()
    };
    assert!(e.emu.set_faults(bad).is_err());
}

#[tokio::test]
async fn if_match_enforcement_can_be_switched_off_and_the_body_version_still_protects() {
    let e = quiet_env().await;
    let move_u1 = |v: i64| json!({"metadata": {"version": v}, "agentSchedules": [{"userId": "u1", "metadata": {"version": v}, "shifts": [shift(Some("sh-1"), "2026-10-19T10:00:00Z", 60)]}]});
    // On (the default): a stale If-Match is 412.
    let uploadurl =
        format!("{WFM}/businessunits/{BU}/weeks/{WEEK}/schedules/{SCHED}/update/uploadurl");
    assert_error(
        e.post_if_match(&uploadurl, &json!({"contentLengthBytes": 100}), Some(7))
            .await,
        412,
        "precondition.failed",
    )
    .await;
    // Off through the admin surface, as `zd2gc emulate --no-if-match` does.
    let r = e
        .http
        .put(e.url("/emulator/faults"))
        .json(&json!({"enforceIfMatch": false}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    assert!(!e.emu.faults().enforce_if_match);
    let r = e.update(SCHED, &move_u1(1), Some(7)).await;
    assert_eq!(r.status(), 200, "If-Match is ignored");
    assert_eq!(e.schedule_version(SCHED).await, 2);
    // The body's version is the real protection: the same upload again is refused.
    assert_error(
        e.update(SCHED, &move_u1(1), Some(7)).await,
        409,
        "general.conflict",
    )
    .await;
    assert_eq!(e.schedule_version(SCHED).await, 2);
}

#[test]
fn the_cli_flags_set_the_knobs() {
    use clap::Parser;
    #[derive(clap::Parser)]
    struct Cli {
        #[command(flatten)]
        a: zd2gc::commands::emulate::EmulateArgs,
    }
    let c = Cli::parse_from([
        "emulate",
        "--processing-ms",
        "2000",
        "--processing-max-ms",
        "5000",
        "--late-error-rate",
        "0.25",
        "--no-if-match",
    ]);
    let f = c.a.faults();
    assert_eq!((f.processing_ms, f.processing_max_ms), (2000, 5000));
    assert_eq!(f.late_error_rate, 0.25);
    assert!(!f.enforce_if_match);
    assert!(Cli::parse_from(["emulate"]).a.faults().enforce_if_match);
}
