//! Load benchmark (issue #6): 2,000 agents × 12 weeks in 4 business units (120,000 shifts, 48
//! business-unit weeks) loaded into the in-process emulator rate-limited at `--rpm` (default 300),
//! without and with faults. Reports requests per week, total requests against the minimum possible
//! (the token, the reads that tell each week's state, and one upload-URL / PUT / process triple per
//! week written; read-backs and polls counted apart), and wall time against the rate-limit bound
//! (rate-limited API requests ÷ allowed rate).
//!
//! `cargo bench --bench load -- [--rpm N] [--agents N] [--weeks N] [--only plain|faults]
//! [--processing-ms N] [--error-permille N] [--late-error-permille N]`: processing time of every
//! update (default 2000, as a real org; the blank creates are synchronous), 5xx per thousand API
//! calls with faults (default 50), updates ending `Error` per thousand with faults (default 0: each
//! costs a settle timeout before it is sent again), `--time-off N`: N time-off requests per agent
//! (default 0; loaded after the shift weeks, one create each, the minimum counts one per request)

use std::sync::Arc;
use std::time::Duration;
use zd2gc::client::{Client, Credentials, Secret};
use zd2gc::emulator::{Emulator, EmulatorConfig, Faults, SyntheticOrg, synthetic};
use zd2gc::load::{LoadOptions, load_dir, synth, verify_dir};
use zd2gc::ui::Ui;

fn arg(name: &str, default: usize) -> usize {
    let a: Vec<String> = std::env::args().collect();
    a.iter()
        .position(|x| x == name)
        .and_then(|i| a.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let rpm = arg("--rpm", 300) as u32;
    let agents = arg("--agents", 2000);
    let weeks = arg("--weeks", 12);
    let only = std::env::args().skip_while(|a| a != "--only").nth(1);
    for with_faults in [false, true] {
        if only.as_deref() == Some("plain") && with_faults
            || only.as_deref() == Some("faults") && !with_faults
        {
            continue;
        }
        run(rpm, agents, weeks, with_faults);
    }
}

fn run(rpm: u32, agents: usize, weeks: usize, with_faults: bool) {
    let fixture = synthetic(SyntheticOrg {
        users: agents,
        business_units: 4,
        users_per_management_unit: 100,
        schedules: 0,
        agents_per_schedule: 0,
        shifts_per_agent: 0,
    });
    let mut faults = Faults {
        rate_limit_rpm: rpm,
        download_threshold: 1000,
        processing_ms: arg("--processing-ms", 2000) as u64,
        ..Faults::default()
    };
    if with_faults {
        faults = Faults {
            seed: 7,
            error_rate: arg("--error-permille", 50) as f64 / 1000.0,
            drop_rate: 0.02,
            lock_rate: 0.2,
            lock_ms: 300,
            late_error_rate: arg("--late-error-permille", 0) as f64 / 1000.0,
            token_lifetime_secs: 30,
            concurrent_edit_rate: 0.15,
            ..faults
        };
    }
    let emu = Emulator::start(EmulatorConfig {
        faults,
        ..EmulatorConfig::with_fixture(fixture.clone())
    })
    .expect("emulator");
    let dir = tempfile::tempdir().expect("tempdir");
    zd2gc::init::init_dir(dir.path(), None).expect("init");
    let shifts = synth::write_desired(dir.path(), &fixture, agents / 4, weeks, 0).expect("desired");
    let time_off_per_agent = arg("--time-off", 0);
    if time_off_per_agent > 0 {
        synth::write_desired_time_off(dir.path(), &fixture, agents / 4, time_off_per_agent, 0)
            .expect("desired time off");
    }
    let client = Arc::new(
        Client::new(
            emu.endpoints(),
            Credentials {
                client_id: emu.client_id().into(),
                secret: Secret::new(emu.client_secret()),
            },
        )
        .expect("client"),
    );
    let opts = LoadOptions {
        max_rpm: rpm,
        concurrency: 4,
        settle_timeout: Duration::from_secs(30),
        poll_ms: 150,
        ..LoadOptions::default()
    };
    let r = load_dir(dir.path(), client.clone(), &opts, &Ui::silent(), "bench").expect("load");
    let k = &r.requests.by_kind;
    let unpaced = k.get("token").copied().unwrap_or(0)
        + k.get("upload-put").copied().unwrap_or(0)
        + k.get("download").copied().unwrap_or(0);
    let api = r.requests.total - unpaced;
    let bound = api.saturating_sub(1) as f64 / (rpm as f64 / 60.0);
    let excl = r.requests.total - r.confirm_reads - r.polls;
    let processing = format!("{} ms processing", arg("--processing-ms", 2000));
    let what = if with_faults {
        format!(
            "WITH faults ({:.1}% 5xx, 2% drops, 20% locks, 15% concurrent edits, {:.1}% late Errors, 30 s tokens, {processing})",
            arg("--error-permille", 50) as f64 / 10.0,
            arg("--late-error-permille", 0) as f64 / 10.0,
        )
    } else {
        format!("without faults ({processing})")
    };
    println!(
        "load {what} — {agents} agents × {weeks} weeks, {shifts} shifts, {} business-unit weeks, {rpm} rpm",
        r.weeks
    );
    println!(
        "  weeks: {} done, {} failed, {} with conflicts",
        r.weeks_done, r.weeks_failed, r.weeks_conflict
    );
    println!(
        "  requests: {} total = {:.1}/week; by kind {:?}",
        r.requests.total,
        r.requests.total as f64 / r.weeks as f64,
        k
    );
    println!(
        "  minimum possible: {} (1 token + 1 identifying read + {} state reads + {} blank creates + 3 × {} weeks written); sent excluding read-backs and polls: {} ({:+.1}% over the minimum); read-backs {}, polls {}",
        r.minimum_requests,
        r.state_reads,
        r.weeks_created,
        r.weeks_written,
        excl,
        (excl as f64 / r.minimum_requests as f64 - 1.0) * 100.0,
        r.confirm_reads,
        r.polls
    );
    println!(
        "  retries: 429 ×{} ({:.2}% of requests), 409 ×{}, 412 ×{}, 5xx ×{}, no answer ×{}, 401 ×{}",
        r.requests.status_429,
        r.requests.status_429 as f64 * 100.0 / r.requests.total as f64,
        r.requests.status_409,
        r.requests.status_412,
        r.requests.status_5xx,
        r.requests.no_answer,
        r.requests.status_401
    );
    println!(
        "  wall {:.1}s; rate-limit bound {:.1}s ({} rate-limited API requests at {rpm}/min): {:+.1}%",
        r.seconds,
        bound,
        api,
        (r.seconds / bound - 1.0) * 100.0
    );
    if time_off_per_agent > 0 {
        let t = &r.time_off;
        let created = t.created + t.found;
        println!(
            "  time off: {} requests to load ({time_off_per_agent} per agent), {} created + {} found after a doubt + {} already, {} failed; {} creates sent ({:+.1}% over one per request), {} queries to settle doubts",
            t.desired,
            t.created,
            t.found,
            t.already,
            t.failures.len(),
            t.creates_sent,
            (t.creates_sent as f64 / created.max(1) as f64 - 1.0) * 100.0,
            t.queries
        );
    }
    let dump = emu.dump();
    let mut per_week = std::collections::HashMap::new();
    for s in &dump.org.schedules {
        *per_week
            .entry((s.business_unit_id.clone(), s.week_id.clone()))
            .or_insert(0u32) += 1;
    }
    println!(
        "  schedules per business-unit week: at most {} (a week created twice would show 2)",
        per_week.values().max().copied().unwrap_or(0)
    );
    emu.set_faults(Faults::default()).expect("faults off");
    let v = verify_dir(
        dir.path(),
        client,
        &LoadOptions {
            max_rpm: 100_000,
            ..opts
        },
        "verify",
    )
    .expect("verify");
    println!(
        "  verify: {} (matching {}, missing {}, different {}, duplicates {}, second schedules {}; time off {:?})",
        if v.matches() { "matches" } else { "DIFFERS" },
        v.matching_shifts,
        v.missing,
        v.different,
        v.duplicates,
        v.extra_schedules,
        v.time_off
    );
}
