//! `zd2gc crosswalk lookup|export`: its arguments, and where each answer goes (stdout, a file,
//! the `--json` summary).

use crate::context::Context;
use crate::crosswalk::{Format, Table, export, lookup};
use crate::error::{Error, Result};
use crate::exit::Exit;
use std::io::Write;

/// Look up and export the legacy ↔ Genesys crosswalk.
#[derive(Debug, Clone, clap::Args)]
pub struct CrosswalkArgs {
    #[command(subcommand)]
    pub command: CrosswalkCommand,
}

#[derive(Debug, Clone, clap::Subcommand)]
pub enum CrosswalkCommand {
    /// Everything linked to one id: a Zendesk agent, shift, trade, swap request or time-off request
    /// id, or a Genesys user, shift, schedule, trade or time-off request id (JSON on stdout).
    Lookup {
        /// The id to look up.
        id: String,
    },
    /// The whole crosswalk, for audit.
    Export {
        /// Output format.
        #[arg(long, value_enum, default_value_t = FormatArg::Json)]
        format: FormatArg,
        /// Which table (CSV holds one table; JSON holds all of them by default).
        #[arg(long, value_enum, default_value_t = TableArg::All)]
        table: TableArg,
        /// Write to this file instead of stdout.
        #[arg(long, short, value_name = "FILE")]
        output: Option<std::path::PathBuf>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FormatArg {
    Json,
    Csv,
}

impl From<FormatArg> for Format {
    fn from(f: FormatArg) -> Format {
        match f {
            FormatArg::Json => Format::Json,
            FormatArg::Csv => Format::Csv,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum TableArg {
    All,
    Agents,
    Shifts,
    Trades,
    TimeOff,
}

impl From<TableArg> for Table {
    fn from(t: TableArg) -> Table {
        match t {
            TableArg::All => Table::All,
            TableArg::Agents => Table::Agents,
            TableArg::Shifts => Table::Shifts,
            TableArg::Trades => Table::Trades,
            TableArg::TimeOff => Table::TimeOff,
        }
    }
}

/// `zd2gc crosswalk`.
pub fn run(args: &CrosswalkArgs, ctx: &Context) -> Result<Exit> {
    let conn = crate::store::open_state(&ctx.dir)?;
    match &args.command {
        CrosswalkCommand::Lookup { id } => match lookup(&conn, id)? {
            Some(v) if ctx.ui.json => {
                // The lookup is the command's one JSON object.
                let mut ui = ctx.ui.clone();
                ui.command = "crosswalk-lookup";
                ui.json_summary(&v);
                Ok(Exit::Ok)
            }
            Some(v) => {
                ctx.ui
                    .data(serde_json::to_string_pretty(&v).expect("json serializes"));
                Ok(Exit::Ok)
            }
            None => Err(Error::usage(
                format!("`{id}` is not in the crosswalk"),
                Some(
                    "give a Zendesk agent, shift, trade or swap request id, or a Genesys user, shift, schedule or trade id; run `zd2gc map` first"
                        .into(),
                ),
            )),
        },
        CrosswalkCommand::Export {
            format,
            table,
            output,
        } => {
            if ctx.ui.json && output.is_none() {
                return Err(Error::usage(
                    "`crosswalk export` writes its data on stdout, where `--json` wants one summary object",
                    Some("name a file with `-o FILE` (the summary then says where it went), or drop `--json`".into()),
                ));
            }
            match output {
                Some(p) => {
                    let f = std::fs::File::create(p).map_err(|e| Error::io(p, e))?;
                    crate::store::restrict_permissions(p);
                    let mut w = std::io::BufWriter::new(f);
                    export(&conn, (*format).into(), (*table).into(), &mut w)?;
                    w.flush().map_err(|e| Error::io(p, e))?;
                    ctx.ui.json_summary(&serde_json::json!({
                        "schema": "crosswalk-export/v1",
                        "output": p,
                        "format": format!("{format:?}").to_lowercase(),
                        "table": format!("{table:?}").to_lowercase(),
                    }));
                }
                None => {
                    let out = std::io::stdout();
                    let mut w = std::io::BufWriter::new(out.lock());
                    export(&conn, (*format).into(), (*table).into(), &mut w)?;
                    w.flush().map_err(|e| Error::io("<stdout>", e))?;
                }
            }
            Ok(Exit::Ok)
        }
    }
}
