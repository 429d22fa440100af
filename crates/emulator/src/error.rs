//! Why the emulator could not start or refused an administrative request.

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug)]
pub enum Error {
    /// Fault knobs out of range (the reason).
    Faults(String),
    /// An org fixture or dump that breaks the contract's rules (every problem found).
    Fixture(Vec<String>),
    /// A request the emulator's state refused (its message).
    Refused(String),
    /// The server could not start: runtime, listener or thread (what failed).
    Start(String),
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::Faults(m) => write!(f, "invalid fault knobs: {m}"),
            Error::Fixture(errs) => {
                let shown: Vec<&str> = errs.iter().take(10).map(String::as_str).collect();
                write!(
                    f,
                    "the org fixture is invalid ({} problem(s)): {}",
                    errs.len(),
                    shown.join("; ")
                )
            }
            Error::Refused(m) | Error::Start(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for Error {}
