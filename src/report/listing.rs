//! What the listing commands print: `revisions` (one line a revision) and `checksum` (one line a
//! table), as text or JSON. Their own small models, so that the parts they come from need not
//! know how they are shown.

use std::collections::BTreeMap;

use serde::Serialize;

/// One revision as `revisions` lists it.
#[derive(Debug, Clone, Serialize)]
pub struct RevisionEntry {
    pub id: String,
    pub parents: Vec<String>,
    pub description: String,
    pub has_down: bool,
    /// The names of the files that define it.
    pub files: Vec<String>,
}

/// One table as `checksum` lists it.
#[derive(Debug, Clone, Serialize)]
pub struct TableEntry {
    pub table: String,
    pub rows: u64,
    /// sha256 over the rows.
    pub digest: String,
    /// Each column's digest, by name.
    pub columns: BTreeMap<String, String>,
}

/// Id, parents (`base` for none), whether it has a down migration, and the description's first
/// line (alembic's are free text), in aligned columns.
pub fn render_revisions(entries: &[RevisionEntry]) -> String {
    let width = entries.iter().map(|r| r.id.len()).max().unwrap_or(0).max(4);
    let mut text = String::new();
    for entry in entries {
        let parents = match entry.parents.as_slice() {
            [] => "base".to_string(),
            parents => parents.join(","),
        };
        let down = if entry.has_down { "down" } else { "no-down" };
        let description = entry.description.lines().next().unwrap_or("");
        text.push_str(&format!(
            "{:<width$}  {:<width$}  {:<7}  {description}\n",
            entry.id, parents, down
        ));
    }
    text
}

pub fn render_tables(entries: &[TableEntry]) -> String {
    entries
        .iter()
        .map(|entry| {
            format!(
                "{}  {} rows  sha256 {}\n",
                entry.table, entry.rows, entry.digest
            )
        })
        .collect()
}

/// A listing as pretty JSON.
pub fn listing_json<T: Serialize>(entries: &[T]) -> String {
    serde_json::to_string_pretty(entries).expect("listings serialize")
}
