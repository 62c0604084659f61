//! `cycle`: the pre-merge gate over one range of revisions (DESIGN.md, "What a run does").

use crate::database::ScratchDatabase;
use crate::error::Result;
use crate::report::Report;
use crate::runner::{Runner, Target};

use super::data_checks;
use super::session::{Session, Wording};
use super::GateConfig;

pub async fn cycle(
    runner: &mut dyn Runner,
    database: &mut ScratchDatabase,
    config: &GateConfig,
) -> Result<Report> {
    let (from, to) = (&config.from, &config.to);
    let snapshots = config.snapshots.as_deref();
    let mut session = Session::open(
        "cycle",
        runner,
        database,
        config.budget,
        config.compare_column_order,
    )
    .await?;
    let span = session.span(from, to);

    let at_base = session.snapshot().await?;
    session.check_committed(snapshots, &Target::Base, &at_base)?;
    // With committed snapshots, climb to `from` one revision at a time so each is checked.
    let revisions = session.runner_revisions();
    let climb: Vec<Target> = match snapshots {
        Some(_) => (1..=revisions.position(from))
            .map(|p| revisions.target_at(p))
            .collect(),
        None => vec![from.clone()]
            .into_iter()
            .filter(|t| *t != Target::Base)
            .collect(),
    };
    let mut at_from = at_base.clone();
    let mut below = Target::Base;
    for revision in climb {
        if !session.step(&below, &revision).await? {
            return Ok(session.finish());
        }
        at_from = session.snapshot().await?;
        if revision != *from {
            session.check_committed(snapshots, &revision, &at_from)?;
        }
        below = revision;
    }
    if *from != Target::Base {
        session.check_committed(snapshots, from, &at_from)?;
    }
    let seeded = match &config.seed {
        Some(options) => {
            session.report.rows_per_table = options.rows;
            session.seed(options).await?;
            Some(session.checksums().await?)
        }
        None => None,
    };

    if !session.step(from, to).await? {
        return Ok(session.finish());
    }
    let at_to = session.snapshot().await?;
    session.check_committed(snapshots, to, &at_to)?;
    if let (Some(before), Some(options)) = (&seeded, &config.seed) {
        let after = session.checksums().await?;
        let findings = data_checks::kept_by_upgrade(before, &after, &config.allowed_changes);
        let wording = (
            format!("upgrade of {span}"),
            format!(
                "upgrade of {span} kept every row and the content of every column on both sides"
            ),
        );
        session
            .check_data("data_upgrade", wording, findings, from, options)
            .await?;
        session.report.tables = data_checks::figures(before, &after);
    }

    if !session.step(to, from).await? {
        return Ok(session.finish());
    }
    let after_down = session.snapshot().await?;
    session.check_schema(
        "schema_roundtrip",
        &at_from,
        &after_down,
        Wording::downgrade(&span, from),
    );
    if let (Some(before), Some(options)) = (&seeded, &config.seed) {
        let after = session.checksums().await?;
        let findings = data_checks::restored_by_downgrade(before, &after);
        let wording = (
            format!("up and down over {span}"),
            format!("up and down over {span} restored every row of every table"),
        );
        session
            .check_data("data_roundtrip", wording, findings, from, options)
            .await?;
    }

    if !session.step(from, to).await? {
        return Ok(session.finish());
    }
    let after_reapply = session.snapshot().await?;
    session.check_schema(
        "schema_reapply",
        &at_to,
        &after_reapply,
        Wording::reapply(&span),
    );

    if config.full {
        if !session.step(to, &Target::Base).await? {
            return Ok(session.finish());
        }
        let after_base = session.snapshot().await?;
        session.check_schema(
            "leaves_no_trace",
            &at_base,
            &after_base,
            Wording {
                subject: "downgrade to base".to_string(),
                passed: "downgrade to base left an empty schema".to_string(),
                unexpected: "left {} behind",
                missing: "removed {}, which existed before the first migration",
            },
        );
        if !session.step(&Target::Base, to).await? {
            return Ok(session.finish());
        }
        let rebuilt = session.snapshot().await?;
        session.check_schema(
            "schema_rebuild",
            &at_to,
            &rebuilt,
            Wording::reapply(&format!("base..{to}")),
        );
    }
    Ok(session.finish())
}
