//! `cycle` and `stairway`: the gate decides what the run does and runs it; this builds its
//! parts and writes the report where it was asked for, on every exit.

use std::path::Path;

use crate::cli::settings::{Project, ReportOutput, Server};
use crate::cli::ReportFormat;
use crate::error::{Error, Outcome, Result};
use crate::gate::{self, GateKind, GateRequest, Planned};
use crate::report::{render_markdown, render_text, Report, Verdict};

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
    let plan = match gate::plan(kind, request, runner.revisions(), &project.dir)? {
        Planned::Run(plan) => plan,
        Planned::NothingToTest(why) => {
            tracing::warn!("{why}");
            let report = Report::ended_early(kind.name(), Verdict::Skipped, why);
            emit(&report, output, color, true)?;
            return Ok(report.verdict);
        }
    };
    let mut database = scratch_database(server).await?;
    let report = gate::run(&plan, runner.as_mut(), &mut database).await?;
    drop(database);
    emit(&report, output, color, true)?;
    Ok(report.verdict)
}

/// A gate that ended without a report of its own (bad input, the environment, an interrupt)
/// still leaves one where one was asked for, verdict `error`, so that a CI step reading it (a PR
/// comment) says so rather than keeping what an earlier run said.
pub fn report_failure(kind: GateKind, output: &ReportOutput, outcome: &Outcome) {
    let message = match outcome {
        Outcome::Failed(error) => error.to_string(),
        Outcome::Interrupted => "interrupted; the scratch database is gone".to_string(),
        Outcome::Finished(_) => return,
    };
    let report = Report::ended_early(kind.name(), Verdict::Error, message);
    // The error is on stderr already; text on stdout would say it twice.
    let to_stdout = output.format != ReportFormat::Text;
    // A report file that cannot be written was refused before the run (that is then the
    // error on stderr), or the disk is what failed: one sentence has said so already.
    if let Err(error) = emit(&report, output, false, to_stdout) {
        tracing::debug!("no error report: {error}");
    }
}

fn emit(report: &Report, output: &ReportOutput, color: bool, to_stdout: bool) -> Result<()> {
    match output.format {
        _ if !to_stdout => {}
        ReportFormat::Text => print!("{}", render_text(report, color)),
        ReportFormat::Json => println!("{}", report.to_json()),
        ReportFormat::Markdown => print!("{}", render_markdown(report)),
    }
    if let Some(path) = &output.json_file {
        write_file(path, &report.to_json())?;
    }
    if let Some(path) = &output.markdown_file {
        write_file(path, &render_markdown(report))?;
    }
    Ok(())
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
