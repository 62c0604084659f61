//! The help texts are part of the interface: a change to them shows up in review as a change
//! to these snapshots (`cargo insta review`, or INSTA_UPDATE=always).

mod common;

use common::Sandbox;

fn help(args: &[&str]) -> String {
    let run = Sandbox::new().run(args);
    assert_eq!(run.code, 0, "{}", run.output());
    run.stdout
}

#[test]
fn top_level_help() {
    insta::assert_snapshot!(help(&["--help"]));
}

#[test]
fn cycle_help() {
    insta::assert_snapshot!(help(&["cycle", "--help"]));
}

#[test]
fn snapshot_and_diff_help() {
    insta::assert_snapshot!("snapshot_help", help(&["snapshot", "--help"]));
    insta::assert_snapshot!("diff_help", help(&["diff", "--help"]));
}
