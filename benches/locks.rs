//! What watching locks costs a migration: the same multi-second rewrite (a volatile default on
//! a million-row table) with the lock sampler on and off, interleaved in the same run, and the
//! sampler's resolution as measured.
//!
//! Run with `cargo bench --bench locks`.

mod common;

use std::process::Command;
use std::time::Duration;

use common::{median, report};

const ROUNDS: usize = 3;

/// The upgrade step's time, and the report's lock resolution.
fn rewrite(sample_ms: &str) -> (Duration, Option<f64>) {
    let project = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/migrations-fixtures/locks-dangerous"
    );
    let output = Command::new(env!("CARGO_BIN_EXE_migverify"))
        .args([
            "cycle",
            "-q",
            "--format",
            "json",
            "--no-full",
            "-m",
            project,
        ])
        .args([
            "--from", "20240102", "--to", "20240103", "--rows", "1000000",
        ])
        .args(["--values", "orders.customer_id=1,2,3", "--lock-budget", "0"])
        .args(["--lock-sample-ms", sample_ms])
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|_| panic!("no report: {}", String::from_utf8_lossy(&output.stderr)));
    let step = &report["steps"][1];
    assert_eq!(step["to"], "20240103", "{report}");
    (
        Duration::from_secs_f64(step["seconds"].as_f64().unwrap()),
        report["lock_resolution_ms"].as_f64(),
    )
}

fn main() {
    println!(
        "migverify locks bench: a rewrite of 1,000,000 rows with the lock sampler on (every 5 ms) and off, median of {ROUNDS} interleaved rounds"
    );
    let (mut on, mut off, mut resolution) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        let (took, ms) = rewrite("5");
        on.push(took);
        resolution.extend(ms);
        off.push(rewrite("0").0);
    }
    report(
        "the rewrite, sampled",
        median(on),
        median(off),
        "the same rewrite, not sampled",
    );
    println!("sampler resolution (mean interval between samples): {resolution:?} ms");
}
