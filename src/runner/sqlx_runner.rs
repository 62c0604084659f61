//! Runs sqlx migration directories in-process through sqlx's own `Migrate` implementation, one
//! version at a time, so `_sqlx_migrations` ends up exactly as `sqlx migrate run` would leave it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use sqlx::migrate::{Migrate, MigrateError, Migration, MigrationSource, MigrationType};
use sqlx::postgres::{PgConnectOptions, PgConnection};

use super::error::{Result, RunnerError};
use super::kept_connection::KeptConnection;
use super::{Kind, Revision, Revisions, Runner, StepError};

pub struct SqlxRunner {
    ups: BTreeMap<i64, Migration>,
    downs: BTreeMap<i64, Migration>,
    revisions: Revisions,
    connection: KeptConnection,
}

impl SqlxRunner {
    pub async fn open(dir: &Path) -> Result<Self> {
        let migrations = dir
            .resolve()
            .await
            .map_err(|e| RunnerError::MalformedMigration {
                dir: dir.to_path_buf(),
                message: e.to_string(),
            })?;
        let (mut ups, mut downs) = (BTreeMap::new(), BTreeMap::new());
        for migration in migrations {
            let side = if migration.migration_type == MigrationType::ReversibleDown {
                &mut downs
            } else {
                &mut ups
            };
            if let Some(twin) = side.insert(migration.version, migration) {
                return Err(malformed(
                    dir,
                    format!("version {} is defined twice", twin.version),
                ));
            }
        }
        if ups.is_empty() {
            return Err(RunnerError::NoMigrations(dir.to_path_buf()));
        }
        if let Some(orphan) = downs.keys().find(|v| !ups.contains_key(v)) {
            return Err(malformed(
                dir,
                format!("version {orphan} has a .down.sql but no .up.sql"),
            ));
        }
        let revisions = Revisions::new(list_revisions(&ups, &downs, &files_by_version(dir)));
        Ok(SqlxRunner {
            ups,
            downs,
            revisions,
            connection: KeptConnection::default(),
        })
    }

    async fn connection(
        &mut self,
        database: &PgConnectOptions,
    ) -> Result<&mut PgConnection, StepError> {
        self.connection
            .to(database, |connection| {
                Box::pin(async move {
                    connection
                        .ensure_migrations_table()
                        .await
                        .map_err(connection_error)
                })
            })
            .await
    }

    async fn applied(&mut self, database: &PgConnectOptions) -> Result<Vec<i64>, StepError> {
        let connection = self.connection(database).await?;
        let applied = connection
            .list_applied_migrations()
            .await
            .map_err(connection_error)?;
        Ok(applied.into_iter().map(|m| m.version).collect())
    }

    /// Runs one migration; on failure, forgets the connection (see `connection`).
    async fn run_one(
        &mut self,
        database: &PgConnectOptions,
        migration: &Migration,
        up: bool,
    ) -> Result<(), StepError> {
        let connection = self.connection(database).await?;
        let outcome = if up {
            connection.apply(migration).await
        } else {
            connection.revert(migration).await
        };
        outcome.map(drop).map_err(|error| {
            self.connection.forget();
            StepError::Failed {
                revision: migration.version.to_string(),
                message: describe_migrate_error(&error),
            }
        })
    }
}

#[async_trait]
impl Runner for SqlxRunner {
    fn kind(&self) -> Kind {
        Kind::Sqlx
    }

    fn revisions(&self) -> &Revisions {
        &self.revisions
    }

    fn bookkeeping_tables(&self) -> Vec<String> {
        vec!["_sqlx_migrations".to_string()]
    }

    async fn current(&mut self, database: &PgConnectOptions) -> Result<Vec<String>, StepError> {
        let applied = self.applied(database).await?;
        Ok(applied.iter().map(i64::to_string).collect())
    }

    async fn apply(
        &mut self,
        database: &PgConnectOptions,
        revision: &Revision,
    ) -> Result<(), StepError> {
        let migration = self.ups[&version_of(revision)].clone();
        tracing::debug!(version = migration.version, "applying");
        self.run_one(database, &migration, true).await
    }

    fn disconnect(&mut self) {
        self.connection.forget();
    }

    async fn revert(
        &mut self,
        database: &PgConnectOptions,
        revision: &Revision,
    ) -> Result<(), StepError> {
        let Some(down) = self.downs.get(&version_of(revision)).cloned() else {
            return Err(StepError::NoDown {
                revision: revision.id.clone(),
            });
        };
        if holds_no_statement(&down.sql) {
            return Err(StepError::Irreversible {
                revision: revision.id.clone(),
                message: "its down file holds no statement, a deliberate way of saying there is no way back".to_string(),
                declared: true,
            });
        }
        tracing::debug!(version = down.version, "reverting");
        self.run_one(database, &down, false).await
    }
}

/// The files of each version, by the `<version>_` their names start with.
fn files_by_version(dir: &Path) -> BTreeMap<i64, Vec<String>> {
    let mut files: BTreeMap<i64, Vec<String>> = BTreeMap::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if let Some(version) = name.split('_').next().and_then(|v| v.parse().ok()) {
            files.entry(version).or_default().push(name);
        }
    }
    for names in files.values_mut() {
        names.sort();
    }
    files
}

fn list_revisions(
    ups: &BTreeMap<i64, Migration>,
    downs: &BTreeMap<i64, Migration>,
    files: &BTreeMap<i64, Vec<String>>,
) -> Vec<Revision> {
    let mut parent: Option<String> = None;
    ups.values()
        .map(|migration| {
            let id = migration.version.to_string();
            Revision {
                id: id.clone(),
                parents: parent.replace(id).into_iter().collect(),
                description: migration.description.to_string(),
                has_down: downs
                    .get(&migration.version)
                    .is_some_and(|down| !holds_no_statement(&down.sql)),
                files: files.get(&migration.version).cloned().unwrap_or_default(),
            }
        })
        .collect()
}

/// Whether SQL is only blank lines and `--` comments.
fn holds_no_statement(sql: &str) -> bool {
    sql.lines()
        .map(str::trim)
        .all(|line| line.is_empty() || line.starts_with("--"))
}

/// The ids were produced from versions, so they parse.
fn version_of(revision: &Revision) -> i64 {
    revision.id.parse().expect("sqlx revision ids are versions")
}

fn malformed(dir: &Path, message: String) -> RunnerError {
    RunnerError::MalformedMigration {
        dir: PathBuf::from(dir),
        message,
    }
}

fn connection_error(error: MigrateError) -> StepError {
    StepError::Connection(describe_migrate_error(&error))
}

fn describe_migrate_error(error: &MigrateError) -> String {
    match error {
        MigrateError::Execute(inner) | MigrateError::ExecuteMigration(inner, _) => {
            crate::sql::describe_error(inner)
        }
        other => other.to_string(),
    }
}
