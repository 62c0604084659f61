//! What a team configures once: migverify.toml, and scoping a run to the migrations a branch
//! adds (`--base-ref`).

mod common;

use std::path::Path;
use std::process::Command;

use common::{fields, fixture, Sandbox};

#[test]
fn a_wrong_key_in_migverify_toml_is_named_with_its_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("migverify.toml");
    std::fs::write(&file, "rows = 100\n[alembic]\npyhton = \"python3\"\n").unwrap();
    let run = Sandbox::new().gate("cycle", "pos", &["--config", &file.display().to_string()]);
    run.assert_one_sentence(
        2,
        &format!(
            "error: {}, line 3: unknown field `pyhton`, expected one of",
            file.display()
        ),
    );
}

#[test]
fn flags_override_migverify_toml() {
    // The fixture's file says 100 rows and a 60 s budget.
    let run = Sandbox::new().gate(
        "cycle",
        "alembic-env-database-url",
        &["--rows", "20", "--no-full"],
    );
    assert_eq!(run.code, 0, "{}", run.output());
    let report = run.json();
    assert_eq!(report["rows_per_table"], 20);
    assert_eq!(report["budget_s"], 60.0);
}

fn git(dir: &Path, args: &[&str]) {
    let status = Command::new("git")
        .args(["-c", "user.name=ci", "-c", "user.email=ci@example.com"])
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .unwrap();
    assert!(status.status.success(), "git {args:?}: {status:?}");
}

/// A git repository holding a copy of `fixture` on `main` without the files whose names start
/// with `newest`, and a branch `feature` that adds them.
fn repository_with_a_branch(fixture_name: &str, newest: &str) -> tempfile::TempDir {
    let repo = tempfile::tempdir().unwrap();
    let project = repo.path().join("migrations");
    let (mut newest_files, mut merged) = (Vec::new(), Vec::new());
    let source = Path::new(&fixture(fixture_name)).to_path_buf();
    for entry in walk(&source) {
        let relative = entry.strip_prefix(&source).unwrap().to_path_buf();
        let name = relative.file_name().unwrap().to_string_lossy().into_owned();
        if name.starts_with(newest) {
            newest_files.push(relative);
        } else {
            merged.push(relative);
        }
    }
    let copy = |relative: &Path| {
        let target = project.join(relative);
        std::fs::create_dir_all(target.parent().unwrap()).unwrap();
        std::fs::copy(source.join(relative), target).unwrap();
    };
    merged.iter().for_each(|file| copy(file));
    git(repo.path(), &["init", "-q", "-b", "main"]);
    git(repo.path(), &["add", "."]);
    git(repo.path(), &["commit", "-q", "-m", "merged migrations"]);
    git(repo.path(), &["checkout", "-q", "-b", "feature"]);
    newest_files.iter().for_each(|file| copy(file));
    git(repo.path(), &["add", "."]);
    git(repo.path(), &["commit", "-q", "-m", "add a migration"]);
    repo
}

/// Every file below `dir`, following the fixtures' symbolic links.
fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            if path.file_name().unwrap() != "__pycache__" {
                files.extend(walk(&path));
            }
        } else {
            files.push(path);
        }
    }
    files
}

/// The gate on what the checked-out branch adds compared with `main`.
fn gate_on_branch(sandbox: &Sandbox, project: &str) -> common::Run {
    sandbox.run(&[
        "cycle",
        "-m",
        project,
        "--base-ref",
        "main",
        "--rows",
        "20",
        "--no-full",
        "--format",
        "json",
    ])
}

#[test]
fn base_ref_tests_just_the_migration_a_branch_adds() {
    let repo = repository_with_a_branch("pos", "20240101000008");
    let project = repo.path().join("migrations").display().to_string();
    let sandbox = Sandbox::new();
    let run = gate_on_branch(&sandbox, &project);
    assert_eq!(run.code, 0, "{}", run.output());
    let report = run.json();
    assert_eq!(report["revisions"], serde_json::json!(["20240101000008"]));
    assert_eq!(report["from"], "20240101000007");
    assert_eq!(report["steps"][0]["to"], "20240101000007");

    // On main itself the branch adds nothing: nothing to test, and that is no failure; the
    // report says so rather than being absent.
    git(repo.path(), &["checkout", "-q", "main"]);
    let out = tempfile::tempdir().unwrap();
    let file = out.path().join("report.json");
    let file_arg = file.display().to_string();
    let run = sandbox.run(&[
        "cycle",
        "-m",
        &project,
        "--base-ref",
        "main",
        "--format",
        "json",
        "--report",
        &file_arg,
    ]);
    assert_eq!(common::assert_valid_report(&file)["verdict"], "skipped");
    assert_eq!(run.code, 0, "{}", run.output());
    assert!(
        run.stderr.contains("adds no migration compared with main"),
        "{}",
        run.stderr
    );
    let report = run.json();
    assert_eq!(report["verdict"], "skipped");
    assert_eq!(
        report["message"],
        "this branch adds no migration compared with main: nothing to test"
    );

    let run = sandbox.run(&["cycle", "-m", &project, "--base-ref", "no-such-ref"]);
    run.assert_one_sentence(2, "no-such-ref");
}

#[test]
fn a_merged_migration_edited_on_the_branch_fails_history_unchanged() {
    let repo = repository_with_a_branch("pos", "20240101000008");
    let project = repo.path().join("migrations");
    let edited = std::fs::read_dir(&project)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .find(|name| name.starts_with("20240101000003") && name.ends_with(".up.sql"))
        .unwrap();
    let path = project.join(&edited);
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, format!("{text}\n-- tidied on the branch\n")).unwrap();
    git(
        repo.path(),
        &["commit", "-q", "-am", "edit a merged migration"],
    );
    let run = gate_on_branch(&Sandbox::new(), &project.display().to_string());
    assert_eq!(run.code, 1, "{}", run.output());
    let report = run.json();
    let check = &report["checks"][0];
    assert_eq!(
        (check["name"].as_str(), check["status"].as_str()),
        (Some("history_unchanged"), Some("fail"))
    );
    let message = check["message"].as_str().unwrap();
    assert!(
        message.starts_with(&format!(
            "{edited} (revision 20240101000003), merged on main, was modified on this branch"
        )),
        "{message}"
    );

    // A merged migration deleted on the branch is named too.
    let deleted = edited.replace(".up.sql", ".down.sql");
    git(repo.path(), &["rm", "-q", &format!("migrations/{deleted}")]);
    git(
        repo.path(),
        &["commit", "-q", "-m", "delete a merged down file"],
    );
    let run = gate_on_branch(&Sandbox::new(), &project.display().to_string());
    assert_eq!(run.code, 1, "{}", run.output());
    let message = run.json()["checks"][0]["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        message.contains(&format!(
            "; {deleted}, merged on main, was deleted on this branch"
        )),
        "{message}"
    );
}

#[test]
fn an_ignored_table_is_neither_seeded_nor_checked() {
    let sandbox = Sandbox::new();
    let run = sandbox.gate(
        "cycle",
        "broken-deletes-rows",
        &["--rows", "100", "--no-full"],
    );
    assert_eq!(run.code, 1, "{}", run.output());
    let run = sandbox.gate(
        "cycle",
        "broken-deletes-rows",
        &[
            "--rows",
            "100",
            "--no-full",
            "--ignore-table",
            "public.receipts",
        ],
    );
    assert_eq!(run.code, 0, "{}", run.output());
    let tables = fields(&run.json()["tables"], "table");
    assert!(
        !tables.contains(&"public.receipts".to_string()),
        "{tables:?}"
    );
}

#[test]
fn base_ref_finds_an_alembic_revision_by_its_script() {
    let repo = repository_with_a_branch("pos-alembic", "0009");
    let project = repo.path().join("migrations").display().to_string();
    let run = Sandbox::new().run(&[
        "stairway",
        "-m",
        &project,
        "--base-ref",
        "main",
        "--format",
        "json",
    ]);
    assert_eq!(run.code, 0, "{}", run.output());
    let report = run.json();
    assert_eq!(report["revisions"], serde_json::json!(["0009"]));
    assert_eq!(report["from"], "0008");
}

#[test]
fn migverify_toml_is_found_above_the_project_up_to_the_repository_root() {
    let repo = tempfile::tempdir().unwrap();
    git(repo.path(), &["init", "-q", "-b", "main"]);
    let project = repo.path().join("service/migrations");
    std::fs::create_dir_all(project.parent().unwrap()).unwrap();
    let copied = Command::new("cp")
        .arg("-r")
        .arg(fixture("pos"))
        .arg(&project)
        .status()
        .unwrap();
    assert!(copied.success());
    let file = repo.path().join("migverify.toml");
    std::fs::write(&file, "rows = 30\n").unwrap();
    let project = project.display().to_string();
    let sandbox = Sandbox::new();
    let run = sandbox.run(&[
        "cycle",
        "-m",
        &project,
        "--no-full",
        "-v",
        "--format",
        "json",
    ]);
    assert_eq!(run.code, 0, "{}", run.output());
    assert_eq!(run.json()["rows_per_table"], 30);
    assert!(
        run.stderr
            .contains(&format!("settings read from {}", file.display())),
        "{}",
        run.stderr
    );

    // A bad key there is an error, not ignored.
    std::fs::write(&file, "rows = 30\nrowz = 5\n").unwrap();
    let run = sandbox.run(&["cycle", "-m", &project]);
    run.assert_one_sentence(2, "line 2: unknown field `rowz`");
}
