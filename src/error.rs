//! The errors of a run: each part's own, carried whole, and the few that belong to the run
//! itself. `Outcome::exit_code` is the one place where what happened becomes an exit code
//! (README, "Exit codes"), so nothing else inspects errors or messages to decide it.

use std::path::PathBuf;

use crate::cli::settings::SettingsError;
use crate::data::DataError;
use crate::database::DatabaseError;
use crate::git::GitError;
use crate::report::Verdict;
use crate::runner::{RunnerError, StepError};
use crate::schema::SchemaError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Settings(#[from] SettingsError),
    #[error(transparent)]
    Database(#[from] DatabaseError),
    #[error(transparent)]
    Runner(#[from] RunnerError),
    /// A migration raised outside a gate (snapshot, diff, seed).
    #[error(transparent)]
    Migration(#[from] StepError),
    #[error(transparent)]
    Schema(#[from] SchemaError),
    #[error(transparent)]
    Data(#[from] DataError),
    #[error(transparent)]
    Git(#[from] GitError),

    /// What clap said of the arguments, its first line.
    #[error("{0}")]
    Arguments(String),
    #[error("{0} is neither a snapshot file nor a revision: no such file")]
    MissingSnapshotFile(String),
    #[error("snapshot directory {0} does not exist (write one with `migverify snapshot --dir`)")]
    MissingSnapshotDirectory(PathBuf),
    #[error("no table {0:?} in that database")]
    UnknownTable(String),
    #[error("--from {from} is not below --to {to}: every revision applied at --from must be applied at --to, and --to must add at least one")]
    EmptyRange { from: String, to: String },
    #[error("cannot write {path}: {source}")]
    WriteFile {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The server stopped or crashed under the run: its cause, not a verdict on the migrations.
    #[error("{0}; nothing can be said of the migrations")]
    ServerTrouble(String),
    #[error("cannot start the async runtime: {0}")]
    Runtime(std::io::Error),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// How a run ended.
#[derive(Debug)]
pub enum Outcome {
    Finished(Verdict),
    Failed(Error),
    Interrupted,
}

/// What an error says about the run, which alone decides its exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    /// The migrations under test are at fault: as a failed check.
    Finding,
    /// The user can fix the command line, the settings or the project.
    BadInput,
    /// The machine, the server or the interpreter is at fault.
    Environment,
}

impl Outcome {
    pub fn exit_code(&self) -> u8 {
        match self {
            Outcome::Finished(Verdict::Pass | Verdict::Skipped) => 0,
            Outcome::Finished(Verdict::Fail | Verdict::Error) => 1,
            Outcome::Failed(error) => match error.class() {
                Class::Finding => 1,
                Class::BadInput => 2,
                Class::Environment => 3,
            },
            Outcome::Interrupted => 130,
        }
    }
}

impl Error {
    fn class(&self) -> Class {
        match self {
            Error::Database(error) => database_class(error),
            Error::Runner(error) => runner_class(error),
            Error::Migration(error) => step_class(error),
            Error::Schema(error) => schema_class(error),
            Error::Data(error) => data_class(error),
            Error::Settings(SettingsError::Database(error)) => database_class(error),
            Error::Settings(_)
            | Error::Git(_)
            | Error::Arguments(_)
            | Error::MissingSnapshotFile(_)
            | Error::MissingSnapshotDirectory(_)
            | Error::UnknownTable(_)
            | Error::EmptyRange { .. }
            | Error::WriteFile { .. } => Class::BadInput,
            Error::ServerTrouble(_) | Error::Runtime(_) => Class::Environment,
        }
    }
}

fn database_class(error: &DatabaseError) -> Class {
    match error {
        DatabaseError::BadUrl
        | DatabaseError::MigrationRoleNeedsThrowaway
        | DatabaseError::NotAKeptCluster(_) => Class::BadInput,
        DatabaseError::NoServerBinaries
        | DatabaseError::NoUnprivilegedUser
        | DatabaseError::ClusterStart(_)
        | DatabaseError::Unreachable { .. }
        | DatabaseError::Query(_)
        | DatabaseError::Io(_) => Class::Environment,
    }
}

fn runner_class(error: &RunnerError) -> Class {
    match error {
        RunnerError::PythonUnavailable { .. } | RunnerError::Io(_) => Class::Environment,
        RunnerError::MissingDirectory(_)
        | RunnerError::NotADirectory(_)
        | RunnerError::MissingFile { .. }
        | RunnerError::NoMigrations(_)
        | RunnerError::NoAlembicRevisions(_)
        | RunnerError::MalformedMigration { .. }
        | RunnerError::UnknownRevision(_)
        | RunnerError::AmbiguousRevision(..) => Class::BadInput,
    }
}

/// A migration that fails is a finding, unless its env.py never reached the scratch database.
fn step_class(error: &StepError) -> Class {
    match error {
        StepError::ElsewhereMigrated { .. } | StepError::EnvPy(_) => Class::Environment,
        StepError::Failed { .. }
        | StepError::NoDown { .. }
        | StepError::Irreversible { .. }
        | StepError::Connection(_)
        | StepError::Helper(_) => Class::Finding,
    }
}

fn schema_class(error: &SchemaError) -> Class {
    match error {
        SchemaError::ReadSnapshot { .. } => Class::BadInput,
        SchemaError::Query(_) => Class::Environment,
    }
}

fn data_class(error: &DataError) -> Class {
    match error {
        DataError::UnknownName { .. }
        | DataError::Unseedable { .. }
        | DataError::SeedRejected { .. } => Class::BadInput,
        DataError::Query(_) => Class::Environment,
        DataError::Database(error) => database_class(error),
        DataError::Schema(error) => schema_class(error),
    }
}
