//! Runners drive one kind of migration project up and down. They know revisions and how to
//! apply them, and nothing of schemas, data or reports.

mod alembic_protocol;
mod alembic_runner;
mod revisions;
mod sqlx_runner;

use std::path::{Path, PathBuf};

use async_trait::async_trait;
use sqlx::postgres::PgConnectOptions;

pub use alembic_runner::AlembicRunner;
pub use revisions::{Move, Revision, Revisions, Target};
pub use sqlx_runner::SqlxRunner;

mod error;
pub use error::{Result, RunnerError};

/// The tables every supported migration tool keeps its records in.
pub const BOOKKEEPING_TABLES: &[&str] = &["_sqlx_migrations", "alembic_version"];

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Alembic,
    Sqlx,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Alembic => "alembic",
            Kind::Sqlx => "sqlx",
        }
    }
}

/// Why a step (one upgrade or downgrade) did not complete. These are findings about the
/// migrations under test, not failures of migverify.
#[derive(Debug, thiserror::Error)]
pub enum StepError {
    #[error("{revision} failed: {message}")]
    Failed { revision: String, message: String },
    #[error("{revision} has no down migration, so it cannot be reverted")]
    NoDown { revision: String },
    /// `declared`: the project says so on purpose (a down file with no statement, a failure
    /// matching an `irreversible` pattern), rather than only by raising NotImplementedError.
    #[error("{revision} is irreversible: {message}")]
    Irreversible {
        revision: String,
        message: String,
        declared: bool,
    },
    #[error("env.py reaches {reached}, not migverify's scratch database, so nothing was migrated; make env.py take its URL from config.get_main_option(\"sqlalchemy.url\"), DATABASE_URL or -x url=")]
    ElsewhereMigrated { reached: String },
    #[error("env.py failed before it connected to any database: {0}; if it reads its URL from a setting of its own, give it the scratch database's: --url-option NAME for an alembic.ini option, --env NAME={{url}} for a variable, -x KEY={{url}} for an -x argument")]
    EnvPy(String),
    #[error("lost the connection to the scratch database: {0}")]
    Connection(String),
    #[error("the alembic helper {0}")]
    Helper(String),
}

#[async_trait]
pub trait Runner: Send {
    fn kind(&self) -> Kind;

    /// Every revision, base to head, parents before children.
    fn revisions(&self) -> &Revisions;

    /// The tables the migration tool keeps its own records in; checks leave them out.
    fn bookkeeping_tables(&self) -> Vec<String>;

    /// The revisions the database records as its heads.
    async fn current(&mut self, database: &PgConnectOptions) -> Result<Vec<String>, StepError>;

    /// Applies one revision whose parents are all applied.
    async fn apply(
        &mut self,
        database: &PgConnectOptions,
        revision: &Revision,
    ) -> Result<(), StepError>;

    /// Reverts one revision that no applied revision descends from.
    async fn revert(
        &mut self,
        database: &PgConnectOptions,
        revision: &Revision,
    ) -> Result<(), StepError>;

    /// Lets go of any connection kept between steps: its database is about to be dropped.
    fn disconnect(&mut self) {}

    /// The step in flight was given up at the budget: stop whatever still runs it (a process
    /// that ignores the server's cancel), so that the next step starts clean.
    fn abandon(&mut self) {
        self.disconnect();
    }

    /// Takes an empty database to `target` in one command, as a fresh deploy with the tool
    /// does (alembic's `upgrade`). Returns false for a tool whose deploy applies one revision
    /// at a time, which `migrate` already does.
    async fn upgrade_at_once(
        &mut self,
        _database: &PgConnectOptions,
        _target: &Target,
    ) -> Result<bool, StepError> {
        Ok(false)
    }
}

/// Moves the database to `target` one revision at a time, up, down or across branches, and
/// checks that it got there whatever the runner believes.
pub async fn migrate(
    runner: &mut dyn Runner,
    database: &PgConnectOptions,
    target: &Target,
) -> Result<(), StepError> {
    let heads = runner.current(database).await?;
    let now = runner.revisions().target_of(&heads);
    // Only the revisions moved are copied out of the graph, not the graph itself: the runner
    // is borrowed mutably for each move.
    let moves: Vec<(bool, Revision)> = runner
        .revisions()
        .path(&now, target)
        .into_iter()
        .map(|step| match step {
            Move::Apply(revision) => (true, revision.clone()),
            Move::Revert(revision) => (false, revision.clone()),
        })
        .collect();
    for (apply, revision) in &moves {
        if *apply {
            runner.apply(database, revision).await?;
        } else {
            runner.revert(database, revision).await?;
        }
    }
    ended_at(runner, database, target).await
}

/// Takes an empty database to `target` the way a fresh deploy does: in one command where the
/// tool has one, else one revision at a time. A history whose revisions fail one at a time
/// (alembic remembers within one command which enum types it created) may still deploy.
pub async fn deploy(
    runner: &mut dyn Runner,
    database: &PgConnectOptions,
    target: &Target,
) -> Result<(), StepError> {
    if !runner.upgrade_at_once(database, target).await? {
        return migrate(runner, database, target).await;
    }
    ended_at(runner, database, target).await
}

/// Whether the database records `target`, whatever the runner believes.
async fn ended_at(
    runner: &mut dyn Runner,
    database: &PgConnectOptions,
    target: &Target,
) -> Result<(), StepError> {
    let heads = runner.current(database).await?;
    match runner.revisions().target_of(&heads) {
        reached if reached == *target => Ok(()),
        reached => Err(StepError::Failed {
            revision: target.to_string(),
            message: format!("the database ended at {reached}, not at {target}"),
        }),
    }
}

/// What a runner needs beyond the project directory (alembic's interpreter and settings).
#[derive(Debug, Clone, Default)]
pub struct RunnerOptions {
    pub python: Option<PathBuf>,
    pub alembic_ini: Option<PathBuf>,
    /// alembic's -x arguments.
    pub x: Vec<String>,
    /// Environment variables for env.py.
    pub env: Vec<(String, String)>,
    /// Main options of alembic.ini that take the scratch database's URL, besides
    /// `sqlalchemy.url` and `url`.
    pub url_options: Vec<String>,
    /// How long alembic's interpreter may take to start.
    pub startup_timeout: std::time::Duration,
}

/// Finds the migration project in `dir` and opens the runner for its kind.
pub async fn open(
    dir: &Path,
    forced: Option<Kind>,
    options: &RunnerOptions,
) -> Result<Box<dyn Runner>> {
    if dir.is_file() {
        return Err(RunnerError::NotADirectory(dir.to_path_buf()));
    }
    if !dir.is_dir() {
        return Err(RunnerError::MissingDirectory(dir.to_path_buf()));
    }
    if let Some(ini) = options.alembic_ini.as_ref().filter(|ini| !ini.is_file()) {
        return Err(RunnerError::MissingFile {
            what: "--alembic-ini",
            path: ini.clone(),
        });
    }
    let kind = match forced {
        Some(kind) => kind,
        None if looks_like_alembic(dir) => Kind::Alembic,
        None => Kind::Sqlx,
    };
    match kind {
        Kind::Alembic => Ok(Box::new(AlembicRunner::open(dir, options).await?)),
        Kind::Sqlx => Ok(Box::new(SqlxRunner::open(&sqlx_migrations_dir(dir)).await?)),
    }
}

fn looks_like_alembic(dir: &Path) -> bool {
    dir.join("alembic.ini").is_file()
        || (dir.join("env.py").is_file() && dir.join("versions").is_dir())
}

/// sqlx projects keep their migrations in `migrations/` by default; accept the project root too.
fn sqlx_migrations_dir(dir: &Path) -> PathBuf {
    let has_sql = |d: &Path| {
        std::fs::read_dir(d)
            .map(|entries| {
                entries
                    .flatten()
                    .any(|e| e.path().extension().is_some_and(|ext| ext == "sql"))
            })
            .unwrap_or(false)
    };
    let nested = dir.join("migrations");
    if !has_sql(dir) && has_sql(&nested) {
        nested
    } else {
        dir.to_path_buf()
    }
}
