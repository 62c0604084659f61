//! Object-level comparison of two snapshots: what appeared, what went missing, what changed.

use super::Snapshot;

#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Comparison {
    /// Objects only in the actual schema ("kind name").
    pub unexpected: Vec<String>,
    /// Objects only in the expected schema.
    pub missing: Vec<String>,
    /// Objects in both whose definitions differ.
    pub changed: Vec<String>,
}

impl Comparison {
    pub fn is_same(&self) -> bool {
        self.unexpected.is_empty() && self.missing.is_empty() && self.changed.is_empty()
    }

    /// "left index public.ix behind; did not restore table public.t; changed type public.e",
    /// with `left`/`lost` phrased by the caller for the step at hand.
    pub fn describe(&self, unexpected: &str, missing: &str) -> String {
        let mut parts = Vec::new();
        if !self.unexpected.is_empty() {
            parts.push(unexpected.replace("{}", &self.unexpected.join(", ")));
        }
        if !self.missing.is_empty() {
            parts.push(missing.replace("{}", &self.missing.join(", ")));
        }
        if !self.changed.is_empty() {
            parts.push(format!("changed {}", self.changed.join(", ")));
        }
        parts.join("; ")
    }
}

pub fn compare(expected: &Snapshot, actual: &Snapshot, compare_positions: bool) -> Comparison {
    let expected = expected.blocks(compare_positions);
    let actual = actual.blocks(compare_positions);
    let mut comparison = Comparison::default();
    for (header, body) in &actual {
        match expected.get(header) {
            None => comparison.unexpected.push(header.clone()),
            Some(expected_body) if expected_body != body => comparison.changed.push(header.clone()),
            Some(_) => {}
        }
    }
    comparison.missing = expected
        .keys()
        .filter(|header| !actual.contains_key(*header))
        .cloned()
        .collect();
    comparison
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::SchemaObject;

    fn snapshot(objects: &[(&'static str, &str, &str)]) -> Snapshot {
        Snapshot::from_objects(
            15,
            objects
                .iter()
                .map(|(kind, name, line)| {
                    let mut object = SchemaObject::new(kind, *name);
                    object.line(*line);
                    object
                })
                .collect(),
        )
    }

    #[test]
    fn names_each_object_that_differs() {
        let expected = snapshot(&[
            ("table", "public.orders", "column id bigint"),
            ("type", "public.status", "enum ('a')"),
        ]);
        let actual = snapshot(&[
            ("table", "public.orders", "column id integer"),
            ("index", "public.ix_orders_store_id", "CREATE INDEX"),
        ]);
        let comparison = compare(&expected, &actual, false);
        assert_eq!(comparison.unexpected, ["index public.ix_orders_store_id"]);
        assert_eq!(comparison.missing, ["type public.status"]);
        assert_eq!(comparison.changed, ["table public.orders"]);
        assert_eq!(
            comparison.describe("left {} behind", "did not restore {}"),
            "left index public.ix_orders_store_id behind; did not restore type public.status; changed table public.orders"
        );
        assert!(compare(&expected, &expected, false).is_same());
    }
}
