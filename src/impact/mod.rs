//! What a step would do to production, measured while it runs on seeded data: the locks it
//! holds on relations that existed before it (sampled from `pg_locks`, whatever the runner),
//! how long, what they keep an application from doing, and which relations it rewrote or
//! indexed. This part knows nothing of runners, gates or reports.

mod growth;
mod mode;
mod production;
mod relations;
mod sampler;

use std::time::Duration;

pub use growth::{Fit, NoFit};
pub use mode::LockMode;
pub use production::ProductionStats;
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
    pub rewrite: bool,
    pub causes: Vec<String>,
}

/// One line per pre-existing relation the step locked or rewrote, strongest mode first.
/// Relations created by the step are left out: nobody else could see them yet.
pub fn holds(
    before: &Relations,
    sampled: &Sampled,
    changes: &[StorageChange],
) -> Vec<RelationHold> {
    let mut holds: Vec<RelationHold> = Vec::new();
    for (oid, relation) in &before.0 {
        let strongest = sampled
            .holds
            .iter()
            .filter(|((locked, _), _)| locked == oid)
            .max_by_key(|((_, mode), _)| *mode)
            .map(|((_, mode), hold)| (*mode, *hold));
        let changed: Vec<&StorageChange> = changes.iter().filter(|c| c.oid == *oid).collect();
        let rewrite = changed.iter().any(|c| c.rewrite);
        let (mode, hold) = match strongest {
            Some(found) => found,
            // Shorter than a sample: a rewrite is always done under ACCESS EXCLUSIVE.
            None if rewrite => (
                LockMode::AccessExclusive,
                Hold {
                    first_seen: Duration::ZERO,
                    held: Duration::ZERO,
                },
            ),
            None => continue,
        };
        holds.push(RelationHold {
            relation: relation.name.clone(),
            table: relation.table.clone(),
            kind: relation.kind,
            mode,
            first_seen: hold.first_seen,
            held: hold.held,
            rewrite,
            causes: changed.iter().map(|c| c.cause.clone()).collect(),
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
