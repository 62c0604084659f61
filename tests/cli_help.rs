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

#[test]
fn every_command_shows_an_example_and_every_option_a_help_line() {
    for command in [
        "revisions",
        "cycle",
        "stairway",
        "snapshot",
        "diff",
        "seed",
        "checksum",
        "completions",
        "stop",
        "stats",
    ] {
        let text = help(&[command, "--help"]);
        assert!(text.contains("\nExample"), "{command} has no example");
        for line in text.lines().filter(|l| l.trim_start().starts_with('-')) {
            let described = line
                .trim_start()
                .split("  ")
                .filter(|p| !p.is_empty())
                .count()
                > 1;
            assert!(described, "{command}: option without help: {line}");
        }
    }
}

#[test]
fn completions_are_generated_for_bash_zsh_and_fish() {
    let bash = help(&["completions", "bash"]);
    assert!(bash.contains("_migverify()"), "{bash}");
    assert!(bash.contains("--base-ref"));
    assert!(help(&["completions", "zsh"]).starts_with("#compdef migverify"));
    assert!(help(&["completions", "fish"]).contains("complete -c migverify"));
}
