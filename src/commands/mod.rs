//! The command layer: global options, the subcommands, and the dispatch to each command's `run`.
//! `main` only parses and calls [`run`], mapping its result to the exit-code contract ([`Exit`]).
//!
//! One file per subcommand (`commands/<name>.rs`): its clap arguments (their doc comments are the
//! `--help` text), its `run`, and its printing. This layer is the only one that knows clap and
//! decides what the terminal shows; the stages below it take typed options and a
//! [`Context`], and return typed results that the command prints (or serialises for `--json`).

mod compact;
mod crosswalk;
pub mod emulate;
mod extract;
mod init;
mod load;
mod map;
mod mappings;
mod plan;
mod rehearse;
mod report;
mod status;
mod validate;
mod verify;
mod view;

use crate::context::Context;
use crate::error::Result;
use crate::exit::Exit;
use crate::ui::{ColorChoice, Ui};
use clap::{Parser, Subcommand};
use std::path::PathBuf;

/// Migrate workforce-management data from a Zendesk WFM (Tymeshift) export into Genesys Cloud WFM.
///
/// Stages, each its own command: extract → map → validate → plan → load → verify.
/// Exit codes: 0 ok, 1 findings or user error (bad arguments too), 2 tool failure, 3 partial load,
/// 4 parked conflicts, 130 interrupted.
#[derive(Debug, Parser)]
#[command(
    name = "zd2gc",
    version,
    propagate_version = true,
    max_term_width = 110
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, clap::Args, Clone)]
pub struct GlobalArgs {
    /// The migration directory (holds zd2gc.toml, mappings/, zd2gc.db).
    #[arg(long, global = true, default_value = ".", value_name = "DIR")]
    pub dir: PathBuf,
    /// Print only warnings, errors and data.
    #[arg(long, short, global = true)]
    pub quiet: bool,
    /// Never draw progress bars (plain lines only).
    #[arg(long, global = true)]
    pub no_progress: bool,
    /// When to use colour on stderr (NO_COLOR is respected with `auto`).
    #[arg(long, global = true, value_enum, default_value_t = Color::Auto)]
    pub color: Color,
    /// Print a machine-readable summary of the command on stdout.
    #[arg(long, global = true)]
    pub json: bool,
}

/// `--color`: when to use colour on stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Default)]
pub enum Color {
    #[default]
    Auto,
    Always,
    Never,
}

impl From<Color> for ColorChoice {
    fn from(c: Color) -> ColorChoice {
        match c {
            Color::Auto => ColorChoice::Auto,
            Color::Always => ColorChoice::Always,
            Color::Never => ColorChoice::Never,
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a migration directory: zd2gc.toml, mappings/, and the state database.
    Init(init::InitArgs),
    /// Read a Zendesk WFM export and stage every record (with its file and line) in snapshot.db.
    Extract(extract::ExtractArgs),
    /// Turn the staged export into Genesys shapes and fill the crosswalk.
    Map(map::MapArgs),
    /// Work on the mapping tables (`mappings pull`: draft them from Genesys Cloud).
    Mappings(mappings::MappingsArgs),
    /// Pre-flight validation report (terminal, HTML, JSON).
    Validate(validate::ValidateArgs),
    /// Show what `load` would do per business-unit week.
    Plan(plan::PlanArgs),
    /// Write the mapped schedules to Genesys Cloud (optimistic locking, resumable).
    Load(load::LoadArgs),
    /// Progress of the load journal, parked conflicts and failures.
    Status(status::StatusArgs),
    /// Re-read Genesys Cloud and compare with the desired state.
    Verify(verify::VerifyArgs),
    /// Give the free pages of the state database (zd2gc.db) back to the disk, e.g. after an upgrade
    /// (a SQLite VACUUM under the directory's lock: refused while a load runs).
    Compact(compact::CompactArgs),
    /// Look up and export the legacy ↔ Genesys crosswalk.
    Crosswalk(crosswalk::CrosswalkArgs),
    /// Run the Genesys Cloud WFM emulator on a loopback port.
    Emulate(emulate::EmulateArgs),
    /// Write the cutover report: one HTML page (and --json) of the whole migration.
    Report(report::ReportArgs),
    /// Run the whole pipeline on an export (default: samples/paris-cutover) against the in-process
    /// emulator.
    Rehearse(rehearse::RehearseArgs),
}

pub fn run(cli: Cli) -> Result<Exit> {
    let mut ui = Ui::new(
        cli.global.quiet,
        cli.global.no_progress,
        cli.global.color.into(),
        cli.global.json,
    );
    ui.command = command_name(&cli.command);
    let out = ui.clone();
    let res = run_audited(cli, ui);
    // A closed stdout (`zd2gc crosswalk export | head`) ends the command quietly.
    let res = match res {
        Err(e) if is_broken_pipe(&e) => return Ok(Exit::Ok),
        r => r,
    };
    // `--json`: every command prints one object; a command that printed none says how it ended,
    // and a failure prints its error.
    match &res {
        Ok(exit) if !out.json_done() => out.json_summary(&serde_json::json!({
            "exit_code": exit.code(),
            "outcome": exit.name(),
        })),
        Err(e) => out.json_error(e, e.exit()),
        Ok(_) => {}
    }
    res
}

/// Arguments clap refused: help and version print as asked (exit 0); any other refusal is a user
/// error, exit 1 as the README's table says (clap alone would exit 2, our "tool failure"), with its
/// `error/v1` object on stdout under `--json`.
pub fn usage_error(e: clap::Error) -> Exit {
    use clap::error::ErrorKind;
    if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
        let _ = e.print();
        return Exit::Ok;
    }
    let _ = e.print();
    if std::env::args().skip(1).any(|a| a == "--json") {
        let text = e.render().to_string();
        let message = text
            .lines()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("")
            .trim_start_matches("error: ")
            .to_string();
        let err = crate::error::Error::usage(message, Some("see `zd2gc --help`".to_string()));
        let mut ui = Ui::new(true, true, ColorChoice::Never, true);
        ui.command = "zd2gc";
        ui.json_error(&err, Exit::Findings);
    }
    Exit::Findings
}

/// Whether an error is a write to a closed pipe.
fn is_broken_pipe(e: &crate::error::Error) -> bool {
    matches!(e, crate::error::Error::Io { source, .. } if source.kind() == std::io::ErrorKind::BrokenPipe)
}

fn run_audited(cli: Cli, ui: Ui) -> Result<Exit> {
    init_logging(&ui);
    let ctx = Context {
        dir: cli.global.dir.clone(),
        ui,
        argv: redact_argv(std::env::args().skip(1)),
    };
    // The audit: one row of `runs` per command that works on a migration directory, begun before
    // the stage runs and ended after it, whatever the outcome (the stages reuse this record).
    let audited = match &cli.command {
        Command::Emulate(_) | Command::Rehearse(_) => None,
        c => Some(command_name(c)),
    };
    let Some(name) = audited else {
        return dispatch(cli.command, &ctx);
    };
    let dir = ctx.dir.clone();
    // An older state database is upgraded first, under the directory's lock, saying so (on a
    // large state it takes a while: half a minute for 1.3 million links) and what disk it needs.
    crate::store::upgrade(&dir, &mut |m| ctx.ui.info(m))
        .map_err(|e| crate::store::explain(e, &dir))?;
    let args = ctx.argv.join(" ");
    let started = crate::store::now_rfc3339();
    let id =
        crate::store::audit_begin(&dir, name, &args).map_err(|e| crate::store::explain(e, &dir))?;
    let res = dispatch(cli.command, &ctx).map_err(|e| crate::store::explain(e, &dir));
    let end = crate::store::audit_end(&dir, id, name, &args, &started, res.as_ref().copied());
    match (res, end) {
        (Ok(exit), Err(e)) => {
            // The command did its work but its audit record could not be ended: say so.
            let e = crate::store::explain(e, &dir);
            ctx.ui.warn(format!(
                "the run could not be recorded in the audit trail: {e}"
            ));
            Ok(exit.worst(Exit::Failure))
        }
        (res, _) => res,
    }
}

/// Logs on stderr when `RUST_LOG` asks for them (e.g. `RUST_LOG=zd2gc=debug`, or `debug` for the
/// HTTP stack too); nothing otherwise, so the normal output stays as the UI writes it.
fn init_logging(ui: &Ui) {
    if std::env::var_os("RUST_LOG").is_none_or(|v| v.is_empty()) {
        return;
    }
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .with_ansi(ui.color)
        .try_init();
}

fn command_name(c: &Command) -> &'static str {
    match c {
        Command::Init(_) => "init",
        Command::Extract(_) => "extract",
        Command::Map(_) => "map",
        Command::Mappings(_) => "mappings",
        Command::Validate(_) => "validate",
        Command::Plan(_) => "plan",
        Command::Load(_) => "load",
        Command::Status(_) => "status",
        Command::Verify(_) => "verify",
        Command::Compact(_) => "compact",
        Command::Crosswalk(_) => "crosswalk",
        Command::Emulate(_) => "emulate",
        Command::Rehearse(_) => "rehearse",
        Command::Report(_) => "report",
    }
}

/// The arguments as the audit keeps them: no flag takes a secret, but a value that equals a
/// secret of the environment (pasted by mistake) or follows a secret-looking flag is replaced.
pub fn redact_argv(args: impl Iterator<Item = String>) -> Vec<String> {
    let secrets = crate::redact::env_secrets();
    let looks_secret = |a: &str| {
        let a = a.to_ascii_lowercase();
        a.starts_with("--")
            && ["secret", "token", "password", "passwd"]
                .iter()
                .any(|w| a.contains(w))
            && !a.starts_with("--secret-file")
    };
    let mut out = Vec::new();
    let mut hide_next = false;
    for a in args {
        let hidden = hide_next || secrets.iter().any(|s| a.contains(s.as_str()));
        hide_next = false;
        if hidden {
            out.push("***".into());
        } else if looks_secret(&a) {
            match a.split_once('=') {
                Some((k, _)) => out.push(format!("{k}=***")),
                None => {
                    hide_next = true;
                    out.push(a);
                }
            }
        } else {
            out.push(a);
        }
    }
    out
}

fn dispatch(command: Command, ctx: &Context) -> Result<Exit> {
    match command {
        Command::Init(a) => init::run(&a, ctx),
        Command::Extract(a) => extract::run(&a, ctx),
        Command::Emulate(a) => emulate::run_cli(&a, ctx),
        Command::Rehearse(a) => rehearse::run(&a, ctx),
        Command::Map(a) => map::run(&a, ctx),
        Command::Mappings(a) => mappings::run(&a, ctx),
        Command::Validate(a) => validate::run(&a, ctx),
        Command::Plan(a) => plan::run(&a, ctx),
        Command::Load(a) => load::run(&a, ctx),
        Command::Status(a) => status::run(&a, ctx),
        Command::Verify(a) => verify::run(&a, ctx),
        Command::Compact(a) => compact::run(&a, ctx),
        Command::Crosswalk(a) => crosswalk::run(&a, ctx),
        Command::Report(a) => report::run(&a, ctx),
    }
}

/// Print an error that ended a command to stderr, as a miette diagnostic.
pub fn report_error(err: &crate::error::Error, color: ColorChoice) {
    use std::io::IsTerminal;
    let color = match color {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            std::io::stderr().is_terminal()
                && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        }
    };
    if let crate::error::Error::Source(d) = err {
        eprint!("{}", crate::diag::render(d, color));
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

#[cfg(test)]
mod tests {
    use super::*;
    use clap::ValueEnum;

    /// The name of a clap value as typed (`time-off`), compared without its dashes.
    fn typed<T: ValueEnum>(v: &T) -> String {
        let p = v.to_possible_value().expect("no hidden values");
        p.get_name().replace('-', "")
    }

    /// Each value the command line accepts means the stage's value of the same name (the command
    /// layer's value enums only mirror the stages' own, so that clap stays up here).
    #[test]
    fn each_command_line_value_means_the_stage_value_of_its_name() {
        for c in Color::value_variants() {
            let stage = format!("{:?}", ColorChoice::from(*c)).to_lowercase();
            assert_eq!(stage, typed(c));
        }
        for c in load::OnConflictArg::value_variants() {
            let stage = serde_json::to_value(crate::load::merge::OnConflict::from(*c)).unwrap();
            assert_eq!(stage, typed(c));
        }
        for f in crosswalk::FormatArg::value_variants() {
            let stage = format!("{:?}", crate::crosswalk::Format::from(*f)).to_lowercase();
            assert_eq!(stage, typed(f));
        }
        for t in crosswalk::TableArg::value_variants() {
            let stage = format!("{:?}", crate::crosswalk::Table::from(*t)).to_lowercase();
            assert_eq!(stage, typed(t));
        }
        assert_eq!(crosswalk::TableArg::value_variants().len(), 5);
    }
}
