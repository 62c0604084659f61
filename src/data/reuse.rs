//! Checksums kept from one reading to the next for the tables nothing changed in between. A
//! table keeps its checksum only when all of this holds, and is read again otherwise:
//!
//! - it is read the same way (the same columns, key and row identity);
//! - its storage is the same (no new relfilenode for it or its TOAST table: a rewrite, a
//!   TRUNCATE, VACUUM FULL);
//! - the write-ahead log since the last reading holds no record that names either (an INSERT,
//!   UPDATE or DELETE, even one rolled back, a trigger's write, a prune): `pg_walinspect`;
//! - its columns and the types they use are defined the same (an enum label renamed, a
//!   varchar widened, change the text of its data without touching the table);
//! - it is a plain logged table without children: an unlogged table writes no WAL, and a
//!   partitioned or inherited one reads other tables.
//!
//! Anything that cannot be proven (no `pg_walinspect`, WAL already recycled, a query that
//! fails) means reading again.

use std::collections::HashMap;

use sqlx::postgres::PgConnection;

use super::checksum::TableChecksum;
use super::reading::Reading;

/// What a table was when it was read: its storage and the definition of what it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
struct TableState {
    filenodes: Vec<i64>,
    definition: String,
}

/// A checksum as read, and what proves it still holds.
struct Kept {
    checksum: TableChecksum,
    reading: Reading,
    /// The WAL position just before it was read.
    since: i64,
    state: TableState,
}

/// The checksums a run read, by (database, table), and a session that reads the server's WAL.
pub struct Reuse {
    wal: PgConnection,
    kept: HashMap<(u32, u32), Kept>,
}

/// Before a pass: where the WAL stood, and the tables' states, to keep with what is read.
pub(super) struct Mark {
    database: u32,
    lsn: i64,
    states: HashMap<u32, TableState>,
}

impl Reuse {
    /// `wal` is a session on the same server that may use `pg_walinspect`.
    pub fn new(wal: PgConnection) -> Self {
        Reuse {
            wal,
            kept: HashMap::new(),
        }
    }

    /// Marks the WAL position and the states of the tables about to be read on `connection`;
    /// None when they cannot be told (nothing is then kept or reused).
    pub(super) async fn mark(
        &mut self,
        connection: &mut PgConnection,
        readings: &[Reading],
    ) -> Option<Mark> {
        let oids: Vec<i64> = readings.iter().map(|r| i64::from(r.oid)).collect();
        match self.try_mark(connection, &oids).await {
            Ok(mark) => Some(mark),
            Err(error) => {
                tracing::debug!(%error, "cannot mark the tables' states: every table is read");
                None
            }
        }
    }

    async fn try_mark(
        &mut self,
        connection: &mut PgConnection,
        tables: &[i64],
    ) -> sqlx::Result<Mark> {
        let lsn: i64 = sqlx::query_scalar("SELECT (pg_current_wal_insert_lsn() - '0/0')::int8")
            .fetch_one(&mut self.wal)
            .await?;
        let database: i64 = sqlx::query_scalar(
            "SELECT oid::int8 FROM pg_database WHERE datname = current_database()",
        )
        .fetch_one(&mut *connection)
        .await?;
        // Per plain logged table without children: its storage, and its columns with the
        // types they use, followed through arrays, domains, ranges and composites.
        let rows: Vec<(i64, Vec<i64>, String)> = sqlx::query_as(
            "WITH RECURSIVE used(table_oid, type_oid) AS ( \
               SELECT a.attrelid, a.atttypid FROM pg_attribute a \
                 JOIN pg_class c ON c.oid = a.attrelid \
               WHERE c.oid = ANY($1) AND c.relkind = 'r' AND c.relpersistence = 'p' \
                 AND a.attnum > 0 \
             UNION \
               SELECT u.table_oid, n.type_oid FROM used u JOIN pg_type t ON t.oid = u.type_oid \
                 CROSS JOIN LATERAL ( \
                   SELECT t.typelem WHERE t.typelem <> 0 \
                   UNION ALL SELECT t.typbasetype WHERE t.typbasetype <> 0 \
                   UNION ALL SELECT r.rngsubtype FROM pg_range r WHERE r.rngtypid = t.oid \
                   UNION ALL SELECT r.rngtypid FROM pg_range r WHERE r.rngmultitypid = t.oid \
                   UNION ALL SELECT ca.atttypid FROM pg_attribute ca \
                     WHERE ca.attrelid = t.typrelid AND t.typrelid <> 0 AND ca.attnum > 0 \
                 ) AS n(type_oid) \
             ) \
             SELECT c.oid::int8, \
               array_remove(ARRAY[c.relfilenode::int8, \
                 (SELECT tc.relfilenode::int8 FROM pg_class tc WHERE tc.oid = c.reltoastrelid)], NULL), \
               (SELECT string_agg(concat_ws(':', a.attnum, a.attname, a.atttypid, a.atttypmod, \
                  a.attisdropped, a.attcollation, a.attgenerated), ',' ORDER BY a.attnum) \
                FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0) \
               || '|' || coalesce((SELECT string_agg(concat_ws(':', t.oid, t.typname, t.typtype, \
                  t.typtypmod, t.typnotnull, t.typoutput, \
                  (SELECT string_agg(e.enumlabel, ',' ORDER BY e.enumsortorder) FROM pg_enum e \
                   WHERE e.enumtypid = t.oid), \
                  (SELECT string_agg(pg_get_constraintdef(k.oid), ',' ORDER BY k.conname) \
                   FROM pg_constraint k WHERE k.contypid = t.oid), \
                  (SELECT string_agg(concat_ws(':', ca.attname, ca.atttypid, ca.atttypmod), ',' \
                     ORDER BY ca.attnum) FROM pg_attribute ca \
                   WHERE ca.attrelid = t.typrelid AND ca.attnum > 0)), ';' ORDER BY t.oid) \
                  FROM used u JOIN pg_type t ON t.oid = u.type_oid WHERE u.table_oid = c.oid), '') \
             FROM pg_class c \
             WHERE c.oid = ANY($1) AND c.relkind = 'r' AND c.relpersistence = 'p' \
               AND NOT EXISTS (SELECT 1 FROM pg_inherits i WHERE i.inhparent = c.oid OR i.inhrelid = c.oid)",
        )
        .bind(tables)
        .fetch_all(&mut *connection)
        .await?;
        Ok(Mark {
            database: database as u32,
            lsn,
            states: rows
                .into_iter()
                .map(|(oid, filenodes, definition)| {
                    (
                        oid as u32,
                        TableState {
                            filenodes,
                            definition,
                        },
                    )
                })
                .collect(),
        })
    }

    /// The kept checksum of each reading that may be reused under `mark` (the tables as they
    /// are now), by position in `readings`.
    pub(super) async fn reusable(
        &mut self,
        mark: &Mark,
        readings: &[Reading],
    ) -> HashMap<usize, TableChecksum> {
        let candidates: Vec<(usize, &Kept)> = readings
            .iter()
            .enumerate()
            .filter_map(|(index, reading)| {
                let kept = self.kept.get(&(mark.database, reading.oid))?;
                let same =
                    kept.reading == *reading && mark.states.get(&reading.oid) == Some(&kept.state);
                same.then_some((index, kept))
            })
            .collect();
        let Some(earliest) = candidates.iter().map(|(_, kept)| kept.since).min() else {
            return HashMap::new();
        };
        let written = match written_since(&mut self.wal, mark.database, earliest).await {
            Ok(written) => written,
            Err(error) => {
                tracing::debug!(%error, "cannot read the WAL: every table is read");
                return HashMap::new();
            }
        };
        candidates
            .into_iter()
            .filter(|(_, kept)| {
                kept.state
                    .filenodes
                    .iter()
                    .all(|filenode| written.get(filenode).is_none_or(|last| *last < kept.since))
            })
            .map(|(index, kept)| {
                let mut checksum = kept.checksum.clone();
                checksum.read_in = std::time::Duration::ZERO;
                checksum.reused = true;
                (index, checksum)
            })
            .collect()
    }

    /// Keeps what was read under `mark`, for the next reading.
    pub(super) fn keep(&mut self, mark: &Mark, reading: &Reading, checksum: &TableChecksum) {
        let Some(state) = mark.states.get(&reading.oid) else {
            return;
        };
        let since = match self.kept.get(&(mark.database, reading.oid)) {
            // Reused: still true since it was first read.
            Some(kept) if checksum.reused => kept.since,
            _ => mark.lsn,
        };
        self.kept.insert(
            (mark.database, reading.oid),
            Kept {
                checksum: checksum.clone(),
                reading: reading.clone(),
                since,
                state: state.clone(),
            },
        );
    }
}

/// Per relfilenode of `database`, the last WAL position since `since` at which a record named
/// it. Only flushed WAL can be read, and a run commits asynchronously, so the log is flushed
/// first up to where it stands: a transactional message committed synchronously flushes every
/// record before its own (a commit that wrote nothing else would not flush at all).
async fn written_since(
    wal: &mut PgConnection,
    database: u32,
    since: i64,
) -> sqlx::Result<HashMap<i64, i64>> {
    let written: i64 = sqlx::query_scalar("SELECT (pg_current_wal_insert_lsn() - '0/0')::int8")
        .fetch_one(&mut *wal)
        .await?;
    sqlx::raw_sql(
        "SET synchronous_commit = on; \
         SELECT pg_logical_emit_message(true, 'migverify', 'flush');",
    )
    .execute(&mut *wal)
    .await?;
    let flushed: i64 = sqlx::query_scalar("SELECT (pg_current_wal_flush_lsn() - '0/0')::int8")
        .fetch_one(&mut *wal)
        .await?;
    if flushed < written {
        return Err(sqlx::Error::Protocol(format!(
            "the WAL was flushed to {flushed}, short of {written}"
        )));
    }
    if flushed <= since {
        return Ok(HashMap::new());
    }
    let rows: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT m[1]::int8, max(r.start_lsn - '0/0')::int8 \
         FROM pg_get_wal_records_info('0/0'::pg_lsn + $1::int8::numeric, '0/0'::pg_lsn + $2::int8::numeric) r \
           CROSS JOIN LATERAL regexp_matches( \
             coalesce(r.block_ref, '') || ' ' || coalesce(r.description, ''), \
             'rel \\d+/' || $3::int8::text || '/(\\d+)', 'g') AS m \
         GROUP BY 1",
    )
    .bind(since)
    .bind(flushed)
    .bind(i64::from(database))
    .fetch_all(&mut *wal)
    .await?;
    Ok(rows.into_iter().collect())
}
