//! The SQL-file tools (golang-migrate, goose, dbmate, Flyway, diesel, morph) share one shape:
//! plain SQL files, an up and maybe a down per version, and a bookkeeping table. One runner
//! drives them all; each tool's module says how the tool reads its files (`discover`) and
//! keeps its books (`Tool`), written as the tool itself writes them, so that the scratch
//! database at any revision is what the real tool would leave. docs/runners-research.md has
//! where in each tool's source every rule comes from.

mod dbmate;
mod diesel;
mod flyway;
mod golang_migrate;
mod goose;
mod morph;
mod statements;

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use futures_util::TryStreamExt;
use sqlx::postgres::{PgConnectOptions, PgConnection};

use super::error::{Result, RunnerError};
use super::kept_connection::KeptConnection;
use super::{Kind, Revision, Revisions, Runner, StepError};
use statements::{BlockEnd, Statement};

/// One version of a SQL-file project.
#[derive(Debug, Clone)]
pub(super) struct Migration {
    /// The version as the tool records it; the revision's id.
    pub id: String,
    pub description: String,
    /// The files that define it, relative to the project.
    pub files: Vec<String>,
    pub up: Script,
    pub down: Down,
}

#[derive(Debug, Clone)]
pub(super) enum Down {
    Script(Script),
    /// The tool has no way back for this version (`NoDown`).
    Missing,
    /// The tool cannot revert it, for the reason given.
    Irreversible(String),
}

/// What the tool sends for one direction of one version.
#[derive(Debug, Clone)]
pub(super) struct Script {
    pub file: String,
    /// Each sent as one simple query, in order, as the tool sends them.
    pub batches: Vec<Batch>,
    /// Whether the tool runs the batches and records the move in one transaction.
    pub transaction: bool,
    /// Why the tool would refuse to run it at all.
    pub refusal: Option<String>,
}

/// SQL the tool sends as one query.
#[derive(Debug, Clone)]
pub(super) struct Batch {
    pub sql: String,
    /// The line of the file it starts on, from 1.
    pub line: usize,
}

impl Batch {
    /// A whole file.
    fn file(sql: String) -> Batch {
        Batch { sql, line: 1 }
    }
}

pub(super) enum Direction<'a> {
    Up,
    /// Down to `previous` (none: to the empty database).
    Down {
        previous: Option<&'a Migration>,
    },
}

/// What the bookkeeping table says.
pub(super) struct Recorded {
    /// The ids recorded as applied.
    pub applied: Vec<String>,
    /// Why the tool would refuse to move at all (a dirty version, a failed row).
    pub refusal: Option<String>,
}

/// The one statement that records a move: `up` or `down` as the move goes.
fn either(direction: &Direction, up: String, down: String) -> Vec<String> {
    vec![match direction {
        Direction::Up => up,
        Direction::Down { .. } => down,
    }]
}

/// What a tool writes after a script failed, and what that leaves for the next run.
#[derive(Default)]
pub(super) struct AfterFailure {
    pub statements: Vec<String>,
    pub note: Option<String>,
}

#[async_trait]
pub(super) trait Tool: Send + Sync {
    fn kind(&self) -> Kind;

    /// The tables the tool keeps its records in.
    fn tables(&self) -> &'static [&'static str];

    /// Makes the bookkeeping table the way the tool does when it connects.
    async fn ensure(&self, connection: &mut PgConnection) -> sqlx::Result<()>;

    async fn recorded(
        &self,
        connection: &mut PgConnection,
        migrations: &[Migration],
    ) -> sqlx::Result<Recorded>;

    /// What the tool writes in a transaction of its own before the script runs
    /// (golang-migrate's dirty mark).
    fn mark_before(&self, _migration: &Migration, _direction: &Direction) -> Vec<String> {
        Vec::new()
    }

    /// The statements that record the move after the script: in its transaction when it has
    /// one, else on their own.
    fn record(&self, migration: &Migration, direction: &Direction, took: Duration) -> Vec<String>;

    /// After a script failed (`transaction`: it ran in one, now rolled back).
    fn after_failure(
        &self,
        _migration: &Migration,
        _direction: &Direction,
        _transaction: bool,
    ) -> AfterFailure {
        AfterFailure::default()
    }
}

/// Whether a migration file's text carries marks only `kind`'s files carry (goose's
/// annotations, dbmate's directives, morph's marker).
pub(super) fn written_for(kind: Kind, sql: &str) -> bool {
    match kind {
        Kind::Goose => sql.lines().any(goose::announces_up),
        Kind::Dbmate => sql.lines().any(dbmate::announces_up),
        Kind::Morph => sql.starts_with(morph::NONTRANSACTIONAL),
        _ => false,
    }
}

pub struct SqlFileRunner {
    tool: Arc<dyn Tool>,
    migrations: Vec<Migration>,
    revisions: Revisions,
    connection: KeptConnection,
}

impl SqlFileRunner {
    /// Reads the project in `dir` as `kind` reads it.
    pub fn open(dir: &Path, kind: Kind) -> Result<Self> {
        let (tool, migrations): (Arc<dyn Tool>, _) = match kind {
            Kind::GolangMigrate => (
                Arc::new(golang_migrate::GolangMigrate),
                golang_migrate::discover(dir)?,
            ),
            Kind::Goose => (Arc::new(goose::Goose), goose::discover(dir)?),
            Kind::Dbmate => (Arc::new(dbmate::Dbmate), dbmate::discover(dir)?),
            Kind::Flyway => {
                let (tool, migrations) = flyway::discover(dir)?;
                (Arc::new(tool), migrations)
            }
            Kind::Diesel => (Arc::new(diesel::Diesel), diesel::discover(dir)?),
            Kind::Morph => (Arc::new(morph::Morph), morph::discover(dir)?),
            Kind::Alembic | Kind::Sqlx => unreachable!("{kind:?} has a runner of its own"),
        };
        if migrations.is_empty() {
            return Err(RunnerError::NoMigrations(dir.to_path_buf()));
        }
        if let Some(twin) = migrations
            .iter()
            .enumerate()
            .find(|(i, m)| migrations[..*i].iter().any(|other| other.id == m.id))
        {
            return Err(malformed(
                dir,
                format!("version {} is defined twice", twin.1.id),
            ));
        }
        let mut parent: Option<String> = None;
        let revisions = migrations
            .iter()
            .map(|m| Revision {
                id: m.id.clone(),
                parents: parent.replace(m.id.clone()).into_iter().collect(),
                description: m.description.clone(),
                has_down: matches!(m.down, Down::Script(_)),
                files: m.files.clone(),
            })
            .collect();
        Ok(SqlFileRunner {
            tool,
            migrations,
            revisions: Revisions::new(revisions),
            connection: KeptConnection::default(),
        })
    }

    async fn step(
        &mut self,
        database: &PgConnectOptions,
        id: &str,
        up: bool,
    ) -> Result<(), StepError> {
        let index = self
            .migrations
            .iter()
            .position(|m| m.id == id)
            .expect("revisions come from the migrations");
        let migration = &self.migrations[index];
        let script = match (up, &migration.down) {
            (true, _) => &migration.up,
            (false, Down::Script(script)) => script,
            (false, Down::Missing) => {
                return Err(StepError::NoDown {
                    revision: id.to_string(),
                })
            }
            (false, Down::Irreversible(reason)) => {
                return Err(StepError::Irreversible {
                    revision: id.to_string(),
                    message: reason.clone(),
                    declared: false,
                })
            }
        };
        let direction = match up {
            true => Direction::Up,
            false => Direction::Down {
                previous: index.checked_sub(1).map(|i| &self.migrations[i]),
            },
        };
        let (connection, recorded) =
            books(&mut self.connection, &self.tool, &self.migrations, database).await?;
        if let Some(refusal) = recorded.refusal {
            return Err(failed(id, refusal));
        }
        tracing::debug!(revision = id, file = %script.file, "running");
        let outcome = run(
            connection,
            self.tool.as_ref(),
            migration,
            script,
            &direction,
        )
        .await;
        if outcome.is_err() {
            self.connection.forget();
        }
        outcome
    }
}

#[async_trait]
impl Runner for SqlFileRunner {
    fn kind(&self) -> Kind {
        self.tool.kind()
    }

    fn revisions(&self) -> &Revisions {
        &self.revisions
    }

    fn bookkeeping_tables(&self) -> Vec<String> {
        self.tool.tables().iter().map(|t| t.to_string()).collect()
    }

    async fn current(&mut self, database: &PgConnectOptions) -> Result<Vec<String>, StepError> {
        let (_, recorded) =
            books(&mut self.connection, &self.tool, &self.migrations, database).await?;
        // The head is the last applied version in the tool's order; every history is a line.
        Ok(self
            .migrations
            .iter()
            .rev()
            .find(|m| recorded.applied.contains(&m.id))
            .map(|m| vec![m.id.clone()])
            .unwrap_or_default())
    }

    async fn apply(
        &mut self,
        database: &PgConnectOptions,
        revision: &Revision,
    ) -> Result<(), StepError> {
        self.step(database, &revision.id, true).await
    }

    async fn revert(
        &mut self,
        database: &PgConnectOptions,
        revision: &Revision,
    ) -> Result<(), StepError> {
        self.step(database, &revision.id, false).await
    }

    fn disconnect(&mut self) {
        self.connection.forget();
    }
}

/// The kept connection, its bookkeeping table made when it is new.
async fn connect<'c>(
    kept: &'c mut KeptConnection,
    tool: &Arc<dyn Tool>,
    database: &PgConnectOptions,
) -> Result<&'c mut PgConnection, StepError> {
    let tool = tool.clone();
    kept.to(database, move |connection| {
        Box::pin(async move {
            tool.ensure(connection)
                .await
                .map_err(|e| StepError::Connection(crate::sql::describe_error(&e)))
        })
    })
    .await
}

/// The kept connection and what the tool's books say on it.
async fn books<'c>(
    kept: &'c mut KeptConnection,
    tool: &Arc<dyn Tool>,
    migrations: &[Migration],
    database: &PgConnectOptions,
) -> Result<(&'c mut PgConnection, Recorded), StepError> {
    let connection = connect(kept, tool, database).await?;
    let recorded = tool
        .recorded(&mut *connection, migrations)
        .await
        .map_err(|e| StepError::Connection(crate::sql::describe_error(&e)))?;
    Ok((connection, recorded))
}

/// The versions a query of the bookkeeping table lists, as text: the books of a tool whose
/// table holds one row per applied version.
async fn versions(connection: &mut PgConnection, query: &str) -> sqlx::Result<Recorded> {
    Ok(Recorded {
        applied: sqlx::query_scalar(query).fetch_all(connection).await?,
        refusal: None,
    })
}

/// Runs `ddl` unless `table` exists: the tools that look before they create.
async fn create_unless_exists(
    connection: &mut PgConnection,
    table: &str,
    ddl: String,
) -> sqlx::Result<()> {
    let exists: bool = sqlx::query_scalar("SELECT to_regclass($1) IS NOT NULL")
        .bind(table)
        .fetch_one(&mut *connection)
        .await?;
    match exists {
        true => Ok(()),
        false => execute_all(connection, &[ddl]).await,
    }
}

/// Runs one script and records the move, the way the tool does.
async fn run(
    connection: &mut PgConnection,
    tool: &dyn Tool,
    migration: &Migration,
    script: &Script,
    direction: &Direction<'_>,
) -> Result<(), StepError> {
    let revision = migration.id.as_str();
    if let Some(refusal) = &script.refusal {
        return Err(failed(revision, refusal.clone()));
    }
    let sql_failed = |e: sqlx::Error| failed(revision, crate::sql::describe_error(&e));
    let before = tool.mark_before(migration, direction);
    if !before.is_empty() {
        execute_all(connection, &in_transaction(&before))
            .await
            .map_err(sql_failed)?;
    }
    let started = Instant::now();
    if script.transaction {
        execute_all(connection, &["BEGIN"])
            .await
            .map_err(sql_failed)?;
    }
    for (index, batch) in script.batches.iter().enumerate() {
        if let Err((completed, error)) = run_batch(connection, &batch.sql).await {
            let after = tool.after_failure(migration, direction, script.transaction);
            // The tool's transaction, or one the script opened itself, ends with the failure
            // (outside one, ROLLBACK only warns).
            let _ = execute_all(connection, &["ROLLBACK"]).await;
            let _ = execute_all(connection, &after.statements).await;
            let ran = Ran {
                batches: &script.batches,
                failing: index,
                completed,
                position: error_position(&error, &batch.sql),
            };
            let mut message = ran.describe(
                &script.file,
                &crate::sql::describe_error(&error),
                script.transaction,
            );
            if let Some(note) = after.note {
                message = format!("{message}; {note}");
            }
            return Err(failed(revision, message));
        }
    }
    let mut with = tool.record(migration, direction, started.elapsed());
    if !script.transaction && with.len() > 1 {
        with = in_transaction(&with);
    }
    execute_all(connection, &with).await.map_err(sql_failed)?;
    if script.transaction {
        execute_all(connection, &["COMMIT"])
            .await
            .map_err(sql_failed)?;
    }
    Ok(())
}

/// Sends `batch` as one simple query; on failure, how many of its statements completed first.
async fn run_batch(
    connection: &mut PgConnection,
    batch: &str,
) -> std::result::Result<(), (usize, sqlx::Error)> {
    let mut completed = 0;
    // Through `Executor`'s boxed stream: `RawSql`'s own async methods make futures that
    // `async_trait` cannot prove `Send`.
    let mut results = sqlx::Executor::execute_many(&mut *connection, sqlx::raw_sql(batch));
    loop {
        match results.try_next().await {
            Ok(Some(_)) => completed += 1,
            Ok(None) => return Ok(()),
            Err(error) => return Err((completed, error)),
        }
    }
}

async fn execute_all(
    connection: &mut PgConnection,
    statements: &[impl AsRef<str> + Sync],
) -> sqlx::Result<()> {
    for statement in statements {
        sqlx::Executor::execute(&mut *connection, sqlx::raw_sql(statement.as_ref())).await?;
    }
    Ok(())
}

fn in_transaction(statements: &[String]) -> Vec<String> {
    let mut all = vec!["BEGIN".to_string()];
    all.extend(statements.iter().cloned());
    all.push("COMMIT".to_string());
    all
}

/// Where in a script a failure struck, and so what of it stays applied.
struct Ran<'a> {
    batches: &'a [Batch],
    /// The batch that failed.
    failing: usize,
    /// Statements of the failing batch that completed before it.
    completed: usize,
    /// Where in the failing batch the server placed the error, as a byte offset.
    position: Option<usize>,
}

impl Ran<'_> {
    fn describe(&self, file: &str, error: &str, wrapped: bool) -> String {
        let statements: Vec<Vec<Statement>> = self
            .batches
            .iter()
            .map(|b| statements::split(&b.sql))
            .collect();
        let total: usize = statements.iter().map(Vec::len).sum();
        let before: usize = statements[..self.failing].iter().map(Vec::len).sum();
        let failing_batch = &statements[self.failing];
        let completed = self.completed.min(failing_batch.len());
        // PostgreSQL parses a whole query before it runs any of it: a syntax error in its fifth
        // statement stops the first. Where the server says where the error is, that decides.
        let culprit = match self.position {
            Some(at) => failing_batch
                .iter()
                .position(|s| at <= s.span.end)
                .unwrap_or(failing_batch.len().saturating_sub(1)),
            None => completed,
        };
        let place = match failing_batch.get(culprit) {
            Some(statement) => format!(
                "{} (line {}: {})",
                match total {
                    1 => "its only statement".to_string(),
                    _ => format!("statement {} of {total}", before + culprit + 1),
                },
                self.batches[self.failing].line + statement.line - 1,
                statement.summary()
            ),
            None => "its end".to_string(),
        };
        // The server quotes the text near an error, line breaks and all.
        let error = error.split_whitespace().collect::<Vec<_>>().join(" ");
        let mut message = format!("{file} failed at {place}: {error}");
        let ran = before + completed;
        if ran == 0 {
            return message;
        }
        let kept = stays_applied(&statements, self.failing, completed, wrapped);
        message.push_str(&match kept {
            0 => format!("; the {ran} statement(s) that ran before it were rolled back, so nothing of {file} stays applied"),
            k if k == ran => format!("; statements 1–{k} ran before it and stay applied: the migration is partly applied"),
            k => format!("; statements 1–{ran} ran before it, and 1–{k} stay applied (committed before the failure): the migration is partly applied"),
        });
        message
    }
}

/// How many of the statements that ran before a failure stay applied: those up to the last
/// point their transaction committed. A batch is one simple query, whose statements outside a
/// transaction block commit together as it ends; `wrapped`: the tool ran the script in a
/// transaction of its own, which the failure rolls back.
fn stays_applied(
    statements: &[Vec<Statement>],
    failing: usize,
    completed: usize,
    wrapped: bool,
) -> usize {
    let (mut ran, mut kept, mut in_block) = (0, 0, wrapped);
    // Counted as a prefix: once a ROLLBACK threw statements away, later commits are not
    // claimed either.
    let mut whole = true;
    for (index, batch) in statements.iter().enumerate().take(failing + 1) {
        let done = if index == failing {
            &batch[..completed]
        } else {
            &batch[..]
        };
        for statement in done {
            ran += 1;
            match statement.ends_block() {
                Some(BlockEnd::Commit { chained }) => {
                    kept = if whole { ran } else { kept };
                    in_block = chained;
                }
                Some(BlockEnd::Discard) => {
                    whole &= !in_block;
                    in_block = false;
                }
                None if statement.begins() => in_block = true,
                None => {}
            }
        }
        if index < failing && !in_block && whole {
            kept = ran;
        }
    }
    kept
}

/// The byte offset in `sql` where the server placed `error`, if it did.
fn error_position(error: &sqlx::Error, sql: &str) -> Option<usize> {
    let sqlx::Error::Database(database) = error else {
        return None;
    };
    let postgres = database.try_downcast_ref::<sqlx::postgres::PgDatabaseError>()?;
    match postgres.position()? {
        // One past the last character: "at end of input".
        sqlx::postgres::PgErrorPosition::Original(character) => sql
            .char_indices()
            .map(|(byte, _)| byte)
            .chain([sql.len()])
            .nth(character.checked_sub(1)?),
        _ => None,
    }
}

fn failed(revision: &str, message: String) -> StepError {
    StepError::Failed {
        revision: revision.to_string(),
        message,
    }
}

fn malformed(dir: &Path, message: String) -> RunnerError {
    RunnerError::MalformedMigration {
        dir: dir.to_path_buf(),
        message,
    }
}

/// A SQL literal of `text`, for bookkeeping statements the tools build with values in them.
fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// The `.sql` files directly in `dir`, by name.
fn sql_files(dir: &Path) -> Result<Vec<(String, std::path::PathBuf)>> {
    let mut files: Vec<(String, std::path::PathBuf)> = std::fs::read_dir(dir)?
        .flatten()
        .filter(|e| e.path().is_file())
        .map(|e| (e.file_name().to_string_lossy().into_owned(), e.path()))
        .filter(|(name, _)| name.ends_with(".sql"))
        .collect();
    files.sort();
    Ok(files)
}

fn read(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|e| RunnerError::MalformedMigration {
        dir: path.to_path_buf(),
        message: format!("cannot read it: {e}"),
    })
}

/// The migrations of a `{version}_{name}.up.sql`/`.down.sql` project: `script` makes each
/// file's script of its name and text, and `missing` stands for a down file that is not there.
/// Ids are the versions as numbers, as golang-migrate and morph parse them (`0001` is 1).
fn up_down_migrations(
    dir: &Path,
    script: impl Fn(&str, String) -> Script,
    missing: impl Fn(&str) -> Down,
) -> Result<Vec<Migration>> {
    let read_script = |file: &str| Ok::<_, RunnerError>(script(file, read(&dir.join(file))?));
    up_down_pairs(dir)?
        .into_iter()
        .map(|pair| {
            Ok(Migration {
                id: pair.number.to_string(),
                files: [Some(pair.up.clone()), pair.down.clone()]
                    .into_iter()
                    .flatten()
                    .collect(),
                up: read_script(&pair.up)?,
                down: match &pair.down {
                    Some(down) => Down::Script(read_script(down)?),
                    None => missing(&pair.version),
                },
                description: pair.name,
            })
        })
        .collect()
}

/// A version's `{version}_{name}.up.sql` and `.down.sql`.
struct UpDown {
    /// The version as written (`0001`), and as a number.
    version: String,
    number: u64,
    name: String,
    up: String,
    down: Option<String>,
}

/// The `.up`/`.down` files of each version, the naming golang-migrate and morph share with
/// sqlx (`^([0-9]+)_(.*)\.(down|up)\.(.*)$`, the last `.up.`/`.down.` deciding), by version.
fn up_down_pairs(dir: &Path) -> Result<Vec<UpDown>> {
    let mut pairs: std::collections::BTreeMap<u64, UpDown> = Default::default();
    for entry in std::fs::read_dir(dir)?.flatten() {
        let file = entry.file_name().to_string_lossy().into_owned();
        let Some((version, rest)) = file.split_once('_') else {
            continue;
        };
        let Ok(number) = version.parse::<u64>() else {
            continue;
        };
        let (name, up) = match (rest.rfind(".up."), rest.rfind(".down.")) {
            (Some(u), d) if d.is_none_or(|d| u > d) => (&rest[..u], true),
            (_, Some(d)) => (&rest[..d], false),
            _ => continue,
        };
        let pair = pairs.entry(number).or_insert_with(|| UpDown {
            version: version.to_string(),
            number,
            name: name.to_string(),
            up: String::new(),
            down: None,
        });
        let twin = match up {
            true => {
                // The up file's name is the migration's (morph records it).
                pair.name = name.to_string();
                Some(std::mem::replace(&mut pair.up, file.clone())).filter(|t| !t.is_empty())
            }
            false => pair.down.replace(file.clone()),
        };
        if let Some(twin) = twin {
            return Err(malformed(
                dir,
                format!("{twin} and {file} are the same file of version {version}"),
            ));
        }
    }
    if let Some(pair) = pairs.values().find(|pair| pair.up.is_empty()) {
        return Err(malformed(
            dir,
            format!("version {} has a down file but no up file", pair.version),
        ));
    }
    Ok(pairs.into_values().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kept(batches: &[&str], failing: usize, completed: usize, wrapped: bool) -> usize {
        let statements: Vec<Vec<Statement>> =
            batches.iter().map(|b| statements::split(b)).collect();
        stays_applied(&statements, failing, completed, wrapped)
    }

    #[test]
    fn what_stays_applied_follows_the_transaction_blocks_that_ran() {
        // One file sent whole: its own COMMIT keeps what came before it.
        let file = ["CREATE TABLE a (); COMMIT; CREATE TABLE b (); SELECT 1/0"];
        assert_eq!(kept(&file, 0, 3, false), 2);
        // The tool's transaction: the same COMMIT ends it, so the first table stays too.
        assert_eq!(kept(&file, 0, 3, true), 2);
        // Statements sent one at a time outside a transaction commit one by one.
        let one_by_one = ["CREATE TABLE a ()", "CREATE TABLE b ()", "SELECT 1/0"];
        assert_eq!(kept(&one_by_one, 2, 0, false), 2);
        assert_eq!(kept(&one_by_one, 2, 0, true), 0);
        // A block the script opened itself is lost with the failure; a ROLLBACK before it
        // stops the count, as what it threw away lies inside the prefix.
        let blocks = [
            "CREATE TABLE a ()",
            "BEGIN",
            "CREATE TABLE b ()",
            "SELECT 1/0",
        ];
        assert_eq!(kept(&blocks, 3, 0, false), 1);
        let rolled = [
            "BEGIN",
            "CREATE TABLE a ()",
            "ROLLBACK",
            "CREATE TABLE b ()",
            "SELECT 1/0",
        ];
        assert_eq!(kept(&rolled, 4, 0, false), 0);
        let chained = ["BEGIN; CREATE TABLE a (); COMMIT AND CHAIN; CREATE TABLE b (); SELECT 1/0"];
        assert_eq!(kept(&chained, 0, 4, false), 3);
    }
}
