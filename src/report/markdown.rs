//! The report as a pull-request comment: the verdict and what failed first, then tables of steps
//! and checks, the failures in detail and the schema diff of the range, all under the size a
//! GitHub or GitLab comment accepts.

use std::fmt::Write;

use super::{plural, Check, CheckStatus, Details, Report, RowEvidence, StepStatus, Verdict};

/// The first line of every markdown report, so that a CI job can find its previous comment
/// and update it instead of adding another.
const MARKER: &str = "<!-- migverify-report -->";

/// GitHub refuses comments over 65,536 characters; stay clear of it.
const LIMIT: usize = 65_000;
/// The most each section may take, so that no one section crowds out the others; the schema
/// diff gets what is left.
const STEPS_SHARE: usize = 10_000;
const CHECKS_SHARE: usize = 10_000;
const LOCKS_SHARE: usize = 6_000;
const FAILURES_SHARE: usize = 20_000;
/// The most of a message or an error one table cell shows.
const CELL_CHARS: usize = 300;
/// Room for the headings, the summary and the notes on what was cut.
const FRAME: usize = 3_000;

pub fn render_markdown(report: &Report) -> String {
    let mut out = String::new();
    out.push_str(MARKER);
    out.push('\n');
    if let Some(ended) = ended_early(report) {
        // With the marker, so the PR's comment is replaced rather than left saying PASS.
        let _ = writeln!(out, "## migverify {}: {ended}", report.command);
        return out;
    }
    out.push_str(&summary(report));

    out.push_str("\n### Steps\n\n");
    let mut steps = vec![
        "| step | from | to | seconds | budget | status |".to_string(),
        "| --- | --- | --- | ---: | ---: | --- |".to_string(),
    ];
    steps.extend(report.steps.iter().map(|step| {
        let status = match step.status {
            StepStatus::Ok => "✅ ok".to_string(),
            StepStatus::OverBudget => "❌ over budget".to_string(),
            StepStatus::Error => format!("❌ {}", first_line(step.error.as_deref().unwrap_or(""))),
            StepStatus::Warning => {
                format!("⚠️ {}", first_line(step.error.as_deref().unwrap_or("")))
            }
        };
        format!(
            "| {} | {} | {} | {:.3} | {} | {} |",
            step.name,
            code(&step.from),
            code(&step.to),
            step.seconds,
            report.budget_s,
            cell(&status)
        )
    }));
    push_cut(&mut out, &steps, STEPS_SHARE, "steps", THE_JSON_HAS_ALL);
    locks(&mut out, report);
    if let Some(growth) = report.growth.as_ref().filter(|g| !g.fits.is_empty()) {
        let mut heading = growth.heading();
        heading[..1].make_ascii_uppercase();
        let _ = writeln!(out, "\n### Growth\n\n{heading}:\n");
        for line in growth.lines() {
            let _ = writeln!(out, "- {}", cell(&line));
        }
    }

    out.push_str("\n### Checks\n\n");
    if report.checks.is_empty() {
        out.push_str("None ran: the run stopped at a failed step.\n");
    } else {
        let mut checks = vec![
            "| status | check | message |".to_string(),
            "| --- | --- | --- |".to_string(),
        ];
        checks.extend(report.checks.iter().map(|check| {
            let status = match check.status {
                CheckStatus::Pass => "✅ pass",
                CheckStatus::Fail => "❌ fail",
                CheckStatus::Warn => "⚠️ warn",
            };
            format!(
                "| {status} | {} | {} |",
                code(&check.name),
                cell(&check.message)
            )
        }));
        push_cut(&mut out, &checks, CHECKS_SHARE, "checks", THE_JSON_HAS_ALL);
    }

    let failures: Vec<String> = report.failed_checks().flat_map(failure).collect();
    if !failures.is_empty() {
        out.push_str("\n### Failed checks\n\n");
        push_cut(
            &mut out,
            &failures,
            FAILURES_SHARE,
            "lines of failure details",
            THE_JSON_HAS_ALL,
        );
    }

    if !report.schema_diff.is_empty() {
        let _ = writeln!(out, "\n### Schema diff ({} → {})\n", report.from, report.to);
        let lines: Vec<String> = std::iter::once("```diff")
            .chain(report.schema_diff.lines())
            .chain(std::iter::once("```"))
            .map(str::to_string)
            .collect();
        let room = LIMIT.saturating_sub(out.len() + FRAME);
        push_cut(
            &mut out,
            &lines,
            room,
            "diff lines",
            "`migverify diff` or the JSON report's `schema_diff` has the whole diff",
        );
    }
    if !report.phases.is_empty() {
        out.push_str("\n<details><summary>Where the time went</summary>\n\n| phase | seconds | tables |\n| --- | ---: | --- |\n");
        for phase in &report.phases {
            let _ = writeln!(
                out,
                "| {} | {:.2} | {} |",
                phase.name,
                phase.seconds,
                phase.tables_note().unwrap_or_default()
            );
        }
        out.push_str("\n</details>\n");
    }
    out
}

/// What each step held on existing relations that an application would feel, if anything.
fn locks(out: &mut String, report: &Report) {
    let Some(ms) = report.lock_resolution_ms else {
        return;
    };
    let mut rows = vec![
        "| step | relation | mode | held (s) | waited (s) | blocks | rewrite | cause |".to_string(),
        "| --- | --- | --- | ---: | ---: | --- | --- | --- |".to_string(),
    ];
    for step in &report.steps {
        for hold in step.locks.iter().filter(|hold| hold.matters()) {
            rows.push(format!(
                "| {} {} → {} | {} | {} | {:.3} | {:.3} | {} | {} | {} |",
                step.name,
                code(&step.from),
                code(&step.to),
                code(&hold.relation),
                hold.mode,
                hold.held_s,
                hold.waited_s,
                hold.blocks(),
                if hold.rewrite { "yes" } else { "no" },
                cell(&hold.causes.join("; "))
            ));
        }
    }
    if rows.len() == 2 {
        let _ = writeln!(
            out,
            "\nNo step held a lock that blocks reads or writes of an existing relation (sampled every {ms} ms)."
        );
        return;
    }
    let _ = writeln!(
        out,
        "\n### Locks\n\nSampled every {ms} ms: a hold is known to within that.\n"
    );
    push_cut(out, &rows, LOCKS_SHARE, "locks", THE_JSON_HAS_ALL);
}

/// The heading and sentence of a run that ended without a verdict on the migrations.
fn ended_early(report: &Report) -> Option<String> {
    let message = report.message.as_deref().unwrap_or("");
    match report.verdict {
        Verdict::Error => Some(format!("⚠️ ERROR\n\nThe run did not complete: {message}\n")),
        Verdict::Skipped => Some(format!("⏭️ SKIPPED\n\n{message}\n")),
        Verdict::Pass | Verdict::Fail => None,
    }
}

/// The opening lines: verdict, one-line summary, and the first failure by name.
fn summary(report: &Report) -> String {
    let mut out = String::new();
    let verdict = match report.verdict {
        Verdict::Pass => "✅ PASS",
        Verdict::Fail => "❌ FAIL",
        Verdict::Error => "⚠️ ERROR",
        Verdict::Skipped => "⏭️ SKIPPED",
    };
    let _ = writeln!(out, "## migverify {}: {verdict}\n", report.command);
    let revisions = match report.revisions.len() {
        1 => "1 revision".to_string(),
        n => format!("{n} revisions"),
    };
    let mut facts = vec![
        format!(
            "{revisions} ({} → {})",
            code(&report.from),
            code(&report.to)
        ),
        format!(
            "{} ({})",
            report.kind.as_deref().unwrap_or("unknown kind"),
            plural(report.rows_per_table, "row") + " per table"
        ),
    ];
    if let Some(slowest) = report.slowest_step() {
        facts.push(format!(
            "slowest step {:.2} s of the {} s budget ({} {} → {})",
            slowest.seconds, report.budget_s, slowest.name, slowest.from, slowest.to
        ));
    }
    let failed_checks = report.failed_checks().count();
    let failed_steps = report.failed_steps().count();
    facts.push(format!(
        "{} of {} failed, {} of {} failed",
        failed_steps,
        plural(report.steps.len() as u64, "step"),
        failed_checks,
        plural(report.checks.len() as u64, "check")
    ));
    if let Some(coverage) = &report.coverage {
        facts.push(coverage.describe());
    }
    let _ = writeln!(out, "{}", facts.join(" · "));
    // A failed check names the cause; a failed step after it is often only its consequence.
    let first = report
        .failed_checks()
        .map(|c| format!("{}: {}", c.name, c.message))
        .chain(report.failed_steps().map(|s| {
            let error = s.error.as_deref().unwrap_or("over budget");
            format!("step {} {} → {}: {error}", s.name, s.from, s.to)
        }))
        .next();
    if let Some(first) = first {
        let _ = writeln!(
            out,
            "\n**Failed:** {}",
            cell(&clip(first_line(&first), 500))
        );
    }
    out
}

/// A failed check in detail: its message, then its schema diff or its differing rows.
fn failure(check: &Check) -> Vec<String> {
    let mut lines = vec![
        format!("#### {}", code(&check.name)),
        String::new(),
        check.message.clone(),
        String::new(),
    ];
    match &check.details {
        Details::SchemaDiff { diff, .. } => {
            lines.push("```diff".to_string());
            lines.extend(diff.lines().map(str::to_string));
            lines.push("```".to_string());
            lines.push(String::new());
        }
        Details::Rows { rows, .. } if !rows.is_empty() => {
            lines.push("| table | key | before | after |".to_string());
            lines.push("| --- | --- | --- | --- |".to_string());
            for row in rows {
                lines.push(format!(
                    "| {} | {} | {} | {} |",
                    cell(&row.table),
                    cell(&row.key),
                    cell(RowEvidence::shown(&row.before)),
                    cell(RowEvidence::shown(&row.after))
                ));
            }
            lines.push(String::new());
        }
        _ => {}
    }
    lines
}

const THE_JSON_HAS_ALL: &str = "the JSON report has them all";

/// Appends `lines` while they fit in `room` characters, closing a code fence the cut leaves
/// open, then says how much was left out and where `whole` is.
fn push_cut(out: &mut String, lines: &[String], room: usize, what: &str, whole: &str) {
    const CLOSING_FENCE: &str = "```\n";
    let kept = fitting(lines, room.saturating_sub(CLOSING_FENCE.len()));
    for line in &lines[..kept] {
        out.push_str(line);
        out.push('\n');
    }
    let fences = lines[..kept]
        .iter()
        .filter(|l| l.starts_with("```"))
        .count();
    if fences % 2 == 1 {
        out.push_str(CLOSING_FENCE);
    }
    if kept < lines.len() {
        let left: usize = lines[kept..].iter().map(|l| l.len() + 1).sum();
        let _ = writeln!(
            out,
            "\n_… {} more {what} ({left} characters) left out to fit a comment; {whole}._",
            lines.len() - kept
        );
    }
}

/// How many of `lines`, from the first, fit in `room` characters.
fn fitting(lines: &[String], room: usize) -> usize {
    let mut used = 0;
    lines
        .iter()
        .take_while(|line| {
            used += line.len() + 1;
            used <= room
        })
        .count()
}

/// Text made safe for one table cell: no pipes to end it, no newlines to break the row, and
/// short enough that one long message cannot take a table's whole share.
fn cell(text: &str) -> String {
    clip(text, CELL_CHARS)
        .replace('|', "\\|")
        .replace('\n', "<br>")
}

fn code(text: &str) -> String {
    format!("`{}`", text.replace('`', "'"))
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or("")
}

fn clip(text: &str, chars: usize) -> String {
    match text.char_indices().nth(chars) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::Step;

    fn failing_report(diff_lines: usize) -> Report {
        let mut report = Report::new("cycle", "sqlx", 300.0);
        report.from = "20240101000007".into();
        report.to = "20240101000008".into();
        report.revisions = vec!["20240101000008".into()];
        report.rows_per_table = 1000;
        report.push_step(Step {
            name: "upgrade".into(),
            from: "20240101000007".into(),
            to: "20240101000008".into(),
            seconds: 1.5,
            status: StepStatus::Ok,
            error: None,
            locks: Vec::new(),
        });
        report.push_check(Check {
            name: "schema_roundtrip".into(),
            status: CheckStatus::Fail,
            message: "downgrade of 20240101000008 left index public.ix_orders_status behind".into(),
            details: Details::SchemaDiff {
                unexpected: Vec::new(),
                missing: Vec::new(),
                changed: Vec::new(),
                diff: "+index public.ix_orders_status | x".to_string(),
            },
        });
        report.schema_diff = (0..diff_lines)
            .map(|i| format!("+  column c{i} text NOT NULL [position {i}]\n"))
            .collect();
        report
    }

    #[test]
    fn opens_with_the_marker_the_verdict_and_the_failure() {
        let text = render_markdown(&failing_report(3));
        let opening: Vec<&str> = text.lines().take(6).collect();
        assert_eq!(opening[0], MARKER);
        assert_eq!(opening[1], "## migverify cycle: ❌ FAIL");
        assert!(opening[3].starts_with("1 revision (`20240101000007` → `20240101000008`) · sqlx (1000 rows per table) · slowest step 1.50 s of the 300 s budget"), "{}", opening[3]);
        assert_eq!(
            opening[5],
            "**Failed:** schema_roundtrip: downgrade of 20240101000008 left index public.ix_orders_status behind"
        );
        // A pipe inside a diff line stays inside its fence; in a table cell it is escaped.
        assert!(text.contains("```diff\n+index public.ix_orders_status | x\n```"));
        assert!(text.ends_with("+  column c2 text NOT NULL [position 2]\n```\n"));
    }

    #[test]
    fn a_failure_cut_inside_its_diff_closes_the_fence_first() {
        let mut report = failing_report(3);
        report.checks[0].details = Details::SchemaDiff {
            unexpected: Vec::new(),
            missing: Vec::new(),
            changed: Vec::new(),
            diff: "+  column x text\n".repeat(5_000),
        };
        let text = render_markdown(&report);
        assert!(text.len() < LIMIT, "{} characters", text.len());
        let failed =
            &text[text.find("### Failed checks").unwrap()..text.find("### Schema diff").unwrap()];
        assert_eq!(failed.matches("```").count(), 2, "{failed}");
        assert!(failed.contains("```\n\n_… "), "{failed}");
        assert!(
            failed.contains("more lines of failure details ("),
            "{failed}"
        );
        assert_eq!(text.matches("```").count() % 2, 0);
    }

    #[test]
    fn a_huge_diff_is_cut_under_the_limit_with_a_note() {
        let text = render_markdown(&failing_report(100_000));
        assert!(text.len() < LIMIT, "{} characters", text.len());
        let note = text.lines().last().unwrap();
        assert!(note.starts_with("_… "), "{note}");
        assert!(note.contains("more diff lines ("), "{note}");
        // The fence is closed before the note, so the rest of the comment renders.
        assert_eq!(text.matches("```").count() % 2, 0);
    }
}
