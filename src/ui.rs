//! The terminal side of every command: stdout carries data, stderr carries progress, logs and
//! diagnostics. Respects `--quiet`, `--no-progress`, `--color` and `NO_COLOR`. The library's stages
//! report through this type only, so they never touch the terminal directly.

use std::io::{IsTerminal, Write};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Default)]
pub enum ColorChoice {
    #[default]
    Auto,
    Always,
    Never,
}

#[derive(Debug, Clone)]
pub struct Ui {
    pub quiet: bool,
    pub progress: bool,
    pub color: bool,
    pub json: bool,
}

impl Ui {
    pub fn new(quiet: bool, no_progress: bool, color: ColorChoice, json: bool) -> Ui {
        let tty = std::io::stderr().is_terminal();
        let color = match color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => tty && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
        };
        Ui {
            quiet,
            progress: tty && !no_progress && !quiet,
            color,
            json,
        }
    }

    /// A silent UI for tests and in-process runs.
    pub fn silent() -> Ui {
        Ui {
            quiet: true,
            progress: false,
            color: false,
            json: false,
        }
    }

    /// A status line on stderr (suppressed by `--quiet`).
    pub fn info(&self, msg: impl AsRef<str>) {
        if !self.quiet {
            let _ = writeln!(std::io::stderr(), "{}", msg.as_ref());
        }
    }

    /// A headline on stderr, bold when colour is on.
    pub fn step(&self, msg: impl AsRef<str>) {
        if !self.quiet {
            let m = msg.as_ref();
            if self.color {
                let _ = writeln!(std::io::stderr(), "\x1b[1m{m}\x1b[0m");
            } else {
                let _ = writeln!(std::io::stderr(), "{m}");
            }
        }
    }

    /// A warning on stderr (shown even with `--quiet`).
    pub fn warn(&self, msg: impl AsRef<str>) {
        let m = msg.as_ref();
        if self.color {
            let _ = writeln!(std::io::stderr(), "\x1b[33mwarning\x1b[0m: {m}");
        } else {
            let _ = writeln!(std::io::stderr(), "warning: {m}");
        }
    }

    /// A rendered diagnostic on stderr (shown even with `--quiet`).
    pub fn diag(&self, d: &crate::diag::SourceDiag) {
        let _ = write!(std::io::stderr(), "{}", crate::diag::render(d, self.color));
    }

    /// Data on stdout.
    pub fn data(&self, s: impl AsRef<str>) {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{}", s.as_ref());
        let _ = out.flush();
    }

    /// The `--json` summary of a command on stdout.
    pub fn json_summary(&self, v: &serde_json::Value) {
        if self.json {
            self.data(serde_json::to_string_pretty(v).expect("json summary serializes"));
        }
    }

    /// A throttled progress line on stderr (only when stderr is a terminal and progress is on).
    pub fn progress(&self, msg: impl AsRef<str>) {
        if self.progress {
            let _ = write!(std::io::stderr(), "\r\x1b[2K{}", msg.as_ref());
            let _ = std::io::stderr().flush();
        }
    }

    pub fn progress_done(&self) {
        if self.progress {
            let _ = write!(std::io::stderr(), "\r\x1b[2K");
            let _ = std::io::stderr().flush();
        }
    }
}

/// A stage's phase timings on stderr when `ZD2GC_TIMINGS` is set (for profiling the benchmark;
/// map and validate report theirs). Not through a [`Ui`]: the stages run in-process in the
/// benchmark, where there is none.
pub fn timing(what: &str) {
    if std::env::var_os("ZD2GC_TIMINGS").is_some() {
        eprintln!("{what}");
    }
}
