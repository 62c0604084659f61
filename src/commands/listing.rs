//! `revisions`, `checksum` and `stats`: read-only listings.

use crate::cli::settings::Project;
use crate::cli::Format;
use crate::data;
use crate::database::{self, ServerUrl};
use crate::error::{Error, Result};
use crate::impact::ProductionStats;
use crate::report::{
    listing_json, render_revisions, render_tables, RevisionEntry, TableEntry, Verdict,
};
use crate::runner;
use crate::schema;

use super::open_runner;

pub async fn revisions(project: &Project, format: Format) -> Result<Verdict> {
    let runner = open_runner(project).await?;
    let entries: Vec<RevisionEntry> = runner
        .revisions()
        .all()
        .iter()
        .map(|revision| RevisionEntry {
            id: revision.id.clone(),
            parents: revision.parents.clone(),
            description: revision.description.clone(),
            has_down: revision.has_down,
            files: revision.files.clone(),
        })
        .collect();
    match format {
        Format::Json => println!("{}", listing_json(&entries)),
        Format::Text => print!("{}", render_revisions(&entries)),
    }
    Ok(Verdict::Pass)
}

/// A session on a database migverify did not create, that cannot write to it.
async fn read_only(server: &ServerUrl) -> Result<sqlx::postgres::PgConnection> {
    let mut connection = database::connect(server.options()).await?;
    sqlx::query("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")
        .execute(&mut connection)
        .await
        .map_err(database::DatabaseError::from)?;
    Ok(connection)
}

/// `stats`: the production sizes `--stats` reads, as JSON.
pub async fn stats(server: &ServerUrl) -> Result<Verdict> {
    let mut connection = read_only(server).await?;
    let stats = ProductionStats::read(&mut connection)
        .await
        .map_err(database::DatabaseError::from)?;
    println!(
        "{}",
        serde_json::to_string_pretty(&stats).expect("stats serialize")
    );
    Ok(Verdict::Pass)
}

/// Figures of every table (or of `only`) of a database migverify did not create; its session
/// is read-only.
pub async fn checksum(server: &ServerUrl, only: &[String], format: Format) -> Result<Verdict> {
    let mut connection = read_only(server).await?;
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
    // One read-only session: a second one would not be.
    let entries: Vec<TableEntry> =
        data::checksum_tables(data::Readers::one(&mut connection), &tables)
            .await?
            .into_iter()
            .map(|checksum| TableEntry {
                table: checksum.table,
                rows: checksum.rows,
                digest: checksum.digest,
                columns: checksum
                    .columns
                    .into_iter()
                    .map(|column| (column.name, column.digest))
                    .collect(),
            })
            .collect();
    match format {
        Format::Json => println!("{}", listing_json(&entries)),
        Format::Text => print!("{}", render_tables(&entries)),
    }
    Ok(Verdict::Pass)
}
