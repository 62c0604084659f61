//! The Python package (issue 12): the wheel maturin builds from this repository puts
//! `migverify` on PATH in a fresh venv, with no Rust there, and its pytest plugin turns a gate's
//! checks into pytest items that pass or fail as the checks did.
//!
//! One test in its own binary: maturin's cargo build may relink target/debug/migverify, which
//! no other test may be running at that moment.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{alembic_python, fixture, repo_path, Sandbox};

fn run(command: &mut Command) -> (bool, String) {
    let output = command.output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

fn build_wheel(out: &Path) -> PathBuf {
    let maturin = alembic_python().parent().unwrap().join("maturin");
    let (ok, text) = run(Command::new(maturin)
        .args(["build", "--profile", "dev", "--out"])
        .arg(out)
        .current_dir(repo_path(".")));
    assert!(ok, "maturin build failed:\n{text}");
    std::fs::read_dir(out)
        .unwrap()
        .flatten()
        .map(|entry| entry.path())
        .find(|path| path.extension().is_some_and(|e| e == "whl"))
        .unwrap_or_else(|| panic!("no wheel in {}:\n{text}", out.display()))
}

/// A pytest project whose ini turns the plugin on for `migrations`.
fn pytest_project(dir: &Path, migrations: &str) -> PathBuf {
    let project = dir.join(Path::new(migrations).file_name().unwrap());
    std::fs::create_dir_all(&project).unwrap();
    std::fs::write(
        project.join("pytest.ini"),
        format!(
            "[pytest]\nmigverify = true\nmigverify_migrations = {migrations}\nmigverify_args = --rows 20 --no-full\n"
        ),
    )
    .unwrap();
    project
}

/// The item ids pytest reported with their outcome, `-rA` style: "PASSED migverify::…".
fn outcomes(output: &str) -> Vec<String> {
    output
        .lines()
        .filter(|line| line.starts_with("PASSED ") || line.starts_with("FAILED "))
        .map(|line| line.split(" - ").next().unwrap().to_string())
        .collect()
}

#[test]
fn the_wheel_installs_migverify_and_its_pytest_plugin_yields_one_item_per_check() {
    let work = tempfile::tempdir().unwrap();
    let wheel = build_wheel(&work.path().join("wheels"));

    let venv = work.path().join("venv");
    let (ok, text) = run(Command::new("python3").arg("-m").arg("venv").arg(&venv));
    assert!(ok, "{text}");
    let pip = venv.join("bin/pip");
    let (ok, text) = run(Command::new(&pip)
        .args(["install", "-q", "--disable-pip-version-check"])
        .arg(&wheel));
    assert!(ok, "pip install {} failed:\n{text}", wheel.display());

    // No Rust on PATH: the venv's bin and the system's only.
    let path = format!("{}:/usr/bin:/bin", venv.join("bin").display());
    let (ok, text) = run(Command::new("migverify")
        .arg("--version")
        .env("PATH", &path));
    assert!(ok, "{text}");
    assert_eq!(
        text.trim(),
        format!("migverify {}", env!("CARGO_PKG_VERSION"))
    );

    // The plugin runs the gate in the interpreter pytest runs in: give it alembic and pytest.
    let (ok, text) = run(Command::new(&pip)
        .args([
            "install",
            "-q",
            "--disable-pip-version-check",
            "pytest==8.3.4",
        ])
        .args([
            "alembic==1.20.1",
            "SQLAlchemy==2.1.9",
            "psycopg2-binary==2.9.13",
        ]));
    assert!(ok, "{text}");

    let sandbox = Sandbox::new();
    let pytest = |project: &Path| {
        run(Command::new(venv.join("bin/python"))
            .args(["-m", "pytest", "-p", "no:cacheprovider", "-rA", "-q"])
            .current_dir(project)
            .env("PATH", &path)
            .env("TMPDIR", sandbox.path())
            .env("NO_COLOR", "1")
            .env_remove("MIGVERIFY_PYTHON"))
    };

    let passing = pytest_project(work.path(), &fixture("pos-alembic"));
    let (ok, text) = pytest(&passing);
    assert!(ok, "pytest failed on a passing project:\n{text}");
    let items = outcomes(&text);
    assert!(
        items.contains(&"PASSED migverify::schema_roundtrip[0009]".to_string())
            && items.contains(&"PASSED migverify::data_upgrade[0009]".to_string()),
        "{items:?}\n{text}"
    );
    assert!(
        items.iter().all(|item| item.starts_with("PASSED ")),
        "{text}"
    );

    let failing = pytest_project(work.path(), &fixture("broken-alembic-leaves-column"));
    let (ok, text) = pytest(&failing);
    assert!(!ok, "pytest passed a failing project:\n{text}");
    let mut items = outcomes(&text);
    items.sort();
    // The downgrade leaves a column behind: the round trip's check fails, and so does the
    // upgrade after it; the data checks and the lock check pass.
    assert_eq!(
        items,
        [
            "FAILED migverify::schema_roundtrip[0002]",
            "FAILED migverify::upgrade[0001->0002]",
            "PASSED migverify::data_roundtrip[0002]",
            "PASSED migverify::data_upgrade[0002]",
            "PASSED migverify::lock_impact[0002]",
        ],
        "{text}"
    );
    // The failure text is migverify's message and its diff.
    assert!(
        text.contains("downgrade of 0002 changed table public.tills"),
        "{text}"
    );
    assert!(
        text.contains("+  column cash_float numeric(10,2)"),
        "{text}"
    );

    // A run that cannot start is one failing item that says why.
    let missing = pytest_project(work.path(), "/no/such/migrations");
    let (ok, text) = pytest(&missing);
    assert!(!ok, "{text}");
    assert_eq!(outcomes(&text), ["FAILED migverify::run"], "{text}");
    assert!(
        text.contains("migration directory /no/such/migrations does not exist"),
        "{text}"
    );
    sandbox.assert_nothing_left();
}
