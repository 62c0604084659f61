//! Loads a plan with binary COPY. A blocking thread generates each table's rows in chunks
//! while the connection streams the previous chunk, so memory stays flat whatever the row
//! count and both cores work. Tables whose parents are all loaded load side by side.

use std::sync::Arc;

use bytes::{BufMut, BytesMut};
use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::Connection;
use tokio::sync::mpsc;
use tokio::task::JoinSet;

use super::plan::{plan, Plan, SeedOptions, Source};
use crate::error::{Error, Result};
use crate::progress;
use crate::sql::quote_ident;

const CHUNK_BYTES: usize = 1 << 20;
const CHUNKS_IN_FLIGHT: usize = 4;
const COPY_SIGNATURE: &[u8] = b"PGCOPY\n\xff\r\n\0";

/// Loads every table of the plan, parents before children, then moves sequences past the
/// loaded values.
pub async fn load(database: &PgConnectOptions, plan: Plan) -> Result<()> {
    let plan = Arc::new(plan);
    for wave in waves(&plan) {
        let mut loads = JoinSet::new();
        for table in wave {
            let (plan, database) = (plan.clone(), database.clone());
            loads.spawn(async move { load_table(&database, plan, table).await });
        }
        while let Some(loaded) = loads.join_next().await {
            loaded.map_err(|e| Error::Database(format!("a seeding task failed: {e}")))??;
        }
    }
    Ok(())
}

/// Seeds every table of the database `connection` reads but the `skip`ped ones, through
/// `database`; returns each table seeded with its row count.
pub async fn seed(
    connection: &mut PgConnection,
    database: &PgConnectOptions,
    skip: &[impl AsRef<str>],
    options: &SeedOptions,
) -> Result<Vec<(String, u64)>> {
    let tables = crate::schema::load_tables(connection, skip).await?;
    let plan = plan(&tables, options)?;
    let seeded = plan
        .tables
        .iter()
        .map(|t| (t.name.clone(), t.rows))
        .collect();
    load(database, plan).await?;
    Ok(seeded)
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
    let mut connection = PgConnection::connect_with(database).await?;
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
    tracing::info!(table = %target.name, rows = target.rows, "seeding");
    let progress = progress::counter(target.rows, "rows", format!("seeding {}", target.name));

    let (sender, mut chunks) = mpsc::channel::<BytesMut>(CHUNKS_IN_FLIGHT);
    let generator_plan = plan.clone();
    let generated = progress.clone();
    let generator = tokio::task::spawn_blocking(move || {
        let rows = generator_plan.tables[table].rows;
        let mut buffer = BytesMut::with_capacity(CHUNK_BYTES * 2);
        buffer.put_slice(COPY_SIGNATURE);
        buffer.put_i32(0); // flags
        buffer.put_i32(0); // header extension
        for row in 0..rows {
            generator_plan.write_row(table, row, &mut buffer);
            if buffer.len() >= CHUNK_BYTES {
                generated.set_position(row + 1);
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
        return Err(Error::Database(format!(
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
    outcome.map_err(|error| rejected(&target.name, &error))?;

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

/// The server refused the generated rows: name the table and the constraint.
fn rejected(table: &str, error: &sqlx::Error) -> Error {
    let constraint = match error {
        sqlx::Error::Database(db) => db.constraint().map(str::to_string),
        _ => None,
    };
    Error::SeedRejected {
        table: table.to_string(),
        constraint: constraint.unwrap_or_else(|| "a constraint".to_string()),
        message: crate::database::describe_sqlx_error(error),
    }
}
