//! What can stop seeding or checksumming: options naming what is not there, a column the
//! seeder cannot fill, rows the server refuses, or the server itself.

use crate::database::DatabaseError;
use crate::schema::SchemaError;

#[derive(Debug, thiserror::Error)]
pub enum DataError {
    #[error("{option} {name}: {why}")]
    UnknownName {
        option: &'static str,
        name: String,
        why: String,
    },
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
    #[error("database error: {0}")]
    Query(String),
    #[error(transparent)]
    Database(#[from] DatabaseError),
    #[error(transparent)]
    Schema(#[from] SchemaError),
}

impl From<sqlx::Error> for DataError {
    fn from(error: sqlx::Error) -> Self {
        DataError::Query(crate::sql::describe_error(&error))
    }
}

pub type Result<T, E = DataError> = std::result::Result<T, E>;
