//! The SQL-file tools: the POS project written for each passes the gate with the sqlx
//! project's schema, each tool's books are kept as the tool keeps them, and each tool's own
//! way to break (its broken fixture) is caught naming the revision and the object.

mod common;

use std::path::PathBuf;

use common::{failed_checks, fixture, Sandbox};

/// Each tool and its POS project.
const TOOLS: [(&str, &str); 6] = [
    ("golang-migrate", "pos-golang-migrate"),
    ("goose", "pos-goose"),
    ("dbmate", "pos-dbmate"),
    ("flyway", "pos-flyway"),
    ("diesel", "pos-diesel"),
    ("morph", "pos-morph"),
];

/// The step errors of a report.
fn step_errors(report: &serde_json::Value) -> Vec<String> {
    report["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["status"] == "error")
        .map(|s| s["error"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn every_tools_pos_project_is_detected_and_has_the_sqlx_projects_schema_at_head() {
    let sandbox = Sandbox::new();
    let sqlx = sandbox.run(&["snapshot", "-m", &fixture("pos")]);
    assert_eq!(sqlx.code, 0, "{}", sqlx.output());
    assert!(sqlx.stdout.contains("index public.ix_orders_status"));
    for (kind, project) in TOOLS {
        let snapshot = sandbox.run(&["snapshot", "-m", &fixture(project)]);
        assert_eq!(snapshot.code, 0, "{kind}: {}", snapshot.output());
        assert_eq!(snapshot.stdout, sqlx.stdout, "{kind}'s POS schema differs");
        let listing = sandbox.run(&["revisions", "-m", &fixture(project), "--format", "json"]);
        assert_eq!(listing.code, 0, "{kind}: {}", listing.output());
        assert_eq!(listing.json().as_array().unwrap().len(), 8, "{kind}");
    }
}

#[test]
fn a_diff_between_two_revisions_reads_the_same_for_goose_as_for_sqlx() {
    let sandbox = Sandbox::new();
    let range = ["20240101000005", "20240101000008"];
    let sqlx = sandbox.run(&["diff", "-m", &fixture("pos"), range[0], range[1]]);
    let goose = sandbox.run(&["diff", "-m", &fixture("pos-goose"), range[0], range[1]]);
    // A diff that finds differences exits 1, as diff(1) does.
    assert_eq!(sqlx.code, 1, "{}", sqlx.output());
    assert!(
        sqlx.stdout.contains("+  column updated_at"),
        "{}",
        sqlx.stdout
    );
    assert_eq!((goose.code, goose.stdout), (sqlx.code, sqlx.stdout));
}

#[test]
fn every_tools_pos_project_passes_the_cycle() {
    let sandbox = Sandbox::new();
    for (kind, project) in TOOLS {
        let run = sandbox.gate("cycle", project, &["--rows", "300"]);
        assert_eq!(run.code, 0, "{kind}: {}", run.output());
        let report = run.json();
        assert_eq!(report["kind"], kind);
        assert!(failed_checks(&report).is_empty());
        // The bookkeeping table is the tool's, not data under test.
        let tables = common::fields(&report["tables"], "table");
        assert!(tables.contains(&"public.orders".to_string()), "{tables:?}");
        assert!(
            tables.iter().all(|t| !t.contains("migrations")
                && !t.contains("goose")
                && !t.contains("flyway")
                && !t.contains("db_lock")),
            "{kind}: {tables:?}"
        );
    }
}

#[test]
fn every_tools_pos_project_passes_the_stairway() {
    let sandbox = Sandbox::new();
    for (kind, project) in TOOLS {
        let run = sandbox.gate("stairway", project, &["--rows", "50"]);
        assert_eq!(run.code, 0, "{kind}: {}", run.output());
        assert_eq!(
            common::step_statuses(&run.json()).len(),
            24,
            "{kind}: up, down, up for each of 8 revisions"
        );
    }
}

/// Seeds `project` at `at` on a kept cluster and returns its URL and the cluster's directory.
fn kept_at(sandbox: &Sandbox, project: &str, at: &str) -> (String, PathBuf) {
    let seeded = sandbox
        .command(&["seed", "--at", at, "--rows", "0", "-m", &fixture(project)])
        .output()
        .unwrap();
    let seeded = common::to_run(seeded, std::time::Duration::ZERO);
    assert_eq!(seeded.code, 0, "{}", seeded.output());
    let (dir, _, _) = common::kept_database(&seeded.stderr);
    (common::kept_line(&seeded.stderr, "its URL: "), dir)
}

#[test]
fn each_tools_books_are_kept_as_the_tool_keeps_them() {
    let sandbox = Sandbox::new();
    let books = [
        (
            "pos-golang-migrate",
            "SELECT version, dirty FROM schema_migrations",
        ),
        (
            "pos-goose",
            "SELECT version_id, is_applied, tstamp IS NOT NULL FROM goose_db_version ORDER BY id",
        ),
        (
            "pos-dbmate",
            "SELECT version FROM schema_migrations ORDER BY 1",
        ),
        (
            "pos-flyway",
            "SELECT installed_rank, version, description, type, script, checksum, \
             installed_by, success FROM flyway_schema_history ORDER BY 1",
        ),
        (
            "pos-diesel",
            "SELECT version FROM __diesel_schema_migrations ORDER BY 1",
        ),
        (
            "pos-morph",
            "SELECT version, name FROM db_migrations ORDER BY version; SELECT count(*) FROM db_lock",
        ),
    ];
    let mut found = Vec::new();
    for (project, query) in books {
        let (url, dir) = kept_at(&sandbox, project, "head");
        found.push(common::psql(&url, query));
        common::stop_kept_cluster(&dir);
    }
    let lines = |text: &str| text.lines().map(str::to_string).collect::<Vec<_>>();
    assert_eq!(found[0], "20240101000008|f\n");
    let goose = lines(&found[1]);
    assert_eq!(goose[0], "0|t|t");
    assert_eq!(goose[8], "20240101000008|t|t");
    assert_eq!(lines(&found[2]).len(), 8);
    assert_eq!(lines(&found[2])[0], "20240101000001");
    let flyway = lines(&found[3]);
    // Flyway's checksum of V1 (CRC-32 of its text without line breaks, signed), as Python's
    // zlib computes it.
    let v1 = std::fs::read_to_string(fixture("pos-flyway/sql/V1__create_stores.sql")).unwrap();
    let crc = crc32(&v1.replace(['\n', '\r'], "")) as i32;
    assert_eq!(
        flyway[0],
        format!("1|1|create stores|SQL|V1__create_stores.sql|{crc}|postgres|t")
    );
    assert_eq!(flyway.len(), 8);
    assert_eq!(lines(&found[4])[7], "20240101000008");
    let morph = lines(&found[5]);
    // morph stores the version cast to uint32.
    assert_eq!(
        morph[0],
        format!("{}|create_stores", 20240101000001u64 as u32)
    );
    assert_eq!(morph[8], "0", "the lease table is left empty");
    sandbox.assert_nothing_left();
}

/// CRC-32 (IEEE), as zlib computes it.
fn crc32(text: &str) -> u32 {
    let mut crc = !0u32;
    for byte in text.bytes() {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

#[test]
fn a_goose_function_body_without_statement_begin_is_caught_naming_the_function() {
    let run = Sandbox::new().gate("cycle", "broken-goose-function-body", &["--rows", "50"]);
    assert_eq!(run.code, 1, "{}", run.output());
    let errors = step_errors(&run.json());
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].starts_with("2 failed: 00002_guard_cash.sql failed at statement 1 of 6 (line 4: CREATE FUNCTION guard_cash()")
            && errors[0].contains("unterminated dollar-quoted string"),
        "{}",
        errors[0]
    );
}

#[test]
fn a_golang_migrate_file_failing_halfway_is_named_partly_applied_and_dirty() {
    let sandbox = Sandbox::new();
    let run = sandbox.gate("cycle", "broken-golang-migrate-halfway", &["--rows", "50"]);
    assert_eq!(run.code, 1, "{}", run.output());
    let errors = step_errors(&run.json());
    assert_eq!(
        errors[0],
        "2 failed: 2_add_till_region.up.sql failed at statement 5 of 7 (line 8: UPDATE tills SET region = lower(nmae)): \
         column \"nmae\" does not exist; statements 1–4 ran before it, and 1–3 stay applied (committed before the failure): \
         the migration is partly applied; golang-migrate leaves the database dirty at version 2 and refuses every later run until `migrate force`"
    );
    // The stairway rebuilds on a fresh database after the failure, where 2 fails again.
    let stairway = sandbox.gate(
        "stairway",
        "broken-golang-migrate-halfway",
        &["--rows", "50"],
    );
    assert_eq!(stairway.code, 1, "{}", stairway.output());
    let later = step_errors(&stairway.json());
    assert!(
        !later.is_empty() && later.iter().all(|e| *e == errors[0]),
        "{later:?}"
    );
    sandbox.assert_nothing_left();
}

#[test]
fn a_flyway_version_without_undo_is_irreversible_unless_accepted() {
    let sandbox = Sandbox::new();
    let run = sandbox.gate("cycle", "broken-flyway-no-undo", &["--rows", "50"]);
    assert_eq!(run.code, 1, "{}", run.output());
    assert_eq!(
        step_errors(&run.json()),
        ["2 is irreversible: Flyway has no undo file U2__*.sql for it (and Flyway Community cannot undo at all)"]
    );
    let listing = sandbox.run(&["revisions", "-m", &fixture("broken-flyway-no-undo")]);
    assert!(
        listing
            .stdout
            .lines()
            .any(|l| l.starts_with("2 ") && l.contains("no-down")),
        "{}",
        listing.stdout
    );
    let accepted = sandbox.gate(
        "cycle",
        "broken-flyway-no-undo",
        &["--rows", "50", "--irreversible-ok", "2"],
    );
    assert_eq!(accepted.code, 0, "{}", accepted.output());
}

#[test]
fn concurrently_where_the_tool_runs_a_transaction_is_caught_for_diesel_dbmate_and_morph() {
    let sandbox = Sandbox::new();
    for (project, expected) in [
        (
            "broken-diesel-concurrently",
            "20240101000002 failed: 2024-01-01-000002_index_tills/up.sql failed at statement 1 of 2 \
             (line 3: CREATE INDEX CONCURRENTLY ix_tills_name ON tills (name)): \
             CREATE INDEX CONCURRENTLY cannot run inside a transaction block",
        ),
        (
            "broken-dbmate-concurrently",
            "20240101000002 failed: 20240101000002_index_till_names.sql failed at its only statement \
             (line 3: CREATE INDEX CONCURRENTLY ix_tills_name ON tills (name)): \
             CREATE INDEX CONCURRENTLY cannot run inside a transaction block",
        ),
        (
            "broken-morph-marker",
            "2 failed: 2_index_till_names.up.sql failed at its only statement \
             (line 5: CREATE INDEX CONCURRENTLY ix_tills_name ON tills (name)): \
             CREATE INDEX CONCURRENTLY cannot run inside a transaction block",
        ),
    ] {
        let run = sandbox.gate("cycle", project, &["--rows", "50"]);
        assert_eq!(run.code, 1, "{project}: {}", run.output());
        assert_eq!(step_errors(&run.json()), [expected], "{project}");
    }
}

#[test]
fn the_kind_can_be_forced_and_an_unknown_one_is_refused() {
    let sandbox = Sandbox::new();
    // Read as goose, sqlx's files are not goose's, and goose's own parse error says why.
    let forced = sandbox.run(&["revisions", "-m", &fixture("pos"), "--kind", "goose"]);
    forced.assert_one_sentence(
        2,
        "20240101000001_create_stores.down.sql: failed to parse migration",
    );
    assert!(forced
        .stderr
        .contains("must start with '-- +goose Up' annotation"));
    let unknown = sandbox.run(&["revisions", "-m", &fixture("pos"), "--kind", "liquibase"]);
    assert_eq!(unknown.code, 2, "{}", unknown.output());
    assert!(
        unknown.stderr.contains("invalid value 'liquibase'"),
        "{}",
        unknown.stderr
    );
}

/// A real tool's binary: `$<VARIABLE>`, else `installed` (below the repository), else the
/// tool on PATH; none, and the comparison is skipped (`.ci/run` installs what it can).
fn real_tool(name: &str, variable: &str, installed: &str) -> Option<PathBuf> {
    let installed = common::repo_path(installed);
    let on_path = std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|dir| dir.join(name))
            .find(|binary| binary.is_file())
    });
    let found = std::env::var_os(variable)
        .map(PathBuf::from)
        .or_else(|| installed.is_file().then_some(installed))
        .or(on_path);
    if found.is_none() {
        eprintln!("{name} is not installed: the comparison with the real tool is skipped");
    }
    found
}

/// Runs `project` with the real tool (`real(url, revert)`: up to head, then one step down when
/// `revert`) on a database beside migverify's, and compares their schemas and `books`: at head,
/// and one revision down.
fn compare_with_the_real_tool(project: &str, books: &str, real: impl Fn(&str, bool)) {
    let sandbox = Sandbox::new();
    for at in ["head", "20240101000007"] {
        let (url, dir) = kept_at(&sandbox, project, at);
        common::psql(&url, "CREATE DATABASE real_tool");
        let database = url.split_once("@/").unwrap().1.split_once('?').unwrap().0;
        let real_url = url.replace(&format!("/{database}?"), "/real_tool?");
        real(&real_url, at != "head");
        assert_eq!(
            common::pg_dump(&url, &["--schema-only"]),
            common::pg_dump(&real_url, &["--schema-only"]),
            "{project} at {at}"
        );
        assert_eq!(
            common::psql(&url, books),
            common::psql(&real_url, books),
            "{project} at {at}"
        );
        common::stop_kept_cluster(&dir);
    }
    sandbox.assert_nothing_left();
}

/// Runs `binary ARGS`, which must succeed.
fn succeed(binary: &std::path::Path, args: &[&str]) {
    let output = std::process::Command::new(binary)
        .args(args)
        .current_dir(std::env::temp_dir())
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
}

#[test]
fn the_real_dbmate_leaves_the_same_schema_and_books_as_migverify() {
    let Some(dbmate) = real_tool(
        "dbmate",
        "MIGVERIFY_DBMATE",
        ".tools/node_modules/.bin/dbmate",
    ) else {
        return;
    };
    let migrations = fixture("pos-dbmate/db/migrations");
    let books = "SELECT version FROM schema_migrations ORDER BY 1";
    compare_with_the_real_tool("pos-dbmate", books, |url, revert| {
        // lib/pq, under dbmate, names a socket directory `socket=`.
        let url = format!("{}&sslmode=disable", url.replace("host=", "socket="));
        let dbmate = |command: &str| {
            succeed(
                &dbmate,
                &[
                    "--url",
                    &url,
                    "--migrations-dir",
                    &migrations,
                    "--no-dump-schema",
                    command,
                ],
            );
        };
        dbmate("up");
        if revert {
            dbmate("rollback");
        }
    });
}

#[test]
fn the_real_diesel_leaves_the_same_schema_and_books_as_migverify() {
    let Some(diesel) = real_tool("diesel", "MIGVERIFY_DIESEL", ".tools/diesel/bin/diesel") else {
        return;
    };
    let migrations = fixture("pos-diesel/migrations");
    let books = "SELECT version FROM __diesel_schema_migrations ORDER BY 1";
    compare_with_the_real_tool("pos-diesel", books, |url, revert| {
        let diesel = |command: &str| {
            succeed(
                &diesel,
                &[
                    "migration",
                    command,
                    "--database-url",
                    url,
                    "--migration-dir",
                    &migrations,
                ],
            );
        };
        diesel("run");
        if revert {
            diesel("revert");
        }
    });
}

/// Writes a one-revision project of `files` (name, text) and returns its directory.
fn project(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    dir
}

#[test]
fn a_syntax_error_is_placed_where_the_server_places_it_not_at_the_first_statement() {
    // PostgreSQL parses a whole query before it runs any of it: nothing ran, and the
    // statement named is the third, where the server points.
    let dir = project(&[(
        "1_tables.up.sql",
        "CREATE TABLE a (id int);\nCREATE TABLE b (id int);\nCREATE TABLLE c (id int);\n",
    )]);
    let sandbox = Sandbox::new();
    let path = dir.path().display().to_string();
    let run = sandbox.run(&[
        "cycle",
        "-m",
        &path,
        "--kind",
        "golang-migrate",
        "--rows",
        "0",
        "--format",
        "json",
    ]);
    assert_eq!(run.code, 1, "{}", run.output());
    assert_eq!(
        step_errors(&run.json()),
        ["1 failed: 1_tables.up.sql failed at statement 3 of 3 (line 3: CREATE TABLLE c (id int)): \
          syntax error at or near \"TABLLE\"; golang-migrate leaves the database dirty at version 1 \
          and refuses every later run until `migrate force`"]
    );
}

#[test]
fn a_goose_file_that_commits_itself_keeps_what_it_committed() {
    // Without a transaction of goose's, a bare BEGIN opens one the failure then rolls back:
    // the first table stays, the second does not.
    let dir = project(&[(
        "00001_tables.sql",
        "-- +goose NO TRANSACTION\n-- +goose Up\nCREATE TABLE a (id int);\nBEGIN;\nCREATE TABLE b (id int);\nSELECT 1/0;\nCOMMIT;\n-- +goose Down\nDROP TABLE a;\n",
    )]);
    let sandbox = Sandbox::new();
    let path = dir.path().display().to_string();
    let run = sandbox.run(&["cycle", "-m", &path, "--rows", "0", "--format", "json"]);
    assert_eq!(run.code, 1, "{}", run.output());
    assert_eq!(
        step_errors(&run.json()),
        ["1 failed: 00001_tables.sql failed at statement 4 of 5 (line 6: SELECT 1/0): division by zero; \
          statements 1–3 ran before it, and 1–1 stay applied (committed before the failure): the migration is partly applied"]
    );
}

#[test]
fn kinds_are_detected_as_their_tools_read_their_marks() {
    let sandbox = Sandbox::new();
    let listed = |dir: &tempfile::TempDir| {
        let path = dir.path().display().to_string();
        sandbox.run(&["revisions", "-m", &path])
    };
    // goose reads its annotations in any case and without a space after `--`.
    let goose = project(&[("00001_a.sql", "--+goose up\nCREATE TABLE a (id int);\n")]);
    let run = listed(&goose);
    assert_eq!(run.code, 0, "{}", run.output());
    assert!(run.stdout.starts_with("1 "), "{}", run.stdout);
    // Flyway skips a name it does not know, whatever letter it starts with.
    let flyway = project(&[
        ("V1__a.sql", "CREATE TABLE a (id int);\n"),
        ("Überblick.sql", "SELECT 1;\n"),
    ]);
    let run = listed(&flyway);
    assert_eq!(run.code, 0, "{}", run.output());
    assert_eq!(run.stdout.lines().count(), 1, "{}", run.stdout);
    // A Flyway version that is not digits is refused in one sentence.
    let signed = project(&[("V+1__a.sql", "SELECT 1;\n"), ("V2__b.sql", "SELECT 1;\n")]);
    listed(&signed).assert_one_sentence(2, "V+1__a.sql: Flyway versions are numbers");
}

#[test]
fn a_syntax_error_at_the_end_of_a_file_names_its_last_statement() {
    let dir = project(&[("1_tables.up.sql", "CREATE TABLE a (id int);\nSELECT 1 +\n")]);
    let sandbox = Sandbox::new();
    let path = dir.path().display().to_string();
    let run = sandbox.run(&[
        "cycle", "-m", &path, "--kind", "morph", "--rows", "0", "--format", "json",
    ]);
    assert_eq!(run.code, 1, "{}", run.output());
    assert_eq!(
        step_errors(&run.json()),
        ["1 failed: 1_tables.up.sql failed at statement 2 of 2 (line 2: SELECT 1 +): syntax error at end of input"]
    );
}

#[test]
fn a_stray_sql_file_at_the_root_does_not_hide_a_goose_project_below_it() {
    let dir = project(&[("schema.sql", "CREATE TABLE a (id int);\n")]);
    std::fs::create_dir(dir.path().join("migrations")).unwrap();
    std::fs::write(
        dir.path().join("migrations/00001_a.sql"),
        "-- +goose Up\nCREATE TABLE a (id int);\n-- +goose Down\nDROP TABLE a;\n",
    )
    .unwrap();
    let sandbox = Sandbox::new();
    let path = dir.path().display().to_string();
    let run = sandbox.run(&["cycle", "-m", &path, "--rows", "0", "--format", "json"]);
    assert_eq!(run.code, 0, "{}", run.output());
    assert_eq!(run.json()["kind"], "goose");
}
