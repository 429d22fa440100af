//! Not a test but a recording (ignored; run by hand, as the README says): a 200,000-shift load by
//! the real binary in a pseudo-terminal (`script`), against the in-process emulator rate-limited
//! like a real org, written to `docs/load-progress.typescript`; `docs/load-progress.md` reads the
//! ETA it showed at 25, 50 and 75 % of the weeks against the time the rest actually took.
//!
//! `ZD2GC_RECORD_AGENTS=2000 ZD2GC_RECORD_WEEKS=20 cargo test --test integration recording -- --ignored --nocapture`

use crate::common::root;
use zd2gc::emulator::{Emulator, EmulatorConfig, Faults, SyntheticOrg, synthetic};

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[test]
#[ignore = "a recording of minutes, run by hand"]
fn record_a_200k_shift_load() {
    let agents = env("ZD2GC_RECORD_AGENTS", 2000);
    let weeks = env("ZD2GC_RECORD_WEEKS", 20);
    let rpm = env("ZD2GC_RECORD_RPM", 300);
    let fixture = synthetic(SyntheticOrg {
        users: agents,
        business_units: 4,
        users_per_management_unit: 100,
        schedules: 0,
        agents_per_schedule: 0,
        shifts_per_agent: 0,
    });
    let emu = Emulator::start(EmulatorConfig {
        faults: Faults {
            rate_limit_rpm: rpm as u32,
            download_threshold: 1000,
            processing_ms: 2000,
            ..Faults::default()
        },
        ..EmulatorConfig::with_fixture(fixture.clone())
    })
    .unwrap();
    let work = tempfile::tempdir().unwrap();
    let d = work.path();
    zd2gc::init::init_dir(d, None).unwrap();
    let shifts = zd2gc::load::synth::write_desired(d, &fixture, agents / 4, weeks, 0).unwrap();
    let out = root().join("docs/load-progress.typescript");
    let cmd = format!(
        "{} --dir {} load --max-rpm {rpm} --concurrency 4",
        env!("CARGO_BIN_EXE_zd2gc"),
        d.display()
    );
    eprintln!("{shifts} shifts; recording `{cmd}`");
    let t = std::time::Instant::now();
    let status = std::process::Command::new("script")
        .args(["-qfec", &cmd])
        .arg(&out)
        .env("ZD2GC_API_URL", emu.base_url())
        .env("ZD2GC_LOGIN_URL", emu.base_url())
        .env("GENESYSCLOUD_OAUTHCLIENT_ID", emu.client_id())
        .env("GENESYSCLOUD_OAUTHCLIENT_SECRET", emu.client_secret())
        .env("COLUMNS", "160")
        .env_remove("NO_COLOR")
        .status()
        .unwrap();
    eprintln!("{:?} in {:.1}s", status.code(), t.elapsed().as_secs_f64());
    assert!(status.success());
}
