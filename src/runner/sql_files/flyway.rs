//! Flyway (SQL migrations, as Flyway Community runs them on PostgreSQL): `V{version}__{desc}.sql`,
//! cut into statements sent one at a time, in one transaction per migration unless a statement
//! cannot run in one (`CREATE INDEX CONCURRENTLY`, `VACUUM`, …) or `V…sql.conf` says
//! `executeInTransaction=false`; each success appends a row to `flyway_schema_history`.
//! Community cannot undo: a version is reversible only through a Teams undo file
//! `U{version}__{desc}.sql`, run as Teams documents it (an `UNDO_SQL` row appended).

use std::path::Path;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::postgres::PgConnection;

use super::create_unless_exists;
use super::statements::{split, Statement};
use super::{
    literal, malformed, read, sql_files, AfterFailure, Batch, Direction, Down, Migration, Recorded,
    Script, Tool,
};
use crate::runner::error::Result;
use crate::runner::Kind;

pub(super) struct Flyway {
    /// Each file's checksum, by name, as the history records it.
    checksums: std::collections::BTreeMap<String, i32>,
}

const TABLE: &str = "flyway_schema_history";

/// A name's parts: prefix letter, version text as stored (`1_1` → `1.1`), description.
fn parse_name(file: &str) -> Option<(char, String, String)> {
    let stem = file
        .strip_suffix(".sql")
        .or_else(|| file.strip_suffix(".SQL"))?;
    let prefix = stem.chars().next()?;
    let (version, description) = stem[prefix.len_utf8()..].split_once("__")?;
    Some((
        prefix,
        version.replace('_', "."),
        description.replace('_', " "),
    ))
}

/// Flyway's version order: numeric parts, trailing zeros ignored (`1.0` is `1`).
fn version_key(version: &str) -> Option<Vec<u128>> {
    let mut parts = version
        .split('.')
        .map(|p| {
            let digits = !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
            digits.then(|| p.parse::<u128>().ok()).flatten()
        })
        .collect::<Option<Vec<_>>>()?;
    while parts.len() > 1 && parts.last() == Some(&0) {
        parts.pop();
    }
    Some(parts)
}

/// Flyway's auto-detection of a statement that cannot run in a transaction on PostgreSQL 12+.
fn needs_no_transaction(statement: &Statement) -> bool {
    [
        &["CREATE", "DATABASE"][..],
        &["DROP", "DATABASE"],
        &["CREATE", "TABLESPACE"],
        &["DROP", "TABLESPACE"],
        &["CREATE", "SUBSCRIPTION"],
        &["DROP", "SUBSCRIPTION"],
        &["ALTER", "SYSTEM"],
        &["CREATE", "INDEX", "CONCURRENTLY"],
        &["CREATE", "UNIQUE", "INDEX", "CONCURRENTLY"],
        &["DROP", "INDEX", "CONCURRENTLY"],
        &["DROP", "UNIQUE", "INDEX", "CONCURRENTLY"],
        &["REINDEX", "SCHEMA"],
        &["REINDEX", "DATABASE"],
        &["REINDEX", "SYSTEM"],
        &["REINDEX", "VERBOSE", "SCHEMA"],
        &["REINDEX", "VERBOSE", "DATABASE"],
        &["REINDEX", "VERBOSE", "SYSTEM"],
        &["VACUUM"],
        &["DISCARD", "ALL"],
    ]
    .iter()
    .any(|words| statement.starts_with(words))
}

fn script(dir: &Path, file: &str) -> Result<(Script, i32)> {
    let sql = read(&dir.join(file))?;
    if sql.contains("${") {
        return Err(malformed(
            dir,
            format!("{file}: migverify does not replace Flyway placeholders (${{…}}) yet"),
        ));
    }
    let statements = split(&sql);
    if let Some(copy) = statements
        .iter()
        .find(|s| s.starts_with(&["COPY"]) && s.keywords.iter().any(|k| k == "STDIN"))
    {
        return Err(malformed(
            dir,
            format!(
                "{file}: migverify does not send Flyway's COPY … FROM STDIN data yet (line {})",
                copy.line
            ),
        ));
    }
    let configured = std::fs::read_to_string(dir.join(format!("{file}.conf")))
        .ok()
        .and_then(|conf| {
            conf.lines()
                .filter_map(|line| line.split_once('='))
                .find(|(key, _)| key.trim() == "executeInTransaction")
                .map(|(_, value)| value.trim() != "false")
        });
    let outside = statements
        .iter()
        .filter(|s| needs_no_transaction(s))
        .count();
    let transaction = match configured {
        Some(configured) => configured,
        None if outside == 0 => true,
        None if outside == statements.len() => false,
        None => {
            return Err(malformed(dir, format!(
                "{file}: Detected both transactional and non-transactional statements within the same migration (even though mixed is false); Flyway refuses it: move the non-transactional statement to a migration of its own"
            )))
        }
    };
    let script = Script {
        file: file.to_string(),
        batches: statements
            .into_iter()
            .map(|s| Batch {
                sql: s.text,
                line: s.line,
            })
            .collect(),
        transaction,
        refusal: None,
    };
    Ok((script, checksum(&sql)))
}

pub(super) fn discover(dir: &Path) -> Result<(Flyway, Vec<Migration>)> {
    let files = sql_files(dir)?;
    let mut versions = Vec::new();
    let mut checksums = std::collections::BTreeMap::new();
    for (file, _) in &files {
        match parse_name(file) {
            Some(('V', version, description)) => {
                let key = version_key(&version).ok_or_else(|| {
                    malformed(
                        dir,
                        format!("{file}: Flyway versions are numbers separated by . or _"),
                    )
                })?;
                let (up, sum) = script(dir, file)?;
                checksums.insert(file.clone(), sum);
                let undo = files.iter().find_map(|(other, _)| match parse_name(other) {
                    Some(('U', v, _)) if version_key(&v) == Some(key.clone()) => {
                        Some(other.clone())
                    }
                    _ => None,
                });
                let down = match &undo {
                    Some(undo) => {
                        let (down, sum) = script(dir, undo)?;
                        checksums.insert(undo.clone(), sum);
                        Down::Script(down)
                    }
                    None => Down::Irreversible(format!(
                        "Flyway has no undo file U{}__*.sql for it (and Flyway Community cannot undo at all)",
                        version.replace('.', "_")
                    )),
                };
                versions.push((
                    key,
                    Migration {
                        id: version,
                        description,
                        files: [Some(file.clone()), undo].into_iter().flatten().collect(),
                        up,
                        down,
                    },
                ));
            }
            Some(('R', version, _)) if version.is_empty() => {
                return Err(malformed(
                    dir,
                    format!(
                        "{file}: migverify does not run Flyway repeatable migrations (R__) yet"
                    ),
                ))
            }
            // Community skips a name it does not recognise, undo files included.
            _ => {}
        }
    }
    versions.sort_by(|a, b| a.0.cmp(&b.0));
    Ok((
        Flyway { checksums },
        versions.into_iter().map(|(_, m)| m).collect(),
    ))
}

/// Flyway's checksum: CRC-32 of the UTF-8 text with every line break left out (a leading BOM
/// dropped), as a signed 32-bit number.
fn checksum(text: &str) -> i32 {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut crc = !0u32;
    for byte in text.bytes().filter(|b| *b != b'\n' && *b != b'\r') {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = (crc >> 1) ^ (0xEDB8_8320 & (crc & 1).wrapping_neg());
        }
    }
    !crc as i32
}

/// Flyway's `AbbreviationUtils`: text longer than `limit` cut to `limit - 3` and `...`.
fn abbreviated(text: &str, limit: usize) -> String {
    match text.chars().count() > limit {
        true => format!("{}...", text.chars().take(limit - 3).collect::<String>()),
        false => text.to_string(),
    }
}

impl Flyway {
    /// The history row Flyway appends for a script run (`success` false: it failed).
    fn history_row(
        &self,
        migration: &Migration,
        direction: &Direction,
        took: Duration,
        success: bool,
    ) -> String {
        let (kind, file) = match (direction, &migration.down) {
            (Direction::Down { .. }, Down::Script(undo)) => ("UNDO_SQL", &undo.file),
            _ => ("SQL", &migration.up.file),
        };
        format!(
            "INSERT INTO \"{TABLE}\" (\"installed_rank\", \"version\", \"description\", \"type\", \"script\", \"checksum\", \"installed_by\", \"execution_time\", \"success\") \
             SELECT COALESCE(max(\"installed_rank\"), 0) + 1, {}, {}, '{kind}', {}, {}, current_user, {}, {success} FROM \"{TABLE}\"",
            literal(&migration.id),
            literal(&abbreviated(&migration.description, 200)),
            literal(file),
            self.checksums.get(file).copied().unwrap_or_default(),
            took.as_millis(),
        )
    }
}

#[async_trait]
impl Tool for Flyway {
    fn kind(&self) -> Kind {
        Kind::Flyway
    }

    fn tables(&self) -> &'static [&'static str] {
        &[TABLE]
    }

    async fn ensure(&self, connection: &mut PgConnection) -> sqlx::Result<()> {
        let ddl = format!(
            "CREATE TABLE \"{TABLE}\" (
    \"installed_rank\" INT NOT NULL,
    \"version\" VARCHAR(50),
    \"description\" VARCHAR(200) NOT NULL,
    \"type\" VARCHAR(20) NOT NULL,
    \"script\" VARCHAR(1000) NOT NULL,
    \"checksum\" INTEGER,
    \"installed_by\" VARCHAR(100) NOT NULL,
    \"installed_on\" TIMESTAMP NOT NULL DEFAULT now(),
    \"execution_time\" INTEGER NOT NULL,
    \"success\" BOOLEAN NOT NULL
);
ALTER TABLE \"{TABLE}\" ADD CONSTRAINT \"{TABLE}_pk\" PRIMARY KEY (\"installed_rank\");
CREATE INDEX \"{TABLE}_s_idx\" ON \"{TABLE}\" (\"success\");"
        );
        create_unless_exists(connection, TABLE, ddl).await
    }

    async fn recorded(
        &self,
        connection: &mut PgConnection,
        _: &[Migration],
    ) -> sqlx::Result<Recorded> {
        // Each version's latest row decides: applied by SQL, undone by UNDO_SQL, or failed.
        let rows: Vec<(String, String, String, bool)> = sqlx::query_as(&format!(
            "SELECT DISTINCT ON (\"version\") \"version\", \"description\", \"type\", \"success\" FROM \"{TABLE}\" \
             WHERE \"version\" IS NOT NULL ORDER BY \"version\", \"installed_rank\" DESC"
        ))
        .fetch_all(connection)
        .await?;
        let refusal = rows.iter().find(|row| !row.3).map(|(version, description, _, _)| {
            format!("Validate failed: Detected failed migration to version {version} ({description}). Please remove any half-completed changes then run repair to fix the schema history.")
        });
        Ok(Recorded {
            applied: rows
                .into_iter()
                .filter(|row| row.2 == "SQL" && row.3)
                .map(|row| row.0)
                .collect(),
            refusal,
        })
    }

    fn record(&self, migration: &Migration, direction: &Direction, took: Duration) -> Vec<String> {
        vec![self.history_row(migration, direction, took, true)]
    }

    /// A script outside a transaction cannot be rolled back: Flyway records it failed, and
    /// refuses to migrate until `repair`.
    fn after_failure(
        &self,
        migration: &Migration,
        direction: &Direction,
        transaction: bool,
    ) -> AfterFailure {
        if transaction {
            return AfterFailure::default();
        }
        AfterFailure {
            statements: vec![self.history_row(migration, direction, Duration::ZERO, false)],
            note: Some("Flyway records the migration as failed and refuses to migrate until `flyway repair`".to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_versions_and_checksums_read_as_flyway_reads_them() {
        assert_eq!(
            parse_name("V1_1__add_user_table.sql"),
            Some(('V', "1.1".to_string(), "add user table".to_string()))
        );
        assert!(version_key("1.0") == version_key("1") && version_key("1.10") > version_key("1.9"));
        // Python: zlib.crc32(b"CREATE TABLE a (id int);SELECT 1;") as a signed int.
        assert_eq!(
            checksum("CREATE TABLE a (id int);\r\nSELECT 1;\n"),
            checksum("CREATE TABLE a (id int);SELECT 1;")
        );
        assert_eq!(checksum("abc"), 891568578);
    }
}
