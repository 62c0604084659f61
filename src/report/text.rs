//! The report for a terminal: steps with their times against the budget, checks, and failures
//! with the detail a person needs to act on them.

use std::fmt::Write;

use super::{CheckStatus, Details, Report, RowEvidence, StepStatus, Verdict};

const RED: &str = "31";
const GREEN: &str = "32";
const YELLOW: &str = "33";

pub fn render_text(report: &Report, color: bool) -> String {
    let paint = |text: &str, code: &str| {
        if color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    };
    let mut out = String::new();
    match (report.verdict, &report.message) {
        (Verdict::Error, Some(message)) => {
            return format!(
                "migverify {}: {} {message}\n",
                report.command,
                paint("ERROR", RED)
            )
        }
        (Verdict::Skipped, Some(message)) => {
            return format!(
                "migverify {}: {} {message}\n",
                report.command,
                paint("SKIPPED", YELLOW)
            )
        }
        _ => {}
    }
    let rows = match report.rows_per_table {
        0 => String::new(),
        rows => format!(" · {rows} rows per table"),
    };
    let sampling = match report.lock_resolution_ms {
        Some(ms) => format!(" · locks sampled every {ms} ms"),
        None => String::new(),
    };
    let _ = writeln!(
        out,
        "migverify {} · {}{rows} · budget {}s per step{sampling}",
        report.command,
        report.kind.as_deref().unwrap_or(""),
        report.budget_s
    );

    let _ = writeln!(out, "\nsteps");
    for step in &report.steps {
        let (label, code) = match step.status {
            StepStatus::Ok => ("ok", GREEN),
            StepStatus::OverBudget => ("over budget", RED),
            StepStatus::Error => ("error", RED),
            StepStatus::Warning => ("warning", YELLOW),
        };
        let _ = writeln!(
            out,
            "  {}  {:<9} {} → {}  {:.3}s",
            paint(&format!("{label:<11}"), code),
            step.name,
            step.from,
            step.to,
            step.seconds
        );
        if let Some(error) = &step.error {
            let _ = writeln!(out, "               {error}");
        }
        for hold in step.locks.iter().filter(|hold| hold.matters()) {
            let mut line = format!(
                "               {} on {} {:.3}s, blocks {}",
                hold.mode,
                hold.relation,
                hold.held_s,
                hold.blocks()
            );
            if hold.waited_s > 0.0 {
                line.push_str(&format!(", waited {:.3}s for it", hold.waited_s));
            }
            for cause in &hold.causes {
                line.push_str(&format!("; {cause}"));
            }
            let _ = writeln!(out, "{line}");
        }
    }

    let _ = writeln!(out, "\nchecks");
    let width = report
        .checks
        .iter()
        .map(|c| c.name.len())
        .max()
        .unwrap_or(0);
    for check in &report.checks {
        let (label, code) = match check.status {
            CheckStatus::Pass => ("pass", GREEN),
            CheckStatus::Fail => ("FAIL", RED),
            CheckStatus::Warn => ("warn", YELLOW),
        };
        let _ = writeln!(
            out,
            "  {}  {:<width$}  {}",
            paint(label, code),
            check.name,
            check.message
        );
        if check.status == CheckStatus::Fail {
            match &check.details {
                Details::SchemaDiff { diff, .. } => {
                    for line in diff.lines() {
                        let _ = writeln!(out, "        {line}");
                    }
                }
                Details::Rows { rows, .. } => {
                    for row in rows {
                        let _ = writeln!(out, "        {} {}", row.table, row.key);
                        let _ =
                            writeln!(out, "          before {}", RowEvidence::shown(&row.before));
                        let _ =
                            writeln!(out, "          after  {}", RowEvidence::shown(&row.after));
                    }
                }
                _ => {}
            }
        }
    }
    if report.checks.is_empty() {
        let _ = writeln!(
            out,
            "  {}",
            paint("none ran: the run stopped at a failed step", YELLOW)
        );
    }

    if let Some(growth) = report.growth.as_ref().filter(|g| !g.fits.is_empty()) {
        let _ = writeln!(out, "\ngrowth ({})", growth.heading());
        for line in growth.lines() {
            let _ = writeln!(out, "  {line}");
        }
    }

    if !report.phases.is_empty() {
        let _ = writeln!(out, "\ntime");
        let width = report
            .phases
            .iter()
            .map(|p| p.name.len())
            .max()
            .unwrap_or(0);
        for phase in &report.phases {
            let slowest = match phase.tables_note() {
                Some(note) => format!("  ({note})"),
                None => String::new(),
            };
            let _ = writeln!(
                out,
                "  {:<width$}  {:>8.2} s{slowest}",
                phase.name, phase.seconds
            );
        }
    }

    if let Some(coverage) = &report.coverage {
        let _ = writeln!(out, "\nrevisions: {}", coverage.describe());
    }
    let failed_steps = report.failed_steps().count();
    let failed_checks = report.failed_checks().count();
    let verdict = match report.verdict {
        Verdict::Pass => paint("PASS", GREEN),
        Verdict::Fail => paint("FAIL", RED),
        Verdict::Error => paint("ERROR", RED),
        Verdict::Skipped => paint("SKIPPED", YELLOW),
    };
    let _ = writeln!(
        out,
        "\nverdict: {verdict} ({failed_steps} of {} steps failed, {failed_checks} of {} checks failed)",
        report.steps.len(),
        report.checks.len()
    );
    out
}
