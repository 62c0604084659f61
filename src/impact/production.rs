//! The size of a production database, read without reading its data: the planner's row
//! estimates and the tables' sizes on disk. `migverify stats` writes it; `--stats` reads it
//! back to predict at each table's own size.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sqlx::postgres::PgConnection;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProductionStats {
    /// The version of migverify that wrote it.
    pub migverify: String,
    pub database: String,
    pub tables: Vec<TableSize>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TableSize {
    /// Schema-qualified, as migverify names tables elsewhere.
    pub table: String,
    /// The planner's estimate (`reltuples`), else the live rows the statistics count.
    pub rows: u64,
    /// On disk, with its indexes and TOAST.
    pub bytes: u64,
}

impl ProductionStats {
    /// Reads the catalog and the statistics views only: no table is scanned.
    pub async fn read(connection: &mut PgConnection) -> Result<Self, sqlx::Error> {
        let database: String = sqlx::query_scalar("SELECT current_database()::text")
            .fetch_one(&mut *connection)
            .await?;
        let rows: Vec<(String, i64, i64)> = sqlx::query_as(
            "SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname), \
               GREATEST(c.reltuples::int8, coalesce(s.n_live_tup, 0)), \
               pg_total_relation_size(c.oid) \
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
               LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid \
             WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition \
               AND n.nspname NOT IN ('pg_catalog', 'information_schema') \
               AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp\\_%' \
             ORDER BY 1",
        )
        .fetch_all(connection)
        .await?;
        Ok(ProductionStats {
            migverify: env!("CARGO_PKG_VERSION").to_string(),
            database,
            tables: rows
                .into_iter()
                .map(|(table, rows, bytes)| TableSize {
                    table,
                    rows: rows.max(0) as u64,
                    bytes: bytes.max(0) as u64,
                })
                .collect(),
        })
    }

    /// Rows by table.
    pub fn rows(&self) -> BTreeMap<String, u64> {
        self.tables
            .iter()
            .map(|t| (t.table.clone(), t.rows))
            .collect()
    }
}
