//! The command line as clap reads it: every flag and its help. Scripts depend on it, so names
//! are stable. Nothing here has a default that matters to a run: `settings` resolves the flags,
//! migverify.toml and the defaults into one `Settings`.

mod config_file;
pub mod settings;

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "migverify",
    version,
    about = "Proves that database migrations are safe to merge: up/down cycles on a throwaway PostgreSQL, schema snapshots and budgets."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// More logs on stderr (-v info, -vv debug); RUST_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Only errors on stderr.
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// Colour in reports and diffs; NO_COLOR is honoured under auto.
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
    /// Settings file (default: the nearest migverify.toml, in the migration project or above it up to the repository root).
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// List revisions base→head: id, parent(s), description, has-down.
    #[command(after_help = "Example:\n  migverify revisions -m migrations-fixtures/pos")]
    Revisions {
        #[command(flatten)]
        project: ProjectArgs,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// The gate: up to --from, up to --to, down, up again (and down to base and up with --full).
    #[command(
        after_help = "Example:\n  migverify cycle -m migrations-fixtures/pos --snapshots snapshots/pos"
    )]
    Cycle(GateArgs),
    /// Up, down and up again for every revision, schemas compared at each.
    #[command(after_help = "Example:\n  migverify stairway -m migrations-fixtures/pos")]
    Stairway(GateArgs),
    /// Print the canonical schema of a revision (default head).
    #[command(
        after_help = "Examples:\n  migverify snapshot -m migrations-fixtures/pos\n  migverify snapshot --dir snapshots/pos -m migrations-fixtures/pos"
    )]
    Snapshot {
        /// Revision: id, unique prefix, base, head, -N or +N.
        #[arg(conflicts_with = "dir", allow_hyphen_values = true)]
        revision: Option<String>,
        #[command(flatten)]
        project: ProjectArgs,
        #[command(flatten)]
        database: DatabaseArgs,
        /// Write the snapshot to FILE instead of stdout.
        #[arg(long, value_name = "FILE", conflicts_with = "dir")]
        out: Option<PathBuf>,
        /// Write one file per revision, DIR/<revision>.txt, base to head.
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
    /// Seed a scratch database at a revision and keep it for inspection.
    #[command(
        after_help = "Example:\n  migverify seed --at head --rows 1000 -m migrations-fixtures/pos",
        mut_arg("database_url", |arg| arg.help("An existing server to create the scratch database on (default: a throwaway cluster, kept running)"))
    )]
    Seed {
        /// Revision to migrate to before seeding.
        #[arg(
            long,
            value_name = "REV",
            default_value = "head",
            allow_hyphen_values = true
        )]
        at: String,
        #[command(flatten)]
        project: ProjectArgs,
        #[command(flatten)]
        connect: ConnectArgs,
        #[command(flatten)]
        data: SeedArgs,
    },
    /// Row count and sha256 of every table of a database, read-only.
    #[command(
        after_help = "Example:\n  migverify checksum --database-url postgres://app@localhost/shop --tables orders,payments",
        mut_arg("database_url", |arg| arg.required(true).help("The database to read (nothing is written to it)"))
    )]
    Checksum {
        #[command(flatten)]
        connect: ConnectArgs,
        /// Only these tables (qualified or bare names).
        #[arg(long, value_name = "TABLE,...", value_delimiter = ',')]
        tables: Vec<String>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Row estimates and sizes of every table of a database, as JSON for --stats; reads the
    /// catalog only, no table data, and writes nothing.
    #[command(
        after_help = "Example:\n  migverify stats --database-url postgres://app@prod-replica/shop > prod-stats.json",
        mut_arg("database_url", |arg| arg.required(true).help("The database to measure (nothing is written to it)"))
    )]
    Stats {
        #[command(flatten)]
        connect: ConnectArgs,
    },
    /// Stop a throwaway cluster that --keep or seed left running, and remove its directory.
    #[command(after_help = "Example:\n  migverify stop /tmp/migverify-AbC123")]
    Stop {
        /// The cluster's directory, as --keep or seed printed it.
        dir: PathBuf,
    },
    /// Print a shell completion script.
    #[command(
        after_help = "Example:\n  migverify completions bash > /etc/bash_completion.d/migverify"
    )]
    Completions {
        /// The shell to complete for.
        shell: clap_complete::Shell,
    },
    /// Unified diff of the schemas of two revisions or two snapshot files; exit 1 when they differ.
    #[command(after_help = "Example:\n  migverify diff -m migrations-fixtures/pos -1 head")]
    Diff {
        /// A revision or a snapshot file.
        #[arg(allow_hyphen_values = true)]
        a: String,
        /// A revision or a snapshot file.
        #[arg(allow_hyphen_values = true)]
        b: String,
        #[command(flatten)]
        project: ProjectArgs,
        #[command(flatten)]
        database: DatabaseArgs,
        /// Also compare the physical order of columns.
        #[arg(long)]
        compare_column_order: bool,
        /// Output format: the unified diff, or JSON with the objects that differ.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
}

#[derive(Debug, Args)]
pub struct ProjectArgs {
    /// The migration project; its kind is detected.
    #[arg(short, long = "migrations", value_name = "DIR", default_value = ".")]
    pub migrations: PathBuf,
    /// Force the kind of project (sqlx, golang-migrate and morph name files alike: such a
    /// project is read as sqlx unless this says otherwise).
    #[arg(long, value_enum)]
    pub kind: Option<KindArg>,
    /// The interpreter for alembic projects (default: $MIGVERIFY_PYTHON, <project>/.venv, python3).
    #[arg(long, value_name = "PATH")]
    pub python: Option<PathBuf>,
    /// The alembic.ini of an alembic project (default: <project>/alembic.ini).
    #[arg(long, value_name = "FILE")]
    pub alembic_ini: Option<PathBuf>,
    /// Passed to alembic as -x KEY=VALUE (repeatable).
    #[arg(short = 'x', value_name = "KEY=VALUE")]
    pub x: Vec<String>,
    /// An environment variable for env.py (repeatable).
    #[arg(long = "env", value_name = "KEY=VALUE", value_parser = parse_env)]
    pub env: Vec<(String, String)>,
    /// A main option of alembic.ini that env.py reads its URL from, set to the scratch
    /// database's besides sqlalchemy.url and url (repeatable).
    #[arg(long = "url-option", value_name = "NAME")]
    pub url_options: Vec<String>,
}

/// The one declaration of `--database-url`, flattened into every command that connects.
#[derive(Debug, Args)]
pub struct ConnectArgs {
    /// An existing server: a scratch database is created on it and dropped after; nothing else on it is touched.
    #[arg(
        long,
        env = "MIGVERIFY_DATABASE_URL",
        hide_env_values = true,
        value_name = "URL"
    )]
    pub database_url: Option<String>,
}

#[derive(Debug, Args)]
pub struct DatabaseArgs {
    #[command(flatten)]
    pub connect: ConnectArgs,
    /// Keep the scratch database (or cluster) and print how to connect.
    #[arg(long)]
    pub keep: bool,
}

#[derive(Debug, Args)]
pub struct GateArgs {
    #[command(flatten)]
    pub project: ProjectArgs,
    #[command(flatten)]
    pub database: DatabaseArgs,
    /// Start of the range under test (default: --to without its newest revisions; stairway: base).
    #[arg(long, value_name = "REV", allow_hyphen_values = true)]
    pub from: Option<String>,
    /// End of the range under test (default: every head).
    #[arg(long, value_name = "REV", allow_hyphen_values = true)]
    pub to: Option<String>,
    /// Per-step budget (default 300); a step still running then is stopped and fails the run.
    #[arg(long, value_name = "SECONDS", value_parser = parse_budget, allow_hyphen_values = true)]
    pub budget: Option<Duration>,
    /// Predict the range's upgrade and its locks at N rows per table from the sizes of a
    /// --rows list (fails `budget` and `lock_impact` on the prediction).
    #[arg(long, value_name = "N")]
    pub predict_rows: Option<u64>,
    /// Production sizes per table (from `migverify stats`): predict each lock at its table's
    /// rows, and the upgrade at the rows of the table it locks longest.
    #[arg(long, value_name = "FILE")]
    pub stats: Option<PathBuf>,
    /// Blocking locks on existing tables held longer than this fail `lock_impact` (default 5;
    /// 0 reports them without failing).
    #[arg(long, value_name = "SECONDS", value_parser = parse_lock_budget)]
    pub lock_budget: Option<f64>,
    /// How often the locks a step holds are sampled (default 5; 0 turns sampling off).
    #[arg(long, value_name = "MS")]
    pub lock_sample_ms: Option<u64>,
    /// Test only the migrations this branch adds compared with git REF, after applying the rest.
    #[arg(long, value_name = "REF", conflicts_with = "from")]
    pub base_ref: Option<String>,
    #[command(flatten)]
    pub data: SeedArgs,
    /// A table or column the upgrade is meant to change (repeatable).
    #[arg(long, value_name = "TABLE[.COLUMN]")]
    pub allow_change: Vec<String>,
    /// A revision whose downgrade is known not to exist; the gate does not go below it (repeatable).
    #[arg(long, value_name = "REV")]
    pub irreversible_ok: Vec<String>,
    /// Run the migrations as this role, without superuser, owning the scratch database (made
    /// for the run when missing), as on a managed server; throwaway cluster only.
    #[arg(long, value_name = "NAME")]
    pub migration_role: Option<String>,
    /// A kind of object outside the scratch database a migration may create or drop
    /// (repeatable); any other change there fails the `cluster_untouched` check.
    #[arg(long, value_name = "KIND", value_parser = clap::builder::PossibleValuesParser::new(crate::database::CLUSTER_OBJECT_KINDS))]
    pub allow_cluster_change: Vec<String>,
    /// Text in a downgrade's error that declares its revision irreversible on purpose, e.g.
    /// "RuntimeError: Cannot downgrade" (repeatable).
    #[arg(long = "irreversible", value_name = "PATTERN")]
    pub irreversible_patterns: Vec<String>,
    /// Fail when a revision below the range under test fails on its own (default: a warning,
    /// and the range is reached the way a fresh deploy does).
    #[arg(long)]
    pub strict_history: bool,
    /// A history with several heads is on purpose: test them all rather than fail `single_head`.
    #[arg(long)]
    pub allow_heads: bool,
    /// Also downgrade to base and rebuild from base (cycle; the default up to 100000 --rows).
    #[arg(long, conflicts_with = "no_full")]
    pub full: bool,
    /// Skip the downgrade to base and the rebuild from base (cycle).
    #[arg(long)]
    pub no_full: bool,
    /// Compare the schema at each revision with DIR/<revision>.txt.
    #[arg(long, value_name = "DIR")]
    pub snapshots: Option<PathBuf>,
    /// Also compare the physical order of columns.
    #[arg(long)]
    pub compare_column_order: bool,
    /// The report on stdout: text for people, json for machines, markdown for a PR comment.
    #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
    pub format: ReportFormat,
    /// Write the JSON report to FILE as well.
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
    /// Write the markdown report (a PR comment) to FILE as well.
    #[arg(long, value_name = "FILE")]
    pub markdown: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct SeedArgs {
    /// Rows seeded per table (default 10000; cycle: at --from, then checked; 0 checks schemas
    /// only). A list (10000,100000,1000000) also times the range's upgrade at each size, to
    /// see how its time and locks grow.
    #[arg(long, value_name = "N[,N...]", value_delimiter = ',')]
    pub rows: Vec<u64>,
    /// Rows for particular tables, overriding --rows.
    #[arg(long, value_name = "TABLE=N,...", value_delimiter = ',', value_parser = parse_table_rows)]
    pub table_rows: Vec<(String, u64)>,
    /// Seed of the data generator (default 1); the same seed gives the same data.
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,
    /// A table neither seeded nor checked, bare or schema-qualified (repeatable).
    #[arg(long = "ignore-table", value_name = "TABLE")]
    pub ignore_tables: Vec<String>,
    /// Values for a column the seeder cannot fill by itself (repeatable).
    #[arg(long, value_name = "TABLE.COLUMN=A,B,...", value_parser = parse_values)]
    pub values: Vec<(String, Vec<String>)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    Text,
    Json,
    Markdown,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

impl ColorChoice {
    /// Whether to colour a stream that is (or is not) a terminal.
    pub fn enabled(self, is_terminal: bool) -> bool {
        match self {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => is_terminal && std::env::var_os("NO_COLOR").is_none(),
        }
    }
}

fn parse_budget(text: &str) -> Result<Duration, String> {
    let seconds = text
        .parse::<f64>()
        .ok()
        .filter(|seconds| *seconds > 0.0)
        .ok_or_else(|| format!("{text:?} is not a positive number of seconds"))?;
    budget_from_seconds(seconds)
}

pub fn budget_from_seconds(seconds: f64) -> Result<Duration, String> {
    if seconds.is_nan() || seconds <= 0.0 {
        return Err(format!("{seconds} is not a positive number of seconds"));
    }
    Duration::try_from_secs_f64(seconds)
        .map_err(|_| format!("{seconds} seconds is too long a budget"))
}

fn parse_lock_budget(text: &str) -> Result<f64, String> {
    text.parse::<f64>()
        .ok()
        .filter(|seconds| seconds.is_finite() && *seconds >= 0.0)
        .ok_or_else(|| format!("{text:?} is not a number of seconds (0 or more)"))
}

fn parse_table_rows(text: &str) -> Result<(String, u64), String> {
    let (table, rows) = text
        .split_once('=')
        .ok_or_else(|| format!("{text:?} is not TABLE=N"))?;
    let rows = rows
        .parse()
        .map_err(|_| format!("{rows:?} in {text:?} is not a number of rows"))?;
    Ok((table.to_string(), rows))
}

fn parse_values(text: &str) -> Result<(String, Vec<String>), String> {
    match text.split_once('=') {
        Some((column, values)) if column.contains('.') && !values.is_empty() => Ok((
            column.to_string(),
            values.split(',').map(str::to_string).collect(),
        )),
        _ => Err(format!("{text:?} is not TABLE.COLUMN=A,B,...")),
    }
}

fn parse_env(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((key, value)) if !key.is_empty() => Ok((key.to_string(), value.to_string())),
        _ => Err(format!("{text:?} is not KEY=VALUE")),
    }
}

/// `--kind`: the kinds of project, as the command line names them (the runner part knows
/// nothing of clap).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum KindArg {
    Alembic,
    Sqlx,
    GolangMigrate,
    Goose,
    Dbmate,
    Flyway,
    Diesel,
    Morph,
}

impl From<KindArg> for crate::runner::Kind {
    fn from(kind: KindArg) -> Self {
        use crate::runner::Kind;
        match kind {
            KindArg::Alembic => Kind::Alembic,
            KindArg::Sqlx => Kind::Sqlx,
            KindArg::GolangMigrate => Kind::GolangMigrate,
            KindArg::Goose => Kind::Goose,
            KindArg::Dbmate => Kind::Dbmate,
            KindArg::Flyway => Kind::Flyway,
            KindArg::Diesel => Kind::Diesel,
            KindArg::Morph => Kind::Morph,
        }
    }
}
