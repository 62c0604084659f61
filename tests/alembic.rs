//! Alembic projects, through the helper in the project's interpreter: the same commands, checks
//! and reports as sqlx projects.

mod common;

use common::{failed_checks, fixture, step_statuses, Sandbox};

#[test]
fn cycle_passes_on_the_alembic_pos_fixture_with_data() {
    let run = Sandbox::new().gate("cycle", "pos-alembic", &["--rows", "2000"]);
    assert_eq!(run.code, 0, "{}", run.output());
    let report = run.json();
    assert_eq!(report["kind"], "alembic");
    assert_eq!(step_statuses(&report), ["ok"; 6]);
    assert_eq!(report["steps"][1]["from"], "0007");
    assert_eq!(report["steps"][1]["to"], "0008");
    assert_eq!(report["tables"].as_array().unwrap().len(), 6);
}

#[test]
fn stairway_passes_on_the_alembic_pos_fixture() {
    let sandbox = Sandbox::new();
    let run = sandbox.gate("stairway", "pos-alembic", &[]);
    assert_eq!(run.code, 0, "{}", run.output());
    assert_eq!(run.json()["steps"].as_array().unwrap().len(), 8 * 3);
}

#[test]
fn both_kinds_of_the_pos_project_give_byte_identical_snapshots() {
    let sandbox = Sandbox::new();
    let alembic = sandbox.run(&["snapshot", "-m", &fixture("pos-alembic")]);
    let sqlx = sandbox.run(&["snapshot", "-m", &fixture("pos")]);
    assert_eq!(alembic.code, 0, "{}", alembic.output());
    assert_eq!(sqlx.code, 0, "{}", sqlx.output());
    assert!(alembic.stdout.contains("table public.orders"));
    assert_eq!(alembic.stdout, sqlx.stdout);
}

#[test]
fn an_alembic_downgrade_that_leaves_a_column_is_named() {
    let run = Sandbox::new().gate(
        "cycle",
        "broken-alembic-leaves-column",
        &["--rows", "100", "--no-full"],
    );
    assert_eq!(run.code, 1, "{}", run.output());
    let report = run.json();
    assert_eq!(
        failed_checks(&report),
        ["downgrade of 0002 changed table public.tills"]
    );
    let diff = report["checks"][1]["details"]["diff"].as_str().unwrap();
    assert!(
        diff.contains("+  column cash_float numeric(10,2)"),
        "{diff}"
    );
}

#[test]
fn an_irreversible_alembic_downgrade_is_a_finding_naming_the_revision() {
    let sandbox = Sandbox::new();
    let revisions = sandbox.run(&["revisions", "-m", &fixture("broken-alembic-irreversible")]);
    assert!(
        revisions.stdout.lines().nth(1).unwrap().contains("no-down"),
        "{}",
        revisions.stdout
    );
    let run = sandbox.gate("cycle", "broken-alembic-irreversible", &["--rows", "100"]);
    assert_eq!(run.code, 1, "{}", run.output());
    let report = run.json();
    assert_eq!(step_statuses(&report), ["ok", "ok", "error"]);
    assert_eq!(
        report["steps"][2]["error"],
        "0002 is irreversible: its downgrade raises NotImplementedError (the original case of opened_by is gone)"
    );
}

#[test]
fn a_missing_interpreter_gets_exit_3_and_one_sentence() {
    let run = Sandbox::new().run(&[
        "revisions",
        "-m",
        &fixture("pos-alembic"),
        "--python",
        "/no/python3",
    ]);
    assert_eq!(run.code, 3, "{}", run.output());
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.output());
    assert!(
        run.stderr
            .starts_with("error: cannot run the alembic helper with /no/python3"),
        "{}",
        run.stderr
    );
}

#[test]
fn an_env_py_that_reads_only_database_url_runs_on_the_scratch_database() {
    let sandbox = Sandbox::new();
    let settings = ["--env", "POS_REGION=apac", "-x", "tenant=demo"];
    let run = sandbox.gate(
        "cycle",
        "alembic-env-database-url",
        &[&["--rows", "100"][..], &settings].concat(),
    );
    assert_eq!(run.code, 0, "{}", run.output());
    assert_eq!(run.json()["tables"][0]["table"], "public.tills");

    // Without the settings env.py needs, it fails before migrating: exit 3, saying why.
    let run = sandbox.gate(
        "cycle",
        "alembic-env-database-url",
        &["--rows", "100", "-x", "tenant=demo"],
    );
    assert_eq!(run.code, 3, "{}", run.output());
    assert!(
        run.stderr
            .contains("could not check (KeyError: 'POS_REGION')"),
        "{}",
        run.stderr
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_env_py_that_points_elsewhere_is_refused_before_it_migrates_anything() {
    use migverify::database::{ServerBinaries, TempCluster};
    use sqlx::Connection;
    let other = TempCluster::start(&ServerBinaries::locate().unwrap()).unwrap();
    let url = format!(
        "postgresql+psycopg2://postgres@/postgres?host={}&port={}",
        other.socket_dir().display(),
        other.port()
    );
    let sandbox = Sandbox::new();
    let output = sandbox
        .command(&[
            "cycle",
            "-m",
            &fixture("broken-alembic-env-elsewhere"),
            "--rows",
            "100",
        ])
        .env("MIGVERIFY_TEST_OTHER_URL", &url)
        .output()
        .unwrap();
    let run = common::to_run(output, std::time::Duration::ZERO);
    assert_eq!(run.code, 3, "{}", run.output());
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.output());
    assert!(
        run.stderr.starts_with("error: env.py reaches database postgres, not migverify's scratch database, so nothing was migrated"),
        "{}",
        run.stderr
    );
    let mut connection = sqlx::PgConnection::connect_with(&other.connect_options("postgres"))
        .await
        .unwrap();
    let touched: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM pg_class WHERE relname IN ('tills', 'alembic_version')",
    )
    .fetch_one(&mut connection)
    .await
    .unwrap();
    assert_eq!(touched, 0, "the other database was migrated");
    sandbox.assert_nothing_left();
}

#[test]
fn a_python_exception_in_a_migration_is_a_finding_with_its_traceback() {
    let run = Sandbox::new().gate("cycle", "broken-alembic-raises", &["--rows", "100"]);
    assert_eq!(run.code, 1, "{}", run.output());
    let report = run.json();
    assert_eq!(step_statuses(&report), ["ok", "error"]);
    let error = report["steps"][1]["error"].as_str().unwrap();
    assert!(
        error.starts_with("0002 failed: ValueError: no owner on record for till 1\n"),
        "{error}"
    );
    assert!(
        error.contains("0002_backfill_till_owner.py"),
        "the traceback names the file: {error}"
    );
}

#[test]
fn a_branching_history_is_refused_in_one_sentence_until_branches_are_supported() {
    let project = tempfile::tempdir().unwrap();
    std::fs::copy(
        common::repo_path("migrations-fixtures/pos-alembic/env.py"),
        project.path().join("env.py"),
    )
    .unwrap();
    std::fs::copy(
        common::repo_path("migrations-fixtures/pos-alembic/alembic.ini"),
        project.path().join("alembic.ini"),
    )
    .unwrap();
    std::fs::create_dir(project.path().join("versions")).unwrap();
    for (id, parent) in [("r1", "None"), ("r2a", "\"r1\""), ("r2b", "\"r1\"")] {
        let script = format!("revision = \"{id}\"\ndown_revision = {parent}\n\n\ndef upgrade():\n    pass\n\n\ndef downgrade():\n    pass\n");
        std::fs::write(project.path().join(format!("versions/{id}.py")), script).unwrap();
    }
    let run = Sandbox::new().run(&["revisions", "-m", &project.path().display().to_string()]);
    assert_eq!(run.code, 2, "{}", run.output());
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.output());
    assert!(
        run.stderr.contains("revision r1 branches or merges"),
        "{}",
        run.stderr
    );
}
