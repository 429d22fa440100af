//! `zd2gc compact`: give the free pages of the state database back to the disk, and say the
//! sizes before and after (`--json`: one `compact/v1` object).

use crate::context::Context;
use crate::error::Result;
use crate::exit::Exit;
use crate::store::compact::{compact, mb};

#[derive(Debug, clap::Args)]
pub struct CompactArgs {}

pub fn run(_args: &CompactArgs, ctx: &Context) -> Result<Exit> {
    let done = compact(&ctx.dir, &mut |m| ctx.ui.info(m))?;
    ctx.ui.info(format!(
        "compacted {}: {} -> {} ({} given back) in {:.1} s",
        done.path.display(),
        mb(done.before.bytes),
        mb(done.after.bytes),
        mb(done.given_back()),
        done.seconds
    ));
    if !done.checkpointed {
        ctx.ui.warn(format!(
            "another program was reading {} at the end: its write-ahead log ({}) empties when it is done",
            done.path.display(),
            mb(done.after.wal_bytes)
        ));
    }
    ctx.ui.json_summary(&serde_json::json!({
        "command": "compact",
        "state": done.path.display().to_string(),
        "before": done.before,
        "after": done.after,
        "given_back_bytes": done.given_back(),
        "checkpointed": done.checkpointed,
        "seconds": done.seconds,
    }));
    Ok(Exit::Ok)
}
