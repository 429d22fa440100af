//! The errors of the Genesys side that are not an API answer ([`crate::client::ApiError`]): a
//! setting that is missing or wrong (the user's to fix), a failure of the machine or the network,
//! a file that cannot be read. The zd2gc crate turns each into its own diagnostic of the same kind
//! and message.

use std::path::PathBuf;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The user's to fix: a missing setting, a refused secret, a URL that does not answer.
    #[error("{message}")]
    Usage {
        message: String,
        help: Option<String>,
    },
    /// Anything else that could not be done.
    #[error("{message}")]
    Failure {
        message: String,
        help: Option<String>,
    },
    #[error("I/O error on {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl Error {
    pub fn usage(message: impl Into<String>, help: impl Into<Option<String>>) -> Self {
        Error::Usage {
            message: message.into(),
            help: help.into(),
        }
    }

    pub fn failure(message: impl Into<String>, help: impl Into<Option<String>>) -> Self {
        Error::Failure {
            message: message.into(),
            help: help.into(),
        }
    }

    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}
