//! The built-in sample: `samples/paris-cutover` and its org fixture `samples/org.json`, compiled
//! into the binary so `zd2gc rehearse` runs from any directory.

use crate::error::{Error, Result};
use std::path::Path;

/// The files of `samples/paris-cutover`.
pub const PARIS_CUTOVER: &[(&str, &[u8])] = &[
    (
        "agents.csv",
        include_bytes!("../samples/paris-cutover/agents.csv"),
    ),
    (
        "shifts.csv",
        include_bytes!("../samples/paris-cutover/shifts.csv"),
    ),
    (
        "shift_tasks.csv",
        include_bytes!("../samples/paris-cutover/shift_tasks.csv"),
    ),
    (
        "shift_trades.csv",
        include_bytes!("../samples/paris-cutover/shift_trades.csv"),
    ),
    (
        "time_off.csv",
        include_bytes!("../samples/paris-cutover/time_off.csv"),
    ),
];

/// `samples/org.json`: the emulator's org for the sample.
pub const ORG_JSON: &str = include_str!("../samples/org.json");

/// Write the built-in export into `dir` (created).
pub fn write_paris_cutover(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    for (name, bytes) in PARIS_CUTOVER {
        let p = dir.join(name);
        std::fs::write(&p, bytes).map_err(|e| Error::io(&p, e))?;
    }
    Ok(())
}
