//! A step's locks, as the gate watches them: a sampler beside each upgrade and downgrade, the
//! holds on relations that existed before it in the step's report, and the `lock_impact` check
//! on the steps under test.

use std::time::Duration;

use crate::database::DatabaseError;
use crate::error::Result;
use crate::impact::{self, Relations, Sampler, TableReads};
use crate::report::{Check, CheckStatus, Details, LockHold};
use crate::schema;

use super::session::Session;

/// The watch over one step.
pub(super) struct LockWatch {
    before: Relations,
    rows_read: Option<TableReads>,
    sampler: Sampler,
}

/// The samples taken over a run, for the resolution the report states.
#[derive(Debug, Default)]
pub(super) struct Sampling {
    samples: u64,
    elapsed: Duration,
}

impl Session<'_> {
    /// Starts watching the locks of the step about to run, unless sampling is off.
    pub(super) async fn watch_locks(&mut self) -> Result<Option<LockWatch>> {
        let Some(interval) = self.rules.lock_sampling else {
            return Ok(None);
        };
        let before = Relations::read(&mut self.observer)
            .await
            .map_err(DatabaseError::from)?;
        // A connection kept from the step before would hold back its read counts.
        self.runner.disconnect();
        let rows_read = TableReads::settled(&mut self.observer)
            .await
            .map_err(DatabaseError::from)?;
        let observer: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
            .fetch_one(&mut self.observer)
            .await
            .map_err(DatabaseError::from)?;
        let connection = self.database.connect().await?;
        Ok(Some(LockWatch {
            before,
            rows_read,
            sampler: Sampler::start(connection, vec![observer], interval),
        }))
    }

    /// The holds the step was seen with, strongest first; the step has ended.
    pub(super) async fn locks_seen(&mut self, watch: Option<LockWatch>) -> Result<Vec<LockHold>> {
        let Some(LockWatch {
            before,
            rows_read,
            sampler,
        }) = watch
        else {
            return Ok(Vec::new());
        };
        let sampled = sampler.finish().await;
        // The step's sessions flush their read counts as they end.
        self.runner.disconnect();
        let rows_read_after = match rows_read {
            Some(_) => TableReads::settled(&mut self.observer)
                .await
                .map_err(DatabaseError::from)?,
            None => None,
        };
        self.sampling.samples += sampled.samples;
        self.sampling.elapsed += sampled.elapsed;
        if let (true, Some(interval)) = (self.sampling.samples > 1, self.rules.lock_sampling) {
            // The first sample is taken at once: a short step's mean gap can look finer than
            // the interval it was sampled at.
            let mean = (self.sampling.elapsed / self.sampling.samples as u32).max(interval);
            self.report.lock_resolution_ms = Some((mean.as_secs_f64() * 1e4).round() / 10.0);
        }
        let changes = before
            .changes(&mut self.observer)
            .await
            .map_err(DatabaseError::from)?;
        let bookkeeping = self.runner.bookkeeping_tables();
        let rows_read = rows_read.as_ref().zip(rows_read_after.as_ref());
        Ok(impact::holds(&before, rows_read, &sampled, &changes)
            .into_iter()
            // The tool's records, and their indexes, are nobody's data.
            .filter(|hold| {
                let owner = hold.table.as_deref().unwrap_or(&hold.relation);
                !bookkeeping
                    .iter()
                    .any(|table| schema::names_table(owner, table))
            })
            .map(|hold| LockHold {
                relation: hold.relation,
                kind: hold.kind.to_string(),
                mode: hold.mode.to_string(),
                first_seen_s: rounded(hold.first_seen),
                held_s: rounded(hold.held),
                waited_s: rounded(hold.waited),
                rows_read: hold.rows_read,
                blocks_reads: hold.mode.blocks_reads(),
                blocks_writes: hold.mode.blocks_writes(),
                rewrite: hold.rewrite,
                causes: hold.causes,
            })
            .collect())
    }

    /// Marks the step just recorded as one under test: `lock_impact` judges it when the run
    /// ends, always (`always`) or only when it holds a blocking lock too long.
    pub(super) fn judge_locks_of_last_step(&mut self, subject: String, always: bool) {
        if let Some(index) = self.report.steps.len().checked_sub(1) {
            self.locks_under_test.push((index, subject, always));
        }
    }

    /// `lock_impact` for the steps under test: fails where a lock that blocks reads or writes
    /// of a table that existed before the step was held longer than the lock budget.
    pub(super) fn check_lock_impact(&mut self) {
        let budget = self.rules.lock_budget.as_secs_f64();
        let judged = std::mem::take(&mut self.locks_under_test);
        if self.rules.lock_sampling.is_none() {
            // Nothing was watched: nothing can be said.
            return;
        }
        for (index, subject, always) in judged {
            let blocking: Vec<&LockHold> = self.report.steps[index]
                .locks
                .iter()
                .filter(|hold| hold.blocks_a_table())
                .collect();
            let longest = blocking
                .iter()
                .max_by(|a, b| a.blocking_s().total_cmp(&b.blocking_s()))
                .copied();
            let over: Vec<&LockHold> = blocking
                .iter()
                .filter(|hold| budget > 0.0 && hold.blocking_s() > budget)
                .copied()
                .collect();
            if over.is_empty() && !always {
                continue;
            }
            let (status, message) = if over.is_empty() {
                let longest = match longest {
                    Some(hold) => format!(
                        "longest: {} on {}, {:.3} s, blocking {}",
                        hold.mode,
                        hold.relation,
                        hold.blocking_s(),
                        hold.blocks()
                    ),
                    None => "no lock that blocks reads or writes of an existing table".to_string(),
                };
                let limit = if budget > 0.0 {
                    format!("within the lock budget of {budget} s")
                } else {
                    "reported only (--lock-budget 0)".to_string()
                };
                (
                    CheckStatus::Pass,
                    format!("{subject}: locks {limit} ({longest})"),
                )
            } else {
                let held: Vec<String> = over.iter().map(|hold| describe(hold)).collect();
                (
                    CheckStatus::Fail,
                    format!(
                        "{subject} held {}, over the lock budget of {budget} s",
                        held.join("; ")
                    ),
                )
            };
            self.report.push_check(Check {
                name: "lock_impact".to_string(),
                status,
                message,
                details: Details::None {},
            });
        }
    }
}

/// "ACCESS EXCLUSIVE on public.orders for 3.21 s (blocks reads and writes; rewrote public.orders (200000 rows))".
fn describe(hold: &LockHold) -> String {
    let mut why = vec![format!("blocks {}", hold.blocks())];
    why.extend(hold.causes.iter().cloned());
    let queued = if hold.waited_s > 0.0 {
        format!(" after queueing {:.3} s for it", hold.waited_s)
    } else {
        String::new()
    };
    format!(
        "{} on {} for {:.3} s{queued} ({})",
        hold.mode,
        hold.relation,
        hold.held_s,
        why.join("; ")
    )
}

fn rounded(duration: Duration) -> f64 {
    (duration.as_secs_f64() * 1e4).round() / 1e4
}
