//! A `--rows` list: the range's upgrade timed on empty tables (its fixed cost), at each smaller
//! size on a fresh database (the fastest of three), then at the largest in the run itself; the
//! time above the fixed cost and each blocking lock fitted against rows, and, with
//! `--predict-rows` or `--stats`, predicted at production size (failing `budget` and
//! `lock_impact` there).

use std::collections::BTreeSet;

use crate::data::SeedOptions;
use crate::error::Result;
use crate::impact::{Fit, NoFit};
use crate::report::{Check, CheckStatus, Details, Growth, GrowthFit, GrowthPoint, LockHold, Step};
use crate::runner::Target;
use crate::schema;

use super::session::Session;
use super::GatePlan;

/// How many times the range's upgrade is timed at each smaller size: they are short, and
/// short times are the noisiest.
const SMALL_SIZE_UPGRADES: usize = 3;
/// The sampling interval at the smaller sizes, at most.
const GROWTH_SAMPLING: std::time::Duration = std::time::Duration::from_millis(1);

impl Session<'_> {
    /// Times the range's upgrade at each smaller size, each on a fresh database seeded at
    /// `from`, and leaves an empty database for the run. Nothing of it is a step of the run.
    /// Returns false when a size cannot be reached (the run then goes on without growth).
    pub(super) async fn time_growth(
        &mut self,
        config: &GatePlan,
        seeding: &SeedOptions,
    ) -> Result<bool> {
        // Its seeding, steps and snapshots are the growth's, not the run's.
        let (started, phases) = (std::time::Instant::now(), self.report.phases.clone());
        let mut growth = Growth {
            predict_rows: config.predict_rows,
            ..Growth::default()
        };
        // The holds at the smaller sizes are a few milliseconds long: sampled finer, and apart
        // from the resolution the run's own steps state.
        let (run_sampling, run_samples) =
            (self.rules.lock_sampling, std::mem::take(&mut self.sampling));
        self.rules.lock_sampling = run_sampling.map(|interval| interval.min(GROWTH_SAMPLING));
        let measured = self.time_sizes(config, seeding, &mut growth).await;
        self.rules.lock_sampling = run_sampling;
        self.sampling = run_samples;
        if !measured? {
            return Ok(false);
        }
        let steps = self.report.steps.len();
        let emptied = self.rebuild(&Target::base()).await?;
        self.report.steps.truncate(steps);
        self.report.growth = Some(growth);
        self.report.phases = phases;
        self.report
            .add_phase("growth sizes", started.elapsed().as_secs_f64(), Vec::new());
        Ok(emptied)
    }

    /// The upgrade on empty tables, then at each smaller size; false when one cannot be
    /// reached.
    async fn time_sizes(
        &mut self,
        config: &GatePlan,
        seeding: &SeedOptions,
        growth: &mut Growth,
    ) -> Result<bool> {
        let (from, to) = (&config.from, &config.to);
        // The range's upgrade on empty tables: what it costs whatever the rows (connecting,
        // the tool's bookkeeping, catalog work), taken off before the upgrade's time is fitted.
        let steps = self.report.steps.len();
        let reached = self.rebuild(from).await? && self.step(from, to).await?;
        let empty = self.report.steps.pop().filter(|_| reached);
        self.report.steps.truncate(steps);
        let Some(empty) = empty else {
            return Ok(false);
        };
        growth.fixed_s = Some(empty.seconds);
        for rows in &config.growth {
            let steps = self.report.steps.len();
            let reached = self.rebuild(from).await?;
            self.report.steps.truncate(steps);
            if !reached {
                return Ok(false);
            }
            let options = SeedOptions {
                rows: *rows,
                ..seeding.clone()
            };
            self.seed(&options).await?;
            let Some(step) = self.fastest_upgrade(from, to).await? else {
                break;
            };
            growth.points.push(GrowthPoint {
                rows: *rows,
                upgrade_s: step.seconds,
                locks: blocking(step.locks),
            });
        }
        Ok(true)
    }

    /// The range's upgrade, and while its way back works, its downgrade and the upgrade again,
    /// up to `SMALL_SIZE_UPGRADES` upgrades: the fastest, as a machine's noise only ever adds
    /// time. None when the upgrade fails. None of them is a step of the run.
    async fn fastest_upgrade(&mut self, from: &Target, to: &Target) -> Result<Option<Step>> {
        let steps = self.report.steps.len();
        let mut fastest: Option<Step> = None;
        for _ in 0..SMALL_SIZE_UPGRADES {
            if !self.step(from, to).await? {
                break;
            }
            let upgrade = self.report.steps.last().cloned().expect("recorded");
            if fastest.as_ref().is_none_or(|f| upgrade.seconds < f.seconds) {
                fastest = Some(upgrade);
            }
            if !self.step(to, from).await? {
                break;
            }
        }
        self.report.steps.truncate(steps);
        Ok(fastest)
    }

    /// Adds the run's own upgrade (the step just recorded, at `rows`) as the largest point, fits
    /// the points, and judges the predictions.
    pub(super) fn fit_growth(&mut self, rows: u64, config: &GatePlan) {
        let Some(step) = self.report.steps.last().cloned() else {
            return;
        };
        let Some(mut growth) = self.report.growth.take() else {
            return;
        };
        growth.points.push(GrowthPoint {
            rows,
            upgrade_s: step.seconds,
            locks: blocking(step.locks),
        });
        let fixed = growth.fixed_s.unwrap_or(0.0);
        let upgrade: Vec<(u64, f64)> = growth
            .points
            .iter()
            .map(|p| (p.rows, p.upgrade_s - fixed))
            .collect();
        // The upgrade at the size of the table it locks longest, else as asked, else at the
        // largest table's.
        let dominant = growth
            .points
            .last()
            .and_then(|p| p.locks.iter().max_by(|a, b| a.held_s.total_cmp(&b.held_s)))
            .map(|l| l.relation.clone());
        let largest = config
            .production_rows
            .iter()
            .max_by_key(|(_, rows)| **rows)
            .map(|(table, _)| table.clone());
        let at = prediction_size(config, dominant.as_deref())
            .or_else(|| prediction_size(config, largest.as_deref()));
        growth
            .fits
            .push(fitted("upgrade".to_string(), &upgrade, fixed, at));
        // Each blocking lock seen at every size, at its own table's size.
        let held: BTreeSet<(String, String)> = growth
            .points
            .iter()
            .flat_map(|p| p.locks.iter().map(|l| (l.mode.clone(), l.relation.clone())))
            .collect();
        for (mode, relation) in held {
            let points: Vec<(u64, f64)> = growth
                .points
                .iter()
                .filter_map(|p| {
                    p.locks
                        .iter()
                        .find(|l| l.mode == mode && l.relation == relation)
                        .map(|l| (p.rows, l.held_s))
                })
                .collect();
            if points.len() == growth.points.len() {
                let at = prediction_size(config, Some(&relation));
                growth
                    .fits
                    .push(fitted(format!("{mode} on {relation}"), &points, 0.0, at));
            }
        }
        self.judge_prediction(&growth, config);
        self.report.growth = Some(growth);
    }

    fn judge_prediction(&mut self, growth: &Growth, config: &GatePlan) {
        let span = self.span(&config.from, &config.to);
        for fit in &growth.fits {
            let (Some(predicted), Some(rows)) = (fit.predicted_s, fit.at_rows) else {
                continue;
            };
            let at = match &fit.at_table {
                Some(table) => format!("{rows} rows in {table}"),
                None => format!("{rows} rows"),
            };
            let (name, limit) = if fit.what == "upgrade" {
                ("budget", self.rules.budget.as_secs_f64())
            } else {
                ("lock_impact", self.rules.lock_budget.as_secs_f64())
            };
            if limit <= 0.0 || predicted <= limit {
                continue;
            }
            let (would, over) = if name == "budget" {
                ("take".to_string(), "budget")
            } else {
                (format!("hold {}", fit.what), "lock budget")
            };
            self.report.push_check(Check {
                name: name.to_string(),
                status: CheckStatus::Fail,
                message: format!(
                    "predicted at {at}: the upgrade of {span} would {would} ≈ {predicted:.0} s, over the {over} of {limit} s ({})",
                    describe_fit(fit)
                ),
                details: Details::None {},
            });
        }
    }
}

/// The holds that block an application on an existing table.
fn blocking(locks: Vec<LockHold>) -> Vec<LockHold> {
    locks.into_iter().filter(LockHold::blocks_a_table).collect()
}

/// The production rows of `table` (`--stats`), else `--predict-rows`.
fn prediction_size(config: &GatePlan, table: Option<&str>) -> Option<(u64, Option<String>)> {
    let known = table.and_then(|table| {
        config
            .production_rows
            .iter()
            .find(|(name, _)| schema::names_table(table, name))
            .map(|(_, rows)| (*rows, Some(table.to_string())))
    });
    known.or_else(|| config.predict_rows.map(|rows| (rows, None)))
}

/// Fits `points` and predicts at `at`, adding back the `fixed` seconds taken off each point.
fn fitted(
    what: String,
    points: &[(u64, f64)],
    fixed: f64,
    at: Option<(u64, Option<String>)>,
) -> GrowthFit {
    let (at_rows, at_table) = match at {
        Some((rows, table)) => (Some(rows), table),
        None => (None, None),
    };
    let (exponent, r_squared, predicted_s, note) = match Fit::of(points) {
        Ok(fit) => (
            Some(round(fit.exponent, 3)),
            Some(round(fit.r_squared, 3)),
            at_rows
                .filter(|_| !fit.is_poor())
                .map(|rows| round(fixed + fit.predict(rows), 2)),
            fit.is_poor()
                .then(|| "a poor fit: the times do not grow as a power of the rows".to_string()),
        ),
        Err(why) => (
            None,
            None,
            None,
            Some(
                match why {
                    NoFit::TooFewPoints => "measured at fewer than two sizes",
                    NoFit::TooSmall => "under 5 ms at some size: too small to fit",
                }
                .to_string(),
            ),
        ),
    };
    GrowthFit {
        what,
        exponent,
        r_squared,
        at_rows,
        at_table,
        predicted_s,
        note,
    }
}

/// "exponent 1.01, R² 0.999".
fn describe_fit(fit: &GrowthFit) -> String {
    match (fit.exponent, fit.r_squared) {
        (Some(exponent), Some(r_squared)) => format!("exponent {exponent:.2}, R² {r_squared:.3}"),
        _ => fit.note.clone().unwrap_or_default(),
    }
}

fn round(value: f64, places: i32) -> f64 {
    let scale = 10f64.powi(places);
    (value * scale).round() / scale
}
