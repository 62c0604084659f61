//! What a step would do to production, measured while it runs on seeded data: the locks it
//! holds on relations that existed before it (sampled from `pg_locks`, whatever the runner),
//! how long, what they keep an application from doing, and which relations it rewrote or
//! indexed. This part knows nothing of runners, gates or reports.

mod growth;
mod mode;
mod production;
mod reads;
mod relations;
mod sampler;

use std::collections::HashMap;
use std::time::Duration;

pub use growth::{Fit, NoFit};
pub use mode::LockMode;
pub use production::ProductionStats;
pub use reads::TableReads;
pub use relations::{Relations, StorageChange};
pub use sampler::{Hold, Sampled, Sampler};

/// The strongest lock a step held on one relation that existed before it.
#[derive(Debug, Clone, PartialEq)]
pub struct RelationHold {
    pub relation: String,
    /// For an index, the table it indexes.
    pub table: Option<String>,
    pub kind: &'static str,
    pub mode: LockMode,
    pub first_seen: Duration,
    pub held: Duration,
    /// The longest it queued for that mode before it was granted: in production, everything
    /// the mode blocks queues behind it meanwhile.
    pub waited: Duration,
    /// Rows of the table read during the step, where the server counted them.
    pub rows_read: Option<i64>,
    pub rewrite: bool,
    pub causes: Vec<String>,
}

/// One line per pre-existing relation the step locked or rewrote, strongest mode first.
/// Relations created by the step are left out: nobody else could see them yet. `rows_read`
/// is the tables' read counts before the step and after it, where they could be told.
pub fn holds(
    before: &Relations,
    rows_read: Option<(&TableReads, &TableReads)>,
    sampled: &Sampled,
    changes: &[StorageChange],
) -> Vec<RelationHold> {
    let mut holds: Vec<RelationHold> = Vec::new();
    for (oid, relation) in &before.0 {
        let on_relation = |seen: &HashMap<(u32, LockMode), Hold>| -> Vec<(LockMode, Hold)> {
            seen.iter()
                .filter(|((locked, _), _)| locked == oid)
                .map(|((_, mode), hold)| (*mode, *hold))
                .collect()
        };
        let (granted, queued) = (on_relation(&sampled.holds), on_relation(&sampled.waits));
        let changed: Vec<&StorageChange> = changes.iter().filter(|c| c.oid == *oid).collect();
        let rewrite = changed.iter().any(|c| c.rewrite);
        // The strongest mode held or asked for: one asked for and granted between two samples
        // (or never, when the step was stopped while it queued) is still the step's.
        let strongest = granted.iter().chain(&queued).map(|(mode, _)| *mode).max();
        let mode = match strongest {
            Some(mode) => mode,
            // Shorter than a sample: a rewrite is always done under ACCESS EXCLUSIVE.
            None if rewrite => LockMode::AccessExclusive,
            None => continue,
        };
        let of_mode = |seen: &[(LockMode, Hold)]| {
            seen.iter()
                .find(|(held, _)| *held == mode)
                .map(|(_, hold)| *hold)
        };
        let hold = of_mode(&granted).unwrap_or(Hold {
            first_seen: Duration::ZERO,
            held: Duration::ZERO,
        });
        let waited = of_mode(&queued).map(|wait| wait.held).unwrap_or_default();
        let rows_read = rows_read.and_then(|(before, after)| after.since(before, *oid));
        let mut causes: Vec<String> = changed.iter().map(|c| c.cause.clone()).collect();
        if let (Some(rows), true) = (rows_read, causes.is_empty()) {
            if rows > 0 {
                // Read without a change to its storage: a validating scan, or the
                // migration's own query.
                causes.push(format!("read {rows} rows of {}", relation.name));
            }
        }
        holds.push(RelationHold {
            relation: relation.name.clone(),
            table: relation.table.clone(),
            kind: relation.kind,
            mode,
            first_seen: hold.first_seen,
            held: hold.held,
            waited,
            rows_read,
            rewrite,
            causes,
        });
    }
    holds.sort_by(|a, b| {
        b.mode
            .cmp(&a.mode)
            .then(b.held.cmp(&a.held))
            .then(a.relation.cmp(&b.relation))
    });
    holds
}
