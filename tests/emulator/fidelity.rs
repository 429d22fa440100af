//! The emulator's fidelity to real read semantics (issue 13): an agent-schedule query that goes
//! asynchronous (`Processing`, no result), weeks holding unpublished and multi-week drafts, and
//! the shift-trade list (`evaluateMatches`, a large answer as a `downloadUrl` only).

use super::support::*;
use serde_json::{Value, json};
use zd2gc::emulator::Faults;

#[tokio::test]
async fn an_agent_schedule_query_may_answer_processing_with_no_result() {
    let e = env(Faults {
        query_processing_rate: 1.0,
        ..Faults::default()
    })
    .await;
    let path =
        format!("{WFM}/businessunits/{BU}/weeks/{WEEK}/schedules/{SCHED}/agentschedules/query");
    let r = e.post(&path, &json!({"managementUnitId": MU})).await;
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["status"], "Processing");
    assert_eq!(v["operationId"].as_str().unwrap().len(), 36);
    assert!(
        v.get("result").is_none() && v.get("downloadUrl").is_none(),
        "{v}"
    );
    // Still strict: an unknown schedule is 404 before any asynchronous answer.
    let bad = format!("{WFM}/businessunits/{BU}/weeks/{WEEK}/schedules/nope/agentschedules/query");
    assert_eq!(
        e.post(&bad, &json!({"managementUnitId": MU}))
            .await
            .status(),
        404
    );
    // Off: the result at once.
    e.emu.set_faults(Faults::default()).unwrap();
    let v: Value = e
        .post(&path, &json!({"managementUnitId": MU}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(v["status"], "Complete");
    assert_eq!(v["result"]["agentSchedules"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn with_drafts_every_week_read_holds_unpublished_and_multi_week_drafts() {
    let e = env(Faults {
        drafts: true,
        ..Faults::default()
    })
    .await;
    let list = |week: &'static str| {
        let e = &e;
        async move {
            let v: Value = e
                .get(&format!("{WFM}/businessunits/{BU}/weeks/{week}/schedules"))
                .await
                .json()
                .await
                .unwrap();
            v["entities"].as_array().unwrap().clone()
        }
    };
    let l = list(WEEK).await;
    assert_eq!(l.len(), 3, "{l:?}");
    let drafts: Vec<&Value> = l.iter().filter(|s| s["published"] == false).collect();
    assert_eq!(drafts.len(), 2);
    let mut counts: Vec<u64> = drafts
        .iter()
        .map(|d| d["weekCount"].as_u64().unwrap())
        .collect();
    counts.sort();
    assert_eq!(counts, [1, 2]);
    // Their ids sort before the planner's published schedule.
    for d in &drafts {
        assert!(d["id"].as_str().unwrap() < SCHED, "{d}");
        assert_eq!(d["weekDate"], WEEK);
    }
    // Reading again adds nothing; the next week holds its own drafts and the two-week one.
    assert_eq!(list(WEEK).await.len(), 3);
    let next = list("2026-10-26").await;
    assert_eq!(next.len(), 3, "{next:?}");
    assert_eq!(
        next.iter()
            .filter(|s| s["weekDate"] == WEEK && s["weekCount"] == 2)
            .count(),
        1
    );
    assert!(next.iter().all(|s| s["published"] == false));
}

#[tokio::test]
async fn shift_trades_evaluate_matches_unless_told_and_come_as_a_download_when_large() {
    let e = quiet_env().await;
    let path = format!("{WFM}/managementunits/{MU}/weeks/{WEEK}/shifttrades");
    let v: Value = e.get(&path).await.json().await.unwrap();
    assert!(v["entities"][0]["matchReview"].is_object(), "{v}");
    let v: Value = e
        .get(&format!("{path}?evaluateMatches=false"))
        .await
        .json()
        .await
        .unwrap();
    assert!(v["entities"][0].get("matchReview").is_none(), "{v}");
    assert_eq!(v["entities"][0]["trade"]["id"], "tr-1");

    e.emu
        .set_faults(Faults {
            download_threshold: 0,
            ..Faults::default()
        })
        .unwrap();
    let v: Value = e
        .get(&format!("{path}?evaluateMatches=false"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(v["entities"], json!([]));
    let url = v["downloadUrl"].as_str().unwrap();
    let r = e.http.get(url).bearer_auth(&e.token).send().await.unwrap();
    assert_eq!(
        r.status(),
        400,
        "the bearer token must not reach the download host"
    );
    let d: Value = e.http.get(url).send().await.unwrap().json().await.unwrap();
    assert_eq!(d["entities"][0]["trade"]["id"], "tr-1");
    assert!(d.get("downloadUrl").is_none());
}
