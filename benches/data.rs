//! Seeding and checksums at scale, each as a ratio to the server doing the same work alone in
//! the same run (DESIGN.md, "Speed"), on one 6-column table of a million rows:
//!
//! - seeding: migverify's generator streaming binary COPY, against a server-side binary
//!   `COPY ... FROM` a file that holds the very same rows;
//! - checksum: count and sha256 in key order streamed out, against a server-side
//!   `COPY ... TO '/dev/null'`, and against the same in key order;
//! - the whole `cycle --rows N` on the POS fixture, against the COPY work it does, server-side.
//!
//! Run with `cargo bench --bench data` (MIGVERIFY_BENCH_ROWS overrides the row count).

mod common;

use std::os::unix::fs::PermissionsExt;
use std::time::Instant;

use common::{bench_rows, median, report, timed, ROUNDS};

use bytes::{BufMut, BytesMut};
use migverify::data::{self, SeedOptions};
use migverify::database::{ScratchDatabase, ServerChoice};
use migverify::schema;
use sqlx::PgConnection;

const TABLE: &str = "CREATE TABLE bench_orders (
    id bigint PRIMARY KEY, store_id integer NOT NULL, status text NOT NULL,
    total numeric(12, 2) NOT NULL, placed_at timestamptz NOT NULL, note varchar(64))";

async fn execute(connection: &mut PgConnection, sql: &str) {
    sqlx::raw_sql(sql).execute(connection).await.unwrap();
}

#[tokio::main]
async fn main() {
    let rows = bench_rows();
    let database = ScratchDatabase::create(ServerChoice::Throwaway, false)
        .await
        .unwrap();
    let options = database.connect_options().clone();
    let mut connection = database.connect().await.unwrap();
    execute(&mut connection, TABLE).await;
    let tables = schema::load_tables(&mut connection, &[] as &[&str])
        .await
        .unwrap();
    let plan = data::plan(
        &tables,
        &SeedOptions {
            rows,
            table_rows: Default::default(),
            values: Default::default(),
            seed: 1,
        },
    )
    .unwrap();

    // The same rows, as the file the server-side reference reads.
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let file = dir.path().join("bench_orders.copy");
    let mut bytes = BytesMut::new();
    bytes.put_slice(b"PGCOPY\n\xff\r\n\0");
    bytes.put_i32(0);
    bytes.put_i32(0);
    for row in 0..rows {
        plan.write_row(0, row, &mut bytes);
    }
    bytes.put_i16(-1);
    std::fs::write(&file, &bytes).unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    drop(bytes);
    println!("migverify data bench: {rows} rows of a 6-column table, median of {ROUNDS} interleaved rounds");

    let (mut references, mut measured) = (Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        execute(&mut connection, "TRUNCATE bench_orders").await;
        references.push(
            timed(
                &mut connection,
                &format!(
                    "COPY bench_orders FROM '{}' (FORMAT binary)",
                    file.display()
                ),
            )
            .await,
        );
        execute(&mut connection, "TRUNCATE bench_orders").await;
        let started = Instant::now();
        data::load(&options, plan.clone()).await.unwrap();
        measured.push(started.elapsed());
    }
    let load_reference = median(references);
    report(
        "seed",
        median(measured),
        load_reference,
        "server-side binary COPY FROM file",
    );

    let (mut references, mut ordered, mut measured) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        references.push(timed(&mut connection, "COPY bench_orders TO '/dev/null'").await);
        ordered.push(
            timed(
                &mut connection,
                "COPY (SELECT * FROM bench_orders ORDER BY id) TO '/dev/null'",
            )
            .await,
        );
        let started = Instant::now();
        let checksums = data::checksum_tables(data::Readers::one(&mut connection), &tables[..1])
            .await
            .unwrap();
        measured.push(started.elapsed());
        assert_eq!(checksums[0].rows, rows);
    }
    let measured = median(measured);
    let read_reference = median(references);
    report(
        "checksum",
        measured,
        read_reference,
        "server-side COPY TO '/dev/null'",
    );
    // Key order is part of the checksum's definition; this shows what it costs the server alone.
    report(
        "checksum",
        measured,
        median(ordered),
        "the same, ORDER BY the key",
    );
    drop(connection);
    drop(database);

    // The whole gate on the POS fixture: its six tables are loaded once and read three times
    // (at --from, after the upgrade, after the downgrade). Against that much COPY work on the
    // server alone, estimated from the 6-column table above.
    let started = Instant::now();
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_migverify"))
        .args([
            "cycle",
            "-q",
            "--format",
            "json",
            "--rows",
            &rows.to_string(),
            "-m",
        ])
        .arg(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations-fixtures/pos"))
        .stdout(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    let server_work = 6 * load_reference + 18 * read_reference;
    report(
        "cycle on POS (wall)",
        started.elapsed(),
        server_work,
        "6 loads + 18 reads, server-side",
    );
}
