//! morph (mattermost/morph, postgres driver, as its CLI runs it): `{version}_{name}.up.sql` /
//! `.down.sql`, each file sent whole, in a transaction with its `db_migrations` row unless the
//! file starts with `-- morph:nontransactional` at its very first byte. The CLI always takes
//! its lease in `db_lock`, so that table exists too.

use std::path::Path;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::postgres::PgConnection;

use super::Batch;
use super::{
    either, execute_all, literal, up_down_migrations, Direction, Down, Migration, Recorded, Script,
    Tool,
};
use crate::runner::error::Result;
use crate::runner::Kind;

pub(super) struct Morph;

const TABLE: &str = "db_migrations";
const LOCK_TABLE: &str = "db_lock";
/// A file that starts with it, at its first byte, runs outside a transaction.
pub(super) const NONTRANSACTIONAL: &str = "-- morph:nontransactional";

pub(super) fn discover(dir: &Path) -> Result<Vec<Migration>> {
    let mut migrations = up_down_migrations(
        dir,
        |file, sql| Script {
            file: file.to_string(),
            transaction: !sql.starts_with(NONTRANSACTIONAL),
            refusal: None,
            batches: vec![Batch::file(sql)],
        },
        |_| Down::Missing,
    )?;
    // morph sorts by the up file's name as text: `10_` before `2_`.
    migrations.sort_by(|a, b| a.files[0].cmp(&b.files[0]));
    Ok(migrations)
}

/// The version morph stores: the file's number cast to uint32.
fn stored_version(migration: &Migration) -> u32 {
    migration.id.parse::<u64>().expect("digits") as u32
}

#[async_trait]
impl Tool for Morph {
    fn kind(&self) -> Kind {
        Kind::Morph
    }

    fn tables(&self) -> &'static [&'static str] {
        &[TABLE, LOCK_TABLE]
    }

    async fn ensure(&self, connection: &mut PgConnection) -> sqlx::Result<()> {
        execute_all(connection, &[format!(
            "CREATE TABLE IF NOT EXISTS {LOCK_TABLE} (id varchar(64) PRIMARY KEY, expireat bigint);
             CREATE TABLE IF NOT EXISTS {TABLE} (version bigint not null primary key, name varchar not null)"
        )]).await
    }

    async fn recorded(
        &self,
        connection: &mut PgConnection,
        migrations: &[Migration],
    ) -> sqlx::Result<Recorded> {
        // morph knows an applied migration by its name.
        let names: Vec<String> = sqlx::query_scalar(&format!("SELECT name FROM {TABLE}"))
            .fetch_all(connection)
            .await?;
        Ok(Recorded {
            applied: migrations
                .iter()
                .filter(|m| names.contains(&m.description))
                .map(|m| m.id.clone())
                .collect(),
            refusal: None,
        })
    }

    fn record(&self, migration: &Migration, direction: &Direction, _took: Duration) -> Vec<String> {
        let (version, name) = (stored_version(migration), literal(&migration.description));
        either(
            direction,
            format!("INSERT INTO {TABLE} (version, name) VALUES ({version}, {name})"),
            format!("DELETE FROM {TABLE} WHERE (Version={version} AND NAME={name})"),
        )
    }
}
