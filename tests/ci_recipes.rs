//! The CI recipes must work as written (issue 12): `action.yml` and every YAML block of the
//! README parse, each run step of the composite action names its shell, and every input of the
//! action is documented in the README.

mod common;

use std::process::Command;

use common::{alembic_python, repo_path};

/// Parses YAML documents with PyYAML (the tests' interpreter has it through optuna) and returns
/// them as JSON.
fn yaml_to_json(texts: &[String]) -> Vec<serde_json::Value> {
    let output = Command::new(alembic_python())
        .args([
            "-c",
            "import json, sys, yaml; print(json.dumps([yaml.safe_load(t) for t in json.load(sys.stdin)]))",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child
                .stdin
                .take()
                .unwrap()
                .write_all(serde_json::to_string(texts).unwrap().as_bytes())?;
            child.wait_with_output()
        })
        .unwrap();
    assert!(
        output.status.success(),
        "YAML that does not parse:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

fn readme() -> String {
    std::fs::read_to_string(repo_path("README.md")).unwrap()
}

/// The fenced ```yaml blocks of the README.
fn yaml_blocks(markdown: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in markdown.lines() {
        match &mut current {
            None if line.trim_start() == "```yaml" => current = Some(String::new()),
            Some(block) if line.trim_start() == "```" => {
                blocks.push(std::mem::take(block));
                current = None;
            }
            Some(block) => {
                block.push_str(line);
                block.push('\n');
            }
            None => {}
        }
    }
    blocks
}

#[test]
fn the_action_parses_and_every_input_is_documented() {
    let action = std::fs::read_to_string(repo_path("action.yml")).unwrap();
    let action = &yaml_to_json(&[action])[0];
    assert_eq!(action["runs"]["using"], "composite");
    let steps = action["runs"]["steps"].as_array().unwrap();
    for step in steps {
        if step.get("run").is_some() {
            assert!(
                step.get("shell").is_some(),
                "a run step without a shell: {step}"
            );
        } else {
            assert!(
                step.get("uses").is_some(),
                "a step that neither runs nor uses: {step}"
            );
        }
    }
    let readme = readme();
    let inputs = action["inputs"].as_object().unwrap();
    assert!(inputs.contains_key("migrations") && inputs.contains_key("python-requirements"));
    for (name, input) in inputs {
        assert!(
            input.get("description").is_some(),
            "input {name} has no description"
        );
        assert!(
            readme.contains(&format!("`{name}`")),
            "input {name} is not documented in README.md"
        );
    }
}

#[test]
fn every_yaml_block_of_the_readme_parses() {
    let blocks = yaml_blocks(&readme());
    assert!(blocks.len() >= 2, "{blocks:?}");
    let parsed = yaml_to_json(&blocks);
    let github = parsed
        .iter()
        .find(|doc| doc.get("jobs").is_some())
        .expect("a GitHub workflow");
    let steps = github["jobs"]["migverify"]["steps"].as_array().unwrap();
    assert!(steps.iter().any(|s| s["with"]["fetch-depth"] == 0));
    let gitlab = parsed
        .iter()
        .find(|doc| {
            doc.get("migverify")
                .is_some_and(|job| job.get("script").is_some())
        })
        .expect("a GitLab job");
    let before = gitlab["migverify"]["before_script"].to_string();
    assert!(
        before.contains("+refs/heads/$CI_MERGE_REQUEST_TARGET_BRANCH_NAME:refs/remotes/origin/"),
        "{before}"
    );
}
