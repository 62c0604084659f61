//! The library's error type. Each variant belongs to one class of failure, and the class alone
//! decides the exit code (see DESIGN.md), so `main` never has to inspect messages.

use std::path::PathBuf;

/// Exit codes of the command-line contract.
pub mod exit_code {
    pub const PASS: i32 = 0;
    pub const CHECK_FAILED: i32 = 1;
    pub const BAD_INPUT: i32 = 2;
    pub const ENVIRONMENT: i32 = 3;
    pub const INTERRUPTED: i32 = 130;
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    // A migration raised outside a gate (snapshot, diff): exit 1, like a failed check.
    #[error("{0}")]
    Migration(#[from] crate::runner::StepError),

    // Bad input: exit 2.
    #[error("migration directory {0} does not exist")]
    MissingDirectory(PathBuf),
    #[error("{0} is a file, not a migration directory")]
    NotADirectory(PathBuf),
    #[error("{0} is neither a snapshot file nor a revision: no such file")]
    MissingSnapshotFile(String),
    #[error("{what} {path} does not exist")]
    MissingFile { what: &'static str, path: PathBuf },
    #[error(
        "no migrations found in {0} (expected <version>_<name>.sql or .up.sql/.down.sql files)"
    )]
    NoMigrations(PathBuf),
    #[error(
        "no alembic revisions found in {0} (expected alembic.ini, or env.py and versions/*.py)"
    )]
    NoAlembicRevisions(PathBuf),
    #[error("malformed migration in {dir}: {message}")]
    MalformedMigration { dir: PathBuf, message: String },
    #[error(
        "--database-url is not a PostgreSQL URL (expected postgres://USER@HOST:PORT/DATABASE)"
    )]
    BadDatabaseUrl,
    #[error("snapshot directory {0} does not exist (write one with `migverify snapshot --dir`)")]
    MissingSnapshotDirectory(PathBuf),
    #[error("no table {0:?} in that database")]
    UnknownTable(String),
    #[error("{0}")]
    Unsupported(String),
    #[error("{option} {name}: {why}")]
    UnknownName {
        option: &'static str,
        name: String,
        why: String,
    },
    #[error("unknown revision {0:?} (run `migverify revisions` to list them)")]
    UnknownRevision(String),
    #[error("revision {0:?} is ambiguous: it is a prefix of {1}")]
    AmbiguousRevision(String, String),
    #[error("{0}")]
    Git(String),
    #[error("--from {from} is not below --to {to}: every revision applied at --from must be applied at --to, and --to must add at least one")]
    EmptyRange { from: String, to: String },

    #[error("cannot seed {table}.{column} under {constraint}: {reason}; give the column its values with --values {table}.{column}=A,B,... or lower the rows with --table-rows {table}=N")]
    Unseedable {
        table: String,
        column: String,
        constraint: String,
        reason: String,
    },
    #[error("seeding {table} was refused by {constraint}: {message}; {hint}")]
    SeedRejected {
        table: String,
        constraint: String,
        message: String,
        hint: String,
    },
    #[error("cannot read {path}: {source}")]
    ReadConfig {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}, {message}")]
    BadConfig { path: PathBuf, message: String },
    #[error("cannot read snapshot file {path}: {source}")]
    ReadSnapshot {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write {path}: {source}")]
    WriteFile {
        path: PathBuf,
        source: std::io::Error,
    },

    // Environment: exit 3.
    #[error("no PostgreSQL server binaries found (looked at `pg_config --bindir`, /usr/lib/postgresql/*/bin and PATH); install PostgreSQL or pass --database-url")]
    NoServerBinaries,
    #[error("running as root, but no unprivileged user (postgres or nobody) exists to run initdb and postgres as")]
    NoUnprivilegedUser,
    #[error("cannot run the alembic helper with {python}: {message} (pass --python, set MIGVERIFY_PYTHON, or create the project's .venv with alembic)")]
    PythonUnavailable { python: PathBuf, message: String },
    #[error("throwaway PostgreSQL failed to start: {0}")]
    ClusterStart(String),
    /// The server stopped or crashed under the run: its cause, not a verdict on the migrations.
    #[error("{0}; nothing can be said of the migrations")]
    ServerTrouble(String),
    #[error("cannot reach PostgreSQL at {url}: {message}")]
    Unreachable { url: String, message: String },
    #[error("database error: {0}")]
    Database(String),
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

impl Error {
    pub fn exit_code(&self) -> i32 {
        use Error::*;
        match self {
            Migration(
                crate::runner::StepError::ElsewhereMigrated { .. }
                | crate::runner::StepError::EnvPy(_),
            ) => exit_code::ENVIRONMENT,
            Migration(_) => exit_code::CHECK_FAILED,
            MissingDirectory(_)
            | NotADirectory(_)
            | MissingSnapshotFile(_)
            | MissingFile { .. }
            | NoMigrations(_)
            | NoAlembicRevisions(_)
            | MalformedMigration { .. }
            | BadDatabaseUrl
            | MissingSnapshotDirectory(_)
            | UnknownTable(_)
            | UnknownName { .. }
            | Unsupported(_)
            | UnknownRevision(_)
            | AmbiguousRevision(..)
            | EmptyRange { .. }
            | Git(_)
            | Unseedable { .. }
            | SeedRejected { .. }
            | ReadConfig { .. }
            | BadConfig { .. }
            | ReadSnapshot { .. }
            | WriteFile { .. } => exit_code::BAD_INPUT,
            NoServerBinaries
            | NoUnprivilegedUser
            | PythonUnavailable { .. }
            | ClusterStart(_)
            | ServerTrouble(_)
            | Unreachable { .. }
            | Database(_)
            | Io(_) => exit_code::ENVIRONMENT,
        }
    }
}

impl From<sqlx::Error> for Error {
    fn from(error: sqlx::Error) -> Self {
        Error::Database(crate::database::describe_sqlx_error(&error))
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
