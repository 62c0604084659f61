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
pub use cluster::{stop_kept, TempCluster};
pub use cluster_state::{ClusterChange, ClusterState, CLUSTER_OBJECT_KINDS};
pub use scratch::{ScratchDatabase, ServerChoice};

use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::Connection;

mod error;
pub use error::{DatabaseError, Result};

const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// A server the user named by URL, parsed once. Never shown whole: it may hold a password.
#[derive(Debug, Clone)]
pub struct ServerUrl {
    text: String,
    options: Box<PgConnectOptions>,
}

impl ServerUrl {
    /// Refused unless it is a PostgreSQL URL (sqlx takes any scheme); not echoed back when
    /// malformed.
    pub fn parse(url: &str) -> Result<Self> {
        let scheme = url.split_once("://").map(|(scheme, _)| scheme);
        if !matches!(scheme, Some("postgres" | "postgresql")) {
            return Err(DatabaseError::BadUrl);
        }
        let normalized = socket_form(url);
        let options =
            Box::new(std::str::FromStr::from_str(&normalized).map_err(|_| DatabaseError::BadUrl)?);
        Ok(ServerUrl {
            text: url.to_string(),
            options,
        })
    }

    pub fn options(&self) -> &PgConnectOptions {
        &self.options
    }

    /// The URL as given, for the reaper (over its pipe, never on a command line).
    fn text(&self) -> &str {
        &self.text
    }

    /// The password, for tools that connect through libpq (which reads PGPASSWORD), so that
    /// it never needs to appear in a URL handed to them.
    pub fn password(&self) -> Option<String> {
        let parsed = url::Url::parse(&socket_form(&self.text)).ok()?;
        match parsed.password() {
            Some(password) => Some(
                percent_encoding::percent_decode_str(password)
                    .decode_utf8_lossy()
                    .into_owned(),
            ),
            None => parsed
                .query_pairs()
                .find(|(key, _)| key == "password")
                .map(|(_, value)| value.into_owned()),
        }
    }
}

/// libpq's socket form, `postgres://USER:PASSWORD@/DATABASE?host=/run/postgresql`, has user
/// information but no host, which URL parsers refuse; the same with the user and password as
/// query parameters (which libpq also reads) parses everywhere.
fn socket_form(url: &str) -> std::borrow::Cow<'_, str> {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.into();
    };
    let Some((userinfo, path)) = rest.split_once("@/") else {
        return url.into();
    };
    if userinfo.contains('/') {
        return url.into();
    }
    let (user, password) = match userinfo.split_once(':') {
        Some((user, password)) => (user, Some(password)),
        None => (userinfo, None),
    };
    let mut normalized = format!("{scheme}:///{path}");
    normalized.push(if path.contains('?') { '&' } else { '?' });
    normalized.push_str(&format!("user={user}"));
    if let Some(password) = password {
        normalized.push_str(&format!("&password={password}"));
    }
    normalized.into()
}

/// Connects within a time limit; a failure names the server (never the password).
pub async fn connect(options: &PgConnectOptions) -> Result<PgConnection> {
    match tokio::time::timeout(CONNECT_TIMEOUT, PgConnection::connect_with(options)).await {
        Ok(Ok(connection)) => Ok(connection),
        Ok(Err(error)) => Err(DatabaseError::Unreachable {
            url: describe_target(options),
            message: crate::sql::describe_error(&error),
        }),
        Err(_) => Err(DatabaseError::Unreachable {
            url: describe_target(options),
            message: format!("no answer within {}s", CONNECT_TIMEOUT.as_secs()),
        }),
    }
}

fn describe_target(options: &PgConnectOptions) -> String {
    let host = match options.get_socket() {
        Some(dir) => format!("socket {}", dir.display()),
        None => options.get_host().to_string(),
    };
    format!(
        "{host}:{} (database {})",
        options.get_port(),
        options.get_database().unwrap_or("postgres")
    )
}

#[cfg(test)]
mod tests {
    use super::{DatabaseError, ServerUrl};

    fn password(url: &str) -> Option<String> {
        ServerUrl::parse(url).unwrap().password()
    }

    #[test]
    fn the_password_of_a_url_is_decoded_and_absent_without_one() {
        assert_eq!(
            password("postgres://app:p%40ss%2Fw0rd@db:5432/pos").as_deref(),
            Some("p@ss/w0rd")
        );
        assert_eq!(password("postgres://app@db/pos"), None);
        assert!(matches!(
            ServerUrl::parse("mysql://app@db/pos"),
            Err(DatabaseError::BadUrl)
        ));
    }

    #[test]
    fn libpq_socket_urls_are_read_with_their_user_and_password() {
        let url = ServerUrl::parse("postgres://app:s%40cret@/pos?host=/tmp/pg&port=5433").unwrap();
        let options = url.options();
        assert_eq!(
            options.get_socket().unwrap(),
            std::path::Path::new("/tmp/pg")
        );
        assert_eq!(options.get_port(), 5433);
        assert_eq!(options.get_username(), "app");
        assert_eq!(options.get_database(), Some("pos"));
        assert_eq!(url.password().as_deref(), Some("s@cret"));
    }
}
