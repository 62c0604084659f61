//! The revision graph of a project (branches and merges included) and the ways a user may name
//! a point in it.

use std::collections::HashMap;
use std::fmt;

use super::error::{Result, RunnerError};

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Revision {
    pub id: String,
    pub parents: Vec<String>,
    pub description: String,
    pub has_down: bool,
    /// The names of the files that define it.
    #[serde(default)]
    pub files: Vec<String>,
}

/// A state of the database: a set of applied revisions that holds every ancestor of each of
/// them, named by its heads (the applied revisions no applied revision descends from). Base has
/// none. A linear history's states each have one head, the revision last applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    heads: Vec<String>,
}

impl Target {
    pub fn base() -> Self {
        Target { heads: Vec::new() }
    }

    pub fn is_base(&self) -> bool {
        self.heads.is_empty()
    }

    pub fn heads(&self) -> &[String] {
        &self.heads
    }
}

/// "base", a revision id, or several heads joined by `+` (which `resolve` reads back).
impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.heads.is_empty() {
            f.write_str("base")
        } else {
            f.write_str(&self.heads.join("+"))
        }
    }
}

/// One revision applied or reverted on the way between two states.
#[derive(Debug, Clone, Copy)]
pub enum Move<'r> {
    Apply(&'r Revision),
    Revert(&'r Revision),
}

/// The revisions in an order where every parent comes before its children and the heads come
/// last, so that every prefix of it is a state and the state before the heads is where the
/// newest work starts.
#[derive(Debug, Clone)]
pub struct Revisions {
    ordered: Vec<Revision>,
    /// Positions in `ordered` of each revision's parents; always lower than its own.
    parents: Vec<Vec<usize>>,
    positions: HashMap<String, usize>,
}

impl Revisions {
    /// Orders `revisions` as described above, otherwise keeping the order given. A parent that
    /// is not among them is ignored (the runner reports unknown parents itself).
    pub fn new(revisions: Vec<Revision>) -> Self {
        let known: HashMap<&str, usize> = revisions
            .iter()
            .enumerate()
            .map(|(i, r)| (r.id.as_str(), i))
            .collect();
        let parents_of = |i: usize| -> Vec<usize> {
            revisions[i]
                .parents
                .iter()
                .filter_map(|p| known.get(p.as_str()).copied())
                .collect()
        };
        let mut has_child = vec![false; revisions.len()];
        for i in 0..revisions.len() {
            for p in parents_of(i) {
                has_child[p] = true;
            }
        }
        // Repeatedly take the first revision, in the given order, whose parents are all placed;
        // heads wait until nothing else is left.
        let mut placed = vec![false; revisions.len()];
        let mut order = Vec::with_capacity(revisions.len());
        for heads_now in [false, true] {
            while let Some(next) = (0..revisions.len()).find(|&i| {
                !placed[i]
                    && has_child[i] != heads_now
                    && parents_of(i).into_iter().all(|p| placed[p])
            }) {
                placed[next] = true;
                order.push(next);
            }
        }
        // A cycle leaves revisions unplaced; keep them rather than lose them.
        order.extend((0..revisions.len()).filter(|&i| !placed[i]));

        let mut slots: Vec<Option<Revision>> = revisions.into_iter().map(Some).collect();
        let ordered: Vec<Revision> = order
            .iter()
            .map(|&i| slots[i].take().expect("each revision is placed once"))
            .collect();
        let positions: HashMap<String, usize> = ordered
            .iter()
            .enumerate()
            .map(|(i, r)| (r.id.clone(), i))
            .collect();
        let parents = ordered
            .iter()
            .enumerate()
            .map(|(i, r)| {
                r.parents
                    .iter()
                    .filter_map(|p| positions.get(p).copied())
                    .filter(|&p| p < i)
                    .collect()
            })
            .collect();
        Revisions {
            ordered,
            parents,
            positions,
        }
    }

    pub fn all(&self) -> &[Revision] {
        &self.ordered
    }

    /// Every revision applied: all the heads of the history.
    pub fn head(&self) -> Target {
        self.prefix(self.ordered.len())
    }

    /// The state where the first `count` revisions of the order are applied.
    fn prefix(&self, count: usize) -> Target {
        let applied: Vec<bool> = (0..self.ordered.len()).map(|i| i < count).collect();
        self.state(&applied)
    }

    /// The state made of `heads` and their ancestors; unknown ids are ignored.
    pub fn target_of(&self, heads: &[String]) -> Target {
        self.state(&self.closure_of(heads))
    }

    /// `target` without its heads: the state its newest revisions start from.
    pub fn below(&self, target: &Target) -> Target {
        let mut applied = self.applied(target);
        for head in &target.heads {
            if let Some(&i) = self.positions.get(head) {
                applied[i] = false;
            }
        }
        self.state(&applied)
    }

    /// `target` without `removed` and every revision that descends from them.
    pub fn without(&self, target: &Target, removed: &[String]) -> Target {
        let mut applied = self.applied(target);
        let mut gone = vec![false; self.ordered.len()];
        for i in 0..self.ordered.len() {
            gone[i] =
                removed.contains(&self.ordered[i].id) || self.parents[i].iter().any(|&p| gone[p]);
            applied[i] &= !gone[i];
        }
        self.state(&applied)
    }

    /// Whether every revision applied at `inner` is applied at `outer`.
    pub fn includes(&self, outer: &Target, inner: &Target) -> bool {
        let outer = self.applied(outer);
        self.applied(inner)
            .iter()
            .zip(&outer)
            .all(|(&i, &o)| !i || o)
    }

    /// One revision at a time from `from` to `to`: first the reverts, newest first, of what `to`
    /// lacks, then the applies, oldest first, of what `from` lacks. Each move is legal when made:
    /// nothing is reverted while a descendant is applied, nor applied before its parents.
    pub fn path(&self, from: &Target, to: &Target) -> Vec<Move<'_>> {
        let (now, wanted) = (self.applied(from), self.applied(to));
        let reverts = (0..self.ordered.len())
            .rev()
            .filter(|&i| now[i] && !wanted[i])
            .map(|i| Move::Revert(&self.ordered[i]));
        let applies = (0..self.ordered.len())
            .filter(|&i| wanted[i] && !now[i])
            .map(|i| Move::Apply(&self.ordered[i]));
        reverts.chain(applies).collect()
    }

    /// The states a walk from `from` up to `to` passes through, one revision at a time,
    /// `from` first and `to` last.
    pub fn walk(&self, from: &Target, to: &Target) -> Vec<Target> {
        let mut applied = self.applied(from);
        let mut states = vec![self.state(&applied)];
        for step in self.path(from, to) {
            if let Move::Apply(revision) = step {
                applied[self.positions[&revision.id]] = true;
                states.push(self.state(&applied));
            }
        }
        states
    }

    /// The revisions crossed between `from` and `to`, in history order.
    pub fn between(&self, from: &Target, to: &Target) -> Vec<&Revision> {
        let mut crossed: Vec<&Revision> = self
            .path(from, to)
            .into_iter()
            .map(|step| match step {
                Move::Apply(r) | Move::Revert(r) => r,
            })
            .collect();
        crossed.sort_by_key(|r| self.positions[&r.id]);
        crossed
    }

    /// Accepts `base`, `head`/`heads` (every head), `-N` (all but the last N revisions of the
    /// order), `+N` (the first N), a full id or a unique prefix, and heads joined by `+`.
    pub fn resolve(&self, spec: &str) -> Result<Target> {
        let unknown = || RunnerError::UnknownRevision(spec.to_string());
        match spec {
            "base" => return Ok(Target::base()),
            "head" | "heads" => return Ok(self.head()),
            _ => {}
        }
        if let Some(back) = spec.strip_prefix('-').and_then(|n| n.parse::<usize>().ok()) {
            let count = self.ordered.len().checked_sub(back).ok_or_else(unknown)?;
            return Ok(self.prefix(count));
        }
        if let Some(up) = spec.strip_prefix('+').and_then(|n| n.parse::<usize>().ok()) {
            if up > self.ordered.len() {
                return Err(unknown());
            }
            return Ok(self.prefix(up));
        }
        if spec.split('+').any(str::is_empty) {
            return Err(unknown());
        }
        let heads = spec
            .split('+')
            .map(|part| self.find(part))
            .collect::<Result<Vec<usize>>>()?;
        Ok(self.state(&self.closure(&heads)))
    }

    /// The position of the revision `spec` names in full or by a unique prefix.
    fn find(&self, spec: &str) -> Result<usize> {
        if let Some(&exact) = self.positions.get(spec) {
            return Ok(exact);
        }
        let matches: Vec<usize> = (0..self.ordered.len())
            .filter(|&i| !spec.is_empty() && self.ordered[i].id.starts_with(spec))
            .collect();
        match matches.as_slice() {
            [one] => Ok(*one),
            [] => Err(RunnerError::UnknownRevision(spec.to_string())),
            many => Err(RunnerError::AmbiguousRevision(
                spec.to_string(),
                many.iter()
                    .map(|&i| self.ordered[i].id.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            )),
        }
    }

    /// Which revisions `target` has applied, by position.
    fn applied(&self, target: &Target) -> Vec<bool> {
        self.closure_of(&target.heads)
    }

    /// The revisions named `heads` and all their ancestors; unknown ids are ignored.
    fn closure_of(&self, heads: &[String]) -> Vec<bool> {
        let heads: Vec<usize> = heads
            .iter()
            .filter_map(|h| self.positions.get(h).copied())
            .collect();
        self.closure(&heads)
    }

    /// `heads` and all their ancestors. Parents sit before children, so one pass from the end
    /// reaches every ancestor.
    fn closure(&self, heads: &[usize]) -> Vec<bool> {
        let mut applied = vec![false; self.ordered.len()];
        for &head in heads {
            applied[head] = true;
        }
        for i in (0..self.ordered.len()).rev() {
            if applied[i] {
                for &parent in &self.parents[i] {
                    applied[parent] = true;
                }
            }
        }
        applied
    }

    /// The state of an ancestor-closed set, named by its heads in history order.
    fn state(&self, applied: &[bool]) -> Target {
        let mut covered = vec![false; self.ordered.len()];
        for i in (0..self.ordered.len()).filter(|&i| applied[i]) {
            for &parent in &self.parents[i] {
                covered[parent] = true;
            }
        }
        Target {
            heads: (0..self.ordered.len())
                .filter(|&i| applied[i] && !covered[i])
                .map(|i| self.ordered[i].id.clone())
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn graph(edges: &[(&str, &[&str])]) -> Revisions {
        Revisions::new(
            edges
                .iter()
                .map(|(id, parents)| Revision {
                    id: id.to_string(),
                    parents: parents.iter().map(|p| p.to_string()).collect(),
                    description: String::new(),
                    has_down: true,
                    files: Vec::new(),
                })
                .collect(),
        )
    }

    fn linear(ids: &[&str]) -> Revisions {
        let edges: Vec<(&str, Vec<&str>)> = ids
            .iter()
            .enumerate()
            .map(|(i, id)| (*id, if i == 0 { vec![] } else { vec![ids[i - 1]] }))
            .collect();
        let borrowed: Vec<(&str, &[&str])> =
            edges.iter().map(|(id, p)| (*id, p.as_slice())).collect();
        graph(&borrowed)
    }

    fn at(revisions: &Revisions, spec: &str) -> String {
        revisions.resolve(spec).unwrap().to_string()
    }

    fn moves(revisions: &Revisions, from: &str, to: &str) -> Vec<String> {
        let (from, to) = (
            revisions.resolve(from).unwrap(),
            revisions.resolve(to).unwrap(),
        );
        revisions
            .path(&from, &to)
            .iter()
            .map(|step| match step {
                Move::Apply(r) => format!("+{}", r.id),
                Move::Revert(r) => format!("-{}", r.id),
            })
            .collect()
    }

    #[test]
    fn resolves_names_prefixes_and_relative_specs() {
        let revisions = linear(&["20240101", "20240102", "20240203"]);
        assert_eq!(at(&revisions, "base"), "base");
        assert_eq!(at(&revisions, "head"), "20240203");
        assert_eq!(at(&revisions, "-1"), "20240102");
        assert_eq!(at(&revisions, "-3"), "base");
        assert_eq!(at(&revisions, "202402"), "20240203");
        assert_eq!(at(&revisions, "+1"), "20240101");
        assert_eq!(at(&revisions, "+0"), "base");
        assert!(matches!(
            revisions.resolve("202401"),
            Err(RunnerError::AmbiguousRevision(..))
        ));
        for unknown in ["1999", "-4", "+4", "", "20240101+", "+"] {
            assert!(
                matches!(
                    revisions.resolve(unknown),
                    Err(RunnerError::UnknownRevision(_))
                ),
                "{unknown}"
            );
        }
        assert_eq!(
            revisions.below(&revisions.resolve("20240101").unwrap()),
            Target::base()
        );
    }

    #[test]
    fn orders_a_branch_and_a_merge_parents_first_heads_last() {
        // 1 - 2 - 3a \
        //       \ 3b - 4 (merge) - 5
        //        \ 3c (a second head)
        let revisions = graph(&[
            ("5", &["4"]),
            ("4", &["3a", "3b"]),
            ("3c", &["2"]),
            ("3a", &["2"]),
            ("3b", &["2"]),
            ("2", &["1"]),
            ("1", &[]),
        ]);
        let order: Vec<&str> = revisions.all().iter().map(|r| r.id.as_str()).collect();
        assert_eq!(order, ["1", "2", "3a", "3b", "4", "5", "3c"]);
        assert_eq!(at(&revisions, "heads"), "5+3c");
        assert_eq!(revisions.below(&revisions.head()).to_string(), "4");
        assert_eq!(at(&revisions, "3b"), "3b");
        assert_eq!(at(&revisions, "+4"), "3a+3b");
        assert_eq!(at(&revisions, "3a+3c"), "3a+3c");
        assert_eq!(at(&revisions, "-1"), "5");
        assert_eq!(
            revisions
                .below(&revisions.resolve("4").unwrap())
                .to_string(),
            "3a+3b"
        );
        assert!(revisions.includes(&revisions.head(), &revisions.resolve("3b").unwrap()));
        assert!(!revisions.includes(
            &revisions.resolve("3a").unwrap(),
            &revisions.resolve("3b").unwrap()
        ));
    }

    #[test]
    fn paths_revert_descendants_first_and_apply_parents_first() {
        let revisions = graph(&[
            ("1", &[]),
            ("2a", &["1"]),
            ("2b", &["1"]),
            ("3", &["2a", "2b"]),
        ]);
        assert_eq!(moves(&revisions, "base", "3"), ["+1", "+2a", "+2b", "+3"]);
        assert_eq!(moves(&revisions, "3", "2a"), ["-3", "-2b"]);
        assert_eq!(moves(&revisions, "2a", "2b"), ["-2a", "+2b"]);
        assert_eq!(moves(&revisions, "2b", "2b"), Vec::<String>::new());
        let walked: Vec<String> = revisions
            .walk(&Target::base(), &revisions.head())
            .iter()
            .map(Target::to_string)
            .collect();
        assert_eq!(walked, ["base", "1", "2a", "2a+2b", "3"]);
        let crossed: Vec<&str> = revisions
            .between(&revisions.head(), &revisions.resolve("1").unwrap())
            .iter()
            .map(|r| r.id.as_str())
            .collect();
        assert_eq!(crossed, ["2a", "2b", "3"]);
        let head = revisions.head();
        assert_eq!(revisions.without(&head, &["2b".into()]).to_string(), "2a");
        assert_eq!(revisions.without(&head, &["1".into()]), Target::base());
    }
}
