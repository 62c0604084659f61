//! `cycle` and `stairway` on the fixtures: the good project passes, each broken one is caught
//! with exit 1 and a finding that names the revision and the object.

mod common;

use common::{failed_checks, fixture, step_statuses, Sandbox};

#[test]
fn cycle_passes_on_the_pos_fixture_and_matches_committed_snapshots() {
    let sandbox = Sandbox::new();
    let run = sandbox.gate("cycle", "pos", &["--snapshots", "snapshots/pos"]);
    assert_eq!(run.code, 0, "{}", run.output());
    let report = run.json();
    assert_eq!(report["verdict"], "pass");
    assert_eq!(report["command"], "cycle");
    assert_eq!(report["kind"], "sqlx");
    // Up one revision at a time to --from (each checked against its file), then the cycle.
    assert_eq!(step_statuses(&report), ["ok"; 7 + 5]);
    let checks: Vec<&str> = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        checks,
        [
            ["snapshot_file"; 9].as_slice(),
            &[
                "data_upgrade",
                "schema_roundtrip",
                "data_roundtrip",
                "schema_reapply",
                "leaves_no_trace",
                "schema_rebuild",
                "lock_impact",
            ],
        ]
        .concat()
    );
    let files: Vec<&str> = report["checks"].as_array().unwrap()[..9]
        .iter()
        .map(|c| c["message"].as_str().unwrap())
        .collect();
    assert_eq!(files[0], "schema at base matches snapshots/pos/base.txt");
    assert_eq!(
        files[8],
        "schema at 20240101000008 matches snapshots/pos/20240101000008.txt"
    );
    assert_eq!(report["rows_per_table"], 10000);
    let tables = report["tables"].as_array().unwrap();
    assert_eq!(tables.len(), 6, "every POS table is seeded");
    for table in tables {
        assert_eq!(table["rows_before"], 10000, "{table}");
        assert_eq!(table["rows_after"], 10000, "{table}");
        assert_eq!(table["checksum_before"], table["checksum_after"], "{table}");
    }
    assert_eq!(report["steps"][7]["from"], "20240101000007");
    assert_eq!(report["steps"][7]["to"], "20240101000008");
}

#[test]
fn cycle_over_a_chosen_range_reports_it_and_writes_the_json_report() {
    let sandbox = Sandbox::new();
    let report_file = tempfile::NamedTempFile::new().unwrap();
    let report_path = report_file.path().display().to_string();
    let run = sandbox.run(&[
        "cycle",
        "-m",
        &fixture("pos"),
        "--from",
        "20240101000002",
        "--to",
        "-2",
        "--no-full",
        "--report",
        &report_path,
    ]);
    assert_eq!(run.code, 0, "{}", run.output());
    assert!(
        run.stdout.contains(
            "downgrade of 20240101000003..20240101000006 restored the schema of 20240101000002"
        ),
        "{}",
        run.stdout
    );
    let written: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(report_file.path()).unwrap()).unwrap();
    assert_eq!(written["verdict"], "pass");
    assert_eq!(
        written["steps"].as_array().unwrap().len(),
        4,
        "--no-full skips the trip to base"
    );
}

#[test]
fn stairway_passes_on_the_pos_fixture() {
    let sandbox = Sandbox::new();
    let run = sandbox.gate("stairway", "pos", &["--snapshots", "snapshots/pos"]);
    assert_eq!(run.code, 0, "{}", run.output());
    let report = run.json();
    assert_eq!(report["verdict"], "pass");
    assert_eq!(
        step_statuses(&report).len(),
        8 * 3,
        "up, down and up for each of 8 revisions"
    );
    assert_eq!(
        report["checks"].as_array().unwrap().len(),
        8 * 3 + 1,
        "and base against its file"
    );
}

#[test]
fn a_downgrade_that_leaves_an_index_is_named() {
    let sandbox = Sandbox::new();
    for command in ["cycle", "stairway"] {
        let run = sandbox.gate(command, "broken-leftover-index", &[]);
        assert_eq!(run.code, 1, "{}", run.output());
        assert_eq!(
            failed_checks(&run.json()),
            ["downgrade of 20240105 left index public.ix_orders_store_id behind"],
            "{command}"
        );
    }
}

#[test]
fn a_downgrade_that_leaves_an_enum_type_is_named() {
    let sandbox = Sandbox::new();
    let run = sandbox.run(&["cycle", "-m", &fixture("broken-leftover-enum")]);
    assert_eq!(run.code, 1, "{}", run.output());
    assert!(
        run.stdout
            .contains("downgrade of 20240102 left type public.ticket_priority behind"),
        "{}",
        run.output()
    );
    assert!(
        run.stdout.contains("+type public.ticket_priority"),
        "the text report shows the diff:\n{}",
        run.stdout
    );
}

#[test]
fn a_syntax_error_is_a_failed_step_naming_the_revision() {
    let sandbox = Sandbox::new();
    let run = sandbox.gate("cycle", "broken-syntax-error", &[]);
    assert_eq!(run.code, 1, "{}", run.output());
    let report = run.json();
    assert_eq!(step_statuses(&report), ["ok", "error"]);
    let error = report["steps"][1]["error"].as_str().unwrap();
    assert!(
        error.starts_with("20240102 failed: syntax error at or near \"TABLEE\""),
        "{error}"
    );
}

#[test]
fn a_missing_down_migration_is_a_finding_naming_the_version() {
    let sandbox = Sandbox::new();
    let run = sandbox.gate("cycle", "broken-no-down", &[]);
    assert_eq!(run.code, 1, "{}", run.output());
    let report = run.json();
    assert_eq!(step_statuses(&report), ["ok", "ok", "error"]);
    assert_eq!(
        report["steps"][2]["error"],
        "20240102 has no down migration, so it cannot be reverted"
    );
}

#[test]
fn a_step_over_budget_is_cancelled_at_the_budget() {
    let sandbox = Sandbox::new();
    let run = sandbox.gate("cycle", "broken-slow", &["--budget", "2"]);
    assert_eq!(run.code, 1, "{}", run.output());
    let report = run.json();
    assert_eq!(step_statuses(&report), ["ok", "over_budget"]);
    assert_eq!(
        report["steps"][1]["error"],
        "20240102 ran past the budget of 2s and was cancelled"
    );
    let seconds = report["steps"][1]["seconds"].as_f64().unwrap();
    assert!(
        (2.0..4.0).contains(&seconds),
        "the step was stopped at {seconds}s"
    );
    // The migration sleeps 60 s; the run must end a few seconds after the budget.
    assert!(run.elapsed.as_secs_f64() < 10.0, "took {:?}", run.elapsed);
}

#[test]
fn the_schema_is_checked_against_committed_snapshot_files() {
    let sandbox = Sandbox::new();
    let edited = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(common::repo_path("snapshots/pos"))
        .unwrap()
        .flatten()
    {
        let text = std::fs::read_to_string(entry.path()).unwrap();
        // As if the committed head snapshot predates the partial index.
        let text = text.replace(
            "index public.ix_payments_paid_at",
            "index public.ix_payments_paid_on",
        );
        std::fs::write(edited.path().join(entry.file_name()), text).unwrap();
    }
    std::fs::remove_file(edited.path().join("20240101000007.txt")).unwrap();
    let dir = edited.path().display().to_string();
    let run = sandbox.gate("cycle", "pos", &["--snapshots", &dir]);
    assert_eq!(run.code, 1, "{}", run.output());
    let failed = failed_checks(&run.json());
    assert_eq!(failed.len(), 2, "{failed:?}");
    assert!(
        failed[0].starts_with("no committed snapshot for 20240101000007"),
        "{}",
        failed[0]
    );
    assert!(
        failed[1].ends_with(
            "index public.ix_payments_paid_at not in the file; index public.ix_payments_paid_on missing from the database"
        ),
        "{}",
        failed[1]
    );
}

#[test]
fn a_downgrade_that_undoes_nothing_is_caught_for_every_kind_of_object() {
    let run = Sandbox::new().gate(
        "cycle",
        "broken-leaves-everything",
        &["--rows", "0", "--no-full"],
    );
    assert_eq!(run.code, 1, "{}", run.output());
    let report = run.json();
    let failed = failed_checks(&report);
    assert_eq!(
        failed,
        ["downgrade of 20240102 left aggregate public.till_total(integer), collation public.case_blind, \
          rule public.tills.tills_keep, statistics public.tills_opened_closed, table public.till_scratch, \
          type public.float_span behind; changed table public.tills"]
    );
    let diff = report["checks"][0]["details"]["diff"].as_str().unwrap();
    for line in [
        "+  grant SELECT to public",
        "+  with (fillfactor=70)",
        "+  column opened integer statistics 500",
        "+  range over double precision opclass float8_ops subdiff float8mi",
        "+  provider i locale und-u-ks-level2 nondeterministic",
        "+    sfunc int4pl stype integer initcond '0'",
        "+  unlogged",
        "+  comment 'tills are never deleted'",
    ] {
        assert!(diff.contains(line), "the diff lacks {line:?}:\n{diff}");
    }
}

#[test]
fn the_markdown_report_names_the_failure_in_its_first_lines() {
    let sandbox = Sandbox::new();
    let out = tempfile::tempdir().unwrap();
    let file = out.path().join("comment.md");
    let run = sandbox.run(&[
        "cycle",
        "-m",
        &fixture("broken-leftover-index"),
        "--rows",
        "100",
        "--format",
        "markdown",
        "--markdown",
        &file.display().to_string(),
    ]);
    assert_eq!(run.code, 1, "{}", run.output());
    let opening: Vec<&str> = run.stdout.lines().take(6).collect();
    assert_eq!(opening[0], "<!-- migverify-report -->");
    assert_eq!(opening[1], "## migverify cycle: ❌ FAIL");
    assert_eq!(
        opening[5],
        "**Failed:** schema_roundtrip: downgrade of 20240105 left index public.ix_orders_store_id behind"
    );
    assert!(run.stdout.contains(
        "### Schema diff (20240101 → 20240105)\n\n```diff\n--- 20240101\n+++ 20240105\n"
    ));
    assert_eq!(std::fs::read_to_string(&file).unwrap(), run.stdout);
}

#[test]
fn progress_shows_on_a_terminal_and_never_in_piped_output() {
    let sandbox = Sandbox::new();
    // Piped: the JSON alone on stdout, no bar and no control sequence on stderr.
    let run = sandbox.gate("cycle", "pos", &["--rows", "20000", "--no-full"]);
    assert_eq!(run.code, 0, "{}", run.output());
    run.json();
    assert!(!run.stderr.contains('\u{1b}'), "{}", run.stderr);
    assert!(!run.stderr.contains("seeding"), "{}", run.stderr);
    assert!(!run.stderr.contains("phase "), "{}", run.stderr);

    // On a terminal (`script` gives the run one): the run's phase, and under it bars for
    // seeding, checksums and steps.
    let line = format!(
        "{} cycle -m {} --rows 20000 --no-full",
        env!("CARGO_BIN_EXE_migverify"),
        fixture("pos")
    );
    let output = std::process::Command::new("script")
        .args(["-q", "-e", "-c", &line, "/dev/null"])
        .env("TMPDIR", sandbox.path())
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    let shown = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{shown}");
    for bar in [
        "phase 2 of 8: seeding",
        "phase 5 of 8: checksum pass 2",
        "phase 8 of 8: upgrade of 20240101000008 again",
        "seeding public.orders",
        "checksum public.orders",
        "upgrade 20240101000007 → 20240101000008",
    ] {
        assert!(shown.contains(bar), "no {bar:?} bar in:\n{shown}");
    }
    sandbox.assert_nothing_left();
}

#[test]
fn a_huge_schema_diff_is_cut_under_the_comment_limit() {
    let project = tempfile::tempdir().unwrap();
    let tables = 800;
    let create: String = (0..tables)
        .map(|i| {
            format!(
                "CREATE TABLE t{i} (id bigint PRIMARY KEY, name text NOT NULL, at timestamptz);\n"
            )
        })
        .collect();
    let drop: String = (0..tables).map(|i| format!("DROP TABLE t{i};\n")).collect();
    for (name, sql) in [
        (
            "20240101_start.up.sql",
            "CREATE TABLE start (id int);".to_string(),
        ),
        ("20240101_start.down.sql", "DROP TABLE start;".to_string()),
        ("20240102_many.up.sql", create),
        ("20240102_many.down.sql", drop),
    ] {
        std::fs::write(project.path().join(name), sql).unwrap();
    }
    let run = Sandbox::new().run(&[
        "cycle",
        "-m",
        &project.path().display().to_string(),
        "--rows",
        "0",
        "--no-full",
        "--format",
        "markdown",
    ]);
    assert_eq!(run.code, 0, "{}", run.output());
    assert!(run.stdout.len() < 65_000, "{} characters", run.stdout.len());
    assert!(run
        .stdout
        .starts_with("<!-- migverify-report -->\n## migverify cycle: ✅ PASS\n"));
    // The diff is cut, with a note, before the closing time table.
    let note = run
        .stdout
        .lines()
        .rfind(|line| line.starts_with("_… "))
        .unwrap_or_else(|| panic!("no note of a cut in {}", run.stdout));
    assert!(
        note.starts_with("_… ") && note.contains("more diff lines ("),
        "{note}"
    );
}
