//! Table checksums: the row count, a sha256 of the rows in key order, and a sha256 per column,
//! streamed out with COPY. COPY's text form is canonical across compatible types (an int
//! becoming a bigint, a varchar becoming text, prints the same), and per-column digests let a
//! table be compared across a migration that adds or drops columns.

use std::collections::BTreeMap;

use futures_util::TryStreamExt;
use sha2::{Digest, Sha256};
use sqlx::postgres::PgConnection;

use crate::error::Result;
use crate::progress;
use crate::sql::quote_ident;

const CHUNKS_IN_FLIGHT: usize = 8;
const BLOCK_BYTES: usize = 256 * 1024;
use crate::schema::{DataType, Table};

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
    let version: String = sqlx::query_scalar("SHOW server_version_num")
        .fetch_one(&mut *connection)
        .await?;
    let values = Values {
        trim_numeric_scale: version.parse::<u32>().is_ok_and(|v| v >= 130_000),
    };
    let progress = progress::counter(tables.len() as u64, "tables", "checksums".to_string());
    let mut checksums = Vec::with_capacity(tables.len());
    for table in tables {
        progress.set_message(format!("checksum {}", table.name));
        checksums.push(checksum_table(connection, table, values).await?);
        progress.inc(1);
    }
    progress.finish_and_clear();
    Ok(checksums)
}

/// How values are written for hashing, as far as the server allows.
#[derive(Debug, Clone, Copy)]
struct Values {
    /// A numeric as its value, not its scale: widening numeric(10,2) to numeric(12,4) turns
    /// 12.50 into 12.5000 without changing it (trim_scale, PostgreSQL 13 and later).
    trim_numeric_scale: bool,
}

async fn checksum_table(
    connection: &mut PgConnection,
    table: &Table,
    values: Values,
) -> Result<TableChecksum> {
    let names: Vec<&str> = table.columns.iter().map(|c| c.name.as_str()).collect();
    let quoted: Vec<String> = names.iter().map(|n| quote_ident(n)).collect();
    let selected: Vec<String> = table
        .columns
        .iter()
        .zip(&quoted)
        .map(|(column, name)| match column.data_type {
            DataType::Numeric { .. } if values.trim_numeric_scale => format!("trim_scale({name})"),
            _ => name.clone(),
        })
        .collect();
    let order = match &table.primary_key {
        Some(key) => key
            .columns
            .iter()
            .map(|c| quote_ident(c))
            .collect::<Vec<_>>()
            .join(", "),
        // Without a key, every column in its text form: every type has one, not every type
        // (json, point) has an ordering.
        None => quoted
            .iter()
            .map(|c| format!("{c}::text"))
            .collect::<Vec<_>>()
            .join(", "),
    };
    let statement = format!(
        "COPY (SELECT {} FROM {} ORDER BY {order}) TO STDOUT",
        selected.join(", "),
        table.name
    );
    tracing::debug!(table = %table.name, "checksumming");
    let (rows, whole, mut per_column) = hash_copy(connection, &statement, names.len()).await?;
    if table.primary_key.is_none() && names.len() > 1 {
        // Without a key the row order comes from every column, so dropping or changing one
        // would reorder the others: hash each column's values in their own order instead.
        for (index, (value, name)) in selected.iter().zip(&quoted).enumerate() {
            let statement = format!(
                "COPY (SELECT {value} FROM {} ORDER BY {name}::text) TO STDOUT",
                table.name
            );
            let (_, _, alone) = hash_copy(connection, &statement, 1).await?;
            per_column[index].clone_from(&alone[0]);
        }
    }
    Ok(TableChecksum {
        table: table.name.clone(),
        rows,
        digest: whole,
        columns: names
            .iter()
            .map(|name| name.to_string())
            .zip(per_column)
            .collect(),
    })
}

/// Streams `statement` (a COPY TO STDOUT of `column_count` columns) and hashes it: the row
/// count, the whole digest and the per-column digests.
async fn hash_copy(
    connection: &mut PgConnection,
    statement: &str,
    column_count: usize,
) -> Result<(u64, String, Vec<String>)> {
    // Hashing runs on its own thread while the connection keeps reading, so the server
    // never waits for the hash to catch up.
    let (sender, chunks) = std::sync::mpsc::sync_channel::<bytes::Bytes>(CHUNKS_IN_FLIGHT);
    let hashing = tokio::task::spawn_blocking(move || hash_rows(chunks, column_count));
    let mut stream = connection.copy_out_raw(statement).await?;
    // The server sends a message per row: pass them on in blocks, not a channel send each.
    let mut block = bytes::BytesMut::with_capacity(BLOCK_BYTES);
    while let Some(chunk) = stream.try_next().await? {
        block.extend_from_slice(&chunk);
        if block.len() >= BLOCK_BYTES && sender.send(block.split().freeze()).is_err() {
            break;
        }
    }
    if !block.is_empty() {
        let _ = sender.send(block.freeze());
    }
    drop(sender);
    hashing
        .await
        .map_err(|e| crate::error::Error::Database(e.to_string()))
}

/// Hashes COPY text rows: the whole stream, and each column's values apart. Returns the row
/// count, the whole digest and the per-column digests, in hex.
fn hash_rows(
    chunks: std::sync::mpsc::Receiver<bytes::Bytes>,
    column_count: usize,
) -> (u64, String, Vec<String>) {
    let mut whole = Sha256::new();
    let mut per_column: Vec<ColumnHasher> =
        (0..column_count).map(|_| ColumnHasher::default()).collect();
    let (mut rows, mut column) = (0u64, 0usize);
    for chunk in chunks {
        whole.update(&chunk);
        let mut start = 0;
        // Tabs and newlines inside values arrive escaped, so these bytes only ever delimit.
        for at in memchr::memchr2_iter(b'\t', b'\n', &chunk) {
            if let Some(hasher) = per_column.get_mut(column) {
                // Always a newline, tab or not, so that a column's digest does not depend on
                // whether columns follow it.
                hasher.push(&chunk[start..at]);
                hasher.push(b"\n");
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
            hasher.push(&chunk[start..]);
        }
    }
    let digests = per_column.into_iter().map(ColumnHasher::finish).collect();
    (rows, hex::encode(whole.finalize()), digests)
}

/// One column's values, hashed in blocks: a sha256 update per short value would cost more
/// than the hashing itself.
#[derive(Default)]
struct ColumnHasher {
    hasher: Sha256,
    pending: Vec<u8>,
}

impl ColumnHasher {
    const BLOCK: usize = 64 * 1024;

    fn push(&mut self, bytes: &[u8]) {
        self.pending.extend_from_slice(bytes);
        if self.pending.len() >= Self::BLOCK {
            self.hasher.update(&self.pending);
            self.pending.clear();
        }
    }

    fn finish(mut self) -> String {
        self.hasher.update(&self.pending);
        hex::encode(self.hasher.finalize())
    }
}
