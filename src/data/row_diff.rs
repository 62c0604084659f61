//! Which rows differ between two states of one table: the evidence behind a failed data check.
//! Rows are matched the way their checksums matched them: by key (the earlier side is read into
//! a map of key → hash of the compared values, the later side streamed against it, and only the
//! rows found are fetched whole), or as whole rows (the rows whose hashes one side has more of).

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};

use futures_util::TryStreamExt;
use sqlx::postgres::PgConnection;

use super::checksum::{row_hash, Lines, RowIdentity, TableChecksum};
use super::error::Result;
use crate::sql::quote_ident;

/// The alias of the table read, for the JSON of its rows.
const ROW: &str = "migverify_row";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowDifference {
    pub table: String,
    /// The key columns' values, as `id=42` or `order_id=7, line_no=2`; `whole row` for a
    /// table whose rows are matched whole.
    pub key: String,
    /// The compared columns as JSON; `None` where the row does not exist on that side.
    pub before: Option<String>,
    pub after: Option<String>,
}

/// Up to `limit` rows whose `columns` (named as in `before`) differ between the state
/// `before` was read from and the state `after` was read from, following it.
pub async fn differing_rows(
    before_connection: &mut PgConnection,
    after_connection: &mut PgConnection,
    (before, after): (&TableChecksum, &TableChecksum),
    columns: &[String],
    limit: usize,
) -> Result<Vec<RowDifference>> {
    let sides = (Side::of(before, columns), Side::of(after, columns));
    match &after.identity {
        RowIdentity::Key(key) => {
            let keys = (Side::of(before, key), Side::of(after, key));
            keyed(
                (before_connection, after_connection),
                sides,
                keys,
                &before.table,
                limit,
            )
            .await
        }
        RowIdentity::WholeRow => {
            let row = |table: &str, json: String, gone: bool| RowDifference {
                table: table.to_string(),
                key: "whole row".to_string(),
                before: gone.then(|| json.clone()),
                after: (!gone).then_some(json),
            };
            let gone = only_on_one_side(
                before_connection,
                &sides.0,
                &before.table,
                before.rows_not_in(after),
                limit,
            )
            .await?;
            let come = only_on_one_side(
                after_connection,
                &sides.1,
                &after.table,
                after.rows_not_in(before),
                limit,
            )
            .await?;
            Ok(gone
                .into_iter()
                .map(|json| row(&before.table, json, true))
                .chain(come.into_iter().map(|json| row(&after.table, json, false)))
                .collect())
        }
    }
}

/// Some of a checksum's columns on one side: their names there and what was selected.
struct Side {
    names: Vec<String>,
    select: Vec<String>,
}

impl Side {
    /// The columns of `checksum` that stand for `wanted` (named as in the earlier state), in
    /// that order; those it lacks are left out.
    fn of(checksum: &TableChecksum, wanted: &[String]) -> Self {
        let (names, select) = wanted
            .iter()
            .filter_map(|name| {
                let at = checksum.columns.iter().position(|c| c.follows == *name)?;
                Some((
                    checksum.columns[at].name.clone(),
                    checksum.select[at].clone(),
                ))
            })
            .unzip();
        Side { names, select }
    }

    /// The columns as JSON, named as on this side, of a row of the table read as `ROW`.
    fn json(&self) -> String {
        let columns: Vec<String> = self
            .names
            .iter()
            .map(|name| format!("{ROW}.{}", quote_ident(name)))
            .collect();
        format!(
            "(SELECT row_to_json(r) FROM (SELECT {}) r)::text",
            columns.join(", ")
        )
    }
}

async fn keyed(
    (before, after): (&mut PgConnection, &mut PgConnection),
    (before_columns, after_columns): (Side, Side),
    (before_key, after_key): (Side, Side),
    table: &str,
    limit: usize,
) -> Result<Vec<RowDifference>> {
    let statement = |key: &Side, columns: &Side| {
        let select: Vec<&str> = key
            .select
            .iter()
            .chain(&columns.select)
            .map(String::as_str)
            .collect();
        format!(
            "COPY (SELECT {} FROM {table} {ROW}) TO STDOUT",
            select.join(", ")
        )
    };
    let key_width = before_key.names.len();
    let mut remaining: HashMap<String, u64> = HashMap::new();
    read_lines(before, &statement(&before_key, &before_columns), |line| {
        let (row_key, values) = split_key(line, key_width);
        remaining.insert(row_key, hash(values));
    })
    .await?;

    let mut found: Vec<String> = Vec::new();
    read_lines(after, &statement(&after_key, &after_columns), |line| {
        let (row_key, values) = split_key(line, key_width);
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
            table: table.to_string(),
            key: before_key
                .names
                .iter()
                .zip(&values)
                .map(|(c, v)| format!("{c}={v}"))
                .collect::<Vec<_>>()
                .join(", "),
            before: fetch_row(before, table, &before_key, &before_columns, &values).await?,
            after: fetch_row(after, table, &after_key, &after_columns, &values).await?,
        });
    }
    Ok(differences)
}

/// Up to `limit` rows of `table` whose whole-row hash is among `hashes` (each as often as it
/// appears there), as JSON with NULLs as null.
async fn only_on_one_side(
    connection: &mut PgConnection,
    columns: &Side,
    table: &str,
    hashes: Vec<u128>,
    limit: usize,
) -> Result<Vec<String>> {
    let mut wanted: HashMap<u128, usize> = HashMap::new();
    for hash in hashes {
        *wanted.entry(hash).or_default() += 1;
    }
    if wanted.is_empty() {
        return Ok(Vec::new());
    }
    // The JSON travels last, so what comes before it is the very line the checksum hashed.
    let statement = format!(
        "COPY (SELECT {}{}{} FROM {table} {ROW}) TO STDOUT",
        columns.select.join(", "),
        if columns.select.is_empty() { "" } else { ", " },
        columns.json()
    );
    let mut rows = Vec::new();
    read_lines(connection, &statement, |line| {
        if rows.len() >= limit {
            return;
        }
        let (hashed, json) = line.rsplit_once('\t').unwrap_or(("", line));
        let hash = row_hash(hashed.as_bytes());
        if let Some(count) = wanted.get_mut(&hash).filter(|count| **count > 0) {
            *count -= 1;
            rows.push(unescape_copy_text(json));
        }
    })
    .await?;
    rows.sort();
    Ok(rows)
}

async fn read_lines(
    connection: &mut PgConnection,
    statement: &str,
    mut visit: impl FnMut(&str),
) -> Result<()> {
    let mut stream = connection.copy_out_raw(statement).await?;
    let mut lines = Lines::default();
    while let Some(chunk) = stream.try_next().await? {
        lines.feed(&chunk, |line| visit(&String::from_utf8_lossy(line)));
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

/// A value as COPY's text format wrote it, read back.
fn unescape_copy_text(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some('b') => out.push('\u{8}'),
            Some('f') => out.push('\u{c}'),
            Some('v') => out.push('\u{b}'),
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    out
}

/// The compared columns of one row, as JSON, found by its key as COPY printed it.
async fn fetch_row(
    connection: &mut PgConnection,
    table: &str,
    key: &Side,
    columns: &Side,
    values: &[&str],
) -> Result<Option<String>> {
    let condition: Vec<String> = key
        .select
        .iter()
        .enumerate()
        .map(|(i, c)| format!("({c})::text = ${}", i + 1))
        .collect();
    let sql = format!(
        "SELECT {} FROM {table} {ROW} WHERE {} LIMIT 1",
        columns.json(),
        condition.join(" AND ")
    );
    let mut query = sqlx::query_scalar(&sql);
    for value in values {
        query = query.bind(*value);
    }
    Ok(query.fetch_optional(connection).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_text_reads_back() {
        assert_eq!(
            unescape_copy_text(r#"{"a":"x\\ty","b":null}"#),
            r#"{"a":"x\ty","b":null}"#
        );
        assert_eq!(unescape_copy_text(r"a\tb\nc"), "a\tb\nc");
    }
}
