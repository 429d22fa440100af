//! `zd2gc init [DIR]`: its arguments, and the list of what it created.

use crate::context::Context;
use crate::error::Result;
use crate::exit::Exit;
use crate::init::init_dir;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct InitArgs {
    /// Directory to create (default: the `--dir` migration directory).
    pub dir: Option<PathBuf>,
    /// Copy the mapping tables from this folder instead of writing empty ones.
    #[arg(long, value_name = "DIR")]
    pub mappings: Option<PathBuf>,
}

pub fn run(args: &InitArgs, ctx: &Context) -> Result<Exit> {
    let dir = args.dir.clone().unwrap_or_else(|| ctx.dir.clone());
    let created = init_dir(&dir, args.mappings.as_deref())?;
    for c in &created {
        ctx.ui.info(format!("created {}", c.display()));
    }
    ctx.ui.info(format!(
        "migration directory ready: {}\nnext: edit zd2gc.toml and mappings/, then `zd2gc --dir {} extract EXPORT_DIR`",
        dir.display(),
        dir.display()
    ));
    ctx.ui.json_summary(&serde_json::json!({
        "command": "init",
        "dir": dir.display().to_string(),
        "created": created.iter().map(|p| p.display().to_string()).collect::<Vec<_>>(),
    }));
    Ok(Exit::Ok)
}
