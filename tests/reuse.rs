//! A checksum is kept from one pass to the next only for a table the server proves untouched
//! (issue 14). Each adversarial change below must make its table be read again, and be caught
//! where it changed the data; a table beside it that nothing touched keeps its checksum, so the
//! reuse is really on.

mod common;

use migverify::data::{self, Readers, Reuse, TableChecksum};
use migverify::database::{ScratchDatabase, ServerChoice};
use migverify::schema;
use sqlx::PgConnection;

const SCHEMA: &str = "
    DROP SCHEMA public CASCADE; CREATE SCHEMA public;
    CREATE TYPE kind AS ENUM ('a', 'b');
    CREATE TABLE items (id int PRIMARY KEY, label text, kind kind, code varchar(10));
    CREATE TABLE audit (id serial PRIMARY KEY, item_id int, note text);
    CREATE UNLOGGED TABLE cache (id int PRIMARY KEY, v text);
    CREATE TABLE untouched (id int PRIMARY KEY, v text);
    INSERT INTO items SELECT g, 'l' || g, CASE WHEN g % 2 = 0 THEN 'a' ELSE 'b' END::kind, 'c' || g
      FROM generate_series(1, 1000) g;
    INSERT INTO audit (item_id, note) SELECT g, 'n' FROM generate_series(1, 100) g;
    INSERT INTO cache SELECT g, 'v' FROM generate_series(1, 100) g;
    INSERT INTO untouched SELECT g, 'v' FROM generate_series(1, 100) g;";

/// (what the step does, its SQL, the table it touched, whether that table's data changed)
const CASES: [(&str, &str, &str, bool); 8] = [
    (
        "an UPDATE of one row",
        "UPDATE items SET label = 'changed' WHERE id = 1",
        "public.items",
        true,
    ),
    (
        "a DELETE and the same row inserted again",
        "DELETE FROM items WHERE id = 1; INSERT INTO items VALUES (1, 'l1', 'b', 'c1')",
        "public.items",
        false,
    ),
    ("a TRUNCATE", "TRUNCATE audit", "public.audit", true),
    (
        "an enum label renamed",
        "ALTER TYPE kind RENAME VALUE 'a' TO 'alpha'",
        "public.items",
        true,
    ),
    (
        "a varchar widened, which does not rewrite",
        "ALTER TABLE items ALTER COLUMN code TYPE varchar(20)",
        "public.items",
        false,
    ),
    (
        "a trigger that writes to another table",
        "CREATE FUNCTION note_touch() RETURNS trigger LANGUAGE plpgsql AS \
           $$BEGIN INSERT INTO audit (item_id, note) VALUES (NEW.id, 'touched'); RETURN NEW; END$$; \
         CREATE TRIGGER noted AFTER UPDATE ON items FOR EACH ROW EXECUTE FUNCTION note_touch(); \
         UPDATE items SET label = label WHERE id = 1",
        "public.audit",
        true,
    ),
    (
        "a write to an unlogged table, which leaves no WAL",
        "UPDATE cache SET v = 'changed' WHERE id = 1",
        "public.cache",
        true,
    ),
    (
        "a step that fails and rolls back",
        "DO $$BEGIN INSERT INTO audit (item_id, note) VALUES (1, 'x'); RAISE 'failed'; END$$",
        "public.audit",
        false,
    ),
];

async fn pass(
    connection: &mut PgConnection,
    reuse: &mut Reuse,
    earlier: Option<&[TableChecksum]>,
) -> Vec<TableChecksum> {
    let tables = schema::load_tables(connection, &[] as &[&str])
        .await
        .unwrap();
    let readers = Readers {
        connection,
        beside: None,
        reuse: Some(reuse),
    };
    match earlier {
        Some(earlier) => data::checksum_tables_following(readers, &tables, earlier, &|_, _| false)
            .await
            .unwrap(),
        None => data::checksum_tables(readers, &tables).await.unwrap(),
    }
}

fn table<'c>(checksums: &'c [TableChecksum], name: &str) -> &'c TableChecksum {
    checksums.iter().find(|c| c.table == name).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_table_is_read_again_unless_the_server_proves_it_untouched() {
    let database = ScratchDatabase::create(ServerChoice::Throwaway, false)
        .await
        .unwrap();
    let mut connection = database.connect().await.unwrap();
    // The cluster commits asynchronously; with the WAL writer this slow, a step's records are
    // not on disk when the next pass looks unless migverify flushes them itself.
    for sql in [
        "ALTER SYSTEM SET wal_writer_delay = '10s'",
        "SELECT pg_reload_conf()",
    ] {
        sqlx::raw_sql(sql).execute(&mut connection).await.unwrap();
    }
    let mut reuse = Reuse::new(database.connect_wal_reader().await.unwrap());
    for (what, sql, touched, changed) in CASES {
        sqlx::raw_sql(SCHEMA)
            .execute(&mut connection)
            .await
            .unwrap();
        let first = pass(&mut connection, &mut reuse, None).await;
        assert!(first.iter().all(|c| !c.reused), "{what}: nothing read yet");
        // The step, as a migration runner would run it: on a session of its own.
        let mut step = database.connect().await.unwrap();
        let outcome = sqlx::raw_sql(sql).execute(&mut step).await;
        assert_eq!(
            outcome.is_err(),
            what.contains("fails"),
            "{what}: {outcome:?}"
        );
        drop(step);
        let second = pass(&mut connection, &mut reuse, Some(&first)).await;

        assert!(
            table(&second, "public.untouched").reused,
            "{what}: the table nothing touched was read again"
        );
        let (before, after) = (table(&first, touched), table(&second, touched));
        assert!(!after.reused, "{what}: {touched} was not read again");
        let same = before.rows == after.rows
            && before.digest == after.digest
            && before.columns == after.columns;
        assert_eq!(!same, changed, "{what}: {before:?} → {after:?}");
    }
}

/// The tables of the phase `name` of a report, by name: (table, reused).
fn phase_tables(report: &serde_json::Value, name: &str) -> Vec<(String, bool)> {
    let phase = report["phases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == name)
        .unwrap_or_else(|| panic!("no phase {name} in {report}"));
    phase["tables"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            let table = t["table"].as_str().unwrap().to_string();
            (table, t["reused"].as_bool().unwrap())
        })
        .collect()
}

#[test]
fn a_cycle_reads_only_the_tables_its_steps_touched() {
    // POS's newest revision builds an index CONCURRENTLY: it writes no table, so the passes
    // after its upgrade and its downgrade keep every checksum; the verdict is unchanged.
    let run = common::Sandbox::new().gate("cycle", "pos", &["--rows", "2000"]);
    assert_eq!(run.code, 0, "{}", run.output());
    let report = run.json();
    let reused = |pass: usize| {
        let tables = phase_tables(&report, &format!("checksum pass {pass}"));
        assert_eq!(tables.len(), 6, "{report}");
        tables.iter().filter(|(_, reused)| *reused).count()
    };
    assert_eq!(reused(1), 0);
    assert_eq!(reused(2), 6, "{report}");
    assert_eq!(reused(3), 6, "{report}");
    assert!(
        !report["phases"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["name"] == "checksum pass 4"),
        "{report}"
    );

    // A data migration's table is read again: 20240101000005 adds orders.item_count and
    // backfills it, keeping every earlier column.
    let run = common::Sandbox::new().gate(
        "cycle",
        "pos",
        &[
            "--from",
            "20240101000004",
            "--to",
            "20240101000005",
            "--rows",
            "2000",
            "--no-full",
        ],
    );
    let report = run.json();
    let second = phase_tables(&report, "checksum pass 2");
    assert!(
        second.contains(&("public.orders".to_string(), false)),
        "{second:?}"
    );
    assert_eq!(run.code, 0, "{}", run.output());
}
