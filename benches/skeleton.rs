//! Speed of the skeleton, each figure as a ratio to a reference measured in the same run
//! (DESIGN.md, "Speed"): absolute seconds drift between machines, ratios do not.
//!
//! - cluster ready: `TempCluster::start` against initdb --no-sync + pg_ctl start by hand;
//! - one sqlx step: the runner applying a migration against the same SQL run directly;
//! - cycle on the POS fixture: the whole binary, against the cluster reference.
//!
//! Run with `cargo bench --bench skeleton`.

mod common;

use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{median, report, ROUNDS};

use migverify::database::{ScratchDatabase, ServerBinaries, ServerChoice, TempCluster};
use migverify::runner::{self, Runner, SqlxRunner, Target};
use sqlx::{Connection, PgConnection};

const STEPS: usize = 40;

/// initdb and pg_ctl as migverify would run them, as an unprivileged user when root.
fn server_command(program: &Path) -> Command {
    let mut command = Command::new(program);
    if nix::unistd::Uid::effective().is_root() {
        let user = nix::unistd::User::from_name("postgres")
            .unwrap()
            .expect("a postgres user");
        command.uid(user.uid.as_raw()).gid(user.gid.as_raw());
    }
    command.stdout(Stdio::null()).stderr(Stdio::null());
    command
}

fn reference_cluster_start(binaries: &ServerBinaries) -> Duration {
    let dir = tempfile::tempdir().unwrap();
    if nix::unistd::Uid::effective().is_root() {
        let user = nix::unistd::User::from_name("postgres").unwrap().unwrap();
        nix::unistd::chown(dir.path(), Some(user.uid), Some(user.gid)).unwrap();
    }
    let data = dir.path().join("data");
    let started = Instant::now();
    let initdb = server_command(&binaries.program("initdb"))
        .args(["-U", "postgres", "-A", "trust", "--no-sync", "-D"])
        .arg(&data)
        .status()
        .unwrap();
    assert!(initdb.success());
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let options = format!(
        "-k {} -p {port} -h 127.0.0.1 -c fsync=off",
        dir.path().display()
    );
    let start = server_command(&binaries.program("pg_ctl"))
        .args(["start", "-W", "-D"])
        .arg(&data)
        .args(["-o", &options])
        .status()
        .unwrap();
    assert!(start.success());
    // pg_ctl -w polls every 100 ms; poll the way migverify does, so the two compare fairly.
    while std::fs::read_to_string(data.join("postmaster.pid")).map_or(true, |pid| {
        pid.lines().nth(7).map(str::trim) != Some("ready")
    }) {
        std::thread::sleep(Duration::from_millis(5));
    }
    let elapsed = started.elapsed();
    server_command(&binaries.program("pg_ctl"))
        .args(["stop", "-m", "immediate", "-D"])
        .arg(&data)
        .status()
        .unwrap();
    elapsed
}

/// Rounds alternate between the reference and migverify, so that drift in the machine's speed
/// falls on both alike.
fn bench_cluster_start(binaries: &ServerBinaries) -> Duration {
    let (mut references, mut measured) = (Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        references.push(reference_cluster_start(binaries));
        let started = Instant::now();
        let cluster = TempCluster::start(binaries).unwrap();
        measured.push(started.elapsed());
        drop(cluster);
    }
    let reference = median(references);
    report(
        "throwaway cluster ready",
        median(measured),
        reference,
        "initdb + start, polled like migverify",
    );
    reference
}

fn table_with_index(name: &str) -> String {
    format!("CREATE TABLE {name} (id bigint PRIMARY KEY, v text); CREATE INDEX ix_{name}_v ON {name} (v);")
}

/// STEPS small migrations, each a table with an index: the runner's cost per step is what
/// remains once the SQL itself is paid for.
async fn bench_sqlx_step() {
    let project = tempfile::tempdir().unwrap();
    let sql: Vec<String> = (0..STEPS)
        .map(|i| table_with_index(&format!("t{i}")))
        .collect();
    for (i, statement) in sql.iter().enumerate() {
        std::fs::write(
            project.path().join(format!("{:04}_t{i}.up.sql", i + 1)),
            statement,
        )
        .unwrap();
        std::fs::write(
            project.path().join(format!("{:04}_t{i}.down.sql", i + 1)),
            format!("DROP TABLE t{i};"),
        )
        .unwrap();
    }

    // Both on one warm database: the reference creates r<i> tables, the runner t<i>.
    let database = ScratchDatabase::create(ServerChoice::Throwaway, false)
        .await
        .unwrap();
    let options = database.connect_options().clone();
    let mut connection = PgConnection::connect_with(&options).await.unwrap();
    let mut runner = SqlxRunner::open(project.path()).await.unwrap();
    // Connect and create _sqlx_migrations.
    runner::migrate(&mut runner, &options, &Target::base())
        .await
        .unwrap();
    let targets = runner
        .revisions()
        .walk(&Target::base(), &runner.revisions().head())
        .split_off(1);
    let (mut reference, mut measured) = (Duration::ZERO, Duration::ZERO);
    for (i, target) in targets.iter().enumerate() {
        let started = Instant::now();
        let mut tx = connection.begin().await.unwrap();
        sqlx::raw_sql(&table_with_index(&format!("r{i}")))
            .execute(&mut *tx)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        reference += started.elapsed();
        let started = Instant::now();
        runner::migrate(&mut runner, &options, target)
            .await
            .unwrap();
        measured += started.elapsed();
    }
    let (reference, measured) = (reference / STEPS as u32, measured / STEPS as u32);
    report(
        "one sqlx step (upgrade)",
        measured,
        reference,
        "the SQL in a transaction",
    );
    println!(
        "{:<34} {:>9.2} ms per step",
        "  sqlx runner overhead",
        (measured.saturating_sub(reference)).as_secs_f64() * 1e3
    );
}

fn bench_cycle(cluster_reference: Duration) {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations-fixtures/pos");
    let runs: Vec<Duration> = (0..ROUNDS)
        .map(|_| {
            let started = Instant::now();
            let status = Command::new(env!("CARGO_BIN_EXE_migverify"))
                .args(["cycle", "-q", "--format", "json", "-m"])
                .arg(&fixture)
                .stdout(Stdio::null())
                .status()
                .unwrap();
            assert!(status.success());
            started.elapsed()
        })
        .collect();
    report(
        "cycle on the POS fixture (wall)",
        median(runs),
        cluster_reference,
        "initdb + start, polled like migverify",
    );
}

fn main() {
    let binaries = ServerBinaries::locate().expect("PostgreSQL server binaries");
    println!("migverify skeleton bench: median of {ROUNDS} rounds, {STEPS} sqlx steps");
    let cluster_reference = bench_cluster_start(&binaries);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(bench_sqlx_step());
    bench_cycle(cluster_reference);
}
