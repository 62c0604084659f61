//! The decisions of a run: its range (named, by default, or the migrations a branch adds), the
//! full leg, what is seeded. Taken before any server starts, so bad input fails fast.

use std::collections::BTreeSet;
use std::path::Path;

use crate::data::SeedOptions;
use crate::error::{Error, Result};
use crate::git;
use crate::runner::{Revisions, RunnerError, Target};

use super::{FullLeg, GateKind, GatePlan, GateRequest, Planned};

/// What the run does. `project` is the migration directory, whose repository `--base-ref` is
/// read from.
pub fn plan(
    kind: GateKind,
    request: GateRequest,
    revisions: &Revisions,
    project: &Path,
) -> Result<Planned> {
    let range = &request.range;
    let mut history_changes = Vec::new();
    let (from, to) = match &range.base_ref {
        Some(base_ref) => {
            let changes = git::branch_changes(project, base_ref)?;
            history_changes = merged_history_changes(revisions, &changes, base_ref);
            match branch_range(revisions, &changes.added_names(), range.to.as_deref())? {
                Some(range) => range,
                None => {
                    return Ok(Planned::NothingToTest(format!(
                        "this branch adds no migration compared with {base_ref}: nothing to test"
                    )))
                }
            }
        }
        None => match kind {
            GateKind::Cycle => cycle_range(revisions, range.from.as_deref(), range.to.as_deref())?,
            GateKind::Stairway => {
                stairway_range(revisions, range.from.as_deref(), range.to.as_deref())?
            }
        },
    };
    if let Some(dir) = &request.rules.snapshots {
        if !dir.is_dir() {
            return Err(Error::MissingSnapshotDirectory(dir.clone()));
        }
    }
    let seed = match kind {
        GateKind::Cycle => seeding(&request.seeding),
        GateKind::Stairway => None,
    };
    Ok(Planned::Run(Box::new(GatePlan {
        kind,
        from,
        to,
        full: full_leg(request.full, request.seeding.rows),
        growth: match (kind, &seed) {
            (GateKind::Cycle, Some(seed)) => request
                .growth
                .iter()
                .copied()
                .filter(|rows| *rows > 0 && *rows < seed.rows)
                .collect(),
            _ => Vec::new(),
        },
        predict_rows: request.predict_rows,
        production_rows: request.production_rows,
        seed,
        irreversible_ok: full_ids(revisions, &request.irreversible_ok)?,
        history_changes,
        rules: request.rules,
    })))
}

/// Up to this many rows per table, `cycle` also goes down to base and back by default: beyond,
/// the extra trip costs more than it tells.
const FULL_CYCLE_MAX_ROWS: u64 = 100_000;

/// Whether `cycle` takes the full leg (down to base and back): as `--full`/`--no-full` say,
/// else only up to FULL_CYCLE_MAX_ROWS rows per table.
fn full_leg(asked: FullLeg, rows: u64) -> bool {
    match asked {
        FullLeg::Always => true,
        FullLeg::Never => false,
        FullLeg::BySize => rows <= FULL_CYCLE_MAX_ROWS,
    }
}

/// What `cycle` seeds: nothing when no rows are asked for (schemas are then checked alone).
fn seeding(options: &SeedOptions) -> Option<SeedOptions> {
    (options.rows > 0 || !options.table_rows.is_empty()).then(|| options.clone())
}

/// The range `cycle` tests: by default the newest revision alone (from its parent to head), or
/// every head at once when the history has several.
fn cycle_range(
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
fn branch_range(
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
fn stairway_range(
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

/// The revisions `--irreversible-ok` names, each resolved to its full id.
fn full_ids(revisions: &Revisions, specs: &[String]) -> Result<Vec<String>> {
    specs
        .iter()
        .map(|spec| match revisions.resolve(spec)?.heads() {
            [one] => Ok(one.clone()),
            _ => Err(RunnerError::UnknownRevision(spec.clone()).into()),
        })
        .collect()
}

/// Merged migrations the branch modified or deleted, one sentence each naming the file and,
/// for one that still exists, its revision. Only files that define a revision count (a
/// revision's files, or a deleted `.sql`, or `.py` below the project's top directory, where
/// alembic keeps its versions); env.py and the like may change.
fn merged_history_changes(
    revisions: &Revisions,
    changes: &git::BranchChanges,
    base_ref: &str,
) -> Vec<String> {
    let revision_of = |path: &str| {
        let name = Path::new(path).file_name()?.to_string_lossy().into_owned();
        revisions
            .all()
            .iter()
            .find(|r| r.files.contains(&name))
            .map(|r| r.id.clone())
    };
    let mut found = Vec::new();
    for path in &changes.modified {
        if let Some(revision) = revision_of(path) {
            found.push(format!(
                "{path} (revision {revision}), merged on {base_ref}, was modified on this branch"
            ));
        }
    }
    for path in &changes.deleted {
        let defines_revision =
            path.ends_with(".sql") || (path.ends_with(".py") && path.contains('/'));
        if defines_revision {
            found.push(format!(
                "{path}, merged on {base_ref}, was deleted on this branch"
            ));
        }
    }
    found
}
