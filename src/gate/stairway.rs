//! `stairway`: up, down and up again for every revision, each schema compared with the one
//! before it. Branches and merges are walked one revision at a time. A failed step does not end
//! the walk: the database is rebuilt at the state the next revision needs, so one run reports
//! every failing revision.

use crate::database::ScratchDatabase;
use crate::error::Result;
use crate::report::{Coverage, Report, Skipped};
use crate::runner::{Runner, Target};
use crate::schema::Snapshot;

use super::session::{Session, Wording};
use super::step::Stepped;
use super::GatePlan;

pub async fn stairway(
    runner: &mut dyn Runner,
    database: &mut ScratchDatabase,
    config: &GatePlan,
) -> Result<Report> {
    let revisions = runner.revisions().clone();
    let states = revisions.walk(&config.from, &config.to);
    let snapshots = config.rules.snapshots.as_deref();
    let mut session = Session::open("stairway", runner, database, config).await?;
    session.record_range(config);
    let mut coverage = Coverage::default();
    // Reaching the first state, then each revision up, down and up again.
    session.plan_phases(states.len() as u64);

    let first = &config.from;
    session.begin_phase(&format!("reaching {first}"));
    let reached_first = first.is_base()
        || session.step(&Target::base(), first).await?
        || session.rebuild(first).await?;
    if !reached_first {
        coverage.skipped = skipped(&states, 1, first);
        session.report.coverage = Some(coverage);
        return Ok(session.finish());
    }
    let mut at_parent = session.snapshot().await?;
    session.check_committed(snapshots, first, &at_parent)?;
    let at_first = at_parent.clone();
    // The highest state reached, for the schema diff of the range.
    let mut reached = (first.clone(), at_parent.clone());
    for (index, pair) in states.windows(2).enumerate() {
        let (parent, revision) = (&pair[0], &pair[1]);
        let span = session.span(parent, revision);
        session.begin_phase(&format!("up, down and up over {span}"));
        let failures = session.report.failures();
        let walked = walk_one(&mut session, config, (parent, revision), &at_parent).await?;
        let failed = session.report.failures() > failures;
        match failed {
            true => coverage.failed.push(span),
            false => coverage.tested.push(span),
        }
        let Some(at_revision) = walked else {
            coverage.skipped = skipped(&states, index + 2, revision);
            break;
        };
        session.check_committed(snapshots, revision, &at_revision)?;
        reached = (revision.clone(), at_revision.clone());
        at_parent = at_revision;
    }
    session.record_schema_diff((first, &at_first), (&reached.0, &reached.1));
    session.report.coverage = Some(coverage);
    Ok(session.finish())
}

/// Up, down and up again over one revision, checking each schema. Leaves the database at
/// `revision` and returns its schema there, rebuilding it where a failed step left it
/// elsewhere; `None` when even a rebuild cannot reach `revision`.
async fn walk_one(
    session: &mut Session<'_>,
    config: &GatePlan,
    (parent, revision): (&Target, &Target),
    at_parent: &Snapshot,
) -> Result<Option<Snapshot>> {
    let span = session.span(parent, revision);
    let up = session.step(parent, revision).await?;
    session.judge_locks_of_last_step(format!("upgrade of {span}"), false);
    if !up && !session.rebuild(revision).await? {
        return Ok(None);
    }
    let at_revision = session.snapshot().await?;

    let revisions = session.runner_revisions();
    let irreversible = config.irreversible_between(&revisions, parent, revision);
    if !irreversible.is_empty() {
        session.note_irreversible(&irreversible, &span);
        return Ok(Some(at_revision));
    }
    let down = session.try_step(revision, parent).await?;
    session.judge_locks_of_last_step(format!("downgrade of {span}"), false);
    match down {
        Stepped::Done => {}
        Stepped::DeclaredIrreversible(declared) => {
            session.tolerate_declared_irreversible(&declared);
            return back_at(session, revision, at_revision).await;
        }
        Stepped::Failed(_) => return back_at(session, revision, at_revision).await,
    }
    let after_down = session.snapshot().await?;
    session.check_schema(
        "schema_roundtrip",
        at_parent,
        &after_down,
        Wording::downgrade(&span, parent),
    );
    if !session.step(parent, revision).await? {
        return back_at(session, revision, at_revision).await;
    }
    let after_up = session.snapshot().await?;
    session.check_schema(
        "schema_reapply",
        &at_revision,
        &after_up,
        Wording::reapply(&span),
    );
    Ok(Some(at_revision))
}

/// After a failed step: the database at `revision` again, as it was (`schema`). A step that
/// failed in its transaction left it there; otherwise it is rebuilt.
async fn back_at(
    session: &mut Session<'_>,
    revision: &Target,
    schema: Snapshot,
) -> Result<Option<Snapshot>> {
    if session.is_at(revision).await? && session.snapshot().await? == schema {
        return Ok(Some(schema));
    }
    match session.rebuild(revision).await? {
        true => Ok(Some(schema)),
        false => Ok(None),
    }
}

/// The revisions from `states[from..]` on, which cannot be tested because `unreached` cannot
/// be reached.
fn skipped(states: &[Target], from: usize, unreached: &Target) -> Vec<Skipped> {
    states
        .get(from..)
        .unwrap_or_default()
        .iter()
        .map(|state| Skipped {
            revision: state.to_string(),
            why: format!("{unreached} cannot be reached, not even the way a fresh deploy does"),
        })
        .collect()
}
