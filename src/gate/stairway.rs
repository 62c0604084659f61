//! `stairway`: up, down and up again for every revision, each schema compared with the one
//! before it.

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
    let (first, low, high) = (
        &config.from,
        revisions.position(&config.from),
        revisions.position(&config.to),
    );
    let snapshots = config.snapshots.as_deref();
    let mut session = Session::open(
        "stairway",
        runner,
        database,
        config.budget,
        config.compare_column_order,
    )
    .await?;

    if *first != Target::Base && !session.step(&Target::Base, first).await? {
        return Ok(session.finish());
    }
    let mut at_parent = session.snapshot().await?;
    session.check_committed(snapshots, first, &at_parent)?;
    for position in low + 1..=high {
        let parent = revisions.target_at(position - 1);
        let revision = revisions.target_at(position);
        if !session.step(&parent, &revision).await? {
            break;
        }
        let at_revision = session.snapshot().await?;
        session.check_committed(snapshots, &revision, &at_revision)?;

        if !session.step(&revision, &parent).await? {
            break;
        }
        let after_down = session.snapshot().await?;
        session.check_schema(
            "schema_roundtrip",
            &at_parent,
            &after_down,
            Wording::downgrade(&revision.to_string(), &parent),
        );

        if !session.step(&parent, &revision).await? {
            break;
        }
        let after_up = session.snapshot().await?;
        session.check_schema(
            "schema_reapply",
            &at_revision,
            &after_up,
            Wording::reapply(&revision.to_string()),
        );
        at_parent = at_revision;
    }
    Ok(session.finish())
}
