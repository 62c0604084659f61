//! What can stop a schema from being read: the catalog query, or a committed snapshot file.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum SchemaError {
    #[error("cannot read snapshot file {path}: {source}")]
    ReadSnapshot {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("database error: {0}")]
    Query(String),
}

impl From<sqlx::Error> for SchemaError {
    fn from(error: sqlx::Error) -> Self {
        SchemaError::Query(crate::sql::describe_error(&error))
    }
}

pub type Result<T, E = SchemaError> = std::result::Result<T, E>;
