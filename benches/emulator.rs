//! Emulator throughput on loopback: a 10,000-user org with 500 week schedules, no latency injected.
//! Run with `cargo bench --bench emulator`; prints requests per second per kind of call.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use zd2gc::emulator::{Emulator, EmulatorConfig, SyntheticOrg, synthetic};

const CLIENTS: usize = 32;
const SECONDS: u64 = 3;

fn main() {
    let t = Instant::now();
    let spec = SyntheticOrg::default();
    let fixture = synthetic(spec);
    let shifts: usize = fixture
        .schedules
        .iter()
        .flat_map(|s| &s.agent_schedules)
        .map(|a| a.shifts.len())
        .sum();
    let mut config = EmulatorConfig::with_fixture(fixture);
    config.client_id = Some("bench".into());
    config.client_secret = Some("bench-secret".into());
    let emu = Emulator::start(config).expect("emulator starts");
    println!(
        "org: {} users, {} schedules, {} shifts; generated and loaded in {:.2?}",
        spec.users,
        spec.schedules,
        shifts,
        t.elapsed()
    );
    let base = emu.base_url().to_string();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let http = reqwest::Client::builder().no_proxy().pool_max_idle_per_host(CLIENTS).build().unwrap();
        let token: serde_json::Value = http
            .post(format!("{base}/oauth/token"))
            .basic_auth("bench", Some("bench-secret"))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let token = token["access_token"].as_str().unwrap().to_string();
        let kinds = ["users/search", "schedule GET", "agentschedules/query (50 agents)", "businessunit?expand=settings", "mixed"];
        for (k, name) in kinds.iter().enumerate() {
            let done = Arc::new(AtomicU64::new(0));
            let failed = Arc::new(AtomicU64::new(0));
            let deadline = Instant::now() + Duration::from_secs(SECONDS);
            let mut tasks = Vec::new();
            for c in 0..CLIENTS {
                let (http, base, token, done, failed) = (http.clone(), base.clone(), token.clone(), done.clone(), failed.clone());
                tasks.push(tokio::spawn(async move {
                    let mut i = c * 7919;
                    while Instant::now() < deadline {
                        i += 1;
                        let kind = if k == 4 { i % 4 } else { k };
                        let s = i % 500;
                        let (bu, mu) = (format!("bu-{}", (s % 100) % 10), format!("mu-{}", s % 100));
                        let sched = format!("{base}/api/v2/workforcemanagement/businessunits/{bu}/weeks/{{week}}/schedules/sc-{s}");
                        let week = week_of(s);
                        let req = match kind {
                            0 => http.post(format!("{base}/api/v2/users/search")).json(&serde_json::json!({
                                "query": [{"type": "EXACT", "fields": ["email"], "value": format!("agent{}@example.test", i % 10_000)}]})),
                            1 => http.get(sched.replace("{week}", &week)),
                            2 => http
                                .post(format!("{}/agentschedules/query", sched.replace("{week}", &week)))
                                .json(&serde_json::json!({"managementUnitId": mu})),
                            _ => http.get(format!("{base}/api/v2/workforcemanagement/businessunits/{bu}?expand=settings")),
                        };
                        match req.bearer_auth(&token).send().await {
                            Ok(r) if r.status().is_success() => {
                                let _ = r.bytes().await;
                                done.fetch_add(1, Ordering::Relaxed);
                            }
                            _ => {
                                failed.fetch_add(1, Ordering::Relaxed);
                            }
                        }
                    }
                }));
            }
            for t in tasks {
                t.await.unwrap();
            }
            let n = done.load(Ordering::Relaxed);
            println!(
                "{name:<36} {:>8.0} requests/s  ({n} ok, {} failed, {CLIENTS} concurrent clients, {SECONDS} s)",
                n as f64 / SECONDS as f64,
                failed.load(Ordering::Relaxed)
            );
        }
    });
    emu.shutdown();
}

/// The week of schedule `sc-s` in the synthetic org: schedules go round-robin over the 100
/// management units, so `sc-s` is week `s / 100` of its unit; even units start on Monday 2026-01-05,
/// odd ones (New York business units) on Sunday 2026-01-04.
fn week_of(s: usize) -> String {
    let mu = s % 100;
    let first = if (mu % 10).is_multiple_of(2) {
        chrono::NaiveDate::from_ymd_opt(2026, 1, 5)
    } else {
        chrono::NaiveDate::from_ymd_opt(2026, 1, 4)
    }
    .unwrap();
    (first + chrono::Duration::weeks((s / 100) as i64))
        .format("%Y-%m-%d")
        .to_string()
}
