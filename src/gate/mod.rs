//! The gate: the one place that knows the sequence and the policy of a run. `plan` decides
//! what a run does from what the user asked (`GateRequest`); `cycle` and `stairway` drive a
//! runner on a scratch database, take schema snapshots between steps, check them, and record
//! it all in a report.

mod cycle;
mod data_verdicts;
mod evidence;
mod growth;
mod locks;
mod policy;
mod session;
mod stairway;
mod step;

use std::path::PathBuf;
use std::time::Duration;

pub use cycle::cycle;
pub use data_verdicts::AllowedChanges;
pub use policy::plan;
pub use stairway::stairway;

use crate::data::SeedOptions;
use crate::database::ScratchDatabase;
use crate::error::{Error, Result};
use crate::report::Report;
use crate::runner::{Revisions, Runner, Target};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GateKind {
    Cycle,
    Stairway,
}

impl GateKind {
    pub fn name(self) -> &'static str {
        match self {
            GateKind::Cycle => "cycle",
            GateKind::Stairway => "stairway",
        }
    }
}

/// What the user asked of a gate run, flags, file and defaults already resolved; `plan` decides
/// the rest against the project's revisions.
#[derive(Debug, Clone)]
pub struct GateRequest {
    pub range: RangeRequest,
    pub full: FullLeg,
    /// What `cycle` seeds at `from`; no rows means schemas are checked alone.
    pub seeding: SeedOptions,
    /// The sizes `--rows` named, smallest first; with more than one, the range's upgrade is
    /// timed at each.
    pub growth: Vec<u64>,
    /// The production size to predict the upgrade and its locks at.
    pub predict_rows: Option<u64>,
    /// Production rows by table (`--stats`): each prediction at its own table's size.
    pub production_rows: std::collections::BTreeMap<String, u64>,
    /// Revisions (as the user named them) whose downgrade is known not to exist.
    pub irreversible_ok: Vec<String>,
    pub rules: Rules,
}

/// The range as the user named it: revisions, or the migrations a branch adds.
#[derive(Debug, Clone, Default)]
pub struct RangeRequest {
    pub from: Option<String>,
    pub to: Option<String>,
    /// Test the migrations added compared with this git ref, in the project's repository.
    pub base_ref: Option<String>,
}

/// `--full` / `--no-full`, or neither.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FullLeg {
    Always,
    Never,
    BySize,
}

/// What every step and check of a run abides by, as asked.
#[derive(Debug, Clone)]
pub struct Rules {
    pub budget: Duration,
    /// Committed snapshots (`<revision>.txt`) to compare the schema with at each revision.
    pub snapshots: Option<PathBuf>,
    pub compare_column_order: bool,
    pub allowed_changes: AllowedChanges,
    /// Tables neither seeded nor checked (bare or schema-qualified names).
    pub ignore_tables: Vec<String>,
    /// Text in a downgrade's error that declares its revision irreversible on purpose, such as
    /// `RuntimeError: Cannot downgrade`.
    pub irreversible_patterns: Vec<String>,
    /// Kinds of cluster-wide objects (role, database, …) a step may create or drop.
    pub allowed_cluster_changes: Vec<String>,
    /// A revision below the range under test that fails on its own fails the run, rather
    /// than being a warning on the way to the range.
    pub strict_history: bool,
    /// A history with several heads is tested at all of them rather than failing `single_head`.
    pub allow_heads: bool,
    /// Blocking locks on existing tables held longer fail `lock_impact`; zero only reports them.
    pub lock_budget: Duration,
    /// How often a step's locks are sampled; `None` samples none.
    pub lock_sampling: Option<Duration>,
}

/// What `plan` decided.
#[derive(Debug)]
pub enum Planned {
    Run(Box<GatePlan>),
    /// Nothing to test, and why.
    NothingToTest(String),
}

/// What a gate run does, decided by `plan`.
#[derive(Debug, Clone)]
pub struct GatePlan {
    pub kind: GateKind,
    /// The range under test.
    pub from: Target,
    pub to: Target,
    /// Also go down to base and back up (cycle only).
    pub full: bool,
    /// Rows to seed at `from` and check through the range (cycle); `None` checks schemas only.
    pub seed: Option<SeedOptions>,
    /// The smaller sizes the range's upgrade is also timed at, before the run at `seed`'s
    /// (cycle, with a --rows list).
    pub growth: Vec<u64>,
    pub predict_rows: Option<u64>,
    pub production_rows: std::collections::BTreeMap<String, u64>,
    /// Full ids of the revisions whose downgrade is known not to exist; the gate does not go
    /// below them.
    pub irreversible_ok: Vec<String>,
    /// Merged migrations the branch under review modified or deleted (`--base-ref`).
    pub history_changes: Vec<String>,
    pub rules: Rules,
}

impl GatePlan {
    /// The accepted irreversible revisions a move between `from` and `to` would revert.
    fn irreversible_between(
        &self,
        revisions: &Revisions,
        from: &Target,
        to: &Target,
    ) -> Vec<String> {
        revisions
            .between(from, to)
            .into_iter()
            .filter(|r| self.irreversible_ok.contains(&r.id))
            .map(|r| r.id.clone())
            .collect()
    }
}

/// Runs what `plan` decided. A server that died or ran out of disk under the run explains any
/// failure the run met: that, not a verdict on the migrations, is then the outcome.
pub async fn run(
    plan: &GatePlan,
    runner: &mut dyn Runner,
    database: &mut ScratchDatabase,
) -> Result<Report> {
    let outcome = match plan.kind {
        GateKind::Cycle => cycle(runner, database, plan).await,
        GateKind::Stairway => stairway(runner, database, plan).await,
    };
    let failed = outcome
        .as_ref()
        .map_or(true, |report| report.failed_steps().next().is_some());
    if let Some(trouble) = failed.then(|| database.server_trouble()).flatten() {
        return Err(Error::ServerTrouble(trouble));
    }
    outcome
}
