//! Samples `pg_locks` from a connection of its own while a step runs: the relation locks that
//! the database's client sessions hold or wait for, but for migverify's own. Reading
//! `pg_locks` takes no heavyweight lock, so the sampler never queues behind a migration or in
//! front of one.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use sqlx::postgres::PgConnection;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::LockMode;

/// The longest unbroken hold of one mode on one relation, and when it began.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Hold {
    /// Since the step started.
    pub first_seen: Duration,
    /// From the first sample that saw it to the last one that did, in its longest run.
    pub held: Duration,
}

/// What a step's sampler saw.
#[derive(Debug, Clone, Default)]
pub struct Sampled {
    /// Granted locks.
    pub holds: HashMap<(u32, LockMode), Hold>,
    /// Locks asked for and not yet granted: the step queued, on a session of its own or on
    /// whatever else was connected.
    pub waits: HashMap<(u32, LockMode), Hold>,
    pub samples: u64,
    pub elapsed: Duration,
}

pub struct Sampler {
    stop: oneshot::Sender<()>,
    task: JoinHandle<Sampled>,
}

impl Sampler {
    /// Starts sampling every `interval` on `connection` (one of the scratch database's),
    /// leaving out the sessions in `exclude` (migverify's own).
    pub fn start(connection: PgConnection, exclude: Vec<i32>, interval: Duration) -> Self {
        let (stop, stopped) = oneshot::channel();
        let task = tokio::spawn(sample(connection, exclude, interval, stopped));
        Sampler { stop, task }
    }

    /// Stops sampling (the step is over, its transactions ended) and returns what was seen.
    pub async fn finish(self) -> Sampled {
        let _ = self.stop.send(());
        self.task.await.unwrap_or_default()
    }
}

async fn sample(
    mut connection: PgConnection,
    exclude: Vec<i32>,
    interval: Duration,
    mut stopped: oneshot::Receiver<()>,
) -> Sampled {
    let started = Instant::now();
    let mut ticks = tokio::time::interval(interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut granted = Runs::default();
    let mut waiting = Runs::default();
    let mut sampled = Sampled::default();
    loop {
        tokio::select! {
            biased;
            _ = &mut stopped => break,
            _ = ticks.tick() => {}
        }
        let rows: Vec<(i64, String, bool)> = match sqlx::query_as(
            "SELECT l.relation::int8, l.mode, l.granted FROM pg_locks l \
               JOIN pg_stat_activity a ON a.pid = l.pid \
             WHERE l.locktype = 'relation' \
               AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) \
               AND a.backend_type = 'client backend' \
               AND l.pid <> pg_backend_pid() AND l.pid <> ALL($1)",
        )
        .bind(&exclude)
        .fetch_all(&mut connection)
        .await
        {
            Ok(rows) => rows,
            // Ended with the step's sessions at the budget: what was seen stands.
            Err(error) => {
                tracing::debug!("lock sampling stopped: {error}");
                break;
            }
        };
        let now = started.elapsed();
        sampled.samples += 1;
        let mut held = Vec::new();
        let mut asked = Vec::new();
        for (oid, mode, is_granted) in rows {
            let Some(mode) = LockMode::from_pg_locks(&mode) else {
                continue;
            };
            let key = (oid as u32, mode);
            if is_granted {
                held.push(key);
            } else {
                asked.push(key);
            }
        }
        granted.seen(now, &held, &mut sampled.holds);
        waiting.seen(now, &asked, &mut sampled.waits);
    }
    granted.end(&mut sampled.holds);
    waiting.end(&mut sampled.waits);
    sampled.elapsed = started.elapsed();
    sampled
}

/// Runs still going: their start and the last sample that saw them.
#[derive(Default)]
struct Runs(HashMap<(u32, LockMode), (Duration, Duration)>);

impl Runs {
    /// One sample: runs it no longer shows have ended, and are kept where longest.
    fn seen(
        &mut self,
        now: Duration,
        keys: &[(u32, LockMode)],
        longest: &mut HashMap<(u32, LockMode), Hold>,
    ) {
        self.0.retain(|key, (start, last)| {
            let still = keys.contains(key);
            if !still {
                keep_longest(longest, *key, *start, *last);
            }
            still
        });
        for key in keys {
            self.0
                .entry(*key)
                .and_modify(|(_, last)| *last = now)
                .or_insert((now, now));
        }
    }

    fn end(self, longest: &mut HashMap<(u32, LockMode), Hold>) {
        for (key, (start, last)) in self.0 {
            keep_longest(longest, key, start, last);
        }
    }
}

fn keep_longest(
    holds: &mut HashMap<(u32, LockMode), Hold>,
    key: (u32, LockMode),
    start: Duration,
    last: Duration,
) {
    let run = Hold {
        first_seen: start,
        held: last - start,
    };
    holds
        .entry(key)
        .and_modify(|hold| {
            if run.held > hold.held {
                *hold = run;
            }
        })
        .or_insert(run);
}
