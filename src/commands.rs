//! The commands of the command line, each wiring the parts together: open the runner (so bad
//! input fails before any server starts), get a scratch database, run, print.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::cli::{
    Command, DatabaseArgs, Format, GateArgs, ProjectArgs, ReportFormat, SeedArgs, DEFAULT_BUDGET,
    DEFAULT_ROWS, DEFAULT_SEED,
};
use crate::config::Config;
use crate::data::{self, SeedOptions};
use crate::database::{self, ScratchDatabase, ServerChoice};
use crate::error::{exit_code, Error, Result};
use crate::gate::{self, AllowedChanges, GateConfig};
use crate::git;

use crate::report::{render_markdown, render_text, Verdict};
use crate::runner::{self, Revisions, Runner, RunnerOptions, Target};
use crate::schema::{self, Snapshot};

/// Runs a command, or stops it at SIGINT, SIGTERM, SIGHUP (a closed terminal or SSH session) or
/// SIGQUIT; returns the exit code. Interrupting drops the
/// run, and with it the scratch database and the cluster, before this returns.
pub async fn run_until_interrupted(cli: crate::cli::Cli) -> i32 {
    let color = cli.color.enabled(std::io::stdout().is_terminal());
    let mut work = Box::pin(run(cli.command, color, cli.config));
    let outcome = tokio::select! {
        outcome = &mut work => Some(outcome),
        signal = interrupted() => {
            tracing::warn!("{signal}: stopping");
            None
        }
    };
    drop(work);
    match outcome {
        Some(Ok(Verdict::Pass)) => exit_code::PASS,
        Some(Ok(Verdict::Fail)) => exit_code::CHECK_FAILED,
        Some(Err(error)) => {
            eprintln!("error: {error}");
            error.exit_code()
        }
        None => {
            eprintln!("migverify: interrupted; the scratch database is gone");
            exit_code::INTERRUPTED
        }
    }
}

async fn interrupted() -> &'static str {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut interrupt), Ok(mut terminate), Ok(mut hangup), Ok(mut quit)) = (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
        signal(SignalKind::hangup()),
        signal(SignalKind::quit()),
    ) else {
        return std::future::pending().await;
    };
    tokio::select! {
        _ = interrupt.recv() => "SIGINT",
        _ = terminate.recv() => "SIGTERM",
        _ = hangup.recv() => "SIGHUP",
        _ = quit.recv() => "SIGQUIT",
    }
}

async fn run(mut command: Command, color: bool, config: Option<PathBuf>) -> Result<Verdict> {
    if let Some(project) = command.project() {
        if let Some(config) = Config::find(config.as_deref(), &project.migrations)? {
            tracing::info!(file = %config.path().display(), "settings");
            config.apply(&mut command)?;
        }
    }
    match command {
        Command::Revisions { project, format } => revisions(&project, format).await,
        Command::Cycle(args) => run_gate(args, color, Gate::Cycle).await,
        Command::Stairway(args) => run_gate(args, color, Gate::Stairway).await,
        Command::Snapshot {
            revision,
            project,
            database,
            out,
            dir,
        } => match dir {
            Some(dir) => snapshot_all(&project, &database, &dir).await,
            None => snapshot_one(&project, &database, revision.as_deref(), out.as_deref()).await,
        },
        Command::Seed {
            at,
            project,
            database_url,
            data,
        } => seed(&at, &project, database_url, &data).await,
        Command::Checksum {
            database_url,
            tables,
            format,
        } => checksum(&database_url, &tables, format).await,
        Command::Diff {
            a,
            b,
            project,
            database,
            compare_column_order,
        } => diff(&a, &b, &project, &database, compare_column_order, color).await,
        Command::Completions { shell } => {
            let mut cli = <crate::cli::Cli as clap::CommandFactory>::command();
            clap_complete::generate(shell, &mut cli, "migverify", &mut std::io::stdout());
            Ok(Verdict::Pass)
        }
    }
}

/// Opens the project's runner; `database_url` is the server its migrations will run on, if the
/// user named one, and `budget` the per-step budget of a gate (the runner's start-up gets no
/// longer than a step).
async fn open_runner(
    project: &ProjectArgs,
    database_url: Option<&str>,
    budget: Option<Duration>,
) -> Result<Box<dyn Runner>> {
    let mut env = project.env.clone();
    if let Some(password) = database_url.and_then(database::password_in_url) {
        env.push(("PGPASSWORD".to_string(), password));
    }
    let options = RunnerOptions {
        python: project.python.clone(),
        alembic_ini: project.alembic_ini.clone(),
        x: project.x.clone(),
        env,
        url_options: project.url_options.clone(),
        startup_timeout: budget,
    };
    runner::open(&project.migrations, project.kind.map(Into::into), &options).await
}

async fn scratch_database(args: &DatabaseArgs) -> Result<ScratchDatabase> {
    let choice = match &args.database_url {
        Some(url) => ServerChoice::Existing { url: url.clone() },
        None => ServerChoice::Throwaway,
    };
    ScratchDatabase::create(choice, args.keep).await
}

/// Checks that a report can be written to `path` before any work is done for it: the file is
/// opened for appending (created if missing, and then removed again).
fn check_writable(path: &Path) -> Result<()> {
    let existed = path.exists();
    std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(path)
        .map_err(|source| Error::WriteFile {
            path: path.to_path_buf(),
            source,
        })?;
    if !existed {
        let _ = std::fs::remove_file(path);
    }
    Ok(())
}

async fn revisions(project: &ProjectArgs, format: Format) -> Result<Verdict> {
    let runner = open_runner(project, None, None).await?;
    let revisions = runner.revisions().all();
    match format {
        Format::Json => println!(
            "{}",
            serde_json::to_string_pretty(revisions).expect("revisions serialize")
        ),
        Format::Text => {
            let width = revisions
                .iter()
                .map(|r| r.id.len())
                .max()
                .unwrap_or(0)
                .max(4);
            for revision in revisions {
                let parents = match revision.parents.as_slice() {
                    [] => "base".to_string(),
                    parents => parents.join(","),
                };
                let down = if revision.has_down { "down" } else { "no-down" };
                // One line a revision: a description's first line (alembic's are free text).
                let description = revision.description.lines().next().unwrap_or("");
                println!(
                    "{:<width$}  {:<width$}  {:<7}  {description}",
                    revision.id, parents, down
                );
            }
        }
    }
    Ok(Verdict::Pass)
}

enum Gate {
    Cycle,
    Stairway,
}

async fn run_gate(args: GateArgs, color: bool, which: Gate) -> Result<Verdict> {
    for path in [&args.report, &args.markdown].into_iter().flatten() {
        check_writable(path)?;
    }
    if let Some(url) = &args.database.database_url {
        database::parse_url(url)?;
        if args.migration_role.is_some() {
            return Err(Error::Unsupported(
                database::MIGRATION_ROLE_NEEDS_THROWAWAY.to_string(),
            ));
        }
    }
    let mut runner = open_runner(
        &args.project,
        args.database.database_url.as_deref(),
        Some(args.budget.unwrap_or(DEFAULT_BUDGET)),
    )
    .await?;
    let range = match which {
        Gate::Cycle => gate::cycle_range,
        Gate::Stairway => gate::stairway_range,
    };
    let (from, to) = match &args.base_ref {
        Some(base_ref) => {
            let added = git::added_files(&args.project.migrations, base_ref)?;
            match gate::branch_range(runner.revisions(), &added, args.to.as_deref())? {
                Some(range) => range,
                None => {
                    tracing::warn!(
                        "this branch adds no migration compared with {base_ref}: nothing to test"
                    );
                    return Ok(Verdict::Pass);
                }
            }
        }
        None => range(runner.revisions(), args.from.as_deref(), args.to.as_deref())?,
    };
    if let Some(dir) = &args.snapshots {
        if !dir.is_dir() {
            return Err(Error::MissingSnapshotDirectory(dir.clone()));
        }
    }
    let seed_options = seed_options(&args.data);
    let seed = match which {
        Gate::Cycle => gate::seeding(&seed_options),
        Gate::Stairway => None,
    };
    let config = GateConfig {
        from,
        to,
        budget: args.budget.unwrap_or(DEFAULT_BUDGET),
        full: gate::full_leg(args.full, args.no_full, seed_options.rows),
        snapshots: args.snapshots.clone(),
        compare_column_order: args.compare_column_order,
        seed,
        allowed_changes: AllowedChanges::new(args.allow_change.clone()),
        irreversible_ok: irreversible_ok(runner.revisions(), &args.irreversible_ok)?,
        ignore_tables: args.data.ignore_tables.clone(),
        irreversible_patterns: args.irreversible_patterns.clone(),
        allowed_cluster_changes: args.allow_cluster_change.clone(),
        strict_history: args.strict_history,
    };
    let mut database = scratch_database(&args.database).await?;
    if let Some(role) = &args.migration_role {
        database.run_migrations_as(role).await?;
    }
    let outcome = match which {
        Gate::Cycle => gate::cycle(runner.as_mut(), &mut database, &config).await,
        Gate::Stairway => gate::stairway(runner.as_mut(), &mut database, &config).await,
    };
    // A server that died or ran out of disk explains any failure the run met.
    let failed = outcome
        .as_ref()
        .map_or(true, |report| report.failed_steps().next().is_some());
    if let Some(trouble) = failed.then(|| database.server_trouble()).flatten() {
        return Err(Error::ServerTrouble(trouble));
    }
    let report = outcome?;
    drop(database);
    match args.format {
        ReportFormat::Text => print!("{}", render_text(&report, color)),
        ReportFormat::Json => println!("{}", report.to_json()),
        ReportFormat::Markdown => print!("{}", render_markdown(&report)),
    }
    if let Some(path) = &args.report {
        write_file(path, &report.to_json())?;
    }
    if let Some(path) = &args.markdown {
        write_file(path, &render_markdown(&report))?;
    }
    Ok(report.verdict)
}

/// Migrates to `target` and reads the schema there.
async fn snapshot_at(
    runner: &mut dyn Runner,
    database: &ScratchDatabase,
    target: &Target,
) -> Result<Snapshot> {
    runner::migrate(runner, database.connect_options(), target).await?;
    let mut connection = database.connect().await?;
    schema::introspect(&mut connection, &runner.bookkeeping_tables()).await
}

async fn snapshot_one(
    project: &ProjectArgs,
    database: &DatabaseArgs,
    revision: Option<&str>,
    out: Option<&Path>,
) -> Result<Verdict> {
    let mut runner = open_runner(project, database.database_url.as_deref(), None).await?;
    let target = runner.revisions().resolve(revision.unwrap_or("head"))?;
    let database = scratch_database(database).await?;
    let snapshot = snapshot_at(runner.as_mut(), &database, &target).await?;
    match out {
        Some(path) => write_file(path, snapshot.text())?,
        None => print!("{}", snapshot.text()),
    }
    Ok(Verdict::Pass)
}

/// One file per state on the way up from base, named as the gate names it (a revision, or
/// heads joined by `+` between a branch and its merge).
async fn snapshot_all(
    project: &ProjectArgs,
    database: &DatabaseArgs,
    dir: &Path,
) -> Result<Verdict> {
    let mut runner = open_runner(project, database.database_url.as_deref(), None).await?;
    std::fs::create_dir_all(dir).map_err(|source| Error::WriteFile {
        path: dir.to_path_buf(),
        source,
    })?;
    let database = scratch_database(database).await?;
    let targets = runner
        .revisions()
        .walk(&Target::base(), &runner.revisions().head());
    for target in targets {
        let snapshot = snapshot_at(runner.as_mut(), &database, &target).await?;
        let path = dir.join(format!("{target}.txt"));
        write_file(&path, snapshot.text())?;
        eprintln!("wrote {}", path.display());
    }
    Ok(Verdict::Pass)
}

/// `diff A B`: each side is a snapshot file when such a file exists, else a revision.
async fn diff(
    a: &str,
    b: &str,
    project: &ProjectArgs,
    database: &DatabaseArgs,
    compare_column_order: bool,
    color: bool,
) -> Result<Verdict> {
    let specs = [a, b];
    let mut snapshots: [Option<Snapshot>; 2] = [None, None];
    let mut revisions = Vec::new();
    for (side, spec) in specs.iter().enumerate() {
        if Path::new(spec).is_file() {
            snapshots[side] = Some(Snapshot::read(Path::new(spec))?);
        } else if spec.contains('/') || spec.ends_with(".txt") {
            // A path, not a revision id: say so rather than look for migrations.
            return Err(Error::MissingSnapshotFile(spec.to_string()));
        } else {
            revisions.push((side, *spec));
        }
    }
    if !revisions.is_empty() {
        let mut runner = open_runner(project, database.database_url.as_deref(), None).await?;
        let mut targets = revisions
            .into_iter()
            .map(|(side, spec)| Ok((side, runner.revisions().resolve(spec)?)))
            .collect::<Result<Vec<_>>>()?;
        // An older side first, so that the walk goes up where it can.
        targets
            .sort_by_key(|(_, target)| runner.revisions().between(&Target::base(), target).len());
        let database = scratch_database(database).await?;
        for (side, target) in targets {
            snapshots[side] = Some(snapshot_at(runner.as_mut(), &database, &target).await?);
        }
    }
    let [old, new] = snapshots.map(|snapshot| snapshot.expect("each side is a file or a revision"));
    let text = schema::unified_diff(
        &old.comparable_text(compare_column_order),
        &new.comparable_text(compare_column_order),
        a,
        b,
        color,
    );
    print!("{text}");
    Ok(if text.is_empty() {
        Verdict::Pass
    } else {
        Verdict::Fail
    })
}

/// The revisions `--irreversible-ok` names, each resolved to its full id.
fn irreversible_ok(revisions: &Revisions, specs: &[String]) -> Result<Vec<String>> {
    specs
        .iter()
        .map(|spec| match revisions.resolve(spec)?.heads() {
            [one] => Ok(one.clone()),
            _ => Err(Error::UnknownRevision(spec.clone())),
        })
        .collect()
}

fn seed_options(args: &SeedArgs) -> SeedOptions {
    SeedOptions {
        rows: args.rows.unwrap_or(DEFAULT_ROWS),
        table_rows: args.table_rows.iter().cloned().collect(),
        seed: args.seed.unwrap_or(DEFAULT_SEED),
        values: args.values.iter().cloned().collect(),
    }
}

/// `seed --at REV`: a scratch database migrated to REV and seeded, kept for inspection.
async fn seed(
    at: &str,
    project: &ProjectArgs,
    database_url: Option<String>,
    args: &SeedArgs,
) -> Result<Verdict> {
    let mut runner = open_runner(project, database_url.as_deref(), None).await?;
    let target = runner.revisions().resolve(at)?;
    // Kept only once seeded: a failure on the way cleans up like any other run.
    let mut database = scratch_database(&DatabaseArgs {
        database_url,
        keep: false,
    })
    .await?;
    let options = database.connect_options();
    runner::migrate(runner.as_mut(), options, &target).await?;
    let mut connection = database.connect().await?;
    let mut skip = runner.bookkeeping_tables();
    skip.extend(args.ignore_tables.iter().cloned());
    let seeded = data::seed(&mut connection, options, &skip, &seed_options(args)).await?;
    for (table, rows) in seeded {
        println!("{table}  {rows} rows");
    }
    database.keep();
    Ok(Verdict::Pass)
}

/// `checksum`: read-only figures of every table of a database migverify did not create.
async fn checksum(url: &str, only: &[String], format: Format) -> Result<Verdict> {
    let options = database::parse_url(url)?;
    let mut connection = database::connect(&options).await?;
    sqlx::query("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")
        .execute(&mut connection)
        .await?;
    let mut tables = schema::load_tables(&mut connection, runner::BOOKKEEPING_TABLES).await?;
    if !only.is_empty() {
        if let Some(unknown) = only
            .iter()
            .find(|name| schema::find_table(&tables, name).is_none())
        {
            return Err(Error::UnknownTable(unknown.clone()));
        }
        tables.retain(|table| {
            only.iter()
                .any(|name| schema::names_table(&table.name, name))
        });
    }
    let checksums = data::checksum_tables(&mut connection, &tables).await?;
    match format {
        Format::Json => println!(
            "{}",
            serde_json::to_string_pretty(&checksums).expect("checksums serialize")
        ),
        Format::Text => {
            for checksum in &checksums {
                println!(
                    "{}  {} rows  sha256 {}",
                    checksum.table, checksum.rows, checksum.digest
                );
            }
        }
    }
    Ok(Verdict::Pass)
}

fn write_file(path: &Path, text: &str) -> Result<()> {
    std::fs::write(path, text).map_err(|source| Error::WriteFile {
        path: path.to_path_buf(),
        source,
    })
}
