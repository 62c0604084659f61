//! Runners drive one kind of migration project up and down. They know revisions and how to
//! apply them, and nothing of schemas, data or reports.

mod alembic_protocol;
mod alembic_runner;
mod kept_connection;
mod revisions;
mod sql_files;
mod sqlx_runner;

use std::path::{Path, PathBuf};

use async_trait::async_trait;
use sqlx::postgres::PgConnectOptions;

pub use alembic_runner::AlembicRunner;
pub use revisions::{Move, Revision, Revisions, Target};
pub use sql_files::SqlFileRunner;
pub use sqlx_runner::SqlxRunner;

mod error;
pub use error::{Result, RunnerError};

/// The tables every supported migration tool keeps its records in, for `checksum`, which
/// reads a database no runner opened. `schema_migrations` (golang-migrate, dbmate) is left
/// out: on a database of unknown origin it may be a table of the application's own.
pub const BOOKKEEPING_TABLES: &[&str] = &[
    "_sqlx_migrations",
    "alembic_version",
    "goose_db_version",
    "flyway_schema_history",
    "__diesel_schema_migrations",
    "db_migrations",
    "db_lock",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    Alembic,
    Sqlx,
    GolangMigrate,
    Goose,
    Dbmate,
    Flyway,
    Diesel,
    Morph,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Alembic => "alembic",
            Kind::Sqlx => "sqlx",
            Kind::GolangMigrate => "golang-migrate",
            Kind::Goose => "goose",
            Kind::Dbmate => "dbmate",
            Kind::Flyway => "flyway",
            Kind::Diesel => "diesel",
            Kind::Morph => "morph",
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
    let (kind, files) = match forced {
        Some(kind) => (kind, migrations_dir(dir, kind)),
        None => detect(dir),
    };
    match kind {
        Kind::Alembic => Ok(Box::new(AlembicRunner::open(dir, options).await?)),
        Kind::Sqlx => Ok(Box::new(SqlxRunner::open(&files).await?)),
        _ => Ok(Box::new(SqlFileRunner::open(&files, kind)?)),
    }
}

/// The kind of project in `dir`, from its files. sqlx, golang-migrate and morph name their
/// files alike (`{version}_{name}.up.sql`): such a project is read as sqlx, or as morph when
/// a file starts with morph's `-- morph:nontransactional`; `--kind` says otherwise.
fn detect(dir: &Path) -> (Kind, PathBuf) {
    if looks_like_alembic(dir) {
        return (Kind::Alembic, dir.to_path_buf());
    }
    let candidates = [
        Kind::Diesel,
        Kind::Flyway,
        Kind::Goose,
        Kind::Dbmate,
        Kind::Morph,
    ];
    candidates
        .into_iter()
        .find_map(|kind| Some((kind, marked_dir(dir, kind)?)))
        .unwrap_or_else(|| (Kind::Sqlx, migrations_dir(dir, Kind::Sqlx)))
}

fn looks_like_alembic(dir: &Path) -> bool {
    dir.join("alembic.ini").is_file()
        || (dir.join("env.py").is_file() && dir.join("versions").is_dir())
}

/// The entries directly in `dir`.
fn entries(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .map(|entries| entries.flatten().map(|e| e.path()).collect())
        .unwrap_or_default()
}

/// Whether `dir` holds migrations named as `kind` names them.
fn shaped(dir: &Path, kind: Kind) -> bool {
    entries(dir).iter().any(|path| {
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        match kind {
            Kind::Diesel => path.join("up.sql").is_file(),
            Kind::Flyway => {
                name.ends_with(".sql")
                    && name.starts_with('V')
                    && name[1..].starts_with(|c: char| c.is_ascii_digit())
                    && name.contains("__")
            }
            _ => name.ends_with(".sql"),
        }
    })
}

/// Whether `dir` holds migrations that only `kind` writes: named its way (diesel, Flyway), or
/// marked its way inside (goose, dbmate, morph).
fn marked(dir: &Path, kind: Kind) -> bool {
    match kind {
        Kind::Diesel | Kind::Flyway => shaped(dir, kind),
        Kind::Goose | Kind::Dbmate | Kind::Morph => entries(dir).iter().any(|path| {
            path.extension().is_some_and(|e| e == "sql")
                && std::fs::read_to_string(path)
                    .is_ok_and(|text| sql_files::written_for(kind, &text))
        }),
        // Their files carry no mark of their own.
        Kind::Alembic | Kind::Sqlx | Kind::GolangMigrate => false,
    }
}

/// Where a `kind` project in `dir` may keep its files: `dir` itself, then the subdirectories
/// the tool uses by default (`migrations/`; dbmate's `db/migrations/`; Flyway's `sql/` and
/// `db/migration/`).
fn places(dir: &Path, kind: Kind) -> impl Iterator<Item = PathBuf> + '_ {
    let nested: &[&str] = match kind {
        Kind::Alembic => &[],
        Kind::Dbmate => &["db/migrations", "migrations"],
        Kind::Flyway => &["sql", "db/migration", "migrations"],
        _ => &["migrations"],
    };
    std::iter::once(dir.to_path_buf()).chain(nested.iter().map(|n| dir.join(n)))
}

/// The first place holding files only `kind` writes.
fn marked_dir(dir: &Path, kind: Kind) -> Option<PathBuf> {
    places(dir, kind).find(|d| marked(d, kind))
}

/// Where the migration files of a `kind` project in `dir` are: marked first, so that a stray
/// schema.sql at the root does not hide a goose project below it; else the first place named
/// as `kind` names its files; else `dir`.
fn migrations_dir(dir: &Path, kind: Kind) -> PathBuf {
    marked_dir(dir, kind)
        .or_else(|| places(dir, kind).find(|d| shaped(d, kind)))
        .unwrap_or_else(|| dir.to_path_buf())
}
