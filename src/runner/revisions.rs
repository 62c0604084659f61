//! The revision list of a project and the ways a user may name a point in it.

use std::fmt;

use crate::error::{Error, Result};

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Revision {
    pub id: String,
    pub parents: Vec<String>,
    pub description: String,
    pub has_down: bool,
}

/// A point in the history: before every revision, or right after one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Base,
    Revision(String),
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Base => f.write_str("base"),
            Target::Revision(id) => f.write_str(id),
        }
    }
}

/// Revisions in an order where every parent comes before its children.
#[derive(Debug, Clone)]
pub struct Revisions {
    ordered: Vec<Revision>,
}

impl Revisions {
    pub fn new(ordered: Vec<Revision>) -> Self {
        Revisions { ordered }
    }

    pub fn all(&self) -> &[Revision] {
        &self.ordered
    }

    pub fn head(&self) -> Target {
        self.ordered
            .last()
            .map_or(Target::Base, |r| Target::Revision(r.id.clone()))
    }

    /// Accepts `base`, `head`, `-N` (N revisions before head), `+N` (N revisions above base), a
    /// full id or a unique prefix.
    pub fn resolve(&self, spec: &str) -> Result<Target> {
        match spec {
            "base" => return Ok(Target::Base),
            "head" | "heads" => return Ok(self.head()),
            _ => {}
        }
        if let Some(back) = spec.strip_prefix('-').and_then(|n| n.parse::<usize>().ok()) {
            let index = self
                .ordered
                .len()
                .checked_sub(back)
                .ok_or_else(|| Error::UnknownRevision(spec.to_string()))?;
            return Ok(self.target_at(index));
        }
        if let Some(up) = spec.strip_prefix('+').and_then(|n| n.parse::<usize>().ok()) {
            if up > self.ordered.len() {
                return Err(Error::UnknownRevision(spec.to_string()));
            }
            return Ok(self.target_at(up));
        }
        if let Some(exact) = self.ordered.iter().find(|r| r.id == spec) {
            return Ok(Target::Revision(exact.id.clone()));
        }
        let matches: Vec<&Revision> = self
            .ordered
            .iter()
            .filter(|r| r.id.starts_with(spec))
            .collect();
        match matches.as_slice() {
            [one] => Ok(Target::Revision(one.id.clone())),
            [] => Err(Error::UnknownRevision(spec.to_string())),
            many => Err(Error::AmbiguousRevision(
                spec.to_string(),
                many.iter()
                    .map(|r| r.id.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            )),
        }
    }

    /// 0 for base, i + 1 for the i-th revision.
    pub fn position(&self, target: &Target) -> usize {
        match target {
            Target::Base => 0,
            Target::Revision(id) => self
                .ordered
                .iter()
                .position(|r| &r.id == id)
                .map_or(0, |i| i + 1),
        }
    }

    /// The target at a position as `position` counts them.
    pub fn target_at(&self, position: usize) -> Target {
        match position {
            0 => Target::Base,
            n => Target::Revision(self.ordered[n - 1].id.clone()),
        }
    }

    pub fn parent(&self, target: &Target) -> Target {
        self.target_at(self.position(target).saturating_sub(1))
    }

    /// The revisions a step from `from` to `to` applies (or, reversed, reverts).
    pub fn between(&self, from: &Target, to: &Target) -> &[Revision] {
        let (low, high) = (self.position(from), self.position(to));
        if low < high {
            &self.ordered[low..high]
        } else {
            &self.ordered[high..low]
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn linear(ids: &[&str]) -> Revisions {
        let mut parents = Vec::new();
        Revisions::new(
            ids.iter()
                .map(|id| {
                    let revision = Revision {
                        id: id.to_string(),
                        parents: parents.clone(),
                        description: String::new(),
                        has_down: true,
                    };
                    parents = vec![id.to_string()];
                    revision
                })
                .collect(),
        )
    }

    #[test]
    fn resolves_names_prefixes_and_relative_specs() {
        let revisions = linear(&["20240101", "20240102", "20240203"]);
        assert_eq!(revisions.resolve("base").unwrap(), Target::Base);
        assert_eq!(
            revisions.resolve("head").unwrap(),
            Target::Revision("20240203".into())
        );
        assert_eq!(
            revisions.resolve("-1").unwrap(),
            Target::Revision("20240102".into())
        );
        assert_eq!(revisions.resolve("-3").unwrap(), Target::Base);
        assert_eq!(
            revisions.resolve("202402").unwrap(),
            Target::Revision("20240203".into())
        );
        assert!(matches!(
            revisions.resolve("202401"),
            Err(Error::AmbiguousRevision(..))
        ));
        assert!(matches!(
            revisions.resolve("1999"),
            Err(Error::UnknownRevision(_))
        ));
        assert!(matches!(
            revisions.resolve("-4"),
            Err(Error::UnknownRevision(_))
        ));
        assert_eq!(
            revisions.resolve("+1").unwrap(),
            Target::Revision("20240101".into())
        );
        assert_eq!(revisions.resolve("+0").unwrap(), Target::Base);
        assert!(matches!(
            revisions.resolve("+4"),
            Err(Error::UnknownRevision(_))
        ));
    }

    #[test]
    fn between_lists_the_revisions_a_step_crosses() {
        let revisions = linear(&["1", "2", "3"]);
        let ids = |from: Target, to: Target| -> Vec<String> {
            revisions
                .between(&from, &to)
                .iter()
                .map(|r| r.id.clone())
                .collect()
        };
        assert_eq!(ids(Target::Base, Target::Revision("2".into())), ["1", "2"]);
        assert_eq!(
            ids(Target::Revision("3".into()), Target::Revision("1".into())),
            ["2", "3"]
        );
        assert_eq!(
            revisions.parent(&Target::Revision("1".into())),
            Target::Base
        );
    }
}
