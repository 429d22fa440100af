//! zd2gc: migrate workforce-management data from a Zendesk WFM export into Genesys Cloud WFM.
//!
//! The library holds every stage; `main.rs` only parses arguments and maps results to exit codes.
//! See ARCHITECTURE.md for the pipeline, the code map and the invariants.

pub mod commands;
// The Genesys side lives in its own crates (crates/genesys, crates/emulator); these paths keep
// `zd2gc::client`, `zd2gc::genesys` and `zd2gc::emulator` for the stages, tests and benches.
pub use ::emulator;
pub use ::genesys;
pub use ::genesys::client;
pub mod config;
pub(crate) mod context;
pub mod crosswalk;
pub mod diag;
pub mod error;
pub mod exit;
pub mod extract;
pub mod init;
pub(crate) mod lines;
pub mod load;
pub mod map;
pub mod mappings;
pub(crate) mod redact;
pub(crate) mod rehearse;
pub mod report;
pub mod rules;
pub(crate) mod samples;
pub mod store;
pub mod testdata;
pub mod timeval;
pub mod ui;
pub mod validate;
