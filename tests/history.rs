//! Real histories: a stairway that carries on past every failure, a gate that reaches its range
//! whatever the history below it does, revisions declared irreversible, and seeding over rows
//! that migrations insert.

mod common;
#[path = "common/long_history.rs"]
mod long_history;

use common::{failed_checks, fields, optuna_history, Sandbox};

fn coverage(report: &serde_json::Value, field: &str) -> Vec<String> {
    report["coverage"][field]
        .as_array()
        .unwrap_or_else(|| panic!("no coverage in {report}"))
        .iter()
        .map(|v| {
            v.as_str()
                .unwrap_or_else(|| v["revision"].as_str().unwrap())
                .to_string()
        })
        .collect()
}

fn checks_named<'r>(report: &'r serde_json::Value, name: &str) -> Vec<&'r serde_json::Value> {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["name"] == name)
        .collect()
}

/// Each finding was checked by hand with plain alembic 1.20 on PostgreSQL 15:
/// - v0.9.0.a: `downgrade base` leaves the enum types studydirection and trialstate, so
///   `upgrade v0.9.0.a` again fails with DuplicateObject.
/// - v2.4.0.a: `upgrade v1.3.0.a` then `upgrade v2.4.0.a` fails (DuplicateObject: type
///   studydirection already exists: SQLAlchemy creates it again in a command of its own), while
///   `upgrade v2.4.0.a` from base in one command succeeds; its downgrade is a no-op that leaves
///   its tables behind.
/// - v3.0.0.b: its downgrade does not make trial_values.value NOT NULL again.
/// - v3.0.0.c: its downgrade raises AttributeError (IntermediateValueModel.FloatTypeEnum).
#[test]
fn one_stairway_over_optuna_names_every_defective_revision() {
    let run = Sandbox::new().run(&["stairway", "-m", &optuna_history(), "--format", "json"]);
    assert_eq!(run.code, 1, "{}", run.output());
    let report = run.json();
    assert_eq!(
        coverage(&report, "failed"),
        ["v0.9.0.a", "v2.4.0.a", "v3.0.0.b", "v3.0.0.c"]
    );
    assert_eq!(
        coverage(&report, "tested"),
        ["v1.2.0.a", "v1.3.0.a", "v2.6.0.a", "v3.0.0.a", "v3.0.0.d", "v3.2.0.a"]
    );
    assert_eq!(coverage(&report, "skipped"), Vec::<String>::new());
    let failed = failed_checks(&report);
    assert!(
        failed.iter().any(|m| m.starts_with(
            "downgrade of v0.9.0.a left type public.studydirection, type public.trialstate behind"
        )),
        "{failed:?}"
    );
    assert!(
        failed
            .iter()
            .any(|m| m.starts_with("downgrade of v2.4.0.a left ")),
        "{failed:?}"
    );
    assert!(
        failed
            .iter()
            .any(|m| m == "downgrade of v3.0.0.b changed table public.trial_values"),
        "{failed:?}"
    );
    let errors: Vec<String> = report["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["status"] == "error")
        .map(|s| {
            s["error"]
                .as_str()
                .unwrap()
                .lines()
                .next()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(errors.len(), 4, "{errors:?}");
    assert!(errors[0].starts_with("v0.9.0.a failed: ProgrammingError: (psycopg2.errors.DuplicateObject) type \"studydirection\" already exists"), "{errors:?}");
    assert!(
        errors[1]
            .starts_with("v2.4.0.a failed: ProgrammingError: (psycopg2.errors.DuplicateObject)"),
        "{errors:?}"
    );
    assert!(errors[3].starts_with("v3.0.0.c failed: AttributeError: type object 'IntermediateValueModel' has no attribute 'FloatTypeEnum'"), "{errors:?}");
    // Where a failed step left the database elsewhere, it was rebuilt in one alembic command.
    assert!(fields(&report["steps"], "name").contains(&"rebuild".to_string()));
}

/// `cycle` over optuna's history at 500 rows, without the --full leg.
fn optuna_cycle(extra: &[&str]) -> common::Run {
    let history = optuna_history();
    let mut args = vec!["cycle", "-m", &history, "--rows", "500", "--no-full"];
    args.extend_from_slice(extra);
    args.extend(["--format", "json"]);
    Sandbox::new().run(&args)
}

#[test]
fn cycle_on_optuna_reaches_its_newest_revision_past_v2_4_0_a_with_a_warning() {
    let run = optuna_cycle(&[]);
    assert_eq!(run.code, 0, "{}", run.output());
    let report = run.json();
    assert_eq!(
        (report["from"].as_str(), report["to"].as_str()),
        (Some("v3.0.0.d"), Some("v3.2.0.a"))
    );
    let history = checks_named(&report, "history");
    assert_eq!(history.len(), 1, "{report}");
    assert_eq!(history[0]["status"], "warn");
    assert!(
        history[0]["message"]
            .as_str()
            .unwrap()
            .starts_with("v2.4.0.a, outside the range under test, failed"),
        "{}",
        history[0]
    );
    assert_eq!(report["steps"][0]["status"], "warning");
    assert_eq!(report["steps"][1]["name"], "rebuild");
    assert_eq!(failed_checks(&report), Vec::<String>::new());
    assert_eq!(checks_named(&report, "data_upgrade")[0]["status"], "pass");

    // The team that wants its whole history sound says so.
    let run = optuna_cycle(&["--strict-history"]);
    assert_eq!(run.code, 1, "{}", run.output());
    assert_eq!(checks_named(&run.json(), "history")[0]["status"], "fail");
}

#[test]
fn one_stairway_over_a_long_history_reports_every_failing_revision() {
    let project = tempfile::tempdir().unwrap();
    let broken = long_history::broken(11);
    long_history::write(project.path(), 250, &broken);
    let run = Sandbox::new().run(&[
        "stairway",
        "-m",
        &project.path().display().to_string(),
        "--format",
        "json",
    ]);
    assert_eq!(run.code, 1, "{}", run.output());
    let report = run.json();
    let expected: Vec<String> = broken.iter().map(|i| i.to_string()).collect();
    assert_eq!(coverage(&report, "failed"), expected);
    assert_eq!(coverage(&report, "tested").len(), 250 - 11);
    let left: Vec<String> = failed_checks(&report);
    assert_eq!(left.len(), 11, "{left:?}");
    assert!(
        left[0].starts_with("downgrade of 1 left type public.kind_1 behind"),
        "{left:?}"
    );
}

#[test]
fn a_revision_declared_irreversible_by_a_pattern_is_skipped_by_stairway_and_fails_cycle() {
    let sandbox = Sandbox::new();
    let pattern = ["--irreversible", "RuntimeError: Cannot downgrade"];
    let run = sandbox.gate("stairway", "alembic-irreversible-by-pattern", &pattern);
    assert_eq!(run.code, 0, "{}", run.output());
    let report = run.json();
    assert_eq!(
        checks_named(&report, "irreversible")[0]["message"],
        "0002 is declared irreversible, so its round trip is not tested"
    );
    assert_eq!(report["steps"][4]["status"], "warning", "{report}");
    assert!(report["steps"][4]["error"]
        .as_str()
        .unwrap()
        .contains("matches the irreversible pattern"));

    // Undeclared, the RuntimeError is a failed downgrade like any other.
    let run = sandbox.gate("stairway", "alembic-irreversible-by-pattern", &[]);
    assert_eq!(run.code, 1, "{}", run.output());

    // The range under test needs its downgrade: cycle fails, naming it.
    let run = sandbox.gate(
        "cycle",
        "alembic-irreversible-by-pattern",
        &[&["--rows", "100"][..], &pattern].concat(),
    );
    assert_eq!(run.code, 1, "{}", run.output());
    let error = run.json()["steps"][2]["error"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(error.starts_with("0002 is irreversible: its downgrade fails with RuntimeError: Cannot downgrade past revision 0002"), "{error}");
}

#[test]
fn a_sql_down_with_no_statement_is_a_declared_way_of_no_return() {
    let sandbox = Sandbox::new();
    let revisions = sandbox.run(&["revisions", "-m", &common::fixture("sqlx-empty-down")]);
    assert!(
        revisions.stdout.lines().nth(1).unwrap().contains("no-down"),
        "{}",
        revisions.stdout
    );
    let run = sandbox.gate("stairway", "sqlx-empty-down", &[]);
    assert_eq!(run.code, 0, "{}", run.output());
    assert_eq!(checks_named(&run.json(), "irreversible").len(), 1);
    let run = sandbox.gate("cycle", "sqlx-empty-down", &["--rows", "100"]);
    assert_eq!(run.code, 1, "{}", run.output());
    assert!(run.json()["steps"][2]["error"]
        .as_str()
        .unwrap()
        .starts_with("20240102 is irreversible: its down file holds no statement"));
}

#[test]
fn seeding_keeps_rows_migrations_inserted_and_fills_a_one_row_table() {
    let sandbox = Sandbox::new();
    let run = sandbox.gate(
        "cycle",
        "seed-over-inserted-rows",
        &["--rows", "300", "--no-full"],
    );
    assert_eq!(run.code, 0, "{}", run.output());
    let report = run.json();
    let rows: std::collections::BTreeMap<String, u64> = report["tables"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["table"].as_str().unwrap().to_string(),
                t["rows_before"].as_u64().unwrap(),
            )
        })
        .collect();
    // The default group stays beside the 300 seeded; version_info keeps its one row and gets
    // no other; settings, pinned to id = 1, gets one.
    assert_eq!(rows["public.groups"], 301);
    assert_eq!(rows["public.members"], 300);
    assert_eq!(rows["public.version_info"], 1);
    assert_eq!(rows["public.settings"], 1);
}

#[test]
fn a_check_the_seeder_cannot_read_is_named_with_its_real_column() {
    let project = tempfile::tempdir().unwrap();
    std::fs::write(
        project.path().join("20240101_codes.up.sql"),
        "CREATE FUNCTION is_code(text) RETURNS boolean LANGUAGE sql IMMUTABLE AS $$ SELECT $1 ~ '^[A-Z]{3}$' $$;\n\
         CREATE TABLE codes (id bigint PRIMARY KEY, code text NOT NULL CHECK (is_code(code)));",
    )
    .unwrap();
    std::fs::write(
        project.path().join("20240101_codes.down.sql"),
        "DROP TABLE codes; DROP FUNCTION is_code;",
    )
    .unwrap();
    std::fs::write(
        project.path().join("20240102_notes.up.sql"),
        "ALTER TABLE codes ADD COLUMN note text;",
    )
    .unwrap();
    std::fs::write(
        project.path().join("20240102_notes.down.sql"),
        "ALTER TABLE codes DROP COLUMN note;",
    )
    .unwrap();
    let run = Sandbox::new().run(&[
        "cycle",
        "-m",
        &project.path().display().to_string(),
        "--rows",
        "10",
    ]);
    run.assert_one_sentence(
        2,
        "give the column it checks its values with --values public.codes.code=A,B,...",
    );
}
