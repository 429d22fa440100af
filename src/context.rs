//! What a stage gets from the command that runs it: the migration directory, the terminal handle
//! ([`Ui`]: progress, logs and data go through it) and the arguments as given (for the audit
//! trail). Built by the command layer (`commands`); the stages below it never see clap.

use crate::ui::Ui;
use std::path::PathBuf;

/// What every command hands to its stage.
#[derive(Debug, Clone)]
pub struct Context {
    pub dir: PathBuf,
    pub ui: Ui,
    /// The arguments as given (for the audit trail; secrets never come from argv).
    pub argv: Vec<String>,
}
