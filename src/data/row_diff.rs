//! Which rows differ between two databases holding one table: the evidence behind a failed data
//! check. The before side is read into a map of key → hash of the compared values (a few dozen
//! bytes a row), the after side is streamed against it, and only the rows found are fetched
//! whole.

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};

use futures_util::TryStreamExt;
use sqlx::postgres::PgConnection;

use crate::error::Result;
use crate::schema::Table;
use crate::sql::quote_ident;

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RowDifference {
    pub table: String,
    /// The key columns' values, as `id=42` or `order_id=7, line_no=2`.
    pub key: String,
    /// The compared columns as JSON; `None` where the row does not exist on that side.
    pub before: Option<String>,
    pub after: Option<String>,
}

/// Up to `limit` rows of `table` whose `columns` differ between `before` and `after`, keyed by
/// the primary key (by every compared column when there is none).
pub async fn differing_rows(
    before: &mut PgConnection,
    after: &mut PgConnection,
    table: &Table,
    columns: &[String],
    limit: usize,
) -> Result<Vec<RowDifference>> {
    let key: Vec<String> = match &table.primary_key {
        Some(primary_key) => primary_key.columns.clone(),
        None => columns.to_vec(),
    };
    let select: Vec<String> = key.iter().chain(columns).map(|c| quote_ident(c)).collect();
    let statement = format!(
        "COPY (SELECT {} FROM {}) TO STDOUT",
        select.join(", "),
        table.name
    );

    let mut remaining: HashMap<String, u64> = HashMap::new();
    for_each_line(before, &statement, |line| {
        let (row_key, values) = split_key(line, key.len());
        remaining.insert(row_key, hash(values));
    })
    .await?;

    let mut found: Vec<String> = Vec::new();
    for_each_line(after, &statement, |line| {
        let (row_key, values) = split_key(line, key.len());
        match remaining.remove(&row_key) {
            Some(before_hash) if before_hash == hash(values) => {}
            _ if found.len() < limit => found.push(row_key),
            _ => {}
        }
    })
    .await?;
    // Keys the after side never showed: rows that went missing. Sorted, so that every run
    // shows the same ones.
    let mut missing: Vec<String> = remaining.into_keys().collect();
    missing.sort_unstable();
    found.extend(missing.into_iter().take(limit.saturating_sub(found.len())));
    found.sort();

    let mut differences = Vec::with_capacity(found.len());
    for row_key in found {
        let values: Vec<&str> = row_key.split('\t').collect();
        differences.push(RowDifference {
            table: table.name.clone(),
            key: key
                .iter()
                .zip(&values)
                .map(|(c, v)| format!("{c}={v}"))
                .collect::<Vec<_>>()
                .join(", "),
            before: fetch_row(before, table, &key, columns, &values).await?,
            after: fetch_row(after, table, &key, columns, &values).await?,
        });
    }
    Ok(differences)
}

async fn for_each_line(
    connection: &mut PgConnection,
    statement: &str,
    mut visit: impl FnMut(&str),
) -> Result<()> {
    let mut stream = connection.copy_out_raw(statement).await?;
    let mut partial: Vec<u8> = Vec::new();
    while let Some(chunk) = stream.try_next().await? {
        partial.extend_from_slice(&chunk);
        let mut start = 0;
        for end in memchr::memchr_iter(b'\n', &partial) {
            visit(&String::from_utf8_lossy(&partial[start..end]));
            start = end + 1;
        }
        partial.drain(..start);
    }
    Ok(())
}

fn split_key(line: &str, key_columns: usize) -> (String, &str) {
    let mut at = 0;
    for _ in 0..key_columns {
        at += line[at..].find('\t').map_or(line.len() - at, |i| i + 1);
    }
    (
        line[..at].trim_end_matches('\t').to_string(),
        &line[at.min(line.len())..],
    )
}

fn hash(values: &str) -> u64 {
    let mut hasher = DefaultHasher::new();
    values.hash(&mut hasher);
    hasher.finish()
}

/// The compared columns of one row, as JSON, found by its key as COPY printed it.
async fn fetch_row(
    connection: &mut PgConnection,
    table: &Table,
    key: &[String],
    columns: &[String],
    values: &[&str],
) -> Result<Option<String>> {
    let condition: Vec<String> = key
        .iter()
        .enumerate()
        .map(|(i, c)| format!("{}::text = ${}", quote_ident(c), i + 1))
        .collect();
    let shown: Vec<String> = columns.iter().map(|c| quote_ident(c)).collect();
    let sql = format!(
        "SELECT row_to_json(r)::text FROM (SELECT {} FROM {} WHERE {} LIMIT 1) r",
        shown.join(", "),
        table.name,
        condition.join(" AND ")
    );
    let mut query = sqlx::query_scalar(&sql);
    for value in values {
        query = query.bind(*value);
    }
    Ok(query.fetch_optional(connection).await?)
}
