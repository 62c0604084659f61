//! Steps: one move of the database, timed under the budget (cancelled, then ended, then its
//! runner stopped when it runs past), recorded, and followed by a look outside the scratch
//! database; rebuilds for when stepping cannot get where a walk must go.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use crate::database::{ClusterChange, ClusterState};
use crate::error::Result;
use crate::progress;
use crate::report::{Check, CheckStatus, Details, Step, StepStatus};
use crate::runner::{self, StepError, Target};

use super::session::Session;

/// How long a cancelled step may take to give up before its session is terminated, and again
/// before migverify stops it where it runs (the runner's own process).
const CANCEL_GRACE: Duration = Duration::from_secs(1);

/// How a step ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stepped {
    Done,
    /// Failed, at this revision where the error names one.
    Failed(Option<String>),
    /// A downgrade the project declares irreversible (a pattern, a down with no statement).
    DeclaredIrreversible(String),
}

#[derive(Debug, Clone, Copy)]
enum How {
    Upgrade,
    Downgrade,
    /// From an empty database, the way a fresh deploy does.
    Rebuild,
}

impl How {
    fn name(self) -> &'static str {
        match self {
            How::Upgrade => "upgrade",
            How::Downgrade => "downgrade",
            How::Rebuild => "rebuild",
        }
    }
}

impl Session<'_> {
    /// Moves the database from `from` to `to`, timed and under the budget, and records the
    /// step. Returns whether it completed.
    pub async fn step(&mut self, from: &Target, to: &Target) -> Result<bool> {
        Ok(self.try_step(from, to).await? == Stepped::Done)
    }

    /// `step`, saying how it ended.
    pub async fn try_step(&mut self, from: &Target, to: &Target) -> Result<Stepped> {
        let upward = self.runner.revisions().includes(to, from);
        let how = if upward { How::Upgrade } else { How::Downgrade };
        self.timed_step(how, from, to).await
    }

    /// Starts the scratch database again, empty, and takes it to `to` the way a fresh deploy
    /// does (one command where the tool has one): the way on when stepping cannot get there.
    /// Recorded as a `rebuild` step; returns whether it completed.
    pub async fn rebuild(&mut self, to: &Target) -> Result<bool> {
        tracing::info!(%to, "rebuilding the scratch database");
        self.runner.disconnect();
        if !self.emptied().await? {
            self.database.start_afresh().await?;
            self.observer = self.database.connect().await?;
        }
        Ok(self.timed_step(How::Rebuild, &Target::base(), to).await? == Stepped::Done)
    }

    /// Empties the scratch database in place, which takes a fiftieth of the time a new
    /// database does: every schema dropped with what it holds, `public` made again as
    /// PostgreSQL makes it. True when the schema is then the one the database was created
    /// with, object for object; otherwise the caller moves to a new database.
    async fn emptied(&mut self) -> Result<bool> {
        let emptied = sqlx::raw_sql(
            "DO $$ DECLARE s text; BEGIN \
               FOR s IN SELECT nspname FROM pg_namespace \
                 WHERE nspname NOT IN ('pg_catalog', 'information_schema') \
                   AND nspname !~ '^pg_(toast|temp_|toast_temp_)' LOOP \
                 EXECUTE format('DROP SCHEMA %I CASCADE', s); \
               END LOOP; END $$; \
             CREATE SCHEMA public AUTHORIZATION pg_database_owner; \
             COMMENT ON SCHEMA public IS 'standard public schema'; \
             GRANT USAGE ON SCHEMA public TO PUBLIC;",
        )
        .execute(&mut self.observer)
        .await;
        if let Err(error) = emptied {
            tracing::debug!(%error, "cannot empty the scratch database in place");
            return Ok(false);
        }
        Ok(self.snapshot().await? == self.empty)
    }

    /// Whether the database records `target` as its state.
    pub async fn is_at(&mut self, target: &Target) -> Result<bool> {
        let options = self
            .database
            .for_migrations(self.database.connect_options());
        Ok(match self.runner.current(&options).await {
            Ok(heads) => self.runner.revisions().target_of(&heads) == *target,
            Err(_) => false,
        })
    }

    /// After the last step failed at `revision`, outside the range under test: says so, as a
    /// warning (the step is tolerated) or, when `strict`, a failure; `then` says how the gate
    /// goes on.
    pub fn note_history_failure(&mut self, revision: &str, strict: bool, then: &str) {
        let error = self
            .report
            .steps
            .last()
            .and_then(|step| step.error.clone())
            .unwrap_or_default();
        if !strict {
            self.report.tolerate_last_step();
        }
        let message = format!(
            "{revision}, outside the range under test, failed ({}); {then}{}",
            error.lines().next().unwrap_or(""),
            if strict {
                ""
            } else {
                " (--strict-history makes this a failure)"
            }
        );
        tracing::warn!("{message}");
        self.report.push_check(Check {
            name: "history".to_string(),
            status: if strict {
                CheckStatus::Fail
            } else {
                CheckStatus::Warn
            },
            message,
            details: Details::RevisionError {
                revision: revision.to_string(),
                error: Some(error),
            },
        });
    }

    /// Records that a downgrade was declared irreversible and tolerated: its round trip is
    /// not tested.
    pub fn tolerate_declared_irreversible(&mut self, revision: &str) {
        let error = self.report.steps.last().and_then(|s| s.error.clone());
        self.report.tolerate_last_step();
        self.report.push_check(Check {
            name: "irreversible".to_string(),
            status: CheckStatus::Pass,
            message: format!(
                "{revision} is declared irreversible, so its round trip is not tested"
            ),
            details: Details::RevisionError {
                revision: revision.to_string(),
                error,
            },
        });
    }

    /// A step, then a look outside the scratch database for what it changed there.
    async fn timed_step(&mut self, how: How, from: &Target, to: &Target) -> Result<Stepped> {
        let stepped = self.step_under_budget(how, from, to).await?;
        let subject = match how {
            How::Rebuild => format!("rebuild of {to}"),
            How::Upgrade | How::Downgrade => format!("{} of {}", how.name(), self.span(from, to)),
        };
        self.check_cluster_untouched(&subject).await?;
        Ok(stepped)
    }

    async fn step_under_budget(&mut self, how: How, from: &Target, to: &Target) -> Result<Stepped> {
        let name = how.name();
        let options = self
            .database
            .for_migrations(self.database.connect_options());
        let span = self.span(from, to);
        let watch = match how {
            How::Upgrade | How::Downgrade => self.watch_locks().await?,
            How::Rebuild => None,
        };
        let started = Instant::now();
        tracing::info!(%from, %to, "{name}");
        let progress = progress::spinner(format!("{name} {from} → {to}"));

        let (outcome, abandoned) = {
            let runner = &mut *self.runner;
            let work = async move {
                match how {
                    How::Rebuild => runner::deploy(runner, &options, to).await,
                    How::Upgrade | How::Downgrade => runner::migrate(runner, &options, to).await,
                }
            };
            tokio::pin!(work);
            let outcome = tokio::select! {
                outcome = &mut work => Some(outcome),
                _ = tokio::time::sleep(self.rules.budget) => None,
            };
            match outcome {
                Some(outcome) => (Some(outcome), false),
                None => {
                    // Cancel every statement on the scratch database (per statement timeouts
                    // would let a migration of many statements run on), then end the sessions.
                    let mut ended = false;
                    for terminate in [false, true] {
                        self.database
                            .cancel_other_sessions(&mut self.observer, terminate)
                            .await?;
                        if tokio::time::timeout(CANCEL_GRACE, &mut work).await.is_ok() {
                            ended = true;
                            break;
                        }
                    }
                    (None, !ended)
                }
            }
        };
        if abandoned {
            // Still running outside the server's reach (a migration sleeping in Python).
            self.runner.abandon();
        }
        let (status, error, stepped) = match outcome {
            // Not a finding about the migrations: the run cannot go on anywhere safe.
            Some(Err(error @ (StepError::ElsewhereMigrated { .. } | StepError::EnvPy(_)))) => {
                return Err(error.into())
            }
            Some(Ok(())) => (StepStatus::Ok, None, Stepped::Done),
            Some(Err(error)) => {
                let error = declared_irreversible(&self.rules.irreversible_patterns, how, error);
                let stepped = match &error {
                    StepError::Irreversible {
                        revision,
                        declared: true,
                        ..
                    } => Stepped::DeclaredIrreversible(revision.clone()),
                    StepError::Failed { revision, .. }
                    | StepError::NoDown { revision }
                    | StepError::Irreversible { revision, .. } => {
                        Stepped::Failed(Some(revision.clone()))
                    }
                    _ => Stepped::Failed(None),
                };
                (StepStatus::Error, Some(error.to_string()), stepped)
            }
            None => {
                let message = format!(
                    "{span} ran past the budget of {}s and was cancelled",
                    self.rules.budget.as_secs_f64()
                );
                (StepStatus::OverBudget, Some(message), Stepped::Failed(None))
            }
        };
        let seconds = started.elapsed().as_secs_f64();
        progress.finish_and_clear();
        let locks = self.locks_seen(watch).await?;
        self.report.push_step(Step {
            name: name.to_string(),
            from: from.to_string(),
            to: to.to_string(),
            seconds,
            status,
            error,
            locks,
        });
        Ok(stepped)
    }

    /// Fails `cluster_untouched` for what the step just made changed outside the scratch
    /// database (a role, another database, an ALTER SYSTEM setting), unless allowed.
    async fn check_cluster_untouched(&mut self, subject: &str) -> Result<()> {
        let now = ClusterState::read(&mut self.observer, self.database.stem()).await?;
        let mut changes = self.cluster.changes(&now);
        self.cluster = now;
        let bystander_alive = sqlx::query("SELECT 1")
            .execute(&mut self.bystander)
            .await
            .is_ok();
        if !bystander_alive {
            changes.push((false, ClusterChange::sessions_terminated()));
            self.bystander = self.database.connect_bystander().await?;
        }
        let changes: Vec<_> = changes
            .into_iter()
            .filter(|(_, change)| !self.rules.allowed_cluster_changes.contains(&change.kind))
            .collect();
        let found: Vec<String> = changes
            .iter()
            .map(|(created, change)| change.describe(*created))
            .collect();
        if found.is_empty() {
            return Ok(());
        }
        let kinds: BTreeSet<&str> = changes.iter().map(|(_, c)| c.kind.as_str()).collect();
        let allow: Vec<String> = kinds
            .iter()
            .map(|kind| format!("--allow-cluster-change {kind}"))
            .collect();
        self.report.push_check(Check {
            name: "cluster_untouched".to_string(),
            status: CheckStatus::Fail,
            message: format!(
                "{subject} {}, outside the scratch database (allow it with {})",
                found.join(", "),
                allow.join(" ")
            ),
            details: Details::Changes { changes: found },
        });
        Ok(())
    }
}

/// A failed downgrade whose error matches an `irreversible` pattern is a declared
/// irreversible revision, whatever the runner made of it.
fn declared_irreversible(patterns: &[String], how: How, error: StepError) -> StepError {
    let StepError::Failed { revision, message } = &error else {
        return error;
    };
    let matched = patterns
        .iter()
        .find(|pattern| message.contains(pattern.as_str()));
    match (how, matched) {
        (How::Downgrade, Some(pattern)) => StepError::Irreversible {
            revision: revision.clone(),
            message: format!(
                "its downgrade fails with {}, which matches the irreversible pattern {pattern:?}",
                message.lines().next().unwrap_or("")
            ),
            declared: true,
        },
        _ => error,
    }
}
