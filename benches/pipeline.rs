//! Pipeline benchmark: generates the 10,000-agent × 26-week export (about 1.3 million shifts and
//! 4.5 million tasks) under `target/bench-data/` (once; reused after), then times each stage and
//! reports records per second and peak memory.
//!
//! Run: `cargo bench --bench pipeline` (options: `-- --agents N --weeks N --only extract|map|validate`).
//! Memory is measured in-process (VmHWM): a small export is staged first, then the full one, so the
//! two peaks show whether memory grows with the export. Each timed stage starts after `sync`, so
//! that no stage is charged for the write-back of the one before.

use std::path::PathBuf;
use std::time::Instant;
use zd2gc::config::Config;

fn arg(name: &str, default: u64) -> u64 {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn data(agents: u64, weeks: u64) -> (PathBuf, zd2gc::testdata::Generated) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join(format!("target/bench-data/export-{agents}x{weeks}"));
    let (g, secs) = zd2gc::testdata::cached_export(&dir, agents, weeks).expect("generate export");
    if let Some(secs) = secs {
        eprintln!(
            "generated {} records ({} MB) in {secs:.1}s",
            g.records(),
            g.bytes / 1_000_000
        );
    }
    (dir, g)
}

/// Let the disk settle before a timed stage: the previous stage's files are still being written
/// back, and a stage that syncs (extract, map's commit) would otherwise wait for them and be
/// charged for another stage's writes.
fn settle() {
    let _ = std::process::Command::new("sync").status();
}

fn mb(b: Option<u64>) -> String {
    b.map_or("n/a".into(), |b| format!("{} MB", b / 1_000_000))
}

fn main() {
    let agents = arg("--agents", 10_000);
    let weeks = arg("--weeks", 26);
    let cfg = Config {
        default_timezone: Some("Europe/Paris".into()),
        default_activity: Some("On Queue Work".into()),
        ..Config::default()
    };
    let only = std::env::args().skip_while(|a| a != "--only").nth(1);
    let wants = |stage: &str| only.as_deref().is_none_or(|o| o == stage);
    let work = tempfile::tempdir().expect("tempdir");

    // Smaller exports first (peak RSS is the process's high-water mark): a tenth and a half of the
    // full one. If memory grew with the export, each step would raise the peak in proportion.
    for (label, a, w) in [("tenth", agents / 10, weeks), ("half", agents / 2, weeks)] {
        let (path, generated) = data(a, w);
        settle();
        let t = Instant::now();
        let o = zd2gc::extract::extract(work.path(), &path, &cfg, |_| {}).expect("extract");
        let secs = t.elapsed().as_secs_f64();
        assert_eq!(o.records_staged, generated.records());
        println!(
            "extract {label:<5}: {:>8} records in {secs:.2}s = {:.0} records/s, peak RSS so far {}",
            o.records_staged,
            o.records_staged as f64 / secs,
            mb(zd2gc::testdata::peak_rss_bytes())
        );
    }

    let (full, g) = data(agents, weeks);
    settle();
    let t = Instant::now();
    let o = zd2gc::extract::extract(work.path(), &full, &cfg, |_| {}).expect("extract full");
    let secs = t.elapsed().as_secs_f64();
    assert_eq!(
        o.records_staged,
        g.records(),
        "every generated record staged"
    );
    println!(
        "extract full:  {} records ({} shifts, {} tasks, {} trades, {} MB of CSV) in {:.2}s = {:.0} records/s, peak RSS {}",
        o.records_staged,
        g.shifts,
        g.tasks,
        g.trades,
        g.bytes / 1_000_000,
        secs,
        o.records_staged as f64 / secs,
        mb(zd2gc::testdata::peak_rss_bytes())
    );

    let extract_secs = secs;
    zd2gc::testdata::generate_mappings(&work.path().join("mappings"), agents).expect("mappings");
    if wants("map") {
        map_stage(work.path(), &cfg);
    }
    if wants("validate") {
        validate_stage(work.path(), &cfg, extract_secs, wants("map"));
    }
}

fn map_stage(dir: &std::path::Path, cfg: &Config) {
    let work = dir;
    let cfg = cfg.clone();
    settle();
    let t = Instant::now();
    let m = zd2gc::map::map_dir(work, &cfg, &zd2gc::map::MapOptions::default()).expect("map");
    let secs = t.elapsed().as_secs_f64();
    let records = m.shifts_read + m.tasks_read;
    println!(
        "map (first run): {} records ({} shifts, {} tasks) in {secs:.2}s = {:.0} records/s; {} mapped, {} held back; peak RSS {}",
        records,
        m.shifts_read,
        m.tasks_read,
        records as f64 / secs,
        m.shifts_mapped,
        m.shifts_held_back,
        mb(zd2gc::testdata::peak_rss_bytes())
    );
    settle();
    let t = Instant::now();
    let m = zd2gc::map::map_dir(work, &cfg, &zd2gc::map::MapOptions::default()).expect("map again");
    let secs = t.elapsed().as_secs_f64();
    println!(
        "map (re-run, unchanged): {secs:.2}s = {:.0} records/s; {} unchanged",
        (m.shifts_read + m.tasks_read) as f64 / secs,
        m.shifts.unchanged
    );
}

/// Validate: every rule over the staged export (map's results are fresh: map ran above, or runs
/// here first, untimed).
fn validate_stage(dir: &std::path::Path, cfg: &Config, extract_secs: f64, mapped: bool) {
    if !mapped {
        zd2gc::map::map_dir(dir, cfg, &zd2gc::map::MapOptions::default()).expect("map");
    }
    let opts = zd2gc::validate::ValidateOptions {
        remap: zd2gc::validate::Remap::Never,
        ..Default::default()
    };
    settle();
    let t = Instant::now();
    let o = zd2gc::validate::validate_dir(dir, cfg, &opts).expect("validate");
    let secs = t.elapsed().as_secs_f64();
    let r = &o.report;
    println!(
        "validate: {} records through {} rules in {secs:.2}s = {:.0} records/s; {} errors, {} warnings, {} infos; peak RSS {}",
        r.records,
        zd2gc::rules::RULES.len(),
        r.records as f64 / secs,
        r.summary.errors,
        r.summary.warnings,
        r.summary.infos,
        mb(zd2gc::testdata::peak_rss_bytes())
    );
    println!("extract + validate: {:.2}s", extract_secs + secs);
    let t = Instant::now();
    let html = zd2gc::report::html::render(r);
    let json = zd2gc::report::json::to_string(r);
    println!(
        "report rendering: HTML {} KB, JSON {} KB in {:.2}s",
        html.len() / 1000,
        json.len() / 1000,
        t.elapsed().as_secs_f64()
    );
}
