//! Settings resolved once, in one place: the flags, over migverify.toml, over the defaults (as
//! ripgrep turns low-level args into high-level ones). Every default lives here; the commands
//! receive resolved values, never an `Option` and a default to apply.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::config_file::ConfigFile;
use super::{
    budget_from_seconds, Cli, Command, ConnectArgs, DatabaseArgs, Format, GateArgs, ProjectArgs,
    ReportFormat, SeedArgs,
};
use crate::data::SeedOptions;
use crate::database::{DatabaseError, ServerChoice, ServerUrl};
use crate::gate::{AllowedChanges, FullLeg, GateKind, GateRequest, RangeRequest, Rules};
use crate::impact::ProductionStats;
use crate::runner::{Kind, RunnerOptions};

pub const DEFAULT_ROWS: u64 = 10_000;
pub const DEFAULT_SEED: u64 = 1;
pub const DEFAULT_BUDGET: Duration = Duration::from_secs(300);
pub const DEFAULT_LOCK_BUDGET: Duration = Duration::from_secs(5);
pub const DEFAULT_LOCK_SAMPLE: Duration = Duration::from_millis(5);
/// How long an alembic interpreter may take to start (in a gate, no longer than the budget).
pub const DEFAULT_STARTUP_TIMEOUT: Duration = Duration::from_secs(60);

#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("cannot read {path}: {source}")]
    ReadConfig {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}, {message}")]
    BadConfig { path: PathBuf, message: String },
    #[error("checksum reads a database: name it with --database-url")]
    NoDatabaseUrl,
    #[error("cannot read the --stats file {path}: {message}")]
    BadStats { path: PathBuf, message: String },
    #[error("seed takes one --rows size (a list is for cycle, to see how an upgrade grows)")]
    OneSize,
    /// A malformed `--database-url`, or one that cannot go with the other settings.
    #[error(transparent)]
    Database(#[from] DatabaseError),
}

type Result<T> = std::result::Result<T, SettingsError>;

/// Everything a command needs to know, resolved.
#[derive(Debug)]
pub struct Settings {
    /// Colour on stdout.
    pub color: bool,
    pub task: Task,
}

#[derive(Debug)]
#[allow(clippy::large_enum_variant)] // one value per run
pub enum Task {
    Revisions {
        project: Project,
        format: Format,
    },
    Gate {
        kind: GateKind,
        project: Project,
        server: Server,
        request: GateRequest,
        output: ReportOutput,
    },
    Snapshot {
        project: Project,
        server: Server,
        output: SnapshotOutput,
    },
    Seed {
        project: Project,
        server: ServerChoice,
        at: String,
        seeding: SeedOptions,
        ignore_tables: Vec<String>,
    },
    Checksum {
        server: ServerUrl,
        tables: Vec<String>,
        format: Format,
    },
    Diff {
        sides: [String; 2],
        project: Project,
        server: Server,
        compare_column_order: bool,
        format: Format,
    },
    Stats {
        server: ServerUrl,
    },
    Stop {
        dir: PathBuf,
    },
    Completions {
        shell: clap_complete::Shell,
    },
}

/// The migration project and how to run its tool.
#[derive(Debug)]
pub struct Project {
    pub dir: PathBuf,
    pub kind: Option<Kind>,
    pub runner: RunnerOptions,
}

/// Where the scratch database is made.
#[derive(Debug)]
pub struct Server {
    pub choice: ServerChoice,
    pub keep: bool,
    /// The role migrations run as (throwaway cluster only).
    pub migration_role: Option<String>,
}

#[derive(Debug)]
pub enum SnapshotOutput {
    Print {
        revision: String,
    },
    File {
        revision: String,
        path: PathBuf,
    },
    /// One file per state, base to head.
    Directory(PathBuf),
}

/// Where a gate's report goes: stdout in `format`, and the files asked for.
#[derive(Debug)]
pub struct ReportOutput {
    pub format: ReportFormat,
    pub json_file: Option<PathBuf>,
    pub markdown_file: Option<PathBuf>,
}

/// Resolves the parsed command line, reading migverify.toml (`--config`, else the project's).
pub fn resolve(cli: Cli) -> Result<Settings> {
    let color = cli
        .color
        .enabled(std::io::IsTerminal::is_terminal(&std::io::stdout()));
    let file = match project_dir(&cli.command) {
        Some(dir) => ConfigFile::find(cli.config.as_deref(), dir)?,
        None => None,
    };
    if let Some(file) = &file {
        tracing::info!("settings read from {}", file.path().display());
    }
    let file = Layer(file.as_ref());
    let task = match cli.command {
        Command::Revisions { project, format } => Task::Revisions {
            project: file.project(project, None, None)?,
            format,
        },
        Command::Cycle(args) => file.gate(GateKind::Cycle, args)?,
        Command::Stairway(args) => file.gate(GateKind::Stairway, args)?,
        Command::Snapshot {
            revision,
            project,
            database,
            out,
            dir,
        } => {
            let server = file.server(database, None)?;
            let revision = revision.unwrap_or_else(|| "head".to_string());
            Task::Snapshot {
                project: file.project(project, Some(&server.choice), None)?,
                server,
                output: match (dir, out) {
                    (Some(dir), _) => SnapshotOutput::Directory(dir),
                    (None, Some(path)) => SnapshotOutput::File { revision, path },
                    (None, None) => SnapshotOutput::Print { revision },
                },
            }
        }
        Command::Seed {
            at,
            project,
            connect,
            data,
        } => {
            if data.rows.len() > 1 {
                return Err(SettingsError::OneSize);
            }
            let server = server_choice(&connect)?;
            Task::Seed {
                project: file.project(project, Some(&server), None)?,
                server,
                at,
                ignore_tables: fill(data.ignore_tables.clone(), file.list(|f| &f.ignore_tables)),
                seeding: file.seeding(data),
            }
        }
        Command::Checksum {
            connect,
            tables,
            format,
        } => Task::Checksum {
            server: match server_choice(&connect)? {
                ServerChoice::Existing(url) => url,
                ServerChoice::Throwaway => return Err(SettingsError::NoDatabaseUrl),
            },
            tables,
            format,
        },
        Command::Diff {
            a,
            b,
            project,
            database,
            compare_column_order,
            format,
        } => {
            let server = file.server(database, None)?;
            Task::Diff {
                sides: [a, b],
                project: file.project(project, Some(&server.choice), None)?,
                server,
                compare_column_order,
                format,
            }
        }
        Command::Stats { connect } => Task::Stats {
            server: match server_choice(&connect)? {
                ServerChoice::Existing(url) => url,
                ServerChoice::Throwaway => return Err(SettingsError::NoDatabaseUrl),
            },
        },
        Command::Stop { dir } => Task::Stop { dir },
        Command::Completions { shell } => Task::Completions { shell },
    };
    Ok(Settings { color, task })
}

/// Where a gate's report goes, read from the flags alone, before anything can fail: a run that
/// ends in an error still writes its report there.
pub fn gate_output(cli: &Cli) -> Option<(GateKind, ReportOutput)> {
    let (kind, args) = match &cli.command {
        Command::Cycle(args) => (GateKind::Cycle, args),
        Command::Stairway(args) => (GateKind::Stairway, args),
        _ => return None,
    };
    Some((kind, report_output(args)))
}

fn report_output(args: &GateArgs) -> ReportOutput {
    ReportOutput {
        format: args.format,
        json_file: args.report.clone(),
        markdown_file: args.markdown.clone(),
    }
}

fn project_dir(command: &Command) -> Option<&Path> {
    match command {
        Command::Cycle(gate) | Command::Stairway(gate) => Some(&gate.project.migrations),
        Command::Revisions { project, .. }
        | Command::Snapshot { project, .. }
        | Command::Seed { project, .. }
        | Command::Diff { project, .. } => Some(&project.migrations),
        Command::Checksum { .. }
        | Command::Stats { .. }
        | Command::Stop { .. }
        | Command::Completions { .. } => None,
    }
}

/// `--database-url`, parsed (and refused when malformed) before any work starts.
fn server_choice(connect: &ConnectArgs) -> Result<ServerChoice> {
    Ok(match &connect.database_url {
        Some(url) => ServerChoice::Existing(ServerUrl::parse(url)?),
        None => ServerChoice::Throwaway,
    })
}

/// migverify.toml, if there is one, under the flags.
struct Layer<'f>(Option<&'f ConfigFile>);

impl Layer<'_> {
    fn list(&self, key: impl Fn(&ConfigFile) -> &Vec<String>) -> &[String] {
        self.0.map_or(&[], |file| key(file))
    }

    fn value<T: Clone>(&self, key: impl Fn(&ConfigFile) -> &Option<T>) -> Option<T> {
        self.0.and_then(|file| key(file).clone())
    }

    /// The file's directory, which paths in it are relative to.
    fn dir(&self) -> &Path {
        self.0
            .and_then(|file| file.path().parent())
            .unwrap_or(Path::new("."))
    }

    fn gate(&self, kind: GateKind, args: GateArgs) -> Result<Task> {
        let output = report_output(&args);
        let budget = match (args.budget, self.value(|f| &f.budget)) {
            (Some(budget), _) => budget,
            (None, Some(seconds)) => {
                budget_from_seconds(seconds).map_err(|message| SettingsError::BadConfig {
                    path: self.0.map(|f| f.path().to_path_buf()).unwrap_or_default(),
                    message: format!("budget: {message}"),
                })?
            }
            (None, None) => DEFAULT_BUDGET,
        };
        let server = self.server(args.database, args.migration_role)?;
        let project = self.project(args.project, Some(&server.choice), Some(budget))?;
        // An explicit --from chooses the range itself; the file's base ref must not override it.
        let base_ref = match (&args.base_ref, &args.from) {
            (None, None) => self.value(|f| &f.base_ref),
            _ => args.base_ref,
        };
        let full = match (args.full, args.no_full) {
            (true, _) => FullLeg::Always,
            (_, true) => FullLeg::Never,
            _ => FullLeg::BySize,
        };
        let rules = Rules {
            budget,
            snapshots: args.snapshots,
            compare_column_order: args.compare_column_order,
            allowed_changes: AllowedChanges::new(fill(
                args.allow_change,
                self.list(|f| &f.allow_change),
            )),
            ignore_tables: fill(
                args.data.ignore_tables.clone(),
                self.list(|f| &f.ignore_tables),
            ),
            irreversible_patterns: fill(args.irreversible_patterns, self.list(|f| &f.irreversible)),
            allowed_cluster_changes: fill(
                args.allow_cluster_change,
                self.list(|f| &f.allow_cluster_change),
            ),
            strict_history: args.strict_history || self.0.is_some_and(|f| f.strict_history),
            lock_budget: match args.lock_budget.or_else(|| self.value(|f| &f.lock_budget)) {
                Some(seconds) if seconds.is_finite() && seconds >= 0.0 => {
                    Duration::from_secs_f64(seconds)
                }
                Some(seconds) => {
                    return Err(SettingsError::BadConfig {
                        path: self.0.map(|f| f.path().to_path_buf()).unwrap_or_default(),
                        message: format!(
                            "lock_budget: {seconds} is not a number of seconds (0 or more)"
                        ),
                    })
                }
                None => DEFAULT_LOCK_BUDGET,
            },
            lock_sampling: match args.lock_sample_ms {
                Some(0) => None,
                Some(ms) => Some(Duration::from_millis(ms)),
                None => Some(DEFAULT_LOCK_SAMPLE),
            },
            allow_heads: args.allow_heads || self.0.is_some_and(|f| f.allow_heads),
        };
        Ok(Task::Gate {
            kind,
            project,
            server,
            request: GateRequest {
                range: RangeRequest {
                    from: args.from,
                    to: args.to,
                    base_ref,
                },
                full,
                growth: self.sizes(&args.data),
                predict_rows: args.predict_rows,
                production_rows: match &args.stats {
                    Some(path) => production_rows(path)?,
                    None => BTreeMap::new(),
                },
                seeding: self.seeding(args.data),
                irreversible_ok: fill(args.irreversible_ok, self.list(|f| &f.irreversible_ok)),
                rules,
            },
            output,
        })
    }

    fn server(&self, args: DatabaseArgs, migration_role: Option<String>) -> Result<Server> {
        let choice = server_choice(&args.connect)?;
        let migration_role = migration_role.or_else(|| self.value(|f| &f.migration_role));
        if migration_role.is_some() && matches!(choice, ServerChoice::Existing(_)) {
            return Err(DatabaseError::MigrationRoleNeedsThrowaway.into());
        }
        Ok(Server {
            choice,
            keep: args.keep,
            migration_role,
        })
    }

    /// `server` is where the migrations will run, if the command runs any; `startup_timeout`
    /// the gate's budget (the runner's start-up gets no longer than a step).
    fn project(
        &self,
        args: ProjectArgs,
        server: Option<&ServerChoice>,
        startup_timeout: Option<Duration>,
    ) -> Result<Project> {
        let dir = self.dir();
        let alembic = self.0.map(|file| &file.alembic);
        let mut env = merge(args.env, alembic.map(|a| &a.env));
        if let Some(ServerChoice::Existing(url)) = server {
            if let Some(password) = url.password() {
                env.push(("PGPASSWORD".to_string(), password));
            }
        }
        Ok(Project {
            dir: args.migrations,
            kind: args
                .kind
                .or(self.0.and_then(|file| file.kind))
                .map(Into::into),
            runner: RunnerOptions {
                python: args.python.or_else(|| {
                    alembic
                        .and_then(|a| a.python.as_ref())
                        .map(|p| program(dir, p))
                }),
                alembic_ini: args
                    .alembic_ini
                    .or_else(|| alembic.and_then(|a| a.ini.as_ref()).map(|p| dir.join(p))),
                x: fill(args.x, alembic.map_or(&[], |a| &a.x)),
                env,
                url_options: fill(args.url_options, alembic.map_or(&[], |a| &a.url_options)),
                startup_timeout: startup_timeout
                    .map_or(DEFAULT_STARTUP_TIMEOUT, |t| t.min(DEFAULT_STARTUP_TIMEOUT)),
            },
        })
    }

    /// The sizes `--rows` names, smallest first; the file's or the default when it names none.
    fn sizes(&self, args: &SeedArgs) -> Vec<u64> {
        let mut sizes = args.rows.clone();
        if sizes.is_empty() {
            sizes.push(self.value(|f| &f.rows).unwrap_or(DEFAULT_ROWS));
        }
        sizes.sort_unstable();
        sizes.dedup();
        sizes
    }

    /// What is seeded: the largest of the sizes asked for.
    fn seeding(&self, args: SeedArgs) -> SeedOptions {
        SeedOptions {
            rows: self.sizes(&args).last().copied().unwrap_or(DEFAULT_ROWS),
            table_rows: merge(args.table_rows, self.0.map(|f| &f.table_rows))
                .into_iter()
                .collect(),
            seed: args
                .seed
                .or_else(|| self.value(|f| &f.seed))
                .unwrap_or(DEFAULT_SEED),
            values: merge(args.values, self.0.map(|f| &f.values))
                .into_iter()
                .collect(),
        }
    }
}

/// The rows per table of a `migverify stats` file.
fn production_rows(path: &Path) -> Result<BTreeMap<String, u64>> {
    let bad = |message: String| SettingsError::BadStats {
        path: path.to_path_buf(),
        message,
    };
    let text = std::fs::read_to_string(path).map_err(|e| bad(e.to_string()))?;
    let stats: ProductionStats = serde_json::from_str(&text).map_err(|e| bad(e.to_string()))?;
    Ok(stats.rows())
}

/// Per-key settings from the file, the command line winning for a key both name.
fn merge<V: Clone>(
    mut given: Vec<(String, V)>,
    configured: Option<&BTreeMap<String, V>>,
) -> Vec<(String, V)> {
    for (key, value) in configured.into_iter().flatten() {
        if !given.iter().any(|(k, _)| k == key) {
            given.push((key.clone(), value.clone()));
        }
    }
    given
}

/// A list from the file, unless the command line gave one.
fn fill(given: Vec<String>, configured: &[String]) -> Vec<String> {
    if given.is_empty() {
        configured.to_vec()
    } else {
        given
    }
}

/// A bare command name (`python3`) is looked up on PATH; anything with a slash is a path,
/// relative to the file.
fn program(dir: &Path, path: &Path) -> PathBuf {
    if path.components().count() == 1 {
        path.to_path_buf()
    } else {
        dir.join(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_program_in_the_file_is_a_path_relative_to_it_unless_bare() {
        assert_eq!(
            program(Path::new("/p"), Path::new(".venv/bin/python")),
            Path::new("/p/.venv/bin/python")
        );
        assert_eq!(
            program(Path::new("/p"), Path::new("python3")),
            Path::new("python3")
        );
    }

    #[test]
    fn the_command_line_wins_per_key_and_per_list() {
        let file: BTreeMap<String, u64> = [("orders".to_string(), 5), ("items".to_string(), 7)]
            .into_iter()
            .collect();
        let merged = merge(vec![("orders".to_string(), 1)], Some(&file));
        assert_eq!(
            merged,
            [("orders".to_string(), 1), ("items".to_string(), 7)]
        );
        assert_eq!(fill(vec![], &["a".to_string()]), ["a"]);
        assert_eq!(fill(vec!["b".to_string()], &["a".to_string()]), ["b"]);
    }
}
