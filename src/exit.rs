//! The one exit-code contract of every `zd2gc` command. Documented in the README; defined only here.

/// Process exit status of a `zd2gc` command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// 0: the command did what it was asked and found nothing that blocks the migration.
    Ok,
    /// 1: findings (validation errors, rejected rows, conflicts) or a user error (bad arguments,
    /// bad configuration, missing input).
    Findings,
    /// 2: the tool itself could not run (I/O failure, database failure, a stage not built yet, a bug).
    Failure,
    /// 3: a load finished only in part (some weeks failed or were not reached); resume with
    /// `zd2gc load`.
    Partial,
    /// 4: a load did everything it could, but some shifts are parked as conflicts (both the export
    /// and a planner changed them): re-running changes nothing; a person decides (`zd2gc status`
    /// shows both sides; `load --on-conflict ours` writes ours over them).
    Conflicts,
    /// 130: interrupted (Ctrl-C); state is checkpointed and the command can be resumed.
    Interrupted,
}

impl Exit {
    pub fn code(self) -> i32 {
        match self {
            Exit::Ok => 0,
            Exit::Findings => 1,
            Exit::Failure => 2,
            Exit::Partial => 3,
            Exit::Conflicts => 4,
            Exit::Interrupted => 130,
        }
    }

    /// The outcome's name in the audit trail.
    pub fn name(self) -> &'static str {
        match self {
            Exit::Ok => "ok",
            Exit::Findings => "findings",
            Exit::Failure => "failure",
            Exit::Partial => "partial",
            Exit::Conflicts => "conflicts",
            Exit::Interrupted => "interrupted",
        }
    }

    /// The worse of two outcomes (for commands that run several steps).
    pub fn worst(self, other: Exit) -> Exit {
        fn rank(e: Exit) -> u8 {
            match e {
                Exit::Ok => 0,
                Exit::Findings => 1,
                Exit::Conflicts => 2,
                Exit::Partial => 3,
                Exit::Failure => 4,
                Exit::Interrupted => 5,
            }
        }
        if rank(other) > rank(self) {
            other
        } else {
            self
        }
    }
}

impl std::process::Termination for Exit {
    fn report(self) -> std::process::ExitCode {
        std::process::ExitCode::from(self.code() as u8)
    }
}
