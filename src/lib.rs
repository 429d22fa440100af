//! zd2gc: migrate workforce-management data from a Zendesk WFM export into Genesys Cloud WFM.
//!
//! The library holds every stage; `main.rs` only parses arguments and maps results to exit codes.
//! See ARCHITECTURE.md for the pipeline, the code map and the invariants.

pub mod cli;
// The Genesys side lives in its own crates (crates/genesys, crates/emulator); these paths keep
// `zd2gc::client`, `zd2gc::genesys` and `zd2gc::emulator` for the stages, tests and benches.
pub use ::emulator;
pub use ::genesys;
pub use ::genesys::client;
pub mod config;
pub mod crosswalk;
pub mod db;
pub mod diag;
pub mod emulate;
pub mod error;
pub mod exit;
pub mod extract;
pub mod init;
pub mod lines;
pub mod load;
pub mod map;
pub mod mappings;
pub mod rehearse;
pub mod report;
pub mod rules;
pub mod samples;
pub mod testdata;
pub mod timeval;
pub mod ui;
pub mod validate;

/// Print an error that ended a command to stderr, as a miette diagnostic.
pub fn report_error(err: &error::Error, color: ui::ColorChoice) {
    use std::io::IsTerminal;
    let color = match color {
        ui::ColorChoice::Always => true,
        ui::ColorChoice::Never => false,
        ui::ColorChoice::Auto => {
            std::io::stderr().is_terminal()
                && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        }
    };
    if let error::Error::Source(d) = err {
        eprint!("{}", diag::render(d, color));
        return;
    }
    let handler = miette::GraphicalReportHandler::new_themed(if color {
        miette::GraphicalTheme::unicode()
    } else {
        miette::GraphicalTheme::unicode_nocolor()
    });
    let mut out = String::new();
    let _ = handler.render_report(&mut out, err);
    eprint!("{out}");
}
