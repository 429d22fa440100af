//! A rule fixture case (`tests/fixtures/validate/<rule>/<case>/`) staged and validated in a fresh
//! migration directory. Shared by the `rule_fixtures` harness (one test per case) and the
//! integration tests that build cases of their own (`validate::task_order`).

use std::path::{Path, PathBuf};
use zd2gc::config::Config;

const DEFAULT_TOML: &str =
    "default_timezone = \"Europe/Paris\"\ndefault_activity = \"On Queue Work\"\n";

/// `tests/fixtures/validate`.
pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/validate")
}

/// Stage a case's export and validate it in a fresh migration directory. A case's `zd2gc.toml` (default: Paris zone, default activity) and `mappings/` (over the
/// shared `tests/fixtures/validate/mappings/`) apply.
pub fn run_case(case: &Path) -> (zd2gc::report::Report, tempfile::TempDir) {
    run_case_budget(case, None)
}

/// [`run_case`] with at most `budget` findings held in memory (the rest spilled to disk).
pub fn run_case_budget(
    case: &Path,
    budget: Option<usize>,
) -> (zd2gc::report::Report, tempfile::TempDir) {
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    let toml =
        std::fs::read_to_string(case.join("zd2gc.toml")).unwrap_or_else(|_| DEFAULT_TOML.into());
    std::fs::write(dir.join("zd2gc.toml"), &toml).unwrap();
    let maps = dir.join("mappings");
    std::fs::create_dir_all(&maps).unwrap();
    for src in [fixtures().join("mappings"), case.join("mappings")] {
        if let Ok(rd) = std::fs::read_dir(&src) {
            for f in rd.flatten() {
                std::fs::copy(f.path(), maps.join(f.file_name())).unwrap();
            }
        }
    }
    let export = dir.join("export");
    std::fs::create_dir_all(&export).unwrap();
    for f in std::fs::read_dir(case).unwrap().flatten() {
        let name = f.file_name().to_string_lossy().into_owned();
        if name.ends_with(".csv") || name.ends_with(".jsonl") {
            std::fs::copy(f.path(), export.join(&name)).unwrap();
        }
    }
    let cfg = Config::parse(&toml, "zd2gc.toml").unwrap();
    zd2gc::extract::extract(dir, &export, &cfg, |_| {}).expect("extract");
    let o = zd2gc::validate::validate_dir(
        dir,
        &cfg,
        &zd2gc::validate::ValidateOptions {
            remap: zd2gc::validate::Remap::Always,
            findings_in_memory: budget,
            ..Default::default()
        },
    )
    .expect("validate");
    (o.report, work)
}
