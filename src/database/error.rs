//! What can go wrong where migrations run: the throwaway cluster, a server the user named, the
//! scratch database on either.

#[derive(Debug, thiserror::Error)]
pub enum DatabaseError {
    #[error(
        "--database-url is not a PostgreSQL URL (expected postgres://USER@HOST:PORT/DATABASE)"
    )]
    BadUrl,
    #[error("--migration-role runs migrations on the throwaway cluster; with --database-url, connect as the role the migrations should run as")]
    MigrationRoleNeedsThrowaway,
    #[error("no PostgreSQL server binaries found (looked at `pg_config --bindir`, /usr/lib/postgresql/*/bin and PATH); install PostgreSQL or pass --database-url")]
    NoServerBinaries,
    #[error("running as root, but no unprivileged user (postgres or nobody) exists to run initdb and postgres as")]
    NoUnprivilegedUser,
    #[error("throwaway PostgreSQL failed to start: {0}")]
    ClusterStart(String),
    #[error("cannot reach PostgreSQL at {url}: {message}")]
    Unreachable { url: String, message: String },
    #[error("database error: {0}")]
    Query(String),
    #[error("{0} is not a cluster migverify kept (expected the directory `--keep` or `seed` printed, holding data/PG_VERSION)")]
    NotAKeptCluster(std::path::PathBuf),
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

impl From<sqlx::Error> for DatabaseError {
    fn from(error: sqlx::Error) -> Self {
        DatabaseError::Query(crate::sql::describe_error(&error))
    }
}

pub type Result<T, E = DatabaseError> = std::result::Result<T, E>;
