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

pub fn step_statuses(report: &serde_json::Value) -> Vec<String> {
    report["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["status"].as_str().unwrap().to_string())
        .collect()
}
