//! The alembic runner's cost per step, against what a hand-written gate does: spawn
//! `alembic upgrade +1` per step. Both are shown beside the SQL of the step run directly, in the
//! same run, on a short history and on a long one (where re-reading the revision files every
//! step would show). Needs the interpreter of the tests (`.venv`, or MIGVERIFY_PYTHON).
//!
//! Run with `cargo bench --bench alembic`.

mod common;

use std::path::{Path, PathBuf};
use std::time::Instant;

use common::report;
use migverify::database::{ScratchDatabase, ServerChoice};
use migverify::runner::{self, AlembicRunner, Runner, RunnerOptions, Target};
use sqlx::Connection;

/// A short history, which the CLI is timed on too, and a long one.
const SHORT: usize = 20;
const LONG: usize = 250;

fn python() -> PathBuf {
    std::env::var_os("MIGVERIFY_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python"))
}

fn table_sql(name: &str) -> String {
    format!("CREATE TABLE {name} (id bigint PRIMARY KEY, v text); CREATE INDEX ix_{name}_v ON {name} (v);")
}

/// A project of `steps` revisions, each creating a table and an index, its URL in alembic.ini.
fn project(dir: &Path, url: &str, steps: usize) {
    let env_py = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations-fixtures/pos-alembic/env.py"),
    )
    .unwrap();
    std::fs::write(dir.join("env.py"), env_py).unwrap();
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations-fixtures/pos-alembic");
    let ini: String = std::fs::read_to_string(fixture.join("alembic.ini"))
        .unwrap()
        .lines()
        .map(|line| match line.starts_with("sqlalchemy.url") {
            true => format!("sqlalchemy.url = {}\n", url.replace('%', "%%")),
            false => format!("{line}\n"),
        })
        .collect();
    std::fs::write(dir.join("alembic.ini"), ini).unwrap();
    std::fs::create_dir_all(dir.join("versions")).unwrap();
    for i in 0..steps {
        let down = if i == 0 {
            "None".to_string()
        } else {
            format!("\"r{}\"", i - 1)
        };
        std::fs::write(
            dir.join(format!("versions/r{i}.py")),
            format!(
                "from alembic import op\n\nrevision = \"r{i}\"\ndown_revision = {down}\n\n\
                 def upgrade():\n    op.execute(\"{}\")\n\n\ndef downgrade():\n    op.execute(\"DROP TABLE t{i}\")\n",
                table_sql(&format!("t{i}"))
            ),
        )
        .unwrap();
    }
}

fn url_of(options: &sqlx::postgres::PgConnectOptions) -> String {
    format!(
        "postgresql+psycopg2://postgres@/{}?host={}&port={}",
        options.get_database().unwrap(),
        options.get_socket().unwrap().display(),
        options.get_port()
    )
}

/// The SQL of each of `steps` steps run directly, on average: the floor runners stand on.
async fn direct_sql(steps: usize) -> std::time::Duration {
    let direct = ScratchDatabase::create(ServerChoice::Throwaway, false)
        .await
        .unwrap();
    let mut connection = direct.connect().await.unwrap();
    let started = Instant::now();
    for i in 0..steps {
        let mut tx = connection.begin().await.unwrap();
        sqlx::raw_sql(&table_sql(&format!("t{i}")))
            .execute(&mut *tx)
            .await
            .unwrap();
        tx.commit().await.unwrap();
    }
    started.elapsed() / steps as u32
}

/// migverify's helper, one Python process for every step: its start and one step on average.
async fn through_helper(python: &Path, steps: usize) -> (std::time::Duration, std::time::Duration) {
    let database = ScratchDatabase::create(ServerChoice::Throwaway, false)
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    project(dir.path(), &url_of(database.connect_options()), steps);
    let options = RunnerOptions {
        python: Some(python.to_path_buf()),
        startup_timeout: std::time::Duration::from_secs(60),
        ..Default::default()
    };
    let started = Instant::now();
    let mut runner = AlembicRunner::open(dir.path(), &options).await.unwrap();
    let start = started.elapsed();
    let targets = runner
        .revisions()
        .walk(&Target::base(), &runner.revisions().head())
        .split_off(1);
    let started = Instant::now();
    for target in &targets {
        runner::migrate(&mut runner, database.connect_options(), target)
            .await
            .unwrap();
    }
    (start, started.elapsed() / steps as u32)
}

#[tokio::main]
async fn main() {
    let python = python();
    let alembic = python.with_file_name("alembic");
    println!("migverify alembic bench: histories of {SHORT} and {LONG} revisions, a table and an index each");

    for steps in [SHORT, LONG] {
        let sql = direct_sql(steps).await;
        let (start, helper) = through_helper(&python, steps).await;
        report(
            &format!("helper started, {steps} revisions"),
            start,
            sql,
            "the SQL of one step",
        );
        report(
            &format!("one step, {steps}-revision history"),
            helper,
            sql,
            "the SQL of one step",
        );
        println!(
            "{:<32} {:>9.1} ms per step beyond the SQL",
            "  overhead through the helper",
            helper.saturating_sub(sql).as_secs_f64() * 1e3,
        );
    }

    // The hand-written way: the alembic CLI, a new Python per step.
    let sql = direct_sql(SHORT).await;
    let database = ScratchDatabase::create(ServerChoice::Throwaway, false)
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    project(dir.path(), &url_of(database.connect_options()), SHORT);
    let started = Instant::now();
    for _ in 0..SHORT {
        let status = std::process::Command::new(&alembic)
            .args(["-c", "alembic.ini", "upgrade", "+1"])
            .current_dir(dir.path())
            .status()
            .unwrap();
        assert!(status.success());
    }
    let cli = started.elapsed() / SHORT as u32;
    report(
        &format!("one step through `alembic` CLI, {SHORT} revisions"),
        cli,
        sql,
        "the SQL of one step",
    );
    println!(
        "{:<32} {:>9.1} ms per step beyond the SQL",
        "  overhead through the CLI",
        cli.saturating_sub(sql).as_secs_f64() * 1e3
    );
}
