//! Loads a plan with binary COPY. A blocking thread generates each table's rows in chunks
//! while the connection streams the previous chunk, so memory stays flat whatever the row
//! count and both cores work. Tables load side by side: all at once where the server skips
//! referential checks for the load, else each once its parents are loaded.

use std::sync::Arc;

use bytes::{BufMut, BytesMut};
use sqlx::postgres::{PgConnectOptions, PgConnection};
use tokio::sync::{mpsc, Semaphore};
use tokio::task::JoinSet;

use std::collections::{BTreeSet, HashMap};

use super::error::{DataError, Result};
use super::plan::{plan_beside, Existing, Plan, SeedOptions, Source};
use crate::progress;
use crate::schema::{DataType, Table};
use crate::sql::quote_ident;

const CHUNK_BYTES: usize = 1 << 20;
const CHUNKS_IN_FLIGHT: usize = 4;
const COPY_SIGNATURE: &[u8] = b"PGCOPY\n\xff\r\n\0";

/// A table seeded: its rows, and how long loading them took (tables of one wave load at once).
#[derive(Debug, Clone, PartialEq)]
pub struct Seeded {
    pub table: String,
    pub rows: u64,
    pub loaded_in: std::time::Duration,
}

/// Loads every table of the plan, parents before children, then moves sequences past the
/// loaded values; returns each table's load time, by position in the plan.
pub async fn load(database: &PgConnectOptions, plan: Plan) -> Result<Vec<std::time::Duration>> {
    let mut times = vec![std::time::Duration::ZERO; plan.tables.len()];
    let plan = Arc::new(plan);
    let (parallel, unchecked) = parallel_loads(database).await?;
    let slots = Arc::new(Semaphore::new(parallel));
    // Rows satisfy their foreign keys by construction; only a load that the server checks row
    // by row needs each parent loaded first.
    let waves = match unchecked {
        true => vec![(0..plan.tables.len()).collect()],
        false => waves(&plan),
    };
    for wave in waves {
        let mut loads = JoinSet::new();
        for table in wave {
            let (plan, database, slots) = (plan.clone(), database.clone(), slots.clone());
            loads.spawn(async move {
                let _slot = slots
                    .acquire()
                    .await
                    .expect("the semaphore is never closed");
                let started = std::time::Instant::now();
                load_table(&database, plan, table).await?;
                Ok::<_, DataError>((table, started.elapsed()))
            });
        }
        while let Some(loaded) = loads.join_next().await {
            let (table, took) =
                loaded.map_err(|e| DataError::Query(format!("a seeding task failed: {e}")))??;
            times[table] = took;
        }
    }
    Ok(times)
}

/// Seeds every table of the database `connection` reads but the `skip`ped ones, through
/// `database`; returns each table seeded with its row count.
pub async fn seed(
    connection: &mut PgConnection,
    database: &PgConnectOptions,
    skip: &[impl AsRef<str>],
    options: &SeedOptions,
) -> Result<Vec<Seeded>> {
    let tables = crate::schema::load_tables(connection, skip).await?;
    let existing = existing_rows(connection, &tables).await?;
    let plan = plan_beside(&tables, options, &existing)?;
    let names: Vec<(String, u64)> = plan
        .tables
        .iter()
        .map(|t| (t.name.clone(), t.rows))
        .collect();
    let times = load(database, plan).await?;
    Ok(names
        .into_iter()
        .zip(times)
        .map(|((table, rows), loaded_in)| Seeded {
            table,
            rows,
            loaded_in,
        })
        .collect())
}

/// How many tables load at once: enough to keep the cores busy, and never more connections
/// than the server has free (a wide schema's wave of 70 tables would otherwise exhaust a
/// server's `max_connections`); and whether the loads skip referential checks (superuser).
async fn parallel_loads(database: &PgConnectOptions) -> Result<(usize, bool)> {
    let mut connection = crate::database::connect(database).await?;
    let (free, superuser): (i64, bool) = sqlx::query_as(
        "SELECT current_setting('max_connections')::int \
                - current_setting('superuser_reserved_connections')::int \
                - (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'), \
                (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)",
    )
    .fetch_one(&mut connection)
    .await?;
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    // Half of what is free: the runner, the observer and other clients need theirs.
    Ok(((cores * 2).min(free.max(0) as usize / 2).max(1), superuser))
}

/// What the tables already hold (rows migrations inserted), for the tables that hold any.
async fn existing_rows(
    connection: &mut PgConnection,
    tables: &[Table],
) -> Result<HashMap<String, Existing>> {
    let mut existing = HashMap::new();
    for table in tables {
        let rows: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM {}", table.name))
            .fetch_one(&mut *connection)
            .await?;
        if rows == 0 {
            continue;
        }
        let mut highest_key = 0;
        let integer_keys: BTreeSet<&String> = table
            .keys()
            .flat_map(|key| &key.columns)
            .filter(|name| {
                table.column(name).is_some_and(|c| {
                    matches!(
                        c.data_type,
                        DataType::Int2 | DataType::Int4 | DataType::Int8
                    )
                })
            })
            .collect();
        for column in integer_keys {
            let highest: Option<i64> = sqlx::query_scalar(&format!(
                "SELECT max({})::int8 FROM {}",
                quote_ident(column),
                table.name
            ))
            .fetch_one(&mut *connection)
            .await?;
            highest_key = highest_key.max(highest.unwrap_or(0));
        }
        let rows = rows as u64;
        existing.insert(table.name.clone(), Existing { rows, highest_key });
    }
    Ok(existing)
}

/// Groups of tables that may load at once: each after every table it references.
fn waves(plan: &Plan) -> Vec<Vec<usize>> {
    let mut wave_of = vec![0usize; plan.tables.len()];
    for (index, table) in plan.tables.iter().enumerate() {
        wave_of[index] = table
            .columns
            .iter()
            .filter_map(|c| match c.source {
                Source::Parent { table: parent, .. } if parent < index => Some(wave_of[parent] + 1),
                _ => None,
            })
            .max()
            .unwrap_or(0);
    }
    let count = wave_of.iter().max().map_or(0, |w| w + 1);
    (0..count)
        .map(|wave| {
            (0..plan.tables.len())
                .filter(|t| wave_of[*t] == wave)
                .collect()
        })
        .collect()
}

async fn load_table(database: &PgConnectOptions, plan: Arc<Plan>, table: usize) -> Result<()> {
    let target = &plan.tables[table];
    let mut connection = crate::database::connect(database).await?;
    // The rows satisfy their foreign keys by construction, so the per-row checks of the
    // referential triggers are pure cost. Skipping them needs superuser, which a throwaway
    // cluster grants; elsewhere the load simply runs with them.
    if sqlx::query("SET session_replication_role = replica")
        .execute(&mut connection)
        .await
        .is_err()
    {
        tracing::debug!("not allowed to skip referential checks while seeding; loading with them");
    }
    let columns: Vec<String> = target
        .columns
        .iter()
        .map(|c| quote_ident(&c.name))
        .collect();
    let statement = format!(
        "COPY {} ({}) FROM STDIN (FORMAT binary)",
        target.name,
        columns.join(", ")
    );
    let set_aside = match target.first_row {
        0 => indexes_set_aside(&mut connection, &target.name).await,
        _ => Vec::new(),
    };
    tracing::info!(table = %target.name, rows = target.rows, "seeding");
    let progress = progress::counter(target.rows, "rows", format!("seeding {}", target.name));

    let (sender, mut chunks) = mpsc::channel::<BytesMut>(CHUNKS_IN_FLIGHT);
    let generator_plan = plan.clone();
    let generated = progress.clone();
    let generator = tokio::task::spawn_blocking(move || {
        let planned = &generator_plan.tables[table];
        let rows = planned.first_row..planned.first_row + planned.rows;
        let mut buffer = BytesMut::with_capacity(CHUNK_BYTES * 2);
        buffer.put_slice(COPY_SIGNATURE);
        buffer.put_i32(0); // flags
        buffer.put_i32(0); // header extension
        let first = rows.start;
        for row in rows {
            generator_plan.write_row(table, row, &mut buffer);
            if buffer.len() >= CHUNK_BYTES {
                generated.set_position(row - first + 1);
                if sender.blocking_send(buffer.split()).is_err() {
                    return; // the COPY failed; its error is reported below
                }
            }
        }
        buffer.put_i16(-1); // trailer
        let _ = sender.blocking_send(buffer);
    });

    let mut copy = connection.copy_in_raw(&statement).await?;
    let mut failure = None;
    while let Some(chunk) = chunks.recv().await {
        if let Err(error) = copy.send(chunk.freeze()).await {
            failure = Some(error);
            break;
        }
    }
    drop(chunks);
    if let Err(panic) = generator.await {
        return Err(DataError::Query(format!(
            "generating the rows of {} failed: {panic}",
            target.name
        )));
    }
    let outcome = match failure {
        Some(error) => {
            let _ = copy.abort("seeding failed").await;
            Err(error)
        }
        None => copy.finish().await.map(drop),
    };
    progress.finish_and_clear();
    let outcome = match outcome {
        Ok(()) => rebuild(&mut connection, &set_aside).await,
        Err(error) => Err(error),
    };
    if let Err(error) = outcome {
        return Err(rejected(&mut connection, &target.name, &error).await);
    }

    // As a production table has them: the migrations' own queries and the checksums' ordered
    // reads are planned on statistics, not on when autovacuum would have come by. The load's
    // own counts are flushed first (PostgreSQL 15 and later; older servers have no such call),
    // or they would land after ANALYZE's and count every row twice.
    let _ = sqlx::query("SELECT pg_stat_force_next_flush()")
        .execute(&mut connection)
        .await;
    sqlx::query(&format!("ANALYZE {}", target.name))
        .execute(&mut connection)
        .await?;
    for (sequence, column) in &target.sequences {
        sqlx::query(&format!(
            "SELECT setval($1::regclass, COALESCE(max({}), 1), max({}) IS NOT NULL) FROM {}",
            quote_ident(column),
            quote_ident(column),
            target.name
        ))
        .bind(sequence)
        .execute(&mut connection)
        .await?;
    }
    Ok(())
}

/// Keeping an index up to date row by row costs several times the load itself (a random uuid
/// key most of all), so an empty table's indexes are built once after it, by sorting, as
/// pg_restore does. Nothing is dropped: each index is marked not ready for inserts (names,
/// constraints, foreign keys that lean on it and comments stay as they are) and `rebuild` makes
/// it ready and valid again with REINDEX. Marking needs superuser, which a throwaway cluster
/// grants; elsewhere the load keeps its indexes up to date. Returns the names of the indexes
/// set aside.
async fn indexes_set_aside(connection: &mut PgConnection, table: &str) -> Vec<String> {
    let marked = sqlx::query_scalar(
        "UPDATE pg_index x SET indisready = false FROM pg_class t \
         WHERE t.oid = $1::regclass AND t.relkind = 'r' AND x.indrelid = t.oid \
           AND x.indisready AND x.indisvalid AND x.indislive \
         RETURNING x.indexrelid::regclass::text",
    )
    .bind(table)
    .fetch_all(&mut *connection)
    .await;
    match marked {
        Ok(indexes) => indexes,
        Err(error) => {
            tracing::debug!(%error, "cannot set the indexes of {table} aside; loading with them");
            Vec::new()
        }
    }
}

/// Builds the indexes `indexes_set_aside` left behind, which marks them ready and valid again.
/// A unique key the rows break fails here, naming its index.
async fn rebuild(connection: &mut PgConnection, indexes: &[String]) -> sqlx::Result<()> {
    if !indexes.is_empty() {
        // Room to sort a million keys in memory.
        sqlx::query("SET maintenance_work_mem = '256MB'")
            .execute(&mut *connection)
            .await?;
    }
    for index in indexes {
        sqlx::query(&format!("REINDEX INDEX {index}"))
            .execute(&mut *connection)
            .await?;
    }
    Ok(())
}

/// The server refused the generated rows: name the table, the constraint and the columns it
/// reads, so the hint can say which `--values` to give.
async fn rejected(connection: &mut PgConnection, table: &str, error: &sqlx::Error) -> DataError {
    let message = crate::sql::describe_error(error);
    let constraint = match error {
        sqlx::Error::Database(db) => db.constraint().map(str::to_string),
        _ => None,
    };
    let columns: Vec<String> = match &constraint {
        Some(name) => sqlx::query_scalar(
            "SELECT a.attname::text FROM pg_constraint k \
             JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = ANY (k.conkey) \
             WHERE k.conrelid = $1::regclass AND k.conname = $2 ORDER BY a.attnum",
        )
        .bind(table)
        .bind(name)
        .fetch_all(&mut *connection)
        .await
        .unwrap_or_default(),
        None => Vec::new(),
    };
    // A row no partition takes names no constraint: the partition key is what to give values to.
    let columns = match columns.is_empty() && message.contains("no partition of relation") {
        true => sqlx::query_scalar(
            "SELECT a.attname::text FROM pg_partitioned_table p \
             JOIN pg_attribute a ON a.attrelid = p.partrelid AND a.attnum = ANY (p.partattrs::int2[]) \
             WHERE p.partrelid = $1::regclass ORDER BY a.attnum",
        )
        .bind(table)
        .fetch_all(&mut *connection)
        .await
        .unwrap_or_default(),
        false => columns,
    };
    let hint = match columns.as_slice() {
        // The generator writes only values of the column's own type: these came from --values.
        _ if message.starts_with("invalid input value") => {
            format!("a value given with --values for {table} does not fit its column's type")
        }
        [] => format!("give the column it checks its values with --values {table}.COLUMN=A,B,..."),
        columns => {
            let flags: Vec<String> = columns
                .iter()
                .map(|c| format!("--values {table}.{c}=A,B,..."))
                .collect();
            format!(
                "give the column it checks its values with {}",
                flags.join(" or ")
            )
        }
    };
    DataError::SeedRejected {
        table: table.to_string(),
        constraint: constraint.unwrap_or_else(|| "a constraint".to_string()),
        message,
        hint,
    }
}
