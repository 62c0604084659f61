//! Data checks: what an upgrade must keep and what a round trip must restore, judged from the
//! checksums taken before and after.

use std::collections::BTreeMap;

use serde_json::json;

use crate::data::{RowDifference, TableChecksum};
use crate::report::{Check, CheckStatus, TableFigures};

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
        let bare = table.rsplit_once('.').map_or(table, |(_, name)| name);
        self.entries.iter().any(|entry| {
            [table, bare].iter().any(|name| {
                entry == name || column.is_some_and(|column| *entry == format!("{name}.{column}"))
            })
        })
    }
}

fn by_table(checksums: &[TableChecksum]) -> BTreeMap<&str, &TableChecksum> {
    checksums.iter().map(|c| (c.table.as_str(), c)).collect()
}

/// One thing a data check found wrong, and the columns whose rows would show it.
#[derive(Debug, Clone, PartialEq)]
pub struct DataFinding {
    pub table: String,
    pub columns: Vec<String>,
    pub message: String,
}

/// What an upgrade must keep: every row, and the content of every column present on both
/// sides, except where a change is allowed.
pub fn kept_by_upgrade(
    before: &[TableChecksum],
    after: &[TableChecksum],
    allowed: &AllowedChanges,
) -> Vec<DataFinding> {
    compare_tables(before, after, Some(allowed))
}

/// What a round trip must restore: every table exactly as it was.
pub fn restored_by_downgrade(
    before: &[TableChecksum],
    after: &[TableChecksum],
) -> Vec<DataFinding> {
    compare_tables(before, after, None)
}

/// With `allowed` (an upgrade), columns may come and go and allowed changes pass; without
/// (a round trip), every column must be back with its content.
fn compare_tables(
    before: &[TableChecksum],
    after: &[TableChecksum],
    allowed: Option<&AllowedChanges>,
) -> Vec<DataFinding> {
    let after = by_table(after);
    let is_allowed =
        |table: &str, column: Option<&str>| allowed.is_some_and(|a| a.allows(table, column));
    let mut findings = Vec::new();
    for table in before.iter().filter(|t| !is_allowed(&t.table, None)) {
        let name = table.table.as_str();
        let Some(now) = after.get(name) else {
            match allowed {
                Some(_) if table.rows > 0 => findings.push(finding(
                    name,
                    Vec::new(),
                    format!("dropped {name} with its {} rows", table.rows),
                )),
                Some(_) => {}
                None => findings.push(finding(name, Vec::new(), format!("did not restore {name}"))),
            }
            continue;
        };
        let compared: Vec<String> = table
            .columns
            .keys()
            .filter(|c| allowed.is_none() || now.columns.contains_key(*c))
            .cloned()
            .collect();
        if now.rows != table.rows {
            findings.push(finding(
                name,
                compared,
                format!("left {} of the {} rows of {name}", now.rows, table.rows),
            ));
            continue;
        }
        let differing: Vec<String> = compared
            .into_iter()
            .filter(|c| now.columns.get(c) != table.columns.get(c) && !is_allowed(name, Some(c)))
            .collect();
        if !differing.is_empty() {
            let named: Vec<String> = differing.iter().map(|c| format!("{name}.{c}")).collect();
            let verb = if allowed.is_some() {
                "changed"
            } else {
                "did not restore"
            };
            findings.push(finding(
                name,
                differing,
                format!("{verb} the content of {}", named.join(", ")),
            ));
        }
    }
    findings
}

fn finding(table: &str, columns: Vec<String>, message: String) -> DataFinding {
    DataFinding {
        table: table.to_string(),
        columns,
        message,
    }
}

/// The check for a list of findings, with the differing rows found for them.
pub fn data_check(
    name: &str,
    subject: &str,
    passed: String,
    findings: &[DataFinding],
    rows: Vec<RowDifference>,
) -> Check {
    if findings.is_empty() {
        return Check {
            name: name.to_string(),
            status: CheckStatus::Pass,
            message: passed,
            details: json!({}),
        };
    }
    let messages: Vec<&str> = findings.iter().map(|f| f.message.as_str()).collect();
    Check {
        name: name.to_string(),
        status: CheckStatus::Fail,
        message: format!("{subject} {}", messages.join("; ")),
        details: json!({ "findings": messages, "rows": rows }),
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

    fn checksum(table: &str, rows: u64, columns: &[(&str, &str)]) -> TableChecksum {
        TableChecksum {
            table: table.to_string(),
            rows,
            digest: format!("{rows}"),
            columns: columns
                .iter()
                .map(|(c, d)| (c.to_string(), d.to_string()))
                .collect(),
        }
    }

    #[test]
    fn an_upgrade_may_add_and_drop_columns_but_not_change_shared_ones() {
        let before = [checksum(
            "public.orders",
            10,
            &[("id", "a"), ("total", "b"), ("note", "c")],
        )];
        let after = [checksum(
            "public.orders",
            10,
            &[("id", "a"), ("total", "B"), ("extra", "d")],
        )];
        let findings = kept_by_upgrade(&before, &after, &AllowedChanges::default());
        assert_eq!(
            findings,
            [finding(
                "public.orders",
                vec!["total".into()],
                "changed the content of public.orders.total".into()
            )]
        );
        let allowed = AllowedChanges::new(vec!["orders.total".to_string()]);
        assert_eq!(kept_by_upgrade(&before, &after, &allowed), []);
        let fewer = [checksum("public.orders", 7, &[("id", "a")])];
        let findings = kept_by_upgrade(&before, &fewer, &AllowedChanges::default());
        assert_eq!(
            findings[0].message,
            "left 7 of the 10 rows of public.orders"
        );
        assert_eq!(findings[0].columns, ["id"]);
        let check = data_check(
            "data_upgrade",
            "upgrade of 5",
            String::new(),
            &findings,
            Vec::new(),
        );
        assert_eq!(
            check.message,
            "upgrade of 5 left 7 of the 10 rows of public.orders"
        );
    }

    #[test]
    fn a_round_trip_must_restore_every_column() {
        let before = [checksum("public.orders", 10, &[("id", "a"), ("note", "c")])];
        let after = [checksum(
            "public.orders",
            10,
            &[("id", "a"), ("note", "empty")],
        )];
        let findings = restored_by_downgrade(&before, &after);
        assert_eq!(
            findings[0].message,
            "did not restore the content of public.orders.note"
        );
        assert_eq!(restored_by_downgrade(&before, &before), []);
    }
}
