//! `load` against real Genesys semantics (issue 13, part B): agent-schedule queries that answer
//! `Processing`, weeks holding drafts and multi-week schedules, the shift-trade list
//! (`evaluateMatches=false`, `downloadUrl`), adoption of a planner's week whose activity
//! descriptions differ, and failing fast on what retrying cannot fix.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;
use zd2gc::client::{Client, Credentials, Secret};
use zd2gc::emulator::fixture::FixtureSchedule;
use zd2gc::emulator::{Dump, Emulator, EmulatorConfig, Faults, RunningEmulator};
use zd2gc::load::{LoadOptions, load_dir, synth, verify_dir};
use zd2gc::ui::Ui;

use crate::common::{
    emulator_client as client, fast_load as fast, migration_dir, synthetic_org as org,
};

/// Every shift (ids left out) by (schedule, user), sorted.
fn shifts_by_schedule(d: &Dump) -> BTreeMap<(String, String), Vec<String>> {
    let mut m: BTreeMap<_, Vec<String>> = BTreeMap::new();
    for s in &d.org.schedules {
        for a in &s.agent_schedules {
            let e = m.entry((s.id.clone(), a.user_id.clone())).or_default();
            for sh in &a.shifts {
                let mut x = sh.clone();
                x.id = None;
                e.push(serde_json::to_string(&x).unwrap());
            }
            e.sort();
        }
    }
    m
}

#[test]
fn a_processing_agent_schedule_query_is_asked_again_never_read_as_an_empty_week() {
    // A first migration fills the org; a second one (a fresh directory, another marker) finds
    // every desired shift already there and must adopt them all, writing nothing. Were a
    // `Processing` answer read as an empty week, it would import or add them again.
    let fixture = org(20, 1);
    let emu = Emulator::start(EmulatorConfig::with_fixture(fixture.clone())).unwrap();
    let first = migration_dir();
    let n = synth::write_desired(first.path(), &fixture, 10, 3, 0).unwrap();
    let c = client(&emu);
    let r = load_dir(first.path(), c.clone(), &fast(), &Ui::silent(), "load").unwrap();
    assert_eq!(r.weeks_done, 3, "{r:?}");
    let before = shifts_by_schedule(&emu.dump());
    emu.set_faults(Faults {
        seed: 3,
        query_processing_rate: 0.6,
        ..Faults::default()
    })
    .unwrap();
    let second = migration_dir();
    synth::write_desired(second.path(), &fixture, 10, 3, 0).unwrap();
    let r = load_dir(second.path(), c.clone(), &fast(), &Ui::silent(), "load").unwrap();
    assert_eq!(r.weeks_done, 3, "{r:?}");
    assert_eq!(r.write_requests, 0, "{r:?}");
    assert!(r.polls > 0, "the query never answered Processing: {r:?}");
    assert_eq!(shifts_by_schedule(&emu.dump()), before);
    let v = verify_dir(second.path(), c, &fast(), "verify").unwrap();
    assert!(v.matches(), "{v:?}");
    assert_eq!(v.matching_shifts, n);
}

#[test]
fn a_query_that_stays_processing_fails_its_week_with_the_reason_and_the_load_ends() {
    let fixture = org(20, 1);
    let emu = Emulator::start(EmulatorConfig::with_fixture(fixture.clone())).unwrap();
    let dir = migration_dir();
    synth::write_desired(dir.path(), &fixture, 10, 2, 0).unwrap();
    let c = client(&emu);
    // A first load gives both weeks a schedule, so the next run must query them.
    load_dir(dir.path(), c.clone(), &fast(), &Ui::silent(), "load").unwrap();
    emu.set_faults(Faults {
        query_processing_rate: 1.0,
        ..Faults::default()
    })
    .unwrap();
    let opts = LoadOptions {
        recheck: true,
        settle_timeout: Duration::from_secs(1),
        ..fast()
    };
    let t = std::time::Instant::now();
    let r = load_dir(dir.path(), c, &opts, &Ui::silent(), "load").unwrap();
    assert!(t.elapsed() < Duration::from_secs(8), "{:?}", t.elapsed());
    assert_eq!(r.weeks_failed, 2, "{r:?}");
    assert_eq!(r.exit(), zd2gc::exit::Exit::Partial);
    for (_, _, why) in &r.failures {
        assert!(why.contains("still `Processing`"), "{why}");
        assert!(why.contains("operation id"), "{why}");
        assert!(!why.contains("code ,"), "{why}");
    }
    assert_eq!(r.write_requests, 0);
}

/// A published schedule of `weeks` weeks from `week`, with no agent schedules yet.
fn planner_schedule(id: &str, week: &str, weeks: u32) -> FixtureSchedule {
    FixtureSchedule {
        id: id.into(),
        business_unit_id: "bu-0".into(),
        week_id: week.into(),
        week_count: weeks,
        description: format!("Planner schedule from {week}"),
        published: true,
        metadata: None,
        agent_schedules: vec![],
    }
}

#[test]
fn the_week_schedule_is_ours_or_the_published_one_starting_that_week_never_a_draft() {
    // bu-0 weeks 2026-01-05, -12, -19. The week of the 5th has a published one-week schedule;
    // a published two-week schedule starts on the 12th (and spans the 19th); every week also
    // holds two unpublished drafts whose ids sort first.
    let mut fixture = org(20, 1);
    fixture.schedules = vec![
        planner_schedule("p-week-05", "2026-01-05", 1),
        planner_schedule("p-two-weeks-12", "2026-01-12", 2),
    ];
    let emu = Emulator::start(EmulatorConfig::with_fixture(fixture.clone())).unwrap();
    emu.set_faults(Faults {
        drafts: true,
        ..Faults::default()
    })
    .unwrap();
    let dir = migration_dir();
    let n = synth::write_desired(dir.path(), &fixture, 10, 3, 0).unwrap();
    let c = client(&emu);
    let r = load_dir(dir.path(), c.clone(), &fast(), &Ui::silent(), "load").unwrap();
    assert_eq!(r.weeks_done, 3, "{r:?}");
    let d = emu.dump();
    let by_id: HashMap<&str, &FixtureSchedule> =
        d.org.schedules.iter().map(|s| (s.id.as_str(), s)).collect();
    // Drafts untouched.
    let drafts: Vec<&&FixtureSchedule> = by_id.values().filter(|s| !s.published).collect();
    assert_eq!(drafts.len(), 6, "two drafts per week read");
    for s in drafts {
        assert!(s.agent_schedules.is_empty(), "written into draft {}", s.id);
        assert_eq!(s.metadata.as_ref().unwrap().version, 1, "draft {}", s.id);
    }
    // The 5th and the 12th were written into the planners' published schedules; only the 19th
    // (spanned by a schedule that started earlier) got a schedule of ours.
    let shifts = |id: &str| -> usize {
        by_id[id]
            .agent_schedules
            .iter()
            .map(|a| a.shifts.len())
            .sum()
    };
    assert_eq!(shifts("p-week-05"), 10 * 5);
    assert_eq!(shifts("p-two-weeks-12"), 10 * 5);
    let ours: Vec<&&FixtureSchedule> = by_id
        .values()
        .filter(|s| s.description.contains("[zd2gc:"))
        .collect();
    assert_eq!(ours.len(), 1, "{ours:?}");
    assert_eq!(ours[0].week_id, "2026-01-19");
    assert_eq!(
        ours[0]
            .agent_schedules
            .iter()
            .map(|a| a.shifts.len())
            .sum::<usize>(),
        10 * 5
    );
    let v = verify_dir(dir.path(), c, &fast(), "verify").unwrap();
    assert!(v.matches(), "{v:?}");
    assert_eq!(v.matching_shifts, n);
}

/// What the recording server saw: request lines, and whether each carried a bearer token.
type Seen = Arc<std::sync::Mutex<Vec<(String, bool)>>>;

/// A loopback server that answers a token, a week's trades as a `downloadUrl` only, and the
/// download; it records every request.
async fn recording_trades_server() -> (String, Seen) {
    use axum::extract::Request;
    use axum::routing::any;
    let seen: Seen = Arc::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (s2, b2) = (seen.clone(), base.clone());
    let app = axum::Router::new().fallback(any(move |req: Request| {
        let (seen, base) = (s2.clone(), b2.clone());
        async move {
            let uri = req.uri().to_string();
            let bearer = req
                .headers()
                .get("authorization")
                .is_some_and(|v| v.to_str().unwrap_or("").starts_with("Bearer"));
            seen.lock().unwrap().push((format!("{} {uri}", req.method()), bearer));
            let body = if uri.starts_with("/oauth/token") {
                serde_json::json!({"access_token": "tok", "token_type": "bearer", "expires_in": 3600})
            } else if uri.starts_with("/download/") {
                serde_json::json!({"entities": [{"trade": {
                    "id": "tr-9", "weekDate": "2026-01-05", "state": "Approved",
                    "initiatingUser": {"id": "u-1"}, "initiatingShiftId": "sh-1",
                    "initiatingShiftStart": "2026-01-05T08:00:00Z"}}]})
            } else {
                serde_json::json!({"entities": [], "downloadUrl": format!("{base}/download/k1")})
            };
            axum::Json(body)
        }
    }));
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (base, seen)
}

#[tokio::test]
async fn trades_are_listed_without_match_evaluation_and_a_download_url_is_followed_without_the_token()
 {
    let (base, seen) = recording_trades_server().await;
    let c = Client::new(
        zd2gc::genesys::Endpoints::single(&base),
        Credentials {
            client_id: "id".into(),
            secret: Secret::new("secret"),
        },
    )
    .unwrap();
    let trades = c.week_shift_trades("mu-0", "2026-01-05").await.unwrap();
    assert_eq!(trades.len(), 1, "the downloaded trades were dropped");
    assert_eq!(trades[0].id, "tr-9");
    let seen = seen.lock().unwrap().clone();
    let list = seen
        .iter()
        .find(|(l, _)| l.contains("/shifttrades"))
        .expect("trades listed");
    assert!(list.0.ends_with("?evaluateMatches=false"), "{list:?}");
    assert!(list.1, "the API call carries the bearer token");
    let dl = seen
        .iter()
        .find(|(l, _)| l.contains("/download/"))
        .expect("download followed");
    assert!(!dl.1, "the bearer token reached the download host: {dl:?}");
}

fn zd2gc_load(
    dir: &std::path::Path,
    emu: &RunningEmulator,
    extra: &[&str],
) -> std::process::Output {
    zd2gc_load_with(dir, emu, emu.client_secret(), extra)
}

fn zd2gc_load_with(
    dir: &std::path::Path,
    emu: &RunningEmulator,
    secret: &str,
    extra: &[&str],
) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_zd2gc"))
        .args(["--dir", dir.to_str().unwrap(), "--no-progress", "load"])
        .args(["--max-rpm", "20000", "--settle-timeout", "2"])
        .args(extra)
        .env("ZD2GC_API_URL", emu.base_url())
        .env("ZD2GC_LOGIN_URL", emu.base_url())
        .env("GENESYSCLOUD_OAUTHCLIENT_ID", emu.client_id())
        .env("GENESYSCLOUD_OAUTHCLIENT_SECRET", secret)
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

#[test]
fn parked_conflicts_alone_exit_4_with_what_to_do_not_a_resume() {
    // A planner's shift of another activity overlaps the first desired shift of u-00000.
    let mut fixture = org(20, 1);
    let mut s = planner_schedule("p-week-05", "2026-01-05", 1);
    s.agent_schedules =
        vec![serde_json::from_value(serde_json::json!({
        "userId": "u-00000",
        "shifts": [{"id": "planner-1", "startDate": "2026-01-05T07:00:00Z", "lengthMinutes": 60,
            "activities": [{"activityCodeId": "ac-0-2", "startDate": "2026-01-05T07:00:00Z",
                "lengthMinutes": 60, "description": "Team meeting"}]}]
    }))
    .unwrap()];
    fixture.schedules = vec![s];
    let emu = Emulator::start(EmulatorConfig::with_fixture(fixture.clone())).unwrap();
    let dir = migration_dir();
    synth::write_desired(dir.path(), &fixture, 10, 1, 0).unwrap();
    for run in 0..2 {
        let out = zd2gc_load(dir.path(), &emu, &[]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(4), "run {run}: {stderr}");
        assert!(
            stderr.contains("1 shift(s) in 1 week(s) parked as conflicts"),
            "{stderr}"
        );
        assert!(
            stderr.contains("status") && stderr.contains("--on-conflict ours"),
            "{stderr}"
        );
        assert!(
            !stderr.contains("resume"),
            "a re-run cannot fix a conflict: {stderr}"
        );
    }
    // Writing ours over it ends the load cleanly.
    let out = zd2gc_load(dir.path(), &emu, &["--on-conflict", "ours"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn the_paris_sample_adopts_the_planner_week_whose_descriptions_differ() {
    // samples/org.json holds a planner's published week whose activities say "Meal" where the
    // export says "Lunch" (same codes, times and lengths): 25 shifts, adopted, none parked.
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let tmp = tempfile::tempdir().unwrap();
    let work = tmp.path().join("rehearsal");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_zd2gc"))
        .arg("rehearse")
        .arg(root.join("samples/paris-cutover"))
        .arg("--workdir")
        .arg(&work)
        .arg("--mappings")
        .arg(root.join("mappings"))
        .arg("--org")
        .arg(root.join("samples/org.json"))
        .arg("--no-faults")
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("0 with parked conflicts"), "{stderr}");
    let c = rusqlite::Connection::open(work.join("zd2gc.db")).unwrap();
    let q = |sql: &str| -> i64 { c.query_row(sql, [], |r| r.get(0)).unwrap() };
    assert_eq!(q("SELECT COUNT(*) FROM load_conflicts WHERE active = 1"), 0);
    assert_eq!(q("SELECT COUNT(*) FROM xw_shifts WHERE adopted = 2"), 25);
    let detail: String = c
        .query_row(
            "SELECT detail FROM load_events WHERE event = 'adopted-relabelled'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(
        detail.starts_with("25 planner shift(s) adopted"),
        "{detail}"
    );
    // Independent of the loader: the adopted shifts in the org keep the planner's "Meal".
    let org: serde_json::Value =
        serde_json::from_slice(&std::fs::read(root.join("samples/org.json")).unwrap()).unwrap();
    assert!(org.to_string().contains("\"Meal\""));
}

/// The org this migration directory is bound to, if any.
fn bound_org(dir: &std::path::Path) -> Option<String> {
    let c = rusqlite::Connection::open(dir.join("zd2gc.db")).unwrap();
    c.query_row(
        "SELECT value FROM meta WHERE key = ?1",
        [zd2gc::load::guard::ORG_KEY],
        |r| r.get(0),
    )
    .ok()
}

fn help_of(e: &zd2gc::error::Error) -> String {
    use miette::Diagnostic;
    e.help().map(|h| h.to_string()).unwrap_or_default()
}

#[test]
fn a_wrong_secret_is_one_clear_error_within_seconds_and_binds_nothing() {
    let fixture = org(20, 1);
    let emu = Emulator::start(EmulatorConfig::with_fixture(fixture.clone())).unwrap();
    let dir = migration_dir();
    synth::write_desired(dir.path(), &fixture, 10, 3, 0).unwrap();
    let t = std::time::Instant::now();
    let out = zd2gc_load_with(dir.path(), &emu, "not-the-secret", &[]);
    assert!(t.elapsed() < Duration::from_secs(10), "{:?}", t.elapsed());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!("{}/oauth/token", emu.base_url())),
        "names the URL: {stderr}"
    );
    assert!(stderr.contains("HTTP 401"), "{stderr}");
    assert!(
        stderr.contains("GENESYSCLOUD_OAUTHCLIENT_SECRET (environment)"),
        "names the setting: {stderr}"
    );
    assert!(
        !stderr.contains("not-the-secret"),
        "the secret leaked: {stderr}"
    );
    for bad in ["resume", "code ,", "2026-01-"] {
        assert!(!stderr.contains(bad), "`{bad}` in: {stderr}");
    }
    assert_eq!(
        bound_org(dir.path()),
        None,
        "bound before any authenticated call"
    );
    // Fixed: the same directory loads, with no --rebind.
    let out = zd2gc_load(dir.path(), &emu, &[]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(bound_org(dir.path()).unwrap().contains(emu.base_url()));
}

fn creds() -> Credentials {
    Credentials {
        client_id: "id".into(),
        secret: Secret::new("secret"),
    }
}

/// A loopback port where nothing listens.
fn dead_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

#[test]
fn a_refused_connection_is_one_clear_error_within_seconds_and_binds_nothing() {
    let fixture = org(20, 1);
    let dir = migration_dir();
    synth::write_desired(dir.path(), &fixture, 10, 3, 0).unwrap();
    let dead = format!("http://127.0.0.1:{}", dead_port());
    // The login host refuses.
    let c = Arc::new(Client::new(zd2gc::genesys::Endpoints::single(&dead), creds()).unwrap());
    let t = std::time::Instant::now();
    let e = load_dir(dir.path(), c, &fast(), &Ui::silent(), "load").unwrap_err();
    assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
    let msg = e.to_string();
    assert!(msg.contains(&format!("{dead}/oauth/token")), "{msg}");
    assert!(msg.contains("connection refused"), "{msg}");
    assert!(help_of(&e).contains("ZD2GC_LOGIN_URL"), "{}", help_of(&e));
    assert_eq!(bound_org(dir.path()), None);
    // The login answers, the API host refuses.
    let emu = Emulator::start(EmulatorConfig::with_fixture(fixture.clone())).unwrap();
    let mut c = Client::new(
        zd2gc::genesys::Endpoints {
            api: dead.clone(),
            login: emu.base_url().to_string(),
        },
        Credentials {
            client_id: emu.client_id().to_string(),
            secret: Secret::new(emu.client_secret()),
        },
    )
    .unwrap();
    c.policy.base = Duration::from_millis(1);
    let t = std::time::Instant::now();
    let e = load_dir(dir.path(), Arc::new(c), &fast(), &Ui::silent(), "load").unwrap_err();
    assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
    let msg = e.to_string();
    assert!(
        msg.contains(&format!("API at {dead}")) && msg.contains("connection refused"),
        "{msg}"
    );
    assert!(help_of(&e).contains("ZD2GC_API_URL"), "{}", help_of(&e));
    assert!(!msg.contains("resume") && !help_of(&e).contains("resume"));
    assert_eq!(bound_org(dir.path()), None);
    // Fixed: loads with no --rebind.
    let r = load_dir(dir.path(), client(&emu), &fast(), &Ui::silent(), "load").unwrap();
    assert_eq!(r.weeks_done, 3, "{r:?}");
    assert!(
        r.notes.iter().all(|n| !n.contains("rebind")),
        "{:?}",
        r.notes
    );
}

/// A resolver that knows no name (a DNS failure, without asking any server).
struct NoDns;

impl reqwest::dns::Resolve for NoDns {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let n = name.as_str().to_string();
        Box::pin(async move {
            Err(Box::new(std::io::Error::other(format!(
                "failed to lookup address information: {n}"
            ))) as Box<dyn std::error::Error + Send + Sync>)
        })
    }
}

#[test]
fn a_host_name_that_does_not_resolve_is_one_clear_error_within_seconds() {
    let fixture = org(20, 1);
    let dir = migration_dir();
    synth::write_desired(dir.path(), &fixture, 10, 3, 0).unwrap();
    let ep = zd2gc::genesys::Endpoints {
        api: "https://api.zd2gc-no-such-region.invalid".into(),
        login: "https://login.zd2gc-no-such-region.invalid".into(),
    };
    let c = Arc::new(Client::with_dns_resolver(ep, creds(), Arc::new(NoDns)).unwrap());
    let t = std::time::Instant::now();
    let e = load_dir(dir.path(), c, &fast(), &Ui::silent(), "load").unwrap_err();
    assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
    let msg = e.to_string();
    assert!(
        msg.contains("https://login.zd2gc-no-such-region.invalid/oauth/token"),
        "{msg}"
    );
    assert!(msg.contains("does not resolve"), "{msg}");
    assert!(
        help_of(&e).contains("GENESYSCLOUD_REGION"),
        "{}",
        help_of(&e)
    );
    assert_eq!(bound_org(dir.path()), None);
}

/// Every file under `dir` with its bytes.
fn tree(dir: &std::path::Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p.strip_prefix(dir).unwrap().display().to_string();
                out.insert(rel, std::fs::read(&p).unwrap());
            }
        }
    }
    out
}

#[test]
fn rehearse_empties_only_a_directory_it_made_itself() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let rehearse = |work: &std::path::Path, force: bool| {
        let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_zd2gc"));
        c.arg("rehearse")
            .arg(root.join("samples/clean"))
            .arg("--workdir")
            .arg(work)
            .arg("--mappings")
            .arg(root.join("mappings"))
            .arg("--org")
            .arg(root.join("samples/org.json"))
            .arg("--no-faults")
            .env("NO_COLOR", "1");
        if force {
            c.arg("--force");
        }
        c.output().unwrap()
    };
    // A real migration directory with a journal: refused, left byte for byte as it was.
    let fixture = org(20, 1);
    let emu = Emulator::start(EmulatorConfig::with_fixture(fixture.clone())).unwrap();
    let real = migration_dir();
    synth::write_desired(real.path(), &fixture, 5, 1, 0).unwrap();
    load_dir(real.path(), client(&emu), &fast(), &Ui::silent(), "load").unwrap();
    let before = tree(real.path());
    assert!(before.contains_key("zd2gc.db"));
    let out = rehearse(real.path(), false);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("refusing to empty it"), "{stderr}");
    assert!(
        stderr.contains("journal") && stderr.contains("--force"),
        "{stderr}"
    );
    assert_eq!(
        tree(real.path()),
        before,
        "the migration directory was touched"
    );
    // A directory rehearse made is emptied and reused; one it did not make, only with --force.
    let tmp = tempfile::tempdir().unwrap();
    let work = tmp.path().join("rehearsal");
    for run in 0..2 {
        let out = rehearse(&work, false);
        assert_eq!(
            out.status.code(),
            Some(0),
            "run {run}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(work.join(".zd2gc-rehearsal").is_file());
    }
    let other = tmp.path().join("notes");
    std::fs::create_dir(&other).unwrap();
    std::fs::write(other.join("todo.txt"), "keep me").unwrap();
    assert_eq!(rehearse(&other, false).status.code(), Some(1));
    assert_eq!(std::fs::read(other.join("todo.txt")).unwrap(), b"keep me");
    let out = rehearse(&other, true);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!other.join("todo.txt").exists());
}
