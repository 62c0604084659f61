//! What `diff` prints: the unified diff of two canonical schemas, or, as JSON, the objects
//! that differ and the diff.

use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct SchemaDifference {
    /// Each side as resolved: a revision (never `-1` or `head`) or a snapshot file.
    pub a: String,
    pub b: String,
    pub same: bool,
    /// Objects only in `b`.
    pub unexpected: Vec<String>,
    /// Objects only in `a`.
    pub missing: Vec<String>,
    pub changed: Vec<String>,
    pub diff: String,
}

impl SchemaDifference {
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a difference always serializes")
    }
}
