//! Table checksums: the row count, a sha256 of the rows and an XXH3 digest per column, streamed out
//! with COPY. COPY's text form is canonical across lossless casts (an int becoming a bigint, a
//! varchar becoming text, a widened numeric print the same), so two states of a table compare by
//! value.
//!
//! Rows are told apart one way per table, chosen from the earlier state: by its key, read in key
//! order; or, without a key, as whole rows, a multiset of row hashes. A later state is read
//! *following* the earlier one: each column found again by its number (which a rename keeps),
//! read in the earlier order and under the earlier key while the key's columns survive.

use std::sync::atomic::{AtomicUsize, Ordering};

use futures_util::TryStreamExt;
use sha2::{Digest, Sha256};
use sqlx::postgres::{PgConnectOptions, PgConnection};
use xxhash_rust::xxh3::{xxh3_64, Xxh3};

use super::error::Result;
use super::reading::Reading;
use super::reuse::Reuse;
use crate::progress;
use crate::schema::Table;
use crate::sql::quote_ident;

const CHUNKS_IN_FLIGHT: usize = 8;
const BLOCK_BYTES: usize = 256 * 1024;

/// How the rows of two states of a table are matched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RowIdentity {
    /// By the values of these columns (named as in the earlier state), read in their order.
    Key(Vec<String>),
    /// As whole rows over the columns read: a multiset, so a duplicate counts.
    WholeRow,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnDigest {
    /// The column's name in the state read.
    pub name: String,
    /// The name of the column it was found to be in the state followed (its own name when
    /// nothing was followed).
    pub follows: String,
    pub attnum: i16,
    /// Its values in the table's row order (by key), or as a multiset (whole rows).
    pub digest: String,
    pub non_null: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableChecksum {
    pub table: String,
    pub oid: u32,
    pub rows: u64,
    /// sha256 over the rows: in key order, or over the sorted row hashes.
    pub digest: String,
    pub identity: RowIdentity,
    pub columns: Vec<ColumnDigest>,
    /// With whole-row identity, every row's hash, sorted.
    pub row_hashes: Vec<u128>,
    /// What was selected for each column: read the same rows again with the same bytes.
    pub select: Vec<String>,
    /// How long reading it took.
    pub read_in: std::time::Duration,
    /// Kept from an earlier reading: nothing changed the table since.
    pub reused: bool,
}

impl TableChecksum {
    /// The column found to be `name` of the state followed.
    pub fn following(&self, name: &str) -> Option<&ColumnDigest> {
        self.columns.iter().find(|c| c.follows == name)
    }

    /// Whether the digests of `self` (read following `earlier`) compare with `earlier`'s as
    /// they are: rows told apart the same way, and for whole rows, over the same columns.
    pub fn compares_with(&self, earlier: &TableChecksum) -> bool {
        self.identity == earlier.identity
            && (matches!(self.identity, RowIdentity::Key(_))
                || self
                    .columns
                    .iter()
                    .map(|c| &c.follows)
                    .eq(earlier.columns.iter().map(|c| &c.name)))
    }

    /// Row hashes `self` has more of than `other`: with whole-row identity, the rows gone
    /// (or come) between the two.
    pub fn rows_not_in(&self, other: &TableChecksum) -> Vec<u128> {
        let (mine, theirs) = (&self.row_hashes, &other.row_hashes);
        let (mut i, mut j, mut extra) = (0, 0, Vec::new());
        while i < mine.len() {
            match theirs.get(j) {
                Some(t) if *t < mine[i] => j += 1,
                Some(t) if *t == mine[i] => (i, j) = (i + 1, j + 1),
                _ => {
                    extra.push(mine[i]);
                    i += 1;
                }
            }
        }
        extra
    }
}

/// Where tables are read: a connection; beside it, where given, a second connection to the same
/// database (the server's work, not the hashing, is what takes the time, and a second backend
/// puts another core to it); and, where given, the checksums kept from earlier readings.
pub struct Readers<'a> {
    pub connection: &'a mut PgConnection,
    pub beside: Option<&'a PgConnectOptions>,
    pub reuse: Option<&'a mut Reuse>,
}

impl<'a> Readers<'a> {
    /// One connection, nothing kept.
    pub fn one(connection: &'a mut PgConnection) -> Self {
        Readers {
            connection,
            beside: None,
            reuse: None,
        }
    }
}

/// Every table read for itself.
pub async fn checksum_tables(readers: Readers<'_>, tables: &[Table]) -> Result<Vec<TableChecksum>> {
    read_tables(readers, tables.iter().map(Reading::natural).collect()).await
}

/// Every table read following its earlier state in `earlier` (a table new since then is read
/// for itself). `excluded(table, column)` leaves a column of the earlier state out.
pub async fn checksum_tables_following(
    readers: Readers<'_>,
    tables: &[Table],
    earlier: &[TableChecksum],
    excluded: &dyn Fn(&str, &str) -> bool,
) -> Result<Vec<TableChecksum>> {
    let readings = tables
        .iter()
        .map(
            |table| match earlier.iter().find(|e| e.table == table.name) {
                Some(earlier) => Reading::following(table, earlier, &|c| excluded(&table.name, c)),
                None => Reading::natural(table),
            },
        )
        .collect();
    read_tables(readers, readings).await
}

/// `table`, an earlier state, read again the way `later` was read following it: for when the
/// earlier digests do not compare (the key did not survive, or whole rows lost a column).
pub async fn checksum_table_like(
    connection: &mut PgConnection,
    table: &Table,
    later: &TableChecksum,
) -> Result<TableChecksum> {
    let mut read = read_tables(Readers::one(connection), vec![Reading::like(table, later)]).await?;
    Ok(read.remove(0))
}

/// Reads every table, each whole on one of the readers' connections, but those kept from an
/// earlier reading that nothing changed since. Returns them in the order of `readings`.
async fn read_tables(readers: Readers<'_>, readings: Vec<Reading>) -> Result<Vec<TableChecksum>> {
    let Readers {
        connection,
        beside,
        mut reuse,
    } = readers;
    let values = prepare(connection).await?;
    let mark = match reuse.as_deref_mut() {
        Some(reuse) => reuse.mark(connection, &readings).await,
        None => None,
    };
    let mut read: Vec<(usize, TableChecksum)> = match (reuse.as_deref_mut(), &mark) {
        (Some(reuse), Some(mark)) => reuse.reusable(mark, &readings).await.into_iter().collect(),
        _ => Vec::new(),
    };
    let reused: Vec<usize> = read.iter().map(|(index, _)| *index).collect();
    let to_read: Vec<usize> = (0..readings.len())
        .filter(|i| !reused.contains(i))
        .collect();
    let mut second = match beside {
        Some(options) if to_read.len() > 1 => {
            let mut second = crate::database::connect(options).await?;
            prepare(&mut second).await?;
            Some(second)
        }
        _ => None,
    };
    let progress = progress::counter(readings.len() as u64, "tables", "checksums".to_string());
    progress.inc(reused.len() as u64);
    let next = AtomicUsize::new(0);
    let queue = Queue {
        readings: &readings,
        to_read: &to_read,
        next: &next,
        values,
        progress: &progress,
    };
    let (mine, theirs) = tokio::join!(queue.drain(connection), async {
        match second.as_mut() {
            Some(second) => queue.drain(second).await,
            None => Ok(Vec::new()),
        }
    });
    progress.finish_and_clear();
    read.extend(mine?.into_iter().chain(theirs?));
    read.sort_by_key(|(index, _)| *index);
    if let (Some(reuse), Some(mark)) = (reuse, &mark) {
        for (index, checksum) in &read {
            reuse.keep(mark, &readings[*index], checksum);
        }
    }
    Ok(read.into_iter().map(|(_, checksum)| checksum).collect())
}

/// Session settings every reader shares, whatever the database's or role's defaults (a
/// migration may change those): the text of a value must not depend on who read it. Returns
/// how values are written.
async fn prepare(connection: &mut PgConnection) -> Result<Values> {
    // Room to sort a large table in memory when it has no key index to read in order.
    sqlx::raw_sql(
        "SET work_mem = '256MB'; SET TimeZone = 'UTC'; SET DateStyle = 'ISO, MDY'; \
         SET IntervalStyle = 'postgres'; SET extra_float_digits = 1; SET bytea_output = 'hex'; \
         SET lc_monetary = 'C'",
    )
    .execute(&mut *connection)
    .await?;
    let version: String = sqlx::query_scalar("SHOW server_version_num")
        .fetch_one(&mut *connection)
        .await?;
    Ok(Values {
        trim_numeric_scale: version.parse::<u32>().is_ok_and(|v| v >= 130_000),
    })
}

/// The readings not yet taken, shared by the readers.
struct Queue<'a> {
    readings: &'a [Reading],
    /// The positions in `readings` to read, taken in turn.
    to_read: &'a [usize],
    next: &'a AtomicUsize,
    values: Values,
    progress: &'a indicatif::ProgressBar,
}

impl Queue<'_> {
    /// Reads tables on `connection` until none is left; each with its place in the readings.
    async fn drain(&self, connection: &mut PgConnection) -> Result<Vec<(usize, TableChecksum)>> {
        let mut read = Vec::new();
        loop {
            let Some(&index) = self.to_read.get(self.next.fetch_add(1, Ordering::Relaxed)) else {
                return Ok(read);
            };
            let reading = &self.readings[index];
            self.progress
                .set_message(format!("checksum {}", reading.table));
            read.push((
                index,
                checksum_table(connection, reading, self.values).await?,
            ));
            self.progress.inc(1);
        }
    }
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
    reading: &Reading,
    values: Values,
) -> Result<TableChecksum> {
    let select: Vec<String> = reading
        .columns
        .iter()
        .map(|column| {
            let name = quote_ident(&column.name);
            match column.numeric && values.trim_numeric_scale {
                true => format!("trim_scale({name})"),
                false => name,
            }
        })
        .collect();
    let order = match &reading.order {
        Some(key) => {
            let key: Vec<String> = key.iter().map(|c| quote_ident(c)).collect();
            format!(" ORDER BY {}", key.join(", "))
        }
        None => String::new(),
    };
    // Zero columns is `SELECT FROM t`: every column dropped still leaves rows to count.
    let statement = format!(
        "COPY (SELECT {} FROM {}{order}) TO STDOUT",
        select.join(", "),
        reading.table
    );
    tracing::debug!(table = %reading.table, "checksumming");
    let whole_rows = reading.identity == RowIdentity::WholeRow;
    let started = std::time::Instant::now();
    let hashed = hash_copy(connection, &statement, select.len(), whole_rows).await?;
    Ok(TableChecksum {
        read_in: started.elapsed(),
        table: reading.table.clone(),
        oid: reading.oid,
        rows: hashed.rows,
        digest: hashed.digest,
        identity: reading.identity.clone(),
        columns: reading
            .columns
            .iter()
            .zip(hashed.columns)
            .map(|(column, (digest, non_null))| ColumnDigest {
                name: column.name.clone(),
                follows: column.follows.clone(),
                attnum: column.attnum,
                digest,
                non_null,
            })
            .collect(),
        row_hashes: hashed.row_hashes,
        select,
        reused: false,
    })
}

struct Hashed {
    rows: u64,
    digest: String,
    /// Per column: its digest and how many of its values are not NULL.
    columns: Vec<(String, u64)>,
    row_hashes: Vec<u128>,
}

/// Streams `statement` (a COPY TO STDOUT of `column_count` columns) and hashes it.
async fn hash_copy(
    connection: &mut PgConnection,
    statement: &str,
    column_count: usize,
    whole_rows: bool,
) -> Result<Hashed> {
    // Hashing runs on its own thread while the connection keeps reading, so the server
    // never waits for the hash to catch up.
    let (sender, chunks) = std::sync::mpsc::sync_channel::<bytes::Bytes>(CHUNKS_IN_FLIGHT);
    let hashing = tokio::task::spawn_blocking(move || {
        let (mut hasher, mut lines) = (RowsHasher::new(column_count, whole_rows), Lines::default());
        for chunk in chunks {
            hasher.chunk(&chunk);
            lines.feed(&chunk, |line| hasher.row(line));
        }
        hasher.finish()
    });
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
        .map_err(|e| super::error::DataError::Query(e.to_string()))
}

/// Splits a stream of chunks into lines; a line split across two chunks is joined first.
#[derive(Default)]
pub(super) struct Lines {
    partial: Vec<u8>,
}

impl Lines {
    pub(super) fn feed(&mut self, bytes: &[u8], mut line: impl FnMut(&[u8])) {
        let mut start = 0;
        for end in memchr::memchr_iter(b'\n', bytes) {
            if self.partial.is_empty() {
                line(&bytes[start..end]);
            } else {
                self.partial.extend_from_slice(&bytes[start..end]);
                line(&self.partial);
                self.partial.clear();
            }
            start = end + 1;
        }
        self.partial.extend_from_slice(&bytes[start..]);
    }
}

/// A row's hash as whole-row identity keeps it: the first half of its line's sha256.
pub(super) fn row_hash(line: &[u8]) -> u128 {
    let digest = Sha256::digest(line);
    u128::from_be_bytes(digest[..16].try_into().expect("sha256 has 32 bytes"))
}

/// Hashes COPY text rows: in key order the whole stream and each column's values in that
/// order; as whole rows each row apart and each column's values as a multiset.
struct RowsHasher {
    rows: u64,
    whole: Option<Sha256>,
    row_hashes: Option<Vec<u128>>,
    columns: Vec<ColumnHasher>,
}

impl RowsHasher {
    fn new(column_count: usize, whole_rows: bool) -> Self {
        RowsHasher {
            rows: 0,
            whole: (!whole_rows).then(Sha256::new),
            row_hashes: whole_rows.then(Vec::new),
            columns: (0..column_count)
                .map(|_| ColumnHasher::new(whole_rows))
                .collect(),
        }
    }

    fn chunk(&mut self, chunk: &[u8]) {
        if let Some(whole) = &mut self.whole {
            whole.update(chunk);
        }
    }

    fn row(&mut self, line: &[u8]) {
        self.rows += 1;
        if let Some(hashes) = &mut self.row_hashes {
            hashes.push(row_hash(line));
        }
        // Tabs inside values arrive escaped, so a tab only ever separates columns.
        let mut start = 0;
        let ends = memchr::memchr_iter(b'\t', line).chain(std::iter::once(line.len()));
        for (column, end) in self.columns.iter_mut().zip(ends) {
            column.push(&line[start..end]);
            start = end + 1;
        }
    }

    fn finish(self) -> Hashed {
        let (digest, row_hashes) = match (self.whole, self.row_hashes) {
            (Some(whole), _) => (hex::encode(whole.finalize()), Vec::new()),
            (None, Some(mut hashes)) => {
                hashes.sort_unstable();
                let mut whole = Sha256::new();
                for hash in &hashes {
                    whole.update(hash.to_be_bytes());
                }
                (hex::encode(whole.finalize()), hashes)
            }
            (None, None) => unreachable!("a hasher keeps rows one way or the other"),
        };
        Hashed {
            rows: self.rows,
            digest,
            columns: self.columns.into_iter().map(ColumnHasher::finish).collect(),
            row_hashes,
        }
    }
}

/// One column's values: in row order, hashed in blocks (an update per short value would cost
/// more than the hashing itself); or as a multiset, an order-free sum of value hashes. A column
/// digest only has to tell two states apart, never to be printed as proof, so it is XXH3
/// (128 bits in order), several times faster than the table's sha256 over the same bytes.
struct ColumnHasher {
    in_order: Option<(Box<Xxh3>, Vec<u8>)>,
    multiset: u64,
    non_null: u64,
}

impl ColumnHasher {
    const BLOCK: usize = 64 * 1024;

    fn new(multiset: bool) -> Self {
        ColumnHasher {
            in_order: (!multiset).then(|| (Box::new(Xxh3::new()), Vec::new())),
            multiset: 0,
            non_null: 0,
        }
    }

    fn push(&mut self, value: &[u8]) {
        if value != b"\\N" {
            self.non_null += 1;
        }
        match &mut self.in_order {
            Some((hasher, pending)) => {
                pending.extend_from_slice(value);
                pending.push(b'\n');
                if pending.len() >= Self::BLOCK {
                    hasher.update(&pending[..]);
                    pending.clear();
                }
            }
            None => self.multiset = self.multiset.wrapping_add(xxh3_64(value)),
        }
    }

    fn finish(self) -> (String, u64) {
        let digest = match self.in_order {
            Some((mut hasher, pending)) => {
                hasher.update(&pending);
                format!("{:032x}", hasher.digest128())
            }
            None => format!("{:016x}", self.multiset),
        };
        (digest, self.non_null)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hashed(lines: &[&str], whole_rows: bool) -> Hashed {
        let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
        // Split mid-line, as no server does but a reader must survive.
        let (a, b) = text.split_at(text.len() / 2);
        let (mut hasher, mut lines) = (RowsHasher::new(2, whole_rows), Lines::default());
        for chunk in [a, b] {
            hasher.chunk(chunk.as_bytes());
            lines.feed(chunk.as_bytes(), |line| hasher.row(line));
        }
        hasher.finish()
    }

    #[test]
    fn whole_rows_are_a_multiset_and_columns_alone_are_not_enough() {
        let before = hashed(&["a\t1", "b\t2", "b\t2"], true);
        assert_eq!(before.rows, 3);
        // The same rows in another order: equal.
        let reordered = hashed(&["b\t2", "a\t1", "b\t2"], true);
        assert_eq!(before.digest, reordered.digest);
        // One column's values moved across rows: each column alone is unchanged, rows are not.
        let shifted = hashed(&["a\t2", "b\t1", "b\t2"], true);
        assert_eq!(before.columns, shifted.columns);
        assert_ne!(before.digest, shifted.digest);
        // A duplicate moved to another row: the same set, another multiset.
        let duplicate = hashed(&["a\t1", "a\t1", "b\t2"], true);
        assert_ne!(before.digest, duplicate.digest);
    }

    #[test]
    fn null_and_the_empty_string_differ_and_nulls_are_not_counted() {
        let with_null = hashed(&["a\t\\N", "b\t2"], false);
        let with_empty = hashed(&["a\t", "b\t2"], false);
        assert_ne!(with_null.columns[1].0, with_empty.columns[1].0);
        assert_eq!(with_null.columns[1].1, 1);
        assert_eq!(with_empty.columns[1].1, 2);
    }

    #[test]
    fn rows_not_in_counts_a_multiset_difference() {
        let table = |hashes: Vec<u128>| TableChecksum {
            table: "t".into(),
            oid: 0,
            rows: hashes.len() as u64,
            digest: String::new(),
            identity: RowIdentity::WholeRow,
            columns: Vec::new(),
            row_hashes: hashes,
            select: Vec::new(),
            read_in: std::time::Duration::ZERO,
            reused: false,
        };
        let before = table(vec![1, 2, 2, 5]);
        let after = table(vec![2, 3, 5, 5]);
        assert_eq!(before.rows_not_in(&after), [1, 2]);
        assert_eq!(after.rows_not_in(&before), [3, 5]);
    }
}
