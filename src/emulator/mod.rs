//! The Genesys Cloud WFM emulator (see shared/spec/genesys-contract.md). Placeholder until it lands.

use crate::cli::Ctx;
use crate::error::{Error, Result};
use crate::exit::Exit;

/// Options of `zd2gc emulate`.
#[derive(Debug, clap::Args)]
pub struct EmulateArgs {}

pub fn run_cli(_args: &EmulateArgs, _ctx: &Ctx) -> Result<Exit> {
    Err(Error::NotImplemented { command: "emulate" })
}
