//! golang-migrate (v4, postgres driver): `{version}_{title}.up.sql` / `.down.sql`, each file sent
//! whole as one multi-statement query with no transaction around it; the version is marked
//! dirty in a transaction of its own before the file runs and clean after, so a file that
//! fails leaves its version dirty and every later run refused until `migrate force`.

use std::path::Path;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::postgres::PgConnection;

use super::Batch;
use super::{
    execute_all, up_down_migrations, AfterFailure, Direction, Down, Migration, Recorded, Script,
    Tool,
};
use crate::runner::error::Result;
use crate::runner::Kind;

pub(super) struct GolangMigrate;

const TABLE: &str = "schema_migrations";

pub(super) fn discover(dir: &Path) -> Result<Vec<Migration>> {
    let script = |file: &str, batches: Vec<Batch>| Script {
        file: file.to_string(),
        batches,
        transaction: false,
        refusal: None,
    };
    up_down_migrations(
        dir,
        // A file of only whitespace is not sent; the version still moves.
        |file, sql| {
            let sent = Some(sql).filter(|s| !s.trim().is_empty());
            script(file, sent.map(Batch::file).into_iter().collect())
        },
        // A missing down file is an empty migration to golang-migrate: the version moves and
        // nothing runs.
        |version| Down::Script(script(&format!("(no down file for {version})"), Vec::new())),
    )
}

/// `SetVersion`: the table holds the one current version, or nothing at the empty database.
fn set_version(version: Option<&str>, dirty: bool) -> Vec<String> {
    let mut statements = vec![format!("TRUNCATE {TABLE}")];
    match version {
        Some(version) => statements.push(format!(
            "INSERT INTO {TABLE} (version, dirty) VALUES ({version}, {dirty})"
        )),
        None if dirty => statements.push(format!(
            "INSERT INTO {TABLE} (version, dirty) VALUES (-1, true)"
        )),
        None => {}
    }
    statements
}

fn target<'a>(migration: &'a Migration, direction: &'a Direction) -> Option<&'a str> {
    match direction {
        Direction::Up => Some(&migration.id),
        Direction::Down { previous } => previous.map(|p| p.id.as_str()),
    }
}

#[async_trait]
impl Tool for GolangMigrate {
    fn kind(&self) -> Kind {
        Kind::GolangMigrate
    }

    fn tables(&self) -> &'static [&'static str] {
        &[TABLE]
    }

    async fn ensure(&self, connection: &mut PgConnection) -> sqlx::Result<()> {
        execute_all(connection, &[format!(
            "CREATE TABLE IF NOT EXISTS {TABLE} (version bigint not null primary key, dirty boolean not null)"
        )]).await
    }

    async fn recorded(
        &self,
        connection: &mut PgConnection,
        _: &[Migration],
    ) -> sqlx::Result<Recorded> {
        let row: Option<(i64, bool)> =
            sqlx::query_as(&format!("SELECT version, dirty FROM {TABLE} LIMIT 1"))
                .fetch_optional(connection)
                .await?;
        Ok(match row {
            Some((version, true)) => Recorded {
                applied: vec![version.to_string()],
                refusal: Some(format!("Dirty database version {version}. Fix and force version. (golang-migrate refuses to run while a migration is marked dirty)")),
            },
            Some((version, false)) if version >= 0 => Recorded { applied: vec![version.to_string()], refusal: None },
            _ => Recorded { applied: Vec::new(), refusal: None },
        })
    }

    fn mark_before(&self, migration: &Migration, direction: &Direction) -> Vec<String> {
        set_version(target(migration, direction), true)
    }

    fn record(&self, migration: &Migration, direction: &Direction, _took: Duration) -> Vec<String> {
        set_version(target(migration, direction), false)
    }

    fn after_failure(
        &self,
        migration: &Migration,
        direction: &Direction,
        _transaction: bool,
    ) -> AfterFailure {
        let version = target(migration, direction).unwrap_or("-1");
        AfterFailure {
            statements: Vec::new(),
            note: Some(format!("golang-migrate leaves the database dirty at version {version} and refuses every later run until `migrate force`")),
        }
    }
}
