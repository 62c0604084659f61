//! goose (v3, SQL migrations as its CLI runs them): `{version}_{name}.sql` holding `-- +goose Up`
//! and `-- +goose Down`; statements end at a line whose last word ends in `;`, except inside
//! `StatementBegin`/`StatementEnd`; each is sent on its own, all in one transaction with the
//! version row unless the file says `-- +goose NO TRANSACTION`. Parsing follows goose's
//! `internal/sqlparser` line by line, errors included.

use std::path::Path;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::postgres::PgConnection;

use super::{create_unless_exists, either, versions};
use super::{
    malformed, read, sql_files, Batch, Direction, Down, Migration, Recorded, Script, Tool,
};
use crate::runner::error::Result;
use crate::runner::Kind;

pub(super) struct Goose;

const TABLE: &str = "goose_db_version";

pub(super) fn discover(dir: &Path) -> Result<Vec<Migration>> {
    let mut migrations = Vec::new();
    for (file, path) in sql_files(dir)? {
        // goose's `NumericComponent`: no `_` is "no filename separator '_' found".
        let version = file
            .split_once('_')
            .and_then(|(v, _)| v.parse::<i64>().ok())
            .filter(|v| *v >= 1)
            .ok_or_else(|| {
                malformed(
                    dir,
                    format!(
                        "{file}: goose needs a name starting with a version of 1 or more and `_`"
                    ),
                )
            })?;
        let sql = read(&path)?;
        let parse = |up: bool| parse(&sql, up).map_err(|e| malformed(dir, format!("{file}: {e}")));
        let ((up, transaction), (down, _)) = (parse(true)?, parse(false)?);
        let script = |batches| Script {
            file: file.clone(),
            batches,
            transaction,
            refusal: None,
        };
        migrations.push(Migration {
            id: version.to_string(),
            description: file
                .split_once('_')
                .map_or("", |(_, d)| d)
                .trim_end_matches(".sql")
                .to_string(),
            files: vec![file.clone()],
            up: script(up),
            // No `-- +goose Down` is an empty down to goose: it deletes the version row.
            down: Down::Script(script(down)),
        });
    }
    migrations.sort_by_key(|m| m.id.parse::<i64>().expect("parsed above"));
    Ok(migrations)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    Start,
    Up,
    BeginUp,
    EndUp,
    Down,
    BeginDown,
    EndDown,
}

/// goose's `ParseSQLMigration`: the statements of one direction, and whether they run in a
/// transaction.
fn parse(sql: &str, up: bool) -> std::result::Result<(Vec<Batch>, bool), String> {
    let (mut state, mut transaction) = (State::Start, true);
    let mut statements = Vec::new();
    let mut buffer = String::new();
    // The file's line the statement in the buffer starts on.
    let mut start = 0;
    for (number, line) in (1..).zip(sql.lines()) {
        if state == State::Start && line.trim().is_empty() {
            continue;
        }
        if is_annotation(line) {
            match annotation(line)?.as_str() {
                "up" if state == State::Start => {
                    state = State::Up;
                    continue;
                }
                "up" => return Err("duplicate '-- +goose Up' annotations".into()),
                "down" if matches!(state, State::Up | State::EndUp) => {
                    if !buffer.trim().is_empty() {
                        return Err(missing_semicolon(&buffer));
                    }
                    state = State::Down;
                    continue;
                }
                "down" => return Err("must start with '-- +goose Up' annotation".into()),
                "statementbegin" => {
                    state = match state {
                        State::Up | State::EndUp => State::BeginUp,
                        State::Down | State::EndDown => State::BeginDown,
                        _ => return Err("'-- +goose StatementBegin' must be defined after '-- +goose Up' or '-- +goose Down' annotation".into()),
                    };
                    continue;
                }
                "statementend" => {
                    state = match state {
                        State::BeginUp => State::EndUp,
                        State::BeginDown => State::EndDown,
                        _ => return Err("'-- +goose StatementEnd' must be defined after '-- +goose StatementBegin'".into()),
                    };
                }
                "no transaction" => {
                    transaction = false;
                    continue;
                }
                "envsub on" => {
                    return Err(
                        "migverify does not expand `-- +goose ENVSUB ON` variables yet".into(),
                    )
                }
                "envsub off" => continue,
                other => return Err(format!("unknown annotation: {other:?}")),
            }
        }
        // Comments and blank lines before a statement are dropped; inside one they are kept.
        if buffer.is_empty() && (line.trim().starts_with("--") || line.is_empty()) {
            continue;
        }
        if !matches!(state, State::EndUp | State::EndDown) {
            if buffer.trim().is_empty() {
                start = number;
            }
            buffer.push_str(line);
            buffer.push('\n');
        }
        let this_direction = match state {
            State::Up | State::BeginUp | State::EndUp => up,
            State::Down | State::BeginDown | State::EndDown => !up,
            State::Start => return Err(format!("failed to parse migration: unexpected state on line {line:?}: must start with '-- +goose Up' annotation")),
        };
        if !this_direction {
            buffer.clear();
            continue;
        }
        match state {
            State::Up | State::Down if ends_with_semicolon(line) => {
                statements.push(Batch {
                    sql: buffer.trim().to_string(),
                    line: start,
                });
                buffer.clear();
            }
            State::EndUp | State::EndDown => {
                statements.push(Batch {
                    sql: buffer.trim().to_string(),
                    line: start,
                });
                buffer.clear();
                state = if state == State::EndUp {
                    State::Up
                } else {
                    State::Down
                };
            }
            _ => {}
        }
    }
    match state {
        State::Start => {
            return Err(
                "failed to parse migration: must start with '-- +goose Up' annotation".into(),
            )
        }
        State::BeginUp | State::BeginDown => {
            return Err(
                "failed to parse migration: missing '-- +goose StatementEnd' annotation".into(),
            )
        }
        _ => {}
    }
    if !buffer.trim().is_empty() {
        return Err(missing_semicolon(&buffer));
    }
    Ok((statements, transaction))
}

/// Whether `line` is goose's `-- +goose Up`, as goose reads annotations.
pub(super) fn announces_up(line: &str) -> bool {
    is_annotation(line) && annotation(line).is_ok_and(|a| a == "up")
}

fn is_annotation(line: &str) -> bool {
    line.trim().starts_with("--") && line.contains("+goose")
}

fn annotation(line: &str) -> std::result::Result<String, String> {
    if line.starts_with([' ', '\t']) {
        return Err(format!(
            "failed to parse annotation line {line:?}: contains leading whitespace"
        ));
    }
    Ok(line
        .replace("--", "")
        .replacen("+goose", "", 1)
        .trim()
        .to_lowercase())
}

/// goose's `endsWithSemicolon`: the last word before any word starting with `--`.
fn ends_with_semicolon(line: &str) -> bool {
    line.split_whitespace()
        .take_while(|word| !word.starts_with("--"))
        .last()
        .is_some_and(|word| word.ends_with(';'))
}

fn missing_semicolon(buffer: &str) -> String {
    let first = buffer.trim().lines().next().unwrap_or_default();
    format!("failed to parse migration: unexpected unfinished SQL query starting {first:?}: missing semicolon? (a body with `;` inside, such as a function's, needs `-- +goose StatementBegin` and `-- +goose StatementEnd` around it)")
}

#[async_trait]
impl Tool for Goose {
    fn kind(&self) -> Kind {
        Kind::Goose
    }

    fn tables(&self) -> &'static [&'static str] {
        &[TABLE]
    }

    async fn ensure(&self, connection: &mut PgConnection) -> sqlx::Result<()> {
        let ddl = format!(
            "BEGIN;
CREATE TABLE {TABLE} (
		id integer PRIMARY KEY GENERATED BY DEFAULT AS IDENTITY,
		version_id bigint NOT NULL,
		is_applied boolean NOT NULL,
		tstamp timestamp NOT NULL DEFAULT now()
	);
INSERT INTO {TABLE} (version_id, is_applied) VALUES (0, true);
COMMIT"
        );
        create_unless_exists(connection, TABLE, ddl).await
    }

    async fn recorded(
        &self,
        connection: &mut PgConnection,
        _: &[Migration],
    ) -> sqlx::Result<Recorded> {
        let query = format!(
            "SELECT version_id::text FROM {TABLE} WHERE is_applied AND version_id <> 0 ORDER BY id DESC"
        );
        versions(connection, &query).await
    }

    fn record(&self, migration: &Migration, direction: &Direction, _took: Duration) -> Vec<String> {
        let version = &migration.id;
        either(
            direction,
            format!("INSERT INTO {TABLE} (version_id, is_applied) VALUES ({version}, true)"),
            format!("DELETE FROM {TABLE} WHERE version_id={version}"),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each statement's text and line.
    fn statements(sql: &str, up: bool) -> Vec<(String, usize)> {
        let (batches, _) = parse(sql, up).unwrap();
        batches.into_iter().map(|b| (b.sql, b.line)).collect()
    }

    #[test]
    fn statements_split_as_goose_splits_them() {
        let sql = "-- leading comment\n-- +goose Up\nCREATE TABLE a (id int); -- trailing\n\
                   -- +goose StatementBegin\nCREATE FUNCTION f() RETURNS int AS $$\nBEGIN\n  RETURN 1;\nEND;\n$$ LANGUAGE plpgsql;\n-- +goose StatementEnd\n\
                   -- +goose Down\nDROP FUNCTION f;\nDROP TABLE a;\n";
        assert!(parse(sql, true).unwrap().1);
        let up = statements(sql, true);
        assert_eq!(up.len(), 2);
        assert_eq!(
            up[0],
            ("CREATE TABLE a (id int); -- trailing".to_string(), 3)
        );
        assert!(up[1].0.starts_with("CREATE FUNCTION") && up[1].0.ends_with("plpgsql;"));
        assert_eq!(up[1].1, 5);
        assert_eq!(
            statements(sql, false),
            [
                ("DROP FUNCTION f;".to_string(), 12),
                ("DROP TABLE a;".to_string(), 13)
            ]
        );
    }

    #[test]
    fn a_body_without_statement_begin_is_split_and_its_remainder_refused() {
        let sql = "-- +goose Up\nCREATE FUNCTION f() RETURNS int AS $$\nBEGIN\n  RETURN 1;\nEND\n$$ LANGUAGE plpgsql;\n";
        // goose cuts at `RETURN 1;`: the function's text is sent in two broken halves.
        assert_eq!(
            statements(sql, true)[0].0,
            "CREATE FUNCTION f() RETURNS int AS $$\nBEGIN\n  RETURN 1;"
        );
        let sql = "-- +goose NO TRANSACTION\n-- +goose Up\nCREATE TABLE a (id int)\n";
        assert!(parse(sql, true).unwrap_err().contains("missing semicolon"));
        assert!(parse(" -- +goose Up\n", true)
            .unwrap_err()
            .contains("leading whitespace"));
        assert!(
            !parse("-- +goose Up\n-- +goose NO TRANSACTION\nSELECT 1;\n", true)
                .unwrap()
                .1
        );
    }
}
