//! Databases: where migrations run. Either a throwaway cluster (the default) or a scratch
//! database created on a server the user names. Either way, migverify only ever migrates a
//! database it created, and removes it when the `ScratchDatabase` is dropped. A URL given by the
//! user is only ever shown as host, port, user and database: never with its password.

mod binaries;
mod cluster;
mod scratch;

pub use binaries::ServerBinaries;
pub use cluster::TempCluster;
pub use scratch::{ScratchDatabase, ServerChoice};

/// One sentence for a sqlx error, without the driver's debug noise.
pub fn describe_sqlx_error(error: &sqlx::Error) -> String {
    match error {
        sqlx::Error::Database(db) => {
            let mut message = db.message().to_string();
            if let Some(pg) = db.try_downcast_ref::<sqlx::postgres::PgDatabaseError>() {
                if let Some(detail) = pg.detail() {
                    message.push_str(&format!(" ({detail})"));
                }
            }
            message
        }
        other => other.to_string(),
    }
}
