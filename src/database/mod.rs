//! Databases: where migrations run. Either a throwaway cluster (the default) or a scratch
//! database created on a server the user names. Either way, migverify only ever migrates a
//! database it created, and removes it when the `ScratchDatabase` is dropped. A URL given by the
//! user is only ever shown as host, port, user and database: never with its password.

mod binaries;
mod cluster;
mod cluster_state;
pub mod reaper;
mod scratch;

pub use binaries::ServerBinaries;
pub use cluster::TempCluster;
pub use cluster_state::{ClusterChange, ClusterState, CLUSTER_OBJECT_KINDS};
pub use scratch::{ScratchDatabase, ServerChoice};

use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::Connection;

use crate::error::{Error, Result};

const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

pub const MIGRATION_ROLE_NEEDS_THROWAWAY: &str = "--migration-role runs migrations on the throwaway cluster; with --database-url, connect as the role the migrations should run as";

/// A server URL as sqlx reads it, refused unless it is a PostgreSQL one (sqlx takes any
/// scheme). Not echoed back when malformed: it may hold a password.
pub fn parse_url(url: &str) -> Result<PgConnectOptions> {
    let scheme = url.split_once("://").map(|(scheme, _)| scheme);
    if !matches!(scheme, Some("postgres" | "postgresql")) {
        return Err(Error::BadDatabaseUrl);
    }
    std::str::FromStr::from_str(url).map_err(|_| Error::BadDatabaseUrl)
}

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

/// Connects within a time limit; a failure names the server (never the password).
pub async fn connect(options: &PgConnectOptions) -> Result<PgConnection> {
    match tokio::time::timeout(CONNECT_TIMEOUT, PgConnection::connect_with(options)).await {
        Ok(Ok(connection)) => Ok(connection),
        Ok(Err(error)) => Err(Error::Unreachable {
            url: describe_target(options),
            message: describe_sqlx_error(&error),
        }),
        Err(_) => Err(Error::Unreachable {
            url: describe_target(options),
            message: format!("no answer within {}s", CONNECT_TIMEOUT.as_secs()),
        }),
    }
}

/// The password of a server URL, for tools that connect through libpq (which reads PGPASSWORD),
/// so that it never needs to appear in a URL handed to them.
pub fn password_in_url(url: &str) -> Option<String> {
    let parsed = url::Url::parse(url).ok()?;
    let password = parsed.password()?;
    Some(
        percent_encoding::percent_decode_str(password)
            .decode_utf8_lossy()
            .into_owned(),
    )
}

fn describe_target(options: &PgConnectOptions) -> String {
    format!(
        "{}:{} (database {})",
        options.get_host(),
        options.get_port(),
        options.get_database().unwrap_or("postgres")
    )
}

#[cfg(test)]
mod tests {
    use super::password_in_url;

    #[test]
    fn the_password_of_a_url_is_decoded_and_absent_without_one() {
        assert_eq!(
            password_in_url("postgres://app:p%40ss%2Fw0rd@db:5432/pos").as_deref(),
            Some("p@ss/w0rd")
        );
        assert_eq!(password_in_url("postgres://app@db/pos"), None);
        assert_eq!(password_in_url("not a url"), None);
    }
}
