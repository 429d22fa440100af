//! The one integration-test binary (`autotests = false`): each module is a test area.

mod architecture;
mod cli;
mod common;
mod compact;
mod emulator;
mod extract;
mod fixture_cases;
mod hostile;
mod hostile_genesys;
mod lines;
mod load;
mod load_real;
mod load_timeoff;
mod management_units;
mod map;
mod online;
mod oracle;
mod pipeline;
mod real_exports;
mod recording;
mod report;
mod security;
mod status;
mod upgrade;
mod validate;
mod verify;
