//! dbmate (v2): `{version}_{name}.sql` with a `-- migrate:up` and a `-- migrate:down` section,
//! each sent whole as one multi-statement query, in a transaction with the version row unless
//! its directive says `transaction:false`. A file without a down section does not parse.

use std::path::Path;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::postgres::PgConnection;

use super::versions;
use super::Batch;
use super::{
    either, execute_all, literal, malformed, read, sql_files, Direction, Down, Migration, Recorded,
    Script, Tool,
};
use crate::runner::error::Result;
use crate::runner::Kind;

pub(super) struct Dbmate;

const TABLE: &str = "schema_migrations";

pub(super) fn discover(dir: &Path) -> Result<Vec<Migration>> {
    let mut migrations = Vec::new();
    // dbmate's `^(\d+).*\.sql$`, in file-name order.
    for (file, path) in sql_files(dir)? {
        let version: String = file.chars().take_while(char::is_ascii_digit).collect();
        if version.is_empty() {
            continue;
        }
        let sql = read(&path)?;
        let (up, down) = sections(&sql).map_err(|e| malformed(dir, format!("{file}: {e}")))?;
        let script = |section: Section| Script {
            file: file.clone(),
            batches: vec![Batch {
                sql: section.text.to_string(),
                line: section.line,
            }],
            transaction: section.transaction,
            refusal: None,
        };
        migrations.push(Migration {
            id: version.clone(),
            description: file[version.len()..]
                .trim_start_matches('_')
                .trim_end_matches(".sql")
                .to_string(),
            files: vec![file.clone()],
            up: script(up),
            down: Down::Script(script(down)),
        });
    }
    Ok(migrations)
}

/// Whether `line` is dbmate's `-- migrate:up` directive.
pub(super) fn announces_up(line: &str) -> bool {
    directive(line, "migrate:up").is_some()
}

/// A directive line: `-- migrate:up` at the start of a line, then options.
fn directive(line: &str, which: &str) -> Option<bool> {
    let rest = line.strip_prefix("--")?.trim_start().strip_prefix(which)?;
    if !(rest.is_empty() || rest.starts_with(char::is_whitespace)) {
        return None;
    }
    // `transaction:false` turns the transaction off; any other value leaves it on.
    Some(
        !rest
            .split_whitespace()
            .any(|option| option == "transaction:false"),
    )
}

/// A `migrate:up` or `migrate:down` section, from its directive line on, as dbmate keeps it.
#[derive(Debug)]
struct Section<'a> {
    text: &'a str,
    /// The file's line its directive is on.
    line: usize,
    transaction: bool,
}

fn sections(sql: &str) -> std::result::Result<(Section<'_>, Section<'_>), String> {
    let mut offset = 0;
    // Each: where its directive starts, and whether it runs in a transaction.
    let mut up: Option<(usize, bool)> = None;
    let mut down: Option<(usize, bool)> = None;
    for line in sql.split_inclusive('\n') {
        let text = line.trim_end_matches(['\n', '\r']);
        if let Some(transaction) = directive(text, "migrate:up") {
            if up.is_some() {
                return Err(
                    "migverify runs one `-- migrate:up` section per file; this file has several"
                        .into(),
                );
            }
            up = Some((offset, transaction));
        } else if let Some(transaction) = directive(text, "migrate:down") {
            match (up, down) {
                (None, _) => {
                    return Err(
                        "dbmate.ErrParseWrongOrder: `-- migrate:down` comes before `-- migrate:up`"
                            .into(),
                    )
                }
                (_, Some(_)) => {
                    return Err(
                        "dbmate.ErrParseMultipleDown: more than one `-- migrate:down`".into(),
                    )
                }
                _ => down = Some((offset, transaction)),
            }
        } else if up.is_none() && !text.trim().is_empty() && !text.trim_start().starts_with("--") {
            return Err("dbmate.ErrParseUnexpectedStmt: a statement before `-- migrate:up`".into());
        }
        offset += line.len();
    }
    let Some((up_at, up_transaction)) = up else {
        return Err("dbmate.ErrParseMissingUp: no `-- migrate:up`".into());
    };
    let Some((down_at, down_transaction)) = down else {
        return Err(
            "dbmate.ErrParseMissingDown: no `-- migrate:down` (dbmate needs one, even empty)"
                .into(),
        );
    };
    let line = |at: usize| 1 + sql[..at].matches('\n').count();
    Ok((
        Section {
            text: &sql[up_at..down_at],
            line: line(up_at),
            transaction: up_transaction,
        },
        Section {
            text: &sql[down_at..],
            line: line(down_at),
            transaction: down_transaction,
        },
    ))
}

#[async_trait]
impl Tool for Dbmate {
    fn kind(&self) -> Kind {
        Kind::Dbmate
    }

    fn tables(&self) -> &'static [&'static str] {
        &[TABLE]
    }

    async fn ensure(&self, connection: &mut PgConnection) -> sqlx::Result<()> {
        execute_all(
            connection,
            &[format!(
                "create table if not exists public.{TABLE} (version varchar primary key)"
            )],
        )
        .await
    }

    async fn recorded(
        &self,
        connection: &mut PgConnection,
        _: &[Migration],
    ) -> sqlx::Result<Recorded> {
        let query = format!("select version from public.{TABLE} order by version desc");
        versions(connection, &query).await
    }

    fn record(&self, migration: &Migration, direction: &Direction, _took: Duration) -> Vec<String> {
        let version = literal(&migration.id);
        either(
            direction,
            format!("insert into public.{TABLE} (version) values ({version})"),
            format!("delete from public.{TABLE} where version = {version}"),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_and_their_options_are_read_as_dbmate_reads_them() {
        let sql = "-- a comment\n-- migrate:up transaction:false\nCREATE INDEX CONCURRENTLY i ON t (a);\n\n-- migrate:down\nDROP INDEX i;\n";
        let (up, down) = sections(sql).unwrap();
        assert!(
            up.text.starts_with("-- migrate:up")
                && up.text.contains("CONCURRENTLY")
                && !up.text.contains("DROP")
        );
        assert!(!up.transaction && down.transaction);
        assert_eq!((up.line, down.line), (2, 5));
        assert_eq!(down.text, "-- migrate:down\nDROP INDEX i;\n");
        assert!(sections("-- migrate:up\nSELECT 1;\n")
            .unwrap_err()
            .contains("MissingDown"));
        assert!(sections("SELECT 1;\n-- migrate:up\n-- migrate:down\n")
            .unwrap_err()
            .contains("UnexpectedStmt"));
        assert!(directive("-- migrate:upx", "migrate:up").is_none());
    }
}
