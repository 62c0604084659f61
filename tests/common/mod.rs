//! Runs the real migverify binary in a sandbox: its own TMPDIR, so that a test can assert that
//! nothing (no cluster directory, no server process) is left behind.

#![allow(dead_code)] // each test binary uses its own share of these helpers

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

pub fn repo_path(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
}

pub fn fixture(name: &str) -> String {
    repo_path("migrations-fixtures")
        .join(name)
        .display()
        .to_string()
}

/// The interpreter the alembic tests run in: `<repo>/.venv`, made from
/// requirements-alembic.txt when it is missing, so that `cargo test` needs no setup.
pub fn alembic_python() -> PathBuf {
    static PYTHON: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    PYTHON
        .get_or_init(|| {
            let venv = repo_path(".venv");
            let python = venv.join("bin/python");
            let ready = |python: &Path| {
                Command::new(python)
                    .args([
                        "-c",
                        "import alembic, sqlalchemy, psycopg2, optuna, jsonschema, pytest, maturin",
                    ])
                    .status()
                    .is_ok_and(|s| s.success())
            };
            if !ready(&python) {
                let made = Command::new("python3")
                    .arg("-m")
                    .arg("venv")
                    .arg(&venv)
                    .status()
                    .unwrap();
                assert!(made.success(), "cannot create {}", venv.display());
                let installed = Command::new(&python)
                    .args(["-m", "pip", "install", "-q", "-r"])
                    .arg(repo_path("requirements-alembic.txt"))
                    .status()
                    .unwrap();
                assert!(
                    installed.success() && ready(&python),
                    "cannot install alembic into {}",
                    venv.display()
                );
            }
            python
        })
        .clone()
}

/// optuna's alembic history (10 revisions, with real defects), as its wheel ships it.
pub fn optuna_history() -> String {
    let found = Command::new(alembic_python())
        .args([
            "-c",
            "import os, optuna.storages._rdb as rdb; print(os.path.dirname(rdb.__file__))",
        ])
        .output()
        .unwrap();
    assert!(found.status.success(), "optuna is not installed");
    String::from_utf8(found.stdout).unwrap().trim().to_string()
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
}

impl Run {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", self.stdout))
    }

    pub fn output(&self) -> String {
        format!(
            "exit {}\n--- stdout\n{}\n--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }

    /// The documented exit code and exactly one line on stderr, an error naming `culprit`.
    pub fn assert_one_sentence(&self, code: i32, culprit: &str) {
        assert_eq!(self.code, code, "{}", self.output());
        assert_eq!(
            self.stderr.trim_end().lines().count(),
            1,
            "{}",
            self.output()
        );
        assert!(self.stderr.starts_with("error: "), "{}", self.output());
        assert!(self.stderr.contains(culprit), "{}", self.output());
    }
}

pub struct Sandbox {
    dir: tempfile::TempDir,
}

impl Sandbox {
    pub fn new() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("migverify-test-")
            .tempdir()
            .unwrap();
        // When the tests run as root, the cluster inside belongs to an unprivileged user, who
        // must be able to reach it.
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        Sandbox { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_migverify"));
        command
            .args(args)
            .env("TMPDIR", self.path())
            .env("NO_COLOR", "1")
            .env_remove("RUST_LOG")
            .env_remove("MIGVERIFY_DATABASE_URL")
            .env("MIGVERIFY_PYTHON", alembic_python())
            .current_dir(env!("CARGO_MANIFEST_DIR"));
        command
    }

    /// Runs migverify to the end and checks that it left nothing behind.
    pub fn run(&self, args: &[&str]) -> Run {
        let started = Instant::now();
        let output = self.command(args).output().unwrap();
        let run = to_run(output, started.elapsed());
        assert!(
            !run.stderr.contains("panicked"),
            "migverify panicked:\n{}",
            run.output()
        );
        self.assert_nothing_left();
        run
    }

    /// `migverify COMMAND -m <fixture> EXTRA… --format json`, run to the end.
    pub fn gate(&self, command: &str, fixture_name: &str, extra: &[&str]) -> Run {
        let project = fixture(fixture_name);
        let mut args = vec![command, "-m", &project];
        args.extend_from_slice(extra);
        args.extend(["--format", "json"]);
        self.run(&args)
    }

    pub fn assert_nothing_left(&self) {
        let left: Vec<PathBuf> = std::fs::read_dir(self.path())
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .collect();
        assert!(left.is_empty(), "left behind in TMPDIR: {left:?}");
        let processes = processes_mentioning(self.path());
        assert!(
            processes.is_empty(),
            "processes left running: {processes:?}"
        );
    }
}

pub fn to_run(output: Output, elapsed: Duration) -> Run {
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        elapsed,
    }
}

/// Command lines of live processes that name `path` (a cluster's postgres names its data dir).
pub fn processes_mentioning(path: &Path) -> Vec<String> {
    let needle = path.display().to_string();
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter(|entry| {
            entry
                .file_name()
                .to_string_lossy()
                .chars()
                .all(|c| c.is_ascii_digit())
        })
        .filter_map(|entry| std::fs::read(entry.path().join("cmdline")).ok())
        .map(|raw| String::from_utf8_lossy(&raw).replace('\0', " "))
        .filter(|cmdline| cmdline.contains(&needle))
        .collect()
}

/// The messages of the checks that failed, for assertions that name the object.
pub fn failed_checks(report: &serde_json::Value) -> Vec<String> {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["status"] == "fail")
        .map(|c| c["message"].as_str().unwrap().to_string())
        .collect()
}

/// `field` of every item of the JSON array `items`, as strings.
pub fn fields(items: &serde_json::Value, field: &str) -> Vec<String> {
    items
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item[field].as_str().unwrap().to_string())
        .collect()
}

pub fn step_statuses(report: &serde_json::Value) -> Vec<String> {
    fields(&report["steps"], "status")
}

/// Where `--keep` said the kept database is: (socket dir, port, database).
pub fn kept_database(stderr: &str) -> (PathBuf, u16, String) {
    let line = stderr
        .lines()
        .find(|l| l.contains("connect with: psql"))
        .unwrap_or_else(|| panic!("no psql line in:\n{stderr}"));
    let words: Vec<&str> = line.split_whitespace().collect();
    let after = |flag: &str| words[words.iter().position(|w| *w == flag).unwrap() + 1];
    (
        PathBuf::from(after("-h")),
        after("-p").parse().unwrap(),
        after("-d").to_string(),
    )
}

/// What follows `label` on the lines `--keep` or seed print about a kept database.
pub fn kept_line(stderr: &str, label: &str) -> String {
    stderr
        .lines()
        .find_map(|line| line.trim().strip_prefix(label))
        .unwrap_or_else(|| panic!("no {label:?} line in:\n{stderr}"))
        .to_string()
}

/// `psql -Atc sql` on `url`: rows one per line, columns joined by `|`.
pub fn psql(url: &str, sql: &str) -> String {
    let output = Command::new("psql")
        .args([url, "-Atc", sql])
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    String::from_utf8(output.stdout).unwrap()
}

/// `pg_dump ARGS` of `url`, less the key it draws anew for each dump.
pub fn pg_dump(url: &str, args: &[&str]) -> String {
    let output = Command::new("pg_dump")
        .args(["--dbname", url])
        .args(args)
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .filter(|line| !line.starts_with("\\restrict") && !line.starts_with("\\unrestrict"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Stops a cluster that `--keep` left running and removes its directory.
pub fn stop_kept_cluster(dir: &Path) {
    let pid_file = std::fs::read_to_string(dir.join("data/postmaster.pid")).unwrap();
    let pid: i32 = pid_file.lines().next().unwrap().parse().unwrap();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGINT,
    )
    .unwrap();
    while Path::new(&format!("/proc/{pid}")).exists() {
        std::thread::sleep(Duration::from_millis(20));
    }
    std::fs::remove_dir_all(dir).unwrap();
}

/// Validates a report file against the committed schema, with the jsonschema package.
pub fn assert_valid_report(path: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let output = std::process::Command::new(alembic_python())
        .args([
            "-c",
            "import json, sys, jsonschema; jsonschema.validate(json.load(open(sys.argv[1])), json.load(open(sys.argv[2])))",
        ])
        .arg(path)
        .arg(repo_path("report.schema.json"))
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{} does not validate: {}\n{text}",
        path.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_str(&text).unwrap()
}
