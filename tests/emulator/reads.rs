//! Reads: users, management units, business units, activity codes, week schedules, agent schedules,
//! shift trades.

use super::support::*;
use serde_json::{Value, json};

#[tokio::test]
async fn users_search_is_byte_exact_on_email() {
    let e = quiet_env().await;
    let search = |email: &str| json!({"query": [{"type": "EXACT", "fields": ["email"], "value": email}], "pageSize": 25, "pageNumber": 1});
    let r = e
        .post("/api/v2/users/search", &search("lea.petit@acme.example"))
        .await;
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["total"], 1);
    assert_eq!(v["results"][0]["id"], "u2");
    assert_eq!(v["results"][0]["email"], "lea.petit@acme.example");
    for other in [
        "Lea.Petit@acme.example",
        " lea.petit@acme.example",
        "lea.petit@acme",
    ] {
        let v: Value = e
            .post("/api/v2/users/search", &search(other))
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(v["total"], 0, "{other}");
        assert_eq!(v["results"], json!([]));
    }
    let r = e
        .post(
            "/api/v2/users/search",
            &json!({"query": [{"type": "CONTAINS", "fields": ["email"], "value": "lea"}]}),
        )
        .await;
    assert_error(r, 400, "bad.request").await;
}

#[tokio::test]
async fn agents_business_units_and_activity_codes() {
    let e = quiet_env().await;
    let v: Value = e
        .get(&format!("{WFM}/agents/u2/managementunit"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(v["managementUnit"]["id"], MU);
    assert_eq!(v["businessUnit"]["id"], BU);
    assert_eq!(v["user"]["id"], "u2");
    assert_error(
        e.get(&format!("{WFM}/agents/u5/managementunit")).await,
        404,
        "wfm.entity.not.found",
    )
    .await;

    let v: Value = e
        .get(&format!("{WFM}/businessunits/{BU_NY}?expand=settings"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(v["settings"]["timeZone"], "America/New_York");
    assert_eq!(v["settings"]["startDayOfWeek"], "Sunday");
    assert_eq!(v["settings"]["metadata"]["version"], 1);
    let v: Value = e
        .get(&format!("{WFM}/businessunits/{BU}"))
        .await
        .json()
        .await
        .unwrap();
    assert!(v.get("settings").is_none(), "settings only with expand");

    let v: Value = e
        .get(&format!("{WFM}/businessunits/{BU}/activitycodes"))
        .await
        .json()
        .await
        .unwrap();
    let codes: Vec<(&str, bool)> = v["entities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["id"].as_str().unwrap(), c["active"].as_bool().unwrap()))
        .collect();
    assert_eq!(codes, [("ac-work", true), ("ac-old", false)]);
    let v: Value = e
        .get(&format!("{WFM}/businessunits/{BU}/managementunits"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(v["entities"][0]["id"], MU);
    assert_error(
        e.get(&format!("{WFM}/businessunits/nope")).await,
        404,
        "wfm.entity.not.found",
    )
    .await;
}

#[tokio::test]
async fn week_ids_must_be_the_business_units_first_day() {
    let e = quiet_env().await;
    let v: Value = e
        .get(&format!("{WFM}/businessunits/{BU}/weeks/{WEEK}/schedules"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(v["entities"].as_array().unwrap().len(), 1);
    assert_eq!(v["entities"][0]["id"], SCHED);
    assert_eq!(v["entities"][0]["metadata"]["version"], 1);
    // 2026-10-18 is a Sunday: right for New York, wrong for Paris.
    let body = assert_error(
        e.get(&format!(
            "{WFM}/businessunits/{BU}/weeks/2026-10-18/schedules"
        ))
        .await,
        400,
        "wfm.validation.failure",
    )
    .await;
    assert!(body["message"].as_str().unwrap().contains("Monday"));
    assert_eq!(
        e.get(&format!(
            "{WFM}/businessunits/{BU_NY}/weeks/2026-10-18/schedules"
        ))
        .await
        .status(),
        200
    );
    assert_error(
        e.get(&format!(
            "{WFM}/businessunits/{BU_NY}/weeks/{WEEK}/schedules"
        ))
        .await,
        400,
        "wfm.validation.failure",
    )
    .await;
    assert_error(
        e.get(&format!(
            "{WFM}/businessunits/{BU}/weeks/19-10-2026/schedules"
        ))
        .await,
        400,
        "invalid.date",
    )
    .await;
    let r = e
        .post(
            &format!("{WFM}/businessunits/{BU}/weeks/2026-10-20/schedules/import/uploadurl"),
            &json!({"contentLengthBytes": 10}),
        )
        .await;
    assert_error(r, 400, "wfm.validation.failure").await;
}

#[tokio::test]
async fn a_schedule_has_a_version_and_an_etag() {
    let e = quiet_env().await;
    let r = e
        .get(&format!(
            "{WFM}/businessunits/{BU}/weeks/{WEEK}/schedules/{SCHED}"
        ))
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["etag"], "\"1\"");
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["metadata"]["version"], 1);
    assert_eq!(v["weekDate"], WEEK);
    assert_eq!(v["managementUnits"][0]["agentCount"], 2);
    assert_error(
        e.get(&format!(
            "{WFM}/businessunits/{BU}/weeks/{WEEK}/schedules/nope"
        ))
        .await,
        404,
        "wfm.entity.not.found",
    )
    .await;
    // The same schedule asked for under another week is not found.
    assert_error(
        e.get(&format!(
            "{WFM}/businessunits/{BU}/weeks/2026-10-26/schedules/{SCHED}"
        ))
        .await,
        404,
        "wfm.entity.not.found",
    )
    .await;
}

#[tokio::test]
async fn agent_schedules_query_needs_the_management_unit_and_may_answer_with_a_download() {
    let e = quiet_env().await;
    let path =
        format!("{WFM}/businessunits/{BU}/weeks/{WEEK}/schedules/{SCHED}/agentschedules/query");
    let body = assert_error(
        e.post(&path, &json!({"userIds": ["u1"]})).await,
        400,
        "bad.request",
    )
    .await;
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("managementUnitId")
    );

    let agents = e.agents(SCHED).await;
    assert_eq!(agents.keys().collect::<Vec<_>>(), ["u1", "u2"]);
    assert_eq!(agents["u1"]["metadata"]["version"], 1);
    assert_eq!(agents["u1"]["shifts"].as_array().unwrap().len(), 2);
    assert_eq!(
        agents["u1"]["shifts"][0]["startDate"],
        "2026-10-19T07:00:00.000Z"
    );
    assert_eq!(
        agents["u1"]["shifts"][0]["activities"][0]["activityCodeId"],
        "ac-work"
    );

    let v: Value = e
        .post(&path, &json!({"managementUnitId": MU, "userIds": ["u2"]}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(v["result"]["agentSchedules"].as_array().unwrap().len(), 1);

    let v: Value = e
        .post(
            &format!("{path}?forceDownloadService=true"),
            &json!({"managementUnitId": MU}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(v["status"], "Complete");
    assert!(v.get("result").is_none());
    let url = v["downloadUrl"].as_str().unwrap();
    let r = e.http.get(url).bearer_auth(&e.token).send().await.unwrap();
    assert_error(r, 400, "bad.request").await;
    let d: Value = e.http.get(url).send().await.unwrap().json().await.unwrap();
    assert_eq!(d["agentSchedules"].as_array().unwrap().len(), 2);
    assert_eq!(d["businessUnitTimeZone"], "Europe/Paris");

    // Over the threshold, the answer is a download without being asked.
    e.emu
        .set_faults(zd2gc::emulator::Faults {
            download_threshold: 1,
            ..Default::default()
        })
        .unwrap();
    let v: Value = e
        .post(&path, &json!({"managementUnitId": MU}))
        .await
        .json()
        .await
        .unwrap();
    assert!(v["downloadUrl"].is_string());
}

#[tokio::test]
async fn shift_trades_of_a_management_unit_week() {
    let e = quiet_env().await;
    let v: Value = e
        .get(&format!(
            "{WFM}/managementunits/{MU}/weeks/{WEEK}/shifttrades"
        ))
        .await
        .json()
        .await
        .unwrap();
    let t = &v["entities"][0]["trade"];
    assert_eq!(t["id"], "tr-1");
    assert_eq!(t["state"], "Approved");
    assert_eq!(t["initiatingUser"]["id"], "u1");
    assert_eq!(t["initiatingShiftId"], "sh-2");
    assert_eq!(t["initiatingShiftStart"], "2026-10-20T07:00:00.000Z");
    assert_eq!(t["initiatingShiftEnd"], "2026-10-20T15:00:00.000Z");
    assert_eq!(t["receivingUser"]["id"], "u2");
    let v: Value = e
        .get(&format!(
            "{WFM}/managementunits/{MU}/weeks/2026-10-26/shifttrades"
        ))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(v["entities"], json!([]));
    assert_error(
        e.get(&format!(
            "{WFM}/managementunits/{MU}/weeks/2026-10-21/shifttrades"
        ))
        .await,
        400,
        "wfm.validation.failure",
    )
    .await;
}

#[tokio::test]
async fn every_answer_carries_a_correlation_id() {
    let e = quiet_env().await;
    let mut seen = std::collections::HashSet::new();
    for path in [
        "/api/v2/nope",
        "/emulator/health",
        &format!("{WFM}/businessunits"),
    ] {
        let r = e.get(path).await;
        let cid = r.headers()["inin-correlation-id"]
            .to_str()
            .unwrap()
            .to_string();
        assert_eq!(cid.len(), 36);
        assert!(seen.insert(cid));
    }
}

#[test]
fn the_sample_org_fixture_loads() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/org.json");
    let fixture: zd2gc::emulator::Fixture =
        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    let emu = zd2gc::emulator::Emulator::start(zd2gc::emulator::EmulatorConfig::with_fixture(
        fixture.clone(),
    ))
    .unwrap();
    let dump = emu.dump();
    assert_eq!(dump.org.users.len(), fixture.users.len());
    assert_eq!(dump.org.schedules.len(), fixture.schedules.len());
}
