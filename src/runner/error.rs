//! What can stop a migration project from being opened or read. A migration that fails when it
//! runs is a `StepError`: a finding, not one of these.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum RunnerError {
    #[error("migration directory {0} does not exist")]
    MissingDirectory(PathBuf),
    #[error("{0} is a file, not a migration directory")]
    NotADirectory(PathBuf),
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
    #[error("unknown revision {0:?} (run `migverify revisions` to list them)")]
    UnknownRevision(String),
    #[error("revision {0:?} is ambiguous: it is a prefix of {1}")]
    AmbiguousRevision(String, String),
    #[error("cannot run the alembic helper with {python}: {message} (pass --python, set MIGVERIFY_PYTHON, or create the project's .venv with alembic)")]
    PythonUnavailable { python: PathBuf, message: String },
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

pub type Result<T, E = RunnerError> = std::result::Result<T, E>;
