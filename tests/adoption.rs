//! What a team adopting migverify expects (issue 12): the checks pytest-alembic users know
//! (one head, a down migration for every revision the gate reverts), and a report on every exit
//! that validates against report.schema.json, so a CI comment never keeps an earlier verdict.

mod common;

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::{assert_valid_report, fixture, to_run, Sandbox};

fn failed_checks(report: &serde_json::Value) -> Vec<String> {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["status"] == "fail")
        .map(|c| c["name"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn two_unmerged_heads_fail_single_head_naming_them_unless_allowed() {
    let sandbox = Sandbox::new();
    let run = sandbox.gate("cycle", "alembic-two-heads", &["--rows", "50", "--no-full"]);
    assert_eq!(run.code, 1, "{}", run.output());
    let report = run.json();
    assert_eq!(failed_checks(&report), ["single_head"]);
    let check = &report["checks"][0];
    assert_eq!(
        check["details"]["heads"],
        serde_json::json!(["0006", "0007"])
    );
    assert!(
        check["message"]
            .as_str()
            .unwrap()
            .starts_with("the history has 2 heads (0006, 0007): merge them"),
        "{check}"
    );

    let run = sandbox.gate(
        "cycle",
        "alembic-two-heads",
        &["--rows", "50", "--no-full", "--allow-heads"],
    );
    assert_eq!(run.code, 0, "{}", run.output());
    assert_eq!(run.json()["checks"][0]["status"], "pass");
}

#[test]
fn a_revision_without_a_down_on_the_way_to_base_fails_has_down() {
    let sandbox = Sandbox::new();
    let run = sandbox.gate(
        "cycle",
        "broken-alembic-silent-downgrade",
        &["--rows", "50"],
    );
    assert_eq!(run.code, 1, "{}", run.output());
    let report = run.json();
    // Every step succeeds and no schema shows it: only the revision list knows.
    assert!(report["steps"]
        .as_array()
        .unwrap()
        .iter()
        .all(|step| step["status"] == "ok"));
    assert_eq!(failed_checks(&report), ["has_down"]);
    let check = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "has_down")
        .unwrap();
    assert_eq!(check["details"]["revisions"], serde_json::json!(["0002"]));
    assert!(check["message"]
        .as_str()
        .unwrap()
        .starts_with("0002 has no down migration"));

    let run = sandbox.gate(
        "cycle",
        "broken-alembic-silent-downgrade",
        &["--rows", "50", "--irreversible-ok", "0002"],
    );
    assert_eq!(run.code, 0, "{}", run.output());
}

/// Runs `cycle` on a fixture with --report and --markdown into `out`, and returns the exit
/// code, the report (validated) and the comment.
fn with_reports(sandbox: &Sandbox, out: &Path, args: &[&str]) -> (i32, serde_json::Value, String) {
    let json = out.join("report.json");
    let markdown = out.join("comment.md");
    let _ = std::fs::remove_file(&json);
    let _ = std::fs::remove_file(&markdown);
    let (json_arg, markdown_arg) = (json.display().to_string(), markdown.display().to_string());
    let mut all = vec!["cycle"];
    all.extend_from_slice(args);
    all.extend(["--report", &json_arg, "--markdown", &markdown_arg]);
    let run = sandbox.run(&all);
    let comment = std::fs::read_to_string(&markdown).unwrap_or_default();
    assert!(
        comment.starts_with("<!-- migverify-report -->"),
        "no comment with its marker for {args:?}: {}",
        run.output()
    );
    (run.code, assert_valid_report(&json), comment)
}

#[test]
fn every_exit_leaves_a_report_that_validates() {
    let sandbox = Sandbox::new();
    let out = tempfile::tempdir().unwrap();
    let pos = fixture("pos");
    let no_down = fixture("broken-no-down");

    let (code, report, _) = with_reports(&sandbox, out.path(), &["-m", &pos, "--rows", "20"]);
    assert_eq!((code, report["verdict"].as_str()), (0, Some("pass")));
    assert_eq!(report["schema_version"], 1);

    let (code, report, _) = with_reports(&sandbox, out.path(), &["-m", &no_down]);
    assert_eq!((code, report["verdict"].as_str()), (1, Some("fail")));

    let (code, report, comment) = with_reports(&sandbox, out.path(), &["-m", &pos, "--to", "nope"]);
    assert_eq!((code, report["verdict"].as_str()), (2, Some("error")));
    assert!(
        report["message"]
            .as_str()
            .unwrap()
            .starts_with("unknown revision \"nope\""),
        "{report}"
    );
    assert!(comment.contains("ERROR"), "{comment}");

    let (code, report, _) = with_reports(
        &sandbox,
        out.path(),
        &[
            "-m",
            &pos,
            "--database-url",
            "postgres://nobody@127.0.0.1:1/none",
        ],
    );
    assert_eq!((code, report["verdict"].as_str()), (3, Some("error")));
    assert!(report["message"]
        .as_str()
        .unwrap()
        .contains("cannot reach PostgreSQL"));
}

#[test]
fn an_interrupted_run_leaves_an_error_report() {
    let sandbox = Sandbox::new();
    let out = tempfile::tempdir().unwrap();
    let json = out.path().join("report.json");
    let project = fixture("broken-slow");
    let json_arg = json.display().to_string();
    let child = sandbox
        .command(&["cycle", "-m", &project, "--report", &json_arg, "-q"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The slow migration sleeps for a minute: interrupt it while it runs.
    std::thread::sleep(Duration::from_secs(4));
    let started = Instant::now();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGINT,
    )
    .unwrap();
    let run = to_run(child.wait_with_output().unwrap(), started.elapsed());
    assert_eq!(run.code, 130, "{}", run.output());
    let report = assert_valid_report(&json);
    assert_eq!(report["verdict"], "error");
    assert!(report["message"]
        .as_str()
        .unwrap()
        .starts_with("interrupted"));
    sandbox.assert_nothing_left();
}
