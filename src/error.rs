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

    /// A SQLite error; its help fits its kind ([`db_help`]).
    #[error("state database error: {0}")]
    #[diagnostic(code(zd2gc::database), help("{}", db_help(.0)))]
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

/// Whether a SQLite error is about the storage (disk full, read-only, I/O, permissions, another
/// process's lock), not about what the database holds.
pub fn is_storage_error(e: &rusqlite::Error) -> bool {
    use rusqlite::ErrorCode::*;
    matches!(
        e.sqlite_error_code(),
        Some(
            DiskFull
                | ReadOnly
                | SystemIoFailure
                | CannotOpen
                | PermissionDenied
                | DatabaseBusy
                | DatabaseLocked
                | FileLockingProtocolFailed
                | OutOfMemory
        )
    )
}

/// The help of a SQLite error: the disk and the directory's permissions only for a storage
/// error; a damaged file, or a value zd2gc never writes, said as such.
pub fn db_help(e: &rusqlite::Error) -> &'static str {
    use rusqlite::Error as E;
    if is_storage_error(e) {
        return "check that the disk is not full and the migration directory is writable";
    }
    match e {
        E::SqliteFailure(f, _)
            if matches!(
                f.code,
                rusqlite::ErrorCode::DatabaseCorrupt | rusqlite::ErrorCode::NotADatabase
            ) =>
        {
            "the state database file is damaged: restore the migration directory from a backup (`sqlite3 zd2gc.db 'PRAGMA integrity_check'` shows what is wrong)"
        }
        E::FromSqlConversionFailure(..)
        | E::InvalidColumnType(..)
        | E::IntegralValueOutOfRange(..)
        | E::Utf8Error(..) => {
            "a row of the state database holds a value of a type zd2gc never writes (edited by hand, or damaged): restore the migration directory from a backup, or report the command and this message"
        }
        _ => {
            "unexpected: keep the migration directory as it is and report the command and this message"
        }
    }
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
