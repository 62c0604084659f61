//! Table checksums: the row count, a sha256 of the rows in key order, and a sha256 per column,
//! streamed out with COPY. COPY's text form is canonical across compatible types (an int
//! becoming a bigint, a varchar becoming text, prints the same), and per-column digests let a
//! table be compared across a migration that adds or drops columns.

use std::collections::BTreeMap;

use futures_util::TryStreamExt;
use sha2::{Digest, Sha256};
use sqlx::postgres::PgConnection;

use super::load::quote_ident;
use crate::error::Result;
use crate::schema::Table;

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TableChecksum {
    pub table: String,
    pub rows: u64,
    /// Over every column, rows in key order.
    pub digest: String,
    /// Column name → digest of that column's values in the same row order.
    pub columns: BTreeMap<String, String>,
}

pub async fn checksum_tables(
    connection: &mut PgConnection,
    tables: &[Table],
) -> Result<Vec<TableChecksum>> {
    // Room to sort a large table in memory when it has no key index to read in order.
    sqlx::query("SET work_mem = '256MB'")
        .execute(&mut *connection)
        .await?;
    let mut checksums = Vec::with_capacity(tables.len());
    for table in tables {
        checksums.push(checksum_table(connection, table).await?);
    }
    Ok(checksums)
}

pub async fn checksum_table(connection: &mut PgConnection, table: &Table) -> Result<TableChecksum> {
    let names: Vec<&str> = table.columns.iter().map(|c| c.name.as_str()).collect();
    let quoted: Vec<String> = names.iter().map(|n| quote_ident(n)).collect();
    let order = match &table.primary_key {
        Some(key) => key
            .columns
            .iter()
            .map(|c| quote_ident(c))
            .collect::<Vec<_>>()
            .join(", "),
        None => (1..=names.len())
            .map(|i| i.to_string())
            .collect::<Vec<_>>()
            .join(", "),
    };
    let statement = format!(
        "COPY (SELECT {} FROM {} ORDER BY {order}) TO STDOUT",
        quoted.join(", "),
        table.name
    );
    tracing::debug!(table = %table.name, "checksumming");

    let mut whole = Sha256::new();
    let mut per_column: Vec<Sha256> = names.iter().map(|_| Sha256::new()).collect();
    let (mut rows, mut column) = (0u64, 0usize);
    let mut stream = connection.copy_out_raw(&statement).await?;
    while let Some(chunk) = stream.try_next().await? {
        whole.update(&chunk);
        let mut start = 0;
        // Tabs and newlines inside values arrive escaped, so these bytes only ever delimit.
        for at in memchr::memchr2_iter(b'\t', b'\n', &chunk) {
            if let Some(hasher) = per_column.get_mut(column) {
                hasher.update(&chunk[start..at]);
                hasher.update(b"\n");
            }
            if chunk[at] == b'\n' {
                rows += 1;
                column = 0;
            } else {
                column += 1;
            }
            start = at + 1;
        }
        if let Some(hasher) = per_column.get_mut(column) {
            hasher.update(&chunk[start..]);
        }
    }
    Ok(TableChecksum {
        table: table.name.clone(),
        rows,
        digest: hex::encode(whole.finalize()),
        columns: names
            .iter()
            .zip(per_column)
            .map(|(name, hasher)| (name.to_string(), hex::encode(hasher.finalize())))
            .collect(),
    })
}
