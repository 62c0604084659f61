//! Seeding and checksums: data lost or changed by a migration is caught and named, the same seed
//! gives the same data, and what the seeder writes is what the server accepts.

mod common;

use std::path::Path;

use bytes::{BufMut, BytesMut};
use common::{failed_checks, fields, fixture, Sandbox};
use migverify::data::{self, SeedOptions};
use migverify::database::{ScratchDatabase, ServerChoice};
use migverify::runner::{self, Runner, SqlxRunner, Target};
use migverify::schema;
use sqlx::PgConnection;

#[test]
fn a_round_trip_that_loses_a_column_is_named() {
    let run = Sandbox::new().gate(
        "cycle",
        "broken-roundtrip-loses-column",
        &["--rows", "2000"],
    );
    assert_eq!(run.code, 1, "{}", run.output());
    // The upgrade drops the column with its values; the down brings it back empty.
    assert_eq!(
        failed_checks(&run.json()),
        [
            "upgrade of 20240102 dropped public.customers.loyalty_note holding 1800 non-null values (allow it with --allow-change public.customers.loyalty_note)",
            "up and down over 20240102 did not restore the content of public.customers.loyalty_note"
        ]
    );
    let report = run.json();
    let rows = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "data_roundtrip")
        .unwrap()["details"]["rows"]
        .clone();
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 5, "up to 5 differing rows are shown: {rows:?}");
    for row in rows {
        assert_eq!(row["table"], "public.customers");
        assert!(row["key"].as_str().unwrap().starts_with("id="), "{row}");
        assert!(
            row["before"]
                .as_str()
                .unwrap()
                .starts_with("{\"loyalty_note\":\"loyalty_note-"),
            "{row}"
        );
        assert_eq!(row["after"], "{\"loyalty_note\":null}");
    }
}

#[test]
fn a_data_migration_that_deletes_rows_is_named() {
    let run = Sandbox::new().gate("cycle", "broken-deletes-rows", &["--rows", "2000"]);
    assert_eq!(run.code, 1, "{}", run.output());
    let report = run.json();
    let failed = failed_checks(&report);
    assert!(
        failed[0].starts_with("upgrade of 20240102 left "),
        "{failed:?}"
    );
    assert!(
        failed[0].ends_with(" of the 2000 rows of public.receipts"),
        "{failed:?}"
    );
    let receipts = &report["tables"][0];
    assert_eq!(receipts["table"], "public.receipts");
    assert_eq!(receipts["rows_before"], 2000);
    assert!(receipts["rows_after"].as_u64().unwrap() < 2000);
}

#[test]
fn a_change_on_purpose_fails_unless_it_is_allowed() {
    let sandbox = Sandbox::new();
    let run = sandbox.gate("cycle", "rewrite-on-purpose", &["--rows", "2000"]);
    assert_eq!(run.code, 1, "{}", run.output());
    assert_eq!(
        failed_checks(&run.json()),
        ["upgrade of 20240102 changed the content of public.prices.amount"]
    );
    let report = run.json();
    let row = &report["checks"][report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .position(|c| c["status"] == "fail")
        .unwrap()]["details"]["rows"][0];
    let amount = |side: &str| -> i64 {
        let json: serde_json::Value = serde_json::from_str(row[side].as_str().unwrap()).unwrap();
        json["amount"].as_i64().unwrap()
    };
    assert_eq!(amount("before") * 100, amount("after"), "{row}");
    let run = sandbox.gate(
        "cycle",
        "rewrite-on-purpose",
        &["--rows", "2000", "--allow-change", "prices.amount"],
    );
    assert_eq!(run.code, 0, "{}", run.output());
}

#[test]
fn widening_a_numeric_keeps_its_values_but_narrowing_it_does_not() {
    let project = tempfile::tempdir().unwrap();
    let write = |name: &str, sql: &str| std::fs::write(project.path().join(name), sql).unwrap();
    write(
        "20240101_prices.up.sql",
        "CREATE TABLE prices (id bigint PRIMARY KEY, amount numeric(10,2) NOT NULL);",
    );
    write("20240101_prices.down.sql", "DROP TABLE prices;");
    write(
        "20240102_widen.up.sql",
        "ALTER TABLE prices ALTER COLUMN amount TYPE numeric(14,4);",
    );
    write(
        "20240102_widen.down.sql",
        "ALTER TABLE prices ALTER COLUMN amount TYPE numeric(10,2);",
    );
    let project = project.path().display().to_string();
    let sandbox = Sandbox::new();
    let gate = |extra: &[&str]| {
        let mut args = vec!["cycle", "-m", &project, "--rows", "500", "--format", "json"];
        args.extend_from_slice(extra);
        sandbox.run(&args)
    };
    // 12.50 reads 12.5000 after the widening: the same value.
    let run = gate(&[]);
    assert_eq!(run.code, 0, "{}", run.output());

    // Narrowing to one decimal rounds: a real change, named.
    std::fs::write(
        Path::new(&project).join("20240102_widen.up.sql"),
        "ALTER TABLE prices ALTER COLUMN amount TYPE numeric(10,1);",
    )
    .unwrap();
    let run = gate(&["--no-full"]);
    assert_eq!(run.code, 1, "{}", run.output());
    let report = run.json();
    assert!(
        failed_checks(&report)[0].contains("public.prices"),
        "{:?}",
        failed_checks(&report)
    );
}

#[test]
fn dropping_a_column_of_a_keyless_table_is_named_and_once_allowed_the_rest_compares_whole() {
    let project = tempfile::tempdir().unwrap();
    let write = |name: &str, sql: &str| std::fs::write(project.path().join(name), sql).unwrap();
    write(
        "20240101_labels.up.sql",
        "CREATE TABLE labels (active boolean NOT NULL, label text NOT NULL, weight int);",
    );
    write("20240101_labels.down.sql", "DROP TABLE labels;");
    write(
        "20240102_drop.up.sql",
        "ALTER TABLE labels DROP COLUMN active;",
    );
    write(
        "20240102_drop.down.sql",
        "ALTER TABLE labels ADD COLUMN active boolean NOT NULL DEFAULT false;",
    );
    let project = project.path().display().to_string();
    let sandbox = Sandbox::new();
    let gate = |extra: &[&str]| {
        let mut args = vec!["cycle", "-m", &project, "--rows", "500", "--no-full"];
        args.extend_from_slice(&["--format", "json"]);
        args.extend_from_slice(extra);
        sandbox.run(&args)
    };
    let run = gate(&[]);
    assert_eq!(
        check(&run.json(), "data_upgrade"),
        ("fail".to_string(), "upgrade of 20240102 dropped public.labels.active holding 500 non-null values (allow it with --allow-change public.labels.active)".to_string()),
        "{}",
        run.output()
    );
    // Allowed, the rows are compared whole over label and weight: the state before is read
    // again without `active`, so they match.
    let run = gate(&["--allow-change", "public.labels.active"]);
    assert_eq!(
        check(&run.json(), "data_upgrade").0,
        "pass",
        "{}",
        run.output()
    );
    let (roundtrip, message) = check(&run.json(), "data_roundtrip");
    assert_eq!(roundtrip, "fail", "{}", run.output());
    assert!(message.contains("active"), "{message}");
}

/// The status and message of the check named `name`.
fn check(report: &serde_json::Value, name: &str) -> (String, String) {
    let found = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no {name} check in {report}"));
    (
        found["status"].as_str().unwrap().to_string(),
        found["message"].as_str().unwrap().to_string(),
    )
}

/// `cycle` over a `data-*` fixture at 1000 rows: the report.
fn adversarial(fixture_name: &str, extra: &[&str]) -> serde_json::Value {
    let mut args = vec!["--rows", "1000", "--no-full"];
    args.extend_from_slice(extra);
    let run = Sandbox::new().gate("cycle", fixture_name, &args);
    let report = run.json();
    let expected = if failed_checks(&report).is_empty() {
        0
    } else {
        1
    };
    assert_eq!(run.code, expected, "{}", run.output());
    report
}

/// Asserts that the upgrade's data check failed with `message` and (when given) that its
/// evidence shows a row as `before` and `after`.
fn caught(report: &serde_json::Value, message: &str, row: Option<(&str, &str)>) {
    assert_eq!(
        check(report, "data_upgrade"),
        ("fail".to_string(), message.to_string()),
        "{report}"
    );
    let Some((before, after)) = row else { return };
    let upgrade = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "data_upgrade")
        .unwrap();
    let rows = upgrade["details"]["rows"].as_array().unwrap();
    assert!(
        rows.iter()
            .any(|r| r["before"].as_str().is_some_and(|b| b.contains(before))
                && r["after"].as_str().is_some_and(|a| a.contains(after))),
        "no row shows {before} → {after}: {rows:?}"
    );
}

fn passes(report: &serde_json::Value) {
    assert_eq!(failed_checks(report), Vec::<String>::new(), "{report}");
    assert_eq!(check(report, "data_upgrade").0, "pass");
    assert_eq!(check(report, "data_roundtrip").0, "pass");
}

#[test]
fn a_keyless_table_whose_values_move_across_rows_is_caught() {
    // Each column keeps its values; every row is another tuple.
    let report = adversarial("data-keyless-shifted", &[]);
    caught(
        &report,
        "upgrade of 20240102 changed 1000 of the 1000 rows of public.audit_log (compared as whole rows over actor, action, amount: no key matches them)",
        None,
    );
    let upgrade = &report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "data_upgrade")
        .unwrap()["details"]["rows"];
    let rows = upgrade.as_array().unwrap();
    assert_eq!(rows.len(), 10, "5 rows gone and 5 rows new: {rows:?}");
    assert!(rows.iter().all(|r| r["key"] == "whole row"));
    assert_eq!(rows.iter().filter(|r| r["after"].is_null()).count(), 5);
    assert_eq!(check(&report, "data_roundtrip").0, "fail");
}

#[test]
fn a_keyless_table_is_a_multiset_not_a_set() {
    // A row copied and another removed: the same count and the same distinct rows.
    let report = adversarial("data-keyless-duplicate", &[]);
    caught(
        &report,
        "upgrade of 20240102 changed 1 of the 1000 rows of public.tallies (compared as whole rows over tag, n: no key matches them)",
        None,
    );
    let rows = &report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "data_upgrade")
        .unwrap()["details"]["rows"];
    assert_eq!(rows[0]["before"], "{\"tag\":\"b\",\"n\":2}", "{rows}");
    assert_eq!(rows[1]["after"], "{\"tag\":\"a\",\"n\":1}", "{rows}");
}

#[test]
fn a_primary_key_moved_to_another_column_changes_no_data() {
    passes(&adversarial("data-pk-moved", &[]));
}

#[test]
fn a_primary_key_widened_to_a_composite_key_changes_no_data() {
    passes(&adversarial("data-pk-composite", &[]));
}

#[test]
fn a_dropped_column_that_held_values_is_named_with_how_to_allow_it() {
    let report = adversarial("data-drop-column", &[]);
    caught(
        &report,
        "upgrade of 20240102 dropped public.tills.label holding 1000 non-null values (allow it with --allow-change public.tills.label)",
        None,
    );
    let report = adversarial(
        "data-drop-column",
        &["--allow-change", "public.tills.label"],
    );
    assert_eq!(check(&report, "data_upgrade").0, "pass", "{report}");
}

#[test]
fn a_renamed_column_is_followed_and_emptying_it_is_caught() {
    let report = adversarial("data-rename", &[]);
    passes(&report);
    assert!(
        check(&report, "data_upgrade")
            .1
            .ends_with("(followed public.tills.label renamed to title)"),
        "{report}"
    );
    let report = adversarial("data-rename-then-null", &[]);
    caught(
        &report,
        "upgrade of 20240102 changed the content of public.tills.title (followed public.tills.label renamed to title)",
        Some(("{\"label\":\"label-", "{\"title\":null}")),
    );
}

#[test]
fn two_rows_swapping_a_value_are_caught() {
    caught(
        &adversarial("data-keyed-swap", &[]),
        "upgrade of 20240102 changed the content of public.accounts.owner",
        Some(("{\"owner\":\"owner-", "{\"owner\":\"owner-")),
    );
}

#[test]
fn null_turned_into_the_empty_string_is_caught() {
    caught(
        &adversarial("data-null-to-empty", &[]),
        "upgrade of 20240102 changed the content of public.notes.note",
        Some(("{\"note\":null}", "{\"note\":\"\"}")),
    );
}

#[test]
fn a_timestamptz_shifted_by_an_hour_is_caught() {
    caught(
        &adversarial("data-timestamptz-shift", &[]),
        "upgrade of 20240102 changed the content of public.events.happened_at",
        None,
    );
}

#[test]
fn a_changed_jsonb_value_is_caught_and_reordered_keys_are_not_a_change() {
    caught(
        &adversarial("data-jsonb-changed", &[]),
        "upgrade of 20240102 changed the content of public.documents.body",
        Some(("{\"body\":", "\"migrated\": true")),
    );
    passes(&adversarial("data-jsonb-reordered", &[]));
}

#[test]
fn text_rewritten_in_another_unicode_normalisation_is_caught() {
    caught(
        &adversarial("data-unicode-normalisation", &[]),
        "upgrade of 20240102 changed the content of public.customers.name",
        None,
    );
}

#[test]
fn widening_int_to_bigint_and_varchar_to_text_changes_no_data() {
    passes(&adversarial("data-int-to-bigint", &[]));
}

#[test]
fn the_same_seed_gives_the_same_checksums() {
    let sandbox = Sandbox::new();
    let digests = |seed: &str| -> Vec<String> {
        let run = sandbox.gate(
            "cycle",
            "pos",
            &["--rows", "500", "--no-full", "--seed", seed],
        );
        assert_eq!(run.code, 0, "{}", run.output());
        run.json()["tables"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["checksum_before"].as_str().unwrap().to_string())
            .collect()
    };
    let first = digests("7");
    assert_eq!(first.len(), 6);
    assert_eq!(first, digests("7"));
    assert_ne!(first, digests("8"));
}

/// Foreign keys are checked here because the loader skips their triggers for speed; unique,
/// not-null and check constraints the server enforces during the load itself.
async fn orphans(connection: &mut PgConnection, tables: &[schema::Table]) -> Vec<String> {
    let mut found = Vec::new();
    for table in tables {
        for fk in &table.foreign_keys {
            let join: Vec<String> = fk
                .columns
                .iter()
                .zip(&fk.referenced_columns)
                .map(|(c, r)| format!("p.\"{r}\" = c.\"{c}\""))
                .collect();
            let not_null: Vec<String> = fk
                .columns
                .iter()
                .map(|c| format!("c.\"{c}\" IS NOT NULL"))
                .collect();
            let sql = format!(
                "SELECT count(*) FROM {} c WHERE {} AND NOT EXISTS (SELECT 1 FROM {} p WHERE {})",
                table.name,
                not_null.join(" AND "),
                fk.references,
                join.join(" AND ")
            );
            let count: i64 = sqlx::query_scalar(&sql)
                .fetch_one(&mut *connection)
                .await
                .unwrap();
            if count > 0 {
                found.push(format!("{}: {count}", fk.name));
            }
        }
    }
    found
}

#[tokio::test(flavor = "multi_thread")]
async fn seeding_satisfies_every_constraint_of_the_pos_fixture_at_every_revision() {
    let database = ScratchDatabase::create(ServerChoice::Throwaway, false)
        .await
        .unwrap();
    let options = database.connect_options().clone();
    let mut runner = SqlxRunner::open(std::path::Path::new(&fixture("pos")))
        .await
        .unwrap();
    let mut connection = database.connect().await.unwrap();
    // amcheck's bt_index_check, in a schema the snapshots leave alone.
    sqlx::raw_sql("CREATE SCHEMA amcheck; CREATE EXTENSION amcheck SCHEMA amcheck")
        .execute(&mut connection)
        .await
        .unwrap();
    let revisions = runner
        .revisions()
        .walk(&Target::base(), &runner.revisions().head())
        .split_off(1);
    for revision in &revisions {
        for seed in [1, 2, 3] {
            runner::migrate(&mut runner, &options, revision)
                .await
                .unwrap();
            let tables = schema::load_tables(&mut connection, &runner.bookkeeping_tables())
                .await
                .unwrap();
            let rows = 50 * seed;
            let plan = data::plan(
                &tables,
                &SeedOptions {
                    rows,
                    table_rows: Default::default(),
                    values: Default::default(),
                    seed,
                },
            )
            .unwrap();
            let before = schema::introspect(&mut connection, &runner.bookkeeping_tables())
                .await
                .unwrap();
            data::load(&options, plan)
                .await
                .unwrap_or_else(|e| panic!("at {revision}, seed {seed}: {e}"));
            // The indexes were built after the load: the schema is the one before, object for
            // object, and every index is ready, valid and holds every row of its table.
            let after = schema::introspect(&mut connection, &runner.bookkeeping_tables())
                .await
                .unwrap();
            assert!(before == after, "at {revision}: the schema changed");
            let checked: Vec<(String, bool)> = sqlx::query_as(
                "SELECT x.indexrelid::regclass::text, x.indisready AND x.indisvalid AND x.indislive \
                 FROM pg_index x JOIN pg_class c ON c.oid = x.indexrelid \
                 JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public'",
            )
            .fetch_all(&mut connection)
            .await
            .unwrap();
            for (index, usable) in &checked {
                assert!(usable, "{index} at {revision} is not ready and valid");
                sqlx::query("SELECT amcheck.bt_index_check($1::regclass, true)")
                    .bind(index)
                    .execute(&mut connection)
                    .await
                    .unwrap_or_else(|e| panic!("{index} at {revision}: {e}"));
            }
            assert_eq!(
                orphans(&mut connection, &tables).await,
                Vec::<String>::new(),
                "at {revision}"
            );
            for table in &tables {
                let count: i64 =
                    sqlx::query_scalar(&format!("SELECT count(*) FROM {}", table.name))
                        .fetch_one(&mut connection)
                        .await
                        .unwrap();
                assert_eq!(count as u64, rows, "{} at {revision}", table.name);
            }
            runner::migrate(&mut runner, &options, &Target::base())
                .await
                .unwrap();
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_numeric_encoder_agrees_with_the_server() {
    let database = ScratchDatabase::create(ServerChoice::Throwaway, false)
        .await
        .unwrap();
    let mut connection = database.connect().await.unwrap();
    sqlx::query("CREATE TABLE n (i int, v numeric)")
        .execute(&mut connection)
        .await
        .unwrap();
    let cases: [(i128, u16, &str); 8] = [
        (1250, 2, "12.50"),
        (5, 2, "0.05"),
        (-123456789, 0, "-123456789"),
        (100000000, 4, "10000.0000"),
        (0, 2, "0.00"),
        (1, 8, "0.00000001"),
        (-99999999999, 3, "-99999999.999"),
        (12345678901234567890, 10, "1234567890.1234567890"),
    ];
    let mut copy = BytesMut::new();
    copy.put_slice(b"PGCOPY\n\xff\r\n\0");
    copy.put_i32(0);
    copy.put_i32(0);
    for (i, (unscaled, scale, _)) in cases.iter().enumerate() {
        let mut value = Vec::new();
        data::encode_numeric(*unscaled, *scale, &mut value);
        copy.put_i16(2);
        copy.put_i32(4);
        copy.put_i32(i as i32);
        copy.put_i32(value.len() as i32);
        copy.put_slice(&value);
    }
    copy.put_i16(-1);
    let mut sink = connection
        .copy_in_raw("COPY n FROM STDIN (FORMAT binary)")
        .await
        .unwrap();
    sink.send(copy.freeze()).await.unwrap();
    sink.finish().await.unwrap();
    let read: Vec<String> = sqlx::query_scalar("SELECT v::text FROM n ORDER BY i")
        .fetch_all(&mut connection)
        .await
        .unwrap();
    let expected: Vec<&str> = cases.iter().map(|c| c.2).collect();
    assert_eq!(read, expected);
}

#[tokio::test(flavor = "multi_thread")]
async fn every_generated_type_is_accepted_by_the_server() {
    let database = ScratchDatabase::create(ServerChoice::Throwaway, false)
        .await
        .unwrap();
    let mut connection = database.connect().await.unwrap();
    sqlx::raw_sql(
        "CREATE TYPE mood AS ENUM ('calm', 'busy');
         CREATE DOMAIN positive_money AS numeric(8, 3) CHECK (VALUE >= 0);
         CREATE TABLE everything (
             id smallint PRIMARY KEY, big bigint NOT NULL, small smallint, money numeric(6, 2) NOT NULL,
             loose numeric, wide positive_money NOT NULL, ratio real, precise double precision NOT NULL,
             note text, code varchar(4) NOT NULL UNIQUE, fixed char(2) NOT NULL, flag boolean NOT NULL,
             day date NOT NULL, at_time time, stamp timestamp NOT NULL, stamp_tz timestamptz,
             span interval NOT NULL, token uuid NOT NULL UNIQUE, doc json NOT NULL, docb jsonb,
             blob bytea NOT NULL, feeling mood NOT NULL, tags text[] NOT NULL, counts int[], moods mood[],
             status text NOT NULL CHECK (status IN ('new', 'done')), score int CHECK (score > 10 AND score < 20),
             label text CHECK (length(label) <= 3), doubled bigint GENERATED ALWAYS AS (big * 2) STORED,
             rating real NOT NULL CHECK (rating >= 1 AND rating <= 5),
             state varchar(8) NOT NULL CHECK (state IN ('open', 'shut')),
             serial_no serial
         );
         CREATE TABLE pairs (a int, b int, ident bigint GENERATED ALWAYS AS IDENTITY, PRIMARY KEY (a, b));
         CREATE TABLE pair_notes (id int PRIMARY KEY, a int, b int, email text NOT NULL,
             FOREIGN KEY (a, b) REFERENCES pairs (a, b));
         CREATE UNIQUE INDEX pair_notes_email ON pair_notes (email);
         CREATE TABLE accounts (id int PRIMARY KEY, active boolean NOT NULL, email text NOT NULL, UNIQUE (active, email));
         CREATE TABLE events (payload json NOT NULL, at timestamptz);",
    )
    .execute(&mut connection)
    .await
    .unwrap();
    let tables = schema::load_tables(&mut connection, &[] as &[&str])
        .await
        .unwrap();
    let plan = data::plan(
        &tables,
        &SeedOptions {
            rows: 1000,
            table_rows: Default::default(),
            values: Default::default(),
            seed: 5,
        },
    )
    .unwrap();
    data::load(database.connect_options(), plan)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let (rows, statuses, low, high, serial): (i64, i64, i32, i32, i64) = sqlx::query_as(
        "SELECT count(*), count(DISTINCT status), min(score), max(score), \
           (SELECT last_value FROM everything_serial_no_seq) FROM everything",
    )
    .fetch_one(&mut connection)
    .await
    .unwrap();
    assert_eq!((rows, statuses), (1000, 2));
    assert!(low > 10 && high < 20, "score in {low}..{high}");
    assert!(
        serial >= 1000,
        "the serial's sequence moved past the loaded values ({serial})"
    );
    // Every column of a composite reference points at one parent row (the loader skips the
    // referential triggers, so only this check would see a mismatch), identity sequences move
    // like serial ones, and a unique index is honoured like a unique constraint.
    assert_eq!(
        orphans(&mut connection, &tables).await,
        Vec::<String>::new()
    );
    let identity: i64 = sqlx::query_scalar("SELECT last_value FROM pairs_ident_seq")
        .fetch_one(&mut connection)
        .await
        .unwrap();
    assert!(
        identity >= 1000,
        "the identity's sequence moved past the loaded values ({identity})"
    );
    let emails: i64 = sqlx::query_scalar("SELECT count(DISTINCT email) FROM pair_notes")
        .fetch_one(&mut connection)
        .await
        .unwrap();
    assert_eq!(emails, 1000);
    // A table without a key checksums too, even with a column type that has no ordering.
    let checksums = data::checksum_tables(data::Readers::one(&mut connection), &tables)
        .await
        .unwrap();
    let events = checksums
        .iter()
        .find(|c| c.table == "public.events")
        .unwrap();
    assert_eq!(events.rows, 1000);

    // A key that cannot hold that many distinct values is refused before loading, by name.
    let plan = data::plan(
        &tables,
        &SeedOptions {
            rows: 40_000,
            table_rows: Default::default(),
            values: Default::default(),
            seed: 5,
        },
    );
    let error = plan
        .expect_err("smallint cannot key 40000 rows")
        .to_string();
    assert!(
        error.starts_with("cannot seed public.everything.id under everything_pkey"),
        "{error}"
    );
}

#[test]
fn seed_keeps_a_database_whose_checksums_are_the_ones_cycle_reports() {
    let sandbox = Sandbox::new();
    let pos = fixture("pos");
    let seeded = sandbox
        .command(&[
            "seed",
            "--at",
            "20240101000007",
            "--rows",
            "300",
            "--seed",
            "4",
            "-m",
            &pos,
        ])
        .output()
        .unwrap();
    let seeded = common::to_run(seeded, std::time::Duration::ZERO);
    assert_eq!(seeded.code, 0, "{}", seeded.output());
    assert!(
        seeded.stdout.contains("public.orders  300 rows"),
        "{}",
        seeded.stdout
    );
    // The URL seed prints (libpq's socket form) is one checksum takes as it is.
    let url = common::kept_line(&seeded.stderr, "its URL: ");
    let (dir, port, database) = common::kept_database(&seeded.stderr);
    assert_eq!(
        url,
        format!(
            "postgres://postgres@/{database}?host={}&port={port}",
            dir.display()
        )
    );

    // Another sandbox reads it: this one holds the kept cluster until it is stopped below.
    let reader = Sandbox::new();
    let checksums = reader.run(&["checksum", "--database-url", &url, "--format", "json"]);
    assert_eq!(checksums.code, 0, "{}", checksums.output());
    let read: std::collections::BTreeMap<String, String> = checksums
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["table"].as_str().unwrap().to_string(),
                t["digest"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let only = reader.run(&["checksum", "--database-url", &url, "--tables", "orders"]);
    assert_eq!(only.stdout.lines().count(), 1, "{}", only.stdout);
    assert!(
        only.stdout.starts_with(&format!(
            "public.orders  300 rows  sha256 {}",
            read["public.orders"]
        )),
        "{}",
        only.stdout
    );
    // And the command it prints stops the cluster and removes it.
    let stop = common::kept_line(&seeded.stderr, "stop the cluster when done: ");
    let words: Vec<&str> = stop.split_whitespace().collect();
    assert_eq!(words[..2], ["migverify", "stop"]);
    let stopped = reader.run(&words[1..]);
    assert_eq!(stopped.code, 0, "{}", stopped.output());
    assert!(!dir.exists(), "{} is still there", dir.display());
    let again = reader.run(&words[1..]);
    again.assert_one_sentence(2, "is not a cluster migverify kept");

    let gate = sandbox.gate(
        "cycle",
        "pos",
        &["--rows", "300", "--seed", "4", "--no-full"],
    );
    let reported: std::collections::BTreeMap<String, String> = gate.json()["tables"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["table"].as_str().unwrap().to_string(),
                t["checksum_before"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(read, reported);
    sandbox.assert_nothing_left();
}

#[test]
fn values_fill_a_column_whose_check_the_seeder_cannot_read() {
    let project = tempfile::tempdir().unwrap();
    let file = |name: &str, sql: &str| std::fs::write(project.path().join(name), sql).unwrap();
    file(
        "1_create_regions.up.sql",
        "CREATE TABLE regions (id int PRIMARY KEY, code text NOT NULL CHECK (code ~ '^[a-z]+-[0-9]$'));",
    );
    file("1_create_regions.down.sql", "DROP TABLE regions;");
    file(
        "2_comment_regions.up.sql",
        "COMMENT ON TABLE regions IS 'sales regions';",
    );
    file(
        "2_comment_regions.down.sql",
        "COMMENT ON TABLE regions IS NULL;",
    );
    let dir = project.path().display().to_string();
    let sandbox = Sandbox::new();

    let run = sandbox.run(&["cycle", "-m", &dir, "--rows", "100"]);
    assert_eq!(run.code, 2, "{}", run.output());
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.output());
    assert!(
        run.stderr
            .starts_with("error: seeding public.regions was refused by regions_code_check"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("--values public.regions.code=A,B,..."),
        "{}",
        run.stderr
    );

    let run = sandbox.gate(
        "cycle",
        "pos",
        &[
            "--rows",
            "10",
            "--no-full",
            "--values",
            "orders.placed_at=2024-01-01",
        ],
    );
    assert_eq!(run.code, 2, "{}", run.output());
    assert!(
        run.stderr.contains(
            "--values fills text, character, enum, json, integer and numeric columns only"
        ),
        "{}",
        run.stderr
    );

    let run = sandbox.run(&[
        "cycle",
        "-m",
        &dir,
        "--rows",
        "100",
        "--values",
        "regions.code=north-1,south-2",
        "--format",
        "json",
    ]);
    assert_eq!(run.code, 0, "{}", run.output());
    assert_eq!(run.json()["tables"][0]["rows_before"], 100);
}

#[test]
fn a_hundred_tables_in_one_wave_seed_within_the_servers_connections() {
    // No foreign key: every table loads in the same wave, and the throwaway cluster allows 50
    // connections.
    let project = tempfile::tempdir().unwrap();
    let tables: String = (0..100)
        .map(|i| format!("CREATE TABLE t{i} (id bigint PRIMARY KEY, label text NOT NULL);\n"))
        .collect();
    let drops: String = (0..100).map(|i| format!("DROP TABLE t{i};\n")).collect();
    let file = |name: &str, sql: &str| std::fs::write(project.path().join(name), sql).unwrap();
    file("1_tables.up.sql", &tables);
    file("1_tables.down.sql", &drops);
    file("2_comment.up.sql", "COMMENT ON TABLE t0 IS 'first';");
    file("2_comment.down.sql", "COMMENT ON TABLE t0 IS NULL;");
    let run = Sandbox::new().run(&[
        "cycle",
        "-m",
        &project.path().display().to_string(),
        "--rows",
        "20",
        "--no-full",
        "--format",
        "json",
    ]);
    assert_eq!(run.code, 0, "{}", run.output());
    assert_eq!(run.json()["tables"].as_array().unwrap().len(), 100);
}

#[test]
fn a_partitioned_table_is_seeded_and_checked_through_its_parent() {
    let run = Sandbox::new().gate("cycle", "partitioned", &["--rows", "1000"]);
    assert_eq!(run.code, 0, "{}", run.output());
    let tables = run.json()["tables"].clone();
    assert_eq!(
        fields(&tables, "table"),
        ["public.events"],
        "partitions are not tables of their own"
    );
    assert_eq!(tables[0]["rows_before"], 1000);

    // A list partitioned table whose partitions take none of the generated values: the seeding
    // error names the partition key.
    let project = tempfile::tempdir().unwrap();
    let file = |name: &str, sql: &str| std::fs::write(project.path().join(name), sql).unwrap();
    file(
        "1_tills.up.sql",
        "CREATE TABLE tills (id bigint NOT NULL, region text NOT NULL) PARTITION BY LIST (region);\n\
         CREATE TABLE tills_emea PARTITION OF tills FOR VALUES IN ('emea');",
    );
    file("1_tills.down.sql", "DROP TABLE tills;");
    file("2_note.up.sql", "ALTER TABLE tills ADD COLUMN note text;");
    file("2_note.down.sql", "ALTER TABLE tills DROP COLUMN note;");
    let dir = project.path().display().to_string();
    let sandbox = Sandbox::new();
    let run = sandbox.run(&["cycle", "-m", &dir, "--rows", "10"]);
    run.assert_one_sentence(2, "--values public.tills.region=A,B,...");
    let run = sandbox.run(&[
        "cycle",
        "-m",
        &dir,
        "--rows",
        "10",
        "--values",
        "tills.region=emea",
    ]);
    assert_eq!(run.code, 0, "{}", run.output());
}
