//! Not tests but recordings (ignored; run by hand, as the README says), by the real binary in a
//! pseudo-terminal (`script`) against the in-process emulator rate-limited like a real org:
//! - a 200,000-shift load, written to `docs/load-progress.typescript`;
//! - a load killed at half its weeks and resumed, the resume written to
//!   `docs/load-resume.typescript`.
//!
//! `docs/load-progress.md` reads the ETA each showed at 25, 50 and 75 % of the work against the
//! time the rest actually took.
//!
//! `ZD2GC_RECORD_AGENTS=2000 ZD2GC_RECORD_WEEKS=20 cargo test --test integration record_a_200k -- --ignored --nocapture`
//! `ZD2GC_RECORD_AGENTS=400 ZD2GC_RECORD_WEEKS=20 cargo test --test integration recording_resume -- --ignored --nocapture`

use crate::common::root;
use std::path::Path;
use zd2gc::emulator::{Emulator, EmulatorConfig, Faults, RunningEmulator, SyntheticOrg, synthetic};

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The emulator (`rpm` requests a minute, 2 s of processing per update) and a migration
/// directory holding the synthetic desired state of `agents` agents in 4 business units over
/// `weeks` weeks; the number of shifts.
fn rig(agents: usize, weeks: usize, rpm: usize) -> (RunningEmulator, tempfile::TempDir, u64) {
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
    zd2gc::init::init_dir(work.path(), None).unwrap();
    let shifts =
        zd2gc::load::synth::write_desired(work.path(), &fixture, agents / 4, weeks, 0).unwrap();
    (emu, work, shifts)
}

/// The emulator's address and credentials, as the binary reads them.
fn emulator_env(emu: &RunningEmulator) -> [(&'static str, String); 4] {
    [
        ("ZD2GC_API_URL", emu.base_url().to_string()),
        ("ZD2GC_LOGIN_URL", emu.base_url().to_string()),
        ("GENESYSCLOUD_OAUTHCLIENT_ID", emu.client_id().to_string()),
        (
            "GENESYSCLOUD_OAUTHCLIENT_SECRET",
            emu.client_secret().to_string(),
        ),
    ]
}

/// `zd2gc --dir D load` in a pseudo-terminal 160 columns wide, recorded to `out`.
fn record_load(emu: &RunningEmulator, d: &Path, rpm: usize, out: &Path) {
    let cmd = format!(
        "{} --dir {} load --max-rpm {rpm} --concurrency 4",
        env!("CARGO_BIN_EXE_zd2gc"),
        d.display()
    );
    eprintln!("recording `{cmd}`");
    let t = std::time::Instant::now();
    let status = std::process::Command::new("script")
        .args(["-qfec", &cmd])
        .arg(out)
        .envs(emulator_env(emu))
        .env("COLUMNS", "160")
        .env_remove("NO_COLOR")
        .status()
        .unwrap();
    eprintln!("{:?} in {:.1}s", status.code(), t.elapsed().as_secs_f64());
    assert!(status.success());
}

#[test]
#[ignore = "a recording of minutes, run by hand"]
fn record_a_200k_shift_load() {
    let rpm = env("ZD2GC_RECORD_RPM", 300);
    let (emu, work, shifts) = rig(
        env("ZD2GC_RECORD_AGENTS", 2000),
        env("ZD2GC_RECORD_WEEKS", 20),
        rpm,
    );
    eprintln!("{shifts} shifts");
    record_load(
        &emu,
        work.path(),
        rpm,
        &root().join("docs/load-progress.typescript"),
    );
}

/// A load killed (SIGKILL) once half its weeks are done, then resumed in a pseudo-terminal.
#[test]
#[ignore = "a recording of minutes, run by hand"]
fn recording_resume_after_a_kill_at_half() {
    use std::io::BufRead;
    let rpm = env("ZD2GC_RECORD_RPM", 300);
    let weeks = env("ZD2GC_RECORD_WEEKS", 20);
    let (emu, work, shifts) = rig(env("ZD2GC_RECORD_AGENTS", 400), weeks, rpm);
    let total_weeks = 4 * weeks;
    eprintln!("{shifts} shifts");
    // First run: stderr is a pipe, so progress comes as a plain line every 10 s; killed at the
    // first line at or past half the weeks.
    let mut first = std::process::Command::new(env!("CARGO_BIN_EXE_zd2gc"))
        .args(["--dir", &work.path().display().to_string(), "load"])
        .args(["--max-rpm", &rpm.to_string(), "--concurrency", "4"])
        .envs(emulator_env(&emu))
        .stderr(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let t0 = std::time::Instant::now();
    let err = std::io::BufReader::new(first.stderr.take().unwrap());
    for l in err.lines() {
        let l = l.unwrap();
        eprintln!("first run: {l}");
        let done = l
            .strip_prefix("load: ")
            .and_then(|r| r.split('/').next())
            .and_then(|n| n.parse::<usize>().ok());
        if done.is_some_and(|n| n * 2 >= total_weeks) {
            first.kill().unwrap();
            break;
        }
    }
    let _ = first.wait();
    eprintln!("killed after {:.1}s", t0.elapsed().as_secs_f64());
    record_load(
        &emu,
        work.path(),
        rpm,
        &root().join("docs/load-resume.typescript"),
    );
}
