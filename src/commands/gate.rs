//! `cycle` and `stairway`: the gate decides what the run does and runs it; this builds its
//! parts and writes the report where it was asked for.

use std::path::Path;

use crate::cli::settings::{Project, ReportOutput, Server};
use crate::cli::ReportFormat;
use crate::error::{Error, Result};
use crate::gate::{self, GateKind, GateRequest};
use crate::report::{render_markdown, render_text, Verdict};

use super::{open_runner, scratch_database, write_file};

pub async fn run(
    kind: GateKind,
    project: &Project,
    server: &Server,
    request: GateRequest,
    output: &ReportOutput,
    color: bool,
) -> Result<Verdict> {
    for path in [&output.json_file, &output.markdown_file]
        .into_iter()
        .flatten()
    {
        check_writable(path)?;
    }
    let mut runner = open_runner(project).await?;
    let Some(plan) = gate::plan(kind, request, runner.revisions(), &project.dir)? else {
        return Ok(Verdict::Pass);
    };
    let mut database = scratch_database(server).await?;
    let report = gate::run(&plan, runner.as_mut(), &mut database).await?;
    drop(database);
    match output.format {
        ReportFormat::Text => print!("{}", render_text(&report, color)),
        ReportFormat::Json => println!("{}", report.to_json()),
        ReportFormat::Markdown => print!("{}", render_markdown(&report)),
    }
    if let Some(path) = &output.json_file {
        write_file(path, &report.to_json())?;
    }
    if let Some(path) = &output.markdown_file {
        write_file(path, &render_markdown(&report))?;
    }
    Ok(report.verdict)
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
