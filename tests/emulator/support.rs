//! Shared set-up of the emulator tests: a small org, a client holding a token, and the three-step
//! upload flows.

use flate2::Compression;
use flate2::write::GzEncoder;
use serde_json::{Value, json};
use std::io::Write;
use zd2gc::emulator::{Clock, Emulator, EmulatorConfig, Faults, Fixture, RunningEmulator};

pub const BU: &str = "bu-paris";
pub const BU_NY: &str = "bu-ny";
pub const MU: &str = "mu-paris-1";
pub const WEEK: &str = "2026-10-19";
pub const SCHED: &str = "sc-1";
pub const WFM: &str = "/api/v2/workforcemanagement";

/// Paris (Monday weeks) with one schedule of two agents; New York (Sunday weeks); one trade.
pub fn fixture() -> Fixture {
    let act = |start: &str, len: i64| json!([{"activityCodeId": "ac-work", "startDate": start, "lengthMinutes": len, "description": "On Queue Work"}]);
    serde_json::from_value(json!({
        "org": {"id": "org-1", "name": "Test org"},
        "users": [
            {"id": "u1", "name": "Camille Martin", "email": "camille.martin@acme.example"},
            {"id": "u2", "name": "Lea Petit", "email": "lea.petit@acme.example"},
            {"id": "u3", "name": "Hugo Blanc", "email": "hugo.blanc@acme.example"},
            {"id": "u4", "name": "Ann Lee", "email": "ann.lee@acme.example"},
            {"id": "u5", "name": "Nobody", "email": "nobody@acme.example"}
        ],
        "businessUnits": [
            {"id": BU, "name": "Paris", "timeZone": "Europe/Paris", "startDayOfWeek": "Monday",
             "activityCodes": [
                {"id": "ac-work", "name": "On Queue Work", "category": "OnQueueWork", "active": true},
                {"id": "ac-old", "name": "Retired", "category": "Break", "active": false}],
             "managementUnits": [{"id": MU, "name": "Paris Tier 1", "userIds": ["u1", "u2", "u3"]}]},
            {"id": BU_NY, "name": "New York", "timeZone": "America/New_York", "startDayOfWeek": "Sunday",
             "activityCodes": [{"id": "ac-ny", "name": "Work", "category": "OnQueueWork"}],
             "managementUnits": [{"id": "mu-ny", "name": "NY", "userIds": ["u4"]}]}
        ],
        "schedules": [{
            "id": SCHED, "businessUnitId": BU, "weekId": WEEK, "description": "Planner's week", "published": true,
            "agentSchedules": [
                {"userId": "u1", "shifts": [
                    {"id": "sh-1", "startDate": "2026-10-19T07:00:00Z", "lengthMinutes": 480, "activities": act("2026-10-19T07:00:00Z", 480)},
                    {"id": "sh-2", "startDate": "2026-10-20T07:00:00Z", "lengthMinutes": 480, "activities": act("2026-10-20T07:00:00Z", 480)}]},
                {"userId": "u2", "shifts": [
                    {"id": "sh-3", "startDate": "2026-10-19T08:00:00Z", "lengthMinutes": 480, "activities": act("2026-10-19T08:00:00Z", 480)}]}
            ]
        }],
        "shiftTrades": [{"id": "tr-1", "managementUnitId": MU, "weekDate": WEEK, "state": "Approved",
            "initiatingUserId": "u1", "initiatingShiftId": "sh-2", "initiatingShiftDate": "2026-10-20T07:00:00Z",
            "receivingUserId": "u2", "receivingShiftId": "sh-3", "receivingShiftDate": "2026-10-19T08:00:00Z"}]
    }))
    .expect("fixture parses")
}

pub struct Env {
    pub emu: RunningEmulator,
    pub http: reqwest::Client,
    pub token: String,
}

pub async fn env(faults: Faults) -> Env {
    env_on(faults, Clock::system()).await
}

/// An emulator on a manual clock: time moves only by [`Env::advance`], never by sleeping.
pub async fn manual_env(faults: Faults) -> Env {
    env_on(faults, Clock::manual()).await
}

async fn env_on(faults: Faults, clock: Clock) -> Env {
    let mut config = EmulatorConfig::with_fixture(fixture());
    config.faults = faults;
    config.clock = clock;
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

pub async fn quiet_env() -> Env {
    env(Faults::default()).await
}

impl Env {
    /// Move the emulator's manual clock forward (what became due is settled).
    pub fn advance(&self, ms: u64) {
        self.emu
            .advance_clock(std::time::Duration::from_millis(ms))
            .expect("the emulator runs on a manual clock");
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.emu.base_url())
    }

    pub async fn new_token(&self) -> String {
        let r = self
            .http
            .post(self.url("/oauth/token"))
            .basic_auth("test-client", Some("test-secret"))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        r.json::<Value>().await.unwrap()["access_token"]
            .as_str()
            .unwrap()
            .to_string()
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.http
            .get(self.url(path))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap()
    }

    pub async fn post(&self, path: &str, body: &Value) -> reqwest::Response {
        self.http
            .post(self.url(path))
            .bearer_auth(&self.token)
            .json(body)
            .send()
            .await
            .unwrap()
    }

    pub async fn post_if_match(
        &self,
        path: &str,
        body: &Value,
        if_match: Option<i64>,
    ) -> reqwest::Response {
        let mut rb = self
            .http
            .post(self.url(path))
            .bearer_auth(&self.token)
            .json(body);
        if let Some(v) = if_match {
            rb = rb.header("If-Match", format!("\"{v}\""));
        }
        rb.send().await.unwrap()
    }

    /// Ask for an upload URL and PUT the gzip body there as told; returns the upload key.
    pub async fn upload(
        &self,
        uploadurl_path: &str,
        body: &Value,
        if_match: Option<i64>,
    ) -> String {
        let gz = gzip(body);
        let r = self
            .post_if_match(
                uploadurl_path,
                &json!({"contentLengthBytes": gz.len()}),
                if_match,
            )
            .await;
        assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
        let up: Value = r.json().await.unwrap();
        let mut put = self.http.put(up["url"].as_str().unwrap()).body(gz);
        for (k, v) in up["headers"].as_object().unwrap() {
            put = put.header(k.as_str(), v.as_str().unwrap());
        }
        let r = put.send().await.unwrap();
        assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
        up["uploadKey"].as_str().unwrap().to_string()
    }

    pub async fn import(&self, week: &str, body: &Value) -> reqwest::Response {
        let base = format!("{WFM}/businessunits/{BU}/weeks/{week}/schedules/import");
        let key = self.upload(&format!("{base}/uploadurl"), body, None).await;
        self.post(&base, &json!({"uploadKey": key})).await
    }

    pub async fn update(
        &self,
        sid: &str,
        body: &Value,
        if_match: Option<i64>,
    ) -> reqwest::Response {
        let base = format!("{WFM}/businessunits/{BU}/weeks/{WEEK}/schedules/{sid}/update");
        let key = self
            .upload(&format!("{base}/uploadurl"), body, if_match)
            .await;
        self.post_if_match(&base, &json!({"uploadKey": key}), if_match)
            .await
    }

    pub async fn schedule_version(&self, sid: &str) -> i64 {
        let r = self
            .get(&format!(
                "{WFM}/businessunits/{BU}/weeks/{WEEK}/schedules/{sid}"
            ))
            .await;
        assert_eq!(r.status(), 200);
        r.json::<Value>().await.unwrap()["metadata"]["version"]
            .as_i64()
            .unwrap()
    }

    /// The agent schedules of `sid` for the Paris management unit, keyed by user id.
    pub async fn agents(&self, sid: &str) -> std::collections::BTreeMap<String, Value> {
        let r = self
            .post(
                &format!(
                    "{WFM}/businessunits/{BU}/weeks/{WEEK}/schedules/{sid}/agentschedules/query"
                ),
                &json!({"managementUnitId": MU}),
            )
            .await;
        assert_eq!(r.status(), 200);
        let v: Value = r.json().await.unwrap();
        v["result"]["agentSchedules"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| (a["user"]["id"].as_str().unwrap().to_string(), a.clone()))
            .collect()
    }
}

pub fn gzip(body: &Value) -> Vec<u8> {
    let mut enc = GzEncoder::new(Vec::new(), Compression::default());
    enc.write_all(&serde_json::to_vec(body).unwrap()).unwrap();
    enc.finish().unwrap()
}

/// Assert a Genesys error: status, code, and `contextId` equal to the `ININ-Correlation-Id` header.
pub async fn assert_error(r: reqwest::Response, status: u16, code: &str) -> Value {
    assert_eq!(r.status().as_u16(), status);
    let cid = r
        .headers()
        .get("inin-correlation-id")
        .expect("correlation id")
        .to_str()
        .unwrap()
        .to_string();
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["code"], code, "{body}");
    assert_eq!(body["status"], status);
    assert_eq!(body["contextId"], cid.as_str());
    assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()));
    assert!(body["details"].is_array() && body["errors"].is_array());
    body
}

/// A shift as the API takes it, with one work activity covering it.
pub fn shift(id: Option<&str>, start: &str, len: i64) -> Value {
    let mut s = json!({"startDate": start, "lengthMinutes": len,
        "activities": [{"activityCodeId": "ac-work", "startDate": start, "lengthMinutes": len, "description": "On Queue Work"}]});
    if let Some(id) = id {
        s["id"] = json!(id);
    }
    s
}
