//! A stairway over a long history whose revisions fail here and there, against the same
//! history without failures, in the same run: what carrying on past a failure costs (each
//! failure rebuilds the scratch database at the state the walk needs next).
//!
//! Run with `cargo bench --bench history`.

mod common;
#[path = "../tests/common/long_history.rs"]
mod long_history;

use std::process::Command;
use std::time::{Duration, Instant};

use common::{median, report};

const REVISIONS: usize = 250;
const ROUNDS: usize = 3;

fn stairway(project: &std::path::Path) -> (Duration, i32) {
    let started = Instant::now();
    let status = Command::new(env!("CARGO_BIN_EXE_migverify"))
        .args(["stairway", "-q", "--format", "json", "-m"])
        .arg(project)
        .stdout(std::process::Stdio::null())
        .status()
        .unwrap();
    (started.elapsed(), status.code().unwrap_or(-1))
}

fn main() {
    let broken = long_history::broken(11);
    println!(
        "migverify history bench: stairway over {REVISIONS} revisions, {} of them failing, median of {ROUNDS} interleaved rounds",
        broken.len()
    );
    let (clean_dir, broken_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    long_history::write(clean_dir.path(), REVISIONS, &[]);
    long_history::write(broken_dir.path(), REVISIONS, &broken);
    let (mut clean, mut failing) = (Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        let (took, code) = stairway(clean_dir.path());
        assert_eq!(code, 0, "the clean history passes");
        clean.push(took);
        let (took, code) = stairway(broken_dir.path());
        assert_eq!(code, 1, "the broken history fails");
        failing.push(took);
    }
    report(
        "stairway, 11 revisions failing",
        median(failing),
        median(clean),
        "the same history, none failing",
    );
}
