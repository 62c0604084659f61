//! Reports: a run is a list of timed steps and pass/fail checks with a verdict. The model is the
//! JSON contract of DESIGN.md; `text` renders it for people.

mod listing;
mod markdown;
mod schema_diff;
mod text;

pub use listing::{listing_json, render_revisions, render_tables, RevisionEntry, TableEntry};
pub use markdown::render_markdown;
pub use schema_diff::SchemaDifference;
pub use text::render_text;

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Pass,
    Fail,
    /// The run could not start or was stopped (bad input, the environment, an interrupt): the
    /// report's `message` says why in one sentence.
    Error,
    /// There was nothing to test (a branch that adds no migration): `message` says why.
    Skipped,
}

/// The version of the JSON report's shape (report.schema.json): fields are added, never renamed.
pub const SCHEMA_VERSION: u32 = 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StepStatus {
    Ok,
    OverBudget,
    Error,
    /// Failed, but the gate's policy tolerates it and went on another way (a revision outside
    /// the range under test that fails on its own; a downgrade declared irreversible).
    Warning,
}

impl StepStatus {
    pub fn failed(self) -> bool {
        matches!(self, StepStatus::OverBudget | StepStatus::Error)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CheckStatus {
    Pass,
    Fail,
    /// Worth a reader's attention, not a reason to fail.
    Warn,
}

#[derive(Debug, Clone, Serialize)]
pub struct Step {
    pub name: String,
    pub from: String,
    pub to: String,
    pub seconds: f64,
    pub status: StepStatus,
    pub error: Option<String>,
    /// The locks the step held on relations that existed before it, strongest first.
    pub locks: Vec<LockHold>,
}

/// A lock a step held on a relation that existed before it, as sampled from `pg_locks`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LockHold {
    pub relation: String,
    /// table, partitioned table, index, sequence or materialized view.
    pub kind: String,
    /// The strongest mode held, as PostgreSQL's manual names it (`ACCESS EXCLUSIVE`).
    pub mode: String,
    /// When the step was first seen holding it, from the step's start.
    pub first_seen_s: f64,
    /// Its longest unbroken hold, from the first sample that saw it to the last.
    pub held_s: f64,
    /// The longest the step queued for `mode` on the relation before it was granted (0: it
    /// never queued).
    pub waited_s: f64,
    /// Rows of the table the step read (a validating scan reads them all), where the server
    /// counted them; null for other relations, or when it could not be told.
    pub rows_read: Option<i64>,
    /// Whether an application's SELECT would wait for it.
    pub blocks_reads: bool,
    /// Whether an application's INSERT, UPDATE or DELETE would wait for it.
    pub blocks_writes: bool,
    /// Whether the step rewrote the relation (a new relfilenode).
    pub rewrite: bool,
    /// In plain words: "rewrote public.orders (200000 rows)", "built index … on …".
    pub causes: Vec<String>,
}

impl LockHold {
    /// Whether it keeps an application from reading or writing a table (every relation in
    /// `locks` existed before the step).
    pub fn blocks_a_table(&self) -> bool {
        matches!(self.kind.as_str(), "table" | "partitioned table")
            && (self.blocks_reads || self.blocks_writes)
    }

    /// What a reader of the report should see: a hold that blocks an application, or a
    /// rewrite or index build.
    pub fn matters(&self) -> bool {
        self.blocks_reads || self.blocks_writes || !self.causes.is_empty()
    }

    /// How long an application doing what the mode blocks would wait: while the step queued
    /// for the lock (others queue behind it) and while it held it.
    pub fn blocking_s(&self) -> f64 {
        self.held_s + self.waited_s
    }

    /// "reads and writes", "writes" or "neither".
    pub fn blocks(&self) -> &'static str {
        match (self.blocks_reads, self.blocks_writes) {
            (true, _) => "reads and writes",
            (false, true) => "writes",
            (false, false) => "neither",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Check {
    pub name: String,
    pub status: CheckStatus,
    pub message: String,
    pub details: Details,
}

/// What a check found beyond its message, by kind; each serializes as the JSON object of its
/// fields (`{}` for none).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Details {
    /// Two schemas that differ: the objects, and the unified diff of their text.
    SchemaDiff {
        unexpected: Vec<String>,
        missing: Vec<String>,
        changed: Vec<String>,
        diff: String,
    },
    /// Data a step lost or changed: the findings, and rows that show them.
    Rows {
        findings: Vec<String>,
        rows: Vec<RowEvidence>,
    },
    /// A committed snapshot file that is missing.
    File {
        file: std::path::PathBuf,
    },
    /// The heads the range ends at.
    Heads {
        heads: Vec<String>,
    },
    /// Revisions a check is about (accepted as irreversible).
    Revisions {
        revisions: Vec<String>,
    },
    /// One revision and the error it raised.
    RevisionError {
        revision: String,
        error: Option<String>,
    },
    /// What a step changed outside the scratch database.
    Changes {
        changes: Vec<String>,
    },
    None {},
}

impl RowEvidence {
    /// One side of the row as a report shows it.
    pub fn shown(side: &Option<String>) -> &str {
        side.as_deref().unwrap_or("(no row)")
    }
}

/// One row that shows a data finding, as it was before the step and after.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RowEvidence {
    pub table: String,
    /// The key columns' values (`id=42`), or `whole row` for a table matched by whole rows.
    pub key: String,
    /// The compared columns as JSON; `None` where the row does not exist on that side.
    pub before: Option<String>,
    pub after: Option<String>,
}

/// Row counts and content digests of one table around the range under test.
#[derive(Debug, Clone, Serialize)]
pub struct TableFigures {
    pub table: String,
    pub rows_before: u64,
    pub rows_after: u64,
    pub checksum_before: String,
    pub checksum_after: String,
}

/// A part of the run and its time: the scratch database, the climb to --from, seeding, a
/// checksum pass, the migration steps, the schema snapshots, the evidence database.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Phase {
    pub name: String,
    pub seconds: f64,
    /// Per table, where the phase works table by table (seeding, checksums); else empty.
    pub tables: Vec<TableTime>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TableTime {
    pub table: String,
    pub seconds: f64,
    /// A checksum kept from the pass before: the server proved the table untouched since.
    pub reused: bool,
}

impl Phase {
    /// "public.devices 7.70 s", the table that took longest, for a phase that has tables.
    fn slowest_table(&self) -> Option<String> {
        self.tables
            .iter()
            .filter(|t| !t.reused)
            .max_by(|a, b| a.seconds.total_cmp(&b.seconds))
            .map(|t| format!("{} {:.2} s", t.table, t.seconds))
    }

    /// "slowest: public.devices 2.25 s; 5 of 6 tables untouched since the pass before, not
    /// read again", for a phase that has tables.
    pub fn tables_note(&self) -> Option<String> {
        let reused = self.tables.iter().filter(|t| t.reused).count();
        let kept = (reused > 0).then(|| {
            format!(
                "{reused} of {} tables untouched since the pass before, not read again",
                self.tables.len()
            )
        });
        let slowest = self.slowest_table().map(|t| format!("slowest: {t}"));
        match (slowest, kept) {
            (Some(slowest), Some(kept)) => Some(format!("{slowest}; {kept}")),
            (slowest, kept) => slowest.or(kept),
        }
    }
}

impl Report {
    /// Adds `seconds` to the phase `name`, made at its first use.
    pub fn add_phase(&mut self, name: &str, seconds: f64, tables: Vec<TableTime>) {
        match self.phases.iter_mut().find(|p| p.name == name) {
            Some(phase) => {
                phase.seconds += seconds;
                phase.tables.extend(tables);
            }
            None => self.phases.push(Phase {
                name: name.to_string(),
                seconds,
                tables,
            }),
        }
    }
}

/// How the range's upgrade grew with rows.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Growth {
    /// The range's upgrade on empty tables: its cost whatever the rows, taken off each point
    /// before the upgrade's time is fitted and added back to its prediction.
    pub fixed_s: Option<f64>,
    /// The upgrade at each size, smallest first.
    pub points: Vec<GrowthPoint>,
    /// The size predicted at (`--predict-rows`), if any.
    pub predict_rows: Option<u64>,
    /// One per measure: the upgrade's time, and each blocking lock on an existing table.
    pub fits: Vec<GrowthFit>,
}

#[derive(Debug, Clone, Serialize)]
pub struct GrowthPoint {
    pub rows: u64,
    pub upgrade_s: f64,
    /// The locks that block reads or writes of existing tables, as in a step's `locks`.
    pub locks: Vec<LockHold>,
}

impl Growth {
    /// One line per measure: its time at each size, the fit, and the prediction.
    pub fn lines(&self) -> Vec<String> {
        self.fits
            .iter()
            .map(|fit| {
                let times: Vec<String> = self
                    .points
                    .iter()
                    .filter_map(|point| {
                        if fit.what == "upgrade" {
                            return Some(point.upgrade_s);
                        }
                        point
                            .locks
                            .iter()
                            .find(|l| format!("{} on {}", l.mode, l.relation) == fit.what)
                            .map(|l| l.held_s)
                    })
                    .map(|seconds| format!("{seconds:.3} s"))
                    .collect();
                let shape = match (fit.exponent, fit.r_squared) {
                    (Some(exponent), Some(r_squared)) => {
                        format!("exponent {exponent:.2}, R² {r_squared:.3}")
                    }
                    _ => String::new(),
                };
                let mut line = format!("{}: {}", fit.what, times.join(", "));
                if !shape.is_empty() {
                    line.push_str(&format!("; {shape}"));
                }
                if let (Some(predicted), Some(at)) = (fit.predicted_s, fit.at_rows) {
                    let table = match &fit.at_table {
                        Some(table) => format!(" in {table}"),
                        None => String::new(),
                    };
                    line.push_str(&format!("; at {at} rows{table} ≈ {predicted} s"));
                }
                if let Some(note) = &fit.note {
                    line.push_str(&format!(" ({note})"));
                }
                line
            })
            .collect()
    }

    /// "10000, 100000, 1000000".
    /// "the range's upgrade at 10000, 100000 rows; 0.021 s on empty tables, taken off before
    /// its time is fitted".
    pub fn heading(&self) -> String {
        let sizes: Vec<String> = self.points.iter().map(|p| p.rows.to_string()).collect();
        let mut heading = format!("the range's upgrade at {} rows", sizes.join(", "));
        if let Some(fixed) = self.fixed_s {
            heading +=
                &format!("; {fixed:.3} s on empty tables, taken off before its time is fitted");
        }
        heading
    }
}

/// A measure fitted against rows on log–log axes: seconds = c · rows^exponent.
#[derive(Debug, Clone, Serialize)]
pub struct GrowthFit {
    /// `upgrade`, or a lock: `ACCESS EXCLUSIVE on public.orders`.
    pub what: String,
    pub exponent: Option<f64>,
    pub r_squared: Option<f64>,
    /// The size predicted at: `--predict-rows`, or the production rows of `at_table`.
    pub at_rows: Option<u64>,
    /// The table whose production size (`--stats`) the prediction is at.
    pub at_table: Option<String>,
    /// Seconds at `at_rows`.
    pub predicted_s: Option<f64>,
    /// Why there is no prediction, or why to doubt it.
    pub note: Option<String>,
}

/// What a walk over many revisions covered: which it tested, which failed, and which it could
/// not test, with why.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Coverage {
    pub tested: Vec<String>,
    pub failed: Vec<String>,
    pub skipped: Vec<Skipped>,
}

impl Coverage {
    /// "10 revisions tested, 4 failed (v0.9.0.a, …), 1 skipped (v3: why)".
    pub fn describe(&self) -> String {
        let mut line = format!("{} tested", plural(self.tested.len() as u64, "revision"));
        line += &format!(", {} failed", self.failed.len());
        if !self.failed.is_empty() {
            line += &format!(" ({})", self.failed.join(", "));
        }
        line += &format!(", {} skipped", self.skipped.len());
        if let Some(first) = self.skipped.first() {
            line += &format!(" (from {}: {})", first.revision, first.why);
        }
        line
    }
}

/// "1 row", "3 rows".
fn plural(count: u64, noun: &str) -> String {
    match count {
        1 => format!("1 {noun}"),
        n => format!("{n} {noun}s"),
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Skipped {
    pub revision: String,
    pub why: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub migverify: &'static str,
    pub schema_version: u32,
    pub command: String,
    /// The kind of project; `None` when the run ended before it was known.
    pub kind: Option<String>,
    pub verdict: Verdict,
    /// Why the run is an error or was skipped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    pub rows_per_table: u64,
    pub budget_s: f64,
    /// The range under test and the revisions in it.
    pub from: String,
    pub to: String,
    pub revisions: Vec<String>,
    pub steps: Vec<Step>,
    pub checks: Vec<Check>,
    pub tables: Vec<TableFigures>,
    /// Unified diff of the schema from `from` to `to`, as far as the run got.
    pub schema_diff: String,
    /// Blocking locks on existing tables held longer than this fail `lock_impact` (0: only
    /// reported).
    pub lock_budget_s: f64,
    /// The mean time between lock samples over the run: every hold is known to within it.
    pub lock_resolution_ms: Option<f64>,
    /// Where the run's time went, in the order it was spent.
    pub phases: Vec<Phase>,
    /// With a --rows list: the range's upgrade at each size, and what that predicts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub growth: Option<Growth>,
    /// For `stairway`: the revisions tested, failed and skipped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub coverage: Option<Coverage>,
}

impl Report {
    pub fn new(command: &str, kind: &str, budget_s: f64) -> Self {
        Report {
            migverify: env!("CARGO_PKG_VERSION"),
            schema_version: SCHEMA_VERSION,
            command: command.to_string(),
            kind: Some(kind.to_string()),
            verdict: Verdict::Pass,
            message: None,
            rows_per_table: 0,
            budget_s,
            from: String::new(),
            to: String::new(),
            revisions: Vec::new(),
            steps: Vec::new(),
            checks: Vec::new(),
            tables: Vec::new(),
            schema_diff: String::new(),
            lock_budget_s: 0.0,
            lock_resolution_ms: None,
            phases: Vec::new(),
            growth: None,
            coverage: None,
        }
    }

    /// The report of a run that ended without a verdict on the migrations: `Error` or
    /// `Skipped`, with why.
    pub fn ended_early(command: &str, verdict: Verdict, message: String) -> Self {
        let mut report = Report::new(command, "", 0.0);
        report.kind = None;
        report.verdict = verdict;
        report.message = Some(message);
        report
    }

    pub fn failed_steps(&self) -> impl Iterator<Item = &Step> {
        self.steps.iter().filter(|s| s.status.failed())
    }

    pub fn failed_checks(&self) -> impl Iterator<Item = &Check> {
        self.checks.iter().filter(|c| c.status == CheckStatus::Fail)
    }

    pub fn slowest_step(&self) -> Option<&Step> {
        self.steps
            .iter()
            .max_by(|a, b| a.seconds.total_cmp(&b.seconds))
    }

    /// Marks the last step as tolerated (a warning, not a failure) and judges again.
    pub fn tolerate_last_step(&mut self) {
        if let Some(step) = self.steps.last_mut() {
            step.status = StepStatus::Warning;
        }
        self.verdict = match self.failures() {
            0 => Verdict::Pass,
            _ => Verdict::Fail,
        };
    }

    pub fn push_step(&mut self, step: Step) {
        if step.status.failed() {
            self.verdict = Verdict::Fail;
        }
        self.steps.push(step);
    }

    pub fn push_check(&mut self, check: Check) {
        if check.status == CheckStatus::Fail {
            self.verdict = Verdict::Fail;
        }
        self.checks.push(check);
    }

    /// How many steps and checks have failed so far: to tell whether something failed since.
    pub fn failures(&self) -> usize {
        self.failed_steps().count() + self.failed_checks().count()
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a report always serializes")
    }
}
