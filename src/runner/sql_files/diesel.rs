//! diesel (diesel_migrations 2.x): a directory `{version}_{name}/` per migration with `up.sql`,
//! an optional `down.sql` and an optional `metadata.toml`; each file is sent whole, in a
//! transaction with the version row unless `run_in_transaction = false`.

use std::path::Path;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::postgres::PgConnection;

use super::versions;
use super::Batch;
use super::{
    either, execute_all, literal, malformed, read, Direction, Down, Migration, Recorded, Script,
    Tool,
};
use crate::runner::error::Result;
use crate::runner::Kind;

pub(super) struct Diesel;

const TABLE: &str = "__diesel_schema_migrations";

pub(super) fn discover(dir: &Path) -> Result<Vec<Migration>> {
    let mut migrations = Vec::new();
    let mut entries: Vec<_> = std::fs::read_dir(dir)?
        .flatten()
        .map(|e| e.path())
        .collect();
    entries.sort();
    for path in entries {
        let name = path
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        let empty = std::fs::read_dir(&path).map_or(true, |mut d| d.next().is_none());
        if !path.is_dir() || name.starts_with('.') || empty {
            continue;
        }
        let up = path.join("up.sql");
        if !up.is_file() {
            return Err(malformed(
                dir,
                format!(
                    "{name}: diesel's UnknownMigrationFormat: a migration directory needs up.sql"
                ),
            ));
        }
        // diesel reads a missing or unreadable metadata.toml (a key of the wrong type
        // included) as its default, a transaction; a file without the key as `false`, the
        // key's own serde default.
        let transaction = match std::fs::read_to_string(path.join("metadata.toml")) {
            Err(_) => true,
            Ok(text) => match text.parse::<toml::Table>() {
                Err(_) => true,
                Ok(table) => match table.get("run_in_transaction") {
                    None => false,
                    Some(value) => value.as_bool().unwrap_or(true),
                },
            },
        };
        let script = |file: &str| -> Result<Script> {
            let sql = read(&path.join(file))?;
            // diesel refuses an empty file when it comes to run it, not before.
            let refusal = sql.is_empty().then(|| {
                format!("{name}/{file} is empty, which diesel refuses to run (EmptyMigration)")
            });
            Ok(Script {
                file: format!("{name}/{file}"),
                batches: vec![Batch::file(sql)],
                transaction,
                refusal,
            })
        };
        let has_down = path.join("down.sql").is_file();
        migrations.push(Migration {
            id: name.split('_').next().unwrap_or_default().replace('-', ""),
            description: name.split_once('_').map_or("", |(_, d)| d).to_string(),
            files: ["up.sql", "down.sql", "metadata.toml"]
                .iter()
                .filter(|f| path.join(f).is_file())
                .map(|f| format!("{name}/{f}"))
                .collect(),
            up: script("up.sql")?,
            down: match has_down {
                true => Down::Script(script("down.sql")?),
                false => Down::Missing,
            },
        });
    }
    // diesel's versions are strings, run in string order.
    migrations.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(migrations)
}

#[async_trait]
impl Tool for Diesel {
    fn kind(&self) -> Kind {
        Kind::Diesel
    }

    fn tables(&self) -> &'static [&'static str] {
        &[TABLE]
    }

    async fn ensure(&self, connection: &mut PgConnection) -> sqlx::Result<()> {
        execute_all(
            connection,
            &[format!(
                "CREATE TABLE IF NOT EXISTS {TABLE} (
       version VARCHAR(50) PRIMARY KEY NOT NULL,
       run_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP
);"
            )],
        )
        .await
    }

    async fn recorded(
        &self,
        connection: &mut PgConnection,
        _: &[Migration],
    ) -> sqlx::Result<Recorded> {
        let query = format!(
            "SELECT \"{TABLE}\".\"version\" FROM \"{TABLE}\" ORDER BY \"{TABLE}\".\"version\" DESC"
        );
        versions(connection, &query).await
    }

    fn record(&self, migration: &Migration, direction: &Direction, _took: Duration) -> Vec<String> {
        let version = literal(&migration.id);
        either(
            direction,
            format!("INSERT INTO \"{TABLE}\" (\"version\") VALUES ({version})"),
            format!("DELETE FROM \"{TABLE}\" WHERE (\"{TABLE}\".\"version\" = {version})"),
        )
    }
}
