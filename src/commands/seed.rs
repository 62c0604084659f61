//! `seed --at REV`: a scratch database migrated to REV and seeded, kept for inspection.

use crate::cli::settings::Project;
use crate::data::{self, SeedOptions};
use crate::database::{ScratchDatabase, ServerChoice};
use crate::error::Result;
use crate::report::Verdict;
use crate::runner;

use super::open_runner;

pub async fn seed(
    project: &Project,
    server: ServerChoice,
    at: &str,
    seeding: &SeedOptions,
    ignore_tables: &[String],
) -> Result<Verdict> {
    let mut runner = open_runner(project).await?;
    let target = runner.revisions().resolve(at)?;
    // Kept only once seeded: a failure on the way cleans up like any other run.
    let mut database = ScratchDatabase::create(server, false).await?;
    let options = database.connect_options();
    runner::migrate(runner.as_mut(), options, &target).await?;
    let mut connection = database.connect().await?;
    let mut skip = runner.bookkeeping_tables();
    skip.extend(ignore_tables.iter().cloned());
    for seeded in data::seed(&mut connection, options, &skip, seeding).await? {
        println!("{}  {} rows", seeded.table, seeded.rows);
    }
    database.keep();
    Ok(Verdict::Pass)
}
