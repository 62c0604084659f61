//! The alembic runner's cost per step, against what a hand-written gate does: spawn
//! `alembic upgrade +1` per step. Both are shown beside the SQL of the step run directly, in the
//! same run. Needs the interpreter of the tests (`.venv`, or MIGVERIFY_PYTHON).
//!
//! Run with `cargo bench --bench alembic`.

mod common;

use std::path::{Path, PathBuf};
use std::time::Instant;

use common::report;
use migverify::database::{ScratchDatabase, ServerChoice};
use migverify::runner::{self, AlembicRunner, Runner, RunnerOptions, Target};
use sqlx::Connection;

const STEPS: usize = 20;

fn python() -> PathBuf {
    std::env::var_os("MIGVERIFY_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python"))
}

fn table_sql(name: &str) -> String {
    format!("CREATE TABLE {name} (id bigint PRIMARY KEY, v text); CREATE INDEX ix_{name}_v ON {name} (v);")
}

/// A project of STEPS revisions, each creating a table and an index, its URL in alembic.ini.
fn project(dir: &Path, url: &str) {
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
    for i in 0..STEPS {
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

#[tokio::main]
async fn main() {
    let python = python();
    let alembic = python.with_file_name("alembic");
    println!("migverify alembic bench: {STEPS} steps of a table and an index each");

    // The SQL of each step, run directly: the floor both runners stand on.
    let direct = ScratchDatabase::create(ServerChoice::Throwaway, false)
        .await
        .unwrap();
    let mut connection = direct.connect().await.unwrap();
    let started = Instant::now();
    for i in 0..STEPS {
        let mut tx = connection.begin().await.unwrap();
        sqlx::raw_sql(&table_sql(&format!("t{i}")))
            .execute(&mut *tx)
            .await
            .unwrap();
        tx.commit().await.unwrap();
    }
    let sql = started.elapsed() / STEPS as u32;
    drop(connection);
    drop(direct);

    // migverify's helper: one Python process for every step.
    let database = ScratchDatabase::create(ServerChoice::Throwaway, false)
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    project(dir.path(), &url_of(database.connect_options()));
    let options = RunnerOptions {
        python: Some(python.clone()),
        ..Default::default()
    };
    let started = Instant::now();
    let mut runner = AlembicRunner::open(dir.path(), &options).await.unwrap();
    let helper_start = started.elapsed();
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
    let helper = started.elapsed() / STEPS as u32;
    drop(runner);
    drop(database);

    // The hand-written way: the alembic CLI, a new Python per step.
    let database = ScratchDatabase::create(ServerChoice::Throwaway, false)
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    project(dir.path(), &url_of(database.connect_options()));
    let started = Instant::now();
    for _ in 0..STEPS {
        let status = std::process::Command::new(&alembic)
            .args(["-c", "alembic.ini", "upgrade", "+1"])
            .current_dir(dir.path())
            .status()
            .unwrap();
        assert!(status.success());
    }
    let cli = started.elapsed() / STEPS as u32;

    report(
        "helper started (once)",
        helper_start,
        sql,
        "the SQL of one step",
    );
    report(
        "one step through the helper",
        helper,
        sql,
        "the SQL of one step",
    );
    report(
        "one step through `alembic` CLI",
        cli,
        sql,
        "the SQL of one step",
    );
    println!(
        "{:<32} {:>9.1} ms per step through the helper, {:.1} ms per step through the CLI",
        "  overhead beyond the SQL",
        helper.saturating_sub(sql).as_secs_f64() * 1e3,
        cli.saturating_sub(sql).as_secs_f64() * 1e3
    );
}
