//! What the benches print: each figure beside its reference from the same run, and the ratio.

#![allow(dead_code)] // each bench uses its share of these

use std::time::Duration;

/// Rounds of each measurement; the median is reported.
pub const ROUNDS: usize = 5;

pub fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

pub fn report(what: &str, measured: Duration, reference: Duration, reference_name: &str) {
    println!(
        "{what:<32} {:>9.3} s   reference {reference_name:<38} {:>9.3} s   ratio {:.2}x",
        measured.as_secs_f64(),
        reference.as_secs_f64(),
        measured.as_secs_f64() / reference.as_secs_f64()
    );
}

/// Rows per table: a million, or MIGVERIFY_BENCH_ROWS.
pub fn bench_rows() -> u64 {
    std::env::var("MIGVERIFY_BENCH_ROWS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(1_000_000)
}

/// Runs `sql` on the server, timed.
pub async fn timed(connection: &mut sqlx::PgConnection, sql: &str) -> Duration {
    let started = std::time::Instant::now();
    sqlx::raw_sql(sql).execute(&mut *connection).await.unwrap();
    started.elapsed()
}
