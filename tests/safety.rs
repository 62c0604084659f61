//! What migverify promises whatever happens: nothing left behind (after success, failure, or a
//! signal, as root or not), nothing touched on a server it did not create the database on, no
//! password in its output, and one clear sentence with the documented exit code for bad input.

mod common;

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::{fixture, to_run, Sandbox};
use migverify::database::{ServerBinaries, TempCluster};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use sqlx::{Connection, PgConnection};

#[test]
fn a_temp_cluster_stops_its_server_and_removes_its_directory_on_drop() {
    let cluster = TempCluster::start(&ServerBinaries::locate().unwrap()).unwrap();
    let dir = cluster.socket_dir().to_path_buf();
    let pid_file = std::fs::read_to_string(dir.join("data/postmaster.pid")).unwrap();
    let pid = pid_file.lines().next().unwrap().to_string();
    assert!(std::path::Path::new(&format!("/proc/{pid}")).exists());
    drop(cluster);
    assert!(!dir.exists(), "{} still exists", dir.display());
    assert!(
        !std::path::Path::new(&format!("/proc/{pid}")).exists(),
        "postgres {pid} still runs"
    );
}

/// The throwaway cluster trusts whoever connects, so nobody else may: no TCP listener, and its
/// socket's directory closed to every other OS user (tried as a real other user when the tests
/// run as root).
#[test]
fn the_throwaway_cluster_is_private_to_the_user_running_it() {
    use std::os::unix::process::CommandExt;
    let binaries = ServerBinaries::locate().unwrap();
    let cluster = TempCluster::start(&binaries).unwrap();
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", cluster.port())).is_err(),
        "something listens on 127.0.0.1:{}",
        cluster.port()
    );
    let psql = |user: Option<&nix::unistd::User>| {
        let mut command = std::process::Command::new(binaries.program("psql"));
        command
            .args(["-h"])
            .arg(cluster.socket_dir())
            .args([
                "-p",
                &cluster.port().to_string(),
                "-U",
                "postgres",
                "-d",
                "postgres",
            ])
            .args(["-Atc", "SELECT 1"])
            .current_dir("/");
        if let Some(user) = user {
            command.uid(user.uid.as_raw()).gid(user.gid.as_raw());
        }
        command.output().unwrap()
    };
    let mine = psql(None);
    assert!(
        mine.status.success(),
        "{}",
        String::from_utf8_lossy(&mine.stderr)
    );
    if !nix::unistd::Uid::effective().is_root() {
        return;
    }
    let owner = std::fs::metadata(cluster.socket_dir()).unwrap();
    let other = ["nobody", "daemon", "bin"]
        .into_iter()
        .filter_map(|name| nix::unistd::User::from_name(name).ok().flatten())
        .find(|user| std::os::unix::fs::MetadataExt::uid(&owner) != user.uid.as_raw())
        .expect("an unprivileged user other than the cluster's owner");
    let theirs = psql(Some(&other));
    assert!(
        !theirs.status.success(),
        "{} connected to the throwaway cluster",
        other.name
    );
}

/// Starts a slow cycle in `sandbox` (with `extra` arguments) and returns once the slow
/// migration is running.
fn start_a_slow_migration(sandbox: &Sandbox, extra: &[&str]) -> std::process::Child {
    let slow = fixture("broken-slow");
    let mut args = vec!["-v", "cycle", "-m", &slow];
    args.extend_from_slice(extra);
    let mut child = sandbox
        .command(&args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut seen = String::new();
    loop {
        let mut line = String::new();
        assert_ne!(
            stderr.read_line(&mut line).unwrap(),
            0,
            "migverify ended early:\n{seen}"
        );
        seen.push_str(&line);
        if line.contains("upgrade") && line.contains("to=20240102") {
            break;
        }
    }
    child.stderr = Some(stderr.into_inner());
    std::thread::sleep(Duration::from_millis(500));
    child
}

/// Starts a slow cycle, waits until the slow migration is running, and sends `signal`.
fn interrupt_a_slow_migration(signal: Signal) {
    let sandbox = Sandbox::new();
    let child = start_a_slow_migration(&sandbox, &[]);
    assert!(
        !common::processes_mentioning(sandbox.path()).is_empty(),
        "the cluster runs mid-migration"
    );
    let sent = Instant::now();
    kill(Pid::from_raw(child.id() as i32), signal).unwrap();
    let output = child.wait_with_output().unwrap();
    let run = to_run(output, sent.elapsed());
    assert_eq!(run.code, 130, "{}", run.output());
    assert!(
        run.elapsed < Duration::from_secs(10),
        "took {:?} to stop",
        run.elapsed
    );
    sandbox.assert_nothing_left();
}

/// Waits up to `limit` for `done`.
fn within(limit: Duration, done: impl Fn() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if done() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    done()
}

fn nothing_left(sandbox: &Sandbox) -> bool {
    common::processes_mentioning(sandbox.path()).is_empty()
        && std::fs::read_dir(sandbox.path()).unwrap().next().is_none()
}

#[test]
fn sigkill_in_the_middle_of_a_migration_leaves_nothing_within_seconds() {
    let sandbox = Sandbox::new();
    let mut child = start_a_slow_migration(&sandbox, &[]);
    kill(Pid::from_raw(child.id() as i32), Signal::SIGKILL).unwrap();
    child.wait().unwrap();
    assert!(
        within(Duration::from_secs(15), || nothing_left(&sandbox)),
        "left behind: {:?} in {:?}",
        common::processes_mentioning(sandbox.path()),
        std::fs::read_dir(sandbox.path())
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .collect::<Vec<_>>()
    );
}

#[test]
fn a_cluster_whose_run_and_reaper_were_both_killed_is_removed_by_the_next_run() {
    let sandbox = Sandbox::new();
    let mut child = start_a_slow_migration(&sandbox, &[]);
    // The reaper names the cluster's directory on its command line; the postmaster's children
    // do too, but are not migverify.
    let exe = std::fs::read_link(format!("/proc/{}/exe", child.id())).unwrap();
    let reapers: Vec<i32> = std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_string_lossy().parse::<i32>().ok())
        .filter(|pid| *pid != child.id() as i32)
        .filter(|pid| std::fs::read_link(format!("/proc/{pid}/exe")).is_ok_and(|e| e == exe))
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|raw| {
                String::from_utf8_lossy(&raw).contains(&*sandbox.path().to_string_lossy())
            })
        })
        .collect();
    assert_eq!(reapers.len(), 1, "one reaper: {reapers:?}");
    kill(Pid::from_raw(reapers[0]), Signal::SIGKILL).unwrap();
    kill(Pid::from_raw(child.id() as i32), Signal::SIGKILL).unwrap();
    child.wait().unwrap();
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        !common::processes_mentioning(sandbox.path()).is_empty(),
        "the cluster outlives both"
    );

    let run = sandbox.gate("cycle", "pos", &["--rows", "10", "--no-full"]);
    assert_eq!(run.code, 0, "{}", run.output());
    assert!(
        run.stderr
            .contains("removed the throwaway cluster of a migverify run that died"),
        "{}",
        run.stderr
    );
    assert!(within(Duration::from_secs(5), || nothing_left(&sandbox)));
}

#[test]
fn sigint_in_the_middle_of_a_migration_leaves_nothing() {
    interrupt_a_slow_migration(Signal::SIGINT);
}

#[test]
fn sighup_in_the_middle_of_a_migration_leaves_nothing() {
    interrupt_a_slow_migration(Signal::SIGHUP);
}

#[test]
fn sigquit_in_the_middle_of_a_migration_leaves_nothing() {
    interrupt_a_slow_migration(Signal::SIGQUIT);
}

#[test]
fn sigterm_in_the_middle_of_a_migration_leaves_nothing() {
    interrupt_a_slow_migration(Signal::SIGTERM);
}

#[test]
fn a_seed_that_fails_keeps_nothing() {
    let run = Sandbox::new().run(&[
        "seed",
        "--at",
        "head",
        "-m",
        &fixture("broken-syntax-error"),
    ]);
    assert_eq!(run.code, 1, "{}", run.output());
    assert!(
        run.stderr.contains("20240102 failed: syntax error"),
        "{}",
        run.stderr
    );
    assert!(
        !run.stderr.contains("kept the scratch database"),
        "{}",
        run.stderr
    );
}

#[test]
fn an_unprivileged_user_gets_the_same_run_and_leaves_nothing() {
    use std::os::unix::process::CommandExt;
    let Some(user) = nix::unistd::User::from_name("postgres")
        .unwrap()
        .filter(|_| nix::unistd::Uid::effective().is_root())
    else {
        return; // not root: every other test already runs unprivileged
    };
    let sandbox = Sandbox::new();
    nix::unistd::chown(sandbox.path(), Some(user.uid), Some(user.gid)).unwrap();
    let output = sandbox
        .command(&[
            "cycle",
            "-m",
            &fixture("broken-leftover-index"),
            "--format",
            "json",
        ])
        .uid(user.uid.as_raw())
        .gid(user.gid.as_raw())
        .output()
        .unwrap();
    let run = to_run(output, Duration::ZERO);
    assert_eq!(run.code, 1, "{}", run.output());
    assert_eq!(
        common::failed_checks(&run.json()),
        ["downgrade of 20240105 left index public.ix_orders_store_id behind"]
    );
    sandbox.assert_nothing_left();
}

async fn scalar(connection: &mut PgConnection, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(connection).await.unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn database_url_runs_in_a_scratch_database_and_touches_nothing_else() {
    let server = TempCluster::start(&ServerBinaries::locate().unwrap()).unwrap();
    let mut admin = PgConnection::connect_with(&server.connect_options("postgres"))
        .await
        .unwrap();
    sqlx::query("CREATE DATABASE canary")
        .execute(&mut admin)
        .await
        .unwrap();
    let mut canary = PgConnection::connect_with(&server.connect_options("canary"))
        .await
        .unwrap();
    sqlx::raw_sql("CREATE TABLE orders (id int PRIMARY KEY); INSERT INTO orders SELECT generate_series(1, 3);")
        .execute(&mut canary)
        .await
        .unwrap();

    let url = format!(
        "postgres://postgres:s3cretpw@localhost/postgres?host={}&port={}",
        server.socket_dir().display(),
        server.port()
    );
    let sandbox = Sandbox::new();
    let output = sandbox
        .command(&["-vv", "cycle", "-m", &fixture("pos"), "--format", "json"])
        .env("MIGVERIFY_DATABASE_URL", &url)
        .output()
        .unwrap();
    let run = to_run(output, Duration::ZERO);
    assert_eq!(run.code, 0, "{}", run.output());
    assert!(
        !run.stdout.contains("s3cretpw") && !run.stderr.contains("s3cretpw"),
        "the password leaked:\n{}",
        run.output()
    );
    assert!(
        run.stderr.contains("created the scratch database"),
        "{}",
        run.stderr
    );

    assert_eq!(scalar(&mut canary, "SELECT count(*) FROM orders").await, 3);
    assert_eq!(
        scalar(
            &mut canary,
            "SELECT count(*) FROM pg_class WHERE relname = 'stores'"
        )
        .await,
        0
    );
    let scratch = scalar(
        &mut admin,
        "SELECT count(*) FROM pg_database WHERE datname LIKE 'migverify\\_%'",
    )
    .await;
    assert_eq!(scratch, 0, "the scratch database was dropped");
    assert_eq!(
        scalar(
            &mut admin,
            "SELECT count(*) FROM pg_class WHERE relname = 'stores'"
        )
        .await,
        0
    );
    sandbox.assert_nothing_left();
}

/// Bad input: the documented exit code and exactly one line on stderr, naming the culprit.
fn assert_one_clear_sentence(args: &[&str], code: i32, culprit: &str) {
    let sandbox = Sandbox::new();
    let run = sandbox.run(args);
    assert!(
        !run.stderr.contains("hunter2"),
        "the password leaked:\n{}",
        run.output()
    );
    run.assert_one_sentence(code, culprit);
    assert_eq!(run.stdout, "");
}

#[test]
fn bad_input_gets_exit_2_and_one_sentence() {
    assert_one_clear_sentence(&["cycle", "-m", "/no/such/dir"], 2, "/no/such/dir");
    assert_one_clear_sentence(
        &["cycle", "-m", &fixture("pos"), "--from", "1999"],
        2,
        "unknown revision \"1999\"",
    );
    assert_one_clear_sentence(
        &["cycle", "-m", &fixture("pos"), "--from", "head"],
        2,
        "is not below",
    );
    assert_one_clear_sentence(
        &["stairway", "-m", &fixture("broken-malformed-name")],
        2,
        "notaversion_create_stores.sql",
    );
    assert_one_clear_sentence(
        &["snapshot", "-m", "migrations-fixtures"],
        2,
        "no migrations found in migrations-fixtures",
    );
    assert_one_clear_sentence(
        &["cycle", "-m", &fixture("pos"), "--budget", "-1"],
        2,
        "\"-1\" is not a positive number of seconds",
    );
    assert_one_clear_sentence(
        &[
            "diff",
            "no-such-file.txt",
            "snapshots/pos/base.txt",
            "-m",
            &fixture("pos"),
        ],
        2,
        "no-such-file.txt",
    );
    let pos = fixture("pos");
    for (args, culprit) in [
        (
            vec!["cycle", "-m", &pos, "--budget", "1e20"],
            "too long a budget",
        ),
        (
            vec!["cycle", "-m", &pos, "--snapshots", "/no/snapshots"],
            "snapshot directory /no/snapshots",
        ),
        (
            vec![
                "cycle",
                "-m",
                &pos,
                "--database-url",
                "host=db password=hunter2",
            ],
            "is not a PostgreSQL URL",
        ),
        (
            vec!["cycle", "-m", &pos, "--table-rows", "orders"],
            "\"orders\" is not TABLE=N",
        ),
        (
            vec!["snapshot", "head", "--dir", "x", "-m", &pos],
            "cannot be used with",
        ),
        (
            vec!["cycle", "-m", &pos, "--database-url", "mysql://app@db/shop"],
            "is not a PostgreSQL URL",
        ),
        (
            vec!["cycle", "-m", &pos, "--database-url", "http://db/"],
            "is not a PostgreSQL URL",
        ),
        (
            vec![
                "cycle",
                "-m",
                &pos,
                "--rows",
                "10",
                "--values",
                "stores.nosuch=a,b",
            ],
            "--values stores.nosuch: public.stores has no column nosuch",
        ),
        (
            vec![
                "cycle",
                "-m",
                &pos,
                "--rows",
                "10",
                "--values",
                "nosuch.col=1",
            ],
            "--values nosuch.col: no table nosuch to seed",
        ),
        (
            vec![
                "cycle",
                "-m",
                &pos,
                "--rows",
                "10",
                "--table-rows",
                "nosuch=5",
            ],
            "--table-rows nosuch: no such table to seed",
        ),
        (
            vec![
                "cycle",
                "-m",
                &pos,
                "--rows",
                "10",
                "--ignore-table",
                "nosuch",
            ],
            "--ignore-table nosuch: no such table",
        ),
        (
            vec!["cycle", "-m", &pos, "--alembic-ini", "/nonexistent.ini"],
            "--alembic-ini /nonexistent.ini does not exist",
        ),
        (
            vec!["cycle", "-m", "Cargo.toml"],
            "Cargo.toml is a file, not a migration directory",
        ),
        (
            vec![
                "diff",
                "/nonexistent/a.txt",
                "/nonexistent/b.txt",
                "-m",
                &pos,
            ],
            "/nonexistent/a.txt is neither a snapshot file nor a revision",
        ),
        (
            vec![
                "cycle",
                "-m",
                &pos,
                "--report",
                "/nonexistent/dir/report.json",
            ],
            "cannot write /nonexistent/dir/report.json",
        ),
        (
            vec![
                "cycle",
                "-m",
                &pos,
                "--rows",
                "10",
                "--values",
                "stores.status=bogus",
            ],
            "a value given with --values for public.stores does not fit its column's type",
        ),
        (
            vec!["revisions", "-m", &pos, "--kind", "alembic"],
            "no alembic revisions found in",
        ),
    ] {
        assert_one_clear_sentence(&args, 2, culprit);
    }
}

#[test]
fn an_unreachable_server_gets_exit_3_and_one_sentence_without_the_password() {
    assert_one_clear_sentence(
        &[
            "cycle",
            "-m",
            &fixture("pos"),
            "--database-url",
            "postgres://app:hunter2@127.0.0.1:1/postgres",
        ],
        3,
        "cannot reach PostgreSQL at 127.0.0.1:1",
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn keep_leaves_the_cluster_up_with_sqlx_bookkeeping_as_sqlx_writes_it() {
    use sha2::{Digest, Sha384};
    let sandbox = Sandbox::new();
    let project = fixture("broken-leftover-enum");
    let output = sandbox
        .command(&["snapshot", "-m", &project, "--keep"])
        .output()
        .unwrap();
    let run = to_run(output, Duration::ZERO);
    assert_eq!(run.code, 0, "{}", run.output());
    let (dir, port, database) = common::kept_database(&run.stderr);
    let database = database.as_str();
    let options = sqlx::postgres::PgConnectOptions::new()
        .socket(&dir)
        .port(port)
        .username("postgres")
        .database(database);
    let mut connection = PgConnection::connect_with(&options).await.unwrap();
    let rows: Vec<(i64, String, bool, Vec<u8>)> = sqlx::query_as(
        "SELECT version, description, success, checksum FROM _sqlx_migrations ORDER BY version",
    )
    .fetch_all(&mut connection)
    .await
    .unwrap();
    let up = std::fs::read(format!("{project}/20240102_add_ticket_priority.up.sql")).unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(
        (rows[1].0, rows[1].1.as_str(), rows[1].2),
        (20240102, "add ticket priority", true)
    );
    assert_eq!(
        rows[1].3,
        Sha384::digest(&up).to_vec(),
        "the checksum sqlx migrate info compares"
    );
    connection.close().await.unwrap();

    // It is ours to stop now.
    common::stop_kept_cluster(&dir);
    sandbox.assert_nothing_left();
}

#[test]
fn a_migration_that_changes_the_cluster_fails_cluster_untouched_unless_allowed() {
    let sandbox = Sandbox::new();
    let run = sandbox.gate(
        "cycle",
        "broken-cluster-wide",
        &["--rows", "10", "--no-full"],
    );
    assert_eq!(run.code, 1, "{}", run.output());
    let failed = common::failed_checks(&run.json());
    assert_eq!(
        failed[..2],
        [
            "upgrade of 20240101..20240103 created role app_readonly, ran ALTER SYSTEM SET work_mem = 64MB, outside the scratch database (allow it with --allow-cluster-change role --allow-cluster-change setting)",
            "upgrade of 20240104 terminated other clients' sessions on the server (migverify's own on another database among them), outside the scratch database (allow it with --allow-cluster-change session)",
        ],
        "{failed:?}"
    );
    let allowed = [
        "--rows",
        "10",
        "--no-full",
        "--allow-cluster-change",
        "role",
        "--allow-cluster-change",
        "setting",
        "--allow-cluster-change",
        "session",
    ];
    let run = sandbox.gate("cycle", "broken-cluster-wide", &allowed);
    assert_eq!(run.code, 0, "{}", run.output());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_migration_that_drops_another_database_is_named_and_a_superuser_is_warned_of() {
    let server = TempCluster::start(&ServerBinaries::locate().unwrap()).unwrap();
    let mut admin = PgConnection::connect_with(&server.connect_options("postgres"))
        .await
        .unwrap();
    sqlx::query("CREATE DATABASE victim")
        .execute(&mut admin)
        .await
        .unwrap();
    let project = tempfile::tempdir().unwrap();
    let file = |name: &str, sql: &str| std::fs::write(project.path().join(name), sql).unwrap();
    file(
        "1_accounts.up.sql",
        "CREATE TABLE accounts (id bigint PRIMARY KEY);",
    );
    file("1_accounts.down.sql", "DROP TABLE accounts;");
    file(
        "2_cleanup.up.sql",
        "-- no-transaction\nDROP DATABASE IF EXISTS victim;",
    );
    file("2_cleanup.down.sql", "SELECT 1;");
    let url = format!(
        "postgres://postgres@localhost/postgres?host={}&port={}",
        server.socket_dir().display(),
        server.port()
    );
    let project = project.path().display().to_string();
    let run = Sandbox::new().run(&[
        "cycle",
        "-m",
        &project,
        "--rows",
        "10",
        "--no-full",
        "--database-url",
        &url,
        "--format",
        "json",
    ]);
    assert_eq!(run.code, 1, "{}", run.output());
    assert_eq!(
        common::failed_checks(&run.json()),
        ["upgrade of 2 dropped database victim, outside the scratch database (allow it with --allow-cluster-change database)"]
    );
    assert!(
        run.stderr
            .contains("--database-url connects as a superuser"),
        "{}",
        run.stderr
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn sigkill_on_a_database_url_run_drops_its_scratch_database_within_seconds() {
    let server = TempCluster::start(&ServerBinaries::locate().unwrap()).unwrap();
    let url = format!(
        "postgres://postgres@localhost/postgres?host={}&port={}",
        server.socket_dir().display(),
        server.port()
    );
    let sandbox = Sandbox::new();
    let mut child = start_a_slow_migration(&sandbox, &["--database-url", &url]);
    let mut admin = PgConnection::connect_with(&server.connect_options("postgres"))
        .await
        .unwrap();
    let scratch = "SELECT count(*) FROM pg_database WHERE datname LIKE 'migverify\\_%'";
    assert_eq!(scalar(&mut admin, scratch).await, 1);
    kill(Pid::from_raw(child.id() as i32), Signal::SIGKILL).unwrap();
    child.wait().unwrap();
    let deadline = Instant::now() + Duration::from_secs(15);
    while scalar(&mut admin, scratch).await > 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        scalar(&mut admin, scratch).await,
        0,
        "the scratch database outlived migverify"
    );
}

/// The postmaster of the one cluster in `sandbox`.
fn postmaster_of(sandbox: &Sandbox) -> i32 {
    let cluster = std::fs::read_dir(sandbox.path())
        .unwrap()
        .flatten()
        .next()
        .unwrap();
    let pid_file = std::fs::read_to_string(cluster.path().join("data/postmaster.pid")).unwrap();
    pid_file.lines().next().unwrap().trim().parse().unwrap()
}

/// Kills `victim` while the slow migration runs and expects exit 3 naming `cause`.
fn kill_the_server_mid_step(victim: impl Fn(i32) -> Vec<i32>, cause: &str) {
    let sandbox = Sandbox::new();
    let child = start_a_slow_migration(&sandbox, &[]);
    for pid in victim(postmaster_of(&sandbox)) {
        // Killing one backend makes the postmaster end the others (the lock sampler's among
        // them): one already gone is killed as asked.
        match kill(Pid::from_raw(pid), Signal::SIGKILL) {
            Ok(()) | Err(nix::errno::Errno::ESRCH) => {}
            Err(error) => panic!("cannot kill {pid}: {error}"),
        }
    }
    let run = to_run(child.wait_with_output().unwrap(), Duration::ZERO);
    run.assert_one_sentence(3, cause);
    assert!(
        run.stderr.contains("nothing can be said of the migrations"),
        "{}",
        run.output()
    );
    assert!(within(Duration::from_secs(10), || nothing_left(&sandbox)));
}

#[test]
fn the_server_killed_mid_step_is_exit_3_naming_it_not_the_migration() {
    kill_the_server_mid_step(
        |postmaster| vec![postmaster],
        "error: the PostgreSQL server stopped",
    );
}

#[test]
fn a_backend_killed_mid_step_is_exit_3_naming_the_crash() {
    // The backends of the scratch database: the postmaster's children that name it.
    let backends = |postmaster: i32| -> Vec<i32> {
        std::fs::read_dir("/proc")
            .unwrap()
            .flatten()
            .filter_map(|e| e.file_name().to_string_lossy().parse::<i32>().ok())
            .filter(|pid| {
                let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
                let parent = stat
                    .rsplit(')')
                    .next()
                    .and_then(|s| s.split_whitespace().nth(1));
                parent == Some(&postmaster.to_string())
                    && std::fs::read(format!("/proc/{pid}/cmdline"))
                        .is_ok_and(|c| String::from_utf8_lossy(&c).contains("migverify_"))
            })
            .collect()
    };
    kill_the_server_mid_step(backends, "error: the PostgreSQL server crashed: ");
}

#[test]
fn a_full_disk_while_seeding_is_exit_3_naming_it() {
    if !nix::unistd::Uid::effective().is_root() {
        eprintln!("skipped: mounting a small tmpfs needs root");
        return;
    }
    let sandbox = Sandbox::new();
    // A real small disk as TMPDIR: the cluster fills it while seeding.
    let mounted = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=64m,mode=0755", "tmpfs"])
        .arg(sandbox.path())
        .status()
        .unwrap();
    assert!(mounted.success(), "cannot mount a tmpfs");
    let output = sandbox
        .command(&["cycle", "-m", &fixture("pos"), "--rows", "1000000"])
        .output()
        .unwrap();
    let run = to_run(output, Duration::ZERO);
    let left = nothing_left(&sandbox);
    let unmounted = std::process::Command::new("umount")
        .arg(sandbox.path())
        .status()
        .unwrap();
    assert!(unmounted.success());
    run.assert_one_sentence(3, "No space left on device");
    assert!(
        run.stderr.starts_with("error: the PostgreSQL server"),
        "{}",
        run.output()
    );
    assert!(left, "the full disk kept something");
}

#[test]
fn a_migration_role_makes_a_superuser_only_migration_fail_as_on_a_managed_server() {
    let sandbox = Sandbox::new();
    let run = sandbox.gate(
        "cycle",
        "broken-needs-superuser",
        &["--rows", "10", "--no-full"],
    );
    assert_eq!(
        run.code,
        0,
        "the throwaway cluster's superuser runs anything: {}",
        run.output()
    );
    let as_app = ["--rows", "10", "--no-full", "--migration-role", "app"];
    let run = sandbox.gate("cycle", "broken-needs-superuser", &as_app);
    assert_eq!(run.code, 1, "{}", run.output());
    let error = run.json()["steps"][1]["error"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        error.starts_with("20240102 failed: ") && error.contains("pg_execute_server_program"),
        "{error}"
    );
    // Ordinary migrations run as that role just the same, sqlx and alembic alike.
    assert_eq!(sandbox.gate("cycle", "pos", &as_app).code, 0);
    assert_eq!(sandbox.gate("cycle", "pos-alembic", &as_app).code, 0);
    let run = sandbox.run(&[
        "cycle",
        "-m",
        &fixture("pos"),
        "--migration-role",
        "app",
        "--database-url",
        "postgres://u@localhost:1/db",
    ]);
    run.assert_one_sentence(
        2,
        "--migration-role runs migrations on the throwaway cluster",
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_table_is_named_the_same_way_in_every_option_quoted_or_not() {
    let server = TempCluster::start(&ServerBinaries::locate().unwrap()).unwrap();
    let mut admin = PgConnection::connect_with(&server.connect_options("postgres"))
        .await
        .unwrap();
    sqlx::raw_sql(
        r#"CREATE TABLE "select" (id int PRIMARY KEY); INSERT INTO "select" VALUES (1), (2);"#,
    )
    .execute(&mut admin)
    .await
    .unwrap();
    let url = format!(
        "postgres://postgres@localhost/postgres?host={}&port={}",
        server.socket_dir().display(),
        server.port()
    );
    let sandbox = Sandbox::new();
    for name in ["select", "\"select\"", "public.select", "public.\"select\""] {
        let run = sandbox.run(&["checksum", "--database-url", &url, "--tables", name]);
        assert_eq!(run.code, 0, "{name}: {}", run.output());
        assert!(run.stdout.contains("2 rows"), "{name}: {}", run.stdout);
    }
}
