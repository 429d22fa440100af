//! The terminal side of every command: stdout carries data, stderr carries progress, logs and
//! diagnostics. Respects `--quiet`, `--no-progress`, `--color` and `NO_COLOR`. The library's stages
//! report through this type only, so they never touch the terminal directly.

use std::io::{IsTerminal, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

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
    /// The command's name: its `--json` object is named `<command>/v1` unless it names itself.
    pub command: &'static str,
    /// Whether this command's one `--json` object was printed (shared by the clones of a run).
    pub json_printed: Arc<AtomicBool>,
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
            command: "zd2gc",
            json_printed: Arc::default(),
        }
    }

    /// A silent UI for tests and in-process runs.
    pub fn silent() -> Ui {
        Ui {
            quiet: true,
            progress: false,
            color: false,
            json: false,
            command: "zd2gc",
            json_printed: Arc::default(),
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

    /// The `--json` summary of a command on stdout: one JSON object per command, with a `schema`
    /// name (`<command>/v1` unless the value names its own); an array is wrapped as `items`. A
    /// second summary of the same run is not printed (stdout stays one object).
    pub fn json_summary(&self, v: &serde_json::Value) {
        if !self.json || self.json_printed.swap(true, Ordering::SeqCst) {
            return;
        }
        let mut obj = match v {
            serde_json::Value::Object(m) => m.clone(),
            serde_json::Value::Array(_) => {
                let mut m = serde_json::Map::new();
                m.insert("items".into(), v.clone());
                m
            }
            other => {
                let mut m = serde_json::Map::new();
                m.insert("value".into(), other.clone());
                m
            }
        };
        if !obj.contains_key("schema") {
            obj.insert(
                "schema".into(),
                serde_json::Value::String(format!("{}/v1", self.command)),
            );
        }
        let v = serde_json::Value::Object(obj);
        self.data(serde_json::to_string_pretty(&v).expect("json summary serializes"));
    }

    /// Whether this run printed its `--json` object.
    pub fn json_done(&self) -> bool {
        self.json_printed.load(Ordering::SeqCst)
    }

    /// The `--json` form of an error that ended a command:
    /// `{"schema": "error/v1", "error": {code, message, help, file, line}, "exit_code": n}`.
    pub fn json_error(&self, err: &crate::error::Error, exit: crate::exit::Exit) {
        if !self.json || self.json_printed.swap(true, Ordering::SeqCst) {
            return;
        }
        self.data(
            serde_json::to_string_pretty(&error_json(err, exit, self.command))
                .expect("json error serializes"),
        );
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

/// The JSON form of an error (see [`Ui::json_error`]).
pub fn error_json(
    err: &crate::error::Error,
    exit: crate::exit::Exit,
    command: &str,
) -> serde_json::Value {
    use miette::Diagnostic;
    let (code, message, help, file, line) = match err {
        crate::error::Error::Source(d) => (
            d.code.clone(),
            d.message.clone(),
            d.help.clone(),
            Some(d.file.clone()),
            Some(d.line),
        ),
        e => (
            e.code()
                .map(|c| c.to_string())
                .unwrap_or_else(|| "zd2gc::error".into()),
            e.to_string(),
            e.help().map(|h| h.to_string()),
            match e {
                crate::error::Error::Io { path, .. } => Some(path.display().to_string()),
                _ => None,
            },
            None,
        ),
    };
    serde_json::json!({
        "schema": "error/v1",
        "command": command,
        "exit_code": exit.code(),
        "error": {"code": code, "message": message, "help": help, "file": file, "line": line},
    })
}
