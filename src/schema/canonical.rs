//! The canonical text of a schema, and reading it back, so that a live database and a committed
//! snapshot file compare the same way.

use std::collections::BTreeMap;

const HEADER: &str = "-- migverify schema snapshot";
const POSITION_MARK: &str = " [position ";

/// Kinds of object, in the order their blocks appear. The order lets a reader find things:
/// extensions and types first, then what uses them.
pub const KINDS: &[&str] = &[
    "extension",
    "schema",
    "collation",
    "type",
    "sequence",
    "table",
    "index",
    "view",
    "materialized view",
    "function",
    "aggregate",
    "procedure",
    "trigger",
    "rule",
    "policy",
    "statistics",
];

/// One database object: its kind, its qualified name, and the lines that describe it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaObject {
    pub kind: &'static str,
    pub name: String,
    pub lines: Vec<String>,
}

impl SchemaObject {
    pub fn new(kind: &'static str, name: impl Into<String>) -> Self {
        SchemaObject {
            kind,
            name: name.into(),
            lines: Vec::new(),
        }
    }

    pub fn line(&mut self, line: impl Into<String>) -> &mut Self {
        self.lines.push(line.into());
        self
    }

    /// A definition PostgreSQL prints over several lines, indented under a label.
    pub fn definition(&mut self, label: &str, text: &str) -> &mut Self {
        self.lines.push(format!("{label}:"));
        for line in text.trim_end().lines() {
            self.lines.push(format!("  {}", line.trim_end()));
        }
        self
    }

    pub fn comment(&mut self, comment: Option<String>) -> &mut Self {
        if let Some(text) = comment {
            self.lines.push(format!("comment {}", quote_literal(&text)));
        }
        self
    }

    pub fn header(&self) -> String {
        format!("{} {}", self.kind, self.name)
    }
}

/// A schema as canonical text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    text: String,
}

impl Snapshot {
    pub fn from_objects(server_major: u32, mut objects: Vec<SchemaObject>) -> Self {
        objects.sort_by(|a, b| (kind_rank(a.kind), &a.name).cmp(&(kind_rank(b.kind), &b.name)));
        let mut text = format!("{HEADER} (PostgreSQL {server_major})\n");
        for object in &objects {
            text.push('\n');
            text.push_str(&object.header());
            text.push('\n');
            for line in &object.lines {
                text.push_str("  ");
                text.push_str(line);
                text.push('\n');
            }
        }
        Snapshot { text }
    }

    /// A committed snapshot file.
    pub fn read(path: &std::path::Path) -> super::error::Result<Self> {
        std::fs::read_to_string(path)
            .map(Snapshot::from_text)
            .map_err(|source| super::error::SchemaError::ReadSnapshot {
                path: path.to_path_buf(),
                source,
            })
    }

    /// A snapshot read back from a file, which an editor may have given CRLF line ends.
    pub fn from_text(text: String) -> Self {
        Snapshot {
            text: text.replace("\r\n", "\n"),
        }
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    /// The text as it is compared: with column positions, or without them (the default, since
    /// dropping and re-adding a column moves it to the end without changing the schema).
    pub fn comparable_text(&self, compare_positions: bool) -> String {
        if compare_positions {
            return self.text.clone();
        }
        let mut text = String::with_capacity(self.text.len());
        for line in self.text.lines() {
            text.push_str(strip_position(line));
            text.push('\n');
        }
        text
    }

    /// Blocks by header ("table public.orders"), bodies in comparable form. A header is any
    /// line that is not indented (object lines always are), so blank lines mean nothing.
    pub fn blocks(&self, compare_positions: bool) -> BTreeMap<String, String> {
        let mut blocks: BTreeMap<String, String> = BTreeMap::new();
        let mut current: Option<String> = None;
        for line in self.comparable_text(compare_positions).lines() {
            if line.trim().is_empty() || line.starts_with("--") {
                continue;
            }
            if line.starts_with(' ') {
                if let Some(body) = current.as_ref().and_then(|header| blocks.get_mut(header)) {
                    body.push_str(line.trim_end());
                    body.push('\n');
                }
            } else {
                current = Some(line.trim_end().to_string());
                blocks.entry(line.trim_end().to_string()).or_default();
            }
        }
        blocks
    }
}

/// Marks a column's physical position so that comparison can ignore it.
pub fn with_position(line: String, position: i64) -> String {
    format!("{line}{POSITION_MARK}{position}]")
}

fn strip_position(line: &str) -> &str {
    match line.rfind(POSITION_MARK) {
        Some(at) if line.ends_with(']') => &line[..at],
        _ => line,
    }
}

fn kind_rank(kind: &str) -> usize {
    KINDS.iter().position(|k| *k == kind).unwrap_or(KINDS.len())
}

/// A string as an SQL literal on one line: a newline in it would end the block.
pub fn quote_literal(text: &str) -> String {
    let escaped = text
        .replace('\'', "''")
        .replace('\\', "\\\\")
        .replace('\n', "\\n");
    if escaped.contains('\\') {
        format!("E'{escaped}'")
    } else {
        format!("'{escaped}'")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn orders(columns: &[(&str, i64)]) -> Snapshot {
        let mut table = SchemaObject::new("table", "public.orders");
        for (column, position) in columns {
            table.line(with_position(
                format!("column {column} bigint not null"),
                *position,
            ));
        }
        let mut index = SchemaObject::new("index", "public.ix_orders_store_id");
        index.line("CREATE INDEX ix_orders_store_id ON public.orders USING btree (store_id)");
        Snapshot::from_objects(15, vec![index, table])
    }

    #[test]
    fn blocks_are_sorted_by_kind_then_name() {
        let text = orders(&[("id", 1)]).text().to_string();
        let table_at = text.find("table public.orders").unwrap();
        let index_at = text.find("index public.ix_orders_store_id").unwrap();
        assert!(table_at < index_at, "{text}");
        assert!(text.starts_with("-- migverify schema snapshot (PostgreSQL 15)\n"));
    }

    #[test]
    fn positions_are_shown_but_compared_only_on_request() {
        let before = orders(&[("id", 1), ("store_id", 2)]);
        let after = orders(&[("id", 2), ("store_id", 1)]);
        assert!(before
            .text()
            .contains("column id bigint not null [position 1]"));
        assert_eq!(before.blocks(false), after.blocks(false));
        assert_ne!(before.blocks(true), after.blocks(true));
    }

    #[test]
    fn literals_stay_on_one_line() {
        assert_eq!(quote_literal("it's"), "'it''s'");
        assert_eq!(quote_literal("two\n\nlines"), "E'two\\n\\nlines'");
    }

    #[test]
    fn text_read_back_gives_the_same_blocks() {
        let live = orders(&[("id", 1)]);
        let from_file = Snapshot::from_text(live.text().to_string());
        assert_eq!(live.blocks(false), from_file.blocks(false));
        assert_eq!(live.blocks(false).len(), 2);
        // Editors may trim whitespace-only lines inside a function body, or write CRLF.
        let mut function = SchemaObject::new("function", "public.f()");
        function.definition("definition", "BEGIN\n\n  RETURN 1;\nEND");
        let snapshot = Snapshot::from_objects(15, vec![function]);
        let edited = Snapshot::from_text(
            snapshot
                .text()
                .replace("    \n", "\n")
                .replace('\n', "\r\n"),
        );
        assert_eq!(snapshot.blocks(true), edited.blocks(true));
    }
}
