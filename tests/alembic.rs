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
