//! Emulator contract tests: real HTTP (reqwest) against an in-process emulator, through every path of
//! the contract and every fault knob.

#[path = "emulator/support.rs"]
mod support;

#[path = "emulator/auth.rs"]
mod auth;
#[path = "emulator/cli.rs"]
mod cli;
#[path = "emulator/faults.rs"]
mod faults;
#[path = "emulator/fidelity.rs"]
mod fidelity;
#[path = "emulator/reads.rs"]
mod reads;
#[path = "emulator/timeoff.rs"]
mod timeoff;
#[path = "emulator/timing.rs"]
mod timing;
#[path = "emulator/writes.rs"]
mod writes;
