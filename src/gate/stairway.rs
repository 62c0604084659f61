//! `stairway`: up, down and up again for every revision, each schema compared with the one
//! before it. Branches and merges are walked one revision at a time.

use crate::database::ScratchDatabase;
use crate::error::Result;
use crate::report::Report;
use crate::runner::{Runner, Target};

use super::session::{Session, Wording};
use super::GateConfig;

pub async fn stairway(
    runner: &mut dyn Runner,
    database: &mut ScratchDatabase,
    config: &GateConfig,
) -> Result<Report> {
    let revisions = runner.revisions().clone();
    let states = revisions.walk(&config.from, &config.to);
    let snapshots = config.snapshots.as_deref();
    let mut session = Session::open("stairway", runner, database, config).await?;
    session.record_range(&config.from, &config.to);

    let first = &config.from;
    if !first.is_base() && !session.step(&Target::base(), first).await? {
        return Ok(session.finish());
    }
    let mut at_parent = session.snapshot().await?;
    session.check_committed(snapshots, first, &at_parent)?;
    let at_first = at_parent.clone();
    // The highest state reached, for the schema diff of the range.
    let mut reached = (first.clone(), at_parent.clone());
    for pair in states.windows(2) {
        let (parent, revision) = (&pair[0], &pair[1]);
        let span = session.span(parent, revision);
        if !session.step(parent, revision).await? {
            break;
        }
        let at_revision = session.snapshot().await?;
        session.check_committed(snapshots, revision, &at_revision)?;
        reached = (revision.clone(), at_revision.clone());

        let irreversible = config.irreversible_between(&revisions, parent, revision);
        if !irreversible.is_empty() {
            session.note_irreversible(&irreversible, &span);
            at_parent = at_revision;
            continue;
        }
        if !session.step(revision, parent).await? {
            break;
        }
        let after_down = session.snapshot().await?;
        session.check_schema(
            "schema_roundtrip",
            &at_parent,
            &after_down,
            Wording::downgrade(&span, parent),
        );

        if !session.step(parent, revision).await? {
            break;
        }
        let after_up = session.snapshot().await?;
        session.check_schema(
            "schema_reapply",
            &at_revision,
            &after_up,
            Wording::reapply(&span),
        );
        at_parent = at_revision;
    }
    session.record_schema_diff((first, &at_first), (&reached.0, &reached.1));
    Ok(session.finish())
}
