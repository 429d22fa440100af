//! `zd2gc report`: its arguments, and where the cutover report's page goes.

use crate::context::Context;
use crate::error::Result;
use crate::exit::Exit;
use crate::report::cutover::{build, render};
use serde_json::json;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct ReportArgs {
    /// Where to write the HTML page (default: reports/cutover.html in the migration directory).
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
}

/// `zd2gc report`.
pub fn run(args: &ReportArgs, ctx: &Context) -> Result<Exit> {
    let v = build(&ctx.dir)?;
    let path = args
        .html
        .clone()
        .unwrap_or_else(|| ctx.dir.join("reports").join("cutover.html"));
    if let Some(p) = path.parent()
        && !p.as_os_str().is_empty()
    {
        std::fs::create_dir_all(p).map_err(|e| crate::error::Error::io(p, e))?;
    }
    std::fs::write(&path, render(&v)).map_err(|e| crate::error::Error::io(&path, e))?;
    crate::store::restrict_permissions(&path);
    ctx.ui
        .info(format!("cutover report written to {}", path.display()));
    let mut v = v;
    v["html"] = json!(path);
    ctx.ui.json_summary(&v);
    Ok(Exit::Ok)
}
