//! The rows a step read from each table, from `pg_stat_user_tables`: a validating scan (`SET
//! NOT NULL`, a foreign key or CHECK added valid) reads the whole table under its lock without
//! changing its storage. A session's counts reach that view only when it flushes them, which
//! PostgreSQL 15 does at most once a second while the session lives and always as it ends; so
//! the counts are read with no other session left on the database, and read again once the
//! step's sessions have ended.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use sqlx::postgres::PgConnection;

/// Rows read so far (sequentially and through indexes), per table oid.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TableReads(pub BTreeMap<u32, i64>);

/// How long to wait for sessions to end (and so flush their counts): a runner that keeps a
/// connection open between steps does not end it, and then no counts are given.
const SESSIONS_END_WITHIN: Duration = Duration::from_millis(500);

impl TableReads {
    /// The counts as they stand once every other session on the database has ended, or None
    /// when they cannot be told: counting is off, the server is older than 15, or a session
    /// stays.
    pub async fn settled(connection: &mut PgConnection) -> Result<Option<Self>, sqlx::Error> {
        if !others_ended(connection).await? {
            tracing::debug!("a session stays on the database: rows read are not counted");
            return Ok(None);
        }
        // Before 15 a statistics collector delays the counts, and nothing can flush them.
        let counting: bool = sqlx::query_scalar(
            "SELECT current_setting('track_counts')::bool \
               AND current_setting('server_version_num')::int >= 150000",
        )
        .fetch_one(&mut *connection)
        .await?;
        if !counting {
            return Ok(None);
        }
        // This session's own reads (a checksum pass) are flushed at the end of this statement,
        // before the next one reads the view.
        sqlx::query("SELECT pg_stat_force_next_flush()")
            .execute(&mut *connection)
            .await?;
        let rows: Vec<(i64, i64)> = sqlx::query_as(
            "SELECT relid::int8, coalesce(seq_tup_read, 0) + coalesce(idx_tup_fetch, 0) \
             FROM pg_stat_user_tables",
        )
        .fetch_all(connection)
        .await?;
        Ok(Some(TableReads(
            rows.into_iter()
                .map(|(oid, read)| (oid as u32, read))
                .collect(),
        )))
    }

    /// The rows read from `oid` since `before`.
    pub fn since(&self, before: &TableReads, oid: u32) -> Option<i64> {
        let now = self.0.get(&oid)?;
        Some((now - before.0.get(&oid).copied().unwrap_or(0)).max(0))
    }
}

/// Waits for every other client session on this database to end.
async fn others_ended(connection: &mut PgConnection) -> Result<bool, sqlx::Error> {
    let started = Instant::now();
    loop {
        let others: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM pg_stat_activity \
             WHERE datname = current_database() AND backend_type = 'client backend' \
               AND pid <> pg_backend_pid()",
        )
        .fetch_one(&mut *connection)
        .await?;
        if others == 0 {
            return Ok(true);
        }
        if started.elapsed() > SESSIONS_END_WITHIN {
            return Ok(false);
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}
