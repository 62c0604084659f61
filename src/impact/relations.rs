//! The relations that exist before a step, and what the step did to their storage: a new
//! relfilenode is a rewrite (a type change, a volatile default, VACUUM FULL, CLUSTER); a new
//! index on an existing table was built by reading all of it.

use std::collections::BTreeMap;

use sqlx::postgres::PgConnection;

/// A table, index, sequence or materialized view that existed before the step.
#[derive(Debug, Clone)]
pub struct Relation {
    pub name: String,
    pub kind: &'static str,
    pub filenode: i64,
    /// The server's estimate (or live count) of its rows.
    pub rows: i64,
    /// For an index, the table it indexes.
    pub table: Option<String>,
}

/// The relations of the database, by oid.
#[derive(Debug, Clone, Default)]
pub struct Relations(pub BTreeMap<u32, Relation>);

/// What a step did to the storage of a relation that existed before it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StorageChange {
    pub oid: u32,
    pub rewrite: bool,
    /// In plain words: "rewrote public.orders (200000 rows)".
    pub cause: String,
}

impl Relations {
    pub async fn read(connection: &mut PgConnection) -> Result<Self, sqlx::Error> {
        let rows: Vec<(i64, String, String, i64, i64, Option<String>)> = sqlx::query_as(
            "SELECT c.oid::int8, quote_ident(n.nspname) || '.' || quote_ident(c.relname), c.relkind::text, c.relfilenode::int8, \
               GREATEST(c.reltuples::int8, coalesce(s.n_live_tup, 0)), \
               (SELECT quote_ident(tn.nspname) || '.' || quote_ident(t.relname) FROM pg_index x \
                  JOIN pg_class t ON t.oid = x.indrelid JOIN pg_namespace tn ON tn.oid = t.relnamespace \
                WHERE x.indexrelid = c.oid) \
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
               LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid \
             WHERE c.relkind IN ('r', 'p', 'i', 'I', 'S', 'm') \
               AND n.nspname NOT IN ('pg_catalog', 'information_schema') \
               AND n.nspname NOT LIKE 'pg\\_toast%'",
        )
        .fetch_all(connection)
        .await?;
        Ok(Relations(
            rows.into_iter()
                .map(|(oid, name, relkind, filenode, rows, table)| {
                    let kind = match relkind.as_str() {
                        "r" => "table",
                        "p" => "partitioned table",
                        "i" | "I" => "index",
                        "S" => "sequence",
                        _ => "materialized view",
                    };
                    let relation = Relation {
                        name,
                        kind,
                        filenode,
                        rows: rows.max(0),
                        table,
                    };
                    (oid as u32, relation)
                })
                .collect(),
        ))
    }

    /// Rewrites of the relations that are still there, and indexes built on tables that were.
    pub async fn changes(
        &self,
        connection: &mut PgConnection,
    ) -> Result<Vec<StorageChange>, sqlx::Error> {
        let oids: Vec<i64> = self.0.keys().map(|oid| i64::from(*oid)).collect();
        let now: Vec<(i64, i64)> =
            sqlx::query_as("SELECT oid::int8, relfilenode::int8 FROM pg_class WHERE oid = ANY($1)")
                .bind(&oids)
                .fetch_all(&mut *connection)
                .await?;
        let mut changes = Vec::new();
        for (oid, filenode) in now {
            let Some(before) = self.0.get(&(oid as u32)) else {
                continue;
            };
            if before.filenode != 0 && filenode != before.filenode {
                let cause = match before.kind {
                    "index" => format!("rebuilt index {}", before.name),
                    _ => format!("rewrote {} ({} rows)", before.name, before.rows),
                };
                changes.push(StorageChange {
                    oid: oid as u32,
                    rewrite: true,
                    cause,
                });
            }
        }
        let built: Vec<(String, i64)> = sqlx::query_as(
            "SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname), x.indrelid::int8 \
             FROM pg_index x JOIN pg_class c ON c.oid = x.indexrelid \
               JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE x.indrelid = ANY($1) AND x.indexrelid <> ALL($1)",
        )
        .bind(&oids)
        .fetch_all(connection)
        .await?;
        for (index, table) in built {
            let Some(on) = self.0.get(&(table as u32)) else {
                continue;
            };
            changes.push(StorageChange {
                oid: table as u32,
                rewrite: false,
                cause: format!("built index {index} on {} ({} rows)", on.name, on.rows),
            });
        }
        Ok(changes)
    }
}
