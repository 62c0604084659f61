//! Alembic projects, through the helper in the project's interpreter: the same commands, checks
//! and reports as sqlx projects.

mod common;

use common::{failed_checks, fields, fixture, step_statuses, Sandbox};

#[test]
fn cycle_passes_on_the_alembic_pos_fixture_with_data() {
    let run = Sandbox::new().gate("cycle", "pos-alembic", &["--rows", "2000"]);
    assert_eq!(run.code, 0, "{}", run.output());
    let report = run.json();
    assert_eq!(report["kind"], "alembic");
    assert_eq!(step_statuses(&report), ["ok"; 6]);
    assert_eq!(report["steps"][1]["from"], "0008");
    assert_eq!(report["steps"][1]["to"], "0009");
    assert_eq!(report["tables"].as_array().unwrap().len(), 6);
}

#[test]
fn revisions_list_the_branch_and_the_merge_parents_first() {
    let run = Sandbox::new().run(&[
        "revisions",
        "-m",
        &fixture("pos-alembic"),
        "--format",
        "json",
    ]);
    assert_eq!(run.code, 0, "{}", run.output());
    let listed = run.json();
    let ids: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        ["0001", "0002", "0003", "0004", "0005", "0006", "0007", "0008", "0009"]
    );
    assert_eq!(listed[5]["parents"], serde_json::json!(["0005"]));
    assert_eq!(listed[6]["parents"], serde_json::json!(["0005"]));
    assert_eq!(listed[7]["parents"], serde_json::json!(["0006", "0007"]));
    // An empty merge has nothing to undo, so its empty downgrade is a real one.
    assert_eq!(listed[7]["has_down"], true);
}

#[test]
fn stairway_steps_every_revision_once_across_the_branch_and_the_merge() {
    let sandbox = Sandbox::new();
    let run = sandbox.gate("stairway", "pos-alembic", &[]);
    assert_eq!(run.code, 0, "{}", run.output());
    let report = run.json();
    let steps: Vec<(String, String)> = report["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["from"].to_string(), s["to"].to_string()))
        .collect();
    assert_eq!(steps.len(), 9 * 3);
    let ups: Vec<String> = steps
        .iter()
        .step_by(3)
        .map(|(from, to)| format!("{from}->{to}").replace('"', ""))
        .collect();
    assert_eq!(
        ups[4..],
        [
            "0004->0005",
            "0005->0006",
            "0006->0006+0007",
            "0006+0007->0008",
            "0008->0009"
        ]
    );
    let checks = report["checks"].as_array().unwrap();
    assert!(checks
        .iter()
        .any(|c| c["message"] == "downgrade of 0008 restored the schema of 0006+0007"));
}

#[test]
fn a_history_with_two_heads_is_tested_at_both() {
    let run = Sandbox::new().gate(
        "cycle",
        "alembic-two-heads",
        &["--rows", "200", "--allow-heads"],
    );
    assert_eq!(run.code, 0, "{}", run.output());
    let report = run.json();
    assert_eq!(report["steps"][1]["from"], "0005");
    assert_eq!(report["steps"][1]["to"], "0006+0007");
    assert_eq!(report["steps"][2]["name"], "downgrade");
    assert_eq!(report["checks"][0]["name"], "single_head");
    assert_eq!(
        report["checks"][0]["message"],
        "the history has 2 heads (0006, 0007); the gate tests them all (--allow-heads)"
    );
    assert!(run.stderr.contains("2 heads"), "{}", run.stderr);
}

#[test]
fn a_range_between_two_branches_is_refused() {
    let run = Sandbox::new().gate(
        "cycle",
        "alembic-two-heads",
        &["--from", "0006", "--to", "0007"],
    );
    run.assert_one_sentence(2, "--from 0006 is not below --to 0007");
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
fn an_accepted_irreversible_revision_is_never_downgraded() {
    let sandbox = Sandbox::new();
    let accepted = ["--irreversible-ok", "0002"];
    let run = sandbox.gate(
        "cycle",
        "broken-alembic-irreversible",
        &[&["--rows", "100"][..], &accepted].concat(),
    );
    assert_eq!(run.code, 0, "{}", run.output());
    let report = run.json();
    assert_eq!(step_statuses(&report), ["ok", "ok"]);
    assert_eq!(report["steps"][1]["name"], "upgrade");
    assert_eq!(report["checks"][1]["name"], "irreversible_accepted");

    let run = sandbox.gate("stairway", "broken-alembic-irreversible", &accepted);
    assert_eq!(run.code, 0, "{}", run.output());
    // 0001 up, down, up; 0002 up only.
    assert_eq!(
        fields(&run.json()["steps"], "name"),
        ["upgrade", "downgrade", "upgrade", "upgrade"]
    );

    let run = sandbox.gate("stairway", "broken-alembic-irreversible", &[]);
    assert_eq!(run.code, 1, "{}", run.output());
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
    // The fixture's migverify.toml gives env.py its settings (-x tenant, POS_REGION) and the
    // rows: no flags needed.
    let sandbox = Sandbox::new();
    let run = sandbox.gate("cycle", "alembic-env-database-url", &[]);
    assert_eq!(run.code, 0, "{}", run.output());
    let report = run.json();
    assert_eq!(report["rows_per_table"], 100);
    assert_eq!(report["budget_s"], 60.0);
    assert_eq!(report["tables"][0]["table"], "public.tills");

    // Without those settings env.py fails before migrating: exit 3, saying why.
    let empty = tempfile::NamedTempFile::new().unwrap();
    let run = sandbox.gate(
        "cycle",
        "alembic-env-database-url",
        &[
            "--config",
            &empty.path().display().to_string(),
            "-x",
            "tenant=demo",
        ],
    );
    run.assert_one_sentence(
        3,
        "env.py failed before it connected to any database: KeyError: 'POS_REGION'",
    );
}

#[test]
fn an_env_py_that_reads_the_url_option_runs_on_the_scratch_database() {
    let sandbox = Sandbox::new();
    let run = sandbox.gate("cycle", "alembic-env-url-option", &["--rows", "100"]);
    assert_eq!(run.code, 0, "{}", run.output());
    assert_eq!(run.json()["tables"][0]["table"], "public.tills");

    // An option of its own: named with --url-option, it gets the URL too.
    let own = ["--rows", "100", "--env", "APP_URL_OPTION=app.db_url"];
    let run = sandbox.gate(
        "cycle",
        "alembic-env-url-option",
        &[&own[..], &["--url-option", "app.db_url"]].concat(),
    );
    assert_eq!(run.code, 0, "{}", run.output());
    // Unnamed, env.py fails before it connects anywhere, and the error says what to do.
    let run = sandbox.gate("cycle", "alembic-env-url-option", &own);
    run.assert_one_sentence(
        3,
        "env.py failed before it connected to any database: ArgumentError",
    );
    assert!(run.stderr.contains("--url-option NAME"), "{}", run.output());
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
fn diff_across_the_branch_reads_the_same_for_both_kinds_of_the_pos_project() {
    let sandbox = Sandbox::new();
    // alembic's 0008 merges the two branches that sqlx has in line as 0006 and 0007.
    let alembic = sandbox.run(&["diff", "-m", &fixture("pos-alembic"), "0005", "0008"]);
    let sqlx = sandbox.run(&[
        "diff",
        "-m",
        &fixture("pos"),
        "20240101000005",
        "20240101000007",
    ]);
    assert_eq!(alembic.code, 1, "{}", alembic.output());
    assert_eq!(sqlx.code, 1, "{}", sqlx.output());
    let body = |text: &str| text.lines().skip(2).collect::<Vec<_>>().join("\n");
    assert!(
        alembic
            .stdout
            .contains("+policy public.orders.orders_by_store"),
        "{}",
        alembic.stdout
    );
    assert_eq!(body(&alembic.stdout), body(&sqlx.stdout));
}

#[test]
fn a_helper_that_dies_mid_step_fails_the_step_and_nothing_hangs() {
    let project = tempfile::tempdir().unwrap();
    for file in ["env.py", "alembic.ini"] {
        std::fs::copy(
            common::repo_path(&format!("migrations-fixtures/pos-alembic/{file}")),
            project.path().join(file),
        )
        .unwrap();
    }
    std::fs::create_dir(project.path().join("versions")).unwrap();
    let scripts = [
        ("r1", "None", "op.execute('CREATE TABLE t (id int)')"),
        ("r2", "'r1'", "os._exit(9)"),
    ];
    for (id, parent, body) in scripts {
        let script = format!(
            "import os\nfrom alembic import op\n\nrevision = '{id}'\ndown_revision = {parent}\n\n\ndef upgrade():\n    {body}\n\n\ndef downgrade():\n    op.execute('DROP TABLE t')\n"
        );
        std::fs::write(project.path().join(format!("versions/{id}.py")), script).unwrap();
    }
    let sandbox = Sandbox::new();
    let run = sandbox.run(&[
        "cycle",
        "-m",
        &project.path().display().to_string(),
        "--rows",
        "10",
        "--format",
        "json",
    ]);
    assert_eq!(run.code, 1, "{}", run.output());
    let report = run.json();
    assert_eq!(step_statuses(&report), ["ok", "error"]);
    assert_eq!(
        report["steps"][1]["error"],
        "the alembic helper exited without answering (a migration may have ended the interpreter)"
    );
    sandbox.assert_nothing_left();
}

#[test]
fn a_version_table_of_another_name_is_followed_and_left_out_of_the_schema() {
    let sandbox = Sandbox::new();
    let run = sandbox.gate("cycle", "alembic-custom-version-table", &["--rows", "100"]);
    assert_eq!(run.code, 0, "{}", run.output());
    let snapshot = sandbox.run(&["snapshot", "-m", &fixture("alembic-custom-version-table")]);
    assert_eq!(snapshot.code, 0, "{}", snapshot.output());
    assert!(
        snapshot.stdout.contains("table public.tills"),
        "{}",
        snapshot.stdout
    );
    assert!(
        !snapshot.stdout.contains("pos_schema_version"),
        "{}",
        snapshot.stdout
    );
}

#[test]
fn an_interpreter_without_a_postgresql_driver_gets_exit_3_naming_it() {
    // The project's interpreter, with psycopg2 and psycopg shadowed by modules that fail.
    let shadow = tempfile::tempdir().unwrap();
    for driver in ["psycopg2", "psycopg"] {
        let package = shadow.path().join(driver);
        std::fs::create_dir(&package).unwrap();
        std::fs::write(package.join("__init__.py"), "raise ImportError('hidden')\n").unwrap();
    }
    let run = revisions_with_python(&format!(
        "#!/bin/sh\nPYTHONPATH={} exec {} \"$@\"\n",
        shadow.path().display(),
        common::alembic_python().display()
    ));
    run.assert_one_sentence(3, "cannot import a PostgreSQL driver (psycopg2 or psycopg)");
}

#[test]
fn an_interpreter_that_dies_at_start_up_is_exit_3_with_its_last_words() {
    let run = revisions_with_python(
        "#!/bin/sh\necho 'Fatal Python error: init_fs_encoding' >&2\nexit 1\n",
    );
    run.assert_one_sentence(
        3,
        "it exited without answering; its last words: Fatal Python error: init_fs_encoding",
    );
}

/// `revisions` on the POS project with `--python` a shell script of the given text.
fn revisions_with_python(script: &str) -> common::Run {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let python = dir.path().join("python");
    std::fs::write(&python, script).unwrap();
    std::fs::set_permissions(&python, std::fs::Permissions::from_mode(0o755)).unwrap();
    Sandbox::new().run(&[
        "revisions",
        "-m",
        &fixture("pos-alembic"),
        "--python",
        &python.display().to_string(),
    ])
}

#[test]
fn a_step_sleeping_in_python_is_stopped_at_the_budget_plus_a_short_grace() {
    let sandbox = Sandbox::new();
    let run = sandbox.gate(
        "cycle",
        "broken-alembic-sleeps",
        &["--rows", "10", "--budget", "3"],
    );
    assert_eq!(run.code, 1, "{}", run.output());
    let report = run.json();
    assert_eq!(step_statuses(&report), ["ok", "over_budget"]);
    let seconds = report["steps"][1]["seconds"].as_f64().unwrap();
    assert!(seconds < 5.5, "stopped after {seconds}s with a 3s budget");
}

#[test]
fn an_interpreter_that_never_answers_is_exit_3_within_the_budget() {
    let dir = tempfile::tempdir().unwrap();
    let silent = dir.path().join("python");
    std::fs::write(&silent, "#!/bin/sh\nexec sleep 600\n").unwrap();
    std::fs::set_permissions(&silent, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let run = Sandbox::new().run(&[
        "cycle",
        "-m",
        &fixture("pos-alembic"),
        "--python",
        &silent.display().to_string(),
        "--budget",
        "2",
    ]);
    run.assert_one_sentence(3, "did not say it was ready within 2s");
    assert!(
        run.elapsed < std::time::Duration::from_secs(10),
        "{:?}",
        run.elapsed
    );
}

#[test]
fn an_env_py_reading_a_setting_of_its_own_is_given_the_scratch_url() {
    let sandbox = Sandbox::new();
    let run = sandbox.gate(
        "cycle",
        "alembic-env-app-db-url",
        &["--rows", "20", "--no-full"],
    );
    run.assert_one_sentence(3, "--env NAME={url} for a variable, -x KEY={url}");
    for flag in [["--env", "APP_DB_URL={url}"], ["-x", "db={url}"]] {
        let run = sandbox.gate(
            "cycle",
            "alembic-env-app-db-url",
            &[flag[0], flag[1], "--rows", "20", "--no-full"],
        );
        assert_eq!(run.code, 0, "{flag:?}: {}", run.output());
        assert_eq!(run.json()["revisions"], serde_json::json!(["0002"]));
    }
}
