//! The commands: each builds the parts its settings ask for and calls them. Bad input fails
//! before any server starts (settings, then the runner opens, then the database is made).

mod gate;
mod listing;
mod schema;
mod seed;

use std::path::Path;

use crate::cli::settings::{Project, Server, Settings, Task};
use crate::database::{self, ScratchDatabase};
use crate::error::{Error, Outcome, Result};
use crate::report::Verdict;
use crate::runner::{self, Runner};

pub use gate::report_failure;

/// Runs a command, or stops it at SIGINT, SIGTERM, SIGHUP (a closed terminal or SSH session) or
/// SIGQUIT. Interrupting drops the run, and with it the scratch database and the cluster,
/// before this returns.
pub async fn run_until_interrupted(settings: Settings) -> Outcome {
    let mut work = Box::pin(run(settings));
    let outcome = tokio::select! {
        outcome = &mut work => match outcome {
            Ok(verdict) => Outcome::Finished(verdict),
            Err(error) => Outcome::Failed(error),
        },
        signal = interrupted() => {
            tracing::warn!("{signal}: stopping");
            Outcome::Interrupted
        }
    };
    drop(work);
    outcome
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

async fn run(settings: Settings) -> Result<Verdict> {
    let color = settings.color;
    match settings.task {
        Task::Revisions { project, format } => listing::revisions(&project, format).await,
        Task::Gate {
            kind,
            project,
            server,
            request,
            output,
        } => gate::run(kind, &project, &server, request, &output, color).await,
        Task::Snapshot {
            project,
            server,
            output,
        } => schema::snapshot(&project, &server, output).await,
        Task::Seed {
            project,
            server,
            at,
            seeding,
            ignore_tables,
        } => seed::seed(&project, server, &at, &seeding, &ignore_tables).await,
        Task::Checksum {
            server,
            tables,
            format,
        } => listing::checksum(&server, &tables, format).await,
        Task::Diff {
            sides,
            project,
            server,
            compare_column_order,
            format,
        } => {
            schema::diff(
                &sides,
                &project,
                &server,
                compare_column_order,
                format,
                color,
            )
            .await
        }
        Task::Stats { server } => listing::stats(&server).await,
        Task::Stop { dir } => {
            database::stop_kept(&dir)?;
            eprintln!("stopped the cluster in {} and removed it", dir.display());
            Ok(Verdict::Pass)
        }
        Task::Completions { shell } => {
            let mut cli = <crate::cli::Cli as clap::CommandFactory>::command();
            clap_complete::generate(shell, &mut cli, "migverify", &mut std::io::stdout());
            Ok(Verdict::Pass)
        }
    }
}

async fn open_runner(project: &Project) -> Result<Box<dyn Runner>> {
    Ok(runner::open(&project.dir, project.kind, &project.runner).await?)
}

/// The scratch database, its migrations run as `--migration-role` when one is named.
async fn scratch_database(server: &Server) -> Result<ScratchDatabase> {
    let mut database = ScratchDatabase::create(server.choice.clone(), server.keep).await?;
    if let Some(role) = &server.migration_role {
        database.run_migrations_as(role).await?;
    }
    Ok(database)
}

fn write_file(path: &Path, text: &str) -> Result<()> {
    std::fs::write(path, text).map_err(|source| Error::WriteFile {
        path: path.to_path_buf(),
        source,
    })
}
