//! placeholder
use crate::cli::Ctx;
use crate::error::Result;
use crate::exit::Exit;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct ExtractArgs {
    /// The export directory (agents, shifts, shift_tasks, shift_trades, time_off; CSV or JSON Lines).
    pub export_dir: PathBuf,
}

pub struct Outcome { pub exit: Exit }
impl Outcome { pub fn describe(&self) -> String { String::new() } }

pub fn run(_a: &ExtractArgs, _c: &Ctx) -> Result<Exit> { todo!() }
pub fn run_quietly(_a: &ExtractArgs, _c: &Ctx) -> Result<Outcome> { todo!() }
