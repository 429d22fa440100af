//! Stage benchmark (issue 17): every stage run from the command line, as an engineer runs it, on a
//! tenth of the 10,000-agent × 26-week export and on the whole of it, in one run on one machine:
//!
//! - extract, map (first run and an unchanged re-run), validate, and load against `zd2gc emulate`
//!   (loopback, a rate limit far above what the load sends), each a child process of the release
//!   binary, with its wall time, CPU (user + sys) and peak RSS taken from `wait4`'s `rusage`;
//! - the state left on disk (`zd2gc.db` and the snapshot files, WAL and shared memory included)
//!   against the export's CSV bytes;
//! - `benches/reference_pipeline.py` (Python, standard library only: extract + the DST, duplicate and
//!   overlap checks) on the same export, and the ratio of its wall time to extract + map + validate;
//!   beside it, the findings per rule of `zd2gc validate` and of the reference, each rule the
//!   reference checks flagged when the two counts differ (then the ratio compares unequal work).
//!
//! Run: `cargo bench --bench stages` (options: `-- --agents N --weeks N` for the whole export, default
//! 10,000 × 26; `--ids short|uuid`, the ids' style (`testdata::IdStyle`; default `short`, `uuid` is
//! the long ids of a real export); `--no-load`, `--no-reference`, `--only-whole`; `--cold-export`;
//! `--rpm N`, default 600,000). The exports are generated once under `target/bench-data/` (shared with
//! `benches/pipeline.rs`; `export-{agents}x{weeks}` for short ids, `export-{agents}x{weeks}-uuid` for
//! UUIDs) and the migration directories are `target/bench-stages/{tenth,whole}/` (`tenth-uuid`,
//! `whole-uuid` for UUIDs), kept after the run for a look.
//! Each timed stage starts after `sync`, so that no stage is charged for the write-back of the one
//! before. A stage that fails stops the benchmark with its stderr.
//!
//! The page cache: before extract (and before the reference) the export is read through once,
//! outside the timing, so both start with it in the page cache, as right after the export was
//! unzipped or copied; the output says how much of it was there before. `--cold-export` drops it
//! from the page cache instead (`posix_fadvise(DONTNEED)`), so that extract pays for reading it
//! from the disk; that is a real cost for a user whose export is not cached, and the output says
//! which of the two was measured. Before, the bench took whatever the machine had left: on a machine
//! shared with builds, part of the export was evicted between runs, and extract's CPU rose by up to
//! ~1 s (kernel time of the reads) in some runs and not in others.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use zd2gc::testdata::IdStyle;

const CLIENT_ID: &str = "bench-stages";
const CLIENT_SECRET: &str = "bench-stages-secret";

fn arg(name: &str, default: u64) -> u64 {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn str_arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .cloned()
}

fn flag(name: &str) -> bool {
    std::env::args().any(|a| a == name)
}

/// What one child process cost.
#[derive(Debug, Clone, Copy, Default)]
struct Usage {
    wall: f64,
    cpu: f64,
    rss_mb: f64,
}

impl Usage {
    fn row(&self) -> String {
        format!(
            "{:>8.2} s {:>8.2} s {:>7.0} MB",
            self.wall, self.cpu, self.rss_mb
        )
    }
}

/// Wait for `pid` with `wait4`: its exit code and what it used.
fn wait(pid: u32, started: Instant) -> (i32, Usage) {
    let mut status = 0;
    // SAFETY: rusage is plain data; wait4 fills it for our own child `pid`.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    let r = unsafe { libc::wait4(pid as libc::pid_t, &mut status, 0, &mut ru) };
    assert_eq!(
        r,
        pid as libc::pid_t,
        "wait4: {}",
        std::io::Error::last_os_error()
    );
    let wall = started.elapsed().as_secs_f64();
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        128 + libc::WTERMSIG(status)
    };
    (
        code,
        Usage {
            wall,
            cpu: secs(ru.ru_utime) + secs(ru.ru_stime),
            // Linux reports ru_maxrss in KiB.
            rss_mb: ru.ru_maxrss as f64 * 1024.0 / 1e6,
        },
    )
}

/// Run `cmd` to its end, stdout and stderr to files in `log_dir`; a failure stops the benchmark.
fn measure(label: &str, cmd: &mut Command, log_dir: &Path, ok_codes: &[i32]) -> (Usage, String) {
    settle();
    let out = log_dir.join(format!("{label}.stdout"));
    let err = log_dir.join(format!("{label}.stderr"));
    cmd.stdout(std::fs::File::create(&out).expect("stdout file"))
        .stderr(std::fs::File::create(&err).expect("stderr file"))
        .stdin(Stdio::null());
    let started = Instant::now();
    let child = cmd.spawn().unwrap_or_else(|e| panic!("{label}: {e}"));
    let (code, usage) = wait(child.id(), started);
    // The child was reaped by wait4 above; `Child`'s drop neither waits nor kills.
    drop(child);
    if !ok_codes.contains(&code) {
        panic!(
            "{label} exited {code}:\n{}",
            std::fs::read_to_string(&err).unwrap_or_default()
        );
    }
    (usage, std::fs::read_to_string(&out).unwrap_or_default())
}

/// Let the disk settle before a timed stage (the previous stage's files are still being written back).
fn settle() {
    let _ = Command::new("sync").status();
}

/// The files of the export directory `dir` (not its subdirectories).
fn export_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("read the export directory")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

/// Bytes of the export's files in the page cache, and their size (`mincore` over a mapping of each).
fn resident(dir: &Path) -> (u64, u64) {
    use std::os::fd::AsRawFd;
    // SAFETY: sysconf has no preconditions.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) } as usize;
    let (mut res, mut total) = (0u64, 0u64);
    for p in export_files(dir) {
        let f = std::fs::File::open(&p).expect("open an export file");
        let len = f.metadata().expect("export file metadata").len() as usize;
        total += len as u64;
        if len == 0 {
            continue;
        }
        // SAFETY: a read-only shared mapping of a file we hold open, unmapped below; mincore
        // writes one byte per page of it into `v`, which has that many.
        unsafe {
            let addr = libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ,
                libc::MAP_SHARED,
                f.as_raw_fd(),
                0,
            );
            assert_ne!(addr, libc::MAP_FAILED, "mmap {}", p.display());
            let mut v = vec![0u8; len.div_ceil(page)];
            let r = libc::mincore(addr, len, v.as_mut_ptr());
            libc::munmap(addr, len);
            assert_eq!(r, 0, "mincore: {}", std::io::Error::last_os_error());
            let pages = v.iter().filter(|b| **b & 1 == 1).count() as u64;
            res += (pages * page as u64).min(len as u64);
        }
    }
    (res, total)
}

/// Put the export in the page cache state the timed stages start from (outside any timing):
/// read every file through once (warm, as right after the export was unzipped or copied), or with
/// `cold` drop its pages (`posix_fadvise(DONTNEED)`), so that extract reads it from the disk. Returns
/// what was in the page cache before and after. Without this, the state is whatever the machine
/// left: on a shared machine the export is partly evicted between runs, and extract (the first
/// stage to read it) then pays for reading it from the disk in some runs and not in others.
fn prepare_export(dir: &Path, cold: bool) -> ((u64, u64), (u64, u64)) {
    use std::os::fd::AsRawFd;
    let before = resident(dir);
    for p in export_files(dir) {
        let mut f = std::fs::File::open(&p).expect("open an export file");
        if cold {
            // SAFETY: advice on a file we hold open; it changes no data.
            let r = unsafe { libc::posix_fadvise(f.as_raw_fd(), 0, 0, libc::POSIX_FADV_DONTNEED) };
            assert_eq!(r, 0, "posix_fadvise {}", p.display());
        } else {
            std::io::copy(&mut f, &mut std::io::sink()).expect("read an export file");
        }
    }
    (before, resident(dir))
}

/// A line saying what [`prepare_export`] found and left.
fn cache_line(((b, total), (a, _)): ((u64, u64), (u64, u64)), cold: bool) -> String {
    let mb = |x: u64| x as f64 / 1e6;
    format!(
        "{:.0} of {:.0} MB of the export were in the page cache; {}: {:.0} MB",
        mb(b),
        mb(total),
        if cold {
            "dropped from it (--cold-export)"
        } else {
            "read once to warm it, outside the timing"
        },
        mb(a)
    )
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The generated export (once; reused after, and shared with `benches/pipeline.rs`), in a directory
/// named by its size and id style.
fn data(agents: u64, weeks: u64, ids: IdStyle) -> (PathBuf, zd2gc::testdata::Generated) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!(
        "target/bench-data/export-{agents}x{weeks}{}",
        ids.dir_suffix()
    ));
    let (g, secs) =
        zd2gc::testdata::cached_export_with(&dir, agents, weeks, ids).expect("generate export");
    if let Some(secs) = secs {
        eprintln!(
            "generated {} records ({} MB) in {secs:.1}s",
            g.records(),
            g.bytes / 1_000_000
        );
    }
    (dir, g)
}

/// The emulator org that matches `testdata::generate_mappings`: the two business units (Paris,
/// Monday weeks; Chicago, Sunday weeks) with the six activity codes, every mapped user, in
/// management units of 100 users.
fn org_fixture(agents: u64) -> serde_json::Value {
    use serde_json::json;
    const BU_PAR: &str = "00000000-0000-4000-8000-0000000000b1";
    const BU_CHI: &str = "00000000-0000-4000-8000-0000000000b2";
    let codes = [
        ("a1", "Phone", "OnQueueWork"),
        ("a2", "Email", "OnQueueWork"),
        ("a3", "Chat", "OnQueueWork"),
        ("a4", "Training", "Training"),
        ("a5", "Team Meeting", "Meeting"),
        ("aa", "On Queue Work", "OnQueueWork"),
    ];
    let codes: Vec<_> = codes
        .iter()
        .map(|(id, name, cat)| {
            json!({"id": format!("00000000-0000-4000-8000-0000000000{id}"), "name": name,
                   "category": cat, "active": true, "defaultCode": *id == "aa"})
        })
        .collect();
    let user = |i: u64| format!("00000000-0000-4000-8000-{i:012}");
    let users: Vec<_> = (0..agents)
        .map(|i| {
            json!({"id": user(i), "name": format!("Agent {i}"),
                   "email": format!("agent{i}@bench.example"), "state": "active"})
        })
        .collect();
    let mus = |chicago: bool| -> Vec<serde_json::Value> {
        let ids: Vec<u64> = (0..agents).filter(|i| (i % 10 == 9) == chicago).collect();
        ids.chunks(100)
            .enumerate()
            .map(|(k, c)| {
                json!({"id": management_unit(chicago, k),
                       "name": format!("{} {k}", if chicago { "Chicago" } else { "Paris" }),
                       "userIds": c.iter().map(|&i| user(i)).collect::<Vec<_>>()})
            })
            .collect()
    };
    json!({
        "org": {"id": "00000000-0000-4000-8000-00000000000f", "name": "bench"},
        "users": users,
        "businessUnits": [
            {"id": BU_PAR, "name": "Paris", "timeZone": "Europe/Paris", "startDayOfWeek": "Monday",
             "activityCodes": codes, "managementUnits": mus(false)},
            {"id": BU_CHI, "name": "Chicago", "timeZone": "America/Chicago", "startDayOfWeek": "Sunday",
             "activityCodes": codes, "managementUnits": mus(true)},
        ]
    })
}

fn management_unit(chicago: bool, k: usize) -> String {
    zd2gc::testdata::management_unit(chicago, k as u64)
}

/// Bytes of the state a migration directory holds: the state database and the snapshot files
/// (with their `-wal` and `-shm`).
fn state_bytes(dir: &Path) -> (u64, u64) {
    let (mut state, mut snapshot) = (0, 0);
    for e in std::fs::read_dir(dir)
        .expect("read migration dir")
        .flatten()
    {
        let name = e.file_name().to_string_lossy().into_owned();
        let len = e.metadata().map(|m| m.len()).unwrap_or(0);
        if name.starts_with("zd2gc.db") {
            state += len;
        } else if name.starts_with("snapshot") && name.contains(".db") {
            snapshot += len;
        }
    }
    (state, snapshot)
}

/// The emulator as a child process: its base URL and pid.
struct Emulator {
    child: std::process::Child,
    stopped: bool,
    url: String,
    started: Instant,
}

fn start_emulator(bin: &Path, fixture: &Path, rpm: u64, log: &Path) -> Emulator {
    let started = Instant::now();
    let mut child = Command::new(bin)
        .args(["--quiet", "emulate", "--org"])
        .arg(fixture)
        .args(["--rate-limit", &rpm.to_string()])
        .env("GENESYSCLOUD_OAUTHCLIENT_ID", CLIENT_ID)
        .env("GENESYSCLOUD_OAUTHCLIENT_SECRET", CLIENT_SECRET)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(log).expect("emulator log"))
        .spawn()
        .expect("start the emulator");
    let mut line = String::new();
    BufReader::new(child.stdout.as_mut().expect("stdout"))
        .read_line(&mut line)
        .expect("the emulator's URL");
    let url = line.trim().to_string();
    assert!(
        url.starts_with("http://127.0.0.1:"),
        "emulator said {url:?}: {}",
        std::fs::read_to_string(log).unwrap_or_default()
    );
    Emulator {
        child,
        stopped: false,
        url,
        started,
    }
}

impl Emulator {
    /// Stop it (SIGINT, as Ctrl-C) and say what it used.
    fn stop(mut self) -> Usage {
        let pid = self.child.id();
        // SAFETY: signalling our own child, which has not been reaped yet.
        unsafe { libc::kill(pid as libc::pid_t, libc::SIGINT) };
        let (_, u) = wait(pid, self.started);
        self.stopped = true;
        u
    }
}

impl Drop for Emulator {
    /// A stage that failed (a panic) does not leave the emulator running.
    fn drop(&mut self) {
        if !self.stopped {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

struct SizeResult {
    label: &'static str,
    generated: zd2gc::testdata::Generated,
    extract: Usage,
    map: Usage,
    remap: Usage,
    validate: Usage,
    load: Option<(Usage, Usage, String)>,
    state_after_validate: (u64, u64),
    state_after_load: Option<(u64, u64)>,
    /// What [`prepare_export`] found and left before extract.
    export_cache: String,
    /// The reference's usage, the rules it checks and its findings per rule.
    reference: Option<(Usage, Vec<String>, BTreeMap<String, u64>)>,
    /// `zd2gc validate`'s findings per rule.
    validate_by_rule: BTreeMap<String, u64>,
}

/// `by_rule` of a JSON object (validate's `summary.by_rule`, or the reference's `by_rule`).
fn by_rule(json: &str) -> BTreeMap<String, u64> {
    let v: serde_json::Value = serde_json::from_str(json.trim()).unwrap_or_default();
    let m = if v["summary"]["by_rule"].is_object() {
        &v["summary"]["by_rule"]
    } else {
        &v["by_rule"]
    };
    m.as_object()
        .map(|o| {
            o.iter()
                .map(|(k, n)| (k.clone(), n.as_u64().unwrap_or(0)))
                .collect()
        })
        .unwrap_or_default()
}

/// The findings per rule of validate and of the reference, side by side; a rule the reference
/// checks whose counts differ is flagged. Returns how many rules disagree.
fn print_rule_counts(
    ours: &BTreeMap<String, u64>,
    rules: &[String],
    theirs: &BTreeMap<String, u64>,
) -> usize {
    let mut all: Vec<&String> = ours.keys().chain(rules.iter()).collect();
    all.sort();
    all.dedup();
    println!("| rule | zd2gc validate | reference | |");
    println!("|---|---|---|---|");
    let mut disagree = 0;
    for r in all {
        let z = ours.get(r).copied().unwrap_or(0);
        if rules.contains(r) {
            let p = theirs.get(r).copied().unwrap_or(0);
            let flag = if z == p { "" } else { "**DISAGREE**" };
            disagree += usize::from(z != p);
            println!("| {r} | {z} | {p} | {flag} |");
        } else {
            println!("| {r} | {z} | not checked | |");
        }
    }
    disagree
}

#[allow(clippy::too_many_arguments)]
fn run_size(
    label: &'static str,
    bin: &Path,
    agents: u64,
    weeks: u64,
    ids: IdStyle,
    rpm: u64,
    with_load: bool,
    with_reference: bool,
    cold: bool,
) -> SizeResult {
    let (export, generated) = data(agents, weeks, ids);
    let base = root().join("target/bench-stages");
    let work = base.join(format!("{label}{}", ids.dir_suffix()));
    let logs = base.join(format!("{label}{}-logs", ids.dir_suffix()));
    let _ = std::fs::remove_dir_all(&work);
    let _ = std::fs::remove_dir_all(&logs);
    std::fs::create_dir_all(&logs).expect("log dir");
    let status = Command::new(bin)
        .args(["--quiet", "init"])
        .arg(&work)
        .status()
        .expect("init");
    assert!(status.success(), "zd2gc init failed");
    // The tables that match the export over the blank ones `init` wrote (time off stays blank).
    let mappings = work.join("mappings");
    // With each agent's management unit of [`org_fixture`] (load reads a week's agent schedules
    // by management unit).
    zd2gc::testdata::generate_mappings_with(&mappings, agents, ids).expect("mappings");
    eprintln!(
        "[{label}] {} ids, {} agents × {weeks} weeks: {} shifts, {} tasks, {} trades, {} records, {:.0} MB of CSV",
        ids.name(),
        generated.agents,
        generated.shifts,
        generated.tasks,
        generated.trades,
        generated.records(),
        generated.bytes as f64 / 1e6
    );
    let stage = |name: &str| {
        let mut c = Command::new(bin);
        c.arg("--dir")
            .arg(&work)
            .args(["--quiet", "--no-progress", "--json", name]);
        c
    };
    let export_cache = cache_line(prepare_export(&export, cold), cold);
    eprintln!("[{label}] before extract: {export_cache}");
    let (extract, _) = measure("extract", stage("extract").arg(&export), &logs, &[0]);
    eprintln!("[{label}] extract  {}", extract.row());
    let (map, _) = measure("map", &mut stage("map"), &logs, &[0]);
    eprintln!("[{label}] map      {}", map.row());
    let (remap, _) = measure("map-again", &mut stage("map"), &logs, &[0]);
    eprintln!("[{label}] map again{}", remap.row());
    let (validate, validate_out) = measure("validate", &mut stage("validate"), &logs, &[0]);
    let validate_by_rule = by_rule(&validate_out);
    eprintln!("[{label}] validate {}", validate.row());
    let state_after_validate = state_bytes(&work);

    let load = with_load.then(|| {
        let fixture = logs.join("org.json");
        std::fs::write(&fixture, org_fixture(agents).to_string()).expect("fixture");
        let emu = start_emulator(bin, &fixture, rpm, &logs.join("emulator.stderr"));
        let (load, out) = measure(
            "load",
            stage("load")
                .args(["--max-rpm", &rpm.to_string()])
                .env("ZD2GC_API_URL", &emu.url)
                .env("ZD2GC_LOGIN_URL", &emu.url)
                .env("GENESYSCLOUD_OAUTHCLIENT_ID", CLIENT_ID)
                .env("GENESYSCLOUD_OAUTHCLIENT_SECRET", CLIENT_SECRET),
            &logs,
            &[0],
        );
        let emulator = emu.stop();
        let summary = serde_json::from_str::<serde_json::Value>(out.trim())
            .map(|v| {
                format!(
                    "{} shifts, {} weeks: {} done, {} failed; {} requests",
                    v["shifts_desired"],
                    v["weeks"],
                    v["weeks_done"],
                    v["weeks_failed"],
                    v["requests"]["total"]
                )
            })
            .unwrap_or_else(|_| out.chars().take(200).collect());
        eprintln!("[{label}] load     {}  ({summary})", load.row());
        (load, emulator, summary)
    });
    let state_after_load = with_load.then(|| state_bytes(&work));

    let reference = with_reference.then(|| {
        // The reference reads the export from the same page cache state as extract did.
        let cache = cache_line(prepare_export(&export, cold), cold);
        eprintln!("[{label}] before the reference: {cache}");
        let (u, out) = measure(
            "reference",
            Command::new("python3")
                .arg(root().join("benches/reference_pipeline.py"))
                .arg(&export)
                .arg("--mappings")
                .arg(&mappings),
            &logs,
            &[0],
        );
        eprintln!("[{label}] python   {}  {}", u.row(), out.trim());
        let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap_or_default();
        let rules: Vec<String> = v["rules"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|r| r.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        (u, rules, by_rule(&out))
    });
    SizeResult {
        label,
        generated,
        extract,
        map,
        remap,
        validate,
        load,
        state_after_validate,
        state_after_load,
        export_cache,
        reference,
        validate_by_rule,
    }
}

fn main() {
    let agents = arg("--agents", 10_000);
    let weeks = arg("--weeks", 26);
    let rpm = arg("--rpm", 600_000);
    let ids: IdStyle = str_arg("--ids")
        .map(|s| s.parse().unwrap_or_else(|e| panic!("--ids: {e}")))
        .unwrap_or_default();
    let with_load = !flag("--no-load");
    let with_reference = !flag("--no-reference");
    let cold = flag("--cold-export");
    // Cargo builds the binary of the package for its benchmarks, in the same profile.
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_zd2gc"));
    let mut sizes = vec![];
    if !flag("--only-whole") {
        sizes.push(("tenth", agents / 10));
    }
    sizes.push(("whole", agents));
    let results: Vec<SizeResult> = sizes
        .into_iter()
        .map(|(label, a)| {
            run_size(
                label,
                &bin,
                a,
                weeks,
                ids,
                rpm,
                with_load,
                with_reference,
                cold,
            )
        })
        .collect();

    let mb = |b: u64| b as f64 / 1e6;
    println!(
        "\nzd2gc stages from the CLI ({}), {} ids, {} cores, {}",
        bin.display(),
        ids.name(),
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        std::process::Command::new("date")
            .arg("-u")
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .unwrap_or_default()
    );
    for r in &results {
        let g = &r.generated;
        println!(
            "\n{}: {} agents, {} shifts, {} tasks, {} trades ({} records), {:.0} MB of CSV",
            r.label,
            g.agents,
            g.shifts,
            g.tasks,
            g.trades,
            g.records(),
            mb(g.bytes)
        );
        println!("before extract: {}", r.export_cache);
        println!("| stage | wall | CPU (user+sys) | peak RSS |");
        println!("|---|---|---|---|");
        let line = |name: &str, u: &Usage| {
            println!(
                "| {name} | {:.2} s | {:.2} s | {:.0} MB |",
                u.wall, u.cpu, u.rss_mb
            )
        };
        line("extract", &r.extract);
        line("map (first run)", &r.map);
        line("map (unchanged re-run)", &r.remap);
        line("validate", &r.validate);
        if let Some((load, emu, summary)) = &r.load {
            line(&format!("load ({summary})"), load);
            line("(the emulator, beside the load)", emu);
        }
        let pre = r.extract.wall + r.map.wall + r.validate.wall;
        println!(
            "| extract + map + validate | {pre:.2} s | {:.2} s | {:.0} MB |",
            r.extract.cpu + r.map.cpu + r.validate.cpu,
            r.extract.rss_mb.max(r.map.rss_mb).max(r.validate.rss_mb)
        );
        if let Some((py, rules, theirs)) = &r.reference {
            line("reference pipeline (Python)", py);
            println!(
                "ratio: reference {:.2} s / extract + map + validate {pre:.2} s = {:.1}×",
                py.wall,
                py.wall / pre
            );
            println!("\nfindings per rule ({}):", r.label);
            let n = print_rule_counts(&r.validate_by_rule, rules, theirs);
            if n > 0 {
                println!(
                    "WARNING: {n} rule(s) the reference checks disagree: the ratio compares unequal work"
                );
            } else {
                println!(
                    "the rules the reference checks agree (the ratio compares the same checks)"
                );
            }
        }
        let (st, sn) = r.state_after_validate;
        println!(
            "state after validate: zd2gc.db {:.0} MB + snapshot {:.0} MB = {:.0} MB = {:.2}× the CSV ({:.0} MB)",
            mb(st),
            mb(sn),
            mb(st + sn),
            (st + sn) as f64 / g.bytes as f64,
            mb(g.bytes)
        );
        if let Some((st, sn)) = r.state_after_load {
            println!(
                "state after load:     zd2gc.db {:.0} MB + snapshot {:.0} MB = {:.0} MB = {:.2}× the CSV",
                mb(st),
                mb(sn),
                mb(st + sn),
                (st + sn) as f64 / g.bytes as f64
            );
        }
    }
    if results.len() == 2 {
        let (a, b) = (&results[0], &results[1]);
        let growth = |x: &Usage, y: &Usage| y.rss_mb / x.rss_mb.max(1.0);
        println!(
            "\npeak RSS whole ÷ tenth (flat = about 1): extract {:.2}, map {:.2}, validate {:.2}{}",
            growth(&a.extract, &b.extract),
            growth(&a.map, &b.map),
            growth(&a.validate, &b.validate),
            match (&a.load, &b.load) {
                (Some(x), Some(y)) => format!(", load {:.2}", growth(&x.0, &y.0)),
                _ => String::new(),
            }
        );
    }
}
