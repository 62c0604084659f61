//! The gate's heaviest use, `cycle --rows 1000000` on the POS fixture, phase by phase, each
//! beside its server-side floor measured in the same run on the very tables the run seeded
//! (kept with `--keep`):
//!
//! - seeding: per table, a server-side binary `COPY … FROM` a file of the same rows into a bare
//!   copy of the table (no index, no constraint), summed; and with the table's indexes built
//!   after, as pg_restore does (the work seeding must do);
//! - each checksum pass: per table, a server-side `COPY (SELECT * … ORDER BY key) TO
//!   '/dev/null'`, summed;
//! - the whole cycle (wall clock, process start included): against the seeding floor with its
//!   indexes, one read floor per checksum pass, and the migration steps themselves.
//!
//! Run with `cargo bench --bench cycle` (MIGVERIFY_BENCH_ROWS overrides the row count).

mod common;

use std::time::{Duration, Instant};

use common::{bench_rows, report, timed};
use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection, PgConnection};

/// The line of the kept-database message that starts with `label`, less the label.
fn kept<'s>(stderr: &'s str, label: &str) -> &'s str {
    stderr
        .lines()
        .find_map(|line| line.trim().strip_prefix(label))
        .unwrap_or_else(|| panic!("no {label:?} in:\n{stderr}"))
        .trim()
}

#[tokio::main]
async fn main() {
    let rows = bench_rows();
    let binary = env!("CARGO_BIN_EXE_migverify");
    let fixture = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations-fixtures/pos");
    println!("migverify cycle bench: POS, {rows} rows per table, each phase against its floor");

    let started = Instant::now();
    let output = std::process::Command::new(binary)
        .args(["cycle", "-q", "--keep", "--format", "json", "--rows"])
        .arg(rows.to_string())
        .arg("-m")
        .arg(&fixture)
        .output()
        .unwrap();
    let wall = started.elapsed();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    let report_json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let phase = |name: &str| {
        report_json["phases"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == name)
            .map(|p| Duration::from_secs_f64(p["seconds"].as_f64().unwrap()))
            .unwrap_or_default()
    };

    let cluster = kept(&stderr, "stop the cluster when done: migverify stop").to_string();
    // "psql -h DIR -p PORT -U postgres -d NAME": a socket sqlx's URLs cannot name.
    let psql: Vec<&str> = kept(&stderr, "kept the scratch database; connect with: psql")
        .split_whitespace()
        .collect();
    let argument = |flag: &str| psql[psql.iter().position(|a| *a == flag).unwrap() + 1];
    let options = PgConnectOptions::new()
        .socket(argument("-h"))
        .port(argument("-p").parse().unwrap())
        .username(argument("-U"))
        .database(argument("-d"));
    let mut connection = PgConnection::connect_with(&options).await.unwrap();
    let tables: Vec<(String, String)> = sqlx::query_as(
        "SELECT c.oid::regclass::text, \
           (SELECT string_agg(quote_ident(a.attname), ', ' ORDER BY k.n) \
            FROM pg_index x CROSS JOIN LATERAL unnest(x.indkey) WITH ORDINALITY AS k(attnum, n) \
              JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = k.attnum \
            WHERE x.indrelid = c.oid AND x.indisprimary) \
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE n.nspname = 'public' AND c.relkind = 'r' AND c.relname <> '_sqlx_migrations' \
         ORDER BY 1",
    )
    .fetch_all(&mut connection)
    .await
    .unwrap();

    let (mut load_floor, mut read_floor, mut index_floor) =
        (Duration::ZERO, Duration::ZERO, Duration::ZERO);
    for (table, key) in &tables {
        read_floor += timed(
            &mut connection,
            &format!("COPY (SELECT * FROM {table} ORDER BY {key}) TO '/dev/null'"),
        )
        .await;
        // The server writes and reads the file itself, in the cluster's own directory.
        let file = format!("{cluster}/floor.copy");
        let bare = "migverify_bench_bare";
        sqlx::raw_sql(&format!(
            "COPY {table} TO '{file}' (FORMAT binary); \
             CREATE TABLE {bare} (LIKE {table} INCLUDING DEFAULTS)"
        ))
        .execute(&mut connection)
        .await
        .unwrap();
        load_floor += timed(
            &mut connection,
            &format!("COPY {bare} FROM '{file}' (FORMAT binary)"),
        )
        .await;
        // The table's indexes, built on the loaded copy as pg_restore builds them.
        let indexes: Vec<String> = sqlx::query_scalar(
            "SELECT regexp_replace(pg_get_indexdef(indexrelid), \
                '^(CREATE (UNIQUE )?INDEX )\\S+ ON \\S+', '\\1 ON ' || $2) \
             FROM pg_index WHERE indrelid = $1::regclass",
        )
        .bind(table)
        .bind(bare)
        .fetch_all(&mut connection)
        .await
        .unwrap();
        for index in indexes {
            index_floor += timed(&mut connection, &index).await;
        }
        sqlx::raw_sql(&format!("DROP TABLE {bare}"))
            .execute(&mut connection)
            .await
            .unwrap();
        let _ = std::fs::remove_file(&file);
    }
    drop(connection);
    let stopped = std::process::Command::new(binary)
        .args(["stop", &cluster])
        .status()
        .unwrap();
    assert!(stopped.success());

    report(
        "seeding",
        phase("seeding"),
        load_floor,
        "binary COPY FROM file, bare tables",
    );
    report(
        "seeding",
        phase("seeding"),
        load_floor + index_floor,
        "the same, and the tables' indexes built",
    );
    for pass in 1..=3 {
        let name = format!("checksum pass {pass}");
        report(
            &name,
            phase(&name),
            read_floor,
            "COPY … ORDER BY key TO /dev/null",
        );
    }
    report(
        "migration steps",
        phase("migration steps"),
        phase("migration steps"),
        "(no floor: the migrations' own work)",
    );
    let floors = load_floor + index_floor + 3 * read_floor + phase("migration steps");
    report(
        "whole cycle (wall)",
        wall,
        floors,
        "load, indexes, 3 reads, steps, summed",
    );
}
