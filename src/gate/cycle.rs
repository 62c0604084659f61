//! `cycle`: the pre-merge gate over one range of revisions (DESIGN.md, "What a run does").

use crate::database::ScratchDatabase;
use crate::error::{Error, Result};
use crate::report::Report;
use crate::runner::{Runner, Target};

use super::data_verdicts;
use super::session::{Session, Wording};
use super::step::Stepped;
use super::GatePlan;

pub async fn cycle(
    runner: &mut dyn Runner,
    database: &mut ScratchDatabase,
    config: &GatePlan,
) -> Result<Report> {
    let mut session = Session::open("cycle", runner, database, config).await?;
    match legs(&mut session, config).await {
        Ok(()) | Err(Halt::Stopped) => Ok(session.finish()),
        Err(Halt::Error(error)) => Err(error),
    }
}

/// Why the legs of a cycle ended early: a step the run cannot go on from (its failure is in
/// the report already), or an error.
enum Halt {
    Stopped,
    Error(Error),
}

impl From<Error> for Halt {
    fn from(error: Error) -> Self {
        Halt::Error(error)
    }
}

/// Goes on when the state a leg needs was reached.
fn reached(ok: bool) -> Result<(), Halt> {
    if ok {
        Ok(())
    } else {
        Err(Halt::Stopped)
    }
}

/// The phases `legs` goes through when nothing stops it early, for the progress shown.
fn planned_phases(config: &GatePlan) -> u64 {
    let seeded = u64::from(config.seed.is_some());
    let growth = u64::from(seeded == 1 && !config.growth.is_empty());
    // Reaching --from, the upgrade, the downgrade and the upgrade again; a checksum pass after
    // each but the last, seeding first; the full leg.
    growth + 4 + seeded * 4 + u64::from(config.full)
}

async fn legs(session: &mut Session<'_>, config: &GatePlan) -> Result<(), Halt> {
    let (from, to) = (&config.from, &config.to);
    let snapshots = config.rules.snapshots.as_deref();
    let span = session.span(from, to);
    let revisions = session.runner_revisions();
    session.record_range(config);
    session.plan_phases(planned_phases(config));

    if let (false, Some(seeding)) = (config.growth.is_empty(), &config.seed) {
        session.begin_phase("growth sizes");
        reached(session.time_growth(config, seeding).await?)?;
    }
    session.begin_phase(&format!("reaching {from}"));
    let at_base = session.snapshot().await?;
    session.check_committed(snapshots, &Target::base(), &at_base)?;
    // With committed snapshots, climb to `from` one revision at a time so each is checked.
    let climb: Vec<Target> = match snapshots {
        Some(_) => revisions.walk(&Target::base(), from).split_off(1),
        None => vec![from.clone()]
            .into_iter()
            .filter(|t| !t.is_base())
            .collect(),
    };
    let mut at_from = at_base.clone();
    let mut below = Target::base();
    for revision in climb {
        // Below the range: a revision that fails on its own there is the history's, and the
        // range is still reached the way a fresh deploy would reach it.
        match session.try_step(&below, &revision).await? {
            Stepped::Done => {}
            Stepped::Failed(Some(failing)) => {
                let then = format!("the gate reaches {revision} the way a fresh deploy does");
                session.note_history_failure(&failing, config.rules.strict_history, &then);
                reached(session.rebuild(&revision).await?)?;
            }
            _ => return Err(Halt::Stopped),
        }
        at_from = session.snapshot().await?;
        if revision != *from {
            session.check_committed(snapshots, &revision, &at_from)?;
        }
        below = revision;
    }
    if !from.is_base() {
        session.check_committed(snapshots, from, &at_from)?;
    }
    let seeded = match &config.seed {
        Some(options) => {
            session.report.rows_per_table = options.rows;
            session.begin_phase("seeding");
            session.seed(options).await?;
            session.begin_phase("checksum pass 1");
            Some(session.checksums().await?)
        }
        None => None,
    };

    session.begin_phase(&format!("upgrade of {span}"));
    let up = session.step(from, to).await?;
    session.judge_locks_of_last_step(format!("upgrade of {span}"), true);
    reached(up)?;
    if let Some(seeding) = &config.seed {
        session.fit_growth(seeding.rows, config);
    }
    let at_to = session.snapshot().await?;
    session.record_schema_diff((from, &at_from), (to, &at_to));
    session.check_committed(snapshots, to, &at_to)?;
    if let (Some(before), Some(options)) = (&seeded, &config.seed) {
        session.begin_phase("checksum pass 2");
        let excluded = data_verdicts::excluded_columns(&config.rules.allowed_changes);
        let compared = session
            .checksums_following(before, &excluded, from, options)
            .await?;
        let comparison = data_verdicts::kept_by_upgrade(
            &compared.before,
            &compared.after,
            &config.rules.allowed_changes,
        );
        let wording = (
            format!("upgrade of {span}"),
            format!(
                "upgrade of {span} kept every row and the content of every column on both sides"
            ),
        );
        session
            .check_data(
                "data_upgrade",
                wording,
                comparison,
                &compared,
                (from, options),
            )
            .await?;
        session.report.tables = data_verdicts::figures(before, &compared.after);
    }

    let irreversible = config.irreversible_between(&revisions, from, to);
    if !irreversible.is_empty() {
        session.note_irreversible(&irreversible, &span);
        return Ok(());
    }
    session.begin_phase(&format!("downgrade of {span}"));
    let down = session.step(to, from).await?;
    session.judge_locks_of_last_step(format!("downgrade of {span}"), false);
    reached(down)?;
    let after_down = session.snapshot().await?;
    session.check_schema(
        "schema_roundtrip",
        &at_from,
        &after_down,
        Wording::downgrade(&span, from),
    );
    if let (Some(before), Some(options)) = (&seeded, &config.seed) {
        session.begin_phase("checksum pass 3");
        let compared = session
            .checksums_following(before, &|_, _| false, from, options)
            .await?;
        let comparison = data_verdicts::restored_by_downgrade(&compared.before, &compared.after);
        let wording = (
            format!("up and down over {span}"),
            format!("up and down over {span} restored every row of every table"),
        );
        session
            .check_data(
                "data_roundtrip",
                wording,
                comparison,
                &compared,
                (from, options),
            )
            .await?;
    }

    session.begin_phase(&format!("upgrade of {span} again"));
    let again = session.step(from, to).await?;
    session.judge_locks_of_last_step(format!("upgrade of {span} after its downgrade"), false);
    reached(again)?;
    let after_reapply = session.snapshot().await?;
    session.check_schema(
        "schema_reapply",
        &at_to,
        &after_reapply,
        Wording::reapply(&span),
    );

    let irreversible = config.irreversible_between(&revisions, to, &Target::base());
    if config.full && !irreversible.is_empty() {
        session.note_irreversible(&irreversible, &format!("base..{to}"));
    } else if config.full {
        session.begin_phase(&format!("down to base and up to {to}"));
        let in_range: Vec<String> = revisions
            .between(from, to)
            .iter()
            .map(|r| r.id.clone())
            .collect();
        let outside = |stepped: &Stepped| match stepped {
            Stepped::Failed(Some(revision)) => !in_range.contains(revision),
            _ => false,
        };
        session.check_downgrades_exist(to);
        let down = session.try_step(to, &Target::base()).await?;
        match &down {
            Stepped::Done => {
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
            }
            Stepped::Failed(Some(failing)) if outside(&down) => {
                let then = "the gate starts again from an empty database to rebuild from base";
                session.note_history_failure(failing, config.rules.strict_history, then);
                reached(session.rebuild(&Target::base()).await?)?;
            }
            Stepped::DeclaredIrreversible(declared) if !in_range.contains(declared) => {
                session.tolerate_declared_irreversible(declared);
                return Ok(());
            }
            _ => return Err(Halt::Stopped),
        }
        let up = session.try_step(&Target::base(), to).await?;
        match &up {
            Stepped::Done => {}
            Stepped::Failed(Some(failing)) if outside(&up) => {
                let then = format!("the gate rebuilds {to} the way a fresh deploy does");
                session.note_history_failure(failing, config.rules.strict_history, &then);
                reached(session.rebuild(to).await?)?;
            }
            _ => return Err(Halt::Stopped),
        }
        let rebuilt = session.snapshot().await?;
        session.check_schema(
            "schema_rebuild",
            &at_to,
            &rebuilt,
            Wording::reapply(&format!("base..{to}")),
        );
    }
    Ok(())
}
