//! The gate: the one place that knows the sequence of a run. It drives a runner on a scratch
//! database, takes schema snapshots between steps, checks them, and records it all in a report.

mod cycle;
mod data_checks;
mod evidence;
mod session;
mod stairway;
mod step;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;

pub use cycle::cycle;
pub use data_checks::AllowedChanges;
pub use stairway::stairway;

use crate::data::SeedOptions;
use crate::error::{Error, Result};
use crate::runner::{Revisions, Target};

#[derive(Debug, Clone)]
pub struct GateConfig {
    /// The range under test.
    pub from: Target,
    pub to: Target,
    pub budget: Duration,
    /// Also go down to base and back up (cycle only).
    pub full: bool,
    /// Committed snapshots (`<revision>.txt`) to compare the schema with at each revision.
    pub snapshots: Option<PathBuf>,
    pub compare_column_order: bool,
    /// Rows to seed at `from` and check through the range (cycle); `None` checks schemas only.
    pub seed: Option<SeedOptions>,
    pub allowed_changes: AllowedChanges,
    /// Revisions whose downgrade is known not to exist; the gate does not go below them.
    pub irreversible_ok: Vec<String>,
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
}

impl GateConfig {
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

/// Up to this many rows per table, `cycle` also goes down to base and back by default: beyond,
/// the extra trip costs more than it tells.
const FULL_CYCLE_MAX_ROWS: u64 = 100_000;

/// Whether `cycle` takes the full leg (down to base and back): as `--full`/`--no-full` say,
/// else only up to FULL_CYCLE_MAX_ROWS rows per table.
pub fn full_leg(full: bool, no_full: bool, rows: u64) -> bool {
    full || (!no_full && rows <= FULL_CYCLE_MAX_ROWS)
}

/// What `cycle` seeds: nothing when no rows are asked for (schemas are then checked alone).
pub fn seeding(options: &SeedOptions) -> Option<SeedOptions> {
    (options.rows > 0 || !options.table_rows.is_empty()).then(|| options.clone())
}

/// The range `cycle` tests: by default the newest revision alone (from its parent to head), or
/// every head at once when the history has several.
pub fn cycle_range(
    revisions: &Revisions,
    from: Option<&str>,
    to: Option<&str>,
) -> Result<(Target, Target)> {
    let to = to.map_or_else(|| Ok(revisions.head()), |spec| revisions.resolve(spec))?;
    let from = from.map_or_else(|| Ok(revisions.below(&to)), |spec| revisions.resolve(spec))?;
    non_empty(revisions, from, to)
}

/// The range of a branch under review: the revisions it adds (`added`, by file name), from
/// the state without them up to `to` (default: every head). `None` when it adds none that
/// `to` reaches.
pub fn branch_range(
    revisions: &Revisions,
    added: &BTreeSet<String>,
    to: Option<&str>,
) -> Result<Option<(Target, Target)>> {
    let to = to.map_or_else(|| Ok(revisions.head()), |spec| revisions.resolve(spec))?;
    // Only what `to` reaches: added revisions beyond it are not under test.
    let new: Vec<String> = revisions
        .between(&Target::base(), &to)
        .into_iter()
        .filter(|r| r.files.iter().any(|file| added.contains(file)))
        .map(|r| r.id.clone())
        .collect();
    if new.is_empty() {
        return Ok(None);
    }
    let from = revisions.without(&to, &new);
    non_empty(revisions, from, to).map(Some)
}

/// The range `stairway` walks: by default every revision.
pub fn stairway_range(
    revisions: &Revisions,
    from: Option<&str>,
    to: Option<&str>,
) -> Result<(Target, Target)> {
    let to = to.map_or_else(|| Ok(revisions.head()), |spec| revisions.resolve(spec))?;
    let from = from.map_or(Ok(Target::base()), |spec| revisions.resolve(spec))?;
    non_empty(revisions, from, to)
}

fn non_empty(revisions: &Revisions, from: Target, to: Target) -> Result<(Target, Target)> {
    if from == to || !revisions.includes(&to, &from) {
        return Err(Error::EmptyRange {
            from: from.to_string(),
            to: to.to_string(),
        });
    }
    Ok((from, to))
}
