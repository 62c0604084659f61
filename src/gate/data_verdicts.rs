//! Data checks: what an upgrade must keep and what a round trip must restore, judged from the
//! checksums taken before and after.

use std::collections::BTreeMap;

use crate::data::{RowDifference, RowIdentity, TableChecksum};
use crate::report::{Check, CheckStatus, Details, RowEvidence, TableFigures};
use crate::schema::names_table;

/// `--allow-change TABLE[.COLUMN]`: tables and columns an upgrade is meant to change.
#[derive(Debug, Clone, Default)]
pub struct AllowedChanges {
    entries: Vec<String>,
}

impl AllowedChanges {
    pub fn new(entries: Vec<String>) -> Self {
        AllowedChanges { entries }
    }

    fn allows(&self, table: &str, column: Option<&str>) -> bool {
        self.entries.iter().any(|entry| match column {
            None => names_table(table, entry),
            Some(column) => entry
                .rsplit_once('.')
                .is_some_and(|(named, col)| col.replace('"', "") == column && names_table(table, named)),
        } || names_table(table, entry))
    }
}

fn by_table(checksums: &[TableChecksum]) -> BTreeMap<&str, &TableChecksum> {
    checksums.iter().map(|c| (c.table.as_str(), c)).collect()
}

/// One thing a data check found wrong, and the columns (named as before the step) whose rows
/// would show it.
#[derive(Debug, Clone, PartialEq)]
pub struct DataFinding {
    pub table: String,
    pub columns: Vec<String>,
    pub message: String,
}

/// What a data check found: what is wrong, and the renamed columns it followed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DataComparison {
    pub findings: Vec<DataFinding>,
    pub renamed: Vec<String>,
}

/// The columns of a table that an upgrade may leave out of the comparison.
pub fn excluded_columns(allowed: &AllowedChanges) -> impl Fn(&str, &str) -> bool + '_ {
    |table, column| allowed.allows(table, Some(column))
}

/// What an upgrade must keep: every row, and the content of every column it keeps, except
/// where a change is allowed; a column it drops must have held nothing.
pub fn kept_by_upgrade(
    before: &[TableChecksum],
    after: &[TableChecksum],
    allowed: &AllowedChanges,
) -> DataComparison {
    compare_tables(before, after, Some(allowed))
}

/// What a round trip must restore: every table exactly as it was.
pub fn restored_by_downgrade(before: &[TableChecksum], after: &[TableChecksum]) -> DataComparison {
    compare_tables(before, after, None)
}

/// `after` was read following `before` (columns found by identity, rows matched the same
/// way). With `allowed` (an upgrade), columns may come and go and allowed changes pass;
/// without (a round trip), every column must be back with its content.
fn compare_tables(
    before: &[TableChecksum],
    after: &[TableChecksum],
    allowed: Option<&AllowedChanges>,
) -> DataComparison {
    let after = by_table(after);
    let is_allowed =
        |table: &str, column: Option<&str>| allowed.is_some_and(|a| a.allows(table, column));
    let upgrade = allowed.is_some();
    let mut comparison = DataComparison::default();
    for table in before.iter().filter(|t| !is_allowed(&t.table, None)) {
        let name = table.table.as_str();
        let Some(now) = after.get(name) else {
            match upgrade {
                true if table.rows > 0 => comparison.findings.push(finding(
                    name,
                    Vec::new(),
                    format!("dropped {name} with its {} rows", table.rows),
                )),
                true => {}
                false => comparison.findings.push(finding(
                    name,
                    Vec::new(),
                    format!("did not restore {name}"),
                )),
            }
            continue;
        };
        let mut compared = Vec::new();
        let mut differing = Vec::new();
        for column in &table.columns {
            let full = format!("{name}.{}", column.name);
            let Some(later) = now.following(&column.name) else {
                if is_allowed(name, Some(&column.name)) {
                    continue;
                }
                match upgrade {
                    true if column.non_null > 0 => comparison.findings.push(finding(
                        name,
                        Vec::new(),
                        format!(
                            "dropped {full} holding {} non-null values (allow it with --allow-change {full})",
                            column.non_null
                        ),
                    )),
                    true => {}
                    false => comparison.findings.push(finding(
                        name,
                        Vec::new(),
                        format!("did not restore {full}"),
                    )),
                }
                continue;
            };
            if later.name != column.name {
                comparison
                    .renamed
                    .push(format!("{full} renamed to {}", later.name));
            }
            if is_allowed(name, Some(&column.name)) || is_allowed(name, Some(&later.name)) {
                continue;
            }
            compared.push(column.name.clone());
            if later.digest != column.digest {
                differing.push((column.name.clone(), format!("{name}.{}", later.name)));
            }
        }
        let (lost, come) = match now.identity {
            RowIdentity::WholeRow => (
                table.rows_not_in(now).len() as u64,
                now.rows_not_in(table).len() as u64,
            ),
            RowIdentity::Key(_) => (0, 0),
        };
        let message = if now.rows < table.rows {
            format!("left {} of the {} rows of {name}", now.rows, table.rows)
        } else if now.rows > table.rows {
            format!(
                "added {} rows to {name}, which had {}",
                now.rows - table.rows,
                table.rows
            )
        } else if lost > 0 || come > 0 {
            // Whole rows: a value moved to another row changes rows, not columns.
            format!(
                "{} {lost} of the {} rows of {name} (compared as whole rows over {}: no key matches them)",
                if upgrade { "changed" } else { "did not restore" },
                table.rows,
                compared.join(", ")
            )
        } else if !differing.is_empty() {
            let named: Vec<&str> = differing.iter().map(|(_, shown)| shown.as_str()).collect();
            let verb = if upgrade {
                "changed"
            } else {
                "did not restore"
            };
            format!("{verb} the content of {}", named.join(", "))
        } else {
            continue;
        };
        let columns = match differing.is_empty() || now.rows != table.rows || lost > 0 {
            true => compared,
            false => differing.into_iter().map(|(column, _)| column).collect(),
        };
        comparison.findings.push(finding(name, columns, message));
    }
    comparison
}

fn finding(table: &str, columns: Vec<String>, message: String) -> DataFinding {
    DataFinding {
        table: table.to_string(),
        columns,
        message,
    }
}

/// The check for a comparison: passed when nothing was found, else failed with the rows that
/// show each finding. Followed renames are said either way.
pub fn data_check(
    name: &str,
    subject: &str,
    passed: String,
    comparison: &DataComparison,
    rows: Vec<RowDifference>,
) -> Check {
    let renamed = match comparison.renamed.is_empty() {
        true => String::new(),
        false => format!(" (followed {})", comparison.renamed.join(", ")),
    };
    if comparison.findings.is_empty() {
        return Check {
            name: name.to_string(),
            status: CheckStatus::Pass,
            message: format!("{passed}{renamed}"),
            details: Details::None {},
        };
    }
    let messages: Vec<&str> = comparison
        .findings
        .iter()
        .map(|f| f.message.as_str())
        .collect();
    Check {
        name: name.to_string(),
        status: CheckStatus::Fail,
        message: format!("{subject} {}{renamed}", messages.join("; ")),
        details: Details::Rows {
            findings: messages.iter().map(|m| m.to_string()).collect(),
            rows: rows
                .into_iter()
                .map(|row| RowEvidence {
                    table: row.table,
                    key: row.key,
                    before: row.before,
                    after: row.after,
                })
                .collect(),
        },
    }
}

/// The per-table figures of the report: before the range and after its upgrade.
pub fn figures(before: &[TableChecksum], after: &[TableChecksum]) -> Vec<TableFigures> {
    let after = by_table(after);
    before
        .iter()
        .map(|table| {
            let now = after.get(table.table.as_str());
            TableFigures {
                table: table.table.clone(),
                rows_before: table.rows,
                rows_after: now.map_or(0, |n| n.rows),
                checksum_before: table.digest.clone(),
                checksum_after: now.map_or_else(String::new, |n| n.digest.clone()),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::ColumnDigest;

    /// A keyed table's checksum: columns as (name now, name followed, digest, non-null values).
    fn checksum(table: &str, rows: u64, columns: &[(&str, &str, &str, u64)]) -> TableChecksum {
        TableChecksum {
            table: table.to_string(),
            oid: 1,
            rows,
            digest: format!("{rows}"),
            identity: RowIdentity::Key(vec!["id".to_string()]),
            columns: columns
                .iter()
                .map(|(name, follows, digest, non_null)| ColumnDigest {
                    name: name.to_string(),
                    follows: follows.to_string(),
                    attnum: 0,
                    digest: digest.to_string(),
                    non_null: *non_null,
                })
                .collect(),
            row_hashes: Vec::new(),
            select: Vec::new(),
            read_in: std::time::Duration::ZERO,
            reused: false,
        }
    }

    fn messages(comparison: &DataComparison) -> Vec<&str> {
        comparison
            .findings
            .iter()
            .map(|f| f.message.as_str())
            .collect()
    }

    #[test]
    fn an_upgrade_may_add_columns_and_drop_empty_ones_but_not_change_shared_ones() {
        let before = [checksum(
            "public.orders",
            10,
            &[
                ("id", "id", "a", 10),
                ("total", "total", "b", 10),
                ("note", "note", "c", 0),
            ],
        )];
        let after = [checksum(
            "public.orders",
            10,
            &[("id", "id", "a", 10), ("total", "total", "B", 10)],
        )];
        let found = kept_by_upgrade(&before, &after, &AllowedChanges::default());
        assert_eq!(
            found.findings,
            [finding(
                "public.orders",
                vec!["total".into()],
                "changed the content of public.orders.total".into()
            )]
        );
        let allowed = AllowedChanges::new(vec!["orders.total".to_string()]);
        assert_eq!(kept_by_upgrade(&before, &after, &allowed).findings, []);
        let fewer = [checksum("public.orders", 7, &[("id", "id", "a", 7)])];
        let found = kept_by_upgrade(&before, &fewer, &AllowedChanges::default());
        assert_eq!(
            messages(&found),
            [
                "dropped public.orders.total holding 10 non-null values (allow it with --allow-change public.orders.total)",
                "left 7 of the 10 rows of public.orders"
            ]
        );
        assert_eq!(found.findings[1].columns, ["id"]);
        let check = data_check(
            "data_upgrade",
            "upgrade of 5",
            String::new(),
            &found,
            Vec::new(),
        );
        assert!(
            check
                .message
                .starts_with("upgrade of 5 dropped public.orders.total"),
            "{}",
            check.message
        );
    }

    #[test]
    fn a_renamed_column_is_compared_under_its_new_name_and_said() {
        let before = [checksum(
            "public.tills",
            10,
            &[("id", "id", "a", 10), ("label", "label", "b", 10)],
        )];
        let same = [checksum(
            "public.tills",
            10,
            &[("id", "id", "a", 10), ("title", "label", "b", 10)],
        )];
        let found = kept_by_upgrade(&before, &same, &AllowedChanges::default());
        assert_eq!(found.findings, []);
        assert_eq!(found.renamed, ["public.tills.label renamed to title"]);
        let check = data_check("data_upgrade", "", "kept".into(), &found, Vec::new());
        assert_eq!(
            check.message,
            "kept (followed public.tills.label renamed to title)"
        );
        let emptied = [checksum(
            "public.tills",
            10,
            &[("id", "id", "a", 10), ("title", "label", "null", 0)],
        )];
        let found = kept_by_upgrade(&before, &emptied, &AllowedChanges::default());
        assert_eq!(
            messages(&found),
            ["changed the content of public.tills.title"]
        );
        assert_eq!(found.findings[0].columns, ["label"]);
    }

    #[test]
    fn a_round_trip_must_restore_every_column() {
        let before = [checksum(
            "public.orders",
            10,
            &[("id", "id", "a", 10), ("note", "note", "c", 10)],
        )];
        let after = [checksum(
            "public.orders",
            10,
            &[("id", "id", "a", 10), ("note", "note", "empty", 0)],
        )];
        let found = restored_by_downgrade(&before, &after);
        assert_eq!(
            messages(&found),
            ["did not restore the content of public.orders.note"]
        );
        let lost = [checksum("public.orders", 10, &[("id", "id", "a", 10)])];
        assert_eq!(
            messages(&restored_by_downgrade(&before, &lost)),
            ["did not restore public.orders.note"]
        );
        assert_eq!(restored_by_downgrade(&before, &before).findings, []);
    }
}
