//! Expected errors of the toolkit. Each maps to an exit code and renders as a miette diagnostic with a
//! stable code and a help line. Bugs are not errors: they may panic.

use crate::exit::Exit;
use miette::Diagnostic;
use std::path::PathBuf;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error, Diagnostic)]
pub enum Error {
    /// A user error: bad arguments, a bad configuration, missing inputs. Exit 1.
    #[error("{message}")]
    #[diagnostic(code(zd2gc::usage))]
    Usage {
        message: String,
        #[help]
        help: Option<String>,
    },

    /// A diagnostic pointing into a user's file (configuration, mapping table, export). Exit 1.
    #[error(transparent)]
    #[diagnostic(code(zd2gc::input))]
    Source(Box<crate::diag::SourceDiag>),

    #[error("I/O error on {path}: {source}")]
    #[diagnostic(code(zd2gc::io))]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("state database error: {0}")]
    #[diagnostic(
        code(zd2gc::database),
        help("check that the disk is not full and the migration directory is writable")
    )]
    Db(#[from] rusqlite::Error),

    /// Interrupted by the operator; state is checkpointed. Exit 130.
    #[error("interrupted")]
    #[diagnostic(code(zd2gc::interrupted))]
    Interrupted,

    /// Anything else the tool could not do. Exit 2.
    #[error("{message}")]
    #[diagnostic(code(zd2gc::failure))]
    Failure {
        message: String,
        #[help]
        help: Option<String>,
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

    pub fn exit(&self) -> Exit {
        match self {
            Error::Usage { .. } | Error::Source(_) => Exit::Findings,
            Error::Interrupted => Exit::Interrupted,
            Error::Io { .. } | Error::Db(_) | Error::Failure { .. } => Exit::Failure,
        }
    }
}

impl From<crate::diag::SourceDiag> for Error {
    fn from(d: crate::diag::SourceDiag) -> Self {
        Error::Source(Box::new(d))
    }
}

/// The Genesys side's errors keep their kind, message and help.
impl From<genesys::Error> for Error {
    fn from(e: genesys::Error) -> Self {
        match e {
            genesys::Error::Usage { message, help } => Error::Usage { message, help },
            genesys::Error::Failure { message, help } => Error::Failure { message, help },
            genesys::Error::Io { path, source } => Error::Io { path, source },
        }
    }
}

impl From<genesys::client::ApiError> for Error {
    fn from(e: genesys::client::ApiError) -> Self {
        let help = match e.status {
            Some(401) | Some(403) => {
                "check the OAuth client's credentials and its roles (WFM administrator, user search)"
            }
            Some(429) => "the org's rate limit was hit repeatedly; run again later",
            _ => {
                "Genesys Cloud or the network failed; run the command again (what was read is cached)"
            }
        };
        Error::failure(e.to_string(), Some(help.to_string()))
    }
}

/// The emulator's errors as the diagnostics `zd2gc emulate` (and a rehearsal) show.
impl From<emulator::Error> for Error {
    fn from(e: emulator::Error) -> Self {
        match e {
            emulator::Error::Fixture(_) => Error::usage(
                e.to_string(),
                Some("see docs/org-fixture.md for the format".to_string()),
            ),
            emulator::Error::Faults(_) | emulator::Error::Refused(_) => {
                Error::usage(e.to_string(), None)
            }
            emulator::Error::Start(_) => Error::failure(e.to_string(), None),
        }
    }
}
